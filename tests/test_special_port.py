"""minigrad.special's functions that torch has under torch.special only: values and gradients against torch's, in
float32 (where torch computes with its own float32 algorithms, within their error) and float64, across the edges
torch treats apart (0, negative values, the tails, inf and NaN); float64 gradchecks and second derivatives; torch's
errors where torch has no derivative; and the GPU path."""
import functools

import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import RecordingRunner, assert_raises_as_torch, relative_error
from double_backward import check_double_backward

EDGES = [0.0, -0.0, 1e-30, -1e-30, 1e-6, -1e-6, 1e4, -1e4, np.inf, -np.inf, np.nan]
WIDE = np.concatenate([np.linspace(-30, 30, 601), EDGES])
UNIT = np.concatenate([np.linspace(0, 1, 401), [1e-30, 1e-7, 1 - 1e-7, -0.5, 1.5, np.inf, np.nan]])

# name -> (inputs, float32 rtol of values and gradients against torch's float32, interior points for gradchecks).
# The float32 tolerances are torch's own float32 error (its float32 algorithms, and the cancellation in the
# gradients of i0e, i1e, log_ndtr and erfcx, computed as torch's); float64 compares within 1e-12.
DIFFERENTIABLE = {
    "i1": (np.concatenate([np.linspace(-80, 80, 641), EDGES, [88.5, 88.8, 90, -90, 95]]), 1e-6,
           [-3.0, -0.5, 0.25, 2.0, 7.5]),
    "i0e": (WIDE, 2e-5, [-3.0, -0.5, 0.25, 2.0, 7.5]),
    "i1e": (WIDE, 5e-5, [-3.0, -0.5, 0.25, 2.0, 7.5]),
    "ndtr": (WIDE, 1e-6, [-3.0, -0.5, 0.25, 2.0, 4.0]),
    "ndtri": (UNIT, 1e-5, [0.01, 0.3, 0.5, 0.8, 0.99]),
    "log_ndtr": (WIDE, 1e-4, [-8.0, -3.0, -0.5, 0.25, 2.0]),
    "erfcx": (np.concatenate([np.linspace(-9, 9, 361), [0, -0.0, 1e-30, -1e4, np.inf, -np.inf, np.nan]]), 5e-5,
              [-2.0, -0.5, 0.25, 2.0, 7.5]),
    "entr": (np.concatenate([np.linspace(-2, 30, 321), EDGES]), 1e-6, [0.05, 0.3, 1.0, 2.5, 9.0]),
}

# name -> scipy.special's name, or the name of the formula, that computes it (see ops.GradientFreeSpecial)
WITHOUT_GRADIENT = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
                    "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
                    "scaled_modified_bessel_k1", "spherical_bessel_j0"]


def _values_and_gradients(library, name, dtype, *arrays, differentiable=(True, True)):
    """mg.special.<name> or torch.special.<name> of the arrays, and the gradients of its sum, weighted by a fixed
    direction, with respect to each differentiable input, as arrays."""
    as_tensor = mg.tensor if library is mg else torch.tensor
    inputs = [as_tensor(np.asarray(a, dtype=dtype), requires_grad=needs) for a, needs in zip(arrays, differentiable)]
    out = getattr(library.special, name)(*inputs)
    weights = np.random.default_rng(0).uniform(0.5, 1.5, out.shape).astype(dtype)
    gradients = library.autograd.grad((out * as_tensor(weights)).sum(), [t for t in inputs if t.requires_grad])
    return [t.detach().numpy() for t in (out, *gradients)]


def _assert_close(ours, theirs, rtol):
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.dtype
        np.testing.assert_allclose(mine, reference, rtol=rtol, atol=1e-37)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_values_and_gradients_match_torch(name):
    inputs, rtol, _ = DIFFERENTIABLE[name]
    with np.errstate(all="ignore"):
        for dtype, tolerance in ((np.float32, rtol), (np.float64, 1e-12)):
            _assert_close(*(_values_and_gradients(library, name, dtype, inputs) for library in (mg, torch)),
                          tolerance)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradcheck_and_second_derivatives(name):
    points = np.asarray(DIFFERENTIABLE[name][2])
    assert mg.gradcheck(getattr(mg.special, name), [mg.tensor(points, requires_grad=True)])
    check_double_backward(lambda library, x: getattr(library.special, name)(x), points)


