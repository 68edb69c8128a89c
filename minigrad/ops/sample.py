"""grid_sample: each output reads the input at the point that a grid gives in [-1, 1] coordinates, between pixels
by bilinear or bicubic weights or at the nearest pixel, as torch's. The pixels read and their weights are worked
out once (`taps`), for the forward's gather, the backward's scatter-add into the input's gradient and the grid's
gradient alike, with the formulas of torch's CPU kernel, so that float32 results agree with its to float32
rounding."""
import math

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


def taps(grid, height, width, mode, padding_mode, align_corners, twists=False):
    """The pixels that each of a grid's (N, P) points reads from an image of height x width: their flat
    positions in it (N, taps, P), height * width for a pixel off the image (which reads 0, torch's "zeros"
    padding, see `_with_stand_in_pixel`), their weights, and but for "nearest" (flat between its jumps) the weights'
    derivatives by the point's x and y. "nearest" and "bilinear" bring the point onto the image as the padding
    mode says, "bicubic" each of its taps, as torch's. Where twists (bilinear), last the weights' derivatives by x
    and then y, their only second derivatives as they are linear in each (else None)."""
    xp = get_array_module(grid)
    points = grid.reshape(grid.shape[0], 1, grid.shape[1] * grid.shape[2], 2)
    (column, column_slope), (row, row_slope) = (unnormalized(points[..., axis], size, align_corners)
                                                for axis, size in ((0, width), (1, height)))
    if mode != "bicubic":
        (column, column_padding), (row, row_padding) = (with_padding_mode(pixel, size, padding_mode, align_corners)
                                                        for pixel, size in ((column, width), (row, height)))
        column_slope, row_slope = column_slope * column_padding, row_slope * row_padding
    if mode == "nearest":  # rint: ties to even, as torch's nearbyint
        columns, rows, weights, slopes, twist = xp.rint(column), xp.rint(row), xp.ones_like(column), None, None
    else:
        left, top = xp.floor(column), xp.floor(row)
        row_offsets, column_offsets = (xp.asarray(offsets[:, None], dtype=grid.dtype)
                                       for offsets in _TAP_OFFSETS[mode])
        across, across_slope = _WEIGHTS[mode](column - left, column_offsets)
        down, down_slope = _WEIGHTS[mode](row - top, row_offsets)
        weights = down * across
        slopes = down * across_slope * column_slope, across * down_slope * row_slope
        twist = across_slope * column_slope * down_slope * row_slope if twists else None
        columns, rows = left + column_offsets, top + row_offsets
        if mode == "bicubic":
            columns, rows = (with_padding_mode(pixels, size, padding_mode, align_corners)[0]
                             for pixels, size in ((columns, width), (rows, height)))
    on_image = (columns >= 0) & (columns < width) & (rows >= 0) & (rows < height)
    positions = xp.where(on_image, rows * width + columns, height * width).astype(np.int64)
    return positions, weights, slopes, twist


class GridSample(Function):
    """torch's grid_sampler for (N, C, H, W) input and an (N, H_out, W_out, 2) grid of (x, y) points: each output
    a weighted sum of the input pixels around its point (see `taps`). The input's gradient adds each output's
    gradient back into the pixels read (GridSampleInputGrad); the grid's sums the pixels by the weights'
    derivatives (GridSampleGridGrad)."""

    node_name = "GridSampler2DBackward0"

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        positions, weights, slopes, _ = taps(grid, *input.shape[2:], mode, padding_mode, align_corners)
        images = _with_stand_in_pixel(input)
        ctx.save_for_backward(images, input.shape, grid, positions, weights, slopes)
        return _gathered(images, positions, weights).reshape(*input.shape[:2], *grid.shape[1:3])

    @staticmethod
    def backward(ctx, grad):
        images, input_shape, grid, positions, weights, slopes = ctx.saved
        need_input, need_grid = ctx.needs_input_grad[:2]
        grad = _flat_points(grad)
        input_grad = _scattered(images.shape, positions, weights, grad, input_shape) if need_input else None
        grid_grad = _grid_gradient(images, positions, slopes, grad, grid) if need_grid else None
        return input_grad, grid_grad

    @staticmethod
    def differentiable_backward(ctx, grad):
        if ctx.params["mode"] == "bicubic":
            return ctx.undifferentiable_gradients(grad)
        images, input_shape, grid, *_ = ctx.saved
        need_input, need_grid = ctx.needs_input_grad[:2]
        linked_grid = ctx.linked(1, grid)
        input_grad = grid_grad = None
        if need_input:
            input_grad = GridSampleInputGrad.apply(grad, linked_grid, size=input_shape[2:], **ctx.params)
        if need_grid:
            grid_grad = GridSampleGridGrad.apply(ctx.linked(0, _without_stand_in_pixel(images, input_shape)), grad,
                                                 linked_grid, **ctx.params)
        return input_grad, grid_grad


