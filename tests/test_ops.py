"""One table of op specs drives the float64 gradchecks, the torch parity tests and the CPU/GPU agreement.

Each spec's function is written once against the shared torch/minigrad API and called with either
library, so the same code is the op under test and the reference call.
"""
import itertools
import json
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
from minigrad import memory, parallel, profiler
from minigrad.ops import conv, pool
from conftest import error_of, relative_error, requires_gpu

# torch's note on its copy for padding='same' with an even kernel, in every test that runs that spec in torch
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")

MG = types.SimpleNamespace(F=mgF, cat=mg.cat, stack=mg.stack, charbonnier_loss=mgF.charbonnier_loss,
                           sigmoid_gate=mgF.sigmoid_gate)


def _torch_namespace(torch):
    """torch's side of the API; minigrad's fused ops are the chains of the PyTorch reference build."""
    from unet import torch_reference

    return types.SimpleNamespace(
        F=torch.nn.functional, cat=torch.cat, stack=torch.stack,
        charbonnier_loss=torch_reference.charbonnier, sigmoid_gate=torch_reference.sigmoid_gate,
    )


@dataclass
class OpSpec:
    name: str
    fn: object                 # fn(lib, *tensors) -> tensor, lib has .F and .cat
    shapes: list
    low: float = -2.0          # inputs are drawn uniformly from [low, high]
    high: float = 2.0
    rtol: float = 1e-5
    gradcheck_shapes: list = field(default=None)  # smaller shapes for the per-element gradcheck
    integers: bool = False     # draw integers from [low, high] instead, so that values tie


def _interp(mode="bilinear", **kw):
    return lambda L, a: L.F.interpolate(a, mode=mode, **kw)


def _nearest(**kw):
    """F.interpolate's default mode, left unnamed as a user leaves it (torch's default is "nearest")."""
    return lambda L, a: L.F.interpolate(a, **kw)


