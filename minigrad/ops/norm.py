"""Normalization: batch, layer and group norm are one op, which normalises over some axes of its input and then
scales and shifts it (they differ only in the axes, and in where the statistics come from).

Each direction is a chain of memory-bound passes, and the blocks that share statistics (a channel, a sample's
group, a row) are independent, so each runs through parallel.elementwise with the normalised axes kept whole:
each worker thread takes some blocks, reduces them and writes its part of the preallocated outputs in place, with
no full-size temporaries. (Cutting further, into cache-sized blocks, as the activations do, measured slower:
the reductions' per-call cost outweighs it.) Sums of products go through einsum, which reads its two operands
without writing their product.
"""
import math

from .. import memory, parallel
from ..backend import get_array_module
from ..function import Function


def moments(x, axes):
    """Mean and biased variance of x over `axes`, kept as size-1 dims so that they broadcast against x."""
    xp = get_array_module(x)
    mean, var = (xp.empty(_statistics_shape(x.shape, axes), x.dtype) for _ in range(2))
    parallel.elementwise(lambda x, mean, var, out: _moments_into(xp, x, axes, mean, var, out), x, mean, var,
                         whole_axes=axes)
    return mean, var


def _statistics_shape(shape, axes):
    return tuple(1 if axis in axes else length for axis, length in enumerate(shape))


def _moments_into(xp, x, axes, mean, var, centred):
    """mean and var of x over axes, and centred = x - mean: two passes, as a variance from the centred values
    loses no digits to cancellation."""
    x.mean(axis=axes, keepdims=True, out=mean)
    xp.subtract(x, mean, out=centred)
    var[...] = _mean_of_products(xp, centred, centred, axes)


def _mean_of_products(xp, a, b, axes):
    """mean(a * b) over axes, kept as size-1 dims, in one read of a and b."""
    dims = "".join(chr(ord("a") + axis) for axis in range(a.ndim))
    kept = "".join(dim for axis, dim in enumerate(dims) if axis not in axes)
    total = xp.einsum(f"{dims},{dims}->{kept}", a, b).reshape(_statistics_shape(a.shape, axes))
    total /= math.prod(a.shape[axis] for axis in axes)
    return total


class Normalize(Function):
    """(x - mean) / sqrt(var + eps) over `axes`, times the weight and plus the bias when given (`scaled`,
    `shifted`: the inputs after x, each shaped to broadcast against x; backward returns their gradients in x's
    shape, and the engine sums them down).

    The statistics are x's own over `axes`, computed here unless the caller passes them (`mean`, `var`, as
    `moments` gives them: batch norm computes them first to update its running statistics). Running statistics
    in evaluation mode are constants instead (`constant_statistics`): only then does backward not differentiate
    through them, which turns its three terms into one. Backward keeps the normalized x and 1/std, no more.
    """

    @staticmethod
    def forward(ctx, x, *affine, axes, eps, scaled, shifted, mean=None, var=None, constant_statistics=False):
        xp = get_array_module(x)
        given = mean is not None
        if not given:
            mean, var = (xp.empty(_statistics_shape(x.shape, axes), x.dtype) for _ in range(2))
        inverse_std = xp.empty(var.shape, var.dtype)
        # the output is the normalized x itself without an affine map, else a buffer of its own
        normalized = (memory.empty(xp, x.shape, x.dtype),) if affine else ()

        def fill(x, mean, var, inverse_std, *normalized_and_affine, out):
            normalized = normalized_and_affine[0] if affine else out
            if given:
                xp.subtract(x, mean, out=normalized)
            else:
                _moments_into(xp, x, axes, mean, var, normalized)
            xp.add(var, eps, out=inverse_std)
            xp.sqrt(inverse_std, out=inverse_std)
            xp.reciprocal(inverse_std, out=inverse_std)
            normalized *= inverse_std
            if scaled:
                xp.multiply(normalized, normalized_and_affine[1], out=out)
            if shifted:
                xp.add(out if scaled else normalized, normalized_and_affine[-1], out=out)

        out = parallel.elementwise(fill, x, mean, var, inverse_std, *normalized, *affine, whole_axes=axes)
        ctx.save_for_backward(normalized[0] if affine else out, inverse_std, affine[0] if scaled else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        normalized, inverse_std, weight = ctx.saved
        params = ctx.params
        axes, scaled = params["axes"], params["scaled"]
        constant_statistics = params.get("constant_statistics", False)
        xp = get_array_module(grad)
        # grad * normalized, the weight's gradient, written last: until then a scratch buffer
        products = memory.empty(xp, grad.shape, grad.dtype)

        def fill(grad, normalized, inverse_std, products, *weight, out):
            if scaled:
                xp.multiply(grad, weight[0], out=out)
                out *= inverse_std
            else:
                xp.multiply(grad, inverse_std, out=out)
            # out = grad_normalized / std, all of grad_x when the statistics are constants; else d/dx of
            # (x - mean(x)) / std(x) takes off its mean and its projection on normalized
            if not constant_statistics:
                xp.multiply(normalized, _mean_of_products(xp, out, normalized, axes), out=products)
                products += out.mean(axis=axes, keepdims=True)
                out -= products
            if scaled:
                xp.multiply(grad, normalized, out=products)

        grad_x = parallel.elementwise(fill, grad, normalized, inverse_std, products, *((weight,) if scaled else ()),
                                      whole_axes=axes)
        grads = [grad_x]
        if scaled:
            grads.append(products)
        if params["shifted"]:
            grads.append(grad)
        return tuple(grads)
