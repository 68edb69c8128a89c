"""Max and average pooling against torch: modules, return_indices, argument errors, and a sweep of sizes.

tests/test_ops.py holds the gradchecks and the float32 parity of a few pooling variants; here torch is the
oracle over many window geometries at once, forward, backward and indices.
"""
import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad import parallel
from minigrad.ops import pool
from conftest import relative_error, torch_cases

torch = pytest.importorskip("torch")


def _both(array, requires_grad=False):
    return mg.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


MODULES = {
    "max_default_stride": lambda nn: nn.MaxPool2d(3),
    "max_every_argument": lambda nn: nn.MaxPool2d((2, 3), 1, (1, 0), 2, False, True),
    "max_by_keyword": lambda nn: nn.MaxPool2d(kernel_size=3, stride=(2, 1), padding=1, ceil_mode=True),
    "avg_default_stride": lambda nn: nn.AvgPool2d(2),
    "avg_every_argument": lambda nn: nn.AvgPool2d((3, 2), 2, 1, True, False, 4),
    "avg_by_keyword": lambda nn: nn.AvgPool2d(kernel_size=3, stride=2, padding=1, count_include_pad=False),
}


@pytest.mark.parametrize("make", MODULES.values(), ids=MODULES.keys())
def test_pooling_modules_take_torchs_arguments_and_print_as_torch(make):
    ours, theirs = make(mg.nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8)).astype(np.float32)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (3, 9, 8)])
def test_return_indices_are_torchs_even_on_ties(shape):
    """Integers tie often: the first maximal tap's index, into each (H, W) plane, as int64."""
    x = np.random.default_rng(1).integers(0, 3, size=shape).astype(np.float32)
    for arguments in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                      dict(kernel_size=(3, 2), stride=1, padding=(1, 0), dilation=(2, 3))]:
        (out, indices), (expected, expected_indices) = (
            lib.nn.functional.max_pool2d(t, return_indices=True, **arguments) if lib is torch else
            lib.functional.max_pool2d(t, return_indices=True, **arguments) for lib, t in zip((mg, torch), _both(x)))
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
        assert indices.dtype == np.int64 and not indices.requires_grad
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


