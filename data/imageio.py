"""Images as float32 HxWx3 arrays in [0, 1], and back to files in the mode they came in.

Training always sees three channels; `ImageInfo` remembers what the file was (grayscale, 16-bit,
float, alpha, colour profile) so that a restored image can be written the way the original was. Pixels
are read upright: a camera's EXIF orientation tag is applied, since the written image does not carry it.
16-bit colour PNG and TIFF files keep their 16 bits, which Pillow alone would cut to 8 (`_LOW_BYTE_READS`;
tifffile for TIFF colour planes and premultiplied alpha); a PNG's one transparent colour (tRNS) becomes alpha,
matched at all 16 bits; 16-bit files that use only 12 bits or fewer are named in a warning, once per bit count.
TIFFs that Pillow cannot open (float colour, 16-bit gray + alpha, ...) are read by tifffile.
Float pixels (16, 32 or 64-bit float TIFF) are read in [0, 1] or [0, 255], whichever their values fit, and
written back as 32-bit floats in that scale; integer pixels beyond 16 bits are refused rather than clipped.
"""
import os
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .errors import DataError, ImageReadError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Common image files that are not read here: data sets name them in a warning, so none is left out unnoticed.
OTHER_IMAGE_SUFFIXES = (".gif", ".apng", ".heic", ".heif", ".avif", ".jp2", ".j2k", ".jfif", ".jpe", ".ppm", ".pgm",
                        ".pbm", ".pnm", ".tga", ".ico", ".psd", ".exr", ".hdr", ".dng", ".cr2", ".nef", ".arw", ".raw")
_ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")  # formats that can store an alpha channel
_TIFF_SUFFIXES = (".tif", ".tiff")
_TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations read upright by a quarter turn: width <-> height
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # "I": how some Pillow versions open 16-bit PNG
# Pillow opens 16-bit colour as 8-bit "RGB"/"RGBA" images, its raw modes keeping the high byte of each
# sample. Decoding the file a second time with the raw mode below yields the low bytes:
# raw mode -> (raw mode of the second read, its channels that hold the low bytes, the first read's that
# hold the high bytes). Gray+alpha ("LA;16B") has no such pair: its pixels' 4 bytes are read as RGBA.
# "RGBX": RGB and a fourth sample that is not alpha, left out.
_LOW_BYTE_READS = {
    "RGB;16B": ("RGB;16L", (0, 1, 2), (0, 1, 2)),
    "RGB;16L": ("RGB;16B", (0, 1, 2), (0, 1, 2)),
    "RGBX;16B": ("RGBX;16L", (0, 1, 2), (0, 1, 2)),
    "RGBX;16L": ("RGBX;16B", (0, 1, 2), (0, 1, 2)),
    "RGBA;16B": ("RGBA;16L", (0, 1, 2, 3), (0, 1, 2, 3)),
    "RGBA;16L": ("RGBA;16B", (0, 1, 2, 3), (0, 1, 2, 3)),
    "LA;16B": ("RGBA", (1, 3), (0, 3)),
}
_NATIVE_ORDER = "L" if sys.byteorder == "little" else "B"  # libtiff decodes to native order: ";16N"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_BLOCK_ROWS = 256  # rows filtered and compressed at a time: a 24-megapixel image needs no gigabytes
_TIFF_IMAGE_WIDTH, _TIFF_IMAGE_LENGTH = 256, 257
_TIFF_BITS_PER_SAMPLE = 258
_TIFF_ORIENTATION = 274  # the same values as EXIF's
_TIFF_PLANAR_CONFIGURATION = 284  # its value 2: each colour channel stored as a plane of its own
_TIFF_COLOURS = {1: 1, 2: 3}  # PhotometricInterpretation -> colour samples: gray (0 is black), RGB
_TIFF_ALPHAS = (1, 2)  # ExtraSamples: alpha that colours are multiplied by ("associated"), or not
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
                                           # ("L", "LA", "RGB" or "RGBA" for a TIFF that tifffile reads)
    grayscale: bool                        # one colour channel in the file (expanded to 3 when read)
    bit_depth: int                         # 1, 8 or 16 bits per integer channel; 32 for float pixels
    alpha: Optional[np.ndarray] = None     # HxW float32 in [0, 1], the file's transparency
    icc_profile: Optional[bytes] = None    # the file's colour profile (e.g. a phone's Display P3), any colour space
    float_scale: Optional[float] = None    # float pixels only: the file's value of white, 1.0 or 255.0


def is_image_file(path):
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def read_image(path):
    """Read an image file -> (HxWx3 float32 array in [0, 1], ImageInfo); raises ImageReadError."""
    values, info = _read_or_error(Path(path))
    if info.bit_depth == 16:
        _warn_if_few_bits_are_used(path, values)
    return values, info


