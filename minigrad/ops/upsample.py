"""Bilinear resizing as two matrix products: out = A_h @ x @ A_w^T, and backward uses the transposes."""
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


class UpsampleBilinear(Function):
    @staticmethod
    def forward(ctx, x, size, scale_factor, align_corners):
        xp = get_array_module(x)
        h, w = x.shape[-2:]
        out_h = output_size(h, size[0] if size else None, scale_factor[0] if scale_factor else None)
        out_w = output_size(w, size[1] if size else None, scale_factor[1] if scale_factor else None)
        rows = xp.asarray(interpolation_matrix(h, out_h, align_corners, scale_factor and scale_factor[0]), dtype=x.dtype)
        cols = xp.asarray(interpolation_matrix(w, out_w, align_corners, scale_factor and scale_factor[1]), dtype=x.dtype)
        ctx.save_for_backward(rows, cols)
        return ctx.function.resize(x, rows, cols)

    @staticmethod
    def backward(ctx, grad):
        rows, cols = ctx.saved
        return ctx.function.resize(grad, rows.T, cols.T)

    resize = staticmethod(_resize)


@gpu_variant_of(UpsampleBilinear)
class UpsampleBilinearKernels(UpsampleBilinear):
    """One kernel per direction: each output pixel reads only its few nonzero interpolation weights."""

    resize = staticmethod(kernels.resize)
