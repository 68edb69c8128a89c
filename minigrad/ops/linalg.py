"""torch.linalg's differentiable matrix functions: each forward on NumPy's or CuPy's linalg next to its closed-form
backward, batched over the leading dims.

NumPy's solvers refuse a whole batch for one singular (or not positive-definite) matrix, and CuPy's results are
checked by their own LU (`solution_or_none`), since CuPy's say nothing; either way the failed matrices are then told
apart on the host by LAPACK, as torch reports them."""
import math
import warnings

import numpy as np
import scipy.linalg

from ..backend import get_array_module, linalg_reports_failures, scipy_module, to_numpy
from ..function import Function, is_tensor
from .elementwise import tensor_functions
from .matmul import MatMul, matmul


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix that is singular or not positive-definite, as torch's a RuntimeError."""


def transposed(a):
    return a.swapaxes(-1, -2)


def functions_of(a):
    """NumPy's functions for `a`: xp's for an array, minigrad's for a tensor, so that a gradient formula written once
    serves backward (arrays) and differentiable_backward (linked tensors, recorded; see tensor_functions)."""
    return tensor_functions() if is_tensor(a) else get_array_module(a)


def product(a, b):
    """a @ b: of arrays, the threads' matmul; of tensors, recorded (MatMul's)."""
    return MatMul.apply(a, b) if is_tensor(a) else matmul(a, b)


def identity(a, dtype=None):
    """The identity matrix (ones on the diagonal) of a's matrices' shape, in a's dtype (or `dtype`): an array, or a
    constant tensor on a's device."""
    dtype = a.dtype if dtype is None else dtype
    rows, columns = a.shape[-2:]
    if is_tensor(a):
        return tensor_functions().eye(rows, columns, dtype=dtype, device=a.device)
    return get_array_module(a).eye(rows, columns, dtype=dtype)


def linear_solution(a, b):
    """X of A X = B, batches of one shape: of tensors, recorded (Solve's); of arrays, xp's."""
    return Solve.apply(a, b) if is_tensor(a) else get_array_module(a).linalg.solve(a, b)


def broadcast_batches(a, b):
    """a and b broadcast to one batch shape, each keeping its matrix dims: CuPy's solvers broadcast no batches."""
    xp = get_array_module(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])


