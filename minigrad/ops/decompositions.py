"""Matrix decompositions of real matrices, batched over the leading dims, with torch's gradients: QR, the symmetric
eigendecomposition, the SVD, the pseudoinverse and least squares. An op of several factors gives them as its
several outputs (see Function.several_outputs); one that got no gradient reaches backward as None, as torch's
undefined ones."""
import collections
import math

import numpy as np
import scipy.linalg

from ..backend import get_array_module, to_numpy
from ..function import Function, is_tensor
from .linalg import functions_of, identity, linear_solution, product
from .matmul import matmul

QRResult = collections.namedtuple("QRResult", ["Q", "R"])
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
LstsqResult = collections.namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def transposed(a):
    return a.swapaxes(-1, -2)


def _with_diagonal(a, diagonal):
    """`a` with its matrices' diagonals set to `diagonal`: a fresh array, written; a tensor's recorded copy."""
    if is_tensor(a):
        return functions_of(a).where(identity(a, bool), diagonal[..., None, :] if is_tensor(diagonal) else diagonal, a)
    positions = get_array_module(a).arange(a.shape[-1])
    a[..., positions, positions] = diagonal
    return a


def _differences(values):
    """values[j] - values[i] at [i, j], with 1 on the diagonal: the divisor of the gradients of eigen- and singular
    vectors, whose diagonal terms are zero."""
    return _with_diagonal(values[..., None, :] - values[..., :, None], 1)


def _skew(a):
    return a - transposed(a)


class QR(Function):
    """A = QR, Q with orthonormal columns and R upper triangular, by LAPACK's Householder reflections as torch's
    (so of the same signs). mode='r' gives an empty Q."""

    several_outputs = True
    node_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, a, mode="reduced"):
        xp = get_array_module(a)
        ctx.set_materialize_grads(False)
        if mode == "r":
            r = xp.linalg.qr(a, mode="r")
            return xp.empty((0,), a.dtype), r
        q, r = xp.linalg.qr(a, mode=mode)
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx, grad_q, grad_r):
        return QR.gradient(ctx, grad_q, grad_r)

    @staticmethod
    def differentiable_backward(ctx, grad_q, grad_r):
        return QR.gradient(ctx, grad_q, grad_r, linked=True)

    @staticmethod
    def gradient(ctx, grad_q, grad_r, linked=False):
        """Of arrays (backward), or of tensors, Q and R linked (differentiable_backward), as torch's."""
        mode = ctx.params["mode"]
        if mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                               "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        q, r = ctx.saved
        rows, columns = q.shape[-2], r.shape[-1]
        if mode == "complete" and rows > columns:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if linked:
            q, r = ctx.linked_output(q, 0), ctx.linked_output(r, 1)
        if rows >= columns:
            return _qr_backward_tall(grad_q, grad_r, q, r)
        # A = [X | Y], X = Q R[:, :m] square and Y = Q R[:, m:]: R's right part passes its gradient to Y and to Q
        xp = functions_of(q)
        if grad_r is None:
            grad_y, grad_left_r = xp.zeros_like(r[..., rows:]), None
        else:
            grad_right_r, grad_left_r = grad_r[..., rows:], grad_r[..., :rows]
            grad_y = product(q, grad_right_r)
            through_y = product(product(q, r[..., rows:]), transposed(grad_right_r))
            grad_q = through_y if grad_q is None else grad_q + through_y
        return xp.concatenate([_qr_backward_tall(grad_q, grad_left_r, q, r[..., :rows]), grad_y], axis=-1)


