"""torch's edges of four ops that ported code meets: ldexp's gradients for integer exponents (an integer power of 2,
so 0 where the exponent is negative), lerp rounded once as a fused multiply-add, matrix_exp of matrices holding inf
or NaN (a 1 x 1 one is its entry's exp), and the errors of trunc and its kin for a bool tensor."""
import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import assert_raises_as_torch, differentiable_case_tests, normal, relative_error, uniform

NON_NEGATIVE_EXPONENTS = [0, 1, 3, 5]  # where torch's gradient is the derivative (gradcheck)

CASES = {
    "ldexp float exponent": (lambda lib, a, e: lib.ldexp(a, e), [normal(3, 4), normal(4, scale=3)]),
    "ldexp int exponent": (lambda lib, a: a.ldexp(lib.tensor(NON_NEGATIVE_EXPONENTS, device=a.device)),
                           [normal(3, 4)]),
    "lerp tensor weight": (lambda lib, s, e, w: lib.lerp(s, e, w), [normal(3, 4), normal(4), uniform(-1, 2, 3, 4)]),
    "lerp number weight": (lambda lib, s, e: s.lerp(e, 0.9), [normal(3, 4), normal(3, 4)]),
    "matrix_exp 1 x 1": (lambda lib, a: lib.linalg.matrix_exp(a), [normal(3, 1, 1)]),
}

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


def _outcome(lib, call):
    """The output, its dtype and the float inputs' gradients for a ones gradient, as NumPy arrays."""
    inputs, out = call(lib)
    differentiable = [t for t in inputs if t.requires_grad]
    if differentiable:
        out.sum().backward()
    numpy = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: t.numpy())
    return str(out.dtype).replace("torch.", ""), numpy(out), [numpy(t.grad) for t in differentiable]


def _assert_outcomes_equal(call, device="cpu"):
    """call(lib, device) -> (inputs, output) gives torch's output and gradients bit for bit, and its dtype, on
    minigrad's `device`."""
    dtype, out, grads = _outcome(torch, lambda lib: call(lib, "cpu"))
    ours_dtype, ours, our_grads = _outcome(mg, lambda lib: call(lib, device))
    assert ours_dtype == dtype
    np.testing.assert_array_equal(ours, out)
    assert len(our_grads) == len(grads)
    for mine, reference in zip(our_grads, grads):
        assert mine.dtype == reference.dtype
        np.testing.assert_array_equal(mine, reference)


# ---- ldexp -----------------------------------------------------------------------------------------------------
EXPONENTS = [-70, -3, -1, 0, 1, 7, 8, 15, 30, 31, 32, 62, 63, 64, 70]


def _ldexp_of_integer_exponents(dtype, exponent_dtype):
    exponents = np.array(EXPONENTS).astype(exponent_dtype)  # uint8 wraps the negative ones, as torch's would

    def call(lib, device):
        a = lib.tensor(np.linspace(-2, 3, len(EXPONENTS)), dtype=getattr(lib, dtype), requires_grad=True,
                       device=device)
        return [a], lib.ldexp(a, lib.tensor(exponents, device=device))
    return call


