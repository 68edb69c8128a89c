"""Losses that are worth one op rather than a chain: the Charbonnier distance, and the negative log-likelihood
of class targets."""
from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import Function, gpu_variant_of


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
        if reduction == "none":
            return distance
        return distance.mean() if reduction == "mean" else distance.sum()

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
        ctx.save_for_backward(input.shape, index, weights)
        return weights * xp.where(kept, -input[index], 0)

    @staticmethod
    def backward(ctx, grad):
        shape, index, weights = ctx.saved
        grad_input = memory.zeros(get_array_module(grad), shape, grad.dtype)
        grad_input[index] = -weights * grad
        return grad_input
