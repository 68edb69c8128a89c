"""1-d convolutions and poolings (F.conv1d, conv_transpose1d, max_pool1d, avg_pool1d, adaptive_avg_pool1d,
adaptive_max_pool1d and their modules) against torch: float64 gradchecks, float32 values and gradients over their
options, batched and unbatched, indices, result dtypes, reprs and state_dict keys, torch's errors, an ECA block end
to end, and the GPU path."""
import ast
import functools
import inspect

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import relative_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# name: (input shapes, call(functional, *inputs))
CASES = {
    "conv1d": (((2, 4, 10), (6, 4, 3), (6,)), lambda F, x, w, b: F.conv1d(x, w, b)),
    "conv1d-stride-padding-dilation": (((2, 4, 11), (6, 4, 3)), lambda F, x, w: F.conv1d(
        x, w, stride=2, padding=2, dilation=2)),
    "conv1d-tuple-sizes": (((2, 4, 11), (6, 4, 3), (6,)), lambda F, x, w, b: F.conv1d(
        x, w, b, stride=(3,), padding=[1], dilation=(1,))),
    "conv1d-groups": (((2, 4, 9), (6, 2, 3), (6,)), lambda F, x, w, b: F.conv1d(x, w, b, groups=2)),
    "conv1d-depthwise": (((2, 4, 9), (8, 1, 3)), lambda F, x, w: F.conv1d(x, w, padding=1, groups=4)),
    "conv1d-same-even-kernel": (((2, 3, 9), (5, 3, 4), (5,)), lambda F, x, w, b: F.conv1d(
        x, w, b, padding="same", dilation=2)),
    "conv1d-valid": (((2, 3, 9), (5, 3, 4)), lambda F, x, w: F.conv1d(x, w, padding="valid")),
    "conv1d-unbatched": (((4, 10), (6, 4, 3), (6,)), lambda F, x, w, b: F.conv1d(x, w, b, stride=2, padding=1)),
    "conv1d-pointwise": (((2, 4, 7), (3, 4, 1)), lambda F, x, w: F.conv1d(x, w)),
    "conv-transpose1d": (((2, 4, 7), (4, 3, 3), (3,)), lambda F, x, w, b: F.conv_transpose1d(x, w, b)),
    "conv-transpose1d-stride-padding-output-padding": (((2, 4, 7), (4, 3, 4), (3,)), lambda F, x, w, b:
                                                       F.conv_transpose1d(x, w, b, stride=3, padding=1,
                                                                          output_padding=2)),
    "conv-transpose1d-groups-dilation": (((2, 4, 5), (4, 3, 3)), lambda F, x, w: F.conv_transpose1d(
        x, w, stride=(2,), padding=(2,), output_padding=(1,), groups=2, dilation=(2,))),
    "conv-transpose1d-unbatched": (((4, 6), (4, 2, 3), (2,)), lambda F, x, w, b: F.conv_transpose1d(
        x, w, b, stride=2)),
    "max-pool1d": (((2, 3, 11),), lambda F, x: F.max_pool1d(x, 3, stride=2, padding=1)),
    "max-pool1d-dilation-ceil-mode": (((2, 3, 12),), lambda F, x: F.max_pool1d(
        x, 3, stride=2, dilation=2, ceil_mode=True)),
    "max-pool1d-tuple-sizes-overlapping": (((2, 3, 10),), lambda F, x: F.max_pool1d(
        x, (4,), stride=[1], padding=(2,))),
    "max-pool1d-unbatched-default-stride": (((3, 10),), lambda F, x: F.max_pool1d(x, 2)),
    "max-pool1d-return-indices": (((2, 3, 10),), lambda F, x: F.max_pool1d(x, 3, 2, 1, return_indices=True)[0]),
    "avg-pool1d": (((2, 3, 11),), lambda F, x: F.avg_pool1d(x, 3, stride=2, padding=1)),
    "avg-pool1d-exclude-padding": (((2, 3, 11),), lambda F, x: F.avg_pool1d(
        x, 3, stride=2, padding=1, count_include_pad=False)),
    "avg-pool1d-ceil-mode": (((2, 3, 10),), lambda F, x: F.avg_pool1d(
        x, (4,), stride=(3,), padding=(1,), ceil_mode=True, count_include_pad=False)),
    "avg-pool1d-ceil-mode-include-pad": (((2, 3, 10),), lambda F, x: F.avg_pool1d(
        x, 4, stride=3, padding=2, ceil_mode=True)),
    "avg-pool1d-unbatched": (((3, 9),), lambda F, x: F.avg_pool1d(x, 2)),
    "adaptive-avg-pool1d-overlapping": (((2, 3, 10),), lambda F, x: F.adaptive_avg_pool1d(x, 4)),
    "adaptive-avg-pool1d-dividing": (((2, 3, 10),), lambda F, x: F.adaptive_avg_pool1d(x, (5,))),
    "adaptive-avg-pool1d-unbatched-to-one": (((3, 7),), lambda F, x: F.adaptive_avg_pool1d(x, 1)),
    "adaptive-max-pool1d-overlapping": (((2, 3, 10),), lambda F, x: F.adaptive_max_pool1d(x, 4)),
    "adaptive-max-pool1d-larger": (((2, 3, 5),), lambda F, x: F.adaptive_max_pool1d(x, [7])),
    "adaptive-max-pool1d-unbatched": (((3, 9),), lambda F, x: F.adaptive_max_pool1d(x, 3, return_indices=True)[0]),
}


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def _numpy(tensor):
    return tensor.detach().numpy() if isinstance(tensor, torch.Tensor) else tensor.numpy()


