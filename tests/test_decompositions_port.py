"""torch.linalg's decompositions as minigrad ports them: qr, eigh, eigvalsh, svd, svdvals, pinv (and pinverse), lstsq,
matrix_rank and cond. Eigen- and singular vectors are defined up to their signs, so what is compared of them is
what does not depend on the signs (projectors, U diag(c) Vh, squares); the inputs are built from well-separated
spectra, where those are smooth."""
import math

import numpy as np
import pytest
from conftest import assert_matches_torch, assert_raises_as_torch, differentiable_case_tests, made

import minigrad as mg

torch = pytest.importorskip("torch")


def orthogonal(rng, batch, size):
    return np.linalg.qr(rng.standard_normal(batch + (size, size)))[0]


def with_singular_values(*shape, values):
    """A maker of matrices of `shape` whose singular values are `values` (min(m, n) of them), in random bases."""
    *batch, rows, columns = shape
    batch = tuple(batch)

    def make(rng):
        k = len(values)
        left, right = orthogonal(rng, batch, rows)[..., :k], orthogonal(rng, batch, columns)[..., :k]
        return (left * np.asarray(values)) @ np.swapaxes(right, -1, -2)
    return make


def symmetric_with_eigenvalues(*batch, values):
    def make(rng):
        basis = orthogonal(rng, tuple(batch), len(values))
        return (basis * np.asarray(values)) @ np.swapaxes(basis, -1, -2)
    return make


def not_symmetric(make):
    """A symmetric matrix's maker, its upper triangle made noise: eigh reads the lower one alone."""
    def made_so(rng):
        a = make(rng)
        return a + np.triu(rng.standard_normal(a.shape), 1)
    return made_so


def joined(lib, *tensors):
    return lib.cat([t.reshape(-1) for t in tensors])


def weights(lib, like, size):
    """Distinct fixed weights of the last dim: c in U diag(c) U^T, which sees each projector."""
    return lib.tensor(np.linspace(1.0, 2.0, size).astype(np.float32 if like.dtype == lib.float32 else np.float64),
                      device=like.device)


def projected(lib, left, right):
    """left diag(c) right: invariant to the sign of each column of left flipped with the same row of right."""
    return (left * weights(lib, left, left.shape[-1])) @ right


def qr_case(mode):
    return lambda lib, a: joined(lib, *lib.linalg.qr(a, mode=mode))


def eigh_case(lib, a):
    values, vectors = lib.linalg.eigh((a + a.mT) / 2)
    return joined(lib, values, projected(lib, vectors, vectors.mT), vectors ** 2)


def svd_case(lib, a):
    u, s, vh = lib.linalg.svd(a, full_matrices=False)
    return joined(lib, s, projected(lib, u, vh), u ** 2, vh ** 2)


def lstsq_case(driver):
    return lambda lib, a, b: lib.linalg.lstsq(a, b, driver=driver).solution


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


