"""minigrad.nn against torch.nn: parameter registration and names, state dicts, default init, layers."""
import collections
import re
import warnings

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from conftest import assert_raises_as_torch, error_of

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
    "Upsample-default": lambda nn: nn.Upsample(scale_factor=2),   # torch's default mode, "nearest"
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


# ----------------------------------------------------------------------------- tied parameters


def build_tied(lib):
    """A submodule under two names and a parameter under two names, in minigrad or torch."""
    model = lib.nn.Module()
    model.a = lib.nn.Conv2d(1, 1, 1)
    model.b = model.a
    model.w = lib.nn.Parameter(lib.ones(1))
    model.v = model.w
    return model


def test_tied_parameters_are_yielded_once_as_torch():
    model, reference = build_tied(mg), build_tied(torch)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in reference.named_parameters()]
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in reference.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in model.named_modules()] == [n for n, _ in reference.named_modules()]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == \
        [n for n, _ in reference.named_modules(remove_duplicate=False)]
    assert [n for n, _ in model.named_children()] == [n for n, _ in reference.named_children()]
    assert len(list(model.parameters())) == len(list(reference.parameters())) == 3
    assert len(list(model.modules())) == len(list(reference.modules())) == 2
    assert model.num_parameters() == sum(p.numel() for p in reference.parameters()) == 1 + 1 + 1


def test_tied_parameters_keep_every_name_in_state_dicts_as_torch():
    model, reference = build_tied(mg), build_tied(torch)
    names = ["w", "v", "a.weight", "a.bias", "b.weight", "b.bias"]
    assert list(model.state_dict()) == list(reference.state_dict()) == names
    state = {name: random_input(value.shape, seed=i) for i, (name, value) in enumerate(model.state_dict().items())}
    model.load_state_dict(state)
    reference.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
    for name, value in reference.state_dict().items():  # the later name wins for a tied parameter, in both
        assert np.array_equal(model.state_dict()[name], value.numpy()), name
    del state["b.bias"]
    with pytest.raises(mg.nn.StateDictError, match="missing keys: b.bias"):
        model.load_state_dict(state)
    with pytest.raises(RuntimeError):  # torch's type, so that ported code catches it
        reference.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
    with pytest.raises(RuntimeError):
        model.load_state_dict(state)


def test_sgd_steps_a_tied_parameter_once_as_torch():
    x = random_input((2, 1, 3, 3))
    model, reference = build_tied(mg), build_tied(torch)
    model.load_state_dict({name: value.detach().numpy() for name, value in reference.state_dict().items()})
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    for net, opt, inputs in ((model, optimizer, mg.tensor(x)), (reference, torch_optimizer, torch.from_numpy(x))):
        ((net.b(net.a(inputs)) * net.v).sum() + (net.w ** 2).sum()).backward()
        opt.step()
    for name, value in reference.state_dict().items():
        assert relative_difference(model.state_dict()[name].numpy(), value.numpy()) <= 1e-6, name


# ----------------------------------------------------------------------------- Sequential


def test_sequential_slice_is_a_sequential_with_torchs_names():
    modules = {lib: lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.ReLU(), lib.nn.Conv2d(2, 2, 1), lib.nn.Sigmoid())
               for lib in (mg, torch)}
    for index in (slice(1, None), slice(None, None, 2), slice(-2, None), slice(5, None)):
        part, reference = modules[mg][index], modules[torch][index]
        assert isinstance(part, mg.nn.Sequential)
        assert [n for n, _ in part.named_children()] == [n for n, _ in reference.named_children()]
        assert len(part) == len(reference) and list(part) == list(modules[mg])[index]
    assert [n for n, _ in modules[mg][1:].named_parameters()] == ["2.weight", "2.bias"]



