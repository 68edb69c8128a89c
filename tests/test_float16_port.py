"""float16 against torch's CPU float16: sums, statistics and matrix products accumulate in float32 and round once
(NumPy's float16 sums round at every step), the engine's broadcast gradients too; Module.half() trains as torch's
and the U-Net runs in float16 close to its float32 result."""
import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")


def _outputs_and_gradients(lib, fn, arrays, dtype=np.float16):
    """fn(lib, *inputs) on tensors of `arrays` in `dtype`, and its inputs' gradients for a fixed direction, as NumPy
    arrays (of their own dtypes)."""
    inputs = [lib.tensor(array.astype(dtype), requires_grad=True) for array in arrays]
    out = fn(lib, *inputs)
    to_numpy = (lambda t: t.numpy()) if lib is mg else (lambda t: t.detach().numpy())
    direction = np.random.default_rng(1).uniform(0.5, 1, tuple(out.shape)).astype(np.float16)
    (out * lib.tensor(direction.astype(dtype))).sum().backward()
    return [to_numpy(out), *(to_numpy(t.grad) for t in inputs)]


def _assert_as_accurate_as_torchs(fn, arrays):
    """fn's float16 output and gradients on minigrad as on torch: float16 each, and as close as torch's to the exact
    result (float64's, of the same float16 values), or within a few float16 roundings of it."""
    exact = _outputs_and_gradients(torch, fn, arrays, np.float64)
    ours, theirs = (_outputs_and_gradients(lib, fn, arrays) for lib in (mg, torch))
    for mine, reference, truth in zip(ours, theirs, exact):
        assert mine.dtype == reference.dtype == np.float16
        assert relative_error(mine, truth) <= max(2 * relative_error(reference, truth), 2e-3)


def _uniform(low, high, *shape):
    return np.random.default_rng(0).uniform(low, high, shape).astype(np.float16)


CLASSES = np.random.default_rng(2).integers(0, 3, 30000)
# each beyond float16's own running sums: 2,048 + 0.5 rounds back to 2,048, and 65,504 is the largest float16
ACCUMULATIONS = {
    "sum over a strided dim": (lambda lib, x: x.sum(dim=0), [_uniform(0, 1, 5000, 3)]),
    "mean past float16's range": (lambda lib, x: x.mean(dim=1), [_uniform(10, 20, 2, 10000)]),
    "mean of more elements than float16 counts": (lambda lib, x: x.mean(), [_uniform(0, 1, 100000)]),
    "var": (lambda lib, x: x.var(dim=0), [_uniform(-3, 3, 30000, 2)]),
    "cumsum": (lambda lib, x: x.cumsum(dim=0), [_uniform(0, 1, 10000)]),
    "logsumexp": (lambda lib, x: x.logsumexp(dim=0), [_uniform(0, 1, 10000)]),
    "vector norm": (lambda lib, x: lib.linalg.vector_norm(x), [_uniform(1, 2, 30000)]),
    "mse_loss": (lambda lib, x, y: lib.nn.functional.mse_loss(x, y), [_uniform(-3, 3, 30000), _uniform(-1, 1, 30000)]),
    "cross_entropy": (lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor(CLASSES)),
                      [_uniform(-2, 2, 30000, 3)]),
}


@pytest.mark.parametrize("name", ACCUMULATIONS)
def test_float16_reductions_accumulate_in_float32_as_torchs(name):
    _assert_as_accurate_as_torchs(*ACCUMULATIONS[name])


NORMALIZATIONS = {
    "batch_norm": lambda lib, x, w, b: lib.nn.functional.batch_norm(x, None, None, w, b, training=True),
    "group_norm": lambda lib, x, w, b: lib.nn.functional.group_norm(x, 1, w, b),
    "layer_norm": lambda lib, x, w, b: lib.nn.functional.layer_norm(x.transpose(1, 3), (3,), w, b),
}


@pytest.mark.parametrize("name", NORMALIZATIONS)
def test_float16_normalization_statistics_as_torchs(name):
    """Values far from 0 over many positions: their sum and sum of squares overflow float16, not float32."""
    arrays = [_uniform(5, 6, 8, 3, 48, 48), _uniform(0.5, 1.5, 3), _uniform(-1, 1, 3)]
    _assert_as_accurate_as_torchs(NORMALIZATIONS[name], arrays)


def test_broadcast_gradient_sums_in_float32():
    """The engine's sum of a broadcast operand's gradient (a bias over a batch), as torch's."""
    _assert_as_accurate_as_torchs(lambda lib, x, b: x * b, [_uniform(0, 1, 6000, 2), _uniform(0.5, 1, 2)])


