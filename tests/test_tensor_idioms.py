"""torch's tensor idioms that do not fit test_ops.py's table: ties, zeros and infinities, argument errors, the
tuples of split/chunk/unbind, in-place methods (aliasing, leaf refusal, the version counter) and new_* factories.
torch is the oracle throughout: each case is written once against the shared API and run in both libraries."""
import math
import re
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")


def _run(lib, fn, *arrays, requires_grad=True):
    """fn(lib, *tensors) and the gradients of (out * a fixed direction).sum(), or the exception it raised."""
    tensors = [lib.tensor(a, requires_grad=requires_grad) for a in arrays]
    try:
        out = fn(lib, *tensors)
        if requires_grad:
            direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(out.numpy().dtype
                                                                                           if lib is mg else np.float32)
            (out * lib.tensor(direction)).sum().backward()
    except Exception as error:  # noqa: BLE001 (compared with torch's)
        return error
    values = out.detach().numpy()
    return values, [None if t.grad is None else t.grad.numpy() for t in tensors]


def _assert_same(fn, *arrays, rtol=1e-6, requires_grad=True):
    expected, got = (_run(lib, fn, *arrays, requires_grad=requires_grad) for lib in (torch, mg))
    if isinstance(expected, Exception):
        assert type(got) is type(expected) and str(got) == str(expected).split("\n")[0], (expected, got)
        return
    assert not isinstance(got, Exception), got
    assert got[0].dtype == expected[0].dtype and got[0].shape == expected[0].shape
    np.testing.assert_allclose(got[0], expected[0], rtol=rtol, atol=0)  # infinities must match too
    for grad, torch_grad in zip(got[1], expected[1]):
        if torch_grad is None:  # torch's norm(p=0) has no gradient; minigrad's is zeros
            assert grad is None or not grad.any()
            continue
        assert grad.dtype == torch_grad.dtype and relative_error(grad, torch_grad) <= rtol


TIES = np.array([[[1, 3, 3, 0], [2, 2, 2, 2], [-3, 1, -3, 0]]] * 2, dtype=np.float32)


@pytest.mark.parametrize("fn", [
    lambda L, a: a.amax(1),
    lambda L, a: a.amin(-1, keepdim=True),
    lambda L, a: a.amax((0, 2)),
    lambda L, a: a.amax(),
    lambda L, a: a.norm(p=float("inf"), dim=2),
    lambda L, a: a.norm(p=-float("inf")),
], ids=["amax", "amin_keepdim", "amax_dims", "amax_all", "norm_inf", "norm_minus_inf"])
def test_ties_share_the_gradient_as_torch(fn):
    """Unlike max(dim), amax and the infinity norms give each tie an equal share."""
    _assert_same(fn, TIES)


def test_norm_and_prod_at_zero_as_torch():
    zeros = np.zeros((2, 3), np.float32)
    for fn in (lambda L, a: a.norm(), lambda L, a: a.norm(dim=1), lambda L, a: a.norm(p=1), lambda L, a: a.norm(p=3),
               lambda L, a: a.norm(p=0)):
        _assert_same(fn, zeros)
    one_zero, two_zeros = np.array([[2, 0, 3, -1]], np.float32), np.array([[2, 0, 0, -1]], np.float32)
    for p in (0.5, 1.5, 3):  # zero entries of a non-zero norm: |a|^(p-1) is inf or 0 there, the gradient 0
        _assert_same(lambda L, a: a.norm(p=p), one_zero)
    for values in (one_zero, two_zeros):
        _assert_same(lambda L, a: a.prod(), values)
        _assert_same(lambda L, a: a.prod(1), values)


def test_logsumexp_stable_as_torch():
    values = np.array([[1e4, 1e4 - 1, -1e4], [-np.inf, -np.inf, -np.inf], [np.inf, 0, 1], [-1e4, -1e4, -1e4 - 5]],
                      np.float32)
    _assert_same(lambda L, a: a.logsumexp(1), values, requires_grad=False)
    _assert_same(lambda L, a: a.logsumexp(1), values[[0, 3]])
    for dim in (0, 1, (0, 1)):  # the sum of no terms is 0: -inf, as torch's
        _assert_same(lambda L, a: a.logsumexp(dim), np.zeros((0, 3), np.float32))