TALL, WIDE = (1.0, 2.5, 4.0), (0.5, 1.5, 3.0)
CASES = {
    "qr_reduced_tall": (qr_case("reduced"), [normal(5, 3)]),
    "qr_reduced_wide_batched": (qr_case("reduced"), [normal(2, 3, 5)]),
    "qr_complete_wide": (qr_case("complete"), [normal(3, 4)]),
    "qr_complete_square_batched": (qr_case("complete"), [normal(2, 3, 3)]),
    "eigh": (eigh_case, [symmetric_with_eigenvalues(values=(-2.0, -0.5, 1.0, 3.0))]),
    "eigh_batched": (eigh_case, [symmetric_with_eigenvalues(2, values=(0.5, 1.5, 4.0))]),
    "eigvalsh": (lambda lib, a: lib.linalg.eigvalsh((a + a.mT) / 2), [symmetric_with_eigenvalues(values=(1., 2., 4.))]),
    "svd_tall": (svd_case, [with_singular_values(5, 3, values=TALL)]),
    "svd_wide_batched": (svd_case, [with_singular_values(2, 3, 4, values=WIDE)]),
    "svd_square": (svd_case, [with_singular_values(3, 3, values=TALL)]),
    "svdvals_batched": (lambda lib, a: lib.linalg.svdvals(a), [with_singular_values(2, 4, 3, values=WIDE)]),
    "pinv_tall": (lambda lib, a: lib.linalg.pinv(a), [with_singular_values(5, 3, values=TALL)]),
    "pinv_wide_batched": (lambda lib, a: lib.linalg.pinv(a), [with_singular_values(2, 3, 4, values=WIDE)]),
    "pinv_rank_deficient": (lambda lib, a: lib.linalg.pinv(a, atol=0.1),
                            [with_singular_values(4, 3, values=(1.0, 2.0, 0.0))]),
    "pinv_hermitian": (lambda lib, a: lib.linalg.pinv((a + a.mT) / 2, hermitian=True),
                       [symmetric_with_eigenvalues(values=(-2.0, 0.5, 3.0))]),
    "pinverse_method": (lambda lib, a: a.pinverse(), [with_singular_values(3, 4, values=WIDE)]),
    "lstsq_tall": (lstsq_case(None), [with_singular_values(5, 3, values=TALL), normal(5, 2)]),
    "lstsq_wide_gelsd": (lstsq_case("gelsd"), [with_singular_values(3, 4, values=WIDE), normal(3, 2)]),
    "lstsq_vector_broadcast": (lambda lib, a, b: lib.linalg.lstsq(a, b).solution,
                               [with_singular_values(2, 4, 3, values=TALL), normal(2, 4)]),
    "lstsq_batch_broadcast": (lstsq_case("gels"), [with_singular_values(1, 4, 2, values=(1.0, 3.0)), normal(3, 4, 2)]),
    "lstsq_residuals": (lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelsd").residuals,
                        [with_singular_values(2, 4, 3, values=TALL), normal(2, 4, 2)]),
    "lstsq_residuals_and_solution": (
        lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelss").residuals + lib.linalg.lstsq(a, b).solution.sum(-2),
        [with_singular_values(5, 2, values=(1.0, 3.0)), normal(5, 2)]),
    "cond": (lambda lib, a: lib.linalg.cond(a), [with_singular_values(2, 4, 3, values=TALL)]),
    "cond_minus_2": (lambda lib, a: lib.linalg.cond(a, -2), [with_singular_values(3, 3, values=WIDE)]),
}

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle_and_its_gradient_is_torchs(uplo):
    """Of a matrix that is not symmetric, the triangle UPLO names; the gradient is torch's symmetric one."""
    def fn(lib, a):
        values, vectors = lib.linalg.eigh(a, UPLO=uplo)
        return joined(lib, values, projected(lib, vectors, vectors.mT), lib.linalg.eigvalsh(a, UPLO=uplo))
    make = symmetric_with_eigenvalues(2, values=(-1.0, 1.0, 2.5))
    assert_matches_torch(torch, fn, made([not_symmetric(make) if uplo == "L" else
                                          lambda rng: np.swapaxes(not_symmetric(make)(rng), -1, -2)]))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
def test_svd_full_matrices_gradient_uses_the_first_columns_as_torchs(shape):
    """U's and Vh's columns (rows) past min(m, n) are any basis of the rest: torch's gradient leaves them out, so the
    gradient of a function of every column is torch's though their values differ."""
    arrays = made([with_singular_values(*shape, values=TALL)])
    grads = []
    for lib in (mg, torch):
        a = lib.tensor(arrays[0].astype(np.float32), requires_grad=True)
        u, s, vh = lib.linalg.svd(a)
        assert tuple(u.shape) == (shape[0],) * 2 and tuple(vh.shape) == (shape[1],) * 2
        ((u ** 4).sum() + (vh ** 4).sum() + s.sum()).backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (3, 3)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_values_as_torchs(shape, mode):
    """LAPACK's Householder QR on both sides: the factors themselves (their signs too), mode 'r''s Q empty."""
    a = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    ours, theirs = mg.linalg.qr(mg.tensor(a), mode=mode), torch.linalg.qr(torch.tensor(a), mode=mode)
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == mg.float32 and mine.shape == tuple(reference.shape)
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5, atol=1e-5)


