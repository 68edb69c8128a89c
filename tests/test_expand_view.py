"""expand, expand_as and meshgrid return views, as torch's: no copy (a grown dim repeats its memory, stride 0), the
gradient summed over the grown dims, and torch's error for a write into elements that share memory (but a number's
fill, which torch allows)."""
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")

A = np.array([[0.5, -1.5, 2.0]])
B = np.array([[1.0], [3.0], [-0.25]])


def expansions_of_a_changed_base(L, x, y):
    """Expansions of a tensor changed in place since, so taken anew of it: each element of the base gets the sum
    of the gradients of its repeats."""
    base = x * 1
    rows, column = base.expand(3, 3), base[:, 1].expand(2)
    base.mul_(y.t())
    return L.cat([rows.reshape(-1), column])


def expansion_of_a_changed_number(L, x, y):
    number = x[0, 1] * 1
    grown = number.expand(3)
    number.mul_(y[1, 0])
    return grown * y[:, 0]


CASES = {  # each of x (1, 3) and y (3, 1); every one a view
    "rows": lambda L, x, y: x.expand(4, 3),
    "columns_kept_by_minus_one": lambda L, x, y: y.expand(-1, 5),
    "leading_dims": lambda L, x, y: x.expand(2, 4, 3) * y.expand(2, 3, 3)[:, :1],
    "same_shape": lambda L, x, y: x.expand(1, 3),
    "both_ways": lambda L, x, y: x.expand(3, 3) + y.expand(3, 3).t(),
    "expand_as": lambda L, x, y: y.expand_as(x * y),
    "to_empty": lambda L, x, y: x.expand(0, 3),
    "of_a_slice": lambda L, x, y: x[:, 1:].expand(2, 2),
    "meshgrid_ij": lambda L, x, y: L.stack(L.meshgrid(x[0], y[:, 0], indexing="ij")),
    "meshgrid_xy": lambda L, x, y: L.stack(L.meshgrid(x[0], y[:2, 0], indexing="xy")),
    "repeat": lambda L, x, y: y.repeat(2, 3),
    "of_a_changed_base": expansions_of_a_changed_base,
    "of_a_changed_number": expansion_of_a_changed_number,
}


def _run(L, case, dtype=np.float32, device=None):
    kwargs = {"device": device} if device else {}
    x, y = (L.tensor(a.astype(dtype), requires_grad=True, **kwargs) for a in (A, B))
    out = CASES[case](L, x, y)
    direction = np.random.default_rng(0).standard_normal(tuple(out.shape)).astype(dtype)
    (out * L.tensor(direction, **kwargs)).sum().backward()
    as_numpy = (lambda t: t.detach().numpy()) if L is torch else (lambda t: t.numpy())
    return [as_numpy(out), as_numpy(x.grad) if x.grad is not None else np.zeros_like(A),
            as_numpy(y.grad) if y.grad is not None else np.zeros_like(B)]


@pytest.mark.parametrize("case", CASES)
def test_expand_values_and_gradients_match_torch(case):
    for ours, theirs in zip(_run(mg, case), _run(torch, case)):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_expand_gradcheck_float64(case):
    x, y = (mg.tensor(a, requires_grad=True) for a in (A, B))
    assert mg.gradcheck(lambda x, y: CASES[case](mg, x, y), (x, y))


@pytest.mark.parametrize("case", ["rows", "both_ways", "meshgrid_xy", "repeat", "of_a_changed_base",
                                  "of_a_changed_number"])
def test_expand_on_the_gpu_path(case, gpu_path):
    for ours, reference in zip(_run(mg, case, device="gpu"), _run(mg, case)):
        assert relative_error(ours, reference) <= 1e-5


def test_expand_is_a_view_that_takes_no_memory():
    x = mg.tensor(np.ones((1, 1000), np.float32), requires_grad=True)
    tracemalloc.start()
    try:
        big = x.expand(100000, 1000)  # 400 MB, were it a copy
        allocated = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert allocated < 1 << 20
    assert big.shape == (100000, 1000) and big.data.strides == (0, 4) and np.shares_memory(big.data, x.data)
    assert big.grad_fn.name() == "ExpandBackward0"
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="^view size is not compatible"):
            big.view(-1)  # refused, as torch's, before any copy
        allocated = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert allocated < 1 << 20
    for library in (mg, torch):  # a write into the base shows in its expansions, meshgrid's too
        base = library.tensor([[1.0, 2.0, 3.0]])
        expanded, (grid, _) = base.expand(2, 3), library.meshgrid(base[0], base[0, :2], indexing="ij")
        base[0, 1] = 7.0
        assert expanded.tolist() == [[1.0, 7.0, 3.0]] * 2 and grid.tolist() == [[1.0, 1.0], [7.0, 7.0], [3.0, 3.0]]


