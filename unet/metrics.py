"""Image-quality metrics for evaluation: PSNR, SSIM (Wang et al.), masked variants, affine-fit PSNR.

Plain array functions (no autograd) written once for NumPy and CuPy, so validation can run
where the images already are. SSIM reproduces `skimage.metrics.structural_similarity`
exactly, including its 'reflect' borders and the border crop of the mean, so numbers are
comparable with the authors' scripts and the paper.

Layout: images are channel-first. A batch (N, C, H, W) gives one value per image, shape (N,),
in the same array library; a single image (C, H, W) gives a Python float. Values lie in
[0, data_range]. Everything is computed in float64.
"""
import math

import numpy as np

from minigrad.backend import get_array_module, scipy_module

SSIM_WINDOWS = ("gaussian", "uniform7")
_K1, _K2 = 0.01, 0.03


# ----------------------------------------------------------------------------- input handling

def _as_batch(pred, target):
    """float64 (N, C, H, W) copies of pred and target, and whether a single image was given."""
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {pred.shape} vs {target.shape}")
    if pred.ndim not in (3, 4):
        raise ValueError(f"expected (C, H, W) or (N, C, H, W) images, got shape {pred.shape}")
    xp = get_array_module(pred)
    single = pred.ndim == 3
    pred, target = (xp.asarray(a, dtype=xp.float64) for a in (pred, target))
    if single:
        pred, target = pred[None], target[None]
    return pred, target, single


def _as_mask_batch(mask, image_shape, single):
    """Mask as float64 (N, H, W) of 0/1 (nonzero = inside) matching a (N, C, H, W) batch."""
    n, _, h, w = image_shape
    xp = get_array_module(mask)
    mask = xp.asarray(mask)
    if single and mask.ndim in (2, 3):
        mask = mask[None]
    if mask.ndim == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]
    if mask.shape != (n, h, w):
        expected = "(H, W) or (1, H, W)" if single else "(N, H, W) or (N, 1, H, W)"
        raise ValueError(f"mask shape {mask.shape} does not fit images {image_shape}: expected {expected}")
    return (mask != 0).astype(xp.float64)


def _per_image(values, single):
    return float(values[0]) if single else values


def _check_data_range(data_range):
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")


# ----------------------------------------------------------------------------- PSNR

def _psnr_from_mse(mse, data_range):
    """10·log10(R²/mse): inf for a perfect match, NaN where mse is 0/0 (an empty mask)."""
    xp = get_array_module(mse)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10 * xp.log10(data_range ** 2 / mse)


def psnr(pred, target, data_range=1.0):
    """Peak signal-to-noise ratio per image, with the MSE over all channels and pixels."""
    _check_data_range(data_range)
    pred, target, single = _as_batch(pred, target)
    mse = ((pred - target) ** 2).mean(axis=(1, 2, 3))
    return _per_image(_psnr_from_mse(mse, data_range), single)


def masked_psnr(pred, target, mask, data_range=1.0):
    """PSNR with the MSE over the mask pixels only (all channels there); NaN for an empty mask."""
    _check_data_range(data_range)
    pred, target, single = _as_batch(pred, target)
    inside = _as_mask_batch(mask, pred.shape, single)
    squared_error = ((pred - target) ** 2 * inside[:, None]).sum(axis=(1, 2, 3))
    with np.errstate(invalid="ignore"):
        mse = squared_error / (pred.shape[1] * inside.sum(axis=(1, 2)))
    return _per_image(_psnr_from_mse(mse, data_range), single)


# ----------------------------------------------------------------------------- SSIM

def _window(name):
    """1-D filter taps and covariance normalisation of skimage's SSIM windows.

    "gaussian": Wang et al. (sigma 1.5, truncated at 3.5 sigma -> 11 taps, population covariance).
    "uniform7": skimage's default (7x7 box, sample covariance N/(N-1)).
    """
    if name == "gaussian":
        sigma = 1.5
        radius = int(3.5 * sigma + 0.5)  # as scipy.ndimage.gaussian_filter derives it
        offsets = np.arange(-radius, radius + 1)
        taps = np.exp(-0.5 * (offsets / sigma) ** 2)
        return taps / taps.sum(), 1.0
    if name == "uniform7":
        window_pixels = 7 * 7
        return np.full(7, 1 / 7), window_pixels / (window_pixels - 1)
    raise ValueError(f"unknown SSIM window {name!r}: use one of {SSIM_WINDOWS}")


def _ssim_map_batch(pred, target, window, data_range):
    """SSIM map of float64 (N, C, H, W) batches, identical to skimage's full map per channel."""
    _check_data_range(data_range)
    taps, cov_norm = _window(window)
    if min(pred.shape[-2:]) < len(taps):
        raise ValueError(f"images of {pred.shape[-2:]} pixels are smaller than the {len(taps)}-pixel SSIM window")
    xp = get_array_module(pred)
    ndimage, taps = scipy_module(xp, "ndimage"), xp.asarray(taps)
    moments = xp.stack([pred, target, pred * pred, target * target, pred * target])
    for axis in (-2, -1):  # the window's weighted means, its borders mirrored as skimage's ('reflect')
        moments = ndimage.correlate1d(moments, taps, axis=axis, mode="reflect")
    mean_x, mean_y, mean_xx, mean_yy, mean_xy = moments
    var_x = cov_norm * (mean_xx - mean_x * mean_x)
    var_y = cov_norm * (mean_yy - mean_y * mean_y)
    cov_xy = cov_norm * (mean_xy - mean_x * mean_y)
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    numerator = (2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)
    denominator = (mean_x ** 2 + mean_y ** 2 + c1) * (var_x + var_y + c2)
    return numerator / denominator


