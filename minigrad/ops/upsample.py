"""Separable linear resampling as matrix products, out = A_h @ x @ A_w^T (and A_d along the depth of a volume),
and backward uses the transposes: nearest, (bi/tri)linear and bicubic resizing, and adaptive average pooling to
sizes that do not divide the input."""
import functools
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function, gpu_variant_of


def pixel_scale(in_size, out_size, align_corners, scale_factor=None):
    """torch's input pixels per output pixel along an axis: between the corner pixels' centres with
    align_corners, else 1 / scale_factor where one is given (else in / out)."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale_factor if scale_factor else in_size / out_size


def source_positions(in_size, out_size, align_corners, scale_factor=None):
    """torch's source coordinate of each output along an axis: the corner pixels' centres aligned, or pixel
    centres at half-pixel offsets."""
    dst = np.arange(out_size, dtype=np.float64)
    scale = pixel_scale(in_size, out_size, align_corners, scale_factor)
    return dst * scale if align_corners else (dst + 0.5) * scale - 0.5


def tap_matrix(in_size, positions, offsets, weights):
    """(outputs, in_size) weights of a kernel of taps: output i reads the inputs floor(positions[i]) + offsets,
    clamped to the border (their weights then add up there), with `weights(t)` (outputs, taps), t the fraction
    of each position, as torch's linear and cubic interpolation."""
    base = np.minimum(np.floor(positions), in_size - 1)
    taps = np.clip(base.astype(np.int64)[:, None] + offsets, 0, in_size - 1)
    matrix = np.zeros((len(positions), in_size))
    np.add.at(matrix, (np.arange(len(positions))[:, None], taps), weights(np.clip(positions - base, 0.0, 1.0)))
    return matrix


def interpolation_matrix(in_size, out_size, align_corners, scale_factor=None):
    """(out_size, in_size) linear-interpolation weights, with torch's source-coordinate rule (a position before
    the first pixel is the first pixel)."""
    positions = np.maximum(source_positions(in_size, out_size, align_corners, scale_factor), 0.0)
    return tap_matrix(in_size, positions, np.arange(2), lambda t: np.stack([1.0 - t, t], axis=1))


CUBIC_A = -0.75  # torch's (OpenCV's) cubic convolution constant


def cubic_kernel(x, a=CUBIC_A):
    """Keys's cubic convolution kernel at distances x (|x| < 2 nonzero), of host or device arrays."""
    xp = get_array_module(x)
    x = xp.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return xp.where(x <= 1, near, xp.where(x < 2, far, 0.0))


def cubic_weights(t):
    """(len(t), 4) weights of the inputs floor(x) - 1 .. floor(x) + 2 for a position x of fraction t: the cubic
    kernel at distances 1 + t, t, 1 - t, 2 - t."""
    return cubic_kernel(np.stack([1.0 + t, t, 1.0 - t, 2.0 - t], axis=1))


def cubic_matrix(in_size, out_size, align_corners, scale_factor=None):
    """(out_size, in_size) bicubic weights, as torch's: the source coordinates of linear interpolation (not clamped
    to the first pixel), four taps clamped to the border, and the output values unclamped."""
    return tap_matrix(in_size, source_positions(in_size, out_size, align_corners, scale_factor), np.arange(-1, 3),
                      cubic_weights)


ANTIALIAS_KERNELS = {  # mode: (the kernel's taps when not stretched, the kernel), as torch's (Pillow's)
    "bilinear": (2, lambda x: np.maximum(1.0 - np.abs(x), 0.0)),
    "bicubic": (4, lambda x: cubic_kernel(x, a=-0.5)),
}


def antialias_matrix(in_size, out_size, align_corners, scale_factor, mode):
    """(out_size, in_size) weights of torch's antialias=True, Pillow's resampling: the mode's kernel centred on
    each output's centre and, when downsampling, stretched by the scale so that it averages every input it
    covers (a low-pass filter); its taps cut at the border and the weights then scaled to sum to 1."""
    taps, kernel = ANTIALIAS_KERNELS[mode]
    scale = pixel_scale(in_size, out_size, align_corners, scale_factor)
    stretch = max(scale, 1.0)
    support = taps / 2 * stretch
    centre = scale * (np.arange(out_size) + 0.5)
    first = np.maximum(np.trunc(centre - support + 0.5), 0)
    count = np.clip(np.minimum(np.trunc(centre + support + 0.5), in_size) - first, 0, 2 * math.ceil(support) + 1)
    inputs = np.arange(in_size)
    inside = (inputs >= first[:, None]) & (inputs < (first + count)[:, None])
    weights = np.where(inside, kernel((inputs - centre[:, None] + 0.5) / stretch), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=weights, where=total != 0)


