"""The CPU's fast paths for the layers of ported models: pooling over overlapping windows on the phase-split flat
layout (contiguous runs per tap), stride-1 grouped convs run as units of one group of one image, and stride-1
depthwise convs on flat padded planes. Values and gradients as torch's (float32), float64 gradchecks, odd sizes,
ceil_mode, dilation, return_indices and NaN, cache-sized blocks shared over threads, the cases that keep the other
paths, and the GPU path against the CPU's."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_matches_torch, made, normal
from minigrad import parallel
from minigrad.ops import conv, pool

torch = pytest.importorskip("torch")


def weight(*shape):
    """A conv weight at the scale of torch's default init, so that float32 sums stay near 1."""
    return normal(*shape, scale=1 / np.sqrt(np.prod(shape[1:])))


@pytest.fixture
def small_blocks(monkeypatch):
    """Every array split over the threads, in blocks of a plane or two (pooling) or a channel (depthwise)."""
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(pool, "BLOCK_BYTES", 1)
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", 1)


# name: (fn(lib, x), input shape); each pools over overlapping windows, so on the phase-split layout
POOLS = {
    "max 3 s2 p1 odd": (lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, 1), (2, 3, 9, 11)),
    "max 3 s2 p1 ceil": (lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 2, 8, 9)),
    "max (3, 2) s(2, 1) dilation (1, 2)": (
        lambda lib, x: lib.nn.functional.max_pool2d(x, (3, 2), (2, 1), (1, 1), dilation=(1, 2)), (2, 2, 7, 8)),
    "max 3 s1 p1": (lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 1, 1), (1, 3, 6, 5)),
    "max 3 s2 no padding": (lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 2), (1, 2, 9, 10)),
    "max 3 s3 dilation 2": (lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 3, 1, dilation=2), (1, 2, 11, 10)),
    "max1d 3 s2 p1": (lambda lib, x: lib.nn.functional.max_pool1d(x, 3, 2, 1), (2, 3, 13)),
    "max3d 3 s2 p1 ceil": (lambda lib, x: lib.nn.functional.max_pool3d(x, 3, 2, 1, ceil_mode=True), (1, 2, 5, 6, 7)),
    "avg 3 s2 p1 odd": (lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, 1), (2, 3, 9, 11)),
    "avg 3 s2 p1 ceil exclude padding": (
        lambda lib, x: lib.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 8, 7)),
    "avg3d (3, 2, 3) s(2, 1, 2)": (lambda lib, x: lib.nn.functional.avg_pool3d(x, (3, 2, 3), (2, 1, 2), 1),
                                    (1, 2, 5, 4, 7)),
}
# disjoint windows: strided windows of x itself, or of its padded copy
DISJOINT_POOLS = {
    "max 2 tiled": (lambda lib, x: lib.nn.functional.max_pool2d(x, 2), (2, 3, 8, 6)),
    "max 2 p1": (lambda lib, x: lib.nn.functional.max_pool2d(x, 2, padding=1), (1, 2, 7, 8)),
    "avg 2 s3": (lambda lib, x: lib.nn.functional.avg_pool2d(x, 2, 3), (1, 2, 9, 8)),
}


def _windows(fn, shape, monkeypatch):
    """The Windows that fn's pooling of an input of `shape` runs on."""
    seen = []
    original = pool.Windows.__init__
    monkeypatch.setattr(pool.Windows, "__init__", lambda self, *args, **kwargs: (
        seen.append(self), original(self, *args, **kwargs))[-1])
    fn(mg, mg.zeros(shape))
    monkeypatch.undo()
    return seen[0]


@pytest.mark.parametrize("name", [*POOLS, *DISJOINT_POOLS])
def test_pooling_matches_torch(name, monkeypatch):
    fn, shape = {**POOLS, **DISJOINT_POOLS}[name]
    assert _windows(fn, shape, monkeypatch).wide == (name in POOLS)
    assert_matches_torch(torch, fn, made([normal(*shape)]))


@pytest.mark.parametrize("name", ["max 3 s2 p1 odd", "avg 3 s2 p1 odd", "max 2 p1"])
def test_pooling_in_blocks_over_the_threads_matches_torch(name, small_blocks):
    fn, shape = {**POOLS, **DISJOINT_POOLS}[name]
    assert_matches_torch(torch, fn, made([normal(*shape)]))


@pytest.mark.parametrize("arguments", [dict(kernel_size=3, stride=2, padding=1),
                                       dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, dilation=(1, 2)),
                                       dict(kernel_size=3, stride=1, padding=1)], ids=str)
