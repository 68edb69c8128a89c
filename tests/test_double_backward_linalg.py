"""Gradients of gradients (create_graph) of the linear-algebra ops, against torch's and by a float64 gradcheck of
the first gradients (see double_backward.py), on small well-conditioned matrices (symmetric positive-definite ones
for the Cholesky factor and eigh, of distinct eigenvalues)."""
import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error
from double_backward import check_double_backward

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
SQUARE = rng.standard_normal((3, 3)) + 3 * np.eye(3)
BATCH = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
RIGHT = rng.standard_normal((3, 2))
VECTORS = rng.standard_normal((2, 3))
_root = rng.standard_normal((2, 3, 3))
SPD = _root @ _root.swapaxes(-1, -2) + np.diag([1.0, 2.0, 4.0])
UPPER = np.triu(rng.standard_normal((3, 3))) + 2 * np.eye(3)
LOWER_FACTOR = np.linalg.cholesky(SPD)
WEIGHTS = rng.standard_normal(3)
TALL = rng.standard_normal((2, 4, 2))
SINGULAR = np.stack([SQUARE, SQUARE * [[1.0], [0.0], [1.0]]])  # det 0: a row of zeros
PIVOTED = BATCH[..., ::-1, :].copy()  # LU takes its rows out of order


def symmetric(x):
    return (x + x.mT) / 2


CASES = {
    "inv": (lambda L, a: L.linalg.inv(a), BATCH),
    "det": (lambda L, a: L.linalg.det(a), BATCH),
    "det singular": (lambda L, a: L.linalg.det(a), SINGULAR),
    "det 1x1": (lambda L, a: L.linalg.det(a) * a.sum(), SQUARE[:1, :1]),
    "slogdet": (lambda L, a: L.linalg.slogdet(a).logabsdet * L.linalg.slogdet(a).sign, BATCH),
    "logdet": (lambda L, a: L.logdet(a), SPD),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), BATCH, RIGHT),
    "solve right": (lambda L, a, b: L.linalg.solve(a, b, left=False), SQUARE, RIGHT.T),
    "solve vectors": (lambda L, a, b: L.linalg.solve(a, b), BATCH, VECTORS),
    "solve_triangular upper": (lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True), UPPER, RIGHT),
    "solve_triangular lower right unitriangular": (lambda L, a, b: L.linalg.solve_triangular(
        a, b, upper=False, left=False, unitriangular=True), UPPER.T, RIGHT.T),
    "cholesky": (lambda L, a: L.linalg.cholesky(symmetric(a)), SPD[1]),
    "cholesky upper": (lambda L, a: L.linalg.cholesky(symmetric(a), upper=True), SPD[0]),
    "cholesky_solve": (lambda L, b, f: L.cholesky_solve(b, f.tril()), RIGHT, LOWER_FACTOR[0]),
    "cholesky_solve upper": (lambda L, b, f: L.cholesky_solve(b, f.tril().mT, upper=True), RIGHT, LOWER_FACTOR[1]),
    "eigvalsh": (lambda L, a: L.linalg.eigvalsh(symmetric(a)), SPD),
    "eigh": (lambda L, a, w: L.linalg.eigh(symmetric(a)).eigenvalues * w
             + (L.linalg.eigh(symmetric(a)).eigenvectors ** 2 * w).sum(-1), SPD, WEIGHTS),
    "eigh vectors": (lambda L, a, w: (lambda v: v * w @ v.mT)(L.linalg.eigh(symmetric(a)).eigenvectors),
                     SPD[0], WEIGHTS),
    "matrix_exp": (lambda L, a: L.linalg.matrix_exp(a), BATCH / 4),
    "qr": (lambda L, a: (lambda q, r: q * r.sum() + r.sum(-2, keepdim=True))(*L.linalg.qr(a)), TALL),
    "qr wide": (lambda L, a: (lambda q, r: q.sum(-1, keepdim=True) * r)(*L.linalg.qr(a)), TALL.mT),
    "svd": (lambda L, a, w: (lambda u, s, vh: (u * w[:2]) @ vh + s[..., None, :])(
        *L.linalg.svd(a, full_matrices=False)), TALL, WEIGHTS),
    "svd full wide": (lambda L, a, w: (lambda u, s, vh: (u * w[:2]) @ vh[..., :2, :] * s.sum())(
        *L.linalg.svd(a)), TALL.mT, WEIGHTS),
    "svdvals": (lambda L, a: L.linalg.svdvals(a), TALL),
    "pinv": (lambda L, a: L.linalg.pinv(a), TALL),
    "lu_factor": (lambda L, a: L.linalg.lu_factor(a).LU, PIVOTED[1]),
    "lu_factor wide": (lambda L, a: L.linalg.lu_factor(a).LU, TALL[0].T),
    "lu_factor tall": (lambda L, a: L.linalg.lu_factor(a).LU, TALL[1]),
    "lu_solve": (lambda L, a, b: L.linalg.lu_solve(*L.linalg.lu_factor(a), b), PIVOTED[0], RIGHT),
    "lu_solve adjoint": (lambda L, a, b: L.linalg.lu_solve(*L.linalg.lu_factor(a), b, adjoint=True), PIVOTED[1],
                         RIGHT),
    "lstsq": (lambda L, a, b: L.linalg.lstsq(a, b).solution, TALL, TALL[..., :1] + 1),
}


TOLERANCES = {"qr wide": 1e-4}  # float32's rounding through R's inverse; float64's agree to 1e-12