@pytest.mark.parametrize("fn", [
    lambda L, a: a.any(), lambda L, a: a.all(), lambda L, a: a.any(1), lambda L, a: a.all(dim=(0, 1), keepdim=True),
    lambda L, a: (a > 0).all(-1), lambda L, a: a.long().cumsum(0), lambda L, a: a.long().prod(1),
    lambda L, a: (a > 0).cumsum(1), lambda L, a: a.int().prod(), lambda L, a: a.long().masked_fill(a > 2, 0.7),
    lambda L, a: a.long().norm(), lambda L, a: a.long().logsumexp(1), lambda L, a: a.to(L.uint8).sum(),
    lambda L, a: a.to(L.uint8).sum(1), lambda L, a: a.int().sum(0),
])
def test_integer_and_bool_results_as_torch(fn):
    _assert_same(fn, np.array([[0, 1, 2], [3, 0, 0]], np.float32), requires_grad=False)


@pytest.mark.parametrize("fn", [
    lambda L, a: a.view(4, 3, 2),
    lambda L, a: a.view(-1),
    lambda L, a: a.permute(1, 0, 2).view(3, 8),        # torch refuses: the merged dims are not back to back
    lambda L, a: a.permute(1, 0, 2).view(3, 2, 2, 2),  # splitting a permuted dim is fine
    lambda L, a: a[:, 1:].view(2, 8),
    lambda L, a: a[:, :, 1:].view(6, 3),
    lambda L, a: a[:, :, 1:].view(2, 9),
    lambda L, a: a.transpose(0, 2).view(-1),
    lambda L, a: a.transpose(0, 2)[:1].view(3, 2),
    lambda L, a: a[0, 0, 0].view(1, 1),
    lambda L, a: a.unsqueeze(1).transpose(1, 3).view(2, 12),
    lambda L, a: a.t(),
    lambda L, a: a.permute(1, 0, 2).contiguous().view(3, 8),  # contiguous() lays the copy out row by row
    lambda L, a: a.transpose(1, 2).contiguous().view(2, -1),
    lambda L, a: a[:, :, ::2].contiguous().view(-1),
])
def test_view_refuses_what_torch_refuses(fn):
    _assert_same(fn, np.arange(24, dtype=np.float32).reshape(2, 3, 4))


@pytest.mark.parametrize("fn", [
    lambda L, a: a.split(3, 1), lambda L, a: a.split(7, 1), lambda L, a: a.split([1, 0, 4], 1),
    lambda L, a: a.split([1, 1], 1), lambda L, a: a.split(0, 1), lambda L, a: a.chunk(4, 1), lambda L, a: a.chunk(10, 1),
    lambda L, a: a.chunk(0), lambda L, a: a[:, :0].chunk(2, 1), lambda L, a: a.unbind(), lambda L, a: a.unbind(-1),
    lambda L, a: a[0, 0].unbind(), lambda L, a: a.narrow(1, 5, 0), lambda L, a: a.narrow(1, 6, 0),
    lambda L, a: a.narrow(1, 3, 3), lambda L, a: a.narrow(-1, -5, 2),
])
def test_pieces_as_torch(fn):
    def pieces(L, a):
        out = fn(L, a)
        out = out if isinstance(out, tuple) else (out,)
        return L.cat([piece.reshape(-1) for piece in out] + [a.new_tensor([len(out)])])  # values and how many
    _assert_same(pieces, np.arange(10, dtype=np.float32).reshape(2, 5))