def test_max_pool_module_returns_indices_and_its_values_still_differentiate():
    x = np.random.default_rng(2).standard_normal((1, 2, 6, 7))
    ours, theirs = _both(x, requires_grad=True)
    (out, indices), (expected, expected_indices) = (lib.nn.MaxPool2d(3, 2, 1, return_indices=True)(t)
                                                    for lib, t in ((mg, ours), (torch, theirs)))
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_a_window_of_minus_infinities_and_padding_picks_its_first_input_as_torch():
    """Padding reads as -inf, yet a window whose inputs are all -inf still sends its gradient and index to its
    first input, never to the padding."""
    x = np.full((1, 1, 4, 5), -np.inf)
    x[0, 0, 2:, 3:] = 1.0
    ours, theirs = _both(x, requires_grad=True)
    out, indices = mg.functional.max_pool2d(ours, 3, 2, padding=1, return_indices=True)
    expected, expected_indices = torch.nn.functional.max_pool2d(theirs, 3, 2, padding=1, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    out.backward(mg.ones(*out.shape, dtype=mg.float64))
    expected.backward(torch.ones_like(expected))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


ERRORS = {
    "padding over half the kernel": (dict(kernel_size=3, padding=2), "both"),
    "padding over half of one side": (dict(kernel_size=(3, 4), padding=(1, 3)), "both"),
    "padding over half the undilated kernel": (dict(kernel_size=3, padding=(1, 2), dilation=(1, 3)), "max"),
    "padding over half a dilated 1-tap kernel": (dict(kernel_size=1, padding=1, dilation=3), "max"),
    "negative padding": (dict(kernel_size=3, padding=-1), "both"),
    "zero stride": (dict(kernel_size=3, stride=0), "both"),
    "zero kernel": (dict(kernel_size=0), "both"),
    "negative kernel": (dict(kernel_size=-1), "both"),
    "negative stride": (dict(kernel_size=2, stride=-1), "both"),
    "zero dilation": (dict(kernel_size=3, dilation=0), "max"),
    "window larger than the input": (dict(kernel_size=7), "both"),
    "three kernel sizes": (dict(kernel_size=(1, 2, 3)), "both"),
    "three strides": (dict(kernel_size=3, stride=(1, 2, 3)), "both"),
    "three paddings": (dict(kernel_size=3, padding=(1, 2, 3)), "both"),
    "three dilations": (dict(kernel_size=3, dilation=(1, 2, 3)), "max"),
    "zero divisor": (dict(kernel_size=3, divisor_override=0), "avg"),
}


@pytest.mark.parametrize("arguments, ops", torch_cases(ERRORS, {"zero kernel", "negative kernel", "negative stride"}))
def test_bad_arguments_are_torchs_errors(arguments, ops):
    x = np.zeros((1, 2, 5, 5), np.float32)
    names = ["max_pool2d", "avg_pool2d"] if ops == "both" else [f"{ops}_pool2d"]
    for name in names:
        with pytest.raises(Exception) as expected:
            getattr(torch.nn.functional, name)(torch.from_numpy(x), **arguments)
        with pytest.raises(expected.type) as error:
            getattr(mg.functional, name)(mg.tensor(x), **arguments)
        assert str(error.value) == str(expected.value)


@pytest.mark.parametrize("shape", [(2, 0, 5, 5), (2, 3, 4, 9, 9)])
def test_inputs_that_are_not_images_are_torchs_error(shape):
    with pytest.raises(RuntimeError) as expected:
        torch.nn.functional.avg_pool2d(torch.zeros(shape), 2)
    for op in (mg.functional.avg_pool2d, mg.functional.max_pool2d):
        with pytest.raises(RuntimeError) as error:
            op(mg.zeros(*shape), 2)
        assert str(error.value) == str(expected.value)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_an_empty_batch_pools_to_an_empty_batch(op):
    out = getattr(mg.functional, op)(mg.zeros(0, 2, 5, 5), 2)
    assert out.shape == tuple(getattr(torch.nn.functional, op)(torch.zeros(0, 2, 5, 5), 2).shape)


def _sweep():
    """(op, arguments) over window geometries: rectangular, strided past the kernel, padded on one side, dilated,
    ceil_mode (windows that run past the padding), and each avg_pool2d divisor."""
    for kernel, stride, padding, ceil_mode in itertools.product([1, 2, 3, (2, 3)], [1, 2, 3, (2, 1)], [0, 1, (1, 0)],
                                                                [False, True]):
        common = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
        for dilation in (1, 2):
            yield "max_pool2d", dict(common, dilation=dilation)
        for count_include_pad in (True, False):
            yield "avg_pool2d", dict(common, count_include_pad=count_include_pad)
        yield "avg_pool2d", dict(common, divisor_override=3)


@pytest.mark.parametrize("h, w", [(5, 9), (6, 4), (7, 7)])
def test_a_sweep_of_window_geometries_matches_torch(h, w):
    rng = np.random.default_rng(h * 10 + w)
    x = rng.standard_normal((2, 3, h, w)).astype(np.float32)
    compared = 0
    for name, arguments in _sweep():
        theirs = torch.tensor(x, requires_grad=True)
        try:
            expected = getattr(torch.nn.functional, name)(theirs, **arguments)
        except RuntimeError as refusal:  # a window too large for this input, or too much padding
            with pytest.raises(RuntimeError, match=f"^{refusal}$".replace("(", r"\(").replace(")", r"\)")):
                getattr(mg.functional, name)(mg.tensor(x), **arguments)
            continue
        ours = mg.tensor(x, requires_grad=True)
        out = getattr(mg.functional, name)(ours, **arguments)
        direction = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
        (expected * torch.from_numpy(direction)).sum().backward()
        (out * mg.tensor(direction)).sum().backward()
        assert relative_error(out.numpy(), expected.detach().numpy()) <= 1e-6, (name, arguments)
        assert relative_error(ours.grad.numpy(), theirs.grad.numpy()) <= 1e-6, (name, arguments)
        if name == "max_pool2d":
            _, indices = mg.functional.max_pool2d(mg.tensor(x), return_indices=True, **arguments)
            _, expected_indices = torch.nn.functional.max_pool2d(torch.from_numpy(x), return_indices=True, **arguments)
            np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
        compared += 1
    assert compared > 300


def test_the_unets_pool_takes_no_padded_copy_and_assigns_its_gradient():
    """2x2, stride 2, on even sizes: the fast path, in which every input pixel is under exactly one tap."""
    windows = pool.Windows((8, 16, 256, 256), (2, 2), (2, 2), (0, 0))
    assert not windows.reaches_padding and windows.disjoint and windows.tiled
    assert len(windows.reductions) == 1


def test_overlapping_windows_pool_an_axis_at_a_time():
    windows = pool.Windows((8, 32, 128, 128), (3, 3), (2, 2), (1, 1))
    assert len(windows.reductions) == 2


@pytest.mark.parametrize("arguments", [dict(kernel_size=3, stride=2, padding=1),
                                       dict(kernel_size=(3, 4), stride=(2, 3)),
                                       dict(kernel_size=3, stride=(1, 2), padding=1, dilation=2, ceil_mode=True)],
                         ids=str)
def test_overlapping_strided_windows_full_of_ties_send_each_gradient_where_torchs_go(arguments):
    """Windows that overlap and stride, pooled an axis at a time (on enough planes to be split over the threads):
    ties, zeros of either sign and infinities everywhere, the first maximum in scan order winning, in both. Small
    integers as the output's gradient, so that every sum is exact."""
    rng = np.random.default_rng(3)
    x = rng.choice(np.array([-np.inf, -1, -0.0, 0, 2], np.float32), size=(4, 48, 41, 37))
    direction = rng.integers(-3, 4, size=(4, 48, 41, 37)).astype(np.float32)
    results = []
    for lib, t in zip((mg, torch), _both(x, requires_grad=True)):
        functional = torch.nn.functional if lib is torch else mg.functional
        out = functional.max_pool2d(t, **arguments)
        (out * lib.tensor(direction[:, :, :out.shape[2], :out.shape[3]])).sum().backward()
        results.append([out.detach().numpy(), t.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name, arguments", [
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=1, padding=(1, 0), dilation=(2, 1))),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", dict(kernel_size=(2, 3), stride=(1, 2), padding=1, divisor_override=4)),
])
def test_the_gpu_path_matches_the_cpu(name, arguments, gpu_path):
    """Max-pool runs its kernels, avg-pool its per-tap slices, on the device throughout."""
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 7)).astype(np.float32)
    direction = np.random.default_rng(6).standard_normal((2, 3, 9, 9)).astype(np.float32)
    results = {}
    for device in ("cpu", "gpu"):
        leaf = mg.tensor(x, requires_grad=True, device=device)
        out = getattr(mg.functional, name)(leaf, **arguments)
        (out * mg.tensor(direction[..., :out.shape[2], :out.shape[3]], device=device)).sum().backward()
        assert out.device == device and leaf.grad.device == device
        results[device] = [out.numpy(), leaf.grad.numpy()]
        if name == "max_pool2d":
            results[device].append(mg.functional.max_pool2d(leaf.detach(), return_indices=True, **arguments)[1].numpy())
    if name == "max_pool2d":
        assert "max_pool" in gpu_path.launches and "max_pool_backward" in gpu_path.launches
    for gpu, cpu in zip(results["gpu"], results["cpu"]):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-7)


