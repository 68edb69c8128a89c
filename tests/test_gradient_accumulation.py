"""A leaf's first gradient becomes its `.grad` without a copy where nothing else can see it (as torch's): each case
backpropagates twice into the same leaves, the second sum made in place, so that a first gradient kept while another
holder saw it (a hook, a saved tensor, another leaf, the caller's gradient, another leaf's gradient that views it)
would show the second one, where torch's do not."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad import memory

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 8)).astype(np.float32)
GRAD = RNG.standard_normal(X.shape).astype(np.float32)
HELD = np.ones(8)


def _leaves(lib, count=1):
    return [lib.tensor(X.copy(), requires_grad=True) for _ in range(count)]


def _grad_tensor(lib, array):
    return mg.tensor(array) if lib is mg else torch.from_numpy(array)


def layer_norm_twice(lib):
    """The op's own output as the gradient, a reference to `.grad` kept between the walks (it sees the sum)."""
    (x,), weight = _leaves(lib), lib.tensor(np.ones(8, np.float32), requires_grad=True)
    functional = F if lib is mg else torch.nn.functional
    functional.layer_norm(x, (8,), weight).backward(_grad_tensor(lib, GRAD))
    first = x.grad
    functional.layer_norm(x * 2, (8,), weight).backward(_grad_tensor(lib, GRAD))
    return first, x.grad, weight.grad


def a_hook_keeps_the_gradient(lib):
    (x,) = _leaves(lib)
    seen = []
    x.register_hook(seen.append)
    for _ in range(2):
        (x * 3).backward(_grad_tensor(lib, GRAD))
    return seen[0], seen[1], x.grad


def a_hook_returns_a_gradient_it_keeps(lib):
    (x,) = _leaves(lib)
    kept = []
    x.register_hook(lambda grad: kept.append(grad * 2) or kept[-1])
    for _ in range(2):
        (x * 3).backward(_grad_tensor(lib, GRAD))
    return kept[0], x.grad


def one_gradient_for_two_leaves(lib):
    """Add gives both of its inputs the array it gets."""
    a, b = _leaves(lib, 2)
    for _ in range(2):
        ((a + b) * 3).backward(_grad_tensor(lib, GRAD))
    return a.grad, b.grad


def a_saved_tensor_is_the_gradient(lib):
    """A backward that returns what forward saved, run on the retained graph three times (the second adds the
    saved tensor to itself where `.grad` kept it, which is right by chance)."""
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            scale = x.detach() * 0 + 2
            ctx.save_for_backward(scale)
            return (x * scale).sum()

        @staticmethod
        def backward(ctx, grad):
            return ctx.saved_tensors[0]

    (x,) = _leaves(lib)
    out = Scale.apply(x)
    for _ in range(3):
        out.backward(retain_graph=True)
    return (x.grad,)


def a_view_of_another_leafs_gradient(lib):
    """Add's one array for both inputs, one of which views it in another shape."""
    a, b = lib.tensor(X.copy(), requires_grad=True), lib.tensor(X.reshape(6, 8).copy(), requires_grad=True)
    for _ in range(2):
        ((a + b.reshape(a.shape)) * 3).backward(_grad_tensor(lib, GRAD))
    return a.grad, b.grad


@pytest.mark.parametrize("case", [layer_norm_twice, a_hook_keeps_the_gradient, a_hook_returns_a_gradient_it_keeps,
                                  one_gradient_for_two_leaves, a_saved_tensor_is_the_gradient,
                                  a_view_of_another_leafs_gradient])
def test_two_walks_into_the_same_leaves_sum_as_torchs(case):
    as_numpy = lambda value: value if isinstance(value, np.ndarray) else value.detach().numpy()  # noqa: E731
    for ours, reference in zip(case(mg), case(torch), strict=True):
        np.testing.assert_allclose(as_numpy(ours), as_numpy(reference), rtol=1e-6, atol=1e-6)


def test_the_callers_gradient_is_never_written():
    """A leaf's gradient that views the one backward() was given stays a copy: torch's keeps the view, and adds the
    next walk's gradient into the caller's array."""
    x = mg.tensor(X, requires_grad=True)
    given = GRAD.reshape(-1).copy()
    for _ in range(2):
        x.reshape(-1).backward(mg.Tensor(given))  # its array, not a copy
    np.testing.assert_array_equal(given, GRAD.reshape(-1))
    np.testing.assert_array_equal(x.grad.numpy(), 2 * GRAD)


def test_a_leafs_first_gradient_is_kept_where_nothing_else_holds_it():
    """The point of it: layer norm's gradient of a big input becomes `.grad` as it is, from the pool."""
    x = mg.tensor(RNG.standard_normal((64, 64, 64)).astype(np.float32), requires_grad=True)
    F.layer_norm(x, (64,)).backward(mg.tensor(RNG.standard_normal(x.shape).astype(np.float32)))
    assert memory.pool.holds(x.grad.data.base)


def _held_in_a_local(make):
    array = make()
    return memory.unshared(array)


@pytest.mark.parametrize("make, unshared", [
    (lambda: np.ones(4), True),
    (lambda: np.ones(8).reshape(2, 4), True),                  # what is left of a temporary
    (lambda: memory.empty(np, (1024, 1024), np.float32), True),
    (lambda: np.ones(8)[::2], False),                          # not C-contiguous
    (lambda: np.broadcast_to(np.ones(4), (2, 4)), False),      # read-only
    (lambda: HELD.reshape(2, 4), False),                       # views an array held elsewhere
    (lambda: HELD, False),                                     # held by a global
    (lambda: np.frombuffer(bytearray(32)), False),             # memory no array owns
], ids=["fresh", "temporary's view", "pooled", "strided", "broadcast", "held's view", "held", "foreign memory"])
def test_unshared_arrays(make, unshared):
    assert _held_in_a_local(make) is unshared

