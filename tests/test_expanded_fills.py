"""masked_fill_, index_fill_ and t[mask] = value into an expanded tensor, which torch allows with a deprecation
warning: each memory location that a filled element refers to takes the value, so every element that shares it
changes. Against torch: values, the warnings (category, text, the caller's line, each call), the gradient of the
value (each filled element counted) and the error of a gradient through the shared memory, torch's errors."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from double_backward import check_double_backward, check_gradgrad

torch = pytest.importorskip("torch")

TORCH_SUFFIX = " (Triggered internally at"  # where torch's C++ warnings say they come from, which minigrad's need not
BASE = np.array([[0.5, -1.5, 2.0], [3.0, 4.0, -5.0]], np.float32)
ROWS = np.array([[True, False, False], [False, False, True], [True, False, False], [False, False, False]])


def _recorded(call):
    """call()'s result, and its warnings as (category, text, file)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [(w.category, str(w.message).partition(TORCH_SUFFIX)[0], w.filename) for w in caught]


FILLS = {  # a write into an expansion of base (2, 3), which changes base
    "masked_fill_ of rows": lambda L, base: base[:1].expand(4, 3).masked_fill_(L.tensor(ROWS), 7.0),
    "masked_fill_ of a broadcast mask": lambda L, base: base[:1].expand(4, 3).masked_fill_(
        L.tensor([False, True, False]), -2.0),
    "masked_fill_ of a column": lambda L, base: base[:, 2:].expand(2, 3).masked_fill_(
        L.tensor([[False, False, True], [False, False, False]]), L.tensor(9.0)),
    "masked_fill_ of nothing": lambda L, base: base[:1].expand(4, 3).masked_fill_(L.zeros(4, 3, dtype=L.bool), 1.0),
    "masked_fill_ of a 3-d expansion": lambda L, base: base.expand(2, 2, 3).masked_fill_(
        L.tensor([[[True, False, False], [False, False, False]], [[False, False, False], [False, True, True]]]), 6.0),
    "masked_fill_ of an unsqueezed expansion": lambda L, base: base[:, :1].expand(2, 5).masked_fill_(
        L.tensor([[False, False, False, True, False], [False, False, False, False, False]]), 8.0),
    "masked_fill_ of a float64 value": lambda L, base: base[1].expand(3, 3).masked_fill_(
        L.tensor([True, False, True]), L.tensor(0.1, dtype=L.float64)),
    "index_fill_ along the shared dim": lambda L, base: base[:1].expand(4, 3).index_fill_(0, L.tensor([2]), 3.0),
    "index_fill_ across it": lambda L, base: base[:1].expand(4, 3).index_fill_(1, L.tensor([0, 2, 0]), -1.0),
    "index_fill_ of a negative index": lambda L, base: base[:, 1:2].expand(2, 4).index_fill_(
        1, L.tensor([-1]), L.tensor(4.0)),
    "index_fill_ of a 0-d expansion": lambda L, base: base[0, 0].expand(5).index_fill_(0, L.tensor([1, 3]), 2.5),
    "mask assigned": lambda L, base: base[:1].expand(4, 3).__setitem__(L.tensor(ROWS), 7.0),
    "mask assigned a 0-d tensor": lambda L, base: base[:1].expand(4, 3).__setitem__(L.tensor(ROWS), L.tensor(5.0)),
    "mask assigned a one-element tensor": lambda L, base: base[:1].expand(4, 3).__setitem__(L.tensor(ROWS),
                                                                                            L.tensor([5.0])),
    "mask of rows assigned": lambda L, base: base[:1].expand(4, 3).__setitem__(L.tensor([True, False, True, False]),
                                                                               3.0),
    "mask beside a slice assigned": lambda L, base: base[:1].expand(4, 3).__setitem__(
        (slice(None), L.tensor([True, False, True])), -3.0),
}


@pytest.mark.parametrize("name", FILLS)
def test_fills_write_the_shared_memory_with_torchs_warnings(name):
    results = []
    for L in (torch, mg):
        base = L.tensor(BASE)
        _, caught = _recorded(lambda: FILLS[name](L, base))
        results.append((base.numpy(), caught))
    (theirs, their_warnings), (ours, our_warnings) = results
    np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(ours, BASE) or name == "masked_fill_ of nothing"
    assert our_warnings == their_warnings and all(file == __file__ for _, _, file in our_warnings)
    assert our_warnings and {category for category, _, _ in our_warnings} == {UserWarning}


