"""Reductions: sum, mean, max and min (amax, amin), var and std, prod, norm, logsumexp, median over one or more
dims; cumsum, cumprod, logcumsumexp and the running extremes; argmax and argmin; the indices that sort, and those
of order statistics (median, kthvalue, mode)."""
import collections
import math
import numbers
import warnings

import numpy as np

from ..backend import default_dtype, get_array_module
from ..function import SCALAR_TYPE_NAMES, Function, is_tensor, named_by
from ..tensor import Tensor, where
from .elementwise import gradient_where, tensor_functions
from .scan import running
from .shape import Cat, normalize_dim, normalize_dims

MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])
AminmaxResult = collections.namedtuple("AminmaxResult", ["min", "max"])


def _axes(dim, ndim):
    """The axes a reduction runs over: every one for None or an empty tuple, as in torch."""
    axes = () if dim is None else normalize_dims(dim, ndim)
    return axes or tuple(range(ndim))


def _expand_reduced(grad, axes, keepdim, shape):
    """Broadcast a reduced gradient (an array, or a tensor in differentiable_backward) back over the axes it was
    reduced along."""
    if not keepdim:
        kept = list(grad.shape)
        for axis in sorted(axes):
            kept.insert(axis, 1)
        grad = grad.reshape(tuple(kept))
    return grad.expand(shape) if is_tensor(grad) else get_array_module(grad).broadcast_to(grad, shape)


class Sum(Function):
    autocast_category = {"cuda": "float32"}
    half_in_float32 = True
    node_name = named_by("dim", "SumBackward0", "SumBackward1")

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axes = _axes(dim, a.ndim)
        ctx.save_for_backward(axes, a.shape)
        return a.sum(axis=axes, keepdims=keepdim, dtype=_integers_as_int64(a))  # NumPy's is uint64 for uint8

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        axes, shape = ctx.saved
        return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), shape)

    differentiable_backward = backward


class Mean(Sum):
    """A sum scaled by 1/count, forward and backward."""

    autocast_category = None
    node_name = named_by("dim", "MeanBackward0", "MeanBackward1")

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        if a.dtype.kind not in "fc":  # torch will not guess a float dtype for it
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                               f"complex dtype. Got: {SCALAR_TYPE_NAMES[a.dtype]}")
        total = Sum.forward(ctx, a, dim, keepdim)
        return total / total.dtype.type(_count(ctx))

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return Sum.backward(ctx, grad / grad.dtype.type(_count(ctx)))

    differentiable_backward = backward


def _count(ctx):
    """How many elements each output of a Sum/Mean node reduced over."""
    axes, shape = ctx.saved
    count = 1
    for axis in axes:
        count *= shape[axis]
    return count


class _SpreadBySlopes(Function):
    """A reduction whose gradient is the reduced gradient spread back over the reduced dims, times each element's
    slope (its share of a max, a norm's derivative, softmax for logsumexp), which forward saves as (axes, slopes,
    ...)."""

    @staticmethod
    def backward(ctx, grad):
        axes, slopes = ctx.saved[:2]
        return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), slopes.shape) * slopes

    @staticmethod
    def differentiable_backward(ctx, grad):
        """Where the slopes are constants (the shares of a max or a median): an op whose slopes depend on its input
        (a 2-norm, logsumexp) gives its own."""
        axes, slopes = ctx.saved[:2]
        return _expand_reduced(grad, axes, ctx.params.get("keepdim", False), slopes.shape) * Tensor(slopes)


