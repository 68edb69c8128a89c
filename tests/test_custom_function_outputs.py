"""Custom autograd Functions whose forward returns a tuple, as ported torch code writes them: each test runs one
class body on minigrad and on torch (through a `library` namespace) and compares what comes out, the outputs, the
gradients and what backward was given."""
import numpy as np
import pytest
import torch
from conftest import relative_error

import minigrad as mg
from minigrad import profiler
from minigrad.function import Function


def _pair_function(library, received=None):
    """Two outputs of different shapes from two inputs; backward notes what it was given in `received`."""
    class ProductAndRowSums(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y, (x + y).sum(1)

        @staticmethod
        def backward(ctx, grad_product, grad_sums):
            if received is not None:
                received.append((grad_product, grad_sums))
            x, y = ctx.saved_tensors
            return grad_product * y + grad_sums[:, None], grad_product * x + grad_sums[:, None]

    return ProductAndRowSums


def _leaves(library, dtype=np.float32):
    rng = np.random.default_rng(0)
    return tuple(library.tensor(rng.standard_normal((3, 4)).astype(dtype), requires_grad=True) for _ in range(2))


def _numpy(value):
    return None if value is None else np.asarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)


@pytest.mark.parametrize("loss", ["both", "first", "second"])
def test_two_outputs_give_torchs_values_gradients_and_backward_arguments(loss):
    def run(library):
        received = []
        x, y = _leaves(library)
        product, sums = _pair_function(library, received).apply(x, y)
        weights = library.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
        terms = {"first": (product * weights).sum(), "second": (sums * sums).sum()}
        (terms["first"] + terms["second"] if loss == "both" else terms[loss]).backward()
        (given,) = received
        return [product, sums, x.grad, y.grad, *given]

    mine, theirs = run(mg), run(torch)
    for ours, reference in zip(mine, theirs):
        assert _numpy(ours).dtype == _numpy(reference).dtype
        np.testing.assert_allclose(_numpy(ours), _numpy(reference), rtol=1e-5, atol=1e-6)


def test_two_outputs_pass_gradcheck():
    x, y = _leaves(mg, np.float64)
    assert mg.gradcheck(_pair_function(mg).apply, [x, y])


def test_names_and_requires_grad_of_the_outputs_are_torchs():
    """Both outputs show the custom node's name, as torch's; an output of an input that needs no gradient requires
    grad all the same, as all of one node's do."""
    def run(library):
        x, y = _leaves(library)
        outputs = _pair_function(library).apply(x, y.detach())
        shown = [(type(outputs).__name__, t.grad_fn.name(), t.requires_grad, t.is_leaf) for t in outputs]
        with library.no_grad():
            unrecorded = _pair_function(library).apply(x, y)
        return shown, [(t.grad_fn, t.requires_grad) for t in unrecorded]

    assert run(mg) == run(torch)


