"""torch.linalg's matrix_exp, LU (lu_factor, lu_factor_ex, lu, lu_solve, torch.lu_unpack), solve_ex,
householder_product (torch.orgqr), torch.geqrf and ldl_factor(_ex), and nn.utils.parametrizations.orthogonal,
against torch: float32 values and gradients, float64 gradchecks, batches and broadcasts, singular matrices, torch's
errors, and the GPU path."""
import numpy as np
import pytest
from conftest import differentiable_case_tests, error_of, normal, relative_error

import minigrad as mg
from minigrad.nn.utils import parametrizations

torch = pytest.importorskip("torch")


def scaled(scales, *shape):
    """Normal matrices, batch element i times scales[i]: matrix_exp's scalings and squarings differ per matrix."""
    return lambda rng: rng.standard_normal((len(scales), *shape)) * np.asarray(scales)[:, None, None]


def square(*batch, n=3):
    """Well-conditioned matrices: normal entries plus n on the diagonal."""
    return lambda rng: rng.standard_normal((*batch, n, n)) + n * np.eye(n)


def joined(lib, *tensors):
    return lib.cat([t.reshape(-1) for t in tensors])


def lu_case(lib, a):
    return joined(lib, *lib.linalg.lu(a))


def lu_solve_case(left, adjoint):
    return lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b, left=left, adjoint=adjoint)


def uniform(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape)


CASES = {
    "matrix_exp_batched_scales": (lambda lib, a: lib.linalg.matrix_exp(a), [scaled((0.05, 0.5, 2.0), 4, 4)]),
    "matrix_exp_function_and_method": (lambda lib, a: lib.matrix_exp(a) + a.matrix_exp().mT, [normal(3, 3)]),
    "lu_square_batched": (lu_case, [normal(2, 4, 4)]),
    "lu_wide": (lu_case, [normal(3, 5)]),
    "lu_tall": (lu_case, [normal(5, 3)]),
    "lu_factor_packed": (lambda lib, a: lib.linalg.lu_factor(a).LU, [normal(2, 3, 3)]),
    "lu_unpack": (lambda lib, a: joined(lib, *lib.lu_unpack(*lib.linalg.lu_factor_ex(a)[:2])), [normal(4, 3)]),
    "lu_solve": (lu_solve_case(True, False), [square(2), normal(2, 3, 2)]),
    "lu_solve_adjoint": (lu_solve_case(True, True), [square(), normal(3, 2)]),
    "lu_solve_batch_of_many": (lu_solve_case(True, False), [square(5), normal(5, 3, 2)]),  # eliminated at once
    "lu_solve_right": (lu_solve_case(False, False), [square(), normal(2, 3)]),
    "lu_solve_right_adjoint_broadcast": (lu_solve_case(False, True), [square(), normal(2, 1, 3)]),
    "solve_ex": (lambda lib, a, b: lib.linalg.solve_ex(a, b).result, [square(2), normal(2, 3)]),
    "householder_product": (lambda lib, a, tau: lib.linalg.householder_product(a, tau),
                            [normal(2, 5, 3), uniform(0.5, 1.5, 2, 2)]),
    "orgqr_method": (lambda lib, a, tau: a.orgqr(tau), [normal(4, 4), uniform(0.5, 1.5, 4)]),
}

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


def test_matrix_exp_of_large_and_special_matrices_as_torchs():
    """Norms that need many squarings, zero, empty batches and matrices, float64 and float16."""
    rng = np.random.default_rng(3)
    for a in (rng.standard_normal((2, 5, 5)) * 8, np.zeros((3, 3)), np.zeros((0, 2, 2)), np.zeros((2, 0, 0))):
        ours, theirs = mg.linalg.matrix_exp(mg.tensor(a)), torch.linalg.matrix_exp(torch.tensor(a))
        assert ours.dtype == mg.float64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    half = (rng.standard_normal((3, 3)) * 0.5).astype(np.float16)
    ours = mg.matrix_exp(mg.tensor(half))  # torch's CPU float16 overflows to inf; this is float32's, rounded
    assert ours.dtype == np.float16
    np.testing.assert_array_equal(ours.numpy(), torch.matrix_exp(torch.tensor(half).float()).half().numpy())