class Max(_SpreadBySlopes):
    """Along a dim the gradient goes to the first maximum (torch's index); over everything it is shared by ties
    (by the NaNs, where there are any, as torch's max is NaN then). Min is the same with the array's min."""

    name, arg = "max", "argmax"  # torch's name of the op, and the array method of the index
    node_name = named_by("dim", "MaxBackward1", "MaxBackward0")  # torch's max() is its second overload

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        op = ctx.function
        if dim is not None:
            dim = normalize_dim(dim, a.ndim)  # one int dim, as torch's (an IndexError or TypeError)
        _require_values(op.name, a, dim)
        xp = get_array_module(a)
        axes = _axes(dim, a.ndim)
        out = getattr(a, op.name)(axis=axes, keepdims=True)
        if dim is None or a.ndim == 0:
            winners = _shared_by_ties(a, out, axes)
        else:
            positions = xp.arange(a.shape[axes[0]]).reshape((-1,) + (1,) * (a.ndim - axes[0] - 1))
            winners = positions == index_of_extreme(a, op.arg, dim, keepdim=True)
        ctx.save_for_backward(axes, winners.astype(a.dtype))
        return _drop_axes(out, axes, keepdim)

    @staticmethod
    def backward(ctx, grad):
        """The gradient to the winners alone, none to the rest where it is NaN or inf, as torch's."""
        slopes = ctx.saved[1]
        return gradient_where(_SpreadBySlopes.backward(ctx, grad), slopes != 0)

    @staticmethod
    def differentiable_backward(ctx, grad):
        return where(Tensor(ctx.saved[1] != 0), _SpreadBySlopes.differentiable_backward(ctx, grad), 0)


class Min(Max):
    name, arg = "min", "argmin"
    node_name = named_by("dim", "MinBackward1", "MinBackward0")


def _shared_by_ties(a, out, axes, nan_ties=True):
    """1 / (number of ties) where `a` reaches its extreme `out` (reduced over `axes`, kept), else 0: the share of
    the gradient each tie gets (each NaN, where there are any, as the extreme is NaN then). Without nan_ties a NaN
    extreme has no ties and every share is 0 / 0, NaN, as torch's amax's."""
    winners = a == out
    if a.dtype.kind == "f" and nan_ties:
        xp = get_array_module(a)
        winners |= xp.isnan(a) & xp.isnan(out)
    with np.errstate(invalid="ignore"):
        return winners / winners.sum(axis=axes, keepdims=True)


def _drop_axes(out, axes, keepdim):
    """A reduction's output computed with its reduced axes kept (of size 1), without them unless `keepdim`."""
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(out.shape) if i not in axes))


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


def sort_indices(a, dim, descending=False):
    """The int64 indices that sort `a` along `dim`, as torch.sort's: stable (ties in their order, descending too),
    NaN as the largest value."""
    xp = get_array_module(a)
    axis = normalize_dim(dim, a.ndim)
    if a.ndim == 0:
        return xp.zeros((), dtype=np.int64)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    reversed_order = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")  # ties last-first, so flipped first-last
    return (a.shape[axis] - 1 - xp.flip(reversed_order, axis)).astype(np.int64, copy=False)


def top_indices(a, k, dim, largest=True):
    """The int64 indices of the k largest (smallest) entries of `a` along `dim`, in order, as sort_indices gives
    its first k: a partition, then a sort of those k alone, by position first so that ties keep their order."""
    xp = get_array_module(a)
    axis = normalize_dim(dim, a.ndim)
    size = a.shape[axis] if a.ndim else 1
    if not 0 < k < size:
        return sort_indices(a, axis, largest)[(slice(None),) * axis + (slice(0, k),)] if a.ndim else sort_indices(a, 0)
    picked = slice(size - k, size) if largest else slice(0, k)
    candidates = xp.argpartition(a, size - k if largest else k - 1, axis=axis)[(slice(None),) * axis + (picked,)]
    candidates = xp.sort(candidates, axis=axis)
    order = sort_indices(xp.take_along_axis(a, candidates, axis=axis), axis, largest)
    return xp.take_along_axis(candidates, order, axis=axis).astype(np.int64, copy=False)