def _with_indices_function(library, received):
    class MaxAndIndices(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            indices = x.argmax(1)
            ctx.save_for_backward(indices)
            ctx.shape = tuple(x.shape)
            return x.max(1)[0], indices, x > 0

        @staticmethod
        def backward(ctx, grad_values, grad_indices, grad_mask):
            received.append((grad_indices, grad_mask))
            (indices,) = ctx.saved_tensors
            grad = grad_values.new_zeros(ctx.shape)
            grad[library.arange(ctx.shape[0], device=grad.device), indices] = grad_values
            return grad

    return MaxAndIndices


def test_integer_and_bool_outputs_get_no_gradient_and_zeros_in_backward_as_torchs():
    def run(library):
        received = []
        x, _ = _leaves(library)
        values, indices, mask = _with_indices_function(library, received).apply(x)
        (values * values).sum().backward()
        flags = [(t.requires_grad, t.grad_fn is None, str(t.dtype).split(".")[-1]) for t in (indices, mask)]
        return flags, [values, indices, mask, x.grad, *received[0]]

    (mine, my_arrays), (theirs, their_arrays) = run(mg), run(torch)
    assert mine == theirs
    for ours, reference in zip(my_arrays, their_arrays):
        assert _numpy(ours).dtype == _numpy(reference).dtype
        np.testing.assert_array_equal(_numpy(ours), _numpy(reference))


def _marking_function(library, received, materialize):
    class DoubledAndTripled(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            doubled, tripled, halved = x * 2, x * 3, x / 2
            ctx.mark_non_differentiable(tripled)
            ctx.set_materialize_grads(materialize)
            return doubled, tripled, halved

        @staticmethod
        def backward(ctx, grad_doubled, grad_tripled, grad_halved):
            received.append((grad_doubled, grad_tripled, grad_halved))
            grad = 0 if grad_doubled is None else grad_doubled * 2
            return grad + (0 if grad_halved is None else grad_halved / 2)

    return DoubledAndTripled


@pytest.mark.parametrize("materialize", [True, False])
def test_mark_non_differentiable_and_set_materialize_grads_are_torchs(materialize):
    def run(library):
        received = []
        x, _ = _leaves(library)
        doubled, tripled, halved = _marking_function(library, received, materialize).apply(x)
        halved.sum().backward()
        flags = [(t.requires_grad, t.grad_fn is None) for t in (doubled, tripled, halved)]
        return flags, [doubled, tripled, halved, x.grad, *received[0]]

    (mine, my_arrays), (theirs, their_arrays) = run(mg), run(torch)
    assert mine == theirs
    assert [t is None for t in my_arrays] == [t is None for t in their_arrays]
    for ours, reference in zip(my_arrays, their_arrays):
        if reference is not None:
            np.testing.assert_allclose(_numpy(ours), _numpy(reference), rtol=1e-6)


def test_a_single_marked_output_needs_no_gradient_as_torchs():
    def run(library):
        class Marked(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                doubled = x * 2
                ctx.mark_non_differentiable(doubled)
                return doubled

        out = Marked.apply(_leaves(library)[0])
        return out.requires_grad, out.grad_fn is None

    assert run(mg) == run(torch) == (False, True)


def _crop_function(library, received):
    """Constants among the arguments (a tuple, a string, None) with two outputs; needs_input_grad noted, one entry
    per argument."""
    class CropAndScale(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, size, mode, unused, weight):
            received.append(ctx.needs_input_grad)
            crop = x[: size[0], : size[1]]
            ctx.save_for_backward(crop, weight)
            ctx.shape, ctx.factor = tuple(x.shape), 2.0 if mode == "double" else 1.0
            return crop * weight * ctx.factor, weight * ctx.factor

        @staticmethod
        def backward(ctx, grad_crop, grad_weight):
            crop, weight = ctx.saved_tensors
            grad_x = grad_crop.new_zeros(ctx.shape)
            grad_x[: crop.shape[0], : crop.shape[1]] = grad_crop * weight * ctx.factor
            return grad_x, None, None, None, (grad_crop * crop + grad_weight) * ctx.factor

    return CropAndScale


def test_constants_among_the_arguments_with_several_outputs_are_torchs():
    def run(library):
        received = []
        x, w = _leaves(library)
        crop, scaled = _crop_function(library, received).apply(x, (2, 3), "double", None, w[:2, :3])
        ((crop * crop).sum() + (scaled * crop).sum()).backward()
        return [crop, scaled, x.grad, w.grad], received[0]

    (mine, my_need), (theirs, their_need) = run(mg), run(torch)
    assert my_need == their_need == (True, False, False, False, True)
    for ours, reference in zip(mine, theirs):
        np.testing.assert_allclose(_numpy(ours), _numpy(reference), rtol=1e-5, atol=1e-6)


def test_a_tuple_of_one_output_is_a_tuple_of_one_tensor_as_torchs():
    def run(library):
        class Squared(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return (x * x,)

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

        x, _ = _leaves(library)
        outputs = Squared.apply(x)
        outputs[0].sum().backward()
        return type(outputs).__name__, len(outputs), outputs[0].grad_fn.name(), _numpy(outputs[0]), _numpy(x.grad)

    mine, theirs = run(mg), run(torch)
    assert mine[:3] == theirs[:3]
    for ours, reference in zip(mine[3:], theirs[3:]):
        np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_outputs_that_are_no_arrays_come_back_as_they_are_and_get_none_as_torchs():
    def run(library):
        received = []

        class WithExtras(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, 3, None, "note"

            @staticmethod
            def backward(ctx, grad, *others):
                received.append(others)
                return grad * 2

        x, _ = _leaves(library)
        doubled, *extras = WithExtras.apply(x)
        doubled.sum().backward()
        return extras, received[0], _numpy(x.grad)

    mine, theirs = run(mg), run(torch)
    assert mine[:2] == theirs[:2] == ([3, None, "note"], (None, None, None))
    np.testing.assert_array_equal(mine[2], theirs[2])


def test_outputs_of_several_float_dtypes_keep_theirs_as_torchs():
    def run(library):
        received = []

        class Widened(library.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, (x * 3).double(), (x * 4).half()

            @staticmethod
            def backward(ctx, grad, grad_double, grad_half):
                received.extend((grad, grad_double, grad_half))
                return grad * 2 + grad_double.float() * 3 + grad_half.float() * 4

        x, _ = _leaves(library)
        outputs = Widened.apply(x)
        sum(((t.float() * t.float()).sum() for t in outputs), library.tensor(0.0)).backward()
        return [*outputs, x.grad, *received]

    for ours, reference in zip(run(mg), run(torch)):
        assert _numpy(ours).dtype == _numpy(reference).dtype
        np.testing.assert_allclose(_numpy(ours), _numpy(reference), rtol=1e-5, atol=1e-6)


def test_a_wrong_count_of_gradients_is_an_error():
    """torch's error, with or without constants among the arguments."""
    def run(library):
        crop = _crop_function(library, [])

        class ForgetsTheConstants(crop):
            @staticmethod
            def backward(ctx, grad_crop, grad_weight):
                return crop.backward(ctx, grad_crop, grad_weight)[:1]

        x, w = _leaves(library)
        outputs = ForgetsTheConstants.apply(x, (2, 3), "double", None, w[:2, :3])
        with pytest.raises(RuntimeError) as error:
            sum(t.sum() for t in outputs).backward()
        return outputs[1].grad_fn.name(), str(error.value)

    assert run(mg) == run(torch)
    pair = _pair_function(mg)
    forgets_one = type("ForgetsOne", (pair,),
                       {"backward": staticmethod(lambda ctx, *grads: pair.backward(ctx, *grads)[:1])})
    product, sums = forgets_one.apply(*_leaves(mg))
    with pytest.raises(RuntimeError, match=r"function ForgetsOneBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 1\)"):
        (product.sum() + sums.sum()).backward()


def test_a_list_from_forward_is_a_clear_error():
    class ReturnsAList(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return [x * 2, x * 3]

    x, _ = _leaves(mg)
    with pytest.raises(TypeError, match="ReturnsAList.forward returned a list: a custom Function returns several "
                                        "outputs as a tuple"):
        ReturnsAList.apply(x)


def test_minigrads_own_ops_still_return_one_array():
    """A Function defined inside minigrad (its module is minigrad's) is one of its ops, not a custom one."""
    pair = type("Pair", (Function,), {"__module__": "minigrad.ops.pair",
                                       "forward": staticmethod(lambda ctx, a: (a, a))})
    assert not pair.custom
    with pytest.raises(TypeError, match="Pair.forward returned a tuple: an op returns one array"):
        pair.apply(mg.ones(2, requires_grad=True))


def test_the_profiler_times_the_custom_op_once_under_its_name():
    x, y = _leaves(mg)
    with profiler.profile() as stats:
        product, sums = _pair_function(mg).apply(x, y)
        (product.sum() + sums.sum()).backward()
    assert stats.calls["ProductAndRowSums", "forward"] == stats.calls["ProductAndRowSums", "backward"] == 1


def test_the_gpu_path_gives_the_cpus_outputs_and_gradients(gpu_path):
    def run(device):
        received = []
        x, y = (t.to(device).detach().requires_grad_() for t in _leaves(mg))
        product, sums = _pair_function(mg, received).apply(x, y)
        values, indices, _ = _with_indices_function(mg, []).apply(x)
        ((product * product).sum() + sums.sum() + values.sum()).backward()
        assert all(t.device == device for t in (product, sums, indices, x.grad, y.grad))
        return [t.numpy() for t in (product, sums, values, indices, x.grad, y.grad)]

    for ours, reference in zip(run("gpu"), run("cpu")):  # a GPU sums in another order
        assert relative_error(ours, reference) <= 1e-5