WRITES = {  # in-place changes of an expanded tensor, which torch refuses
    "add_": lambda L, e: e.add_(1), "mul_": lambda L, e: e.mul_(L.tensor([2.0, 3.0, 4.0])),
    "iadd": lambda L, e: e.__iadd__(1), "exp_": lambda L, e: e.exp_(), "clamp_": lambda L, e: e.clamp_(0, 1),
    "copy_": lambda L, e: e.copy_(L.zeros(3, 3)), "column_assigned": lambda L, e: e.__setitem__((slice(None), 0), 5),
    "all_assigned": lambda L, e: e.__setitem__(Ellipsis, 5), "column_add_": lambda L, e: e[:, 1].add_(1),
    "fill_with_a_tensor": lambda L, e: e.fill_(L.tensor(2.0)),
    "uniform_": lambda L, e: e.uniform_(), "bernoulli_": lambda L, e: e.bernoulli_(0.5),
    "random_": lambda L, e: e.random_(5), "init.normal_": lambda L, e: L.nn.init.normal_(e),
    "init.kaiming_uniform_": lambda L, e: L.nn.init.kaiming_uniform_(e),
}
SHARED_MEMORY = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
                 "location. Please clone() the tensor before performing the operation.")


@pytest.mark.parametrize("recorded", [False, True])
@pytest.mark.parametrize("name", WRITES)
def test_writing_into_an_expanded_tensor_is_torchs_error(name, recorded):
    for library in (mg, torch):
        leaf = library.tensor(A, requires_grad=recorded)
        base = leaf * 1
        with pytest.raises(RuntimeError) as refused:
            WRITES[name](library, base.expand(3, 3))
        assert str(refused.value) == SHARED_MEMORY
        np.testing.assert_array_equal(base.detach().numpy(), A)


def test_writing_into_an_expanded_tensor_is_refused_on_the_gpu_path(gpu_path):
    expanded = mg.tensor(A, device="gpu").expand(3, 3)
    with pytest.raises(RuntimeError, match="^unsupported operation: more than one element"):
        expanded.add_(1)
    expanded[0].add_(1)  # a row shares no memory within itself: it is written into the base, as in torch
    np.testing.assert_array_equal(expanded.numpy(), np.repeat(A + 1, 3, axis=0))


FILLS = {  # a number into an expanded tensor, which torch allows, and the same write into the base
    "fill_": (lambda base: base.expand(4, 3).fill_(2.0), lambda base: base.fill_(2.0)),
    "zero_of_a_view": (lambda base: base.expand(2, 2, 3)[:, 1:, 1:].zero_(), lambda base: base[:, 1:].zero_()),
    "fill_of_a_number": (lambda base: base[0, 1].expand(5).fill_(-3.0), lambda base: base[0, 1].fill_(-3.0)),
}


@pytest.mark.parametrize("name", FILLS)
def test_a_number_fills_an_expanded_tensor_as_torchs(name):
    ours, theirs = mg.tensor(A), torch.tensor(A)
    for base in (ours, theirs):
        FILLS[name][0](base)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.tolist() != A.tolist()


@pytest.mark.parametrize("name", FILLS)
def test_a_recorded_fill_of_an_expanded_tensor_is_the_same_write_into_its_base(name):
    """torch records it too, but its backward then refuses the shared memory: minigrad's gradient is that of the
    same write into the base, as torch computes it."""
    def run(library, write):
        leaf = library.tensor(A, requires_grad=True)
        base = leaf * 1
        write(base)
        (base * library.tensor([[1.0, 2.0, 3.0]])).sum().backward()
        return base.detach().numpy(), leaf.grad.numpy()

    for ours, theirs in zip(run(mg, FILLS[name][0]), run(torch, FILLS[name][1])):
        np.testing.assert_array_equal(ours, theirs)


def test_a_number_fills_an_expanded_tensor_on_the_gpu_path(gpu_path):
    base = mg.tensor(A, device="gpu")
    base.expand(2, 2, 3)[:, 1:, 1:].zero_()
    np.testing.assert_array_equal(base.numpy(), [[A[0, 0], 0.0, 0.0]])


def _write_through_views(L, recorded):
    """Writes into views of expanded tensors that share no memory within themselves, which torch allows: a row of
    it (the base's row), an expansion that grows nothing, and a copy."""
    x = L.tensor(A, requires_grad=recorded)
    base = x * 1
    expanded = base.expand(3, 3)
    expanded[1].mul_(L.tensor([2.0, -1.0, 0.5]))
    expanded[2, 1:] = L.tensor([4.0, 5.0])
    base.expand(1, 1, 3).add_(1)
    copied = expanded.contiguous()
    copied[0].add_(10)
    cloned = expanded.clone()
    cloned.sub_(1)
    values = [t.detach().numpy().copy() for t in (base, expanded, copied, cloned)]
    if recorded:
        (base.sum() + (copied * cloned).sum()).backward()
        values.append(x.grad.numpy())
    return values


@pytest.mark.parametrize("recorded", [False, True])
def test_writes_into_views_of_an_expanded_tensor_reach_its_base_as_torchs(recorded):
    ours, theirs = _write_through_views(mg, recorded), _write_through_views(torch, recorded)
    assert len(ours) == len(theirs) == (5 if recorded else 4)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_an_expanded_tensor_in_a_graph_as_torchs():
    """contiguous() of it is a copy (CloneBackward0), view() of it torch's error, reshape() a copy."""
    for library in (mg, torch):
        expanded = library.tensor(A, requires_grad=True).expand(2, 3)
        assert expanded.contiguous().grad_fn.name() == "CloneBackward0"
        assert expanded.reshape(6).tolist() == A.repeat(2, axis=0).reshape(6).tolist()
        with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
            expanded.view(6)