SPECS = [
    # elementwise, with broadcasting
    OpSpec("add_broadcast", lambda L, a, b: a + b, [(3, 1, 5), (4, 5)]),
    OpSpec("sub_broadcast", lambda L, a, b: a - b, [(2, 3, 4), (3, 1)]),
    OpSpec("mul_broadcast", lambda L, a, b: a * b, [(2, 1, 4), (3, 1)]),
    OpSpec("mul_broadcast_leading_one", lambda L, a, b: a * b, [(1, 3, 4), (5, 3, 4)]),
    OpSpec("mul_batch_of_one", lambda L, a, b: a * b, [(1, 5, 4), (1, 5, 1)]),
    OpSpec("div_broadcast", lambda L, a, b: a / b, [(2, 3, 4), (1, 4)], low=0.5, high=2.0),
    OpSpec("scalar_arith", lambda L, a: (2.5 - a) * 3 + 1 / (a + 3), [(3, 4)]),
    # remainder: divisors kept from 0 (1 to 5, or -5 to -1), dividends that wrap several times
    OpSpec("remainder_broadcast", lambda L, a, b: (3 * a) % (b + 3), [(2, 3, 4), (3, 1)]),
    OpSpec("remainder_negative_divisor", lambda L, a, b: (3 * a) % (b - 3), [(2, 3, 4), (4,)]),
    OpSpec("remainder_scalar", lambda L, a: (3 * a) % 1.5, [(3, 4)]),
    OpSpec("remainder_method", lambda L, a, b: (3 * a).remainder(b + 3), [(3, 4), (3, 4)]),
    OpSpec("pow_square", lambda L, a: a ** 2, [(3, 4)]),
    OpSpec("pow_sqrt_like", lambda L, a: a ** 0.5, [(3, 4)], low=0.5),
    OpSpec("pow_negative", lambda L, a: a ** -1.5, [(3, 4)], low=0.5),
    OpSpec("pow_tensor", lambda L, a, b: a ** b, [(3, 4), (3, 4)], low=0.5),
    OpSpec("neg", lambda L, a: -a, [(3, 4)]),
    OpSpec("neg_method", lambda L, a: a.neg(), [(3, 4)]),
    OpSpec("exp", lambda L, a: a.exp(), [(3, 4)]),
    OpSpec("log", lambda L, a: a.log(), [(3, 4)], low=0.2),
    OpSpec("sqrt", lambda L, a: a.sqrt(), [(3, 4)], low=0.2),
    OpSpec("abs", lambda L, a: a.abs(), [(3, 4)]),
    OpSpec("clamp", lambda L, a: a.clamp(min=-0.5, max=0.7), [(4, 5)]),
    OpSpec("clamp_min_only", lambda L, a: a.clamp(min=0.1), [(4, 5)]),
    # reductions
    OpSpec("sum_all", lambda L, a: a.sum(), [(3, 4, 5)]),
    OpSpec("sum_dim_keepdim", lambda L, a: a.sum(dim=1, keepdim=True), [(3, 4, 5)]),
    OpSpec("mean_dims", lambda L, a: a.mean(dim=(0, 2)), [(3, 4, 5)]),
    OpSpec("mean_all", lambda L, a: a.mean(), [(3, 4, 5)]),
    OpSpec("max_dim", lambda L, a: a.max(dim=1)[0], [(3, 4, 5)]),
    OpSpec("max_dim_keepdim", lambda L, a: a.max(dim=-1, keepdim=True)[0], [(3, 4, 5)]),
    OpSpec("max_all", lambda L, a: a.max(), [(3, 4, 5)]),
    OpSpec("amax_dims", lambda L, a: a.amax((0, 2)), [(3, 4, 5)]),
    OpSpec("amin_keepdim", lambda L, a: a.amin(1, keepdim=True), [(3, 4, 5)]),
    OpSpec("amax_all", lambda L, a: a.amax(), [(3, 4, 5)]),
    OpSpec("prod_dim", lambda L, a: a.prod(1), [(3, 4, 5)], low=0.5),
    OpSpec("prod_all", lambda L, a: a.prod(), [(2, 3)]),
    # values in {-1, 0, 1}: rows with no zero, one zero (whose gradient is the product of the rest) and several
    OpSpec("prod_dim_with_zeros", lambda L, a: a.prod(dim=-1, keepdim=True), [(6, 5, 3)], low=-1, high=2,
           integers=True),
    OpSpec("cumsum", lambda L, a: a.cumsum(1), [(3, 4, 5)]),
    OpSpec("cumsum_last", lambda L, a: a.cumsum(-1), [(3, 4, 5)]),
    OpSpec("norm_all", lambda L, a: a.norm(), [(3, 4, 5)]),
    OpSpec("norm_p1_dim", lambda L, a: a.norm(p=1, dim=1), [(3, 4, 5)]),
    OpSpec("norm_inf_keepdim", lambda L, a: a.norm(p=float("inf"), dim=-1, keepdim=True), [(3, 4, 5)]),
    OpSpec("norm_p3_dims", lambda L, a: a.norm(p=3, dim=(0, 2)), [(3, 4, 5)]),
    OpSpec("norm_p1.5", lambda L, a: a.norm(p=1.5, dim=1), [(3, 4, 5)]),
    OpSpec("logsumexp", lambda L, a: a.logsumexp(1), [(3, 4, 5)]),
    OpSpec("logsumexp_large_dims_keepdim", lambda L, a: (a * 1000).logsumexp((0, 2), keepdim=True), [(3, 4, 5)]),
    # shape ops
    OpSpec("reshape", lambda L, a: a.reshape(4, 15) * a.reshape(4, 15), [(3, 4, 5)]),
    OpSpec("view_raw", lambda L, a: a.view(2, 5, 6), [(3, 4, 5)]),
    OpSpec("permute", lambda L, a: a.permute(2, 0, 1), [(3, 4, 5)]),
    OpSpec("transpose", lambda L, a: a.transpose(1, 2), [(3, 4, 5)]),
    OpSpec("cat", lambda L, a, b: L.cat([a, b, a], dim=1), [(2, 3, 4), (2, 1, 4)]),
    OpSpec("cat_dim0", lambda L, a, b: L.cat([a, b], dim=0), [(2, 3, 4), (1, 3, 4)]),
    OpSpec("stack", lambda L, a, b: L.stack([a, b], dim=0), [(2, 3), (2, 3)]),
    OpSpec("getitem_slices", lambda L, a: a[1:, ::2, -3:], [(3, 4, 5)]),
    OpSpec("getitem_int", lambda L, a: a[1, :, 2], [(3, 4, 5)]),
    OpSpec("getitem_repeats", lambda L, a: a[[0, 2, 0, 0]], [(3, 4)]),
    OpSpec("unsqueeze_flatten", lambda L, a: a.unsqueeze(1).flatten(1), [(3, 4, 5)]),
    OpSpec("view_as", lambda L, a: (a.view(12, 5) * 2).view_as(a), [(3, 4, 5)]),
    OpSpec("reshape_as_permuted", lambda L, a: a.permute(2, 0, 1).reshape_as(a), [(3, 4, 5)]),
    OpSpec("expand_as", lambda L, a: a[:, :1].expand_as(a) * a, [(3, 4, 5)]),
    OpSpec("repeat", lambda L, a: a.repeat(2, 1, 3), [(3, 4)]),
    OpSpec("chunk", lambda L, a: L.cat(a.chunk(3, dim=1)[::-1], dim=1), [(2, 7, 3)]),
    OpSpec("split_size", lambda L, a: L.cat(a.split(3, dim=-1)[::-1], dim=-1), [(2, 3, 7)]),
    OpSpec("split_sections", lambda L, a: L.cat(a.split([2, 1, 4], 1)[::-1], 1), [(2, 7, 3)]),
    OpSpec("unbind", lambda L, a: L.stack(a.unbind(1)[::-1], 0), [(2, 3, 4)]),
    OpSpec("narrow", lambda L, a: a.narrow(1, -3, 2), [(3, 4, 5)]),
    OpSpec("flip", lambda L, a: a.flip(0, 2), [(3, 4, 5)]),
    OpSpec("roll_dims", lambda L, a: a.roll((1, -2), (0, 2)), [(3, 4, 5)]),
    OpSpec("roll_flattened", lambda L, a: a.roll(7), [(3, 4, 5)]),
    OpSpec("masked_fill", lambda L, a: a.masked_fill(a > 0.5, -1.0), [(3, 4, 5)]),
    OpSpec("masked_fill_tensor_value", lambda L, a, b: a.masked_fill(b > 0, b.mean()), [(3, 4), (4,)]),
    OpSpec("gather_dim1", lambda L, a: a.gather(1, a.new_tensor([[0, 2, 2, 0], [1, 1, 3, 0], [3, 3, 3, 3]]).long()),
           [(3, 4)]),
    OpSpec("gather_dim0_smaller_index", lambda L, a: a.gather(0, a.new_tensor([[2, 0, 2], [2, 2, 1]]).long()),
           [(3, 4)]),
    OpSpec("index_select_repeats", lambda L, a: a.index_select(1, a.new_tensor([3, 0, 3, 1]).long()), [(3, 4, 2)]),
    # matmul
    OpSpec("matmul", lambda L, a, b: a @ b, [(4, 5), (5, 3)]),
    OpSpec("matmul_batched_broadcast", lambda L, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 6)]),
    OpSpec("matmul_batch_leading_one", lambda L, a, b: a @ b, [(1, 3, 4, 5), (1, 3, 5, 2)]),
    OpSpec("matmul_one_row_batched_broadcast", lambda L, a, b: a @ b, [(3, 1, 1, 4), (3, 2, 4, 5)]),
    # convolution: stride/padding combinations, odd sizes, with and without bias
    OpSpec("conv3x3_pad1", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1), [(2, 3, 9, 7), (4, 3, 3, 3), (4,)]),
    OpSpec("conv3x3_valid", lambda L, x, w: L.F.conv2d(x, w), [(2, 3, 9, 7), (4, 3, 3, 3)]),
    OpSpec("conv3x3_stride2_pad1", lambda L, x, w, b: L.F.conv2d(x, w, b, stride=2, padding=1), [(2, 3, 9, 8), (5, 3, 3, 3), (5,)]),
    OpSpec("conv5x5_stride2_pad0", lambda L, x, w: L.F.conv2d(x, w, stride=2), [(1, 2, 11, 10), (3, 2, 5, 5)]),
    OpSpec("conv1x1", lambda L, x, w, b: L.F.conv2d(x, w, b), [(2, 6, 5, 3), (4, 6, 1, 1), (4,)]),
    OpSpec("conv_wide", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1), [(2, 24, 8, 8), (16, 24, 3, 3), (16,)],
           gradcheck_shapes=[(1, 5, 5, 4), (3, 5, 3, 3), (3,)]),
    # the stride-1 fast path: odd batch split over threads, many channels, 1-channel 1-D kernels as in the
    # loss's separable blurs, and padding wider than the kernel reaches (its input gradient is cropped)
    OpSpec("conv3x3_many_channels_odd_batch", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1),
           [(3, 32, 10, 12), (32, 32, 3, 3), (32,)], gradcheck_shapes=[(3, 4, 5, 6), (5, 4, 3, 3), (5,)]),
    OpSpec("conv_stacked_row_taps", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1),
           [(3, 16, 7, 6), (16, 16, 3, 3), (16,)], gradcheck_shapes=[(1, 16, 3, 3), (16, 16, 2, 2), (16,)]),
    OpSpec("conv_1ch_tall_kernel", lambda L, x, w: L.F.conv2d(x, w), [(6, 1, 13, 9), (1, 1, 11, 1)],
           gradcheck_shapes=[(3, 1, 12, 3), (1, 1, 11, 1)]),
    OpSpec("conv_1ch_wide_kernel", lambda L, x, w: L.F.conv2d(x, w), [(6, 1, 9, 13), (1, 1, 1, 5)]),
    OpSpec("conv1x5_pad1_beyond_kernel_height", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1),
           [(2, 3, 5, 7), (4, 3, 1, 5), (4,)]),
    OpSpec("conv1x1_pad1", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1), [(2, 3, 4, 5), (2, 3, 1, 1), (2,)]),
    # torch's other options: per-axis kernel, stride and padding, dilation, groups (the column path unless
    # stride 1, no dilation and one group)
    OpSpec("conv3x2_pad1x2_rectangular", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=(1, 2)),
           [(2, 3, 7, 6), (4, 3, 3, 2), (4,)]),
    OpSpec("conv3x2_stride2x1_pad0x1", lambda L, x, w, b: L.F.conv2d(x, w, b, stride=(2, 1), padding=(0, 1)),
           [(2, 3, 9, 7), (4, 3, 3, 2), (4,)]),
    OpSpec("conv3x3_dilation2", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=2, dilation=2),
           [(2, 3, 9, 8), (4, 3, 3, 3), (4,)]),
    OpSpec("conv3x3_dilation2_stride2", lambda L, x, w: L.F.conv2d(x, w, stride=2, padding=1, dilation=2),
           [(2, 3, 11, 10), (4, 3, 3, 3)]),
    OpSpec("conv2x3_dilation3x2_stride3x2",
           lambda L, x, w: L.F.conv2d(x, w, stride=(3, 2), padding=(2, 0), dilation=(3, 2)),
           [(1, 2, 13, 11), (3, 2, 2, 3)]),
    OpSpec("conv3x3_same_dilation2", lambda L, x, w: L.F.conv2d(x, w, padding="same", dilation=2),
           [(2, 3, 8, 7), (4, 3, 3, 3)]),
    OpSpec("conv4x3_same_even_kernel", lambda L, x, w, b: L.F.conv2d(x, w, b, padding="same", dilation=(1, 2)),
           [(2, 3, 8, 7), (4, 3, 4, 3), (4,)]),
    OpSpec("conv3x3_groups2", lambda L, x, w: L.F.conv2d(x, w, padding=1, groups=2), [(2, 4, 7, 6), (6, 2, 3, 3)]),
    OpSpec("conv3x3_groups2_bias_stride2", lambda L, x, w, b: L.F.conv2d(x, w, b, stride=2, padding=1, groups=2),
           [(2, 4, 9, 8), (6, 2, 3, 3), (6,)]),
    OpSpec("conv3x3_depthwise", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1, groups=5),
           [(2, 5, 8, 7), (5, 1, 3, 3), (5,)]),
    OpSpec("conv3x3_depthwise_multiplier2", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1, groups=4),
           [(2, 4, 7, 8), (8, 1, 3, 3), (8,)]),
    OpSpec("conv3x3_depthwise_dilation2", lambda L, x, w: L.F.conv2d(x, w, padding=2, dilation=2, groups=3),
           [(2, 3, 9, 8), (3, 1, 3, 3)]),
    OpSpec("conv1x1_groups3", lambda L, x, w, b: L.F.conv2d(x, w, b, groups=3), [(2, 6, 5, 4), (9, 2, 1, 1), (9,)]),
    # the CPU's direct depthwise path: channel multiplier 2, strides, dilations, no padding, odd sizes
    OpSpec("conv_depthwise_multiplier2_stride2", lambda L, x, w, b: L.F.conv2d(x, w, b, stride=2, padding=1, groups=3),
           [(2, 3, 9, 8), (6, 1, 3, 3), (6,)]),
    OpSpec("conv_depthwise_multiplier2_dilation_stride_rectangular",
           lambda L, x, w: L.F.conv2d(x, w, stride=(2, 1), padding=(2, 1), dilation=(2, 1), groups=4),
           [(1, 4, 11, 7), (8, 1, 3, 2)]),
    OpSpec("conv_depthwise_unpadded_odd", lambda L, x, w, b: L.F.conv2d(x, w, b, groups=3),
           [(3, 3, 7, 5), (3, 1, 2, 3), (3,)]),
    # stride-1 grouped convs on the wide path, one conv per group: stacked row taps, padding beyond the kernel
    OpSpec("conv_groups2_stacked_row_taps", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1, groups=2),
           [(2, 32, 6, 5), (8, 16, 3, 3), (8,)]),
    OpSpec("conv1x3_groups3_pad_beyond_kernel", lambda L, x, w: L.F.conv2d(x, w, padding=(1, 2), groups=3),
           [(2, 6, 5, 6), (6, 2, 1, 3)]),
    # transposed convolution, weight (C, O/groups, kh, kw): the U-Net's 2x2 stride-2 upsampling first
    OpSpec("conv_transpose2x2_stride2", lambda L, x, w, b: L.F.conv_transpose2d(x, w, b, stride=2),
           [(2, 4, 5, 4), (4, 3, 2, 2), (3,)]),
    OpSpec("conv_transpose3x3_stride2_pad1_output_pad1",
           lambda L, x, w, b: L.F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
           [(2, 3, 5, 4), (3, 4, 3, 3), (4,)]),
    OpSpec("conv_transpose3x2_rectangular", lambda L, x, w: L.F.conv_transpose2d(x, w, stride=(2, 1), padding=(1, 0)),
           [(2, 3, 4, 5), (3, 2, 3, 2)]),
    # output_padding beyond the stride (below the dilation), past the plane the conv reaches: only the bias there
    OpSpec("conv_transpose_dilation2_output_pad_past_plane",
           lambda L, x, w, b: L.F.conv_transpose2d(x, w, b, padding=(1, 0), output_padding=(1, 1), dilation=2),
           [(2, 3, 4, 5), (3, 2, 3, 3), (2,)]),
    OpSpec("conv_transpose_groups2", lambda L, x, w, b: L.F.conv_transpose2d(x, w, b, stride=2, padding=1, groups=2),
           [(2, 4, 4, 5), (4, 3, 3, 3), (6,)]),
    OpSpec("conv_transpose_depthwise", lambda L, x, w: L.F.conv_transpose2d(x, w, stride=3, output_padding=(2, 1), groups=4),
           [(2, 4, 3, 4), (4, 1, 2, 3)]),
    # pooling and resizing
    OpSpec("max_pool2", lambda L, x: L.F.max_pool2d(x, 2), [(2, 3, 8, 6)]),
    OpSpec("max_pool2_odd", lambda L, x: L.F.max_pool2d(x, 2), [(2, 3, 9, 7)]),
    OpSpec("max_pool3_stride2_overlap", lambda L, x: L.F.max_pool2d(x, 3, 2), [(2, 3, 9, 8)]),
    OpSpec("max_pool3_stride1", lambda L, x: L.F.max_pool2d(x, 3, 1), [(1, 2, 6, 5)]),
    OpSpec("max_pool_rectangular", lambda L, x: L.F.max_pool2d(x, (2, 3), (1, 2)), [(2, 3, 7, 9)]),
    OpSpec("max_pool_padding", lambda L, x: L.F.max_pool2d(x, 3, 2, padding=1), [(2, 3, 9, 8)]),
    OpSpec("max_pool_dilation", lambda L, x: L.F.max_pool2d(x, (3, 2), 1, padding=(1, 0), dilation=(2, 3)),
           [(1, 2, 9, 10)]),
    # ceil_mode: the last windows run past the padding (8 + 2 * 1 -> 5 windows of 3, 2 apart)
    OpSpec("max_pool_ceil_mode", lambda L, x: L.F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True), [(2, 3, 8, 7)]),
    OpSpec("max_pool_ceil_mode_disjoint", lambda L, x: L.F.max_pool2d(x, 2, ceil_mode=True), [(2, 3, 7, 9)]),
    OpSpec("avg_pool2", lambda L, x: L.F.avg_pool2d(x, 2), [(2, 3, 8, 6)]),
    OpSpec("avg_pool_rectangular_padding", lambda L, x: L.F.avg_pool2d(x, (3, 2), (2, 1), padding=(1, 1)),
           [(2, 3, 9, 8)]),
    OpSpec("avg_pool_ceil_mode", lambda L, x: L.F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True), [(2, 3, 8, 7)]),
    OpSpec("avg_pool_ceil_mode_without_padding_counted",
           lambda L, x: L.F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False), [(2, 3, 8, 7)]),
    OpSpec("avg_pool_divisor_override", lambda L, x: L.F.avg_pool2d(x, (2, 3), 2, padding=1, divisor_override=5),
           [(2, 3, 7, 9)]),
    OpSpec("upsample2_align_true", _interp(scale_factor=2, align_corners=True), [(2, 3, 5, 4)]),
    OpSpec("upsample2_align_false", _interp(scale_factor=2, align_corners=False), [(2, 3, 5, 4)]),
    OpSpec("upsample_frac_align_false", _interp(scale_factor=1.5, align_corners=False), [(1, 2, 6, 5)]),
    OpSpec("resize_size_align_true", _interp(size=(7, 3), align_corners=True), [(1, 2, 5, 4)]),
    OpSpec("resize_size_align_false", _interp(size=(7, 3), align_corners=False), [(1, 2, 5, 4)]),
    OpSpec("downsize_align_false", _interp(size=(3, 2), align_corners=False), [(1, 2, 7, 5)]),
    OpSpec("nearest_upsample2", _nearest(scale_factor=2), [(2, 3, 5, 4)]),
    OpSpec("nearest_frac_scale", _nearest(scale_factor=(1.7, 0.6)), [(1, 2, 6, 5)]),
    OpSpec("nearest_size", _nearest(size=(7, 3)), [(1, 2, 5, 4)]),
    # an axis whose size a scale factor leaves (3 * 1.3 -> 3) is copied; one it doubles (6 * 2.1 -> 12) repeats
    OpSpec("nearest_kept_and_doubled_axes", _nearest(scale_factor=(1.3, 2.1)), [(1, 2, 3, 6)]),
    OpSpec("bilinear_kept_axis", _interp(scale_factor=(1.1, 1.5), align_corners=False), [(1, 2, 4, 6)]),
    OpSpec("adaptive_avg_pool1", lambda L, x: L.F.adaptive_avg_pool2d(x, 1), [(2, 3, 5, 4)]),
    OpSpec("adaptive_avg_pool2", lambda L, x: L.F.adaptive_avg_pool2d(x, 2), [(2, 3, 6, 4)]),
    # activations
    OpSpec("relu", lambda L, x: L.F.relu(x), [(3, 4, 5)]),
    OpSpec("sigmoid", lambda L, x: L.F.sigmoid(x), [(3, 4, 5)], low=-8, high=8),
    OpSpec("sigmoid_gate", lambda L, x, logits, w: L.sigmoid_gate(x, logits, w), [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 1, 1)],
           low=-4, high=4),
    OpSpec("softmax_last", lambda L, x: L.F.softmax(x, dim=-1), [(3, 4, 5)], low=-5, high=5),
    OpSpec("softmax_dim1", lambda L, x: L.F.softmax(x, dim=1), [(3, 4, 5)], low=-5, high=5),
    OpSpec("softmax_dim0", lambda L, x: L.F.softmax(x, dim=0), [(3, 4, 5)], low=-5, high=5),
    # torch's other activations, inputs spread over both sides of their kinks
    OpSpec("tanh", lambda L, x: L.F.tanh(x), [(3, 4, 5)], low=-3, high=3),
    OpSpec("leaky_relu", lambda L, x: L.F.leaky_relu(x), [(3, 4, 5)]),
    OpSpec("leaky_relu_slope", lambda L, x: L.F.leaky_relu(x, 0.3), [(3, 4, 5)]),
    OpSpec("elu", lambda L, x: L.F.elu(x), [(3, 4, 5)], low=-4, high=3),
    OpSpec("elu_alpha", lambda L, x: L.F.elu(x, alpha=0.7), [(3, 4, 5)], low=-4, high=3),
    OpSpec("gelu", lambda L, x: L.F.gelu(x), [(3, 4, 5)], low=-4, high=4),
    OpSpec("gelu_tanh", lambda L, x: L.F.gelu(x, approximate="tanh"), [(3, 4, 5)], low=-4, high=4),
    OpSpec("silu", lambda L, x: L.F.silu(x), [(3, 4, 5)], low=-6, high=6),
    OpSpec("mish", lambda L, x: L.F.mish(x), [(3, 4, 5)], low=-6, high=6),
    OpSpec("softplus", lambda L, x: L.F.softplus(x), [(3, 4, 5)], low=-6, high=6),
    OpSpec("softplus_beta_threshold", lambda L, x: L.F.softplus(x, beta=2.0, threshold=1.5), [(3, 4, 5)]),
    OpSpec("hardtanh", lambda L, x: L.F.hardtanh(x), [(3, 4, 5)]),
    OpSpec("hardtanh_bounds", lambda L, x: L.F.hardtanh(x, -0.5, 1.5), [(3, 4, 5)]),
    OpSpec("hardtanh_relu6", lambda L, x: L.F.relu6(x), [(3, 4, 5)], low=-2, high=8),
    OpSpec("hardswish", lambda L, x: L.F.hardswish(x), [(3, 4, 5)], low=-5, high=5),
    OpSpec("hardsigmoid", lambda L, x: L.F.hardsigmoid(x), [(3, 4, 5)], low=-5, high=5),
    OpSpec("prelu_one_slope", lambda L, x, w: L.F.prelu(x, w), [(2, 3, 4), (1,)]),
    OpSpec("prelu_per_channel", lambda L, x, w: L.F.prelu(x, w), [(2, 3, 4, 5), (3,)]),
    # element-wise math
    OpSpec("sin", lambda L, a: a.sin(), [(3, 4)], low=-4, high=4),
    OpSpec("cos", lambda L, a: a.cos(), [(3, 4)], low=-4, high=4),
    OpSpec("square", lambda L, a: a.square(), [(3, 4)]),
    OpSpec("rsqrt", lambda L, a: a.rsqrt(), [(3, 4)], low=0.2),
    OpSpec("reciprocal", lambda L, a: a.reciprocal(), [(3, 4)], low=0.2),
    OpSpec("reciprocal_negative", lambda L, a: a.reciprocal(), [(3, 4)], low=-2, high=-0.2),
    OpSpec("log1p", lambda L, a: a.log1p(), [(3, 4)], low=-0.8),
    OpSpec("expm1", lambda L, a: a.expm1(), [(3, 4)]),
    OpSpec("log2", lambda L, a: a.log2(), [(3, 4)], low=0.2),
    OpSpec("log10", lambda L, a: a.log10(), [(3, 4)], low=0.2),
    OpSpec("erf", lambda L, a: a.erf(), [(3, 4)], low=-3, high=3),
    OpSpec("exp2", lambda L, a: a.exp2(), [(3, 4)]),
    OpSpec("sinh", lambda L, a: a.sinh(), [(3, 4)], low=-3, high=3),
    OpSpec("cosh", lambda L, a: a.cosh(), [(3, 4)], low=-3, high=3),
    OpSpec("tan", lambda L, a: a.tan(), [(3, 4)], low=-1.3, high=1.3),
    OpSpec("atan", lambda L, a: a.atan(), [(3, 4)], low=-4, high=4),
    OpSpec("asin", lambda L, a: a.asin(), [(3, 4)], low=-0.9, high=0.9),
    OpSpec("acos", lambda L, a: a.acos(), [(3, 4)], low=-0.9, high=0.9),
    OpSpec("frac", lambda L, a: (3 * a).frac() * a, [(3, 4)]),
    OpSpec("logit", lambda L, a: a.logit(), [(3, 4)], low=0.05, high=0.95),
    OpSpec("logit_eps", lambda L, a: a.logit(eps=0.2), [(3, 4)], low=0.02, high=0.98),
    OpSpec("clamp_tensors", lambda L, a, low, high: a.clamp(low, high - 0.5), [(3, 4), (3, 1), (4,)]),
    OpSpec("clamp_min_tensor", lambda L, a, low: a.clamp(min=low), [(3, 4), (4,)]),
    OpSpec("sign", lambda L, a: a.sign() * a, [(3, 4)]),
    OpSpec("angle", lambda L, a: a.angle() * a, [(3, 4)]),
    OpSpec("floor", lambda L, a: (3 * a).floor() + a, [(3, 4)]),
    OpSpec("div_floor", lambda L, a, b: (3 * a).div(b, rounding_mode="floor") * a + a * b, [(3, 4), (4,)]),
    OpSpec("div_trunc", lambda L, a, b: (3 * a).div(b, rounding_mode="trunc") * a + a * b, [(3, 4), (4,)]),
    OpSpec("ceil", lambda L, a: (3 * a).ceil() * a, [(3, 4)]),
    OpSpec("round", lambda L, a: (3 * a).round() * a, [(3, 4)]),
    OpSpec("round_decimals", lambda L, a: (3 * a).round(decimals=1) * a, [(3, 4)]),
    OpSpec("trunc", lambda L, a: (3 * a).trunc() * a, [(3, 4)]),
    OpSpec("maximum_broadcast", lambda L, a, b: a.maximum(b), [(2, 3, 4), (3, 1)]),
    OpSpec("minimum_broadcast", lambda L, a, b: a.minimum(b), [(3, 4), (2, 1, 4)]),
    OpSpec("clamp_min", lambda L, a: a.clamp_min(-0.5), [(3, 4)]),
    OpSpec("clamp_max", lambda L, a: a.clamp_max(0.5), [(3, 4)]),
    # losses
    OpSpec("charbonnier_loss", lambda L, x, y: L.charbonnier_loss(x, y), [(2, 3, 4, 5), (2, 3, 4, 5)]),
    # padding
    OpSpec("pad_replicate", lambda L, x: L.F.pad(x, (2, 1, 3, 2), mode="replicate"), [(2, 3, 4, 5)]),
    OpSpec("pad_reflect", lambda L, x: L.F.pad(x, (2, 1, 3, 2), mode="reflect"), [(2, 3, 4, 5)]),
    OpSpec("pad_constant", lambda L, x: L.F.pad(x, (1, 2, 0, 1), mode="constant", value=0.5), [(2, 3, 4, 5)]),
]
IDS = [spec.name for spec in SPECS]


