"""Autograd semantics: accumulation, graph order and freeing, no_grad, devices, and clear errors."""
import operator
import re
import subprocess
import sys
import warnings
import weakref

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad.function import Function

from conftest import assert_raises_as_torch, error_of, torch_since


def test_node_used_twice_accumulates():
    x = mg.tensor([1.5, -2.0], requires_grad=True)
    y = x * x + x * 3          # dy/dx = 2x + 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 3)


def test_summed_gradients_never_write_into_a_shared_gradient():
    # Add hands one gradient array to both inputs; x's later contributions must not leak into y's
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    y = mg.tensor(np.ones((2, 3)), requires_grad=True)
    (((x + y) + x) + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0)
    np.testing.assert_allclose(y.grad.numpy(), 1.0)


@pytest.mark.parametrize("dense_first", [True, False])
def test_gradients_of_pieces_add_up_as_torchs(dense_first, torch):
    """Indexing gives its gradient as zeros but at the index, which the engine writes into one sum for all the
    pieces of a tensor: pieces that overlap, a 0-d one, a view's, one beside a whole gradient (arriving before or
    after them), a hook and retain_grad seeing the whole sum, and a gradient shared with another input unharmed."""
    values = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)

    def gradients(lib):
        leaf = lib.tensor(values, requires_grad=True)
        other = lib.tensor(values, requires_grad=True)
        x = leaf * 1.0
        x.retain_grad()
        seen = []
        x.register_hook(lambda grad: seen.append(grad.sum().item()))
        pieces = [p * (i + 1) for i, p in enumerate(x.unbind(0))] + [x[1:3] * x[2:4], x.T[1] * 5, x[2, 1] * 7]
        whole = (x + other).exp()
        total = sum(piece.sum() for piece in pieces)
        total = whole.sum() + total if dense_first else total + whole.sum()
        total.backward()
        return leaf.grad.numpy(), other.grad.numpy(), x.grad.numpy(), seen

    ours, theirs = gradients(mg), gradients(torch)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_two_backward_calls_accumulate_like_torch():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * x.numpy())


def test_gradcheck_of_a_reused_node():
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert mg.gradcheck(lambda t: (lambda s: s * s.exp() + s)(t.sigmoid()), [x])


def test_broadcast_gradient_has_input_shape():
    a = mg.tensor(np.ones((4, 1, 3)), requires_grad=True)
    b = mg.tensor(np.ones((5, 1)), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (5, 1)
    np.testing.assert_allclose(a.grad.numpy(), 5.0)
    np.testing.assert_allclose(b.grad.numpy(), 12.0)


def test_deep_graph_has_no_recursion_limit():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5 * sys.getrecursionlimit()):
        y = y + 1e-4
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_graph_is_freed_after_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    node = y.creator.inputs[0].creator
    y.backward()
    assert node.saved == () and node.freed  # the saved arrays go; the edges stay, as torch's next_functions
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_graph_keeps_only_the_arrays_backward_saved():
    """An intermediate that no op saved (a sum feeding a ReLU) is freed as soon as the forward drops it."""
    a = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b = mg.tensor([0.5, 0.5, -4.0], requires_grad=True)
    total = a + b
    total_array = weakref.ref(total.data)
    kept = total.relu()
    kept.retain_grad()
    del total
    assert total_array() is None, "the graph kept an unsaved intermediate's array alive"
    (kept * 3).sum().backward()
    np.testing.assert_allclose(kept.grad.numpy(), 3.0)
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 0.0, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [3.0, 0.0, 0.0])


def test_retain_graph_allows_a_second_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * x.numpy())


def test_no_grad_and_detach_build_no_graph():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None
    z = (x * 2).detach()
    assert not z.requires_grad and z.creator is None
    assert mg.is_grad_enabled()


def test_non_leaf_grads_are_kept_only_on_request():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 3
    hidden.retain_grad()
    other = x * 4
    (hidden * other).sum().backward()
    np.testing.assert_allclose(hidden.grad.numpy(), other.numpy())
    assert other.grad is None


def test_backward_on_non_scalar_needs_a_gradient():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(gradient=np.full((2, 3), 0.5, dtype=np.float32))
    np.testing.assert_allclose(x.grad.numpy(), 1.0)


def test_backward_takes_its_gradient_as_grad_too():
    """backward(grad=g) is backward(gradient=g), whose gradients are torch's; giving both is Python's TypeError."""
    torch = pytest.importorskip("torch")
    values, seed = np.arange(6.0).reshape(2, 3), np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    x, reference = mg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    (x.exp() * 2).backward(grad=mg.tensor(seed))
    (reference.exp() * 2).backward(gradient=torch.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="multiple values for argument 'gradient'"):
        (x * 2).backward(mg.tensor(seed), grad=mg.tensor(seed))


def test_float32_by_default_and_float64_kept():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(np.zeros(2)).dtype == np.float64
    x = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 0.5 + 1.0 / (x + 2)) ** 2
    assert y.dtype == np.float32, "Python scalars must not promote float32 to float64"


def test_cast_is_differentiable():
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), 3.0)


def test_conversions():
    x = mg.tensor([[1.5]])
    assert x.item() == 1.5 and isinstance(x.numpy(), np.ndarray)
    assert x.to("cpu") is x and x.device == "cpu"
    with pytest.raises(RuntimeError, match="^a Tensor with 2 elements cannot be converted to Scalar$"):  # torch's
        mg.tensor([1.0, 2.0]).item()


def test_unknown_device_is_a_clear_error():
    with pytest.raises(mg.DeviceError, match="Expected one of cpu, cuda, gpu device type at start of device string: tpu"):
        mg.tensor([1.0]).to("tpu")


@pytest.mark.skipif(mg.gpu_available(), reason="a GPU is present, so the missing-GPU message cannot be shown")
def test_missing_gpu_names_the_fix_without_a_traceback():
    code = "import minigrad as mg\ntry:\n    mg.tensor([1.0]).to('gpu')\nexcept mg.DeviceError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 'pip install -e ".[gpu]"' in out and out.count("\n") == 1


def test_conv_channel_mismatch_names_both_shapes():
    x = mg.tensor(np.zeros((1, 3, 8, 8), dtype=np.float32))
    w = mg.tensor(np.zeros((4, 5, 3, 3), dtype=np.float32))
    with pytest.raises(RuntimeError, match=r"weight of size \[4, 5, 3, 3\], expected input\[1, 3, 8, 8\] to have 5 "):
        F.conv2d(x, w)


@pytest.mark.parametrize("strategy", ["columns", "stacked"])
@pytest.mark.parametrize("kernel, padding", [((3, 3), 1), ((2, 3), 0), ((3, 2), 2)])
@pytest.mark.parametrize("block_bytes", [1, 1000, 1 << 20], ids=["one-row blocks", "uneven blocks", "whole images"])
@pytest.mark.parametrize("dilation", [1, (2, 3)], ids=["undilated", "dilated"])
def test_stride1_conv_strategies_pass_gradcheck(strategy, kernel, padding, block_bytes, dilation, monkeypatch):
    """Each way the stride-1 conv runs its GEMM (the channel threshold picks one) gives the same gradients."""
    from minigrad.ops import conv
    monkeypatch.setattr(conv, "STACK_MIN_CHANNELS", 99 if strategy == "columns" else 1)
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal((2, 3, 7, 8)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 3) + kernel), requires_grad=True)
    b = mg.tensor(rng.standard_normal(4), requires_grad=True)
    assert conv._geometry(x.data, w.data, (padding, padding)).strategy(3) == strategy
    assert mg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=padding, dilation=dilation), [x, w, b])


class WrongSquare(Function):
    """a * a with its second element's gradient 1.5 times too large: what gradcheck must catch."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        wrong = 2 * a
        wrong[1] *= 1.5
        return grad * wrong


def test_gradcheck_reports_the_worst_element():
    x = mg.tensor(np.array([0.5, 2.0, -1.0]), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"input 0 at element \(1,\)") as failure:
        mg.gradcheck(lambda t: WrongSquare.apply(t), [x])
    analytic, numeric = (float(v) for v in re.search(r"analytic (\S+) vs numeric (\S+)", str(failure.value)).groups())
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)


def test_gradcheck_passes_over_an_empty_input_as_torchs():
    """An empty input has no element to check; the others still are, so a wrong gradient there still fails."""
    empty = mg.tensor(np.zeros((2, 0)), requires_grad=True)
    full = mg.tensor(np.array([0.5, 2.0]), requires_grad=True)
    assert mg.gradcheck(lambda a, b: a.sum() + b * b, [empty, full])
    with pytest.raises(mg.GradcheckError, match="input 1"):
        mg.gradcheck(lambda a, b: a.sum() + WrongSquare.apply(b), [empty, full])


def test_gradcheck_needs_float64():
    with pytest.raises(ValueError, match="float64"):
        mg.gradcheck(lambda t: t * 2, [mg.tensor([1.0], requires_grad=True)])


class Softplus(Function):
    """log(1 + e^a), written as a learner would write a new op."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return (1 + a.exp()).log()

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / (1 + (-a).exp())


def test_gradcheck_takes_strided_and_computed_inputs():
    """A transposed view (a flat reshape of it would be a copy, which no perturbation reaches) and an
    input computed from another tensor (which gets no .grad of its own) are both valid inputs."""
    leaf = mg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    transposed = mg.Tensor(leaf.data.T, requires_grad=True)
    computed = leaf * 2
    before = leaf.data.copy()
    assert mg.gradcheck(Softplus.apply, [transposed]) and mg.gradcheck(Softplus.apply, [computed])
    assert leaf.grad is None and np.array_equal(leaf.data, before)  # perturbed and restored

    class HalfSoftplus(Softplus):  # a factor forgotten in backward is still caught on such inputs
        @staticmethod
        def backward(ctx, grad):
            return Softplus.backward(ctx, grad) / 2

    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(HalfSoftplus.apply, [transposed])


