"""nn.ModuleDict and Module.register_parameter, get_parameter and cpu, each against torch's."""
import collections
import inspect

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn

torch = pytest.importorskip("torch")


def _build(lib):
    """The same dict built and edited by either library, the edits torch code makes."""
    blocks = lib.nn.ModuleDict({"down": lib.nn.Linear(2, 3), "act": lib.nn.ReLU()})
    blocks["up"] = lib.nn.Linear(3, 2)
    blocks.update([("out", lib.nn.Linear(2, 1)), ("act", lib.nn.Tanh())])       # "act" replaced in its place
    blocks.update(collections.OrderedDict(norm=lib.nn.LayerNorm(1)))
    popped = blocks.pop("up")
    del blocks["norm"]
    return blocks, popped


def test_editing_a_module_dict_matches_torch():
    (ours, our_popped), (theirs, their_popped) = _build(mg), _build(torch)
    assert list(ours) == list(theirs) == list(ours.keys()) == ["down", "act", "out"]
    assert [type(m).__name__ for m in ours.values()] == [type(m).__name__ for m in theirs.values()]
    assert [(k, type(m).__name__) for k, m in ours.items()] == [(k, type(m).__name__) for k, m in theirs.items()]
    assert len(ours) == len(theirs) == 3 and ("act" in ours) and ("up" not in ours)
    assert type(our_popped).__name__ == type(their_popped).__name__
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in theirs.named_parameters()]
    ours.clear()
    theirs.clear()
    assert len(ours) == len(theirs) == 0 and list(ours.state_dict()) == []


def test_a_module_dict_inside_a_model_names_its_state_as_torch():
    def model(lib):
        root = lib.nn.Module()
        root.heads = lib.nn.ModuleDict({"mask": lib.nn.Conv2d(2, 1, 1), "edges": lib.nn.Conv2d(2, 1, 1)})
        return root

    ours, theirs = model(mg), model(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(1, 2, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(ours.heads["edges"](mg.tensor(x)).numpy(),
                               theirs.heads["edges"](torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["ModuleList", "ModuleDict", "ParameterList", "ParameterDict"])
def test_the_containers_take_their_contents_by_torchs_keyword(name):
    """ModuleList(modules=...), ParameterDict(parameters=...), ...: torch's parameter names, and a container built
    by keyword names its entries as torch's does."""
    keyword = list(inspect.signature(getattr(torch.nn, name)).parameters)
    assert list(inspect.signature(getattr(nn, name)).parameters) == keyword
    contents = {"Module": lambda lib: [lib.nn.Linear(2, 2), lib.nn.ReLU()],
                "Parameter": lambda lib: [lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.zeros(3))]}
    kind = "Module" if name.startswith("Module") else "Parameter"
    made = []
    for lib in (torch, mg):
        entries = contents[kind](lib)
        entries = dict(zip("ab", entries)) if name.endswith("Dict") else entries
        container = getattr(lib.nn, name)(**{keyword[0]: entries})
        made.append([(key, tuple(value.shape)) for key, value in container.state_dict().items()] if kind == "Module"
                    else [(key, tuple(value.shape)) for key, value in container.named_parameters()])
    assert made[0] == made[1] and made[0]


@pytest.mark.parametrize("bad, error", [(lambda d: d.update(5), TypeError), (lambda d: d.update([("x",)]), ValueError),
                                        (lambda d: d["missing"], KeyError), (lambda d: d.pop("missing"), KeyError),
                                        (lambda d: d.__setitem__("x", 3), TypeError)])
def test_module_dict_errors_are_torchs(bad, error):
    with pytest.raises(error) as theirs:
        bad(torch.nn.ModuleDict({"a": torch.nn.ReLU()}))
    with pytest.raises(error) as ours:
        bad(nn.ModuleDict({"a": nn.ReLU()}))
    assert str(ours.value) == str(theirs.value)


def test_register_parameter_and_get_parameter_match_torch():
    def model(lib):
        root = lib.nn.Sequential(lib.nn.Linear(2, 2))
        root[0].register_parameter("scale", lib.nn.Parameter(lib.ones(2)))
        root[0].register_parameter("shift", None)
        return root

    ours, theirs = model(mg), model(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ours.get_parameter("0.scale") is ours[0].scale and ours[0].shift is None
    np.testing.assert_array_equal(ours.get_parameter("0.weight").numpy(), ours[0].weight.numpy())


@pytest.mark.parametrize("call, error", [
    (lambda lib, m: m.register_parameter("a.b", None), KeyError),
    (lambda lib, m: m.register_parameter("", None), KeyError),
    (lambda lib, m: m.register_parameter(1, None), TypeError),
    (lambda lib, m: m.register_parameter("training", None), KeyError),
    (lambda lib, m: m.get_parameter("foo"), AttributeError),
    (lambda lib, m: m.get_parameter("bias.x"), AttributeError),
    (lambda lib, m: m.get_parameter("training"), AttributeError),
])
def test_register_parameter_and_get_parameter_errors_are_torchs(call, error):
    with pytest.raises(error) as theirs:
        call(torch, torch.nn.Linear(1, 1))
    with pytest.raises(error) as ours:
        call(mg, nn.Linear(1, 1))
    assert str(ours.value) == str(theirs.value)


def test_register_parameter_refuses_a_plain_tensor():
    with pytest.raises(TypeError, match="minigrad.nn.Parameter or None required"):
        nn.Linear(1, 1).register_parameter("w", mg.ones(1))


def test_cpu_returns_the_module_with_its_state_on_the_cpu():
    model = nn.Linear(2, 2)
    assert model.cpu() is model and {p.device for p in model.parameters()} == {"cpu"}