# Each edit is written once against either library's `nn` and a container, a Sequential or a ModuleList of
# (ReLU, Conv2d(1, 2, 1), Sigmoid); it returns what the operation returns.
CONTAINER_EDITS = {
    "append": lambda nn, seq: seq.append(nn.Identity()),
    "append a non-module": lambda nn, seq: seq.append(3),
    "insert in the middle": lambda nn, seq: seq.insert(1, nn.Conv2d(1, 1, 1)),
    "insert at the end": lambda nn, seq: seq.insert(3, nn.Identity()),
    "insert from the end": lambda nn, seq: seq.insert(-1, nn.Identity()),
    "insert at the front, twice": lambda nn, seq: seq.insert(0, nn.Identity()).insert(0, nn.ReLU()),
    "insert past the end": lambda nn, seq: seq.insert(4, nn.Identity()),
    "insert before the start": lambda nn, seq: seq.insert(-4, nn.Identity()),
    "extend": lambda nn, seq: seq.extend([nn.Identity(), nn.Conv2d(2, 2, 1)]),
    "extend by a sequential": lambda nn, seq: seq.extend(nn.Sequential(nn.Identity())),
    "extend by a non-module": lambda nn, seq: seq.extend([nn.Identity(), 3]),
    "+": lambda nn, seq: seq + nn.Sequential(nn.Identity()),
    "+ a list": lambda nn, seq: seq + [nn.Identity()],
    "+=": lambda nn, seq: seq.__iadd__(nn.Sequential(nn.Identity(), nn.ReLU())),
    "+= a list": lambda nn, seq: seq.__iadd__([nn.Identity()]),
    "* 2": lambda nn, seq: seq * 2,
    "2 *": lambda nn, seq: 2 * seq,
    "*= 3": lambda nn, seq: seq.__imul__(3),
    "* 0": lambda nn, seq: seq * 0,
    "* 1.5": lambda nn, seq: seq * 1.5,
    "del [0]": lambda nn, seq: seq.__delitem__(0),
    "del [-1]": lambda nn, seq: seq.__delitem__(-1),
    "del [::2]": lambda nn, seq: seq.__delitem__(slice(None, None, 2)),
    "del [3]": lambda nn, seq: seq.__delitem__(3),
    "pop(1)": lambda nn, seq: seq.pop(1),
    "pop(1:)": lambda nn, seq: seq.pop(slice(1, None)),
    "[1] = module": lambda nn, seq: seq.__setitem__(1, nn.Identity()),
    "[-3] = module": lambda nn, seq: seq.__setitem__(-3, nn.Identity()),
    "[3] = module": lambda nn, seq: seq.__setitem__(3, nn.Identity()),
    "[0] = number": lambda nn, seq: seq.__setitem__(0, 3),
    "[3]": lambda nn, seq: seq[3],
    "[-4]": lambda nn, seq: seq[-4],
    "[-3]": lambda nn, seq: seq[-3],
    "[1.5]": lambda nn, seq: seq[1.5],
    "del [-4]": lambda nn, seq: seq.__delitem__(-4),
    "empty: [0]": lambda nn, seq: type(seq)()[0],
    "extend by a module list": lambda nn, seq: seq.extend(nn.ModuleList([nn.Identity()])),
    "extend by a non-iterable": lambda nn, seq: seq.extend(3),
    "+ a module list": lambda nn, seq: seq + nn.ModuleList([nn.Identity()]),
    "[1:]": lambda nn, seq: seq[1:],
    "[::-1]": lambda nn, seq: seq[::-1],
    "['0']": lambda nn, seq: seq["0"],
    "named: append": lambda nn, seq: nn.Sequential(collections.OrderedDict(a=nn.ReLU(), b=nn.Sigmoid())).append(
        nn.Identity()),
    "named: del": lambda nn, seq: nn.Sequential(collections.OrderedDict(a=nn.ReLU(), b=nn.Sigmoid())).pop(0),
}


def _sequential_layout(seq):
    """Child names and classes, which children are one object (as * repeats them), and parameter names."""
    children = list(seq._modules.items())
    return ([(name, type(child).__name__, [c for _, c in children].index(child)) for name, child in children],
            [name for name, _ in seq.named_parameters()])


def _outcome(edit, nn, container="Sequential"):
    """The edited container (ReLU, Conv2d(1, 2, 1), Sigmoid), what the edit returned, and the error it raised (with
    library names made alike). `container` is "Sequential" or "ModuleList"."""
    children = [nn.ReLU(), nn.Conv2d(1, 2, 1), nn.Sigmoid()]
    seq = nn.Sequential(*children) if container == "Sequential" else nn.ModuleList(children)
    try:
        result = edit(nn, seq)
    except Exception as error:
        message = re.sub(r"<class '[\w.]*(Sequential|ModuleList)'>", r"<class \1>", str(error))
        return None, None, (type(error), message.replace("torch.nn.", "").replace("minigrad.nn.", ""))
    shown = _sequential_layout(result) if isinstance(result, getattr(nn, container)) else type(result).__name__
    return _sequential_layout(seq), shown, None


@pytest.mark.parametrize("name", CONTAINER_EDITS)
def test_sequential_edits_match_torch(name):
    assert _outcome(CONTAINER_EDITS[name], mg.nn) == _outcome(CONTAINER_EDITS[name], torch.nn)


def test_sequential_insert_refuses_a_non_module_as_append_does():
    """torch's insert asserts (AssertionError) where its append raises TypeError; minigrad's both raise the latter."""
    with pytest.raises(TypeError) as expected:
        torch.nn.Sequential().append(3)
    with pytest.raises(TypeError, match=f"^{re.escape(str(expected.value))}$"):
        mg.nn.Sequential().insert(0, 3)


