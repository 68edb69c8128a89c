"""Images as float32 HxWx3 arrays in [0, 1], and back to files in the mode they came in.

Training always sees three channels; `ImageInfo` remembers what the file was (grayscale, 16-bit,
float, alpha, colour profile) so that a restored image can be written the way the original was. Pixels
are read upright: a camera's EXIF orientation tag is applied, since the written image does not carry it.
Pillow reads 16-bit colour (not grayscale) PNG and TIFF files at 8 bits; the first such file warns.
Float grayscale (32-bit float TIFF) is read in [0, 1] or [0, 255], whichever its values fit, and
written back in that scale; 32-bit integer pixels beyond 16 bits are refused rather than clipped.
"""
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import ExifTags, Image, ImageOps

from .errors import DataError, ImageReadError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Common image files that are not read here: data sets name them in a warning, so none is left out unnoticed.
OTHER_IMAGE_SUFFIXES = (".gif", ".apng", ".heic", ".heif", ".avif", ".jp2", ".j2k", ".jfif", ".jpe", ".ppm", ".pgm",
                        ".pbm", ".pnm", ".tga", ".ico", ".psd", ".exr", ".hdr", ".dng", ".cr2", ".nef", ".arw", ".raw")
_ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")  # formats that can store an alpha channel
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations read upright by a quarter turn: width <-> height
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # "I": how some Pillow versions open 16-bit PNG
_FLOAT_SCALES = (1.0, 255.0)  # the values of white in float files: both are common
_FLOAT_OVERSHOOT = 0.5  # of the scale: noise and resampling push float pixels past their range (clipped)
# Lossy formats are written near-losslessly (full-resolution colour for JPEG): Pillow's defaults
# (quality 75 or 80, JPEG's halved colour resolution) would blur back what the restoration gained.
_SAVE_OPTIONS = {".jpg": {"quality": 95, "subsampling": 0}, ".jpeg": {"quality": 95, "subsampling": 0},
                 ".webp": {"quality": 95}}


@dataclass(frozen=True, eq=False)
class ImageInfo:
    """What `write_image(..., like=info)` needs to write an image the way it was read."""

    mode: str                              # Pillow mode of the file: "L", "RGB", "RGBA", "P", "I;16", "F", "1", ...
    grayscale: bool                        # one colour channel in the file (expanded to 3 when read)
    bit_depth: int                         # 1, 8 or 16 bits per integer channel; 32 for float pixels (mode "F")
    alpha: Optional[np.ndarray] = None     # HxW float32 in [0, 1], the file's transparency
    icc_profile: Optional[bytes] = None    # the file's colour profile (e.g. a phone's Display P3), any colour space
    float_scale: Optional[float] = None    # mode "F" only: the file's value of white, 1.0 or 255.0


def is_image_file(path):
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def read_image(path):
    """Read an image file -> (HxWx3 float32 array in [0, 1], ImageInfo); raises ImageReadError."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            deep_colour = image.mode in ("RGB", "RGBA") and any(";16" in _raw_mode(tile) for tile in image.tile)
            image.load()
            values, info = _decode(ImageOps.exif_transpose(image))
            info = replace(info, icc_profile=image.info.get("icc_profile"))
    except Exception as err:  # Pillow signals broken files with many exception types
        raise ImageReadError(path, err) from None
    if deep_colour:
        _warn_deep_colour_once(path)
    return values, info


def upright_size(path):
    """(width, height) as `read_image` gives the image, from the file's header alone (no decoding);
    None for a file Pillow cannot open, which reading will report."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # as in read_image: Pillow signals broken files with many exception types
        return None
    return (height, width) if orientation in _TRANSPOSING_ORIENTATIONS else (width, height)


def _raw_mode(tile):
    """How a tile is stored in the file ("RGB;16B" for 16-bit colour, which Pillow reads as "RGB")."""
    args = tile[3]
    return args if isinstance(args, str) else str(args[0]) if args else ""


_deep_colour_warned = []


def _warn_deep_colour_once(path):
    if not _deep_colour_warned:
        _deep_colour_warned.append(path)
        warnings.warn(f"{path} has 16 bits per colour channel, which Pillow reads as 8: such images are "
                      "restored and written at 8 bits per channel (16-bit grayscale keeps its 16 bits)",
                      stacklevel=3)