@pytest.mark.parametrize("name", [*DIFFERENTIABLE, *WITHOUT_GRADIENT])
def test_integers_compute_in_the_default_dtype(name):
    integers = np.array([0, 1, 2, 5])
    ours, theirs = (getattr(library.special, name)(library.tensor(integers)) for library in (mg, torch))
    assert ours.dtype == mg.float32 and theirs.dtype == torch.float32
    as_floats = getattr(mg.special, name)(mg.tensor(integers.astype(np.float32)))
    np.testing.assert_array_equal(ours.numpy(), as_floats.numpy())


@pytest.mark.parametrize("name", ["i1", "ndtr", "xlog1py", "zeta", *WITHOUT_GRADIENT])
def test_a_number_for_the_tensor_is_torchs_type_error(name):
    arguments = (2.0, 3.0) if name in ("xlog1py", "zeta") else (2.0,)
    assert_raises_as_torch(lambda: getattr(torch.special, name)(*arguments),
                           lambda: getattr(mg.special, name)(*arguments))


@pytest.mark.parametrize("name", WITHOUT_GRADIENT)
def test_functions_without_derivative_match_torch(name):
    points = np.concatenate([np.linspace(-10, 10, 801), np.linspace(0.01, 60, 300), EDGES])
    if name == "airy_ai":  # torch's float32 Ai loses its phase far along the negative axis
        points = points[~(points < -10)]
    with np.errstate(all="ignore"):
        # torch's float64 j0 and j1 err by up to 7e-7 (near ±5), its Ai by 5e-6 (near -2.1), where SciPy's do not
        for dtype, tolerance in ((np.float32, 1e-5), (np.float64, 1e-5 if name == "airy_ai" else 1e-6)):
            ours = getattr(mg.special, name)(mg.tensor(points.astype(dtype), requires_grad=True))
            theirs = getattr(torch.special, name)(torch.tensor(points.astype(dtype), requires_grad=True))
            assert ours.requires_grad is theirs.requires_grad is False
            ours, theirs = ours.numpy(), theirs.detach().numpy()
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
            np.testing.assert_array_equal(ours[np.isinf(theirs)], theirs[np.isinf(theirs)])
            finite = np.isfinite(theirs)
            assert relative_error(ours[finite], theirs[finite]) < tolerance


@pytest.mark.parametrize("name", ["i0", "special.i1", "special.modified_bessel_i0", "special.modified_bessel_i1"])
def test_i0_and_i1_overflow_where_torchs_exp_does(name):
    """torch computes them as exp(|x|) times a series: inf where exp(|x|) overflows, before the function does."""
    points = np.array([88.5, 88.8, 90.0, -90.0, 95.0, 709.7, 709.9, 712.0, -712.0, 714.0])
    for dtype in (np.float32, np.float64):
        ours, theirs = (functools.reduce(getattr, name.split("."), library)(library.tensor(points.astype(dtype)))
                        for library in (mg, torch))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", WITHOUT_GRADIENT)
def test_backward_without_derivative_is_torchs_error(name):
    def backward(library):
        return lambda: getattr(library.special, name)(library.tensor([0.5, 1.5], requires_grad=True)).sum().backward()
    assert_raises_as_torch(backward(torch), backward(mg))


BINARY_EDGES = np.array([0.0, 0.0, 0.0, 0.0, 2.0, -1.5, 3.0, 0.0, np.nan, 1e-30, 4.0])
BINARY_OTHERS = np.array([-1.0, -2.0, 0.5, np.nan, -1.0, -3.0, np.inf, np.inf, 1.0, 1e30, 1e-7])


def test_xlog1py_matches_torch():
    grid_a, grid_b = np.meshgrid(np.linspace(-3, 3, 25), np.linspace(-0.99, 9, 31))
    a, b = np.concatenate([grid_a.ravel(), BINARY_EDGES]), np.concatenate([grid_b.ravel(), BINARY_OTHERS])
    with np.errstate(all="ignore"):
        for dtype, tolerance in ((np.float32, 1e-6), (np.float64, 1e-13)):
            _assert_close(*(_values_and_gradients(library, "xlog1py", dtype, a, b) for library in (mg, torch)),
                          tolerance)


