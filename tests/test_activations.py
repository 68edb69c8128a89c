"""torch's other activations and element-wise math against torch: values and gradients at the kinks (where torch
picks a one-sided derivative, or none), dtypes, the nn modules, and the GPU path without a GPU. The gradchecks and
parity tests away from the kinks are the SPECS of test_ops.py."""
import types
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
import minigrad.nn as mgnn
from conftest import RecordingRunner, assert_raises_as_torch

torch = pytest.importorskip("torch")

MG = types.SimpleNamespace(F=mgF, nn=mgnn, tensor=mg.tensor)
TORCH = types.SimpleNamespace(F=torch.nn.functional, nn=torch.nn, tensor=torch.tensor)


def _run(lib, fn, arrays, direction=None):
    """fn(lib, *tensors) and, for float inputs, the gradients of sum(out * direction) as NumPy arrays."""
    tensors = [lib.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(lib, *tensors)
    if not any(t.requires_grad for t in tensors):
        return out, []
    weights = np.ones(tuple(out.shape), out.detach().numpy().dtype) if direction is None else direction
    (out * lib.tensor(weights)).sum().backward()
    return out, [t.grad.numpy() for t in tensors]


# ---- kinks: torch's gradient at the points where the function bends or steps --------------------------------

NAN = float("nan")  # maximum and minimum: both sides get the gradient where either is NaN
KINKS = {
    "relu6": (lambda L, x: L.F.relu6(x), [[-1.0, 0.0, 3.0, 6.0, 7.0]]),
    "hardtanh": (lambda L, x: L.F.hardtanh(x), [[-2.0, -1.0, 0.0, 1.0, 2.0]]),
    "hardtanh_bounds": (lambda L, x: L.F.hardtanh(x, -0.5, 1.5), [[-0.5, 0.0, 1.5]]),
    "leaky_relu": (lambda L, x: L.F.leaky_relu(x, 0.2), [[-1.0, 0.0, 1.0]]),
    "elu": (lambda L, x: L.F.elu(x), [[-1.0, 0.0, 1.0]]),
    "elu_alpha": (lambda L, x: L.F.elu(x, alpha=0.5), [[-1.0, 0.0, 1.0]]),
    "hardswish": (lambda L, x: L.F.hardswish(x), [[-4.0, -3.0, 0.0, 3.0, 4.0]]),
    "hardsigmoid": (lambda L, x: L.F.hardsigmoid(x), [[-4.0, -3.0, 0.0, 3.0, 4.0]]),
    "softplus_at_threshold": (lambda L, x: L.F.softplus(x, beta=2.0, threshold=1.5), [[0.5, 0.75, 1.0]]),
    "prelu": (lambda L, x, w: L.F.prelu(x, w), [[-1.0, 0.0, 1.0], [0.25]]),
    "clamp_min": (lambda L, x: x.clamp_min(0.5), [[0.0, 0.5, 1.0]]),
    "clamp_max": (lambda L, x: x.clamp_max(0.5), [[0.0, 0.5, 1.0]]),
    "sign": (lambda L, x: x.sign(), [[-1.5, 0.0, 2.0]]),
    "floor": (lambda L, x: x.floor(), [[-1.0, -0.5, 0.0, 2.0, 2.5]]),
    "ceil": (lambda L, x: x.ceil(), [[-1.0, -0.5, 0.0, 2.0, 2.5]]),
    "round": (lambda L, x: x.round(), [[-1.5, -0.5, 0.5, 1.5, 2.5]]),
    "trunc": (lambda L, x: x.trunc(), [[-1.5, -1.0, 0.0, 1.5]]),
    "maximum_ties": (lambda L, a, b: a.maximum(b), [[1.0, 2.0, 3.0], [1.0, 3.0, 3.0]]),
    "minimum_ties": (lambda L, a, b: a.minimum(b), [[1.0, 2.0, 3.0], [1.0, 3.0, 3.0]]),
    "maximum_broadcast_ties": (lambda L, a, b: a.maximum(b), [[[1.0, 2.0], [2.0, 0.0]], [2.0]]),
    "maximum_nan": (lambda L, a, b: a.maximum(b), [[NAN, 1.0, NAN, 1.0], [1.0, NAN, NAN, 3.0]]),
    "minimum_nan": (lambda L, a, b: a.minimum(b), [[NAN, 1.0, NAN, 1.0], [1.0, NAN, NAN, 3.0]]),
    "max_of_two_tensors": (lambda L, a, b: a.max(b), [[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]]),
    "min_of_two_tensors": (lambda L, a, b: a.min(b), [[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]]),
}


@pytest.mark.parametrize("name", KINKS)
def test_values_and_gradients_at_kinks_match_torch(name):
    fn, data = KINKS[name]
    arrays = [np.array(values, np.float32) for values in data]
    direction = np.random.default_rng(0).uniform(0.5, 2.0, np.broadcast_shapes(*(a.shape for a in arrays)))
    direction = direction.astype(np.float32)
    out, grads = _run(MG, fn, arrays, direction)
    expected, expected_grads = _run(TORCH, fn, arrays, direction)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6)
    for grad, expected_grad in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "uint8", "int64"])
