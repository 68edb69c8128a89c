"""torch.linalg's functions that minigrad has, for real floating point matrices (minigrad has no complex autograd):
norms, determinants, inverses, solvers, the Cholesky factor, products, cross, matrix_exp; the decompositions qr,
eigh, eigvalsh, svd, svdvals, and what is built on them, pinv, lstsq, matrix_rank and cond; LU (lu_factor, lu,
lu_solve, lu_unpack, solve_ex), ldl_factor, and Householder reflectors (geqrf, householder_product)."""
import collections
import math
import numbers

import numpy as np

from . import ops
from .backend import get_array_module
from .creation import eye
from .function import CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, autocasts, is_grad_enabled, require_broadcastable
from .ops.decompositions import (QR, SVD, Eigh, EighResult, Geqrf, LDLFactor, Lstsq, LstsqResult, Pinv, QRResult,
                                 SVDResult, default_rtol, kept)
from .ops.linalg import (LinAlgError, LUFactor, LUSolve, MatrixExp, cholesky_info, lu_info, raise_for_info,
                         row_permutation, singular_info, transposed)
from .ops.shape import normalize_dim
from .tensor import Tensor, tensor_only, where

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh",
           "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "lstsq", "lu", "lu_factor",
           "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals",
           "vander", "vecdot", "vector_norm"]

SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])
InvExResult = collections.namedtuple("linalg_inv_ex", ["inverse", "info"])
CholeskyExResult = collections.namedtuple("linalg_cholesky_ex", ["L", "info"])
SolveExResult = collections.namedtuple("linalg_solve_ex", ["result", "info"])
LDLFactorResult = collections.namedtuple("linalg_ldl_factor", ["LD", "pivots"])
LDLFactorExResult = collections.namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
HouseholderResult = collections.namedtuple("geqrf", ["a", "tau"])
LUFactorResult = collections.namedtuple("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = collections.namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LUResult = collections.namedtuple("linalg_lu", ["P", "L", "U"])
LUUnpackResult = collections.namedtuple("lu_unpack", ["P", "L", "U"])

# torch's autocast lists: the decompositions and solvers run in float32 in a "cpu" region, the norms in a "cuda" one;
# one kernel each on no list of the other device type
_FLOAT32_ON_CPU = {"cpu": "float32", "cuda": "uncast"}
_FLOAT32_ON_CUDA = {"cuda": "float32", "cpu": "uncast"}
SINGULAR_INVERSE = ("linalg.inv: The diagonal element {info} is zero, the inversion could not be completed because "
                    "the input matrix is singular.")
ZERO_PIVOT = ("{name}: U[{{info}},{{info}}] is zero and using it on lu_solve would result in a division by zero. If "
              "you still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
              "linalg.lu_factor_ex(A, pivot)")
NOT_POSITIVE_DEFINITE = ("linalg.cholesky: The factorization could not be completed because the input is not "
                         "positive-definite (the leading minor of order {info} is not positive-definite).")


def _refuse_complex(name, tensor):
    if tensor.dtype.kind == "c":
        raise NotImplementedError(f"{name}: complex tensors are not supported: minigrad has no complex autograd")


def _require_real_floating(name, tensor):
    _refuse_complex(name, tensor)
    if tensor.dtype.kind != "f":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{SCALAR_TYPE_NAMES[tensor.dtype]}")


def _require_matrices(name, tensor, role="A", square=True):
    """torch's checks of a batch of matrices (square ones unless told), before their dtype's."""
    tensor_only(name.replace(".", "_"), tensor, None, role)
    if tensor.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {role} must have at least 2 dimensions.")
    if square and tensor.shape[-1] != tensor.shape[-2]:
        raise RuntimeError(f"{name}: {role} must be batches of square matrices, but they are {tensor.shape[-2]} by "
                           f"{tensor.shape[-1]} matrices")


def _require_square_floating(name, A):
    _require_matrices(name, A)
    _require_real_floating(name, A)


def _require_solvable(name, A, B, left):
    """The shapes of A X = B (X A = B where not `left`): B's rows (columns) as many as A's, batches that broadcast."""
    size = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != size:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation {'AX' if left else 'XA'} = B "
                           f"({size}x{size} and {B.shape[-2]}x{B.shape[-1]})")
    require_broadcastable(B.shape[:-2], A.shape[:-2])


