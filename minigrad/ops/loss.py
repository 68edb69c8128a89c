"""Losses that are worth one op rather than a chain: the Charbonnier distance, the negative log-likelihood of class
targets, the pointwise losses of torch (binary cross entropy, smooth L1 and Huber, KL divergence) and the cosine
similarity."""
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import Function, gpu_variant_of, is_grad_enabled
from .elementwise import gradient_where


class CharbonnierLoss(Function):
    """sqrt((x - y)^2 + eps^2): L1 that is smooth at zero, reduced by "mean", "sum" or "none" as torch's losses.

    As a chain of ops it would keep four full-size intermediates and make ten passes; as one op it
    keeps only the slope (x - y) / distance, which is the whole backward.
    """

    @staticmethod
    def forward(ctx, x, y, eps, reduction="mean"):
        if x.shape != y.shape:
            raise ValueError(f"charbonnier_loss expects input and target of one shape, got {x.shape} and {y.shape}")
        distance, slope = ctx.function.distance_and_slope(x, y, eps)
        ctx.save_for_backward(slope)
        return reduced(distance, reduction)

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved
        if ctx.params.get("reduction", "mean") == "mean":
            grad = grad / slope.size
        grad_x = slope * grad
        return grad_x, -grad_x

    @staticmethod
    def distance_and_slope(x, y, eps):
        xp = get_array_module(x)
        difference = parallel.elementwise(xp.subtract, x, y)

        def distance_fill(difference, out):
            xp.multiply(difference, difference, out=out)
            out += eps * eps
            xp.sqrt(out, out=out)

        distance = parallel.elementwise(distance_fill, difference)
        return distance, parallel.elementwise(xp.divide, difference, distance, out=difference)


@gpu_variant_of(CharbonnierLoss)
class CharbonnierLossKernels(CharbonnierLoss):
    @staticmethod
    def distance_and_slope(x, y, eps):
        return kernels.fused("charbonnier", [x, y], 2, eps * eps)


def _class_index(xp, target, input_ndim):
    """The index that picks input[n, target[n, d1, ...], d1, ...] at every position of `target` (N, d1, ...) from
    an (N, C, d1, ...) input, or input[target] from a (C,) input with a 0-d target: open grids over the target's
    dims, with the target itself as the class dim's index."""
    if input_ndim == 1:
        return (target,)
    grids = [xp.arange(n).reshape((n,) + (1,) * (target.ndim - 1 - axis)) for axis, n in enumerate(target.shape)]
    return (grids[0], target, *grids[1:])


class NLLLoss(Function):
    """-weights * input[n, target, d1, ...] at every target position: nll_loss before its reduction.

    `target` holds a class in range at every position (any class where the target is not `kept`, i.e. ignored),
    `weights` each position's class weight (0 where not kept). A position not kept is 0 whatever the input holds
    there (-inf too), as torch skips it. One op
    rather than indexing and a product: each input element gets at most one gradient, written directly, where
    GetItem's backward has to accumulate (add.at) for indices that may repeat.
    """

    @staticmethod
    def forward(ctx, input, target, weights, kept):
        xp = get_array_module(input)
        index = _class_index(xp, target, input.ndim)
        ctx.save_for_backward(input.shape, index, weights, kept)
        return weights * xp.where(kept, -input[index], 0)

    @staticmethod
    def backward(ctx, grad):
        shape, index, weights, kept = ctx.saved
        grad_input = memory.zeros(get_array_module(grad), shape, grad.dtype)
        grad_input[index] = gradient_where(-weights * grad, kept)      # none where ignored, a NaN grad's too
        return grad_input


def reduced(loss, reduction):
    """An array of losses reduced as torch's reduction= says: "mean", "sum" or "none"."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if math.prod(loss.shape):
        return loss.mean()
    total = loss.sum()
    return total / total.dtype.type(0)  # the mean of no losses: NaN, as torch's, where NumPy's mean would warn


class PointwiseLoss(Function):
    """A loss of each input element against its target (broadcast together), times an optional constant `weight`
    that broadcasts against them, reduced by "mean", "sum" or "none" as torch's losses.

    A subclass writes `loss_and_slopes`, which gives the losses and, in the same pass, their derivatives by the
    input and the target (each only where it is wanted): backward is then one product, where a chain of ops would
    keep several full-size intermediates and walk them again. A loss of input - target sets `antisymmetric`: the
    target's gradient is the input's negated, and its slope is not kept.
    """

    broadcasts = True
    antisymmetric = False

    @staticmethod
    def forward(ctx, input, target, reduction="mean", weight=None, **params):
        wants = [is_grad_enabled() and needs for needs in ctx.needs_input_grad]
        if ctx.function.antisymmetric:
            wants = [wants[0] or wants[1], False]
        loss, slopes = ctx.function.loss_and_slopes(input, target, wants, **params)
        if weight is not None:
            loss = loss * weight
            slopes = [None if slope is None else slope * weight for slope in slopes]
        ctx.save_for_backward(loss.size, slopes)
        return reduced(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        count, (slope_input, slope_target) = ctx.saved
        if ctx.params.get("reduction", "mean") == "mean":
            grad = grad / count
        grad_input = None if slope_input is None else slope_input * grad
        if ctx.function.antisymmetric:
            return grad_input, None if grad_input is None else -grad_input
        return grad_input, None if slope_target is None else slope_target * grad

    @staticmethod
    def loss_and_slopes(input, target, wants, **params):
        raise NotImplementedError


class BinaryCrossEntropy(PointwiseLoss):
    """-(target * log(input) + (1 - target) * log(1 - input)) of probabilities, each log clamped at -100 and the
    input's slope's denominator at 1e-12, as torch's, so that inputs of exactly 0 or 1 stay finite."""

    @staticmethod
    def loss_and_slopes(input, target, wants):
        xp = get_array_module(input)
        log_input, log_complement = xp.log(input), xp.log1p(-input)
        loss = (target - 1) * xp.maximum(log_complement, -100) - target * xp.maximum(log_input, -100)
        slope_input = (input - target) / xp.maximum((1 - input) * input, 1e-12) if wants[0] else None
        slope_target = log_complement - log_input if wants[1] else None
        return loss, [slope_input, slope_target]