@pytest.mark.parametrize("exponent_dtype", ["int8", "uint8", "int16", "int32", "int64"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ldexp_of_integer_exponents_as_torch(dtype, exponent_dtype):
    """Exact values; the input's gradient is grad * 2 ** exponent in the exponent's integer dtype, as torch's: 0 where
    the exponent is negative, wrapped where 2 ** exponent overflows that dtype."""
    _assert_outcomes_equal(_ldexp_of_integer_exponents(dtype, exponent_dtype))


def test_gpu_path_ldexp_of_integer_exponents(gpu_path):
    for exponent_dtype in ("int8", "int64"):
        _assert_outcomes_equal(_ldexp_of_integer_exponents("float32", exponent_dtype), device="gpu")


@pytest.mark.parametrize("dtype, exponent_dtype", [
    ("float32", "float64"), ("float64", "float32"), ("int64", "float32"), ("int64", "int64"), ("bool", "int32"),
    ("int32", "bool"), ("bool", "bool")])
def test_ldexp_dtypes_and_gradients_as_torch(dtype, exponent_dtype):
    """The result's dtype is the input's, or the default float, promoted with a floating-point exponent's; the
    exponent's gradient is grad * out * log(2), rounded as torch's."""
    def call(lib):
        a = lib.tensor(np.array([1.5, 0.0, -2.0, 3.0]).astype(dtype), requires_grad=dtype.startswith("float"))
        e = lib.tensor(np.array([-2.5, 1.0, 3.0, 0.3]).astype(exponent_dtype),
                       requires_grad=exponent_dtype.startswith("float"))
        return [a, e], lib.ldexp(a, e)

    (dtype_name, out, grads), ours = _outcome(torch, call), _outcome(mg, call)
    assert ours[0] == dtype_name
    np.testing.assert_allclose(ours[1], out, rtol=1e-6)
    for mine, reference in zip(ours[2], grads):
        assert mine.dtype == reference.dtype
        np.testing.assert_allclose(mine, reference, rtol=1e-6)


def test_ldexp_refuses_a_bool_exponent_of_a_float_tensor_as_torch():
    assert_raises_as_torch(lambda: torch.ldexp(torch.ones(2), torch.tensor([True, False])),
                           lambda: mg.ldexp(mg.ones(2), mg.tensor([True, False])))


# ---- lerp ------------------------------------------------------------------------------------------------------
def _lerp(weight):
    """lerp of float32 arrays, with a tensor weight ("tensor") or a number one; all three differentiable."""
    rng = np.random.default_rng(0)
    start, end, weights = (rng.standard_normal((64, 257)), 3 * rng.standard_normal((64, 257)),
                           rng.uniform(-1, 2, (64, 257)))

    def call(lib, device):
        s, e = (lib.tensor(a, dtype=lib.float32, requires_grad=True, device=device) for a in (start, end))
        if weight != "tensor":
            return [s, e], lib.lerp(s, e, weight)
        w = lib.tensor(weights, dtype=lib.float32, requires_grad=True, device=device)
        return [s, e, w], lib.lerp(s, e, w)
    return call


@pytest.mark.parametrize("weight", ["tensor", 0.3, 0.9, -0.7])
def test_lerp_is_torchs_bit_for_bit(weight):
    """One rounding (a fused multiply-add) from the nearer end, as torch's CPU kernel; the gradients bit for bit too,
    a number weight's as torch's of its double (grad * (1 - 0.9) is not grad * (1 - float32(0.9)))."""
    _assert_outcomes_equal(_lerp(weight))


def test_gpu_path_lerp_is_torchs_bit_for_bit(gpu_path):
    for weight in ("tensor", 0.9):
        _assert_outcomes_equal(_lerp(weight), device="gpu")


def test_lerp_rounds_once_where_float64_then_float32_would_round_twice():
    """start + weight * (end - start) lies just below a float32 midpoint, and on it once rounded to float64: a fused
    multiply-add rounds down to start, where float64's midpoint would round to even, one ulp up."""
    start, end = np.float32(2.0 ** -30 * (1 + 2.0 ** -23)), np.float32(1 + 2.0 ** -23)
    weight = 2.0 ** -54 * (1 - 2.0 ** -23)
    for number in (False, True):
        theirs, ours = (lib.lerp(lib.tensor([start]), lib.tensor([end]), weight if number else lib.tensor([weight]))
                        for lib in (torch, mg))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.numpy()[0] == start


def test_quantile_interpolates_as_torchs_lerp_bit_for_bit():
    rng = np.random.default_rng(2)
    x, q = rng.standard_normal((40, 333)).astype(np.float32), rng.uniform(0, 1, 9).astype(np.float32)
    theirs, ours = (lib.quantile(lib.tensor(x), lib.tensor(q), dim=1) for lib in (torch, mg))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- matrix_exp ------------------------------------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")
NONFINITE_BATCHES = {
    "1 x 1": [[[INF]], [[-INF]], [[NAN]], [[0.7]]],
    "2 x 2": [[[0.5, 0.2], [0.1, -0.3]], [[1.0, NAN], [0.0, 1.0]], [[1.0, INF], [0.0, 1.0]], [[-INF, 0.0], [0.0, 1.0]],
              [[INF, 0.0], [0.0, 0.0]], [[3.0, 1.0], [2.0, 4.0]]],
    "3 x 3 alone": [[[0.1, 0.2, 0.3], [0.1, NAN, 0.1], [0.0, 0.0, 0.2]]],
}


def _assert_matrix_exp_as_torch(batch, dtype, device="cpu"):
    a = np.array(batch, dtype=dtype)
    theirs = torch.linalg.matrix_exp(torch.tensor(a)).numpy()
    ours = mg.linalg.matrix_exp(mg.tensor(a, device=device)).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(np.isinf(ours) * np.sign(ours), np.isinf(theirs) * np.sign(theirs))
    finite = np.isfinite(theirs)
    for ours_matrix, theirs_matrix in zip(np.where(finite, ours, 0), np.where(finite, theirs, 0)):
        assert relative_error(ours_matrix, theirs_matrix) <= 1e-5  # each matrix, a finite one too, as torch's


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NONFINITE_BATCHES)
def test_matrix_exp_of_infinite_and_nan_entries_as_torch(name, dtype):
    _assert_matrix_exp_as_torch(NONFINITE_BATCHES[name], dtype)


def test_gpu_path_matrix_exp_of_infinite_and_nan_entries(gpu_path):
    for batch in NONFINITE_BATCHES.values():
        _assert_matrix_exp_as_torch(batch, np.float32, device="gpu")


# ---- the errors of a bool tensor -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["trunc", "fix", "floor", "ceil", "round", "frac", "trunc_", "floor_"])
def test_bool_tensors_are_refused_as_torch(name):
    """torch's NotImplementedError, naming its CPU kernel (trunc_vml_cpu, frac_cpu)."""
    assert_raises_as_torch(lambda: getattr(torch.tensor([True, False]), name)(),
                           lambda: getattr(mg.tensor([True, False]), name)())
