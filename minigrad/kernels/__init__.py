"""CUDA kernels for the GPU: im2col and col2im, max-pool, bilinear resizing, fused elementwise chains
(ReLU, sigmoid, the SCA gate, Charbonnier) and the Adam update; and matrix products by cuBLAS (`matmul`, `einsum`).

A GPU wants few, large launches, so these replace what the CPU does with many NumPy passes over
row blocks and threads. Each `.cu` file here is plain CUDA C: one grid-stride loop per kernel over
its work items, with real_t the element type (float or double) set when CuPy compiles the file.

The same sources build on the host too, where a launch runs its threads one after another (the
tests do this with a C++ compiler, see tests/kernel_host.py). `use_host_runner` then sends the
kernels of NumPy arrays there, so that every GPU op is checked against torch without a GPU.
"""
import contextlib
import functools
import itertools
import math
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..backend import cupy_module, float32_matmul_precision, get_array_module
from .cublas import Cublas, CublasError

SOURCE_DIR = Path(__file__).resolve().parent
C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
THREADS_PER_BLOCK = 256
MAX_BLOCKS = 65535                                  # the grid-stride loops cover any total with this many


def source(file):
    """The full text of kernel file `file` (conv.cu, pool.cu, ...), with the shared macros in front."""
    return (SOURCE_DIR / "common.cuh").read_text() + (SOURCE_DIR / file).read_text()


def compile_options(dtype):
    return (f"-Dreal_t={C_TYPES[np.dtype(dtype)]}",)


class Gemm(NamedTuple):
    """One call of cuBLAS's strided-batched GEMM, as cuBLAS reads memory (column-major): for each of `batch` matrices,
    c = op(a) @ op(b), op(a) m x k, op(b) k x n and c m x n, where op transposes a matrix stored transposed (`transa`,
    `transb`). ld* are the leading dimensions, stride_* the distance from one matrix of the batch to the next, in
    elements."""
    transa: bool
    transb: bool
    m: int
    n: int
    k: int
    a: object
    lda: int
    stride_a: int
    b: object
    ldb: int
    stride_b: int
    c: object
    ldc: int
    stride_c: int
    batch: int