def test_gradcheck_checks_a_parameter_that_fn_reaches_through_a_module():
    """The walkthrough's recipe: list a module's parameter as an input; it is perturbed in place, where
    the module reads it, so a wrong gradient for it is caught."""
    weight = mg.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    class WrongWeightGrad(Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            return grad * w, grad * x * 1.5

    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="input 1"):
        mg.gradcheck(lambda x, _: WrongWeightGrad.apply(x, weight), [x, weight])


def test_gradcheck_refuses_outputs_it_cannot_check():
    x = mg.tensor(np.array([0.5, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match="output 0 is float32; fn must compute in float64"):
        mg.gradcheck(lambda t: t.float() * 2, [x])
    with pytest.raises(TypeError, match="output 1 is a float"):
        mg.gradcheck(lambda t: (t * 2, 3.0), [x])


def _op(forward, backward):
    """An op as minigrad's own are written (a custom Function's errors are torch's: test_custom_function_port.py)."""
    return type("Custom", (Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward),
                                        "__module__": "minigrad.ops.custom"})


@pytest.mark.parametrize("backward, error, message", [
    (lambda ctx, grad: grad.T, RuntimeError, r"Custom.backward returned a gradient of shape \(4, 3\) for input 0 "
                                             r"of shape \(3, 4\)"),
    (lambda ctx, grad: grad.sum(axis=1, keepdims=True).T, RuntimeError, r"shape \(1, 3\) for input 0"),
    (lambda ctx, grad: (), RuntimeError, "Custom.backward returned 0 gradients for its 1 inputs"),
    (lambda ctx, grad: (grad, grad), RuntimeError, "Custom.backward returned 2 gradients for its 1 inputs"),
    (lambda ctx, grad: mg.tensor(grad), TypeError, "returned a Tensor for input 0: backward works on arrays"),
])
def test_a_wrong_backward_is_named_not_reshaped_or_dropped(backward, error, message):
    x = mg.tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(error, match=message):
        _op(lambda ctx, a: a * 3, backward).apply(x).sum().backward()


# ---- torch parity: operators, Python conversions, dims, expand, matmul, copies, NumPy interop --------
# Each check runs one function, written once, on minigrad and on torch (the oracle); errors must be of
# torch's type, and carry its message where minigrad copies it.

@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _both(torch, arrays, requires_grad=True):
    """The same arrays as minigrad and torch leaves (float ones requiring grad)."""
    arrays = [np.asarray(a) for a in arrays]
    return ([mg.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays],
            [torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays])


def _assert_like_torch(torch, fn, *arrays):
    """fn(lib, *tensors) gives torch's output (shape, dtype and values) and, for float inputs, its gradients."""
    ours_in, theirs_in = _both(torch, arrays)
    ours, theirs = fn(mg, *ours_in), fn(torch, *theirs_in)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == theirs.detach().numpy().dtype
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    if theirs.requires_grad:
        weights = np.random.default_rng(0).standard_normal(ours.shape)
        (ours * mg.tensor(weights)).sum().backward()
        (theirs * torch.tensor(weights)).sum().backward()
        for mine, reference in zip(ours_in, theirs_in):
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-12)


def _raises_like_torch(torch, fn, *arrays, match):
    """fn(lib, *tensors) raises the exception type torch raises, and both messages contain `match` (a regex; None:
    the messages differ)."""
    with pytest.raises(Exception, match=match) as theirs:
        fn(torch, *_both(torch, arrays, requires_grad=False)[1])
    with pytest.raises(type(theirs.value), match=match) as ours:
        fn(mg, *_both(torch, arrays, requires_grad=False)[0])
    assert type(ours.value) is type(theirs.value)


X = np.random.default_rng(1).standard_normal((2, 3, 4))
SCALAR = np.float64(0.75)


@pytest.mark.parametrize("fn", [
    lambda lib, a, b: a == b, lambda lib, a, b: a != b, lambda lib, a, b: a == 2.0, lambda lib, a, b: 2.0 != a,
    lambda lib, a, b: a < b, lambda lib, a, b: (a == b) == (b == a),
], ids=["eq", "ne", "eq_scalar", "ne_reflected", "lt", "eq_of_bools"])
def test_comparisons_are_elementwise_bool_tensors_like_torch(torch, fn):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])
    _assert_like_torch(torch, fn, a, b)
    assert not fn(mg, *_both(torch, [a, b])[0]).requires_grad


def test_equality_with_arrays_none_and_objects_like_torch(torch):
    for lib in (mg, torch):
        a = lib.tensor([1.0, 2.0])
        assert (a == np.array([1.0, 3.0])).tolist() == [True, False]
        assert (np.array([1.0, 3.0]) == a).tolist() == [True, False]   # NumPy defers to the tensor
        assert (a == None) is False and (a != None) is True             # noqa: E711 (the operator is under test)
        assert (a == "a") is False
        with pytest.raises(TypeError):
            a < None                                                    # noqa: B015
        assert {a: 1}[a] == 1 and a in {a}, "hashing stays by identity"


def test_membership_by_identity_is_ambiguous_for_tensors_as_in_torch(torch):
    # `t in list` and list.index(t) compare with ==: an element-wise comparison, ambiguous as a bool
    for lib in (mg, torch):
        a, b = lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])
        with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
            a in [b, a]                                                 # noqa: B015


@pytest.mark.parametrize("value", [0.0, 2.5, -3.7, [0.0], [[1.25]], 2, [-2], True, [False]])
def test_python_conversions_of_one_element_like_torch(torch, value):
    ours, theirs = mg.tensor(value), torch.tensor(value)
    assert bool(ours) is bool(theirs)
    assert float(ours) == float(theirs)
    assert int(ours) == int(theirs)
    if theirs.dtype in (torch.int64, torch.bool):
        assert [10, 20, 30][ours] == [10, 20, 30][theirs] and list(range(ours)) == list(range(theirs))
    else:
        _raises_like_torch(torch, lambda lib, t: [10, 20][t], value,
                           match="^only integer tensors of a single element can be converted to an index$")


def test_comparison_of_0d_tensors_works_as_a_condition(torch):
    for lib in (mg, torch):
        best, loss = lib.tensor(1.0), lib.tensor(0.5)
        assert loss < best and not (loss > best) and loss == loss


@pytest.mark.parametrize("value, message", [
    ([1.0, 2.0], "^Boolean value of Tensor with more than one value is ambiguous$"),
    (np.zeros(0), "^Boolean value of Tensor with no values is ambiguous$"),
])
def test_bool_of_many_or_no_elements_is_ambiguous_like_torch(torch, value, message):
    _raises_like_torch(torch, lambda lib, t: bool(t), value, match=message)


@pytest.mark.parametrize("convert", [float, int])
def test_number_of_many_elements_is_an_error_like_torch(torch, convert):
    _raises_like_torch(torch, lambda lib, t: convert(t), [1.0, 2.0],
                       match="^only one element tensors can be converted to Python scalars")


def test_len_of_0d_is_an_error_like_torch(torch):
    _raises_like_torch(torch, lambda lib, t: len(t), 2.0, match=r"^len\(\) of a 0-d tensor$")
    assert len(mg.tensor([[1.0], [2.0]])) == len(torch.tensor([[1.0], [2.0]])) == 2


@pytest.mark.parametrize("spec", ["", ".2f", ".3e", "8.1f", ">12"])
def test_format_of_0d_formats_its_value_like_torch(torch, spec):
    assert format(mg.tensor(2.345), spec) == format(torch.tensor(2.345), spec)
    assert f"{mg.tensor(7)}" == f"{torch.tensor(7)}"


def test_format_spec_needs_a_0d_tensor_like_torch(torch):
    for value in ([2.345], [1.0, 2.0]):
        _raises_like_torch(torch, lambda lib, t: format(t, ".2f"), value, match="^unsupported format string")
    t = mg.tensor([1.0, 2.0])
    assert f"{t}" == str(t)


def test_abs_and_unary_plus_like_torch(torch):
    _assert_like_torch(torch, lambda lib, t: abs(t) * 2, np.array([-1.5, 0.5, 2.0]))
    _assert_like_torch(torch, lambda lib, t: +t * 3, np.array([-1.5, 0.5, 2.0]))
    t = mg.tensor([1.0])
    assert +t is t


@pytest.mark.parametrize("fn", [
    lambda lib, t: t.sum(2), lambda lib, t: t.sum(-1), lambda lib, t: t.sum((0, -1)), lambda lib, t: t.sum(()),
    lambda lib, t: t.mean(-2, keepdim=True), lambda lib, t: t.mean((2, 0)), lambda lib, t: t.max(-1).values,
    lambda lib, t: t.max(1, keepdim=True).values, lambda lib, t: t.max(-3).indices,
    lambda lib, t: t.max(0, keepdim=True).indices, lambda lib, t: t.softmax(-2), lambda lib, t: t.softmax(2),
    lambda lib, t: t.permute(-1, 0, 1), lambda lib, t: t.permute((2, -2, 0)), lambda lib, t: t.transpose(-1, 0),
    lambda lib, t: t.unsqueeze(-1), lambda lib, t: t.unsqueeze(3), lambda lib, t: t.unsqueeze(-4),
    lambda lib, t: t.flatten(), lambda lib, t: t.flatten(-2, -1), lambda lib, t: t.flatten(1),
    lambda lib, t: t.flatten(1, 1), lambda lib, t: t.unsqueeze(1).squeeze(-3), lambda lib, t: t.squeeze(0),
    lambda lib, t: lib.cat([t, t * 2], -2), lambda lib, t: lib.stack([t, t * 2], -1),
    lambda lib, t: lib.stack([t, t], 3),
])
def test_dims_in_range_like_torch(torch, fn):
    _assert_like_torch(torch, fn, X)