def test_an_edited_sequential_runs_its_children_in_their_new_order():
    x = random_input((1, 1, 4, 4))
    weights = {"1.weight": random_input((2, 1, 1, 1), seed=1), "1.bias": random_input(2, seed=2),
               "2.weight": random_input((1, 2, 1, 1), seed=3), "2.bias": random_input(1, seed=4)}
    outputs = []
    for lib, as_tensor in ((mg, mg.tensor), (torch, torch.from_numpy)):
        seq = lib.nn.Sequential(lib.nn.Conv2d(1, 2, 1))
        seq.insert(0, lib.nn.Sigmoid()).append(lib.nn.ReLU())
        seq += lib.nn.Sequential(lib.nn.Conv2d(2, 1, 1))
        del seq[2]
        seq.load_state_dict({name: as_tensor(value) for name, value in weights.items()})
        outputs.append(seq(as_tensor(x)).detach().numpy())
    np.testing.assert_allclose(*outputs, atol=1e-6)


def test_a_replaced_child_keeps_its_place_like_torch():
    names = []
    for nn in (mg.nn, torch.nn):
        model = build_nested(nn)
        model.features = nn.Conv2d(3, 5, 1)
        names.append([name for name, _ in model.named_parameters()])
    assert names[0] == names[1]


# ----------------------------------------------------------------------------- functional, against torch


def forward_backward(fn, arrays, seed=1):
    """fn's output and the gradients of a random projection of it, in minigrad and in torch (float64)."""
    mg_inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    results = []
    for lib, inputs in ((mg, mg_inputs), (torch, torch_inputs)):
        out = fn(lib, *inputs)
        weights = np.random.default_rng(seed).standard_normal(tuple(out.shape))
        (out * (mg.tensor(weights) if lib is mg else torch.tensor(weights))).sum().backward()
        results.append((np.asarray(out.detach().numpy()), [np.asarray(t.grad.numpy()) for t in inputs]))
    return results


def assert_matches_torch(fn, *shapes, rtol=1e-10):
    arrays = [np.random.default_rng(i).standard_normal(shape) for i, shape in enumerate(shapes)]
    (out, grads), (expected, expected_grads) = forward_backward(fn, arrays)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    assert relative_difference(out, expected) <= rtol
    for grad, expected_grad in zip(grads, expected_grads):
        assert relative_difference(grad, expected_grad) <= rtol


def functional(lib):
    return mg.functional if lib is mg else torch.nn.functional


ADAPTIVE_POOLS = [((5, 7), 3), ((4, 6), (3, 2)), ((7, 5), (None, 3)), ((5, 7), (2, None)), ((3, 4), (5, 7)),
                  ((6, 8), (4, 8)), ((9, 9), 1), ((8, 6), (4, 3)), ((5, 7), (5, 7))]


@pytest.mark.parametrize("in_size, out_size", ADAPTIVE_POOLS, ids=[f"{i}->{o}" for i, o in ADAPTIVE_POOLS])
def test_adaptive_avg_pool2d_matches_torch(in_size, out_size):
    assert_matches_torch(lambda L, x: functional(L).adaptive_avg_pool2d(x, out_size), (2, 3, *in_size))
    assert_matches_torch(lambda L, x: functional(L).adaptive_avg_pool2d(x, out_size), (3, *in_size))  # unbatched


def test_adaptive_avg_pool2d_divisible_sizes_keep_the_block_mean():
    """The U-Net's global pooling must stay on the cheap path: a reshape and one mean."""
    x = mg.tensor(random_input((2, 3, 8, 6)), requires_grad=True)
    for size in (1, (4, 3), (None, 2)):
        assert mg.functional.adaptive_avg_pool2d(x, size).creator.function is mg.ops.Mean
    assert mg.functional.adaptive_avg_pool2d(x, 3).creator.function is not mg.ops.Mean


def test_adaptive_avg_pool2d_runs_its_gpu_variant_on_host(host_kernels):
    assert_matches_torch(lambda L, x: functional(L).adaptive_avg_pool2d(x, (3, 2)), (2, 3, 5, 7))
    assert "resize" in host_kernels.launches


@pytest.mark.parametrize("size", [-1, 2.0, "2", True])
def test_adaptive_avg_pool2d_refuses_bad_sizes(size):
    with pytest.raises(ValueError, match="output_size"):
        mg.functional.adaptive_avg_pool2d(mg.tensor(random_input((1, 1, 4, 4))), size)


@pytest.mark.parametrize("shape", [(4, 4), (1, 1, 1, 4, 4)], ids=["2-d", "5-d"])
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pooling_refuses_bad_ranks_as_torch(name, shape):
    x = random_input(shape)
    with pytest.raises(RuntimeError) as expected:
        getattr(torch.nn.functional, name)(torch.from_numpy(x), 2)
    with pytest.raises(RuntimeError) as got:
        getattr(mg.functional, name)(mg.tensor(x), 2)
    assert str(got.value) == str(expected.value)


def charbonnier(L, x, y, reduction):
    if L is mg:
        return mg.functional.charbonnier_loss(x, y, eps=0.1, reduction=reduction)
    distance = torch.sqrt((x - y) ** 2 + 0.01)
    return {"mean": distance.mean, "sum": distance.sum, "none": lambda: distance}[reduction]()