def _first_empty_dim(a, dim):
    """The first of `dim`'s dims (an int or a sequence) along which `a` is empty, as written, which is how torch's
    errors name it; None for dim None or ()."""
    written = () if dim is None else (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    return next((d for d in written if a.shape[d] == 0), None)


def _require_values(name, a, axis):
    """torch's errors for a max, min, argmax or argmin of no values (`axis`: a dim as torch names it, or None)."""
    if a.size == 0 and (axis is None or a.shape[axis] == 0):
        if axis is not None:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        if name.startswith("arg"):
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")


class Var(Function):
    """The variance over dims: the squared deviations from the mean, summed and divided by count - correction
    (1, torch's default, is the unbiased estimate; 0 the population's). Count - correction <= 0 gives inf or
    NaN with torch's warning, as in torch."""

    half_in_float32 = True

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
        centred = a - a.sum(axis=axes, keepdims=True) / a.dtype.type(count)
        out = (centred * centred).sum(axis=axes, keepdims=keepdim) / a.dtype.type(divisor)
        ctx.save_for_backward(axes, centred, a.dtype.type(2 / divisor if divisor else math.inf))
        return out

    @staticmethod
    def backward(ctx, grad):
        axes, centred, scale = ctx.saved[:3]  # d out / d a: 2 (a - mean) / divisor
        return _expand_reduced(grad * scale, axes, ctx.params.get("keepdim", False), centred.shape) * centred

    @staticmethod
    def differentiable_backward(ctx, grad):
        """The gradient depends on a only through a - mean(a), which centring again leaves as it is: the saved
        deviations, linked as a, stand in for it."""
        axes, centred, scale = ctx.saved[:3]
        deviations = ctx.linked(0, centred)
        deviations = deviations - deviations.mean(axes, keepdim=True)
        return _expand_reduced(grad * float(scale), axes, ctx.params.get("keepdim", False), centred.shape) * deviations


class Std(Var):
    """The square root of Var; its gradient is 0 where the deviation is 0, as torch's (not 0 / 0)."""

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        out = get_array_module(a).sqrt(Var.forward(ctx, a, dim, correction, keepdim))
        ctx.save_for_backward(*ctx.saved, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out = ctx.saved[-1]
        grad_var = get_array_module(grad).where(out == 0, grad.dtype.type(0), grad / (2 * out))
        return Var.backward(ctx, grad_var)

    @staticmethod
    def differentiable_backward(ctx, grad):
        out = ctx.saved[-1]
        zero = Tensor(out == 0)
        grad_var = where(zero, 0, grad / (2 * where(zero, 1, ctx.linked_output(out))))
        return Var.differentiable_backward(ctx, grad_var)


class Amax(Max):
    """torch.amax: the largest value over one or more dims (all for ()), its gradient shared evenly by ties, where
    max(dim)'s goes to the first of them. Amin is the same with the array's min."""

    @staticmethod
    def forward(ctx, a, dim=(), keepdim=False):
        op = ctx.function
        axes = _axes(dim, a.ndim)
        if any(a.shape[axis] == 0 for axis in axes):  # over every dim (dim=()), torch asks for a dim
            _require_values(f"a{op.name}", a, _first_empty_dim(a, dim))
        out = getattr(a, op.name)(axis=axes, keepdims=True)
        ctx.save_for_backward(axes, _shared_by_ties(a, out, axes, nan_ties=False).astype(a.dtype))
        return _drop_axes(out, axes, keepdim)

    backward = staticmethod(_SpreadBySlopes.backward)                  # grad * share: 0 * NaN is NaN, as torch's
    differentiable_backward = staticmethod(_SpreadBySlopes.differentiable_backward)


class Amin(Amax):
    name, arg = "min", "argmin"


class Norm(_SpreadBySlopes):
    """The vector p-norm over dims (all for None), as torch.linalg.vector_norm: (sum |a|^p)^(1/p); for p = inf
    (-inf) the largest (smallest) |a|, its gradient shared by ties; for p = 0 the count of non-zeros, with no
    gradient at all, as torch's: backward gives none (a leaf's .grad stays None), not zeros. Where the norm is 0
    the gradient is 0, as torch's (not 0 / 0)."""

    autocast_category = {"cuda": "float32"}
    half_in_float32 = True

    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def backward(ctx, grad):
        return None if ctx.params.get("p") == 0 else _SpreadBySlopes.backward(ctx, grad)

    @staticmethod
    def differentiable_backward(ctx, grad):
        """p = 1 and inf have constant slopes (signs, and a max's shares); other p's are forward's, recorded:
        sign(a) (|a| / norm)^(p-1), 0 where a or the norm is, as torch's (the masked places read 1, so that no
        infinite power's derivative meets a zero)."""
        p = ctx.params.get("p", 2)
        if p == 0:
            return None
        if p in (1, math.inf, -math.inf):
            return _SpreadBySlopes.differentiable_backward(ctx, grad)
        axes, _, a, out = ctx.saved
        keepdim = ctx.params.get("keepdim", False)
        zero = Tensor((_expand_reduced(out, axes, keepdim, a.shape) == 0) | (a == 0))
        norm = _expand_reduced(ctx.linked_output(out), axes, keepdim, a.shape)
        linked = ctx.linked(0, a)
        ratio = where(zero, 1, linked.abs() / where(zero, 1, norm))
        return _expand_reduced(grad, axes, keepdim, a.shape) * where(zero, 0, linked.sign() * ratio ** (p - 1))

    @staticmethod
    def forward(ctx, a, p=2, dim=None, keepdim=False):
        if a.dtype.kind != "f":
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                               f"Got {SCALAR_TYPE_NAMES[a.dtype]}")
        xp = get_array_module(a)
        axes = _axes(dim, a.ndim)
        magnitude = xp.abs(a)
        if p in (math.inf, -math.inf) and any(a.shape[axis] == 0 for axis in axes):
            empty = _first_empty_dim(a, dim)
            place = ("an empty tensor because" if empty is None  # torch's wording, without its space
                     else f"the dimension {empty}because this dimension is empty and")
            raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on {place} the operation does not "
                               "have an identity")
        if p in (math.inf, -math.inf):
            out = (magnitude.max if p > 0 else magnitude.min)(axis=axes, keepdims=True)
            slopes = _shared_by_ties(magnitude, out, axes) * xp.sign(a)
        elif p == 0:
            return _drop_axes((a != 0).sum(axis=axes, keepdims=True).astype(a.dtype), axes, keepdim)
        elif p == 1:
            out = magnitude.sum(axis=axes, keepdims=True)
            slopes = xp.sign(a)
        else:  # d/da (sum |a|^p)^(1/p) = sign(a) (|a| / norm)^(p-1), 0 at a = 0 for any p, as torch's
            out = (magnitude ** p).sum(axis=axes, keepdims=True) ** (1 / p)
            slopes = xp.where((out == 0) | (a == 0), 0, xp.sign(a) * (magnitude / out) ** (p - 1))
        out = _drop_axes(out, axes, keepdim)
        ctx.save_for_backward(axes, slopes.astype(a.dtype), a, out)  # a and out for create_graph's 2-norm
        return out