class GridSampleInputGrad(Function):
    """The input's gradient of a (bilinear or nearest) grid sample for the output's gradient `grad`, as a function
    of it and of the grid: the sample's adjoint, so its gradient for `grad` is the sample itself, and for the grid
    the sample's grid gradient with the two swapped."""

    @staticmethod
    def forward(ctx, grad, grid, size, mode, padding_mode, align_corners):
        positions, weights, slopes, _ = taps(grid, *size, mode, padding_mode, align_corners)
        ctx.save_for_backward(grad, grid, positions, weights, slopes)
        batch, channels = grad.shape[:2]
        pixels = (batch, channels, size[0] * size[1] + 1)
        return _scattered(pixels, positions, weights, _flat_points(grad), (batch, channels, *size))

    @staticmethod
    def backward(ctx, input_grad_grad):
        grad, grid, positions, weights, slopes = ctx.saved
        images = _with_stand_in_pixel(input_grad_grad)
        grad_grad = _gathered(images, positions, weights).reshape(grad.shape) if ctx.needs_input_grad[0] else None
        grid_grad = _grid_gradient(images, positions, slopes, _flat_points(grad), grid) if ctx.needs_input_grad[1] \
            else None
        return grad_grad, grid_grad

    @staticmethod
    def differentiable_backward(ctx, input_grad_grad):
        grad, grid = (ctx.linked(position, array) for position, array in enumerate(ctx.saved[:2]))
        params = {name: value for name, value in ctx.params.items() if name != "size"}
        grad_grad = GridSample.apply(input_grad_grad, grid, **params) if ctx.needs_input_grad[0] else None
        grid_grad = GridSampleGridGrad.apply(input_grad_grad, grad, grid, **params) if ctx.needs_input_grad[1] \
            else None
        return grad_grad, grid_grad


class GridSampleGridGrad(Function):
    """The grid's gradient of a grid sample of `input` for the output's gradient `grad`, as a function of the
    three: linear in the input and in grad (a sample and its adjoint, each tap weighted by the weights' slopes
    along the gradient it gets), and in the grid through the bilinear weights' mixed second derivatives. Nearest's
    is 0 whatever they are."""

    @staticmethod
    def forward(ctx, input, grad, grid, mode, padding_mode, align_corners):
        positions, _, slopes, twist = taps(grid, *input.shape[2:], mode, padding_mode, align_corners, twists=True)
        images = _with_stand_in_pixel(input)
        ctx.save_for_backward(images, input.shape, grad, grid, positions, slopes, twist)
        return _grid_gradient(images, positions, slopes, _flat_points(grad), grid)

    @staticmethod
    def backward(ctx, grid_grad_grad):
        images, input_shape, grad, grid, positions, slopes, twist = ctx.saved
        if slopes is None:
            return None, None, None
        need_input, need_grad, need_grid = ctx.needs_input_grad
        # by x and y at each point, for every tap
        along = grid_grad_grad.reshape(grid.shape[0], 1, grid.shape[1] * grid.shape[2], 2)
        along_x, along_y = along[..., 0], along[..., 1]
        flat_grad = _flat_points(grad)
        tap_weights = slopes[0] * along_x + slopes[1] * along_y
        input_grad = _scattered(images.shape, positions, tap_weights, flat_grad, input_shape) if need_input else None
        grad_grad = _gathered(images, positions, tap_weights).reshape(grad.shape) if need_grad else None
        grid_grad = None
        if need_grid:
            per_tap = _tap_sums(images, positions, flat_grad) * twist
            grid_grad = _stacked_points([(per_tap * along_y).sum(axis=1), (per_tap * along_x).sum(axis=1)], grid.shape)
        return input_grad, grad_grad, grid_grad


