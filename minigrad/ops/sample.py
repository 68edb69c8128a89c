"""grid_sample: each output reads the input at the point that a grid gives in [-1, 1] coordinates, between pixels
by bilinear weights or at the nearest pixel, as torch's. The pixels read and their weights are worked out once
(`taps`), for the forward's gather, the backward's scatter-add into the input's gradient and the grid's gradient
alike, in the order of torch's CPU kernel's arithmetic, so that float32 results agree with its to a rounding or
two."""
import numpy as np

from .. import memory
from ..backend import get_array_module
from ..function import Function

PADDING_MODES = ("zeros", "border", "reflection")

# The taps of bilinear sampling around a point, in torch's order: the top-left, top-right, bottom-left and
# bottom-right pixels, as offsets from the top-left one
_BILINEAR_ROWS = np.array([0, 0, 1, 1])[:, None]
_BILINEAR_COLUMNS = np.array([0, 1, 0, 1])[:, None]


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


def source_pixels(coordinate, size, padding_mode, align_corners):
    """The pixel coordinate that a grid coordinate reads along an axis of `size` pixels, "border" and
    "reflection" bringing it onto the image, and its derivative by the grid coordinate."""
    pixel, slope = unnormalized(coordinate, size, align_corners)
    if padding_mode == "reflection":
        pixel, fold_slope = reflected(pixel, size, align_corners)
        slope = slope * fold_slope
    if padding_mode != "zeros":
        pixel, inside = clipped(pixel, size)
        slope = slope * inside
    return pixel, slope


def taps(grid, height, width, mode, padding_mode, align_corners):
    """The pixels that each of a grid's (N, P) points reads from an image of height x width: their flat
    positions in it (N, taps, P), height * width for a pixel off the image (which reads 0, torch's "zeros"
    padding, see `_padded`), their weights, and for "bilinear" what the grid's gradient needs: the point's
    share of the way to the right and bottom pixels and the derivatives of its pixel coordinates (N, 1, P)."""
    xp = get_array_module(grid)
    points = grid.reshape(grid.shape[0], 1, grid.shape[1] * grid.shape[2], 2)
    column, column_slope = source_pixels(points[..., 0], width, padding_mode, align_corners)
    row, row_slope = source_pixels(points[..., 1], height, padding_mode, align_corners)
    if mode == "nearest":  # rint: ties to even, as torch's nearbyint
        columns, rows, weights, slopes = xp.rint(column), xp.rint(row), xp.ones_like(column), None
    else:
        left, top = xp.floor(column), xp.floor(row)
        right_share, bottom_share = column - left, row - top
        column_offsets, row_offsets = (xp.asarray(offsets, dtype=grid.dtype)
                                       for offsets in (_BILINEAR_COLUMNS, _BILINEAR_ROWS))
        columns, rows = left + column_offsets, top + row_offsets
        weights = (xp.where(row_offsets == 1, bottom_share, 1 - bottom_share)
                   * xp.where(column_offsets == 1, right_share, 1 - right_share))
        slopes = right_share, bottom_share, column_slope, row_slope
    on_image = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
    positions = xp.where(on_image, rows * width + columns, height * width).astype(np.int64)
    return positions, weights, slopes


class GridSample(Function):
    """torch's grid_sampler for (N, C, H, W) input and an (N, H_out, W_out, 2) grid of (x, y) points: each output
    a weighted sum of the input pixels around its point (see `taps`). The input's gradient adds each output's
    gradient back into the pixels read; the grid's is the output's change across and down between them, by the
    pixel coordinates' derivatives, and 0 for nearest sampling, flat between its jumps."""

    node_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        positions, weights, slopes = taps(grid, *input.shape[2:], mode, padding_mode, align_corners)
        images = _padded(input)
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
            right_share, bottom_share, column_slope, row_slope = slopes
            top_left, top_right, bottom_left, bottom_right = xp.moveaxis(_read(images, positions), 2, 0)
            across = (top_right - top_left) * (1 - bottom_share) + (bottom_right - bottom_left) * bottom_share
            down = (bottom_left - top_left) * (1 - right_share) + (bottom_right - top_right) * right_share
            grid_grad = xp.stack([(across * grad).sum(axis=1, keepdims=True) * column_slope,
                                  (down * grad).sum(axis=1, keepdims=True) * row_slope], axis=-1).reshape(grid_shape)
        return input_grad, grid_grad


def _padded(input):
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
