"""torch's layers and functions that ported image models use, against torch: F.linear, the padding layers (with F.pad's
circular mode), Unflatten, the Upsampling layers, Softmax2d, the shrink, gated and other activations and torch's
in-place functional variants: values, gradients, float64 gradchecks, dtypes, reprs and argument errors."""
import types

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
import minigrad.nn as mgnn
from conftest import error_of, relative_error
from test_conv_options import assert_module_matches_torch

torch = pytest.importorskip("torch")

MG = types.SimpleNamespace(F=mgF, nn=mgnn, tensor=mg.tensor, float64=mg.float64)
TORCH = types.SimpleNamespace(F=torch.nn.functional, nn=torch.nn, tensor=torch.tensor, float64=torch.float64)

# (fn(lib, *tensors), input shapes, low, high): inputs drawn uniformly from [low, high]
CASES = {
    "linear": (lambda L, x, w, b: L.F.linear(x, w, b), [(2, 3, 4), (5, 4), (5,)], -2, 2),
    "linear_no_bias_1d_input": (lambda L, x, w: L.F.linear(x, w), [(4,), (5, 4)], -2, 2),
    "linear_1d_weight": (lambda L, x, w: L.F.linear(x, w), [(3, 4), (4,)], -2, 2),
    "linear_module": (lambda L, x: _seeded(L.nn.Linear(4, 3))(x), [(2, 4)], -2, 2),
    "pad_circular_1d": (lambda L, x: L.F.pad(x, (2, 1), mode="circular"), [(2, 3, 5)], -2, 2),
    "pad_circular_2d": (lambda L, x: L.F.pad(x, (1, 2, 3, 0), mode="circular"), [(2, 3, 4, 5)], -2, 2),
    "pad_circular_whole_size": (lambda L, x: L.F.pad(x, (3, 3), mode="circular"), [(2, 3)], -2, 2),
    "pad_circular_negative": (lambda L, x: L.F.pad(x, (-1, 2, 1, -2), mode="circular"), [(1, 4, 5)], -2, 2),
    "ZeroPad1d": (lambda L, x: L.nn.ZeroPad1d(2)(x), [(2, 3, 5)], -2, 2),
    "ZeroPad2d": (lambda L, x: L.nn.ZeroPad2d((1, 1, 2, 0))(x), [(2, 3, 4, 5)], -2, 2),
    "ConstantPad1d": (lambda L, x: L.nn.ConstantPad1d((3, 1), 3.5)(x), [(3, 5)], -2, 2),
    "ConstantPad2d": (lambda L, x: L.nn.ConstantPad2d(1, -1.5)(x), [(3, 4, 5)], -2, 2),
    "ReflectionPad1d": (lambda L, x: L.nn.ReflectionPad1d(2)(x), [(2, 3, 5)], -2, 2),
    "ReflectionPad2d": (lambda L, x: L.nn.ReflectionPad2d((1, 2, 3, 0))(x), [(2, 3, 4, 5)], -2, 2),
    "ReplicationPad1d": (lambda L, x: L.nn.ReplicationPad1d((0, 3))(x), [(3, 5)], -2, 2),
    "ReplicationPad2d": (lambda L, x: L.nn.ReplicationPad2d(2)(x), [(1, 3, 4, 5)], -2, 2),
    "CircularPad1d": (lambda L, x: L.nn.CircularPad1d(2)(x), [(2, 3, 5)], -2, 2),
    "CircularPad2d": (lambda L, x: L.nn.CircularPad2d((1, 0, 2, 3))(x), [(3, 4, 5)], -2, 2),
    "Unflatten": (lambda L, x: L.nn.Unflatten(1, (2, 3))(x) * 2, [(2, 6, 4)], -2, 2),
    "Unflatten_inferred": (lambda L, x: L.nn.Unflatten(-1, (-1, 2))(x) * 2, [(2, 6)], -2, 2),
    "unflatten_method": (lambda L, x: x.unflatten(-1, (3, 2)) * 2, [(2, 6)], -2, 2),
    "unflatten_method_dim_0": (lambda L, x: x.unflatten(0, (1, -1, 2)) * 2, [(4, 3)], -2, 2),
    "UpsamplingNearest2d": (lambda L, x: L.nn.UpsamplingNearest2d(scale_factor=2)(x), [(2, 3, 4, 5)], -2, 2),
    "UpsamplingNearest2d_size": (lambda L, x: L.nn.UpsamplingNearest2d(size=(7, 3))(x), [(1, 2, 4, 5)], -2, 2),
    "UpsamplingBilinear2d": (lambda L, x: L.nn.UpsamplingBilinear2d(scale_factor=2)(x), [(2, 3, 4, 5)], -2, 2),
    "UpsamplingBilinear2d_size": (lambda L, x: L.nn.UpsamplingBilinear2d(size=6)(x), [(1, 2, 4, 5)], -2, 2),
    "Softmax2d": (lambda L, x: L.nn.Softmax2d()(x), [(2, 3, 4, 5)], -2, 2),
    "Softmax2d_unbatched": (lambda L, x: L.nn.Softmax2d()(x), [(3, 4, 5)], -2, 2),
    "selu": (lambda L, x: L.F.selu(x), [(3, 4, 5)], -3, 3),
    "SELU": (lambda L, x: L.nn.SELU(inplace=True)(x * 1), [(3, 4)], -3, 3),
    "celu": (lambda L, x: L.F.celu(x), [(3, 4, 5)], -3, 3),
    "celu_alpha": (lambda L, x: L.F.celu(x, 0.4), [(3, 4, 5)], -3, 3),
    "CELU": (lambda L, x: L.nn.CELU(2.5)(x), [(3, 4)], -3, 3),
    "glu": (lambda L, x: L.F.glu(x), [(3, 4, 6)], -3, 3),
    "glu_dim": (lambda L, x: L.F.glu(x, 1), [(3, 4, 5)], -3, 3),
    "GLU": (lambda L, x: L.nn.GLU(0)(x), [(4, 3)], -3, 3),
    "logsigmoid": (lambda L, x: L.F.logsigmoid(x), [(3, 4, 5)], -4, 4),
    "logsigmoid_large": (lambda L, x: L.F.logsigmoid(x), [(50,)], -300, 300),
    "LogSigmoid": (lambda L, x: L.nn.LogSigmoid()(x), [(3, 4)], -4, 4),
    "softsign": (lambda L, x: L.F.softsign(x), [(3, 4, 5)], -4, 4),
    "Softsign": (lambda L, x: L.nn.Softsign()(x), [(3, 4)], -4, 4),
    "softmin": (lambda L, x: L.F.softmin(x, 1), [(3, 4, 5)], -3, 3),
    "softmin_dtype": (lambda L, x: L.F.softmin(x, -1, dtype=L.float64), [(3, 4)], -3, 3),
    "Softmin": (lambda L, x: L.nn.Softmin(0)(x), [(3, 4)], -3, 3),
    "threshold": (lambda L, x: L.F.threshold(x, 0.3, -2.0), [(3, 4, 5)], -2, 2),
    "Threshold": (lambda L, x: L.nn.Threshold(-0.5, 4, inplace=True)(x * 1), [(3, 4)], -2, 2),
    "hardshrink": (lambda L, x: L.F.hardshrink(x), [(3, 4, 5)], -2, 2),
    "Hardshrink": (lambda L, x: L.nn.Hardshrink(1.2)(x), [(3, 4)], -2, 2),
    "softshrink": (lambda L, x: L.F.softshrink(x), [(3, 4, 5)], -2, 2),
    "Softshrink": (lambda L, x: L.nn.Softshrink(0.8)(x), [(3, 4)], -2, 2),
    "tanhshrink": (lambda L, x: L.F.tanhshrink(x), [(3, 4, 5)], -3, 3),
    "Tanhshrink": (lambda L, x: L.nn.Tanhshrink()(x), [(3, 4)], -3, 3),
}
# the in-place variants, each on a non-leaf copy of the input, whose result is that copy itself
IN_PLACE = {
    "relu_": lambda L, y: L.F.relu_(y),
    "leaky_relu_": lambda L, y: L.F.leaky_relu_(y, 0.2),
    "hardtanh_": lambda L, y: L.F.hardtanh_(y, -0.5, 1.5),
    "elu_": lambda L, y: L.F.elu_(y, 0.7),
    "selu_": lambda L, y: L.F.selu_(y),
    "celu_": lambda L, y: L.F.celu_(y, alpha=1.5),
    "threshold_": lambda L, y: L.F.threshold_(y, 0.25, 3.0),
}
CASES.update({name: ((lambda fn: lambda L, x: _applied_in_place(fn, L, x))(fn), [(3, 4, 5)], -2, 2)
              for name, fn in IN_PLACE.items()})