@pytest.mark.parametrize("shape", [(2, 4, 4), (3, 5), (5, 3), (6, 3, 3), (5, 4, 2), (4, 2, 3)])
def test_lu_factors_and_pivots_as_torchs(shape):
    """LAPACK's partial pivoting on both sides: the same packed factors, 1-based int32 pivots, P, L, U. (A batch of
    more matrices than steps is eliminated all at once, the others by LAPACK a matrix at a time.)"""
    a = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    ours, theirs = mg.linalg.lu_factor_ex(mg.tensor(a)), torch.linalg.lu_factor_ex(torch.tensor(a))
    assert ours._fields == ("LU", "pivots", "info") and ours.pivots.dtype == ours.info.dtype == mg.int32
    for mine, reference in zip(ours, theirs):
        assert mine.shape == tuple(reference.shape)
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)
    for mine, reference in zip(mg.linalg.lu(mg.tensor(a)), torch.linalg.lu(torch.tensor(a))):
        assert mine.dtype == mg.float32
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("copies", [1, 3])
def test_singular_matrices_as_torchs(copies):
    """info of a zero pivot, lu_solve's and solve_ex's inf and NaN from it (no error), lu_unpack's empty parts."""
    singular = np.array([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]], np.eye(3)] * copies)
    b = np.ones((2 * copies, 3, 2))
    for lib in (mg, torch):
        factors, pivots, info = lib.linalg.lu_factor_ex(lib.tensor(singular))
        solved = lib.linalg.lu_solve(factors, pivots, lib.tensor(b))
        result, solve_info = lib.linalg.solve_ex(lib.tensor(singular), lib.tensor(b), left=True)
        unpacked = lib.lu_unpack(factors, pivots, unpack_data=False)
        values = [info, solved, result, solve_info, *unpacked]
        if lib is mg:
            ours = [v.numpy() for v in values]
        else:
            for mine, reference in zip(ours, values):
                np.testing.assert_array_equal(mine, reference.numpy())


def test_results_are_named_and_nodes_named_as_torchs():
    a = mg.tensor(np.random.default_rng(5).standard_normal((3, 3)), requires_grad=True)
    assert mg.linalg.matrix_exp(a).grad_fn.name() == "LinalgMatrixExpBackward0"
    assert mg.linalg.lu_factor(a).LU.grad_fn.name() == "LinalgLuFactorExBackward0"
    assert mg.linalg.lu_solve(*mg.linalg.lu_factor(a), a).grad_fn.name() == "LinalgLuSolveBackward0"
    assert mg.linalg.lu_factor(a).pivots.grad_fn is None
    assert mg.linalg.lu(a)._fields == mg.lu_unpack(*mg.linalg.lu_factor(a))._fields == ("P", "L", "U")
    assert mg.linalg.solve_ex(a, a)._fields == ("result", "info")
    assert mg.geqrf(a)._fields == ("a", "tau")


def test_geqrf_is_lapacks_and_has_no_derivative_as_torchs():
    a = np.random.default_rng(6).standard_normal((2, 5, 3)).astype(np.float32)
    for mine, reference in zip(mg.geqrf(mg.tensor(a)), a_ref := torch.geqrf(torch.tensor(a))):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)
    q = mg.linalg.householder_product(*mg.geqrf(mg.tensor(a)))
    np.testing.assert_allclose(q.numpy(), torch.linalg.householder_product(*a_ref).numpy(), rtol=1e-5, atol=1e-6)
    assert_error_as_torchs(lambda lib: lib.tensor(a, requires_grad=True).geqrf()[0].sum().backward())


def test_ldl_factor_is_lapacks_and_has_no_derivative_as_torchs():
    """Bunch-Kaufman's LD and pivots (a 2x2 block's negative) from the lower triangle, info of a zero in D."""
    rng = np.random.default_rng(10)
    a = rng.standard_normal((2, 4, 4))
    for matrices in (a + np.swapaxes(a, -1, -2), np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]),
                     np.tril(a), np.zeros((2, 2))):
        ours, theirs = mg.linalg.ldl_factor_ex(mg.tensor(matrices)), torch.linalg.ldl_factor_ex(torch.tensor(matrices))
        assert ours._fields == ("LD", "pivots", "info")
        for mine, reference in zip(ours, theirs):
            assert mine.dtype == reference.numpy().dtype
            np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-12, atol=1e-14)
    assert_error_as_torchs(lambda lib: lib.linalg.ldl_factor(lib.tensor(a[0] + a[0].T, requires_grad=True))
                           .LD.sum().backward())


def _m(*shape, dtype=np.float32):
    return np.ones(shape, dtype=dtype)


