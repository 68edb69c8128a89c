"""Module buffers against torch's: registration, traversal, the state dict, to(), assignment and errors."""
import numpy as np
import pytest

import minigrad as mg
from conftest import error_of

torch = pytest.importorskip("torch")


def build(nn, tensor):
    """A module with a persistent and a non-persistent buffer, a None buffer, and a child with a buffer of its own
    (the BatchNorm's three), in either library."""
    class WithBuffers(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)
            self.register_buffer("scale", tensor(np.full(2, 0.5, np.float64)))
            self.register_buffer("cache", tensor(np.arange(4, dtype=np.int64)), persistent=False)
            self.register_buffer("nothing", None)
            self.norm = nn.BatchNorm1d(2)

        def forward(self, x):
            return self.norm(self.linear(x)) * self.scale

    return WithBuffers()


def test_names_order_and_state_dict_are_torchs():
    model, reference = build(mg.nn, mg.tensor), build(torch.nn, torch.tensor)
    assert [name for name, _ in model.named_buffers()] == [name for name, _ in reference.named_buffers()]
    assert [name for name, _ in model.named_buffers(recurse=False)] == ["scale", "cache"]
    assert [b.shape for b in model.buffers()] == [tuple(b.shape) for b in reference.buffers()]
    assert list(model.state_dict()) == list(reference.state_dict())  # no "cache": it is not persistent
    assert [name for name, _ in model.named_parameters()] == [name for name, _ in reference.named_parameters()]
    assert model.state_dict()["norm.num_batches_tracked"].dtype == np.int64


def test_torchs_state_dict_loads_buffers_and_all():
    model, reference = build(mg.nn, mg.tensor), build(torch.nn, torch.tensor)
    batch = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    with torch.no_grad():
        reference.scale.fill_(3.0)
        reference(torch.from_numpy(batch))  # moves the running statistics and counts a batch
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    for key, value in reference.state_dict().items():
        assert np.array_equal(model.state_dict()[key], value.numpy()), key
    assert model.norm.num_batches_tracked.item() == 1
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    model.eval()
    reference.eval()
    with torch.no_grad():
        np.testing.assert_allclose(model(mg.tensor(x)).numpy(), reference(torch.from_numpy(x)).numpy(), rtol=1e-6,
                                   atol=1e-6)


def test_a_strict_load_wants_every_persistent_buffer_and_no_other():
    model = build(mg.nn, mg.tensor)
    state = {k: np.array(v) for k, v in model.state_dict().items()}
    del state["norm.running_var"]
    state["cache"] = np.zeros(4, np.int64)
    with pytest.raises(mg.nn.StateDictError) as info:
        model.load_state_dict(state)
    assert "missing keys: norm.running_var" in str(info.value) and "unexpected keys: cache" in str(info.value)
    state = {k: np.array(v) for k, v in model.state_dict().items()}
    state["scale"] = np.zeros(3)
    with pytest.raises(mg.nn.StateDictError, match=r"scale: checkpoint \(3,\) vs model \(2,\)"):
        model.load_state_dict(state)
    result = model.load_state_dict({"scale": np.full(2, 7.0)}, strict=False)
    assert "norm.running_mean" in result.missing_keys and model.scale.numpy().tolist() == [7.0, 7.0]
    assert model.scale.dtype == np.float64  # a loaded value takes the buffer's dtype


def test_a_state_dict_without_num_batches_tracked_loads_as_in_torch():
    """Checkpoints from before torch 0.4.1 have no count: torch loads them strictly and keeps the module's own."""
    model, reference = build(mg.nn, mg.tensor), build(torch.nn, torch.tensor)
    batch = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    with torch.no_grad():
        reference(torch.from_numpy(batch))
    model(mg.tensor(batch))
    state = {k: v.numpy() for k, v in reference.state_dict().items() if k != "norm.num_batches_tracked"}
    state["norm.running_mean"] += 1.0
    expected = reference.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    result = model.load_state_dict(state)
    assert result.missing_keys == expected.missing_keys == [] and result.unexpected_keys == expected.unexpected_keys == []
    assert model.norm.num_batches_tracked.item() == reference.norm.num_batches_tracked.item() == 1
    np.testing.assert_array_equal(model.norm.running_mean.numpy(), reference.norm.running_mean.numpy())