def _read_or_error(path):
    if path.is_symlink() and not path.exists():
        raise ImageReadError(path, f"a link to {os.readlink(path)}, which does not exist")
    try:
        return _read(path)
    except Exception as err:  # Pillow and tifffile signal broken files with many exception types
        raise ImageReadError(path, err) from None


def _read(path):
    """Pillow reads most files; tifffile, TIFFs that Pillow cannot open or reads at 8 bits of 16."""
    try:
        image = Image.open(path)
    except UnidentifiedImageError as err:
        if path.suffix.lower() not in _TIFF_SUFFIXES:
            raise
        return _read_with_tifffile(path, pillow_error=err)
    with image:
        _warn_if_several_frames(path, getattr(image, "n_frames", 1))
        raw_mode = _sixteen_bit_colour_raw_mode(image)
        if _is_cut_to_eight_bits(image, raw_mode):
            return _read_with_tifffile(path, image=image)
        image.load()
        upright = ImageOps.exif_transpose(image)
        if raw_mode is None:
            values, info = _decode(upright)
        else:
            values, info = _decode_sixteen_bit_colour(upright, _read_low_bytes(path, raw_mode), raw_mode)
        return values, replace(info, icc_profile=image.info.get("icc_profile"))


_several_frames_warned = set()  # the files already warned about, which a training run reads every epoch