def _in_dtype(name, x, dtype):
    """x as `dtype` (None: as it is), which torch's norms allow only where no precision is lost."""
    _require_real_floating(name, x)
    if dtype is None or x.dtype == dtype:
        return x
    if x.dtype.itemsize > np.dtype(dtype).itemsize:
        raise RuntimeError(f"{name}: the dtype of the input ({SCALAR_TYPE_NAMES[x.dtype]}) should be convertible "
                           f"without narrowing to the specified dtype ({SCALAR_TYPE_NAMES[np.dtype(dtype)]})")
    return x.to(dtype)


@autocasts(_FLOAT32_ON_CUDA)
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ord-norm over `dim` (all for None): ord any number, inf, -inf or 0, as torch's."""
    if not isinstance(ord, numbers.Number):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    return ops.Norm.apply(_in_dtype("linalg.vector_norm", x, dtype), p=ord, dim=dim, keepdim=keepdim)


@autocasts(_FLOAT32_ON_CUDA)
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm over the two dims `dim`: "fro"; the largest (ord 1, inf) or smallest (-1, -inf) absolute
    column (1) or row (inf) sum; the largest (2) or smallest (-2) singular value, or their sum ("nuc"), as torch's."""
    name = "linalg.matrix_norm"
    _require_matrices(name, A, square=False)
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{name}: dim must be a 2-tuple. Got "
                           f"{' '.join(map(str, dim)) if isinstance(dim, (tuple, list)) else dim}")
    rows, columns = (normalize_dim(d, A.ndim) for d in dim)
    if rows == columns:
        raise RuntimeError(f"{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    A = _in_dtype(name, A, dtype)
    if ord == "fro":
        return ops.Norm.apply(A, p=2, dim=(rows, columns), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        singular_values = svdvals(A.movedim((rows, columns), (-2, -1)))        # largest first
        out = singular_values.sum(-1) if ord == "nuc" else singular_values[..., 0 if ord == 2 else -1]
        return out.unsqueeze(min(rows, columns)).unsqueeze(max(rows, columns)) if keepdim else out
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"{name}: Order {ord} not supported.")
    summed, extreme = (rows, columns) if abs(ord) == 1 else (columns, rows)
    sums = A.abs().sum(summed, keepdim=keepdim)
    extreme -= int(not keepdim and summed < extreme)
    return sums.amax(extreme, keepdim=keepdim) if ord > 0 else sums.amin(extreme, keepdim=keepdim)


@autocasts(_FLOAT32_ON_CUDA)
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm over one dim (or all, without ord and dim), a matrix norm over two; with
    ord but no dim, that of a 1-d or 2-d A."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    elif ord is not None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                               f"{A.ndim}D.")
        dims = tuple(range(A.ndim))
    if dim is None and ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if len(dims) == 2 or isinstance(ord, str):
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)


def det(A):
    """The determinant of each matrix; its gradient needs the matrix invertible."""
    _require_square_floating("linalg.det", A)
    return ops.Det.apply(A)


def _slogdet(name, A):
    _require_square_floating(name, A)
    xp = get_array_module(A.data)
    with np.errstate(invalid="ignore"):  # a NaN entry: quiet, as the ops are (see Function.apply)
        sign, logabsdet = xp.linalg.slogdet(A.data)
    holds_nan = xp.isnan(A.data).any(axis=(-2, -1))  # torch's (0, NaN), where NumPy's LU may pivot past the NaN
    sign, logabsdet = xp.where(holds_nan, 0, sign), xp.where(holds_nan, np.nan, logabsdet)
    return SlogdetResult(ops.SlogdetSign.apply(A, sign=xp.asarray(sign)),
                         ops.LogAbsDet.apply(A, logabsdet=xp.asarray(logabsdet)))


def slogdet(A):
    """(sign, log |det|) of each matrix, as torch's: the sign 0 and log -inf for a singular one."""
    return _slogdet("linalg.slogdet", A)


