"""Module's forward hooks, apply, get_submodule and requires_grad_, against torch's on the same network."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from unet import UNet

torch = pytest.importorskip("torch")


def _net(L):
    """One small network, built the same way in either library."""
    return L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Sequential(L.nn.ReLU(), L.nn.Linear(3, 2)))


def _twins():
    """The network in both libraries, with torch's weights."""
    torch.manual_seed(0)
    theirs = _net(torch)
    ours = _net(mg)
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    return theirs, ours


def _calls(net, register):
    """What the hooks `register(module, record)` installs see, as (module name, shapes) per call, and the output."""
    seen = []
    names = {module: name for name, module in net.named_modules()}
    handles = [register(module, lambda *call: seen.append((names[call[0]], _shapes(call[1:])))) for module in names]
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    out = net(mg.tensor(x) if isinstance(net, nn.Module) else torch.tensor(x))
    for handle in handles:
        handle.remove()
    return seen, out.detach().numpy()


def _shapes(items):
    if isinstance(items, (tuple, list)):
        return [_shapes(item) for item in items]
    return tuple(items.shape)


@pytest.mark.parametrize("kind", ["register_forward_pre_hook", "register_forward_hook"])
def test_hooks_see_what_torchs_see_in_the_same_order(kind):
    theirs, ours = _twins()
    register = lambda module, record: getattr(module, kind)(record)  # noqa: E731
    (seen_theirs, out_theirs), (seen_ours, out_ours) = _calls(theirs, register), _calls(ours, register)
    assert seen_ours == seen_theirs and len(seen_ours) == 5
    np.testing.assert_allclose(out_ours, out_theirs, rtol=1e-6)


def test_hook_results_replace_inputs_and_outputs_as_torchs():
    """A pre-hook's non-None result (a lone value too) replaces the inputs; a hook's replaces the output."""
    results = []
    for L, net in zip((torch, mg), _twins()):
        net[0].register_forward_pre_hook(lambda module, args: args[0] * 2)
        net[1].register_forward_hook(lambda module, args, output: output + args[0].sum())
        net[1][1].register_forward_hook(lambda module, args, output: None)
        x = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
        results.append(net(L.tensor(x)).detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def test_prepend_and_with_kwargs_as_torchs():
    """prepend runs a hook before those registered earlier; with_kwargs passes the keyword arguments too, and a
    pre-hook's (args, kwargs) result replaces both."""
    class Scale(torch.nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    class OurScale(nn.Module):
        forward = Scale.forward

    results = []
    for L, module in ((torch, Scale()), (mg, OurScale())):
        calls = []
        module.register_forward_pre_hook(lambda m, args: calls.append("pre"))
        module.register_forward_pre_hook(lambda m, args, kwargs: (calls.append(("pre kw", sorted(kwargs))),
                                                                  ((args[0] + 1,), {"scale": kwargs["scale"] * 2}))[1],
                                         prepend=True, with_kwargs=True)
        module.register_forward_hook(lambda m, args, output: calls.append("post"))
        module.register_forward_hook(lambda m, args, kwargs, output: output + kwargs["scale"], with_kwargs=True)
        module.register_forward_hook(lambda m, args, output: calls.append("first post"), prepend=True)
        out = module(L.tensor([1.0, 2.0]), scale=3.0)
        results.append((calls, out.tolist()))
    assert results[1] == results[0]


def test_removed_hooks_are_not_called_and_a_with_block_removes_them():
    net = nn.Linear(2, 2)
    calls = []
    first = net.register_forward_hook(lambda *call: calls.append("first"))
    with net.register_forward_hook(lambda *call: calls.append("second")):
        net(mg.ones(1, 2))
    net(mg.ones(1, 2))
    first.remove()
    first.remove()  # a second remove() does nothing, as torch's
    net(mg.ones(1, 2))
    assert calls == ["first", "second", "first"]


def test_a_forward_hook_pulls_the_attention_output_out_of_the_unet():
    """A learner's idiom: a hook on an SCA module captures what it gave the decoder."""
    mg.manual_seed(0)
    model = UNet()
    captured = {}
    model.att3.register_forward_pre_hook(lambda module, args: captured.update(inputs=args))
    handle = model.get_submodule("att3").register_forward_hook(
        lambda module, args, output: captured.update(output=output))
    image = mg.tensor(np.random.default_rng(0).random((1, 3, 16, 16)).astype(np.float32))
    with mg.no_grad():
        model(image)
        recomputed = model.att3(*captured["inputs"])
    handle.remove()
    assert captured["output"].shape == (1, 64, 4, 4)
    np.testing.assert_array_equal(captured["output"].numpy(), recomputed.numpy())


def test_apply_visits_modules_in_torchs_order_and_returns_self():
    orders = []
    for net in _twins():
        order = []
        assert net.apply(lambda module: order.append(type(module).__name__)) is net
        orders.append(order)
    assert orders[1] == orders[0] == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]


def test_apply_initialises_weights():
    net = _net(mg)

    def init(module):
        if isinstance(module, nn.Linear):
            module.weight.data[...] = 0.5
    net.apply(init)
    assert all((p.numpy() == 0.5).all() for name, p in net.named_parameters() if name.endswith("weight"))


def test_requires_grad_freezes_and_unfreezes_every_parameter():
    net = _net(mg)
    assert net[1].requires_grad_(False) is net[1]
    assert [p.requires_grad for p in net.parameters()] == [True, True, False, False]
    net[0](mg.ones(1, 4)).sum().backward()
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())


@pytest.mark.parametrize("target", ["", "0", "1.1", "1.1.weight", "2", "0.foo", "1.0.bias"])
def test_get_submodule_as_torch(target):
    found = []
    for net in _twins():
        try:
            module = net.get_submodule(target)
            found.append([name for name, _ in module.named_parameters()])
        except AttributeError as error:
            found.append(str(error))
    assert found[1] == found[0]