@pytest.mark.parametrize("cast", [
    lambda L, m: m.to(L.float32), lambda L, m: m.to(dtype=L.float32), lambda L, m: m.to("cpu", L.float32),
    lambda L, m: m.to(device="cpu", dtype=L.float32), lambda L, m: m.float(), lambda L, m: m.double().float(),
    lambda L, m: m.to("cpu", L.float32, non_blocking=True),
], ids=["dtype", "dtype_keyword", "device_and_dtype", "keywords", "float", "double_then_float", "non_blocking"])
def test_a_cast_changes_floating_buffers_only_as_torchs(cast):
    model = cast(mg, build(mg.nn, mg.tensor))
    reference = cast(torch, build(torch.nn, torch.tensor))
    for (name, buffer), theirs in zip(model.named_buffers(), reference.buffers()):
        assert buffer.dtype == theirs.numpy().dtype, name
    for (name, param), theirs in zip(model.named_parameters(), reference.parameters()):
        assert param.dtype == theirs.detach().numpy().dtype, name
    assert model.scale.dtype == np.float32 and model.cache.dtype == np.int64
    assert model.norm.num_batches_tracked.dtype == np.int64


def test_double_casts_parameters_and_floating_buffers_as_torchs():
    model, reference = build(mg.nn, mg.tensor).double(), build(torch.nn, torch.tensor).double()
    assert [p.dtype for p in model.parameters()] == [p.detach().numpy().dtype for p in reference.parameters()]
    assert [b.dtype for b in model.buffers()] == [b.numpy().dtype for b in reference.buffers()]


def test_to_moves_every_buffer_to_the_device(gpu_path):
    model = build(mg.nn, mg.tensor).to("gpu")
    assert all(buffer.device == "gpu" for buffer in model.buffers())
    assert model.cache.dtype == np.int64
    model(mg.tensor(np.ones((2, 3), np.float32), device="gpu"))
    assert model.norm.num_batches_tracked.device == "gpu" and model.norm.num_batches_tracked.item() == 1
    model.to("cpu")
    assert all(buffer.device == "cpu" for buffer in model.buffers())


def test_assigning_a_tensor_to_a_buffer_name_updates_the_buffer():
    model = build(mg.nn, mg.tensor)
    model.scale = mg.tensor([2.0, 4.0])
    assert dict(model.named_buffers())["scale"] is model.scale
    assert model.state_dict()["scale"].tolist() == [2.0, 4.0]
    model.nothing = mg.tensor([1.0])
    assert "nothing" in model.state_dict()
    model.cache = None
    assert "cache" not in dict(model.named_buffers())
    model.cache = mg.tensor([1])  # still a buffer, and still not persistent
    assert "cache" in dict(model.named_buffers()) and "cache" not in model.state_dict()
    del model.scale
    assert "scale" not in model.state_dict()


ERRORS = {
    "assign a list": lambda m, t: setattr(m, "scale", [1.0]),
    "dotted name": lambda m, t: m.register_buffer("a.b", t(np.zeros(2))),
    "empty name": lambda m, t: m.register_buffer("", t(np.zeros(2))),
    "name of an attribute": lambda m, t: m.register_buffer("linear", t(np.zeros(2))),
    "not a tensor": lambda m, t: m.register_buffer("c", [1]),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_torchs_save_for_the_names_of_the_types(case):
    mine_type, mine = error_of(lambda: ERRORS[case](build(mg.nn, mg.tensor), mg.tensor))
    theirs_type, theirs = error_of(lambda: ERRORS[case](build(torch.nn, torch.tensor), torch.tensor))
    assert mine_type == theirs_type
    normalize = {"torch.nn.Buffer, torch.Tensor": "minigrad.Tensor", "torch Tensor": "minigrad.Tensor"}
    for theirs_name, mine_name in normalize.items():
        theirs = theirs.replace(theirs_name, mine_name)
    assert mine == theirs


def test_the_loss_class_weight_is_a_buffer_as_torchs():
    weight = np.array([0.5, 1.0, 2.0], np.float32)
    for loss in ("CrossEntropyLoss", "NLLLoss"):
        module = getattr(mg.nn, loss)(weight=mg.tensor(weight))
        reference = getattr(torch.nn, loss)(weight=torch.tensor(weight))
        assert list(module.state_dict()) == list(reference.state_dict()) == ["weight"]
        assert [name for name, _ in module.named_buffers()] == ["weight"]
        assert list(getattr(mg.nn, loss)().state_dict()) == list(getattr(torch.nn, loss)().state_dict()) == []
        module.load_state_dict({"weight": np.ones(3, np.float32)})
        assert module.weight.numpy().tolist() == [1.0, 1.0, 1.0]
