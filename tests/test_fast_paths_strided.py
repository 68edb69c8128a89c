"""Strided depthwise convs on the CPU run on pooling's tap layout (minigrad.ops.taps): overlapping taps read
contiguous runs of the padded planes split into phases per stride; disjoint taps read strided windows of the padded
planes, or of x itself. Values and gradients as torch's (float32), in cache-sized blocks over the threads too,
float64 gradchecks, and the GPU path (its column path) against the CPU's."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_matches_torch, made, normal
from minigrad import parallel
from minigrad.ops import conv

torch = pytest.importorskip("torch")


def weight(*shape):
    """A conv weight at the scale of torch's default init, so that float32 sums stay near 1."""
    return normal(*shape, scale=1 / np.sqrt(np.prod(shape[1:])))


def depthwise(groups, **options):
    """F.conv2d with one input channel per group, and a bias where one is given."""
    return lambda lib, x, w, b=None: lib.nn.functional.conv2d(x, w, b, groups=groups, **options)


# name: (fn(lib, *tensors), makers, whether the taps read flat runs of the phases (they overlap))
STRIDED = {
    "3x3 stride 2 padding 1, odd sizes": (depthwise(3, stride=2, padding=1),
                                          [normal(2, 3, 9, 11), weight(3, 1, 3, 3), normal(3)], True),
    "5x5 stride 2 padding 2, multiplier 2": (depthwise(2, stride=2, padding=2),
                                             [normal(2, 2, 11, 8), weight(4, 1, 5, 5), normal(4)], True),
    "3x3 stride 2 no padding, even sizes, no bias": (depthwise(3, stride=2), [normal(1, 3, 8, 10), weight(3, 1, 3, 3)],
                                                     True),
    "5x5 stride 3 padding 2 dilation 2": (depthwise(2, stride=3, padding=2, dilation=2),
                                          [normal(2, 2, 13, 12), weight(2, 1, 5, 5), normal(2)], True),
    "(3, 5) kernel, stride (2, 3), padding (0, 2)": (depthwise(4, stride=(2, 3), padding=(0, 2)),
                                                     [normal(1, 4, 9, 10), weight(4, 1, 3, 5), normal(4)], True),
    "3x3 stride 2 padding 1, a non-contiguous input": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x.transpose(2, 3), w, b, stride=2, padding=1, groups=3),
        [normal(2, 3, 7, 9), weight(3, 1, 3, 3), normal(3)], True),
    "conv1d 5 stride 2 padding 2": (
        lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, stride=2, padding=2, groups=3),
        [normal(2, 3, 13), weight(3, 1, 5), normal(3)], True),
    "3x3 stride 3, disjoint, no padding: x itself": (depthwise(2, stride=3), [normal(2, 2, 10, 9), weight(2, 1, 3, 3)],
                                                     False),
    "1x1 stride 2 padding 1, disjoint: padded planes": (depthwise(3, stride=2, padding=1),
                                                        [normal(1, 3, 6, 7), weight(6, 1, 1, 1), normal(6)], False),
}


@pytest.mark.parametrize("name", STRIDED)
def test_strided_depthwise_convs_match_torch(name, depthwise_geometries):
    fn, makers, flat = STRIDED[name]
    assert_matches_torch(torch, fn, made(makers))
    assert [geometry.layout.wide for geometry in depthwise_geometries] == [flat]


@pytest.mark.parametrize("name", ["5x5 stride 2 padding 2, multiplier 2",
                                  "3x3 stride 3, disjoint, no padding: x itself"])
def test_strided_depthwise_convs_in_blocks_over_the_threads_match_torch(name, monkeypatch):
    """Every array split over the threads, a channel a block."""
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", 1)
    fn, makers, _ = STRIDED[name]
    assert_matches_torch(torch, fn, made(makers))


def test_strided_depthwise_input_or_weight_gradient_alone_matches_torch():
    """A frozen weight (dX alone) and a frozen input (dW alone)."""
    fn, makers, _ = STRIDED["5x5 stride 2 padding 2, multiplier 2"]
    x, w, b = made(makers)
    for needs in ((True, False), (False, True)):
        grads = []
        for lib in (mg, torch):
            tensors = [lib.tensor(a.astype(np.float32), requires_grad=need) for a, need in zip((x, w), needs)]
            fn(lib, *tensors, lib.tensor(b.astype(np.float32))).square().sum().backward()
            grads.append(next(np.asarray(t.grad.numpy()) for t in tensors if t.requires_grad))
        np.testing.assert_allclose(*grads, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn, makers", [
    (STRIDED["5x5 stride 2 padding 2, multiplier 2"][0], [normal(1, 2, 7, 6), weight(4, 1, 5, 5), normal(4)]),
    (STRIDED["5x5 stride 3 padding 2 dilation 2"][0], [normal(1, 2, 8, 7), weight(2, 1, 5, 5), normal(2)]),
    (STRIDED["3x3 stride 3, disjoint, no padding: x itself"][0], [normal(1, 2, 7, 6), weight(2, 1, 3, 3)]),
], ids=["stride 2 multiplier", "stride 3 dilated", "stride 3 disjoint"])
def test_strided_depthwise_gradcheck(fn, makers):
    inputs = [mg.tensor(a, requires_grad=True) for a in made(makers, seed=2)]
    assert mg.gradcheck(lambda *tensors: fn(mg, *tensors), inputs)


def test_strided_depthwise_convs_on_the_gpu_path(gpu_path):
    """The GPU keeps its column path: its results are the CPU's."""
    fn, makers, _ = STRIDED["3x3 stride 2 padding 1, odd sizes"]
    assert_gpu_matches_cpu(fn, made(makers))
    assert {"im2col", "col2im"} <= set(gpu_path.launches)