def _flat_points(values):
    """An (N, C, H_out, W_out) output's values (or its gradient's) as (N, C, P)."""
    return values.reshape(*values.shape[:2], math.prod(values.shape[2:]))


def _stacked_points(per_axis, grid_shape):
    """(N, P) values by the points' x and by their y as a grid's (N, H_out, W_out, 2)."""
    return get_array_module(per_axis[0]).stack(per_axis, axis=-1).reshape(grid_shape)


def _gathered(images, positions, weights):
    """The (N, C, P) sums of the (N, C, H * W + 1) images' pixels at (N, taps, P) positions by their weights."""
    return (_read(images, positions) * weights[:, None]).sum(axis=2)


def _scattered(pixels_shape, positions, weights, values, input_shape):
    """_gathered's adjoint: the (N, C, P) values added back, by the weights, into the pixels at the positions, as an
    (N, C, H, W) image."""
    xp = get_array_module(values)
    padded = memory.zeros(xp, (math.prod(pixels_shape),), values.dtype)
    xp.add.at(padded, _flat_index(pixels_shape, positions).ravel(), (values[:, :, None] * weights[:, None]).ravel())
    return _without_stand_in_pixel(padded.reshape(pixels_shape), input_shape)


def _tap_sums(images, positions, grad):
    """The (N, taps, P) sums over the channels of each tap's pixel times the output's gradient at its point."""
    return (_read(images, positions) * grad[:, :, None]).sum(axis=1)


def _grid_gradient(images, positions, slopes, grad, grid):
    """The grid's gradient for the (N, C, P) output gradient: each point's taps by the weights' slopes (0 where
    there are none, nearest's)."""
    if slopes is None:
        return memory.zeros(get_array_module(grad), grid.shape, grad.dtype)
    per_tap = _tap_sums(images, positions, grad)
    return _stacked_points([(per_tap * slope).sum(axis=1) for slope in slopes], grid.shape)


def _with_stand_in_pixel(input):
    """(N, C, H, W) images as (N, C, H * W + 1): each channel's pixels in a row, then a 0 that the taps off the
    image read, and their gradients go to."""
    xp = get_array_module(input)
    batch, channels, height, width = input.shape
    return xp.concatenate([input.reshape(batch, channels, height * width), xp.zeros((batch, channels, 1), input.dtype)],
                          axis=2)


def _without_stand_in_pixel(images, input_shape):
    """_with_stand_in_pixel's images as the (N, C, H, W) input."""
    return images[..., :-1].reshape(input_shape)


def _flat_index(pixels_shape, positions):
    """The index into raveled (N, C, H * W + 1) images of the pixels at (N, taps, P) positions, for every
    channel: (N, C, taps, P). One flat index, as NumPy's ufunc.at is fastest with one."""
    xp = get_array_module(positions)
    batch, channels, pixels = pixels_shape
    rows = xp.arange(batch * channels).reshape(batch, channels, 1, 1) * pixels
    return rows + positions[:, None]


def _read(images, positions):
    """The (N, C, taps, P) pixels at `positions` of (N, C, H * W + 1) images."""
    return images.reshape(-1)[_flat_index(images.shape, positions)]