def nearest_matrix(in_size, out_size, scale_factor=None, offset=0.0):
    """(out_size, in_size) weights of torch's nearest-neighbour rules: output i copies input
    floor((i + offset) * scale), with the scale in float32 as torch computes it (1 / scale_factor when given,
    else in / out): offset 0 is "nearest", 0.5 "nearest-exact" (the input pixel whose centre is nearest)."""
    outputs = np.arange(out_size)
    scale = np.float32(1.0 / scale_factor) if scale_factor else np.float32(in_size) / np.float32(out_size)
    source = np.floor((outputs + np.float32(offset)).astype(np.float32) * scale).astype(np.int64)
    matrix = np.zeros((out_size, in_size))
    matrix[outputs, np.minimum(source, in_size - 1)] = 1.0
    return matrix


def output_size(in_size, size, scale_factor):
    if size is not None:
        return int(size)
    return int(math.floor(in_size * scale_factor))


def _resize(x, rows, cols):
    """rows @ x @ cols.T over the last two dims of x (..., h, w) -> (..., H, W).

    The width side is one big GEMM over all images' rows; the height side one GEMM per image.
    Images are split over the worker threads.
    """
    xp = get_array_module(x)
    h, w = x.shape[-2:]
    images = xp.ascontiguousarray(x).reshape(-1, h, w)
    out = memory.empty(xp, (images.shape[0], rows.shape[0], cols.shape[0]), x.dtype)

    def work(start, stop):
        widened = images[start:stop].reshape(-1, w) @ cols.T                  # (n*h, W)
        xp.matmul(rows, widened.reshape(stop - start, h, cols.shape[0]), out=out[start:stop])

    parallel.split(work, images.shape[0])
    return out.reshape(x.shape[:-2] + out.shape[-2:])


def _along_depth(x, depth):
    """depth @ x along the third last dim of x (..., d, h, w) -> (..., D, h, w): one GEMM per volume, the volumes
    split over the worker threads."""
    xp = get_array_module(x)
    d, h, w = x.shape[-3:]
    volumes = xp.ascontiguousarray(x).reshape(-1, d, h * w)
    out = memory.empty(xp, (volumes.shape[0], depth.shape[0], h * w), x.dtype)

    def work(start, stop):
        kernels.matmul(depth, volumes[start:stop], out[start:stop])          # on the GPU too: a graph can capture it

    if parallel.worth_splitting(xp, out.size):
        parallel.split(work, volumes.shape[0])
    else:
        work(0, volumes.shape[0])
    return out.reshape(x.shape[:-3] + (depth.shape[0], h, w))


def _resample(function, x, operands):
    """function.resize(x, rows, cols) over the planes of x, and for operands (depth, rows, cols) the depth's
    product along the third last dim too, on whichever side of the planes' resizing costs fewer multiplications
    (the axes commute)."""
    if len(operands) == 2:
        return function.resize(x, *operands)
    depth, rows, cols = operands
    (out_d, in_d), (out_h, in_h), (out_w, in_w) = depth.shape, rows.shape, cols.shape
    plane = in_h * out_w * (in_w + out_h)  # widening each row, then the rows' GEMM
    if out_d * (in_d * in_h * in_w + plane) <= in_d * (plane + out_d * out_h * out_w):
        return function.resize(_along_depth(x, depth), rows, cols)
    return _along_depth(function.resize(x, rows, cols), depth)


@functools.lru_cache(maxsize=16)
def _operands(function, sizes, dtype, xp, params):
    """function's operands for an input of trailing `sizes`, made once per size and then shared (never written):
    a training step resizes the same few sizes every time, and building the matrices (on the GPU also copying
    them over and finding their bands) took longer than the resizing itself. A volume's depth matrix stays an
    array, which _along_depth multiplies on either device."""
    *depth, rows, cols = (xp.asarray(m, dtype=dtype) for m in function.matrices(*sizes, **dict(params)))
    return (*depth, function.operand(rows), function.operand(cols))