LOSSES = {
    "mse_loss": lambda L, x, y, reduction: functional(L).mse_loss(x, y, reduction=reduction),
    "l1_loss": lambda L, x, y, reduction: functional(L).l1_loss(x, y, reduction=reduction),
    "charbonnier_loss": charbonnier,
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_loss_reductions_match_torch(loss, reduction):
    assert_matches_torch(lambda L, x, y: loss(L, x, y, reduction), (2, 3, 4, 5), (2, 3, 4, 5))


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_charbonnier_reductions_on_its_gpu_variant_on_host(reduction, host_kernels):
    assert_matches_torch(lambda L, x, y: charbonnier(L, x, y, reduction), (2, 3, 4, 5), (2, 3, 4, 5))
    assert "charbonnier" in host_kernels.launches


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("input_shape, target_shape", [((2, 3), (3,)), ((4, 1), (4,)), ((3,), (2, 3)), ((2, 3), (2, 3))])
def test_a_target_of_another_size_is_warned_of_and_broadcast_as_in_torch(loss, input_shape, target_shape):
    x, y = random_input(input_shape), random_input(target_shape, seed=1)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        value = getattr(mg.functional, loss)(mg.tensor(x), mg.tensor(y)).item()
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = getattr(torch.nn.functional, loss)(torch.tensor(x), torch.tensor(y)).item()
    assert value == pytest.approx(expected, rel=1e-6)
    assert [str(w.message).split(" (")[0] for w in ours] == [str(w.message).split(" (")[0] for w in theirs]
    assert all(w.filename == __file__ for w in ours)  # the warning points at the caller's line


def test_loss_defaults_are_the_mean_and_bad_reductions_are_refused():
    x, y = mg.tensor(random_input((2, 3))), mg.tensor(random_input((2, 3), seed=1))
    assert mg.functional.mse_loss(x, y).item() == pytest.approx(((x.numpy() - y.numpy()) ** 2).mean())
    assert mg.functional.charbonnier_loss(x, y).item() == pytest.approx(
        np.sqrt((x.numpy() - y.numpy()) ** 2 + 1e-6).mean())
    with pytest.raises(ValueError) as theirs:
        torch.nn.functional.mse_loss(torch.zeros(1), torch.zeros(1), reduction="average")
    for loss in LOSSES.values():
        with pytest.raises(ValueError) as ours:
            loss(mg, x, y, "average")
        assert str(ours.value) == str(theirs.value)


PADS = [((-1, 2), "constant"), ((2, -1, -1, 0), "constant"), ((-3, -1), "constant"), ((-4, 0), "constant"),
        ((-1, 2, 1, -2), "replicate"), ((2, -3, 0, 0), "replicate"),
        ((-1, 2, 0, -1), "reflect"), ((-3, 3, 1, 1), "reflect")]  # reflected from the whole input, not the crop


@pytest.mark.parametrize("pad, mode", PADS, ids=[f"{mode}{pad}" for pad, mode in PADS])
def test_negative_pad_crops_as_torch(pad, mode):
    assert_matches_torch(lambda L, x: functional(L).pad(x, pad, mode=mode), (2, 3, 4, 5))


@pytest.mark.parametrize("pad", [(-6, 1), (-3, -3)])
def test_crops_beyond_the_input_are_refused_as_torch(pad):
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.zeros(1, 5), pad)
    with pytest.raises(ValueError, match="cropping"):
        mg.functional.pad(mg.tensor(np.zeros((1, 5), np.float32)), pad)


def test_interpolate_bilinear_needs_a_4d_input_as_torch():
    x = random_input((3, 4, 4))
    with pytest.raises(NotImplementedError, match="but bilinear mode needs 4D input"):
        torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="but bilinear mode needs 4D input"):
        mg.functional.interpolate(mg.tensor(x), scale_factor=2, mode="bilinear")


# ----------------------------------------------------------------------------- conv2d argument checks


@pytest.mark.parametrize("bias_shape", [(2, 1), (3,), (1,), ()])
def test_conv2d_refuses_a_bias_of_the_wrong_shape(bias_shape):
    x, weight = mg.tensor(random_input((1, 1, 4, 4))), mg.tensor(random_input((2, 1, 3, 3)))
    with pytest.raises(RuntimeError) as expected:
        torch.nn.functional.conv2d(torch.from_numpy(x.numpy()), torch.from_numpy(weight.numpy()),
                                   torch.zeros(bias_shape))
    for stride in (1, 2):
        with pytest.raises(RuntimeError) as ours:
            mg.functional.conv2d(x, weight, mg.tensor(np.zeros(bias_shape, np.float32)), stride=stride)
        assert str(ours.value) == str(expected.value)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("dtypes", [("float32", "float64", None), ("float64", "float32", None),
                                    ("float32", "float32", "float64")])
