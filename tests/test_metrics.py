"""unet.metrics against independent oracles: skimage.metrics and first-principles NumPy."""
import numpy as np
import pytest
from scipy import ndimage
from skimage import data as skdata
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.transform import resize

from minigrad import backend
from unet import metrics

TOL = 1e-6
SIZE = (128, 160)
ODD_SIZE = (97, 131)


def _channel_first(image, size):
    """skimage.data image -> float64 (C, H, W) in [0, 1], resized then cropped to `size`."""
    image = np.asarray(image, dtype=np.float64) / 255.0
    if image.ndim == 2:
        image = image[..., None]
    h, w = size
    scale = max(h / image.shape[0], w / image.shape[1]) * 1.1
    new_shape = (round(image.shape[0] * scale), round(image.shape[1] * scale))
    image = resize(image, new_shape, anti_aliasing=True)[:h, :w]
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def _degrade(image, seed):
    """Blur + per-channel cast + noise, seeded, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    blurred = ndimage.gaussian_filter(image, sigma=(0, 1.3, 1.3))
    gains = rng.uniform(0.8, 0.95, size=(image.shape[0], 1, 1))
    offsets = rng.uniform(0.02, 0.1, size=(image.shape[0], 1, 1))
    noisy = gains * blurred + offsets + rng.normal(0, 0.04, size=image.shape)
    return np.clip(noisy, 0.0, 1.0)


PHOTOS = {
    "astronaut": skdata.astronaut,
    "coffee": skdata.coffee,
    "chelsea": skdata.chelsea,
    "camera": skdata.camera,
    "gravel": skdata.gravel,
}
CASES = [(name, size) for name in PHOTOS for size in (SIZE, ODD_SIZE)]


@pytest.fixture(scope="module")
def pairs():
    """{(name, size): (pred, target)} for every test photo and size."""
    result = {}
    for seed, (name, size) in enumerate(CASES):
        target = _channel_first(PHOTOS[name](), size)
        result[(name, size)] = (_degrade(target, seed), target)
    return result


def _hwc(image):
    return image.transpose(1, 2, 0)


def _skimage_ssim(pred, target, window, full=False):
    settings = {"gaussian": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
                "uniform7": {}}[window]
    return structural_similarity(_hwc(pred), _hwc(target), data_range=1.0, channel_axis=-1, full=full, **settings)


def _masks(h, w):
    """A rectangle and a disk, the hand-made masks for the masked metrics."""
    rows, cols = np.mgrid[:h, :w]
    rectangle = (rows >= 10) & (rows < 40) & (cols >= 20) & (cols < 90)
    disk = (rows - h * 0.6) ** 2 + (cols - w * 0.5) ** 2 <= (min(h, w) * 0.25) ** 2
    return {"rectangle": rectangle, "disk": disk}


# ----------------------------------------------------------------------------- PSNR / SSIM vs skimage

@pytest.mark.parametrize("name, size", CASES)
def test_psnr_matches_skimage(pairs, name, size):
    pred, target = pairs[(name, size)]
    expected = peak_signal_noise_ratio(target, pred, data_range=1.0)
    assert abs(metrics.psnr(pred, target) - expected) <= TOL


@pytest.mark.parametrize("window", metrics.SSIM_WINDOWS)
@pytest.mark.parametrize("name, size", CASES)
def test_ssim_matches_skimage(pairs, name, size, window):
    pred, target = pairs[(name, size)]
    value = metrics.ssim(pred, target, window=window)
    assert isinstance(value, float)
    assert abs(value - _skimage_ssim(pred, target, window)) <= TOL


@pytest.mark.parametrize("window", metrics.SSIM_WINDOWS)
@pytest.mark.parametrize("name", ["astronaut", "gravel"])
def test_ssim_map_matches_skimage_full_map(pairs, name, window):
    pred, target = pairs[(name, ODD_SIZE)]
    _, expected = _skimage_ssim(pred, target, window, full=True)
    np.testing.assert_allclose(metrics.ssim_map(pred, target, window=window), expected.transpose(2, 0, 1),
                               rtol=0, atol=TOL)


def test_data_range_scales_like_skimage(pairs):
    pred, target = (255 * a for a in pairs[("coffee", SIZE)])
    expected = structural_similarity(_hwc(pred), _hwc(target), data_range=255.0, channel_axis=-1,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert abs(metrics.ssim(pred, target, data_range=255.0) - expected) <= TOL
    assert abs(metrics.psnr(pred, target, data_range=255.0)
               - peak_signal_noise_ratio(target, pred, data_range=255.0)) <= TOL


def test_identical_images_are_perfect(pairs):
    _, target = pairs[("chelsea", SIZE)]
    assert metrics.psnr(target, target) == np.inf
    assert abs(metrics.ssim(target, target) - 1.0) <= TOL


def test_batch_gives_the_same_values_as_single_calls(pairs):
    names = ["astronaut", "coffee", "chelsea"]
    preds = np.stack([pairs[(n, SIZE)][0] for n in names])
    targets = np.stack([pairs[(n, SIZE)][1] for n in names])
    for function in (metrics.psnr, metrics.ssim, metrics.affine_fit_psnr,
                     lambda p, t: metrics.ssim(p, t, window="uniform7")):
        batch = function(preds, targets)
        assert isinstance(batch, np.ndarray) and batch.shape == (len(names),)
        np.testing.assert_allclose(batch, [function(p, t) for p, t in zip(preds, targets)], rtol=0, atol=1e-12)


def test_float32_inputs_are_measured_in_float64(pairs):
    pred, target = pairs[("camera", SIZE)]
    value = metrics.ssim(pred.astype(np.float32), target.astype(np.float32))
    expected = _skimage_ssim(pred.astype(np.float32).astype(np.float64),
                             target.astype(np.float32).astype(np.float64), "gaussian")
    assert abs(value - expected) <= TOL


@pytest.mark.parametrize("call, message", [
    (lambda p, t: metrics.psnr(p, t[:, :-1]), "shapes differ"),
    (lambda p, t: metrics.psnr(p[0, 0], t[0, 0]), "expected"),
    (lambda p, t: metrics.ssim(p, t, window="box"), "unknown SSIM window"),
    (lambda p, t: metrics.ssim(p[:, :5, :5], t[:, :5, :5]), "smaller than"),
    (lambda p, t: metrics.masked_psnr(p, t, np.ones((3, 3))), "mask shape"),
    (lambda p, t: metrics.psnr(p, t, data_range=0), "data_range"),
])
def test_bad_inputs_raise_clear_errors(pairs, call, message):
    pred, target = pairs[("coffee", SIZE)]
    with pytest.raises(ValueError, match=message):
        call(pred, target)


# ----------------------------------------------------------------------------- masked metrics

@pytest.mark.parametrize("mask_name", ["rectangle", "disk"])
@pytest.mark.parametrize("name, size", [("astronaut", SIZE), ("camera", ODD_SIZE)])
def test_masked_psnr_from_first_principles(pairs, name, size, mask_name):
    pred, target = pairs[(name, size)]
    mask = _masks(*size)[mask_name]
    squared_errors = ((pred - target) ** 2)[:, mask]
    expected = 10 * np.log10(1.0 / squared_errors.mean())
    assert abs(metrics.masked_psnr(pred, target, mask) - expected) <= TOL


@pytest.mark.parametrize("mask_name", ["rectangle", "disk"])
@pytest.mark.parametrize("name, size", [("coffee", SIZE), ("gravel", ODD_SIZE)])
def test_masked_ssim_against_skimage_full_map(pairs, name, size, mask_name):
    pred, target = pairs[(name, size)]
    mask = _masks(*size)[mask_name]
    _, full_map = _skimage_ssim(pred, target, "gaussian", full=True)
    expected = full_map.mean(axis=-1)[mask].mean()
    assert abs(metrics.masked_ssim(pred, target, mask) - expected) <= TOL


@pytest.mark.parametrize("mask_name", ["rectangle", None])
def test_ssim_with_masked_gives_both_of_one_map_as_skimage(pairs, mask_name):
    pred, target = pairs[("coffee", ODD_SIZE)]
    mask = None if mask_name is None else _masks(*ODD_SIZE)[mask_name]
    whole, masked = metrics.ssim_with_masked(pred, target, mask)
    mean, full_map = _skimage_ssim(pred, target, "gaussian", full=True)
    assert abs(whole - mean) <= TOL
    if mask is None:
        assert np.isnan(masked)
    else:
        assert abs(masked - full_map.mean(axis=-1)[mask].mean()) <= TOL
    batch = metrics.ssim_with_masked(pred[None], target[None], None if mask is None else mask[None])
    np.testing.assert_allclose(np.ravel(batch), [whole, masked], rtol=0, atol=1e-12)


def test_mask_layouts_and_dtypes_agree(pairs):
    names = ["astronaut", "chelsea"]
    preds = np.stack([pairs[(n, SIZE)][0] for n in names])
    targets = np.stack([pairs[(n, SIZE)][1] for n in names])
    masks = _masks(*SIZE)
    boolean = np.stack([masks["rectangle"], masks["disk"]])
    layouts = [boolean, boolean[:, None], 255 * boolean.astype(np.uint8), boolean.astype(np.float32)]
    for function in (metrics.masked_psnr, metrics.masked_ssim):
        reference = function(preds, targets, boolean)
        np.testing.assert_allclose(reference, [function(p, t, m) for p, t, m in zip(preds, targets, boolean)],
                                   rtol=0, atol=1e-12)
        for layout in layouts[1:]:
            np.testing.assert_array_equal(function(preds, targets, layout), reference)


def test_empty_mask_gives_nan_and_is_counted_as_skipped(pairs):
    names = ["astronaut", "coffee", "chelsea"]
    preds = np.stack([pairs[(n, SIZE)][0] for n in names])
    targets = np.stack([pairs[(n, SIZE)][1] for n in names])
    masks = np.stack([_masks(*SIZE)["disk"], np.zeros(SIZE, bool), _masks(*SIZE)["rectangle"]])
    for function in (metrics.masked_psnr, metrics.masked_ssim):
        values = function(preds, targets, masks)
        assert np.isnan(values[1]) and not np.isnan(values[[0, 2]]).any()
        mean, skipped = metrics.masked_mean_summary(values)
        assert skipped == 1
        assert abs(mean - (values[0] + values[2]) / 2) <= 1e-12
    assert np.isnan(metrics.masked_psnr(preds[0], targets[0], np.zeros(SIZE)))
    mean, skipped = metrics.masked_mean_summary([np.nan, np.nan])
    assert np.isnan(mean) and skipped == 2


# ----------------------------------------------------------------------------- affine-fit PSNR

def test_affine_fit_undoes_an_exact_per_channel_cast(pairs):
    _, target = pairs[("astronaut", SIZE)]
    gains = np.array([0.7, 0.85, 0.5])[:, None, None]
    offsets = np.array([0.1, 0.05, 0.3])[:, None, None]
    cast = gains * target + offsets
    assert cast.min() >= 0 and cast.max() <= 1
    assert metrics.affine_fit_psnr(cast, target) > 100
    assert metrics.psnr(cast, target) < 30


@pytest.mark.parametrize("name, size", [("coffee", SIZE), ("chelsea", ODD_SIZE), ("camera", SIZE)])
def test_channel_affine_fit_matches_polyfit(pairs, name, size):
    pred, target = pairs[(name, size)]
    gains, offsets = metrics.channel_affine_fit(pred, target)
    for channel in range(pred.shape[0]):
        gain, offset = np.polyfit(pred[channel].ravel(), target[channel].ravel(), deg=1)
        assert abs(gains[channel] - gain) <= 1e-9 and abs(offsets[channel] - offset) <= 1e-9


def test_affine_fit_psnr_from_lstsq_and_never_below_psnr():
    rng = np.random.default_rng(7)
    for _ in range(5):
        target = rng.uniform(0, 1, size=(3, 24, 32))
        pred = np.clip(rng.uniform(0.3, 1.5) * target + rng.uniform(-0.3, 0.3) + rng.normal(0, 0.1, target.shape), 0, 1)
        fitted = np.empty_like(pred)
        for c in range(3):
            design = np.stack([pred[c].ravel(), np.ones(pred[c].size)], axis=1)
            (gain, offset), *_ = np.linalg.lstsq(design, target[c].ravel(), rcond=None)
            fitted[c] = np.clip(gain * pred[c] + offset, 0, 1)
        expected = 10 * np.log10(1.0 / np.mean((fitted - target) ** 2))
        value = metrics.affine_fit_psnr(pred, target)
        assert abs(value - expected) <= TOL
        assert value >= metrics.psnr(pred, target)


def test_constant_channel_fits_the_target_mean():
    rng = np.random.default_rng(3)
    target = rng.uniform(0, 1, size=(2, 16, 16))
    pred = np.full_like(target, 0.4)
    gains, offsets = metrics.channel_affine_fit(pred, target)
    np.testing.assert_allclose(gains, 0.0)
    np.testing.assert_allclose(offsets, target.mean(axis=(1, 2)))


# ----------------------------------------------------------------------------- CuPy

def test_cupy_arrays_give_the_numpy_values(pairs):
    if not backend.gpu_available():
        pytest.skip("needs CuPy and a CUDA device")
    cupy = backend.cupy_module()
    names = ["astronaut", "chelsea"]
    preds = np.stack([pairs[(n, SIZE)][0] for n in names])
    targets = np.stack([pairs[(n, SIZE)][1] for n in names])
    masks = np.stack([_masks(*SIZE)["disk"], _masks(*SIZE)["rectangle"]])
    calls = {
        "psnr": lambda p, t, m: metrics.psnr(p, t),
        "ssim": lambda p, t, m: metrics.ssim(p, t),
        "ssim_uniform7": lambda p, t, m: metrics.ssim(p, t, window="uniform7"),
        "masked_psnr": metrics.masked_psnr,
        "masked_ssim": metrics.masked_ssim,
        "affine_fit_psnr": lambda p, t, m: metrics.affine_fit_psnr(p, t),
    }
    for name, call in calls.items():
        on_gpu = call(cupy.asarray(preds), cupy.asarray(targets), cupy.asarray(masks))
        assert isinstance(on_gpu, cupy.ndarray), name
        np.testing.assert_allclose(cupy.asnumpy(on_gpu), call(preds, targets, masks), rtol=0, atol=1e-9,
                                   err_msg=name)
    single = metrics.ssim(cupy.asarray(preds[0]), cupy.asarray(targets[0]))
    assert isinstance(single, float)
    assert metrics.masked_mean_summary(cupy.asarray([1.0, np.nan, 3.0])) == (2.0, 1)