def test_float16_matmul_refuses_float32_operand_as_torch():
    """The float32 arithmetic of float16 operands does not let a float32 operand in."""
    errors = []
    for lib in (mg, torch):
        with pytest.raises(RuntimeError) as error:
            lib.tensor(_uniform(0, 1, 2, 3)) @ lib.tensor(_uniform(0, 1, 3, 2).astype(np.float32))
        errors.append(error.type)
    assert errors[0] is errors[1]


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 8 * 8, 5))


@pytest.mark.parametrize("optimizer, options", [("SGD", {"lr": 0.01, "momentum": 0.9}),
                                                ("Adam", {"lr": 1e-3, "eps": 1e-4})])
def test_module_half_trains_as_torchs(optimizer, options):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3, 16, 16)).astype(np.float16), rng.integers(0, 5, 8)
    torch.manual_seed(0)
    theirs, ours = _cnn(torch), _cnn(mg)
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    losses = []
    for lib, net in ((mg, ours.half()), (torch, theirs.half())):
        step = getattr(lib.optim, optimizer)(net.parameters(), **options)
        losses.append([])
        for _ in range(4):
            step.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            step.step()
            losses[-1].append(loss.item())
    assert {str(p.dtype) for p in ours.parameters()} == {"float16"} and ours[1].running_var.dtype == np.float16
    np.testing.assert_allclose(losses[0], losses[1], rtol=2e-2)
    if optimizer == "SGD":  # Adam's steps of about lr whatever a gradient's size take float16's noise in full
        for ours_parameter, theirs_parameter in zip(ours.parameters(), theirs.parameters()):
            assert relative_error(ours_parameter.numpy(), theirs_parameter.detach().numpy()) <= 2e-2


def test_unet_half_forward_stays_close_to_float32():
    from unet import UNet

    mg.manual_seed(0)
    net = UNet().eval()
    image = np.random.default_rng(0).uniform(0, 1, (1, 3, 64, 64)).astype(np.float32)
    with mg.no_grad():
        reference = net(mg.tensor(image)).numpy()
        out = net.half()(mg.tensor(image).half())
    assert out.dtype == mg.float16
    assert np.abs(out.numpy().astype(np.float32) - reference).max() <= 4e-3


def test_gpu_path_float16_sums_match_cpu(gpu_path):
    """float16 takes the array path on the device (no kernels), accumulating in float32 there too."""
    array = _uniform(0, 1, 5000, 3)
    results = []
    for device in ("cpu", "gpu"):
        x = mg.tensor(array, requires_grad=True, device=device)
        out = x.sum(dim=0) * x.mean(dim=0)
        out.sum().backward()
        results.append([out.to("cpu").numpy(), x.grad.to("cpu").numpy()])
    for ours, reference in zip(*results):
        assert ours.dtype == reference.dtype == np.float16
        assert relative_error(ours, reference) <= 1e-3


@pytest.mark.parametrize("call", [
    lambda lib, x: x.masked_fill(x == 0, -1e9),  # ported attention's mask value
    lambda lib, x: x.clone().fill_(1e5),
    lambda lib, x: x ** 1e5,
    lambda lib, x: x.clamp(max=70000.0),
    lambda lib, x: lib.full((2,), 1e5, dtype=lib.float16),
    lambda lib, x: x.masked_fill(x == 0, -float("inf")),  # inf is float16's own
    lambda lib, x: lib.zeros(2, dtype=lib.int8).masked_fill(lib.tensor([True, False]), 300),
], ids=["masked_fill", "fill_", "pow", "clamp", "full", "masked_fill inf", "masked_fill int8"])
def test_numbers_beyond_float16_are_refused_as_torch(call):
    outcomes = []
    for lib in (mg, torch):
        try:
            outcomes.append(call(lib, lib.zeros(3, dtype=lib.float16)).tolist())
        except RuntimeError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("call", [
    lambda x: x * 1e5,  # 1e5 as a float16 is inf, and 0 * inf NaN
    lambda x: 65536.0 * x,  # a loss scale
    lambda x: x / 1e-5,
    lambda x: x * 1e-8 * 1e8,  # 1e-8 as a float16 is 0
    lambda x: 100000 - x * 1e5,
], ids=["mul", "rmul", "div", "tiny", "rsub"])
def test_numbers_beside_float16_keep_float32_range_as_torchs(call):
    array = np.array([0.001, 0.25, 0.0, -0.5], np.float16)
    results = []
    for lib in (mg, torch):
        x = lib.tensor(array, requires_grad=True)
        out = call(x)
        out.backward(lib.tensor(np.full(4, 1e-4, np.float16)))
        assert str(out.dtype).endswith("float16") and str(x.grad.dtype).endswith("float16")
        results.append([out.tolist(), x.grad.tolist()])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-3)