def _forward_backward(call, arrays, tensor):
    """call(*inputs) of the arrays as inputs made by `tensor` (torch.tensor, or mg.tensor on a device), and the
    inputs' gradients of sum(output * a seeded random direction), as arrays: (output, [gradients])."""
    inputs = [tensor(a, requires_grad=True) for a in arrays]
    out = call(*inputs)
    direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
    (out * tensor(direction)).sum().backward()
    return _numpy(out), [_numpy(t.grad) for t in inputs]


def _assert_results_close(ours, theirs, rtol=1e-5, atol=1e-6):
    """_forward_backward's results alike: the output's dtype and shape, the values and gradients within tolerance."""
    assert ours[0].dtype == theirs[0].dtype and ours[0].shape == theirs[0].shape
    for mine, their in zip([ours[0], *ours[1]], [theirs[0], *theirs[1]]):
        np.testing.assert_allclose(mine, their, rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES)
def test_gradcheck_float64(case):
    tensors = [mg.tensor(a, requires_grad=True) for a in _arrays(CASES[case][0], np.float64)]
    assert mg.gradcheck(lambda *ts: CASES[case][1](F, *ts), tensors)


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_torch_float32(case):
    shapes, call = CASES[case]
    arrays = _arrays(shapes, np.float32)
    _assert_results_close(_forward_backward(functools.partial(call, F), arrays, mg.tensor),
                          _forward_backward(functools.partial(call, TF), arrays, torch.tensor))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", ["conv1d", "conv-transpose1d-unbatched", "max-pool1d", "avg-pool1d",
                                  "adaptive-avg-pool1d-overlapping", "adaptive-avg-pool1d-dividing",
                                  "adaptive-max-pool1d-overlapping"])
def test_result_dtypes_are_torchs(case, dtype):
    shapes, call = CASES[case]
    arrays = _arrays(shapes, dtype)
    assert str(call(F, *map(mg.tensor, arrays)).dtype) == str(call(TF, *map(torch.tensor, arrays)).dtype)[6:]