def _applied_in_place(fn, L, x):
    y = x * 1
    out = fn(L, y)
    assert out is y
    return y


def _seeded(layer):
    """A layer whose parameters are the same seeded draws in either library."""
    rng = np.random.default_rng(3)
    lib = torch if isinstance(layer, torch.nn.Module) else mg
    with lib.no_grad():
        for p in layer.parameters():
            p.copy_(lib.tensor(rng.uniform(-1, 1, tuple(p.shape)).astype(np.float32)))
    return layer


def _inputs(name, dtype, seed=0):
    _, shapes, low, high = CASES[name]
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, shape).astype(dtype) for shape in shapes]


def _forward_backward(L, name, arrays, direction=None, device=None):
    """fn's output and the gradients of sum(out * direction) of its inputs, as NumPy arrays, with the output's
    dtype."""
    options = {} if device is None else {"device": device}
    tensors = [L.tensor(a, requires_grad=True, **options) for a in arrays]
    out = CASES[name][0](L, *tensors)
    if direction is None:
        direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * L.tensor(direction.astype(np.float64 if str(out.dtype).endswith("float64") else np.float32),
                    **options)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors], direction


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_torch(name):
    arrays = _inputs(name, np.float32)
    expected, expected_grads, direction = _forward_backward(TORCH, name, arrays)
    out, grads, _ = _forward_backward(MG, name, arrays, direction)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    for grad, expected_grad in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [name for name in CASES if name not in ("logsigmoid_large", "linear_module")])