class CupyRunner:
    """Compiles each kernel file once per element type with CuPy and launches its kernels on the GPU; calls cuBLAS."""

    def __init__(self):
        self.modules = {}
        self.threads = threading.local()  # each thread's own cuBLAS handle (as CuPy's), made on its first GEMM
        self.cublas_callable = True       # False once cuBLAS could not be called directly

    def __call__(self, file, kernel, dtype, total, args):
        cupy = cupy_module()
        key = (file, np.dtype(dtype))
        if key not in self.modules:
            self.modules[key] = cupy.RawModule(code=source(file), options=compile_options(dtype))
        blocks = min(-(-total // THREADS_PER_BLOCK), MAX_BLOCKS)
        self.modules[key].get_function(kernel)((blocks,), (THREADS_PER_BLOCK,), args)

    def gemm(self, call, dtype):
        """`call` (a Gemm) by cuBLAS; False where its library cannot be called directly, and CuPy's matmul is left."""
        cublas = getattr(self.threads, "cublas", None)
        if cublas is None and self.cublas_callable:
            try:
                cublas = self.threads.cublas = Cublas(cupy_module())
            except (CublasError, OSError, AttributeError):
                self.cublas_callable = False
        if cublas is None:
            return False
        cublas.gemm(call, dtype, tf32=float32_matmul_precision() != "highest")
        return True

    @staticmethod
    def address(array):
        return array.data.ptr


_cupy_runner = CupyRunner()
_host_runner = None


@contextlib.contextmanager
def use_host_runner(runner):
    """Within the block, ops on NumPy arrays run the GPU variants, their kernels through `runner`."""
    global _host_runner
    previous, _host_runner = _host_runner, runner
    try:
        yield
    finally:
        _host_runner = previous


def runs_on(xp, dtype):
    """Whether arrays of xp and `dtype` take the kernel path: those of a dtype the kernels are built for (C_TYPES;
    others, float16 among them, take the ops' array path), always for CuPy, for NumPy only under a host runner."""
    return (xp is not np or _host_runner is not None) and np.dtype(dtype) in C_TYPES  # the device first: every op asks


def _runner(xp):
    if xp is not np:
        return _cupy_runner
    if _host_runner is None:
        raise RuntimeError("minigrad.kernels run on CuPy arrays; NumPy arrays need use_host_runner(...)")
    return _host_runner


def _check_layout(arrays, dtype):
    """The kernels index every array as C-contiguous, and read every float array as real_t."""
    for array in arrays:
        if not array.flags.c_contiguous:
            raise ValueError(f"a kernel got a non-contiguous array of shape {array.shape}")
        if array.dtype.kind == "f" and array.dtype != dtype:
            raise TypeError(f"a kernel built for {dtype} got a {array.dtype} array; give every input one dtype")


def matmul(a, b, out=None):
    """out = a @ b, as np.matmul (vectors too, broadcast over the leading dims), into `out` (a new array where None,
    of the operands' result dtype). On the GPU, float32 and
    float64 operands and a C-contiguous `out` of their dtype take one call of cuBLAS's strided-batched GEMM, made
    here rather than through CuPy, which refuses cuBLAS while a stream captures a CUDA graph (minigrad.cuda.graph):
    on the operands where cuBLAS reads their layout in place, else on C-contiguous copies over the whole batch (as
    CuPy's matmul copies them). Others take xp.matmul, as on the CPU."""
    xp = get_array_module(a)
    if out is None:
        shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + a.shape[-2:-1] + (b.shape[-1:] if b.ndim > 1 else ())
        out = xp.empty(shape, np.result_type(a, b))
    call = _is_gemm(xp, a, b, out) and (_gemm_call(a, b, out) or _gemm_call(*_contiguous_batches(xp, a, b), out))
    if not (call and _runner(xp).gemm(call, out.dtype)):
        xp.matmul(a, b, out=out)
    return out


def _is_gemm(xp, a, b, out):
    """Whether out = a @ b is one cuBLAS computes, in some layout of the operands: operands of out's dtype (one of
    the kernels'), a C-contiguous out, and no size zero (copies are made for the layout alone)."""
    return (runs_on(xp, out.dtype) and a.dtype == b.dtype == out.dtype and out.flags.c_contiguous and out.size > 0
            and a.shape[-1] > 0)


def _contiguous_batches(xp, a, b):
    """a and b as C-contiguous arrays, their matrices broadcast over the batch of a @ b."""
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return [xp.ascontiguousarray(xp.broadcast_to(array, batch_shape + array.shape[-2:]) if array.ndim > 1 else array)
            for array in (a, b)]


def _gemm_call(a, b, out):
    """The Gemm of out = a @ b (one that _is_gemm accepts), or None where an operand's layout is not one cuBLAS
    reads. Row-major c = a @ b is column-major c^T = b^T a^T: cuBLAS's first operand is b, its second a. A vector
    is a one-column (b) or one-row (a) matrix, whose dim `out` lacks."""
    if b.ndim == 1:
        b, out = b[:, None], out[..., None]
    if a.ndim == 1:
        a, out = a[None, :], out[..., None, :]
    *batch_shape, rows, cols = out.shape
    inner = a.shape[-1]
    batch = math.prod(batch_shape)
    layouts = [_layout(array, batch_shape, batch) for array in (b, a)]
    if None in layouts:
        return None
    (first_transposed, first_ld, first_stride), (second_transposed, second_ld, second_stride) = layouts
    return Gemm(first_transposed, second_transposed, cols, rows, inner, b, first_ld, first_stride,
                a, second_ld, second_stride, out, cols, rows * cols, batch)


def _layout(matrices, batch_shape, batch):
    """(stored transposed, leading dimension, batch stride) of a row-major operand as cuBLAS reads it column-major,
    or None: a row-major matrix is its transpose there, untransposed; a column-major one needs op T."""
    itemsize = matrices.itemsize
    if any(stride % itemsize for stride in matrices.strides):
        return None
    *strides, row_step, col_step = (stride // itemsize for stride in matrices.strides)
    *own_batch, rows, cols = matrices.shape
    if math.prod(own_batch) == 1:
        stride = 0                                         # one matrix for the whole batch
    elif tuple(own_batch) == tuple(batch_shape) and _one_stride(own_batch, strides):
        stride = strides[-1]
    else:
        return None
    if stride < 0:
        return None
    ld_row, ld_col = (row_step if rows > 1 else cols), (col_step if cols > 1 else rows)
    if (col_step == 1 or cols == 1) and ld_row >= max(1, cols):
        return False, ld_row, stride
    if (row_step == 1 or rows == 1) and ld_col >= max(1, rows):
        return True, ld_col, stride
    return None


def _one_stride(shape, strides):
    """Whether dims of `shape` with `strides` (in elements) step through memory as one dim does."""
    return all(outer == inner * size for outer, inner, size in zip(strides, strides[1:], shape[1:]))


def einsum(subscripts, *arrays, optimize=True):
    """xp.einsum of explicit subscripts ('ij,jk->ik': an output given, each letter of one size in every operand). On
    the GPU, operands of the kernels' dtypes are contracted two at a time, in the order NumPy's greedy path picks,
    each pair one product by `matmul`, where CuPy's einsum of two operands calls cuBLAS through CuPy, which a CUDA
    graph's capture refuses; elsewhere xp.einsum, through BLAS where `optimize`, else in einsum's own loop (which
    writes no product of the operands). float16 operands are contracted so in float32 and the result rounded once,
    as cuBLAS's float16 products accumulate in float32."""
    xp = get_array_module(arrays[0])
    if len(arrays) > 1 and arrays[0].dtype == np.float16 and runs_on(xp, np.float32):
        return einsum(subscripts, *(array.astype(np.float32) for array in arrays)).astype(np.float16)
    if len(arrays) == 1 or not runs_on(xp, arrays[0].dtype):
        return xp.einsum(subscripts, *arrays, optimize=optimize and len(arrays) > 1)
    inputs, output = subscripts.split("->")
    operands = list(zip(inputs.split(","), arrays))
    for positions in _contraction_order(inputs, output, tuple(array.shape for array in arrays)):
        picked = [operands[position] for position in positions]
        operands = [operand for position, operand in enumerate(operands) if position not in positions]
        operands.append(_contract(xp, picked, output + "".join(term for term, _ in operands)))
    (term, result), = operands
    return _kept(xp, term, result, output, in_order=True)[1]


@functools.lru_cache(maxsize=256)
def _contraction_order(inputs, output, shapes):
    """NumPy's greedy order of contractions (positions in the list of operands left, each result appended), from the
    shapes alone."""
    stand_ins = [np.broadcast_to(np.float32(0), shape) for shape in shapes]
    return tuple(np.einsum_path(f"{inputs}->{output}", *stand_ins, optimize="greedy")[0][1:])


def _contract(xp, operands, needed):
    """The (term, array) operands contracted left to right into one, which keeps the letters in `needed`."""
    (term, array), *rest = operands
    result = _kept(xp, term, array, needed + "".join(term for term, _ in rest))
    for index, operand in enumerate(rest):
        result = _contract_pair(xp, result, operand, needed + "".join(term for term, _ in rest[index + 1:]))
    return result


def _kept(xp, term, array, needed, in_order=False):
    """(term, array) with only the letters in `needed`, once each: the others summed, a repeated one's diagonal taken
    (xp.einsum of one operand, which reads a view or sums without cuBLAS); in needed's order where in_order."""
    kept = needed if in_order else "".join(dict.fromkeys(letter for letter in term if letter in needed))
    return kept, array if kept == term else xp.einsum(f"{term}->{kept}", array)


def _contract_pair(xp, first, second, needed):
    """(term, array) of the product of two (term, array) operands summed over the letters they share that are not
    `needed`: a batched matrix product, (batch, left, summed) @ (batch, summed, right), or with no letter summed an
    element-wise product of broadcast views."""
    (first_term, a), (second_term, b) = first, second
    first_term, a = _kept(xp, first_term, a, needed + second_term)
    second_term, b = _kept(xp, second_term, b, needed + first_term)
    shared = [letter for letter in first_term if letter in second_term]
    batch = "".join(letter for letter in shared if letter in needed)
    summed = "".join(letter for letter in shared if letter not in needed)
    left = "".join(letter for letter in first_term if letter not in second_term)
    right = "".join(letter for letter in second_term if letter not in first_term)
    sizes = {**dict(zip(first_term, a.shape)), **dict(zip(second_term, b.shape))}
    lengths = [math.prod(sizes[letter] for letter in letters) for letters in (batch, left, summed, right)]
    batch_size, left_size, summed_size, right_size = lengths
    a = a.transpose([first_term.index(letter) for letter in batch + left + summed])
    b = b.transpose([second_term.index(letter) for letter in batch + summed + right])
    if summed:
        product = matmul(a.reshape(batch_size, left_size, summed_size), b.reshape(batch_size, summed_size, right_size))
    else:
        product = xp.multiply(a.reshape(batch_size, left_size, 1), b.reshape(batch_size, 1, right_size))
    term = batch + left + right
    return term, product.reshape([sizes[letter] for letter in term])


def launch(file, kernel, dtype, total, *args):
    """Run `kernel` of `file`, built for element type `dtype`, over `total` work items.

    args are arrays of one backend, ints (passed as long long) and floats (passed as real_t).
    """
    dtype = np.dtype(dtype)
    arrays = [arg for arg in args if hasattr(arg, "flags")]
    _check_layout(arrays, dtype)
    scalars = {int: np.int64, float: dtype.type}
    converted = tuple(scalars[type(arg)](arg) if type(arg) in scalars else arg for arg in args)
    if total > 0:
        _runner(get_array_module(arrays[0]))(file, kernel, dtype, int(total), converted)


# ---- the kernels, with their array shapes ----------------------------------------------------

def output_size(size, kernel, stride, padding=0, dilation=1):
    """Output length of a conv or pool along one axis (the CPU ops in minigrad.ops.conv and .pool use it too): the
    taps of a kernel dilated by `dilation` span dilation*(kernel-1)+1 pixels."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _conv_sizes(shape, kh, kw, stride, padding, dilation):
    """The size arguments of im2col and col2im: n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w."""
    n, c, h, w = shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    out_h, out_w = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    return n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w


def im2col(x, kh, kw, stride, padding, dilation):
    """x (N, C, H, W) -> columns (C*kh*kw, N*out_h*out_w) of x zero-padded by `padding` (as minigrad.ops.conv's);
    stride, padding and dilation are (height, width) pairs."""
    xp = get_array_module(x)
    sizes = _conv_sizes(x.shape, kh, kw, stride, padding, dilation)
    n, c, *_, out_h, out_w = sizes
    cols = xp.empty((c * kh * kw, n * out_h * out_w), dtype=x.dtype)
    launch("conv.cu", "im2col", x.dtype, n * c * out_h * out_w, xp.ascontiguousarray(x), cols, *sizes)
    return cols


def col2im(cols, x_shape, kh, kw, stride, padding, dilation):
    """The adjoint of im2col: columns (C*kh*kw, N*L) -> (N, C, H, W), the padding dropped."""
    xp = get_array_module(cols)
    x = xp.empty(x_shape, dtype=cols.dtype)
    sizes = _conv_sizes(x_shape, kh, kw, stride, padding, dilation)
    launch("conv.cu", "col2im", x.dtype, x.size, xp.ascontiguousarray(cols), x, *sizes, *_tap_steps(stride, dilation))
    return x


def _tap_steps(stride, dilation):
    """The tap and output steps, per axis, between the taps that read one input pixel (see Taps in common.cuh):
    stride and dilation over their gcd, computed here so that no GPU thread divides for them."""
    return [step for s, d in zip(stride, dilation) for step in (s // math.gcd(s, d), d // math.gcd(s, d))]


def _volume(windows):
    """A pooling's sizes as the max-pool kernels take them, a 2-d pooling's as a 3-d one's of unit depth: the
    (d, h, w) triples in_size, kernel_size, stride, padding, dilation, out_size (see ops.pool.Windows)."""
    depth = 3 - len(windows.kernel_size)
    return [(unit,) * depth + tuple(sizes) for sizes, unit in (
        (windows.in_size, 1), (windows.kernel_size, 1), (windows.stride, 1), (windows.padding, 0),
        (windows.dilation, 1), (windows.out_size, 1))]


def max_pool(x, windows):
    """x (N, C, *spatial), 2 or 3 spatial dims -> (max over each window (N, C, *out_size), flat index of its winner
    in its plane or volume, int32)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    out = xp.empty((n, c, *windows.out_size), dtype=x.dtype)
    winner = xp.empty(out.shape, dtype=xp.int32)
    launch("pool.cu", "max_pool", x.dtype, out.size, xp.ascontiguousarray(x), out, winner, n * c,
           *itertools.chain(*_volume(windows)), float("-inf"))
    return out, winner


def max_pool_backward(grad, winner, x_shape, windows):
    """Each window's gradient, sent to its winning input pixel: (N, C, *out_size) -> x_shape."""
    xp = get_array_module(grad)
    grad_x = xp.empty(x_shape, dtype=grad.dtype)
    sizes = _volume(windows)
    launch("pool.cu", "max_pool_backward", grad.dtype, grad_x.size, xp.ascontiguousarray(grad), winner, grad_x,
           x_shape[0] * x_shape[1], *itertools.chain(*sizes), *_tap_steps(sizes[2], sizes[4]))
    return grad_x


class BandedMatrix:
    """A resampling matrix (out, in) as the resize kernel reads it: the matrix, and per row the first and
    last column that is nonzero (first > last for an empty row). `.T` is the transpose, for backward."""

    def __init__(self, matrix):
        xp = get_array_module(matrix)
        self.matrix = xp.ascontiguousarray(matrix)
        self.shape = matrix.shape
        nonzero = (matrix != 0).astype(xp.int8)
        empty = nonzero.max(axis=1) == 0
        self.first = xp.where(empty, 1, xp.argmax(nonzero, axis=1)).astype(xp.int64)
        self.last = xp.where(empty, 0, matrix.shape[1] - 1 - xp.argmax(nonzero[:, ::-1], axis=1)).astype(xp.int64)

    @functools.cached_property
    def T(self):
        return BandedMatrix(self.matrix.T)


def resize(x, rows, cols):
    """rows @ x @ cols.T over the last two dims of x (..., h, w) -> (..., H, W), rows and cols BandedMatrix."""
    xp = get_array_module(x)
    h, w = x.shape[-2:]
    out = xp.empty(x.shape[:-2] + (rows.shape[0], cols.shape[0]), dtype=x.dtype)
    planes = out.size // (out.shape[-2] * out.shape[-1])
    launch("resize.cu", "resize", x.dtype, out.size, xp.ascontiguousarray(x), out, rows.matrix, rows.first, rows.last,
           cols.matrix, cols.first, cols.last, planes, h, w, *out.shape[-2:])
    return out


def fused(kernel, inputs, outputs, *scalars):
    """Kernel `kernel` of elementwise.cu over same-shape inputs: returns its `outputs` new arrays.

    The kernel takes the inputs, then the outputs, then `scalars`, then the element count.
    """
    xp = get_array_module(inputs[0])
    results = [xp.empty(inputs[0].shape, dtype=inputs[0].dtype) for _ in range(outputs)]
    launch("elementwise.cu", kernel, inputs[0].dtype, inputs[0].size,
           *(xp.ascontiguousarray(array) for array in inputs), *results, *scalars, inputs[0].size)
    return results


def softmax_backward(grad, saved, out):
    """Softmax's backward into `out`, on (outer, length, inner) rows of the gradient and of the saved output."""
    xp = get_array_module(grad)
    outer, length, inner = grad.shape
    launch("elementwise.cu", "softmax_backward", grad.dtype, outer * inner, xp.ascontiguousarray(grad),
           xp.ascontiguousarray(saved), out, length, inner, outer * inner)


@functools.lru_cache(maxsize=64)
def _table(xp, values, dtype):
    """`values` as an array of xp, made once: Adam's tables of addresses and offsets stay the same from step to step
    (the memory pool gives the gradients their addresses again), and a GPU copy from the host would wait for the
    GPU's queue to drain."""
    return xp.asarray(values, dtype=dtype)


def adam(params, grads, exp_avgs, exp_avg_sqs, step_size, sqrt_bias_correction2, beta1, beta2, eps, weight_decay):
    """One in-place Adam step over lists of same-dtype arrays, in one launch (hyper-parameters as torch's)."""
    xp = get_array_module(params[0])
    tables = (params, grads, exp_avgs, exp_avg_sqs)
    for arrays in tables:                               # read through their addresses, so checked here
        _check_layout(arrays, params[0].dtype)
    address = _runner(xp).address
    addresses = [_table(xp, tuple(address(array) for array in arrays), np.uint64) for arrays in tables]
    offsets = tuple(itertools.accumulate((param.size for param in params), initial=0))
    launch("adam.cu", "adam", params[0].dtype, offsets[-1], *addresses, _table(xp, offsets, np.int64),
           len(params), float(step_size), 1.0 - beta1, float(beta2), 1.0 - beta2, float(sqrt_bias_correction2),
           float(eps), float(weight_decay))
