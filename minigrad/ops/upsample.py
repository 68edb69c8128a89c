"""Separable linear resampling as two matrix products, out = A_h @ x @ A_w^T, and backward uses the
transposes: bilinear resizing, and adaptive average pooling to sizes that do not divide the input."""
import functools
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import Function, gpu_variant_of


def interpolation_matrix(in_size, out_size, align_corners, scale_factor=None):
    """(out_size, in_size) linear-interpolation weights, with torch's source-coordinate rule."""
    dst = np.arange(out_size, dtype=np.float64)
    if align_corners:
        src = dst * ((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros(out_size)
    else:
        scale = 1.0 / scale_factor if scale_factor else in_size / out_size
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    frac = src - low
    matrix = np.zeros((out_size, in_size))
    np.add.at(matrix, (np.arange(out_size), low), 1.0 - frac)
    np.add.at(matrix, (np.arange(out_size), high), frac)
    return matrix


def nearest_matrix(in_size, out_size, scale_factor=None):
    """(out_size, in_size) weights of torch's "nearest": output i copies input floor(i * scale), with the
    scale in float32 as torch computes it (1 / scale_factor when given, else in / out); but, as torch, twice
    the size repeats each input twice, whatever scale factor gave that size."""
    outputs = np.arange(out_size)
    if out_size == 2 * in_size:
        source = outputs // 2
    else:
        scale = np.float32(1.0 / scale_factor if scale_factor else in_size / out_size)
        source = np.minimum(np.floor(outputs.astype(np.float32) * scale).astype(np.int64), in_size - 1)
    matrix = np.zeros((out_size, in_size))
    matrix[outputs, source] = 1.0
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
        xp.matmul(rows, widened.reshape(stop - start, h, -1), out=out[start:stop])

    parallel.split(work, images.shape[0])
    return out.reshape(x.shape[:-2] + out.shape[-2:])


@functools.lru_cache(maxsize=16)
def _operands(function, h, w, dtype, xp, params):
    """function's (rows, cols) operands for an (h, w) input, made once per size and then shared (never
    written): a training step resizes the same few sizes every time, and building the matrices (on the
    GPU also copying them over and finding their bands) took longer than the resizing itself."""
    return tuple(function.operand(xp.asarray(m, dtype=dtype)) for m in function.matrices(h, w, **dict(params)))


class Resample(Function):
    """rows @ x @ cols.T over the last two dims, with the (out, in) matrices of `matrices(h, w, **params)`."""

    @staticmethod
    def forward(ctx, x, **params):
        rows, cols = _operands(ctx.function, *x.shape[-2:], x.dtype, get_array_module(x), tuple(sorted(params.items())))
        ctx.save_for_backward(rows, cols)
        return ctx.function.resize(x, rows, cols)

    @staticmethod
    def backward(ctx, grad):
        rows, cols = ctx.saved
        return ctx.function.resize(grad, rows.T, cols.T)

    resize = staticmethod(_resize)

    @staticmethod
    def operand(matrix):
        """A matrix as `resize` takes it."""
        return matrix


class ResampleKernels:
    """What the GPU variants change: one resize kernel per direction, in which each output reads only its
    band of nonzero weights (two rows and two columns for bilinear upsampling, its bin for pooling)."""

    resize = staticmethod(kernels.resize)
    operand = kernels.BandedMatrix


def _axis_matrices(h, w, size, scale_factor, matrix):
    """(rows, cols) for an (h, w) input, `matrix(in_size, out_size, scale_factor)` along each axis; an axis
    whose size does not change is copied, as torch copies it whatever scale factor gave that size. An empty
    output is torch's error."""
    scales = scale_factor or (None, None)
    out_h, out_w = (output_size(n, size and size[axis], scales[axis]) for axis, n in enumerate((h, w)))
    if min(out_h, out_w) <= 0:
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input (H: {h}, W: {w}) output "
                           f"(H: {out_h}, W: {out_w})")
    return tuple(np.eye(in_size) if out_size == in_size else matrix(in_size, out_size, scale)
                 for in_size, out_size, scale in zip((h, w), (out_h, out_w), scales))


class UpsampleBilinear(Resample):
    node_name = "UpsampleBilinear2DBackward0"

    @staticmethod
    def matrices(h, w, size, scale_factor, align_corners):
        return _axis_matrices(h, w, size, scale_factor,
                              lambda in_size, out_size, scale: interpolation_matrix(in_size, out_size, align_corners, scale))


class UpsampleNearest(Resample):
    node_name = "UpsampleNearest2DBackward0"

    @staticmethod
    def matrices(h, w, size, scale_factor):
        return _axis_matrices(h, w, size, scale_factor, nearest_matrix)


@gpu_variant_of(UpsampleBilinear)
class UpsampleBilinearKernels(ResampleKernels, UpsampleBilinear):
    pass


@gpu_variant_of(UpsampleNearest)
class UpsampleNearestKernels(ResampleKernels, UpsampleNearest):
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


class AdaptiveAvgPool2d(Resample):
    """For sizes that do not divide the input; functional.adaptive_avg_pool2d takes a block mean otherwise."""

    node_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def matrices(h, w, size):
        return pooling_matrix(h, size[0]), pooling_matrix(w, size[1])


@gpu_variant_of(AdaptiveAvgPool2d)
class AdaptiveAvgPool2dKernels(ResampleKernels, AdaptiveAvgPool2d):
    pass
