"""Custom autograd Functions as ported torch code writes them, compared with torch: arguments that are no tensors,
torch 2's setup_context, keywords, once_differentiable, and torch's errors for a wrong backward or ctx use. Each
class body is written once and run on minigrad and on torch."""
import warnings

import numpy as np
import pytest
import torch
from conftest import relative_error

import minigrad as mg
from minigrad.autograd.function import Function, FunctionCtx, once_differentiable


def _numpy(value):
    return np.asarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)


def _dtype(value):
    return str(value.dtype).rpartition(".")[2]


def _leaf(library, dtype=np.float32, shape=(3, 4)):
    values = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    return library.tensor(values, requires_grad=True)


def _assert_close(mine, theirs):
    for ours, reference in zip(mine, theirs):
        assert _numpy(ours).dtype == _numpy(reference).dtype
        np.testing.assert_allclose(_numpy(ours), _numpy(reference), rtol=1e-5, atol=1e-6)


def _error(run, library):
    with pytest.raises(Exception) as caught:
        run(library)
    return type(caught.value), str(caught.value)


def _scaled_pick(library, received):
    """Rows of x picked by an integer index, times a number; the other arguments (a list, a NumPy array, None, a
    string, a tuple) only noted, as forward gets them."""
    class ScaledPick(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, index, scale, offsets, table, nothing, mode, size):
            received.append([_dtype(index), type(scale), offsets, table.tolist(), nothing, mode, size,
                             ctx.needs_input_grad, isinstance(ctx, library.autograd.function.FunctionCtx)])
            ctx.save_for_backward(index, None)
            ctx.scale, ctx.shape = scale, tuple(x.shape)
            return x[index] * scale

        @staticmethod
        def backward(ctx, grad):
            index, _ = ctx.saved_tensors
            grad_x = grad.new_zeros(ctx.shape)
            grad_x[index] = grad * ctx.scale
            return grad_x, None, None, None, None, None, None, None

    return ScaledPick


def test_arguments_that_are_no_tensors_reach_forward_as_they_are_as_torchs():
    """A number, a list, a NumPy array, None, a string and a tuple are no inputs of the node (needs_input_grad False,
    backward returns None for them); an integer tensor keeps its dtype beside a float one."""
    def run(library):
        received = []
        x = _leaf(library)
        picked = _scaled_pick(library, received).apply(x, library.tensor([2, 0]), 2.5, [1, 2], np.arange(3.0), None,
                                                       "rows", (2, 4))
        (picked * picked).sum().backward()
        return received[0], picked.grad_fn.name(), [picked, x.grad]

    (mine, my_name, my_values), (theirs, their_name, their_values) = run(mg), run(torch)
    assert mine == theirs
    assert mine[1] is float and mine[7] == (True, False, False, False, False, False, False, False) and mine[8]
    assert my_name == their_name == "ScaledPickBackward"
    _assert_close(my_values, their_values)


def test_a_number_argument_passes_gradcheck():
    x = _leaf(mg, np.float64)
    assert mg.gradcheck(lambda x: _scaled_pick(mg, []).apply(x, mg.tensor([1, 2]), -1.5, [], np.zeros(1), None,
                                                             "", ()), [x])


def _one_input(library, backward, name="Wrong"):
    """A Function of a number and a tensor whose backward is `backward`."""
    class Wrong(library.autograd.Function):
        @staticmethod
        def forward(ctx, alpha, x):
            return x * alpha

    Wrong.backward = staticmethod(backward)
    Wrong.__name__ = Wrong.__qualname__ = name
    return Wrong


@pytest.mark.parametrize("backward", [
    lambda ctx, grad: (grad, grad),  # a gradient for the number
    lambda ctx, grad: (0, grad),
    lambda ctx, grad: grad,  # too few
    lambda ctx, grad: (None, grad, grad),  # too many
    lambda ctx, grad: (None, grad[:2]),  # of a shape that does not sum to the input's
    lambda ctx, grad: (None, grad[None, :1]),
    lambda ctx, grad: (None, 3.0),  # no array
])
def test_a_wrong_backward_gives_torchs_error(backward):
    def run(library):
        _one_input(library, backward).apply(2.0, _leaf(library)).sum().backward()

    assert _error(run, mg) == _error(run, torch)


def test_what_backward_may_return_as_torch_accepts_it():
    """Nones past the arguments are let go; a gradient that sums to the input's shape is summed; one for an input
    that needs none is not checked."""
    def run(library):
        x, y = _leaf(library), _leaf(library)
        stacked = (lambda grad: grad[None].repeat(2, 1, 1)) if library is torch else (
            lambda grad: np.repeat(grad[None], 2, 0))
        _one_input(library, lambda ctx, grad: (None, stacked(grad), None, None)).apply(2.0, x).sum().backward()
        _one_input(library, lambda ctx, grad: (grad[:1], grad)).apply(_leaf(library).detach(), y).sum().backward()
        return [x.grad, y.grad]

    _assert_close(run(mg), run(torch))