def logdet(input):
    """log det of each matrix, as torch.logdet: NaN where the determinant is negative (with a zero gradient, as
    torch's), -inf where it is 0."""
    sign, logabsdet = _slogdet("logdet", input)
    return where(sign == -1, math.nan, logabsdet)


@autocasts(_FLOAT32_ON_CPU)
def inv_ex(A, *, check_errors=False):
    """(inverse, info) as torch's: info, one per matrix, the 1-based index of LU's first zero pivot of a singular
    one (whose inverse is NaN), else 0."""
    _require_square_floating("linalg.inv", A)
    inverse = ops.Inverse.apply(A)
    info = singular_info(A.data, inverse.data)
    if check_errors:
        raise_for_info(info, SINGULAR_INVERSE)
    return InvExResult(inverse, Tensor(info))


@autocasts(_FLOAT32_ON_CPU)
def inv(A):
    """The inverse of each matrix; torch's LinAlgError for a singular one."""
    return inv_ex(A, check_errors=True).inverse


@autocasts(_FLOAT32_ON_CPU)
def solve(A, B, *, left=True):
    """X of A X = B (X A = B where not `left`), batches broadcast; B is a batch of vectors where it is 1-d or has
    A's shape without the last dim, as torch's."""
    columns, vectors = _solve_columns(A, B, left)
    out = ops.Solve.apply(A, columns) if left else ops.Solve.apply(A.mT, columns.mT).mT
    return out.squeeze(-1) if vectors else out


def _solve_columns(A, B, left):
    """solve's checks, as torch's; (B as a batch of matrices, whether it was one of vectors)."""
    _require_square_floating("linalg.solve", A)
    tensor_only("linalg_solve", B, None, "B")
    if B.dtype != A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{SCALAR_TYPE_NAMES[A.dtype]} and B of type {SCALAR_TYPE_NAMES[B.dtype]} instead")
    vectors = B.ndim == 1 or B.ndim == A.ndim - 1 and B.shape == A.shape[:-1]
    columns = B.unsqueeze(-1) if vectors else B
    _require_solvable("linalg.solve", A, columns, left)
    return columns, vectors


@autocasts(_FLOAT32_ON_CPU)
def solve_ex(A, B, *, left=True, check_errors=False):
    """(result, info) as torch's: solve's result, and info the 1-based index of LU's first zero pivot of a singular
    matrix (0 for none), whose result is then lu_solve's, inf and NaN from that pivot."""
    columns, vectors = _solve_columns(A, B, left)
    try:
        return SolveExResult(solve(A, B, left=left), Tensor(get_array_module(A.data).zeros(A.shape[:-2], np.int32)))
    except LinAlgError:
        factors, pivots, info = _lu_factor_ex("torch.linalg.solve_ex", A, pivot=True, check_errors=False)
    if check_errors:
        raise_for_info(info.data, "torch.linalg.solve_ex: The solver failed because the input matrix is singular.")
    out = lu_solve(factors, pivots, columns, left=left)
    return SolveExResult(out.squeeze(-1) if vectors else out, info)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """X of A X = B (X A = B where not `left`) for triangular A, its other triangle (and with `unitriangular` its
    diagonal, taken as ones) unread, batches broadcast, as torch's."""
    name = "linalg.solve_triangular"
    _require_matrices(name, A)
    _require_matrices(name, B, "B", square=False)
    _require_real_floating(name, A)
    B = B.to(A.dtype)
    _require_solvable(name, A, B, left)
    if left:
        return ops.SolveTriangular.apply(A, B, upper=upper, unitriangular=unitriangular)
    return ops.SolveTriangular.apply(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT


@autocasts(_FLOAT32_ON_CPU)
def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info) as torch's: L L^T = A from A's lower triangle (L^T where `upper`); info, one per matrix, the order
    of the first leading minor that is not positive-definite, else 0."""
    _require_square_floating("linalg.cholesky", A)
    factor = ops.Cholesky.apply(A)
    info = cholesky_info(A.data, factor.data)
    if check_errors:
        raise_for_info(info, NOT_POSITIVE_DEFINITE)
    return CholeskyExResult(factor.mT if upper else factor, Tensor(info))


@autocasts(_FLOAT32_ON_CPU)
def cholesky(A, *, upper=False):
    """The Cholesky factor of each positive-definite matrix; torch's LinAlgError for one that is not."""
    return cholesky_ex(A, upper=upper, check_errors=True).L


