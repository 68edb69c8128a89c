"""Volumetric convolution as torch's: F.conv3d, F.conv_transpose3d, nn.Conv3d and nn.ConvTranspose3d. Values and
gradients of input, weight and bias over their options (stride, padding with its strings and modes, dilation,
groups, output_padding, odd sizes, unbatched inputs), float64 gradchecks, the modules loaded from torch's state
dicts (repr, keys, init bounds, output_size), torch's errors, and the GPU path."""
import inspect

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import (assert_gpu_matches_cpu, assert_raises_as_torch, differentiable_case_tests, made, normal,
                      relative_error)
from test_conv_options import assert_init_is_torchs, assert_module_matches_torch
from test_conv_transpose import assert_output_size_is_torchs
from test_nn import torch_state
from test_one_dimensional import _torch_signature

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel lengths")  # torch's note on its copy
TF = torch.nn.functional



def weight(*shape):
    """A maker of a conv weight, at the scale of torch's default init (its fan-in), so that float32 sums of the
    products stay near 1, where rtol 1e-5 measures the ops and not the order of their sums."""
    return normal(*shape, scale=1 / np.sqrt(np.prod(shape[1:])))


# name: (fn(lib, *tensors), makers of the tensors); small enough for a float64 gradcheck
CASES = {
    "conv3d": (lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b),
               [normal(2, 3, 4, 5, 4), weight(4, 3, 2, 3, 2), normal(4)]),
    "conv3d-stride-padding-dilation-per-axis": (
        lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b, stride=(2, 1, 3), padding=(1, 2, 0),
                                                      dilation=(2, 1, 1)),
        [normal(2, 2, 6, 4, 7), weight(3, 2, 2, 3, 2), normal(3)]),
    "conv3d-stride-beyond-the-kernel": (lambda lib, x, w: lib.nn.functional.conv3d(x, w, stride=3, padding=1),
                                        [normal(1, 2, 7, 5, 6), weight(3, 2, 2, 2, 2)]),
    "conv3d-groups": (lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2),
                      [normal(2, 4, 3, 5, 4), weight(6, 2, 3, 3, 2), normal(6)]),
    "conv3d-depthwise": (lambda lib, x, w: lib.nn.functional.conv3d(x, w, padding=(0, 1, 1), groups=3),
                         [normal(2, 3, 4, 4, 5), weight(6, 1, 2, 3, 3)]),
    "conv3d-same-even-kernel": (lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b, padding="same",
                                                                              dilation=(1, 2, 1)),
                                [normal(1, 2, 4, 5, 3), weight(3, 2, 2, 2, 4), normal(3)]),
    "conv3d-same-odd-kernel": (lambda lib, x, w: lib.nn.functional.conv3d(x, w, padding="same", groups=2),
                               [normal(1, 2, 3, 4, 5), weight(2, 1, 3, 3, 3)]),
    "conv3d-valid": (lambda lib, x, w: lib.nn.functional.conv3d(x, w, padding="valid", dilation=2),
                     [normal(1, 2, 5, 5, 6), weight(2, 2, 2, 2, 3)]),
    "conv3d-unbatched": (lambda lib, x, w, b: lib.nn.functional.conv3d(x, w, b, stride=2, padding=1),
                         [normal(3, 5, 4, 5), weight(2, 3, 3, 3, 3), normal(2)]),
    "conv3d-pointwise": (lambda lib, x, w: lib.nn.functional.conv3d(x, w),
                         [normal(2, 3, 2, 3, 4), weight(5, 3, 1, 1, 1)]),
    "conv-transpose3d": (lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b),
                         [normal(2, 3, 3, 4, 3), weight(3, 2, 2, 3, 2), normal(2)]),
    "conv-transpose3d-stride-padding-output-padding": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, stride=(2, 3, 1), padding=(1, 0, 1),
                                                                output_padding=(1, 2, 0)),
        [normal(2, 2, 3, 2, 4), weight(2, 3, 3, 2, 3), normal(3)]),
    "conv-transpose3d-groups-dilation": (
        lambda lib, x, w: lib.nn.functional.conv_transpose3d(x, w, stride=2, padding=(2, 1, 0), output_padding=1,
                                                             groups=2, dilation=(2, 1, 2)),
        [normal(1, 4, 3, 3, 2), weight(4, 2, 3, 2, 2)]),
    "conv-transpose3d-output-padding-below-the-dilation": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, padding=1, output_padding=(1, 0, 1),
                                                                dilation=(2, 1, 3)),
        [normal(1, 2, 3, 4, 3), weight(2, 2, 2, 3, 2), normal(2)]),
    "conv-transpose3d-unbatched": (lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, stride=2),
                                   [normal(3, 2, 3, 2), weight(3, 2, 2, 2, 2), normal(2)]),
}

