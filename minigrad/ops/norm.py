"""Normalization: batch, layer and group norm are one op, which normalises over some axes of its input and then
scales and shifts it (they differ only in the axes, and in where the statistics come from).

Each direction is a chain of memory-bound passes, and the blocks that share statistics (a channel, a sample's
group, a row) are independent, so forward runs through parallel.elementwise with the normalised axes kept whole:
each worker thread takes some blocks, reduces them and writes its part of the preallocated outputs in place, with
no full-size temporaries. (Cutting further, into cache-sized blocks, measured slower: the reductions' per-call
cost outweighs it.) Backward first reduces grad to a few small sums in the threads, after which grad_x is
element-wise, one pass over cache-sized blocks as the activations'. Sums of products go through einsum, which
reads its two operands without writing their product, or BLAS where they are rows times a vector.
"""
import functools
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import Function
from ..tensor import Tensor


def empty_statistics(x, axes):
    """Buffers for x's mean and biased variance over `axes`, kept as size-1 dims, for Normalize to write: float32
    for float16, which Normalize computes in (half_in_float32), as torch's."""
    xp = get_array_module(x)
    return tuple(xp.empty(_statistics_shape(x.shape, axes), np.promote_types(x.dtype, np.float32)) for _ in range(2))


def _statistics_shape(shape, axes):
    return tuple(1 if axis in axes else length for axis, length in enumerate(shape))


def _moments_into(xp, x, axes, mean, var, centred):
    """mean and var of x over axes, and centred = x - mean: two passes, as a variance from the centred values
    loses no digits to cancellation."""
    if not x.size:  # no values: NaN statistics, without NumPy's warnings, as torch's
        mean[...] = var[...] = math.nan
        return
    _mean_into(x, axes, mean)
    xp.subtract(x, mean, out=centred)
    var[...] = _mean_of_products(xp, centred, centred, axes)


# NumPy sums up to this many values plainly, in a few running sums, and more pairwise
PLAIN_SUM_LENGTH = 128


def _mean_into(x, axes, mean):
    """x's mean over axes, into mean: NumPy's pairwise sum keeps the digits of a mean far from 0 (which a running
    float32 sum loses); over no more values than it sums plainly anyway, BLAS reads them several times faster."""
    count = math.prod(x.shape[axis] for axis in axes)
    if count <= PLAIN_SUM_LENGTH:
        mean[...] = _mean_of_products(get_array_module(x), x, None, axes)
    else:
        x.mean(axis=axes, keepdims=True, out=mean)


def _mean_of_products(xp, a, b, axes):
    """mean(a * b) over axes, kept as size-1 dims, in one read of a and b."""
    total = _sum_of_products(xp, a, b, axes)
    total /= math.prod(a.shape[axis] for axis in axes)
    return total


# Over rows shorter than this einsum sums products as fast as BLAS's dot products a row, or faster
DOT_MIN_LENGTH = 128


