"""Images as float32 HxWx3 arrays in [0, 1], and back to files in the mode they came in.

Training always sees three channels; `ImageInfo` remembers what the file was (grayscale, 16-bit,
float, alpha, colour profile) so that a restored image can be written the way the original was. Pixels
are read upright: a camera's EXIF orientation tag is applied, since the written image does not carry it.
16-bit colour PNG and TIFF files keep their 16 bits, which Pillow alone would cut to 8 (`_LOW_BYTE_READS`);
16-bit files that use only 12 bits or fewer are named in a warning, once per bit count.
Float grayscale (32-bit float TIFF) is read in [0, 1] or [0, 255], whichever its values fit, and
written back in that scale; 32-bit integer pixels beyond 16 bits are refused rather than clipped.
"""
import struct
import sys
import warnings
import zlib
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
# Pillow opens 16-bit colour as 8-bit "RGB"/"RGBA" images, its raw modes keeping the high byte of each
# sample. Decoding the file a second time with the raw mode below yields the low bytes:
# raw mode -> (raw mode of the second read, its channels that hold the low bytes, the first read's that
# hold the high bytes). Gray+alpha ("LA;16B") has no such pair: its pixels' 4 bytes are read as RGBA.
_LOW_BYTE_READS = {
    "RGB;16B": ("RGB;16L", (0, 1, 2), (0, 1, 2)),
    "RGB;16L": ("RGB;16B", (0, 1, 2), (0, 1, 2)),
    "RGBA;16B": ("RGBA;16L", (0, 1, 2, 3), (0, 1, 2, 3)),
    "RGBA;16L": ("RGBA;16B", (0, 1, 2, 3), (0, 1, 2, 3)),
    "LA;16B": ("RGBA", (1, 3), (0, 3)),
}
_NATIVE_ORDER = "L" if sys.byteorder == "little" else "B"  # libtiff decodes to native order: ";16N"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_BLOCK_ROWS = 256  # rows filtered and compressed at a time: a 24-megapixel image needs no gigabytes
_TIFF_BITS_PER_SAMPLE = 258
_TIFF_PLANAR_CONFIGURATION = 284  # its value 2: each colour channel stored as a plane of its own
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
            raw_mode = _sixteen_bit_colour_raw_mode(image, path)
            image.load()
            upright = ImageOps.exif_transpose(image)
            if raw_mode is None:
                values, info = _decode(upright)
            else:
                values, info = _decode_sixteen_bit_colour(upright, _read_low_bytes(path, raw_mode), raw_mode)
            info = replace(info, icc_profile=image.info.get("icc_profile"))
    except Exception as err:  # Pillow signals broken files with many exception types
        raise ImageReadError(path, err) from None
    if info.bit_depth == 16:
        _warn_if_few_bits_are_used(path, values)
    return values, info


_few_bits_warned = set()  # the bit counts already warned about: one warning each, not one per file


def _warn_if_few_bits_are_used(path, values):
    """Cameras store 10- or 12-bit data in 16-bit files unscaled: read as 16-bit, such an image is nearly
    black, and so is its restoration. It cannot be told from a truly dark image, so it is not rescaled."""
    brightest = round(float(values.max()) * 65535)
    bits = brightest.bit_length()
    if 0 < bits <= 12 and bits not in _few_bits_warned:
        _few_bits_warned.add(bits)
        warnings.warn(f"{path}: its 16-bit pixels reach only {brightest} of 65535, so it is read and restored "
                      f"as a very dark image; if it holds {bits}-bit data, scale it to 16 bits first (multiply "
                      f"by {2 ** (16 - bits)}). Other files like it are not named", stacklevel=2)


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


def _sixteen_bit_colour_raw_mode(image, path):
    """The raw mode of an image stored at 16 bits per colour channel (one of `_LOW_BYTE_READS`), else None.

    A TIFF whose 16-bit channels are separate planes is decoded plane by plane, whatever the raw mode
    asks: compressed (through libtiff), it is read as Pillow reads it, at 8 bits, with a warning;
    uncompressed, Pillow reads each plane's bytes as 8-bit samples, so it is refused (ValueError)."""
    if image.mode not in ("RGB", "RGBA"):
        return None
    if getattr(image, "tag_v2", {}).get(_TIFF_PLANAR_CONFIGURATION) == 2:
        if image.tag_v2.get(_TIFF_BITS_PER_SAMPLE, (8,))[0] == 16:
            keep = "store them interleaved (the TIFF default) to keep 16 bits"
            if len(image.tile) > 1:  # one raw tile per plane: Pillow's own decoder, not libtiff
                raise ValueError(f"its 16-bit colour channels are stored as separate uncompressed planes, which "
                                 f"Pillow cannot read: {keep}")
            warnings.warn(f"{path} stores its 16-bit colour channels as separate planes, which are read at "
                          f"8 bits per channel ({keep})")
        return None
    raw_modes = {_tile_raw_mode(tile).replace(";16N", ";16" + _NATIVE_ORDER) for tile in image.tile}
    if len(raw_modes) != 1 or not raw_modes <= _LOW_BYTE_READS.keys():
        return None
    return raw_modes.pop()