def _inputs(spec, dtype, shapes=None, seed=0):
    rng = np.random.default_rng(seed)
    draw = rng.integers if spec.integers else rng.uniform
    return [draw(spec.low, spec.high, size=shape).astype(dtype) for shape in (shapes or spec.shapes)]


def _mg_tensors(arrays, device="cpu"):
    return [mg.tensor(a, requires_grad=True, device=device) for a in arrays]


def _mg_forward_backward(spec, arrays, direction, device="cpu"):
    tensors = _mg_tensors(arrays, device)
    out = spec.fn(MG, *tensors)
    (out * mg.tensor(direction, device=device)).sum().backward()
    return out.numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradcheck_float64(spec):
    tensors = _mg_tensors(_inputs(spec, np.float64, spec.gradcheck_shapes))
    assert mg.gradcheck(lambda *ts: spec.fn(MG, *ts), tensors)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_matches_torch_float32(spec):
    _assert_matches_torch(spec)


# Ops whose passes split over the worker threads once big enough; the specs' small shapes only take
# that path with the size floor removed, convs split their images into one-row blocks (one channel per
# block, depthwise), pooling its planes into blocks of one, and the element-wise ops' chains of passes run on
# 7-element blocks.
THREAD_SPLIT = ["add_broadcast", "sub_broadcast", "mul_broadcast", "mul_broadcast_leading_one", "mul_batch_of_one",
                "relu", "sigmoid", "sigmoid_gate", "charbonnier_loss", "conv3x3_pad1", "conv3x3_stride2_pad1",
                "conv_stacked_row_taps", "conv_1ch_tall_kernel", "conv3x3_dilation2", "conv3x3_groups2_bias_stride2",
                "conv3x3_depthwise", "conv_depthwise_multiplier2_stride2", "conv_groups2_stacked_row_taps",
                "conv_transpose2x2_stride2", "max_pool2_odd", "max_pool3_stride2_overlap",
                "max_pool_padding", "max_pool_ceil_mode", "avg_pool_ceil_mode", "matmul", "matmul_batched_broadcast",
                "matmul_batch_leading_one", "matmul_one_row_batched_broadcast", "softmax_last", "softmax_dim1",
                "softmax_dim0", "cat", "cat_dim0", "stack", "exp", "log", "sqrt", "tanh", "leaky_relu_slope",
                "elu_alpha", "gelu", "gelu_tanh", "silu", "mish", "softplus_beta_threshold", "hardswish", "hardsigmoid",
                "sin", "cos", "rsqrt", "reciprocal", "log1p", "expm1", "log2", "log10", "erf", "sign", "floor",
                "round_decimals", "exp2", "sinh", "cosh", "tan", "atan", "asin", "acos", "frac", "logit", "logit_eps"]


