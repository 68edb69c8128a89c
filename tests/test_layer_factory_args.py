"""The factory kwargs of the layers, device= and dtype=, as torch's: parameters and buffers made in that dtype (the
default dtype otherwise; num_batches_tracked stays int64) and on that device, sublayers built with them too, the
same draws as the default dtype's, cast, and torch's errors for a dtype a parameter cannot take."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, load_with_vector_parameters_drawn, normal, relative_error

torch = pytest.importorskip("torch")


def _indices(rng):
    return rng.integers(0, 5, (2, 3))


# name: (build(nn, **factory_kwargs), makers of the inputs, run(layer, *inputs) -> one output tensor)
CASES = {
    "Linear": (lambda nn, **kw: nn.Linear(3, 4, **kw), [normal(2, 3)], lambda m, x: m(x)),
    "Bilinear": (lambda nn, **kw: nn.Bilinear(2, 3, 4, **kw), [normal(5, 2), normal(5, 3)], lambda m, a, b: m(a, b)),
    "Conv1d": (lambda nn, **kw: nn.Conv1d(2, 4, 3, padding=1, padding_mode="reflect", **kw), [normal(2, 2, 5)],
               lambda m, x: m(x)),
    "Conv2d": (lambda nn, **kw: nn.Conv2d(4, 2, 3, groups=2, **kw), [normal(1, 4, 5, 5)], lambda m, x: m(x)),
    "Conv3d": (lambda nn, **kw: nn.Conv3d(2, 3, 2, bias=False, **kw), [normal(1, 2, 3, 3, 3)], lambda m, x: m(x)),
    "ConvTranspose2d": (lambda nn, **kw: nn.ConvTranspose2d(2, 3, 3, stride=2, **kw), [normal(1, 2, 3, 3)],
                        lambda m, x: m(x)),
    "BatchNorm2d": (lambda nn, **kw: nn.BatchNorm2d(3, **kw), [normal(2, 3, 2, 2)], lambda m, x: m(x)),
    "InstanceNorm1d": (lambda nn, **kw: nn.InstanceNorm1d(3, affine=True, track_running_stats=True, **kw),
                       [normal(2, 3, 4)], lambda m, x: m(x)),
    "LayerNorm": (lambda nn, **kw: nn.LayerNorm((2, 3), **kw), [normal(4, 2, 3)], lambda m, x: m(x)),
    "RMSNorm": (lambda nn, **kw: nn.RMSNorm(3, **kw), [normal(4, 3)], lambda m, x: m(x)),
    "GroupNorm": (lambda nn, **kw: nn.GroupNorm(2, 4, **kw), [normal(2, 4, 3)], lambda m, x: m(x)),
    "Embedding": (lambda nn, **kw: nn.Embedding(5, 3, padding_idx=1, **kw), [_indices], lambda m, i: m(i)),
    "PReLU": (lambda nn, **kw: nn.PReLU(3, **kw), [normal(2, 3, 2)], lambda m, x: m(x)),
    "LSTM": (lambda nn, **kw: nn.LSTM(3, 4, num_layers=2, proj_size=2, **kw), [normal(5, 2, 3)],
             lambda m, x: m(x)[0]),
    "GRU": (lambda nn, **kw: nn.GRU(3, 4, batch_first=True, bidirectional=True, **kw), [normal(2, 5, 3)],
            lambda m, x: m(x)[0]),
    "RNN": (lambda nn, **kw: nn.RNN(3, 4, 1, "relu", **kw), [normal(5, 2, 3)], lambda m, x: m(x)[0]),
    "LSTMCell": (lambda nn, **kw: nn.LSTMCell(3, 4, **kw), [normal(2, 3)], lambda m, x: m(x)[1]),
    "MultiheadAttention": (lambda nn, **kw: nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3, vdim=3, **kw),
                           [normal(5, 2, 4), normal(6, 2, 3), normal(6, 2, 3)], lambda m, q, k, v: m(q, k, v)[0]),
    "TransformerEncoderLayer": (lambda nn, **kw: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, **kw),
                                [normal(5, 2, 4)], lambda m, x: m(x)),
    "Transformer": (lambda nn, **kw: nn.Transformer(4, 2, 1, 1, 8, dropout=0.0, batch_first=True, **kw),
                    [normal(2, 5, 4), normal(2, 3, 4)], lambda m, src, tgt: m(src, tgt)),
}
each_case = pytest.mark.parametrize("name", CASES)
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")


def _layout(module):
    """(name, shape, dtype, requires_grad) of each parameter, and (name, shape, dtype) of each buffer."""
    def dtype(t):
        return str(t.dtype).removeprefix("torch.")
    return ([(name, tuple(p.shape), dtype(p), p.requires_grad) for name, p in module.named_parameters()],
            [(name, tuple(b.shape), dtype(b)) for name, b in module.named_buffers()])


def _state(module):
    """Every parameter and buffer, as NumPy arrays by name."""
    return {name: t.numpy() for name, t in [*module.named_parameters(), *module.named_buffers()]}


def _inputs(lib, name, dtype=np.float64, device=None):
    """The case's inputs, floats of `dtype` that require a gradient (and the indices as they are)."""
    arrays = [make(np.random.default_rng(number)) for number, make in enumerate(CASES[name][1])]
    floats = [a.dtype.kind == "f" for a in arrays]
    if lib is mg:
        return [mg.tensor(a.astype(dtype) if f else a, requires_grad=f, device=device) for a, f in zip(arrays, floats)]
    return [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, floats)]


