"""Reductions: sum, mean, max and min, var and std over one or more dims; argmax and argmin."""
import collections
import math
import warnings

import numpy as np

from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function
from .shape import normalize_dim, normalize_dims

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
    """Along a dim the gradient goes to the first maximum (torch's index); over everything it is shared by ties
    (by the NaNs, where there are any, as torch's max is NaN then). Min is the same with the array's min."""

    name, arg = "max", "argmax"  # torch's name of the op, and the array method of the index

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        op = ctx.function
        if dim is not None:
            normalize_dim(dim, a.ndim)  # one int dim, as torch's (an IndexError or TypeError)
        _require_values(op.name, a, dim)
        xp = get_array_module(a)
        axes = _axes(dim, a.ndim)
        out = getattr(a, op.name)(axis=axes, keepdims=True)
        if dim is None or a.ndim == 0:
            winners = a == out
            if a.dtype.kind == "f":
                winners |= xp.isnan(a) & xp.isnan(out)
            winners = winners / winners.sum()
        else:
            positions = xp.arange(a.shape[axes[0]]).reshape((-1,) + (1,) * (a.ndim - axes[0] - 1))
            winners = positions == index_of_extreme(a, op.arg, dim, keepdim=True)
        ctx.save_for_backward(axes, winners.astype(a.dtype))
        return out if keepdim else out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in axes))

    @staticmethod
    def backward(ctx, grad):
        axes, winners = ctx.saved
        return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), winners.shape) * winners


class Min(Max):
    name, arg = "min", "argmin"


def index_of_extreme(a, arg, dim=None, keepdim=False):
    """a.argmax() or a.argmin() (`arg`) as torch's: the first of ties (a NaN beats any number), int64, along `dim`
    (one int), or without it the index into the flattened array, 0-d (with keepdim, of shape (1,) * a.ndim)."""
    if dim is not None:
        dim = normalize_dim(dim, a.ndim)
    _require_values(arg, a, dim)
    xp = get_array_module(a)
    if dim is None or a.ndim == 0:
        index = getattr(a, arg)().reshape((1,) * a.ndim if keepdim else ())
    else:
        index = getattr(a, arg)(axis=dim)
        index = xp.expand_dims(index, dim) if keepdim else index
    return xp.asarray(index, dtype=np.int64)


def _require_values(name, a, axis):
    """torch's errors for a max, min, argmax or argmin of no values (`axis`: a normalized dim, or None)."""
    if a.size == 0 and (axis is None or a.shape[axis] == 0):
        if axis is not None:
            raise IndexError(f"{name}(): Expected reduction dim {axis % a.ndim} to have non-zero size.")
        if name.startswith("arg"):
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")


class Var(Function):
    """The variance over dims: the squared deviations from the mean, summed and divided by count - correction
    (1, torch's default, is the unbiased estimate; 0 the population's). Count - correction <= 0 gives inf or
    NaN with torch's warning, as in torch."""

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        name = ctx.function.__name__.lower()
        if a.dtype.kind not in "fc":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        if a.dtype.kind == "c":
            raise NotImplementedError(f"{name}() of a complex tensor is not implemented in minigrad")
        axes = _axes(dim, a.ndim)
        count = math.prod(a.shape[axis] for axis in axes)
        divisor = max(0, count - correction)
        if divisor == 0:
            warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=4)
        with np.errstate(divide="ignore", invalid="ignore"):  # NumPy's warnings for what torch warned of above
            centred = a - a.sum(axis=axes, keepdims=True) / a.dtype.type(count)
            out = (centred * centred).sum(axis=axes, keepdims=keepdim) / a.dtype.type(divisor)
            ctx.save_for_backward(axes, centred * a.dtype.type(2 / divisor if divisor else math.inf))
        return out

    @staticmethod
    def backward(ctx, grad):
        axes, slopes = ctx.saved[:2]  # d out / d a: 2 (a - mean) / divisor
        with np.errstate(invalid="ignore"):
            return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), slopes.shape) * slopes


class Std(Var):
    """The square root of Var; its gradient is 0 where the deviation is 0, as torch's (not 0 / 0)."""

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        out = get_array_module(a).sqrt(Var.forward(ctx, a, dim, correction, keepdim))
        ctx.save_for_backward(*ctx.saved, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_var = get_array_module(grad).where(out == 0, grad.dtype.type(0), grad / (2 * out))
        return Var.backward(ctx, grad_var)