def _sum_of_products(xp, a, b, axes):
    """sum(a * b) over axes, kept as size-1 dims, without writing the product. b broadcasts against a (its
    size-1 axes are read as absent) or is None: the sum of a alone. Over a's last axes, with b a vector along
    them (or None), it is a matrix-vector product: BLAS reads short rows (layer norm's) 2-3x faster than einsum;
    with b of a's shape, a dot product a row, a third faster than einsum over long rows (group and batch norm's).
    The other axes, the dots' few, are summed after. Over a's first axes alone, without b, it is a vector-matrix
    product (layer norm's weight and bias gradients)."""
    statistics_shape = _statistics_shape(a.shape, axes)
    inner = _reduced_tail(a.ndim, axes)
    lead = a.ndim - inner
    length = math.prod(a.shape[lead:])
    if inner and _contiguous_tail(a, inner):
        rows = a.reshape(a.shape[:lead] + (length,))
        dots = None
        if b is None or b.size == length and b.shape[b.ndim - inner:] == a.shape[lead:]:
            dots = kernels.matmul(rows, xp.ones(length, a.dtype) if b is None else b.reshape(-1))
        elif b.shape == a.shape and length >= DOT_MIN_LENGTH and _contiguous_tail(b, inner):
            dots = kernels.matmul(rows[..., None, :], b.reshape(rows.shape)[..., None]).reshape(rows.shape[:-1])
        if dots is not None:
            rest = tuple(axis for axis in axes if axis < lead)
            return (dots.sum(axis=rest, keepdims=True) if rest else dots).reshape(statistics_shape)
    if b is None and axes == tuple(range(len(axes))) and _contiguous_tail(a, a.ndim):
        count = math.prod(a.shape[:len(axes)])
        return kernels.matmul(xp.ones(count, a.dtype), a.reshape(count, -1)).reshape(statistics_shape)
    if b is None:
        return xp.einsum(_subscripts(a.ndim, axes, None), a).reshape(statistics_shape)
    spanned = tuple(axis for axis, length in enumerate(b.shape, a.ndim - b.ndim) if length != 1)
    vector = b.reshape([a.shape[axis] for axis in spanned])
    return kernels.einsum(_subscripts(a.ndim, axes, spanned), a, vector, optimize=False).reshape(statistics_shape)


@functools.lru_cache(maxsize=None)
def _subscripts(ndim, axes, spanned):
    """einsum's subscripts for _sum_of_products: a's `ndim` dims times b's `spanned` ones (None: no b), summed over
    `axes`."""
    dims = "".join(chr(ord("a") + axis) for axis in range(ndim))
    kept = "".join(dim for axis, dim in enumerate(dims) if axis not in axes)
    operands = dims if spanned is None else f"{dims},{''.join(dims[axis] for axis in spanned)}"
    return f"{operands}->{kept}"


def _reduced_tail(ndim, axes):
    """How many of the last axes of an array of `ndim` dims are among `axes`."""
    count = 0
    while count < ndim and ndim - 1 - count in axes:
        count += 1
    return count


def _contiguous_tail(a, count):
    """Whether a's last `count` axes lie end to end in memory, so that merging them is a view."""
    step = a.itemsize
    for length, stride in zip(a.shape[::-1][:count], a.strides[::-1][:count]):
        if length != 1 and stride != step:
            return False
        step *= length
    return True


def _summed_in_threads(xp, a, b, axes):
    """_sum_of_products, its blocks split over the worker threads."""
    return _sums_in_threads(xp, a, (b,), axes)[0]


def _sums_in_threads(xp, a, factors, axes):
    """_sum_of_products of a and each of `factors` (None: a alone), a list: each worker thread takes them one after
    another over its block of a, which the later ones read from cache, where passes of their own would read all of
    a from memory again."""
    shape = _statistics_shape(a.shape, axes)
    given = [b for b in factors if b is not None]
    later_sums = [memory.empty(xp, shape, a.dtype) for _ in factors[1:]]

    def fill(a, *given_and_later_sums, out):
        blocks = iter(given_and_later_sums[:len(given)])
        for b, total in zip(factors, (out, *given_and_later_sums[len(given):])):
            total[...] = _sum_of_products(xp, a, None if b is None else next(blocks), axes)

    first = parallel.elementwise(fill, a, *given, *later_sums, out=memory.empty(xp, shape, a.dtype), whole_axes=axes)
    return [first, *later_sums]