@autocasts(_FLOAT32_ON_CPU)
def cholesky_solve(B, L, upper=False):
    """X of (L L^T) X = B from the Cholesky factor L (L^T L with `upper`), batches broadcast, as
    torch.cholesky_solve."""
    for role, tensor in (("b", B), ("u", L)):
        tensor_only("cholesky_solve", tensor, None, role)
        if tensor.ndim < 2:
            raise RuntimeError(f"{role} should have at least 2 dimensions, but has {tensor.ndim} dimensions instead")
    size = L.shape[-1]
    if L.shape[-2] != size:
        raise RuntimeError(f"A must be batches of square matrices, but they are {L.shape[-2]} by {size} matrices")
    if B.shape[-2] != size:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {size} by {size} but each "
                           f"b matrix is {B.shape[-2]} by {B.shape[-1]}")
    require_broadcastable(B.shape[:-2], L.shape[:-2])
    if B.dtype != L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{SCALAR_TYPE_NAMES[B.dtype]} and A of type {SCALAR_TYPE_NAMES[L.dtype]} instead.")
    _require_real_floating("cholesky_solve", L)
    return ops.CholeskySolve.apply(B, L.mT if upper else L)


def cholesky_inverse(L, upper=False):
    """The inverse of L L^T (L^T L with `upper`) from its Cholesky factor, as torch.cholesky_inverse."""
    _require_matrices("cholesky_inverse", L)
    return cholesky_solve(eye(L.shape[-1], dtype=L.dtype, device=L.device), L, upper)


def matrix_power(A, n):
    """A multiplied by itself n times (by squaring), inv(A)'s power for n < 0; as torch's, a new tensor for n = 1,
    and for n = 0 the identity in the graph of A (a copy onto A's, whose gradient is zero)."""
    _require_matrices("linalg.matrix_power", A)
    if n == 0:
        return A.clone().copy_(eye(A.shape[-1], dtype=A.dtype, device=A.device))
    if n == 1:
        return A.clone()
    if n < 0:
        A, n = inv(A), -n
    product, power = None, A
    while True:
        if n & 1:
            product = power if product is None else product.matmul(power)
        n >>= 1
        if not n:
            return product
        power = power.matmul(power)


@autocasts({"cuda": "lower"})
def multi_dot(tensors):
    """The product of a chain of matrices, the first one (last one) possibly a row (column) vector, as torch's."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for position, tensor in enumerate(tensors):
        which = {0: "the first tensor", len(tensors) - 1: "the last tensor"}.get(position)
        if which is None and tensor.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {position} must be 2D but got {tensor.ndim}D")
        if which is not None and tensor.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): {which} must be 1D or 2D but got {tensor.ndim}D")
        if tensor.dtype != tensors[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{CPP_TYPE_NAMES[tensors[0].dtype]} and tensor {position} "
                               f"{CPP_TYPE_NAMES[tensor.dtype]}")
    first, last = tensors[0], tensors[-1]
    matrices = [first.unsqueeze(0) if first.ndim == 1 else first, *tensors[1:-1],
                last.unsqueeze(-1) if last.ndim == 1 else last]
    for position, (left, right) in enumerate(zip(matrices, matrices[1:])):
        if left.shape[1] != right.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {position} and {position + 1} with shapes "
                               f"{list(tensors[position].shape)} and {list(tensors[position + 1].shape)} cannot be "
                               "multiplied")
    return _chain_product(matrices).reshape(first.shape[:-1] + last.shape[1:])


def _chain_product(matrices):
    """The product of matrices in the order of fewest multiplications (the matrix chain order), as torch's."""
    sizes = [matrix.shape[0] for matrix in matrices] + [matrices[-1].shape[1]]
    count = len(matrices)
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for start in range(count - length):
            stop = start + length
            cost[start][stop], split[start][stop] = min(
                (cost[start][middle] + cost[middle + 1][stop] + sizes[start] * sizes[middle + 1] * sizes[stop + 1],
                 middle) for middle in range(start, stop))

    def product(start, stop):
        if start == stop:
            return matrices[start]
        middle = split[start][stop]
        return product(start, middle).matmul(product(middle + 1, stop))

    return product(0, count - 1)