def test_relu_keeps_signed_zeros_and_integer_dtypes_as_torchs(dtype):
    """relu(-0.0) is -0.0 in torch, bit for bit here too; NaN and the infinities pass; integers stay integers."""
    if dtype.startswith("float"):
        x = np.array([-0.0, 0.0, -2.0, 3.0, np.nan, -np.inf, np.inf], dtype)
    else:
        x = np.array([0, 7, 100] + ([] if dtype == "uint8" else [-5]), dtype)
    ours, theirs = mg.relu(mg.tensor(x)).numpy(), torch.relu(torch.tensor(x)).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours.view(f"u{x.itemsize}"), theirs.view(f"u{x.itemsize}"))


def test_relu_refuses_bools_as_torch():
    assert_raises_as_torch(lambda: torch.relu(torch.tensor([True, False])), lambda: mg.relu(mg.tensor([True, False])))


# ---- non-finite inputs: the activations that pick one of two formulas per element ---------------------------

PICKING = {
    "leaky_relu": lambda L, x: L.F.leaky_relu(x, 0.2),
    "leaky_relu_steep": lambda L, x: L.F.leaky_relu(x, 2.0),
    "leaky_relu_negative": lambda L, x: L.F.leaky_relu(x, -0.5),
    "elu": lambda L, x: L.F.elu(x),
    "selu": lambda L, x: L.F.selu(x),
    "celu": lambda L, x: L.F.celu(x, 0.5),
    "softplus": lambda L, x: L.F.softplus(x),
    "softplus_beta": lambda L, x: L.F.softplus(x, beta=2.0, threshold=5.0),
    "logsigmoid": lambda L, x: L.F.logsigmoid(x),
    "mish": lambda L, x: L.F.mish(x),
}


@pytest.mark.parametrize("name", PICKING)
def test_picking_activations_match_torch_at_infinities_nan_and_signed_zeros(name):
    tiny = np.finfo(np.float32).smallest_subnormal
    x = np.array([-np.inf, -100.0, -20.0, -tiny, -0.0, 0.0, tiny, 2.5, 20.0, 21.0, 100.0, np.inf, np.nan], np.float32)
    out, (grad,) = _run(MG, PICKING[name], [x])
    expected, (expected_grad,) = _run(TORCH, PICKING[name], [x])
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=2e-6, atol=1e-42)  # torch's subnormal tails
    np.testing.assert_allclose(grad, expected_grad, rtol=2e-6, atol=1e-42)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("beta, threshold", [(1.0, 15.0), (1.0, 16.0), (1.0, 17.5), (1.0, 20.0), (2.0, 40.0)])
