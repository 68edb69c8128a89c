"""grid_sample: each output reads the input at the point that a grid gives in [-1, 1] coordinates, between pixels
by bilinear or bicubic weights or at the nearest pixel, as torch's. The pixels read and their weights are worked
out once (`taps`), for the forward's gather, the backward's scatter-add into the input's gradient and the grid's
gradient alike, with the formulas of torch's CPU kernel, so that float32 results agree with its to float32
rounding."""
import numpy as np

from .. import memory
from ..backend import get_array_module
from ..function import Function
from .upsample import CUBIC_A, cubic_kernel

PADDING_MODES = ("zeros", "border", "reflection")

# Each mode's taps around a point, in torch's order: (row, column) offsets from the pixel at its floor
_TAP_OFFSETS = {
    "bilinear": (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])),
    "bicubic": (np.repeat(np.arange(-1, 3), 4), np.tile(np.arange(-1, 3), 4)),
}


def unnormalized(coordinate, size, align_corners):
    """torch's pixel coordinate of a grid coordinate along an axis of `size` pixels, and its slope: -1 and 1 are
    the corner pixels' centres with align_corners, else their outer edges."""
    cast = coordinate.dtype.type
    scale = cast((size - 1) / 2 if align_corners else size / 2)
    pixel = (coordinate + cast(1)) * scale
    return (pixel if align_corners else pixel - cast(0.5)), scale


def clipped(pixel, size):
    """A pixel coordinate clipped into [0, size - 1] and its slope, 0 from each end on, as torch's."""
    xp = get_array_module(pixel)
    return xp.clip(pixel, 0, size - 1), (pixel > 0) & (pixel < size - 1)


def reflected(pixel, size, align_corners):
    """torch's reflect_coordinates: a pixel coordinate mirrored at the ends of the image (the corner pixels'
    centres with align_corners, else their outer edges) until it lies between them, and its slope (1 or -1)."""
    xp = get_array_module(pixel)
    if align_corners and size <= 1:  # one pixel, its centre the only place
        return xp.zeros_like(pixel), 0
    cast = pixel.dtype.type
    low, twice_span = (cast(0), cast(2 * (size - 1))) if align_corners else (cast(-0.5), cast(2 * size))
    offset = pixel - low
    distance = xp.abs(offset)
    extra = distance - xp.trunc(distance / twice_span) * twice_span
    flipped = twice_span - extra
    flips = extra > flipped
    return xp.where(flips, flipped, extra) + low, xp.where(flips != (offset < 0), cast(-1), cast(1))


def with_padding_mode(pixel, size, padding_mode, align_corners):
    """A pixel coordinate along an axis of `size` pixels brought onto the image as the padding mode says ("zeros"
    leaves it, to read 0 off the image), and the derivative of that."""
    slope = 1
    if padding_mode == "reflection":
        pixel, slope = reflected(pixel, size, align_corners)
    if padding_mode != "zeros":
        pixel, inside = clipped(pixel, size)
        slope = slope * inside
    return pixel, slope


def linear_tap_weights(fraction, offsets):
    """The linear-interpolation weights of the taps at `offsets` (0 or 1) from floor(x) for the fraction of x,
    and their derivatives by it."""
    xp = get_array_module(fraction)
    return xp.where(offsets == 1, fraction, 1 - fraction), 2 * offsets - 1


def cubic_tap_weights(fraction, offsets):
    """The cubic-convolution weights of the taps at `offsets` (-1 to 2) from floor(x) for the fraction of x, as
    torch's, and their derivatives by it."""
    xp = get_array_module(fraction)
    distance = fraction - offsets
    length = xp.abs(distance)
    near = (3 * (CUBIC_A + 2) * length - 2 * (CUBIC_A + 3)) * length
    far = (3 * CUBIC_A * length - 10 * CUBIC_A) * length + 8 * CUBIC_A
    return cubic_kernel(distance), xp.where(length <= 1, near, far) * xp.sign(distance)


_WEIGHTS = {"bilinear": linear_tap_weights, "bicubic": cubic_tap_weights}