class BinaryCrossEntropyWithLogits(PointwiseLoss):
    """Binary cross entropy of sigmoid(input), from the logits directly: (1 - target) * input + (1 + (pos_weight - 1)
    * target) * softplus(-input), softplus(-x) = max(-x, 0) + log1p(exp(-|x|)), finite for any logit."""

    @staticmethod
    def loss_and_slopes(input, target, wants, pos_weight=None):
        xp = get_array_module(input)
        decay = xp.exp(-xp.abs(input))
        softplus_of_negative = xp.maximum(-input, 0) + xp.log1p(decay)
        if pos_weight is None:
            loss = (1 - target) * input + softplus_of_negative
            slope_input = _sigmoid(xp, input, decay) - target if wants[0] else None
            slope_target = -input if wants[1] else None
        else:
            log_weight = 1 + (pos_weight - 1) * target
            loss = (1 - target) * input + log_weight * softplus_of_negative
            slope_input = log_weight * _sigmoid(xp, input, decay) - pos_weight * target if wants[0] else None
            slope_target = (pos_weight - 1) * softplus_of_negative - input if wants[1] else None
        return loss, [slope_input, slope_target]


def _sigmoid(xp, x, decay):
    """sigmoid(x) from decay = exp(-|x|), with no overflow for logits of either sign."""
    return xp.where(x >= 0, 1, decay) / (1 + decay)


class SmoothL1Loss(PointwiseLoss):
    """scale * (0.5 * d^2 / beta where |d| < beta, else |d| - 0.5 * beta), d = input - target: torch's smooth_l1_loss
    (scale 1; beta 0 is the L1 loss) and its huber_loss (beta = scale = delta)."""

    antisymmetric = True

    @staticmethod
    def loss_and_slopes(input, target, wants, beta, scale):
        xp = get_array_module(input)
        difference = input - target
        distance = xp.abs(difference)
        quadratic = distance < beta
        curvature = 1 / beta if beta else 0.0
        loss = xp.where(quadratic, (0.5 * curvature) * difference * difference, distance - 0.5 * beta)
        slope = xp.where(quadratic, curvature * difference, xp.sign(difference)) if wants[0] else None
        if scale != 1:
            loss *= scale
            if slope is not None:
                slope *= scale
        return loss, [slope, None]


class KLDivergence(PointwiseLoss):
    """target * (log(target) - input) of log-probabilities `input` (0 where target is 0, NaN where it is negative,
    as torch's xlogy), or with log_target exp(target) * (target - input)."""

    @staticmethod
    def loss_and_slopes(input, target, wants, log_target):
        xp = get_array_module(input)
        if log_target:
            probability = xp.exp(target)
            loss = probability * (target - input)
            slope_target = loss + probability if wants[1] else None
        else:
            probability = target
            log_probability = xp.log(target)
            loss = xp.where(target == 0, 0, target * (log_probability - input))
            slope_target = xp.where(target > 0, log_probability + 1 - input, np.nan) if wants[1] else None
        return loss, [-probability if wants[0] else None, slope_target]


class CosineSimilarity(Function):
    """sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps)) over `dim`, of the operands broadcast together: each divided by
    its norm first, as torch's, so that the norms' product never overflows. As in torch, which clamps the norms in
    place outside autograd, the clamp does not enter the gradient: each norm's own gradient is x / |x| (0 where
    |x| = 0)."""

    broadcasts = True

    @staticmethod
    def forward(ctx, x1, x2, dim, eps):
        xp = get_array_module(x1)
        x1, x2 = xp.broadcast_arrays(x1, x2)
        norms = [xp.sqrt((x * x).sum(axis=dim, keepdims=True)) for x in (x1, x2)]
        clamped = [xp.maximum(norm, eps) for norm in norms]
        cosine = ((x1 / clamped[0]) * (x2 / clamped[1])).sum(axis=dim, keepdims=True)
        ctx.save_for_backward(x1, x2, norms, clamped, cosine)
        return cosine.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        x1, x2, norms, (clamped1, clamped2), cosine = ctx.saved
        xp = get_array_module(grad)
        grad = xp.expand_dims(grad, ctx.params["dim"])
        across = grad / clamped1 / clamped2
        grads = []
        for x, other, norm, clamped, wanted in zip((x1, x2), (x2, x1), norms, (clamped1, clamped2),
                                                   ctx.needs_input_grad):
            if not wanted:
                grads.append(None)
                continue
            along = xp.where(norm > 0, grad * cosine / (clamped * norm), 0)
            grads.append(across * other - along * x)
        return tuple(grads)