def test_softplus_is_torchs_bit_for_bit_past_its_threshold(beta, threshold, dtype):
    """Beyond the threshold torch gives a and grad themselves; where minigrad leaves out its select there (the
    formulas round to them already), they must still be those bits, just past the threshold too."""
    edge = np.float64(threshold / beta).astype(dtype)
    steps = [np.nextafter(edge, np.inf, dtype=dtype)]
    for _ in range(3):
        steps.append(np.nextafter(steps[-1], np.inf, dtype=dtype))
    x = np.concatenate([edge - np.array([1.0, 1e-3], dtype), [edge], steps, edge + np.array([1e-3, 0.1, 1, 5], dtype)])
    softplus = lambda L, x: L.F.softplus(x, beta=beta, threshold=threshold)   # noqa: E731
    out, (grad,) = _run(MG, softplus, [x])
    expected, (expected_grad,) = _run(TORCH, softplus, [x])
    linear = x * beta > threshold
    assert linear.sum() == 8
    np.testing.assert_array_equal(out.numpy()[linear], expected.detach().numpy()[linear])
    np.testing.assert_array_equal(grad[linear], expected_grad[linear])
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=2e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=2e-6)


def test_selecting_by_bits_is_exact_for_every_value():
    """select_into against NumPy's where, bit for bit: NaN, inf, signed zeros, subnormals, from arrays and numbers."""
    from minigrad.ops.elementwise import select_into
    rng = np.random.default_rng(0)
    for dtype in (np.float16, np.float32, np.float64):
        info = np.finfo(dtype)
        special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, info.smallest_subnormal, -info.max, info.max, 1.0]
        values = np.concatenate([np.array(special, dtype), rng.standard_normal(100).astype(dtype)])
        chosen = rng.permutation(values)
        keep = rng.random(values.size) < 0.5
        bits = f"u{values.itemsize}"
        for pick in (chosen, dtype(-0.0), np.nan, 1):
            expected = np.where(keep, np.asarray(pick, dtype), values)
            out = select_into(keep, pick, values.copy())
            np.testing.assert_array_equal(out.view(bits), expected.view(bits))


# ---- tails: where 1 - sigmoid rounds to 1, sigmoid itself must keep its relative digits -----------------------

TAILS = [-200.0, -100.0, -87.0, -30.0, -20.0, -17.0, -10.0, -1.0, 0.0, 1.0, 10.0, 20.0, 100.0]
TAIL_FUNCTIONS = {
    "sigmoid": lambda L, x: L.F.sigmoid(x),
    "silu": lambda L, x: L.F.silu(x),
    "softplus_gradient": lambda L, x: L.F.softplus(x),  # whose gradient is sigmoid
    "mish": lambda L, x: L.F.mish(x),
    "sigmoid_gate": lambda L, x: (mgF.sigmoid_gate(x.view(1, 1, 1, -1), x.view(1, 1, 1, -1), mg.tensor([[[[1.5]]]]))
                                  if L is MG else x * torch.sigmoid(x) * 1.5),
}


@pytest.mark.parametrize("path", ["numpy", "cuda_kernels"])
@pytest.mark.parametrize("name", TAIL_FUNCTIONS)
def test_sigmoid_tails_keep_their_digits_like_torch(name, path, request):
    """torch computes 1 / (1 + exp(-x)): sigmoid(-20) is 2.06e-9, where (1 + tanh(x / 2)) / 2 gives 0 in float32."""
    if path == "cuda_kernels":
        request.getfixturevalue("host_kernels")
    fn = TAIL_FUNCTIONS[name]
    x = np.array(TAILS, np.float32)
    out, (grad,) = _run(MG, fn, [x])
    expected, (expected_grad,) = _run(TORCH, fn, [x])
    np.testing.assert_allclose(out.numpy().ravel(), expected.detach().numpy(), rtol=2e-6, atol=0)
    np.testing.assert_allclose(grad, expected_grad, rtol=2e-6, atol=1e-42)