def test_conv2d_refuses_mixed_dtypes_as_torch(dtypes, stride):
    x_dtype, weight_dtype, bias_dtype = dtypes
    x = random_input((1, 1, 4, 4)).astype(x_dtype)
    weight = random_input((2, 1, 3, 3)).astype(weight_dtype)
    bias = None if bias_dtype is None else np.zeros(2, bias_dtype)
    with pytest.raises(RuntimeError) as expected:
        torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight),
                                   None if bias is None else torch.from_numpy(bias), stride=stride)
    with pytest.raises(expected.type, match="to have the same dtype, but got"):
        mg.functional.conv2d(mg.tensor(x), mg.tensor(weight), None if bias is None else mg.tensor(bias), stride=stride)


@pytest.mark.parametrize("dtypes", [("float32", "float64", None), ("float64", "float32", None),
                                    ("float32", "float32", "float64"), ("float32", "float64", "float64"),
                                    ("float64", "float32", "float64"), ("int64", "float32", None)])
@pytest.mark.parametrize("input_shape", [(3,), (2, 3), (5, 2, 3)])
def test_linear_refuses_mixed_dtypes_in_torchs_words(dtypes, input_shape):
    """torch's words are its addmm's with a bias, its matrix product's without."""
    x_dtype, weight_dtype, bias_dtype = dtypes
    arrays = [np.ones(input_shape, x_dtype), np.ones((4, 3), weight_dtype),
              None if bias_dtype is None else np.ones(4, bias_dtype)]
    errors = [error_of(lambda: lib.nn.functional.linear(*(None if a is None else lib.tensor(a) for a in arrays)))
              for lib in (mg, torch)]
    assert errors[0] == errors[1]


@pytest.mark.parametrize("name, call", [
    ("conv2d", lambda F, x, w: F.conv2d(x, w, padding=1)),
    ("max_pool2d", lambda F, x, w: F.max_pool2d(x, 2) * 1.0),
])
def test_two_d_ops_take_one_unbatched_image_as_torch(name, call):
    rng = np.random.default_rng(21)
    image, weight = rng.standard_normal((2, 6, 8)), rng.standard_normal((3, 2, 3, 3))
    ours = [mg.tensor(a, requires_grad=True) for a in (image, weight)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (image, weight)]
    out, expected = call(mg.functional, *ours), call(torch.nn.functional, *theirs)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-12)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), atol=1e-12)


def test_parameters_without_recursion_are_the_modules_own():
    ours, theirs = mg.nn.Sequential(mg.nn.Conv2d(1, 2, 3)), torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3))
    ours.scale, theirs.scale = mg.nn.Parameter(mg.ones(1)), torch.nn.Parameter(torch.ones(1))
    assert [name for name, _ in ours.named_parameters(recurse=False)] == \
        [name for name, _ in theirs.named_parameters(recurse=False)] == ["scale"]
    assert len(list(ours.parameters(recurse=False))) == 1 and len(list(ours.parameters())) == 3


def test_a_parameter_in_two_groups_is_an_error_as_in_torch():
    weight = mg.nn.Parameter(mg.tensor([1.0]))
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        mg.optim.SGD([{"params": [weight]}, {"params": [weight]}], lr=0.1)
    shared = torch.nn.Parameter(torch.ones(1))
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        torch.optim.SGD([{"params": [shared]}, {"params": [shared]}], lr=0.1)


def test_functional_has_torchs_import_path_too():
    import minigrad.nn.functional as F
    from minigrad.nn.functional import conv2d

    assert F is mg.functional and mg.nn.functional is F and conv2d is mg.functional.conv2d


@pytest.mark.parametrize("shape", [(4, 4), (1, 1, 1, 4, 4)])
@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d"])
def test_two_d_convs_of_another_rank_get_torchs_error(name, shape):
    messages = []
    for library in (mg, torch):
        with pytest.raises(RuntimeError) as refused:
            getattr(library.nn.functional, name)(library.ones(*shape), library.ones(1, 1, 1, 1))
        messages.append(str(refused.value))
    assert messages[0] == messages[1] == (f"Expected 3D (unbatched) or 4D (batched) input to {name}, but got input of "
                                          f"size: {list(shape)}")


# ----------------------------------------------------------------------------- Linear


def torch_state(module):
    return {name: value.detach().numpy() for name, value in module.state_dict().items()}


def linear_pair(in_features, out_features, bias=True, seed=0):
    """A torch Linear with its default init and a minigrad Linear holding the same weights."""
    torch.manual_seed(seed)
    reference = torch.nn.Linear(in_features, out_features, bias=bias)
    model = mg.nn.Linear(in_features, out_features, bias=bias)
    model.load_state_dict(torch_state(reference))
    return model, reference