def test_max_pool_indices_and_ties_as_torchs(arguments):
    """Rounded values tie often: the first maximum in scan order wins, for the indices and the gradient."""
    x = np.round(np.random.default_rng(3).standard_normal((2, 3, 9, 8)) * 2).astype(np.float32)
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (out, indices), (expected, expected_indices) = (lib.nn.functional.max_pool2d(t, **arguments, return_indices=True)
                                                    for lib, t in ((mg, ours), (torch, theirs)))
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == mg.int64
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_max_pool_nan_windows_as_torchs():
    """A window holding NaN is won by its last NaN; the wide positions past the outputs hold no NaN of their own."""
    x = np.random.default_rng(4).standard_normal((1, 2, 9, 9)).astype(np.float32)
    x[0, 0, 0, 1] = x[0, 0, 2, 2] = x[0, 1, 8, 8] = x[0, 1, 4, 0] = np.nan
    results = []
    for lib in (mg, torch):
        t = lib.tensor(x, requires_grad=True)
        out, indices = lib.nn.functional.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True)
        out.sum().backward()
        results.append([np.asarray(a.detach().numpy() if lib is torch else a.numpy()) for a in (out, indices, t.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name, shape", [("max 3 s2 p1 odd", (1, 2, 5, 7)), ("max3d 3 s2 p1 ceil", (1, 1, 3, 4, 5)),
                                         ("avg 3 s2 p1 ceil exclude padding", (1, 1, 6, 5))])
def test_pooling_gradcheck(name, shape):
    fn, _ = POOLS[name]
    x = mg.tensor(np.random.default_rng(5).standard_normal(shape), requires_grad=True)
    assert mg.gradcheck(lambda t: fn(mg, t), [x])


def test_integer_max_pooling_and_average_pooling_on_the_gpu_path(gpu_path):
    """The GPU pools integers, and averages, on the phase-split layout too."""
    values = np.arange(-40, 59, dtype=np.int32).reshape(1, 1, 9, 11)
    gpu = mg.functional.max_pool2d(mg.tensor(values, device="gpu"), 3, 2, padding=1, ceil_mode=True)
    np.testing.assert_array_equal(gpu.numpy(), torch.nn.functional.max_pool2d(
        torch.from_numpy(values).double(), 3, 2, padding=1, ceil_mode=True).int().numpy())
    fn, shape = POOLS["avg 3 s2 p1 ceil exclude padding"]
    assert_gpu_matches_cpu(fn, made([normal(*shape)]))


# name: (fn(lib, *tensors), makers of the tensors); each a stride-1 conv of several groups
GROUPED = {
    "groups 4, 16 channels a group (stacked row taps)": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1, groups=4),
        [normal(2, 64, 5, 6), weight(32, 16, 3, 3), normal(32)]),
    "groups 2, few channels, dilation, no bias": (
        lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=(2, 1), dilation=(2, 1), groups=2),
        [normal(2, 6, 7, 5), weight(4, 3, 3, 2)]),
    "groups 3, a non-contiguous input": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x.transpose(2, 3), w, b, padding=1, groups=3),
        [normal(2, 6, 5, 7), weight(9, 2, 3, 3), normal(9)]),
    "transposed, groups 2": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, padding=1, groups=2),
        [normal(2, 32, 5, 4), weight(32, 3, 3, 3), normal(6)]),
    "conv1d groups 2": (
        lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, padding=1, groups=2),
        [normal(3, 4, 9), weight(6, 2, 3), normal(6)]),
}
# name: (fn(lib, *tensors), makers, whether the taps read flat runs (stride 1))
DEPTHWISE = {
    "3x3 padding 1": (lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1, groups=3),
                      [normal(2, 3, 7, 9), weight(3, 1, 3, 3), normal(3)], True),
    "multiplier 2, dilation 2, no padding, no bias": (
        lambda lib, x, w: lib.nn.functional.conv2d(x, w, dilation=2, groups=2),
        [normal(2, 2, 8, 7), weight(4, 1, 3, 3)], True),
    "(3, 2) kernel, padding (2, 1), dilation (1, 2)": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=(2, 1), dilation=(1, 2), groups=4),
        [normal(1, 4, 6, 5), weight(4, 1, 3, 2), normal(4)], True),
    "stride 2": (lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, stride=2, padding=1, groups=3),
                 [normal(2, 3, 7, 8), weight(3, 1, 3, 3), normal(3)], False),
}


@pytest.mark.parametrize("name", GROUPED)
def test_grouped_convs_match_torch(name):
    fn, makers = GROUPED[name]
    assert_matches_torch(torch, fn, made(makers))


@pytest.mark.parametrize("name", DEPTHWISE)
def test_depthwise_convs_match_torch(name, monkeypatch):
    fn, makers, flat = DEPTHWISE[name]
    geometries = []
    monkeypatch.setattr(conv, "_conv_depthwise", lambda x, w, b, geometry, run=conv._conv_depthwise: (
        geometries.append(geometry) or run(x, w, b, geometry)))
    assert_matches_torch(torch, fn, made(makers))
    assert [geometry.wide for geometry in geometries] == [flat]


@pytest.mark.parametrize("name", ["3x3 padding 1", "stride 2"])
def test_depthwise_convs_in_blocks_over_the_threads_match_torch(name, small_blocks):
    fn, makers, _ = DEPTHWISE[name]
    assert_matches_torch(torch, fn, made(makers))


@pytest.mark.parametrize("fn, makers", [
    (GROUPED["groups 2, few channels, dilation, no bias"][0], [normal(1, 4, 5, 4), weight(4, 2, 3, 2)]),
    (GROUPED["transposed, groups 2"][0], [normal(1, 4, 3, 4), weight(4, 2, 3, 3), normal(4)]),
    (DEPTHWISE["multiplier 2, dilation 2, no padding, no bias"][0], [normal(1, 2, 6, 5), weight(4, 1, 3, 3)]),
    (DEPTHWISE["(3, 2) kernel, padding (2, 1), dilation (1, 2)"][0], [normal(1, 4, 4, 3), weight(4, 1, 3, 2),
                                                                      normal(4)]),
], ids=["grouped", "transposed grouped", "depthwise multiplier", "depthwise dilated"])
def test_conv_gradcheck(fn, makers):
    inputs = [mg.tensor(a, requires_grad=True) for a in made(makers, seed=2)]
    assert mg.gradcheck(lambda *tensors: fn(mg, *tensors), inputs)


def test_grouped_and_depthwise_convs_on_the_gpu_path(gpu_path):
    """The GPU keeps its column path: its results are the CPU's."""
    for fn, makers in (GROUPED["groups 2, few channels, dilation, no bias"], DEPTHWISE["3x3 padding 1"][:2]):
        assert_gpu_matches_cpu(fn, made(makers))
    assert {"im2col", "col2im"} <= set(gpu_path.launches)