def _decode(image):
    mode = image.mode
    if mode == "1":
        return _grayscale(np.asarray(image, dtype=np.float32)), ImageInfo(mode, True, 1)
    if mode in _SIXTEEN_BIT_MODES:
        pixels = np.asarray(image)
        low, high = pixels.min(), pixels.max()
        if low < 0 or high > 65535:  # mode "I" holds 32-bit integers
            raise ValueError(f"pixels range from {low} to {high}: 32-bit integer pixels are not supported, "
                             "only 0 to 65535 (16 bits)")
        return _grayscale(pixels.astype(np.float32) / 65535.0), ImageInfo(mode, True, 16)
    if mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        scale = _float_scale(pixels)
        values = np.clip(pixels / np.float32(scale), 0.0, 1.0)
        return _grayscale(values), ImageInfo(mode, True, 32, float_scale=scale)
    if mode in ("L", "LA"):
        values = _unit(image.convert("LA"))
        return _grayscale(values[..., 0]), ImageInfo(mode, True, 8, _alpha_or_none(values[..., 1]))
    has_alpha = "A" in mode or "transparency" in image.info
    values = _unit(image.convert("RGBA" if has_alpha else "RGB"))
    alpha = _alpha_or_none(values[..., 3]) if has_alpha else None
    return np.ascontiguousarray(values[..., :3]), ImageInfo(mode, False, 8, alpha)


def _float_scale(pixels):
    """1.0 or 255.0: the smaller scale that holds the brightest pixel, give or take the overshoot.
    Pixels beyond that, or not finite, have no known meaning: refused."""
    low, high = float(pixels.min()), float(pixels.max())  # NaN if any pixel is
    scale = next((scale for scale in _FLOAT_SCALES if high <= (1 + _FLOAT_OVERSHOOT) * scale), None)
    if scale is None or not low >= -_FLOAT_OVERSHOOT * scale:  # "not >=" refuses NaN too
        raise ValueError(f"float pixels range from {low:g} to {high:g}: only [0, 1] or [0, 255] can be read")
    return scale


def _unit(image):
    return np.asarray(image, dtype=np.float32) / 255.0


def _grayscale(values):
    return np.repeat(values[..., None], 3, axis=2)


def _alpha_or_none(alpha):
    """A fully opaque alpha channel carries no information: drop it."""
    return None if alpha.min() == 1.0 else np.ascontiguousarray(alpha)


def read_mask(path):
    """Read a defect mask -> bool HxW (True where any channel is above half intensity)."""
    values, _ = read_image(path)
    return values.max(axis=2) > 0.5


def write_image(path, image, like=None):
    """Write a float image in [0, 1] (HxW, HxWx1 or HxWx3); with `like`, in that ImageInfo's mode.

    Grayscale originals are written as the channel mean, 16-bit ones as 16-bit, float ones as float in
    their scale, 1-bit ones thresholded at 0.5, and an original alpha channel and colour profile are put
    back (the alpha resized if the image was; the profile only if it is for RGB, or gray, as written).
    Palette images come back as RGB: re-quantizing a restored image would throw away what the
    restoration gained.
    """
    path = Path(path)
    values = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    grayscale = like.grayscale if like is not None else values.ndim == 2
    if grayscale and values.ndim == 3:
        values = values.mean(axis=2)
    bit_depth = like.bit_depth if like is not None else 8
    if bit_depth == 1:
        pil = Image.fromarray(values >= 0.5)
    elif bit_depth == 16 and grayscale:
        pil = Image.fromarray(np.round(values * 65535.0).astype(np.uint16))
    elif bit_depth == 32:
        pil = Image.fromarray(values * np.float32(like.float_scale))
    else:
        pil = Image.fromarray(np.round(values * 255.0).astype(np.uint8))
        alpha = like.alpha if like is not None else None
        if alpha is not None and path.suffix.lower() in _ALPHA_SUFFIXES:
            alpha_image = Image.fromarray(np.round(alpha * 255.0).astype(np.uint8))
            pil.putalpha(alpha_image.resize(pil.size, Image.Resampling.BILINEAR))
    options = dict(_SAVE_OPTIONS.get(path.suffix.lower(), {}))
    if like is not None and _profile_fits(like.icc_profile, grayscale):
        options["icc_profile"] = like.icc_profile
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pil.save(path, **options)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot write image {path}: {err}") from None


def _profile_fits(icc_profile, grayscale):
    """A profile for another colour space (a CMYK JPEG's, once written as RGB) makes the file invalid to
    colour-managed viewers. An ICC profile names its colour space in the 4 bytes at offset 16."""
    return bool(icc_profile) and icc_profile[16:20] == (b"GRAY" if grayscale else b"RGB ")


def resize_image(image, size):
    """Resize HxWxC float32 to size x size with antialiasing (Pillow bicubic), clipped to [0, 1]."""
    if image.shape[:2] == (size, size):
        return image
    channels = [_resize_plane(image[..., c], size, Image.Resampling.BICUBIC) for c in range(image.shape[2])]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0)


def resize_mask(mask, size):
    """Resize a bool mask to size x size: a pixel is set where at least half of its area was set."""
    if mask.shape == (size, size):
        return mask
    return _resize_plane(mask.astype(np.float32), size, Image.Resampling.BOX) >= 0.5


def _resize_plane(plane, size, resample):
    resized = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32)).resize((size, size), resample)
    return np.asarray(resized, dtype=np.float32)
