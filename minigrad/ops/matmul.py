"""Batched matrix product with broadcasting over the leading dims."""
import numpy as np

from .. import memory, parallel
from ..backend import get_array_module
from ..function import Function


def matmul(a, b):
    """a @ b of arrays, with the rows of a split over the worker threads (BLAS itself is pinned to one
    thread): rows split whatever the batch, a batch of one included."""
    xp = get_array_module(a)
    out = memory.empty(xp, np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]),
                       xp.result_type(a, b))
    if not parallel.worth_splitting(xp, out.size * a.shape[-1]):
        return xp.matmul(a, b, out=out)
    parallel.split(lambda start, stop: xp.matmul(a[..., start:stop, :], b, out=out[..., start:stop, :]), a.shape[-2])
    return out


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul needs operands with at least 2 dims, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up ({a.shape[-1]} != {b.shape[-2]})")
        ctx.save_for_backward(a, b)
        return matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = matmul(grad, b.swapaxes(-1, -2)) if need_a else None
        grad_b = matmul(a.swapaxes(-1, -2), grad) if need_b else None
        return grad_a, grad_b
