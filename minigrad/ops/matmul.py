"""Batched matrix product with broadcasting over the leading dims."""
import numpy as np

from .. import memory, parallel
from ..backend import get_array_module
from ..function import Function, broadcast_mismatch, require_same_dtype


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
    """Operands of different dtypes are refused, as torch does, rather than promoted."""

    promotes_inputs = False

    @staticmethod
    def forward(ctx, a, b):
        if not _can_multiply(a.shape, b.shape):
            raise RuntimeError(f"matmul: mat1 and mat2 shapes cannot be multiplied ({_dims(a.shape)} and "
                               f"{_dims(b.shape)})")
        require_same_dtype("matmul", m1=a, m2=b)
        ctx.save_for_backward(a, b)
        return matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = matmul(grad, b.swapaxes(-1, -2)) if need_a else None
        grad_b = matmul(a.swapaxes(-1, -2), grad) if need_b else None
        return grad_a, grad_b


def _can_multiply(a, b):
    """Shapes of at least two dims whose inner sizes agree and whose batch dims broadcast."""
    return len(a) >= 2 and len(b) >= 2 and a[-1] == b[-2] and broadcast_mismatch(a[:-2], b[:-2]) is None


def _dims(shape):
    """A shape as torch writes it in matmul errors: 2x3."""
    return "x".join(str(n) for n in shape)