def _with_setup_context(library, received):
    """torch 2's form: forward takes no ctx, setup_context fills it; a default argument, and a second output marked
    non-differentiable there."""
    class ScaleAndSign(library.autograd.Function):
        @staticmethod
        def forward(x, alpha=3.0):
            received.append(("forward", library.is_grad_enabled()))
            return x * alpha, x * 0 + (x > 0)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, alpha = inputs
            received.append(("setup", type(alpha), ctx.needs_input_grad, library.is_grad_enabled()))
            ctx.mark_non_differentiable(output[1])
            ctx.save_for_backward(x)
            ctx.alpha = alpha

        @staticmethod
        def backward(ctx, grad, grad_sign):
            (x,) = ctx.saved_tensors
            received.append(("backward", library.is_grad_enabled(), float(grad_sign.sum())))
            return grad * ctx.alpha, None

    return ScaleAndSign


@pytest.mark.parametrize("arguments", [lambda x: ((x,), {}), lambda x: ((x, 2.0), {}),
                                       lambda x: ((), dict(x=x, alpha=-1.0))])
def test_setup_context_is_torchs(arguments):
    def run(library):
        received = []
        x = _leaf(library)
        args, kwargs = arguments(x)
        scaled, sign = _with_setup_context(library, received).apply(*args, **kwargs)
        (scaled * scaled).sum().backward()
        flags = [(t.requires_grad, t.grad_fn is None) for t in (scaled, sign)]
        return received, flags, scaled.grad_fn.name(), [scaled, sign, x.grad]

    mine, theirs = run(mg), run(torch)
    assert mine[:3] == theirs[:3]
    _assert_close(mine[3], theirs[3])


@pytest.mark.parametrize("call", [
    lambda function, x: function.apply(x, 1.0, 2.0),
    lambda function, x: function.apply(alpha=2.0),
    lambda function, x: function.apply(x, beta=2.0),
])
def test_setup_context_binds_arguments_as_torch(call):
    def run(library):
        call(_with_setup_context(library, []), _leaf(library))

    assert _error(run, mg) == _error(run, torch)


def _keywords(library, received):
    class Affine(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, alpha=3.0, shift=None):
            received.append(ctx.needs_input_grad)
            ctx.alpha, ctx.shifted = alpha, shift is not None
            return x * alpha + (shift if ctx.shifted else 0.0)

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.alpha, None, grad if ctx.shifted else None

    return Affine


@pytest.mark.parametrize("call", [
    lambda function, x, y: function.apply(x),
    lambda function, x, y: function.apply(x, alpha=2.0),
    lambda function, x, y: function.apply(shift=y, alpha=0.5, x=x),
    lambda function, x, y: function.apply(x, shift=y),  # alpha between them is missing
    lambda function, x, y: function.apply(x, scale=y),
])
def test_keywords_of_apply_are_placed_as_torchs(call):
    def run(library):
        received = []
        x, y = _leaf(library), _leaf(library)
        try:
            call(_keywords(library, received), x, y).sum().backward()
        except TypeError as error:
            return str(error)
        return received, [x.grad, y.grad]

    mine, theirs = run(mg), run(torch)
    if isinstance(theirs, str):
        assert mine == theirs
        return
    assert mine[0] == theirs[0]
    _assert_close([g for g in mine[1] if g is not None], [g for g in theirs[1] if g is not None])


def test_grad_modes_and_once_differentiable_are_torchs():
    """forward and backward run without recording; under no_grad the output records nothing, while
    needs_input_grad still tells which inputs require grad."""
    def run(library):
        received = []

        class Doubled(library.autograd.Function):
            @staticmethod
            def forward(ctx, x, weight):
                received.append((ctx.needs_input_grad, library.is_grad_enabled()))
                return x * weight * 2

            @staticmethod
            @library.autograd.function.once_differentiable
            def backward(ctx, grad):
                received.append(library.is_grad_enabled())
                return grad * 2, None

        x, weight = _leaf(library), _leaf(library).detach()
        with library.no_grad():
            unrecorded = Doubled.apply(x, weight)
        doubled = Doubled.apply(x, weight)
        doubled.sum().backward()
        return received, (unrecorded.requires_grad, unrecorded.grad_fn), Doubled.backward.__name__, [doubled, x.grad]

    mine, theirs = run(mg), run(torch)
    assert mine[:3] == theirs[:3]
    _assert_close(mine[3], theirs[3])
    assert once_differentiable is mg.autograd.function.once_differentiable and Function is mg.autograd.Function
    assert FunctionCtx is type(mg.ones(1, requires_grad=True).exp().grad_fn)