class Normalize(Function):
    """(x - mean) / sqrt(var + eps) over `axes`, times the weight and plus the bias when given (`scaled`,
    `shifted`: the inputs after x, each shaped to broadcast against x; backward returns their gradients summed
    down to their shapes).

    The statistics are x's own over `axes`, written into `mean` and `var` where the caller gives them (as
    `empty_statistics` makes them: batch norm then moves its running statistics towards them). Running statistics
    in evaluation mode are constants instead (`constant_statistics`, `mean` and `var` holding them): only then does
    backward not differentiate through them, which turns its three terms into one. Backward keeps x's deviations
    from the mean (see _folds), 1/std and the weight and bias, no more.
    """

    half_in_float32 = True

    @staticmethod
    def forward(ctx, x, *affine, axes, eps, scaled, shifted, mean=None, var=None, constant_statistics=False):
        xp = get_array_module(x)
        if mean is None:
            mean, var = empty_statistics(x, axes)
        inverse_std = xp.empty(var.shape, x.dtype)  # float32 where x is float16 made so (half_in_float32)
        folded = scaled and _folds(inverse_std, affine[0], x.size)
        # the deviations are the output's own buffer without an affine map, scaled in place, else one of their own
        deviations = (memory.empty(xp, x.shape, x.dtype),) if affine else ()

        def fill(x, mean, var, inverse_std, *deviations_and_affine, out):
            deviations = deviations_and_affine[0] if affine else out
            if constant_statistics:
                xp.subtract(x, mean, out=deviations)
            else:
                _moments_into(xp, x, axes, mean, var, deviations)
            xp.add(var, eps, out=inverse_std)
            xp.sqrt(inverse_std, out=inverse_std)
            xp.reciprocal(inverse_std, out=inverse_std)
            if folded:
                xp.multiply(deviations, inverse_std * deviations_and_affine[1], out=out)
            else:
                deviations *= inverse_std
                if scaled:
                    _along_rows(xp.multiply, deviations, deviations_and_affine[1], out)
            if shifted:
                _along_rows(xp.add, out if scaled else deviations, deviations_and_affine[-1], out)

        out = parallel.elementwise(fill, x, mean, var, inverse_std, *deviations, *affine, whole_axes=axes)
        ctx.save_for_backward(deviations[0] if affine else out, inverse_std, *affine)
        return out

    @staticmethod
    def backward(ctx, grad):
        deviations, inverse_std, *affine = ctx.saved
        params = ctx.params
        axes, scaled, shifted = params["axes"], params["scaled"], params["shifted"]
        xp = get_array_module(grad)
        folded = scaled and _folds(inverse_std, affine[0], grad.size)
        unit = inverse_std if folded else 1     # the saved deviations times unit are the normalized x
        # The bias's and weight's gradients: sum(grad) and sum(grad * normalized) over the normalised axes along
        # which the weight is constant (a group's positions; none of layer norm's, where they are grad and the
        # product itself), reduced in the worker threads.
        affine_shape = (1,) * (grad.ndim - affine[0].ndim) + affine[0].shape if affine else (1,) * grad.ndim
        summed = tuple(axis for axis in axes if affine_shape[axis] == 1)
        if summed:
            grad_sum, product_sum = _sums_in_threads(xp, grad, (None, deviations), summed)
            product_sum *= unit
        else:
            grad_sum, product_sum = grad, parallel.elementwise(xp.multiply, grad, deviations)
        # grad_x = (g - mean(g) - normalized * mean(g * normalized)) * inverse_std, g = grad * weight the normalized
        # x's gradient and the means over axes, which follow from the two sums; only g * inverse_std when the
        # statistics are constants. One pass, block by block, writes it.
        weights = affine[:1] if scaled else ()
        count = math.prod(grad.shape[axis] for axis in axes)
        shift_and_slope = () if params.get("constant_statistics", False) else tuple(
            _summed_in_threads(xp, total, weights[0] if scaled else None, axes) * (inverse_std / count) * factor
            for total, factor in ((grad_sum, 1), (product_sum, unit)))

        def fill(grad, deviations, inverse_std, *weight_shift_and_slope, out):
            if folded:
                xp.multiply(grad, inverse_std * weight_shift_and_slope[0], out=out)
            else:
                xp.multiply(grad, inverse_std, out=out)
                if scaled:
                    _along_rows(xp.multiply, out, weight_shift_and_slope[0], out)
            if shift_and_slope:
                shift, slope = weight_shift_and_slope[-2:]
                out -= shift
                projection = memory.empty(xp, out.shape, out.dtype)
                xp.multiply(deviations, slope, out=projection)
                out -= projection

        grad_x = parallel.blockwise(fill, grad, deviations, inverse_std, *weights, *shift_and_slope)
        # summed down to the weight's shape here, in einsum: the engine's sum of a full-size product (layer norm's)
        # reads more slowly
        rest = tuple(axis for axis, length in enumerate(affine_shape) if length == 1 and axis not in summed)
        grad_sum, product_sum = (_sum_of_products(xp, total, None, rest).reshape(affine[0].shape) if rest and affine
                                 else total for total in (grad_sum, product_sum))
        return (grad_x, *((product_sum,) if scaled else ()), *((grad_sum,) if shifted else ()))

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's gradients in recorded ops, from x's deviations from its mean linked in x's place (forward kept
        them, or the normalized x, which is they times 1/std): the normalized x and the variance are the same for x
        less any shift constant along the axes; with constant statistics the normalized x is the deviations times
        1/std, a constant, and x's gradient no more than grad times that."""
        deviations, inverse_std, *affine = ctx.saved
        params = ctx.params
        axes, scaled, shifted = params["axes"], params["scaled"], params["shifted"]
        constant_statistics = params.get("constant_statistics", False)
        if not (scaled and _folds(inverse_std, affine[0], deviations.size)):
            deviations = deviations / inverse_std
        x = ctx.linked(0, deviations)
        if constant_statistics:
            centred, inverse_std = x, Tensor(inverse_std)
        else:
            centred = x - x.mean(axes, keepdim=True)
            inverse_std = ((centred * centred).mean(axes, keepdim=True) + params["eps"]).rsqrt()
        normalized = centred * inverse_std
        grad_normalized = grad * ctx.linked(1, affine[0]) if scaled else grad
        grad_x = grad_normalized if constant_statistics else (
            grad_normalized - grad_normalized.mean(axes, keepdim=True)
            - normalized * (grad_normalized * normalized).mean(axes, keepdim=True))
        return (grad_x * inverse_std, *((grad * normalized,) if scaled else ()), *((grad,) if shifted else ()))