@autocasts("lower")
def vecdot(x, y, *, dim=-1):
    """The dot products of the vectors along `dim`, the other dims broadcast, as torch's."""
    _require_real_floating("linalg.vecdot", x)
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                           f"{SCALAR_TYPE_NAMES[x.dtype]} and y of type {SCALAR_TYPE_NAMES[y.dtype]} instead")
    return (x * y).sum(dim)


def matmul(input, other):
    return input.matmul(other)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal `offset` of each matrix of the last two dims (by default), a view, as torch's."""
    return A.diagonal(offset, dim1, dim2)


def vander(x, *, N=None):
    """The Vandermonde matrix of the last dim's values, their powers 0 to N - 1 (N that dim's size by default) in
    the columns; integers as int64, as torch's."""
    if x.dtype.kind == "b":
        raise RuntimeError("linalg.vander supports floating point, complex, and integer tensors, but got Bool")
    size = x.shape[-1] if x.ndim else 1
    N = size if N is None else N
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    columns = x.unsqueeze(-1).expand(*x.shape, N - 1)
    return ops.Cat.apply(columns.new_ones(*x.shape, 1), columns, dim=-1).cumprod(-1)


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


@autocasts(_FLOAT32_ON_CPU)
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


@autocasts(_FLOAT32_ON_CPU)
def eigh(A, UPLO="L"):  # noqa: N803 (torch's name)
    """The eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, read from the lower (UPLO='L')
    or upper triangle, as torch.linalg.eigh; the gradient is torch's, a symmetric matrix."""
    return EighResult(*_eigh(A, UPLO, values_only=False))


@autocasts(_FLOAT32_ON_CPU)
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


@autocasts(_FLOAT32_ON_CPU)
def svd(A, full_matrices=True, *, driver=None):
    """A = U diag(S) Vh, S descending, as torch.linalg.svd (U m x m and Vh n x n with full_matrices, else m x k and
    k x n). The gradient is torch's: it needs distinct singular values where U or Vh gets one, and uses their
    first k columns (rows of Vh) alone. driver= (torch's choice of a cuSOLVER routine) is refused on the CPU, as
    torch's, and left to CuPy on the GPU."""
    return SVDResult(*_svd(A, full_matrices, driver, values_only=False))


@autocasts(_FLOAT32_ON_CPU)
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
        xp = get_array_module(A.data)
        rtol = default_rtol(A) if atol is None else xp.where(xp.asarray(atol > 0), 0.0, default_rtol(A))
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


@autocasts(_FLOAT32_ON_CPU)
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


@autocasts(_FLOAT32_ON_CPU)
def cond(A, p=None):
    """The condition number, as torch.linalg.cond: in the 2-norm (p None or 2: the largest singular value over the
    smallest; -2: the inverse), differentiable through svdvals; in another norm p, that of A times that of its
    inverse (A square), inf where A is singular ("nuc" from the singular values: huge, not inf, where they are
    rounded off zero)."""
    tensor_only("linalg_cond", A, 1, "input")
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p not in _COND_ORDERS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if p not in (None, 2, -2):
        if A.shape[-1] != A.shape[-2]:
            raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                               f"{A.shape[-2]} by {A.shape[-1]} matrices")
        if p == "nuc":                                                  # from the singular values, as torch's
            singular_values = svdvals(A)
            return singular_values.sum(-1) * singular_values.reciprocal().sum(-1)
        inverse, info = inv_ex(A)
        singular = (info > 0)[..., None, None]                          # whose inverse is no number to take norms of
        product = matrix_norm(A, p) * matrix_norm(inverse.masked_fill(singular, 0), p)
        return product.masked_fill(info > 0, math.inf)
    singular_values = svdvals(A)
    largest, smallest = singular_values[..., 0], singular_values[..., -1]
    return smallest / largest if p == -2 else largest / smallest


def matrix_exp(A):
    """exp(A) of each matrix, by scaling and squaring (see ops.MatrixExp for the gradient), as torch's."""
    tensor_only("linalg_matrix_exp", A, 1, "input")
    _require_square_floating("linalg.matrix_exp", A)
    return MatrixExp.apply(A)