@pytest.mark.parametrize("fn", [
    lambda L, a: a.repeat(2), lambda L, a: a.repeat(0, 2, 1), lambda L, a: a.repeat(-1, 1), lambda L, a: a[0, 0].repeat(2, 3),
    lambda L, a: a.flip(), lambda L, a: a.flip([0, 0]), lambda L, a: a.flip(-1), lambda L, a: a.roll(1, 5),
    lambda L, a: a.roll((1, 2), 0), lambda L, a: a.roll(-3, -1), lambda L, a: a.expand_as(a[:, :1]),
    lambda L, a: a.masked_fill(a.new_tensor([[[1, 0, 1]], [[0, 0, 1]]]).bool(), 1.0),
    lambda L, a: a.masked_fill(a > 2, a[0]),
    lambda L, a: a.gather(1, a.new_tensor([[0.0]])), lambda L, a: a.gather(1, a.new_tensor([[0, 3]]).long()),
    lambda L, a: a.gather(1, a.new_tensor([[-1]]).long()), lambda L, a: a.gather(1, a.new_tensor([1]).long()),
    lambda L, a: a.gather(0, a.new_tensor([[0], [1], [0]]).long()),
    lambda L, a: a.gather(1, a.new_tensor([[0], [1], [0]]).long()),
    lambda L, a: a.gather(1, a.new_tensor([[0, 1, 2, 2, 1]]).int()),
    lambda L, a: a.index_select(1, a.new_tensor([[0]]).long()), lambda L, a: a.index_select(1, a.new_tensor([0.0])),
    lambda L, a: a.index_select(1, a.new_tensor([3]).long()), lambda L, a: a.index_select(-1, a.new_tensor(2).long()),
    lambda L, a: a[0, 0].index_select(0, a.new_tensor([0, 0]).long()),
    lambda L, a: a[0, 0].index_select(0, a.new_tensor([0]).long()),
    lambda L, a: a.norm(p="fro"), lambda L, a: a.prod(-3), lambda L, a: a[:, ::-1], lambda L, a: a[::-2],
    lambda L, a: a[0, 2:0:-1], lambda L, a: a[:, ::0], lambda L, a: a.__setitem__((0, slice(None, None, -1)), 1.0),
    lambda L, a: a.mean(dtype=L.float64), lambda L, a: a.mean(1, True, dtype=L.float64),
    lambda L, a: a.mean(dtype=L.int64), lambda L, a: a.type(L.float64), lambda L, a: a.type("torch.DoubleTensor"),
    lambda L, a: a.norm(p="abc"),
    lambda L, a: a.type("torch.Long"),
])
def test_values_and_errors_as_torch(fn):
    _assert_same(fn, np.arange(6, dtype=np.float32).reshape(2, 3))


@pytest.mark.parametrize("fn", [
    lambda L, a: a.long() << 2, lambda L, a: (a.long() - 3) >> L.tensor([1, 70, -1]), lambda L, a: 2 << a.long(),
    lambda L, a: (a.long() - 3).to(L.int8) << L.tensor([7, 8, -2]).to(L.int8), lambda L, a: 100 >> a.long(),
    lambda L, a: a.byte() >> 9, lambda L, a: a << 1, lambda L, a: a.long().mean(dtype=L.float32),
    lambda L, a: L.stack(L.where(a > 2)), lambda L, a: L.stack(L.where(a[0, 1])),
    lambda L, a: L.stack((a - 2).nonzero(as_tuple=True)), lambda L, a: L.stack(a[0, 0].nonzero(as_tuple=True)),
    lambda L, a: a[0, 1].nonzero(), lambda L, a: a.type("torch.LongTensor"), lambda L, a: (a * 20 - 50).char(),
    lambda L, a: (a * 1000 - 50).short(), lambda L, a: (a * 20).byte(), lambda L, a: a.long() % 0,
    lambda L, a: a.long() // L.tensor([1, 0, 2]), lambda L, a: a[5], lambda L, a: a[:, 7],
    lambda L, a: a[L.tensor([0, 9])], lambda L, a: a[1, L.tensor([-9])], lambda L, a: a.__setitem__((5,), 1.0),
    lambda L, a: a.__setitem__(L.tensor([7]), a[0].clone()),
])
def test_values_without_gradients_and_errors_as_torch(fn):
    _assert_same(fn, np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=False)


@pytest.mark.parametrize("fn", [
    lambda L, a: L.cat([a, a[:, :1]], 1), lambda L, a: L.cat([a, a], -2), lambda L, a: L.cat([a, a[0]]),
    lambda L, a: L.cat([a, a[:, :2]]), lambda L, a: L.cat([a, a.new_zeros(2, 0)]), lambda L, a: L.cat([a, a], 2),
    lambda L, a: L.cat([a[0, 0], a[0, 1]]), lambda L, a: L.cat([a, a[0, 0], a]), lambda L, a: L.cat([], 0),
    lambda L, a: L.stack([a, a], 2), lambda L, a: L.stack([a, a], -3), lambda L, a: L.stack([a, a[:, :2]]),
    lambda L, a: L.stack([a, a, a[0]], 1), lambda L, a: L.stack([a, a], 3), lambda L, a: L.stack([]),
    lambda L, a: L.stack([a[0, 0], a[1, 1]]),
], ids=["cat", "cat_negative_dim", "cat_ranks_differ", "cat_sizes_differ", "cat_empty_2d", "cat_dim_out_of_range",
        "cat_0d", "cat_0d_among_others", "cat_nothing", "stack", "stack_negative_dim", "stack_sizes_differ",
        "stack_ranks_differ", "stack_dim_out_of_range", "stack_nothing", "stack_0d"])
