"""Restore an image of any size, grayscale or colour, uint8, uint16 or float: pad to a multiple of 8,
tile large images, crop back."""
from functools import partial

import numpy as np

import minigrad as mg
from minigrad.backend import to_numpy

from .model import INPUT_MULTIPLE

FLOAT_SLACK = 0.5   # float images may stray this far outside [0, 1] (unclipped noise); further is another scale


def to_unit_float(image):
    """(H, W[, C]) uint8 / uint16 / float -> float32 (H, W, C) in the model's range, and how to undo it.

    Anything else is refused (`_check_image`): the network would return a plausible-looking wrong image.
    """
    array = np.asarray(image)
    _check_image(array)
    scale = float(np.iinfo(array.dtype).max) if array.dtype.kind == "u" else 1.0
    float_image = array.astype(np.float32) / np.float32(scale)
    if float_image.ndim == 2:
        float_image = float_image[:, :, None]
    return float_image, scale


def _check_image(array):
    """Raise ValueError unless `array` is a non-empty HxW or HxWxC uint8 or uint16 image, or a float one
    with finite values in [-FLOAT_SLACK, 1 + FLOAT_SLACK], saying what to do about it."""
    if array.ndim not in (2, 3):
        raise ValueError(f"an image must be HxW or HxWxC, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"the image is empty (shape {array.shape}): it needs at least one pixel and one channel")
    if array.dtype in (np.uint8, np.uint16):
        return
    if array.dtype.kind not in "biuf":
        raise ValueError(f"images must be uint8, uint16 or float in [0, 1], got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"the {array.dtype} image has NaN or infinite values: replace them, e.g. with np.nan_to_num")
    low, high = array.min().item(), array.max().item()
    if array.dtype.kind == "f" and -FLOAT_SLACK <= low and high <= 1 + FLOAT_SLACK:
        return
    raise ValueError(f"images must be uint8, uint16 or float in [0, 1], got {array.dtype} with values from "
                     f"{low:g} to {high:g}: {_conversion_hint(array.dtype, low, high)}")


def _conversion_hint(dtype, low, high):
    """How to bring values from `low` to `high` of `dtype` into a supported form."""
    if dtype.kind == "f":
        for scale in (255, 65535):
            if 1 + FLOAT_SLACK < high <= (1 + FLOAT_SLACK) * scale and -FLOAT_SLACK * scale <= low:
                return f"they look {scale}-scaled, divide by {scale}"
    else:
        for top, target in ((1, "np.float32"), (255, "np.uint8"), (65535, "np.uint16")):
            if 0 <= low and high <= top:
                return f"convert it with .astype({target})"
    return "rescale it to [0, 1]"


def _from_unit_float(restored, like, scale):
    if np.asarray(like).ndim == 2:
        restored = restored[:, :, 0]
    if like.dtype.kind == "u":
        return np.clip(np.rint(restored * scale), 0, scale).astype(like.dtype)
    return restored.astype(like.dtype)


def ceil_div(value, divisor):
    return -(-value // divisor)


def round_up(value, multiple):
    return ceil_div(value, multiple) * multiple


def pad_to_multiple(image, multiple=INPUT_MULTIPLE):
    """Reflect-pad the bottom and right edges (edge-pad images too small to reflect)."""
    h, w = image.shape[:2]
    pad_h, pad_w = -h % multiple, -w % multiple
    mode = "reflect" if pad_h < h and pad_w < w else "edge"
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


def _run(model, image):
    """(H, W, C) float32 with H, W multiples of 8 -> (H, W, C) restored, on the model's device."""
    device = next(model.parameters()).device
    batch = mg.tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None]), device=device)
    with mg.no_grad():
        out = model(batch)
    return to_numpy(out.data)[0].transpose(1, 2, 0)


def _ramp(length, overlap, at_start, at_end):
    """Blend weights along one axis: ramps up over the overlap except at the image border."""
    weights = np.ones(length, dtype=np.float32)
    ramp = np.linspace(0, 1, overlap + 2, dtype=np.float32)[1:-1]
    if overlap and not at_start:
        weights[:overlap] = ramp
    if overlap and not at_end:
        weights[-overlap:] = ramp[::-1]
    return weights