@pytest.mark.parametrize("call", [
    lambda F, x: F.max_pool1d(x, 3, stride=2, padding=1, return_indices=True),
    lambda F, x: F.max_pool1d(x, 2, dilation=2, ceil_mode=True, return_indices=True),
    lambda F, x: F.max_pool1d(x[0], (3,), return_indices=True),
    lambda F, x: F.adaptive_max_pool1d(x, 4, return_indices=True),
    lambda F, x: F.adaptive_max_pool1d(x[1], 3, return_indices=True),
])
def test_indices_are_torchs_along_the_length(call):
    x = _arrays([(2, 3, 11)], np.float32)[0]
    (out, indices), (expected, expected_indices) = call(F, mg.tensor(x)), call(TF, torch.tensor(x))
    assert indices.dtype == np.int64 and indices.shape == tuple(expected_indices.shape)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("case", ["conv1d", "conv1d-stride-padding-dilation", "conv1d-groups", "conv1d-unbatched",
                                  "conv-transpose1d-stride-padding-output-padding", "conv-transpose1d-groups-dilation",
                                  "max-pool1d", "max-pool1d-dilation-ceil-mode", "max-pool1d-unbatched-default-stride"])
def test_gpu_path_matches_cpu(case, gpu_path):
    shapes, call = CASES[case]
    arrays = _arrays(shapes, np.float32)
    cpu, gpu = (_forward_backward(functools.partial(call, F), arrays, functools.partial(mg.tensor, device=device))
                for device in ("cpu", "gpu"))
    for ours, reference in zip([gpu[0], *gpu[1]], [cpu[0], *cpu[1]]):  # a GPU sums in another order
        assert relative_error(ours, reference) <= 1e-5
    kernels = {"max_pool", "max_pool_backward"} if case.startswith("max-pool") else {"im2col", "col2im"}
    assert kernels <= set(gpu_path.launches)  # the 2-d op's device kernels, one per direction


def test_max_pool1d_indices_on_the_gpu_path(gpu_path):
    x = _arrays([(2, 3, 11)], np.float32)[0]
    out, indices = F.max_pool1d(mg.tensor(x, device="gpu"), 3, 2, 1, return_indices=True)
    expected, expected_indices = TF.max_pool1d(torch.tensor(x), 3, 2, 1, return_indices=True)
    assert indices.device == "gpu"
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


# modules built alike in both libraries: name, constructor arguments, input shape
MODULES = [
    ("Conv1d", (4, 6, 3), {}, (2, 4, 10)),
    ("Conv1d", (4, 6, (3,)), dict(stride=2, padding=1, dilation=2, groups=2, bias=False), (2, 4, 11)),
    ("Conv1d", (4, 6, 4), dict(padding="same", dilation=2), (4, 10)),
    ("Conv1d", (4, 6, 3), dict(padding="valid"), (2, 4, 10)),
    ("Conv1d", (4, 6, 3), dict(padding=2, padding_mode="reflect"), (2, 4, 10)),
    ("Conv1d", (4, 6, 3), dict(padding=(1,), stride=2, padding_mode="replicate"), (2, 4, 10)),
    ("Conv1d", (4, 6, 3), dict(padding=2, padding_mode="circular"), (4, 10)),
    ("Conv1d", (4, 4, 4), dict(padding="same", padding_mode="reflect", groups=4), (2, 4, 9)),
    ("ConvTranspose1d", (4, 6, 3), {}, (2, 4, 7)),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=(2,)), (2, 4, 7)),
    ("ConvTranspose1d", (4, 2, 2), dict(stride=(3,), bias=False), (4, 5)),
    ("MaxPool1d", (2,), {}, (2, 3, 10)),
    ("MaxPool1d", ((3,),), dict(stride=(2,), padding=1, dilation=1, ceil_mode=True), (2, 3, 10)),
    ("MaxPool1d", (3,), dict(stride=1, dilation=2), (3, 10)),
    ("AvgPool1d", (2,), {}, (2, 3, 10)),
    ("AvgPool1d", ((3,), 2, 1), dict(ceil_mode=True, count_include_pad=False), (2, 3, 10)),
    ("AvgPool1d", (3,), dict(stride=[1]), (3, 10)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool1d", ((5,),), {}, (3, 10)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveMaxPool1d", (3,), dict(return_indices=False), (3, 8)),
]