class Geqrf(Function):
    """LAPACK geqrf's packed (a, tau): R on and above the diagonal, the Householder reflectors below it. Not
    differentiable, as torch's: backward raises torch's error."""

    several_outputs = True
    node_name = "GeqrfBackward0"

    @staticmethod
    def forward(ctx, a):
        packed, tau = get_array_module(a).linalg.qr(a, mode="raw")
        return transposed(packed), tau

    @staticmethod
    def backward(ctx, grad_a, grad_tau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


class LDLFactor(Function):
    """LAPACK sytrf's Bunch-Kaufman A = L D L^T of each symmetric matrix's lower triangle, as torch's: (LD, pivots,
    info), L below the diagonal of LD, D's 1x1 and 2x2 blocks on and beside it, pivots 1-based (a 2x2 block's
    negative), info the 1-based index of D's first exact zero (0 for none). On the host, one matrix per LAPACK call:
    CuPy has no sytrf. Not differentiable, as torch's: backward raises torch's error."""

    several_outputs = True
    node_name = "LinalgLdlFactorExBackward0"

    @staticmethod
    def forward(ctx, a):
        matrices = to_numpy(a)
        size = matrices.shape[-1]
        flat = matrices.reshape(math.prod(matrices.shape[:-2]), size, size)
        factors, pivots = np.zeros_like(flat), np.zeros(flat.shape[:-1], np.int32)
        info = np.zeros(len(flat), np.int32)
        if size:
            sytrf = scipy.linalg.get_lapack_funcs("sytrf", (flat,))
            for index, matrix in enumerate(flat):
                packed, pivots[index], info[index] = sytrf(matrix, lower=1)
                factors[index] = np.tril(packed)
        xp = get_array_module(a)
        outputs = (xp.asarray(factors.reshape(matrices.shape)), xp.asarray(pivots.reshape(matrices.shape[:-1])),
                   xp.asarray(info.reshape(matrices.shape[:-2])))
        ctx.mark_non_differentiable(*outputs[1:])
        return outputs

    @staticmethod
    def backward(ctx, grad_factors, grad_pivots, grad_info):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


def _qr_backward_tall(grad_q, grad_r, q, r):
    """The gradient of A = QR for m >= n: (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q, copyltu(M) the symmetric
    matrix of M's lower triangle. Of arrays or of tensors; one of gQ and gR at least."""
    xp = functions_of(q)
    if grad_q is None:
        middle = product(r, transposed(grad_r))
    else:
        middle = -product(transposed(grad_q), q)
        if grad_r is not None:
            middle = middle + product(r, transposed(grad_r))
    b = product(q, xp.tril(middle) + transposed(xp.tril(middle, -1)))
    if grad_q is not None:
        b = b + grad_q
    return transposed(linear_solution(r, transposed(b)))  # b R^-T


class Eigh(Function):
    """The eigenvalues (ascending) and eigenvectors of symmetric matrices, of the triangle UPLO names. With
    values_only (no gradient needed) the eigenvectors are not computed, and are None."""

    several_outputs = True
    node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, a, uplo="L", values_only=False):
        xp = get_array_module(a)
        ctx.set_materialize_grads(False)
        if values_only:
            return xp.linalg.eigvalsh(a, UPLO=uplo), None
        values, vectors = xp.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(values, vectors)
        return values, vectors

    @staticmethod
    def backward(ctx, grad_values, grad_vectors):
        return Eigh.gradient(grad_values, grad_vectors, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad_values, grad_vectors):
        values, vectors = ctx.saved
        return Eigh.gradient(grad_values, grad_vectors, ctx.linked_output(values, 0), ctx.linked_output(vectors, 1))

    @staticmethod
    def gradient(grad_values, grad_vectors, values, vectors):
        """V (diag(gL) + skew(V^T gV) / 2 / (L_j - L_i)) V^T, as torch's: of arrays, or of tensors (the outputs
        linked, as torch's differentiates it)."""
        if grad_vectors is None:
            return product(vectors * grad_values[..., None, :], transposed(vectors))
        inner = _skew(product(transposed(vectors), grad_vectors)) / (2 * _differences(values))
        inner = _with_diagonal(inner, 0 if grad_values is None else grad_values)
        return product(product(vectors, inner), transposed(vectors))


class SVD(Function):
    """A = U diag(S) Vh, S descending. With values_only (no gradient needed) U and Vh are not computed, and are None.
    Backward uses U's first min(m, n) columns and Vh's first rows alone, as torch's with full_matrices."""

    several_outputs = True
    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, a, full_matrices=True, values_only=False):
        xp = get_array_module(a)
        ctx.set_materialize_grads(False)
        if values_only:
            return None, xp.linalg.svd(a, compute_uv=False), None
        u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, grad_u, grad_s, grad_vh):
        return SVD.gradient(grad_u, grad_s, grad_vh, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad_u, grad_s, grad_vh):
        return SVD.gradient(grad_u, grad_s, grad_vh, *(ctx.linked_output(factor, position)
                                                       for position, factor in enumerate(ctx.saved)))

    @staticmethod
    def gradient(grad_u, grad_s, grad_vh, u, s, vh):
        """svd_backward of U's first min(m, n) columns and Vh's first rows: of arrays, or of tensors (the outputs
        linked, as torch's differentiates it)."""
        k = s.shape[-1]
        grad_u = None if grad_u is None else grad_u[..., :k]
        grad_vh = None if grad_vh is None else grad_vh[..., :k, :]
        return svd_backward(grad_u, grad_s, grad_vh, u[..., :k], s, vh[..., :k, :])