class LogSumExp(_SpreadBySlopes):
    """log(sum(exp(a))) over dims, computed with the largest value taken out first, so it neither overflows nor
    underflows (a dim of -inf only is -inf, as in torch); its gradient is softmax's, exp(a - out). Integers
    give the default dtype, as in torch."""

    autocast_category = {"cuda": "float32"}
    half_in_float32 = True

    node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, a, dim, keepdim=False):
        xp = get_array_module(a)
        if a.dtype.kind != "f":
            a = a.astype(default_dtype())
        axes = _axes(dim, a.ndim)
        if a.size:
            largest = a.max(axis=axes, keepdims=True)
            largest = xp.where(xp.isinf(largest), 0, largest).astype(a.dtype)  # inf - inf would be NaN
        else:  # no maximum to take out; the empty sum's log is -inf
            largest = xp.zeros(tuple(1 if axis in axes else size for axis, size in enumerate(a.shape)), a.dtype)
        out = xp.log(xp.exp(a - largest).sum(axis=axes, keepdims=True)) + largest
        slopes, out = xp.exp(a - out), _drop_axes(out, axes, keepdim)
        ctx.save_for_backward(axes, slopes, a, out)  # a and out for create_graph's, as torch's
        return out

    @staticmethod
    def differentiable_backward(ctx, grad):
        axes, _, a, out = ctx.saved
        keepdim = ctx.params.get("keepdim", False)
        softmax = (ctx.linked(0, a) - _expand_reduced(ctx.linked_output(out), axes, keepdim, a.shape)).exp()
        return _expand_reduced(grad, axes, keepdim, a.shape) * softmax