def _module_pair(name, args, kwargs):
    """The module in torch and in minigrad, minigrad's loaded with torch's parameters."""
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(mg.nn, name)(*args, **kwargs)
    ours.load_state_dict({key: value.detach().numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("name, args, kwargs, shape", MODULES)
def test_modules_match_torch(name, args, kwargs, shape):
    ours, theirs = _module_pair(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert [(key, tuple(value.shape)) for key, value in ours.state_dict().items()] == \
        [(key, tuple(value.shape)) for key, value in theirs.state_dict().items()]
    arrays = _arrays([shape], np.float32)
    _assert_results_close(_forward_backward(ours, arrays, mg.tensor), _forward_backward(theirs, arrays, torch.tensor))
    for (key, parameter), (_, their_parameter) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(parameter.grad.numpy(), their_parameter.grad.numpy(), rtol=1e-5, atol=1e-5,
                                   err_msg=key)


@pytest.mark.parametrize("name, args, kwargs", [
    ("Conv1d", (4, 6, 3), {}), ("Conv1d", (6, 9, 5), dict(groups=3)), ("ConvTranspose1d", (4, 6, 3), {}),
    ("ConvTranspose1d", (6, 9, 5), dict(groups=3))])
def test_conv_modules_draw_torchs_initial_bounds(name, args, kwargs):
    """U(±1/sqrt(fan_in)) for weight and bias, fan_in as torch counts it for the module's weight."""
    ours, theirs = getattr(mg.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    fan_in = np.prod(theirs.weight.shape[1:])
    for key, parameter in ours.named_parameters():
        assert parameter.dtype == np.float32 and parameter.shape == tuple(getattr(theirs, key).shape)
        values = parameter.numpy()
        assert np.abs(values).max() <= 1 / np.sqrt(fan_in) and np.abs(values).max() > 0.5 / np.sqrt(fan_in)


@pytest.mark.parametrize("output_size", [[21], [22], [2, 6, 22], [30], [1, 2, 3, 4]])
def test_conv_transpose1d_output_size_is_torchs(output_size):
    ours, theirs = _module_pair("ConvTranspose1d", (4, 6, 3), dict(stride=2))
    x = _arrays([(2, 4, 10)], np.float32)[0]
    try:
        expected = theirs(torch.tensor(x), output_size=output_size)
    except ValueError as error:
        with pytest.raises(ValueError) as raised:
            ours(mg.tensor(x), output_size=output_size)
        assert str(raised.value).split(" (for an input")[0] == str(error).split(" (for an input")[0]
        return
    out = ours(mg.tensor(x), output_size=output_size)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


X, W, WT = (np.zeros(shape, np.float32) for shape in [(2, 4, 10), (6, 4, 3), (4, 6, 3)])

# calls that torch refuses, and minigrad with torch's exception and message
ERRORS = {
    "conv1d-4d-input": lambda F, c: F.conv1d(c(X)[None], c(W)),
    "conv1d-1d-input": lambda F, c: F.conv1d(c(X)[0, 0], c(W)),
    "conv1d-stride-pair": lambda F, c: F.conv1d(c(X), c(W), stride=(1, 2)),
    "conv1d-zero-stride": lambda F, c: F.conv1d(c(X), c(W), stride=0),
    "conv1d-negative-padding": lambda F, c: F.conv1d(c(X), c(W), padding=-1),
    "conv1d-zero-dilation": lambda F, c: F.conv1d(c(X), c(W), dilation=0),
    "conv1d-zero-groups": lambda F, c: F.conv1d(c(X), c(W), groups=0),
    "conv1d-same-strided": lambda F, c: F.conv1d(c(X), c(W), padding="same", stride=2),
    "conv1d-padding-string": lambda F, c: F.conv1d(c(X), c(W), padding="full"),
    "conv1d-2d-weight": lambda F, c: F.conv1d(c(X), c(W)[0]),
    "conv1d-4d-weight": lambda F, c: F.conv1d(c(X), c(W)[..., None]),
    "conv1d-4d-weight-unbatched": lambda F, c: F.conv1d(c(X)[0], c(W)[..., None]),
    "conv1d-channels": lambda F, c: F.conv1d(c(X), c(W)[:, :2]),
    "conv1d-channels-unbatched": lambda F, c: F.conv1d(c(X)[0], c(W)[:, :2]),
    "conv1d-groups-channels": lambda F, c: F.conv1d(c(X), c(W), groups=3),
    "conv1d-groups-out-channels": lambda F, c: F.conv1d(c(X), c(W)[:5, :2], groups=2),
    "conv1d-bias": lambda F, c: F.conv1d(c(X), c(W), c(W)[0, 0]),
    "conv1d-kernel-too-long": lambda F, c: F.conv1d(c(X)[..., :2], c(W)),
    "conv1d-dilated-kernel-too-long": lambda F, c: F.conv1d(c(X), c(W), padding=(1,), dilation=(6,)),
    "conv1d-valid-kernel-too-long": lambda F, c: F.conv1d(c(X)[..., :2], c(W), padding="valid"),
    "conv-transpose1d-channels": lambda F, c: F.conv_transpose1d(c(X), c(WT)[:3]),
    "conv-transpose1d-groups": lambda F, c: F.conv_transpose1d(c(X), c(WT)[:3], groups=2),
    "conv-transpose1d-bias": lambda F, c: F.conv_transpose1d(c(X), c(WT), c(WT)[0, 0, :2]),
    "conv-transpose1d-output-too-small": lambda F, c: F.conv_transpose1d(c(X)[:1, :, :1], c(WT), padding=2),
    "conv-transpose1d-4d-input": lambda F, c: F.conv_transpose1d(c(X)[None], c(WT)),
    "conv-transpose1d-output-padding-pair": lambda F, c: F.conv_transpose1d(c(X), c(WT), output_padding=(1, 1)),
    "conv-transpose1d-negative-padding": lambda F, c: F.conv_transpose1d(c(X), c(WT), padding=-1),
    "conv-transpose1d-negative-output-padding": lambda F, c: F.conv_transpose1d(c(X), c(WT), output_padding=-1),
    "conv-transpose1d-zero-stride": lambda F, c: F.conv_transpose1d(c(X), c(WT), stride=(0,)),
    # (of one sample: torch's oneDNN refuses a larger batch before it checks the dilation)
    "conv-transpose1d-zero-dilation": lambda F, c: F.conv_transpose1d(c(X)[:1], c(WT), dilation=0),
    "conv-transpose2d-zero-dilation": lambda F, c: F.conv_transpose2d(c(X)[:1, ..., None], c(WT)[..., None],
                                                                      dilation=(0, 1)),
    "conv-transpose1d-output-padding-too-large": lambda F, c: F.conv_transpose1d(c(X), c(WT), output_padding=2),
    "max-pool1d-4d-input": lambda F, c: F.max_pool1d(c(X)[None], 2),
    "max-pool1d-1d-input": lambda F, c: F.max_pool1d(c(X)[0, 0], 2),
    "max-pool1d-no-channels": lambda F, c: F.max_pool1d(c(X)[:, :0], 2),
    "max-pool1d-kernel-pair": lambda F, c: F.max_pool1d(c(X), (2, 2)),
    "max-pool1d-empty-kernel": lambda F, c: F.max_pool1d(c(X), ()),
    "max-pool1d-stride-pair": lambda F, c: F.max_pool1d(c(X), 2, stride=(1, 1)),
    "max-pool1d-padding-pair": lambda F, c: F.max_pool1d(c(X), 2, padding=(1, 1)),
    "max-pool1d-dilation-pair": lambda F, c: F.max_pool1d(c(X), 2, dilation=(1, 1)),
    "max-pool1d-zero-kernel": lambda F, c: F.max_pool1d(c(X), 0),
    "max-pool1d-zero-stride": lambda F, c: F.max_pool1d(c(X), 2, stride=0),
    "max-pool1d-negative-padding": lambda F, c: F.max_pool1d(c(X), 2, padding=-1),
    "max-pool1d-large-padding": lambda F, c: F.max_pool1d(c(X), 2, padding=2),
    "max-pool1d-zero-dilation": lambda F, c: F.max_pool1d(c(X), 2, dilation=0),
    "max-pool1d-no-output": lambda F, c: F.max_pool1d(c(X), 3, dilation=5),
    "max-pool1d-integer-input": lambda F, c: F.max_pool1d(c(X.astype(np.int64)), 2),
    "adaptive-avg-pool1d-integer-input": lambda F, c: F.adaptive_avg_pool1d(c(X.astype(np.int64)), 2),
    "max-pool1d-indices-kernel-pair": lambda F, c: F.max_pool1d(c(X), (2, 2), return_indices=True),
    "max-pool1d-indices-zero-stride": lambda F, c: F.max_pool1d(c(X), 2, stride=0, return_indices=True),
    "max-pool1d-indices-large-padding": lambda F, c: F.max_pool1d(c(X), 2, padding=2, return_indices=True),
    "max-pool1d-indices-zero-dilation": lambda F, c: F.max_pool1d(c(X), 2, dilation=0, return_indices=True),
    "max-pool1d-indices-no-output": lambda F, c: F.max_pool1d(c(X), 3, dilation=5, return_indices=True),
    "avg-pool1d-4d-input": lambda F, c: F.avg_pool1d(c(X)[None], 2),
    "avg-pool1d-1d-input": lambda F, c: F.avg_pool1d(c(X)[0, 0], 2),
    "avg-pool1d-kernel-pair": lambda F, c: F.avg_pool1d(c(X), (2, 2)),
    "avg-pool1d-stride-pair": lambda F, c: F.avg_pool1d(c(X), 2, stride=(1, 1)),
    "avg-pool1d-padding-pair": lambda F, c: F.avg_pool1d(c(X), 2, padding=(1, 1)),
    "avg-pool1d-negative-padding": lambda F, c: F.avg_pool1d(c(X), 2, padding=-1),
    "avg-pool1d-large-padding": lambda F, c: F.avg_pool1d(c(X), 2, padding=2),
    "avg-pool1d-zero-stride": lambda F, c: F.avg_pool1d(c(X), 2, stride=0),
    "avg-pool1d-no-output": lambda F, c: F.avg_pool1d(c(X), 20),
    "adaptive-avg-pool1d-4d-input": lambda F, c: F.adaptive_avg_pool1d(c(X)[None], 2),
    "adaptive-avg-pool1d-1d-input": lambda F, c: F.adaptive_avg_pool1d(c(X)[0, 0], 2),
    "adaptive-avg-pool1d-size-pair": lambda F, c: F.adaptive_avg_pool1d(c(X), (2, 2)),
    "adaptive-max-pool1d-4d-input": lambda F, c: F.adaptive_max_pool1d(c(X)[None], 2),
    "adaptive-max-pool1d-1d-input": lambda F, c: F.adaptive_max_pool1d(c(X)[0, 0], 2),
    "adaptive-max-pool1d-size-pair": lambda F, c: F.adaptive_max_pool1d(c(X), [2, 2]),
    "Conv1d-same-strided": lambda F, c: _nn(F).Conv1d(4, 6, 3, stride=2, padding="same"),
    "Conv1d-groups": lambda F, c: _nn(F).Conv1d(4, 6, 3, groups=4),
    "ConvTranspose1d-padding-mode": lambda F, c: _nn(F).ConvTranspose1d(4, 6, 3, padding_mode="reflect"),
}


def _nn(functional):
    return mg.nn if functional is F else torch.nn


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs(name):
    with pytest.raises(Exception) as expected:
        ERRORS[name](TF, torch.tensor)
    with pytest.raises(expected.type) as raised:
        ERRORS[name](F, mg.tensor)
    assert str(raised.value) == str(expected.value)


@pytest.mark.parametrize("call", [
    lambda F, c: F.conv1d(c(X), c(W.astype(np.float64))),
    lambda F, c: F.conv1d(c(X), c(W), c(np.zeros(6))),
    lambda F, c: F.conv_transpose1d(c(X.astype(np.float64)), c(WT)),
])
def test_operands_of_different_dtypes_are_refused_by_the_ops_name(call):
    """As torch's, with minigrad's message, which names the 1-d op called."""
    with pytest.raises(RuntimeError):
        call(TF, torch.tensor)
    with pytest.raises(RuntimeError, match="^conv(_transpose)?1d: expected input"):
        call(F, mg.tensor)


def test_unknown_padding_mode_is_torchs_error():
    """torch's message shows the modes as a set, in an order of its own (a set's order varies with the hash seed)."""
    messages = []
    for nn in (torch.nn, mg.nn):
        with pytest.raises(ValueError) as raised:
            nn.Conv1d(4, 6, 3, padding_mode="mirror")
        modes, rest = str(raised.value).split("}", 1)
        messages.append((modes.split("{")[0], ast.literal_eval(modes.split("{", 1)[1].join("{}")), rest))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("call", [
    lambda F, c: F.conv1d(c(X), c(W), stride=1.5),
    lambda F, c: F.conv1d(c(X), c(W), groups=2.0),
    lambda F, c: F.max_pool1d(c(X), 2.0),
    lambda F, c: F.avg_pool1d(c(X), 2.0),
    lambda F, c: F.adaptive_avg_pool1d(c(X), None),
    lambda F, c: F.adaptive_max_pool1d(c(X), 2.5),
])
def test_wrong_argument_types_are_torchs_type_errors(call):
    with pytest.raises(TypeError):
        call(TF, torch.tensor)
    with pytest.raises(TypeError):
        call(F, mg.tensor)


def _eca(lib, x, conv):
    """ECA channel attention: the pooled channels of x (N, C, H, W) convolved along C, their sigmoid scaling x."""
    pooled = lib.nn.AdaptiveAvgPool2d(1)(x).squeeze(-1)                   # (N, C, 1)
    weights = conv(pooled.transpose(-1, -2)).transpose(-1, -2).sigmoid()  # (N, C, 1)
    return x * weights.unsqueeze(-1)


def test_eca_block_matches_torch():
    ours, theirs = _module_pair("Conv1d", (1, 1, 5), dict(padding=2, bias=False))
    arrays = _arrays([(2, 8, 6, 5)], np.float32)
    _assert_results_close(_forward_backward(lambda x: _eca(mg, x, ours), arrays, mg.tensor),
                          _forward_backward(lambda x: _eca(torch, x, theirs), arrays, torch.tensor))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-5)


def _torch_signature(name):
    """torch's parameters of F.name as "(a, b=1)": a builtin's from its docstring, a max pooling's from the function
    that its return_indices dispatches to."""
    function = getattr(TF, name)
    if name.endswith("max_pool1d"):
        parameters = inspect.signature(getattr(TF, "_" + name)).parameters.values()
        return "(" + ", ".join(p.name + ("" if p.default is p.empty else f"={p.default!r}") for p in parameters) + ")"
    return function.__doc__.strip().splitlines()[0].removeprefix(name).removesuffix(" -> Tensor")


@pytest.mark.parametrize("name", ["conv1d", "conv_transpose1d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool1d",
                                  "adaptive_max_pool1d"])
def test_functional_arguments_and_defaults_are_torchs(name):
    assert str(inspect.signature(getattr(F, name))) == _torch_signature(name)