@pytest.mark.parametrize("fn, bad", [
    (lambda lib, t: t.sum(3), 3), (lambda lib, t: t.sum(-4), -4), (lambda lib, t: t.mean((0, 3)), 3),
    (lambda lib, t: t.max(3), 3), (lambda lib, t: t.softmax(-4), -4), (lambda lib, t: t.permute(0, 1, 3), 3),
    (lambda lib, t: t.transpose(0, 3), 3), (lambda lib, t: t.squeeze(3), 3), (lambda lib, t: t.flatten(0, 3), 3),
    (lambda lib, t: t.flatten(-4), -4), (lambda lib, t: lib.cat([t, t], 3), 3),
])
def test_dim_out_of_range_is_torch_index_error(torch, fn, bad):
    _raises_like_torch(torch, fn, X, match=re.escape(f"(expected to be in range of [-3, 2], but got {bad})"))


@pytest.mark.parametrize("fn, bad", [(lambda lib, t: t.unsqueeze(4), 4), (lambda lib, t: t.unsqueeze(-5), -5),
                                     (lambda lib, t: lib.stack([t, t], 4), 4)])
def test_new_dim_out_of_range_is_torch_index_error(torch, fn, bad):
    _raises_like_torch(torch, fn, X, match=re.escape(f"Dimension out of range (expected to be in range of [-4, 3], "
                                                     f"but got {bad})"))


def test_repeated_or_missing_dims_are_errors_like_torch(torch):
    for fn in (lambda lib, t: t.sum((0, 0)), lambda lib, t: t.mean((1, -2)), lambda lib, t: t.squeeze((2, -1))):
        _raises_like_torch(torch, fn, X, match=r"^dim \d appears multiple times in the list of dims$")
    _raises_like_torch(torch, lambda lib, t: t.permute(0, -2, 1), X,
                       match=r"^permute\(\): duplicate dims are not allowed")
    for fn, given in ((lambda lib, t: t.permute(0, 1), 2), (lambda lib, t: t.permute(2, 1, 0, 3), 4)):
        _raises_like_torch(torch, fn, X, match=re.escape(f"i.e. input.dim() = 3 is not equal to len(dims) = {given}"))
    _raises_like_torch(torch, lambda lib, t: t.flatten(2, 1), X,
                       match="^flatten\\(\\) has invalid args: start_dim cannot come after end_dim$")


@pytest.mark.parametrize("fn", [
    lambda lib, t: t.sum(0), lambda lib, t: t.sum(-1), lambda lib, t: t.mean(0, keepdim=True),
    lambda lib, t: t.sum(()), lambda lib, t: t.max(0).values, lambda lib, t: t.max(-1, keepdim=True).values,
    lambda lib, t: t.max(0).indices, lambda lib, t: t.softmax(0), lambda lib, t: t.flatten(),
    lambda lib, t: t.unsqueeze(-1), lambda lib, t: t.unsqueeze(0), lambda lib, t: t.squeeze(0),
    lambda lib, t: t.max(-1, keepdim=True).indices, lambda lib, t: t.transpose(0, -1),
    lambda lib, t: t.squeeze(), lambda lib, t: t.expand(2, 3),
])
def test_0d_tensor_has_dims_minus_one_and_zero_like_torch(torch, fn):
    _assert_like_torch(torch, fn, SCALAR)


@pytest.mark.parametrize("fn, match", [
    (lambda lib, t: t.sum(1), re.escape("(expected to be in range of [-1, 0], but got 1)")),
    (lambda lib, t: t.unsqueeze(2), re.escape("(expected to be in range of [-1, 0], but got 2)")),
    (lambda lib, t: t.permute(0), re.escape("input.dim() = 0 is not equal to len(dims) = 1")),
])
def test_0d_dims_out_of_range_like_torch(torch, fn, match):
    _raises_like_torch(torch, fn, SCALAR, match=match)


def test_non_integer_dim_is_a_type_error(torch):
    _raises_like_torch(torch, lambda lib, t: t.softmax(0.5), X, match=None)


def test_softmax_takes_one_int_dim_like_torch(torch):
    for fn in (lambda lib, t: t.softmax((0, 1)), lambda lib, t: t.softmax(dim=(-1,)),
               lambda lib, t: t.softmax([2])):
        # torch 2.11 words it "softmax() received an invalid combination of arguments - got (tuple, ), ..."
        # or, for a keyword, "got (dim=tuple, ), ..."
        _raises_like_torch(torch, fn, X, match=r"^softmax\(\)(: argument 'dim' .*must be int, not (tuple|list)$"
                                               r"| received an invalid combination of arguments - got \((dim=)?(tuple|list))")


@pytest.mark.parametrize("shape, sizes", [
    ((3, 1), (3, 4)), ((3, 1), (2, -1, 5)), ((3,), (2, 3)), ((1,), (0,)), ((1, 3), (4, 1, -1, 3)), ((2, 3), (2, 3)),
])
def test_expand_like_torch(torch, shape, sizes):
    _assert_like_torch(torch, lambda lib, t: t.expand(*sizes) * 1.5, np.random.default_rng(2).standard_normal(shape))
    _assert_like_torch(torch, lambda lib, t: t.expand(sizes), np.random.default_rng(2).standard_normal(shape))


@pytest.mark.parametrize("shape, sizes, match", [
    ((3, 1), (3,), re.escape("the number of sizes provided (1) must be greater or equal to the number of dimensions "
                             "in the tensor (2)")),
    ((1, 3), (2, 1), re.escape("The expanded size of the tensor (1) must match the existing size (3) at "
                               "non-singleton dimension 1.  Target sizes: [2, 1].  Tensor sizes: [1, 3]")),
    ((3,), (-1, 3), re.escape("The expanded size of the tensor (-1) isn't allowed in a leading, non-existing "
                              "dimension 0")),
    ((3,), (4,), re.escape("The expanded size of the tensor (4) must match the existing size (3)")),
    # torch checks from the last dim, so it names the last mismatch, before a leading -1 or a negative size
    ((2, 3), (3, 4), re.escape("The expanded size of the tensor (4) must match the existing size (3) at "
                               "non-singleton dimension 1.  Target sizes: [3, 4].  Tensor sizes: [2, 3]")),
    ((2, 3), (-1, 3, 4), re.escape("The expanded size of the tensor (4) must match the existing size (3) at "
                                   "non-singleton dimension 2.")),
    ((3, 1), (-3, 2, 4), re.escape("The expanded size of the tensor (2) must match the existing size (3) at "
                                   "non-singleton dimension 1.")),
    ((2, 1), (4, -2), re.escape("The expanded size of the tensor (4) must match the existing size (2) at "
                                "non-singleton dimension 0.")),
])
def test_expand_refuses_what_torch_refuses(torch, shape, sizes, match):
    _raises_like_torch(torch, lambda lib, t: t.expand(*sizes), np.ones(shape), match=match)


@pytest.mark.parametrize("shape, sizes", [((1,), (-2,)), ((2, 1), (2, -2)), ((2, 3), (-3, 2, 3))])
def test_expand_refuses_negative_sizes_like_torch(torch, shape, sizes):
    """torch lets a negative size other than -1 through its checks to an overflow of its element count; minigrad
    says what is wrong, with the same exception type."""
    _raises_like_torch(torch, lambda lib, t: t.expand(*sizes), np.ones(shape), match=None)
    with pytest.raises(RuntimeError, match="expand: sizes must be non-negative, or -1 to keep a dim"):
        mg.tensor(np.ones(shape)).expand(*sizes)


@pytest.mark.parametrize("fn", [lambda lib, t: t.squeeze(), lambda lib, t: t.squeeze((0, 2)),
                                lambda lib, t: t.squeeze(1), lambda lib, t: t.squeeze(-2)])
def test_squeeze_like_torch(torch, fn):
    _assert_like_torch(torch, fn, np.random.default_rng(3).standard_normal((1, 2, 1, 3)))


@pytest.mark.parametrize("shapes", [
    [(3,), (3,)], [(3,), (3, 4)], [(2, 3), (3,)], [(5, 2, 3), (3,)], [(3,), (5, 3, 4)], [(2, 1, 2, 3), (5, 3, 4)],
    [(5, 2, 3), (3, 4)], [(2, 3), (3, 4)],
], ids=str)
def test_matmul_of_1d_and_batched_operands_like_torch(torch, shapes):
    rng = np.random.default_rng(4)
    _assert_like_torch(torch, lambda lib, a, b: a @ b, *(rng.standard_normal(shape) for shape in shapes))


def test_matmul_with_an_array_operand_like_torch(torch):
    rng = np.random.default_rng(5)
    array, matrix = rng.standard_normal(3), rng.standard_normal((3, 2))
    _assert_like_torch(torch, lambda lib, m: lib.tensor(array) @ m, matrix)
    ours = mg.tensor(matrix, requires_grad=True)
    for product in (array @ ours, ours.T @ array):
        assert isinstance(product, mg.Tensor) and product.shape == (2,) and product.requires_grad


