"""nn.ConvTranspose2d and F.conv_transpose2d against torch's: module outputs and gradients, init bounds, repr,
output_size, errors, and SGD steps of a U-Net up block. The op itself, option by option, is in test_ops.py's SPECS."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch
from test_conv_options import assert_init_is_torchs, assert_module_matches_torch
from test_nn import torch_state

torch = pytest.importorskip("torch")


MODULE_CASES = [  # nn.ConvTranspose2d(in_channels, out_channels, kernel_size, **options)
    (4, 6, 2, dict(stride=2)),                                                  # the U-Net's upsampling
    (4, 6, 3, dict(stride=2, padding=1, output_padding=1)),
    (4, 6, (3, 2), dict(stride=(2, 1), padding=(1, 0), bias=False)),
    (4, 6, 3, dict(padding=2, dilation=2, output_padding=1)),                   # output_padding below the dilation
    (4, 6, 3, dict(stride=2, padding=1, groups=2)),
    (4, 4, 3, dict(stride=3, groups=4, output_padding=(2, 0))),                 # depthwise
]


@pytest.mark.parametrize("in_channels, out_channels, kernel_size, options", MODULE_CASES, ids=str)
@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "unbatched"])
def test_module_matches_torch(in_channels, out_channels, kernel_size, options, batch):
    x = np.random.default_rng(0).standard_normal(batch + (in_channels, 5, 6))
    assert_module_matches_torch("ConvTranspose2d", (in_channels, out_channels, kernel_size), options, x)


@pytest.mark.parametrize("in_channels, out_channels, kernel_size, groups",
                         [(64, 32, 2, 1), (16, 64, (3, 5), 4), (32, 32, 3, 32)], ids=str)
def test_init_bound_is_torchs_fan_in_of_the_transposed_weight(in_channels, out_channels, kernel_size, groups):
    """torch's fan_in is weight.size(1) * kh * kw: out_channels/groups, not in_channels."""
    weight = torch.nn.ConvTranspose2d(in_channels, out_channels, kernel_size, groups=groups).weight
    fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    model = assert_init_is_torchs("ConvTranspose2d", (in_channels, out_channels, kernel_size), dict(groups=groups),
                                  bound=1 / np.sqrt(fan_in))
    assert model.bias.shape == (out_channels,)


@pytest.mark.parametrize("args, options", [
    ((64, 32, 2), dict(stride=2)),
    ((4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((4, 6, (2, 3)), dict(dilation=2, bias=False)),
    ((4, 6, [3, 1]), dict(stride=[2, 1], padding=[1, 0], output_padding=(1, 0))),
], ids=str)
def test_repr_matches_torch(args, options):
    assert repr(mg.nn.ConvTranspose2d(*args, **options)) == repr(torch.nn.ConvTranspose2d(*args, **options))


@pytest.mark.parametrize("output_size", [(9, 9), (10, 9), [2, 6, 10, 10], (6, 9, 10), (8, 8), (11, 10), (9,)],
                         ids=str)
def test_output_size_picks_the_output_padding_as_torch(output_size):
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5)).astype(np.float32)
    assert_output_size_is_torchs("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1),
                                 x[0] if len(output_size) == 3 else x, output_size)