def test_average_pooling_on_the_gpu_runs_each_tap_once_over_all_planes(gpu_path, monkeypatch):
    """Host threads and cache-sized blocks serve the CPU only: on a GPU they would multiply the launches."""
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)     # the CPU would split even this small input
    monkeypatch.setattr(pool, "BLOCK_BYTES", 1)

    def refuse(*args):
        raise AssertionError("device planes were split into blocks")

    monkeypatch.setattr(parallel, "split_blocks", refuse)
    leaf = mg.tensor(np.ones((2, 3, 8, 7), np.float32), requires_grad=True, device="gpu")
    mg.functional.avg_pool2d(leaf, 3, 2, padding=1).sum().backward()
    assert leaf.grad.device == "gpu"


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "bool"])
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("padding", [0, 1])
def test_integer_pooling_is_torchs(dtype, name, padding):
    """max_pool2d pools every integer type (padding reads as the type's least value), avg_pool2d int64 only,
    truncating toward zero; the others are torch's NotImplementedError, as bool is for both."""
    values = (np.arange(-20, 30).reshape(1, 2, 5, 5) * 7).astype(dtype) if dtype != "bool" else \
        np.arange(50).reshape(1, 2, 5, 5) % 3 == 0
    extra = dict(return_indices=True) if name == "max_pool2d" else {}

    def outcome(library, make):
        try:
            results = getattr(library, name)(make(values), 3, 2, padding=padding, **extra)
        except NotImplementedError as error:
            return str(error)
        return [(result.numpy().tolist(), str(result.numpy().dtype)) for result in
                (results if isinstance(results, tuple) else (results,))]

    assert outcome(mg.functional, mg.tensor) == outcome(torch.nn.functional, torch.from_numpy)


