"""Activations: relu, sigmoid, softmax.

ReLU and sigmoid are memory-bound passes over big feature maps: they run in place on fresh buffers
(no temporaries) and split the batch over the worker threads.
"""
from .. import parallel
from ..backend import get_array_module
from ..function import Function


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        out = parallel.elementwise(xp.maximum, a, xp.zeros((), dtype=a.dtype))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        xp = get_array_module(grad)
        def pass_where_positive(grad, saved, out):
            xp.copyto(out, grad, where=saved > 0)

        return parallel.elementwise(pass_where_positive, grad, out, out=xp.zeros_like(out))


class Sigmoid(Function):
    """sigmoid(a) = (1 + tanh(a / 2)) / 2: no exp, so large |a| never overflows."""

    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)

        def sigmoid(a, out):
            xp.multiply(a, 0.5, out=out)
            xp.tanh(out, out=out)
            out *= 0.5
            out += 0.5

        out = parallel.elementwise(sigmoid, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        xp = get_array_module(grad)

        def sigmoid_grad(saved, grad, out):                  # grad * saved * (1 - saved)
            xp.subtract(1, saved, out=out)
            out *= saved
            out *= grad

        return parallel.elementwise(sigmoid_grad, out, grad)


class Softmax(Function):
    """Shifted by the max along `dim`, so exp never overflows."""

    @staticmethod
    def forward(ctx, a, dim):
        xp = get_array_module(a)
        out = a - a.max(axis=dim, keepdims=True)
        xp.exp(out, out=out)
        out /= out.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        grad_a = grad * out
        grad_a -= out * grad_a.sum(axis=ctx.params["dim"], keepdims=True)   # out * (grad - sum(grad * out))
        return grad_a
