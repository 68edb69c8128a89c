"""Layers and indexing ops of ported torch models: pixel (un)shuffle, embeddings, adaptive max pooling, the
scatter family (scatter, scatter_add, index_add, index_copy, index_fill and their in-place forms), and the
ParameterList and ParameterDict containers. torch is the oracle: each case is written once against the shared
API and run in both libraries."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mF
import minigrad.nn as mnn
from conftest import assert_raises_as_torch, relative_error

torch = pytest.importorskip("torch")
tF = torch.nn.functional

LIBRARIES = {mg: mF, torch: tF}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _run(lib, fn, arrays, device="cpu"):
    """fn(lib, F, *tensors) (the float ones requiring grad), and its result's values, dtype and the gradients of
    (out * a fixed direction).sum()."""
    tensors = [lib.tensor(a, requires_grad=a.dtype.kind == "f") if lib is torch else
               mg.tensor(a, requires_grad=a.dtype.kind == "f", device=device) for a in arrays]
    out = fn(lib, LIBRARIES[lib], *tensors)
    direction = _rng(1).standard_normal(tuple(out.shape)).astype(np.float32 if out.dtype in (mg.float32, torch.float32)
                                                                 else np.float64)
    if out.requires_grad:
        (out * lib.tensor(direction) if lib is torch else out * mg.tensor(direction, device=device)).sum().backward()
    return (out.detach().numpy(), str(out.dtype).removeprefix("torch."),
            [None if t.grad is None else t.grad.numpy() for t in tensors])


def _assert_matches_torch(fn, *arrays, rtol=1e-5, atol=1e-6):
    ours, theirs = (_run(lib, fn, arrays) for lib in (mg, torch))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=atol)
    assert ours[1] == theirs[1]
    for grad, expected in zip(ours[2], theirs[2]):
        if expected is None:
            assert grad is None
        else:
            np.testing.assert_allclose(grad, expected, rtol=rtol, atol=atol)


def _unique_index(shape, size, dim, seed=2):
    """An int64 index of `shape` whose entries along `dim` are distinct positions below `size` (scatter's writes
    then do not collide, where torch leaves unspecified which one wins)."""
    rng = _rng(seed)
    moved = np.moveaxis(np.empty(shape), dim, -1)
    rows = [rng.permutation(size)[:moved.shape[-1]] for _ in range(int(np.prod(moved.shape[:-1])))]
    return np.moveaxis(np.array(rows, dtype=np.int64).reshape(moved.shape), -1, dim)


X34 = _rng(3).standard_normal((3, 4)).astype(np.float32)
X45 = _rng(4).standard_normal((4, 5)).astype(np.float32)
SRC = _rng(5).standard_normal((4, 6)).astype(np.float32)
REPEATED = np.array([2, 0, 2, 1, 2], dtype=np.int64)
# ties: small integers as floats, so the first maximum of each bin must be the one chosen
TIED = np.round(_rng(6).standard_normal((2, 3, 7, 5)) * 1.5).astype(np.float32)

CASES = {
    "pixel_shuffle": (lambda lib, F, x: F.pixel_shuffle(x, 2),
                      _rng(7).standard_normal((2, 8, 3, 5)).astype(np.float32)),
    "pixel_shuffle_batch_dims": (lambda lib, F, x: F.pixel_shuffle(x, 3),
                                 _rng(8).standard_normal((2, 3, 9, 2, 2)).astype(np.float32)),
    "pixel_shuffle_3d": (lambda lib, F, x: F.pixel_shuffle(x, 2),
                         _rng(9).standard_normal((4, 2, 3)).astype(np.float32)),
    "pixel_unshuffle": (lambda lib, F, x: F.pixel_unshuffle(x, 2),
                        _rng(10).standard_normal((2, 3, 6, 4)).astype(np.float32)),
    "pixel_unshuffle_3d": (lambda lib, F, x: F.pixel_unshuffle(x, 3),
                           _rng(11).standard_normal((2, 3, 6)).astype(np.float32)),
    "embedding": (lambda lib, F, w, i: F.embedding(i, w), X45, np.array([[0, 3, 3], [1, 0, 3]])),
    "embedding_int32": (lambda lib, F, w, i: F.embedding(i, w), X45, np.array([2, 2, 1], dtype=np.int32)),
    "embedding_padding": (lambda lib, F, w, i: F.embedding(i, w, padding_idx=3), X45, np.array([[0, 3, 3], [1, 0, 2]])),
    "embedding_negative_padding": (lambda lib, F, w, i: F.embedding(i, w, padding_idx=-1), X45, np.array([3, 1, 3])),
    "embedding_scale_grad_by_freq": (lambda lib, F, w, i: F.embedding(i, w, scale_grad_by_freq=True), X45,
                                     np.array([[0, 3, 3], [1, 0, 3]])),
    "adaptive_max_overlapping": (lambda lib, F, x: F.adaptive_max_pool2d(x, (3, 4)), TIED),
    "adaptive_max_divisible": (lambda lib, F, x: F.adaptive_max_pool2d(x, 2),
                               _rng(12).standard_normal((2, 3, 4, 6)).astype(np.float32)),
    "adaptive_max_global": (lambda lib, F, x: F.adaptive_max_pool2d(x, 1), TIED),
    "adaptive_max_larger": (lambda lib, F, x: F.adaptive_max_pool2d(x, (9, 6)), TIED),
    "adaptive_max_none": (lambda lib, F, x: F.adaptive_max_pool2d(x, (None, 2)), TIED),
    "adaptive_max_3d": (lambda lib, F, x: F.adaptive_max_pool2d(x, 3), TIED[0]),
    "adaptive_max_indices": (lambda lib, F, x: F.adaptive_max_pool2d(x, (3, 4), return_indices=True)[1], TIED),
    "scatter": (lambda lib, F, x, s, i: x.scatter(1, i, s), X34, SRC[:3, :3], _unique_index((3, 3), 4, 1)),
    "scatter_dim0": (lambda lib, F, x, s, i: x.scatter(0, i, s), X34, SRC[:2, :4], _unique_index((2, 4), 3, 0)),
    "scatter_value": (lambda lib, F, x, i: x.scatter(1, i, 2.5), X34, _unique_index((3, 2), 4, 1)),
    "scatter_int": (lambda lib, F, x, i: x.scatter(1, i, 2.5), X34.astype(np.int64), _unique_index((3, 2), 4, 1)),
    "scatter_add": (lambda lib, F, x, s, i: x.scatter_add(1, i, s), X34, SRC[:2, :3], np.array([[0, 0, 3], [1, 1, 1]])),
    "scatter_add_function": (lambda lib, F, x, s, i: lib.scatter_add(x, 0, i, s), X34, SRC[:2, :4],
                             np.array([[2, 0, 2, 2], [2, 2, 1, 0]])),
    "index_add": (lambda lib, F, x, s, i: x.index_add(0, i, s), X34, SRC[:, :4][[0, 1, 2, 3, 0]], REPEATED),
    "index_add_alpha_dim1": (lambda lib, F, x, s, i: lib.index_add(x, 1, i, s, alpha=-1.5), X34, SRC[:3, :5],
                             np.array([3, 0, 3, 1, 3])),
    "index_copy": (lambda lib, F, x, s, i: x.index_copy(1, i, s), X34, SRC[:3, :2], np.array([3, 1])),
    "index_fill": (lambda lib, F, x, i: x.index_fill(1, i, -2.0), X34, np.array([0, -1])),
    "index_fill_tensor_value": (lambda lib, F, x, v, i: x.index_fill(0, i, v), X34, np.array(1.5, np.float32),
                                np.array([2, 0, 2])),
    "scatter_in_place": (lambda lib, F, x, s, i: (x * 1).scatter_(1, i, s), X34, SRC[:3, :3],
                         _unique_index((3, 3), 4, 1)),
    "scatter_value_in_place": (lambda lib, F, x, i: (x * 1).scatter_(1, i, 4.0), X34, _unique_index((3, 3), 4, 1)),
    "scatter_add_in_place": (lambda lib, F, x, s, i: (x * 2).scatter_add_(0, i, s), X34, SRC[:1, :4],
                             np.array([[2, 0, 2, 2]])),
    "index_add_in_place": (lambda lib, F, x, s, i: (x + 0).index_add_(0, i, s, alpha=2), X34,
                           SRC[:, :4][[0, 1, 2, 3, 0]], REPEATED),
    "index_copy_in_place": (lambda lib, F, x, s, i: (x + 0).index_copy_(0, i, s), X34, SRC[:2, :4], np.array([2, 0])),
    "index_fill_in_place": (lambda lib, F, x, i: (x + 0).index_fill_(1, i, 3.0), X34, np.array([1, 2])),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    fn, *arrays = CASES[name]
    _assert_matches_torch(fn, *arrays)


# integer results have no gradient; padding_idx and scale_grad_by_freq change it on purpose (as torch's)
NOT_DERIVATIVES = ("scatter_int", "adaptive_max_indices", "embedding_padding", "embedding_negative_padding",
                   "embedding_scale_grad_by_freq")
GRADCHECKS = {name: CASES[name] for name in CASES if name not in NOT_DERIVATIVES}


def test_scatter_reads_src_over_index_shape():
    """src may be larger than index: only its leading part, over index's shape, is written, as torch's."""
    index = _unique_index((2, 3), 4, 1)
    ours = mg.tensor(X34).scatter(1, mg.tensor(index), mg.tensor(SRC))
    theirs = torch.tensor(X34).scatter(1, torch.tensor(index), torch.tensor(SRC))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    src = mg.tensor(SRC, requires_grad=True)
    mg.tensor(X34).scatter_add(1, mg.tensor(index), src).sum().backward()
    expected = np.zeros_like(SRC)
    expected[:2, :3] = 1
    np.testing.assert_array_equal(src.grad.numpy(), expected)


@pytest.mark.parametrize("name", GRADCHECKS)
def test_gradcheck(name):
    fn, *arrays = GRADCHECKS[name]
    if name.startswith("adaptive_max"):  # distinct values: a numerical derivative needs a unique maximum
        arrays = [_rng(13).permutation(arrays[0].size).reshape(arrays[0].shape) / 7.0]
    tensors = [mg.tensor(a.astype(np.float64), requires_grad=True) if a.dtype.kind == "f" else mg.tensor(a)
               for a in arrays]
    assert mg.gradcheck(lambda *t: fn(mg, mF, *t), tensors)


def test_adaptive_max_pool2d_gives_values_and_indices_as_torch():
    ours = mF.adaptive_max_pool2d(mg.tensor(TIED), (3, 4), return_indices=True)
    theirs = tF.adaptive_max_pool2d(torch.tensor(TIED), (3, 4), return_indices=True)
    for mine, expected in zip(ours, theirs):
        np.testing.assert_array_equal(mine.numpy(), expected.numpy())
        assert str(mine.dtype) == str(expected.dtype).removeprefix("torch.")
    layer, torch_layer = mnn.AdaptiveMaxPool2d((3, None), return_indices=True), torch.nn.AdaptiveMaxPool2d((3, None),
                                                                                                         True)
    np.testing.assert_array_equal(layer(mg.tensor(TIED))[1].numpy(), torch_layer(torch.tensor(TIED))[1].numpy())
    assert repr(layer) == repr(torch_layer)


def test_pixel_shuffle_undoes_pixel_unshuffle_and_layers_repr_as_torch():
    x = mg.tensor(_rng(14).standard_normal((2, 3, 6, 4)).astype(np.float32))
    np.testing.assert_array_equal(mnn.PixelShuffle(2)(mnn.PixelUnshuffle(2)(x)).numpy(), x.numpy())
    assert repr(mnn.PixelShuffle(2)) == repr(torch.nn.PixelShuffle(2))
    assert repr(mnn.PixelUnshuffle(3)) == repr(torch.nn.PixelUnshuffle(3))


ERRORS = {
    "shuffle_channels": lambda lib, F: F.pixel_shuffle(lib.zeros(1, 5, 2, 2), 2),
    "shuffle_ndim": lambda lib, F: F.pixel_shuffle(lib.zeros(4, 2), 2),
    "shuffle_factor": lambda lib, F: F.pixel_shuffle(lib.zeros(1, 4, 2, 2), 0),
    "shuffle_float_factor": lambda lib, F: F.pixel_shuffle(lib.zeros(1, 4, 2, 2), 2.0),
    "unshuffle_height": lambda lib, F: F.pixel_unshuffle(lib.zeros(1, 1, 3, 4), 2),
    "unshuffle_width": lambda lib, F: F.pixel_unshuffle(lib.zeros(1, 1, 4, 3), 2),
    "unshuffle_factor": lambda lib, F: F.pixel_unshuffle(lib.zeros(1, 1, 4, 4), -1),
    "embedding_float_indices": lambda lib, F: F.embedding(lib.tensor([1.0, 2.0]), lib.zeros(5, 3)),
    "embedding_int16_indices": lambda lib, F: F.embedding(lib.tensor([1, 2]).to(lib.int16), lib.zeros(5, 3)),
    "embedding_out_of_range": lambda lib, F: F.embedding(lib.tensor([1, 5]), lib.zeros(5, 3)),
    "embedding_negative": lambda lib, F: F.embedding(lib.tensor([-1]), lib.zeros(5, 3)),
    "embedding_weight_1d": lambda lib, F: F.embedding(lib.tensor([1]), lib.zeros(5)),
    "embedding_padding_idx": lambda lib, F: F.embedding(lib.tensor([1]), lib.zeros(5, 3), padding_idx=5),
    "embedding_layer_padding_idx": lambda lib, F: lib.nn.Embedding(5, 3, padding_idx=-6),
    "from_pretrained_1d": lambda lib, F: lib.nn.Embedding.from_pretrained(lib.zeros(5)),
    "adaptive_max_ndim": lambda lib, F: F.adaptive_max_pool2d(lib.zeros(5, 5), 2),
    "adaptive_max_long": lambda lib, F: F.adaptive_max_pool2d(lib.zeros(1, 1, 4, 4).long(), 2),
    "scatter_src_dtype": lambda lib, F: lib.zeros(2, 3).scatter(1, lib.tensor([[0], [1]]), lib.zeros(2, 3).double()),
    "scatter_index_dtype": lambda lib, F: lib.zeros(2, 3).scatter(0, lib.tensor([[0.0, 1.0]]), 1.0),
    "scatter_index_ndim": lambda lib, F: lib.zeros(2, 3).scatter(1, lib.tensor([0, 1]), lib.zeros(2, 3)),
    "scatter_out_of_bounds": lambda lib, F: lib.zeros(2, 3).scatter(1, lib.tensor([[0], [3]]), lib.zeros(2, 3)),
    "scatter_negative": lambda lib, F: lib.zeros(3, 4).scatter(0, lib.tensor([[0, -1]]), 1.0),
    "scatter_index_too_large": lambda lib, F: lib.zeros(2, 3).scatter(1, lib.tensor([[0, 1, 2, 0]]), lib.zeros(2, 3)),
    "scatter_src_too_small": lambda lib, F: lib.zeros(2, 3).scatter(1, lib.tensor([[0, 1]] * 2), lib.zeros(2, 1)),
    "scatter_dim": lambda lib, F: lib.zeros(2, 3).scatter(2, lib.tensor([[0, 1]] * 2), 2.5),
    "scatter_add_number": lambda lib, F: lib.zeros(2, 3).scatter_add(1, lib.tensor([[0, 1]] * 2), 2.0),
    "scatter_add_out_of_bounds": lambda lib, F: lib.zeros(2, 3).scatter_add(1, lib.tensor([[0, 5]]), lib.ones(2, 3)),
    "index_add_shape": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([0, 2]), lib.zeros(2, 5)),
    "index_add_count": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([0, 2]), lib.zeros(3, 4)),
    "index_add_matrix": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([[0, 2]]), lib.zeros(2, 4)),
    "index_add_float_index": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([0.0, 2.0]), lib.zeros(2, 4)),
    "index_add_out_of_bounds": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([0, 3]), lib.zeros(2, 4)),
    "index_add_negative": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([0, -1]), lib.zeros(2, 4)),
    "index_add_dtype": lambda lib, F: lib.zeros(3, 4).index_add(0, lib.tensor([0, 2]), lib.zeros(2, 4).double()),
    "index_copy_shape": lambda lib, F: lib.zeros(3, 4, 2).index_copy(1, lib.tensor([0, 2]), lib.zeros(3, 2, 3)),
    "index_copy_int32": lambda lib, F: lib.zeros(3, 4).index_copy(0, lib.tensor([0, 2]).int(), lib.zeros(2, 4)),
    "index_copy_out_of_bounds": lambda lib, F: lib.zeros(3, 4).index_copy(0, lib.tensor([0, 3]), lib.zeros(2, 4)),
    "index_copy_count": lambda lib, F: lib.zeros(3, 4).index_copy(0, lib.tensor([0, 2]), lib.zeros(3, 4)),
    "index_copy_matrix": lambda lib, F: lib.zeros(3, 4).index_copy(0, lib.tensor([[0, 2]]), lib.zeros(2, 4)),
    "index_copy_dtype": lambda lib, F: lib.zeros(3, 4).index_copy(0, lib.tensor([0, 2]), lib.zeros(2, 4).double()),
    "index_fill_int32": lambda lib, F: lib.zeros(3, 4).index_fill(0, lib.tensor([0, 2]).int(), 1.5),
    "index_fill_out_of_bounds": lambda lib, F: lib.zeros(3, 4).index_fill(0, lib.tensor([0, -4]), 1.5),
    "index_fill_matrix": lambda lib, F: lib.zeros(3, 4).index_fill(0, lib.tensor([[0, 2]]), 1.5),
    "index_fill_vector_value": lambda lib, F: lib.zeros(3, 4).index_fill(0, lib.tensor([0, 2]), lib.tensor([1.0, 2.0])),
    "parameter_list_extend": lambda lib, F: lib.nn.ParameterList().extend(3),
    "parameter_list_index": lambda lib, F: lib.nn.ParameterList([lib.zeros(2)])[5],
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torch(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch, tF), lambda: ERRORS[name](mg, mF))


def test_embedding_unsupported_options_are_refused():
    with pytest.raises(NotImplementedError, match="max_norm"):
        mnn.Embedding(5, 3, max_norm=1.0)(mg.tensor([1]))
    with pytest.raises(NotImplementedError, match="sparse"):
        mF.embedding(mg.tensor([1]), mg.zeros(5, 3), sparse=True)
    with pytest.raises(NotImplementedError, match="reduce"):
        mg.zeros(2, 3).scatter(1, mg.tensor([[0]]), mg.zeros(2, 3), reduce="add")


def test_embedding_layer_as_torch():
    mg.manual_seed(0)
    layer = mnn.Embedding(400, 50, padding_idx=3)
    weight = layer.weight.numpy()
    assert weight.dtype == np.float32 and layer.weight.requires_grad
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1) < 0.02  # N(0, 1), as torch's
    np.testing.assert_array_equal(weight[3], 0)
    indices = mg.tensor([[3, 1, 3], [0, 1, 2]])
    layer(indices).sum().backward()
    grad = layer.weight.grad.numpy()
    np.testing.assert_array_equal(grad[3], 0)
    np.testing.assert_array_equal(grad[1], 2)  # a repeated index accumulates
    np.testing.assert_array_equal(grad[[0, 2]], 1)
    np.testing.assert_array_equal(grad[4:], 0)
    for ours, theirs in [(layer, torch.nn.Embedding(400, 50, padding_idx=3)),
                         (mnn.Embedding(5, 3), torch.nn.Embedding(5, 3)),
                         (mnn.Embedding(5, 3, -1, None, 2.0, True), torch.nn.Embedding(5, 3, -1, None, 2.0, True))]:
        assert repr(ours) == repr(theirs)
    assert list(layer.state_dict()) == ["weight"]


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_as_torch(freeze):
    table = _rng(15).standard_normal((4, 2)).astype(np.float32)
    ours = mnn.Embedding.from_pretrained(mg.tensor(table), freeze=freeze, padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze, padding_idx=1)
    np.testing.assert_array_equal(ours.weight.numpy(), table)  # the padding row kept, as torch's
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    assert repr(ours) == repr(theirs)
    indices = np.array([1, 2, 1])
    out, expected = ours(mg.tensor(indices)), theirs(torch.tensor(indices))
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    if not freeze:
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


def _containers(lib):
    """A module holding a ParameterList and a ParameterDict, built and edited as ported code does."""
    class Holder(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3)])
            self.scales.append(lib.ones(1))
            self.scales.extend([lib.zeros(2, 2)])
            self.scales += [lib.ones(4)]
            self.biases = lib.nn.ParameterDict({"b": lib.zeros(2), "a": lib.nn.Parameter(lib.ones(1))})
            self.biases["c"] = lib.ones(3)
            self.biases.update([("d", lib.zeros(1))])
            del self.biases["a"]

    return Holder()


def test_parameter_containers_as_torch():
    ours, theirs = _containers(mg), _containers(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [type(p) for p in ours.scales] == [mnn.Parameter] * len(theirs.scales)
    assert all(p.requires_grad for p in ours.parameters())
    assert [tuple(p.shape) for p in ours.scales[1:3]] == [tuple(p.shape) for p in theirs.scales[1:3]]
    assert type(ours.scales[1:3]) is mnn.ParameterList and list(ours.scales[1:3].state_dict()) == ["0", "1"]
    assert ours.scales[-1].shape == tuple(theirs.scales[-1].shape)
    assert list(ours.biases) == list(theirs.biases) and list(ours.biases.keys()) == list(theirs.biases.keys())
    assert "c" in ours.biases and "a" not in ours.biases and len(ours.biases) == len(theirs.biases)
    assert ours.biases.pop("c").shape == (3,) and list(ours.biases) == ["b", "d"]
    ours.scales[0] = mg.zeros(2)
    assert isinstance(ours.scales[0], mnn.Parameter) and ours.scales[0].numpy().sum() == 0
    assert repr(ours.scales) == repr(theirs.scales)
    ours.load_state_dict(ours.state_dict())


def test_parameter_containers_train_with_an_optimizer():
    holder = _containers(mg)
    optimizer = mg.optim.SGD(holder.parameters(), lr=0.5)
    (holder.scales[0].sum() + holder.biases["b"].sum()).backward()
    optimizer.step()
    np.testing.assert_allclose(holder.scales[0].numpy(), 0.5)
    np.testing.assert_allclose(holder.biases["b"].numpy(), -0.5)


GPU_CASES = ["pixel_shuffle", "pixel_unshuffle", "embedding_padding", "embedding_scale_grad_by_freq",
             "adaptive_max_overlapping", "adaptive_max_indices", "scatter", "scatter_value", "scatter_add", "index_add",
             "index_copy", "index_fill_tensor_value", "index_add_in_place"]


def test_gpu_path_matches_cpu(gpu_path):
    """Every op above runs on the device arrays alone (ufunc.at, bincount, take), as on the CPU."""
    for name in GPU_CASES:
        fn, *arrays = CASES[name]
        cpu, gpu = (_run(mg, fn, arrays, device) for device in ("cpu", "gpu"))
        assert gpu[1] == cpu[1], name
        for ours, reference in zip([gpu[0], *gpu[2]], [cpu[0], *cpu[2]]):
            assert (ours is None) == (reference is None), name
            if ours is not None:
                assert relative_error(ours, reference) <= 1e-5, name