def _lu_of(a, pivots=None):
    """lu_solve's first two arguments: a as LU, pivots 1 (of `pivots`' dtype and count)."""
    pivots = np.ones(a.shape[-1], np.int32) if pivots is None else pivots
    return lambda lib: (lib.tensor(a), lib.tensor(pivots))


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
ERRORS = {
    "matrix_exp 1-d": lambda lib: lib.linalg.matrix_exp(lib.tensor(_m(3))),
    "matrix_exp not square": lambda lib: lib.linalg.matrix_exp(lib.tensor(_m(2, 3))),
    "matrix_exp int": lambda lib: lib.matrix_exp(lib.tensor(_m(2, 2, dtype=np.int64))),
    "matrix_exp list": lambda lib: lib.linalg.matrix_exp([[1.0]]),
    "lu_factor 1-d": lambda lib: lib.linalg.lu_factor(lib.tensor(_m(3))),
    "lu_factor int": lambda lib: lib.linalg.lu_factor(lib.tensor(_m(3, 3, dtype=np.int64))),
    "lu_factor half": lambda lib: lib.linalg.lu_factor_ex(lib.tensor(_m(3, 3, dtype=np.float16))),
    "lu_factor no pivoting": lambda lib: lib.linalg.lu_factor(lib.tensor(_m(3, 3)), pivot=False),
    "lu_factor singular": lambda lib: lib.linalg.lu_factor(lib.tensor(SINGULAR)),
    "lu_factor_ex singular in a batch": lambda lib: lib.linalg.lu_factor_ex(
        lib.tensor(np.stack([np.eye(2, dtype=np.float32), SINGULAR])), check_errors=True),
    "lu 1-d": lambda lib: lib.linalg.lu(lib.tensor(_m(3))),
    "lu no pivoting": lambda lib: lib.linalg.lu(lib.tensor(_m(3, 3)), pivot=False),
    "lu_solve not square": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 2))(lib), lib.tensor(_m(3, 1))),
    "lu_solve rows": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 3))(lib), lib.tensor(_m(2, 1))),
    "lu_solve columns right": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 3))(lib), lib.tensor(_m(3, 2)),
                                                              left=False),
    "lu_solve int64 pivots": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 3), np.ones(3, np.int64))(lib),
                                                             lib.tensor(_m(3, 1))),
    "lu_solve dtypes": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 3))(lib), lib.tensor(_m(3, 1, dtype=np.float64))),
    "lu_solve pivots count": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 3), np.ones(2, np.int32))(lib),
                                                             lib.tensor(_m(3, 2))),
    "lu_solve 1-d B": lambda lib: lib.linalg.lu_solve(*_lu_of(_m(3, 3))(lib), lib.tensor(_m(3))),
    "lu_unpack pivots range": lambda lib: lib.lu_unpack(*_lu_of(_m(3, 3), np.full(3, 4, np.int32))(lib)),
    "lu_unpack int64 pivots": lambda lib: lib.lu_unpack(*_lu_of(_m(3, 3), np.ones(3, np.int64))(lib)),
    "lu_unpack 1-d": lambda lib: lib.lu_unpack(*_lu_of(_m(3))(lib)),
    "solve_ex singular in a batch": lambda lib: lib.linalg.solve_ex(
        lib.tensor(np.stack([np.eye(2, dtype=np.float32), SINGULAR])), lib.tensor(_m(2)), check_errors=True),
    "solve_ex not square": lambda lib: lib.linalg.solve_ex(lib.tensor(_m(2, 3)), lib.tensor(_m(2))),
    "householder_product 1-d": lambda lib: lib.linalg.householder_product(lib.tensor(_m(3)), lib.tensor(_m(3))),
    "householder_product wide": lambda lib: lib.linalg.householder_product(lib.tensor(_m(2, 3)), lib.tensor(_m(2))),
    "householder_product tau count": lambda lib: lib.linalg.householder_product(lib.tensor(_m(3, 2)),
                                                                                lib.tensor(_m(3))),
    "householder_product tau dims": lambda lib: lib.linalg.householder_product(lib.tensor(_m(3, 2)),
                                                                               lib.tensor(_m(2, 1))),
    "householder_product tau batch": lambda lib: lib.linalg.householder_product(lib.tensor(_m(2, 3, 2)),
                                                                                lib.tensor(_m(3, 2))),
    "householder_product dtypes": lambda lib: lib.orgqr(lib.tensor(_m(3, 2)), lib.tensor(_m(2, dtype=np.float64))),
    "householder_product int": lambda lib: lib.linalg.householder_product(lib.tensor(_m(3, 2, dtype=np.int64)),
                                                                          lib.tensor(_m(2, dtype=np.int64))),
    "ldl_factor 1-d": lambda lib: lib.linalg.ldl_factor(lib.tensor(_m(3))),
    "ldl_factor not square": lambda lib: lib.linalg.ldl_factor_ex(lib.tensor(_m(2, 3))),
    "ldl_factor int": lambda lib: lib.linalg.ldl_factor(lib.tensor(_m(3, 3, dtype=np.int64))),
    "ldl_factor half": lambda lib: lib.linalg.ldl_factor(lib.tensor(_m(3, 3, dtype=np.float16))),
    "ldl_factor list": lambda lib: lib.linalg.ldl_factor([[1.0]]),
    "geqrf 1-d": lambda lib: lib.geqrf(lib.tensor(_m(3))),
    "geqrf int": lambda lib: lib.geqrf(lib.tensor(_m(3, 3, dtype=np.int64))),
}