def test_results_are_named_and_nodes_named_as_torchs():
    a = mg.tensor(made([with_singular_values(4, 3, values=TALL)])[0], requires_grad=True)
    square = a[:3]
    assert mg.linalg.qr(a).R.grad_fn.name() == "LinalgQrBackward0"
    assert mg.linalg.eigh(square).eigenvectors.grad_fn.name() == "LinalgEighBackward0"
    assert mg.linalg.eigvalsh(square).grad_fn.name() == "LinalgEighBackward0"
    assert mg.linalg.svd(a).Vh.grad_fn.name() == "LinalgSvdBackward0"
    assert mg.linalg.svdvals(a).grad_fn.name() == "LinalgSvdBackward0"
    assert mg.linalg.pinv(a).grad_fn.name() == "LinalgPinvBackward0"
    result = mg.linalg.lstsq(a, a)
    assert result.solution.grad_fn.name() == "LinalgLstsqBackward0" and result.rank.grad_fn is None
    assert result._fields == ("solution", "residuals", "rank", "singular_values")


def test_eigvalsh_and_svdvals_without_gradients_match_torch():
    a = made([symmetric_with_eigenvalues(2, values=(-1.0, 0.5, 2.0))])[0].astype(np.float32)
    np.testing.assert_allclose(mg.linalg.eigvalsh(mg.tensor(a)).numpy(), torch.linalg.eigvalsh(torch.tensor(a)),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mg.linalg.svdvals(mg.tensor(a)).numpy(), torch.linalg.svdvals(torch.tensor(a)),
                               rtol=1e-5, atol=1e-6)


RANK_DEFICIENT = np.array([[[1.0, 2.0, 2.0], [0.5, 1.0, 1.0], [3.0, -1.0, -1.0], [1.0, 0.0, 0.0]],
                           [[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [2.0, 1.0, 0.0], [1.0, 1.0, 1.0]]])


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("a_shape, b_shape", [((5, 3), (5, 2)), ((3, 5), (3, 2)), ((2, 5, 3), (2, 5)),
                                              ((1, 4, 3), (2, 4, 1)), ("rank deficient", (2, 4, 2))])
def test_lstsq_outputs_as_torchs_cpu_drivers(driver, a_shape, b_shape):
    """Each output's shape, dtype and emptiness as torch's driver gives it (residuals only where m > n and, but for
    gels, A has full rank; the rank but for gels; singular values for gelsd and gelss), and their values."""
    rng = np.random.default_rng(4)
    a = RANK_DEFICIENT if a_shape == "rank deficient" else rng.standard_normal(a_shape)
    b = rng.standard_normal(b_shape)
    ours = mg.linalg.lstsq(mg.tensor(a), mg.tensor(b), driver=driver)
    theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
    for name, mine, reference in zip(ours._fields, ours, theirs):
        assert mine.dtype == mg.int64 if name == "rank" else mg.float64
        assert mine.shape == tuple(reference.shape), name
        if not (driver == "gels" and a_shape == "rank deficient"):  # gels assumes a full rank
            np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-7, atol=1e-9, err_msg=name)


def test_lstsq_rcond_drops_small_singular_values_as_torch():
    a = np.array([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]])
    for rcond in (None, 1e-2):
        ours = mg.linalg.lstsq(mg.tensor(a), mg.ones(3, 1, dtype=mg.float64), rcond=rcond, driver="gelsd")
        theirs = torch.linalg.lstsq(torch.tensor(a), torch.ones(3, 1, dtype=torch.float64), rcond=rcond,
                                    driver="gelsd")
        np.testing.assert_allclose(ours.solution.numpy(), theirs.solution.numpy(), rtol=1e-9)
        assert int(ours.rank.item()) == int(theirs.rank)


TOLERANCES = {
    "default": {}, "atol": dict(atol=0.5), "rtol": dict(rtol=0.3), "both": dict(atol=0.1, rtol=0.5),
    "negative atol": dict(atol=-1.0), "hermitian": dict(hermitian=True), "atol per matrix": dict(atol=(0.5, 0.0)),
}