def _tile_raw_mode(tile):
    args = tile.args  # Pillow 11's named tiles
    return args if isinstance(args, str) else str(args[0]) if args else ""


def _read_low_bytes(path, raw_mode):
    """The file decoded again with the raw mode that keeps each sample's low byte, upright."""
    low_byte_mode = _LOW_BYTE_READS[raw_mode][0]
    with Image.open(path) as image:
        image.tile = [tile._replace(args=low_byte_mode if isinstance(tile.args, str) else (low_byte_mode, *tile.args[1:]))
                      for tile in image.tile]
        image.load()
        return ImageOps.exif_transpose(image)


def _decode_sixteen_bit_colour(high_bytes, low_bytes, raw_mode):
    _, low_channels, high_channels = _LOW_BYTE_READS[raw_mode]
    samples = (np.asarray(high_bytes, np.uint16)[..., high_channels] << 8
               | np.asarray(low_bytes, np.uint16)[..., low_channels])
    return _split_alpha(samples.astype(np.float32) / 65535.0, raw_mode.split(";")[0], bit_depth=16)


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
        return _split_alpha(_unit(image.convert("LA")), mode, bit_depth=8)
    has_alpha = "A" in mode or "transparency" in image.info
    return _split_alpha(_unit(image.convert("RGBA" if has_alpha else "RGB")), mode, bit_depth=8)


def _split_alpha(channels, mode, bit_depth):
    """(HxWx3 values, ImageInfo) from a file's channels in [0, 1]: gray or RGB, each optionally + alpha."""
    grayscale = channels.shape[2] <= 2
    colours = 1 if grayscale else 3
    alpha = _alpha_or_none(channels[..., colours]) if channels.shape[2] > colours else None
    values = _grayscale(channels[..., 0]) if grayscale else np.ascontiguousarray(channels[..., :3])
    return values, ImageInfo(mode, grayscale, bit_depth, alpha)


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

    Grayscale originals are written as the channel mean, 16-bit ones as 16-bit (colour too, in PNG and
    TIFF), float ones as float in their scale, 1-bit ones thresholded at 0.5, and an original alpha
    channel and colour profile are put back (the alpha resized if the image was; the profile only if it
    is for RGB, or gray, as written). Palette images come back as RGB: re-quantizing a restored image
    would throw away what the restoration gained.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    values = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    grayscale = like.grayscale if like is not None else values.ndim == 2
    if grayscale and values.ndim == 3:
        values = values.mean(axis=2)
    elif not grayscale and values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    bit_depth = like.bit_depth if like is not None else 8
    alpha = like.alpha if like is not None and suffix in _ALPHA_SUFFIXES else None
    if alpha is not None:
        alpha = np.clip(_resize_plane(alpha, (values.shape[1], values.shape[0]), Image.Resampling.BILINEAR), 0.0, 1.0)
    profile = like.icc_profile if like is not None and _profile_fits(like.icc_profile, grayscale) else None
    sixteen_bit_writer = _sixteen_bit_writer(suffix, grayscale, alpha is not None) if bit_depth == 16 else None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if sixteen_bit_writer is not None:
            samples = np.dstack([values] if alpha is None else [values, alpha])
            sixteen_bit_writer(path, np.round(samples * 65535.0).astype(np.uint16), profile)
        else:
            options = dict(_SAVE_OPTIONS.get(suffix, {}), **({"icc_profile": profile} if profile else {}))
            _pillow_image(values, grayscale, bit_depth, alpha, like).save(path, **options)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot write image {path}: {err}") from None


def _sixteen_bit_writer(suffix, grayscale, has_alpha):
    """Who writes a 16-bit image that Pillow cannot: colour in PNG or TIFF, gray + alpha in PNG (Pillow
    reads no such TIFF, so none comes from one: it is written as gray alone). None where Pillow can."""
    if not grayscale and suffix in (".tif", ".tiff"):
        return _write_sixteen_bit_tiff
    if suffix == ".png" and (not grayscale or has_alpha):
        return _write_sixteen_bit_png
    return None