def forward_backward_module(model, reference, x, seed=1):
    """Both modules' outputs, then the gradients of a random projection of them for the input and every parameter
    (minigrad's and torch's, in named_parameters order)."""
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = model(ours), reference(theirs)
    weights = np.random.default_rng(seed).standard_normal(tuple(expected.shape)).astype(x.dtype)
    (out * mg.tensor(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    grads = [ours.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]
    expected_grads = [theirs.grad.numpy()] + [p.grad.numpy() for p in reference.parameters()]
    return out.numpy(), expected.detach().numpy(), grads, expected_grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3), (2, 1, 2, 3)], ids=str)
def test_linear_forward_and_backward_match_torch(shape, bias):
    model, reference = linear_pair(3, 4, bias=bias)
    out, expected, grads, expected_grads = forward_backward_module(model, reference, random_input(shape))
    assert out.shape == expected.shape == shape[:-1] + (4,) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert len(grads) == len(expected_grads) == (3 if bias else 2)
    for grad, expected_grad in zip(grads, expected_grads):
        assert grad.shape == expected_grad.shape
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(3,), (2, 4, 3)], ids=str)
def test_linear_gradients_pass_gradcheck_in_float64(shape):
    model = mg.nn.Linear(3, 2).to(mg.float64)
    x = mg.tensor(np.random.default_rng(3).standard_normal(shape), requires_grad=True)
    assert mg.gradcheck(lambda x, weight, bias: model(x), [x, model.weight, model.bias])


def test_linear_refuses_inputs_of_the_wrong_width_as_torch():
    model, reference = linear_pair(3, 4)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        reference(torch.zeros(2, 5))
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        model(mg.zeros(2, 5))


def test_linear_default_init_is_torchs():
    """The same names and shapes as torch's; both draw from U(±b), b = gain(leaky_relu, sqrt(5)) * sqrt(3 / fan_in)
    (kaiming_uniform_) for the weight and 1 / sqrt(fan_in) for the bias, which are one number."""
    in_features, out_features = 200, 300
    mg.manual_seed(0)
    model, reference = mg.nn.Linear(in_features, out_features), torch.nn.Linear(in_features, out_features)
    assert [(n, p.shape) for n, p in model.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in reference.named_parameters()] == \
        [("weight", (out_features, in_features)), ("bias", (out_features,))]
    for fan_in in (1, 3, 200, 4096):
        weight_bound = torch.nn.init.calculate_gain("leaky_relu", np.sqrt(5)) * np.sqrt(3 / fan_in)
        assert mg.nn.init.default_bound(fan_in) == pytest.approx(weight_bound, rel=1e-12)
        assert mg.nn.init.default_bound(fan_in) == pytest.approx(1 / np.sqrt(fan_in), rel=1e-12)  # the bias's
    bound = mg.nn.init.default_bound(in_features)
    for values, torch_values in ((model.weight.numpy(), reference.weight), (model.bias.numpy(), reference.bias)):
        assert values.dtype == np.float32
        for sample in (values, torch_values.detach().numpy()):
            assert bound * 0.95 < np.abs(sample).max() <= bound  # both fill the same interval
        assert stats.kstest(values.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3
    assert not np.array_equal(model.weight.numpy(), mg.nn.Linear(in_features, out_features).weight.numpy())


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")  # torch's, on its own layer
def test_linear_without_inputs_has_a_zero_bias_as_torch():
    model, reference = mg.nn.Linear(0, 3), torch.nn.Linear(0, 3)
    assert model.weight.shape == tuple(reference.weight.shape) == (3, 0)
    assert np.array_equal(model.bias.numpy(), reference.bias.detach().numpy()) and not model.bias.numpy().any()


def test_linear_loads_a_torch_state_dict_and_gives_its_outputs():
    torch.manual_seed(4)
    reference = torch.nn.Linear(6, 2)
    model = mg.nn.Linear(6, 2)
    assert list(model.state_dict()) == list(reference.state_dict()) == ["weight", "bias"]
    model.load_state_dict(reference.state_dict())  # torch tensors, as read from a .pth
    x = random_input((3, 6))
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(mg.tensor(x)).numpy(), expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(mg.nn.StateDictError, match=r"weight: checkpoint \(2, 5\) vs model \(2, 6\)"):
        model.load_state_dict(torch.nn.Linear(5, 2).state_dict())


@pytest.mark.parametrize("make", [
    lambda nn: nn.Linear(3, 4), lambda nn: nn.Linear(3, 4, bias=False), lambda nn: nn.Flatten(),
    lambda nn: nn.Flatten(0, 2), lambda nn: nn.ReLU(), lambda nn: nn.ReLU(inplace=True), lambda nn: nn.Identity(),
    lambda nn: nn.MSELoss(), lambda nn: nn.L1Loss(reduction="sum"), lambda nn: nn.Upsample(scale_factor=2),
    lambda nn: nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
], ids=["Linear", "Linear-no-bias", "Flatten", "Flatten(0, 2)", "ReLU", "ReLU-inplace", "Identity", "MSELoss",
        "L1Loss", "Upsample", "Upsample-size"])
def test_layer_reprs_match_torch(make):
    assert repr(make(mg.nn)) == repr(make(torch.nn))


def test_mlp_trained_with_sgd_matches_torch():
    def mlp(nn):
        return nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(inplace=True), nn.Linear(16, 3))

    torch.manual_seed(1)
    reference, model = mlp(torch.nn), mlp(mg.nn)
    initial = {name: value.copy() for name, value in torch_state(reference).items()}
    model.load_state_dict(initial)
    assert [n for n, _ in model.named_parameters()] == ["1.weight", "1.bias", "3.weight", "3.bias"]
    rng = np.random.default_rng(2)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
    for _ in range(5):
        x, y = rng.standard_normal((8, 3, 2, 2)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32)
        for net, opt, loss, as_tensor in ((model, optimizer, mg.nn.MSELoss(), mg.tensor),
                                          (reference, torch_optimizer, torch.nn.MSELoss(), torch.from_numpy)):
            opt.zero_grad()
            loss(net(as_tensor(x)), as_tensor(y)).backward()
            opt.step()
    trained = torch_state(reference)
    assert all(np.abs(trained[name] - value).max() > 1e-3 for name, value in initial.items())  # the steps moved them
    for name, value in trained.items():
        np.testing.assert_allclose(model.state_dict()[name], value, rtol=1e-5, atol=1e-6, err_msg=name)