@pytest.mark.parametrize("tolerance", TOLERANCES)
def test_matrix_rank_and_pinv_tolerances_as_torchs(tolerance):
    rng = np.random.default_rng(5)
    basis = orthogonal(rng, (2,), 3)
    a = (basis * np.array([[2.0, -0.3, 0.0], [1.0, 0.6, -0.05]])[:, None, :]) @ np.swapaxes(basis, -1, -2)

    def results(lib):
        kwargs = {key: lib.tensor(value) if isinstance(value, tuple) else value
                  for key, value in TOLERANCES[tolerance].items()}
        return lib.linalg.matrix_rank(lib.tensor(a), **kwargs), lib.linalg.pinv(lib.tensor(a), **kwargs)
    (rank, inverse), (their_rank, their_inverse) = results(mg), results(torch)
    assert rank.dtype == mg.int64 and rank.numpy().tolist() == their_rank.tolist()
    np.testing.assert_allclose(inverse.numpy(), their_inverse.numpy(), rtol=1e-7, atol=1e-7)


def test_pinverse_function_and_rcond_as_torchs():
    a = np.diag([1.0, 1e-3, 2.0])
    for rcond in (1e-15, 1e-2):
        np.testing.assert_allclose(mg.pinverse(mg.tensor(a), rcond=rcond).numpy(),
                                   torch.pinverse(torch.tensor(a), rcond=rcond).numpy(), rtol=1e-12)


@pytest.mark.parametrize("p", [None, 2, -2])
def test_cond_of_singular_matrices_as_torchs(p):
    # a zero column or row stays zero through the SVD's Householder steps: an exact zero singular value with any
    # LAPACK, where ones((3, 3))'s rounds to 1e-48 or to 0 by the BLAS kernels a CPU selects
    singular = np.array([[[1.0, 2, 0], [3, 4, 0], [5, 6, 0]], [[1.0, 1, 1], [1, 1, 1], [0, 0, 0]]])
    np.testing.assert_array_equal(mg.linalg.cond(mg.tensor(singular), p).numpy(),
                                  torch.linalg.cond(torch.tensor(singular), p))


F32, F64, I64, F16 = np.float32, np.float64, np.int64, np.float16


def _call(function, *arrays, backward=False, **kwargs):
    """A caller of `function` (a path under the library, "linalg.qr") on tensors of the arrays (a list as it is),
    for torch and minigrad alike, summing its first output and running backward where asked."""
    def call(lib):
        target = lib
        for part in function.split("."):
            target = getattr(target, part)
        tensors = [a if isinstance(a, list) else lib.tensor(a, requires_grad=backward) for a in arrays]
        result = target(*tensors, **kwargs)
        if backward:
            (result[1] if isinstance(result, tuple) else result).sum().backward()
        return result
    return call


def _m(*shape, dtype=F32):
    return np.ones(shape, dtype=dtype)