def _pillow_image(values, grayscale, bit_depth, alpha, like):
    if bit_depth == 1:
        return Image.fromarray(values >= 0.5)
    if bit_depth == 16 and grayscale:
        return Image.fromarray(np.round(values * 65535.0).astype(np.uint16))
    if bit_depth == 32:
        return Image.fromarray(values * np.float32(like.float_scale))
    image = Image.fromarray(np.round(values * 255.0).astype(np.uint8))
    if alpha is not None:
        image.putalpha(Image.fromarray(np.round(alpha * 255.0).astype(np.uint8)))
    return image


def _write_sixteen_bit_png(path, samples, icc_profile):
    """Pillow writes no 16-bit PNG with colour or alpha, so it is written here: a PNG is a zlib stream of
    filtered pixel rows between checksummed chunks (PNG specification, chapters 5, 9 and 11)."""
    height, width, count = samples.shape
    colour_type = {2: 4, 3: 2, 4: 6}[count]  # gray + alpha, RGB, RGB + alpha
    rows = samples.astype(">u2").view(np.uint8).reshape(height, width * count * 2)
    compressor, pixels = zlib.compressobj(), []
    for first in range(0, height, _PNG_BLOCK_ROWS):
        above = max(first - 1, 0)  # the row a block's first row is predicted from
        residuals = _paeth_residuals(rows[above:first + _PNG_BLOCK_ROWS], count * 2)[first - above:]
        paeth = np.full((len(residuals), 1), 4, np.uint8)  # each row starts with its filter type
        pixels.append(compressor.compress(np.hstack([paeth, residuals]).tobytes()))
    pixels.append(compressor.flush())
    chunks = [(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))]
    if icc_profile:
        chunks.append((b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile)))  # name, compression method 0
    chunks += [(b"IDAT", b"".join(pixels)), (b"IEND", b"")]
    path.write_bytes(_PNG_SIGNATURE + b"".join(struct.pack(">I", len(data)) + kind + data
                                                + struct.pack(">I", zlib.crc32(kind + data)) for kind, data in chunks))


def _paeth_residuals(rows, step):
    """Each byte minus the Paeth prediction from its left, upper and upper-left neighbours, `step` bytes
    away a pixel: smooth images leave small residuals, which zlib compresses well."""
    current = rows.astype(np.int16)
    left, up, up_left = (np.zeros_like(current) for _ in range(3))
    left[:, step:] = current[:, :-step]
    up[1:] = current[:-1]
    up_left[1:, step:] = current[:-1, :-step]
    estimate = left + up - up_left
    to_left, to_up, to_up_left = (np.abs(estimate - neighbour) for neighbour in (left, up, up_left))
    prediction = np.where((to_left <= to_up) & (to_left <= to_up_left), left, np.where(to_up <= to_up_left, up, up_left))
    return (current - prediction).astype(np.uint8)  # modulo 256, as the format wants


def _write_sixteen_bit_tiff(path, samples, icc_profile):
    """Pillow writes no 16-bit colour TIFF: tifffile (which scikit-image needs) does."""
    import tifffile  # here, not at the top: importing it adds about 70 ms to every start, for a rare kind of file

    tifffile.imwrite(path, samples, photometric="rgb", extrasamples=("unassalpha",) if samples.shape[2] == 4 else None,
                     iccprofile=icc_profile, compression="zlib", metadata=None)


def _profile_fits(icc_profile, grayscale):
    """A profile for another colour space (a CMYK JPEG's, once written as RGB) makes the file invalid to
    colour-managed viewers. An ICC profile names its colour space in the 4 bytes at offset 16."""
    return bool(icc_profile) and icc_profile[16:20] == (b"GRAY" if grayscale else b"RGB ")


def resize_image(image, size):
    """Resize HxWxC float32 to size x size with antialiasing (Pillow bicubic), clipped to [0, 1]."""
    if image.shape[:2] == (size, size):
        return image
    channels = [_resize_plane(image[..., c], (size, size), Image.Resampling.BICUBIC) for c in range(image.shape[2])]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0)


def resize_mask(mask, size):
    """Resize a bool mask to size x size: a pixel is set where at least half of its area was set."""
    if mask.shape == (size, size):
        return mask
    return _resize_plane(mask.astype(np.float32), (size, size), Image.Resampling.BOX) >= 0.5


def _resize_plane(plane, size, resample):
    """`plane` resized to size = (width, height)."""
    resized = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32)).resize(size, resample)
    return np.asarray(resized, dtype=np.float32)