# NumPy loops over an operand broadcast along leading axes a row at a time, each row costing about as much as 64
# values: rows of this many values or more hide that
LONG_ROW = 8192


def _along_rows(ufunc, a, operand, out):
    """ufunc(a, operand, out=out), operand broadcast along a's leading axes. Where it spans a's last axes exactly
    (layer norm's weight and bias) and a and out are C-contiguous, they are taken as rows of several copies of its span,
    and operand repeated as many times: short rows (layer norm's 64 values) would pay the cost of a row each. Not
    below a long row's worth of values, whose few rows cost less than the copies of operand."""
    span = operand.size
    if not (span and a.size >= LONG_ROW and operand.shape == a.shape[a.ndim - operand.ndim:]
            and a.flags.c_contiguous and out.flags.c_contiguous):
        return ufunc(a, operand, out=out)
    copies = math.gcd(a.size // span, 1 << max(0, (LONG_ROW // span).bit_length() - 1))  # a power of 2 dividing it
    rows = (a.size // (copies * span), copies * span)
    ufunc(a.reshape(rows), get_array_module(a).tile(operand.reshape(-1), copies), out=out.reshape(rows))
    return out


def _folds(inverse_std, weight, size):
    """Whether 1/std and the weight scale x's deviations (forward) and grad (backward) as their product, in one
    pass rather than two: where that product is smaller than the `size` values it scales (batch and group norm's,
    a channel's or a sample's channel's), not where they span different axes (layer norm's). Forward then keeps
    the deviations, x - mean, for backward, else the normalized x it writes on the way."""
    weight_shape = (1,) * (inverse_std.ndim - weight.ndim) + weight.shape
    return math.prod(map(max, inverse_std.shape, weight_shape)) < size
