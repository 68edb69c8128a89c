"""Normalization: batch, layer and group norm are one op, which normalises over some axes of its input and then
scales and shifts it (they differ only in the axes, and in where the statistics come from)."""
from ..backend import get_array_module
from ..function import Function


def moments(x, axes):
    """Mean and biased variance of x over `axes`, kept as size-1 dims so that they broadcast against x."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    centred *= centred
    return mean, centred.mean(axis=axes, keepdims=True)


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
        if mean is None:
            mean, var = moments(x, axes)
        xp = get_array_module(x)
        inverse_std = 1 / xp.sqrt(var + eps)
        normalized = x - mean
        normalized *= inverse_std
        weight = affine[0] if scaled else None
        ctx.save_for_backward(normalized, inverse_std, weight)
        out = normalized if weight is None else normalized * weight
        return out + affine[-1] if shifted else out

    @staticmethod
    def backward(ctx, grad):
        normalized, inverse_std, weight = ctx.saved
        params = ctx.params
        grad_normalized = grad if weight is None else grad * weight
        if params.get("constant_statistics", False):
            grad_x = grad_normalized * inverse_std
        else:  # d/dx of (x - mean(x)) / std(x): the gradient less its mean and its projection on normalized
            axes = params["axes"]
            projection = (grad_normalized * normalized).mean(axis=axes, keepdims=True)
            grad_x = grad_normalized - grad_normalized.mean(axis=axes, keepdims=True)
            grad_x -= normalized * projection
            grad_x *= inverse_std
        grads = [grad_x]
        if params["scaled"]:
            grads.append(grad * normalized)
        if params["shifted"]:
            grads.append(grad)
        return tuple(grads)
