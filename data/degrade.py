"""The degradation model: turns a clean image into a (blurred, cast, noisy) input for training.

Every preset is one row of `PRESETS`: a dict of parameter -> (low, high), each sampled uniformly.
`degrade` applies the parameters a preset has, always in the same physical order:
blur (optics or motion) -> per-channel gain and offset (contrast loss, colour cast)
-> Poisson shot noise -> additive Gaussian noise -> clip to [0, 1].
`MIXED` draws one of the presets for each sample, for a model that must expect any of them.
"""
import numpy as np
from scipy import ndimage

from .errors import DataError

PRESETS = {
    # Estimated from real KLA pairs at 256x256 (see docs/design.md §6).
    "kla": {"blur_sigma": (1.25, 2.25), "gain": (0.75, 0.95), "offset": (0.03, 0.14),
            "noise_sigma": (7 / 255, 14 / 255)},
    "noise": {"noise_sigma": (5 / 255, 25 / 255)},
    "blur": {"blur_sigma": (0.8, 2.5)},
    "motion": {"motion_length": (5.0, 15.0), "motion_angle": (0.0, 180.0), "noise_sigma": (1 / 255, 3 / 255)},
    "poisson": {"photons": (30.0, 300.0), "noise_sigma": (1 / 255, 3 / 255)},
}
PER_CHANNEL = frozenset({"gain", "offset"})  # sampled once per colour channel
MIXED = "mixed"                               # each sample: one of PRESETS, drawn uniformly


def degradation_names():
    """The preset names and MIXED, e.g. for argparse `choices`."""
    return sorted([*PRESETS, MIXED])


def check_degradation(name):
    if name != MIXED and name not in PRESETS:
        raise DataError(f"unknown degradation {name!r}; choose one of {', '.join(degradation_names())}")


def sample_params(preset, rng, channels=3):
    """Draw one parameter set of a preset -> dict of plain floats (lists for per-channel ones).

    MIXED first draws the preset, which the dict names under "preset".
    """
    check_degradation(preset)
    if preset == MIXED:
        drawn = sorted(PRESETS)[rng.integers(len(PRESETS))]
        return {"preset": drawn, **sample_params(drawn, rng, channels)}
    params = {}
    for name, (low, high) in PRESETS[preset].items():
        if name in PER_CHANNEL:
            params[name] = [float(v) for v in rng.uniform(low, high, size=channels)]
        else:
            params[name] = float(rng.uniform(low, high))
    return params


def degrade(clean, preset="kla", rng=None):
    """Degrade a clean HxWxC float image in [0, 1] -> (degraded float32 HxWxC, params dict).

    `rng` is a numpy.random.Generator; the same generator state gives the same output and params.
    """
    rng = np.random.default_rng() if rng is None else rng
    clean = np.asarray(clean, dtype=np.float32)
    params = sample_params(preset, rng, channels=clean.shape[2])
    return apply_params(clean, params, rng), params


def apply_params(clean, params, rng):
    """Apply a parameter set (from `sample_params`) to a clean HxWxC image; `rng` draws the noise."""
    image = np.asarray(clean, dtype=np.float32)
    if "blur_sigma" in params:
        sigma = params["blur_sigma"]
        image = ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="reflect")
    if "motion_length" in params:
        kernel = motion_kernel(params["motion_length"], params["motion_angle"])
        image = ndimage.convolve(image, kernel[:, :, None], mode="reflect")
    if "gain" in params:
        image = image * np.asarray(params["gain"], np.float32) + np.asarray(params["offset"], np.float32)
    if "photons" in params:
        photons = params["photons"]
        image = (rng.poisson(np.clip(image, 0.0, None) * photons) / photons).astype(np.float32)
    if "noise_sigma" in params:
        image = image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(params["noise_sigma"])
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)


def motion_kernel(length, angle_degrees):
    """Normalized kernel of a straight motion of `length` pixels at `angle_degrees` (0 = horizontal).

    Points sampled densely along the segment are splatted bilinearly, so any length and angle
    give a smooth, centred kernel.
    """
    half = (length - 1.0) / 2.0
    radius = int(np.ceil(half)) + 1
    t = np.linspace(-half, half, 8 * int(np.ceil(length)) + 1)
    angle = np.deg2rad(angle_degrees)
    x = radius + t * np.cos(angle)
    y = radius - t * np.sin(angle)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    width = 2 * radius + 1
    corners = [(y0, x0, (1 - fy) * (1 - fx)), (y0, x0 + 1, (1 - fy) * fx),
               (y0 + 1, x0, fy * (1 - fx)), (y0 + 1, x0 + 1, fy * fx)]
    index = np.concatenate([row * width + col for row, col, _ in corners])
    weight = np.concatenate([w for _, _, w in corners])
    kernel = np.bincount(index, weights=weight, minlength=width * width).reshape(width, width)
    return kernel / kernel.sum()