def test_integer_max_pooling_on_the_gpu_pools_as_on_the_cpu(gpu_path):
    values = np.arange(-20, 30, dtype=np.int32).reshape(1, 2, 5, 5)
    gpu = mg.functional.max_pool2d(mg.tensor(values, device="gpu"), 3, 2, padding=1)
    np.testing.assert_array_equal(gpu.numpy(), mg.functional.max_pool2d(mg.tensor(values), 3, 2, padding=1).numpy())


NAN_WINDOWS = [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=3, stride=2, padding=1),
               dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True)]


def _max_pool_with_nans(library, arguments, device=None):
    x = np.arange(2 * 36, dtype=np.float32).reshape(1, 2, 6, 6)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 1, 5, 5] = x[0, 1, 2, 3] = np.nan  # one window holds two
    t = library.tensor(x, requires_grad=True) if device is None else mg.tensor(x, device=device, requires_grad=True)
    functional = torch.nn.functional if library is torch else mg.functional
    out, indices = functional.max_pool2d(t, **arguments, return_indices=True)
    out.sum().backward()
    return [a.detach().numpy() if library is torch else a.numpy() for a in (out, indices, t.grad)]


@pytest.mark.parametrize("arguments", NAN_WINDOWS, ids=str)
def test_a_window_holding_nan_is_won_by_its_last_nan_as_in_torch(arguments):
    """Its max is NaN, and its gradient and index go to its last NaN (the CPU's gradient went nowhere)."""
    for ours, theirs in zip(_max_pool_with_nans(mg, arguments), _max_pool_with_nans(torch, arguments)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("arguments", NAN_WINDOWS[1:2], ids=str)
def test_a_window_holding_nan_on_the_gpu_path(arguments, gpu_path):
    for ours, theirs in zip(_max_pool_with_nans(mg, arguments, "gpu"), _max_pool_with_nans(mg, arguments)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name, shape, size", [
    ("adaptive_avg_pool2d", (1, 2, 4, 4), 0), ("adaptive_avg_pool2d", (2, 4, 4), (0, 2)),
    ("adaptive_max_pool2d", (1, 2, 4, 4), (3, 0)), ("adaptive_avg_pool1d", (1, 2, 4), 0),
    ("adaptive_max_pool1d", (2, 4), 0), ("adaptive_avg_pool3d", (1, 2, 4, 4, 4), (2, 0, 1)),
    ("adaptive_max_pool3d", (2, 3, 3, 3), (0, 2, 2))])
def test_an_adaptive_pooling_to_size_zero_is_empty_as_torchs(name, shape, size):
    torch = pytest.importorskip("torch")
    x = mg.tensor(np.ones(shape, np.float32), requires_grad=True)
    ours = getattr(mg.functional, name)(x, size)
    theirs = getattr(torch.nn.functional, name)(torch.ones(shape), size)
    assert ours.shape == tuple(theirs.shape) and ours.requires_grad
    ours.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    if "max" in name:
        indices = getattr(mg.functional, name)(x, size, return_indices=True)[1]
        assert indices.shape == ours.shape and indices.dtype == np.int64