def _integers_as_int64(a):
    """The dtype of a running sum or product of `a`: its own, or int64 for bools and integers, as in torch."""
    return np.int64 if a.dtype.kind in "biu" else a.dtype


def _exclusive_cumprod(a):
    """Along the last axis, the product of the elements before each one (1 for the first); of an array, or of a
    tensor in differentiable_backward."""
    if is_tensor(a):
        return Cat.apply(a.new_ones(a.shape[:-1] + (1,)), a, dim=-1).cumprod(-1)[..., :-1]
    xp = get_array_module(a)
    ones = xp.ones(a.shape[:-1] + (1,), dtype=a.dtype)
    return xp.cumprod(xp.concatenate([ones, a], axis=-1), axis=-1)[..., :-1]


class Prod(Function):
    """The product over one dim, or over all. Each element's gradient is the product of the others, made of the
    running products before and after it, with no division: one zero gets the product of the rest, as in torch."""

    autocast_category = "float32"
    half_in_float32 = True

    node_name = named_by("dim", "ProdBackward0", "ProdBackward1")

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        axes = _axes(dim if dim is None else normalize_dim(dim, a.ndim), a.ndim)
        ctx.save_for_backward(axes, a)
        return _drop_axes(a.prod(axis=axes, keepdims=True, dtype=_integers_as_int64(a)), axes, keepdim)

    @staticmethod
    def backward(ctx, grad):
        axes, a = ctx.saved
        return Prod.gradient(get_array_module(a), grad, a, axes, ctx.params.get("keepdim", False))

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's running products in recorded ops (Cumprod's), so that zeros are differentiated through too, as
        torch's."""
        axes, a = ctx.saved
        return Prod.gradient(tensor_functions(), grad, ctx.linked(0, a), axes, ctx.params.get("keepdim", False))

    @staticmethod
    def gradient(xp, grad, a, axes, keepdim):
        """The gradient from the running products before and after each element: of arrays (xp NumPy's or CuPy's)
        or of linked tensors (xp minigrad's functions)."""
        kept, reduced = a.ndim - len(axes), tuple(range(a.ndim - len(axes), a.ndim))
        moved = xp.moveaxis(a, axes, reduced)  # (kept dims..., reduced dims...)
        rows = moved.reshape(moved.shape[:kept] + (math.prod(moved.shape[kept:]),))  # no -1: it may be empty
        others = _exclusive_cumprod(rows) * xp.flip(_exclusive_cumprod(xp.flip(rows, -1)), -1)
        others = xp.moveaxis(others.reshape(moved.shape), reduced, axes)
        return _expand_reduced(grad, axes, keepdim, a.shape) * others


def _reverse_cumsum(a, axis):
    """Along `axis`, the sum of each element and those after it (an array, or a tensor in differentiable_backward)."""
    if is_tensor(a):
        return a.flip(axis).cumsum(axis).flip(axis)
    xp = get_array_module(a)
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis=axis), axis)


