"""Grad modes (set_grad_enabled, enable_grad, inference_mode), Tensor.grad_fn and Tensor.register_hook, as torch's."""
import gc
import threading
import weakref

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")

# ---- grad modes ----------------------------------------------------------------------------------------------
MODES = {  # the same nesting of blocks in either library
    "no_grad": lambda lib: lib.no_grad(),
    "enable_grad": lambda lib: lib.enable_grad(),
    "set_grad_enabled(False)": lambda lib: lib.set_grad_enabled(False),
    "set_grad_enabled(True)": lambda lib: lib.set_grad_enabled(True),
    "inference_mode": lambda lib: lib.inference_mode(),
    "inference_mode(False)": lambda lib: lib.inference_mode(False),
    "inference_mode(mode=False)": lambda lib: lib.inference_mode(mode=False),
    "set_grad_enabled(mode=False)": lambda lib: lib.set_grad_enabled(mode=False),
}


def _modes(lib):
    return lib.is_grad_enabled(), lib.is_inference_mode_enabled()


@pytest.mark.parametrize("outer", MODES)
@pytest.mark.parametrize("inner", MODES)
def test_nested_modes_are_torchs(outer, inner):
    """Each pair of blocks, nested: the modes inside each, after the inner one and after both, and whether an op
    inside records the graph, as torch's."""
    seen = {}
    for lib in (mg, torch):
        x = lib.ones(2, requires_grad=True)
        states = []
        with MODES[outer](lib):
            states.append(_modes(lib))
            with MODES[inner](lib):
                states.append(_modes(lib))
                if not lib.is_inference_mode_enabled():  # torch's inference tensors are no part of minigrad
                    states.append((x * 2).requires_grad)
            states.append(_modes(lib))
        states.append(_modes(lib))
        seen[lib.__name__] = states
    assert seen["minigrad"] == seen["torch"]
    assert _modes(mg) == (True, False)


def test_set_grad_enabled_as_a_call_sets_the_mode():
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled() and not (mg.ones(1, requires_grad=True) * 2).requires_grad
        mg.set_grad_enabled(True)
        assert (mg.ones(1, requires_grad=True) * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)


@pytest.mark.parametrize("mode", MODES)
def test_modes_as_decorators_are_torchs(mode):
    """A decorated function runs in the mode, the one outside it unchanged, before and after, as torch's."""
    seen = {}
    for lib in (mg, torch):
        @MODES[mode](lib)
        def inside():
            return _modes(lib)

        with lib.no_grad():
            seen[lib.__name__] = (_modes(lib), inside(), _modes(lib))
    assert seen["minigrad"] == seen["torch"]
    assert _modes(mg) == (True, False)


@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode"])
def test_decorators_without_parentheses_and_recursion(name):
    decorator = getattr(mg, name)

    @decorator
    def depth(n, outer=mg.no_grad):
        if n:
            with outer():
                return depth(n - 1)
        return mg.is_grad_enabled()

    assert depth(3) == (name == "enable_grad") and mg.is_grad_enabled()


def test_modes_restore_on_an_exception():
    with pytest.raises(ValueError):
        with mg.inference_mode():
            raise ValueError
    with pytest.raises(ValueError):
        with mg.set_grad_enabled(False):
            raise ValueError
    assert _modes(mg) == (True, False)


def test_set_grad_enabled_refuses_a_non_bool_as_torch():
    for mode in ("x", 1, None):
        with pytest.raises(TypeError) as ours:
            mg.set_grad_enabled(mode)
        with pytest.raises(TypeError) as theirs:
            torch.set_grad_enabled(mode)
        assert str(ours.value) == str(theirs.value)
    assert mg.is_grad_enabled()


def test_modes_are_per_thread():
    seen = []
    with mg.no_grad(), mg.inference_mode():
        thread = threading.Thread(target=lambda: seen.append(_modes(mg)))
        thread.start()
        thread.join()
    assert seen == [(True, False)]


