"""torch.linalg's core against torch: norms, det, slogdet, logdet, inv, solve, solve_triangular, cholesky,
matrix_power, multi_dot, vecdot, vander, cholesky_solve and cholesky_inverse, their Tensor methods and torch.*
forms: float32 values and gradients, float64 gradchecks, batched and broadcast cases, info outputs, torch's
errors, and the GPU path."""
import math

import numpy as np
import pytest
import scipy.linalg

import minigrad as mg
from conftest import assert_matches_torch, error_of, forward_backward, made, normal, relative_error

torch = pytest.importorskip("torch")

INF = math.inf


def square(*batch, n=3):
    """Well-conditioned matrices: normal entries plus n on the diagonal."""
    return lambda rng: rng.standard_normal((*batch, n, n)) + n * np.eye(n)


def triangular(*batch, n=3, upper=False):
    """Well-conditioned triangular matrices, with normal entries (unread) in the other triangle."""
    def make(rng):
        a = square(*batch, n=n)(rng)
        return a + (np.triu if upper else np.tril)(np.abs(np.diagonal(a, axis1=-2, axis2=-1))[..., None] * np.eye(n))
    return make


def positive_definite(lib, a):
    """A A^T + n I: symmetric, so that the gradient of a function of its lower triangle is the symmetric one."""
    n = a.shape[-1]
    return a.matmul(a.mT) + n * lib.eye(n, dtype=a.dtype, device=a.device)