def _saving(library, saved):
    class Saving(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, extra):
            ctx.save_for_backward(x, None, *saved(extra))
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            x, nothing, *_ = ctx.saved_tensors
            return grad * 2 + x * 0 if nothing is None else None, None

    return Saving


@pytest.mark.parametrize("saved", [lambda extra: (extra,), lambda extra: ((1, 2),), lambda extra: ("name",)])
def test_save_for_backward_refuses_what_is_no_tensor_as_torch(saved):
    def run(library):
        _saving(library, saved).apply(_leaf(library), 2.0)

    assert _error(run, mg) == _error(run, torch)


def test_saved_tensors_after_backward_are_torchs_error():
    def run(library, retain_graph):
        doubled = _saving(library, lambda extra: ()).apply(_leaf(library), None)
        doubled.sum().backward(retain_graph=retain_graph)
        return [_numpy(t) if t is not None else None for t in doubled.grad_fn.saved_tensors]

    kept = [run(library, True) for library in (mg, torch)]
    assert kept[0][1] is None and kept[1][1] is None
    np.testing.assert_array_equal(kept[0][0], kept[1][0])
    assert _error(lambda library: run(library, False), mg) == _error(lambda library: run(library, False), torch)


def _doubling_in_place(library, returned=True, input_written=True):
    class DoubleInPlace(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            written = x if input_written else x * 1
            written *= 2
            ctx.mark_dirty(written)
            return written if returned else written * 1

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    return DoubleInPlace


def test_mark_dirty_gives_back_the_input_as_torch():
    def run(library):
        x = _leaf(library)
        y = x * 3
        z = _doubling_in_place(library).apply(y)
        (z * z).sum().backward()
        rows = x * 1
        row = _doubling_in_place(library).apply(rows[1])  # a view: its base changes, as torch's CopySlices
        (rows * rows).sum().backward()
        with library.no_grad():
            plain = y.detach()
            unrecorded = _doubling_in_place(library).apply(plain)
        flags = (z is y, y.grad_fn.name(), unrecorded is plain, unrecorded.requires_grad)
        return (*flags, row.grad_fn.name(), rows.grad_fn.name()), [z, plain, row, rows, x.grad]

    mine, theirs = run(mg), run(torch)
    assert mine[0] == theirs[0]
    assert mine[0][:4] == (True, "DoubleInPlaceBackward", True, False)
    _assert_close(mine[1], theirs[1])


def test_mark_dirty_errors_and_warning_are_torchs():
    assert _error(lambda library: _doubling_in_place(library).apply(_leaf(library)), mg) == \
        _error(lambda library: _doubling_in_place(library).apply(_leaf(library)), torch)
    assert _error(lambda library: _doubling_in_place(library, returned=False).apply(_leaf(library) * 1), mg) == \
        _error(lambda library: _doubling_in_place(library, returned=False).apply(_leaf(library) * 1), torch)
    for library in (mg, torch):
        with pytest.warns(UserWarning, match=r"ctx.mark_dirty\(\) received a tensor that was not an input. Only "
                                             "input Tensors that have been mutated should be passed to"):
            out = _doubling_in_place(library, input_written=False).apply(_leaf(library) * 1)
        assert out.requires_grad


def test_instances_forward_returning_a_number_and_missing_methods_are_torchs():
    def run(library):
        class Plain(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return 3.0

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            instance = Plain()
        results = [(caught[0].category, str(caught[0].message)), Plain.apply(_leaf(library))]
        for attempt in (lambda: instance(_leaf(library)),
                        lambda: type("NoForward", (library.autograd.Function,), {}).apply(_leaf(library)),
                        lambda: _one_input(library, library.autograd.Function.backward).apply(1.0, _leaf(library))
                        .sum().backward()):
            with pytest.raises((RuntimeError, NotImplementedError)) as error:
                attempt()
            results.append((type(error.value), str(error.value)))
        return results

    mine, theirs = run(mg), run(torch)
    assert mine[1:] == theirs[1:]
    assert mine[0][0] is theirs[0][0] is DeprecationWarning
    assert mine[0][1].split("Plain'>")[1] == theirs[0][1].split("Plain'>")[1]


def test_the_gpu_path_gives_the_cpus_outputs_and_gradients(gpu_path):
    def run(device):
        received = []
        x = _leaf(mg).to(device).detach().requires_grad_()
        scaled, sign = _with_setup_context(mg, received).apply(x, 0.5)
        picked = _scaled_pick(mg, []).apply(x, mg.tensor([2, 0], device=device), 2.5, [], np.zeros(1), None, "", ())
        ((scaled * scaled).sum() + (picked * sign[:2]).sum()).backward()
        assert all(t.device == device for t in (scaled, sign, picked, x.grad))
        return [t.numpy() for t in (scaled, sign, picked, x.grad)]

    for ours, reference in zip(run("gpu"), run("cpu")):
        assert relative_error(ours, reference) <= 1e-5