class Cumsum(Function):
    """Running sums along `dim`. An element adds into every output from its place on, so its gradient is the
    running sum of the output's gradient taken from the end."""

    autocast_category = {"cuda": "float32"}
    half_in_float32 = True

    @staticmethod
    def forward(ctx, a, dim):
        axis = normalize_dim(dim, a.ndim)
        return get_array_module(a).cumsum(a.reshape(a.shape or (1,)), axis=axis,
                                          dtype=_integers_as_int64(a)).reshape(a.shape)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        axis = normalize_dim(ctx.params["dim"], grad.ndim)
        return _reverse_cumsum(grad.reshape(grad.shape or (1,)), axis).reshape(grad.shape)

    differentiable_backward = backward


class _Scan(Function):
    """A running op along `dim` (a 0-d tensor as one entry): its class's scan(rows, axis) forward, and
    scan_backward(grad, rows, out, axis) for the gradient."""

    half_in_float32 = True

    @staticmethod
    def forward(ctx, a, dim):
        axis = normalize_dim(dim, a.ndim)
        rows = a.reshape(a.shape or (1,))
        out = ctx.function.scan(rows, axis)
        ctx.save_for_backward(axis, rows, out)
        return out.reshape(a.shape)

    @staticmethod
    def backward(ctx, grad):
        axis, rows, out = ctx.saved
        return ctx.function.scan_backward(grad.reshape(rows.shape), rows, out, axis).reshape(grad.shape)


class Cumprod(_Scan):
    """Running products along `dim` (int64 for bools and integers, as in torch). Before a row's first zero an
    element's gradient is the reverse running sum of grad * out divided by it; the first zero's is the product
    before it times the sum of grad_j * (the product after it up to j); the ones after it get none: no division
    by zero, as in torch."""

    @staticmethod
    def scan(a, axis):
        return get_array_module(a).cumprod(a, axis=axis, dtype=_integers_as_int64(a))

    @staticmethod
    def scan_backward(grad, a, out, axis):
        xp = get_array_module(a)
        zeros = a == 0
        zeros_so_far = xp.cumsum(zeros, axis=axis)
        before_zero = zeros_so_far == 0
        first_zero = zeros & (zeros_so_far == 1)
        one = a.dtype.type(1)
        grad_a = xp.where(before_zero, _reverse_cumsum(grad * out, axis) / xp.where(before_zero, a, one), 0)
        products_after_first = xp.cumprod(xp.where(zeros_so_far - zeros == 0, one, a), axis=axis)
        from_first = (grad * products_after_first * ~before_zero).sum(axis=axis, keepdims=True)
        product_before_first = xp.where(before_zero, a, one).prod(axis=axis, keepdims=True)
        grad_a = grad_a + xp.where(first_zero, product_before_first * from_first, 0)
        return grad_a.astype(a.dtype, copy=False)

    @staticmethod
    def differentiable_backward(ctx, grad):
        """Without zeros, the reverse running sum of grad * out over each element, as torch's; the gradient of a
        row with a zero cannot be differentiated again."""
        axis, rows, out = ctx.saved
        if (rows == 0).any():
            return ctx.undifferentiable_gradients(grad)
        output = ctx.linked_output(out.reshape(grad.shape)).reshape(rows.shape)
        rows_in = ctx.linked(0, rows.reshape(grad.shape)).reshape(rows.shape)
        return (_reverse_cumsum(grad.reshape(rows.shape) * output, axis) / rows_in).reshape(grad.shape)


def running_extreme_indices(a, dim, largest):
    """The int64 indices of cummax's (largest) or cummin's values along `dim`, as torch's: the last of ties, and
    from a NaN on, the last NaN so far."""
    xp = get_array_module(a)
    axis = normalize_dim(dim, a.ndim)
    rows = a.reshape(a.shape or (1,))
    reached = rows == running(xp.maximum if largest else xp.minimum, rows, axis)
    if a.dtype.kind == "f":
        reached |= xp.isnan(rows)
    positions = _positions(rows, axis)
    return running(xp.maximum, xp.where(reached, positions, 0), axis).reshape(a.shape)