# ---- LU: lu_factor(_ex), lu, lu_unpack, lu_solve -----------------------------------------------------------------
def _lu_factor_ex(name, A, pivot, check_errors, caller="torch.lu_factor"):
    """lu_factor_ex for the function `name` (in its errors of a zero pivot) and `caller` (in those of A's dims)."""
    if A.ndim < 2:
        raise RuntimeError(f"{caller}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead")
    _refuse_complex(name, A)
    if A.dtype not in _DECOMPOSED_DTYPES:
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{_type_name(A)}'")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the "
                           f"{'CPU' if A.device == 'cpu' else 'GPU in minigrad'}")
    factors, pivots = LUFactor.apply(A)
    info = lu_info(factors.data)
    if check_errors:
        raise_for_info(info, ZERO_PIVOT.format(name=name), RuntimeError)  # torch's, no LinAlgError
    return LUFactorExResult(factors, pivots, Tensor(info))


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    """(LU, pivots, info) of A = P L U by partial pivoting, as torch's: L (unit diagonal, below) and U packed in
    one matrix, LAPACK's 1-based int32 pivots, info the 1-based index of U's first zero pivot (0 for none).
    Differentiable in LU (square, wide or tall A). One matrix per LAPACK (cuSOLVER) call (see ops.lu_factors)."""
    tensor_only("linalg_lu_factor_ex", A, 1, "A")
    return _lu_factor_ex("torch.linalg.lu_factor_ex", A, pivot, check_errors)


def lu_factor(A, *, pivot=True):
    """(LU, pivots) of lu_factor_ex; torch's error for a matrix with a zero pivot."""
    tensor_only("linalg_lu_factor", A, 1, "A")
    return LUFactorResult(*_lu_factor_ex("torch.linalg.lu_factor", A, pivot, check_errors=True)[:2])


def _unpacked(factors, pivots):
    """(P, L, U) of packed factors: L m x k with a unit diagonal, U k x n, P m x m in the factors' dtype."""
    rows, columns = factors.shape[-2:]
    k = min(rows, columns)
    lower = factors[..., :, :k].tril(-1) + eye(rows, k, dtype=factors.dtype, device=factors.device)
    upper = factors[..., :k, :].triu()
    permutation = None
    if pivots is not None:
        perm = row_permutation(pivots.data, rows)
        identity = eye(rows, dtype=factors.dtype, device=factors.device).data
        permutation = Tensor(transposed(identity[perm]))
    return permutation, lower, upper


def lu(A, *, pivot=True):
    """(P, L, U) with A = P L U, as torch.linalg.lu: L m x k unit lower triangular, U k x n upper triangular
    (k = min(m, n)); L and U differentiable."""
    tensor_only("linalg_lu", A, 1, "A")
    factors, pivots, _ = _lu_factor_ex("linalg.lu", A, pivot, check_errors=False, caller="linalg.lu")
    return LUResult(*_unpacked(factors, pivots))


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803 (torch's names)
    """torch.lu_unpack: (P, L, U) of lu_factor's output; what is not unpacked is an empty tensor."""
    tensor_only("lu_unpack", LU_data, 1, "LU_data")
    if LU_data.ndim < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
                           f"{list(LU_data.shape)} instead")
    if LU_pivots.dtype != np.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    rows = LU_data.shape[-2]
    if LU_pivots.shape[-1:] != (min(LU_data.shape[-2:]),) or bool(((LU_pivots < 1) | (LU_pivots > rows)).any()):
        raise RuntimeError("pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive.Did you properly "
                           "pass the result of lu_factor?")
    permutation, lower, upper = _unpacked(LU_data, LU_pivots if unpack_pivots else None)
    empty = LU_data.new_zeros(0)
    return LUUnpackResult(permutation if unpack_pivots else empty, *((lower, upper) if unpack_data else (empty, empty)))


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):  # noqa: N803 (torch's name)
    """X of A X = B from lu_factor's (LU, pivots), as torch.linalg.lu_solve: A^T X = B with `adjoint`, X A = B (or
    X A^T = B) where not `left`; batches broadcast; differentiable in LU and B."""
    tensor_only("linalg_lu_solve", LU, 1, "LU")
    _require_matrices("torch.linalg.lu_solve", LU)
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if pivots.dtype != np.int32:
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    if B.dtype != LU.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{_type_name(LU)} and B of type {_type_name(B)} instead")
    _require_solvable("linalg.lu_solve", LU, B, left)
    if pivots.shape[-1:] != LU.shape[-1:]:
        raise RuntimeError("linalg.lu_solve: Number of pivots per batch should be same as the dimension of the matrix")
    _refuse_complex("linalg.lu_solve", LU)
    if left:
        return LUSolve.apply(LU, B, pivots=pivots.data, adjoint=adjoint)
    return LUSolve.apply(LU, B.mT, pivots=pivots.data, adjoint=not adjoint).mT


