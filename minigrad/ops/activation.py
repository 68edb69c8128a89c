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


def _into_new(work, *arrays):
    """A fresh array shaped like arrays[0], filled by work(*array chunks, out chunk) over batch chunks."""
    out = get_array_module(arrays[0]).empty_like(arrays[0])
    _by_batch(work, *arrays, out)
    return out


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        out = _into_new(lambda a, out: xp.maximum(a, 0, out=out), a)
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

        def sigmoid(a, out):
            xp.multiply(a, 0.5, out=out)
            xp.tanh(out, out=out)
            out *= 0.5
            out += 0.5

        out = _into_new(sigmoid, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        xp = get_array_module(grad)

        def sigmoid_grad(out, grad, grad_a):                 # grad * out * (1 - out)
            xp.subtract(1, out, out=grad_a)
            grad_a *= out
            grad_a *= grad

        return _into_new(sigmoid_grad, out, xp.broadcast_to(grad, out.shape))


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