def test_joins_and_their_errors_as_torch(fn):
    _assert_same(fn, np.arange(6, dtype=np.float32).reshape(2, 3))


@pytest.mark.parametrize("fn", [lambda L, a, empty: L.cat([empty, a, empty], 1), lambda L, a, empty: L.cat([empty, empty]),
                                lambda L, a, empty: L.cat([a, empty, a[:1]])], ids=["between", "only", "ranks_differ"])
def test_cat_leaves_out_a_one_dimensional_empty_tensor_as_torch(fn):
    _assert_same(fn, np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros(0, np.float32))


@pytest.mark.parametrize("shape, dim", [((0,), 0), ((3, 0), -1), ((3, 0), 0), ((0, 3), 1), ((2, 3, 0, 2), 1),
                                        ((2, 3, 0, 2), 2)], ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "prod", "cumsum"])
def test_ops_along_a_dim_of_empty_tensors_as_torch(name, shape, dim):
    _assert_same(lambda L, a: getattr(L, name)(a, dim), np.zeros(shape, np.float32))


MIXED_INDEXES = {  # ints beside arrays: torch selects with the ints first, where NumPy would count them as arrays
    "int_slice_list": lambda L, a: (1, slice(None), [0, 3, 3]),
    "int_slice_tensor": lambda L, a: (-1, slice(1, 3), L.tensor([2, 0]).long()),
    "list_slice_int": lambda L, a: ([0, 1, 1], slice(None), 2),
    "int_list_slice": lambda L, a: (0, [2, 1], slice(None)),
    "list_int_list": lambda L, a: ([0, 1], 1, [3, 2]),
    "int_none_list": lambda L, a: (1, None, slice(None), [1]),
    "ellipsis_int_list": lambda L, a: (Ellipsis, 0, [1, 2]),
    "int_ellipsis_list": lambda L, a: (1, Ellipsis, [3, 0]),
    "int_mask": lambda L, a: (0, a[0].detach() > 0),
    "int_row_mask_slice": lambda L, a: (1, L.tensor([True, False, True]), slice(1, None)),
    "numpy_int_list": lambda L, a: (np.int64(1), slice(None), [0]),
    "int_true_list": lambda L, a: (1, True, slice(None), [0, 2]),
    "int_broadcast_lists": lambda L, a: (0, [[0], [2]], [1, 3]),
}


@pytest.mark.parametrize("name", MIXED_INDEXES)
def test_an_index_of_ints_and_arrays_selects_with_the_ints_first_as_torch(name):
    index = MIXED_INDEXES[name]
    a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) - 11

    def assigned(L, a, value):
        out = a * 1
        out[index(L, a)] = value ** 2
        return out

    for fn, arrays in ((lambda L, a: a[index(L, a)] * 2, (a,)), (assigned, (a, np.array([2.5], np.float32)))):
        assert not isinstance(_run(torch, fn, *arrays), Exception)
        _assert_same(fn, *arrays)


EMPTY_BATCH = {  # an image batch of none, as the last batch of a loader or a filter that kept nothing may give
    "conv2d": lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1),
    "conv_transpose2d": lambda L, x, w: L.nn.functional.conv_transpose2d(x, w.transpose(0, 1), stride=2),
    "bilinear": lambda L, x, w: L.nn.functional.interpolate(x, scale_factor=2, mode="bilinear"),
    "nearest": lambda L, x, w: L.nn.functional.interpolate(x, size=(5, 3)),
    "reflect_pad": lambda L, x, w: L.nn.functional.pad(x, (1, 2, 2, 1), mode="reflect"),
    "max_pool": lambda L, x, w: L.nn.functional.max_pool2d(x, 2),
    "mse_loss": lambda L, x, w: L.nn.functional.mse_loss(x, x.detach() + 1),
    "binary_cross_entropy": lambda L, x, w: L.nn.functional.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid()),
    "smooth_l1_loss": lambda L, x, w: L.nn.functional.smooth_l1_loss(x, x.detach() * 2),
}