# ----------------------------------------------------------------------------- Flatten, Identity, ReLU(inplace)


@pytest.mark.parametrize("start_dim, end_dim", [(1, -1), (0, -1), (1, 2), (-2, -1), (2, 2)])
def test_flatten_matches_torch(start_dim, end_dim):
    assert_matches_torch(lambda L, x: L.nn.Flatten(start_dim, end_dim)(x), (2, 3, 4, 5))


def test_flatten_refuses_a_start_after_the_end_as_torch():
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        torch.nn.Flatten(2, 1)(torch.zeros(2, 3, 4))
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        mg.nn.Flatten(2, 1)(mg.zeros(2, 3, 4))


def test_identity_ignores_its_arguments_as_torch():
    x = mg.tensor(random_input((2, 3)))
    assert mg.nn.Identity(54, unused=0.1)(x) is x
    assert list(mg.nn.Identity(3).parameters()) == list(torch.nn.Identity(3).parameters()) == []


def test_relu_accepts_inplace_and_computes_out_of_place():
    x = random_input((2, 3, 4)) * 3
    expected = torch.nn.ReLU(inplace=True)(torch.from_numpy(x.copy())).numpy()
    ours = mg.tensor(x.copy())
    out = mg.nn.ReLU(inplace=True)(ours)
    assert np.array_equal(out.numpy(), expected) and (x < 0).any()
    assert np.array_equal(ours.numpy(), x)  # minigrad's input keeps its values
    assert mg.nn.ReLU(True).inplace is torch.nn.ReLU(True).inplace is True


# ----------------------------------------------------------------------------- ModuleList


