"""Losses that are worth one op rather than a chain: the Charbonnier distance."""
from .. import kernels, parallel
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
