"""torch.linalg's differentiable matrix functions: each forward on NumPy's or CuPy's linalg next to its closed-form
backward, batched over the leading dims.

NumPy's solvers refuse a whole batch for one singular (or not positive-definite) matrix, CuPy's give non-finite
entries; either way the failed matrices are then told apart on the host by LAPACK, as torch reports them."""
import warnings

import numpy as np
import scipy.linalg

from ..backend import get_array_module, scipy_module, to_numpy
from ..function import Function
from .matmul import matmul


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix that is singular or not positive-definite, as torch's a RuntimeError."""


def transposed(a):
    return a.swapaxes(-1, -2)


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


def zero_pivots(a):
    """LAPACK getrf's info for each matrix of a batch (on the host): the 1-based index of the first diagonal
    element of U (partial pivoting) that is exactly zero, 0 for none."""
    if not a.size:
        return np.zeros(a.shape[:-2], np.int32)
    factors, _ = host_lu(a)
    zero = np.diagonal(factors, axis1=-2, axis2=-1) == 0
    return np.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(np.int32)


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
    """The inverse of each matrix, NaN for the singular ones."""
    xp = get_array_module(a)
    try:
        return xp.linalg.inv(a)
    except np.linalg.LinAlgError:  # NumPy's (CuPy's too, under cupyx.errstate(linalg="raise")), for the whole batch
        singular = xp.asarray(zero_pivots(a) != 0)[..., None, None]
        return xp.where(singular, np.nan, xp.linalg.inv(xp.where(singular, xp.eye(a.shape[-1], dtype=a.dtype), a)))


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
    except np.linalg.LinAlgError:  # NumPy's (CuPy's too, under cupyx.errstate(linalg="raise")), for the whole batch
        return xp.asarray(host_cholesky(a)[0])


def cholesky_info(a, factor):
    """host_cholesky's info, looked for only where a factor's diagonal is not all positive."""
    xp = get_array_module(a)
    if bool((xp.diagonal(factor, axis1=-2, axis2=-1) > 0).all()):
        return xp.zeros(a.shape[:-2], np.int32)
    return xp.asarray(host_cholesky(a)[1])


def raise_for_info(info, message):
    """torch's LinAlgError for the first failed matrix of a batch; `message` takes its info as {info}."""
    infos = to_numpy(info).reshape(-1)
    failed = np.flatnonzero(infos)
    if failed.size:
        where = f"(Batch element {failed[0]}): " if info.ndim else ""
        name, _, rest = message.partition(": ")
        raise LinAlgError(f"{name}: {where}{rest.format(info=infos[failed[0]])}")


def solve_triangular(a, b, upper, unitriangular=False, transpose=False):
    """X of A X = B (of A^T X = B with `transpose`), A's other triangle unread, for batches of one shape."""
    xp = get_array_module(a)
    return scipy_module(xp, "linalg").solve_triangular(a, b, trans=int(transpose), lower=not upper,
                                                       unit_diagonal=unitriangular, check_finite=False)


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
        a, det = ctx.saved
        xp = get_array_module(a)
        if a.shape[-1] == 1:  # det(A) is A's one entry, whose gradient is 1 (torch's, det 0 or not)
            return grad[..., None, None] * xp.ones_like(a)
        singular = (det == 0)[..., None, None]
        invertible = xp.where(singular, xp.eye(a.shape[-1], dtype=a.dtype), a)
        return (grad * det)[..., None, None] * transposed(inverse(invertible))


class SlogdetSign(Function):
    """slogdet's sign, computed with log |det A| (see LogAbsDet): in the graph, as torch's, but piecewise constant, so
    that it gives A no gradient (None, as torch's)."""

    node_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, a, sign):
        return sign

    @staticmethod
    def backward(ctx, grad):
        return None


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


class OfItsOutput(Function):
    """An op whose backward needs its output only: forward is its class's `of`, the output saved."""

    of = None

    @staticmethod
    def forward(ctx, a):
        out = ctx.function.of(a)
        ctx.save_for_backward(out)
        return out


class Inverse(OfItsOutput):
    """d A^-1 = -A^-1 dA A^-1, so the gradient is -A^-T G A^-T."""

    node_name = "LinalgInvExBackward0"
    of = staticmethod(inverse)

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return -matmul(transposed(out), matmul(grad, transposed(out)))


class Solve(Function):
    """X = A^-1 B, B a batch of matrices; the gradients are G_B = A^-T G and G_A = -G_B X^T."""

    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a)
        a, b = broadcast_batches(a, b)
        try:
            out = xp.linalg.solve(a, b)
        except np.linalg.LinAlgError:  # NumPy's; CuPy's gives non-finite entries
            out = xp.full(b.shape, np.nan, b.dtype)
        if not bool(xp.isfinite(out).all()):
            raise_for_info(zero_pivots(a), "torch.linalg.solve: The solver failed because the input matrix is "
                                           "singular.")
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved
        grad_b = get_array_module(a).linalg.solve(transposed(a), grad)
        return -matmul(grad_b, transposed(out)), grad_b


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
        a, out = ctx.saved
        upper, unitriangular = ctx.params["upper"], ctx.params.get("unitriangular", False)
        xp = get_array_module(a)
        grad_b = solve_triangular(a, grad, upper, unitriangular, transpose=True)
        grad_a = -matmul(grad_b, transposed(out))
        offset = int(unitriangular)
        return xp.triu(grad_a, offset) if upper else xp.tril(grad_a, -offset), grad_b


class Cholesky(OfItsOutput):
    """The lower factor L of A = L L^T, A's lower triangle read. Its gradient is torch's (Murray 2016, symmetric):
    L^-T Φ L^-1 with Φ = sym(tril(L^T G)) of half diagonal."""

    node_name = "LinalgCholeskyExBackward0"
    of = staticmethod(cholesky_factor)

    @staticmethod
    def backward(ctx, grad):
        (factor,) = ctx.saved
        xp = get_array_module(factor)
        lower = xp.tril(matmul(transposed(factor), grad))
        phi = 0.5 * (lower + transposed(xp.tril(lower, -1)))
        left = solve_triangular(factor, phi, upper=False, transpose=True)  # L^-T Φ
        return transposed(solve_triangular(factor, transposed(left), upper=False, transpose=True))


def cholesky_solve(factor, b):
    """X of L L^T X = B for lower factors L (their other triangle unread) and batches of one shape."""
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
        factor, out = ctx.saved
        grad_b = cholesky_solve(factor, grad)
        common = matmul(grad_b, transposed(out))
        return grad_b, -matmul(common + transposed(common), factor)