@pytest.mark.parametrize("name", EMPTY_BATCH)
def test_an_empty_batch_runs_as_torchs_and_a_mean_of_nothing_is_nan_without_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(EMPTY_BATCH[name], np.zeros((0, 3, 6, 6), np.float32),
                     np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32))


@pytest.mark.parametrize("fn", [lambda t: t.flip(0), lambda t: t.flip(0, 1), lambda t: t.fliplr(), lambda t: t.rot90()],
                         ids=["flip", "flip_two_dims", "fliplr", "rot90"])
def test_a_flip_is_a_copy_as_torch(fn):
    """A write into the result leaves the input as it was, in both libraries."""
    for library in (torch, mg):
        tensor = library.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
        flipped = fn(tensor)
        flipped[0, 0] = 100.0
        assert tensor.tolist() == [[0, 1, 2], [3, 4, 5]], library.__name__


@pytest.mark.parametrize("shape, dim", [((3, 4), None), ((2, 3, 4), (0, 2)), ((2, 3, 4), None), ((4,), None)])
def test_the_nuclear_norm_is_torchs(shape, dim):
    values = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    try:
        expected = torch.tensor(values).norm(p="nuc", dim=dim).numpy()
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match=re.escape(str(error))):
            mg.tensor(values).norm(p="nuc", dim=dim)
        return
    np.testing.assert_allclose(mg.tensor(values).norm(p="nuc", dim=dim).numpy(), expected, rtol=1e-5)


def test_type_names_the_tensor_type_as_torch():
    for array in (np.zeros(2, np.float32), np.zeros(2, np.float64), np.zeros(2, np.int64), np.zeros(2, bool),
                  np.zeros(2, np.uint8)):
        assert mg.tensor(array).type() == torch.tensor(array).type()


def test_shifts_in_place_as_torch():
    ours, theirs = mg.tensor([1, 2, -8]), torch.tensor([1, 2, -8])
    for tensor in (ours, theirs):
        tensor <<= 3
        tensor >>= torch.tensor([1, 0, 2]) if isinstance(tensor, torch.Tensor) else mg.tensor([1, 0, 2])
    assert ours.tolist() == theirs.tolist() and ours.dtype == np.int64