def host_lu(a):
    """LAPACK getrf's (factors, pivots) of each matrix of a batch (partial pivoting), on the host, a singular one's
    too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.lu_factor(to_numpy(a), check_finite=False)


def lu_info(factors):
    """LAPACK getrf's info for each matrix of LU factors: the 1-based index of the first diagonal element of U that
    is exactly zero, 0 for none."""
    xp = get_array_module(factors)
    zero = xp.diagonal(factors, axis1=-2, axis2=-1) == 0
    if not zero.shape[-1]:
        return xp.zeros(zero.shape[:-1], np.int32)
    return xp.where(zero.any(axis=-1), zero.argmax(axis=-1) + 1, 0).astype(np.int32)


def zero_pivots(a):
    """lu_info of each matrix of a batch (partial pivoting, on the host)."""
    if not a.size:
        return np.zeros(a.shape[:-2], np.int32)
    return lu_info(host_lu(a)[0])


def lu_factors(a):
    """LAPACK getrf's (LU, pivots) of each matrix (partial pivoting), pivots 1-based int32 as torch's; a singular
    matrix's too. SciPy's lu_factor (cupyx.scipy.linalg's on the GPU) takes one matrix at a time, so a batch of
    more matrices than elimination steps is eliminated all at once instead: either way the Python loop is the
    shorter one."""
    xp = get_array_module(a)
    rows, columns = a.shape[-2:]
    flat = a.reshape(math.prod(a.shape[:-2]), rows, columns)
    if len(flat) > min(rows, columns):
        factors, pivots = eliminated(flat)
    else:
        lu_factor = scipy_module(xp, "linalg").lu_factor
        factors = xp.empty_like(flat)
        pivots = xp.empty((len(flat), min(rows, columns)), np.int32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # SciPy's LinAlgWarning, CuPy's: of a singular matrix
            for index, matrix in enumerate(flat if a.size else ()):
                factors[index], pivots[index] = lu_factor(matrix, check_finite=False)
    return factors.reshape(a.shape), (pivots + 1).reshape(a.shape[:-2] + pivots.shape[-1:])


def eliminated(flat):
    """getrf's (LU, 0-based pivots) of a stack of matrices by Gaussian elimination with partial pivoting, a column
    of every matrix at a time: the first largest entry pivots (as idamax picks it), and a zero pivot leaves its
    column unscaled, as getf2 does."""
    xp = get_array_module(flat)
    factors = flat.copy()
    stack = xp.arange(len(factors))
    pivots = xp.empty((len(factors), min(factors.shape[-2:])), np.int32)
    for step in range(pivots.shape[-1]):
        pivot_rows = step + abs(factors[:, step:, step]).argmax(axis=-1)
        pivots[:, step] = pivot_rows
        factors[stack, step], factors[stack, pivot_rows] = factors[stack, pivot_rows], factors[stack, step]
        pivot = factors[:, step, step, None]
        factors[:, step + 1:, step] /= xp.where(pivot == 0, 1, pivot)
        factors[:, step + 1:, step + 1:] -= factors[:, step + 1:, step, None] * factors[:, step, None, step + 1:]
    return factors, pivots


def row_permutation(pivots, rows):
    """perm of LAPACK's pivots (row i swapped with row pivots[i], 1-based, in order): A[perm] = L U, so that
    A = P L U with P[perm[i], i] = 1. One batched step per pivot."""
    xp = get_array_module(pivots)
    flat_pivots = pivots.reshape(math.prod(pivots.shape[:-1]), pivots.shape[-1]).astype(np.int64) - 1
    perm = xp.tile(xp.arange(rows), (len(flat_pivots), 1))
    matrices = xp.arange(len(flat_pivots))
    for row in range(flat_pivots.shape[-1]):
        swapped = flat_pivots[:, row]
        held = perm[matrices, row]
        perm[matrices, row] = perm[matrices, swapped]
        perm[matrices, swapped] = held
    return perm.reshape(pivots.shape[:-1] + (rows,))


def permuted_rows(a, perm):
    """a[perm] of each matrix: P^T A; of a tensor, recorded."""
    if is_tensor(a):
        functions = tensor_functions()
        return functions.take_along_dim(a, functions.Tensor(perm[..., :, None]), dim=-2)
    return get_array_module(a).take_along_axis(a, perm[..., :, None], axis=-2)


def unpermuted_rows(a, perm):
    """P A: the rows put back where perm took them from."""
    return permuted_rows(a, get_array_module(perm).argsort(perm, axis=-1))


def times_inverse_transposed(a, factor, upper, unitriangular=False):
    """A T^-T for triangular T (its other triangle unread)."""
    return transposed(solve_triangular(factor, transposed(a), upper, unitriangular))


def host_cholesky(a):
    """(factors, info) of each matrix by LAPACK's potrf on the host, as torch's cholesky_ex: a factor as far as it
    got, info the order of the first leading minor that is not positive-definite (0 for none)."""
    matrices = to_numpy(a)
    flat = matrices.reshape(-1, *matrices.shape[-2:])
    potrf = scipy.linalg.get_lapack_funcs("potrf", (flat,))
    factors, info = np.empty_like(flat), np.zeros(len(flat), np.int32)
    for index, matrix in enumerate(flat):
        factor, info[index] = potrf(matrix, lower=True, clean=True)
        factors[index] = np.tril(factor)
    return factors.reshape(matrices.shape), info.reshape(matrices.shape[:-2])


def inverse(a):
    """The inverse of each matrix, NaN for the singular ones: xp's, or where it failed, host_solve's; of a tensor,
    recorded (Inverse's)."""
    if is_tensor(a):
        return Inverse.apply(a)
    xp = get_array_module(a)
    identities = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    out = solution_or_none(a, identities)
    if out is not None:
        return out
    out, info = host_solve(a, identities)
    return xp.asarray(np.where((info != 0)[..., None, None], np.nan, out))


def host_solve(a, b):
    """(X of A X = B by getrf and getrs, info of getrf as lu_info's) for each matrix of a batch, on the host: what
    replaces a solver's result where it failed (NumPy's raises for a whole batch, CuPy's is checked by its own LU), so
    that which matrices are singular is what zero_pivots says, on every device, and no result is the failed one."""
    factors, pivots = host_lu(a)
    with np.errstate(all="ignore"):
        out = scipy.linalg.lu_solve((factors, pivots), to_numpy(b), check_finite=False)
    return out.astype(a.dtype, copy=False), lu_info(factors)


def solution_or_none(a, b):
    """X of A X = B for each matrix by xp's solver, None where that failed for one: NumPy's raises for the whole
    batch. CuPy's says nothing of a singular matrix (its inverse can come back finite, entries so large that A X - I
    is small beside them), so there X comes of xp's own LU, whose pivots tell, as getrf's info does."""
    xp = get_array_module(a)
    if linalg_reports_failures(xp):
        try:
            return xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            return None
    factors, pivots = lu_factors(a)
    if bool(lu_info(factors).any()):
        return None
    return lu_solved(factors, row_permutation(pivots, a.shape[-1]), b, adjoint=False)


def singular_info(a, inverse_of_a):
    """zero_pivots of the matrices, looked for only where their inverse is not finite."""
    xp = get_array_module(a)
    if bool(xp.isfinite(inverse_of_a).all()):
        return xp.zeros(a.shape[:-2], np.int32)
    return xp.asarray(zero_pivots(a))


def cholesky_factor(a):
    """The lower Cholesky factor of each matrix; one not positive-definite as far as LAPACK got."""
    xp = get_array_module(a)
    try:
        return xp.linalg.cholesky(a)
    except np.linalg.LinAlgError:  # NumPy's, for the whole batch
        return xp.asarray(host_cholesky(a)[0])


def cholesky_info(a, factor):
    """host_cholesky's info, looked for only where a factor's diagonal is not all positive."""
    xp = get_array_module(a)
    if bool((xp.diagonal(factor, axis1=-2, axis2=-1) > 0).all()):
        return xp.zeros(a.shape[:-2], np.int32)
    return xp.asarray(host_cholesky(a)[1])


def raise_for_info(info, message, error=LinAlgError):
    """torch's LinAlgError (or `error`) for the first failed matrix of a batch; `message` takes its info as
    {info}."""
    infos = to_numpy(info).reshape(-1)
    failed = np.flatnonzero(infos)
    if failed.size:
        where = f"(Batch element {failed[0]}): " if info.ndim else ""
        name, _, rest = message.partition(": ")
        raise error(f"{name}: {where}{rest.format(info=infos[failed[0]])}")


def solve_triangular(a, b, upper, unitriangular=False, transpose=False):
    """X of A X = B (of A^T X = B with `transpose`), A's other triangle unread, for batches of one shape; of tensors,
    recorded (SolveTriangular's).

    SciPy (cuBLAS) solves one matrix a call, so a batch of more matrices than rows is solved by substitution
    instead, a row of every matrix at once: either way the Python loop is the shorter one."""
    if is_tensor(a):
        return SolveTriangular.apply(transposed(a) if transpose else a, b, upper=upper != transpose,
                                     unitriangular=unitriangular)
    xp = get_array_module(a)
    if math.prod(a.shape[:-2]) > a.shape[-1]:
        return substituted(a, b, upper, unitriangular, transpose)
    try:
        return scipy_module(xp, "linalg").solve_triangular(a, b, trans=int(transpose), lower=not upper,
                                                           unit_diagonal=unitriangular, check_finite=False)
    except np.linalg.LinAlgError:  # SciPy's, for a zero on the diagonal; cuBLAS's trsm (and torch's) divide by it
        return xp.asarray(host_trsm(a, b, upper, unitriangular, transpose))


def substituted(a, b, upper, unitriangular=False, transpose=False):
    """solve_triangular by forward (back) substitution over the whole batch: row i of X from the rows before
    (after) it. A zero on A's diagonal gives inf and NaN, as trsm's."""
    xp = get_array_module(a)
    if transpose:
        a, upper = transposed(a), not upper
    size = a.shape[-1]
    out = xp.empty(b.shape, dtype=b.dtype)
    for row in range(size - 1, -1, -1) if upper else range(size):
        done = slice(row + 1, size) if upper else slice(0, row)
        rest = b[..., row, :] - matmul(a[..., row:row + 1, done], out[..., done, :])[..., 0, :]
        out[..., row, :] = rest if unitriangular else rest / a[..., row, row, None]
    return out


def host_trsm(a, b, upper, unitriangular, transpose):
    """BLAS trsm's X of A X = B (A^T X = B) for each matrix of a batch, on the host: a zero on A's diagonal gives
    inf and NaN, as torch's."""
    a, b = broadcast_batches(to_numpy(a), to_numpy(b))
    flat_a, flat_b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
    trsm = scipy.linalg.get_blas_funcs("trsm", (flat_a, flat_b))
    out = np.empty_like(flat_b)
    for index, (matrix, right) in enumerate(zip(flat_a, flat_b)):
        out[index] = trsm(1.0, matrix, right, lower=int(not upper), trans_a=int(transpose), diag=int(unitriangular))
    return out.reshape(b.shape)


class Det(Function):
    """d det(A) = det(A) A^-T : dA, as torch's: zero for an exactly singular A of two or more rows (det 0), where the
    cofactors need not be, since torch solves for A^-T with LU's zero pivots made eps and multiplies by det(A)."""

    node_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        # NaN for a matrix holding NaN, as torch's, where NumPy's LU may pivot past it to 0
        det = xp.where(xp.isnan(a).any(axis=(-2, -1)), np.nan, xp.linalg.det(a)).astype(a.dtype)
        ctx.save_for_backward(a, det)
        return det

    @staticmethod
    def backward(ctx, grad):
        return Det.gradient(grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's, except where |det A| < 100 eps: there torch's cofactors through the SVD A = U S Vh,
        U diag(grad det(U) det(Vh) prod_{j != i} s_j) Vh, which a singular A has too (backward's, torch's without
        create_graph, are zero there)."""
        a, det = ctx.saved
        linked_a = ctx.linked(0, a)
        gradient = Det.gradient(grad, linked_a, ctx.linked_output(det))
        near_singular = abs(det) < 100 * np.finfo(a.dtype).eps
        if a.shape[-1] == 1 or not bool(near_singular.any()):
            return gradient
        functions = tensor_functions()
        u, s, vh = functions.linalg.svd(linked_a)
        ones = s.new_ones(s.shape[:-1] + (1,))
        before = functions.cat([ones, s[..., :-1]], dim=-1).cumprod(-1)
        after = functions.cat([ones, s[..., 1:].flip(-1)], dim=-1).cumprod(-1).flip(-1)
        scale = grad * functions.linalg.det(u) * functions.linalg.det(vh)
        cofactors = product(u * (scale[..., None] * before * after)[..., None, :], vh)
        return functions.where(functions.Tensor(near_singular)[..., None, None], cofactors, gradient)

    @staticmethod
    def gradient(grad, a, det):
        """Of arrays (backward) or of linked tensors (differentiable_backward), through det and A^-1."""
        xp = functions_of(a)
        if a.shape[-1] == 1:  # det(A) is A's one entry, whose gradient is 1 (torch's, det 0 or not)
            return grad[..., None, None] * xp.ones_like(a)
        singular = (det == 0)[..., None, None]
        invertible = xp.where(singular, identity(a), a)
        return (grad * det)[..., None, None] * transposed(inverse(invertible))


class SlogdetSign(Function):
    """slogdet's sign, computed with log |det A| (see LogAbsDet): in the graph, as torch's, but piecewise constant, so
    that it gives A no gradient (None, as torch's)."""

    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a, sign):
        return sign

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return None

    differentiable_backward = backward


class LogAbsDet(Function):
    """slogdet's log |det A|, whose gradient is A^-T; the sign, piecewise constant, is slogdet's other output.

    Where a matrix is singular (log |det A| = -inf), the gradient is torch's: X of A^T X = grad I solved with
    getrf's factors of A^T (on the host), which getrs's divisions by their zero pivot leave with inf and NaN."""

    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a, logabsdet):
        ctx.save_for_backward(a, logabsdet)
        return logabsdet

    @staticmethod
    def backward(ctx, grad):
        a, logabsdet = ctx.saved
        xp = get_array_module(a)
        if bool(xp.isfinite(logabsdet).all()):
            return grad[..., None, None] * transposed(xp.linalg.inv(a))
        scaled_identity = to_numpy(grad)[..., None, None] * np.eye(a.shape[-1], dtype=a.dtype)
        with np.errstate(all="ignore"):
            return xp.asarray(scipy.linalg.lu_solve(host_lu(transposed(a)), scaled_identity, check_finite=False))

    @staticmethod
    def differentiable_backward(ctx, grad):
        """backward's grad A^-T, as torch's: X of A^T X = grad I, recorded (Solve's, which refuses a singular A)."""
        a = ctx.linked(0, ctx.saved[0])
        return linear_solution(transposed(a), grad[..., None, None] * identity(a))


class OfItsOutput(Function):
    """An op whose backward needs its output only: forward is its class's `of`, the output saved, and the gradient
    its class's `gradient(grad, out)`, of arrays (backward) or of tensors, the output linked (differentiable_backward,
    as torch's differentiates it)."""

    of = None
    gradient = None

    @staticmethod
    def forward(ctx, a):
        out = ctx.function.of(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return ctx.function.gradient(grad, out)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (out,) = ctx.saved
        return ctx.function.gradient(grad, ctx.linked_output(out))


class Inverse(OfItsOutput):
    """d A^-1 = -A^-1 dA A^-1, so the gradient is -A^-T G A^-T."""

    node_name = "LinalgInvExBackward0"
    of = staticmethod(inverse)

    @staticmethod
    def gradient(grad, out):
        out_t = transposed(out)
        return -product(out_t, product(grad, out_t))


class Solve(Function):
    """X = A^-1 B, B a batch of matrices; the gradients are G_B = A^-T G and G_A = -G_B X^T."""

    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a)
        a, b = broadcast_batches(a, b)
        out = solution_or_none(a, b)
        if out is None or not bool(xp.isfinite(out).all()):
            out, info = host_solve(a, b)
            raise_for_info(info, "torch.linalg.solve: The solver failed because the input matrix is singular.")
            out = xp.asarray(out)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return Solve.gradients(grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        a, out = ctx.saved
        return Solve.gradients(grad, ctx.linked(0, a), ctx.linked_output(out))

    @staticmethod
    def gradients(grad, a, out):
        """Of arrays (backward) or of linked tensors (differentiable_backward)."""
        grad_b = linear_solution(transposed(a), grad)
        return -product(grad_b, transposed(out)), grad_b


class SolveTriangular(Function):
    """solve_triangular's X = A^-1 B; G_B = A^-T G, and G_A = -G_B X^T on A's triangle that was read."""

    node_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, a, b, upper, unitriangular=False):
        a, b = broadcast_batches(a, b)
        out = solve_triangular(a, b, upper, unitriangular)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return SolveTriangular.gradients(ctx, grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        a, out = ctx.saved
        return SolveTriangular.gradients(ctx, grad, ctx.linked(0, a), ctx.linked_output(out))

    @staticmethod
    def gradients(ctx, grad, a, out):
        """Of arrays (backward) or of linked tensors (differentiable_backward)."""
        upper, unitriangular = ctx.params["upper"], ctx.params.get("unitriangular", False)
        xp = functions_of(a)
        grad_b = solve_triangular(a, grad, upper, unitriangular, transpose=True)
        grad_a = -product(grad_b, transposed(out))
        offset = int(unitriangular)
        return xp.triu(grad_a, offset) if upper else xp.tril(grad_a, -offset), grad_b


class Cholesky(OfItsOutput):
    """The lower factor L of A = L L^T, A's lower triangle read. Its gradient is torch's (Murray 2016, symmetric):
    L^-T Φ L^-1 with Φ = sym(tril(L^T G)) of half diagonal."""

    node_name = "LinalgCholeskyExBackward0"
    of = staticmethod(cholesky_factor)

    @staticmethod
    def gradient(grad, factor):
        xp = functions_of(factor)
        lower = xp.tril(product(transposed(factor), grad))
        phi = 0.5 * (lower + transposed(xp.tril(lower, -1)))
        left = solve_triangular(factor, phi, upper=False, transpose=True)  # L^-T Φ
        return transposed(solve_triangular(factor, transposed(left), upper=False, transpose=True))


def cholesky_solve(factor, b):
    """X of L L^T X = B for lower factors L (their other triangle unread) and batches of one shape; of tensors,
    recorded (CholeskySolve's)."""
    if is_tensor(factor):
        return CholeskySolve.apply(b, factor)
    return solve_triangular(factor, solve_triangular(factor, b, upper=False), upper=False, transpose=True)


class CholeskySolve(Function):
    """X = (L L^T)^-1 B from the lower factor L; the gradients are torch's, for L taken whole: G_B = (L L^T)^-1 G,
    G_L = -(G_B X^T + X G_B^T) L."""

    node_name = "CholeskySolveBackward0"

    @staticmethod
    def forward(ctx, b, factor):
        b, factor = broadcast_batches(b, factor)
        out = cholesky_solve(factor, b)
        ctx.save_for_backward(factor, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return CholeskySolve.gradients(grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        factor, out = ctx.saved
        return CholeskySolve.gradients(grad, ctx.linked(1, factor), ctx.linked_output(out))

    @staticmethod
    def gradients(grad, factor, out):
        """Of arrays (backward) or of linked tensors (differentiable_backward)."""
        grad_b = cholesky_solve(factor, grad)
        common = product(grad_b, transposed(out))
        return grad_b, -product(common + transposed(common), factor)


PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
           10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
PADE_13_NORM = 5.371920351148152  # the largest 1-norm whose [13/13] Padé approximant is exact in double precision


def matrix_exponential(a):
    """exp(A) of each matrix by scaling and squaring (Higham 2005): the [13/13] Padé approximant of exp(A / 2^s),
    s per matrix as its 1-norm needs, squared s times (each matrix only as often as its own s). A 1 x 1 matrix's is
    its entry's exp, as torch's (e^inf = inf and e^-inf = 0, where scaling an infinite norm gives NaN). Of a tensor,
    recorded (MatrixExp's)."""
    if is_tensor(a):
        return MatrixExp.apply(a)
    xp = get_array_module(a)
    size = a.shape[-1]
    if not a.size:
        return a.copy()
    if size == 1:
        return xp.exp(a)
    if a.dtype.itemsize < 4:  # float16: no solver in half precision; float32's, rounded (torch's CPU one overflows)
        return matrix_exponential(a.astype(np.float32)).astype(a.dtype)
    norms = abs(a).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        squarings = xp.ceil(xp.log2(norms / PADE_13_NORM))
    squarings = xp.where(xp.isfinite(squarings), xp.maximum(squarings, 0), 0).astype(np.int64)
    scaled = a / (2.0 ** squarings).astype(a.dtype)[..., None, None]
    b = PADE_13
    eye = xp.eye(size, dtype=a.dtype)
    a2 = matmul(scaled, scaled)
    a4 = matmul(a2, a2)
    a6 = matmul(a4, a2)
    odd = matmul(scaled, matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
                 + b[1] * eye)
    even = matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    out = xp.linalg.solve(even - odd, even + odd)
    for step in range(int(squarings.max())):
        out = xp.where((squarings > step)[..., None, None], matmul(out, out), out)
    return out


class MatrixExp(Function):
    """exp(A) of each matrix; the gradient is torch's: the upper right block of exp([[A^T, G], [0, A^T]]), the
    derivative of exp at A in the direction G, adjoint."""

    node_name = "LinalgMatrixExpBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return matrix_exponential(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        return MatrixExp.gradient(grad, a)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (a,) = ctx.saved
        return MatrixExp.gradient(grad, ctx.linked(0, a))

    @staticmethod
    def gradient(grad, a):
        """Of arrays, or of tensors, through exp of the block matrix as torch's differentiates it."""
        xp = functions_of(a)
        size = a.shape[-1]
        a_t = xp.broadcast_to(transposed(a), grad.shape)
        block = xp.concatenate([xp.concatenate([a_t, grad], axis=-1),
                                xp.concatenate([xp.zeros_like(a_t), a_t], axis=-1)], axis=-2)
        return matrix_exponential(block)[..., :size, size:]


def unit_lower(factors):
    """L of packed LU factors (m x k, k = min(m, n)): their strict lower triangle, ones on the diagonal. Of an array
    or of a tensor."""
    left = factors[..., :, :min(factors.shape[-2:])]
    return functions_of(factors).tril(left, -1) + identity(left)


def lu_backward(grad, factors, perm):
    """torch's gradient of A = P L U (linalg_lu_backward) from that of the packed factors, L's below the diagonal
    and U's on and above it. Square: P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T; wide and tall matrices add
    the gradients of U's right block and L's bottom block, as torch's. Of arrays, or of tensors (the factors linked),
    the permutation an array."""
    xp = functions_of(factors)
    rows, columns = factors.shape[-2:]
    k = min(rows, columns)
    lower, upper = unit_lower(factors), xp.triu(factors[..., :k, :])
    grad_lower, grad_upper = xp.tril(grad[..., :, :k], -1), xp.triu(grad[..., :k, :])
    if rows == columns:
        phi = xp.tril(product(transposed(lower), grad_lower), -1) + xp.triu(product(grad_upper, transposed(upper)))
        grad_a = solve_triangular(factors, times_inverse_transposed(phi, factors, upper=True), upper=False,
                                  unitriangular=True, transpose=True)
    elif rows < columns:
        phi = xp.tril(product(transposed(lower), grad_lower) - product(grad_upper, transposed(upper)), -1)
        left = times_inverse_transposed(phi, factors[..., :rows], upper=True) + grad_upper[..., :rows]
        grad_a = solve_triangular(factors[..., :rows], xp.concatenate([left, grad_upper[..., rows:]], axis=-1),
                                  upper=False, unitriangular=True, transpose=True)
    else:
        phi = xp.triu(product(grad_upper, transposed(upper)) - product(transposed(lower), grad_lower))
        top = solve_triangular(factors[..., :columns, :], phi, upper=False, unitriangular=True, transpose=True)
        grad_a = times_inverse_transposed(xp.concatenate([top + grad_lower[..., :columns, :],
                                                          grad_lower[..., columns:, :]], axis=-2),
                                          factors[..., :columns, :], upper=True)
    return unpermuted_rows(grad_a, perm)


class LUFactor(Function):
    """The packed LU factors of A = P L U (partial pivoting) and LAPACK's pivots (not differentiable)."""

    several_outputs = True
    node_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, a):
        factors, pivots = lu_factors(a)
        ctx.mark_non_differentiable(pivots)
        ctx.save_for_backward(factors, pivots)
        return factors, pivots

    @staticmethod
    def backward(ctx, grad_factors, grad_pivots):
        factors, pivots = ctx.saved
        return lu_backward(grad_factors, factors, row_permutation(pivots, factors.shape[-2]))

    @staticmethod
    def differentiable_backward(ctx, grad_factors, grad_pivots):
        factors, pivots = ctx.saved
        return lu_backward(grad_factors, ctx.linked_output(factors), row_permutation(pivots, factors.shape[-2]))


def lu_solved(factors, perm, b, adjoint):
    """X of A X = B (A^T X = B with `adjoint`) from A = P L U, the factors packed as getrf gives them."""
    if adjoint:
        inner = solve_triangular(factors, solve_triangular(factors, b, upper=True, transpose=True), upper=False,
                                 unitriangular=True, transpose=True)
        return unpermuted_rows(inner, perm)
    return solve_triangular(factors, solve_triangular(factors, permuted_rows(b, perm), upper=False,
                                                      unitriangular=True), upper=True)


class LUSolve(Function):
    """X of A X = B (A^T X = B with `adjoint`) from A's LU factors and pivots; the gradients are torch's: G_B is the
    other equation's solution for G, G_LU (linalg_lu_solve_LU) that of A = P L U through both triangles."""

    node_name = "LinalgLuSolveBackward0"

    @staticmethod
    def forward(ctx, factors, b, pivots, adjoint=False):
        xp = get_array_module(factors)
        factors, b = broadcast_batches(factors, b)
        perm = row_permutation(xp.broadcast_to(pivots, factors.shape[:-1]), factors.shape[-1])
        out = lu_solved(factors, perm, b, adjoint)
        ctx.save_for_backward(factors, perm, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return LUSolve.gradients(ctx, grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        factors, perm, out = ctx.saved
        return LUSolve.gradients(ctx, grad, ctx.linked(0, factors), perm, ctx.linked_output(out))

    @staticmethod
    def gradients(ctx, grad, factors, perm, out):
        """Of arrays (backward), or of linked tensors (differentiable_backward), the permutation an array."""
        adjoint = ctx.params.get("adjoint", False)
        xp = functions_of(factors)
        grad_b = lu_solved(factors, perm, grad, not adjoint)
        if not adjoint:
            grad_r = -solve_triangular(factors, product(grad, transposed(out)), upper=True, transpose=True)
            above = solve_triangular(factors, product(grad_r, transposed(xp.triu(factors))), upper=False,
                                     unitriangular=True, transpose=True)
            return xp.tril(above, -1) + xp.triu(grad_r), grad_b
        outer = -product(permuted_rows(out, perm), transposed(permuted_rows(grad, perm)))      # -P^T X G^T P
        grad_r = times_inverse_transposed(outer, factors, upper=False, unitriangular=True)
        grad_u = times_inverse_transposed(product(transposed(unit_lower(factors)), grad_r), factors, upper=True)
        return xp.tril(grad_r, -1) + xp.triu(grad_u), grad_b
