"""minigrad.nn against torch.nn: parameter registration and names, state dicts, default init, layers."""
import numpy as np
import pytest
from scipy import stats

import minigrad as mg

torch = pytest.importorskip("torch")


def build_nested(nn):
    """The same nested structure from either library's `nn` namespace (they share the names)."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1))
            self.head = nn.Conv2d(5, 2, 1)

        def forward(self, x):
            return self.head(self.features(x))

    return Net()


def relative_difference(actual, expected):
    return np.abs(actual - expected).max() / np.abs(expected).max()


def random_input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ----------------------------------------------------------------------------- registration


def test_parameter_names_and_order_match_torch():
    model = build_nested(mg.nn)
    names = [name for name, _ in model.named_parameters()]
    assert names == list(build_nested(torch.nn).state_dict().keys())
    assert list(model.state_dict().keys()) == names
    assert model.features[0].weight is dict(model.named_parameters())["features.0.weight"]


def test_attribute_assignment_registers_and_replaces():
    module = mg.nn.Module()
    module.conv = mg.nn.Conv2d(1, 2, 3)
    module.scale = mg.nn.Parameter(np.ones(2, np.float32))
    module.buffer_like = mg.tensor(np.ones(2, np.float32))  # a plain tensor is not a parameter, as in torch
    assert [name for name, _ in module.named_parameters()] == ["scale", "conv.weight", "conv.bias"]
    assert list(module.children()) == [module.conv]

    module.conv = mg.nn.Conv2d(1, 2, 3, bias=False)
    module.scale = None  # torch keeps a None slot that named_parameters skips; either way the name is gone
    assert [name for name, _ in module.named_parameters()] == ["conv.weight"]
    assert module.num_parameters() == 2 * 1 * 3 * 3


def test_plain_values_over_a_parameter_or_module_are_refused_like_torch():
    module = mg.nn.Module()
    module.conv = mg.nn.Conv2d(1, 2, 3)
    with pytest.raises(TypeError, match="'weight'.*Parameter or None"):
        module.conv.weight = mg.tensor(np.zeros((2, 1, 3, 3), np.float32))
    with pytest.raises(TypeError, match="child module 'conv'"):
        module.conv = "not a module"
    assert [name for name, _ in module.named_parameters()] == ["conv.weight", "conv.bias"]


def test_sequential_child_names_indexing_and_len():
    layers = [mg.nn.Conv2d(1, 2, 3), mg.nn.ReLU(), mg.nn.Conv2d(2, 2, 1)]
    seq = mg.nn.Sequential(*layers)
    assert [name for name, _ in seq.named_children()] == ["0", "1", "2"]
    assert len(seq) == 3
    assert seq[0] is layers[0] and seq[1] is layers[1] and seq[-1] is layers[2]
    assert list(seq) == layers
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


# ----------------------------------------------------------------------------- state dicts


def test_strict_load_reports_missing_unexpected_and_mismatched_keys():
    model = build_nested(mg.nn)
    state = {name: np.array(value) for name, value in model.state_dict().items()}
    del state["head.bias"]
    state["head.gain"] = np.ones(2, np.float32)
    state["features.2.weight"] = np.zeros((5, 4, 1, 1), np.float32)
    with pytest.raises(mg.nn.StateDictError) as excinfo:
        model.load_state_dict(state)
    message = str(excinfo.value)
    assert "missing keys: head.bias" in message
    assert "unexpected keys: head.gain" in message
    assert "features.2.weight" in message and "(5, 4, 1, 1)" in message and "(5, 4, 3, 3)" in message


def test_non_strict_load_copies_the_given_subset():
    model = build_nested(mg.nn)
    before = {name: np.array(value) for name, value in model.state_dict().items()}
    subset = {"head.weight": random_input((2, 5, 1, 1)), "features.0.bias": random_input(4, seed=1)}
    result = model.load_state_dict(subset, strict=False)
    after = model.state_dict()
    for name in before:
        assert np.array_equal(after[name], subset.get(name, before[name])), name
    assert set(result.missing_keys) == set(before) - set(subset) and result.unexpected_keys == []

    subset["head.weight"][...] = 0  # the model holds a copy, not the caller's array
    assert not np.array_equal(model.head.weight.numpy(), subset["head.weight"])


def test_torch_weights_give_torch_outputs():
    torch.manual_seed(0)
    torch_model = build_nested(torch.nn)
    model = build_nested(mg.nn)
    model.load_state_dict({name: value.numpy() for name, value in torch_model.state_dict().items()})
    x = random_input((2, 3, 9, 11))
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    actual = model(mg.tensor(x))
    assert actual.dtype == np.float32
    assert relative_difference(actual.numpy(), expected) <= 1e-5


# ----------------------------------------------------------------------------- default init


def test_conv_default_init_is_torchs_uniform_bound():
    in_channels, out_channels, k = 64, 128, 3
    bound = 1 / np.sqrt(in_channels * k * k)
    mg.manual_seed(0)
    conv = mg.nn.Conv2d(in_channels, out_channels, k)
    reference = torch.nn.Conv2d(in_channels, out_channels, k)
    for mg_values, torch_values in ((conv.weight.numpy(), reference.weight), (conv.bias.numpy(), reference.bias)):
        torch_values = torch_values.detach().numpy()
        for values in (mg_values, torch_values):
            assert bound * 0.95 < np.abs(values).max() <= bound  # both fill the same interval
        assert stats.kstest(mg_values.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3


def test_manual_seed_makes_init_reproducible():
    def weights(seed):
        mg.manual_seed(seed)
        return [p.numpy() for p in build_nested(mg.nn).parameters()]

    first, again, other = weights(5), weights(5), weights(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))


# ----------------------------------------------------------------------------- modes and devices


def test_train_and_eval_propagate_to_children():
    model = build_nested(mg.nn)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_to_cpu_is_a_no_op_returning_self():
    model = build_nested(mg.nn)
    before = [p.data for p in model.parameters()]
    assert model.to("cpu") is model
    assert all(p.data is array for p, array in zip(model.parameters(), before))


@pytest.mark.skipif(mg.gpu_available(), reason="a GPU is available here")
def test_to_gpu_without_cupy_names_the_fix():
    with pytest.raises(mg.DeviceError, match=r'pip install -e "\.\[gpu\]"'):
        build_nested(mg.nn).to("gpu")


# ----------------------------------------------------------------------------- layers

LAYER_PAIRS = {
    "MaxPool2d": lambda nn: nn.MaxPool2d(2),
    "Upsample-align_corners": lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
    "Upsample-half_pixel": lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
    "AdaptiveAvgPool2d": lambda nn: nn.AdaptiveAvgPool2d(1),
    "ReLU": lambda nn: nn.ReLU(),
    "Sigmoid": lambda nn: nn.Sigmoid(),
}


@pytest.mark.parametrize("make_layer", LAYER_PAIRS.values(), ids=LAYER_PAIRS.keys())
def test_layer_forward_matches_torch(make_layer):
    x = random_input((2, 3, 8, 10)) * 4
    expected = make_layer(torch.nn)(torch.from_numpy(x)).numpy()
    actual = make_layer(mg.nn)(mg.tensor(x)).numpy()
    assert actual.shape == expected.shape and actual.dtype == np.float32
    assert relative_difference(actual, expected) <= 1e-6  # float32 rounding of the interpolation weights