def assert_error_as_torchs(call):
    """torch's type (its LinAlgError, a RuntimeError, as minigrad.linalg.LinAlgError) and message."""
    expected_type, expected = error_of(lambda: call(torch))
    got_type, got = error_of(lambda: call(mg))
    assert got == expected
    if issubclass(expected_type, torch.linalg.LinAlgError):
        assert got_type is mg.linalg.LinAlgError and issubclass(got_type, RuntimeError)
    else:
        assert got_type is expected_type


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torchs(name):
    assert_error_as_torchs(ERRORS[name])


def test_lu_unpack_refuses_too_few_pivots_with_torchs_range_message():
    """torch 2.13 reads past the end of too short pivots, so its error depends on whatever lies there and cannot be
    compared; minigrad refuses the count itself, with the message torch gives for a pivot out of range."""
    with pytest.raises(RuntimeError) as too_few:
        mg.lu_unpack(*_lu_of(_m(3, 3), np.ones(2, np.int32))(mg))
    assert str(too_few.value) == error_of(lambda: torch.lu_unpack(*_lu_of(_m(3, 3), np.full(3, 4, np.int32))(torch)))[1]


def test_lu_on_the_gpu_path_without_pivoting_is_refused_clearly(gpu_path):
    with pytest.raises(RuntimeError, match="LU without pivoting is not implemented on the GPU in minigrad"):
        mg.linalg.lu_factor(mg.eye(3, device="gpu"), pivot=False)


def test_singular_lu_solve_and_ldl_on_the_gpu_path_as_on_the_cpu(gpu_path):
    """The device's LU (one matrix per cuSOLVER call) and its triangular solves, a singular matrix's inf too; the
    LDL factors (from the host) on the device."""
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[3.0, 1.0], [1.0, 2.0]]], np.float32)
    results = []
    for device in ("cpu", "gpu"):
        factors, pivots, info = mg.linalg.lu_factor_ex(mg.tensor(a, device=device))
        solved = mg.linalg.lu_solve(factors, pivots, mg.ones(2, 2, 1, device=device))
        ldl = mg.linalg.ldl_factor_ex(mg.tensor(a, device=device))
        assert all(t.device == device for t in (factors, pivots, info, solved, *ldl))
        results.append([t.to("cpu").numpy() for t in (factors, pivots, info, solved, *ldl)])
    for ours, reference in zip(*results):
        assert ours.dtype == reference.dtype
        np.testing.assert_allclose(ours, reference, rtol=1e-6)


# ---- nn.utils.parametrizations.orthogonal --------------------------------------------------------------------------
def _linear(lib, shape):
    return lib.nn.Linear(shape[1], shape[0])


def _batched(lib, shape):
    module = lib.nn.Module()
    module.weight = lib.nn.Parameter(lib.zeros(*shape))
    return module


@pytest.mark.parametrize("orthogonal_map, use_trivialization, shape", [
    ("matrix_exp", True, (4, 4)), ("matrix_exp", False, (3, 5)), ("cayley", True, (5, 3)),
    ("cayley", False, (2, 4, 4)), ("householder", True, (3, 5)), ("householder", False, (2, 5, 3)),
    (None, True, (4, 4)), (None, False, (5, 3))])