# name -> (fn(lib, *tensors), makers of the inputs, float32 relative tolerance against torch)
CASES = {
    "vector_norm": (lambda lib, x: lib.linalg.vector_norm(x), [normal(3, 4)], 1e-5),
    "vector_norm 3.5 over dims": (lambda lib, x: lib.linalg.vector_norm(x, 3.5, dim=(0, 2), keepdim=True),
                                  [normal(2, 3, 4)], 1e-5),
    "vector_norm inf": (lambda lib, x: lib.linalg.vector_norm(x, INF, dim=1), [normal(3, 4)], 1e-5),
    "vector_norm -inf": (lambda lib, x: lib.linalg.vector_norm(x, -INF, dim=-1), [normal(3, 4)], 1e-5),
    "vector_norm 1 float64": (lambda lib, x: lib.linalg.vector_norm(x, 1, dtype=lib.float64), [normal(5)], 1e-6),
    "matrix_norm fro": (lambda lib, a: lib.linalg.matrix_norm(a), [normal(2, 3, 4)], 1e-5),
    "matrix_norm 1": (lambda lib, a: lib.linalg.matrix_norm(a, 1), [normal(2, 3, 4)], 1e-5),
    "matrix_norm -1 keepdim": (lambda lib, a: lib.linalg.matrix_norm(a, -1, keepdim=True), [normal(2, 3, 4)], 1e-5),
    "matrix_norm inf over (0, 2)": (lambda lib, a: lib.linalg.matrix_norm(a, INF, dim=(0, 2)), [normal(3, 2, 4)],
                                    1e-5),
    "matrix_norm -inf": (lambda lib, a: lib.linalg.matrix_norm(a, -INF), [normal(4, 3)], 1e-5),
    "norm flattened": (lambda lib, a: lib.linalg.norm(a), [normal(2, 3, 4)], 1e-5),
    "norm 1 of a matrix": (lambda lib, a: lib.linalg.norm(a, 1), [normal(3, 4)], 1e-5),
    "norm 3 along a dim": (lambda lib, a: lib.linalg.norm(a, 3, dim=1, keepdim=True), [normal(3, 4)], 1e-5),
    "norm inf over two dims": (lambda lib, a: lib.linalg.norm(a, INF, dim=(-1, -2)), [normal(2, 3, 4)], 1e-5),
    "det": (lambda lib, a: lib.linalg.det(a), [square(2, 2)], 1e-4),
    "Tensor.det": (lambda lib, a: a.det(), [square(n=4)], 1e-4),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a).logabsdet, [square(3)], 1e-4),
    "torch.slogdet": (lambda lib, a: lib.slogdet(a)[1], [square()], 1e-4),
    # the sign in the graph too, of negative determinants (of an odd order): a constant, which gives no gradient
    "slogdet's sign": (lambda lib, a: lib.prod(lib.stack(lib.linalg.slogdet(-a)), 0), [square(3)], 1e-4),
    "logdet": (lambda lib, a: lib.logdet(positive_definite(lib, a)), [normal(2, 3, 3)], 1e-4),
    "inv": (lambda lib, a: lib.linalg.inv(a), [square(2, 3)], 1e-4),
    "inv_ex": (lambda lib, a: lib.linalg.inv_ex(a).inverse, [square(2)], 1e-4),
    "inverse": (lambda lib, a: lib.inverse(a), [square()], 1e-4),
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), [square(2), normal(2, 3, 2)], 1e-4),
    "solve vectors": (lambda lib, a, b: lib.linalg.solve(a, b), [square(2), normal(2, 3)], 1e-4),
    "solve broadcast": (lambda lib, a, b: lib.linalg.solve(a, b), [square(2, 1), normal(3, 3, 2)], 1e-4),
    "solve a 1-d b": (lambda lib, a, b: lib.linalg.solve(a, b), [square(2), normal(3)], 1e-4),
    "solve left=False": (lambda lib, a, b: lib.linalg.solve(a, b, left=False), [square(2), normal(4, 3)], 1e-4),
    "solve_triangular upper": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
                               [triangular(2, upper=True), normal(2, 3, 2)], 1e-4),
    "solve_triangular lower broadcast": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False),
                                         [triangular(2, 1), normal(3, 3, 4)], 1e-4),
    "solve_triangular unitriangular": (
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
        [triangular(n=4), normal(4, 2)], 1e-4),
    "solve_triangular left=False": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True, left=False),
                                    [triangular(2, upper=True), normal(2, 4, 3)], 1e-4),
    # more matrices than rows: solved by substitution over the batch, a row at a time
    "solve_triangular upper, a batch of many": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
                                                [triangular(5, upper=True), normal(5, 3, 2)], 1e-4),
    "solve_triangular lower unitriangular, a batch of many": (
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
        [triangular(2, 3), normal(2, 3, 3, 4)], 1e-4),
    "solve_triangular left=False, a batch of many": (
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, left=False),
        [triangular(4), normal(4, 2, 3)], 1e-4),
    "cholesky_solve, a batch of many": (
        lambda lib, b, a: lib.cholesky_solve(b, lib.linalg.cholesky(positive_definite(lib, a))),
        [normal(6, 3, 1), normal(6, 3, 3)], 1e-4),
    "cholesky": (lambda lib, a: lib.linalg.cholesky(positive_definite(lib, a)), [normal(2, 3, 3)], 1e-4),
    "cholesky upper": (lambda lib, a: lib.linalg.cholesky(positive_definite(lib, a), upper=True), [normal(4, 4)],
                       1e-4),
    "cholesky_ex": (lambda lib, a: lib.linalg.cholesky_ex(positive_definite(lib, a)).L, [normal(3, 3)], 1e-4),
    "cholesky_solve": (lambda lib, b, a: lib.cholesky_solve(b, lib.linalg.cholesky(positive_definite(lib, a))),
                       [normal(2, 3, 2), normal(3, 3)], 1e-4),
    "cholesky_solve broadcast": (
        lambda lib, b, a: lib.cholesky_solve(b, lib.linalg.cholesky(positive_definite(lib, a))),
        [normal(3, 2), normal(2, 3, 3)], 1e-4),
    "cholesky_solve upper": (
        lambda lib, b, a: b.cholesky_solve(lib.linalg.cholesky(positive_definite(lib, a), upper=True), upper=True),
        [normal(3, 2), normal(3, 3)], 1e-4),
    "cholesky_inverse": (lambda lib, a: lib.cholesky_inverse(lib.linalg.cholesky(positive_definite(lib, a))),
                         [normal(3, 3)], 1e-4),
    "matrix_power 3": (lambda lib, a: lib.linalg.matrix_power(a, 3), [normal(2, 3, 3)], 1e-5),
    "matrix_power -2": (lambda lib, a: lib.matrix_power(a, -2), [square()], 1e-4),
    "Tensor.matrix_power 5": (lambda lib, a: a.matrix_power(5), [normal(2, 2, scale=0.5)], 1e-5),
    "multi_dot": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), [normal(2, 3), normal(3, 4), normal(4, 2)],
                  1e-5),
    "multi_dot of four": (lambda lib, a, b, c, d: lib.linalg.multi_dot([a, b, c, d]),
                          [normal(5, 2), normal(2, 6), normal(6, 3), normal(3, 4)], 1e-5),
    "multi_dot of vectors": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
                             [normal(3), normal(3, 4), normal(4)], 1e-5),
    "vecdot": (lambda lib, x, y: lib.linalg.vecdot(x, y, dim=0), [normal(3, 4), normal(3, 1)], 1e-5),
    "vander": (lambda lib, x: lib.linalg.vander(x, N=4), [normal(2, 3)], 1e-5),
    "linalg.matmul": (lambda lib, a, b: lib.linalg.matmul(a, b), [normal(2, 3, 4), normal(4, 2)], 1e-5),
    "linalg.diagonal": (lambda lib, a: lib.linalg.diagonal(a, offset=1), [normal(2, 3, 4)], 1e-6),
}
GRADCHECKED = [name for name in CASES if name not in ("linalg.matmul", "linalg.diagonal")]


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_torch(name):
    fn, makers, rtol = CASES[name]
    arrays = made(makers)
    ours, theirs = (forward_backward(lib, fn, arrays, np.float32) for lib in (mg, torch))
    for mine, reference in zip([ours[0], *ours[1]], [theirs[0], *theirs[1]]):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=rtol / 10)


