"""nn.Conv2d and F.conv2d with torch's full 2-d options: per-axis kernel, stride and padding, dilation, groups,
the padding strings and padding modes. Modules against torch's (outputs and gradients), init bounds, repr,
errors, and SGD steps of a depthwise-separable block. The op itself, path by path, is in test_ops.py's SPECS."""
import re

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from conftest import assert_raises_as_torch
from test_nn import forward_backward_module, torch_state

torch = pytest.importorskip("torch")


MODULE_CASES = [  # nn.Conv2d(in_channels, out_channels, kernel_size, **options)
    (4, 6, (3, 2), dict(stride=(2, 1), padding=(1, 0))),
    (4, 6, 3, dict(padding=2, dilation=2)),
    (4, 6, 3, dict(stride=2, dilation=2)),
    (4, 6, 3, dict(padding=1, groups=2)),
    (4, 4, 3, dict(padding=1, groups=4, bias=False)),              # depthwise
    (4, 8, 3, dict(padding=1, groups=4)),                          # depthwise, two output channels per input
    (6, 9, 1, dict(groups=3)),
    (4, 6, 4, dict(padding="same")),                               # even kernel: torch pads one more after
    (4, 6, 3, dict(padding="same", dilation=(2, 3))),              # spans 5 and 7: symmetric
    (4, 6, (2, 4), dict(padding="same", dilation=(3, 1), groups=2)),  # spans 4 and 4: one more after
    (4, 6, 3, dict(padding="valid", dilation=2)),
    (4, 6, 3, dict(padding=(1, 2), padding_mode="reflect")),
    (4, 6, 3, dict(stride=2, padding=2, groups=2, padding_mode="replicate")),
    (4, 6, (4, 3), dict(padding="same", padding_mode="reflect")),
    (4, 6, 3, dict(padding="same", dilation=2, padding_mode="replicate")),
]


def assert_module_matches_torch(layer, args, options, x):
    """nn.<layer>(*args, **options) of both libraries, from one state dict, in float64: outputs and the gradients
    of input, weight and bias. Returns the output."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, layer)(*args, **options).double()
    model = getattr(mg.nn, layer)(*args, **options).to(mg.float64)
    model.load_state_dict(torch_state(reference))
    out, expected, grads, expected_grads = forward_backward_module(model, reference, x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    assert len(grads) == len(expected_grads) == 2 + options.get("bias", True)
    for grad, expected_grad in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)
    return out


def assert_init_is_torchs(layer, args, options, bound):
    """Weight and bias of nn.<layer>(*args, **options), in both libraries, uniform over the whole (-bound, bound)."""
    mg.manual_seed(0)
    torch.manual_seed(0)
    model, reference = getattr(mg.nn, layer)(*args, **options), getattr(torch.nn, layer)(*args, **options)
    assert model.weight.shape == tuple(reference.weight.shape)
    assert model.bias.shape == tuple(reference.bias.shape)
    for ours, theirs in ((model.weight, reference.weight), (model.bias, reference.bias)):
        for values in (ours.numpy(), theirs.detach().numpy()):
            assert np.abs(values).max() <= bound
            assert stats.kstest(values.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3
    assert np.abs(model.weight.numpy()).max() > 0.95 * bound                # the whole interval, not a narrower one
    return model


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's note on its copy
@pytest.mark.parametrize("in_channels, out_channels, kernel_size, options", MODULE_CASES, ids=str)
@pytest.mark.parametrize("batch", [(2,), ()], ids=["batched", "unbatched"])
def test_conv2d_module_matches_torch(in_channels, out_channels, kernel_size, options, batch):
    x = np.random.default_rng(0).standard_normal(batch + (in_channels, 9, 8))
    out = assert_module_matches_torch("Conv2d", (in_channels, out_channels, kernel_size), options, x)
    if options.get("padding") == "same":
        assert out.shape[-2:] == x.shape[-2:]


@pytest.mark.parametrize("in_channels, out_channels, kernel_size, groups",
                         [(64, 64, 3, 64), (64, 128, (3, 5), 4), (32, 64, 1, 2)], ids=str)
def test_conv2d_init_bound_is_over_the_channels_of_one_group(in_channels, out_channels, kernel_size, groups):
    kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    model = assert_init_is_torchs("Conv2d", (in_channels, out_channels, kernel_size), dict(groups=groups),
                                  bound=1 / np.sqrt(in_channels // groups * kh * kw))
    assert model.weight.shape == (out_channels, in_channels // groups, kh, kw)


@pytest.mark.parametrize("args, options", [
    ((3, 8, 3), {}),
    ((3, 8, [3, 1]), dict(stride=[2, 1], padding=[1, 0])),
    ((4, 6, (3, 1)), dict(stride=(2, 1), padding=(1, 0), dilation=2, groups=2, bias=False, padding_mode="reflect")),
    ((4, 6, 3), dict(padding="same", dilation=(1, 2))),
    ((4, 6, 3), dict(padding="valid")),
    ((4, 4, 3), dict(padding=1, groups=4, padding_mode="replicate")),
], ids=str)
def test_conv2d_repr_matches_torch(args, options):
    assert repr(mg.nn.Conv2d(*args, **options)) == repr(torch.nn.Conv2d(*args, **options))


FUNCTIONAL_ERRORS = {  # (input shape, weight shape, options)
    "output channels not divisible by groups": ((1, 4, 5, 5), (5, 2, 3, 3), dict(groups=2)),
    "input channels not divisible by groups": ((1, 3, 5, 5), (4, 1, 3, 3), dict(groups=2)),
    "input channels not weight's times groups": ((1, 6, 5, 5), (6, 2, 3, 3), dict(groups=2)),
    "channels without groups": ((1, 3, 5, 5), (6, 2, 3, 3), {}),
    "zero groups": ((1, 4, 5, 5), (6, 2, 3, 3), dict(groups=0)),
    "dilated kernel beyond the input": ((1, 4, 4, 4), (6, 2, 3, 3), dict(dilation=2, groups=2)),
    "dilated kernel beyond the padded input": ((1, 4, 4, 8), (6, 4, 3, 3), dict(padding=(0, 1), dilation=(3, 1))),
    "kernel beyond the input's height": ((1, 4, 2, 5), (6, 4, 3, 3), {}),
    "zero stride": ((1, 4, 5, 5), (6, 4, 3, 3), dict(stride=(1, 0))),
    "negative padding": ((1, 4, 5, 5), (6, 4, 3, 3), dict(padding=(0, -1))),
    "zero dilation": ((1, 4, 5, 5), (6, 4, 3, 3), dict(dilation=0)),
    "zero dilation along the width": ((1, 4, 5, 5), (6, 4, 3, 3), dict(dilation=(2, 0))),
    "same with a stride": ((1, 4, 5, 5), (6, 4, 3, 3), dict(padding="same", stride=(1, 2))),
    "unknown padding string": ((1, 4, 5, 5), (6, 4, 3, 3), dict(padding="full")),
    "three strides": ((1, 4, 5, 5), (6, 4, 3, 3), dict(stride=(1, 1, 1))),
}


@pytest.mark.parametrize("name", FUNCTIONAL_ERRORS)
def test_conv2d_errors_match_torch(name):
    x_shape, weight_shape, options = FUNCTIONAL_ERRORS[name]
    x, weight = np.zeros(x_shape, np.float32), np.zeros(weight_shape, np.float32)
    assert_raises_as_torch(lambda: torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight), **options),
                           lambda: mg.functional.conv2d(mg.tensor(x), mg.tensor(weight), **options))


@pytest.mark.parametrize("options", [dict(stride=[2]), dict(stride=(2,)), dict(padding=[1]), dict(dilation=[2]),
                                     dict(groups=1.5), dict(stride=True), dict(stride=2.0), dict(padding=(1.0, 1))],
                         ids=str)
def test_conv2d_reads_its_sizes_as_torch(options):
    """A one-element list stands for both sides; floats and bools are TypeErrors (torch's words differ)."""
    x, weight = np.zeros((1, 2, 6, 6), np.float32), np.zeros((2, 2, 3, 3), np.float32)
    try:
        expected = tuple(torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight), **options).shape)
    except TypeError:
        with pytest.raises(TypeError):
            mg.functional.conv2d(mg.tensor(x), mg.tensor(weight), **options)
    else:
        assert mg.functional.conv2d(mg.tensor(x), mg.tensor(weight), **options).shape == expected