test_values_and_gradients_match_torch, test_gradcheck, _ = differentiable_case_tests(torch, CASES)


@pytest.mark.parametrize("name", ["conv3d-groups", "conv3d-same-even-kernel", "conv-transpose3d-groups-dilation",
                                  "conv-transpose3d-unbatched"])
def test_gpu_path_matches_cpu(name, gpu_path):
    fn, makers = CASES[name]
    assert_gpu_matches_cpu(fn, made(makers))
    assert {"im2col", "col2im"} <= set(gpu_path.launches)  # the 2-d conv's device kernels, one per direction


@pytest.mark.parametrize("name", ["conv3d", "conv3d-unbatched", "conv-transpose3d-stride-padding-output-padding"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_result_dtypes_and_shapes_are_torchs(name, dtype):
    fn, makers = CASES[name]
    arrays = [a.astype(dtype) for a in made(makers)]
    ours, theirs = fn(mg, *map(mg.tensor, arrays)), fn(torch, *map(torch.tensor, arrays))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") and ours.shape == tuple(theirs.shape)


def test_a_zero_batch_gives_an_empty_output_as_torch():
    x, weight = np.zeros((0, 2, 4, 4, 4), np.float32), np.ones((3, 2, 3, 3, 3), np.float32)
    assert F.conv3d(mg.tensor(x), mg.tensor(weight), padding=1).shape == (0, 3, 4, 4, 4)


# modules built alike in both libraries: (name, constructor arguments, options, input shape)
MODULES = [
    ("Conv3d", (3, 4, 3), dict(padding=1), (2, 3, 4, 5, 4)),
    ("Conv3d", (4, 6, (2, 3, 1)), dict(stride=(1, 2, 1), padding=(1, 0, 0), dilation=(2, 1, 1), groups=2,
                                       bias=False), (2, 4, 5, 6, 3)),
    ("Conv3d", (2, 4, 2), dict(padding="same", dilation=(1, 2, 1)), (2, 4, 5, 4)),
    ("Conv3d", (2, 4, 3), dict(padding="valid", stride=2), (1, 2, 5, 6, 5)),
    ("Conv3d", (2, 3, 3), dict(padding=(1, 2, 1), padding_mode="reflect"), (2, 2, 3, 4, 5)),
    ("Conv3d", (2, 3, 3), dict(padding=1, stride=2, padding_mode="replicate"), (2, 2, 4, 5, 3)),
    ("Conv3d", (2, 3, (3, 2, 3)), dict(padding=(2, 1, 1), padding_mode="circular"), (2, 3, 4, 5)),
    ("Conv3d", (4, 4, (2, 3, 4)), dict(padding="same", padding_mode="reflect", groups=4), (1, 4, 4, 5, 5)),
    ("ConvTranspose3d", (3, 4, 3), {}, (2, 3, 3, 4, 3)),
    ("ConvTranspose3d", (4, 6, (3, 2, 3)), dict(stride=(2, 2, 1), padding=1, output_padding=(1, 1, 0), groups=2),
     (2, 4, 3, 2, 3)),
    ("ConvTranspose3d", (4, 2, 2), dict(stride=2, bias=False), (4, 2, 3, 2)),
    ("ConvTranspose3d", (2, 3, 3), dict(padding=2, dilation=2, output_padding=1), (1, 2, 3, 3, 4)),
]


@pytest.mark.parametrize("name, args, options, shape", MODULES, ids=str)
def test_modules_loaded_from_torch_match_torch(name, args, options, shape):
    """From one state dict (the same keys and shapes), in float64: repr, outputs and the gradients of input, weight
    and bias."""
    x = np.random.default_rng(0).standard_normal(shape)
    assert_module_matches_torch(name, args, options, x)
    ours, theirs = getattr(mg.nn, name)(*args, **options), getattr(torch.nn, name)(*args, **options)
    assert repr(ours) == repr(theirs)
    assert [(key, value.shape) for key, value in ours.state_dict().items()] == \
        [(key, tuple(value.shape)) for key, value in theirs.state_dict().items()]


@pytest.mark.parametrize("name, args, groups", [
    ("Conv3d", (6, 8, (3, 2, 1)), 1), ("Conv3d", (6, 9, 3), 3), ("ConvTranspose3d", (6, 8, (2, 3, 2)), 1),
    ("ConvTranspose3d", (6, 9, 3), 3)], ids=str)
def test_default_init_is_torchs(name, args, groups):
    """U(±1/sqrt(fan_in)) on weight and bias, fan_in as torch counts it for the module's weight (a transposed conv's
    over out_channels/groups), the shapes as torch's."""
    weight = getattr(torch.nn, name)(*args, groups=groups).weight
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    model = assert_init_is_torchs(name, args, dict(groups=groups), bound=1 / np.sqrt(fan_in))
    assert model.weight.shape == tuple(weight.shape)


@pytest.mark.parametrize("init, kwargs", [("kaiming_uniform_", dict(mode="fan_in")),
                                          ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu")),
                                          ("xavier_uniform_", {})], ids=str)
def test_init_fans_of_a_volumetric_weight_are_torchs(init, kwargs):
    """Each fan is the channels times kd*kh*kw, as torch's: the draws fill the bound of torch's fans, not more."""
    shape = (6, 4, 3, 2, 5)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    assert mg.nn.init._calculate_fan_in_and_fan_out(mg.zeros(*shape)) == (fan_in, fan_out)
    if init == "xavier_uniform_":
        bound = np.sqrt(6 / (fan_in + fan_out))
    else:
        fan = fan_in if kwargs["mode"] == "fan_in" else fan_out
        bound = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), 0) * np.sqrt(3 / fan)
    for lib in (torch, mg):
        weight = lib.zeros(*shape)
        getattr(lib.nn.init, init)(weight, **kwargs)
        assert 0.95 * bound < np.abs(weight.numpy()).max() <= bound * (1 + 1e-6)