def test_matmul_shape_errors(torch):
    _raises_like_torch(torch, lambda lib, a, b: a @ b, 2.0, np.ones(3),
                       match=re.escape("both arguments to matmul need to be at least 1D, but they are 0D and 1D"))
    for shapes in ([(2,), (3,)], [(2, 2), (3,)], [(3,), (2, 3)]):
        _raises_like_torch(torch, lambda lib, a, b: a @ b, np.ones(shapes[0]), np.ones(shapes[1]),
                           match=re.escape(str(error_of(lambda: torch.ones(shapes[0]) @ torch.ones(shapes[1]))[1])))


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")  # torch's advice for torch.tensor(tensor)
@pytest.mark.parametrize("make", [
    lambda lib, a: lib.tensor(a), lambda lib, a: lib.tensor(a[::2]), lambda lib, a: lib.tensor(lib.tensor(a)),
    lambda lib, a: lib.tensor(a, dtype=lib.float64), lambda lib, a: lib.tensor(a, requires_grad=True),
], ids=["array", "view", "tensor", "cast", "leaf"])
def test_tensor_factory_copies_like_torch(torch, make):
    for lib in (mg, torch):
        source = np.arange(6, dtype=np.float32)
        made = make(lib, source)
        source[:] = -1
        assert (made.detach().numpy() >= 0).all(), f"{lib.__name__}.tensor shares memory with its argument"


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
def test_tensor_factory_copies_a_tensor_and_detaches_it(torch):
    for lib in (mg, torch):
        original = lib.tensor([1.0, 2.0], requires_grad=True)
        copied = lib.tensor(original.detach())
        copied.detach().numpy()[0] = 5.0
        assert original.detach().numpy()[0] == 1.0 and not copied.requires_grad


def test_constructor_and_parameter_share_like_from_numpy_and_torch_parameter(torch):
    array = np.zeros(3, dtype=np.float32)
    assert np.shares_memory(mg.Tensor(array).data, array) and np.shares_memory(torch.from_numpy(array).numpy(), array)
    ours, theirs = mg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    ours_param, theirs_param = mg.nn.Parameter(ours), torch.nn.Parameter(theirs)
    ours.data[0] = theirs.data[0] = 9.0
    assert ours_param.data[0] == theirs_param.data[0] == 9.0, "a Parameter wraps its tensor's data, as in torch"


@pytest.mark.parametrize("call", [
    lambda lib: lib.tensor([1, 2]).requires_grad_(),
    lambda lib: lib.tensor([1, 2], requires_grad=True),
    lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True),
    lambda lib: lib.ones(2).sum().backward(),
    lambda lib: lib.zeros(2, -3),
    lambda lib: lib.ones(-1),
], ids=["requires_grad_", "tensor", "zeros", "backward", "zeros negative", "ones negative"])
def test_autograd_and_creation_errors_are_torchs_word_for_word(call, torch):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_requires_grad_needs_a_float_tensor_like_torch(torch):
    _raises_like_torch(torch, lambda lib, t: t.requires_grad_(), np.array([1, 2]),
                       match="only Tensors of floating point dtype can require gradients")
    _raises_like_torch(torch, lambda lib, t: lib.tensor(t.numpy(), requires_grad=True), np.array([1, 2]),
                       match="nly Tensors of floating point")
    for lib in (mg, torch):
        assert not lib.tensor([1, 2]).requires_grad_(False).requires_grad
        assert lib.tensor([1.0]).requires_grad_().requires_grad


@pytest.mark.parametrize("call", [
    lambda: mg.tensor(np.array([1 + 1j]), requires_grad=True),
    lambda: mg.tensor(np.array([1 + 1j], np.complex64)).requires_grad_(),
    lambda: mg.asarray(mg.tensor(np.array([1 + 1j])), requires_grad=True),
], ids=["tensor", "requires_grad_", "asarray"])
def test_a_complex_tensor_asked_for_gradients_is_told_minigrad_has_no_complex_autograd(call):
    """torch differentiates complex tensors, so its own words (which allow them) would puzzle here."""
    with pytest.raises(RuntimeError, match=r"^Complex(Double|Float) tensors cannot require gradients: minigrad "
                                           r"computes with complex numbers, but has no complex autograd$"):
        call()


def test_clamp_needs_a_bound_like_torch(torch):
    _raises_like_torch(torch, lambda lib, t: t.clamp(), [1.0], match="At least one of 'min' or 'max' must not be None")
    _assert_like_torch(torch, lambda lib, t: t.clamp(max=0.5), np.array([-1.0, 0.25, 2.0]))


@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")  # torch's __array__
def test_numpy_asarray_of_a_cpu_tensor_like_torch(torch):
    for lib in (mg, torch):
        t = lib.tensor([1.5, -2.0])
        array = np.asarray(t)
        assert array.dtype == np.float32 and array.tolist() == [1.5, -2.0]
        assert np.shares_memory(array, t.numpy()), "np.asarray gives the tensor's own array, as torch's does"
        assert np.asarray(t, dtype=np.float64).dtype == np.float64
        assert not np.shares_memory(np.array(t), t.numpy())


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0", reason="np.asarray(copy=) is NumPy 2's")
def test_numpy_copy_keyword_on_a_tensor_as_on_an_array():
    # NumPy's own arrays are the reference for what copy=True/False/None ask of __array__
    for source in (np.array([1.5, -2.0], dtype=np.float32), mg.tensor([1.5, -2.0])):
        own = source if isinstance(source, np.ndarray) else source.numpy()
        assert np.shares_memory(np.asarray(source, copy=False), own)
        assert np.shares_memory(np.asarray(source, copy=None), own)
        assert not np.shares_memory(np.asarray(source, copy=True), own)
        assert np.asarray(source, dtype=np.float64).dtype == np.float64
        with pytest.raises(ValueError):
            np.asarray(source, dtype=np.float64, copy=False)


@pytest.mark.parametrize("fn, operand", [
    (lambda t, x: x * t, np.float32(2)), (lambda t, x: t * x, np.float64(2)), (lambda t, x: x - t, np.float64(1)),
    (lambda t, x: x + t, np.ones(2)), (lambda t, x: t - x, np.ones(2, dtype=np.float32)),
    (lambda t, x: x / t, np.full(2, 3.0, dtype=np.float32)), (lambda t, x: x @ t, np.ones((3, 2), dtype=np.float32)),
], ids=["scalar_mul", "mul_scalar", "scalar_rsub", "array_radd", "sub_array", "array_rdiv", "array_rmatmul"])
def test_numpy_operands_on_either_side_give_differentiable_tensors(torch, fn, operand):
    # torch itself refuses an ndarray on the left of some operators: its reference is the tensor of the array
    value = np.array([0.5, -1.5], dtype=np.float32)
    ours, theirs = mg.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
    result = fn(ours, operand)
    expected = fn(theirs, torch.tensor(operand) if isinstance(operand, np.ndarray) else operand)
    assert isinstance(result, mg.Tensor) and result.requires_grad
    assert result.dtype == expected.detach().numpy().dtype
    np.testing.assert_allclose(result.numpy(), expected.detach().numpy(), rtol=1e-6)
    result.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_numpy_ufuncs_refuse_tensors_rather_than_detach_them():
    with pytest.raises(TypeError):
        np.exp(mg.tensor([1.0], requires_grad=True))


def test_numpy_asarray_of_a_gpu_tensor_names_the_fix(gpu_path):
    t = mg.tensor([1.0, 2.0], device="gpu")
    with pytest.raises(TypeError, match=r"\.numpy\(\) or \.cpu\(\)"):
        np.asarray(t)
    assert np.asarray(t.cpu()).tolist() == [1.0, 2.0]


def test_tensor_factory_copies_a_gpu_tensor_on_the_gpu(gpu_path):
    original = mg.tensor([1.0, 2.0], device="gpu")
    copied = mg.tensor(original)
    assert copied.device == "gpu" and copied.data is not original.data
    original.data[0] = 5.0
    assert copied.numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("array", [np.array([1.0, -2.0], np.float32), np.array(2.0, np.float32), np.arange(6).reshape(2, 3),
                                   np.array([1.0, 2.0]), np.array([True, False]), np.zeros((0, 2), np.float32)])
def test_repr_and_iteration_are_torchs(torch, array):
    """torch's layout, dtype and flags (its own number formatting aside, hence whole numbers here)."""
    ours, theirs = mg.tensor(array), torch.tensor(array)
    assert repr(ours) == repr(theirs).replace("torch.", "")
    assert repr(mg.tensor(array, requires_grad=True) if array.dtype.kind == "f" else ours) == \
        repr(theirs.requires_grad_() if array.dtype.kind == "f" else theirs).replace("torch.", "")
    if array.ndim == 0:
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            iter(ours)
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            iter(theirs)
    else:
        assert [row.tolist() for row in ours] == [row.tolist() for row in theirs]


def test_an_op_may_keep_its_inputs_dtypes():
    """An op taking an integer index beside floats opts out of promotion, which would make the index float."""
    class Pick(Function):
        __module__ = "minigrad.ops.pick"  # one of minigrad's own ops (a custom Function never promotes)
        promotes_inputs = False

        @staticmethod
        def forward(ctx, values, index):
            ctx.save_for_backward(index, values.shape)
            return values[index]

        @staticmethod
        def backward(ctx, grad):
            index, shape = ctx.saved
            full = np.zeros(shape, grad.dtype)
            np.add.at(full, index, grad)
            return full, None

    values = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    picked = Pick.apply(values, mg.tensor([2, 0, 2]))
    assert picked.tolist() == [3.0, 1.0, 3.0]
    picked.sum().backward()
    assert values.grad.tolist() == [1.0, 0.0, 2.0]


