"""mg.autograd against torch.autograd: grad (values, no `.grad` touched, unused inputs, graph freeing), backward of
several tensors, and a custom Function subclassed as ported code does it."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import error_of, torch_since

torch = pytest.importorskip("torch")


def leaves(library, seed=0):
    rng = np.random.default_rng(seed)
    return [library.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
            for shape in [(3, 4), (4,), (3, 4)]]


# Each case: fn(x, w, y) -> (outputs, inputs, grad_outputs as arrays or None), in either library.
def _two_outputs(x, w, y):
    hidden = (x * w).sigmoid()
    return [(hidden * y).sum(), hidden.exp()], [x, w, hidden], [None, np.full((3, 4), 0.5, np.float32)]


CASES = {
    "scalar": lambda x, w, y: ((x * w + y).relu().sum(), [x, w, y], None),
    "one input, not a list": lambda x, w, y: ((x ** 2 * w).mean(), x, None),
    "grad_outputs": lambda x, w, y: (x @ w.reshape(4, 1) * y, [w, x], np.ones((3, 4), np.float32) * 2),
    "two outputs, a non-leaf input": _two_outputs,
    "an input used twice": lambda x, w, y: ((x * x * w).sum() + (x * y).sum(), [x], None),
    "an output that is an input": lambda x, w, y: ([x, (x * w).sum()], [x], [np.ones((3, 4), np.float32), None]),
}


def run(library, case):
    x, w, y = leaves(library)
    outputs, inputs, grad_outputs = CASES[case](x, w, y)
    if grad_outputs is not None:
        grad_outputs = ([None if g is None else library.tensor(g) for g in grad_outputs]
                        if isinstance(grad_outputs, list) else library.tensor(grad_outputs))
    grads = library.autograd.grad(outputs, inputs, grad_outputs=grad_outputs)
    return grads, (x, w, y)


@pytest.mark.parametrize("case", CASES)
def test_gradients_are_torchs_and_no_grad_is_touched(case):
    mine, my_leaves = run(mg, case)
    theirs, _ = run(torch, case)
    assert isinstance(mine, tuple) and len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert a.dtype == np.float32 and not a.requires_grad
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    assert all(leaf.grad is None for leaf in my_leaves)


def test_gradients_equal_those_backward_accumulates():
    x, w, y = leaves(mg, seed=1)
    loss = ((x * w - y) ** 2).sum()
    grads = mg.autograd.grad(loss, [x, w, y], retain_graph=True)
    loss.backward()
    for leaf, gradient in zip((x, w, y), grads):
        assert np.array_equal(leaf.grad.numpy(), gradient.numpy())


def test_a_retained_non_leaf_gets_its_gradient_as_torchs():
    """torch's retain_grad keeps the gradient that reaches the tensor, autograd.grad's too; no leaf's is touched."""
    retained = []
    for library in (mg, torch):
        x, w, _ = leaves(library)
        hidden = x * w
        hidden.retain_grad()
        library.autograd.grad((hidden * hidden).sum(), x)
        assert x.grad is None
        retained.append(hidden.grad.numpy())
    np.testing.assert_allclose(*retained, rtol=1e-6)


@torch_since((2, 13), "the message")
def test_an_unused_input_is_torchs_error_unless_allowed():
    for library in (mg, torch):
        x, w, y = leaves(library)
        with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used "
                                               "in the graph. Set allow_unused=True"):
            library.autograd.grad((x * y).sum(), [x, w])
        grad_x, grad_w = library.autograd.grad((x * y).sum(), [x, w], allow_unused=True)
        assert grad_w is None and grad_x.shape == x.shape


def test_the_graph_is_freed_unless_retained():
    x, w, _ = leaves(mg)
    loss = (x * w).sigmoid().sum()
    first = mg.autograd.grad(loss, w, retain_graph=True)
    second = mg.autograd.grad(loss, w)
    assert np.array_equal(first[0].numpy(), second[0].numpy())
    with pytest.raises(RuntimeError, match="a second time"):
        mg.autograd.grad(loss, w)


