"""F.interpolate's "bicubic", "area", "nearest-exact" and 1-d modes ("linear", "nearest" and the others on (N, C, L)
inputs), antialias=True, and nn.Upsample with them, against torch: float32 and float64 values and gradients, float64
gradchecks, result dtypes and node names, recompute_scale_factor, the argument errors, the errors of the dtypes torch
does not resize (integers and bool, but uint8 images; float16 anti-aliased), reprs, and the GPU path."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import assert_equals_torchs, assert_raises_as_torch, relative_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# name: (input shape, interpolate's keywords)
CASES = {
    "bicubic_up2": ((2, 3, 5, 7), dict(scale_factor=2, mode="bicubic")),
    "bicubic_up2_corners": ((2, 3, 5, 7), dict(scale_factor=2, mode="bicubic", align_corners=True)),
    "bicubic_frac": ((2, 3, 5, 7), dict(scale_factor=1.5, mode="bicubic", align_corners=False)),
    "bicubic_frac_corners": ((2, 3, 5, 7), dict(scale_factor=1.5, mode="bicubic", align_corners=True)),
    "bicubic_down": ((1, 2, 13, 11), dict(scale_factor=0.6, mode="bicubic")),
    "bicubic_down_corners": ((1, 2, 13, 11), dict(scale_factor=0.6, mode="bicubic", align_corners=True)),
    "bicubic_size_odd": ((1, 2, 5, 7), dict(size=(9, 4), mode="bicubic")),
    "bicubic_size_odd_corners": ((1, 2, 5, 7), dict(size=(9, 4), mode="bicubic", align_corners=True)),
    "bicubic_size_int": ((1, 2, 6, 6), dict(size=11, mode="bicubic")),
    "bicubic_to_one": ((1, 2, 5, 7), dict(size=(1, 3), mode="bicubic", align_corners=True)),
    "bicubic_from_one": ((1, 2, 1, 4), dict(scale_factor=3, mode="bicubic")),
    "bicubic_kept_axis": ((1, 2, 6, 5), dict(scale_factor=(1.05, 2.7), mode="bicubic")),  # resampled, not copied
    "bicubic_recompute": ((1, 2, 5, 7), dict(scale_factor=1.7, mode="bicubic", recompute_scale_factor=True)),
    "bicubic_recompute_false": ((1, 2, 5, 7), dict(scale_factor=1.7, mode="bicubic", recompute_scale_factor=False)),
    "bicubic_big_up": ((1, 1, 4, 3), dict(scale_factor=(3.3, 4.5), mode="bicubic")),
    "bicubic_antialias_down": ((2, 3, 13, 11), dict(scale_factor=0.4, mode="bicubic", antialias=True)),
    "bicubic_antialias_corners": ((1, 2, 16, 9), dict(size=(5, 4), mode="bicubic", align_corners=True,
                                                      antialias=True)),
    "bicubic_antialias_up": ((1, 2, 5, 7), dict(scale_factor=1.7, mode="bicubic", antialias=True)),
    "bilinear_antialias_down": ((2, 3, 13, 11), dict(scale_factor=0.3, mode="bilinear", antialias=True)),
    "bilinear_antialias_mixed": ((1, 2, 6, 12), dict(scale_factor=(2.5, 0.5), mode="bilinear", antialias=True)),
    "bilinear_antialias_corners": ((1, 2, 17, 6), dict(size=(6, 2), mode="bilinear", align_corners=True,
                                                       antialias=True)),
    "area_down_uneven": ((2, 3, 9, 7), dict(size=(4, 3), mode="area")),
    "area_down_even": ((2, 3, 8, 6), dict(scale_factor=0.5, mode="area")),
    "area_up": ((1, 2, 4, 5), dict(scale_factor=1.7, mode="area")),
    "area_size": ((1, 2, 7, 9), dict(size=5, mode="area")),
    "area_1d_down": ((2, 3, 11), dict(size=4, mode="area")),
    "area_1d_scale": ((2, 3, 11), dict(scale_factor=0.5, mode="area")),
    "area_1d_up": ((2, 3, 5), dict(scale_factor=2.3, mode="area")),
    "nearest_exact_up2": ((2, 3, 5, 7), dict(scale_factor=2, mode="nearest-exact")),
    "nearest_exact_frac": ((2, 3, 5, 7), dict(scale_factor=1.5, mode="nearest-exact")),
    "nearest_exact_down": ((1, 2, 13, 11), dict(scale_factor=0.6, mode="nearest-exact")),
    "nearest_exact_size": ((1, 2, 5, 7), dict(size=(9, 4), mode="nearest-exact")),
    "nearest_exact_kept_axis": ((1, 2, 12, 5), dict(scale_factor=(1.05, 2.05), mode="nearest-exact")),
    "nearest_exact_recompute": ((1, 2, 5, 7), dict(scale_factor=1.3, mode="nearest-exact",
                                                   recompute_scale_factor=True)),
    "nearest_exact_1d": ((2, 3, 7), dict(scale_factor=1.5, mode="nearest-exact")),
    "nearest_exact_1d_size": ((2, 3, 7), dict(size=12, mode="nearest-exact")),
    "nearest_exact_1d_down": ((2, 3, 11), dict(scale_factor=0.45, mode="nearest-exact")),
    "linear_up2": ((2, 3, 7), dict(scale_factor=2, mode="linear")),
    "linear_up2_corners": ((2, 3, 7), dict(scale_factor=2, mode="linear", align_corners=True)),
    "linear_frac": ((2, 3, 7), dict(scale_factor=1.5, mode="linear", align_corners=False)),
    "linear_down_corners": ((2, 3, 11), dict(scale_factor=0.6, mode="linear", align_corners=True)),
    "linear_size": ((2, 3, 7), dict(size=12, mode="linear")),
    "linear_size_tuple_corners": ((2, 3, 7), dict(size=(12,), mode="linear", align_corners=True)),
    "linear_to_one": ((2, 3, 7), dict(size=1, mode="linear", align_corners=True)),
    "linear_kept": ((2, 3, 7), dict(scale_factor=1.05, mode="linear")),  # copied, as torch copies it
    "nearest_1d": ((2, 3, 7), dict(scale_factor=1.5)),
    "nearest_1d_down": ((2, 3, 11), dict(scale_factor=0.6, mode="nearest")),
    "nearest_1d_size": ((2, 3, 7), dict(size=[12], mode="nearest")),
    "nearest_1d_up3": ((2, 3, 4), dict(scale_factor=3, mode="nearest")),
}
IDS = list(CASES)
BLOCK_MEANS = ("area_down_even",)  # adaptive_avg_pool2d takes a mean of blocks (MeanBackward1) for sizes that divide
SMOOTH = ("bicubic", "bilinear", "linear")  # the modes whose weights torch computes in float32 for float32 inputs


def _run(library, x, direction, kwargs):
    """interpolate's output and the gradient of (output * direction).sum() of library's tensor x."""
    if library is torch:
        t = torch.from_numpy(x).requires_grad_()
        out = TF.interpolate(t, **kwargs)
        out.backward(torch.from_numpy(direction))
        return out.detach().numpy(), t.grad.numpy(), out.grad_fn.name()
    t = mg.tensor(x, requires_grad=True)
    out = F.interpolate(t, **kwargs)
    (out * mg.tensor(direction)).sum().backward()
    return out.numpy(), t.grad.numpy(), out.grad_fn.name()


def _case(name, dtype):
    shape, kwargs = CASES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.standard_normal(shape).astype(dtype)
    out_shape = TF.interpolate(torch.from_numpy(x), **kwargs).shape
    return x, rng.standard_normal(tuple(out_shape)).astype(dtype), kwargs


@pytest.mark.parametrize("name", IDS)
def test_float32_values_and_gradients_match_torch(name):
    """torch computes a float32 input's interpolation weights in float32, the cubic polynomial's cancelling
    terms included: its values are off by up to ~1e-6 of their largest, ten times minigrad's (float64 weights),
    as the comparison with torch's float64 results shows; so those compare at that scale."""
    x, direction, kwargs = _case(name, np.float32)
    ours, theirs = _run(mg, x, direction, kwargs), _run(torch, x, direction, kwargs)
    exact = _run(torch, x.astype(np.float64), direction.astype(np.float64), kwargs)
    for our, their, truth in zip(ours[:2], theirs[:2], exact[:2]):
        assert our.shape == their.shape and our.dtype == their.dtype == np.float32
        if kwargs.get("mode") in SMOOTH:
            assert relative_error(our, their) <= 3e-6
            assert relative_error(our, truth) <= 3e-7
        else:
            np.testing.assert_allclose(our, their, rtol=1e-5, atol=1e-6)
    if name not in BLOCK_MEANS:
        assert ours[2] == theirs[2]  # the node's name


