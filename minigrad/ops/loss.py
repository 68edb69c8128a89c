"""Losses that are worth one op rather than a chain: the Charbonnier distance, the negative log-likelihood of class
targets, the pointwise losses of torch (binary cross entropy, smooth L1 and Huber, KL divergence) and the cosine
similarity."""
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import Function, gpu_variant_of, is_grad_enabled, is_tensor
from ..tensor import Tensor
from .activation import Softplus
from .elementwise import Where, gradient_where


class CharbonnierLoss(Function):
    """sqrt((x - y)^2 + eps^2): L1 that is smooth at zero, reduced by "mean", "sum" or "none" as torch's losses.

    As a chain of ops it would keep four full-size intermediates and make ten passes; as one op it
    keeps only the slope (x - y) / distance, which is the whole backward (x and y are kept by reference, for
    differentiable_backward alone).
    """

    @staticmethod
    def forward(ctx, x, y, eps, reduction="mean"):
        if x.shape != y.shape:
            raise ValueError(f"charbonnier_loss expects input and target of one shape, got {x.shape} and {y.shape}")
        distance, slope = ctx.function.distance_and_slope(x, y, eps)
        ctx.save_for_backward(slope, x, y)
        return reduced(distance, reduction)

    @staticmethod
    def backward(ctx, grad):
        return CharbonnierLoss.gradients(ctx, grad, ctx.saved[0])

    @staticmethod
    def differentiable_backward(ctx, grad):
        """The slope from x and y linked, over the distance this op gives unreduced: its derivative is this again."""
        x, y = (ctx.linked(position, array) for position, array in enumerate(ctx.saved[1:]))
        distance = CharbonnierLoss.apply(x, y, eps=ctx.params["eps"], reduction="none")
        return CharbonnierLoss.gradients(ctx, grad, (x - y) / distance)

    @staticmethod
    def gradients(ctx, grad, slope):
        """Both inputs' gradients from the slope: arrays (backward) or tensors (differentiable_backward)."""
        if ctx.params.get("reduction", "mean") == "mean":
            grad = grad / math.prod(slope.shape)
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

    half_in_float32 = True

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

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's scatter as a selection: -weights * grad, its class dim restored, where each kept position's
        target class is, else 0; the selection is constant, as the loss is linear in the input."""
        shape, index, weights, kept = ctx.saved
        targeted = get_array_module(weights).zeros(shape, dtype=bool)
        targeted[index] = kept
        scale = grad * Tensor(-weights)
        zero = Tensor(0, dtype=scale.dtype, device=scale.device)
        return Where.apply(Tensor(targeted), scale.unsqueeze(1) if len(shape) > 1 else scale, zero)


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
    target's gradient is the input's negated, and its slope is not kept. `tensor_slopes` gives the same slopes
    from tensors, in recorded ops, for differentiable_backward (input and target are kept by reference for it).
    """

    half_in_float32 = True

    broadcasts = True
    antisymmetric = False
    tensor_slopes = None

    @staticmethod
    def forward(ctx, input, target, reduction="mean", weight=None, **params):
        wants = ctx.function.wanted_slopes([is_grad_enabled() and needs for needs in ctx.needs_input_grad])
        loss, slopes = ctx.function.loss_and_slopes(input, target, wants, **params)
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(loss.shape, _weighted(slopes, weight), input, target)
        return reduced(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        shape, slopes = ctx.saved[:2]
        return PointwiseLoss.gradients(ctx, grad, shape, *slopes)

    @classmethod
    def has_differentiable_backward(cls):
        return cls.tensor_slopes is not None

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's product, of the slopes that tensor_slopes gives from the input and target linked."""
        shape, _, *operands = ctx.saved
        params = {name: value for name, value in ctx.params.items() if name not in ("reduction", "weight")}
        slopes = ctx.function.tensor_slopes(*(ctx.linked(position, array) for position, array in enumerate(operands)),
                                            ctx.function.wanted_slopes(ctx.needs_input_grad), **params)
        weight = ctx.params.get("weight")
        return PointwiseLoss.gradients(ctx, grad, shape, *_weighted(slopes, None if weight is None else Tensor(weight)))

    @classmethod
    def wanted_slopes(cls, needs):
        """Which slopes to compute for inputs that need gradients: the input's alone for an antisymmetric loss."""
        return [needs[0] or needs[1], False] if cls.antisymmetric else list(needs)

    @staticmethod
    def gradients(ctx, grad, shape, slope_input, slope_target):
        """Both gradients from the slopes: arrays (backward) or tensors (differentiable_backward)."""
        if ctx.params.get("reduction", "mean") == "mean":
            grad = grad / math.prod(shape)
        # a slope may have one operand's shape alone
        grad = grad.expand(shape) if is_tensor(grad) else get_array_module(grad).broadcast_to(grad, shape)
        grad_input = None if slope_input is None else slope_input * grad
        if ctx.function.antisymmetric:
            return grad_input, None if grad_input is None else -grad_input
        return grad_input, None if slope_target is None else slope_target * grad

    @staticmethod
    def loss_and_slopes(input, target, wants, **params):
        raise NotImplementedError


def _weighted(slopes, weight):
    """The slopes (arrays or tensors, None where not wanted) times the loss's weight, where there is one."""
    return [slope if slope is None or weight is None else slope * weight for slope in slopes]


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

    @staticmethod
    def tensor_slopes(input, target, wants):
        slope_input = (input - target) / ((1 - input) * input).clamp_min(1e-12) if wants[0] else None
        return [slope_input, (-input).log1p() - input.log() if wants[1] else None]


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

    @staticmethod
    def tensor_slopes(input, target, wants, pos_weight=None):
        probability = input.sigmoid()
        if pos_weight is None:
            return [probability - target if wants[0] else None, -input if wants[1] else None]
        pos_weight = Tensor(pos_weight)
        slope_input = (1 + (pos_weight - 1) * target) * probability - pos_weight * target if wants[0] else None
        softplus_of_negative = Softplus.apply(-input, beta=1.0, threshold=20.0)
        return [slope_input, (pos_weight - 1) * softplus_of_negative - input if wants[1] else None]


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

    @staticmethod
    def tensor_slopes(input, target, wants, beta, scale):
        """The slope as difference times its (piecewise constant) derivative, plus the constant slope of the linear
        part: of the right value and derivatives."""
        difference = input - target
        values = difference.data
        xp = get_array_module(values)
        quadratic = xp.abs(values) < beta
        derivative = xp.where(quadratic, scale / beta if beta else 0.0, 0).astype(values.dtype)
        constant = xp.where(quadratic, 0, scale * xp.sign(values)).astype(values.dtype)
        return [difference * Tensor(derivative) + Tensor(constant), None]


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

    @staticmethod
    def tensor_slopes(input, target, wants, log_target):
        if log_target:
            probability = target.exp()
            slope_target = probability * (target - input + 1) if wants[1] else None
        else:
            probability = target
            positive, undefined = Tensor(target.data > 0), Tensor(np.nan, dtype=input.dtype, device=input.device)
            slope_target = Where.apply(positive, target.log() + 1 - input, undefined) if wants[1] else None
        return [-probability if wants[0] else None, slope_target]


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

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's gradients from x1 and x2 linked (as broadcast, which the engine sums back), the clamp as
        torch's: a constant added to each norm, which leaves the norm's derivative; a zero norm is taken as 1 where
        backward's gradient has no such term."""
        x1, x2, norms, clamped, _ = ctx.saved
        dim = ctx.params["dim"]
        vectors = [ctx.linked(position, x) for position, x in enumerate((x1, x2))]
        norm_tensors = [x.norm(2, dim, keepdim=True) for x in vectors]
        clamped = [norm + Tensor(bound - norm.data) for norm, bound in zip(norm_tensors, clamped)]
        nonzero = [Tensor(norm > 0) for norm in norms]
        nonzero_norms = [norm + Tensor((norm.data == 0).astype(norm.dtype)) for norm in norm_tensors]
        grad = grad.unsqueeze(dim)
        cosine = ((vectors[0] / clamped[0]) * (vectors[1] / clamped[1])).sum(dim, keepdim=True)
        across = grad / clamped[0] / clamped[1]
        return tuple(across * other - grad * cosine / (bound * norm) * mask * x if wanted else None
                     for x, other, bound, norm, mask, wanted in zip(vectors, vectors[::-1], clamped, nonzero_norms,
                                                                     nonzero, ctx.needs_input_grad))


class CTCLoss(Function):
    """The connectionist temporal classification loss of each sample of (T, N, C) log-probabilities against its
    target, a row of the (N, S) padded `targets`: -log of the summed probability of every path through the target
    with blanks between and around its labels. The forward (alpha) and backward (beta) recursions run in log space
    over the extended labels (blank, l1, blank, l2, ..., blank) of the whole batch at once, a loop over time only.
    The gradient is torch's: exp(log_probs) less each label's posterior occupancy (the true gradient plus
    exp(log_probs), which a log_softmax ahead of it takes back out), zero past a sample's input length; with
    zero_infinity, a sample of infinite loss (no path fits) has loss and gradient zero."""

    promotes_inputs = False  # targets and lengths stay integers

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, *, blank, zero_infinity):
        xp = get_array_module(log_probs)
        steps, batch, _ = log_probs.shape
        labels = CTCLoss.extended_labels(xp, targets, target_lengths, blank)
        emissions = xp.take_along_axis(log_probs, xp.broadcast_to(labels, (steps, *labels.shape)), axis=2)
        ends = 2 * target_lengths + 1  # each sample's count of extended labels
        valid = xp.arange(labels.shape[1]) < ends[:, None]
        skips = xp.zeros(labels.shape, dtype=bool)  # alpha(s) may come from s - 2: a label unlike the one before
        skips[:, 2:] = (labels[:, 2:] != blank) & (labels[:, 2:] != labels[:, :-2])
        alpha = CTCLoss.recursion(xp, emissions, skips, valid, input_lengths, forward=True)
        beta = CTCLoss.recursion(xp, emissions, skips, valid, input_lengths, forward=False)
        samples = xp.arange(batch)
        last = alpha[xp.maximum(input_lengths - 1, 0), samples]
        final = xp.logaddexp(last[samples, ends - 1], xp.where(ends > 1, last[samples, xp.maximum(ends - 2, 0)],
                                                                  -xp.inf))
        loss = -final
        infinite = xp.isinf(loss) if zero_infinity else xp.zeros(batch, dtype=bool)
        ctx.save_for_backward(log_probs, labels, alpha, beta, emissions, loss, input_lengths, infinite)
        return xp.where(infinite, 0, loss).astype(log_probs.dtype)

    @staticmethod
    def extended_labels(xp, targets, target_lengths, blank):
        """(N, 2S + 1): blank, l1, blank, l2, ..., blank, of each target (blanks past its length)."""
        labels = xp.full((targets.shape[0], 2 * targets.shape[1] + 1), blank, dtype=np.int64)
        within = xp.arange(targets.shape[1]) < target_lengths[:, None]
        labels[:, 1::2] = xp.where(within, targets, blank)
        return labels

    @staticmethod
    def recursion(xp, emissions, skips, valid, input_lengths, forward):
        """log alpha (forward) or log beta (backward), (T, N, 2S + 1), each including the emission at its step;
        -inf past a sample's input length or its extended labels."""
        steps, batch, positions = emissions.shape
        out = xp.full(emissions.shape, -xp.inf, dtype=emissions.dtype)
        ends = valid.sum(axis=1)
        start = xp.full((batch, positions), -xp.inf, dtype=emissions.dtype)
        if forward:
            start[:, :2] = 0
        else:  # each sample's last step starts at its last two extended labels
            start[(xp.arange(positions) >= ends[:, None] - 2)] = 0
        # beta(s) may come from s + 2 where alpha(s + 2) may come from s
        jumps = skips
        if not forward:  # skips two places back (none where every target is empty: one extended label)
            jumps = xp.zeros_like(skips)
            jumps[:, :-2] = skips[:, 2:]
        previous = None
        for step in range(steps) if forward else range(steps - 1, -1, -1):
            if previous is None:
                carried = start
            else:
                carried = CTCLoss.shifted_sum(xp, previous, jumps, forward)
                if not forward:  # a sample whose last step this is starts here
                    carried = xp.where((step == input_lengths - 1)[:, None], start, carried)
            previous = out[step] = xp.where(valid & (step < input_lengths)[:, None], carried + emissions[step],
                                            -xp.inf)
        return out

    @staticmethod
    def shifted_sum(xp, previous, jumps, forward):
        """log(sum) of each extended label's predecessors (its own, the one before, the one two before where it
        jumps), read one step back in the recursion's direction."""
        pad = xp.full((previous.shape[0], 2), -xp.inf, dtype=previous.dtype)
        if forward:
            padded = xp.concatenate([pad, previous], axis=1)
            one, two = padded[:, 1:-1], padded[:, :-2]
        else:
            padded = xp.concatenate([previous, pad], axis=1)
            one, two = padded[:, 1:-1], padded[:, 2:]
        return xp.logaddexp(xp.logaddexp(previous, one), xp.where(jumps, two, -xp.inf))

    @staticmethod
    def backward(ctx, grad):
        log_probs, labels, alpha, beta, emissions, loss, input_lengths, infinite = ctx.saved
        xp = get_array_module(grad)
        steps, batch, classes = log_probs.shape
        occupancy = xp.exp(alpha + beta - emissions + loss[:, None])  # each extended label's posterior, per step
        flat = (xp.arange(steps)[:, None, None] * batch + xp.arange(batch)[:, None]) * classes + labels
        posteriors = memory.zeros(xp, (steps * batch * classes,), log_probs.dtype)
        xp.add.at(posteriors, flat.ravel(), occupancy.ravel())
        grad_log_probs = xp.exp(log_probs) - posteriors.reshape(log_probs.shape)
        live = (xp.arange(steps)[:, None] < input_lengths) & ~infinite
        return xp.where(live[:, :, None], grad_log_probs * grad[:, None], 0).astype(log_probs.dtype), None, None, None