def _resized_axes(params):
    """How many trailing axes an op with `params` resizes: 3 (D, H, W), 2 (H, W), or 1 (L) for torch's 1-d
    modes."""
    return len(params.get("size") or params["scale_factor"])


class Resample(Function):
    """rows @ x @ cols.T over the last two dims, with the (out, in) matrices of `matrices(h, w, **params)`; a 1-d
    resize is that of planes of one row (h = 1), which `rows` copies, and a 3-d one takes
    `matrices(d, h, w, **params)`, whose first resizes the depth.

    An op of torch's interpolate names torch's CPU `kernels` (by the number of axes resized), whose error it gives
    for the dtypes torch does not resize: integers and bool, but uint8 images along `byte_axes`, and float16 unless
    `takes_half` (see _require_resizable); after an empty output's, as torch's."""

    half_in_float32 = True
    kernels = None
    byte_axes = ()
    takes_half = True

    @staticmethod
    def forward(ctx, x, **params):
        planes = _planes(x, params)
        sizes = planes.shape[-max(2, _resized_axes(params)):]
        xp = get_array_module(x)
        bytes_ = x.dtype == np.uint8  # resized in float32 (see _byte_passes)
        operands = _operands(ctx.function, sizes, np.dtype(np.float32) if bytes_ else x.dtype, xp,
                             tuple(sorted(params.items())))
        if ctx.function.kernels:
            _require_resizable(ctx.function, np.dtype(np.float16) if ctx.half_in_float32 else x.dtype,
                               _resized_axes(params))
        if bytes_:
            return _unplanes(_byte_passes(ctx.function, xp, planes, operands), params)
        ctx.save_for_backward(*operands)
        return Resample.products(ctx.function, x, operands, params)

    @staticmethod
    def backward(ctx, grad):
        return Resample.products(ctx.function, grad, _transposes(ctx.saved), ctx.params)

    @staticmethod
    def differentiable_backward(ctx, grad):
        return ResampleGrad.apply(grad, resampling=ctx.function, operands=ctx.saved, params=ctx.params)

    @staticmethod
    def products(function, x, operands, params):
        """x resampled by `operands` (forward's matrices, or their transposes), as `function` (the op) does it."""
        return _unplanes(_resample(function, _planes(x, params), operands), params)

    resize = staticmethod(_resize)

    @staticmethod
    def operand(matrix):
        """A matrix as `resize` takes it."""
        return matrix


def _byte_passes(function, xp, planes, operands):
    """uint8 images resized as torch's separable kernels resize them, an axis at a time, the width first, each pass
    rounded to bytes (bicubic's overshoot clamped at 0 and 255): here in float32, each pass rounded half up. Within a
    level of torch's, whose weights are fixed-point; exact where the weights are 0 and 1 (nearest)."""
    *depth, rows, cols = operands

    def identity(size):
        return function.operand(xp.eye(size, dtype=np.float32))

    def rounded(values):
        return xp.clip(xp.floor(values + 0.5), 0, 255)

    values = rounded(function.resize(planes.astype(np.float32), identity(planes.shape[-2]), cols))
    values = rounded(function.resize(values, rows, identity(values.shape[-1])))
    for matrix in depth:
        values = rounded(_along_depth(values, matrix))
    return values.astype(np.uint8)


def _require_resizable(op, dtype, axes):
    """torch's error for a dtype that op's CPU kernel resizing `axes` axes does not take (see Resample)."""
    if dtype.kind == "f" and (op.takes_half or dtype != np.float16) or dtype == np.uint8 and axes in op.byte_axes:
        return
    raise NotImplementedError(f"\"{op.kernels[axes]}\" not implemented for '{SCALAR_TYPE_NAMES[dtype]}'")


def _transposes(operands):
    return tuple(operand.T for operand in operands)