@pytest.mark.parametrize("decimals", [{}, dict(decimals=0), dict(decimals=1), dict(decimals=-1)], ids=str)
def test_rounding_integers_to_decimals_is_torchs_error(decimals):
    """round() keeps integers; round(decimals=...) refuses them, even at 0, as torch's."""
    outcomes = []
    for library in (torch, mg):
        try:
            outcomes.append(library.tensor([15, 25]).round(**decimals).tolist())
        except NotImplementedError as error:
            outcomes.append(str(error).replace("round_vml_cpu", "round_cpu"))  # torch names its CPU kernels two ways
    assert outcomes[1] == outcomes[0]


# ---- dtypes ----------------------------------------------------------------------------------------------------

UNARY = {name: (lambda L, x, name=name: getattr(x, name)())
         for name in ["exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "square", "rsqrt", "reciprocal", "sign",
                      "floor", "ceil", "round", "trunc", "log1p", "expm1", "log2", "log10", "erf"]}
UNARY.update({name: (lambda L, x, name=name: getattr(L.F, name)(x))
              for name in ["leaky_relu", "elu", "gelu", "silu", "mish", "softplus", "hardtanh", "relu6", "hardswish",
                           "hardsigmoid"]})
UNARY["gelu_tanh"] = lambda L, x: L.F.gelu(x, approximate="tanh")
UNARY["prelu"] = lambda L, x: L.F.prelu(x, L.tensor([0.25], dtype=x.dtype))
UNARY["maximum"] = lambda L, x: x.maximum(L.tensor(0.5, dtype=x.dtype))
UNARY["pow"] = lambda L, x: x.pow(2)
UNARY["clamp_float_bounds"] = lambda L, x: x.clamp(0.5, 2.5)  # an integer tensor becomes float32
UNARY["clamp_min_int_bound"] = lambda L, x: x.clamp_min(1)


@pytest.mark.parametrize("name", UNARY)
def test_float64_stays_float64_like_torch(name):
    x = np.array([-1.5, -0.25, 0.5, 2.0])
    with np.errstate(invalid="ignore"):  # log and sqrt of negatives: NaN, as torch's
        out, grads = _run(MG, UNARY[name], [x])
    expected, expected_grads = _run(TORCH, UNARY[name], [x])
    assert out.dtype == np.float64 and grads[0].dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    rtol = 1e-7 if name == "hardsigmoid" else 1e-12  # torch's hardsigmoid backward scales by 1/6 in float32
    np.testing.assert_allclose(grads[0], expected_grads[0], rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", UNARY)
def test_integer_and_bool_inputs_give_torchs_dtype_or_its_error(name, dtype):
    """tanh and its kin of an integer tensor are float32, square and floor keep integers (square makes a bool
    int64), and the activations that torch has for floating point only refuse them with its error."""
    data = np.array([0, 1, 3] if dtype != "bool" else [False, True, True]).astype(dtype)
    try:
        expected = UNARY[name](TORCH, torch.tensor(data))
    except (NotImplementedError, RuntimeError):
        assert_raises_as_torch(lambda: UNARY[name](TORCH, torch.tensor(data)), lambda: UNARY[name](MG, mg.tensor(data)))
        return
    with np.errstate(divide="ignore"):  # log(0), 1 / 0: -inf and inf, as torch's
        out = UNARY[name](MG, mg.tensor(data))
    assert str(out.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_gelu_refuses_an_unknown_approximation_like_torch():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        torch.nn.functional.gelu(torch.ones(2), approximate="erf")
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        mgF.gelu(mg.ones(2), approximate="erf")


def test_prelu_refuses_a_weight_per_channel_of_another_channel_count_like_torch():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        torch.nn.functional.prelu(torch.ones(2, 4, 3), torch.ones(3))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        mgF.prelu(mg.ones((2, 4, 3)), mg.ones(3))


# ---- modules ---------------------------------------------------------------------------------------------------

MODULES = [
    "Tanh()", "LeakyReLU()", "LeakyReLU(0.2, inplace=True)", "ELU()", "ELU(alpha=0.5, inplace=True)", "GELU()",
    "GELU(approximate='tanh')", "SiLU()", "SiLU(inplace=True)", "Mish()", "Mish(inplace=True)", "Softplus()",
    "Softplus(beta=2.0, threshold=1.5)", "Hardtanh()", "Hardtanh(-2, 3, inplace=True)", "ReLU6()",
    "ReLU6(inplace=True)", "Hardswish()", "Hardswish(inplace=True)", "Hardsigmoid()", "Hardsigmoid(inplace=True)",
    "Softmax(dim=1)", "Softmax(-1)", "PReLU()", "PReLU(3, init=0.1)",
]


@pytest.mark.parametrize("construction", MODULES)
def test_modules_show_and_compute_as_torchs(construction):
    ours, theirs = eval(f"mgnn.{construction}"), eval(f"torch.nn.{construction}")
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(1).uniform(-4, 4, (2, 3, 4, 5)).astype(np.float32)
    mine, reference = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(mine), theirs(reference.clone())  # torch's in-place flag would write into a leaf
    direction = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    (out * mg.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5, atol=1e-6)
    if hasattr(theirs, "inplace"):
        assert ours.inplace == theirs.inplace


@pytest.mark.parametrize("construction", ["LeakyReLU(inplace=True)", "ReLU6(inplace=True)", "SiLU(inplace=True)",
                                          "Hardswish(inplace=True)", "ELU(inplace=True)"])
def test_inplace_flags_leave_the_input_as_it_was(construction):
    """Accepted so that torch code runs, but computed out of place (as nn.ReLU)."""
    x = mg.tensor([-2.0, 0.5, 7.0])
    out = eval(f"mgnn.{construction}")(x)
    assert out is not x
    np.testing.assert_array_equal(x.numpy(), [-2.0, 0.5, 7.0])


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "silu", "mish", "hardtanh", "relu6", "hardswish",
                                  "hardsigmoid"])