def test_orthogonal_weights_and_gradients_from_torchs_state_dict(orthogonal_map, use_trivialization, shape):
    """torch's module's state dict (its original moved off where registration put it, and its base) loaded into
    minigrad's: the same keys, the same orthogonal weight and the same gradient of the original."""
    make = _batched if len(shape) == 3 else _linear
    theirs, ours = make(torch, shape), make(mg, shape)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map,
                                               use_trivialization=use_trivialization)
    parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map, use_trivialization=use_trivialization)
    state = theirs.state_dict()
    original = state["parametrizations.weight.original"]
    original += torch.tensor(np.random.default_rng(7).standard_normal(tuple(original.shape)).astype(np.float32) * 0.3)
    theirs.load_state_dict(state)
    assert sorted(ours.state_dict()) == sorted(state)
    ours.load_state_dict({key: mg.tensor(value.numpy()) for key, value in state.items()})
    direction = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    (theirs.weight * torch.tensor(direction)).sum().backward()
    (ours.weight * mg.tensor(direction)).sum().backward()
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.parametrizations.weight.original.grad.numpy(),
                               theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "householder"])
def test_orthogonal_keeps_an_orthogonal_weight_and_orthogonalizes_others_as_torch(orthogonal_map):
    """At registration: an orthogonal square weight kept, another one the Q of its QR (R's diagonal positive);
    without trivialization, householder's original is geqrf's reflectors with the signs of R's diagonal."""
    rng = np.random.default_rng(9)
    q = np.linalg.qr(rng.standard_normal((4, 4)))[0].astype(np.float32)
    for weight in (q, rng.standard_normal((4, 4)).astype(np.float32)):
        for use_trivialization in ((True, False) if orthogonal_map == "householder" else (True,)):
            modules = []
            for lib, parametrize in ((torch.nn, torch.nn.utils.parametrizations), (mg.nn, parametrizations)):
                module = lib.Linear(4, 4)
                module.weight = lib.Parameter((torch if lib is torch.nn else mg).tensor(weight))
                modules.append(parametrize.orthogonal(module, orthogonal_map=orthogonal_map,
                                                      use_trivialization=use_trivialization))
            theirs, ours = modules
            np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5, atol=1e-5)
            for key, value in theirs.state_dict().items():
                if key.startswith("parametrizations."):  # the bias is drawn at random
                    np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-5, atol=1e-5)


ORTHOGONAL_ERRORS = {
    "no such tensor": lambda lib, p: p.orthogonal(lib.nn.Linear(3, 3), name="bias2"),
    "a vector": lambda lib, p: p.orthogonal(lib.nn.Linear(3, 3), name="bias"),
    "map": lambda lib, p: p.orthogonal(lib.nn.Linear(3, 3), orthogonal_map="qr"),
    "assigned without trivialization": lambda lib, p: setattr(
        p.orthogonal(lib.nn.Linear(3, 3), use_trivialization=False), "weight", lib.eye(3)),
    "assigned of another shape": lambda lib, p: setattr(p.orthogonal(lib.nn.Linear(3, 3)), "weight", lib.eye(2)),
}


@pytest.mark.parametrize("name", ORTHOGONAL_ERRORS)
def test_orthogonal_errors_as_torchs(name):
    expected_type, expected = error_of(lambda: ORTHOGONAL_ERRORS[name](torch, torch.nn.utils.parametrizations))
    got_type, got = error_of(lambda: ORTHOGONAL_ERRORS[name](mg, parametrizations))
    assert got_type is expected_type
    assert got == expected.replace("torch.Size([2, 2])", "(2, 2)").replace("torch.Size([3, 3])", "(3, 3)")


def test_orthogonal_on_the_gpu_path_as_on_the_cpu(gpu_path):
    """matrix_exp's and householder's orthogonal weights and gradients on the device, from one state dict."""
    for orthogonal_map in ("matrix_exp", "householder"):
        module = parametrizations.orthogonal(mg.nn.Linear(3, 4), orthogonal_map=orthogonal_map)
        state = module.state_dict()
        results = []
        for device in ("cpu", "gpu"):
            copy = parametrizations.orthogonal(mg.nn.Linear(3, 4), orthogonal_map=orthogonal_map)
            copy.load_state_dict(state)
            copy.to(device)
            original = copy.parametrizations.weight.original
            (copy.weight * mg.arange(12.0, device=device).reshape(4, 3)).sum().backward()
            results.append((copy.weight.to("cpu").numpy(), original.grad.to("cpu").numpy()))
        for ours, reference in zip(*results):
            assert relative_error(ours, reference) <= 1e-5