@pytest.mark.parametrize("name", GRADCHECKED)
def test_gradcheck(name):
    fn, makers, _ = CASES[name]
    inputs = [mg.tensor(a, requires_grad=True) for a in made(makers, seed=2)]
    assert mg.gradcheck(lambda *xs: fn(mg, *xs), inputs)


SINGULAR = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 1.0, 1.0]]
NOT_POSITIVE_DEFINITE = [[1.0, 2.0], [2.0, 4.0]]
GPU_CASES = ["det", "slogdet", "inv", "solve broadcast", "solve_triangular lower broadcast",
             "solve_triangular left=False", "solve_triangular upper, a batch of many", "cholesky", "cholesky_solve", "matrix_power -2",
             "matrix_norm 1"]


@pytest.mark.parametrize("name", GPU_CASES)
def test_gpu_path_matches_cpu(name, gpu_path):
    fn, makers, _ = CASES[name]
    arrays = made(makers)
    cpu, gpu = (forward_backward(mg, fn, arrays, np.float32, device) for device in ("cpu", "gpu"))
    for ours, reference in zip([gpu[0], *gpu[1]], [cpu[0], *cpu[1]]):
        assert ours.dtype == reference.dtype
        assert relative_error(ours, reference) <= 1e-5


# Singular however its LU rounds: its multipliers are 1, so the zero pivot comes out exactly. A GPU's LU rounds
# otherwise than LAPACK's, and finds no exact zero pivot in SINGULAR in float32.
SINGULAR_IN_ANY_ROUNDING = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]