# ---- in-place methods -----------------------------------------------------------------------------------
IN_PLACE = {
    "zero_": lambda L, t, o: t.zero_(),
    "fill_": lambda L, t, o: t.fill_(2.5),
    "fill_0d_tensor": lambda L, t, o: t.fill_(o.sum()),
    "add_alpha": lambda L, t, o: t.add_(o, alpha=2),
    "sub_": lambda L, t, o: t.sub_(o),
    "mul_": lambda L, t, o: t.mul_(o),
    "div_": lambda L, t, o: t.div_(o + 3),
    "clamp_": lambda L, t, o: t.clamp_(-0.5, 0.5),
    "clamp_min_": lambda L, t, o: t.clamp_(min=0.0),
    "copy_": lambda L, t, o: t.copy_(o),
    "copy_broadcast_cast": lambda L, t, o: t.copy_(o[0].double()),
    "masked_fill_": lambda L, t, o: t.masked_fill_(o > 0, -1.0),
    "masked_fill_0d_tensor": lambda L, t, o: t.masked_fill_(o > 0, o[0, 0]),
    "pow_": lambda L, t, o: t.pow_(3),
    "pow_tensor": lambda L, t, o: t.pow_(o.round() + 2),
    "exp_": lambda L, t, o: t.exp_(),
    "log_": lambda L, t, o: t.abs_().log_(),
    "sqrt_": lambda L, t, o: t.abs_().sqrt_(),
    "neg_": lambda L, t, o: t.neg_(),
    "relu_": lambda L, t, o: t.relu_(),
    "sigmoid_": lambda L, t, o: t.sigmoid_(),
    "tanh_": lambda L, t, o: t.tanh_(),
    "clamp_min_method": lambda L, t, o: t.clamp_min_(0.1),
    "clamp_max_method": lambda L, t, o: t.clamp_max_(0.1),
}
_T, _O = (np.random.default_rng(seed).uniform(-1, 1, (2, 3)).astype(np.float32) for seed in (2, 3))


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_methods_recorded_as_torch(name):
    """On a tensor in the graph: the tensor changes, the result is that tensor, the gradients are torch's."""
    def fn(L, x, o):
        t = x * 1.0
        assert IN_PLACE[name](L, t, o) is t
        return t
    _assert_same(fn, _T, _O)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_methods_write_into_the_array_a_view_shares(name):
    """Unrecorded, they write into the tensor's memory: a view taken before sees the change, as in torch."""
    def fn(L, x, o):
        with L.no_grad():
            view = x[1]
            IN_PLACE[name](L, x, o)
        return L.stack([x[1], view])
    _assert_same(fn, _T, _O, requires_grad=False)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_methods_refuse_a_leaf_that_requires_grad(name):
    for L in (torch, mg):
        leaf = L.tensor(_T, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            IN_PLACE[name](L, leaf, L.tensor(_O))


def test_parameter_update_under_no_grad_as_torch():
    def fn(L, w, g):
        with L.no_grad():
            w.mul_(0.9).add_(g, alpha=-0.1).clamp_(-0.2, 0.2)
        return w * 1.0
    _assert_same(fn, _T, _O, requires_grad=False)
    weight = mg.tensor(_T, requires_grad=True)
    with mg.no_grad():
        weight.zero_()
    assert weight.requires_grad and weight.is_leaf and not weight.numpy().any()


@pytest.mark.parametrize("name", ["zero_", "mul_", "copy_", "masked_fill_"])
def test_backward_refuses_a_saved_tensor_written_in_place(name):
    """exp saves its output for backward; writing into that output refuses the backward, as `+=` does."""
    for L in (torch, mg):
        x = L.tensor(_T, requires_grad=True)
        y = x.exp()
        with L.no_grad():
            IN_PLACE[name](L, y, L.tensor(_O))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_in_place_method_keeps_dtype_as_torch():
    _assert_same(lambda L, a: a.long().fill_(2.7), _T, requires_grad=False)
    _assert_same(lambda L, a: a.long().div_(2), _T, requires_grad=False)
    _assert_same(lambda L, a: a.fill_(a[0]), _T, requires_grad=False)
    for L in (torch, mg):
        with pytest.raises(RuntimeError, match="must match the size"):
            L.tensor(_T).copy_(L.zeros(4))
        with pytest.raises(RuntimeError, match="only supports boolean masks"):
            L.tensor(_T).masked_fill(L.tensor([1, 0, 1]), 1.0)


# ---- new tensors of a tensor's kind -------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda L, a: a.new_zeros(2, 3), lambda L, a: a.new_zeros((4,)), lambda L, a: a.new_ones(2, dtype=L.int64),
    lambda L, a: a.new_full((2, 2), 7), lambda L, a: a.new_full((3,), 1.5), lambda L, a: a.long().new_full((2,), 3),
    lambda L, a: a.new_tensor([1, 2]), lambda L, a: a.long().new_tensor([1.7, 2]), lambda L, a: a.double().new_ones(1),
    lambda L, a: a.long().type_as(a), lambda L, a: a.type_as(a.double()), lambda L, a: a.new_tensor(3, dtype=L.int32),
])
def test_new_tensors_as_torch(fn):
    _assert_same(fn, _T, requires_grad=False)


def test_new_tensors_take_the_device_and_requires_grad():
    a = mg.tensor(_T)
    made = a.new_zeros(2, requires_grad=True)
    assert made.requires_grad and made.is_leaf and made.device == a.device
    assert a.new_tensor(_O).numpy().base is None or not np.shares_memory(a.new_tensor(_O).numpy(), _O)
    assert math.isclose(a.new_full((1,), 0.1).item(), np.float32(0.1))