@pytest.mark.parametrize("name", IDS)
def test_float64_values_and_gradients_match_torch(name):
    x, direction, kwargs = _case(name, np.float64)
    ours, theirs = _run(mg, x, direction, kwargs), _run(torch, x, direction, kwargs)
    for our, their in zip(ours[:2], theirs[:2]):
        assert our.dtype == their.dtype == np.float64
        np.testing.assert_allclose(our, their, rtol=1e-9, atol=1e-10)


GRADCHECKS = ["bicubic_frac", "bicubic_down_corners", "bicubic_kept_axis", "bicubic_antialias_down",
              "bilinear_antialias_corners", "area_down_uneven", "area_1d_up",
              "nearest_exact_frac", "nearest_exact_1d", "linear_frac", "linear_down_corners", "nearest_1d"]


@pytest.mark.parametrize("name", GRADCHECKS)
def test_gradcheck_float64(name):
    shape, kwargs = CASES[name]
    x = mg.tensor(np.random.default_rng(3).standard_normal(shape), requires_grad=True)
    assert mg.gradcheck(lambda t: F.interpolate(t, **kwargs), [x])


@pytest.mark.parametrize("name", ["bicubic_size_odd", "bilinear_antialias_corners", "area_size", "nearest_exact_size"])
def test_gpu_kernels_gradcheck_float64_on_host(name, host_kernels):
    """The GPU variants' gradients (minigrad.kernels, built for the host), which resample with kernels of their own."""
    with mg.profiler.profile() as stats:
        test_gradcheck_float64(name)
    assert any(op.endswith("Kernels") for op, _ in stats.calls), f"no GPU variant among {sorted(stats.calls)}"


