"""minigrad's CUDA kernels against the CPU code, built for the host (tests/kernel_host.py), and by nvcc.

The op-level checks (gradcheck and torch parity of the GPU variants) are in test_ops.py and
test_optim.py; here each kernel meets its NumPy counterpart directly, on the cases an op test can
miss: ties in max-pool, every stride, padding and dilation of im2col, empty interpolation bands.
"""
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, kernels
from minigrad.ops import conv, pool, upsample
from conftest import relative_error


class GuardedOutputs:
    """np.empty, while installed, hands out arrays followed by as many poisoned bytes again: a kernel
    launched over more work items than its output holds writes into them (a GPU would write into
    whatever lies there, silently)."""

    POISON = 0xA5

    def __init__(self):
        self.buffers = []

    def empty(self, shape, dtype=float, order="C"):
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        buffer = np.full(2 * nbytes + 64, self.POISON, np.uint8)
        self.buffers.append((buffer, nbytes))
        return buffer[:nbytes].view(dtype).reshape(shape, order=order)

    def assert_untouched(self):
        overrun = [nbytes for buffer, nbytes in self.buffers if (buffer[nbytes:] != self.POISON).any()]
        assert not overrun, f"kernels wrote past the end of outputs of {overrun} bytes"


@pytest.fixture
def guarded(monkeypatch):
    guard = GuardedOutputs()
    monkeypatch.setattr(np, "empty", guard.empty)
    return guard


CONV_CASES = [  # (x shape, kh, kw, stride, padding, dilation), each of the last three (height, width)
    ((2, 3, 7, 6), 3, 3, (1, 1), (1, 1), (1, 1)),
    ((1, 2, 9, 8), 3, 3, (2, 2), (1, 1), (1, 1)),
    ((2, 1, 11, 10), 5, 5, (2, 2), (0, 0), (1, 1)),
    ((1, 2, 5, 7), 1, 5, (1, 1), (2, 2), (1, 1)),
    ((3, 2, 6, 5), 2, 3, (3, 3), (1, 1), (1, 1)),
    ((2, 3, 4, 5), 1, 1, (1, 1), (0, 0), (1, 1)),
    ((2, 3, 4, 5), 1, 1, (1, 1), (1, 1), (1, 1)),
    ((1, 2, 5, 6), 2, 2, (2, 2), (3, 3), (1, 1)),   # padding wider than the kernel: whole rows of zero columns
    ((2, 2, 8, 9), 3, 2, (4, 4), (2, 2), (1, 1)),   # a stride past the kernel: pixels that no tap reads
    ((2, 2, 9, 7), 3, 2, (2, 1), (1, 2), (1, 1)),   # per-axis stride and padding
    ((1, 2, 9, 10), 3, 3, (1, 1), (2, 2), (2, 2)),  # dilation: taps two pixels apart
    ((2, 1, 11, 9), 3, 2, (2, 2), (1, 0), (2, 3)),  # dilation and stride sharing a factor: gcd(2, 2) = 2
    ((1, 2, 13, 12), 2, 3, (3, 2), (0, 1), (2, 3)), # stride and dilation coprime on one axis, not the other
    ((1, 1, 12, 12), 2, 2, (4, 4), (0, 0), (3, 3)), # pixels between the taps: read by no tap
]


@pytest.mark.parametrize("shape, kh, kw, stride, padding, dilation", CONV_CASES)
def test_im2col_and_col2im_match_the_cpu(shape, kh, kw, stride, padding, dilation, host_kernels, guarded):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    expected_cols = conv.im2col(x, kh, kw, stride, padding, dilation)
    np.testing.assert_array_equal(kernels.im2col(x, kh, kw, stride, padding, dilation), expected_cols)

    grad_cols = rng.standard_normal(expected_cols.shape).astype(np.float32)
    expected = conv.col2im(grad_cols, shape, kh, kw, stride, padding, dilation)
    np.testing.assert_allclose(kernels.col2im(grad_cols, shape, kh, kw, stride, padding, dilation), expected,
                               rtol=1e-6, atol=1e-6)
    guarded.assert_untouched()