def _positions(a, axis):
    """0, 1, ... along `axis`, int64, shaped to broadcast against `a`."""
    return get_array_module(a).arange(a.shape[axis], dtype=np.int64).reshape((-1,) + (1,) * (a.ndim - axis - 1))


class LogCumSumExp(_Scan):
    """log(cumsum(exp(a))) along `dim`, as a running logaddexp, so it neither overflows nor underflows. Its
    gradient, sum over j >= i of grad_j exp(a_i - out_j), is taken as a reverse running logaddexp of
    log|grad_j| - out_j, positive and negative parts apart, as torch's."""

    node_name = "LogcumsumexpBackward0"

    @staticmethod
    def scan(a, axis):
        if a.dtype.kind != "f":
            raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for \'{SCALAR_TYPE_NAMES[a.dtype]}\'')
        return running(get_array_module(a).logaddexp, a, axis)

    @staticmethod
    def scan_backward(grad, a, out, axis):
        xp = get_array_module(a)

        def reaching(part):
            logs = xp.where(part > 0, xp.log(xp.where(part > 0, part, 1)), -xp.inf).astype(a.dtype)
            return xp.exp(a + xp.flip(running(xp.logaddexp, xp.flip(logs - out, axis), axis), axis))

        return reaching(grad) - reaching(-grad)

    @staticmethod
    def differentiable_backward(ctx, grad):
        """The same sums by recorded ops, a reverse logcumsumexp, as torch's; a part's zeros are the dtype's lowest
        number there, as torch's, where -inf would make the gradient of that logcumsumexp NaN."""
        axis, rows, out = ctx.saved
        a = ctx.linked(0, rows.reshape(grad.shape)).reshape(rows.shape)
        out = ctx.linked_output(out.reshape(grad.shape)).reshape(rows.shape)
        grad = grad.reshape(rows.shape)
        lowest = float(np.finfo(rows.dtype).min)

        def reaching(part):
            logs = part.where(part > 0, 1).log().where(part > 0, lowest)
            return (a + LogCumSumExp.apply((logs - out).flip(axis), dim=axis).flip(axis)).exp()

        return (reaching(grad) - reaching(-grad)).reshape(ctx.inputs[0].shape)


def count_numbers(a, axis):
    """How many entries along `axis` (kept) are not NaN."""
    if a.dtype.kind != "f":
        return get_array_module(a).full(a.shape[:axis] + (1,) + a.shape[axis + 1:], a.shape[axis], dtype=np.int64)
    return (~get_array_module(a).isnan(a)).sum(axis=axis, keepdims=True)