MIXED_PRECISION = {  # the running statistics in the parameters' dtype
    "batch_norm": lambda lib, x, w, b: lib.nn.functional.batch_norm(
        x, lib.full((3,), 0.5, dtype=w.dtype), lib.full((3,), 2.0, dtype=w.dtype), w, b, training=True),
    "batch_norm eval": lambda lib, x, w, b: lib.nn.functional.batch_norm(
        x, lib.full((3,), 0.5, dtype=w.dtype), lib.full((3,), 2.0, dtype=w.dtype), w, b),
    "group_norm": lambda lib, x, w, b: lib.nn.functional.group_norm(x, 3, w, b),
    "layer_norm": lambda lib, x, w, b: lib.nn.functional.layer_norm(x.transpose(1, 3), (3,), w, b),
}


@pytest.mark.parametrize("name", MIXED_PRECISION)
def test_float32_normalization_parameters_beside_float16_input_as_torchs(name):
    """torch's mixed precision (norm layers kept in float32 in a float16 network): float16 out, float32
    parameter gradients, as close as torch's to the exact ones (float64's, of the same values) or within a few
    float16 roundings of them. torch's own sums of float16 gradients round differently with its thread count."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 3, 5, 5)).astype(np.float16), *rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32)]
    direction = rng.standard_normal((4, 3, 5, 5)).astype(np.float16)
    if name == "layer_norm":
        direction = direction.transpose(0, 3, 2, 1)

    def outputs_and_gradients(lib, inputs):
        inputs = [lib.tensor(array, requires_grad=True) for array in inputs]
        out = MIXED_PRECISION[name](lib, *inputs)
        (out * lib.tensor(direction)).sum().backward()
        return [t.detach().numpy() for t in (out, *(t.grad for t in inputs))]

    exact = outputs_and_gradients(torch, [array.astype(np.float64) for array in arrays])
    ours, theirs = (outputs_and_gradients(lib, arrays) for lib in (mg, torch))
    for mine, reference, truth, dtype in zip(ours, theirs, exact, (np.float16, np.float16, np.float32, np.float32)):
        assert mine.dtype == reference.dtype == dtype
        assert relative_error(mine, truth) <= max(relative_error(reference, truth), 2e-3)


def test_mixed_normalization_parameters_refused_as_torch():
    """Beside a float16 input the parameters are all float16 or all float32."""
    messages = []
    for lib in (mg, torch):
        x, weight = lib.zeros(2, 3, 4, dtype=lib.float16), lib.ones(4)
        with pytest.raises(RuntimeError) as error:
            lib.nn.functional.layer_norm(x, (4,), weight, weight.double())
        messages.append(str(error.value))
    assert messages[0] == messages[1]


FLOAT16_ACTIVATIONS = {  # (function, the most units in the last place its output and gradient may differ by)
    "leaky_relu": (lambda lib, x: lib.nn.functional.leaky_relu(x, 0.01), 0, 0),
    "elu": (lambda lib, x: lib.nn.functional.elu(x), 0, 1),
    "selu": (lambda lib, x: lib.nn.functional.selu(x), 0, 1),
    "celu": (lambda lib, x: lib.nn.functional.celu(x, 0.7), 1, 1),
    "softplus": (lambda lib, x: lib.nn.functional.softplus(x), 0, 1),
    "mish": (lambda lib, x: lib.nn.functional.mish(x), 0, 1),
    "silu": (lambda lib, x: lib.nn.functional.silu(x), 1, 1),
    "gelu": (lambda lib, x: lib.nn.functional.gelu(x), 2, 1),
    "hardswish": (lambda lib, x: lib.nn.functional.hardswish(x), 0, 0),
    "hardsigmoid": (lambda lib, x: lib.nn.functional.hardsigmoid(x), 0, 0),
    "logsigmoid": (lambda lib, x: lib.nn.functional.logsigmoid(x), 0, 1),
    "tanh": (lambda lib, x: x.tanh(), 0, 1),
    "sigmoid": (lambda lib, x: x.sigmoid(), 0, 2),
}


@pytest.mark.parametrize("name", FLOAT16_ACTIVATIONS)
def test_float16_activations_round_as_torchs(name):
    """torch computes these float16 activations, and the kernels of their gradients, in float32 and rounds once
    (tanh's and sigmoid's gradients from the float16 output): within an ulp or two of its bits, where float16 steps,
    each rounded, differed in a fifth of the values by several."""
    function, output_ulps, gradient_ulps = FLOAT16_ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(10000) * 3).astype(np.float16)
    direction = rng.standard_normal(10000).astype(np.float16)
    results = []
    for lib in (mg, torch):
        tensor = lib.tensor(x, requires_grad=True)
        out = function(lib, tensor)
        (out * lib.tensor(direction)).sum().backward()
        results.append([out.detach().numpy(), tensor.grad.numpy()])
    for ours, theirs, ulps in zip(*results, (output_ulps, gradient_ulps)):
        assert ours.dtype == theirs.dtype == np.float16
        np.testing.assert_array_max_ulp(ours, theirs, maxulp=ulps)
