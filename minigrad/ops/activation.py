"""Activations: relu, sigmoid, softmax."""
from ..backend import get_array_module
from ..function import Function


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        out = get_array_module(a).maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (out > 0)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        # exp of a non-positive number only, so large |a| never overflows
        e = xp.exp(-xp.abs(a))
        out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out * (1 - out)


class Softmax(Function):
    """Shifted by the max along `dim`, so exp never overflows."""

    @staticmethod
    def forward(ctx, a, dim):
        xp = get_array_module(a)
        e = xp.exp(a - a.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        dim = ctx.params["dim"]
        return out * (grad - (grad * out).sum(axis=dim, keepdims=True))