# ---- in-place operators: `t += x` changes t itself, as in torch ---------------------------------

def _residual_chain(lib, x, w):
    """In-place operators on a non-leaf, as PyTorch code often writes a residual block."""
    y = x * 2
    y += w
    y *= x
    y -= 1.5
    y /= w.abs() + 1
    y **= 2
    return y


def _accumulator(lib, x):
    """A leaf that needs no gradient, added to: it becomes a non-leaf and the gradient reaches x."""
    total = lib.zeros(3, dtype=x.dtype)
    total += x
    total += x * x
    total %= 4.0
    return total


@pytest.mark.parametrize("chain, shapes", [(_residual_chain, [(2, 3), (3,)]), (_accumulator, [(3,)])])
def test_in_place_operators_give_torchs_values_and_gradients(torch, chain, shapes):
    rng = np.random.default_rng(5)
    _assert_like_torch(torch, chain, *(rng.standard_normal(shape) for shape in shapes))


def test_a_parameter_updated_in_place_under_no_grad_changes_like_torch(torch):
    """The update of every hand-written training loop, which used to rebind `p` and leave the weights as
    they were."""
    (ours,), (theirs,) = _both(torch, [np.random.default_rng(6).standard_normal(4)])
    for lib, weight in ((mg, ours), (torch, theirs)):
        for _ in range(2):
            (weight * weight).sum().backward()
            with lib.no_grad():
                for param in [weight]:
                    param -= 0.1 * param.grad
            weight.grad = None
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert ours.requires_grad and ours.is_leaf


def test_every_name_bound_to_a_tensor_sees_its_in_place_change():
    tensor = mg.tensor([1.0, 2.0])
    alias = tensor
    tensor += 1
    assert alias.tolist() == [2.0, 3.0]


def test_in_place_results_keep_the_tensors_dtype_like_torch(torch):
    def chain(lib, small, wide):
        small **= 2
        small //= 3
        small %= 5
        small += 2
        narrow = wide.float()
        narrow += wide
        return small, narrow

    arrays = [np.arange(-3, 4, dtype=np.int32), np.random.default_rng(7).standard_normal(7)]
    ours, theirs = (chain(lib, *tensors) for lib, tensors in zip((mg, torch), _both(torch, arrays, requires_grad=False)))
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.numpy().dtype
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())


@pytest.mark.parametrize("fn, array, match", [
    (lambda lib, t: operator.iadd(t, 1.5), np.arange(3), "result type Float can't be cast to the desired output type Long"),
    (lambda lib, t: operator.iadd(t, 1), np.ones(3, bool), "result type Long can't be cast to the desired output type Bool"),
    (lambda lib, t: operator.itruediv(t, 2), np.arange(3, dtype=np.int32),
     "result type Float can't be cast to the desired output type Int"),
    (lambda lib, t: operator.iadd(t, t.reshape(3, 1) * 2), np.ones(3),
     re.escape("output with shape [3] doesn't match the broadcast shape [3, 3]")),
])
def test_in_place_operators_refuse_what_torch_refuses(torch, fn, array, match):
    _raises_like_torch(torch, fn, array, match=match)


def test_an_in_place_op_on_a_leaf_that_requires_grad_is_refused_like_torch(torch):
    for lib, leaf in zip((mg, torch), (tensors[0] for tensors in _both(torch, [np.ones(2)]))):
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an in-place"):
            leaf += 1


def test_a_retained_grad_is_the_tensors_after_its_in_place_change_like_torch(torch):
    retained = []
    for x in _both(torch, [np.array([1.0, 2.0])])[0][0], _both(torch, [np.array([1.0, 2.0])])[1][0]:
        y = x * 3
        y.retain_grad()
        y += 1
        (y * y).sum().backward()
        retained.append(np.asarray(y.grad.tolist()))
    np.testing.assert_allclose(retained[0], retained[1], rtol=1e-12)


def test_an_in_place_op_leaves_the_arrays_earlier_ops_saved():
    """minigrad writes the result to a new array, so a product computed before `y += 1` still has the
    gradient of the values it multiplied (torch refuses that backward instead)."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    square = y * y
    y += 1
    square.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * x.numpy())  # d(9 x^2)/dx, not 6 (3x + 1)


def test_an_unrecorded_in_place_change_reaches_views_detached_copies_and_state_dicts_like_torch(torch):
    """Written into the tensor's own array, as torch writes into its storage; a new array left them stale."""
    results = []
    for lib in (mg, torch):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0])
        grid, tail, detached = x.reshape(2, 2), x[1:], x.detach()
        x += 1
        tail *= 10
        layer = (mg if lib is mg else torch).nn.Conv2d(1, 1, 1)
        weights = layer.state_dict()["weight"]
        with lib.no_grad():
            layer.weight -= 1.0
        results.append([np.asarray(grid.tolist()), np.asarray(detached.tolist()), np.asarray(x.tolist()),
                        np.asarray(weights.tolist()) - np.asarray(layer.weight.tolist())])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)


def test_a_leaf_given_a_gradient_in_place_leaves_the_graphs_it_fed_before_like_torch(torch):
    grads = []
    for lib in (mg, torch):
        x, w = lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0], requires_grad=True)
        earlier = (x + w).sum()
        x += w          # x needed no gradient when `earlier` was made: it gets none from it
        earlier.backward()
        (x * 2).sum().backward()
        grads.append(np.asarray(w.grad.tolist()))
    np.testing.assert_allclose(grads[0], grads[1])


def test_gradients_are_added_into_the_same_grad_tensor_like_torch(torch):
    held = []
    for lib in (mg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (x * 2).sum().backward()
        grad = x.grad
        (x * 3).sum().backward()
        held.append(np.asarray(grad.tolist()))
    np.testing.assert_allclose(held[0], [5.0, 5.0])
    np.testing.assert_allclose(held[0], held[1])


def _assign(lib, x, v):
    """Item assignment in each of its forms, on a non-leaf (as torch allows while recording)."""
    y = x * 2
    y[1] = v                    # a row, from a tensor
    y[2] = v.reshape(1, 3) / 2  # a value with more (leading, size-1) dims than the part it fills
    y[0, :2] += v[:2]           # read, add and write back
    y[y > 5] = 0.5              # a mask, from a number
    y[[0, 2], -1] = v[-1] * 3   # a list of rows
    return y


def test_item_assignment_gives_torchs_values_and_gradients(torch):
    rng = np.random.default_rng(9)
    _assert_like_torch(torch, _assign, rng.standard_normal((3, 3)) * 3, rng.standard_normal(3) * 3)


def test_item_assignment_passes_gradcheck():
    rng = np.random.default_rng(10)
    x = mg.tensor(rng.standard_normal((3, 3)) * 3, requires_grad=True)
    v = mg.tensor(rng.standard_normal(3) * 3, requires_grad=True)
    assert mg.gradcheck(lambda x, v: _assign(mg, x, v), [x, v])


def test_item_assignment_without_autograd_writes_in_place_and_casts_like_torch(torch):
    results = []
    for lib in (mg, torch):
        x = lib.zeros(3, 4)
        row = x[2]
        x[0] = 1
        x[:, 1] += 2
        x[x > 2] = 7
        counts = lib.tensor([0, 0, 0])
        counts[1] = 2.9          # cast to the tensor's integer dtype, as torch does
        results.append([np.asarray(x.tolist()), np.asarray(row.tolist()), np.asarray(counts.tolist())])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_item_assignment_to_a_leaf_that_requires_grad_is_refused_like_torch(torch):
    for lib, leaf in zip((mg, torch), (tensors[0] for tensors in _both(torch, [np.ones(2)]))):
        with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used in an in-"):
            leaf[0] = 1.0


# ---- torch's spellings of autograd idioms ----------------------------------------------------------

def test_no_grad_decorates_with_or_without_parentheses_like_torch(torch):
    for lib in (mg, torch):
        @lib.no_grad
        def bare(x):
            return x * 2

        @lib.no_grad()
        def called(x):
            return x * 2

        x = lib.ones(2, requires_grad=True)
        assert not bare(x).requires_grad and not called(x).requires_grad
        assert (x * 2).requires_grad

    @mg.no_grad
    def countdown(n):  # each call restores what it found, so the outermost turns recording back on
        return countdown(n - 1) if n else mg.is_grad_enabled()

    assert countdown(3) is False and mg.is_grad_enabled()


class _Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors  # torch's name
        return grad * 3 * x ** 2


def test_a_function_reads_what_it_saved_as_saved_tensors_and_passes_gradcheck_given_one_tensor():
    x = mg.tensor([0.5, -1.5, 2.0], dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(_Cube.apply, x)  # one tensor, not a list, as torch's gradcheck takes it


def test_gradcheck_can_answer_false_and_leaves_grad_as_it_was():
    class Wrong(_Cube):
        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x ** 2

    x = mg.tensor([0.5, -1.5, 2.0], dtype=np.float64, requires_grad=True)
    (x * 4).sum().backward()
    held = x.grad
    assert mg.gradcheck(Wrong.apply, [x], raise_exception=False) is False
    assert mg.gradcheck(_Cube.apply, [x]) is True
    assert x.grad is held and x.grad.tolist() == [4.0, 4.0, 4.0]


@pytest.mark.parametrize("array", [np.arange(3), np.ones(3, bool), np.arange(3, dtype=np.int32)])
def test_the_mean_of_integers_is_refused_like_torch(torch, array):
    _raises_like_torch(torch, lambda lib, t: t.mean(), array, match=r"^mean\(\): could not infer output dtype\. Input "
                                                                    r"dtype must be either a floating point or complex")


def test_clone_is_a_copy_the_gradient_passes_through_like_torch(torch):
    _assert_like_torch(torch, lambda lib, x: x.clone() * 3, np.random.default_rng(11).standard_normal((2, 3)))
    copies = []
    for lib in (mg, torch):
        x = lib.tensor([1.0, 2.0])
        copy = x.clone()
        x += 1
        copies.append(copy.tolist())
    assert copies[0] == copies[1] == [1.0, 2.0]


def test_a_tensor_assigned_to_data_gives_its_array_like_torch(torch):
    """`p.data = tensor` left minigrad's parameter holding a tensor instead of an array, broken from then on."""
    results = []
    for lib in (mg, torch):
        layer = lib.nn.Conv2d(1, 1, 1)
        layer.weight.data = lib.tensor([[[[2.0]]]])
        results.append(layer(lib.ones(1, 1, 2, 2)).tolist() == (layer.bias + 2).expand(1, 1, 2, 2).tolist())
    assert results == [True, True]


def _writes(device):
    """In-place ops, item assignment and gradient accumulation, as values on the host."""
    x = mg.tensor(np.arange(6.0).reshape(2, 3), device=device)
    view = x.reshape(6)
    x += 1
    x[0] = 7.0
    x[x > 5] = 0.5
    x[:, 1] += mg.tensor([10.0, 20.0], device=device)
    w = mg.tensor(np.ones(3), device=device, requires_grad=True)
    y = w * 2
    y[1] = w[0] * 5
    y.sum().backward()
    held = w.grad
    (w * 3).sum().backward()
    return [t.cpu().numpy() for t in (x, view, held)]


def test_writes_take_the_gpu_path_as_they_take_the_cpus(gpu_path):
    on_gpu = _writes("gpu")
    for mine, cpu in zip(on_gpu, _writes("cpu"), strict=True):
        np.testing.assert_array_equal(mine, cpu)
    np.testing.assert_array_equal(on_gpu[1], on_gpu[0].reshape(6))  # the view saw every write


@pytest.mark.parametrize("write", [
    lambda lib, y, x: y.detach().__imul__(255),          # scaling an output for display, sharing its array
    lambda lib, y, x: x.__setitem__(0, 100.0),           # an input the product saved
    lambda lib, y, x: x.__iadd__(10),
    lambda lib, y, x: y.reshape(3, 1).__imul__(2),       # through a view of it
], ids=["detached-output", "item", "input", "view"])
def test_a_write_into_what_backward_needs_is_refused_like_torch(torch, write):
    """Unrecorded in-place writes go into the tensor's array; one that an op saved for backward would give a
    wrong gradient in silence, so backward refuses, as torch's version counter makes it."""
    for lib in (mg, torch):
        x, w = lib.tensor([1.0, 2.0, 3.0]), lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = (x * w).sigmoid()
        with lib.no_grad():
            write(lib, y, x)
        with pytest.raises(RuntimeError, match="^one of the variables needed for gradient computation has been "
                                               "modified by an inplace operation"):
            y.sum().backward()


def test_a_write_through_a_view_is_refused_on_the_gpu_path_too(gpu_path):
    """Device memory is told by its owner array too: a view's base must be one object (CuPy's is)."""
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], device="gpu")
    w = mg.tensor([[0.5, -1.0], [2.0, 1.0]], requires_grad=True, device="gpu")
    y = (x * w).sigmoid()
    with mg.no_grad():
        y.detach()[1:] *= 2
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_writes_after_backward_or_into_unsaved_arrays_are_fine():
    x, w = mg.tensor([1.0, 2.0, 3.0]), mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    total = (x + w).sum()          # Add saves nothing
    x += 1
    total.backward()
    y = (x * w).sum()
    y.backward()
    x[0] = 5.0                     # after the backward that needed it
    assert w.grad.tolist() == [1.0 + 2.0, 1.0 + 3.0, 1.0 + 4.0]


