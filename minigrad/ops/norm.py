"""Normalization: batch, layer and group norm are one op, which normalises over some axes of its input and then
scales and shifts it (they differ only in the axes, and in where the statistics come from).

Every pass here is a memory-bound sweep of a whole feature map, and the blocks that share statistics (a channel,
a sample's group, a row) are independent, so each direction runs through parallel.elementwise with the
normalised axes kept whole: each worker thread takes some blocks, reduces them and writes its part of the
preallocated outputs in place, with no full-size temporaries.
"""
from .. import memory, parallel
from ..backend import get_array_module
from ..function import Function


def moments(x, axes):
    """Mean and biased variance of x over `axes`, kept as size-1 dims so that they broadcast against x."""
    xp = get_array_module(x)
    mean, var = (xp.empty(_statistics_shape(x.shape, axes), x.dtype) for _ in range(2))
    parallel.elementwise(lambda x, mean, var, out: _moments_into(xp, x, axes, mean, var, out, out),
                         x, mean, var, whole_axes=axes)
    return mean, var


def _statistics_shape(shape, axes):
    return tuple(1 if axis in axes else length for axis, length in enumerate(shape))


def _moments_into(xp, x, axes, mean, var, centred, squares):
    """mean and var of x over axes, two-pass (a variance from the centred values, which loses no digits to
    cancellation); leaves x - mean in centred unless squares is the same buffer."""
    x.mean(axis=axes, keepdims=True, out=mean)
    xp.subtract(x, mean, out=centred)
    xp.multiply(centred, centred, out=squares)
    squares.mean(axis=axes, keepdims=True, out=var)


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
            if not given:   # the squares go to out, which is free until the affine map at the end
                _moments_into(xp, x, axes, mean, var, normalized, out)
            xp.add(var, eps, out=inverse_std)
            xp.sqrt(inverse_std, out=inverse_std)
            xp.reciprocal(inverse_std, out=inverse_std)
            if given or normalized is out:      # x - mean is not (or no longer) in normalized
                xp.subtract(x, mean, out=normalized)
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
            grad_normalized = xp.multiply(grad, weight[0], out=out) if scaled else grad
            if constant_statistics:
                xp.multiply(grad_normalized, inverse_std, out=out)
            else:  # d/dx of (x - mean(x)) / std(x): the gradient less its mean and its projection on normalized
                xp.multiply(grad_normalized, normalized, out=products)
                projection = products.mean(axis=axes, keepdims=True)
                xp.multiply(normalized, projection, out=products)
                products += grad_normalized.mean(axis=axes, keepdims=True)
                xp.subtract(grad_normalized, products, out=out)
                out *= inverse_std
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