ERRORS = {
    "qr mode": _call("linalg.qr", _m(3, 3), mode="x"),
    "qr 1-d": _call("linalg.qr", _m(3)),
    "qr int": _call("linalg.qr", _m(3, 3, dtype=I64)),
    "qr half": _call("linalg.qr", _m(3, 3, dtype=F16)),
    "qr list": _call("linalg.qr", [[1.0]]),
    "qr r backward": _call("linalg.qr", np.eye(4, 3, dtype=F32), mode="r", backward=True),
    "qr complete tall backward": _call("linalg.qr", np.eye(4, 3, dtype=F32), mode="complete", backward=True),
    "eigh not square": _call("linalg.eigh", _m(3, 2)),
    "eigh uplo": _call("linalg.eigh", _m(3, 3), UPLO="X"),
    "eigh int": _call("linalg.eigh", _m(3, 3, dtype=I64)),
    "eigh half": _call("linalg.eigh", _m(3, 3, dtype=F16)),
    "eigvalsh 1-d": _call("linalg.eigvalsh", _m(3)),
    "svd int": _call("linalg.svd", _m(3, 3, dtype=I64)),
    "svd half": _call("linalg.svd", _m(3, 3, dtype=F16)),
    "svd list": _call("linalg.svd", [[1.0]]),
    "svd driver": _call("linalg.svd", _m(3, 3), driver="gesvd"),
    "svdvals 1-d": _call("linalg.svdvals", _m(3)),
    "pinv int": _call("linalg.pinv", _m(3, 3, dtype=I64)),
    "pinv 1-d": _call("linalg.pinv", _m(3)),
    "pinv hermitian not square": _call("linalg.pinv", _m(3, 2), hermitian=True),
    "pinverse list": _call("pinverse", [[1.0]]),
    "matrix_rank 1-d": _call("linalg.matrix_rank", _m(3)),
    "matrix_rank half": _call("linalg.matrix_rank", _m(3, 3, dtype=F16)),
    "lstsq 1-d": _call("linalg.lstsq", _m(3), _m(3, 2)),
    "lstsq dims": _call("linalg.lstsq", _m(3, 3), _m(3, 3, 2, 2)),
    "lstsq dtypes": _call("linalg.lstsq", _m(3, 3), _m(3, 2, dtype=F64)),
    "lstsq int": _call("linalg.lstsq", _m(3, 3, dtype=I64), _m(3, 2, dtype=I64)),
    "lstsq driver": _call("linalg.lstsq", _m(3, 3), _m(3, 2), driver="x"),
    "lstsq rows": _call("linalg.lstsq", _m(5, 3), _m(4, 2)),
    "lstsq batches": _call("linalg.lstsq", _m(2, 5, 3), _m(3, 5, 2)),
    "lstsq list": _call("linalg.lstsq", [[1.0]], _m(1, 1)),
    "cond 1-d": _call("linalg.cond", _m(3)),
    "cond p": _call("linalg.cond", _m(3, 3), 3),
    "cond int": _call("linalg.cond", _m(3, 3, dtype=I64)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg))


@pytest.mark.parametrize("function", ["qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "matrix_rank", "cond"])
def test_complex_matrices_are_refused_clearly(function):
    with pytest.raises(NotImplementedError, match="minigrad has no complex autograd"):
        getattr(mg.linalg, function)(mg.tensor(np.eye(3, dtype=np.complex64)))


@pytest.mark.parametrize("p", ["fro", "nuc", math.inf, -math.inf, 1, -1])
def test_cond_in_other_norms_is_torchs_and_passes_gradcheck(p):
    """A's norm times its inverse's; inf for a singular A (huge for "nuc", from singular values rounded off 0, by
    how much depends on the LAPACK); torch's own backward fails here (it writes into the inverse it saved), so the
    gradient is checked by gradcheck alone."""
    matrices = np.random.default_rng(3).standard_normal((2, 3, 3)) + 3 * np.eye(3)
    singular = np.array([[1.0, 2.0], [2.0, 4.0]], dtype=np.float32)
    np.testing.assert_allclose(mg.linalg.cond(mg.tensor(matrices.astype(np.float32)), p).numpy(),
                               torch.linalg.cond(torch.tensor(matrices.astype(np.float32)), p).numpy(), rtol=1e-4)
    ours, theirs = mg.linalg.cond(mg.tensor(singular), p).item(), torch.linalg.cond(torch.tensor(singular), p).item()
    assert (ours > 1e6 and theirs > 1e6) if p == "nuc" else ours == theirs == math.inf
    assert mg.gradcheck(lambda a: mg.linalg.cond(a, p), (mg.tensor(matrices, requires_grad=True),))
    assert_raises_as_torch(lambda: torch.linalg.cond(torch.ones(2, 3), p), lambda: mg.linalg.cond(mg.ones(2, 3), p))


def test_linalg_all_is_sorted():
    assert mg.linalg.__all__ == sorted(mg.linalg.__all__) and all(hasattr(mg.linalg, n) for n in mg.linalg.__all__)
    assert math.isfinite(float(mg.linalg.cond(mg.eye(2)).item()))