def test_functional_inplace_flags_are_accepted_and_computed_out_of_place(name):
    values = np.array([-4.0, -0.5, 0.0, 0.5, 7.0], np.float32)
    expected = getattr(torch.nn.functional, name)(torch.tensor(values), inplace=True)
    x = mg.tensor(values)
    out = getattr(mgF, name)(input=x, inplace=True)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(x.numpy(), values)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_functional_activations_take_torchs_input_keyword(name):
    values = np.array([-4.0, -0.5, 0.0, 0.5, 7.0], np.float32)
    expected = getattr(torch.nn.functional, name)(input=torch.tensor(values))
    np.testing.assert_allclose(getattr(mgF, name)(input=mg.tensor(values)).numpy(), expected.numpy(), rtol=1e-6)


def test_prelu_weight_gradient_and_state_dict_match_torch():
    ours, theirs = mgnn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    theirs.weight.data = torch.tensor([0.1, -0.3, 0.6])
    ours.load_state_dict({name: value.numpy() for name, value in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    assert [name for name, _ in ours.named_parameters()] == ["weight"]
    assert ours.weight.shape == (3,) and ours.weight.dtype == np.float32 and ours.weight.requires_grad
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    mine, reference = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(mine) ** 2).sum().backward()
    (theirs(reference) ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("form", ["Softmax", "softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)], ids=str)
def test_softmax_without_a_dim_warns_and_picks_torchs_dim(form, shape):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    ours, theirs = ((mgnn.Softmax(), torch.nn.Softmax()) if form == "Softmax"
                    else (getattr(mgF, form), getattr(torch.nn.functional, form)))
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {form.lower()}"):
        out = ours(mg.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_functional_softmax_computes_in_torchs_dtype_argument(name):
    x = np.random.default_rng(5).standard_normal((2, 3, 4)).astype(np.float32)
    (out, grads), (expected, expected_grads) = (
        _run(lib, lambda L, t: getattr(L.F, name)(t, dim=-1, dtype=torch.float64 if L is TORCH else mg.float64), [x])
        for lib in (MG, TORCH))
    assert out.dtype == np.float64 and grads[0].dtype == np.float32 == expected_grads[0].dtype
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads[0], expected_grads[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_a_row_of_minus_infinity_is_nan_as_torchs_without_warnings(name):
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = getattr(mgF, name)(mg.tensor(x), dim=1).numpy()
    theirs = getattr(torch.nn.functional, name)(torch.tensor(x), dim=1).numpy()
    assert np.isnan(ours[0]).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("args, kwargs", [((2, 1), {}), ((), {"min_value": 1.0}), ((-3.0,), {"max_value": -4.0})])
def test_hardtanh_refuses_bounds_out_of_order_as_torch(args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert_raises_as_torch(lambda: torch.nn.Hardtanh(*args, **kwargs), lambda: mgnn.Hardtanh(*args, **kwargs))


@pytest.mark.parametrize("args, kwargs", [
    ((), {"min_value": -0.5}),
    ((), {"max_value": 2.0}),
    ((), {"min_value": -2.0, "max_value": 0.5}),
    ((-0.25, 3.0), {"min_value": -1.5, "max_value": 1.5}),   # both names given: the deprecated ones win
    ((-0.25,), {"max_value": 0.5, "inplace": True}),
])
def test_hardtanh_takes_the_deprecated_bound_names_with_torchs_warnings(args, kwargs):
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    results = []
    for lib in (MG, TORCH):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = lib.nn.Hardtanh(*args, **kwargs)
        results.append((module, [(w.category, str(w.message), w.filename) for w in caught]))
    (ours, our_warnings), (theirs, their_warnings) = results
    assert our_warnings == their_warnings and len(their_warnings) == len(kwargs) - ("inplace" in kwargs)
    assert all(filename == __file__ for _, _, filename in our_warnings)
    assert (ours.min_val, ours.max_val, ours.inplace) == (theirs.min_val, theirs.max_val, theirs.inplace)
    assert repr(ours) == repr(theirs)
    np.testing.assert_array_equal(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())


# ---- the GPU path without a GPU --------------------------------------------------------------------------------

def test_activations_and_math_run_on_device_arrays(gpu_path):
    """erf through cupyx.scipy.special, and the masks and where()s of the other ops, on device arrays."""
    x = np.array([-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 6.5], np.float32)

    def run(device):
        a = mg.tensor(x, device=device, requires_grad=True)
        slope = mg.tensor([0.2], device=device, requires_grad=True)
        out = (a.erf() + mgF.gelu(a) + mgF.gelu(a, approximate="tanh") + a.tanh() + mgF.leaky_relu(a) + mgF.elu(a)
               + mgF.silu(a) + mgF.mish(a) + mgF.softplus(a) + mgF.relu6(a) + mgF.hardswish(a) + mgF.hardsigmoid(a)
               + mgF.prelu(a, slope) + a.maximum(a.detach() * 0.5) + a.floor() + a.sign() + a.sin() + a.expm1())
        out.sum().backward()
        assert out.device == device
        return out.numpy(), a.grad.numpy(), slope.grad.numpy()

    for gpu, cpu in zip(run("gpu"), run("cpu")):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6)


def test_picking_activations_run_on_device_arrays(gpu_path):
    """The bit selections of the activations that pick a formula per element, on device arrays."""
    x = np.array([-np.inf, -30.0, -1.0, -0.0, 0.0, 0.5, 3.0, 30.0, np.inf, np.nan], np.float32)

    def run(device):
        a = mg.tensor(x, device=device, requires_grad=True)
        outs = [fn(MG, a) for fn in PICKING.values()]
        sum(out.sum() for out in outs).backward()
        assert all(out.device == device for out in outs)
        return [out.numpy() for out in outs] + [a.grad.numpy()]

    exact = not isinstance(gpu_path, RecordingRunner)  # the stand-in runs NumPy's very functions; a GPU its own
    for gpu, cpu in zip(run("gpu"), run("cpu")):
        np.testing.assert_allclose(gpu, cpu, rtol=0 if exact else 1e-6)


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_glu_refuses_integers_and_bools_as_torch(dtype):
    values = np.ones(4, dtype=dtype)
    assert_raises_as_torch(lambda: torch.nn.functional.glu(torch.tensor(values)),
                           lambda: mgF.glu(mg.tensor(values)))
