"""Stride-1 transposed convs (1-d, 2-d and 3-d) on the wide path, the adjoint of the conv whose weight they have:
values and gradients of input, weight and bias as torch's over groups, dilation, output_padding (reached by the
input and past it) and padding past the kernel's reach, float64 gradchecks of each rank, the path they take, the
GPU path (the column path there) against the CPU's, and torch's errors for weights of fewer channels than groups."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_matches_torch, assert_raises_as_torch, made, normal
from minigrad import ops

torch = pytest.importorskip("torch")


def weight(*shape):
    """A conv weight at the scale of torch's default init, so that float32 sums stay near 1 (see test_conv3d_port)."""
    return normal(*shape, scale=1 / np.sqrt(np.prod(shape[1:])))


# name: (fn(lib, *tensors), makers of the tensors)
CASES = {
    "1d-groups-dilation-output-padding": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose1d(x, w, b, padding=2, output_padding=1, groups=2,
                                                                dilation=2),
        [normal(2, 4, 9), weight(4, 3, 3), normal(6)]),
    "2d-many-channels": (  # enough channels each way for the GEMMs over stacked row taps
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, padding=1),
        [normal(1, 16, 5, 6, scale=0.5), weight(16, 20, 3, 3), normal(20)]),
    "2d-output-padding-reached-and-past-the-plane": (  # rows: output_padding 1 <= padding 2; columns: 1 > 0
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, padding=(2, 0), output_padding=1,
                                                                dilation=2),
        [normal(1, 3, 5, 6), weight(3, 2, 3, 2), normal(2)]),
    "2d-padding-past-the-kernel": (  # the kernel reaches (2, 2): the flipped conv crops the input
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, padding=(3, 4), output_padding=(1, 0),
                                                                dilation=(2, 1)),
        [normal(2, 3, 8, 9), weight(3, 2, 2, 3), normal(2)]),
    "2d-groups-stacked-and-not": (  # 16 input channels a group forward, 8 in its input gradient's conv
        lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, padding=1, groups=2, dilation=(1, 2)),
        [normal(1, 32, 5, 5), weight(32, 8, 3, 3)]),
    "2d-one-input-channel-per-group": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, padding=1, groups=4),
        [normal(2, 4, 5, 6), weight(4, 3, 3, 3), normal(12)]),
    "2d-depthwise": (  # one channel a group each way: the column path, whose GEMMs batch the groups
        lambda lib, x, w: lib.nn.functional.conv_transpose2d(x, w, padding=1, groups=4),
        [normal(2, 4, 5, 6), weight(4, 1, 3, 3)]),
    "3d-groups-dilation-output-padding": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose3d(x, w, b, padding=(1, 1, 2), output_padding=(1, 0, 0),
                                                                groups=2, dilation=(2, 1, 1)),
        [normal(1, 4, 3, 4, 5, scale=0.5), weight(4, 3, 3, 2, 3), normal(6)]),
    "conv2d-padding-past-the-kernel": (  # a conv's input gradient is the same flipped conv, cropping too
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=(3, 1), dilation=(1, 2)),
        [normal(2, 3, 4, 5), weight(2, 3, 2, 3), normal(2)]),
}
TRANSPOSED = [name for name in CASES if not name.startswith("conv2d")]


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_torch(name):
    fn, makers = CASES[name]
    assert_matches_torch(torch, fn, made(makers))


@pytest.mark.parametrize("name", ["1d-groups-dilation-output-padding", "2d-padding-past-the-kernel",
                                  "3d-groups-dilation-output-padding"])
def test_gradcheck(name):
    fn, makers = CASES[name]
    inputs = [mg.tensor(a, requires_grad=True) for a in made(makers, seed=2)]
    assert mg.gradcheck(lambda *xs: fn(mg, *xs), inputs)


@pytest.mark.parametrize("name", TRANSPOSED)
def test_stride_one_runs_no_column_path_unless_depthwise(name, monkeypatch):
    """The column path's col2im is the one step every transposed conv there takes."""
    calls = []
    col2im = ops.ConvTranspose2d.col2im
    monkeypatch.setattr(ops.ConvTranspose2d, "col2im", staticmethod(lambda *args: calls.append(1) or col2im(*args)))
    fn, makers = CASES[name]
    inputs = [mg.tensor(a, requires_grad=True) for a in made(makers)]
    fn(mg, *inputs).sum().backward()
    assert bool(calls) == (name == "2d-depthwise")


@pytest.mark.parametrize("name", ["1d-groups-dilation-output-padding", "2d-groups-stacked-and-not"])
def test_gpu_path_matches_cpu(name, gpu_path):
    fn, makers = CASES[name]
    assert_gpu_matches_cpu(fn, made(makers))
    assert {"im2col", "col2im"} <= set(gpu_path.launches)  # the GPU runs every stride on the column path


@pytest.mark.parametrize("name, x_shape, weight_shape, groups, bias", [
    ("conv_transpose1d", (2, 0, 5), (0, 3, 3), 1, None),
    ("conv_transpose2d", (2, 1, 5, 5), (1, 2, 3, 3), 2, 5),
    ("conv_transpose3d", (2, 0, 3, 3, 3), (0, 3, 1, 1, 1), 1, None),
    ("conv1d", (2, 4, 5), (1, 2, 3), 2, None),
    ("conv2d", (2, 4, 5, 5), (0, 4, 3, 3), 1, 3),          # groups are checked ahead of the bias
    ("conv3d", (1, 4, 3, 3, 3), (3, 2, 1, 1, 1), 2, 5),
], ids=str)
def test_weight_of_fewer_channels_than_groups_errors_as_torch(name, x_shape, weight_shape, groups, bias):
    def call(lib):
        tensors = [lib.ones(shape) for shape in (x_shape, weight_shape)] + [None if bias is None else lib.ones(bias)]
        return getattr(lib.nn.functional, name)(*tensors, groups=groups)

    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))
