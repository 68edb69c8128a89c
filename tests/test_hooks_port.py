"""Module's full backward hooks and pre-hooks, get_buffer and get_parameter, and Tensor's detach_,
register_post_accumulate_grad_hook and retain_grad, against torch's: the gradients the hooks see, in torch's order,
the gradients they replace, removed hooks, warnings and errors."""
import warnings

import numpy as np
import pytest
from conftest import assert_raises_as_torch, relative_error

import minigrad as mg

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)


def _twins():
    """One small network in torch and in minigrad, with torch's weights."""
    torch.manual_seed(0)
    nets = [L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Sequential(L.nn.Tanh(), L.nn.Linear(3, 2))) for L in (torch, mg)]
    nets[1].load_state_dict({name: value.detach().numpy() for name, value in nets[0].state_dict().items()})
    return nets


def _arrays(grads):
    """The gradients a hook got, as NumPy arrays (copies: torch's `.grad` may take a hook's gradient and add into
    it later), None kept."""
    return [None if g is None else np.array(g.numpy() if isinstance(g, mg.Tensor) else g.detach().numpy())
            for g in grads]


def _assert_same_calls(ours, theirs):
    """Two records of (name, kind, gradients...) calls: the same calls in the same order, gradients equal."""
    assert [call[:2] for call in ours] == [call[:2] for call in theirs]
    for mine, reference in zip(ours, theirs):
        for got, expected in zip(mine[2:], reference[2:]):
            assert [g is None for g in got] == [g is None for g in expected]
            for g, e in zip(got, expected):
                if g is not None:
                    assert g.dtype == e.dtype
                    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def _backward_with_hooks(L, net, input_requires_grad, device=None):
    """The calls of a pre-hook and a hook on every module of `net` during one backward, and the gradients of the
    input and of the parameters."""
    calls = []
    for name, module in net.named_modules():
        module.register_full_backward_pre_hook(lambda m, go, name=name: calls.append((name, "pre", _arrays(go))))
        module.register_full_backward_hook(lambda m, gi, go, name=name: calls.append((name, "hook", _arrays(gi),
                                                                                      _arrays(go))))
    x = L.tensor(X, requires_grad=input_requires_grad, **({} if device is None else {"device": device}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's, where no input requires grad (tested below)
        (net(x) ** 2).sum().backward()
    return calls, _arrays([x.grad] + [p.grad for p in net.parameters()])


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_hooks_see_torchs_gradients_in_torchs_order(input_requires_grad):
    """Where the input requires no grad, the modules it reaches first (the first Linear, the whole network) have
    their hooks run as the gradients of their outputs come, with None for the input's, as torch's."""
    (theirs, their_grads), (ours, our_grads) = (_backward_with_hooks(L, net, input_requires_grad)
                                                for L, net in zip((torch, mg), _twins()))
    assert len(ours) == 10
    _assert_same_calls(ours, theirs)
    _assert_same_calls([("", "grads", our_grads)], [("", "grads", their_grads)])


def test_results_replace_gradients_prepended_hooks_run_first_and_removed_ones_not():
    results = []
    for L, net in zip((torch, mg), _twins()):
        order = []
        net[1].register_full_backward_pre_hook(lambda m, go: order.append("pre") or (go[0] * 3,))
        net[1].register_full_backward_hook(lambda m, gi, go: order.append("second") or (gi[0] + 1,))
        net[1].register_full_backward_hook(lambda m, gi, go: order.append("first") or (gi[0] * 2,), prepend=True)
        removed = net[1].register_full_backward_hook(lambda m, gi, go: order.append("removed"))
        removed.remove()
        net[0].register_full_backward_hook(lambda m, gi, go: order.append("first layer"))
        net[0].register_full_backward_hook(lambda m, gi, go: (None,))  # the input gets no gradient
        x = L.tensor(X, requires_grad=True)
        net(x).sum().backward()
        results.append((order, x.grad, _arrays(p.grad for p in net.parameters())))
    assert results[1][0] == results[0][0] == ["pre", "first", "second", "first layer"]
    assert results[0][1] is None and results[1][1] is None
    _assert_same_calls([("", "", results[1][2])], [("", "", results[0][2])])


def _module_of_several(L):
    """A module of two tensor inputs and a number, and three outputs: two tensors and a number."""
    class Several(L.nn.Module):
        def forward(self, x, y, index, k=3):
            return x * 2 + y, (x * y)[index], k

    return Several()


@pytest.mark.parametrize("used", [0, 1])
def test_several_inputs_and_outputs_as_torchs(used):
    """grad_input holds zeros for a tensor that requires no grad (the integer index too), None for a number;
    grad_output None for an output that got no gradient, and for a number. The same tensor given twice gets the
    gradient of each use."""
    calls = {}
    for L in (torch, mg):
        module, seen = _module_of_several(L), []
        module.register_full_backward_pre_hook(lambda m, go: seen.append(("m", "pre", _arrays(go))))
        module.register_full_backward_hook(lambda m, gi, go: seen.append(("m", "hook", _arrays(gi), _arrays(go))))
        x = L.tensor(X[0], requires_grad=True)
        for y in (L.tensor(X[1]), x):
            outputs = module(x, y, L.tensor([2, 0]), 4)
            assert outputs[2] == 4
            (outputs[used] * L.tensor(X[2, :outputs[used].shape[0]])).sum().backward()
        seen.append(("x", "grad", _arrays([x.grad])))
        calls[L] = seen
    _assert_same_calls(calls[mg], calls[torch])


def test_gradients_reach_the_inputs_through_the_hooked_nodes_as_torchs():
    """The nodes' names, autograd.grad through them (the hooks run), the tensors' hooks before the module's."""
    records = []
    for L, net in zip((torch, mg), _twins()):
        order = []
        net[1].register_full_backward_pre_hook(lambda m, go: order.append("module pre-hook"))
        net[1].register_full_backward_hook(lambda m, gi, go: order.append("module hook"))
        x = L.tensor(X, requires_grad=True)
        hidden = net[0](x)
        hidden.register_hook(lambda g: order.append("input's hook"))
        out = net[1](hidden)
        out.register_hook(lambda g: order.append("output's hook"))
        (grad,) = L.autograd.grad(out.sum(), x)
        records.append((out.grad_fn.name(), order, grad.numpy()))
    assert records[1][:2] == records[0][:2]
    np.testing.assert_allclose(records[1][2], records[0][2], rtol=1e-5, atol=1e-6)


def test_hooked_nodes_pass_gradcheck():
    """The nodes at a hooked module's inputs and outputs (BackwardHookFunction) hand the gradients on where the hooks
    only look at them: the network's gradients, in its input and its weights, are still its derivatives."""
    net = _twins()[1].double()
    seen = []
    for module in net.modules():
        module.register_full_backward_pre_hook(lambda m, go: seen.append("pre-hook"))
        module.register_full_backward_hook(lambda m, gi, go: seen.append("hook"))
    x = mg.tensor(X.astype(np.float64), requires_grad=True)
    assert mg.gradcheck(lambda x, *weights: net(x), [x, *net.parameters()])
    assert {"pre-hook", "hook"} <= set(seen)


def _returning(result, pre=False, input_requires_grad=True):
    """A Linear's backward, its hook (or pre-hook) returning result(gradients) in either library."""
    def run(L):
        linear = L.nn.Linear(2, 2)
        if pre:
            linear.register_full_backward_pre_hook(lambda m, go: result(L, go))
        else:
            linear.register_full_backward_hook(lambda m, gi, go: result(L, gi))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            linear(L.ones(1, 2, requires_grad=input_requires_grad)).sum().backward()
    return lambda: run(torch), lambda: run(mg)


MISTAKES = {
    "too many gradients": _returning(lambda L, grads: grads * 2),
    "too many output gradients": _returning(lambda L, grads: grads * 2, pre=True),
    "another size": _returning(lambda L, grads: (L.ones(3, 2),)),
    "a size that broadcasts": _returning(lambda L, grads: (L.ones(2),)),
    "another dtype": _returning(lambda L, grads: (grads[0].double(),)),
    "no tensor": _returning(lambda L, grads: (3,)),
    "no tensor from a pre-hook": _returning(lambda L, grads: ("gradient",), pre=True),
    "a gradient where no input requires one": _returning(lambda L, grads: (L.ones(1, 2),), input_requires_grad=False),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_hook_mistakes_raise_torchs_errors(mistake):
    assert_raises_as_torch(*MISTAKES[mistake])


def _warnings_of(L, module, x):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module(x).sum().backward()
    return [(w.category, str(w.message)) for w in caught]


def test_torchs_warnings_where_hooks_run_at_the_outputs_or_not_at_all():
    """A pre-hook alone warns too, as torch's; output of a dict: the hooks never run."""
    class Keyed:
        def forward(self, x):
            return {"out": x * 2}

    seen = {torch: [], mg: []}
    for L in (torch, mg):
        linear = L.nn.Linear(2, 2)
        linear.register_full_backward_pre_hook(lambda m, go, L=L: seen[L].append("pre"))
        keyed = type("Keyed", (Keyed, L.nn.Module), {})()
        keyed.register_full_backward_hook(lambda m, gi, go, L=L: seen[L].append("keyed"))
        seen[L].append(_warnings_of(L, linear, L.ones(1, 2)))
        seen[L].append(_warnings_of(L, lambda x: keyed(x)["out"], L.ones(2, requires_grad=True)))
    assert seen[mg] == seen[torch] and len(seen[mg][1]) == len(seen[mg][2]) == 1


def test_gpu_path_matches_cpu(gpu_path):
    """The hooks see the device's gradients, as on the host (sums in another order)."""
    cpu, gpu = (_backward_with_hooks(mg, _twins()[1].to(device), True, device) for device in ("cpu", "gpu"))
    assert [call[:2] for call in gpu[0]] == [call[:2] for call in cpu[0]]
    for ours, reference in zip([a for call in gpu[0] for g in call[2:] for a in g] + gpu[1],
                               [a for call in cpu[0] for g in call[2:] for a in g] + cpu[1]):
        assert (ours is None) == (reference is None)
        assert ours is None or relative_error(ours, reference) <= 1e-5


# ---- get_buffer, get_parameter ------------------------------------------------------------------------------
def _with_norm(L):
    return L.nn.Sequential(L.nn.Linear(2, 2), L.nn.BatchNorm1d(2))


@pytest.mark.parametrize("target", ["1.running_mean", "1.num_batches_tracked", "1.weight", "0.bias", "1.missing",
                                    "2.weight", "0.weight.data", "1", ""])
@pytest.mark.parametrize("getter", ["get_buffer", "get_parameter"])
def test_get_buffer_and_get_parameter_as_torchs(getter, target):
    theirs, ours = (getattr(_with_norm(L), getter) for L in (torch, mg))
    try:
        expected = theirs(target)
    except AttributeError:
        assert_raises_as_torch(lambda: theirs(target), lambda: ours(target))
        return
    got = ours(target)
    assert tuple(got.shape) == tuple(expected.shape) and type(got).__name__ == type(expected).__name__


# ---- Tensor: detach_, post-accumulate-grad hooks, retain_grad ---------------------------------------------
def test_detach_in_place_as_torchs():
    """The tensor itself becomes a leaf that requires no grad; the graph it was part of still gives the gradients
    of what used it; a view is refused."""
    results = []
    for L in (torch, mg):
        x = L.tensor(X[0], requires_grad=True)
        hidden = x * x
        after = hidden + 1  # torch refuses a backward that needs the detached tensor (saved): this one does not
        assert hidden.detach_() is hidden
        assert (hidden.requires_grad, hidden.is_leaf, hidden.grad_fn) == (False, True, None)
        after.sum().backward()
        leaf = L.tensor(X[1], requires_grad=True)
        assert leaf.detach_() is leaf and not leaf.requires_grad
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
    for view in (lambda L: (L.ones(4, requires_grad=True) * 2)[1:], lambda L: L.ones(4).reshape(2, 2)):
        assert_raises_as_torch(lambda: view(torch).detach_(), lambda: view(mg).detach_())


def _halve_grad(tensor):
    """A change of `.grad` in place, as an optimizer's step in a post-accumulate-grad hook would make."""
    tensor.grad.mul_(0.5)


def test_post_accumulate_grad_hooks_as_torchs():
    """They run after the leaf's tensor hooks, once its gradient (of every use) is in `.grad`, in the order
    registered; autograd.grad, which accumulates nothing, runs none; backward(inputs=...) those of the inputs."""
    records = []
    for L in (torch, mg):
        calls = {"w": [], "other": []}  # by tensor: the order of the leaves' accumulations is the engine's own
        w, other = (L.tensor(X[i], requires_grad=True) for i in (0, 1))
        w.register_hook(lambda g: calls["w"].append(("tensor hook", g.numpy().copy())))
        w.register_post_accumulate_grad_hook(lambda t: calls["w"].append(("first", t.grad.numpy().copy())))
        handle = w.register_post_accumulate_grad_hook(lambda t: calls["w"].append(("removed", None)))
        w.register_post_accumulate_grad_hook(lambda t: calls["w"].append(("second", t.grad.numpy().copy())))
        handle.remove()
        other.register_post_accumulate_grad_hook(lambda t: calls["other"].append(("other", t.grad.numpy().copy())))
        (w * other + w * 2).sum().backward()
        w.register_post_accumulate_grad_hook(_halve_grad)
        L.autograd.grad((w * 3).sum(), w)
        (w * other).sum().backward(inputs=[w])
        records.append(calls["w"] + calls["other"] + [("w", w.grad.numpy())])
    assert [name for name, _ in records[1]] == [name for name, _ in records[0]]
    assert len(records[1]) == 9
    for (_, ours), (_, theirs) in zip(*records):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("case", ["non-leaf", "requires no grad", "returns a tensor", "returns a number"])
def test_post_accumulate_grad_hook_errors_as_torchs(case):
    def run(L):
        leaf = L.ones(2, requires_grad=case != "requires no grad")
        if case == "non-leaf":
            leaf = leaf * 2
        leaf.register_post_accumulate_grad_hook(lambda t: t * 2 if case == "returns a tensor" else 1)
        leaf.sum().backward()
    assert_raises_as_torch(lambda: run(torch), lambda: run(mg))


def test_retain_grad_returns_none_as_torchs():
    hidden = mg.ones(2, requires_grad=True) * 2
    assert hidden.retain_grad() is None and torch.ones(2, requires_grad=True).mul(2).retain_grad() is None
    (hidden * 3).sum().backward()
    np.testing.assert_allclose(hidden.grad.numpy(), 3.0)
