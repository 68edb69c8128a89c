"""torch.linalg's functions that minigrad has: cross; qr, eigh, eigvalsh, svd, svdvals, pinv, lstsq, matrix_rank and
cond."""
import math

import numpy as np

from .backend import get_array_module
from .function import SCALAR_TYPE_NAMES, is_grad_enabled, require_broadcastable
from .ops.decompositions import (QR, SVD, Eigh, EighResult, Lstsq, LstsqResult, Pinv, QRResult, SVDResult, default_rtol,
                                 kept)
from .ops.shape import normalize_dim
from .tensor import Tensor, tensor_only

__all__ = ["cond", "cross", "eigh", "eigvalsh", "lstsq", "matrix_rank", "pinv", "qr", "svd", "svdvals"]


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along `dim`, the other dims broadcast, in one dtype (integers too), as
    torch.linalg.cross: entry i is input[i+1] * other[i+2] - input[i+2] * other[i+1], indices modulo 3."""
    for position, (role, tensor) in enumerate((("input", input), ("other", other)), 1):
        tensor_only("linalg_cross", tensor, position, role)
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    require_broadcastable(input.shape, other.shape)
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES.get(input.dtype, input.dtype)} but found "
                           f"{SCALAR_TYPE_NAMES.get(other.dtype, other.dtype)}")
    axis = normalize_dim(dim, input.ndim)
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[axis]} and "
                           f"{other.shape[axis]}")
    return input.roll(-1, axis) * other.roll(-2, axis) - input.roll(-2, axis) * other.roll(-1, axis)


# ---- matrix decompositions and what is built on them: qr, eigh, svd, pinv, lstsq, matrix_rank, cond ----------------
_QR_MODES = ("reduced", "complete", "r")
_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")
_COND_ORDERS = (None, 2, -2, "fro", "nuc", math.inf, -math.inf, 1, -1)
_DECOMPOSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _type_name(tensor):
    return SCALAR_TYPE_NAMES.get(tensor.dtype, tensor.dtype)


def _refuse_complex(name, tensor):
    if tensor.dtype.kind == "c":
        raise RuntimeError(f"{name}: minigrad has no complex autograd, so no complex decompositions: expected a "
                           f"float32 or float64 tensor, but got {_type_name(tensor)}")


def _real_matrices(A, op, kernel, square=False):
    """A as the decomposition `op` (qr, svd, eigh) takes it: real float32 or float64 matrices, with torch's errors
    otherwise (`kernel` names torch's CPU kernel, which refuses float16 and, for eigh, integers)."""
    tensor_only(f"linalg_{op}", A, 1, "A")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    _refuse_complex(f"linalg.{op}", A)
    if A.dtype not in _DECOMPOSED_DTYPES:
        if A.dtype.kind == "f" or op == "eigh":
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(A)}'")
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got {_type_name(A)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    return A


def _needs_grad(tensor):
    return is_grad_enabled() and tensor.requires_grad


def qr(A, mode="reduced"):
    """A = QR (Q's columns orthonormal, R upper triangular) of each matrix, as torch.linalg.qr: 'reduced' (Q m x k,
    R k x n, k = min(m, n)), 'complete' (Q m x m) or 'r' (R alone, Q empty). Differentiable but for mode 'r' and
    for 'complete' with m > n, as torch's (errors of its backward)."""
    _real_matrices(A, "qr", "geqrf_cpu")
    if mode not in _QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
                           "'complete'")
    return QRResult(*QR.apply(A, mode=mode))


def _eigh(A, UPLO, values_only):
    _real_matrices(A, "eigh", "linalg_eigh_cpu", square=True)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return Eigh.apply(A, uplo=UPLO, values_only=values_only)


def eigh(A, UPLO="L"):  # noqa: N803 (torch's name)
    """The eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, read from the lower (UPLO='L')
    or upper triangle, as torch.linalg.eigh; the gradient is torch's, a symmetric matrix."""
    return EighResult(*_eigh(A, UPLO, values_only=False))


def eigvalsh(A, UPLO="L"):  # noqa: N803 (torch's name)
    """The eigenvalues of symmetric matrices, ascending, as torch.linalg.eigvalsh (eigenvectors computed only for a
    gradient)."""
    return _eigh(A, UPLO, values_only=not _needs_grad(A))[0]


def _svd(A, full_matrices, driver, values_only):
    _real_matrices(A, "svd", "linalg_svd_cpu")
    if driver is not None and A.device == "cpu":
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs with "
                           "cuSOLVER backend.")
    return SVD.apply(A, full_matrices=full_matrices, values_only=values_only)


def svd(A, full_matrices=True, *, driver=None):
    """A = U diag(S) Vh, S descending, as torch.linalg.svd (U m x m and Vh n x n with full_matrices, else m x k and
    k x n). The gradient is torch's: it needs distinct singular values where U or Vh gets one, and uses their
    first k columns (rows of Vh) alone. driver= (torch's choice of a cuSOLVER routine) is refused on the CPU, as
    torch's, and left to CuPy on the GPU."""
    return SVDResult(*_svd(A, full_matrices, driver, values_only=False))