def test_a_second_backward_through_a_freed_graph_is_refused_with_torchs_message():
    messages = []
    for lib in (torch, mg):
        x, w, _ = leaves(lib)
        loss = (x * w).sigmoid().sum()
        loss.backward()
        messages.append(error_of(loss.backward))
    assert messages[0] == messages[1]


ERRORS = {
    "an input that needs no grad": lambda x, y, library: library.autograd.grad((x * 2).sum(), library.ones(3)),
    "an output that needs no grad": lambda x, y, library: library.autograd.grad(library.ones(3).sum(), x),
    "the second output needs no grad": lambda x, y, library: library.autograd.grad([x.sum(), library.ones(1)], x),
    "fewer grad_outputs than outputs": lambda x, y, library: library.autograd.grad([x.sum(), y], x, [None]),
    "backward: fewer gradients than tensors": lambda x, y, library: library.autograd.backward([x, y],
                                                                                               [library.ones(3)]),
    "backward: a tensor that needs no grad": lambda x, y, library: library.autograd.backward([y.sum(),
                                                                                              library.ones(1)]),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_torchs(case):
    def call(library):
        x = library.ones(3, requires_grad=True)
        return error_of(lambda: ERRORS[case](x, x * 2, library))
    assert call(mg) == call(torch)


def test_a_non_scalar_output_needs_a_grad_output():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"needs a gradient for a non-scalar tensor of shape \(3,\)"):
        mg.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match=r"needs a gradient for a non-scalar tensor of shape \(3,\)"):
        mg.autograd.backward(x * 2)