@pytest.mark.parametrize("options", [dict(groups=0), dict(groups=-2), dict(groups=4), dict(in_channels=4, groups=4),
                                     dict(padding_mode="mirror")], ids=str)
def test_conv2d_module_errors_match_torch(options):
    def message(error):  # torch names the padding modes as a set, in an order that changes from run to run
        return re.sub(r"\{(.*)\}", lambda m: str(sorted(m.group(1).split(", "))), str(error.value))

    arguments = dict(dict(in_channels=6, out_channels=6, kernel_size=3), **options)
    with pytest.raises(ValueError) as expected:
        torch.nn.Conv2d(**arguments)
    with pytest.raises(ValueError) as ours:
        mg.nn.Conv2d(**arguments)
    assert message(ours) == message(expected)


def depthwise_separable_block(nn):
    """A MobileNet-style block: depthwise 3x3, pointwise 1x1, then a dilated, strided, grouped 3x3."""
    return nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.ReLU(), nn.Conv2d(8, 16, 1),
                         nn.ReLU(), nn.Conv2d(16, 16, 3, stride=2, padding=2, dilation=2, groups=4))


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-5)])
def test_depthwise_separable_block_trains_as_torch(dtype, rtol):
    torch.manual_seed(0)
    reference = depthwise_separable_block(torch.nn).to(getattr(torch, dtype))
    model = depthwise_separable_block(mg.nn).to(getattr(mg, dtype))
    model.load_state_dict(torch_state(reference))
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x, target = rng.standard_normal((4, 8, 12, 10)).astype(dtype), rng.standard_normal((4, 16, 6, 5)).astype(dtype)
        loss = ((model(mg.tensor(x)) - mg.tensor(target)) ** 2).mean()
        expected_loss = ((reference(torch.from_numpy(x)) - torch.from_numpy(target)) ** 2).mean()
        np.testing.assert_allclose(loss.item(), expected_loss.item(), rtol=rtol)
        for library_optimizer, library_loss in ((optimizer, loss), (reference_optimizer, expected_loss)):
            library_optimizer.zero_grad()
            library_loss.backward()
            library_optimizer.step()
    for (name, param), expected in zip(model.named_parameters(), reference.parameters()):
        expected = expected.detach().numpy()
        assert np.abs(param.numpy() - expected).max() <= rtol * np.abs(expected).max(), name
