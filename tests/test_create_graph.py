"""create_graph's engine against torch's: a leaf's `.grad` with a graph, accumulated out of place, and torch's warning
of the reference cycle; retain_graph following create_graph; grad_outputs that require grad differentiated too; hooks
that see and return gradients with a graph; backward(inputs=...); recording under no_grad; the errors of an op with
no second derivative and of once_differentiable. Custom Functions (torch's documentation's Exp, MyCube, LinearFunction)
differentiated twice, saved outputs leading back through their own node."""
import importlib
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from double_backward import check_double_backward
from test_custom_function_tensors import _cube, _exp, _linear

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.uniform(0.5, 1.5, 3).astype(np.float32)
W = RNG.uniform(-1, 1, 3).astype(np.float32)


def as_numpy(tensor):
    return None if tensor is None else tensor.detach().numpy()


def grad_fn_name(tensor):
    return None if tensor.grad_fn is None else tensor.grad_fn.name()


def test_a_leafs_grad_has_a_graph_and_accumulates_out_of_place():
    def run(library):
        x = library.tensor(X, requires_grad=True)
        y = (x * x * x).sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y.backward(create_graph=True)
            first = x.grad
            y.backward(create_graph=True)  # the graph was kept: retain_graph follows create_graph
        second_order, = library.autograd.grad(x.grad.sum(), x)
        return (as_numpy(first), grad_fn_name(first), first.requires_grad, as_numpy(x.grad), grad_fn_name(x.grad),
                x.grad is first, as_numpy(second_order))

    ours, theirs = run(mg), run(torch)
    assert ours[1:3] == theirs[1:3] == ("torch::autograd::CopyBackwards", True) and ours[4:6] == theirs[4:6]
    for index in (0, 3, 6):
        np.testing.assert_allclose(ours[index], theirs[index], rtol=1e-6)