@pytest.mark.parametrize("name", CASES)
def test_double_backward_matches_torch_gradgradcheck(name):
    build, *arrays = CASES[name]
    check_double_backward(build, *arrays, tolerance=TOLERANCES.get(name, 1e-5))


THIRD = {
    "inv": (lambda L, a: L.linalg.inv(a), SQUARE),
    "det": (lambda L, a: L.linalg.det(a), SQUARE),
    "cholesky": (lambda L, a: L.linalg.cholesky(symmetric(a)), SPD[0]),
    "eigh": (lambda L, a: (lambda v: v * L.tensor(WEIGHTS) @ v.mT)(L.linalg.eigh(symmetric(a)).eigenvectors), SPD[0]),
    "matrix_exp": (lambda L, a: L.linalg.matrix_exp(a), SQUARE / 4),
}


@pytest.mark.parametrize("name", THIRD)
def test_third_derivatives_match_torch(name):
    """Each formula is made of ops that have formulas, so gradients of gradients of gradients are there too."""
    build, array = THIRD[name]
    directions = np.random.default_rng(2).standard_normal((3, *array.shape))

    def derivatives(L):
        a = L.tensor(array, requires_grad=True)
        out, found = build(L, a), []
        for direction in directions:  # the first, second and third derivatives, each along one more direction
            (out,) = L.autograd.grad((out * L.tensor(direction)).sum(), [a], create_graph=True)
            found.append(out.detach().numpy())
        return found

    for ours, theirs in zip(derivatives(mg), derivatives(torch)):
        assert relative_error(ours, theirs) < 1e-10


BARRIERS = {
    "logdet": lambda L, a: -L.logdet(a),
    "slogdet": lambda L, a: -L.linalg.slogdet(a).logabsdet,
    "cholesky": lambda L, a: -2 * L.linalg.cholesky(a).diagonal(dim1=-2, dim2=-1).log().sum(),
}


@pytest.mark.parametrize("barrier", BARRIERS)
def test_newton_step_of_a_log_det_barrier(barrier):
    """A Newton step on c.x - logdet(A0 + sum_i x_i B_i): the Hessian (autograd.functional.hessian, gradients of
    gradients through the barrier) and the step, against torch's."""
    generator = np.random.default_rng(1)
    directions = generator.standard_normal((4, 3, 3))
    directions = directions + directions.swapaxes(-1, -2)
    start, cost, x = 4 * np.eye(3), generator.standard_normal(4), 0.1 * generator.standard_normal(4)

    def newton(L):
        def objective(x):
            return (L.tensor(cost) * x).sum() + BARRIERS[barrier](L, L.tensor(start) + (x[:, None, None]
                                                                                         * L.tensor(directions)).sum(0))
        point = L.tensor(x, requires_grad=True)
        (gradient,) = L.autograd.grad(objective(point), [point])
        hessian = L.autograd.functional.hessian(objective, point)
        return [t.detach().numpy() for t in (gradient, hessian, -L.linalg.solve(hessian, gradient))]

    ours = newton(mg)
    for mine, theirs in zip(ours, newton(torch)):
        assert relative_error(mine, theirs) < 1e-10
    hessian = ours[1]
    inverse = np.linalg.inv(start + (x[:, None, None] * directions).sum(0))
    expected = np.einsum("ij,ajk,kl,bli->ab", inverse, directions, inverse, directions)  # tr(A^-1 B_a A^-1 B_b)
    assert relative_error(hessian, expected) < 1e-10


def test_gpu_path_matches_cpu(gpu_path):
    """The formulas' ops run on the device: a gradient penalty through the solvers and the factorizations."""
    arrays = [PIVOTED.astype(np.float32), SPD.astype(np.float32), RIGHT.astype(np.float32)]
    weights = WEIGHTS.astype(np.float32)

    def second_gradients(device):
        a, s, b = (mg.tensor(array, requires_grad=True, device=device) for array in arrays)
        s = (s + s.mT) / 2
        vectors = mg.linalg.eigh(s).eigenvectors
        out = (mg.linalg.inv(a).sum() + mg.linalg.solve(a, b).sum() + mg.linalg.det(a).sum()
               + mg.linalg.cholesky(s).sum() + (vectors * mg.tensor(weights, device=device) @ vectors.mT).sum()
               + mg.linalg.solve_triangular(s, b, upper=True).sum()
               + mg.linalg.lu_solve(*mg.linalg.lu_factor(a), b).sum() + mg.linalg.qr(a).R.sum()
               + mg.linalg.slogdet(a).logabsdet.sum() + mg.linalg.matrix_exp(a / 4).sum()
               + mg.linalg.det(a * mg.tensor(np.float32([[1], [0], [1]]), device=device)).sum())  # singular
        first = mg.autograd.grad(out, [a, s, b], create_graph=True)
        return [g.numpy() for g in mg.autograd.grad(sum((g * g).sum() for g in first), [a, s, b])]

    for ours, reference in zip(second_gradients("gpu"), second_gradients("cpu")):
        assert relative_error(ours, reference) <= 1e-5


def test_create_graph_through_slogdet_of_a_singular_matrix_is_refused_as_torch():
    """torch's recorded gradient of log |det A| solves A^T X = grad I, which refuses a singular A (the gradient
    without create_graph is inf and NaN)."""
    messages = []
    for library in (mg, torch):
        a = library.tensor(SINGULAR[1], requires_grad=True)
        with pytest.raises(RuntimeError) as error:
            library.autograd.grad(library.linalg.slogdet(a).logabsdet, a, create_graph=True)
        messages.append(str(error.value))
    assert messages[0] == messages[1] == "torch.linalg.solve: The solver failed because the input matrix is singular."
