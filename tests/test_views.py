"""In-place changes of views where autograd records, as torch's: a view (a slice, a permute, a reshape that
shares the array) changed in place changes its base too, and gradients flow through both."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

X = np.array([[0.5, -1.5, 2.0], [1.0, 3.0, -0.25]])
Y = np.array([0.75, -2.0, 1.25])


def slice_scaled(L, x, y):
    h = x * 1
    h[0, 0:2].mul_(y[:2])
    return h


def narrow_added_then_scaled(L, x, y):
    h = x * 2
    view = h.narrow(1, 1, 2)
    view.add_(y[1:])
    view.mul_(3)  # twice through the same view
    return h


def item_assigned_through_a_view(L, x, y):
    h = x * 3
    h.view(6)[4] = y[0]
    return h


def view_of_a_permuted_view(L, x, y):
    h = x + 0
    h.t()[1].mul_(y[:2])  # column 1 of h
    h.view(3, 2).t()[0].add_(y)  # entries 0, 2, 4 of h's array
    return h


def copied_into_a_buffer(L, x, y):
    buffer = L.zeros(2, 4, dtype=x.dtype)  # needs no grad: it gets one from what is copied in
    buffer[:, 1:].copy_(x)
    buffer[1, 0:1].copy_(y[2:])
    return buffer * buffer


def a_reshape_that_copies(L, x, y):
    h = x * 1
    h.t().reshape(6).mul_(10)  # the transpose's reshape is a copy: h keeps its values
    return h


def a_view_of_a_view(L, x, y):
    h = x * 1
    row = h[1]
    row[1:].sub_(y[:2] * 2)
    row[0:1].mul_(y[2:])
    return h * h


CASES = [slice_scaled, narrow_added_then_scaled, item_assigned_through_a_view, view_of_a_permuted_view,
         copied_into_a_buffer, a_reshape_that_copies, a_view_of_a_view]


def _run(L, case, dtype, device=None):
    x, y = (L.tensor(a.astype(dtype), requires_grad=True) for a in (X, Y))
    if device:
        x, y = (mg.tensor(a.astype(dtype), device=device, requires_grad=True) for a in (X, Y))
    out = case(L, x, y)
    direction = np.random.default_rng(0).standard_normal(tuple(out.shape)).astype(dtype)
    (out * L.tensor(direction, device=device) if device else out * L.tensor(direction)).sum().backward()
    as_numpy = (lambda t: t.detach().numpy()) if L is torch else (lambda t: t.numpy())
    return as_numpy(out), as_numpy(x.grad), as_numpy(y.grad) if y.grad is not None else np.zeros_like(Y)


@pytest.mark.parametrize("case", CASES)
def test_in_place_changes_of_views_match_torch(case):
    for ours, theirs in zip(_run(mg, case, np.float32), _run(torch, case, np.float32)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_in_place_changes_of_views_gradcheck_float64(case):
    x, y = (mg.tensor(a, requires_grad=True) for a in (X, Y))
    assert mg.gradcheck(lambda x, y: case(mg, x, y), (x, y))


@pytest.mark.parametrize("case", CASES[:4])
def test_in_place_changes_of_views_on_the_gpu_path(case, gpu_path):
    for ours, reference in zip(_run(mg, case, np.float32, "gpu"), _run(mg, case, np.float32)):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)


def test_a_view_of_a_leaf_that_requires_grad_is_torchs_error():
    for library in (mg, torch):
        x = library.tensor(X, requires_grad=True)
        with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation.$"):
            x[0].add_(1)
        with library.no_grad():
            x[0].add_(1)  # unrecorded: the leaf's own values change
        np.testing.assert_array_equal(x.detach().numpy(), X + [[1], [0]])


def test_unrecorded_changes_of_views_write_into_the_base_array():
    h = mg.tensor(X.copy())
    h.t()[2].mul_(2)
    h[1, :2].zero_()
    np.testing.assert_array_equal(h.numpy(), [[0.5, -1.5, 4.0], [0.0, 0.0, -0.5]])


def test_views_see_recorded_changes_of_their_base_and_of_each_other():
    """torch's views share their base's storage; minigrad's recorded in-place changes give the base a new array,
    and its views are taken of it anew."""
    for library in (mg, torch):
        x = library.tensor(X, requires_grad=True)
        h = x * 1
        first_row, column, flat = h[0], h.t()[1], h.view(6)
        h.mul_(2)
        first_row.add_(1)
        flat[5].fill_(7)
        values = [t.detach().numpy().copy() for t in (h, first_row, column, flat)]
        (h.sum() + 10 * column.sum()).backward()
        if library is mg:
            ours = values + [x.grad.numpy()]
        else:
            theirs = values + [x.grad.numpy()]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
