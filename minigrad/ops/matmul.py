"""Batched matrix product with broadcasting over the leading dims."""
import numpy as np

from .. import memory, parallel
from ..backend import get_array_module
from ..function import Function, broadcast_mismatch, require_same_dtype


# BLAS runs GEMMs of fewer rows than this far below its peak, so a thread rather takes whole GEMMs of a batch.
SPLIT_MIN_ROWS = 16
# A multiply-add costs a small fraction of an element-wise op's element, so a product is worth the threads' hand-off
# (tens of microseconds to wake one) from more work on: below this, one core does it in under about 0.2 ms (a
# recurrent layer's step, h W_hh^T of 16 x 128 x 512, took 4x longer split than on one thread).
SPLIT_MIN_MULTIPLY_ADDS = 1 << 23


def matmul(a, b):
    """a @ b of arrays, with the rows of a split over the worker threads (BLAS itself is pinned to one
    thread): rows split whatever the batch, a batch of one included; the batch's first dim splits instead
    when a has fewer rows than there are threads, or when it has enough GEMMs for every thread and a's
    rows would split thinner than SPLIT_MIN_ROWS (a grouped conv's GEMMs have a few rows per group)."""
    xp = get_array_module(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if batch and all(size == 1 for size in batch):
        # One GEMM: as plain matrices. CuPy copies every batched operand that is not C-contiguous (a conv's
        # columns, transposed for its weight gradient), where cuBLAS reads a 2-d one transposed in place.
        product = matmul(a.reshape(a.shape[-2:]), b.reshape(b.shape[-2:]))
        return product.reshape(batch + product.shape)
    out = memory.empty(xp, batch + (a.shape[-2], b.shape[-1]), xp.result_type(a, b))
    if not parallel.worth_splitting(xp, out.size * a.shape[-1], SPLIT_MIN_MULTIPLY_ADDS):
        return xp.matmul(a, b, out=out)
    threads, rows = parallel.get_num_threads(), a.shape[-2]
    if batch and (rows < threads or batch[0] >= threads and rows < threads * SPLIT_MIN_ROWS):
        a, b = xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
        parallel.split(lambda start, stop: xp.matmul(a[start:stop], b[start:stop], out=out[start:stop]), batch[0])
        return out
    parallel.split(lambda start, stop: xp.matmul(a[..., start:stop, :], b, out=out[..., start:stop, :]), a.shape[-2])
    return out


class MatMul(Function):
    """Operands of different dtypes are refused, as torch does, rather than promoted."""

    promotes_inputs = False
    node_name = "MmBackward0"  # torch's of two matrices

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