def svd_backward(grad_u, grad_s, grad_vh, u, s, vh):
    """torch's: U ((skew(U^T gU) S + S skew(V^T gV)) / (s_j^2 - s_i^2) + diag(gS)) Vh, with the parts of gU outside
    U's span (m > n), or of gVh outside Vh's (m < n), added through S^-1."""
    rows, columns = u.shape[-2], vh.shape[-1]
    if grad_u is None and grad_vh is None:
        return product(u, grad_s[..., :, None] * vh) if rows >= columns else product(u * grad_s[..., None, :], vh)
    through_u = None if grad_u is None else _skew(product(transposed(u), grad_u)) * s[..., None, :]
    through_vh = None if grad_vh is None else s[..., :, None] * _skew(product(vh, transposed(grad_vh)))
    inner = through_vh if through_u is None else through_u if through_vh is None else through_u + through_vh
    inner = inner / _differences(s * s)
    if grad_s is not None:
        inner = _with_diagonal(inner, grad_s)
    if rows > columns and grad_u is not None:
        beside = grad_u / s[..., None, :]
        return product(product(u, inner) + beside - product(u, product(transposed(u), beside)), vh)
    if rows < columns and grad_vh is not None:
        beside = grad_vh / s[..., :, None]
        return product(u, product(inner, vh) + beside - product(product(beside, transposed(vh)), vh))
    return product(product(u, inner), vh)


def default_rtol(a):
    """torch's relative tolerance of singular values where none is given: eps * max(m, n)."""
    return np.finfo(a.dtype).eps * max(a.shape[-2:])


def kept(xp, magnitudes, atol, rtol):
    """Where singular values (or eigenvalues' magnitudes) exceed max(atol, rtol * the largest of their matrix): those
    that count as nonzero. atol and rtol are numbers or arrays of the batch's shape."""
    if magnitudes.shape[-1] == 0:  # of empty matrices: none, and no largest (CuPy's max takes no `initial`)
        return magnitudes > 0
    return magnitudes > xp.maximum(atol, rtol * magnitudes.max(axis=-1))[..., None]


def inverted_above(xp, values, magnitudes, atol, rtol):
    """1 / values where they count as nonzero (see kept), else 0: the spectrum of a pseudoinverse."""
    nonzero = kept(xp, magnitudes, atol, rtol)
    return xp.where(nonzero, 1 / xp.where(nonzero, values, 1), 0)


def pinv_of_svd(xp, u, s, vh, atol, rtol):
    return matmul(transposed(vh) * inverted_above(xp, s, s, atol, rtol)[..., None, :], transposed(u))


class Pinv(Function):
    """The Moore-Penrose pseudoinverse through the SVD (through eigh for symmetric matrices, of the lower
    triangle): singular values at most max(atol, rtol * the largest) count as zero."""

    node_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian=False):
        xp = get_array_module(a)
        if hermitian:
            values, vectors = xp.linalg.eigh(a)
            inverse = matmul(vectors * inverted_above(xp, values, abs(values), atol, rtol)[..., None, :],
                             transposed(vectors))
        else:
            inverse = pinv_of_svd(xp, *xp.linalg.svd(a, full_matrices=False), atol, rtol)
        ctx.save_for_backward(a, inverse)
        return inverse

    @staticmethod
    def backward(ctx, grad):
        a, inverse = ctx.saved
        return pinv_backward(grad, inverse, a)

    @staticmethod
    def differentiable_backward(ctx, grad):
        a, inverse = ctx.saved
        return pinv_backward(grad, ctx.linked_output(inverse), ctx.linked(0, a))