def test_autograd_names_the_modes_as_torch_autograd():
    for name in ("no_grad", "enable_grad", "set_grad_enabled", "inference_mode"):
        assert getattr(mg.autograd, name) is getattr(mg, name) and hasattr(torch.autograd, name)


# ---- grad_fn ---------------------------------------------------------------------------------------------------
GRAPHS = {  # torch's node names, for the ops minigrad names as torch does
    "mul": lambda x, w: x * w, "add": lambda x, w: x + w, "sub": lambda x, w: x - w, "div": lambda x, w: x / w,
    "neg": lambda x, w: -x, "exp": lambda x, w: x.exp(), "log": lambda x, w: x.log(), "sqrt": lambda x, w: x.sqrt(),
    "sum": lambda x, w: (x * w).sum(), "mean": lambda x, w: x.mean(), "relu": lambda x, w: x.relu(),
    "sigmoid": lambda x, w: x.sigmoid(), "tanh": lambda x, w: x.tanh(), "pow_scalar": lambda x, w: x ** 2,
    "pow": lambda x, w: x ** w, "clamp": lambda x, w: x.clamp(0, 1), "view": lambda x, w: x.reshape(4),
    "double": lambda x, w: x.double(), "mm": lambda x, w: x @ w, "permute": lambda x, w: x.permute(1, 0),
    "max": lambda x, w: x.max(), "softmax": lambda x, w: x.softmax(0), "cat": lambda x, w: mg_or_torch(x).cat([x, w]),
    "abs": lambda x, w: x.abs(), "where": lambda x, w: mg_or_torch(x).where(x > 0.5, x, w),
    "maximum": lambda x, w: x.maximum(w), "sin": lambda x, w: x.sin(), "nan_to_num": lambda x, w: x.nan_to_num(),
}


def mg_or_torch(t):
    return mg if isinstance(t, mg.Tensor) else torch


def _leaves(lib):
    x = lib.tensor([[0.25, 1.5], [2.0, 0.75]], requires_grad=True)
    w = lib.tensor([[1.0, 2.0], [0.5, 3.0]])
    return x, w


@pytest.mark.parametrize("name", GRAPHS)
def test_grad_fn_name_next_functions_and_repr_are_torchs(name):
    (x, w), (tx, tw) = _leaves(mg), _leaves(torch)
    ours, theirs = GRAPHS[name](x, w), GRAPHS[name](tx, tw)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert repr(ours.grad_fn).startswith(f"<{theirs.grad_fn.name()} object at 0x")
    assert [(None if n is None else n.name(), i) for n, i in ours.grad_fn.next_functions] == \
        [(None if n is None else n.name(), i) for n, i in theirs.grad_fn.next_functions]
    assert _flags(repr(ours)) == _flags(repr(theirs).replace("torch.", ""))


def _flags(text):
    """What a tensor's repr says after its values (their digits are NumPy's here): dtype=..., grad_fn=<...>)."""
    return text[text.rindex("]") + 1:] if "]" in text else text.split(", ", 1)[1]


def test_grad_fn_walks_the_graph_to_the_leaves():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp().sum()
    exp_node = y.grad_fn.next_functions[0][0]
    mul_node = exp_node.next_functions[0][0]
    accumulate, _ = mul_node.next_functions[0]
    assert [exp_node.name(), mul_node.name()] == ["ExpBackward0", "MulBackward0"]
    assert accumulate.name() == "torch::autograd::AccumulateGrad" and accumulate.variable is x
    assert accumulate.next_functions == () and mul_node.next_functions[1] == (None, 0)
    assert y.grad_fn is y.grad_fn


def test_grad_fn_is_none_for_leaves_and_outside_the_graph():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        unrecorded = x * 2
    assert x.grad_fn is None and unrecorded.grad_fn is None and (x * 2).detach().grad_fn is None
    assert mg.tensor([1.0]).grad_fn is None and (mg.tensor([1.0]) * 2).grad_fn is None


