"""Custom autograd Functions deal in tensors, as torch's: the examples of torch's "Extending PyTorch" page, each
class body written once and run on minigrad and on torch, give the same outputs and gradients."""
import numpy as np
import pytest
import torch
from conftest import forward_backward, relative_error

import minigrad as mg


def _linear(library):
    """torch's LinearFunction example: forward apart from setup_context, tensor methods in both directions, an
    in-place add on forward's own result, and needs_input_grad to skip gradients."""
    class LinearFunction(library.autograd.Function):
        @staticmethod
        def forward(input, weight, bias):
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def setup_context(ctx, inputs, output):
            input, weight, bias = inputs
            ctx.save_for_backward(input, weight, bias)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    return LinearFunction


def _relu(library):
    """torch's tutorial ReLU: clamp, clone and a masked write into a gradient."""
    class MyReLU(library.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    return MyReLU


def _cube(library):
    """torch's MyCube: two outputs, the second a derivative that backward gets a gradient for too."""
    class MyCube(library.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3, 3 * x ** 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,), (_, dx) = inputs, output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    return MyCube


def _exp(library):
    """torch's Exp, which saves its own output."""
    class Exp(library.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    return Exp


CASES = {
    "linear": (lambda lib, x, w, b: _linear(lib).apply(x, w, b), [(4, 3), (5, 3), (5,)]),
    "linear without bias": (lambda lib, x, w: _linear(lib).apply(x, w, None), [(4, 3), (5, 3)]),
    "relu": (lambda lib, x: _relu(lib).apply(x), [(3, 4)]),
    "cube": (lambda lib, x: sum(t.sum() * k for t, k in zip(_cube(lib).apply(x), (1.0, 0.5))), [(3, 4)]),
    "exp": (lambda lib, x: _exp(lib).apply(x), [(3, 4)]),
}


def _arrays(shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape) for shape in shapes]


@pytest.mark.parametrize("name", CASES)
def test_torchs_examples_give_torchs_outputs_and_gradients(name):
    fn, shapes = CASES[name]
    arrays = _arrays(shapes)
    (mine, my_grads), (theirs, their_grads) = (forward_backward(lib, fn, arrays, np.float32) for lib in (mg, torch))
    for ours, reference in zip([mine, *my_grads], [theirs, *their_grads]):
        assert ours.dtype == reference.dtype
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_torchs_examples_pass_gradcheck(name):
    fn, shapes = CASES[name]
    inputs = [mg.tensor(array, requires_grad=True) for array in _arrays(shapes)]
    assert mg.gradcheck(lambda *tensors: fn(mg, *tensors), inputs)


def test_forward_gets_the_tensors_themselves_and_backward_tensors_as_torchs():
    """forward sees the very tensors given to apply (requires_grad as they are) without recording; backward gets
    its gradient and what was saved as tensors."""
    def run(library):
        seen = {}

        class Noting(library.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                seen["forward"] = (x is given[0], y is given[1], x.requires_grad, y.requires_grad,
                                   library.is_grad_enabled(), (x * y).requires_grad)
                ctx.save_for_backward(x, y)
                return x * y

            @staticmethod
            def backward(ctx, grad):
                x, y = ctx.saved_tensors
                seen["backward"] = tuple(isinstance(t, library.Tensor) for t in (grad, x, y))
                return grad * y, grad * x

        given = (library.ones(2, requires_grad=True), library.ones(2))
        Noting.apply(*given).sum().backward()
        return seen

    assert run(mg) == run(torch) == {"forward": (True, True, True, False, False, False),
                                     "backward": (True, True, True)}


def test_an_input_written_in_place_and_marked_dirty_is_the_output_as_torchs():
    def run(library):
        class DoubleInPlace(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

        leaf = library.tensor([1.0, -2.0, 3.0], requires_grad=True)
        shifted = leaf + 1
        out = DoubleInPlace.apply(shifted)
        (out * out).sum().backward()
        return out is shifted, out.grad_fn.name(), out.tolist(), leaf.grad.tolist()

    assert run(mg) == run(torch)


def test_an_output_marked_non_differentiable_gets_no_gradient_as_torchs():
    def run(library):
        class SortWithIndices(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                values, indices = x.sort()
                ctx.mark_non_differentiable(indices)
                ctx.save_for_backward(indices)
                return values, indices

            @staticmethod
            def backward(ctx, grad_values, grad_indices):
                (indices,) = ctx.saved_tensors
                return grad_values.new_zeros(grad_values.shape).scatter(0, indices, grad_values)

        x = library.tensor([3.0, 1.0, 2.0], requires_grad=True)
        values, indices = SortWithIndices.apply(x)
        (values * library.tensor([1.0, 10.0, 100.0])).sum().backward()
        return indices.requires_grad, values.tolist(), indices.tolist(), x.grad.tolist()

    assert run(mg) == run(torch)


def test_the_gpu_path_gives_the_cpus_outputs_and_gradients(gpu_path):
    arrays = [array.astype(np.float32) for array in _arrays([(4, 3), (5, 3), (5,)])]
    results = {}
    for device in ("cpu", "gpu"):
        x, w, b = (mg.tensor(array, requires_grad=True, device=device) for array in arrays)
        out = _exp(mg).apply(_relu(mg).apply(_linear(mg).apply(x, w, b)) * 0.1)
        out.sum().backward()
        assert all(t.device == device for t in (out, x.grad, w.grad, b.grad))
        results[device] = [t.numpy() for t in (out, x.grad, w.grad, b.grad)]
    for ours, reference in zip(results["gpu"], results["cpu"]):  # a GPU sums in another order
        assert relative_error(ours, reference) <= 1e-5


def test_a_recorded_write_into_a_saved_input_leaves_backward_the_values_saved():
    """A recorded in-place op gives its tensor a new array (torch would refuse the backward instead): what forward
    saved keeps its values, so the gradient is that of the function where it was applied."""
    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    leaf = mg.tensor([1.0, -2.0], requires_grad=True)
    x = leaf * 1
    out = Square.apply(x) + _exp(mg).apply(x)  # one saves its input, the other its output
    x.mul_(10)
    out.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 2 * np.array([1.0, -2.0]) + np.exp([1.0, -2.0]), rtol=1e-6)