def pinv_backward(grad, inverse, a):
    """torch's gradient of A+ (of a constant rank), its products ordered to keep the matrices small; of arrays or of
    tensors."""
    inverse_t, grad_t = transposed(inverse), transposed(grad)
    if a.shape[-2] <= a.shape[-1]:
        k = product(grad_t, inverse)
        k_inverse_t = product(k, inverse_t)
        return (-transposed(product(inverse, k)) + k_inverse_t - product(product(a, inverse), k_inverse_t)
                + product(product(inverse_t, inverse), grad_t - product(k, a)))
    k = product(inverse, grad_t)
    inverse_t_k = product(inverse_t, k)
    return (-transposed(product(k, inverse)) + product(product(grad_t - product(a, k), inverse), inverse_t)
            + inverse_t_k - product(product(inverse_t_k, inverse), a))


class Lstsq(Function):
    """The least-squares solutions X of AX = B, of minimum norm where A is rank deficient, through the SVD: singular
    values at most rcond times the largest count as zero. The outputs beside X as torch's CPU drivers give them:
    the residuals' squared norms per column where m > n and A has full rank (gels: always where m > n; gelsy:
    never), the rank (not for gels), the singular values (gelsd and gelss, not differentiable, as torch's)."""

    several_outputs = True
    promotes_inputs = False
    node_name = "LinalgLstsqBackward0"

    @staticmethod
    def forward(ctx, a, b, rcond, driver):
        xp = get_array_module(a)
        ctx.set_materialize_grads(False)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        solution = matmul(transposed(vh), inverted_above(xp, s, s, 0, rcond)[..., :, None] * matmul(transposed(u), b))
        rank = kept(xp, s, 0, rcond).sum(axis=-1) if driver != "gels" else xp.empty((0,), np.int64)
        rows, columns = a.shape[-2:]
        residuals = xp.empty((0,), a.dtype)
        if rows > columns and driver != "gelsy" and (driver == "gels" or bool((rank == columns).all())):
            residuals = ((matmul(a, solution) - b) ** 2).sum(axis=-2)
        singular_values = s if driver in ("gelsd", "gelss") else xp.empty((0,), a.dtype)
        ctx.mark_non_differentiable(singular_values)
        ctx.save_for_backward(a, b, u, s, vh, solution)
        return solution, residuals, rank.astype(np.int64), singular_values

    @staticmethod
    def backward(ctx, grad_solution, grad_residuals, grad_rank, grad_singular_values):
        a, b, u, s, vh, solution = ctx.saved
        inverse = None if grad_solution is None else pinv_of_svd(get_array_module(a), u, s, vh, 0, default_rtol(a))
        return Lstsq.gradients(ctx, grad_solution, grad_residuals, a, b, solution, inverse)

    @staticmethod
    def differentiable_backward(ctx, grad_solution, grad_residuals, grad_rank, grad_singular_values):
        """backward's, the pseudoinverse recorded (Pinv's), as torch's differentiates it."""
        a, b, _, _, _, solution = ctx.saved
        a, b = ctx.linked(0, a), ctx.linked(1, b)
        inverse = None if grad_solution is None else Pinv.apply(a, atol=0.0, rtol=default_rtol(a))
        return Lstsq.gradients(ctx, grad_solution, grad_residuals, a, b, ctx.linked_output(solution, 0), inverse)

    @staticmethod
    def gradients(ctx, grad_solution, grad_residuals, a, b, solution, inverse):
        """X = A+ B's gradient through the pseudoinverse (of the default tolerance), as torch's; the residuals'
        ||AX - B||^2, at the optimum where their derivative in X is zero, through A and B alone. Of arrays, or of
        linked tensors."""
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if grad_solution is not None:
            grad_a = pinv_backward(product(grad_solution, transposed(b)), inverse, a) if need_a else None
            grad_b = product(transposed(inverse), grad_solution) if need_b else None
        if grad_residuals is not None and math.prod(grad_residuals.shape):
            weighted = 2 * (product(a, solution) - b) * grad_residuals[..., None, :]
            through_a = product(weighted, transposed(solution))
            grad_a = through_a if grad_a is None else grad_a + through_a
            grad_b = -weighted if grad_b is None else grad_b - weighted
        return grad_a if need_a else None, grad_b if need_b else None