# Sizes that torch's backward treats otherwise than its forward: its bicubic backward copies when no size changes
# (its forward resamples with the scale factor), its 1-d nearest backward takes in / out where a size is kept or
# doubled (its forward the scale factor), its anti-aliased backward resamples an axis whose size is kept (its
# forward copies it). minigrad's values are torch's, and its gradients those of these values.
TORCH_BACKWARD_DIFFERS = {
    "bicubic_sizes_kept": ((1, 2, 5, 6), dict(scale_factor=1.05, mode="bicubic")),
    "nearest_1d_kept": ((1, 2, 5), dict(scale_factor=1.05)),
    "nearest_1d_doubled": ((1, 2, 5), dict(scale_factor=2.05)),
    "antialias_kept_axis": ((1, 2, 5, 9), dict(scale_factor=(1.05, 0.4), mode="bilinear", antialias=True)),
}


@pytest.mark.parametrize("name", TORCH_BACKWARD_DIFFERS)
def test_gradient_passes_gradcheck_where_torchs_backward_differs(name):
    shape, kwargs = TORCH_BACKWARD_DIFFERS[name]
    x = np.random.default_rng(4).standard_normal(shape)
    np.testing.assert_allclose(F.interpolate(mg.tensor(x), **kwargs).numpy(),
                               TF.interpolate(torch.from_numpy(x), **kwargs).numpy(), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(lambda t: F.interpolate(t, **kwargs), [mg.tensor(x, requires_grad=True)])


def test_bicubic_overshoots_without_clamping_as_torch():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[..., 2:] = 1.0
    ours = F.interpolate(mg.tensor(x), scale_factor=4, mode="bicubic").numpy()
    theirs = TF.interpolate(torch.from_numpy(x), scale_factor=4, mode="bicubic").numpy()
    assert ours.min() < 0 and ours.max() > 1
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialias_to_one_column_filters_the_rows(mode):
    """torch's anti-aliased CPU forward goes wrong for an output one column wide (every row comes out as the
    first); for an input the same in every column, each output column is the rows' resampling, which torch gives
    for two columns."""
    x = np.repeat(np.random.default_rng(8).standard_normal((1, 1, 23, 1)), 3, axis=3)
    ours = F.interpolate(mg.tensor(x), size=(7, 1), mode=mode, antialias=True).numpy()
    theirs = TF.interpolate(torch.from_numpy(x), size=(7, 2), mode=mode, antialias=True).numpy()
    np.testing.assert_allclose(ours, theirs[..., :1], rtol=1e-12, atol=1e-12)


def test_antialias_false_is_the_default():
    x = mg.tensor(np.random.default_rng(5).standard_normal((1, 2, 5, 7)).astype(np.float32))
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=0.5, mode="bicubic", antialias=False).numpy(),
                                  F.interpolate(x, scale_factor=0.5, mode="bicubic").numpy())