class ResampleGrad(Function):
    """A resampling's gradient as an op of the output's gradient, the resampling (the op that ran), its matrices
    and its parameters its constants: the products by the transposed matrices, linear, so its gradient is the
    resampling itself, whose gradient it is."""

    half_in_float32 = True

    @staticmethod
    def forward(ctx, grad, resampling, operands, params):
        return Resample.products(resampling, grad, _transposes(operands), params)

    @staticmethod
    def backward(ctx, grad):
        params = ctx.params
        return Resample.products(params["resampling"], grad, params["operands"], params["params"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return ctx.params["resampling"].apply(grad, **ctx.params["params"])


def _planes(array, params):
    return array[..., None, :] if _resized_axes(params) == 1 else array


def _unplanes(array, params):
    return array.reshape(array.shape[:-2] + array.shape[-1:]) if _resized_axes(params) == 1 else array


def _named_by_axes(*names):
    """The node_name of an op that resizes 1-d, 2-d (and 3-d) inputs, which torch names apart."""
    return lambda ctx: names[_resized_axes(ctx.params) - 1]


class ResampleKernels:
    """What the GPU variants change: one resize kernel per direction, in which each output reads only its
    band of nonzero weights (two rows and two columns for bilinear upsampling, four for bicubic, its bin for
    pooling)."""

    resize = staticmethod(kernels.resize)
    operand = kernels.BandedMatrix


_EMPTY_OUTPUT = {
    1: "Input and output sizes should be greater than 0, but got input (W: {}) and output (W: {})",
    2: "Input and output sizes should be greater than 0, but got input (H: {}, W: {}) output (H: {}, W: {})",
    3: "Input and output sizes should be greater than 0, but got input (D: {}, H: {}, W: {}) output (D: {}, H: {}, "
       "W: {})",
}


def _axis_matrices(sizes, size, scale_factor, matrix):
    """One matrix per axis of an input of trailing `sizes` ((h, w) or (d, h, w)), `matrix(in_size, out_size,
    scale_factor)` along each resized axis (a 1-d resize keeps the one row of its planes). An empty output is
    torch's error."""
    axes = len(size or scale_factor)
    in_sizes = sizes[-axes:]
    scales = scale_factor or (None,) * axes
    out_sizes = tuple(output_size(n, size and size[axis], scales[axis]) for axis, n in enumerate(in_sizes))
    if min(out_sizes) <= 0:
        raise RuntimeError(_EMPTY_OUTPUT[axes].format(*in_sizes, *out_sizes))
    return (np.ones((1, 1)),) * (len(sizes) - axes) + tuple(map(matrix, in_sizes, out_sizes, scales))


def _scale_unless_kept(in_size, out_size, scale_factor):
    """torch's linear modes, and its anti-aliased ones, copy an axis whose size they keep, whatever scale factor
    gave that size: they take in / out (1) there, not the scale factor."""
    return None if out_size == in_size else scale_factor


class UpsampleBilinear(Resample):
    """torch's "linear" (1-d), "bilinear" (2-d) and "trilinear" (3-d)."""

    node_name = _named_by_axes("UpsampleLinear1DBackward0", "UpsampleBilinear2DBackward0",
                               "UpsampleTrilinear3DBackward0")
    kernels = {1: "compute_indices_weights_linear", 2: "upsample_bilinear2d_channels_last",
               3: "compute_indices_weights_linear"}
    byte_axes = (2,)

    @staticmethod
    def matrices(*sizes, size, scale_factor, align_corners):
        return _axis_matrices(sizes, size, scale_factor, lambda in_size, out_size, scale: interpolation_matrix(
            in_size, out_size, align_corners, _scale_unless_kept(in_size, out_size, scale)))


class UpsampleBicubic(Resample):
    """torch's "bicubic", which resamples an axis whose size it keeps with the scale factor given."""

    node_name = "UpsampleBicubic2DBackward0"
    kernels, byte_axes = {2: "compute_indices_weights_cubic"}, (2,)

    @staticmethod
    def matrices(*sizes, size, scale_factor, align_corners):
        return _axis_matrices(sizes, size, scale_factor, lambda in_size, out_size, scale: cubic_matrix(
            in_size, out_size, align_corners, scale))


class UpsampleAntialiased(Resample):
    """torch's "bilinear" and "bicubic" with antialias=True, which copy an axis whose size they keep."""

    node_name = lambda ctx: f"Upsample{ctx.params['mode'].capitalize()}2DAaBackward0"  # noqa: E731
    kernels, byte_axes, takes_half = {2: "compute_index_ranges_weights"}, (2,), False

    @staticmethod
    def matrices(*sizes, size, scale_factor, align_corners, mode):
        return _axis_matrices(sizes, size, scale_factor, lambda in_size, out_size, scale: antialias_matrix(
            in_size, out_size, align_corners, _scale_unless_kept(in_size, out_size, scale), mode))


_NEAREST_KERNELS = {1: "compute_indices_weights_nearest", 2: "upsample_nearest2d_channels_last",
                    3: "compute_indices_weights_nearest"}


class UpsampleNearest(Resample):
    node_name = _named_by_axes("UpsampleNearest1DBackward0", "UpsampleNearest2DBackward0",
                               "UpsampleNearest3DBackward0")
    kernels, byte_axes = _NEAREST_KERNELS, (1, 2, 3)

    @staticmethod
    def matrices(*sizes, size, scale_factor):
        """torch's 2-d "nearest" takes in / out, not the scale factor, along an axis whose size it keeps or
        doubles (copying it, or repeating each input twice); its 1-d and 3-d ones take the scale factor always."""
        two_d = len(size or scale_factor) == 2
        return _axis_matrices(sizes, size, scale_factor, lambda in_size, out_size, scale: nearest_matrix(
            in_size, out_size, None if two_d and out_size in (in_size, 2 * in_size) else scale))


class UpsampleNearestExact(Resample):
    """torch's "nearest-exact": the input pixel whose centre is nearest, the scale factor taken as given."""

    node_name = _named_by_axes("UpsampleNearestExact1DBackward0", "UpsampleNearestExact2DBackward0",
                               "UpsampleNearestExact3DBackward0")
    kernels, byte_axes = _NEAREST_KERNELS, (1, 2, 3)

    @staticmethod
    def matrices(*sizes, size, scale_factor):
        return _axis_matrices(sizes, size, scale_factor, lambda in_size, out_size, scale: nearest_matrix(
            in_size, out_size, scale, offset=0.5))


@gpu_variant_of(UpsampleBilinear)
class UpsampleBilinearKernels(ResampleKernels, UpsampleBilinear):
    pass


@gpu_variant_of(UpsampleBicubic)
class UpsampleBicubicKernels(ResampleKernels, UpsampleBicubic):
    pass


@gpu_variant_of(UpsampleAntialiased)
class UpsampleAntialiasedKernels(ResampleKernels, UpsampleAntialiased):
    pass


@gpu_variant_of(UpsampleNearest)
class UpsampleNearestKernels(ResampleKernels, UpsampleNearest):
    pass


@gpu_variant_of(UpsampleNearestExact)
class UpsampleNearestExactKernels(ResampleKernels, UpsampleNearestExact):
    pass


def adaptive_bins(in_size, out_size):
    """(start, stop) of torch's adaptive pooling bins along an axis: output i pools the inputs
    [floor(i * in / out), ceil((i + 1) * in / out)), so bins overlap when out does not divide in."""
    i = np.arange(out_size)
    return i * in_size // out_size, -(-(i + 1) * in_size // out_size)


def pooling_matrix(in_size, out_size):
    """(out_size, in_size) weights of torch's adaptive average pooling: each output the mean of its bin."""
    start, stop = adaptive_bins(in_size, out_size)
    inputs = np.arange(in_size)
    inside = (inputs >= start[:, None]) & (inputs < stop[:, None])
    return inside / (stop - start)[:, None]


class AdaptiveAvgPool(Resample):
    """Of planes (size (H, W)) or volumes (size (D, H, W)). For 2-d sizes that do not divide the input;
    functional.adaptive_avg_pool2d takes a block mean otherwise."""

    node_name = _named_by_axes(None, "AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool3DBackward0")

    @staticmethod
    def matrices(*sizes, size):
        return tuple(map(pooling_matrix, sizes, size))


@gpu_variant_of(AdaptiveAvgPool)
class AdaptiveAvgPoolKernels(ResampleKernels, AdaptiveAvgPool):
    pass