def test_contiguous_copies_a_permuted_view_and_zero_grad_can_keep_the_grads_like_torch(torch):
    results = []
    for lib in (mg, torch):
        a = lib.tensor(np.arange(6.0).reshape(2, 3))
        made_contiguous = a.permute(1, 0).contiguous()
        made_contiguous += 1          # a tensor of its own: a keeps its values
        layer = lib.nn.Linear(2, 2)
        layer(lib.ones(1, 2)).sum().backward()
        grad = layer.weight.grad
        layer.zero_grad(set_to_none=False)
        results.append((a.tolist(), layer.weight.grad is grad, grad.tolist()))
    assert results[0] == results[1] == ([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], True, [[0.0, 0.0], [0.0, 0.0]])


# ---- what porting torch programs needs: creation, where, argmax/min, var/std, casts by name, t() ------------

def _dtype(lib, name):
    """A dtype by name: torch's, or minigrad's (NumPy's)."""
    return getattr(lib, name) if lib is not mg else np.dtype(name)


def _assert_same_tensor(ours, theirs):
    """Shape, dtype, values and requires_grad of a minigrad tensor are torch's: the values exactly, but floats to
    a few units in the last place (torch's arange adds steps to the start of each SIMD block of values)."""
    assert (ours.shape, ours.requires_grad) == (tuple(theirs.shape), theirs.requires_grad)
    assert ours.dtype == theirs.detach().numpy().dtype
    if ours.dtype.kind == "f" and ours.numel():
        tolerance = 4 * np.finfo(ours.dtype).eps
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tolerance,
                                   atol=tolerance * np.abs(ours.numpy()).max())
    else:
        np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("make", [
    lambda lib: lib.arange(5), lambda lib: lib.arange(2, 9, 3), lambda lib: lib.arange(5, 0, -2),
    lambda lib: lib.arange(5, 5), lambda lib: lib.arange(True), lambda lib: lib.arange(lib.tensor(3)),
    lambda lib: lib.arange(1, 2.5, 0.5), lambda lib: lib.arange(0, 1, 0.1), lambda lib: lib.arange(0.5),
    lambda lib: lib.arange(-1, 1, 0.3, dtype=_dtype(lib, "float64")), lambda lib: lib.arange(np.float64(3)),
    lambda lib: lib.arange(1, 2.0000001, 0.1, dtype=_dtype(lib, "float64")),
    lambda lib: lib.arange(3, dtype=_dtype(lib, "float64"), requires_grad=True),
    lambda lib: lib.arange(-1.5, 3, 1.5, dtype=_dtype(lib, "int64")), lambda lib: lib.arange(0, 5, 1.5, dtype=_dtype(lib, "int64")),
    lambda lib: lib.arange(-1.5, 3, 1.5, dtype=_dtype(lib, "int32")), lambda lib: lib.arange(0, 5, 1.5, dtype=_dtype(lib, "int32")),
    lambda lib: lib.arange(0, 2.5, 0.5, dtype=_dtype(lib, "int32")), lambda lib: lib.arange(0.5, 3.7, dtype=_dtype(lib, "uint8")),
    lambda lib: lib.zeros_like(lib.tensor([[1, 2]])), lambda lib: lib.ones_like(lib.tensor([1.0, 2.0]), requires_grad=True),
    lambda lib: lib.ones_like(lib.tensor([1]), dtype=_dtype(lib, "float64")),
    lambda lib: lib.zeros_like(lib.tensor([1.0], requires_grad=True)), lambda lib: lib.full((2, 3), 7),
    lambda lib: lib.full((2,), True), lambda lib: lib.full([2, 1], 2.5), lambda lib: lib.full((), -1.0),
    lambda lib: lib.full((2,), 2.5, dtype=_dtype(lib, "int64")), lambda lib: lib.full((2,), -1, dtype=_dtype(lib, "uint8")),
    lambda lib: lib.full((1,), 2, dtype=_dtype(lib, "bool")), lambda lib: lib.full((2,), 0.5, requires_grad=True),
    lambda lib: lib.full_like(lib.tensor([1, 2]), 2.5), lambda lib: lib.full_like(lib.tensor([True]), 2),
    lambda lib: lib.full_like(lib.tensor([1, 2]), 2.5, dtype=_dtype(lib, "float64")),
    lambda lib: lib.full_like(lib.tensor([[1.0], [2.0]], dtype=_dtype(lib, "float64")), 3),
    lambda lib: lib.eye(3), lambda lib: lib.eye(2, 3), lambda lib: lib.eye(2, 0), lambda lib: lib.eye(0),
    lambda lib: lib.eye(2, dtype=_dtype(lib, "int64")), lambda lib: lib.eye(2, requires_grad=True),
])
def test_creation_functions_like_torch(torch, make):
    _assert_same_tensor(make(mg), make(torch))


def test_created_tensors_are_leaves_that_take_gradients_like_torch(torch):
    grads = []
    for lib in (mg, torch):
        made = [lib.arange(3.0, requires_grad=True), lib.full((3,), 2.0, requires_grad=True),
                lib.ones_like(lib.tensor([1.0, 2.0, 3.0]), requires_grad=True), lib.eye(3, requires_grad=True)]
        (made[0] * made[1] * made[2] + made[3].sum(0)).sum().backward()
        grads.append([t.grad.tolist() for t in made])
    assert grads[0] == grads[1]