def test_gpu_path_finds_the_failed_matrices(gpu_path):
    """CuPy's solvers say nothing of a failed matrix at CuPy's default, where NumPy's raise: the same info and
    errors come of either."""
    singular = mg.tensor([np.eye(3), SINGULAR_IN_ANY_ROUNDING], device="gpu")
    not_positive_definite = mg.tensor([np.eye(2), NOT_POSITIVE_DEFINITE], device="gpu")
    assert mg.linalg.inv_ex(singular).info.numpy().tolist() == [0, 3]
    ill_conditioned = scipy.linalg.hilbert(9)  # float64, invertible, with an inverse far from exact (cond 5e11)
    gpu, cpu = (mg.linalg.inv_ex(mg.tensor(ill_conditioned, device=device)) for device in ("gpu", "cpu"))
    assert gpu.info.item() == 0 and relative_error(gpu.inverse.numpy(), cpu.inverse.numpy()) <= 1e-3
    assert mg.linalg.cholesky_ex(not_positive_definite).info.numpy().tolist() == [0, 2]
    for call, message in ((lambda: mg.linalg.inv(singular), "(Batch element 1): The diagonal element 3 is zero"),
                          (lambda: mg.linalg.solve(singular, mg.ones(3, device="gpu", dtype=singular.dtype)),
                           "(Batch element 1): The solver"),
                          (lambda: mg.linalg.cholesky(not_positive_definite), "the leading minor of order 2")):
        with pytest.raises(mg.linalg.LinAlgError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call()




def _batch(lib, *matrices):
    return lib.stack([lib.tensor(m) for m in matrices])


def test_info_of_singular_and_not_positive_definite_matrices_as_torchs():
    for lib_call in (lambda lib: lib.linalg.inv_ex(_batch(lib, np.eye(3), SINGULAR)),
                     lambda lib: lib.linalg.cholesky_ex(_batch(lib, np.eye(2), NOT_POSITIVE_DEFINITE, -np.eye(2)))):
        ours, theirs = lib_call(mg), lib_call(torch)
        assert ours.info.dtype == mg.int32 and ours.info.numpy().tolist() == theirs.info.tolist()
        np.testing.assert_allclose(ours[0].numpy()[0], theirs[0].numpy()[0])


def test_slogdet_and_logdet_of_singular_and_negative_determinants_as_torchs():
    for matrix in (SINGULAR, [[0.0, 1.0], [1.0, 0.0]], [[2.0, 0.0], [0.0, 2.0]]):
        sign, logabsdet = mg.linalg.slogdet(mg.tensor(matrix))
        expected = torch.linalg.slogdet(torch.tensor(matrix))
        assert sign.dtype == mg.float32 and sign.item() == expected.sign.item()
        np.testing.assert_allclose(logabsdet.item(), expected.logabsdet.item(), rtol=1e-6)
        np.testing.assert_allclose(mg.logdet(mg.tensor(matrix)).item(), torch.logdet(torch.tensor(matrix)).item(),
                                   rtol=1e-6)
    assert mg.linalg.det(mg.tensor(SINGULAR)).item() == 0


def test_matrix_power_of_integers_and_zero_power():
    a = np.array([[1, 2], [3, 4]])
    assert mg.linalg.matrix_power(mg.tensor(a), 3).numpy().tolist() == torch.linalg.matrix_power(
        torch.tensor(a), 3).tolist()
    b = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(mg.linalg.matrix_power(mg.tensor(b), 0).numpy(),
                                  torch.linalg.matrix_power(torch.tensor(b), 0).numpy())


def _eye(lib, n=3):
    return lib.eye(n)


# fn(lib) -> a call that torch and minigrad refuse alike
ERRORS = {
    "inv of a vector": lambda lib: lib.linalg.inv(lib.ones(3)),
    "inv not square": lambda lib: lib.linalg.inv(lib.ones(2, 3)),
    "inv of integers": lambda lib: lib.linalg.inv(lib.ones(3, 3, dtype=lib.int64)),
    "inv singular": lambda lib: lib.linalg.inv(lib.tensor(SINGULAR)),
    "inv singular in a batch": lambda lib: lib.linalg.inv(_batch(lib, np.eye(3), SINGULAR).reshape(2, 1, 3, 3)),
    "inverse singular": lambda lib: lib.tensor(NOT_POSITIVE_DEFINITE).inverse(),
    "det not square": lambda lib: lib.linalg.det(lib.ones(2, 3)),
    "slogdet of a vector": lambda lib: lib.linalg.slogdet(lib.ones(3)),
    "logdet not square": lambda lib: lib.logdet(lib.ones(2, 3)),
    "det of integers": lambda lib: lib.det(lib.ones(3, 3, dtype=lib.int64)),
    "solve singular": lambda lib: lib.linalg.solve(lib.tensor(SINGULAR), lib.ones(3)),
    "solve singular in a batch": lambda lib: lib.linalg.solve(_batch(lib, np.eye(3), SINGULAR), lib.ones(3)),
    "solve incompatible": lambda lib: lib.linalg.solve(_eye(lib), lib.ones(4)),
    "solve incompatible left=False": lambda lib: lib.linalg.solve(_eye(lib), lib.ones(3, 2), left=False),
    "solve batches": lambda lib: lib.linalg.solve(_eye(lib).expand(2, 3, 3), lib.ones(3, 3, 1)),
    "solve dtypes": lambda lib: lib.linalg.solve(_eye(lib), lib.ones(3, dtype=lib.float64)),
    "solve_triangular batches": lambda lib: lib.linalg.solve_triangular(_eye(lib).expand(2, 3, 3),
                                                                        lib.ones(3, 3, 1), upper=True),
    "solve of integers": lambda lib: lib.linalg.solve(lib.ones(3, 3, dtype=lib.int64), lib.ones(3, 2)),
    "solve_triangular of a vector": lambda lib: lib.linalg.solve_triangular(_eye(lib), lib.ones(3), upper=True),
    "solve_triangular incompatible": lambda lib: lib.linalg.solve_triangular(_eye(lib), lib.ones(4, 2), upper=True),
    "solve_triangular left=False": lambda lib: lib.linalg.solve_triangular(_eye(lib), lib.ones(3, 2), upper=True,
                                                                           left=False),
    "cholesky not positive-definite": lambda lib: lib.linalg.cholesky(lib.tensor(NOT_POSITIVE_DEFINITE)),
    "cholesky in a batch": lambda lib: lib.linalg.cholesky(_batch(lib, np.eye(2), -np.eye(2))),
    "cholesky not square": lambda lib: lib.linalg.cholesky(lib.ones(2, 3)),
    "matrix_power of a vector": lambda lib: lib.linalg.matrix_power(lib.ones(3), 2),
    "matrix_power singular": lambda lib: lib.linalg.matrix_power(lib.tensor(SINGULAR), -1),
    "matrix_power -1 of integers": lambda lib: lib.linalg.matrix_power(lib.ones(2, 2, dtype=lib.int64), -1),
    "matrix_norm order": lambda lib: lib.linalg.matrix_norm(_eye(lib), ord=3),
    "matrix_norm named order": lambda lib: lib.linalg.matrix_norm(_eye(lib), ord="abc"),
    "matrix_norm same dims": lambda lib: lib.linalg.matrix_norm(_eye(lib), dim=(0, 0)),
    "matrix_norm of a vector": lambda lib: lib.linalg.matrix_norm(lib.ones(3)),
    "matrix_norm of integers": lambda lib: lib.linalg.matrix_norm(lib.ones(3, 3, dtype=lib.int64)),
    "norm of 3-d with ord": lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), ord=2),
    "norm fro of a vector": lambda lib: lib.linalg.norm(lib.ones(3), ord="fro"),
    "norm fro along one dim": lambda lib: lib.linalg.norm(_eye(lib), ord="fro", dim=1),
    "norm three dims": lambda lib: lib.linalg.norm(_eye(lib), dim=(0, 1, 1)),
    "vector_norm named order": lambda lib: lib.linalg.vector_norm(_eye(lib), ord="fro"),
    "vector_norm of integers": lambda lib: lib.linalg.vector_norm(lib.ones(3, dtype=lib.int64)),
    "vector_norm narrowing": lambda lib: lib.linalg.vector_norm(_eye(lib).double(), dtype=lib.float32),
    "multi_dot one": lambda lib: lib.linalg.multi_dot([_eye(lib)]),
    "multi_dot 3-d first": lambda lib: lib.linalg.multi_dot([lib.ones(2, 3, 3), _eye(lib)]),
    "multi_dot 3-d last": lambda lib: lib.linalg.multi_dot([_eye(lib), _eye(lib), lib.ones(2, 3, 3)]),
    "multi_dot shapes": lambda lib: lib.linalg.multi_dot([_eye(lib), lib.ones(2, 2)]),
    "multi_dot dtypes": lambda lib: lib.linalg.multi_dot([_eye(lib), _eye(lib).double()]),
    "vecdot dtypes": lambda lib: lib.linalg.vecdot(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    "vecdot of integers": lambda lib: lib.linalg.vecdot(lib.ones(3, dtype=lib.int64), lib.ones(3, dtype=lib.int64)),
    "vander N": lambda lib: lib.linalg.vander(lib.ones(3), N=1),
    "vander of bools": lambda lib: lib.linalg.vander(lib.ones(3, dtype=lib.bool)),
    "cholesky_inverse of a vector": lambda lib: lib.cholesky_inverse(lib.ones(3)),
    "cholesky_solve of a vector": lambda lib: lib.cholesky_solve(lib.ones(3), _eye(lib)),
    "cholesky_solve not square": lambda lib: lib.cholesky_solve(lib.ones(3, 2), lib.ones(2, 3)),
    "cholesky_solve incompatible": lambda lib: lib.cholesky_solve(lib.ones(4, 2), _eye(lib)),
    "cholesky_solve batches": lambda lib: lib.cholesky_solve(lib.ones(2, 3, 2), _eye(lib).expand(3, 3, 3)),
    "cholesky_solve dtypes": lambda lib: lib.cholesky_solve(lib.ones(3, 2), _eye(lib).double()),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torchs(name):
    """torch's type (its LinAlgError, a RuntimeError, as minigrad.linalg.LinAlgError) and message."""
    expected_type, expected = error_of(lambda: ERRORS[name](torch))
    got_type, got = error_of(lambda: ERRORS[name](mg))
    assert got == expected
    if issubclass(expected_type, torch.linalg.LinAlgError):
        assert got_type is mg.linalg.LinAlgError and issubclass(got_type, RuntimeError)
    else:
        assert got_type is expected_type


@pytest.mark.parametrize("call", [lambda a: mg.linalg.inv(a), lambda a: mg.linalg.det(a),
                                  lambda a: mg.linalg.cholesky(a), lambda a: mg.linalg.matrix_norm(a)],
                         ids=["inv", "det", "cholesky", "matrix_norm"])
def test_complex_matrices_are_refused(call):
    with pytest.raises(NotImplementedError, match="complex"):
        call(mg.tensor(np.eye(2) * (1 + 1j)))


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_norms_of_singular_values_are_torchs_and_pass_gradcheck(ord, keepdim):
    matrices = np.random.default_rng(4).standard_normal((3, 2, 4))
    assert_matches_torch(torch, lambda L, a: L.linalg.matrix_norm(a, ord, dim=(0, 2), keepdim=keepdim), [matrices])
    assert mg.gradcheck(lambda a: mg.linalg.matrix_norm(a, ord), (mg.tensor(matrices, requires_grad=True),))