def svdvals(A, *, driver=None):
    """The singular values, descending, as torch.linalg.svdvals (U and Vh computed only for a gradient)."""
    return _svd(A, False, driver, values_only=not _needs_grad(A))[1]


def _tolerances(A, atol, rtol, name):
    """torch's atol and rtol of singular values (numbers, or arrays of the batch's shape from tensors): rtol, where
    none is given, is eps * max(m, n), or 0 where atol is given and positive."""
    for role, tolerance in (("atol", atol), ("rtol", rtol)):
        if isinstance(tolerance, Tensor):
            _refuse_complex(f"{name}: {role}", tolerance)
    atol, rtol = (t.data if isinstance(t, Tensor) else t for t in (atol, rtol))
    if rtol is None:
        rtol = default_rtol(A) if atol is None else get_array_module(A.data).where(atol > 0, 0.0, default_rtol(A))
    return 0.0 if atol is None else atol, rtol


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudoinverse of each matrix, as torch.linalg.pinv: singular values at most
    max(atol, rtol * the largest) count as zero (see _tolerances for the defaults); with hermitian, of the
    symmetric matrices of the lower triangles, through eigh. Differentiable where the rank does not change."""
    tensor_only("linalg_pinv", A, 1, "input")
    _refuse_complex("linalg.pinv", A)
    if A.ndim < 2 or A.dtype not in _DECOMPOSED_DTYPES:
        raise RuntimeError(f"linalg.pinv({_type_name(A)}{{{list(A.shape)}}}): expected a tensor with 2 or more "
                           "dimensions of float, double, cfloat or cdouble types")
    if hermitian:
        _real_matrices(A, "eigh", "linalg_eigh_cpu", square=True)
    atol, rtol = _tolerances(A, atol, rtol, "linalg.pinv")
    return Pinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)


def _refuse_other_than_float_and_double(*tensors):
    if any(tensor.dtype not in _DECOMPOSED_DTYPES for tensor in tensors):
        raise RuntimeError("This function doesn't handle types other than float and double")


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values (eigenvalues' magnitudes, with hermitian) above max(atol, rtol * the
    largest), as int64, as torch.linalg.matrix_rank (see _tolerances for the defaults)."""
    tensor_only("linalg_matrix_rank", A, 1, "input")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    _refuse_complex("linalg.matrix_rank", A)
    _refuse_other_than_float_and_double(A)
    if hermitian:
        _real_matrices(A, "eigh", "linalg_eigh_cpu", square=True)
    atol, rtol = _tolerances(A, atol, rtol, "linalg.matrix_rank")
    xp = get_array_module(A.data)
    magnitudes = abs(xp.linalg.eigvalsh(A.data)) if hermitian else xp.linalg.svd(A.data, compute_uv=False)
    return Tensor(kept(xp, magnitudes, atol, rtol).sum(axis=-1).astype(np.int64))


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solutions of A X = B (B of one dim fewer: a vector per matrix), as torch.linalg.lstsq on
    the CPU: solution, residuals, rank and singular_values as its `driver` gives them (gelsy by default; see
    ops.Lstsq), singular values at most rcond (default eps * max(m, n)) times the largest counting as zero.
    Differentiable through the solution, as torch's."""
    for position, (role, tensor) in enumerate((("input", A), ("b", B)), 1):
        tensor_only("linalg_lstsq", tensor, position, role)
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if not 0 <= A.ndim - B.ndim <= 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {_type_name(A)} and other's dtype {_type_name(B)}")
    _refuse_complex("linalg.lstsq", A)
    _refuse_other_than_float_and_double(A)
    if driver is None:
        driver = "gelsy"
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    columns = B.unsqueeze(-1) if vector else B
    if A.shape[-2] != columns.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    require_broadcastable(A.shape[:-2], columns.shape[:-2])
    solution, residuals, rank, singular_values = Lstsq.apply(
        A, columns, rcond=default_rtol(A) if rcond is None else rcond, driver=driver)
    return LstsqResult(solution.squeeze(-1) if vector else solution, residuals, rank, singular_values)


def cond(A, p=None):
    """The condition number in the 2-norm (p None or 2: the largest singular value over the smallest; -2: the
    inverse), as torch.linalg.cond, differentiable through svdvals. The other norms need an inverse: not here."""
    tensor_only("linalg_cond", A, 1, "input")
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p not in _COND_ORDERS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if p not in (None, 2, -2):
        raise NotImplementedError(f"linalg.cond: minigrad computes the condition number in the 2-norm (p=None, 2 or "
                                  f"-2) alone, not p={p!r}")
    singular_values = svdvals(A)
    largest, smallest = singular_values[..., 0], singular_values[..., -1]
    return smallest / largest if p == -2 else largest / smallest