def test_gradcheck(name):
    arrays = [mg.tensor(a, requires_grad=True) for a in _inputs(name, np.float64, seed=2)]
    assert mg.gradcheck(lambda *tensors: CASES[name][0](MG, *tensors), arrays)


# ---- at the kinks: torch's one-sided gradients, and NaN ---------------------------------------------------------

KINKS = {
    "threshold": (lambda L, x: L.F.threshold(x, 0.5, -1.0), [-1.0, 0.0, 0.5, 0.75, float("nan")]),
    "hardshrink": (lambda L, x: L.F.hardshrink(x), [-0.75, -0.5, 0.0, 0.5, 0.75, float("nan")]),
    "softshrink": (lambda L, x: L.F.softshrink(x), [-0.75, -0.5, 0.0, 0.5, 0.75, float("nan")]),
    "selu": (lambda L, x: L.F.selu(x), [-1.0, 0.0, 1.0]),
    "celu": (lambda L, x: L.F.celu(x, 0.5), [-1.0, 0.0, 1.0]),
    "logsigmoid": (lambda L, x: L.F.logsigmoid(x), [-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4]),
    "softsign": (lambda L, x: L.F.softsign(x), [-1e30, 0.0, 1e30]),
}


@pytest.mark.parametrize("name", KINKS)
def test_kinks_match_torch(name):
    fn, values = KINKS[name]
    results = []
    for L in (TORCH, MG):
        x = L.tensor(np.array(values, np.float32), requires_grad=True)
        out = fn(L, x)
        out.sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-40)  # logsigmoid(100) is subnormal


DTYPES = {
    "threshold_int": lambda L: L.F.threshold(L.tensor([1, 2, 3]), 1, 0.5),
    "threshold_float64": lambda L: L.F.threshold(L.tensor([1.0, 2.0]).double(), 1.5, 7),
    "softsign_int": lambda L: L.F.softsign(L.tensor([1, -2, 3])),
    "tanhshrink_int": lambda L: L.F.tanhshrink(L.tensor([1, -2, 3])),
    "selu_float64": lambda L: L.F.selu(L.tensor([-1.0, 2.0]).double()),
    "hardshrink_float64": lambda L: L.F.hardshrink(L.tensor([-1.0, 0.2]).double()),
    "pad_circular_int": lambda L: L.F.pad(L.tensor([[1, 2, 3]]), (1, 2), mode="circular"),
    "linear_float64": lambda L: L.F.linear(L.tensor([[1.0, 2.0]]).double(), L.tensor([[3.0, 4.0]]).double()),
}


@pytest.mark.parametrize("name", DTYPES)
def test_result_dtypes_and_values_match_torch(name):
    expected, out = (DTYPES[name](L) for L in (TORCH, MG))
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("args, options", [
    ((4, 6, 3), dict(padding=1, padding_mode="circular")),
    ((4, 6, (3, 2)), dict(stride=2, padding=(2, 1), groups=2, padding_mode="circular")),
    ((4, 6, 4), dict(padding="same", dilation=(1, 2), padding_mode="circular")),
], ids=str)
def test_conv2d_circular_padding_matches_torch(args, options):
    x = np.random.default_rng(4).standard_normal((2, 4, 7, 6))
    assert_module_matches_torch("Conv2d", args, options, x)
    assert repr(mg.nn.Conv2d(*args, **options)) == repr(torch.nn.Conv2d(*args, **options))