def tile_spans(size, tile, overlap):
    """(start, length) of the tiles along an axis of `size` px: as few tiles as cover it with neighbours
    sharing at least `overlap` px, spread evenly, each only as long as that needs (a multiple of 8, at
    most `tile`): a tile's cost grows with its area, so 1024 px takes three tiles of 384, not of 512."""
    if size <= tile:
        return [(0, size)]
    count = ceil_div(size - overlap, tile - overlap)
    length = min(tile, round_up(ceil_div(size + (count - 1) * overlap, count), INPUT_MULTIPLE))
    return [(int(start), length) for start in np.linspace(0, size - length, count).round()]


def _restore_tiled(network, image, tile, overlap):
    """Restore overlapping tiles and blend them with linear ramps, so memory stays bounded."""
    h, w, c = image.shape
    total = np.zeros((h, w, c), dtype=np.float32)
    weight = np.zeros((h, w, 1), dtype=np.float32)
    for top, ph in tile_spans(h, tile, overlap):
        for left, pw in tile_spans(w, tile, overlap):
            patch = image[top:top + ph, left:left + pw]
            restored = network(pad_to_multiple(patch))[:ph, :pw]
            blend = np.outer(_ramp(ph, overlap, top == 0, top + ph >= h), _ramp(pw, overlap, left == 0, left + pw >= w))
            total[top:top + ph, left:left + pw] += restored * blend[:, :, None]
            weight[top:top + ph, left:left + pw] += blend[:, :, None]
    return total / weight


def restore_with(network, image, tile=512, overlap=64):
    """(H, W, C) float32 in the model's range -> restored (H, W, C), whole or in the tiles `restore` uses.

    `network` maps an (H, W, C) array whose sides are multiples of 8 to its restoration: a minigrad
    model here, or another build of the network that is to be compared with it on the same inputs."""
    h, w = image.shape[:2]
    if max(h, w) > tile:
        return _restore_tiled(network, image, tile, overlap)
    return network(pad_to_multiple(image))[:h, :w]


def _self_ensemble(restore_view, image):
    """The mean of `restore_view` over the 8 flips and quarter turns of `image`, each turned back.

    The network is not exactly equivariant to them, so part of its error averages out: +0.2 dB PSNR
    and +0.006 SSIM for the shipped model on the built-in validation images, for 8 times the work.
    """
    total = np.zeros(image.shape, dtype=np.float32)
    for turns in range(4):
        for flip in (False, True):
            view = np.rot90(image[:, ::-1] if flip else image, turns)
            restored = np.rot90(restore_view(np.ascontiguousarray(view)), -turns)
            total += restored[:, ::-1] if flip else restored
    return total / 8


def restore(model, image, tile=512, overlap=64, self_ensemble=False):
    """Restore one image (HxW or HxWxC; uint8, uint16 or float in [0, 1]) at its own size and dtype.

    Floats may stray up to 0.5 outside [0, 1], as unclipped noise does; other dtypes, other value
    scales and empty images raise ValueError. Grayscale goes through the network as three equal
    channels and comes back as their mean.
    Images larger than `tile` on either side are processed in overlapping tiles. `self_ensemble`
    averages the restorations of the image's 8 flips and quarter turns (`_self_ensemble`).
    """
    if tile <= 0 or tile % INPUT_MULTIPLE or not 0 <= overlap < tile:
        raise ValueError(f"tile must be a positive multiple of {INPUT_MULTIPLE} and overlap in [0, tile), got "
                         f"{tile} and {overlap}")
    float_image, scale = to_unit_float(image)
    channels = float_image.shape[2]
    if channels == 1:
        float_image = np.repeat(float_image, model.in_channels, axis=2)
    elif channels != model.in_channels:
        raise ValueError(f"the model takes {model.in_channels}-channel images, got {channels} channels")
    restore_view = partial(restore_with, partial(_run, model), tile=tile, overlap=overlap)
    restored = _self_ensemble(restore_view, float_image) if self_ensemble else restore_view(float_image)
    if channels == 1:
        restored = restored.mean(axis=2, keepdims=True)
    return _from_unit_float(restored, np.asarray(image), scale)