# name: (input shape, interpolate's keywords), each an error of torch's
ERRORS = {
    "bilinear_3d": ((1, 2, 5), dict(scale_factor=2, mode="bilinear")),
    "bicubic_3d": ((1, 2, 5), dict(scale_factor=2, mode="bicubic")),
    "linear_4d": ((1, 2, 5, 5), dict(scale_factor=2, mode="linear")),
    "trilinear_4d": ((1, 2, 5, 5), dict(scale_factor=2, mode="trilinear")),
    "bilinear_5d": ((1, 2, 3, 3, 3), dict(scale_factor=2, mode="bilinear")),
    "nearest_2d": ((2, 5), dict(size=3)),
    "area_2d": ((2, 5), dict(size=3, mode="area")),
    "unknown_mode": ((1, 2, 5, 5), dict(scale_factor=2, mode="cubic")),
    "align_corners_area": ((1, 2, 5, 5), dict(scale_factor=2, mode="area", align_corners=False)),
    "align_corners_nearest_exact": ((1, 2, 5, 5), dict(scale_factor=2, mode="nearest-exact", align_corners=True)),
    "align_corners_nearest_1d": ((1, 2, 5), dict(scale_factor=2, align_corners=True)),
    "antialias_nearest": ((1, 2, 5, 5), dict(scale_factor=2, antialias=True)),
    "antialias_3d": ((1, 2, 5), dict(scale_factor=2, mode="linear", antialias=True)),
    "recompute_with_size": ((1, 2, 5, 5), dict(size=(3, 3), mode="bicubic", recompute_scale_factor=True)),
    "size_length": ((1, 2, 5, 5), dict(size=(3, 3, 3), mode="bicubic")),
    "size_length_1d": ((1, 2, 5), dict(size=(3, 3), mode="linear")),
    "scale_length": ((1, 2, 5), dict(scale_factor=(2, 2), mode="nearest-exact")),
    "size_float": ((1, 2, 5, 5), dict(size=(3.0, 3), mode="bicubic")),
    "size_and_scale": ((1, 2, 5, 5), dict(size=3, scale_factor=2, mode="area")),
    "neither": ((1, 2, 5, 5), dict(mode="bicubic")),
    "empty_bicubic": ((1, 2, 5, 5), dict(scale_factor=0.1, mode="bicubic")),
    "empty_nearest_exact": ((1, 2, 5, 5), dict(size=(0, 3), mode="nearest-exact")),
    "empty_linear": ((1, 2, 5), dict(scale_factor=0.1, mode="linear")),
    "empty_nearest_1d": ((1, 2, 5), dict(size=0)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_torchs(name):
    shape, kwargs = ERRORS[name]
    x = np.zeros(shape, np.float32)
    assert_raises_as_torch(lambda: TF.interpolate(torch.from_numpy(x), **kwargs),
                           lambda: F.interpolate(mg.tensor(x), **kwargs))


# name: (dtype, input shape, interpolate's keywords), each refused by the dtype, with torch's error naming its kernel
DTYPE_ERRORS = {
    "nearest_int64": ("int64", (1, 2, 4, 5), dict(scale_factor=2)),
    "nearest_int64_1d": ("int64", (1, 2, 5), dict(size=3)),
    "nearest_int32_3d": ("int32", (1, 2, 3, 4, 5), dict(scale_factor=2)),
    "nearest_bool": ("bool", (1, 2, 4, 5), dict(size=(3, 7))),
    "nearest_exact_int8": ("int8", (1, 2, 4, 5), dict(scale_factor=1.5, mode="nearest-exact")),
    "nearest_exact_int64_1d": ("int64", (1, 2, 5), dict(size=3, mode="nearest-exact")),
    "linear_int64": ("int64", (1, 2, 5), dict(scale_factor=2, mode="linear")),
    "linear_uint8": ("uint8", (1, 2, 5), dict(scale_factor=2, mode="linear")),
    "bilinear_int64": ("int64", (1, 2, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    "bicubic_int16": ("int16", (1, 2, 4, 5), dict(scale_factor=2, mode="bicubic")),
    "trilinear_uint8": ("uint8", (1, 2, 3, 4, 5), dict(scale_factor=2, mode="trilinear")),
    "antialias_bilinear_int64": ("int64", (1, 2, 6, 8), dict(scale_factor=0.5, mode="bilinear", antialias=True)),
    "antialias_bicubic_float16": ("float16", (1, 2, 6, 8), dict(size=(3, 5), mode="bicubic", antialias=True)),
    "area_int64": ("int64", (1, 2, 6, 8), dict(size=3, mode="area")),
    "empty_output_first": ("int64", (1, 2, 5, 5), dict(scale_factor=0.1, mode="bicubic")),
}


@pytest.mark.parametrize("name", DTYPE_ERRORS)
def test_dtypes_that_torch_does_not_resize_raise_its_error(name):
    dtype, shape, kwargs = DTYPE_ERRORS[name]
    x = np.zeros(shape, dtype)
    assert_raises_as_torch(lambda: TF.interpolate(torch.from_numpy(x), **kwargs),
                           lambda: F.interpolate(mg.tensor(x), **kwargs))


def test_upsample_layer_refuses_int64_as_torch():
    x = np.zeros((1, 2, 4, 5), np.int64)
    assert_raises_as_torch(lambda: torch.nn.Upsample(scale_factor=2)(torch.from_numpy(x)),
                           lambda: mg.nn.Upsample(scale_factor=2)(mg.tensor(x)))


@pytest.mark.parametrize("shape", [(1, 2, 7), (1, 2, 5, 7), (1, 2, 3, 5, 7)])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_resizes_uint8_images_as_torch(shape, mode):
    x = np.random.default_rng(8).integers(0, 256, shape).astype(np.uint8)
    assert_equals_torchs(F.interpolate(mg.tensor(x), scale_factor=1.5, mode=mode),
                         TF.interpolate(torch.from_numpy(x), scale_factor=1.5, mode=mode))


@pytest.mark.parametrize("mode, options", [("bilinear", dict(align_corners=False)), ("bilinear", dict(align_corners=True)),
                                           ("bicubic", dict(align_corners=False)), ("bicubic", dict(align_corners=True)),
                                           ("bilinear", dict(antialias=True)), ("bicubic", dict(antialias=True))],
                         ids=str)
@pytest.mark.parametrize("size", [(14, 18), (4, 5), (65, 20)], ids=str)
def test_interpolating_uint8_images_is_within_a_level_of_torchs(mode, options, size):
    """torch resizes uint8 an axis at a time, each pass rounded to bytes, with fixed-point weights: minigrad's
    float32 passes, rounded alike, land on its values in 9 of 10 or more, one level off elsewhere (weights cast to
    uint8 gave values off by up to 255)."""
    x = np.random.default_rng(9).integers(0, 256, (2, 3, 32, 40)).astype(np.uint8)
    ours = F.interpolate(mg.tensor(x), size=size, mode=mode, **options).numpy()
    theirs = TF.interpolate(torch.from_numpy(x), size=size, mode=mode, **options).numpy()
    assert ours.dtype == theirs.dtype == np.uint8 and ours.shape == theirs.shape
    difference = np.abs(ours.astype(int) - theirs)
    assert difference.max() <= 1 and (difference == 0).mean() >= 0.9


@pytest.mark.parametrize("shape, kwargs, match", [
    ((1, 2, 4, 4), dict(scale_factor=2, mode="lanczos", antialias=True), "'lanczos' resizing"),
])
def test_what_torch_has_and_minigrad_lacks_is_refused_by_name(shape, kwargs, match):
    TF.interpolate(torch.zeros(shape), **kwargs)
    with pytest.raises(NotImplementedError, match=match):
        F.interpolate(mg.zeros(shape), **kwargs)


UPSAMPLES = {
    "bicubic": lambda nn: nn.Upsample(scale_factor=1.5, mode="bicubic"),
    "bicubic_corners_size": lambda nn: nn.Upsample(size=(7, 9), mode="bicubic", align_corners=True),
    "area_tuple_scale": lambda nn: nn.Upsample(scale_factor=(0.5, 2), mode="area"),
    "nearest_exact_recompute": lambda nn: nn.Upsample(scale_factor=1.3, mode="nearest-exact",
                                                      recompute_scale_factor=True),
    "zero_scale_and_size": lambda nn: nn.Upsample(size=(4, 6), scale_factor=0, mode="nearest-exact"),
}


@pytest.mark.parametrize("name", UPSAMPLES)
def test_upsample_layer_passes_the_modes_through_as_torch(name):
    x = np.random.default_rng(6).standard_normal((2, 3, 6, 8)).astype(np.float32)
    ours, theirs = UPSAMPLES[name](mg.nn), UPSAMPLES[name](torch.nn)
    assert repr(ours) == repr(theirs)
    assert ours.scale_factor == theirs.scale_factor and ours.recompute_scale_factor == theirs.recompute_scale_factor
    assert relative_error(ours(mg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy()) <= 3e-6


def test_upsample_layer_resizes_1d_inputs_as_torch():
    x = np.random.default_rng(7).standard_normal((2, 3, 7)).astype(np.float32)
    for make in (lambda nn: nn.Upsample(scale_factor=2, mode="linear", align_corners=True),
                 lambda nn: nn.Upsample(size=5, mode="area")):
        np.testing.assert_allclose(make(mg.nn)(mg.tensor(x)).numpy(), make(torch.nn)(torch.from_numpy(x)).numpy(),
                                   rtol=1e-5, atol=1e-6)


GPU_CASES = ["bicubic_frac", "bicubic_down_corners", "bicubic_antialias_down", "area_down_uneven", "area_down_even",
             "area_1d_up", "nearest_exact_frac", "linear_frac", "nearest_1d"]


def test_gpu_path_matches_cpu(gpu_path):
    for name in GPU_CASES:
        x, direction, kwargs = _case(name, np.float32)
        results = []
        for device in ("cpu", "gpu"):
            t = mg.tensor(x, requires_grad=True, device=device)
            out = F.interpolate(t, **kwargs)
            (out * mg.tensor(direction, device=device)).sum().backward()
            results.append((out.device, out.numpy(), t.grad.numpy(), out.grad_fn.name()))
        (_, cpu_out, cpu_grad, cpu_node), (device, gpu_out, gpu_grad, gpu_node) = results
        assert device == "gpu" and gpu_node == cpu_node, name
        assert relative_error(gpu_out, cpu_out) <= 1e-5, name  # a GPU sums in another order
        assert relative_error(gpu_grad, cpu_grad) <= 1e-5, name
    assert "resize" in gpu_path.launches


def test_uint8_images_resize_on_the_gpu_path_as_on_the_cpu(gpu_path):
    x = np.random.default_rng(10).integers(0, 256, (1, 3, 9, 11)).astype(np.uint8)
    for options in (dict(mode="bicubic"), dict(mode="bilinear", antialias=True)):
        cpu, gpu = (F.interpolate(mg.tensor(x, device=device), size=(5, 17), **options) for device in ("cpu", "gpu"))
        assert gpu.device == "gpu" and gpu.dtype == np.uint8  # a GPU sums in another order: a level at most apart
        assert np.abs(gpu.numpy().astype(int) - cpu.numpy()).max() <= 1


@pytest.mark.parametrize("name, arguments", [
    ("upsample", (None, 2, "bilinear", True)),
    ("upsample", (None, 1.5)),
    ("upsample_nearest", ((5, 9),)),
    ("upsample_bilinear", (None, 2)),
])
def test_deprecated_spellings_of_interpolate_warn_and_resize_as_torchs(name, arguments):
    """Older models call F.upsample, upsample_nearest and upsample_bilinear: torch's warning, then its result."""
    x = np.random.default_rng(0).standard_normal((1, 2, 4, 6)).astype(np.float32)
    with pytest.warns(UserWarning) as ours:
        out = getattr(F, name)(mg.tensor(x), *arguments)
    with pytest.warns(UserWarning) as theirs:
        expected = getattr(TF, name)(torch.tensor(x), *arguments)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__  # the warning points at the caller
    assert relative_error(out.numpy(), expected.numpy()) <= 1e-6