# ---- module reprs ----------------------------------------------------------------------------------------------

REPRS = [
    lambda nn: nn.ZeroPad1d(2), lambda nn: nn.ZeroPad2d((1, 1, 2, 0)), lambda nn: nn.ZeroPad2d(1),
    lambda nn: nn.ZeroPad2d((1, 2)), lambda nn: nn.ConstantPad1d(2, 3.5), lambda nn: nn.ConstantPad2d((1, 2, 3, 4), 1),
    lambda nn: nn.ReflectionPad1d(2), lambda nn: nn.ReflectionPad2d((1, 1, 2, 0)), lambda nn: nn.ReplicationPad1d(3),
    lambda nn: nn.ReplicationPad2d(1), lambda nn: nn.CircularPad1d(1), lambda nn: nn.CircularPad2d(2),
    lambda nn: nn.Unflatten(1, (2, 5)), lambda nn: nn.Unflatten(-1, [2, -1]),
    lambda nn: nn.UpsamplingNearest2d(scale_factor=2), lambda nn: nn.UpsamplingNearest2d(size=(3, 4)),
    lambda nn: nn.UpsamplingBilinear2d(scale_factor=2), lambda nn: nn.UpsamplingBilinear2d(size=5),
    lambda nn: nn.Softmax2d(), lambda nn: nn.SELU(), lambda nn: nn.SELU(True), lambda nn: nn.CELU(),
    lambda nn: nn.CELU(2.0, True), lambda nn: nn.GLU(), lambda nn: nn.GLU(1), lambda nn: nn.LogSigmoid(),
    lambda nn: nn.Softsign(), lambda nn: nn.Softmin(), lambda nn: nn.Softmin(1), lambda nn: nn.Threshold(0.1, 20),
    lambda nn: nn.Threshold(0.1, 20, True), lambda nn: nn.Hardshrink(), lambda nn: nn.Softshrink(0.3),
    lambda nn: nn.Tanhshrink(), lambda nn: nn.Linear(3, 4, bias=False),
    lambda nn: nn.Sequential(nn.ReflectionPad2d(1), nn.ELU(0.5, True), nn.LeakyReLU(0.2), nn.ReLU6(True)),
]


@pytest.mark.parametrize("build", REPRS)
def test_repr_matches_torch(build):
    assert repr(build(mgnn)) == repr(build(torch.nn))


# ---- argument errors -------------------------------------------------------------------------------------------