@pytest.mark.parametrize("make, error, match", [
    (lambda lib: lib.arange(0, 5, 0), RuntimeError, "^step must be nonzero$"),
    (lambda lib: lib.arange(0, 5, -1), RuntimeError, "^upper bound and lower bound inconsistent with step sign$"),
    (lambda lib: lib.arange(5, 0), RuntimeError, "^upper bound and lower bound inconsistent with step sign$"),
    (lambda lib: lib.arange(0, float("nan")), RuntimeError, "^unsupported range: 0 -> nan$"),
    (lambda lib: lib.arange(0, float("inf")), RuntimeError, "^unsupported range: 0 -> inf$"),
    (lambda lib: lib.arange(float("nan"), 2), RuntimeError, "^unsupported range: nan -> 2$"),
    pytest.param(lambda lib: lib.arange(0, 2.5, 0.5, dtype=_dtype(lib, "int64")), ValueError, "^step must be nonzero$",
                 marks=torch_since((2, 13), "the error (torch 2.11 dies of an integer division by zero)")),
    (lambda lib: lib.arange(2, dtype=_dtype(lib, "bool")), NotImplementedError, "^\"arange_cpu\" not implemented for 'Bool'$"),
    (lambda lib: lib.arange(5, requires_grad=True), RuntimeError, "nly Tensors of floating point"),
    (lambda lib: lib.full((2,), 300, dtype=_dtype(lib, "uint8")), RuntimeError,
     "^value cannot be converted to type uint8"),
    (lambda lib: lib.full((2,), float("nan"), dtype=_dtype(lib, "int64")), RuntimeError,
     "^value cannot be converted to type int64"),
    (lambda lib: lib.full_like(lib.tensor([1], dtype=_dtype(lib, "uint8")), 256), RuntimeError,
     "^value cannot be converted to type uint8"),
    (lambda lib: lib.full(2, 1.0), TypeError, r"^full\(\): argument 'size' \(position 1\) must be tuple of ints, not int"),
    (lambda lib: lib.ones_like(lib.tensor([1]), requires_grad=True), RuntimeError, "nly Tensors of floating point"),
    (lambda lib: lib.eye(-1), RuntimeError, "^n must be greater or equal to 0, got -1$"),
    (lambda lib: lib.eye(2, -3), RuntimeError, "^m must be greater or equal to 0, got -3$"),
    (lambda lib: lib.eye(2.0), TypeError, "^eye\\(\\): argument 'n' .*must be int, not float"),
])
def test_creation_errors_like_torch(torch, make, error, match):
    for lib in (torch, mg):
        with pytest.raises(error, match=match):
            make(lib)


CONDITION = np.array([[True, False, True], [False, False, True]])


def _condition(lib, rows=slice(None), columns=slice(None)):
    return lib.tensor(CONDITION[rows, columns])


@pytest.mark.parametrize("fn, arrays", [
    (lambda lib, a, b: lib.where(_condition(lib), a, b), [X[0, :2, :3], X[1, :2, :3]]),
    (lambda lib, a, b: lib.where(_condition(lib), a, b), [X[0, 0, :3], X[1, :2, :1]]),          # all three broadcast
    (lambda lib, a, b: lib.where(_condition(lib, slice(1)), a, b), [X[0, :2, :1], X[1, 0, :3]]),  # the condition too
    (lambda lib, a, b: lib.where(_condition(lib), a, b) * lib.where(_condition(lib), b, a), [X[0, :2, :3], X[1, :2, :3]]),
    (lambda lib, a: lib.where(_condition(lib), a, 2.0), [X[0, :2, :3]]),
    (lambda lib, b: lib.where(_condition(lib), -1, b), [X[1, :2, :3]]),
    (lambda lib, a, b: a.where(_condition(lib), b), [X[0, :2, :3], X[1, :1, :3]]),
    (lambda lib, a, b: lib.where(_condition(lib), a, b), [X[0, :2, :3].astype(np.float32), X[1, 0, :3]]),
    (lambda lib, a, b: lib.where(_condition(lib), a, b), [X[0, :2, :3].astype(np.float32), X[1, 0, 0]]),  # 0-d
    (lambda lib, b: lib.where(_condition(lib), lib.tensor([0, 1, 2]), b), [X[1, :2, :3].astype(np.float32)]),
    (lambda lib, a: lib.where(_condition(lib), a, lib.tensor([[0], [1]])), [np.arange(3, dtype=np.int32)]),
    (lambda lib, a: lib.where(_condition(lib), a, -1), [np.arange(3, dtype=np.uint8)]),
    (lambda lib, a: lib.where(_condition(lib), a, 2.5), [np.arange(3)]),
    (lambda lib: lib.where(_condition(lib), 1.0, 0), []),
    (lambda lib: lib.where(_condition(lib), 1, 0), []),
    (lambda lib: lib.where(_condition(lib), True, 2), []),
    (lambda lib: lib.where(_condition(lib), True, False), []),
    (lambda lib, a, b: lib.where(a > 0, a, b * 0.5), [X[0], X[1]]),  # a leaky-ReLU-like mix
])
def test_where_gives_torchs_values_dtypes_and_gradients(torch, fn, arrays):
    _assert_like_torch(torch, fn, *arrays)


def test_where_passes_gradcheck():
    rng = np.random.default_rng(5)
    a = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = mg.tensor(rng.standard_normal((2, 1)), requires_grad=True)
    condition = _condition(mg)
    assert mg.gradcheck(lambda a, b: mg.where(condition, a, b) * a, [a, b])
    assert mg.gradcheck(lambda a: a.where(condition[0], 3.0).exp(), [a])


@pytest.mark.parametrize("fn, arrays, match", [
    (lambda lib, a, b: lib.where(a, a, b), [X[0, :2, :3], X[1, :2, :3]],
     "^where expected condition to be a boolean tensor, but got a tensor with dtype Double$"),
    (lambda lib, a, b: lib.where(_condition(lib), a, b), [X[0, :2, :2], X[1, :2, :3]],
     r"^The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 1$"),
    (lambda lib, a, b: lib.where(_condition(lib, slice(None), slice(1)), a, b), [X[0, 0, :3], X[1, 0, :4]],
     r"^The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1$"),
    (lambda lib, a, b: lib.where(lib.ones(4) > 0, a, b), [X[0, 0, :3], X[1, 0, :3]],
     r"^The size of tensor a \(4\) must match the size of tensor b \(3\) at non-singleton dimension 0$"),
])
def test_where_refuses_what_torch_refuses(torch, fn, arrays, match):
    _raises_like_torch(torch, fn, *arrays, match=match)


EXTREMES = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 0.0, 7.0, 0.0], [3.0, 3.0, -4.0, -4.0]])


@pytest.mark.parametrize("fn", [
    lambda lib, t: t.argmax(), lambda lib, t: t.argmin(), lambda lib, t: t.argmax(keepdim=True),
    lambda lib, t: t.argmin(keepdim=True), lambda lib, t: t.argmax(1), lambda lib, t: t.argmin(0),
    lambda lib, t: t.argmax(-1, keepdim=True), lambda lib, t: t.argmin(dim=0, keepdim=True),
    lambda lib, t: t.min(), lambda lib, t: t.min(1).values, lambda lib, t: t.min(0).indices,
    lambda lib, t: t.min(-1, keepdim=True).values, lambda lib, t: t.min(0, keepdim=True).indices,
    lambda lib, t: t.min(1, True)[0] * t.max(1, True)[0], lambda lib, t: t.max() - t.min(),
    lambda lib, t: t[0, 0].argmax(), lambda lib, t: t[0, 0].argmin(0, keepdim=True), lambda lib, t: t[0, 0].min(0)[0],
    lambda lib, t: t[0, 0].min(-1, keepdim=True).indices,
])
def test_argmax_argmin_and_min_like_torch(torch, fn):
    """Ties go to the first index; over everything the gradient of a tie is shared, along a dim it goes to the first."""
    _assert_like_torch(torch, fn, EXTREMES)


@pytest.mark.parametrize("fn", [
    lambda lib, t: t.max(), lambda lib, t: t.min(), lambda lib, t: t.argmax(), lambda lib, t: t.argmin(),
    lambda lib, t: t.min(0).values, lambda lib, t: t.max(1).indices, lambda lib, t: t.argmin(1),
])
def test_nans_win_max_min_and_their_indices_like_torch(torch, fn):
    _assert_like_torch(torch, fn, np.array([[1.0, np.nan, 3.0, np.nan], [2.0, -1.0, np.nan, 0.5]]))


@pytest.mark.parametrize("array", [np.array([[3, 1, 2], [0, 9, 9]]), np.array([True, False, True]),
                                   np.array([[2, 7]], dtype=np.uint8)])
def test_min_and_max_of_integers_and_bools_like_torch(torch, array):
    for fn in (lambda lib, t: t.min(), lambda lib, t: t.max(-1).values, lambda lib, t: t.min(-1).indices):
        _assert_like_torch(torch, fn, array)
    if array.dtype != bool:
        _assert_like_torch(torch, lambda lib, t: t.argmin(-1) + t.argmax(), array)


def test_min_passes_gradcheck():
    x = mg.tensor(np.random.default_rng(6).standard_normal((3, 4)), requires_grad=True)
    assert mg.gradcheck(lambda t: t.min(1).values * t.min(), [x])
    assert mg.gradcheck(lambda t: t.min(0, keepdim=True)[0] * t, [x])


