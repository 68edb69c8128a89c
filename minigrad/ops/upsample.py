"""Bilinear resizing as two small matrix products: out = A_h @ x @ A_w^T, and backward uses the transposes."""
import math

import numpy as np

from ..backend import get_array_module
from ..function import Function


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
        return rows @ (x @ cols.T)

    @staticmethod
    def backward(ctx, grad):
        rows, cols = ctx.saved
        return rows.T @ (grad @ cols)
