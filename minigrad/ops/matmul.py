"""Batched matrix product with broadcasting over the leading dims."""
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, Function, broadcast_mismatch


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
        return kernels.matmul(a, b, out)
    threads, rows = parallel.get_num_threads(), a.shape[-2]
    if batch and (rows < threads or batch[0] >= threads and rows < threads * SPLIT_MIN_ROWS):
        a, b = xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])
        parallel.split(lambda start, stop: xp.matmul(a[start:stop], b[start:stop], out=out[start:stop]), batch[0])
        return out
    parallel.split(lambda start, stop: xp.matmul(a[..., start:stop, :], b, out=out[..., start:stop, :]), a.shape[-2])
    return out


class OperandsMismatch(RuntimeError):
    """MatMul's operands do not multiply (their shapes, or their dtypes, which it does not promote, as torch's);
    torch.matmul's front words the error for the operands as it got them (torch_matmul_error)."""


class MatMul(Function):
    """Operands of different dtypes are refused, as torch does, rather than promoted."""

    autocast_category = "lower"
    half_in_float32 = True

    promotes_inputs = False
    node_name = "MmBackward0"  # torch's of two matrices

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype != b.dtype or not _can_multiply(a.shape, b.shape):
            raise OperandsMismatch(f"matmul of {a.dtype} {a.shape} and {b.dtype} {b.shape}")
        ctx.save_for_backward(a, b)
        return matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = matmul(grad, b.swapaxes(-1, -2)) if need_a else None
        grad_b = matmul(a.swapaxes(-1, -2), grad) if need_b else None
        return grad_a, grad_b

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's products of tensors: each operand's gradient is a product with the other (linked)."""
        a, b = ctx.linked_saved()
        need_a, need_b = ctx.needs_input_grad
        return (MatMul.apply(grad, b.mT) if need_a else None), (MatMul.apply(a.mT, grad) if need_b else None)


def _can_multiply(a, b):
    """Shapes of at least two dims whose inner sizes agree and whose batch dims broadcast."""
    return len(a) >= 2 and len(b) >= 2 and a[-1] == b[-2] and broadcast_mismatch(a[:-2], b[:-2]) is None


def torch_matmul_error(a, b):
    """torch.matmul's words for tensors a and b that it cannot multiply: those of the kernel it takes them to, which
    checks shapes before dtypes. Two vectors go to dot. A right operand of one or two dims goes to mv or mm, with
    the left one's leading dims folded into its rows; so does a left one that requires grad, transposed, against
    a transposed stack on the right. Two stacks go to bmm once their batch dims broadcast."""
    a_shape, b_shape = a.shape, b.shape
    if len(a_shape) == len(b_shape) == 1:
        if a.dtype != b.dtype:
            return (f"dot : expected both vectors to have same dtype, but found {SCALAR_TYPE_NAMES[a.dtype]} and "
                    f"{SCALAR_TYPE_NAMES[b.dtype]}")
        return (f"inconsistent tensor size, expected tensor [{a_shape[0]}] and src [{b_shape[0]}] to have the same "
                f"number of elements, but got {a_shape[0]} and {b_shape[0]} elements respectively")
    if len(b_shape) <= 2 or (b.requires_grad and _one_matrix_against_a_stack(b_shape, a_shape)):
        return _folded_product_error((math.prod(a_shape[:-1]), a_shape[-1]), a.dtype, b_shape[-2:], b.dtype)
    if a.requires_grad and (len(a_shape) <= 2 or _one_matrix_against_a_stack(a_shape, b_shape)):
        folded = (math.prod(b_shape[:-2]) * b_shape[-1], b_shape[-2])
        return _folded_product_error(folded, b.dtype, a_shape[-2:][::-1], a.dtype)
    a_batch, b_batch = a_shape[:-2], b_shape[:-2]
    mismatch = broadcast_mismatch(a_batch, b_batch)
    if mismatch is not None:
        from_end, a_size, b_size = mismatch
        return (f"The size of tensor a ({a_size}) must match the size of tensor b ({b_size}) at non-singleton "
                f"dimension {max(len(a_batch), len(b_batch)) - 1 - from_end}")
    batch = math.prod(np.broadcast_shapes(a_batch, b_batch))
    if a_shape[-1] != b_shape[-2]:
        return (f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {a_shape[-1]}] but got: "
                f"[{batch}, {b_shape[-2]}].")
    return f"expected scalar type {SCALAR_TYPE_NAMES[a.dtype]} but found {SCALAR_TYPE_NAMES[b.dtype]}"


def _one_matrix_against_a_stack(shape, other):
    """Whether of two stacks of matrices (3-d), `shape` holds one and `other` several: torch multiplies by that one
    matrix where it requires grad (sparing its gradient a copy per matrix of the stack)."""
    return len(shape) == len(other) == 3 and shape[0] == 1 < other[0]


def _folded_product_error(matrix_shape, matrix_dtype, right_shape, right_dtype):
    """torch's mv or mm error for a matrix times `right`, a vector or a matrix."""
    rows, columns = matrix_shape
    if len(right_shape) == 1:
        if columns != right_shape[0]:
            return f"size mismatch, got input ({rows}), mat ({rows}x{columns}), vec ({right_shape[0]})"
        vector, matrix = SCALAR_TYPE_NAMES[right_dtype], SCALAR_TYPE_NAMES[matrix_dtype]
        return f"addmv input tensors must have the same dtype, but got {vector}, {matrix}, and {vector}"
    if columns != right_shape[0]:
        return f"mat1 and mat2 shapes cannot be multiplied ({rows}x{columns} and {right_shape[0]}x{right_shape[1]})"
    return (f"expected m1 and m2 to have the same dtype, but got: {CPP_TYPE_NAMES[matrix_dtype]} != "
            f"{CPP_TYPE_NAMES[right_dtype]}")