@pytest.mark.parametrize("dtype", ["int64", "bool", "float16", "float64"])
def test_a_number_is_written_in_the_tensors_dtype_as_torchs(dtype):
    results = []
    for L in (torch, mg):
        base = L.tensor(BASE).to(getattr(L, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base.expand(2, 2, 3).masked_fill_(L.tensor([[True, False, False], [False, True, False]]), 1.75)
            base[:1].expand(3, 3).index_fill_(1, L.tensor([2]), 0.0)
        results.append(base.numpy())
    np.testing.assert_array_equal(*results)
    assert results[0].dtype == results[1].dtype


def test_each_call_warns_and_pythons_filters_keep_one_of_a_line_as_torchs():
    caught = []
    for L in (torch, mg):
        with warnings.catch_warnings(record=True) as record:
            warnings.resetwarnings()  # the default filters, which show a line's warning once
            warnings.simplefilter("default")
            base = L.tensor(BASE)
            for _ in range(3):
                base.expand(2, 2, 3).masked_fill_(L.tensor([True, False, False]), 1.0)
            base.expand(2, 2, 3).masked_fill_(L.tensor([True, False, False]), 2.0)
            base.expand(2, 2, 3).index_fill_(2, L.tensor([1]), 2.0)
        caught.append([(w.lineno, str(w.message).partition(TORCH_SUFFIX)[0]) for w in record])
    assert caught[0] == caught[1] and len(caught[1]) == 3


def _value_gradient(L, name, create_graph=False):
    """The gradient of a fill's 0-d value, through the shared memory it wrote: each element filled counts."""
    value = L.tensor(1.5, requires_grad=True)
    base = L.zeros(2, 3)
    expanded = base[:1].expand(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "masked_fill_":
            expanded.masked_fill_(L.tensor(ROWS), value)
        elif name == "index_fill_":
            expanded.index_fill_(0, L.tensor([0, 3]), value)
        else:
            expanded[L.tensor(ROWS)] = value
    weights = L.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3) + 1)
    loss = (expanded * weights).sum() + (base * 100).sum()
    grad, = L.autograd.grad(loss, value, create_graph=create_graph)
    return base.detach().numpy(), expanded.detach().numpy(), grad


@pytest.mark.parametrize("name", ["masked_fill_", "index_fill_", "mask assigned"])
def test_the_values_gradient_counts_each_element_filled_as_torchs(name):
    (their_base, their_expanded, theirs), (base, expanded, ours) = (_value_gradient(L, name) for L in (torch, mg))
    np.testing.assert_array_equal(base, their_base)
    np.testing.assert_array_equal(expanded, their_expanded)
    assert ours.item() == theirs.item()
    assert ours.dtype == mg.float32


def _fill_of_a_value(L, value, weights, mask):
    base = L.zeros(2, 3, dtype=value.dtype)
    expanded = base[:1].expand(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expanded.masked_fill_(L.tensor(mask), value * value)
    return expanded * weights


def test_the_values_gradient_of_gradient_is_torchs():
    rng = np.random.default_rng(0)
    check_double_backward(lambda L, v, w: _fill_of_a_value(L, v, w, ROWS), np.array(1.5), rng.standard_normal((4, 3)),
                          gradcheck=False)  # see the next test


def test_the_values_gradients_check_where_each_location_is_filled_once():
    """Where several filled elements share a location, torch's gradient counts each, more than the derivative: the
    float64 checks against central differences hold where each is filled once."""
    once = np.array([[True, False, False], [False, False, True], [False, False, False], [False, False, False]])
    rng = np.random.default_rng(0)
    value, weights = mg.tensor(0.7, dtype=mg.float64, requires_grad=True), mg.tensor(rng.standard_normal((4, 3)))
    assert mg.gradcheck(lambda v: _fill_of_a_value(mg, v, weights, once), [value])
    check_gradgrad(lambda L, v, w: _fill_of_a_value(L, v, w, once), np.array(0.7), rng.standard_normal((4, 3)))


WRITES_OF_A_BASE_THAT_REQUIRES_GRAD = {
    "masked_fill_": lambda L, e: e.masked_fill_(L.tensor(ROWS), 2.0),
    "index_fill_": lambda L, e: e.index_fill_(1, L.tensor([1]), L.tensor(2.0, requires_grad=True)),
    "mask assigned": lambda L, e: e.__setitem__(L.tensor(ROWS), 2.0),
}


@pytest.mark.parametrize("name", WRITES_OF_A_BASE_THAT_REQUIRES_GRAD)
def test_a_gradient_through_the_shared_memory_is_torchs_error_in_backward(name):
    messages = []
    for L in (torch, mg):
        leaf = L.tensor(BASE, requires_grad=True)
        base = leaf * 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            WRITES_OF_A_BASE_THAT_REQUIRES_GRAD[name](L, base[:1].expand(4, 3))
        assert base.detach()[0, 1].item() == 2.0 or name != "index_fill_"
        with pytest.raises(RuntimeError) as refused:
            (base * 2).sum().backward()
        messages.append(str(refused.value))
    assert messages[0] == messages[1]


ERRORS = {
    "of a leaf's expansion": lambda L: L.tensor(BASE, requires_grad=True)[:1].expand(4, 3).masked_fill_(
        L.tensor(ROWS), 1.0),
    "mask assigned into a leaf's expansion": lambda L: L.tensor(BASE, requires_grad=True)[:1].expand(
        4, 3).__setitem__(L.tensor(ROWS), 1.0),
    "index_fill_ of a leaf's expansion": lambda L: L.tensor(BASE, requires_grad=True)[:1].expand(4, 3).index_fill_(
        0, L.tensor([1]), 1.0),
    "an integer mask": lambda L: L.tensor(BASE)[:1].expand(4, 3).masked_fill_(L.tensor(ROWS).long(), 1.0),
    "a value of dims": lambda L: L.tensor(BASE)[:1].expand(4, 3).masked_fill_(L.tensor(ROWS), L.tensor([1.0])),
    "a mask of more dims": lambda L: L.tensor(BASE)[:1].expand(4, 3).masked_fill_(L.zeros(2, 4, 3, dtype=L.bool),
                                                                                  1.0),
    "a mask that does not broadcast": lambda L: L.tensor(BASE)[:1].expand(4, 3).masked_fill_(
        L.zeros(5, 3, dtype=L.bool), 1.0),
    "an index out of range": lambda L: L.tensor(BASE)[:1].expand(4, 3).index_fill_(1, L.tensor([3]), 1.0),
    "an int32 index": lambda L: L.tensor(BASE)[:1].expand(4, 3).index_fill_(1, L.tensor([1], dtype=L.int32), 1.0),
    "an index_fill_ value of dims": lambda L: L.tensor(BASE)[:1].expand(4, 3).index_fill_(1, L.tensor([1]),
                                                                                          L.ones(1)),
    "an index of dims": lambda L: L.tensor(BASE)[:1].expand(4, 3).index_fill_(1, L.tensor([[1]]), 1.0),
    "a dim out of range": lambda L: L.tensor(BASE)[:1].expand(4, 3).index_fill_(2, L.tensor([1]), 1.0),
    "a number the dtype cannot hold": lambda L: L.tensor([1, 2], dtype=L.uint8).expand(3, 2).masked_fill_(
        L.tensor([True, False]), 300),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs_after_the_warning_where_torch_warns_first(name):
    """torch checks the dtypes of the arguments (and autograd a leaf's view) before it warns, the rest after."""
    outcomes = []
    for L in (torch, mg):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(Exception) as refused:
                ERRORS[name](L)
        outcomes.append((refused.type, str(refused.value), [str(w.message).partition(TORCH_SUFFIX)[0] for w in caught]))
    assert outcomes[0] == outcomes[1]


def test_random_draws_into_an_expanded_tensor_stay_refused():
    for L in (torch, mg):
        with pytest.raises(RuntimeError, match="^unsupported operation: more than one element"):
            L.zeros(3).expand(2, 3).normal_()


def _gpu_fills(device):
    base = mg.tensor(BASE, device=device)
    value = mg.tensor(2.0, device=device, requires_grad=True)
    expanded = base[:1].expand(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base[:, 2:].expand(2, 3).index_fill_(1, mg.tensor([0], device=device), -1.0)
        expanded.masked_fill_(mg.tensor(ROWS, device=device), value)
    (expanded * mg.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3), device=device)).sum().backward()
    assert base.device == value.grad.device == device
    return base.numpy(), value.grad.numpy()


def test_gpu_path_matches_cpu(gpu_path):
    for gpu, cpu in zip(_gpu_fills("gpu"), _gpu_fills("cpu")):
        np.testing.assert_array_equal(gpu, cpu)