ERRORS = {
    "linear_in_features": lambda L: L.F.linear(L.tensor(np.zeros((2, 3), np.float32)),
                                               L.tensor(np.zeros((4, 5), np.float32))),
    "linear_batched_in_features": lambda L: L.F.linear(L.tensor(np.zeros((2, 5, 3), np.float32)),
                                                       L.tensor(np.zeros((4, 5), np.float32))),
    "linear_1d_input": lambda L: L.F.linear(L.tensor(np.zeros(3, np.float32)), L.tensor(np.zeros((4, 5), np.float32))),
    "linear_3d_weight": lambda L: L.F.linear(L.tensor(np.zeros((2, 3), np.float32)),
                                             L.tensor(np.zeros((2, 4, 3), np.float32))),
    "linear_module": lambda L: L.nn.Linear(3, 4)(L.tensor(np.zeros((2, 5), np.float32))),
    "glu_odd": lambda L: L.F.glu(L.tensor(np.zeros((2, 3), np.float32))),
    "glu_scalar": lambda L: L.F.glu(L.tensor(np.float32(1))),
    "glu_dim": lambda L: L.F.glu(L.tensor(np.zeros((2, 4), np.float32)), dim=2),
    "celu_alpha_0": lambda L: L.F.celu(L.tensor([1.0]), 0.0),
    "softshrink_negative": lambda L: L.F.softshrink(L.tensor([1.0]), -1.0),
    "softshrink_negative_float64": lambda L: L.F.softshrink(L.tensor([1.0]).double(), -0.5),
    "softshrink_int": lambda L: L.F.softshrink(L.tensor([1, 2])),
    "hardshrink_int": lambda L: L.F.hardshrink(L.tensor([1, 2])),
    "logsigmoid_int": lambda L: L.F.logsigmoid(L.tensor([1, 2])),
    "softmax2d_2d": lambda L: L.nn.Softmax2d()(L.tensor(np.zeros((3, 3), np.float32))),
    "reflection_pad2d_2d": lambda L: L.nn.ReflectionPad2d(1)(L.tensor(np.zeros((3, 3), np.float32))),
    "reflection_pad1d_1d": lambda L: L.nn.ReflectionPad1d(1)(L.tensor(np.zeros(3, np.float32))),
    "circular_pad2d_5d": lambda L: L.nn.CircularPad2d(1)(L.tensor(np.zeros((1, 1, 1, 3, 3), np.float32))),
    "circular_pad1d_1d": lambda L: L.nn.CircularPad1d(1)(L.tensor(np.zeros(3, np.float32))),
    "zero_pad2d_1d": lambda L: L.nn.ZeroPad2d(1)(L.tensor(np.zeros(3, np.float32))),
    "pad_odd_length": lambda L: L.F.pad(L.tensor(np.zeros((2, 3), np.float32)), (1, 2, 3)),
    "circular_wraps_twice": lambda L: L.F.pad(L.tensor(np.zeros((1, 2, 3), np.float32)), (4, 1), mode="circular"),
    "reflect_wider_than_width": lambda L: L.F.pad(L.tensor(np.zeros((1, 2, 3, 4), np.float32)), (4, 0, 3, 0),
                                                  mode="reflect"),
    "reflect_wider_than_height": lambda L: L.F.pad(L.tensor(np.zeros((1, 2, 3, 4), np.float32)), (1, 0, 0, 3),
                                                   mode="reflect"),
    "reflect_wider_than_length": lambda L: L.F.pad(L.tensor(np.zeros((2, 5), np.float32)), (5, 1), mode="reflect"),
    "unflatten_int": lambda L: L.nn.Unflatten(1, 5),
    "unflatten_element": lambda L: L.nn.Unflatten(1, (2, 5.0)),
    "unflatten_sizes": lambda L: L.nn.Unflatten(1, (2, 4))(L.tensor(np.zeros((2, 10), np.float32))),
    "unflatten_inferred_sizes": lambda L: L.nn.Unflatten(1, (3, -1))(L.tensor(np.zeros((2, 10), np.float32))),
    "relu__leaf": lambda L: L.F.relu_(L.tensor([1.0, -1.0], requires_grad=True)),
    "threshold__leaf": lambda L: L.F.threshold_(L.tensor([1.0, -1.0], requires_grad=True), 0.0, 1.0),
}


@pytest.mark.parametrize("name", ERRORS)
def test_argument_errors_match_torch(name):
    assert error_of(lambda: ERRORS[name](MG)) == error_of(lambda: ERRORS[name](TORCH))


def test_softmin_without_dim_warns_as_torch():
    for L in (TORCH, MG):
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmin has been deprecated"):
            L.F.softmin(L.tensor(np.zeros((2, 3), np.float32)))


def test_in_place_variants_write_into_the_input_unrecorded():
    """Outside autograd, as torch: the tensor's own array is written, so a view of it sees the result."""
    for name, fn in IN_PLACE.items():
        x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
        results = []
        for L in (TORCH, MG):
            tensor = L.tensor(x.copy())
            view = tensor[1]
            assert fn(L, tensor) is tensor
            results.append((tensor.numpy(), view.numpy()))
        for ours, theirs in zip(results[1], results[0]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=name)


def test_inplace_flags_are_accepted_and_leave_the_input():
    """As minigrad's other activations: the flag shows in the repr, the result is a new tensor."""
    x = mg.tensor([-1.0, 0.5])
    for layer in (mgnn.SELU(inplace=True), mgnn.CELU(inplace=True), mgnn.Threshold(0.0, 2.0, inplace=True)):
        assert layer(x) is not x
    assert mgF.selu(x, inplace=True) is not x and x.tolist() == [-1.0, 0.5]


# ---- the GPU path ----------------------------------------------------------------------------------------------

GPU_CASES = ["linear", "pad_circular_2d", "ReflectionPad2d", "ReplicationPad1d", "ConstantPad2d", "Unflatten",
             "UpsamplingBilinear2d", "Softmax2d", "selu", "celu_alpha", "glu", "logsigmoid", "softsign", "softmin",
             "threshold", "hardshrink", "softshrink", "tanhshrink", "selu_", "threshold_"]


@pytest.mark.parametrize("name", GPU_CASES)
def test_gpu_path_matches_cpu(name, gpu_path):
    arrays = _inputs(name, np.float32)
    cpu = _forward_backward(MG, name, arrays, device="cpu")
    gpu = _forward_backward(MG, name, arrays, cpu[2], device="gpu")
    for ours, reference in zip([gpu[0], *gpu[1]], [cpu[0], *cpu[1]]):  # a GPU sums in another order
        assert relative_error(ours, reference) <= 1e-5