def ssim_map(pred, target, window="gaussian", data_range=1.0):
    """Per-pixel, per-channel SSIM map, same shape as the input (skimage's `full=True` map)."""
    pred, target, single = _as_batch(pred, target)
    similarity = _ssim_map_batch(pred, target, window, data_range)
    return similarity[0] if single else similarity


def ssim(pred, target, window="gaussian", data_range=1.0):
    """Mean SSIM per image, as skimage computes it: each channel's map is averaged after
    cropping the window radius from every border, then the channels are averaged.

    window="gaussian" matches Wang et al. (skimage with gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False); window="uniform7" matches skimage's default settings.
    """
    return ssim_with_masked(pred, target, None, window, data_range)[0]


def masked_ssim(pred, target, mask, window="gaussian", data_range=1.0):
    """Mean of the channel-averaged, uncropped SSIM map over the mask pixels; NaN for an empty mask."""
    return ssim_with_masked(pred, target, mask, window, data_range)[1]


def ssim_with_masked(pred, target, mask=None, window="gaussian", data_range=1.0):
    """(ssim, masked_ssim) from one SSIM map, the costly part of both; masked_ssim is NaN without a mask."""
    pred, target, single = _as_batch(pred, target)
    similarity = _ssim_map_batch(pred, target, window, data_range)
    border = len(_window(window)[0]) // 2
    mean = similarity[..., border:-border, border:-border].mean(axis=(1, 2, 3))
    if mask is None:
        masked = get_array_module(pred).full(len(pred), math.nan)
    else:
        inside = _as_mask_batch(mask, pred.shape, single)
        with np.errstate(invalid="ignore"):
            masked = (similarity.mean(axis=1) * inside).sum(axis=(1, 2)) / inside.sum(axis=(1, 2))
    return _per_image(mean, single), _per_image(masked, single)


def masked_mean_summary(values):
    """(mean over the non-NaN values, number of NaN values skipped).

    Masked metrics are NaN for images whose mask is empty; callers report the mean of the
    rest and say how many images were skipped. The mean is NaN when every value is skipped.
    """
    xp = get_array_module(values)
    values = xp.asarray(values, dtype=xp.float64).ravel()
    valid = ~xp.isnan(values)
    skipped = int(values.size - int(valid.sum()))
    mean = float(values[valid].mean()) if skipped < values.size else math.nan
    return mean, skipped


# ----------------------------------------------------------------------------- affine-fit diagnostic

def channel_affine_fit(pred, target):
    """Least-squares gain and offset per image and channel so that gain·pred + offset ≈ target.

    Returns (gains, offsets), each (N, C) for a batch or (C,) for a single image. A constant
    channel gets gain 0 and offset mean(target), the best a constant can do.
    """
    pred, target, single = _as_batch(pred, target)
    xp = get_array_module(pred)
    mean_p = pred.mean(axis=(2, 3), keepdims=True)
    mean_t = target.mean(axis=(2, 3), keepdims=True)
    centred_p = pred - mean_p
    var_p = (centred_p ** 2).mean(axis=(2, 3))
    cov_pt = (centred_p * (target - mean_t)).mean(axis=(2, 3))
    # Exact test: a constant channel's rounded mean leaves a tiny nonzero variance.
    varies = pred.max(axis=(2, 3)) > pred.min(axis=(2, 3))
    gains = xp.where(varies, cov_pt / xp.where(varies, var_p, 1.0), 0.0)
    offsets = mean_t[..., 0, 0] - gains * mean_p[..., 0, 0]
    return (gains[0], offsets[0]) if single else (gains, offsets)


def affine_fit_psnr(pred, target, data_range=1.0):
    """PSNR after an oracle per-channel gain and offset fit of pred to target (clipped to range).

    Why: restoration error has two sources — a global colour/contrast error (a per-channel
    cast the network failed to undo) and structural error (noise, soft edges, lost texture).
    The oracle fit removes the first, so `affine_fit_psnr - psnr` measures how much PSNR the
    global error costs, and `affine_fit_psnr` itself measures the structure. Comparing both
    tells which of the two a change helped. Never below `psnr` for targets within range.
    """
    batch_pred, batch_target, single = _as_batch(pred, target)
    gains, offsets = channel_affine_fit(batch_pred, batch_target)
    xp = get_array_module(batch_pred)
    fitted = xp.clip(gains[..., None, None] * batch_pred + offsets[..., None, None], 0.0, data_range)
    values = psnr(fitted, batch_target, data_range)
    return _per_image(values, single)