# ---- Householder reflectors: householder_product (orgqr), geqrf ------------------------------------------------------
def householder_product(A, tau):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i A's column i below the diagonal and 1
    on it, as torch.linalg.householder_product (LAPACK's orgqr): one batched rank-one update per reflector,
    differentiable in A and tau."""
    name = "torch.linalg.householder_product"
    for position, (role, tensor) in enumerate((("input", A), ("tau", tau)), 1):
        tensor_only("linalg_householder_product", tensor, position, role)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    rows, columns = A.shape[-2:]
    if rows < columns:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if columns < tau.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.ndim} and input.ndim is equal to {A.ndim}")
    if tau.shape[:-1] != A.shape[:-2]:
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    if tau.dtype != A.dtype:
        raise RuntimeError(f"{name}: tau dtype {_type_name(tau)} does not match input dtype {_type_name(A)}")
    _refuse_complex("linalg.householder_product", A)
    if A.dtype not in _DECOMPOSED_DTYPES:
        raise NotImplementedError(f"\"orgqr_cpu\" not implemented for '{_type_name(A)}'")
    identity = eye(rows, columns, dtype=A.dtype, device=A.device)
    reflectors = A.tril(-1) + identity
    product = identity
    for index in reversed(range(tau.shape[-1])):
        reflector = reflectors[..., :, index:index + 1]
        product = product - (tau[..., index, None, None] * reflector).matmul(reflector.mT.matmul(product))
    return product


def geqrf(input):
    """(a, tau) of LAPACK's geqrf, as torch.geqrf: R on and above a's diagonal, the Householder reflectors below
    it, their scales tau; not differentiable, as torch's."""
    tensor_only("geqrf", input, 1, "input")
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _refuse_complex("geqrf", input)
    if input.dtype not in _DECOMPOSED_DTYPES:
        raise NotImplementedError(f"\"geqrf_cpu\" not implemented for '{_type_name(input)}'")
    return HouseholderResult(*Geqrf.apply(input))


def ldl_factor_ex(A, *, hermitian=False, check_errors=False):
    """(LD, pivots, info) of A = L D L^T by Bunch-Kaufman pivoting from A's lower triangle, as
    torch.linalg.ldl_factor_ex (see ops.LDLFactor; `hermitian` is the same for real matrices). Not differentiable,
    as torch's; computed on the host, also for a GPU tensor."""
    name = "torch.linalg.ldl_factor_ex"
    tensor_only("linalg_ldl_factor_ex", A, 1, "input")
    _require_square_floating(name, A)
    if A.dtype not in _DECOMPOSED_DTYPES:
        raise NotImplementedError(f"\"ldl_factor_kernel_cpu\" not implemented for '{_type_name(A)}'")
    factors, pivots, info = LDLFactor.apply(A)
    if check_errors:
        raise_for_info(info.data, "torch.linalg.ldl_factor: The factorization could not be completed because the "
                                  "input is singular: D[{info},{info}] is exactly zero.", RuntimeError)
    return LDLFactorExResult(factors, pivots, info)


def ldl_factor(A, *, hermitian=False):
    """(LD, pivots) of ldl_factor_ex; an error for an exactly singular D (torch's is an internal assertion)."""
    tensor_only("linalg_ldl_factor", A, 1, "input")
    return LDLFactorResult(*ldl_factor_ex(A, hermitian=hermitian, check_errors=True)[:2])