def test_zeta_matches_torch():
    grid_x, grid_q = np.meshgrid(np.linspace(1.1, 9, 17), np.concatenate([np.linspace(-4.5, 8, 26), [-3, -1, 0]]))
    x = np.concatenate([grid_x.ravel(), [1.0, 0.5, -2.0, 2.0, 2.0, 2.0, np.nan, 2.0, 40.0]])
    q = np.concatenate([grid_q.ravel(), [1.0, 1.0, 2.0, np.inf, 1e-3, 1e4, 1.0, np.nan, 1.5]])
    with np.errstate(all="ignore"):
        for dtype, tolerance in ((np.float32, 5e-6), (np.float64, 1e-12)):
            _assert_close(*(_values_and_gradients(library, "zeta", dtype, x, q, differentiable=(False, True))
                            for library in (mg, torch)), tolerance)


def test_nodes_are_named_as_torchs():
    tensor = np.array([0.3, 0.6])
    calls = {name: (lambda library, x, name=name: getattr(library.special, name)(x)) for name in DIFFERENTIABLE}
    calls.update({
        "xlog1py": lambda library, x: library.special.xlog1py(x, x),
        "zeta": lambda library, x: library.special.zeta(x + 2, x),
        "xlog1py number first": lambda library, x: library.special.xlog1py(2.0, x),
        "xlog1py number second": lambda library, x: library.special.xlog1py(x, 2.0),
        "zeta number first": lambda library, x: library.special.zeta(2.0, x),
        "zeta number second": lambda library, x: library.special.zeta(x, 2.0)})
    for name, call in calls.items():
        ours, theirs = (call(library, library.tensor(tensor, requires_grad=True)) for library in (mg, torch))
        assert ours.grad_fn.name() == theirs.grad_fn.name(), name
        assert ours.dtype == mg.float64 and theirs.dtype == torch.float64


@pytest.mark.parametrize("first, second", [(2, np.array([1, 3])), (np.array([1, 3]), 2.5),
                                           (np.array([1, 3]), np.array([0.5, 2.0], dtype=np.float32))])
@pytest.mark.parametrize("name", ["xlog1py", "zeta"])
def test_binary_forms_promote_as_torchs(name, first, second):
    def call(library):
        operands = [library.tensor(a) if isinstance(a, np.ndarray) else a for a in (first, second)]
        return getattr(library.special, name)(*operands)
    ours, theirs = call(mg), call(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("second", [lambda library: library.tensor([1.5, 2.5]), lambda library: 2.0])
def test_zeta_has_no_gradient_for_its_first_operand(second):
    def backward(library):
        x = library.tensor([2.5, 3.0], requires_grad=True)
        return lambda: library.special.zeta(x, second(library)).sum().backward()
    assert_raises_as_torch(backward(torch), backward(mg))


def test_binary_gradchecks_and_second_derivatives():
    a, b = np.array([-1.5, 0.5, 2.0, 0.0]), np.array([0.5, -0.5, 3.0, 1.5])
    assert mg.gradcheck(mg.special.xlog1py, [mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)])
    check_double_backward(lambda library, a, b: library.special.xlog1py(a, b), a, b)
    x, q = np.array([2.5, 3.0, 4.0, 1.5]), np.array([0.5, 1.5, -2.5, 4.0])
    assert mg.gradcheck(mg.special.zeta, [mg.tensor(x), mg.tensor(q, requires_grad=True)])
    check_double_backward(lambda library, x, q: library.special.zeta(x, q), x, q, differentiable=[False, True])


def test_new_functions_run_on_the_gpu_path(gpu_path):
    """Each new function's values and gradients on device arrays, as on the host."""
    x, unit = np.linspace(-3, 3, 13), np.linspace(0.05, 0.95, 13)

    def run(device):
        inputs = [mg.tensor(a.astype(np.float32), device=device, requires_grad=True) for a in (x, unit)]
        line, within = inputs
        outs = [getattr(mg.special, name)(within if name == "ndtri" else line) for name in DIFFERENTIABLE]
        outs += [mg.special.xlog1py(line, within), mg.special.zeta(line.detach() + 4, within)]
        mg.autograd.backward([out.sum() for out in outs])
        outs += [getattr(mg.special, name)(line) for name in WITHOUT_GRADIENT]
        assert all(t.device == device for t in [*outs, line.grad, within.grad])
        return [t.numpy() for t in (*outs, line.grad, within.grad)]

    with np.errstate(all="ignore"):
        for gpu, cpu in zip(run("gpu"), run("cpu")):
            _assert_device_matches_host(gpu, cpu, gpu_path)