def build_stack(nn):
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 5), nn.ReLU()])
            self.layers.append(nn.Linear(5, 3))
            self.layers.extend([nn.ReLU(), nn.Linear(3, 2, bias=False)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    return Stack()


def test_module_list_registers_its_modules_under_torchs_names():
    torch.manual_seed(0)
    model, reference = build_stack(mg.nn), build_stack(torch.nn)
    names = ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight"]
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in reference.named_parameters()] == names
    assert list(model.state_dict()) == list(reference.state_dict()) == names
    assert [n for n, _ in model.named_modules()] == [n for n, _ in reference.named_modules()]
    assert len(list(model.parameters())) == 5 and model.num_parameters() == reference_size(reference)
    assert len(model.layers) == 5 and model.layers[-1] is list(model.layers)[4] and model.layers[2].out_features == 3
    assert isinstance(model.layers[1:3], mg.nn.ModuleList) and [n for n, _ in model.layers[1:3].named_parameters()] \
        == [n for n, _ in reference.layers[1:3].named_parameters()] == ["1.weight", "1.bias"]

    model.load_state_dict(torch_state(reference))
    x = random_input((6, 4))
    np.testing.assert_allclose(model(mg.tensor(x)).numpy(), reference(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert model.to(mg.float64) is model
    assert [p.dtype for p in model.parameters()] == [np.float64] * 5


def reference_size(module):
    return sum(p.numel() for p in module.parameters())


# torch's ModuleList.insert does not check its index: a negative one raises KeyError, one past the end leaves a gap
# in the numbering; minigrad's checks it as Sequential.insert does. The named edits are Sequential's own.
MODULE_LIST_EDITS = [name for name in CONTAINER_EDITS if not name.startswith(("named:", "insert from", "insert past",
                                                                               "insert before"))]


@pytest.mark.parametrize("name", MODULE_LIST_EDITS)
def test_module_list_edits_match_torch(name):
    edit = CONTAINER_EDITS[name]
    assert _outcome(edit, mg.nn, "ModuleList") == _outcome(edit, torch.nn, "ModuleList")


def test_module_list_takes_none_and_has_no_forward_as_torch():
    assert len(mg.nn.ModuleList(None)) == len(torch.nn.ModuleList(None)) == 0
    with pytest.raises(NotImplementedError):
        torch.nn.ModuleList([torch.nn.ReLU()])(torch.zeros(1))
    with pytest.raises(NotImplementedError):
        mg.nn.ModuleList([mg.nn.ReLU()])(mg.zeros(1))


# ----------------------------------------------------------------------------- loss modules


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss"])
def test_loss_modules_match_torch(loss, reduction):
    assert_matches_torch(lambda L, x, y: getattr(L.nn, loss)(reduction=reduction)(x, y), (2, 3, 4), (2, 3, 4))
    assert_matches_torch(lambda L, x, y: getattr(L.nn, loss)()(x, y), (5,), (5,))  # the mean by default


@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss"])
@pytest.mark.parametrize("legacy", [dict(reduce=False), dict(size_average=False), dict(size_average=True, reduce=True)],
                         ids=str)
def test_loss_modules_take_torchs_legacy_arguments(loss, legacy):
    with pytest.warns(UserWarning) as ours:
        module = getattr(mg.nn, loss)(**legacy)
    with pytest.warns(UserWarning) as theirs:
        reference = getattr(torch.nn, loss)(**legacy)
    assert module.reduction == reference.reduction
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__


@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss"])
def test_loss_modules_refuse_a_bad_reduction_when_called(loss):
    x = random_input((2, 3))
    module = getattr(mg.nn, loss)(reduction="average")  # accepted until called, as torch
    reference = getattr(torch.nn, loss)(reduction="average")
    with pytest.raises(ValueError) as theirs:
        reference(torch.from_numpy(x), torch.from_numpy(x))
    with pytest.raises(ValueError) as ours:
        module(mg.tensor(x), mg.tensor(x))
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------- Conv2d padding="same"/"valid"


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's note on its copy
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel_size", [1, 3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 3, 7, 6), (3, 5, 5)], ids=str)
def test_conv2d_padding_strings_match_torch(padding, kernel_size, shape):
    torch.manual_seed(kernel_size)
    reference = torch.nn.Conv2d(3, 2, kernel_size, padding=padding).double()
    model = mg.nn.Conv2d(3, 2, kernel_size, padding=padding).to(mg.float64)
    model.load_state_dict(torch_state(reference))
    x = np.random.default_rng(kernel_size).standard_normal(shape)
    out, expected, grads, expected_grads = forward_backward_module(model, reference, x)
    if padding == "same":
        assert out.shape[-2:] == shape[-2:]
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    assert len(grads) == len(expected_grads) == 3
    for grad, expected_grad in zip(grads, expected_grads):
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_conv2d_same_padding_in_float32_matches_torch():
    torch.manual_seed(0)
    reference, model = torch.nn.Conv2d(3, 4, 3, padding="same"), mg.nn.Conv2d(3, 4, 3, padding="same")
    model.load_state_dict(torch_state(reference))
    out, expected, grads, expected_grads = forward_backward_module(model, reference, random_input((2, 3, 8, 8)))
    assert out.dtype == np.float32
    assert relative_difference(out, expected) <= 1e-5
    for grad, expected_grad in zip(grads, expected_grads):
        assert relative_difference(grad, expected_grad) <= 1e-5


@pytest.mark.parametrize("kwargs", [dict(padding="full"), dict(padding="same", stride=2),
                                    dict(padding="same", stride=(1, 2))], ids=str)
def test_conv2d_padding_strings_are_refused_as_torch(kwargs):
    def message(error):  # torch names the valid strings as a set, in an order that changes from run to run
        return re.sub(r"\{(.*)\}", lambda m: str(sorted(m.group(1).split(", "))), str(error.value))

    with pytest.raises(ValueError) as expected:
        torch.nn.Conv2d(1, 1, 3, **kwargs)
    with pytest.raises(ValueError) as ours:
        mg.nn.Conv2d(1, 1, 3, **kwargs)
    assert message(ours) == message(expected)


def test_register_module_is_add_module_as_torchs():
    for lib in (mg, torch):
        model = lib.nn.Sequential()
        model.register_module("head", lib.nn.Linear(2, 3))
        assert [name for name, _ in model.named_children()] == ["head"] and model.head.out_features == 3
    assert_raises_as_torch(lambda: torch.nn.Module().register_module("a.b", torch.nn.ReLU()),
                           lambda: mg.nn.Module().register_module("a.b", mg.nn.ReLU()))