def _warn_if_several_frames(path, frames):
    """A multi-page TIFF, an animated GIF, PNG or WebP: the first frame stands for the file, in training as in
    restoration (which writes that frame alone under the file's name), so the others are not silently lost."""
    if frames > 1 and path not in _several_frames_warned:
        _several_frames_warned.add(path)
        warnings.warn(f"{path}: it holds {frames} frames (pages); only the first is read", stacklevel=2)


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
    None for a file that neither Pillow nor (a TIFF) tifffile can open, which reading will report."""
    try:
        with warnings.catch_warnings():  # Pillow's own ("Corrupt EXIF data"): a broken file is named when read
            warnings.simplefilter("ignore")
            width, height, orientation = _stored_size(Path(path))
    except Exception:  # as in read_image: Pillow and tifffile signal broken files with many exception types
        return None
    return (height, width) if orientation in _TRANSPOSING_ORIENTATIONS else (width, height)


def _stored_size(path):
    """(width, height, orientation) from the header: Pillow's, else, for a TIFF it cannot open, tifffile's."""
    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        if path.suffix.lower() not in _TIFF_SUFFIXES:
            raise
        import tifffile  # here, not at the top: see _write_tiff

        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages.first
            return page.imagewidth, page.imagelength, page.tags.valueof(_TIFF_ORIENTATION, 1)
    with image:
        # Pillow gives a TIFF's size already turned by its orientation (it turns the pixels on load), so
        # its stored size is read from the tags; other formats report the stored size
        tags = getattr(image, "tag_v2", None)
        width, height = (tags[_TIFF_IMAGE_WIDTH], tags[_TIFF_IMAGE_LENGTH]) if tags is not None else image.size
        return width, height, image.getexif().get(ExifTags.Base.Orientation, 1)


def _sixteen_bit_colour_raw_mode(image):
    """The raw mode of an image stored at 16 bits per colour channel (one of `_LOW_BYTE_READS`), else None."""
    if image.mode not in ("RGB", "RGBA"):
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
    samples = _with_transparent_colour(samples, high_bytes.info.get("transparency"))
    return _split_alpha(samples.astype(np.float32) / 65535.0, raw_mode.split(";")[0].rstrip("X"), bit_depth=16)


def _with_transparent_colour(samples, transparency):
    """HxWxC 16-bit samples, with an alpha channel if a PNG names one colour (or gray level) transparent in
    its tRNS chunk: transparent where a pixel is that colour, at all 16 bits, as Pillow makes of it at 8."""
    if transparency is None:
        return samples
    opaque = np.any(samples != np.reshape(transparency, -1), axis=2, keepdims=True)
    return np.concatenate([samples, opaque * np.uint16(65535)], axis=2)


def _is_cut_to_eight_bits(image, raw_mode):
    """A 16-bit colour TIFF that Pillow decodes at 8 bits whatever raw mode it is asked for: colour channels
    stored as separate planes (uncompressed, it even takes each plane's bytes for 8-bit samples), or colours
    premultiplied by an "associated" alpha ("RGBa;16"), which no `_LOW_BYTE_READS` pair undoes."""
    tags = getattr(image, "tag_v2", {})
    return (image.mode in ("RGB", "RGBA") and tags.get(_TIFF_BITS_PER_SAMPLE, (8,))[0] == 16
            and (tags.get(_TIFF_PLANAR_CONFIGURATION) == 2 or raw_mode is None))


def _read_with_tifffile(path, image=None, pillow_error=None):
    """A TIFF that Pillow cannot open (`pillow_error`: float colour, 16-bit gray + alpha, ...) or decodes at 8
    bits (`image`, see `_is_cut_to_eight_bits`): tifffile reads its first page exactly. Without the optional
    imagecodecs package, tifffile decodes uncompressed, Deflate, PackBits and LZMA data, not LZW, JPEG or
    Zstandard: such 16-bit colour is read as Pillow reads it (`_read_eight_bit_colour`), other files not at all."""
    import tifffile  # here, not at the top: see _write_tiff

    try:
        with tifffile.TiffFile(path) as tiff:
            if image is None:  # else Pillow opened it, and _read has counted its pages
                _warn_if_several_frames(path, len(tiff.pages))
            page = tiff.pages.first
            samples = np.concatenate(page.asarray().reshape(page.shaped)[:, 0], axis=2)  # planes or not: HxWxS
            photometric, extra_samples, icc_profile = page.photometric, page.extrasamples, page.iccprofile
            orientation = page.tags.valueof(_TIFF_ORIENTATION, 1)
    except Exception as err:  # a codec that needs imagecodecs, a broken file: tifffile raises many types
        if image is not None:
            return _read_eight_bit_colour(path, image, err)
        if "imagecodecs" in str(err):
            raise ValueError(f"{pillow_error}, and tifffile decodes it only with the optional imagecodecs package "
                             f"({err}): install imagecodecs to read it") from None
        raise pillow_error from None
    values, info = _decode_tiff_samples(samples, photometric, extra_samples, orientation)
    return values, replace(info, icc_profile=icc_profile)


def _decode_tiff_samples(samples, photometric, extra_samples, orientation):
    """(HxWx3 values, ImageInfo) from a TIFF page's HxWxS samples, upright. A sample beyond the colours is
    alpha if ExtraSamples says so, as Pillow takes it, else left out; colours premultiplied by an associated
    alpha are divided by it (a transparent pixel is black), as Pillow does too."""
    colours = _TIFF_COLOURS.get(int(photometric))
    if colours is None:
        raise ValueError(f"its PhotometricInterpretation is {int(photometric)}: only gray (1) and RGB (2) are read")
    extra = (*extra_samples, 0)[0]  # what the first sample beyond the colours is; 0: unspecified
    has_alpha = samples.shape[2] > colours and extra in _TIFF_ALPHAS
    if samples.dtype.kind == "f":
        channels, scale = _unit_floats(samples[..., :colours + has_alpha])
        bit_depth = 32
    else:
        bit_depth, scale = 8 if samples.dtype == np.uint8 else 16, None
        channels = _sixteen_bit_range(samples[..., :colours + has_alpha]).astype(np.float32) / (2 ** bit_depth - 1)
    channels = np.dstack([_upright(channel, orientation) for channel in np.moveaxis(channels, 2, 0)])
    if has_alpha and extra == 1:
        alpha = channels[..., colours:]
        channels[..., :colours] = np.divide(channels[..., :colours], alpha, out=np.zeros_like(channels[..., :colours]),
                                            where=alpha > 0)
    mode = ("L" if colours == 1 else "RGB") + ("A" if has_alpha else "")
    values, info = _split_alpha(np.minimum(channels, 1.0), mode, bit_depth)
    return values, replace(info, float_scale=scale)


def _read_eight_bit_colour(path, image, tifffile_error):
    """16-bit colour that tifffile cannot decode, read through Pillow's libtiff at 8 bits, with a warning;
    Pillow's own decoder of uncompressed planes would scramble them: that is an error."""
    compression = image.info.get("compression")
    planar = image.tag_v2.get(_TIFF_PLANAR_CONFIGURATION) == 2
    what = "16-bit colour " + ("planes" if planar else "samples")
    if [tile.codec_name for tile in image.tile] != ["libtiff"]:
        raise ValueError(f"its {what} cannot be decoded: {tifffile_error}")
    try:
        image.load()
    except Exception as err:  # as in read_image: Pillow signals broken files with many exception types
        raise ValueError(f"its {what}, compressed with {compression}, can be decoded neither at 16 bits "
                         f"({tifffile_error}) nor at 8 ({err})") from None
    warnings.warn(f"{path} stores its 16-bit colour channels{' as separate planes' if planar else ''} compressed "
                  f"with {compression}, which are read at 8 bits per channel ({tifffile_error}); to keep 16 bits, "
                  f"install the imagecodecs package"
                  + (" or store the channels interleaved (the TIFF default)" if planar else ""))
    values, info = _decode(ImageOps.exif_transpose(image))
    return values, replace(info, icc_profile=image.info.get("icc_profile"))


def _upright(plane, orientation):
    """A float32 plane turned as `ImageOps.exif_transpose` turns an image with that EXIF orientation."""
    image = Image.fromarray(plane)
    image.getexif()[ExifTags.Base.Orientation] = orientation
    return np.asarray(ImageOps.exif_transpose(image))


def _decode(image):
    mode = image.mode
    if mode == "1":
        return _grayscale(np.asarray(image, dtype=np.float32)), ImageInfo(mode, True, 1)
    if mode in _SIXTEEN_BIT_MODES:
        pixels = _sixteen_bit_range(np.asarray(image))  # mode "I" holds 32-bit integers
        samples = _with_transparent_colour(pixels[..., None], image.info.get("transparency"))
        return _split_alpha(samples.astype(np.float32) / 65535.0, mode, bit_depth=16)
    if mode == "F":
        values, scale = _unit_floats(np.asarray(image))
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


def _sixteen_bit_range(pixels):
    """Integer pixels, refused unless they fit in 16 bits: clipped, they would be restored wrong unnoticed."""
    low, high = pixels.min(), pixels.max()
    if low < 0 or high > 65535:
        raise ValueError(f"pixels range from {low} to {high}: 32-bit integer pixels are not supported, "
                         "only 0 to 65535 (16 bits)")
    return pixels


def _unit_floats(pixels):
    """Float pixels -> (float32 values in [0, 1], the file's value of white)."""
    scale = _float_scale(pixels)
    return np.clip(pixels.astype(np.float32) / np.float32(scale), 0.0, 1.0), scale


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
    """Read a defect mask -> bool HxW: True where any channel is above half intensity, or, in a label image
    whose stored values are 0 and 1 alone (as many annotation tools write them), where it is 1. Faint
    values of any other kind (a JPEG's ringing, a soft frame) stay below the half-intensity threshold."""
    values, info = _read_or_error(Path(path))  # without read_image's warning: a mask of 0 and 1 is meant to be dark
    values = values.max(axis=2)
    if info.bit_depth in (8, 16):
        stored = np.rint(values * (2 ** info.bit_depth - 1))
        if stored.max() == 1 and np.isin(stored, (0, 1)).all():
            return stored == 1
    return values > 0.5


def write_image(path, image, like=None):
    """Write a float image in [0, 1] (HxW, HxWx1 or HxWx3); with `like`, in that ImageInfo's mode.

    Grayscale originals are written as the channel mean, 16-bit ones as 16-bit (colour and gray + alpha too,
    in PNG and TIFF), float ones as float in their scale, 1-bit ones thresholded at 0.5, and an original alpha
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
    writer = _array_writer(suffix, grayscale, bit_depth, alpha is not None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if writer is not None:
            samples = np.dstack([values] if alpha is None else [values, alpha])
            writer(path, _stored(samples, bit_depth, like), profile)
        else:
            options = dict(_SAVE_OPTIONS.get(suffix, {}), **({"icc_profile": profile} if profile else {}))
            _pillow_image(values, grayscale, bit_depth, alpha, like).save(path, **options)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot write image {path}: {err}") from None


def _array_writer(suffix, grayscale, bit_depth, has_alpha):
    """Who writes what Pillow cannot: colour or gray + alpha at 16 bits (PNG or TIFF) or in floats (TIFF).
    None where Pillow can."""
    if bit_depth not in (16, 32) or (grayscale and not has_alpha):
        return None
    if suffix in _TIFF_SUFFIXES:
        return _write_tiff
    return _write_sixteen_bit_png if suffix == ".png" and bit_depth == 16 else None


def _stored(values, bit_depth, like):
    """Values in [0, 1] as a 16-bit or float file stores them: integers to 65535, or floats in the original's
    scale (alpha too: it is read in the colours' scale)."""
    if bit_depth == 32:
        return values * np.float32(like.float_scale)
    return np.round(values * 65535.0).astype(np.uint16)


def _pillow_image(values, grayscale, bit_depth, alpha, like):
    if bit_depth == 1:
        return Image.fromarray(values >= 0.5)
    if bit_depth == 32 or bit_depth == 16 and grayscale:
        return Image.fromarray(_stored(values, bit_depth, like))
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


def _write_tiff(path, samples, icc_profile):
    """Pillow writes no TIFF of 16-bit or float colour, nor of gray + alpha at 16 bits or in floats: tifffile
    (which scikit-image needs) does, gray or RGB, and alpha after the colours."""
    import tifffile  # here, not at the top: importing it adds about 70 ms to every start, for a rare kind of file

    tifffile.imwrite(path, samples, photometric="rgb" if samples.shape[2] >= 3 else "minisblack",
                     extrasamples=("unassalpha",) if samples.shape[2] in (2, 4) else None,
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