def taps(grid, height, width, mode, padding_mode, align_corners):
    """The pixels that each of a grid's (N, P) points reads from an image of height x width: their flat
    positions in it (N, taps, P), height * width for a pixel off the image (which reads 0, torch's "zeros"
    padding, see `_with_stand_in_pixel`), their weights, and but for "nearest" (flat between its jumps) the weights'
    derivatives by the point's x and y. "nearest" and "bilinear" bring the point onto the image as the padding
    mode says, "bicubic" each of its taps, as torch's."""
    xp = get_array_module(grid)
    points = grid.reshape(grid.shape[0], 1, grid.shape[1] * grid.shape[2], 2)
    (column, column_slope), (row, row_slope) = (unnormalized(points[..., axis], size, align_corners)
                                                for axis, size in ((0, width), (1, height)))
    if mode != "bicubic":
        (column, column_padding), (row, row_padding) = (with_padding_mode(pixel, size, padding_mode, align_corners)
                                                        for pixel, size in ((column, width), (row, height)))
        column_slope, row_slope = column_slope * column_padding, row_slope * row_padding
    if mode == "nearest":  # rint: ties to even, as torch's nearbyint
        columns, rows, weights, slopes = xp.rint(column), xp.rint(row), xp.ones_like(column), None
    else:
        left, top = xp.floor(column), xp.floor(row)
        row_offsets, column_offsets = (xp.asarray(offsets[:, None], dtype=grid.dtype)
                                       for offsets in _TAP_OFFSETS[mode])
        across, across_slope = _WEIGHTS[mode](column - left, column_offsets)
        down, down_slope = _WEIGHTS[mode](row - top, row_offsets)
        weights = down * across
        slopes = down * across_slope * column_slope, across * down_slope * row_slope
        columns, rows = left + column_offsets, top + row_offsets
        if mode == "bicubic":
            columns, rows = (with_padding_mode(pixels, size, padding_mode, align_corners)[0]
                             for pixels, size in ((columns, width), (rows, height)))
    on_image = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
    positions = xp.where(on_image, rows * width + columns, height * width).astype(np.int64)
    return positions, weights, slopes


class GridSample(Function):
    """torch's grid_sampler for (N, C, H, W) input and an (N, H_out, W_out, 2) grid of (x, y) points: each output
    a weighted sum of the input pixels around its point (see `taps`). The input's gradient adds each output's
    gradient back into the pixels read; the grid's sums the pixels by the weights' derivatives."""

    node_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        positions, weights, slopes = taps(grid, *input.shape[2:], mode, padding_mode, align_corners)
        images = _with_stand_in_pixel(input)
        ctx.save_for_backward(images, input.shape, grid.shape, positions, weights, slopes)
        out = (_read(images, positions) * weights[:, None]).sum(axis=2)
        return out.reshape(*input.shape[:2], *grid.shape[1:3])

    @staticmethod
    def backward(ctx, grad):
        images, input_shape, grid_shape, positions, weights, slopes = ctx.saved
        xp = get_array_module(grad)
        need_input, need_grid = ctx.needs_input_grad[:2]
        grad = grad.reshape(*grad.shape[:2], grid_shape[1] * grid_shape[2])
        input_grad = grid_grad = None
        if need_input:
            padded_grad = memory.zeros(xp, (images.size,), grad.dtype)
            contributions = grad[:, :, None] * weights[:, None]
            xp.add.at(padded_grad, _flat_index(images, positions).ravel(), contributions.ravel())
            input_grad = padded_grad.reshape(images.shape)[..., :-1].reshape(input_shape)
        if need_grid and slopes is None:
            grid_grad = memory.zeros(xp, grid_shape, grad.dtype)
        elif need_grid:
            per_tap = (_read(images, positions) * grad[:, :, None]).sum(axis=1)
            grid_grad = xp.stack([(per_tap * slope).sum(axis=1) for slope in slopes], axis=-1).reshape(grid_shape)
        return input_grad, grid_grad


def _with_stand_in_pixel(input):
    """(N, C, H, W) images as (N, C, H * W + 1): each channel's pixels in a row, then a 0 that the taps off the
    image read, and their gradients go to."""
    xp = get_array_module(input)
    batch, channels, height, width = input.shape
    return xp.concatenate([input.reshape(batch, channels, height * width), xp.zeros((batch, channels, 1), input.dtype)],
                          axis=2)


def _flat_index(images, positions):
    """The index into the raveled (N, C, H * W + 1) images of the pixels at (N, taps, P) positions, for every
    channel: (N, C, taps, P). One flat index, as NumPy's ufunc.at is fastest with one."""
    xp = get_array_module(positions)
    batch, channels, pixels = images.shape
    rows = xp.arange(batch * channels).reshape(batch, channels, 1, 1) * pixels
    return rows + positions[:, None]


def _read(images, positions):
    """The (N, C, taps, P) pixels at `positions` of (N, C, H * W + 1) images."""
    return images.reshape(-1)[_flat_index(images, positions)]
