"""Autograd semantics: accumulation, graph order and freeing, no_grad, devices, and clear errors."""
import re
import subprocess
import sys
import weakref

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad.function import Function


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
    assert node.saved == () and node.inputs == ()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_graph_keeps_only_the_arrays_backward_saved():
    """An intermediate that no op saved (a sum feeding a ReLU) is freed as soon as the forward drops it."""
    a = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b = mg.tensor([0.5, 0.5, -4.0], requires_grad=True)
    total = a + b
    total_array = weakref.ref(total.data)
    kept = total.relu().retain_grad()
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
    hidden = (x * 3).retain_grad()
    other = x * 4
    (hidden * other).sum().backward()
    np.testing.assert_allclose(hidden.grad.numpy(), other.numpy())
    assert other.grad is None


def test_backward_on_non_scalar_needs_a_gradient():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(grad=np.full((2, 3), 0.5, dtype=np.float32))
    np.testing.assert_allclose(x.grad.numpy(), 1.0)


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
    with pytest.raises(ValueError, match="one element"):
        mg.tensor([1.0, 2.0]).item()


def test_unknown_device_is_a_clear_error():
    with pytest.raises(mg.DeviceError, match="unknown device 'tpu'"):
        mg.tensor([1.0]).to("tpu")


@pytest.mark.skipif(mg.gpu_available(), reason="a GPU is present, so the missing-GPU message cannot be shown")
def test_missing_gpu_names_the_fix_without_a_traceback():
    code = "import minigrad as mg\ntry:\n    mg.tensor([1.0]).to('gpu')\nexcept mg.DeviceError as e:\n    print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 'pip install -e ".[gpu]"' in out and out.count("\n") == 1


def test_conv_channel_mismatch_names_both_shapes():
    x = mg.tensor(np.zeros((1, 3, 8, 8), dtype=np.float32))
    w = mg.tensor(np.zeros((4, 5, 3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(1, 3, 8, 8\).*\(4, 5, 3, 3\)"):
        F.conv2d(x, w)


def test_gradcheck_reports_the_worst_element():
    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved
            wrong = 2 * a
            wrong[1] *= 1.5
            return grad * wrong

    x = mg.tensor(np.array([0.5, 2.0, -1.0]), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"input 0 at element \(1,\)") as failure:
        mg.gradcheck(lambda t: WrongSquare.apply(t), [x])
    analytic, numeric = (float(v) for v in re.search(r"analytic (\S+) vs numeric (\S+)", str(failure.value)).groups())
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)


def test_gradcheck_needs_float64():
    with pytest.raises(ValueError, match="float64"):
        mg.gradcheck(lambda t: t * 2, [mg.tensor([1.0], requires_grad=True)])