def test_backward_of_several_tensors_accumulates_torchs_gradients():
    def run(library):
        x, w, y = leaves(library)
        hidden = (x * w).sigmoid()
        library.autograd.backward([(hidden * y).sum(), hidden.exp()],
                                  [None, library.tensor(np.full((3, 4), 0.5, np.float32))])
        library.autograd.backward((x * y).sum())  # adds to the gradients already there
        return [leaf.grad.numpy() for leaf in (x, w, y)]

    for mine, theirs in zip(run(mg), run(torch)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_backward_of_several_tensors_runs_each_op_once(monkeypatch):
    x, w, _ = leaves(mg)
    shared = (x * w).exp()
    ran = []
    original = mg.function.Context.run_backward
    monkeypatch.setattr(mg.function.Context, "run_backward",
                        lambda node, grad: ran.append(node.function.__name__) or original(node, grad))
    mg.autograd.backward([shared.sum(), shared.mean()])
    assert sorted(ran) == ["Exp", "Mean", "Mul", "Sum"]


def _scale_function(library):
    """A custom op as ported torch code writes it: tensors in and out, a number among its arguments, saved
    tensors, and None for the number's gradient."""
    class ScaledSquare(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.save_for_backward(x)
            ctx.factor = factor
            return x * x * factor

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x * ctx.factor, None

    return ScaledSquare


def test_a_custom_function_subclassed_from_autograd_function_is_torchs_and_passes_gradcheck():
    def run(library):
        x, w, _ = leaves(library)
        out = _scale_function(library).apply(x * w, 1.5)
        out.sum().backward()
        return out.detach().numpy(), x.grad.numpy(), w.grad.numpy()

    for mine, theirs in zip(run(mg), run(torch)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    x = mg.tensor(np.random.default_rng(2).standard_normal((3, 2)), requires_grad=True)
    assert mg.autograd.gradcheck(lambda t: _scale_function(mg).apply(t, 1.5), [x])


def _crop_function(library):
    """A custom op whose arguments after the tensor are no tensors: a tuple of sizes, a string and None reach
    forward as they are, and backward returns None for each."""
    class ScaledCrop(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, size, mode, unused, weight):
            assert isinstance(size, tuple) and unused is None
            crop = x[: size[0], : size[1]]
            ctx.save_for_backward(crop, weight)
            ctx.shape, ctx.factor = tuple(x.shape), 2.0 if mode == "double" else 1.0
            return crop * weight * ctx.factor

        @staticmethod
        def backward(ctx, grad):
            crop, weight = ctx.saved_tensors
            grad_x = grad.new_zeros(ctx.shape)
            grad_x[: crop.shape[0], : crop.shape[1]] = grad * weight * ctx.factor
            return grad_x, None, None, None, grad * crop * ctx.factor  # summed down to the weight's shape

    return ScaledCrop


def test_a_custom_function_takes_arguments_that_are_no_tensors_as_torchs():
    def run(library):
        x, w, _ = leaves(library)
        out = _crop_function(library).apply(x, (2, 3), "double", None, w[:3])
        (out * out).sum().backward()
        return out.detach().numpy(), x.grad.numpy(), w.grad.numpy()

    for mine, theirs in zip(run(mg), run(torch)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_a_custom_functions_node_and_its_count_of_gradients_are_torchs():
    def run(library):
        x, w, _ = leaves(library)
        crop = _crop_function(library)

        class ForgetsTheConstants(crop):
            @staticmethod
            def backward(ctx, grad):
                return crop.backward(ctx, grad)[:1]  # no None for the constants, nor the weight's gradient

        out = ForgetsTheConstants.apply(x, (2, 3), "double", None, w[:3])
        name = out.grad_fn.name()
        with pytest.raises(RuntimeError) as error:
            out.sum().backward()
        return name, str(error.value)

    assert run(mg) == run(torch)


def test_it_runs_only_the_ops_between_the_inputs_and_the_outputs(monkeypatch):
    """Gradients w.r.t. a late intermediate need none of the ops before it."""
    x, w, _ = leaves(mg)
    early = (x * w).exp()
    late = early.sigmoid()
    ran = []
    original = mg.function.Context.run_backward
    monkeypatch.setattr(mg.function.Context, "run_backward",
                        lambda node, grad: ran.append(node.function.__name__) or original(node, grad))
    (gradient,) = mg.autograd.grad((late * late).sum(), early)
    assert sorted(ran) == ["Mul", "Sigmoid", "Sum"]
    s = 1 / (1 + np.exp(-early.numpy()))
    np.testing.assert_allclose(gradient.numpy(), 2 * s * s * (1 - s), rtol=1e-5)


def test_the_gpu_path_gives_the_cpus_gradients(gpu_path):
    def gradients(device):
        x, w, y = (t.to(device).detach().requires_grad_() for t in leaves(mg))
        grads = mg.autograd.grad(((x * w).sigmoid() * y).sum(), [x, w, y])
        assert all(g.device == device for g in grads)
        return [g.numpy() for g in grads]

    for gpu, cpu in zip(gradients("gpu"), gradients("cpu")):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5)


def _backward_into_inputs(library):
    """backward(inputs=...) into leaves and a non-leaf, twice, and autograd.backward's inputs; torch's errors."""
    x = library.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = library.tensor(np.array([3.0, 4.0], np.float32), requires_grad=True)
    unused = library.tensor(np.array([1.0], np.float32), requires_grad=True)
    h = x * y
    out = (h * h).sum()
    out.backward(inputs=[x, h], retain_graph=True)
    seen = [x.grad.numpy().copy(), y.grad, h.grad.numpy().copy()]
    out.backward(inputs=y)
    (x * 2).sum().backward(inputs=[unused])
    library.autograd.backward([(x * 3).sum()], inputs=[x])
    seen += [y.grad.numpy().copy(), unused.grad, x.grad.numpy().copy()]
    with pytest.raises(RuntimeError, match="argument to .?backward\\(\\).? cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    return seen


def test_backward_into_given_inputs_only_as_torch():
    for ours, theirs in zip(_backward_into_inputs(mg), _backward_into_inputs(torch)):
        assert (ours is None and theirs is None) or np.array_equal(ours, theirs)


def test_gradients_of_inf_and_nan_come_without_numpys_warnings_as_torchs():
    """autograd.grad's walk, as backward()'s, gives IEEE's inf where a gradient divides by 0, with no warning."""
    results = []
    for library in (torch, mg):
        x = library.tensor([0.0, 1.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (grad,) = library.autograd.grad((1 / x + x ** 0.5).sum(), x)
        results.append(grad.detach().numpy())
    np.testing.assert_array_equal(*results)
