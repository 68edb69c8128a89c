"""Activations: relu, sigmoid, softmax.

ReLU and sigmoid are memory-bound passes over big feature maps: they run in place on fresh buffers
(no temporaries) and split the batch over the worker threads.
"""
from .. import parallel
from ..backend import get_array_module
from ..function import Function


def _by_batch(work, *arrays):
    """Run work(*slices) on matching leading-axis chunks of same-shaped arrays, one per thread."""
    if arrays[0].ndim == 0:
        work(*arrays)
        return
    parallel.split(lambda start, stop: work(*(a[start:stop] for a in arrays)), arrays[0].shape[0])


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        out = xp.empty_like(a)
        _by_batch(lambda a, out: xp.maximum(a, 0, out=out), a, out)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        xp = get_array_module(grad)
        grad_a = xp.zeros_like(out)
        _by_batch(lambda grad, out, grad_a: xp.copyto(grad_a, grad, where=out > 0), grad, out, grad_a)
        return grad_a


class Sigmoid(Function):
    """sigmoid(a) = (1 + tanh(a / 2)) / 2: no exp, so large |a| never overflows."""

    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        out = xp.empty_like(a)

        def sigmoid(a, out):
            xp.multiply(a, 0.5, out=out)
            xp.tanh(out, out=out)
            out *= 0.5
            out += 0.5

        _by_batch(sigmoid, a, out)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        xp = get_array_module(grad)
        grad_a = xp.empty_like(out)

        def sigmoid_grad(grad, out, grad_a):                 # grad * out * (1 - out)
            xp.subtract(1, out, out=grad_a)
            grad_a *= out
            grad_a *= grad

        _by_batch(sigmoid_grad, xp.broadcast_to(grad, out.shape), out, grad_a)
        return grad_a


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