def _assert_device_matches_host(gpu, cpu, gpu_path):
    """The host's float32 values on the stand-in, which makes the same NumPy and SciPy calls; on a GPU, whose
    float32 functions and recurrences (fused multiply-adds) round otherwise, within 1e-5 of each output's largest
    finite value (entries near a root are its difference of two such values). Infinities and NaNs where the host's
    are, on both."""
    assert gpu.dtype == cpu.dtype
    scale = np.abs(cpu[np.isfinite(cpu)]).max(initial=0) if isinstance(gpu_path, RecordingRunner) else 0
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5 if scale else 1e-6, atol=1e-5 * scale)


POLYNOMIALS = [name for name in mg.special.__all__ if "polynomial" in name]
POLYNOMIAL_POINTS = np.concatenate([np.linspace(-1.5, 1.5, 61), np.linspace(-0.2, 1.2, 29),
                                    [1.0, -1.0, 0.0, 0.5, 2.0, -2.0, 1 - 1e-7, -1 + 1e-7]])


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch(name):
    """Degree by degree (the closed forms of high degrees and the recurrences alike, each within the float rounding of
    its largest value), and torch's conventions: truncated degrees, 0 for negative and non-finite ones, edge values."""
    with np.errstate(all="ignore"):
        for dtype, top, tolerance in ((np.float32, 20, 1e-6), (np.float64, 60, 1e-13)):
            for n in [*range(-2, top), 2.7, -0.5]:
                ours, theirs = (getattr(library.special, name)(library.tensor(POLYNOMIAL_POINTS.astype(dtype)), n)
                                for library in (mg, torch))
                assert ours.dtype == mg.tensor(POLYNOMIAL_POINTS.astype(dtype)).dtype and not ours.requires_grad
                assert relative_error(ours.numpy(), theirs.numpy()) < tolerance, (dtype, n)
            points = np.array([0.25, -1.0, 1.0, 3.0], dtype=dtype)
            degrees = np.array([[-3.0], [np.nan], [np.inf], [-np.inf], [1e30], [0.0], [1.0], [3.0]], dtype=dtype)
            ours, theirs = (getattr(library.special, name)(library.tensor(points), library.tensor(degrees))
                            for library in (mg, torch))
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["hermite_polynomial_h", "hermite_polynomial_he"])
def test_hermite_polynomials_are_nan_past_torchs_degrees(name):
    for dtype, n in ((np.float32, 129), (np.float64, 513)):
        ours, theirs = (getattr(library.special, name)(library.tensor(np.array([0.0, 0.5], dtype=dtype)), n)
                        for library in (mg, torch))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("x, n", [(np.array([1, 2, -1]), 3), (0.5, np.array([2, 3])),
                                  (np.array([1, 2]), np.array([3, 4])), (np.array([0.5, 0.25], dtype=np.float32), 2.0),
                                  (np.array([0.5]), np.array([2.0, 3.0], dtype=np.float32))])
@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "laguerre_polynomial_l"])
def test_polynomial_operands_promote_as_torchs(name, x, n):
    def call(library):
        return getattr(library.special, name)(*(library.tensor(a) if isinstance(a, np.ndarray) else a for a in (x, n)))
    ours, theirs = call(mg), call(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "hermite_polynomial_he"])
def test_polynomials_refuse_as_torchs(name):
    for arguments in ((0.5, 2), ("a", torch.tensor([1.0]))):
        assert_raises_as_torch(lambda: getattr(torch.special, name)(*arguments),
                               lambda: getattr(mg.special, name)(*(mg.tensor(a.numpy()) if isinstance(a, torch.Tensor)
                                                                   else a for a in arguments)))

    def backward(library):
        x = library.tensor([0.5, 0.25], requires_grad=True)
        return lambda: getattr(library.special, name)(x, 3).sum().backward()
    assert_raises_as_torch(backward(torch), backward(mg))
    assert_raises_as_torch(lambda: getattr(torch.special, name)(torch.tensor([0.5], dtype=torch.float16), 2),
                           lambda: getattr(mg.special, name)(mg.tensor([0.5], dtype=mg.float16), 2))


def test_polynomials_run_on_the_gpu_path(gpu_path):
    degrees = np.arange(-1, 12).reshape(-1, 1).astype(np.float32)

    def run(device):
        x, n = mg.tensor(POLYNOMIAL_POINTS.astype(np.float32), device=device), mg.tensor(degrees, device=device)
        outs = [getattr(mg.special, name)(x, n) for name in POLYNOMIALS]
        assert all(out.device == device for out in outs)
        return [out.numpy() for out in outs]

    with np.errstate(all="ignore"):
        for gpu, cpu in zip(run("gpu"), run("cpu")):
            _assert_device_matches_host(gpu, cpu, gpu_path)
