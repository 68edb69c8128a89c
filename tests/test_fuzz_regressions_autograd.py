"""Cases where minigrad's autograd engine and Module API once disagreed with torch, each reduced to its smallest
form: requires_grad_(False) on a computed tensor, autograd.grad of no inputs and its materialize_grads, a write into
an operand that only a constant's gradient would have needed, generators decorated with a grad mode, seeds of the
wrong shape, hooks and retained gradients under autograd.grad and backward(inputs=...), assigning .grad, and
Module's state_dict arguments, load_state_dict's assign and report, setattr, to(), train() and add_module."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch

torch = pytest.importorskip("torch")


def test_requires_grad_false_on_a_computed_tensor_is_refused():
    def change(lib):
        (lib.ones(2, requires_grad=True) * 2).requires_grad_(False)
    assert_raises_as_torch(lambda: change(torch), lambda: change(mg))


def test_grad_of_no_inputs_is_refused():
    def grad(lib):
        lib.autograd.grad((lib.ones(2, requires_grad=True) * 2).sum(), [])
    assert_raises_as_torch(lambda: grad(torch), lambda: grad(mg))


@pytest.mark.parametrize("op", ["mul", "rmul", "div", "mul by a tensor that needs no grad"])
def test_writing_into_an_operand_whose_partner_needs_no_gradient(op):
    """torch saves an operand of a product (of a quotient, the dividend) only for the other operand's gradient: a
    write into it since is no error where the other needs none."""
    def gradient(lib):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = {"mul": lambda: x * 3, "rmul": lambda: 3 * x, "div": lambda: x / 4,
             "mul by a tensor that needs no grad": lambda: x * lib.tensor([1.0, 2.0, 3.0])}[op]()
        with lib.no_grad():
            x.mul_(0.5)
        y.sum().backward()
        return x.grad.numpy()
    np.testing.assert_allclose(gradient(mg), gradient(torch), rtol=1e-6)


def test_writing_into_a_multiplied_tensor_that_the_other_gradient_needs_is_still_refused():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    with mg.no_grad():
        x.mul_(0.5)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def _tied_model(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    model.register_buffer("scratch", lib.zeros(1), persistent=False)
    return model


def test_state_dict_prefix_destination_and_keep_vars():
    for keep_vars in (False, True):
        ours, theirs = {}, {}
        assert _tied_model(mg).state_dict(destination=ours, prefix="net.", keep_vars=keep_vars) is ours
        _tied_model(torch).state_dict(destination=theirs, prefix="net.", keep_vars=keep_vars)
        assert list(ours) == list(theirs)
        assert [type(v).__name__ for v in ours.values()] == [type(v).__name__ for v in theirs.values()]
        assert [v.requires_grad for v in ours.values()] == [v.requires_grad for v in theirs.values()]


def test_load_state_dict_assign_keeps_the_state_dicts_arrays():
    def load(lib):
        model = _tied_model(lib)
        state = model.state_dict()
        weight = lib.full((3, 2), 7.0, dtype=lib.float64)
        state["0.weight"] = weight
        model.load_state_dict(state, assign=True)
        with lib.no_grad():
            weight.mul_(2)  # the parameter is the state dict's tensor, as torch's assign makes it
        return model[0].weight
    ours, theirs = load(mg), load(torch)
    assert (type(ours).__name__, ours.requires_grad, str(ours.dtype)) == (
        type(theirs).__name__, theirs.requires_grad, str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


def test_load_state_dict_reports_keys_as_torchs_named_tuple():
    def load(lib):
        state = _tied_model(lib).state_dict()
        state.pop("0.bias")
        state["extra"] = lib.ones(1)
        return repr(_tied_model(lib).load_state_dict(state, strict=False))
    assert load(mg) == load(torch)


def test_grad_materializes_the_gradients_of_unused_inputs():
    def grads(lib):
        x, unused = lib.ones(2, requires_grad=True), lib.ones(3, requires_grad=True)
        return lib.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    for ours, theirs in zip(grads(mg), grads(torch)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_grad_refuses_materialize_grads_beside_allow_unused_false():
    def grad(lib):
        x = lib.ones(2, requires_grad=True)
        lib.autograd.grad((x * 2).sum(), x, allow_unused=False, materialize_grads=True)
    assert_raises_as_torch(lambda: grad(torch), lambda: grad(mg))


def test_retain_grad_of_a_tensor_that_needs_no_gradient_is_refused():
    assert_raises_as_torch(lambda: torch.ones(2).retain_grad(), lambda: mg.ones(2).retain_grad())


@pytest.mark.parametrize("mode", ["no_grad", "set_grad_enabled"])
def test_a_decorated_generator_runs_each_step_in_the_mode(mode):
    """torch runs a decorated generator's body in the mode at each step, and the caller's code between in its own."""
    def steps(lib):
        decorate = lib.no_grad() if mode == "no_grad" else lib.set_grad_enabled(False)

        @decorate
        def generate(x):
            scale = yield x * 2
            yield x * scale
            return "done"
        lib.set_grad_enabled(True)
        x = lib.ones(2, requires_grad=True)
        produced = generate(x)
        first = next(produced)
        between = lib.is_grad_enabled()
        second = produced.send(3.0)
        with pytest.raises(StopIteration) as end:
            next(produced)
        return first.requires_grad, between, second.requires_grad, end.value.value, lib.is_grad_enabled()
    assert steps(mg) == steps(torch)


@pytest.mark.parametrize("call", ["backward", "autograd.backward", "autograd.grad"])
def test_a_gradient_of_the_wrong_shape_is_torchs_error(call):
    def seed(lib):
        x = lib.ones(3, requires_grad=True)
        outputs, gradients = (x * 2, x * 3), (lib.ones(3, 1), lib.ones(3))  # torch words a later one wrongly
        if call == "backward":
            outputs[0].backward(gradients[0])
        elif call == "autograd.backward":
            lib.autograd.backward(outputs, gradients)
        else:
            lib.autograd.grad(outputs, x, gradients)
    assert_raises_as_torch(lambda: seed(torch), lambda: seed(mg))


def test_backward_of_no_inputs_is_torchs_error():
    def backward(lib):
        (lib.ones(2, requires_grad=True) * 2).sum().backward(inputs=[])
    assert_raises_as_torch(lambda: backward(torch), lambda: backward(mg))


def test_a_parameter_takes_a_child_modules_place():
    def names(lib):
        model = lib.nn.Module()
        model.x = lib.nn.ReLU()
        model.x = lib.nn.Parameter(lib.ones(1))
        return [name for name, _ in model.named_parameters()], [name for name, _ in model.named_children()]
    assert names(mg) == names(torch)


@pytest.mark.parametrize("call", ["to(int32)", "train('no')", "add_module over an attribute",
                                  "add_module with a dot", "add_module of a number"])
def test_module_argument_errors(call):
    def make(lib):
        model = lib.nn.Linear(1, 1)
        model.extra = 1
        {"to(int32)": lambda: model.to(lib.int32), "train('no')": lambda: model.train("no"),
         "add_module over an attribute": lambda: model.add_module("extra", lib.nn.ReLU()),
         "add_module with a dot": lambda: model.add_module("a.b", lib.nn.ReLU()),
         "add_module of a number": lambda: model.add_module("c", 3)}[call]()
    assert_raises_as_torch(lambda: make(torch), lambda: make(mg))


def test_load_state_dict_shows_a_full_match_as_torch():
    def shown(lib):
        model = lib.nn.BatchNorm1d(2)
        return str(model.load_state_dict(model.state_dict()))
    assert shown(mg) == shown(torch)


# reading the non-leaf's .grad is the point: torch warns that it is not populated, where it is not
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf Tensor:UserWarning")
@pytest.mark.parametrize("case", ["grad of a hooked non-leaf", "backward(inputs) of a hooked non-leaf",
                                  "grad through a retained non-leaf", "backward(inputs) of a retained non-leaf"])
def test_hooks_and_retained_gradients_under_grad_and_inputs(case):
    """torch gives autograd.grad and backward(inputs=...) a non-leaf's gradient after its hooks, and a non-leaf that
    retains grad its gradient wherever one reaches it, once."""
    def gradients(lib):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        hidden = x * 2
        if "hooked" in case:
            hidden.register_hook(lambda g: g * 3)
        else:
            hidden.retain_grad()
        loss = (hidden * hidden).sum()
        if case.startswith("grad"):
            got = lib.autograd.grad(loss, [hidden] if "hooked" in case else [x])[0]
        else:
            loss.backward(inputs=[hidden])
            got = hidden.grad
        return [t.numpy() for t in (got, hidden.grad) if t is not None]
    ours, theirs = gradients(mg), gradients(torch)
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine, expected, rtol=1e-6)


@pytest.mark.parametrize("grad", ["a list", "another shape", "float64", "int64"])
def test_assigning_a_grad_that_does_not_fit_is_torchs_error(grad):
    def assign(lib):
        x = lib.ones(2, requires_grad=True)
        x.grad = {"a list": lambda: [1.0, 2.0], "another shape": lambda: lib.ones(3),
                  "float64": lambda: lib.ones(2, dtype=lib.float64), "int64": lambda: lib.ones(2, dtype=lib.int64)}[grad]()
    assert_raises_as_torch(lambda: assign(torch), lambda: assign(mg))


def test_backward_inputs_past_a_hooked_non_leaf_and_a_retained_tensor_off_the_path():
    """backward(inputs=...) gives a non-leaf its gradient after its hooks though the walk goes on past it; a tensor
    that retains grad off the path to autograd.grad's inputs gets none, as torch's."""
    def gradients(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        hidden = x * 3
        hidden.register_hook(lambda g: g + 1)
        (hidden * hidden).sum().backward(inputs=[x, hidden])
        wanted, beside = x * 2, x * 4
        beside.retain_grad()
        lib.autograd.grad((wanted * beside).sum(), [wanted])
        return x.grad.numpy(), hidden.grad.numpy(), beside.grad
    ours, theirs = gradients(mg), gradients(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    assert ours[2] is None and theirs[2] is None