def test_backward_with_create_graph_warns_of_the_reference_cycle_once_as_torchs(monkeypatch):
    def warned(library, call):
        x = library.tensor(X, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call(library, x)
        return [(w.category, str(w.message).partition(" (Triggered internally")[0]) for w in caught]

    calls = [lambda lib, x: (x * x).sum().backward(create_graph=True),
             lambda lib, x: lib.autograd.backward([(x * x).sum()], create_graph=True, inputs=[x]),
             lambda lib, x: lib.autograd.grad((x * x).sum(), x, create_graph=True),
             lambda lib, x: (x * x).sum().backward()]
    monkeypatch.setattr(importlib.import_module("minigrad.tensor"), "_warned_of_reference_cycle", False)
    torch.set_warn_always(True)  # its warning is once per process otherwise
    try:
        theirs = [warned(torch, call) for call in calls]
    finally:
        torch.set_warn_always(False)
    assert [len(w) for w in theirs] == [1, 1, 0, 0]
    assert warned(mg, calls[0]) == theirs[0]
    assert [warned(mg, call) for call in calls] == [[]] * 4  # once per process, as torch's


def test_a_second_walk_needs_retain_graph_after_create_graph_as_torchs():
    def run(library):
        x = library.tensor(X, requires_grad=True)
        y = (x * x).sum()
        library.autograd.grad(y, x, create_graph=True)
        library.autograd.grad(y, x, create_graph=True, retain_graph=False)
        return lambda: library.autograd.grad(y, x)

    assert_raises_as_torch(run(torch), run(mg))


def test_grad_outputs_that_require_grad_are_differentiated_jvp_by_two_vjps():
    def run(library):
        x = library.tensor(X, requires_grad=True)
        w = library.tensor(W, requires_grad=True)
        outputs = (x * x * w, x / (w + 3))
        vectors = tuple(library.zeros(3, requires_grad=True) for _ in outputs)
        grad_x, grad_w = library.autograd.grad(outputs, (x, w), vectors, create_graph=True)
        tangent = (library.tensor(W), library.tensor(X))
        jvps = library.autograd.grad((grad_x, grad_w), vectors, tangent)
        return [as_numpy(t) for t in (grad_x, grad_w, *jvps)]

    for ours, theirs in zip(run(mg), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_hooks_get_and_return_gradients_with_a_graph():
    def run(library):
        x = library.tensor(X, requires_grad=True)
        w = library.tensor(W, requires_grad=True)
        seen = []
        z = x * w
        z.register_hook(lambda g: seen.append(g.requires_grad) or g * z)
        x.register_hook(lambda g: seen.append(g.requires_grad) or g * x)
        grad_x, = library.autograd.grad((z * z).sum(), x, create_graph=True)
        second = library.autograd.grad(grad_x.sum(), (x, w))
        return seen, [as_numpy(t) for t in (grad_x, *second)]

    (seen, ours), (seen_torch, theirs) = run(mg), run(torch)
    assert seen == seen_torch == [True, True, False, False]  # the second walk runs them too
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("build", [lambda x: (x * 2).sum(), lambda x: (x * x).sum(), lambda x: (x / 4 - x).mean()],
                         ids=["linear", "square", "constant_gradient"])
@pytest.mark.parametrize("under_no_grad", [False, True])
def test_gradients_require_grad_where_they_depend_on_a_tensor_that_does(build, under_no_grad):
    def run(library):
        x = library.tensor(X, requires_grad=True)
        y = build(x)
        with library.no_grad() if under_no_grad else library.enable_grad():  # torch records all the same
            gradient, = library.autograd.grad(y, x, create_graph=True)
        return gradient.requires_grad, gradient.grad_fn is None, as_numpy(gradient)

    ours, theirs = run(mg), run(torch)
    assert ours[:2] == theirs[:2]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


def test_backward_with_inputs_and_create_graph():
    def run(library):
        x = library.tensor(X, requires_grad=True)
        w = library.tensor(W, requires_grad=True)
        z = x * w
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (z * z * x).sum().backward(create_graph=True, inputs=[x, z])
        names, firsts = (grad_fn_name(x.grad), grad_fn_name(z.grad), w.grad), [as_numpy(x.grad), as_numpy(z.grad)]
        second = library.autograd.grad((x.grad * z.grad).sum(), (x, w))  # which adds into torch's z.grad (retained)
        return names, firsts + [as_numpy(t) for t in second]

    (names, ours), (names_torch, theirs) = run(mg), run(torch)
    assert names == names_torch == ("torch::autograd::CopyBackwards", "CloneBackward0", None)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_an_op_without_a_second_derivative_refuses_to_be_differentiated_twice():
    """CTC loss's gradient, as torch's (_ctc_loss_backward has no derivative there either)."""
    a = mg.tensor(RNG.standard_normal((5, 2, 4)), requires_grad=True)

    def loss():
        return mg.nn.functional.ctc_loss(a, mg.tensor(np.array([[1, 2], [3, 1]])), [5, 5], [2, 2])

    gradient, = mg.autograd.grad(loss(), a, create_graph=True)
    np.testing.assert_array_equal(gradient.numpy(), mg.autograd.grad(loss(), a)[0].numpy())
    assert gradient.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError) as error:
        mg.autograd.grad(gradient.sum(), a)
    assert str(error.value) == ("derivative for the backward of CTCLossBackward0 is not implemented in minigrad: a "
                                "gradient computed through it with create_graph=True cannot be differentiated again")


def square_once(library):
    class SquareOnce(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @library.autograd.function.once_differentiable
        def backward(ctx, grad_output):
            x, = ctx.saved_tensors
            return grad_output * 2 * x

    return SquareOnce


def square_and_triple(library):
    """Two outputs, the first saved, and None for an output that got no gradient."""
    class SquareAndTriple(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            square = x * x
            ctx.save_for_backward(x, square)
            return square, x * 3

        @staticmethod
        def backward(ctx, grad_square, grad_triple):
            x, square = ctx.saved_tensors
            gradient = 0 if grad_square is None else grad_square * 2 * square / x  # x is not 0 here
            return gradient if grad_triple is None else gradient + grad_triple * 3

    return SquareAndTriple


# torch's documentation's custom Functions, written once for both libraries (test_custom_function_tensors's)
CUSTOM = {library: {"Exp": _exp(library), "MyCube": _cube(library), "LinearFunction": _linear(library),
                    "SquareOnce": square_once(library), "SquareAndTriple": square_and_triple(library)}
          for library in (mg, torch)}

CUSTOM_CASES = {  # build(library, *tensors), arrays
    "exp_saved_output": (lambda lib, x: CUSTOM[lib]["Exp"].apply(x) * x, [X]),
    "cube_both_outputs": (lambda lib, x: (lambda r, dx: r * dx + dx)(*CUSTOM[lib]["MyCube"].apply(x)), [X]),
    "cube_first_output": (lambda lib, x: CUSTOM[lib]["MyCube"].apply(x)[0], [X]),
    "first_output_saved": (lambda lib, x: CUSTOM[lib]["SquareAndTriple"].apply(x)[0] * x, [X]),
    "linear_function": (lambda lib, a, w, b: CUSTOM[lib]["LinearFunction"].apply(a * a, w, b),
                        [RNG.standard_normal((4, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal(2)]),
}


@pytest.mark.parametrize("name", CUSTOM_CASES)
def test_custom_functions_are_differentiated_twice_as_torchs_gradgradcheck(name):
    build, arrays = CUSTOM_CASES[name]
    check_double_backward(build, *arrays)


def test_a_saved_output_leads_back_through_its_node():
    """d2/dx2 of Exp is exp: a saved output taken for a constant would give 0."""
    x = mg.tensor(X, requires_grad=True)
    gradient, = mg.autograd.grad(CUSTOM[mg]["Exp"].apply(x).sum(), x, create_graph=True)
    second, = mg.autograd.grad(gradient.sum(), x)
    np.testing.assert_allclose(second.numpy(), np.exp(X), rtol=1e-6)


def test_once_differentiable_refuses_a_second_differentiation_with_torchs_error():
    def run(library):
        x = library.tensor(X, requires_grad=True)
        v = library.ones(3, requires_grad=True)
        gradient, = library.autograd.grad(CUSTOM[library]["SquareOnce"].apply(x), x, v, create_graph=True)
        names.append(gradient.grad_fn.name())
        return lambda: gradient.sum().backward()

    names = []
    assert_raises_as_torch(run(torch), run(mg))
    assert names[0] == names[1]
    # where torch's gradient would be a constant (its grad_output needs none), minigrad's refuses as well
    x = mg.tensor(X, requires_grad=True)
    gradient, = mg.autograd.grad(CUSTOM[mg]["SquareOnce"].apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(gradient.numpy(), 2 * X)
    with pytest.raises(RuntimeError, match="^trying to differentiate twice a function that was marked with "
                                           "@once_differentiable$"):
        mg.autograd.grad(gradient.sum(), x)


def test_gpu_path_matches_cpu(gpu_path):
    """Second derivatives through a custom Function of two outputs (its packed gradient) stay on the device."""
    results = []
    for device in ("cpu", "gpu"):
        x = mg.tensor(X, device=device, requires_grad=True)
        r, dx = CUSTOM[mg]["MyCube"].apply(x)
        gradient, = mg.autograd.grad((r * dx + dx).sum(), x, create_graph=True)
        second, = mg.autograd.grad((gradient * gradient).sum(), x)
        assert second.device == device
        results.append([gradient.numpy(), second.numpy()])
    for gpu, cpu in zip(results[1], results[0]):
        assert relative_error(gpu, cpu) <= 1e-5