def median_indices(a, dim, skip_nan=False):
    """The int64 indices (along `dim`, kept) of the medians: the lower of the two middle values, as torch's; a row
    with a NaN has its first NaN, unless `skip_nan` (nanmedian), which ranks the others (an all-NaN row: its first
    NaN)."""
    xp = get_array_module(a)
    axis = normalize_dim(dim, a.ndim)
    if skip_nan:
        return ranked_indices(a, axis, xp.maximum(count_numbers(a, axis) - 1, 0) // 2)
    middle = ranked_indices(a, axis, (a.shape[axis] - 1) // 2)
    if a.dtype.kind != "f":
        return middle
    nans = xp.isnan(a)
    return xp.where(nans.any(axis=axis, keepdims=True), xp.expand_dims(nans.argmax(axis=axis), axis), middle)


def ranked_indices(a, dim, rank):
    """The int64 indices (along `dim`, kept) of the entries at sorted position `rank`, NaN ranking last: for an
    int rank, of a partition (any of ties, as torch's); for an array of ranks, one per row, of a stable sort."""
    xp = get_array_module(a)
    axis = normalize_dim(dim, a.ndim)
    if isinstance(rank, int):
        picked = xp.argpartition(a, rank, axis=axis)[(slice(None),) * axis + (slice(rank, rank + 1),)]
        return picked.astype(np.int64, copy=False)
    return xp.take_along_axis(sort_indices(a, axis), rank.astype(np.int64, copy=False), axis=axis)


# libstdc++'s std::sort (torch's mode sorts each row with it) sorts this many entries or fewer by insertion alone
INSERTION_SORTED = 16


def insertion_order(a, axis):
    """The int64 order in which libstdc++'s insertion sort by `<` leaves the entries along `axis`: each entry, in
    turn, goes to the front if it is below the first one, else left past the entries just before it that it is
    below. NaN is below nothing and nothing is below NaN, so entries pass a NaN only on their way to the front;
    without NaN, this is the stable sort. One step per entry, over every row at once."""
    xp = get_array_module(a)
    values = xp.moveaxis(a, axis, -1).copy()
    length = values.shape[-1]
    order = xp.broadcast_to(xp.arange(length, dtype=np.int64), values.shape).copy()
    for i in range(1, length):
        below = values[..., i:i + 1] < values[..., :i]
        passed = xp.cumprod(below[..., ::-1], axis=-1).sum(axis=-1)
        place = xp.where(below[..., 0], 0, i - passed)[..., None]
        slots = xp.arange(i + 1)
        source = xp.where(slots == place, i, slots - (slots > place))  # entry i to its place, those after it on by 1
        values[..., :i + 1] = xp.take_along_axis(values[..., :i + 1], source, axis=-1)
        order[..., :i + 1] = xp.take_along_axis(order[..., :i + 1], source, axis=-1)
    return xp.moveaxis(order, -1, axis)


def mode_indices(a, dim):
    """The int64 indices (along `dim`, kept) of the most frequent values, the first of them in sorted order at a tie
    of counts (each NaN a value of its own), each at its last place in that order: torch's mode's on rows of up to
    16, which its sort orders by insertion (NaN included, see insertion_order); on longer rows torch's index is any
    place of the value, and a NaN among them leaves its order to that sort's partitions, so ours may differ there."""
    xp = get_array_module(a)
    axis = normalize_dim(dim, a.ndim)
    nans = a.dtype.kind == "f" and a.shape[axis] <= INSERTION_SORTED and bool(xp.isnan(a).any())
    order = insertion_order(a, axis) if nans else sort_indices(a, axis)
    ordered = xp.take_along_axis(a, order, axis=axis)
    positions = _positions(a, axis)
    lead = (slice(None),) * axis
    changes = ordered[lead + (slice(1, None),)] != ordered[lead + (slice(None, -1),)]  # each NaN apart, as torch's
    edge = xp.ones(a.shape[:axis] + (1,) + a.shape[axis + 1:], dtype=bool)
    starts = xp.concatenate([edge, changes], axis=axis)
    ends = xp.concatenate([changes, edge], axis=axis)
    run_lengths = positions - running(xp.maximum, xp.where(starts, positions, 0), axis) + 1
    last_of_longest = xp.expand_dims(xp.where(ends, run_lengths, 0).argmax(axis=axis), axis)
    return xp.take_along_axis(order, last_of_longest, axis=axis)


class Median(_SpreadBySlopes):
    """The median of all the elements (the lower of the two middle values; NaN where there is a NaN, or none),
    its gradient shared evenly by ties (by the NaNs where it is NaN), as torch's. NanMedian leaves NaNs out."""

    skip_nan = False
    node_name = "MedianBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        axes = tuple(range(a.ndim))
        flat = a.reshape(-1)
        if flat.size:
            out = flat[median_indices(flat, 0, ctx.function.skip_nan)]
        else:
            out = xp.full(1, xp.nan, dtype=a.dtype)
        out = out.reshape((1,) * a.ndim)
        ctx.save_for_backward(axes, _shared_by_ties(a, out, axes).astype(a.dtype))
        return out.reshape(())


class NanMedian(Median):
    skip_nan = True
    node_name = "NanmedianBackward0"