def assert_output_size_is_torchs(layer, args, options, x, output_size):
    """nn.<layer>(*args, **options)(x, output_size=output_size) of both libraries, from one state dict: the same
    output, or the same ValueError (up to its note on the input's size)."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, layer)(*args, **options)
    model = getattr(mg.nn, layer)(*args, **options)
    model.load_state_dict(torch_state(reference))
    try:
        expected = reference(torch.from_numpy(x), output_size=output_size).detach().numpy()
    except ValueError as error:
        with pytest.raises(ValueError) as ours:
            model(mg.tensor(x), output_size=output_size)
        assert str(ours.value).split(" (for")[0] == str(error).split(" (for")[0]
        return
    np.testing.assert_allclose(model(mg.tensor(x), output_size=output_size).numpy(), expected, rtol=1e-5, atol=1e-6)


FUNCTIONAL_ERRORS = {  # (input shape, weight shape, options)
    "input channels not the weight's first dim": ((1, 4, 5, 5), (5, 3, 3, 3), {}),
    "weight not divisible by groups": ((1, 4, 5, 5), (4, 3, 3, 3), dict(groups=3)),
    "bias of the input's channels": ((1, 4, 5, 5), (4, 3, 3, 3), dict(bias=4)),
    "bias without the groups": ((1, 4, 5, 5), (4, 3, 3, 3), dict(bias=3, groups=2)),
    "output_padding of the stride": ((1, 4, 5, 5), (4, 3, 3, 3), dict(stride=2, output_padding=2)),
    "output_padding without stride or dilation": ((1, 4, 5, 5), (4, 3, 3, 3), dict(output_padding=(0, 1))),
    "output too small": ((1, 4, 5, 5), (4, 3, 3, 3), dict(padding=(0, 4))),
    "negative padding": ((1, 4, 5, 5), (4, 3, 3, 3), dict(padding=-1)),
    "negative output_padding": ((1, 4, 5, 5), (4, 3, 3, 3), dict(output_padding=-1)),
    "zero stride": ((1, 4, 5, 5), (4, 3, 3, 3), dict(stride=0)),
    "zero groups": ((1, 4, 5, 5), (4, 3, 3, 3), dict(groups=0)),
    "three strides": ((1, 4, 5, 5), (4, 3, 3, 3), dict(stride=(1, 2, 3))),
    "unbatched input channels": ((4, 5, 5), (5, 3, 3, 3), {}),
}


@pytest.mark.parametrize("name", FUNCTIONAL_ERRORS)
def test_errors_match_torch(name):
    x_shape, weight_shape, options = FUNCTIONAL_ERRORS[name]
    x, weight = np.zeros(x_shape, np.float32), np.zeros(weight_shape, np.float32)
    if "bias" in options:
        options = dict(options, bias=np.zeros(options["bias"], np.float32))
    assert_raises_as_torch(
        lambda: torch.nn.functional.conv_transpose2d(
            torch.from_numpy(x), torch.from_numpy(weight),
            **{k: torch.from_numpy(v) if k == "bias" else v for k, v in options.items()}),
        lambda: mg.functional.conv_transpose2d(mg.tensor(x), mg.tensor(weight),
                                               **{k: mg.tensor(v) if k == "bias" else v for k, v in options.items()}))


@pytest.mark.parametrize("options", [dict(groups=0), dict(groups=4), dict(in_channels=4, groups=4),
                                     dict(padding_mode="reflect")], ids=str)
def test_module_errors_match_torch(options):
    arguments = dict(dict(in_channels=6, out_channels=6, kernel_size=3), **options)
    with pytest.raises(ValueError) as expected:
        torch.nn.ConvTranspose2d(**arguments)
    with pytest.raises(ValueError) as ours:
        mg.nn.ConvTranspose2d(**arguments)
    assert str(ours.value) == str(expected.value)


class UpBlock:
    """A U-Net decoder step in either library: upsample the deep features, concatenate the skip, convolve."""

    def __init__(self, nn, deep, skip):
        self.modules = nn.ModuleList([nn.ConvTranspose2d(deep, skip, 2, stride=2),
                                      nn.Conv2d(2 * skip, skip, 3, padding=1), nn.ReLU()])

    def __call__(self, cat, deep, skip):
        up, conv, relu = self.modules
        return relu(conv(cat([up(deep), skip], 1)))


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-5)])
def test_up_block_trains_as_torch(dtype, rtol):
    torch.manual_seed(0)
    reference = UpBlock(torch.nn, 8, 4)
    reference.modules.to(getattr(torch, dtype))
    model = UpBlock(mg.nn, 8, 4)
    model.modules.to(getattr(mg, dtype))
    model.modules.load_state_dict(torch_state(reference.modules))
    optimizer = mg.optim.SGD(model.modules.parameters(), lr=0.1, momentum=0.9)
    reference_optimizer = torch.optim.SGD(reference.modules.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(4):
        deep, skip = rng.standard_normal((3, 8, 5, 4)).astype(dtype), rng.standard_normal((3, 4, 10, 8)).astype(dtype)
        target = rng.standard_normal((3, 4, 10, 8)).astype(dtype)
        loss = ((model(mg.cat, mg.tensor(deep), mg.tensor(skip)) - mg.tensor(target)) ** 2).mean()
        expected_loss = ((reference(torch.cat, torch.from_numpy(deep), torch.from_numpy(skip))
                          - torch.from_numpy(target)) ** 2).mean()
        np.testing.assert_allclose(loss.item(), expected_loss.item(), rtol=rtol)
        for library_optimizer, library_loss in ((optimizer, loss), (reference_optimizer, expected_loss)):
            library_optimizer.zero_grad()
            library_loss.backward()
            library_optimizer.step()
    for (name, param), expected in zip(model.modules.named_parameters(), reference.modules.parameters()):
        expected = expected.detach().numpy()
        assert np.abs(param.numpy() - expected).max() <= rtol * np.abs(expected).max(), name