@pytest.mark.parametrize("output_size", [(7, 9, 7), (8, 10, 8), [2, 4, 8, 9, 7], (4, 7, 10, 8), (9, 9, 7), (6, 9, 7),
                                         (7, 9)], ids=str)
def test_conv_transpose3d_output_size_is_torchs(output_size):
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 5, 4)).astype(np.float32)
    assert_output_size_is_torchs("ConvTranspose3d", (4, 3, 3), dict(stride=2, padding=1),
                                 x[0] if len(output_size) == 4 else x, output_size)


X, W, WT = (np.zeros(shape, np.float32) for shape in [(2, 4, 5, 6, 7), (6, 4, 3, 3, 3), (4, 3, 3, 3, 3)])

# calls that torch refuses, and minigrad with torch's exception and message
ERRORS = {
    "conv3d-3d-input": lambda F, c: F.conv3d(c(X)[0, 0], c(W)),
    "conv3d-6d-input": lambda F, c: F.conv3d(c(X)[None], c(W)),
    "conv3d-2d-weight": lambda F, c: F.conv3d(c(X), c(W)[:, :, 0, 0, 0]),
    "conv3d-4d-weight": lambda F, c: F.conv3d(c(X), c(W)[..., 0]),
    "conv3d-4d-weight-strided": lambda F, c: F.conv3d(c(X), c(W)[..., 0], stride=2),
    "conv3d-6d-weight": lambda F, c: F.conv3d(c(X), c(W)[..., None]),
    "conv3d-4d-weight-unbatched": lambda F, c: F.conv3d(c(X)[0], c(W)[..., 0]),
    "conv3d-channels": lambda F, c: F.conv3d(c(X), c(W)[:, :3]),
    "conv3d-channels-unbatched": lambda F, c: F.conv3d(c(X)[0], c(W)[:, :3]),
    "conv3d-groups-channels": lambda F, c: F.conv3d(c(X), c(W), groups=3),
    "conv3d-groups-out-channels": lambda F, c: F.conv3d(c(X), c(W)[:5, :2], groups=2),
    "conv3d-input-channels-groups": lambda F, c: F.conv3d(c(X), c(W)[:, :2], groups=3),
    "conv3d-bias": lambda F, c: F.conv3d(c(X), c(W), c(W)[:5, 0, 0, 0, 0]),
    "conv3d-kernel-too-deep": lambda F, c: F.conv3d(c(X)[:, :, :2], c(W)),
    "conv3d-dilated-kernel-too-wide": lambda F, c: F.conv3d(c(X), c(W), padding=(0, 0, 1), dilation=(1, 1, 5)),
    "conv3d-valid-kernel-too-deep": lambda F, c: F.conv3d(c(X)[:, :, :2], c(W), padding="valid"),
    "conv3d-no-depth": lambda F, c: F.conv3d(c(X)[:, :, :0], c(W), padding=1),
    "conv3d-no-depth-unbatched": lambda F, c: F.conv3d(c(X)[0, :, :0], c(W), padding=1),
    "conv3d-stride-pair": lambda F, c: F.conv3d(c(X), c(W), stride=(1, 2)),
    "conv3d-padding-four": lambda F, c: F.conv3d(c(X), c(W), padding=(1, 1, 1, 1)),
    "conv3d-zero-stride": lambda F, c: F.conv3d(c(X), c(W), stride=(1, 0, 1)),
    "conv3d-negative-padding": lambda F, c: F.conv3d(c(X), c(W), padding=(0, -1, 0)),
    "conv3d-zero-dilation": lambda F, c: F.conv3d(c(X)[:1], c(W), dilation=(1, 1, 0)),
    "conv3d-zero-groups": lambda F, c: F.conv3d(c(X), c(W), groups=0),
    "conv3d-same-strided": lambda F, c: F.conv3d(c(X), c(W), padding="same", stride=(1, 1, 2)),
    "conv3d-padding-string": lambda F, c: F.conv3d(c(X), c(W), padding="full"),
    "conv-transpose3d-3d-input": lambda F, c: F.conv_transpose3d(c(X)[0, 0], c(WT)),
    "conv-transpose3d-4d-weight": lambda F, c: F.conv_transpose3d(c(X), c(WT)[..., 0]),
    "conv-transpose3d-channels": lambda F, c: F.conv_transpose3d(c(X), c(WT)[:3]),
    "conv-transpose3d-groups": lambda F, c: F.conv_transpose3d(c(X), c(WT), groups=3),
    "conv-transpose3d-bias": lambda F, c: F.conv_transpose3d(c(X), c(WT), c(WT)[:, 0, 0, 0, 0]),
    "conv-transpose3d-bias-without-groups": lambda F, c: F.conv_transpose3d(c(X), c(WT), c(WT)[:3, 0, 0, 0, 0],
                                                                            groups=2),
    "conv-transpose3d-output-padding-of-the-stride": lambda F, c: F.conv_transpose3d(
        c(X), c(WT), stride=2, output_padding=(0, 0, 2)),
    "conv-transpose3d-output-padding-without-stride": lambda F, c: F.conv_transpose3d(
        c(X), c(WT), output_padding=(1, 0, 0)),
    "conv-transpose3d-output-padding-pair": lambda F, c: F.conv_transpose3d(c(X), c(WT), output_padding=(1, 1)),
    "conv-transpose3d-no-width": lambda F, c: F.conv_transpose3d(c(X)[..., :0], c(WT)),
    "conv-transpose3d-output-too-small": lambda F, c: F.conv_transpose3d(c(X)[:1], c(WT), padding=(4, 0, 0)),
    "conv-transpose3d-zero-dilation": lambda F, c: F.conv_transpose3d(c(X)[:1], c(WT), dilation=(1, 0, 1)),
    "conv-transpose3d-negative-output-padding": lambda F, c: F.conv_transpose3d(c(X), c(WT), output_padding=-1),
    "Conv3d-same-strided": lambda F, c: _nn(F).Conv3d(4, 6, 3, stride=(1, 2, 1), padding="same"),
    "Conv3d-groups": lambda F, c: _nn(F).Conv3d(4, 6, 3, groups=4),
    "ConvTranspose3d-padding-mode": lambda F, c: _nn(F).ConvTranspose3d(4, 6, 3, padding_mode="reflect"),
    "ConvTranspose3d-groups": lambda F, c: _nn(F).ConvTranspose3d(4, 6, 3, groups=0),
}


