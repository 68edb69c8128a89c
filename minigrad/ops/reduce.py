"""Reductions: sum, mean, max over one or more dims."""
import collections

from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function
from .shape import normalize_dims

MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


def _axes(dim, ndim):
    """The axes a reduction runs over: every one for None or an empty tuple, as in torch."""
    axes = () if dim is None else normalize_dims(dim, ndim)
    return axes or tuple(range(ndim))


def _expand_reduced(grad, axes, keepdim, shape):
    """Broadcast a reduced gradient back over the axes it was reduced along."""
    xp = get_array_module(grad)
    if not keepdim:
        grad = xp.expand_dims(grad, axes)
    return xp.broadcast_to(grad, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axes = _axes(dim, a.ndim)
        ctx.save_for_backward(axes, a.shape)
        return a.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        axes, shape = ctx.saved
        return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), shape)


class Mean(Sum):
    """A sum scaled by 1/count, forward and backward."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        if a.dtype.kind not in "fc":  # torch will not guess a float dtype for it
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                               f"complex dtype. Got: {SCALAR_TYPE_NAMES[a.dtype]}")
        total = Sum.forward(ctx, a, dim, keepdim)
        return total / total.dtype.type(_count(ctx))

    @staticmethod
    def backward(ctx, grad):
        return Sum.backward(ctx, grad / grad.dtype.type(_count(ctx)))


def _count(ctx):
    """How many elements each output of a Sum/Mean node reduced over."""
    axes, shape = ctx.saved
    count = 1
    for axis in axes:
        count *= shape[axis]
    return count


class Max(Function):
    """Along a dim the gradient goes to the first maximum (torch's index); over everything it is shared by ties."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        xp = get_array_module(a)
        axes = _axes(dim, a.ndim)
        out = a.max(axis=axes, keepdims=True)
        if dim is None or a.ndim == 0:
            winners = a == out
            winners = winners / winners.sum()
        else:
            axis = axes[0]
            first = xp.expand_dims(a.argmax(axis=axis), axis)
            positions = xp.arange(a.shape[axis]).reshape((-1,) + (1,) * (a.ndim - axis - 1))
            winners = positions == first
        ctx.save_for_backward(axes, winners.astype(a.dtype))
        return out if keepdim else out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in axes))

    @staticmethod
    def backward(ctx, grad):
        axes, winners = ctx.saved
        return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), winners.shape) * winners