@pytest.mark.parametrize("kernel_size, stride, padding, dilation, ceil_mode", [
    ((2, 2), (2, 2), (0, 0), (1, 1), False), ((3, 3), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (1, 1), (0, 0), (1, 1), False), ((2, 2), (3, 3), (0, 0), (1, 1), False),
    ((3, 2), (2, 1), (1, 1), (1, 2), True), ((2, 3), (1, 2), (1, 1), (3, 1), False)])
def test_max_pool_breaks_ties_like_the_cpu(kernel_size, stride, padding, dilation, ceil_mode, host_kernels, guarded):
    x = np.random.default_rng(1).integers(0, 3, size=(2, 3, 9, 8)).astype(np.float32)   # many equal maxima
    windows = pool.Windows(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    out, winners = kernels.max_pool(x, windows)
    expected_out, expected_winners = pool.MaxPool.pool(x, windows)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(winners, pool.max_pool_indices(x, expected_out, windows))

    grad = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    expected_grad = pool.MaxPool.unpool(grad, expected_winners, x.shape, windows)
    np.testing.assert_allclose(kernels.max_pool_backward(grad, winners, x.shape, windows), expected_grad,
                               rtol=1e-6, atol=1e-6)
    guarded.assert_untouched()


def test_a_max_pool_window_wholly_in_the_padding_is_minus_infinity_and_won_by_no_pixel(host_kernels, guarded):
    """Dilation 3 over a 2x2 input padded by 1: the only window's taps all fall in the padding (no read of x)."""
    x = np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2)
    windows = pool.Windows(x.shape, (2, 2), (1, 1), (1, 1), (3, 3))
    out, winners = kernels.max_pool(x, windows)
    expected_out, expected_winners = pool.MaxPool.pool(x, windows)
    np.testing.assert_array_equal(out, expected_out)
    assert np.all(out == -np.inf) and np.all(winners == -1)
    grad = np.ones(out.shape, np.float32)
    np.testing.assert_array_equal(kernels.max_pool_backward(grad, winners, x.shape, windows),
                                  pool.MaxPool.unpool(grad, expected_winners, x.shape, windows))
    guarded.assert_untouched()


@pytest.mark.parametrize("in_size, out_size, align_corners", [(5, 10, False), (5, 10, True), (9, 3, False), (4, 7, True)])
def test_resize_matches_the_gemm_form_both_ways(in_size, out_size, align_corners, host_kernels, guarded):
    """Downsizing by 3 leaves input pixels that no output reads: empty bands in the backward matrix."""
    rows = upsample.interpolation_matrix(in_size, out_size, align_corners)
    cols = upsample.interpolation_matrix(in_size + 1, out_size + 2, align_corners)
    x = np.random.default_rng(3).standard_normal((2, 3, in_size, in_size + 1))
    banded_rows, banded_cols = kernels.BandedMatrix(rows), kernels.BandedMatrix(cols)
    np.testing.assert_allclose(kernels.resize(x, banded_rows, banded_cols), upsample._resize(x, rows, cols),
                               rtol=1e-12, atol=1e-12)
    grad = np.random.default_rng(4).standard_normal((2, 3, out_size, out_size + 2))
    np.testing.assert_allclose(kernels.resize(grad, banded_rows.T, banded_cols.T), upsample._resize(grad, rows.T, cols.T),
                               rtol=1e-12, atol=1e-12)
    guarded.assert_untouched()