def _forward_backward(lib, module, name, inputs):
    """The output, the float inputs' gradients, and the gradients and state (buffers moved by forward) after a
    backward along a fixed direction, as NumPy arrays by name."""
    out = CASES[name][2](module, *inputs)
    direction = np.random.default_rng(9).standard_normal(tuple(out.shape))
    numpy = (lambda t: t.numpy()) if lib is mg else (lambda t: t.detach().numpy())
    (out * lib.tensor(direction, dtype=out.dtype, device=out.device if lib is mg else None)).sum().backward()
    arrays = {"output": numpy(out)}
    arrays.update({f"input {i}.grad": numpy(x.grad) for i, x in enumerate(inputs) if x.requires_grad})
    arrays.update({f"{n}.grad": numpy(p.grad) for n, p in module.named_parameters()})
    arrays.update({n: numpy(b) for n, b in module.named_buffers()})
    return arrays


@each_case
def test_parameters_and_buffers_as_torchs_in_the_dtype_given(name):
    build = CASES[name][0]
    ours, theirs = build(mg.nn, dtype=mg.float64), build(torch.nn, dtype=torch.float64)
    assert _layout(ours) == _layout(theirs)
    assert {p.dtype for p in ours.parameters()} == {np.dtype(np.float64)}


@each_case
def test_float64_layer_forward_and_backward_match_torchs(name):
    build = CASES[name][0]
    ours, theirs = build(mg.nn, dtype=mg.float64), build(torch.nn, dtype=torch.float64)
    load_with_vector_parameters_drawn(theirs, ours)
    mine, reference = (_forward_backward(lib, module, name, _inputs(lib, name))
                       for lib, module in ((mg, ours), (torch, theirs)))
    assert mine.keys() == reference.keys()
    for key, value in reference.items():
        assert mine[key].dtype == value.dtype, key
        np.testing.assert_allclose(mine[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


@each_case
def test_dtype_draws_the_default_dtypes_stream_in_that_dtype(name):
    """The same draws whatever the dtype: float64's as set_default_dtype(float64) gives them, and the float32
    default's the same values rounded, so that seeded default layers keep their values."""
    build = CASES[name][0]
    layers = {}
    for key, dtype, default in (("float32", None, mg.float32), ("dtype=float64", mg.float64, mg.float32),
                                ("default float64", None, mg.float64)):
        mg.set_default_dtype(default)
        try:
            mg.manual_seed(5)
            layers[key] = _state(build(mg.nn, dtype=dtype))
        finally:
            mg.set_default_dtype(mg.float32)
    for key, value in layers["dtype=float64"].items():
        assert layers["default float64"][key].dtype == value.dtype
        np.testing.assert_array_equal(layers["default float64"][key], value)
        expected = value.astype(np.float32) if value.dtype == np.float64 else value
        assert layers["float32"][key].dtype == expected.dtype
        np.testing.assert_array_equal(layers["float32"][key], expected)


def test_default_linear_and_conv_draw_torchs_formula_from_the_seeded_stream():
    """Weight then bias, U(±1/sqrt(fan_in)) drawn in float64 and cast to the default float32."""
    for build, weight_shape, fan_in in ((lambda: mg.nn.Linear(3, 4), (4, 3), 3),
                                        (lambda: mg.nn.Conv2d(2, 3, (2, 3)), (3, 2, 2, 3), 12)):
        mg.manual_seed(11)
        layer = build()
        mg.manual_seed(11)
        bound, stream = 1 / np.sqrt(fan_in), mg.random.generator()
        weight = stream.uniform(-bound, bound, weight_shape).astype(np.float32)
        bias = stream.uniform(-bound, bound, weight_shape[0]).astype(np.float32)
        np.testing.assert_array_equal(layer.weight.numpy(), weight)
        np.testing.assert_array_equal(layer.bias.numpy(), bias)
        assert layer.weight.dtype == layer.bias.dtype == np.float32


@pytest.mark.parametrize("dtype, expected", [(np.dtype(np.float64), "float64"), (np.float32, "float32"),
                                             (float, "float64")])
def test_numpys_dtypes_and_pythons_float_are_taken(dtype, expected):
    layer = mg.nn.BatchNorm1d(3, dtype=dtype)
    assert {str(t.dtype) for t in layer.state_dict().values()} == {expected, "int64"}


def test_python_number_types_are_dtypes_as_torchs():
    """bool, int, float and complex: bool, int64, float64 and complex128, where torch takes a dtype."""
    pairs = [(float, int), (bool, int), (complex, bool), (float, "float32"), (int, "int8")]
    ours = [mg.promote_types(a, getattr(mg, b) if isinstance(b, str) else b) for a, b in pairs]
    theirs = [torch.promote_types(a, getattr(torch, b) if isinstance(b, str) else b) for a, b in pairs]
    assert [str(dtype) for dtype in ours] == [str(dtype).removeprefix("torch.") for dtype in theirs]


INTEGER_DTYPE_CASES = ["Linear", "BatchNorm2d", "LayerNorm", "Embedding", "PReLU", "LSTM", "MultiheadAttention",
                       "TransformerEncoderLayer"]


@pytest.mark.parametrize("name", INTEGER_DTYPE_CASES)
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_an_integer_dtype_is_torchs_error(name, dtype):
    build = CASES[name][0]
    assert_raises_as_torch(lambda: build(torch.nn, dtype=getattr(torch, dtype)),
                           lambda: build(mg.nn, dtype=getattr(mg, dtype)))


def test_layers_without_parameters_take_an_integer_dtype_as_torchs():
    """Only a parameter refuses an integer dtype: buffers take it, as in torch."""
    ours, theirs = (lib.nn.BatchNorm2d(3, affine=False, dtype=lib.int64) for lib in (mg, torch))
    assert _layout(ours) == _layout(theirs)


@pytest.mark.parametrize("dtype", ["float64", 3, str])
def test_a_dtype_that_is_no_dtype_is_torchs_error(dtype):
    assert_raises_as_torch(lambda: torch.nn.Linear(3, 4, dtype=dtype), lambda: mg.nn.Linear(3, 4, dtype=dtype))


def test_devices_are_checked():
    with pytest.raises(mg.DeviceError, match="Expected one of cpu, cuda, gpu device type at start of device string: tpu"):
        mg.nn.Conv2d(1, 1, 1, device="tpu")
    assert all(p.device == "cpu" for p in mg.nn.LSTM(2, 3, device="cpu").parameters())


@pytest.mark.skipif(mg.gpu_available(), reason="the GPU is there")
def test_gpu_without_cupy_is_the_clear_device_error():
    with pytest.raises(mg.DeviceError, match="CuPy"):
        mg.nn.Linear(3, 4, device="gpu")


@pytest.mark.parametrize("name", ["Conv2d", "BatchNorm2d", "Embedding", "LSTM", "MultiheadAttention"])
def test_gpu_path_layers_made_on_the_device_match_the_cpus(name, gpu_path):
    """Every parameter and buffer made on the device, drawn as on the host; forward and backward as the CPU's."""
    build = CASES[name][0]
    layers = {}
    for device in ("cpu", "cuda:0"):
        mg.manual_seed(3)
        layers[device] = build(mg.nn, device=device)
    gpu, cpu = layers["cuda:0"], layers["cpu"]
    assert {t.device for t in [*gpu.parameters(), *gpu.buffers()]} == {"gpu"}
    assert _layout(gpu) == _layout(cpu)
    on_device = _state(gpu)
    for key, value in _state(cpu).items():
        np.testing.assert_array_equal(on_device[key], value)
    results = [_forward_backward(mg, layer, name, _inputs(mg, name, np.float32, device))
               for layer, device in ((cpu, "cpu"), (gpu, "gpu"))]
    for key, value in results[0].items():
        assert results[1][key].dtype == value.dtype, key
        assert relative_error(results[1][key], value) <= 1e-5, key