@pytest.mark.parametrize("fn, array, match", [
    (lambda lib, t: t.argmax(), [True, False], r"^argmax\(\): does not support bool input$"),
    (lambda lib, t: t.argmin(0), [True, False], r"^argmin\(\): does not support bool input$"),
    (lambda lib, t: t.argmax(), np.zeros(0), r"^argmax\(\): Expected reduction dim to be specified for "
                                              r"input\.numel\(\) == 0\.$"),
    (lambda lib, t: t.argmin(-2), np.zeros((0, 3)), r"^argmin\(\): Expected reduction dim 0 to have non-zero size\.$"),
    (lambda lib, t: t.min(), np.zeros((2, 0)), r"^min\(\): Expected reduction dim to be specified for "
                                                r"input\.numel\(\) == 0\. Specify the reduction dim with the 'dim'"),
    (lambda lib, t: t.max(), np.zeros(0), r"^max\(\): Expected reduction dim to be specified"),
    (lambda lib, t: t.min(0), np.zeros((0, 3)), r"^min\(\): Expected reduction dim 0 to have non-zero size\.$"),
    (lambda lib, t: t.argmax(3), X, re.escape("(expected to be in range of [-3, 2], but got 3)")),
    (lambda lib, t: t.min(-4), X, re.escape("(expected to be in range of [-3, 2], but got -4)")),
    (lambda lib, t: t.argmax((0, 1)), X, None),
    (lambda lib, t: t.min((0, 1)), X, None),
    (lambda lib, t: t.max((0, 1)), X, None),
    (lambda lib, t: t.argmin(0.5), X, None),
])
def test_argmax_argmin_and_min_refuse_what_torch_refuses(torch, fn, array, match):
    _raises_like_torch(torch, fn, np.asarray(array), match=match)


def test_min_and_max_along_an_empty_dim_are_empty_like_torch(torch):
    for fn in (lambda lib, t: t.min(1).values, lambda lib, t: t.max(1).indices, lambda lib, t: t.argmin(1)):
        _assert_like_torch(torch, fn, np.zeros((0, 3)))


@pytest.mark.parametrize("fn", [
    lambda lib, t: t.var(), lambda lib, t: t.std(), lambda lib, t: t.var(1), lambda lib, t: t.std(-1),
    lambda lib, t: t.var((0, 2)), lambda lib, t: t.std((-1, 0, 1)), lambda lib, t: t.var([2], keepdim=True),
    lambda lib, t: t.std(0, keepdim=True), lambda lib, t: t.var(1, False), lambda lib, t: t.std(2, True, True),
    lambda lib, t: t.var(False), lambda lib, t: t.std(unbiased=False), lambda lib, t: t.var(dim=0, unbiased=True),
    lambda lib, t: t.var(correction=0), lambda lib, t: t.std(1, correction=2, keepdim=True),
    lambda lib, t: t.var(-1, correction=0.5), lambda lib, t: t.std(correction=-1),
    lambda lib, t: t[0, 0, 0].var(correction=0), lambda lib, t: t.detach().std(()),  # torch's gradient of dim=()
    lambda lib, t: (t - t.mean(1, keepdim=True)) / t.std(1, keepdim=True),   # standardizing, as normalizations do
])                                                                           # is inf: torch's bug, not copied
def test_var_and_std_give_torchs_values_and_gradients(torch, fn):
    _assert_like_torch(torch, fn, X)


@pytest.mark.parametrize("fn", [lambda lib, t: t.var(1), lambda lib, t: t.std(), lambda lib, t: t.std(0, keepdim=True)])
def test_var_and_std_of_float32_stay_float32_like_torch(torch, fn):
    ours, theirs = _both(torch, [X.astype(np.float32)])
    ours, theirs = fn(mg, ours[0]), fn(torch, theirs[0])
    assert ours.dtype == theirs.detach().numpy().dtype == np.float32 and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)


def test_var_and_std_pass_gradcheck():
    x = mg.tensor(np.random.default_rng(7).standard_normal((3, 4)), requires_grad=True)
    assert mg.gradcheck(lambda t: t.var(1) * t.std(), [x])
    assert mg.gradcheck(lambda t: t.std(0, keepdim=True, correction=0) * t, [x])


@pytest.mark.parametrize("fn, array", [
    (lambda lib, t: t.var(), [1.5]), (lambda lib, t: t.std(), 2.0), (lambda lib, t: t.var(0), 2.0),
    (lambda lib, t: t.std(correction=3), [1.0, 2.5]), (lambda lib, t: t.var(correction=2), [1.0, 1.0]),
    (lambda lib, t: t.std(1), [[1.0], [2.0]]), (lambda lib, t: t[:0].var(), [1.0, 2.0]),
])
def test_var_and_std_of_too_few_values_warn_and_give_inf_or_nan_like_torch(torch, fn, array):
    """count - correction <= 0: inf or NaN, with torch's warning, and its gradients (inf or NaN)."""
    for lib in (mg, torch):
        with pytest.warns(UserWarning, match=r"^(var|std)\(\): degrees of freedom is <= 0\. Correction should be "
                                             r"strictly less than the reduction factor \(input numel divided by output "
                                             r"numel\)"):
            fn(lib, lib.tensor(np.asarray(array)))
    with pytest.warns(UserWarning):  # the warnings checked above
        _assert_like_torch(torch, fn, np.asarray(array))


def test_std_of_equal_values_has_zero_gradients_like_torch(torch):
    _assert_like_torch(torch, lambda lib, t: t.std(1), np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]))


@pytest.mark.parametrize("array", [np.array([1, 2]), np.array([True, False])])
def test_var_and_std_of_integers_are_refused_like_torch(torch, array):
    for fn in (lambda lib, t: t.var(), lambda lib, t: t.std(0)):
        _raises_like_torch(torch, fn, array, match="^std and var only support floating point and complex dtypes$")


@pytest.mark.parametrize("fn", [lambda lib, t: t.var(1, 0), lambda lib, t: t.std(1, unbiased=True, correction=0),
                                lambda lib, t: t.var(0.5)])
def test_var_and_std_argument_mistakes_are_type_errors_like_torch(torch, fn):
    _raises_like_torch(torch, fn, X, match=None)


@pytest.mark.parametrize("cast", ["long", "int", "bool", "float", "double"])
@pytest.mark.parametrize("array", [np.array([[1.75, -2.5, 0.0]]), np.array([3, 0, -1]), np.array([True, False])])
def test_casts_by_name_like_torch(torch, cast, array):
    """t.int() and t.bool() are methods beside Python's int(t) and bool(t); an integer or bool result has no
    gradient, even from a tensor that requires grad."""
    ours, theirs = _both(torch, [array])
    _assert_same_tensor(getattr(ours[0], cast)(), getattr(theirs[0], cast)())
    _assert_same_tensor(ours[0].to(_dtype(mg, "int16")), theirs[0].to(torch.int16))
    assert int(mg.tensor([2.5])) == int(torch.tensor([2.5])) and bool(mg.tensor(0.0)) is bool(torch.tensor(0.0))


@pytest.mark.parametrize("array", [X[0], X[0, 0], X[0, 0, 0], X[:, :1, 0]])
def test_t_transposes_2d_and_keeps_smaller_tensors_like_torch(torch, array):
    _assert_like_torch(torch, lambda lib, t: t.t() * 2, array)
    _assert_like_torch(torch, lambda lib, t: t.t().t() @ t.t() if t.ndim == 2 else t.t(), array)


def test_t_passes_gradcheck_and_refuses_more_than_2_dims_like_torch(torch):
    x = mg.tensor(X[0], requires_grad=True)
    assert mg.gradcheck(lambda t: t.t() @ t, [x])
    _raises_like_torch(torch, lambda lib, t: t.t(), X, match=r"^t\(\) expects a tensor with <= 2 dimensions, but "
                                                            r"self is 3D$")


def _ported(device):
    """The functions above on one device, as values and gradients on the host."""
    x = mg.tensor(EXTREMES, device=device, requires_grad=True)
    y = mg.arange(4.0, device=device, requires_grad=True)
    chosen = mg.where(x > 2, x * y, mg.full((1, 4), 0.5, device=device)) + mg.eye(3, 4, device=device).t().t()
    out = chosen.std(1) + x.var(0, keepdim=True).sum() + x.min(1).values + x.min() + mg.ones_like(x).t()[0]
    out.sum().backward()
    indices = [x.argmax(), x.argmin(1, keepdim=True), x.max(0).indices, x.t().long(), x.int(), (x > 0).bool()]
    return [t.cpu().numpy() for t in (out, x.grad, y.grad, *indices)]


def test_the_ported_functions_take_the_gpu_path_as_they_take_the_cpus(gpu_path):
    on_gpu = _ported("gpu")
    for mine, cpu in zip(on_gpu, _ported("cpu"), strict=True):
        assert mine.dtype == cpu.dtype
        np.testing.assert_allclose(mine, cpu, rtol=1e-6)


@pytest.mark.parametrize("threads", [1, 2])
def test_inf_and_nan_come_without_numpys_warnings_as_torchs(threads):
    """log(0), 1 / 0 and sqrt(-1), forward and backward, give IEEE's inf and NaN silently, as torch's (and CuPy's)
    do; big enough to be split over the worker threads too. The caller's own NumPy settings stay as they were."""
    torch = pytest.importorskip("torch")
    from minigrad import parallel

    values = np.tile(np.array([0.0, -1.0, 2.0], np.float32), 1 << 17)

    def run(library):
        x = library.tensor(values, requires_grad=True)
        outputs = (x.log(), 1 / x, x.sqrt())
        sum(output.sum() for output in outputs).backward()
        return [output.detach().numpy() for output in outputs] + [x.grad.numpy()]

    before, settings = parallel.get_num_threads(), np.geterr()
    parallel.set_num_threads(threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ours = run(mg)
    finally:
        parallel.set_num_threads(before)
    assert np.geterr() == settings
    for mine, theirs in zip(ours, run(torch)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