def _nn(functional):
    return mg.nn if functional is F else torch.nn


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](TF, torch.tensor), lambda: ERRORS[name](F, mg.tensor))


@pytest.mark.parametrize("call", [
    lambda F, c: F.conv2d(c(X)[:, :, 0, :0], c(W)[:, :, 0], padding=1),
    lambda F, c: F.conv_transpose2d(c(X)[0, :, 0, :0], c(WT)[:, :, 0]),
    lambda F, c: F.conv1d(c(X)[0, :, 0, 0, :0], c(W)[:, :, 0, 0], padding=1),
    lambda F, c: F.conv_transpose1d(c(X)[:, :, 0, 0, :0], c(WT)[:, :, 0, 0]),
])
def test_the_2d_and_1d_convs_refuse_inputs_without_pixels_as_torch(call):
    """The check that the 3-d convs share, where a 1-d conv's message shows its 2-d view, as torch's."""
    assert_raises_as_torch(lambda: call(TF, torch.tensor), lambda: call(F, mg.tensor))


@pytest.mark.parametrize("call", [
    lambda F, c: F.conv3d(c(X), c(W.astype(np.float64))),
    lambda F, c: F.conv3d(c(X), c(W), c(np.zeros(6))),
    lambda F, c: F.conv_transpose3d(c(X.astype(np.float64)), c(WT)),
])
def test_operands_of_different_dtypes_are_refused_by_the_ops_name(call):
    with pytest.raises(RuntimeError):
        call(TF, torch.tensor)
    with pytest.raises(RuntimeError, match="^conv(_transpose)?3d: expected input"):
        call(F, mg.tensor)