@pytest.mark.parametrize("name", THREAD_SPLIT)
def test_thread_split_matches_torch_float32(name, monkeypatch):
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(parallel, "BLOCK_ELEMENTS", 7)   # many blocks per thread, the last one short
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", 1)
    monkeypatch.setattr(pool, "BLOCK_BYTES", 1)
    threads = parallel.get_num_threads()
    parallel.set_num_threads(2)
    try:
        _assert_matches_torch(SPECS[IDS.index(name)])
    finally:
        parallel.set_num_threads(threads)


def test_splitting_pins_every_blas_to_one_thread_scipys_too():
    """minigrad's threads split the big ops, so a BLAS that threads itself beside them oversubscribes the cores: SciPy's
    own OpenBLAS (its LAPACK calls) included, which a process that imports minigrad first loads only later."""
    pytest.importorskip("threadpoolctl")
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: minigrad does not split, and BLAS keeps its own threads")
    script = ("import json, minigrad, threadpoolctl; "  # as imported: one thread per core
              "print(json.dumps([pool['num_threads'] for pool in threadpoolctl.threadpool_info() "
              "if pool['user_api'] == 'blas']))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    counts = json.loads(result.stdout)
    assert counts and set(counts) == {1}


@pytest.mark.parametrize("shape, size", [((3, 4, 5), 7), ((3, 1, 5), 2), ((7,), 3), ((2, 3), 100), ((5, 0), 3),
                                         ((), 5)])
def test_blocks_cover_an_array_once_each_within_the_size(shape, size):
    cover = np.zeros(shape, int)
    for index in parallel.blocks(shape, size):
        assert cover[index].size <= size
        cover[index] += 1
    assert (cover == 1).all()


def _nan_filled(xp, shape, dtype):
    out = xp.empty(shape, dtype=dtype)
    out.fill(np.nan if np.dtype(dtype).kind == "f" else -1)
    return out


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_uninitialised_memory_is_always_overwritten(spec, monkeypatch):
    """Ops that take memory.empty (pooled, possibly stale) buffers must write every element they hand on."""
    monkeypatch.setattr(memory, "empty", _nan_filled)
    _assert_matches_torch(spec)


# Integer inputs tie often: each window's gradient must go to its first maximal tap, as in torch. (No
# gradcheck: a tie has no derivative.)
TIE_SPECS = [OpSpec(f"max_pool{size}_stride{stride}_ties", lambda L, x, size=size, stride=stride: L.F.max_pool2d(x, size, stride),
                    [(2, 3, 9, 8)], low=0, high=3, integers=True) for size, stride in [(2, 2), (3, 2), (3, 1), (2, 3)]]


@pytest.mark.parametrize("spec", TIE_SPECS, ids=[spec.name for spec in TIE_SPECS])
def test_max_pool_ties_match_torch_float32(spec, monkeypatch):
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    _assert_matches_torch(spec)


def _assert_matches_torch(spec):
    torch = pytest.importorskip("torch")
    torch_lib = _torch_namespace(torch)
    arrays = _inputs(spec, np.float32)

    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_out = spec.fn(torch_lib, *torch_inputs)
    direction = np.random.default_rng(1).standard_normal(tuple(torch_out.shape)).astype(np.float32)
    (torch_out * torch.tensor(direction)).sum().backward()

    out, grads = _mg_forward_backward(spec, arrays, direction)
    assert out.dtype == np.float32, f"{spec.name} promoted float32 to {out.dtype}"
    assert relative_error(out, torch_out.detach().numpy()) <= spec.rtol
    for i, (grad, torch_input) in enumerate(zip(grads, torch_inputs)):
        assert grad.dtype == np.float32
        assert relative_error(grad, torch_input.grad.numpy()) <= spec.rtol, f"gradient of input {i}"


# Ops with a GPU variant (minigrad.kernels). With the kernels built for the host, the same checks run
# the GPU code paths on NumPy arrays, so their index arithmetic is tested without a GPU.
KERNEL_SPECS = [spec for spec in SPECS if spec.name.startswith(
    ("conv", "max_pool", "upsample", "resize", "downsize", "nearest", "bilinear", "relu", "sigmoid", "charbonnier",
     "softmax"))]


def _assert_gpu_variants_ran(stats):
    assert any(name.endswith("Kernels") for name, _ in stats.calls), f"no GPU variant among {sorted(stats.calls)}"


@pytest.mark.parametrize("spec", KERNEL_SPECS, ids=[spec.name for spec in KERNEL_SPECS])
def test_gpu_kernels_gradcheck_float64_on_host(spec, host_kernels):
    with profiler.profile() as stats:
        test_gradcheck_float64(spec)
    _assert_gpu_variants_ran(stats)


@pytest.mark.parametrize("spec", KERNEL_SPECS, ids=[spec.name for spec in KERNEL_SPECS])
def test_gpu_kernels_match_torch_float32_on_host(spec, host_kernels):
    with profiler.profile() as stats:
        _assert_matches_torch(spec)
    _assert_gpu_variants_ran(stats)


@requires_gpu
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gpu_matches_cpu(spec):
    """A random direction, not ones: the gradient of softmax's sum is exactly 0, so with ones both devices
    would return their own rounding noise."""
    arrays = _inputs(spec, np.float32)
    shape = spec.fn(MG, *_mg_tensors(arrays, "cpu")).shape
    direction = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    cpu_out, cpu_grads = _mg_forward_backward(spec, arrays, direction)
    gpu_out, gpu_grads = _mg_forward_backward(spec, arrays, direction, device="gpu")
    assert relative_error(gpu_out, cpu_out) <= 1e-5
    for gpu_grad, cpu_grad in zip(gpu_grads, cpu_grads):
        assert relative_error(gpu_grad, cpu_grad) <= 1e-5


# ---- dtypes: torch's type promotion (Function.apply) -------------------------------------------------------
# Each case is written once against a constructor make(data, dtype_name), called with torch's and minigrad's.

PROMOTIONS = {
    # Python numbers: a float makes an integer or bool tensor float32 (torch's default dtype), an int makes a
    # bool tensor int64, and neither widens a tensor of their category or a higher one
    "int64 + float": lambda make: make([1, 2], "int64") + 0.5,
    "float * int64": lambda make: 0.5 * make([1, 2], "int64"),
    "float - int32": lambda make: 2.5 - make([1, 2], "int32"),
    "int64 ** float": lambda make: make([4, 9], "int64") ** 0.5,
    "float ** int64": lambda make: 2.0 ** make([1, 2], "int64"),
    "int ** int64": lambda make: 2 ** make([1, 2], "int64"),
    "bool * float": lambda make: make([True, False], "bool") * 2.5,
    "bool + float": lambda make: make([True, False], "bool") + 0.5,
    "bool ** float": lambda make: make([True, False], "bool") ** 0.5,
    "bool * int": lambda make: make([True, False], "bool") * 2,
    "bool + bool": lambda make: make([True, False], "bool") + True,
    "int32 + int": lambda make: make([1, 2], "int32") + 3,
    "uint8 * int": lambda make: make([1, 2], "uint8") * 3,
    "float16 + float": lambda make: make([1.5, 2.0], "float16") + 0.25,
    "float32 + int": lambda make: make([1.5, 2.0], "float32") + 2 ** 40,
    "float64 * float": lambda make: make([1.5, 2.0], "float64") * 0.1,
    "int64 + numpy float64": lambda make: make([1, 2], "int64") + np.float64(0.5),
    "float32 * numpy float64": lambda make: make([1.5, 2.0], "float32") * np.float64(0.1),
    "bool + numpy int64": lambda make: make([True, False], "bool") + np.int64(2),
    # 0-d tensors count like scalars against tensors with dimensions, unless of a higher category
    "float32 + 0-d float64": lambda make: make([1.5, 2.0], "float32") + make(0.1, "float64"),
    "0-d float64 * float32": lambda make: make(0.1, "float64") * make([1.5, 2.0], "float32"),
    "int64 + 0-d float64": lambda make: make([1, 2], "int64") + make(0.1, "float64"),
    "int32 + 0-d int64": lambda make: make([1, 2], "int32") + make(3, "int64"),
    "bool + 0-d int32": lambda make: make([True, False], "bool") + make(3, "int32"),
    "0-d float32 + 0-d float64": lambda make: make(1.5, "float32") + make(0.1, "float64"),
    "0-d int64 + float": lambda make: make(1, "int64") + 0.5,
    # true division of integers is float32
    "int64 / int64": lambda make: make([1, 2], "int64") / make([2, 4], "int64"),
    "int32 / int": lambda make: make([1, 2], "int32") / 2,
    "int / int64": lambda make: 3 / make([2, 4], "int64"),
    "bool / bool": lambda make: make([True, True], "bool") / make([True, True], "bool"),
    "int64 / 0-d float64": lambda make: make([1, 2], "int64") / make(4.0, "float64"),
    # tensors of two categories: the higher one's dtype, whatever the widths
    "int64 + float32": lambda make: make([1, 2], "int64") + make([0.5, 1.5], "float32"),
    "int64 * float16": lambda make: make([1, 2], "int64") * make([0.5, 1.5], "float16"),
    "bool * int32": lambda make: make([True, False], "bool") * make([3, 4], "int32"),
    "uint8 - int8": lambda make: make([1, 2], "uint8") - make([3, -4], "int8"),
    "float32 * float64": lambda make: make([1.5, 2.0], "float32") * make([0.1, 3.0], "float64"),
    "float32 ** float64": lambda make: make([1.5, 2.0], "float32") ** make([2.0, 0.5], "float64"),
}


def _make_torch(torch):
    return lambda data, dtype: torch.tensor(data, dtype=dtype and getattr(torch, dtype))


def _make_mg(data, dtype):
    return mg.tensor(data, dtype=dtype)


def _assert_same_tensor(out, expected):
    """minigrad's `out` has torch's dtype, shape and values."""
    assert str(out.dtype) == str(expected.dtype).removeprefix("torch.")
    assert out.shape == tuple(expected.shape)
    assert out.numpy().tolist() == pytest.approx(expected.detach().numpy().tolist(), rel=1e-6)


@pytest.mark.parametrize("name", PROMOTIONS)
def test_type_promotion_matches_torch(name):
    torch = pytest.importorskip("torch")
    _assert_same_tensor(PROMOTIONS[name](_make_mg), PROMOTIONS[name](_make_torch(torch)))


@pytest.mark.parametrize("dtype, exponent", [("int64", 2), ("bool", 2), ("int32", 3), ("int64", 0.5), ("bool", 1.5)])
def test_pow_scalar_promotes_by_the_exponent_type_like_torch(dtype, exponent):
    """An integer exponent keeps an integer tensor's dtype (bool's becomes int64); a float one gives float32."""
    torch = pytest.importorskip("torch")
    data = [True, False] if dtype == "bool" else [4, 9]
    out = mg.ops.PowScalar.apply(_make_mg(data, dtype), exponent=exponent)
    _assert_same_tensor(out, _make_torch(torch)(data, dtype) ** exponent)


@pytest.mark.parametrize("dtype, array", [
    ("float32", np.array([0.5, 2.0])), ("float32", np.array(2.0)), ("int64", np.array([0.5, 2.0], np.float32)),
    ("float64", np.array([3, 4], np.int32)), ("bool", np.array([3, 4], np.int32)), ("int32", np.array(2, np.int64)),
], ids=["f32*f64", "f32*0d_f64", "i64*f32", "f64*i32", "bool*i32", "i32*0d_i64"])
def test_numpy_array_operands_count_as_the_tensors_they_make_like_torch_from_numpy(dtype, array):
    """t * array is t * torch.from_numpy(array) (so float32 * a float64 array is float64), on either side."""
    torch = pytest.importorskip("torch")
    data = [True, False] if dtype == "bool" else [1, 2]
    expected = _make_torch(torch)(data, dtype) * torch.from_numpy(array)
    _assert_same_tensor(_make_mg(data, dtype) * array, expected)
    _assert_same_tensor(array * _make_mg(data, dtype), expected)


@pytest.mark.parametrize("dtypes, shapes", [
    (("float16", "float32"), [(3,), (3,)]),
    (("float32", "float64"), [(2, 3), ()]),
    (("float64", "float32"), [(2, 3), ()]),
    (("float32", "float64"), [(), ()]),
    (("float32", "float64"), [(2, 3), (3,)]),
], ids=str)
def test_promoted_operands_get_gradients_of_their_own_dtype_like_torch(dtypes, shapes):
    """A promoted tensor operand is cast inside the graph: its gradient comes back in its dtype, as torch's does."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    arrays = [rng.uniform(0.5, 2.0, shape).astype(dtype) for dtype, shape in zip(dtypes, shapes)]
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]

    def fn(a, b):
        return a * b - a / (b + 3) + 2.5 * b

    out, expected = fn(*ours), fn(*theirs)
    direction = rng.standard_normal(out.shape)
    (out * mg.tensor(direction, dtype=out.dtype)).sum().backward()
    (expected * torch.tensor(direction, dtype=expected.dtype)).sum().backward()
    rtol = 1e-3 if "float16" in dtypes else 1e-5
    assert str(out.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol)
    for mine, reference in zip(ours, theirs):
        assert mine.grad.dtype == mine.dtype
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=rtol)


# ---- pow at 0: torch's gradients (0 where its formulas would give 0 * inf) ----------------------------------

BASES = [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 1.5, -1.5]
EXPONENTS = [0.0, 1.0, 2.0, -1.0, 0.5, 0.0, -0.5, 2.0]
POW_CASES = {
    "x ** 0": lambda x, y: x ** 0,
    "x ** 1": lambda x, y: x ** 1,
    "x ** 2": lambda x, y: x ** 2,
    "x ** 0.5": lambda x, y: x ** 0.5,  # inf at 0 and NaN below, as in torch
    "x ** y": lambda x, y: x ** y,
    "0.0 ** y": lambda x, y: 0.0 ** y,
    "2.0 ** y": lambda x, y: 2.0 ** y,
    "x ** 0-d y": lambda x, y: x ** y[0],
    "0-d x ** y": lambda x, y: x[0] ** y,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", POW_CASES)
def test_pow_gradients_at_zero_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    arrays = [np.array(BASES, dtype), np.array(EXPONENTS, dtype)]
    direction = np.random.default_rng(3).uniform(0.5, 2.0, len(BASES)).astype(dtype)
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0), 0 * inf: masked out, or inf/NaN as in torch
        out = POW_CASES[name](*ours)
        (out * mg.tensor(direction)).sum().backward()
    expected = POW_CASES[name](*theirs)
    (expected * torch.tensor(direction)).sum().backward()
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6)
    for mine, reference in zip(ours, theirs):
        if reference.grad is None:
            assert mine.grad is None
        else:
            assert mine.grad.dtype == dtype
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-6)


def test_promotion_and_pow_at_zero_on_the_gpu_path(gpu_path):
    """Scalars and NumPy operands reach the device, and the pow masks run on device arrays, as on the CPU."""
    def run(device):
        x = mg.tensor([0.0, 0.0, 2.0], device=device, requires_grad=True)
        y = mg.tensor([0.0, 1.0, 0.5], device=device, requires_grad=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (x ** y + 0.0 ** y) * np.array([1.0, 2.0, 3.0]) + mg.tensor([1, 2, 3], device=device) / 2
            out.sum().backward()
        assert out.device == device and out.dtype == np.float64
        return out.numpy(), x.grad.numpy(), y.grad.numpy()

    for gpu, cpu in zip(run("gpu"), run("cpu")):
        assert np.isfinite(gpu).all()
        np.testing.assert_allclose(gpu, cpu, rtol=1e-12)


@pytest.mark.parametrize("other", [None, "a", [None]], ids=["None", "str", "list_of_None"])
def test_non_numeric_operands_are_type_errors_like_torch(other):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.tensor([1.0]) + other
    with pytest.raises(TypeError):
        mg.tensor([1.0]) + other


def test_masked_pow_gradients_at_zero_raise_no_numpy_warnings():
    """The positions torch's formulas mask (0 ** 0, and log 0 where the exponent is >= 0) are not computed
    as 0 ** -1 or log(0) first: the command-line tools print every warning."""
    base = mg.tensor([0.0, 0.0, 2.0], requires_grad=True)
    exponent = mg.tensor([0.0, 2.0, 1.0], requires_grad=True)
    with np.errstate(all="raise"):
        (base ** exponent).sum().backward()
    assert base.grad.tolist() == [0.0, 0.0, 1.0] and exponent.grad.tolist() == [0.0, 0.0, pytest.approx(2 * np.log(2))]


# ---- errors and integer overflow, as torch's --------------------------------------------------------------
# Each case is written once against a constructor make(data, dtype_name), as the promotions above.

def _zeros(make, shape, dtype="float32"):
    return make(np.zeros(shape).tolist(), dtype)


MATMUL_ERRORS = {
    "2-d shapes": lambda make: _zeros(make, (2, 3)) @ _zeros(make, (4, 5)),
    "1-d @ 2-d shapes": lambda make: _zeros(make, 3) @ _zeros(make, (4, 5)),
    "3-d @ 2-d shapes": lambda make: _zeros(make, (7, 2, 3)) @ _zeros(make, (4, 5)),
    "batched shapes": lambda make: _zeros(make, (7, 2, 3)) @ _zeros(make, (7, 4, 5)),
    "batch shapes that do not broadcast": lambda make: _zeros(make, (3, 2, 3)) @ _zeros(make, (4, 3, 5)),
    "4-d @ 3-d batch shapes": lambda make: _zeros(make, (2, 3, 2, 3)) @ _zeros(make, (4, 3, 5)),
    "3-d @ 3-d shapes, both wrong": lambda make: _zeros(make, (2, 3, 4)) @ _zeros(make, (5, 3, 5)),
    "2-d @ 1-d shapes": lambda make: _zeros(make, (2, 3)) @ _zeros(make, 4),
    "1-d @ 1-d shapes": lambda make: _zeros(make, 3) @ _zeros(make, 4),
    "float32 @ float64": lambda make: _zeros(make, (2, 3)) @ _zeros(make, (3, 4), "float64"),
    "float64 @ float32, batched": lambda make: _zeros(make, (5, 2, 3), "float64") @ _zeros(make, (5, 3, 4)),
    "float32 @ float64, 1-d": lambda make: _zeros(make, 3) @ _zeros(make, (3, 4), "float64"),
    "float16 @ float32": lambda make: _zeros(make, (2, 3), "float16") @ _zeros(make, (3, 4)),
    "int64 @ float32": lambda make: _zeros(make, (2, 3), "int64") @ _zeros(make, (3, 4)),
    "int32 @ int64": lambda make: _zeros(make, (2, 3), "int32") @ _zeros(make, (3, 4), "int64"),
    "shapes before dtypes": lambda make: _zeros(make, (2, 3)) @ _zeros(make, (4, 5), "float64"),
}


@pytest.mark.parametrize("name", MATMUL_ERRORS)
def test_matmul_errors_are_torchs(name):
    """Shapes that do not line up and operands of two dtypes are RuntimeErrors in torch's words (which promotes
    neither)."""
    torch = pytest.importorskip("torch")
    assert error_of(lambda: MATMUL_ERRORS[name](_make_mg)) == error_of(lambda: MATMUL_ERRORS[name](_make_torch(torch)))


def test_matmul_errors_are_torchs_over_shapes_dtypes_and_requires_grad():
    """torch words the error as the kernel it takes the operands to (dot, mv, mm, bmm), which depends on their
    dims and on which requires grad. (Empty operands of two dtypes, which torch's bmm multiplies, are left out.)"""
    torch = pytest.importorskip("torch")
    shapes = [(3,), (2, 3), (4, 5), (3, 4), (2, 3, 4), (2, 4, 5), (1, 3, 4), (4, 2, 3), (2, 3, 4, 5), (2, 1, 2, 3)]
    for a, b, b_dtype, a_grad, b_grad in itertools.product(shapes, shapes, ("float32", "float64"), *[(False, True)] * 2):
        def product(lib):
            x = lib.tensor(np.ones(a, np.float32), requires_grad=a_grad)
            return x @ lib.tensor(np.ones(b, b_dtype), requires_grad=b_grad)
        outcomes = [_outcome(lambda: product(lib)) for lib in (torch, mg)]
        assert outcomes[1] == outcomes[0], (a, b, b_dtype, a_grad, b_grad)


def _outcome(call):
    try:
        call()
    except RuntimeError as error:
        return str(error)
    return "multiplied"


def test_matmul_of_two_integer_tensors_of_one_dtype_matches_torch():
    torch = pytest.importorskip("torch")
    case = lambda make: make([1, 2], "int64") @ make([[5, -6], [7, 8]], "int64")  # noqa: E731
    _assert_same_tensor(case(_make_mg), case(_make_torch(torch)))


BOOL_ARITHMETIC = {
    "int - True": lambda make: make([1, 2], "int64") - True,
    "True - int": lambda make: True - make([1, 2], "int64"),
    "int - False": lambda make: make([1, 2], "int64") - False,
    "int - bool": lambda make: make([1, 2], "int64") - make([True, False], "bool"),
    "bool - int": lambda make: make([True, False], "bool") - make([1, 2], "int64"),
    "float - bool": lambda make: make([1.5, 2.0], "float32") - make([True, False], "bool"),
    "bool - float": lambda make: make([True, False], "bool") - 1.5,
    "int - 0-d bool": lambda make: make([1, 2], "int64") - make(True, "bool"),
    "bool - bool": lambda make: make([True, False], "bool") - make([True, True], "bool"),
    "bool - True": lambda make: make([True, False], "bool") - True,
    "True - bool": lambda make: True - make([True, False], "bool"),
    "-bool": lambda make: -make([True, False], "bool"),
    "bool.neg()": lambda make: make([True, False], "bool").neg(),
    # still computed, as in torch
    "int - int": lambda make: make([1, 2], "int64") - 3,
    "-int": lambda make: -make([1, 2], "int64"),
    "bool + bool": lambda make: make([True, False], "bool") + make([True, True], "bool"),
    "bool * int": lambda make: make([True, False], "bool") * 3,
}

INTEGER_OVERFLOW = {
    # a Python integer the tensor's dtype cannot hold wraps around, as every integer result does
    "int8 + 300": lambda make: make([1, 100], "int8") + 300,
    "300 + int8": lambda make: 300 + make([1, 100], "int8"),
    "300 - int8": lambda make: 300 - make([1, 100], "int8"),
    "int8 - 129": lambda make: make([1, 100], "int8") - 129,
    "int8 * 1000": lambda make: make([1, 100], "int8") * 1000,
    "uint8 + 256": lambda make: make([1, 200], "uint8") + 256,
    "uint8 * -1": lambda make: make([1, 200], "uint8") * -1,
    "int64 + 2 ** 63": lambda make: make([1, 2], "int64") + 2 ** 63,
    "int8 + 2 ** 64 - 1": lambda make: make([1, 2], "int8") + (2 ** 64 - 1),
    "int8 + numpy int64 300": lambda make: make([1, 100], "int8") + np.int64(300),
    # beyond 64 bits it is an error
    "int64 + 2 ** 64": lambda make: make([1, 2], "int64") + 2 ** 64,
    "int8 * -2 ** 63 - 1": lambda make: make([1, 2], "int8") * (-2 ** 63 - 1),
    # a true division divides by the number itself
    "int8 / 300": lambda make: make([1, 100], "int8") / 300,
    "300 / int8": lambda make: 300 / make([1, 100], "int8"),
    "int64 / True": lambda make: make([1, 100], "int64") / True,
    # an integer power's exponent must fit the dtype
    "int8 ** 127": lambda make: make([1, 2], "int8") ** 127,
    "int8 ** 128": lambda make: make([1, 2], "int8") ** 128,
    "uint8 ** 256": lambda make: make([1, 2], "uint8") ** 256,
    "int16 ** 2 ** 40": lambda make: make([1, 2], "int16") ** 2 ** 40,
    # the constructor refuses numbers its dtype cannot hold; a negative integer may wrap into an unsigned one
    "[300] as int8": lambda make: make([300], "int8"),
    "300 as int8": lambda make: make(300, "int8"),
    "[-129, 127] as int8": lambda make: make([-129, 127], "int8"),
    "[-1] as uint8": lambda make: make([-1], "uint8"),
    "[-255] as uint8": lambda make: make([-255], "uint8"),
    "[-256] as uint8": lambda make: make([-256], "uint8"),
    "[256] as uint8": lambda make: make([256], "uint8"),
    "[2 ** 31] as int32": lambda make: make([2 ** 31], "int32"),
    "[-1.0] as uint8": lambda make: make([-1.0], "uint8"),
    "[255.5] as uint8": lambda make: make([255.5], "uint8"),
    "[300.0] as int8": lambda make: make([300.0], "int8"),
    "[1e39] as int64": lambda make: make([1e39], "int64"),
    "[nan] as int32": lambda make: make([float("nan")], "int32"),
    "[True, 300] as int8": lambda make: make([True, 300], "int8"),
    "[1e6] as float16": lambda make: make([1e6], "float16"),
    "[300] as bool": lambda make: make([300], "bool"),
}


@pytest.mark.parametrize("name", list(BOOL_ARITHMETIC) + list(INTEGER_OVERFLOW))
def test_bool_arithmetic_and_integer_overflow_match_torch(name):
    """torch's result, or its error type; bool subtraction and negation with torch's first sentence (its hint
    names `~` and `^`, which minigrad does not have)."""
    torch = pytest.importorskip("torch")
    case = {**BOOL_ARITHMETIC, **INTEGER_OVERFLOW}[name]
    try:
        expected = case(_make_torch(torch))
    except (RuntimeError, OverflowError) as error:
        with pytest.raises(type(error)) as raised:
            case(_make_mg)
        if "bool" in str(error):
            assert str(raised.value).split(".")[0] == str(error).split(".")[0]
        return
    with np.errstate(over="ignore"):
        _assert_same_tensor(case(_make_mg), expected)


def test_the_constructor_keeps_float64_numbers_exact_like_torch():
    torch = pytest.importorskip("torch")
    assert mg.tensor([0.1, 1 / 3], dtype="float64").tolist() == torch.tensor([0.1, 1 / 3], dtype=torch.float64).tolist()


@pytest.mark.parametrize("scalar", [np.int64(300), np.float64(300.5), np.int64(-129), np.int64(5), np.float64(2.5)])
def test_numpy_scalars_are_checked_as_python_numbers_are(scalar):
    """A NumPy scalar is a number to torch.tensor: one its dtype cannot hold is refused, not wrapped."""
    torch = pytest.importorskip("torch")
    try:
        expected = torch.tensor(scalar, dtype=torch.int8)
    except RuntimeError as err:
        with pytest.raises(RuntimeError, match=str(err).replace("int8_t", "int8")):
            mg.tensor(scalar, dtype="int8")
    else:
        _assert_same_tensor(mg.tensor(scalar, dtype="int8"), expected)
    assert mg.tensor(scalar).dtype == torch.tensor(scalar).numpy().dtype  # and keep their own dtype otherwise


@pytest.mark.parametrize("data, dtype", [(2.0 ** 31, "int32"), ([2.0 ** 31], "int32"), (float("inf"), "int64"),
                                         (2.0 ** 32, "uint32"), (2.0 ** 63, "int64")])
def test_a_float_just_beyond_an_integer_range_is_refused(data, dtype):
    """In float32, int32's largest value rounds up to 2**31, and in float64 int64's to 2**63: the check must not
    compare in floats (the cast would wrap to the lowest value, as torch's does for 2.0 ** 63)."""
    with pytest.raises(RuntimeError, match=f"cannot be converted to type {dtype} without overflow"):
        mg.tensor(data, dtype=dtype)


def test_numpy_arrays_cast_to_a_narrower_integer_wrap_like_torch():
    """An array's values are cast as they are (torch.tensor(array, dtype=...)); only Python numbers are checked."""
    torch = pytest.importorskip("torch")
    array = np.array([300, -129, 2 ** 40])
    _assert_same_tensor(mg.tensor(array, dtype="int8"), torch.tensor(array, dtype=torch.int8))


# ---- floor division, remainder, integer powers, comparisons and the constructor's refusals, as torch's ------
# Each case is written once against a constructor make(data, dtype_name), as above, and must give torch's
# tensor exactly (dtype, shape, values, NaN and inf included) or torch's error.

DIVISIONS = {
    # rounded toward -inf, the remainder with the sign of the divisor; a float divisor of 0 gives inf or NaN
    "float32 // float32": lambda make: (make([-7, 7, -7, 7, 5.5, -0.0, 3, 0], "float32")
                                        // make([2, -2, -2, 2, 0.75, 2, 0, 0], "float32")),
    "float32 % float32": lambda make: (make([-7, 7, -7, 7, 5.5, 0.25, 3, 0], "float32")
                                       % make([2, -2, -2, 2, 0.75, -2, 0, 0], "float32")),
    "float64 // float64": lambda make: (make([1e-3, -1e3, 0.3, -0.7], "float64")
                                        // make([1e-4, 7.1, 0.1, 0.1], "float64")),
    "float64 % float64": lambda make: (make([1e-3, -1e3, 0.3, -0.7], "float64")
                                       % make([1e-4, 7.1, 0.1, 0.1], "float64")),
    "float32 // inf": lambda make: make([5, -5], "float32") // float("inf"),
    "float32 % inf": lambda make: make([5, -5], "float32") % float("inf"),
    "inf % float": lambda make: make([float("inf")], "float32") % 2.0,
    "int64 // int64": lambda make: make([-7, 7, -7, 7, 0], "int64") // make([2, -2, -2, 2, 3], "int64"),
    "int64 % int64": lambda make: make([-7, 7, -7, 7, 0], "int64") % make([2, -2, -2, 2, -3], "int64"),
    "int64 min // -1 wraps": lambda make: make([-2 ** 63], "int64") // -1,
    "int64 min % -1": lambda make: make([-2 ** 63], "int64") % -1,
    # a zero remainder has the sign of the dividend (NumPy's, of the divisor); the test compares sign bits
    "float32 % float32, signed zeros": lambda make: (make([-0.0, 0.0, -4, 4, -4, 4, -0.0, 0.0, -7, 6, -6], "float32")
                                                     % make([2, -2, 2, -2, -2, 2, -2, 2, 7, -3, 3], "float32")),
    "0-d -0.0 % 2": lambda make: make(-0.0, "float32") % 2,
    "float64 % -2.0, zeros": lambda make: make([4.0, -4.0, 0.0, 1.0], "float64") % -2.0,
    "-4.0 % float16, zeros": lambda make: -4.0 % make([2, -2, 4, 3], "float16"),
    "float32 // float32, signed zeros": lambda make: (make([-0.0, 0.0, 0.5, -0.5, -0.0, 1], "float32")
                                                      // make([2, -2, 2, -2, -2, float("inf")], "float32")),
    # broadcasting, reflected operands and torch's promotion
    "float32 // float32, broadcast": lambda make: (make([[1.5, -2.5, 7], [-3, 4, 9]], "float32")
                                                   // make([2, -0.5, 3], "float32")),
    "int32 % int64 column": lambda make: make([[5, -5, 9]], "int32") % make([[2], [-4]], "int64"),
    "7 // int64": lambda make: 7 // make([2, -2, -3, 3], "int64"),
    "7.5 % int64": lambda make: 7.5 % make([2, -2, -3, 3], "int64"),
    "int64 // 2.5": lambda make: make([-7, 7, 5], "int64") // 2.5,
    "int64 % 2.5": lambda make: make([-7, 7, 5], "int64") % 2.5,
    "int8 // 300 wraps": lambda make: make([1, 100], "int8") // 300,
    "int8 % 300 wraps": lambda make: make([1, 100], "int8") % 300,
    "300 // int8 wraps": lambda make: 300 // make([1, 100], "int8"),
    "300 % int8 wraps": lambda make: 300 % make([7, 100], "int8"),
    "uint8 % int8": lambda make: make([200, 5], "uint8") % make([-3, 2], "int8"),
    "bool // int": lambda make: make([True, False], "bool") // 2,
    "bool % int": lambda make: make([True, False], "bool") % 2,
    "2 % bool": lambda make: 2 % make([True, True], "bool"),
    "bool // 2.5": lambda make: make([True, False], "bool") // 2.5,
    "float32 // 0-d float64": lambda make: make([-7, 7, 5.5], "float32") // make(2.0, "float64"),
    "int32 % 0-d int64": lambda make: make([-7, 7, 5], "int32") % make(3, "int64"),
    "int64 % 0-d float64": lambda make: make([-7, 7, 5], "int64") % make(2.5, "float64"),
    "float16 // int": lambda make: make([5, -5], "float16") // 3,
    "int64 % 0.0": lambda make: make([1, 2], "int64") % 0.0,
    "floor_divide method": lambda make: make([-7, 7], "int64").floor_divide(make([2, 2], "int64")),
    "remainder method": lambda make: make([-7, 7], "int64").remainder(-3),
    # integer division by zero is an error; an empty result divides nothing
    "int64 // 0": lambda make: make([1, 2], "int64") // 0,
    "int64 % 0": lambda make: make([1, 2], "int64") % 0,
    "int64 // int64 with a 0": lambda make: make([-7, 7], "int64") // make([0, 1], "int64"),
    "int8 % 0-d int64 0": lambda make: make([1, 2], "int8") % make(0, "int64"),
    "7 // int64 with a 0": lambda make: 7 // make([0, 1], "int64"),
    "uint8 % 256 wraps to 0": lambda make: make([1, 2], "uint8") % 256,
    "empty int64 // 0": lambda make: make([], "int64") // 0,
    # bools have no floor division or remainder
    "bool // bool": lambda make: make([True, False], "bool") // make([True, True], "bool"),
    "bool % True": lambda make: make([True, False], "bool") % True,
    "True // bool": lambda make: True // make([True, True], "bool"),
}

INTEGER_POWERS = {
    # a negative number exponent is an error for an integer result
    "int64 ** -1": lambda make: make([1, 2], "int64") ** -1,
    "int8 ** -2": lambda make: make([1, 2], "int8") ** -2,
    "uint8 ** -1": lambda make: make([1, 2], "uint8") ** -1,
    "0-d int64 ** -1": lambda make: make(2, "int64") ** -1,
    "bool ** -1": lambda make: make([True], "bool") ** -1,
    "int64 ** numpy int64 -1": lambda make: make([1, 2], "int64") ** np.int64(-1),
    "empty int64 ** -1": lambda make: make([], "int64") ** -1,
    # a float exponent, or a float base, is fine
    "int64 ** -1.0": lambda make: make([1, 2], "int64") ** -1.0,
    "float32 ** -1": lambda make: make([1, 2], "float32") ** -1,
    # a negative tensor exponent truncates 1 / base ** -exponent: ±1 where |base| is 1, else 0
    "int64 ** int64 negatives": lambda make: (make([0, -1, -1, 3, 1, -2, 0, 3], "int64")
                                              ** make([-1, -1, -2, -2, -5, -1, -3, 2], "int64")),
    "int8 ** int8 negatives": lambda make: make([0, -1, -1, 3, 1], "int8") ** make([-1, -1, -2, -2, -5], "int8"),
    "uint8 ** int8 negatives": lambda make: make([0, 1, 3, 255], "uint8") ** make([-1, -1, -2, 2], "int8"),
    "int64 ** 0-d int64 -1": lambda make: make([1, 2, -1], "int64") ** make(-1, "int64"),
    "2 ** int64": lambda make: 2 ** make([-1, 1, 3], "int64"),
    "-1 ** int64": lambda make: (-1) ** make([-1, -2, 3], "int64"),
    "bool ** int64 negatives": lambda make: make([True, False], "bool") ** make([-1, -2], "int64"),
    "int64 ** float32 negatives": lambda make: make([1, 2], "int64") ** make([-1.0, 1.0], "float32"),
}

COMPARISONS = {
    # an integer is wrapped into the tensor's dtype (as in arithmetic): 300 is 44 to an int8 tensor
    "int8 < 300": lambda make: make([1, 100], "int8") < 300,
    "int8 == 300": lambda make: make([1, 44], "int8") == 300,
    "300 > int8": lambda make: 300 > make([1, 100], "int8"),
    "uint8 > -1": lambda make: make([0, 255], "uint8") > -1,
    "uint8 == 256": lambda make: make([0, 255], "uint8") == 256,
    "int8 < numpy int64 300": lambda make: make([1, 100], "int8") < np.int64(300),
    "int8 < 0-d int64 300": lambda make: make([1, 100], "int8") < make(300, "int64"),
    "int64 < 2 ** 63": lambda make: make([1, 2], "int64") < 2 ** 63,
    "bool < 2": lambda make: make([True, False], "bool") < 2,
    # a float, or a tensor with dimensions, promotes as arithmetic does
    "int8 < 1.5": lambda make: make([1, 100], "int8") < 1.5,
    "int8 < 0-d float32": lambda make: make([1, 100], "int8") < make(300.5, "float32"),
    "int8 < int64": lambda make: make([1, 100], "int8") < make([300, 300], "int64"),
    "int16 <= numpy int64 300": lambda make: make([1, 300], "int16") <= np.int64(300),
    "uint8 >= int8": lambda make: make([200, 5], "uint8") >= make([-3, 5], "int8"),
    "float16 < 1e6": lambda make: make([1, 2], "float16") < 1e6,
    "float32 != 0.1": lambda make: make([0.1, 0.2], "float32") != 0.1,
    # beyond 64 bits, an OverflowError, whatever the dtype
    "int8 < 2 ** 64": lambda make: make([1, 2], "int8") < 2 ** 64,
    "float32 < 2 ** 64": lambda make: make([1, 2], "float32") < 2 ** 64,
    "float32 + 2 ** 64": lambda make: make([1, 2], "float32") + 2 ** 64,
    "float32 * -2 ** 63 - 1": lambda make: make([1, 2], "float32") * (-2 ** 63 - 1),
    "float32 + 2 ** 64 - 1": lambda make: make([1, 2], "float32") + (2 ** 64 - 1),
    "float32 ** 2 ** 64": lambda make: make([1, 2], "float32") ** 2 ** 64,
    "float32 ** -2 ** 63 - 1": lambda make: make([1, 2], "float32") ** (-2 ** 63 - 1),
    "int64 ** 2 ** 64": lambda make: make([1, 2], "int64") ** 2 ** 64,
    "bool ** -2 ** 64": lambda make: make([True], "bool") ** -2 ** 64,
    "float32 ** 2 ** 64 - 1": lambda make: make([1, 2], "float32") ** (2 ** 64 - 1),
    "float32 ** -2 ** 63": lambda make: make([1, 2], "float32") ** -2 ** 63,
}


def _ones(make, shape, dtype="float32"):
    return make(np.ones(shape), dtype)


BROADCASTS = {
    # shapes that do not broadcast are torch's RuntimeError, naming the rightmost mismatch by its dim in the
    # broadcast shape, whichever operand is longer, for every element-wise op
    "(2, 3) + (2, 4)": lambda make: _ones(make, (2, 3)) + _ones(make, (2, 4)),
    "(3,) - (4,)": lambda make: _ones(make, (3,)) - _ones(make, (4,)),
    "(2, 3, 4) * (5, 4)": lambda make: _ones(make, (2, 3, 4)) * _ones(make, (5, 4)),
    "(5, 4) / (2, 3, 4)": lambda make: _ones(make, (5, 4)) / _ones(make, (2, 3, 4)),
    "(3, 1, 4) // (2, 5)": lambda make: _ones(make, (3, 1, 4)) // _ones(make, (2, 5)),
    "(2, 3, 4, 5) % (3, 4, 6)": lambda make: _ones(make, (2, 3, 4, 5)) % _ones(make, (3, 4, 6)),
    "(2, 3) ** (3, 2)": lambda make: _ones(make, (2, 3)) ** _ones(make, (3, 2)),
    "(4,) ** (2, 3) reflected": lambda make: _ones(make, (4,)).__rpow__(_ones(make, (2, 3))),
    "(2, 3) < (2, 4)": lambda make: _ones(make, (2, 3)) < _ones(make, (2, 4)),
    "(4,) == (2, 3)": lambda make: _ones(make, (4,)) == _ones(make, (2, 3)),
    "(2, 3) != (4, 3)": lambda make: _ones(make, (2, 3)) != _ones(make, (4, 3)),
    "(0,) + (2,)": lambda make: _ones(make, (0,)) + _ones(make, (2,)),
    "int64 (2, 3) + float32 (2, 4)": lambda make: _ones(make, (2, 3), "int64") + _ones(make, (2, 4)),
    "int8 (2, 3) >= int64 (3, 2)": lambda make: _ones(make, (2, 3), "int8") >= _ones(make, (3, 2), "int64"),
    # and those that do broadcast still do
    "(0,) + (1,)": lambda make: _ones(make, (0,)) + _ones(make, (1,)),
    "(1, 0) * (3, 1)": lambda make: _ones(make, (1, 0)) * _ones(make, (3, 1)),
    "(2, 1, 5) < (3, 1)": lambda make: _ones(make, (2, 1, 5)) < _ones(make, (3, 1)),
    "0-d % (2, 3)": lambda make: _ones(make, ()) % _ones(make, (2, 3)),
}

CONSTRUCTOR_REFUSALS = {
    # NumPy's float16/float32 scalars for an integer or bool dtype (numpy.float64 is a Python float)
    "numpy float32 as int64": lambda make: make(np.float32(2.5), "int64"),
    "[numpy float32] as int8": lambda make: make([np.float32(2.5)], "int8"),
    "[1, numpy float32] as int64": lambda make: make([1, np.float32(2.0)], "int64"),
    "[[numpy float16]] as uint8": lambda make: make([[np.float16(2.0)]], "uint8"),
    "(numpy float32,) as int32": lambda make: make((np.float32(1),), "int32"),
    "numpy float16 as bool": lambda make: make(np.float16(2), "bool"),
    "numpy float64 as int8": lambda make: make(np.float64(2.5), "int8"),
    "numpy float32 as float16": lambda make: make(np.float32(2.5), "float16"),
    # NumPy bools and complex numbers for an integer dtype; a Python complex number is fine as a bool
    "numpy bool as int64": lambda make: make(np.bool_(True), "int64"),
    "[numpy bool] as uint8": lambda make: make([np.bool_(True)], "uint8"),
    "True as int64": lambda make: make(True, "int64"),
    "numpy bool as bool": lambda make: make(np.bool_(True), "bool"),
    "complex as int64": lambda make: make(1 + 2j, "int64"),
    "[complex] as int8": lambda make: make([1 + 2j], "int8"),
    "numpy complex64 as int64": lambda make: make(np.complex64(1 + 2j), "int64"),
    "numpy complex128 as bool": lambda make: make(np.complex128(1 + 2j), "bool"),
    "complex as bool": lambda make: make(1 + 2j, "bool"),
    # a Python complex number for a float dtype
    "complex as float32": lambda make: make(1 + 2j, "float32"),
    "[1, complex] as float64": lambda make: make([1, 1 + 2j], "float64"),
    # without a dtype, numbers become int64: a numpy.uint64, or an integer beyond int64, is refused
    "numpy uint64": lambda make: make(np.uint64(5), None),
    "[numpy uint64]": lambda make: make([np.uint64(5)], None),
    "numpy uint64 as uint8": lambda make: make(np.uint64(5), "uint8"),
    "numpy uint32": lambda make: make(np.uint32(5), None),
    "2 ** 63": lambda make: make(2 ** 63, None),
    "[1, 2 ** 64]": lambda make: make([1, 2 ** 64], None),
    "2 ** 63 - 1": lambda make: make(2 ** 63 - 1, None),
    "[-2 ** 63]": lambda make: make([-2 ** 63], None),
}
CASES = {**DIVISIONS, **INTEGER_POWERS, **COMPARISONS, **BROADCASTS, **CONSTRUCTOR_REFUSALS}


@pytest.mark.parametrize("name", CASES)
def test_divisions_powers_comparisons_and_construction_match_torch(name):
    """torch's tensor, or its error type with its message; minigrad may add to the message, and names the op
    where torch names its kernel ("div_floor_cpu" not implemented for 'Bool'). Zeros have torch's sign (NaNs'
    signs are the platform's)."""
    torch = pytest.importorskip("torch")
    try:
        expected = CASES[name](_make_torch(torch))
    except Exception as error:  # noqa: BLE001 (torch's error, whatever it is, is the expected outcome)
        with pytest.raises(type(error)) as raised:
            CASES[name](_make_mg)
        assert re.sub(r'^"\w+" ', "", str(error)) in str(raised.value)
        return
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = CASES[name](_make_mg)
    assert str(out.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    if out.dtype.kind == "f":
        number = ~np.isnan(out.numpy())
        np.testing.assert_array_equal(np.signbit(out.numpy()[number]), np.signbit(expected.numpy()[number]))


def test_floor_division_has_no_derivative_like_torch():
    """The result requires grad, as torch's does, and backward through it is torch's error, not zeros."""
    torch = pytest.importorskip("torch")
    for lib in (torch, mg):
        a, b = lib.tensor([5.5, -2.0], requires_grad=True), lib.tensor([2.0, 0.75], requires_grad=True)
        out = a // b
        assert out.requires_grad
        with pytest.raises(RuntimeError, match="derivative for .*floor_divide is not implemented"):
            out.sum().backward()


def test_remainder_of_a_number_by_a_tensor_has_the_gradient_of_a_0d_tensor_operand():
    """torch implements no derivative for number % tensor (torch.remainder(Scalar, Tensor)) but does for a 0-d
    tensor dividend; minigrad gives the number the same gradient."""
    torch = pytest.importorskip("torch")
    divisor = np.array([0.7, -1.3, 2.2, 3.1])
    ours, theirs = mg.tensor(divisor, requires_grad=True), torch.tensor(divisor, requires_grad=True)
    (2.5 % ours).sum().backward()
    (torch.tensor(2.5, dtype=torch.float64) % theirs).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_division_integer_powers_and_comparisons_on_the_gpu_path(gpu_path):
    """The zero-divisor check, the integer powers' masks, the comparisons' promotion and the signs of zero
    remainders run on device arrays; shapes that do not broadcast are refused there too."""
    def run(device):
        a = mg.tensor([5.5, -2.0, 7.0], device=device, requires_grad=True)
        b = mg.tensor([2.0, 0.75, -3.0], device=device, requires_grad=True)
        integers = mg.tensor([-7, 7, 2], dtype="int8", device=device)
        out = a % b + a.detach() // b.detach() * 2.0
        (out * mg.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            integers // mg.tensor([1, 0, 1], dtype="int8", device=device)
        for mismatched in (lambda: a + b[:2], lambda: a < integers[:2]):
            with pytest.raises(RuntimeError, match=re.escape("tensor a (3) must match the size of tensor b (2)")):
                mismatched()
        exact = [integers // 3, 300 % integers, integers ** mg.tensor([-1, 0, -2], device=device), integers < 300,
                 mg.tensor([-0.0, 4.0, -4.0], device=device) % mg.tensor([2.0, -2.0, 2.0], device=device)]
        assert all(t.device == device for t in exact) and out.device == device
        return [out.numpy(), a.grad.numpy(), b.grad.numpy()] + [t.numpy() for t in exact]

    for gpu, cpu in zip(run("gpu"), run("cpu")):
        assert gpu.dtype == cpu.dtype
        np.testing.assert_array_equal(gpu, cpu)
        np.testing.assert_array_equal(np.signbit(gpu), np.signbit(cpu))


def test_a_0d_uint64_result_of_an_op_is_a_tensor_like_torch():
    """NumPy gives an op's 0-d result as a scalar: a numpy.uint64 one is the op's, not a number the constructor
    refuses as it refuses a user's."""
    torch = pytest.importorskip("torch")
    array = np.array([5, 6], np.uint64)
    _assert_same_tensor(mg.tensor(array)[1] * 2, torch.tensor(array)[1] * 2)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_to_an_empty_size_is_refused_like_torch(mode):
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 3, 6), np.float32)
    messages = []
    for interpolate, tensor in ((mgF.interpolate, mg.tensor(x)), (torch.nn.functional.interpolate, torch.from_numpy(x))):
        with pytest.raises(RuntimeError, match="^Input and output sizes should be greater than 0") as error:
            interpolate(tensor, scale_factor=0.2, mode=mode)
        messages.append(str(error.value))
    assert messages[0] == messages[1]