# ---- the GPU code path ---------------------------------------------------------------------------------
IDIOM_SPECS = ["amax_dims", "amin_keepdim", "prod_dim", "prod_dim_with_zeros", "cumsum", "norm_all", "norm_p1_dim",
               "norm_inf_keepdim", "norm_p3_dims", "logsumexp_large_dims_keepdim", "view_as", "repeat", "chunk",
               "split_sections", "unbind", "narrow", "flip", "roll_dims", "roll_flattened", "masked_fill",
               "masked_fill_tensor_value", "gather_dim1", "gather_dim0_smaller_index", "index_select_repeats"]


@pytest.mark.parametrize("name", IDIOM_SPECS)
def test_gpu_path_matches_cpu(name, gpu_path):
    """Every array stays on the device: the ops use no NumPy-only call (gather's scatter-add included)."""
    from test_ops import IDS, SPECS, _inputs, _mg_forward_backward

    spec = SPECS[IDS.index(name)]
    arrays = _inputs(spec, np.float32)
    direction = np.random.default_rng(1).standard_normal(spec.fn(mg, *map(mg.tensor, arrays)).shape)
    cpu, gpu = (_mg_forward_backward(spec, arrays, direction.astype(np.float32), device) for device in ("cpu", "gpu"))
    for ours, reference in zip([gpu[0], *gpu[1]], [cpu[0], *cpu[1]]):  # a GPU sums in another order
        assert relative_error(ours, reference) <= 1e-5


@pytest.mark.parametrize("name", IN_PLACE)
def test_gpu_path_in_place_methods(name, gpu_path):
    results = []
    for device in ("cpu", "gpu"):
        x, o = (mg.tensor(a, device=device) for a in (_T, _O))
        view = x[1]
        IN_PLACE[name](mg, x, o)
        results.append((x.numpy(), view.numpy(), x.new_ones(2).device))
    assert results[1][2] == "gpu"
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-6)


RESHAPES = [(6, (5, 5)), (6, (-1, 4)), (6, (-1, -1)), (0, (-1, 0)), (6, (-2, 3)), (6, (-1, 3)), (6, (2, -1, 3)),
            (0, (0, 5)), (0, (-1,)), (6, (0, -1)), (1, ()), (6, ()), (0, (2, -1, 0)), (12, (3, -1, 0))]


@pytest.mark.parametrize("size, shape", RESHAPES)
def test_reshape_gives_torchs_shape_or_error(size, shape):
    outcomes = []
    for library in (torch, mg):
        try:
            outcomes.append(tuple(library.zeros(size).reshape(shape).shape))
        except RuntimeError as error:
            outcomes.append(str(error))
    assert outcomes[1] == outcomes[0]


def _indexes_joins_shifts_and_empty_batches(device):
    """Mixed indexes read and written, shifts, nonzero(as_tuple), cat with a (0,) tensor, stack, an empty batch's
    conv_transpose2d and softmax: (values, gradients) as NumPy arrays."""
    x = mg.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7, device=device, requires_grad=True)
    weight = mg.tensor(np.ones((3, 2, 2, 2), np.float32), device=device, requires_grad=True)
    y = x * 1
    y[1, :, [0, 3]] = y[0, :, [1, 2]] ** 2
    joined = mg.cat([mg.zeros(0, device=device), y[:, 0], y[0, 1:]]) + mg.stack([y[1, 2], y[0, 0]]).sum()
    empty = mg.nn.functional.conv_transpose2d(mg.zeros((0, 3, 4, 4), device=device), weight, stride=2).softmax(1)
    loss = joined.sum() + (y[0, :, [3, 1]] * 2).sum() + empty.sum()
    loss.backward()
    integers = mg.tensor(np.array([1, -8, 3]), device=device)
    facts = [integers << 2, integers >> mg.tensor(np.array([1, 70, -1]), device=device),
             *mg.where(x[0] > 1), *(x > 2).nonzero(as_tuple=True)]
    assert all(fact.device == device for fact in facts) and loss.device == device
    return [loss.numpy(), x.grad.numpy(), weight.grad.numpy(), *(fact.numpy() for fact in facts)]


def test_gpu_path_indexes_joins_shifts_and_empty_batches(gpu_path):
    for gpu, cpu in zip(_indexes_joins_shifts_and_empty_batches("gpu"), _indexes_joins_shifts_and_empty_batches("cpu")):
        assert gpu.shape == cpu.shape and relative_error(gpu, cpu) <= 1e-6