@pytest.mark.parametrize("call", [lambda F, c: F.conv3d(c(X), c(W), stride=1.5),
                                  lambda F, c: F.conv3d(c(X), c(W), groups=2.0),
                                  lambda F, c: F.conv_transpose3d(c(X), c(WT), padding="same")])
def test_wrong_argument_types_are_torchs_type_errors(call):
    with pytest.raises(TypeError):
        call(TF, torch.tensor)
    with pytest.raises(TypeError):
        call(F, mg.tensor)


@pytest.mark.parametrize("name", ["conv3d", "conv_transpose3d"])
def test_functional_arguments_and_defaults_are_torchs(name):
    assert str(inspect.signature(getattr(F, name))) == _torch_signature(name)


def test_a_3d_unet_step_trains_as_torch():
    """Down by a strided Conv3d, up by a ConvTranspose3d, the skip concatenated: two SGD steps as torch's."""
    def block(nn):
        return nn.ModuleList([nn.Conv3d(2, 4, 3, stride=2, padding=1), nn.ConvTranspose3d(4, 2, 2, stride=2),
                              nn.Conv3d(4, 2, 3, padding=1, padding_mode="replicate")])

    def step(lib, modules, x):
        down, up, merge = modules
        return merge(lib.cat([up(down(x).relu()), x], 1))

    torch.manual_seed(0)
    reference, model = block(torch.nn), block(mg.nn)
    model.load_state_dict(torch_state(reference))
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 6, 4)).astype(np.float32)
    optimizers = mg.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(2):
        losses = []
        for lib, modules, optimizer in ((mg, model, optimizers[0]), (torch, reference, optimizers[1])):
            optimizer.zero_grad()
            loss = (step(lib, modules, lib.tensor(x)) ** 2).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for (key, ours), theirs in zip(model.state_dict().items(), reference.state_dict().values()):
        assert relative_error(ours.numpy() if hasattr(ours, "numpy") else ours, theirs.numpy()) <= 1e-5, key