def test_launch_rejects_arrays_the_kernels_would_misread(host_kernels):
    x = np.zeros((2, 3, 8, 8), np.float32)
    out = np.empty((2, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match="non-contiguous"):
        kernels.launch("pool.cu", "max_pool", np.float32, out.size, x[:, :, :, ::2], out, out, 6, 8, 4, 2, 2, 2, 2, 0, 0,
                       1, 1, 4, 2)


def test_launch_rejects_mixed_float_types(host_kernels):
    x = np.zeros((1, 2, 3, 3), np.float32)
    with pytest.raises(TypeError, match="float64"):
        kernels.fused("sigmoid_gate", [x, x, np.ones((1, 2, 1, 1))], 2, 9)


NVCC = shutil.which("nvcc")


@pytest.mark.skipif(NVCC is None, reason="needs nvcc, the CUDA compiler, to check the kernels as CUDA code")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("file", sorted(path.name for path in kernels.SOURCE_DIR.glob("*.cu")))
def test_kernels_compile_as_cuda(file, dtype, tmp_path):
    """What CuPy will compile on a GPU machine: the same text, for a T4-class GPU (sm_75)."""
    source = tmp_path / file
    source.write_text(kernels.source(file))
    result = subprocess.run([NVCC, "--ptx", "-arch=sm_75", "-Werror", "all-warnings", *kernels.compile_options(dtype),
                             str(source), "-o", str(tmp_path / "out.ptx")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(mg.gpu_available(), reason="a GPU is present here, so the missing-GPU message cannot be shown")
def test_tf32_without_a_gpu_names_the_fix():
    with pytest.raises(mg.DeviceError, match=r'pip install -e "\.\[gpu\]"'):
        backend.set_tf32(True)


def test_the_cupy_stand_in_refuses_what_cupy_refuses(fake_gpu):
    """The GPU-path tests on tests/fake_cupy.py mean something only while it stays this strict."""
    on_device = mg.tensor(np.ones((2, 3), np.float32), device="gpu").data
    assert backend.device_of(on_device) == "gpu"
    for implicit_copy in (np.asarray, np.array, np.ascontiguousarray):
        with pytest.raises(TypeError, match="Implicit conversion"):
            implicit_copy(on_device)
    for mixed in (lambda x: x + np.ones(3, np.float32), lambda x: np.concatenate([x, np.ones((1, 3))]),
                  lambda x: x.__setitem__(0, x[1] * np.ones(3))):
        with pytest.raises(TypeError, match="a NumPy array met a CuPy array"):
            mixed(on_device)
    total = on_device.sum()
    assert backend.device_of(total) == "gpu" and total.ndim == 0 and float(total) == 6.0  # as CuPy's reductions
    np.testing.assert_array_equal(backend.to_numpy(on_device * np.float32(2) + 1), np.full((2, 3), 3.0))
    element = on_device[1, 2]  # as CuPy's: a 0-d view, so a write into it reaches the array
    element[...] = 5.0
    assert element.ndim == 0 and float(on_device[1, 2]) == 5.0


CUBLAS_CALLS = {"matmul": lambda xp, x: xp.matmul(x, x.T), "@": lambda xp, x: x @ x.T,
                "einsum": lambda xp, x: xp.einsum("ij,kj->ik", x, x), "dot": lambda xp, x: x.dot(x.T)}
DEVICE_WAITS = {"get": lambda xp, x: x.get(), "float": lambda xp, x: float(x[0, 0]),
                "bool": lambda xp, x: bool(x[0, 0]), "mask": lambda xp, x: x[x > 0],
                "nonzero": lambda xp, x: xp.nonzero(x), "item": lambda xp, x: x.item(0),
                "from the host": lambda xp, x: xp.asarray(np.ones(3)),
                "synchronize": lambda xp, x: xp.cuda.runtime.deviceSynchronize()}


@pytest.mark.parametrize("name", [*CUBLAS_CALLS, *DEVICE_WAITS])
def test_the_cupy_stand_in_refuses_what_cuda_and_cupy_refuse_while_capturing(name, fake_gpu):
    """Inside a CUDA graph's capture, CuPy refuses its cuBLAS calls, after which the capture goes on; CUDA refuses
    what waits for the device or copies from the host, and the capture is lost. So does the stand-in."""
    xp = backend.cupy_module()
    x = xp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    stream = xp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        if name in CUBLAS_CALLS:
            with pytest.raises(NotImplementedError, match="calling cuBLAS API during stream capture"):
                CUBLAS_CALLS[name](xp, x)
        else:
            with pytest.raises(RuntimeError, match="cudaErrorStreamCaptureUnsupported"):
                DEVICE_WAITS[name](xp, x)
        doubled = x * 2
        if name in DEVICE_WAITS:
            with pytest.raises(RuntimeError, match="cudaErrorStreamCaptureInvalidated"):
                stream.end_capture()
            return
        graph = stream.end_capture()
    graph.launch()
    np.testing.assert_array_equal(doubled.get(), np.arange(6).reshape(2, 3) * 2)


# (a's stored shape and view, b's, and whether cuBLAS reads the views in place rather than C-contiguous copies)
GEMM_CASES = {
    "matrices": ((5, 7), None, (7, 3), None, True),
    "a transposed": ((7, 5), "T", (7, 3), None, True),
    "b transposed": ((5, 7), None, (3, 7), "T", True),
    "both transposed": ((7, 5), "T", (3, 7), "T", True),
    "a batch of pairs": ((4, 5, 7), None, (4, 7, 3), None, True),
    "one b for a batch": ((4, 5, 7), None, (7, 3), None, True),
    "one a for a batch of transposed b": ((5, 7), None, (4, 3, 7), "mT", True),
    "two batch dims": ((2, 3, 5, 7), None, (2, 3, 7, 3), None, True),
    "a row vector": ((1, 7), None, (7, 3), None, True),
    "a column vector for b": ((5, 7), None, (7, 1), None, True),
    "rows padded": ((5, 10), "cut", (7, 3), None, True),
    "a vector for b": ((5, 7), None, (7,), None, True),
    "a batch of rows by one vector": ((4, 5, 7), None, (7,), None, True),
    "a vector for a": ((7,), None, (7, 3), None, True),
    "two vectors": ((7,), None, (7,), None, True),
    "batch dims out of order": ((2, 4, 5, 7), "swap", (4, 2, 7, 3), None, False),
    "every other column": ((5, 14), "skip", (7, 3), None, False),
    "batch dims broadcast in part": ((4, 1, 5, 7), None, (1, 3, 7, 3), None, False),
}
VIEWS = {None: lambda x: x, "T": lambda x: x.T, "mT": lambda x: x.transpose(0, 2, 1), "cut": lambda x: x[:, :7],
         "swap": lambda x: x.transpose(1, 0, 2, 3), "skip": lambda x: x[:, ::2]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GEMM_CASES)
def test_matmul_by_cublas_matches_numpy_for_every_layout(case, dtype, gpu_path, monkeypatch):
    """kernels.matmul hands cuBLAS the layouts it reads in place (on the stand-in, a host GEMM reads the memory as
    cuBLAS would), and copies of the others, never CuPy's matmul (which a capture refuses)."""
    a_shape, a_view, b_shape, b_view, direct = GEMM_CASES[case]
    rng = np.random.default_rng(0)
    a_host, b_host = (rng.standard_normal(shape).astype(dtype) for shape in (a_shape, b_shape))
    xp = backend.cupy_module()
    monkeypatch.setattr(xp, "matmul", None)
    a, b = VIEWS[a_view](xp.asarray(a_host)), VIEWS[b_view](xp.asarray(b_host))
    expected = np.matmul(VIEWS[a_view](a_host), VIEWS[b_view](b_host))
    out = xp.empty(expected.shape, dtype=dtype)
    assert (kernels._gemm_call(a, b, out) is not None) == direct
    np.testing.assert_allclose(kernels.matmul(a, b, out).get(), expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("a_shape, b_shape, b_dtype", [((5, 0), (0, 3), np.float32), ((0, 7), (7, 3), np.float32),
                                                      ((5, 7), (7, 3), np.float64)],
                         ids=["nothing summed", "no rows", "operands of two dtypes"])
def test_matmul_copies_no_operand_for_a_product_cublas_does_not_make(a_shape, b_shape, b_dtype, gpu_path, monkeypatch):
    """An empty product, or operands of two dtypes, go to xp.matmul as they are: copies into a layout that cuBLAS
    reads would be wasted on them."""
    rng = np.random.default_rng(0)
    a_host, b_host = rng.standard_normal(a_shape).astype(np.float32), rng.standard_normal(b_shape).astype(b_dtype)
    xp = backend.cupy_module()
    monkeypatch.setattr(kernels, "_contiguous_batches", lambda *operands: pytest.fail("an operand was copied"))
    result = kernels.matmul(xp.asarray(a_host), xp.asarray(b_host))
    expected = np.matmul(a_host, b_host)
    assert result.dtype == expected.dtype
    np.testing.assert_allclose(result.get(), expected, rtol=1e-6)


# (subscripts, shapes): a product of each kind that kernels.einsum makes of a pair, and more operands
EINSUM_CASES = {
    "a matrix product": ("ij,jk->ik", [(5, 7), (7, 3)]),
    "attention scores": ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 6, 4)]),
    "batch letters in another order": ("qbd,bkd->bkq", [(5, 2, 4), (2, 6, 4)]),
    "dot products a row": ("ij,ij->i", [(6, 9), (6, 9)]),
    "an outer product": ("i,j->ij", [(4,), (5,)]),
    "element-wise": ("ij,ij->ji", [(4, 5), (4, 5)]),
    "letters summed within an operand": ("ijk,jl->l", [(3, 4, 5), (4, 6)]),
    "a diagonal": ("ii,ij->j", [(4, 4), (4, 3)]),
    "to a number": ("ij,ij->", [(3, 4), (3, 4)]),
    "a chain of three": ("ij,jk,kl->il", [(3, 8), (8, 2), (2, 5)]),
    "three outer factors": ("i,j,k->kji", [(2,), (3,), (4,)]),
    "a statistic of a vector": ("nchw,c->c", [(2, 3, 4, 5), (3,)]),
    "an empty sum": ("ij,jk->ik", [(3, 0), (0, 4)]),
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("case", EINSUM_CASES)
def test_einsum_by_products_matches_numpy(case, dtype, gpu_path, monkeypatch):
    """kernels.einsum contracts two operands or more by kernels.matmul and element-wise products, leaving CuPy's
    einsum (which a capture refuses with two operands) only single operands to sum or take a diagonal of; float16
    in float32, rounded once."""
    subscripts, shapes = EINSUM_CASES[case]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    xp = backend.cupy_module()
    operand_counts, cupy_einsum = [], xp.einsum
    monkeypatch.setattr(xp, "einsum", lambda *args, **kwargs: operand_counts.append(len(args) - 1) or
                        cupy_einsum(*args, **kwargs))
    result = kernels.einsum(subscripts, *(xp.asarray(array) for array in arrays))
    expected = np.einsum(subscripts, *(array.astype(np.float64) for array in arrays))
    assert result.dtype == dtype and result.shape == expected.shape
    assert relative_error(result.get(), expected) <= {np.float16: 1e-3, np.float32: 1e-6, np.float64: 1e-14}[dtype]
    assert set(operand_counts) <= {1}


def test_matmul_leaves_products_to_cupy_where_cublas_cannot_be_called(monkeypatch):
    """Without a cuBLAS library to call (here a CuPy without one), CupyRunner.gemm says so once, and for good."""
    monkeypatch.setattr(kernels, "cupy_module", lambda: SimpleNamespace(cuda=SimpleNamespace()))
    runner = kernels.CupyRunner()
    assert runner.gemm(None, np.float32) is False and runner.cublas_callable is False
    assert runner.gemm(None, np.float32) is False