def test_grad_fn_keeps_alive_no_more_than_the_graph():
    """A node reaches its non-leaf inputs through their data-free handles: an intermediate tensor that no op
    saved goes as soon as the forward pass drops it, with next_functions read or not."""
    x = mg.tensor(np.ones(1000, np.float32), requires_grad=True)
    hidden = x + 1
    gone = weakref.ref(hidden)
    y = hidden.sum()
    del hidden
    assert y.grad_fn.next_functions[0][0].name() == "AddBackward0"
    gc.collect()
    assert gone() is None


def test_gpu_variants_name_their_nodes_as_their_ops(gpu_path):
    x = mg.tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True, device="gpu")
    assert x.relu().grad_fn.name() == "ReluBackward0"
    assert mg.functional.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"


# ---- register_hook ---------------------------------------------------------------------------------------------
def _hooked_backward(lib, device=None):
    """A graph with hooks on a leaf, on a non-leaf that retains grad, and on the output: replacements, a hook that
    only looks, and one removed. Returns the leaves' grads, the retained one and what the hooks saw."""
    kwargs = {"device": device} if device else {}
    x = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True, **kwargs)
    w = lib.tensor([[2.0, 1.0, -1.0], [0.5, 3.0, 1.0]], requires_grad=True, **kwargs)
    seen = []
    x.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: seen.append(g.numpy() if lib is mg else g.detach().numpy()))
    x.register_hook(lambda g: g + 1)
    hidden = (x * w).tanh()
    hidden.retain_grad()
    removed = hidden.register_hook(lambda g: g * 100)
    hidden.register_hook(lambda g: g.clamp(-0.1, 0.1))
    removed.remove()
    out = (hidden * w).sum(1) ** 2
    out.register_hook(lambda g: g * 3)
    out.sum().backward()
    numpy = (lambda t: t.numpy()) if lib is mg else (lambda t: t.detach().numpy())
    return [numpy(x.grad), numpy(w.grad), numpy(hidden.grad), *seen]


def test_hooks_change_the_gradients_as_torchs():
    ours, theirs = _hooked_backward(mg), _hooked_backward(torch)
    assert len(ours) == len(theirs) == 4
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_hooks_on_the_gpu_path(gpu_path):
    for ours, reference in zip(_hooked_backward(mg, "gpu"), _hooked_backward(mg)):
        assert relative_error(ours, reference) <= 1e-5


def test_hooks_in_autograd_grad_as_torchs():
    results = []
    for lib in (mg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        y = x * 3
        y.register_hook(lambda g: g + 1)
        results.append([g.numpy() if lib is mg else g.numpy() for g in lib.autograd.grad((y * y).sum(), [x, y])])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_a_hook_runs_under_no_grad_and_gets_a_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    scale = mg.tensor([3.0, 4.0], requires_grad=True)
    seen = []

    def hook(grad):
        seen.append((type(grad), mg.is_grad_enabled()))
        return grad * scale

    handle = x.register_hook(hook)
    (x * 1).sum().backward()
    assert seen == [(mg.Tensor, False)] and x.grad.tolist() == [3.0, 4.0] and scale.grad is None
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1 and x.grad.tolist() == [1.0, 1.0]


HOOK_ERRORS = {
    "no grad": (lambda lib: lib.ones(2), lambda g: g),
    "size": (lambda lib: lib.ones(2, requires_grad=True), lambda g: g[:1]),
    "type": (lambda lib: lib.ones(2, requires_grad=True), lambda g: g.double()),
    "not a tensor": (lambda lib: lib.ones(2, requires_grad=True), lambda g: 3),
}


@pytest.mark.parametrize("name", HOOK_ERRORS)
def test_hook_errors_are_torchs(name):
    make, hook = HOOK_ERRORS[name]
    errors = []
    for lib in (mg, torch):
        with pytest.raises((RuntimeError, TypeError)) as caught:
            x = make(lib)
            x.register_hook(hook)
            (x * 2).sum().backward()
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]
