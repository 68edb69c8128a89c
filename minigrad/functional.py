"""torch.nn.functional-style wrappers over minigrad.ops, with torch's argument names."""
import inspect
import math
import numbers
import warnings

import numpy as np

from . import ops, random
from .backend import get_array_module
from .creation import triu_indices
from .function import (CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, autocasts, caller_outside_package, converted_scalar,
                       is_grad_enabled, no_grad, require_broadcastable, require_same_dtype, result_type)
from .kernels import output_size as kernel_positions
from .ops.elementwise import require_floating_point
from .ops.loss import reduced
from .ops.norm import empty_statistics
from .ops.pool import Windows, adaptive_max_indices, max_pool_indices, pooled_size
from .ops.shape import normalize_dim
from .ops.upsample import AdaptiveAvgPool
from .tensor import Tensor, checked_arguments, in_place_version, tensor_argument, where, written_out
from .torch_functions import bmm, broadcast_tensors, cat, common_shape, stack


def _ntuple(value, count):
    """A size as torch's modules keep it (its _single, _pair): a sequence as a tuple, else the value count times."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * count


def _pair(value):
    return _ntuple(value, 2)


@autocasts("lower")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation, as torch's conv2d. stride, padding and dilation are an int or a (height, width) pair;
    padding also "valid" (none) or "same" (stride 1 only: the output keeps the input's size). weight is
    (O, C/groups, kh, kw): groups split the channels into blocks convolved apart (groups = C: depthwise)."""
    require_same_dtype("conv2d", input=input, weight=weight, bias=bias)
    stride, dilation = _stride_and_dilation("conv2d", stride, dilation, groups)
    extra_pad = None
    if isinstance(padding, str):
        padding, extra_pad = _string_padding(padding, weight.shape[2:], stride, dilation)
    else:
        padding = _conv_padding("conv2d", "padding", padding)
    params = dict(stride=stride, padding=padding, dilation=dilation, groups=int(groups))
    weights = (weight,) if bias is None else (weight, bias)

    def convolve(batch):
        if extra_pad is not None:
            batch = pad(batch, extra_pad)
        return ops.Conv2d.apply(batch, *weights, **params)

    return _one_image_as_a_batch("conv2d", input, convolve)


@autocasts("lower")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed conv (the adjoint of conv2d), as torch's, in its argument order: weight (C, O/groups, kh,
    kw); each output side is (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1 + output_padding.
    stride, padding, output_padding and dilation are an int or a (height, width) pair; output_padding, the rows
    and columns added at the bottom and right, must be below the stride or the dilation."""
    require_same_dtype("conv_transpose2d", input=input, weight=weight, bias=bias)
    stride, dilation = _stride_and_dilation("conv_transpose2d", stride, dilation, groups)
    params = dict(stride=stride, padding=_conv_padding("conv_transpose2d", "padding", padding), dilation=dilation,
                  groups=int(groups), output_padding=_conv_padding("conv_transpose2d", "output_padding", output_padding))
    weights = (weight,) if bias is None else (weight, bias)
    return _one_image_as_a_batch("conv_transpose2d", input,
                                 lambda batch: ops.ConvTranspose2d.apply(batch, *weights, **params))


@autocasts("lower")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch's conv1d over (N, C, L) or (C, L), weight (O, C/groups, k): conv2d over a unit height. stride, padding
    and dilation are an int or a 1-tuple; padding also "valid" or "same", as conv2d's."""
    stride, dilation = _stride_and_dilation("conv1d", stride, dilation, groups, dims=1)
    if isinstance(padding, str):
        checked_padding = (0,) if padding == "valid" else None  # "same" always fits the kernel
    else:
        padding = checked_padding = _conv_padding("conv1d", "padding", padding, dims=1)
    batch_shape = _conv_batch_shape("conv1d", input, weight, bias, stride)
    ops.conv.check_conv_operands(batch_shape, weight.shape, _shape(bias), groups, checked_padding, dilation)
    height_padding = padding if isinstance(padding, str) else (0, *padding)
    return _on_unit_height(input, lambda image, kernel: conv2d(
        image, kernel, bias, (1, *stride), height_padding, (1, *dilation), groups), weight)


@autocasts("lower")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch's conv_transpose1d over (N, C, L) or (C, L), weight (C, O/groups, k): conv_transpose2d over a unit
    height, each size an int or a 1-tuple."""
    stride, padding, output_padding, dilation, _ = _transposed_conv_arguments(
        "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups, dilation, dims=1)
    return _on_unit_height(input, lambda image, kernel: conv_transpose2d(
        image, kernel, bias, (1, *stride), (0, *padding), (0, *output_padding), groups, (1, *dilation)), weight)


@autocasts("lower")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch's conv3d over (N, C, D, H, W) or (C, D, H, W), weight (O, C/groups, kd, kh, kw): each size an int or a
    (depth, height, width) triple, padding also "valid" or "same", as conv2d's. The depth taps of every output slice
    become channels (ops.DepthUnfold), so one conv2d over the batch of output slices does the rest."""
    op = "conv3d"
    stride, dilation = _stride_and_dilation(op, stride, dilation, groups, dims=3)
    batch_shape = _conv_batch_shape(op, input, weight, bias, stride)
    extra_pad = None
    if isinstance(padding, str):
        padding, extra_pad = _string_padding(padding, weight.shape[2:], stride, dilation)
        checked_padding = padding if extra_pad is None else None  # "same" always fits, padded partly ahead
    else:
        padding = checked_padding = _conv_padding(op, "padding", padding, dims=3)
    ops.conv.check_conv_operands(batch_shape, weight.shape, _shape(bias), groups, checked_padding, dilation)
    ops.conv.check_spatial_sizes(batch_shape)

    def convolve(batch):
        if extra_pad is not None:
            batch = pad(batch, extra_pad)
        n, channels, depth = batch.shape[:3]
        taps = _depth_taps(weight, stride, padding, dilation)
        positions = kernel_positions(depth, *taps)
        columns = ops.DepthUnfold.apply(batch, depth=depth, positions=positions, taps=taps, fold=False)
        slices = columns.reshape(n * positions, channels * taps[0], *batch.shape[3:])
        out = conv2d(slices, _depth_taps_as_channels(weight), bias, stride[1:], padding[1:], dilation[1:], groups)
        return out.reshape(n, positions, *out.shape[1:]).permute(0, 2, 1, 3, 4).contiguous()

    return _one_image_as_a_batch(op, input, convolve, dims=3)


@autocasts("lower")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch's conv_transpose3d over (N, C, D, H, W) or (C, D, H, W), weight (C, O/groups, kd, kh, kw), each size an
    int or a (depth, height, width) triple: conv3d's adjoint, so conv_transpose2d of each input slice into the
    depth taps of its output slices as channels, which ops.DepthUnfold's fold adds up in place."""
    stride, padding, output_padding, dilation, batch_shape = _transposed_conv_arguments(
        "conv_transpose3d", input, weight, bias, stride, padding, output_padding, groups, dilation, dims=3)
    output_size = [ops.conv.transposed_output_size(*sizes) for sizes in
                   zip(batch_shape[2:], weight.shape[2:], stride, padding, dilation, output_padding)]
    ops.conv.check_spatial_sizes(batch_shape)
    ops.conv.check_transposed_output_channels(weight.shape, groups)
    ops.conv.check_transposed_sizes(batch_shape[2:], output_size, output_padding, stride, dilation)

    def convolve(batch):
        n, channels, depth = batch.shape[:3]
        slices = batch.permute(0, 2, 1, 3, 4).reshape(n * depth, channels, *batch.shape[3:])
        out = conv_transpose2d(slices, _depth_taps_as_channels(weight), None, stride[1:], padding[1:],
                               output_padding[1:], groups, dilation[1:])
        taps = _depth_taps(weight, stride, padding, dilation)
        columns = out.reshape(n, depth, weight.shape[1] * groups, taps[0], *out.shape[2:])
        out = ops.DepthUnfold.apply(columns, depth=output_size[0], positions=depth, taps=taps, fold=True)
        return out if bias is None else out + bias.reshape(-1, 1, 1, 1)

    return _one_image_as_a_batch("conv_transpose3d", input, convolve, dims=3)


def _transposed_conv_arguments(op, input, weight, bias, stride, padding, output_padding, groups, dilation, dims):
    """A 1-d or 3-d transposed conv's sizes as tuples of `dims`, and its input's shape as a batch, checked as torch
    checks them (see _conv_batch_shape)."""
    stride, dilation = _stride_and_dilation(op, stride, dilation, groups, dims)
    padding = _conv_padding(op, "padding", padding, dims)
    output_padding = _conv_padding(op, "output_padding", output_padding, dims)
    batch_shape = _conv_batch_shape(op, input, weight, bias, stride)
    ops.conv.check_transposed_conv_operands(batch_shape, weight.shape, _shape(bias), groups)
    return stride, padding, output_padding, dilation, batch_shape


def _depth_taps(weight, stride, padding, dilation):
    """ops.DepthUnfold's taps of a 3-d conv: its depth's (kd, stride, padding, dilation)."""
    return weight.shape[2], stride[0], padding[0], dilation[0]


def _depth_taps_as_channels(weight):
    """A 3-d conv's weight (O, C/groups, kd, kh, kw), or a transposed one's (C, O/groups, ...), as the 2-d weight of
    ops.DepthUnfold's columns: the depth taps of each channel side by side, so that groups keep their blocks."""
    return weight.reshape(weight.shape[0], weight.shape[1] * weight.shape[2], *weight.shape[3:])


def _conv_batch_shape(op, input, weight, bias, stride):
    """torch's errors for a 1-d or 3-d conv's input of other than one or two dims more than its `stride` has sizes,
    and weight of other than two more; operands of different dtypes refused with the op's name. These convs run as
    other ops, so they check ahead, with their own shapes in the messages. Returns the input's shape as a batch, an
    unbatched input counted as a batch of one, as torch's messages show it."""
    dims = len(stride)
    _check_batch_dims(op, input, dims)
    require_same_dtype(op, input=input, weight=weight, bias=bias)
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    batch_shape = tuple(input.shape) if input.ndim == dims + 2 else (1, *input.shape)
    if weight.ndim != dims + 2:
        if dims == 1:  # torch's conv1d words it by the input's dims, the others by their stride's
            raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-dimensional weight "
                               f"{list(weight.shape)}, but got 3-dimensional input of size {list(batch_shape)} instead")
        raise RuntimeError(f"expected stride to be a single integer value or a list of {weight.ndim - 2} values to "
                           f"match the convolution dimensions, but got stride={list(stride)}")
    return batch_shape


def _shape(tensor):
    return None if tensor is None else tuple(tensor.shape)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """torch's im2col: each kernel_size block of a (N, C, H, W) or (C, H, W) input, zero-padded by `padding`, as a
    column of (N, C*kh*kw, L) (unbatched: (C*kh*kw, L)), L the number of blocks, its rows ordered (c, i, j) as a
    flattened conv weight's. Each size is an int or an (h, w) pair."""
    sizes = _sliding_block_sizes("im2col", kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    require_floating_point("im2col_out_cpu", input)
    blocks = _sliding_blocks(input.shape[-2:], sizes)
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(input.shape[-2:])}, "
                           f"kernel_size={sizes['kernel_size']}, dilation={sizes['dilation']}, "
                           f"padding={sizes['padding']}, calculated shape of the array of sliding blocks as {blocks}, "
                           "but its components must be at least one.")
    return _one_image_as_a_batch("unfold", input, lambda batch: ops.Unfold.apply(
        batch, image_shape=tuple(batch.shape), **_im2col_params(sizes), fold=False))


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """torch's col2im, the adjoint of unfold: columns (N, C*kh*kw, L) (unbatched: (C*kh*kw, L)) added back onto the
    blocks of an (N, C, *output_size) image that unfold takes them from, where blocks overlap summed."""
    sizes = _sliding_block_sizes("col2im", output_size=output_size, kernel_size=kernel_size, dilation=dilation,
                                 padding=padding, stride=stride)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    require_floating_point("col2im_out_cpu", input)
    (kh, kw), rows = sizes["kernel_size"], input.shape[-2]
    if rows % (kh * kw):
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={rows} and kernel_size={sizes['kernel_size']}.")
    blocks = _sliding_blocks(sizes["output_size"], sizes)
    if input.shape[-1] != blocks[0] * blocks[1]:
        given = ", ".join(f"{name}={value}" for name, value in sizes.items())
        raise RuntimeError(f"Given {given}, expected size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                           f"input.size(2)={input.shape[-1]}.")
    batch = input if input.ndim == 3 else input.unsqueeze(0)
    image_shape = (batch.shape[0], rows // (kh * kw), *sizes["output_size"])
    out = ops.Unfold.apply(batch, image_shape=image_shape, **_im2col_params(sizes), fold=True)
    return out if input.ndim == 3 else out.squeeze(0)


# torch's checks of unfold's and fold's sizes, in the order each runs them (im2col and col2im differ), with their
# least allowed value
_SLIDING_BLOCK_CHECKS = {
    "im2col": ("kernel_size", "dilation", "padding", "stride"),
    "col2im": ("kernel_size", "stride", "dilation", "padding"),
}
_SLIDING_BLOCK_LIMITS = {
    "kernel_size": (1, "kernel size should be greater than zero, but got kernel_height: {} kernel_width: {}"),
    "dilation": (1, "dilation should be greater than zero, but got dilation_height: {} dilation_width: {}"),
    "padding": (0, "padding should be non-negative, but got pad_height: {} pad_width: {}"),
    "stride": (1, "stride should be greater than zero, but got stride_height: {} stride_width: {}"),
}


def _sliding_block_sizes(op, **sizes):
    """unfold's and fold's sizes, each an int or two of them, as (h, w) pairs (by name, in the given order),
    checked as torch's `op` (im2col, col2im) checks them."""
    pairs = {}
    for position, (name, value) in enumerate(sizes.items(), start=2):
        pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
        for index, size in enumerate(pair):
            if not isinstance(size, numbers.Integral) or isinstance(size, bool):
                kind = type(size).__name__
                if index:  # torch words it otherwise past the first size, which it counts from 1 there
                    raise TypeError(f"{op}(): argument '{name}' failed to unpack the object at pos {index + 1} with "
                                    f"error \"type must be tuple of ints,but got {kind}\"")
                raise TypeError(f"{op}(): argument '{name}' (position {position}) must be tuple of ints, but found "
                                f"element of type {kind} at pos 0")
        if len(pair) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(pair)}")
        pairs[name] = tuple(int(size) for size in pair)
    for name in _SLIDING_BLOCK_CHECKS[op]:
        least, message = _SLIDING_BLOCK_LIMITS[name]
        if min(pairs[name]) < least:
            raise RuntimeError(message.format(*pairs[name]))
    return pairs


def _sliding_blocks(image_size, sizes):
    """The (rows, columns) of kernel blocks in an image of image_size (h, w)."""
    return tuple(kernel_positions(size, kernel, stride, pad, dilation) for size, kernel, dilation, pad, stride
                 in zip(image_size, sizes["kernel_size"], sizes["dilation"], sizes["padding"], sizes["stride"]))


def _im2col_params(sizes):
    """ops.Unfold's kernel_size and its im2col's (stride, padding, dilation)."""
    return dict(kernel_size=sizes["kernel_size"], columns=(sizes["stride"], sizes["padding"], sizes["dilation"]))


def _stride_and_dilation(op, stride, dilation, groups, dims=2):
    """A conv's stride and dilation as tuples of `dims` sizes, checked with its groups as torch checks them."""
    stride, dilation = _conv_sizes(op, "stride", stride, dims), _conv_sizes(op, "dilation", dilation, dims)
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if min(dilation) <= 0:
        raise RuntimeError(_non_positive_dilation(op, dilation))
    return stride, dilation


def _non_positive_dilation(op, dilation):
    """torch's message for a conv's dilation below 1, which each conv words its own way (a transposed 1-d one as
    that of its 2-d view, of height 1)."""
    if op == "conv1d":
        return "non-positive dilation is not supported"
    if op.startswith("conv_transpose"):
        return "dilation should be greater than zero, but got " + ops.conv.axis_sizes(
            "dilation", dilation if len(dilation) > 1 else (1, *dilation), ", ")
    return f"dilation should be greater than zero, but got {list(dilation)}"


def _conv_padding(op, name, padding, dims=2):
    """A conv's padding (or output_padding) as a tuple of `dims` sizes, checked."""
    padding = _conv_sizes(op, name, padding, dims)
    if min(padding) < 0:
        raise RuntimeError(f"negative {name} is not supported")
    return padding


def _conv_sizes(op, name, value, dims=2):
    """stride, padding or dilation of a conv -> `dims` sizes (see _int_sizes)."""
    return _int_sizes(op, name, value, f"expected {name} to be a single integer value or a list of {dims} values to "
                                       f"match the convolution dimensions, but got {name}={{sizes}}", dims)


def _int_sizes(op, name, value, wrong_length, dims=2):
    """A size as torch's 1-d and 2-d ops take it: an int, or a sequence of one or `dims` -> a tuple of dims sizes
    ((h, w) for 2-d ops). Anything but ints (bools and floats too) is torch's TypeError; another length, the op's
    own RuntimeError, `wrong_length` formatted with the sizes given and their count."""
    sizes = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(size, numbers.Integral) and not isinstance(size, bool) for size in sizes):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
    if len(sizes) not in (1, dims):
        raise RuntimeError(wrong_length.format(sizes=list(sizes), count=len(sizes)))
    return tuple(int(size) for size in sizes) if len(sizes) == dims else (int(sizes[0]),) * dims


PADDING_STRINGS = ("valid", "same")


def same_padding(kernel_size, dilation):
    """torch's padding="same" as F.pad's (left, right, top, bottom): each axis padded by the dilated kernel's
    span less one, the odd pixel of an odd total after the image."""
    widths = []
    for size, spacing in zip(reversed(tuple(kernel_size)), reversed(dilation)):
        total = spacing * (size - 1)
        widths += [total // 2, total - total // 2]
    return tuple(widths)


def _string_padding(padding, kernel_size, stride, dilation):
    """padding "valid" or "same" -> (the conv's own symmetric padding, a size per axis, an F.pad of the extra
    slice of each axis of an asymmetric "same" ahead of it, or None), as torch's conv2d and conv3d."""
    if padding not in PADDING_STRINGS:
        raise RuntimeError(f"Invalid padding string: {padding!r}")
    if padding == "valid":
        return (0,) * len(stride), None
    if max(stride) != 1:
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    widths = same_padding(kernel_size, dilation)                        # last axis first, as F.pad's
    extra = tuple(size for before, after in zip(widths[::2], widths[1::2]) for size in (0, after - before))
    return widths[-2::-2], (extra if any(extra) else None)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """torch's, over (C, H, W) or (N, C, H, W), each size an int or an (h, w) pair; padding reads as -inf. With
    return_indices, also the flat index of each maximum into its (H, W) plane (int64), as torch's."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """max_pool2d over (C, D, H, W) or (N, C, D, H, W), each size an int or a (d, h, w) triple; the indices are
    flat into each (D, H, W) volume."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    windows = _windows(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode)

    def pool(batch):
        out = ops.MaxPool.apply(batch, windows=windows)
        return (out, Tensor(max_pool_indices(batch.data, out.data, windows))) if return_indices else out

    return _one_image_as_a_batch(op, input, pool, dims)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_unpool2d over (N, C, L) or (C, L) of a unit width, as torch's, the indices (max_pool1d's) along L, each
    size an int or a 1-tuple; output_size its last size."""
    kernel_size = _ntuple(kernel_size, 1)
    stride = kernel_size if stride is None else _ntuple(stride, 1)
    padding = _ntuple(padding, 1)
    size = _unpooled_size(input, kernel_size, stride, padding, output_size)
    return max_unpool2d(input.unsqueeze(-1), indices.unsqueeze(-1), (*kernel_size, 1), (*stride, 1), (*padding, 0),
                        (*size, 1)).squeeze(-1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """torch's partial inverse of max_pool2d: each value of a (N, C, H, W) or (C, H, W) input written at its index
    (max_pool2d's return_indices, flat into its plane) of a plane of zeros, the pooled input's size, (in - 1) *
    stride - 2 * padding + kernel_size, or output_size (its last two sizes, within a stride of that). The gradient
    is the output's, gathered at the indices."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """max_unpool2d over (N, C, D, H, W) or (C, D, H, W), the indices (max_pool3d's) flat into each (D, H, W)
    volume; output_size its last three sizes."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def _max_unpool(op, dims, input, indices, kernel_size, stride, padding, output_size):
    kernel_size = _pool_sizes(op, dims, "kernel_size", kernel_size)
    stride = kernel_size if stride is None else _pool_sizes(op, dims, "stride", stride)
    size = _unpooled_size(input, kernel_size, stride, _pool_sizes(op, dims, "padding", padding), output_size)
    if indices.dtype != np.int64:
        got = f" but got: {SCALAR_TYPE_NAMES.get(indices.dtype, indices.dtype)}" if dims == 2 else ""
        raise RuntimeError(f"elements in indices should be type int64{got}")
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Input to max_unpooling{dims}d should be a {dims + 1}d or {dims + 2}d Tensor, but got a "
                           f"tensor with {input.ndim} dimensions.")
    if dims == 3:
        _check_unpooled_volumes(input, stride)
    if indices.shape != input.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    require_floating_point(op, input)
    volume = math.prod(size)
    invalid = (indices.data < 0) | (indices.data >= volume)
    if bool(invalid.any()):
        raise RuntimeError(f"Found an invalid max index: {int(indices.data[invalid][0])} (output volumes are of size "
                           f"{'x'.join(map(str, size))})")
    values = input.flatten(-dims)
    out = values.new_zeros(*values.shape[:-1], volume).scatter(-1, indices.flatten(-dims), values)
    return out.reshape(*input.shape[:-dims], *size)


def _check_unpooled_volumes(input, stride):
    """torch's checks of max_unpool3d that max_unpool2d has not."""
    if min(stride) <= 0:
        raise RuntimeError(f"strides should be greater than zero, but got stride: {list(stride)}")
    for dim in range(1, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError("max_unpooling3d_forward_out_cpu(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but got {list(input.shape)} with dimension {dim} being empty.")


def _unpooled_size(input, kernel_size, stride, padding, output_size):
    """max_unpool's output sizes: the pooled input's, or output_size checked as torch checks it."""
    dims = len(kernel_size)
    default = tuple((size - 1) * step - 2 * pad + kernel
                    for size, kernel, step, pad in zip(input.shape[-dims:], kernel_size, stride, padding))
    if output_size is None:
        size = default
    else:
        if len(output_size) == dims + 2:
            output_size = output_size[2:]
        if len(output_size) != dims:
            raise ValueError(f"output_size should be a sequence containing {dims} or {dims + 2} elements, but it has a "
                             f"length of '{len(output_size)}'")
        for dim, (length, pooled, step) in enumerate(zip(output_size, default, stride)):
            if not pooled - step < length < pooled + step:
                raise ValueError(f'invalid output_size "{output_size}" (dim {dim} must be between {pooled - step} and '
                                 f"{pooled + step})")
        size = tuple(output_size)
    for dim, length in enumerate(size):
        if length < 0:
            raise ValueError("max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{dim}]={length}")
    return size


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """torch's, over (C, H, W) or (N, C, H, W): each window's sum over the input, divided by divisor_override, or by
    the window's size (count_include_pad, the padding counted but not what ceil_mode adds past it), or by the
    number of its inputs."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


@autocasts({"cpu": "float32"})
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """avg_pool2d over (C, D, H, W) or (N, C, D, H, W), each size an int or a (d, h, w) triple; torch refuses a
    kernel larger than the input here."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _avg_pool(op, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    windows = _windows(op, dims, input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    params = dict(windows=windows, count_include_pad=bool(count_include_pad), divisor_override=divisor_override)
    return _one_image_as_a_batch(op, input, lambda batch: ops.AvgPool.apply(batch, **params), dims)


_POOL_SIZE_ERRORS = {  # avg_pool3d's words them without "either "
    "kernel_size": "kernel_size must {either}be a single int, or a tuple of {count} ints",
    "stride": "stride must {either}be omitted, a single int, or a tuple of {count} ints",
    "padding": "padding must {either}be a single int, or a tuple of {count} ints",
    "dilation": "dilation must be either a single int, or a tuple of {count} ints",
}


def _pool_sizes(op, dims, argument, value):
    """A pooling size -> a tuple of `dims` sizes (see _int_sizes)."""
    wording = _POOL_SIZE_ERRORS[argument].format(either="" if op == "avg_pool3d" else "either ",
                                                  count={2: "two", 3: "three"}[dims])
    return _int_sizes(op, argument, value, f"{op}: {wording}", dims)


def _windows(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode):
    """The checked Windows of a pooling of input; stride None or empty is the kernel size, as torch's."""
    kernel_size = _pool_sizes(op, dims, "kernel_size", kernel_size)
    stride = kernel_size if _omitted_stride(stride) else _pool_sizes(op, dims, "stride", stride)
    return Windows(tuple(input.shape), kernel_size, stride, _pool_sizes(op, dims, "padding", padding),
                   _pool_sizes(op, dims, "dilation", dilation), bool(ceil_mode), op)


def _one_image_as_a_batch(name, input, op, dims=2):
    """torch's 2-d (3-d) ops take (N, C, H, W) or one (C, H, W) image ((N, C, D, H, W) or one (C, D, H, W)
    volume), which runs as a batch of one and comes back unbatched (each of the op's results, where it gives
    several)."""
    _check_batch_dims(name, input, dims)
    if input.ndim == dims + 2:
        return op(input)
    out = op(input.unsqueeze(0))
    return tuple(result.squeeze(0) for result in out) if isinstance(out, tuple) else out.squeeze(0)


def _check_batch_dims(name, input, dims):
    """torch's error for an input to an op over `dims` spatial dims that is neither one image nor a batch."""
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got input "
                           f"of size: {list(input.shape)}")


def _on_unit_height(input, run_2d, *others):
    """A 1-d op of an (N, C, L) or (C, L) input (checked by the caller) as its 2-d one, `run_2d`, of the input
    with a height of 1 (and of `others` alongside it, a conv's weight), its results (one or several) back without
    that height."""
    out = run_2d(input.unsqueeze(-2), *(tensor.unsqueeze(-2) for tensor in others))
    return tuple(result.squeeze(-2) for result in out) if isinstance(out, tuple) else out.squeeze(-2)


@autocasts({"cuda": "float32", "cpu": "uncast"})
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resizing of the last dims of an (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as torch's: "nearest"
    (its default), "nearest-exact", "area" (adaptive average pooling to the size), "linear" (3-d), "bilinear" or
    "bicubic" (4-d), "trilinear" (5-d), the last four with either align_corners (None is False); antialias=True gives "bilinear" and
    "bicubic" downsampling a low-pass filter, as torch's (Pillow's). A scale_factor gives the size
    floor(in * scale_factor) and, unless recompute_scale_factor, the scale of the source coordinates too."""
    if mode in _NON_INTERPOLATING:
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                             "bicubic | trilinear")
    else:
        align_corners = bool(align_corners)
    size, scale_factor = _resize_sizes(input, size, scale_factor, recompute_scale_factor, mode)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    axes = input.ndim - 2
    if mode == "area" and axes in (1, 2):
        return adaptive_avg_pool2d(input, size) if axes == 2 else adaptive_avg_pool1d(input, size)
    if mode == "area" and axes == 3:
        require_floating_point("adaptive_avg_pool3d_cpu", input)
        return AdaptiveAvgPool.apply(input, size=size)
    if mode in _NEAREST and axes in (1, 2, 3):
        return _NEAREST[mode].apply(input, size=size, scale_factor=scale_factor)
    if (mode, axes) not in _INTERPOLATIONS:
        raise _resize_error(mode, input.ndim)
    if antialias:
        return ops.UpsampleAntialiased.apply(input, size=size, scale_factor=scale_factor, align_corners=align_corners,
                                             mode=mode)
    return _INTERPOLATIONS[mode, axes].apply(input, size=size, scale_factor=scale_factor, align_corners=align_corners)


_NON_INTERPOLATING = ("nearest", "area", "nearest-exact")
_NEAREST = {"nearest": ops.UpsampleNearest, "nearest-exact": ops.UpsampleNearestExact}
_INTERPOLATIONS = {("linear", 1): ops.UpsampleBilinear, ("bilinear", 2): ops.UpsampleBilinear,
                   ("bicubic", 2): ops.UpsampleBicubic, ("trilinear", 3): ops.UpsampleBilinear}
_TORCH_RESIZE_RANKS = {"nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5), "linear": (3,),
                       "bilinear": (4,), "bicubic": (4,), "trilinear": (5,), "lanczos": (4,)}


def _resize_sizes(input, size, scale_factor, recompute_scale_factor, mode):
    """interpolate's (size, scale_factor), one of them None and the other a tuple with one entry per resized axis,
    checked as torch checks them; recompute_scale_factor, and "area" always, take the size that the scale factor
    gives (truncated) and drop the scale factor."""
    axes, spatial = input.ndim - 2, list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)) and len(size) != axes:
            raise ValueError("Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {spatial} and output size of {size}. Please provide input tensor "
                             "in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * axes
        if not all(isinstance(n, numbers.Integral) for n in sizes):
            raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, int], "
                            f"but got size with types {[type(n) for n in sizes]}")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        return tuple(int(n) for n in sizes), None
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)) and len(scale_factor) != axes:
        raise ValueError("Input and scale_factor must have the same number of spatial dimensions, but got input with "
                         f"spatial dimensions of {spatial} and scale_factor of shape {scale_factor}. Please provide "
                         "input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
    scales = tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (list, tuple)) else \
        (float(scale_factor),) * axes
    if recompute_scale_factor or mode == "area":
        return tuple(int(n * s) for n, s in zip(spatial, scales)), None
    return None, scales


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """torch's deprecated name of interpolate, which older models call."""
    _warn_deprecated_resize("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    _warn_deprecated_resize("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """interpolate's "bilinear" with the corners aligned, as torch's deprecated function does."""
    _warn_deprecated_resize("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _warn_deprecated_resize(name):
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def _resize_error(mode, ndim):
    """The error of interpolate's `mode` on an ndim-d input: torch's, where torch refuses the pair, else that
    minigrad lacks it ("lanczos")."""
    if ndim in _TORCH_RESIZE_RANKS.get(mode, ()):
        return NotImplementedError(f"interpolate: minigrad has no {mode!r} resizing")
    if mode in ("linear", "bilinear", "trilinear") and ndim in (3, 4, 5):
        return NotImplementedError(f"Got {ndim}D input, but {mode} mode needs {_TORCH_RESIZE_RANKS[mode][0]}D input")
    return NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the modes: "
                               f"nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact "
                               f"(got {mode})")


def affine_grid(theta, size, align_corners=None):
    """torch's affine_grid for a 2-d size (N, C, H, W): the (N, H, W, 2) grid of the output pixels' (x, y)
    coordinates in [-1, 1] (the corner pixels' centres at +-1 with align_corners, else their outer edges), each
    batch's moved by its (2, 3) theta, which grid_sample then reads the input at. Differentiable in theta."""
    align_corners = _grid_align_corners(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got torch.{theta.dtype}")
    if len(size) not in (4, 5):
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    dims = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (dims, dims + 1):
        raise ValueError(f"Expected a batch of {dims}D affine matrices of shape Nx{dims}x{dims + 1} for size {size}. "
                         f"Got {_size(theta.shape)}.")
    if dims == 3:
        raise NotImplementedError("affine_grid: minigrad has no 3-d affine grids; it makes 2-d ones, for sizes "
                                  "(N, C, H, W)")
    batch, _, height, width = size
    if align_corners and min(height, width) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    xp = get_array_module(theta.data)
    base = np.ones((1, height, width, 3))
    base[..., 0] = _grid_coordinates(width, align_corners)
    base[..., 1] = _grid_coordinates(height, align_corners)[:, None]
    points = Tensor(xp.asarray(base.reshape(1, height * width, 3), dtype=theta.dtype)).expand(batch, -1, -1)
    return ops.Reshape.apply(bmm(points, theta.transpose(1, 2)), shape=(batch, height, width, 2),
                             node_name="AffineGridGeneratorBackward0")


def _grid_coordinates(steps, align_corners):
    """torch's normalized coordinates of `steps` pixel centres along an axis: -1 to 1 from corner centre to corner
    centre with align_corners, else scaled so that -1 and 1 are the outer edges; 0 for one pixel."""
    if steps <= 1:
        return np.zeros(steps)
    coordinates = np.linspace(-1.0, 1.0, steps)
    return coordinates if align_corners else coordinates * (steps - 1) / steps


@autocasts({"cuda": "promote", "cpu": "float32"})
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """torch's grid_sample of an (N, C, H, W) input: output (n, c, i, j) reads channel c of image n at the point
    grid[n, i, j] = (x, y), in [-1, 1] from left to right and top to bottom (the corner pixels' centres with
    align_corners, else their outer edges), between pixels ("bilinear", or "bicubic" from 4 x 4 of them) or at the
    nearest one ("nearest"). padding_mode says what a point off the image reads: 0 ("zeros"), the nearest edge
    pixel ("border"), or the image mirrored at its edges ("reflection"). Differentiable in the input and the grid
    (0 for "nearest")."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in ops.sample.PADDING_MODES:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align_corners = _grid_align_corners(align_corners, stacklevel=4)  # past autocasts' frame too
    _check_grid_sample_operands(input, grid, mode)
    return ops.GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners)


def _grid_align_corners(align_corners, stacklevel=3):
    """affine_grid's and grid_sample's align_corners, None being False with torch's warning, which `stacklevel`
    points at their caller."""
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", stacklevel=stacklevel)
    return bool(align_corners)


def _check_grid_sample_operands(input, grid, mode):
    """torch's checks of grid_sampler's operands, in its order."""
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.shape[:1] != grid.shape[:1]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    if grid.shape[-1:] != (input.ndim - 2,):
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    for axis in range(2, input.ndim):
        if input.shape[axis] == 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {axis} being empty")
    spatial_dims = 2 if input.ndim == 4 else 3
    if not input.ndim == grid.ndim == spatial_dims + 2:
        raise RuntimeError(f"grid_sampler(): expected {spatial_dims + 2}D input and grid with same number of "
                           f"dimensions, but got {sizes}")
    if spatial_dims == 3 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if spatial_dims == 3:
        raise NotImplementedError(f"grid_sample: minigrad has no {mode!r} sampling of 5-d inputs; it samples 4-d "
                                  "(N, C, H, W) inputs")
    require_floating_point("grid_sampler_2d_cpu_kernel_impl", input)
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES[input.dtype]} but found "
                           f"{SCALAR_TYPE_NAMES[grid.dtype]}")


@autocasts("lower")
def linear(input, weight, bias=None):
    """input @ weight.T + bias over the input's last dim, as torch's: input (*, in), weight (out, in) or (in,),
    bias (out,)."""
    if bias is not None:  # torch's words are its addmm's; without a bias, its matrix product's (input @ weight.T)
        for role, operand in (("self", bias), ("mat1", input)):
            if operand.dtype != weight.dtype:
                raise RuntimeError(f"{role} and mat2 must have the same dtype, but got "
                                   f"{SCALAR_TYPE_NAMES[operand.dtype]} and {SCALAR_TYPE_NAMES[weight.dtype]}")
    if weight.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {weight.ndim}D")
    in_features = input.shape[-1] if input.ndim else 1
    if weight.ndim == 2 and in_features != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({math.prod(input.shape[:-1])}x{in_features} "
                           f"and {weight.shape[1]}x{weight.shape[0]})")
    out = input @ weight.T
    return out if bias is None else out + bias


@autocasts({"cuda": "promote", "cpu": "uncast"})
def bilinear(input1, input2, weight, bias=None):
    """input1 . weight[o] . input2 (+ bias[o]) for each output o over the inputs' last dims, as torch's: input1
    (*, in1) and input2 (*, in2) of the same leading dims, weight (out, in1, in2), bias (out,). One matmul of
    input1 with the weight's (in1, out * in2) view, then a product with input2 summed over in2."""
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for dim, (size1, size2) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if size1 != size2:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {dim}: got {size1} and {size2}")
    for name, size, expected in (("input1", input1.shape[-1], weight.shape[1]),
                                 ("input2", input2.shape[-1], weight.shape[2])):
        if size != expected:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got {size} but expected "
                               f"{expected}")
    if bias is not None and bias.shape[0] != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but expected "
                           f"{weight.shape[0]}")
    if len({input1.dtype, input2.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())) > 1:
        names = ", ".join(f"{name}: {CPP_TYPE_NAMES[tensor.dtype]}" for name, tensor in
                          (("input1", input1), ("input2", input2), ("weight", weight), ("bias", bias))
                          if tensor is not None)
        raise RuntimeError(f"All tensors must have the same dtype, got {names}")
    out_features, in1, in2 = weight.shape
    projected = input1 @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)
    out = (projected.reshape(*input1.shape[:-1], out_features, in2) * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


def sigmoid(input):
    return ops.Sigmoid.apply(input)


def tanh(input):
    return ops.Tanh.apply(input)


# torch's `inplace` flags are accepted so that its code runs, but each result is a new tensor and the input keeps
# its values, as with nn.ReLU.
def relu(input, inplace=False):
    return ops.ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return ops.LeakyReLU.apply(input, negative_slope=negative_slope)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """torch's randomized leaky ReLU: in training, each element's negative slope drawn from U(lower, upper) (on the
    host, from minigrad's generator, as dropout's masks), its gradient that slope; otherwise the slope
    (lower + upper) / 2."""
    if not training:
        return ops.LeakyReLU.apply(input, negative_slope=(lower + upper) / 2, node_name="RreluWithNoiseBackward0")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    require_floating_point("rrelu_with_noise_out_cpu", input)
    slopes = Tensor(random.generator().uniform(lower, upper, input.shape).astype(input.dtype), device=input.device)
    with no_grad():
        noise = where(input > 0, 1.0, slopes)                           # torch's noise: 1, or the element's slope
    return ops.Mul.apply(input, noise, node_name="RreluWithNoiseBackward0")


def elu(input, alpha=1.0, inplace=False):
    return ops.ELU.apply(input, alpha=alpha)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input, inplace=False):
    """scale * elu(input, alpha), with torch's self-normalising constants."""
    return ops.ELU.apply(input, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input, alpha=1.0, inplace=False):
    """input where positive, else alpha * (exp(input / alpha) - 1)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return ops.ELU.apply(input, alpha=alpha, input_scale=1 / alpha)


def glu(input, dim=-1):
    """The first half of `dim` gated by the sigmoid of the second, as torch's."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = normalize_dim(dim, input.ndim)
    if input.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {input.shape[axis]}")
    require_floating_point("glu_cpu", input)
    value, gate = input.chunk(2, axis)
    return value * sigmoid(gate)


def logsigmoid(input):
    require_floating_point("log_sigmoid_cpu", input)
    return ops.LogSigmoid.apply(input)


def softsign(input):
    return input / (1 + input.abs())


def tanhshrink(input):
    return input - input.tanh()


def threshold(input, threshold, value, inplace=False):
    """input where it is above threshold, else value, as torch's: threshold a number of the dtype it compares in
    (float16's float32), value one of input's, each refused where that dtype cannot hold it (1e300 beside float32)."""
    if input.dtype == bool:
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    bound = converted_scalar(threshold, input.dtype, half_in_float32=True)
    value = get_array_module(input.data).asarray(converted_scalar(value, input.dtype))
    return where(Tensor(input.data.astype(bound.dtype, copy=False) <= bound), Tensor(value), input)


def hardshrink(input, lambd=0.5):
    """0 where -lambd <= input <= lambd, else input; a lambd beyond input's dtype refused, as torch's."""
    require_floating_point("hardshrink_cpu", input)
    converted_scalar(lambd, input.dtype)
    return where((input >= -lambd) & (input <= lambd), 0, input)


def softshrink(input, lambd=0.5):
    """input moved lambd towards 0, and 0 where it is within lambd of it: input less its clamp to [-lambd, lambd],
    whose gradient is 0 at the bounds, as torch's."""
    require_floating_point("softshrink_check", input)
    largest = float(np.finfo(input.dtype).max)
    if not 0 <= lambd <= largest:
        raise RuntimeError(f"lambda must be in range [0, {largest:g}] for input dtype "
                           f"{SCALAR_TYPE_NAMES[input.dtype]}, but found {lambd:g}")
    return where((input >= -lambd) & (input <= lambd), 0, input - input.clamp(-lambd, lambd))  # 0 * a NaN grad: 0


GELU_APPROXIMATIONS = ("none", "tanh")


def gelu(input, approximate="none"):
    """input * Phi(input), Phi the standard normal CDF, or with approximate="tanh" torch's tanh formula for it."""
    if approximate not in GELU_APPROXIMATIONS:
        raise RuntimeError("approximate argument must be either none or tanh.")
    return ops.GELU.apply(input, approximate=approximate)


def silu(input, inplace=False):
    return ops.SiLU.apply(input)


def mish(input, inplace=False):
    return ops.Mish.apply(input)


@autocasts({"cuda": "float32"})
def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * input)) / beta, and the input itself where beta * input > threshold, as torch's."""
    return ops.Softplus.apply(input, beta=beta, threshold=threshold)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """The input clamped to [min_val, max_val]; unlike clamp's, its gradient is 0 at the bounds, as torch's."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype == bool:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if input.dtype.kind == "u" and min_val < 0:
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    return ops.Hardtanh.apply(input, low=min_val, high=max_val)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0)


def hardswish(input, inplace=False):
    return ops.Hardswish.apply(input)


def hardsigmoid(input, inplace=False):
    return ops.Hardsigmoid.apply(input)


@checked_arguments(input=tensor_argument, weight=tensor_argument)  # outermost: x.prelu(w) counts from w
@autocasts("lower")
def prelu(input, weight):
    """input where positive, else weight * input: weight holds one slope, or one per channel (dim 1)."""
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim > 1 else 1
        if weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {channels}.")
        weight = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    elif input.ndim == 0:  # its one slope 0-d too, so that the output stays 0-d
        weight = weight.reshape(())
    return ops.PReLU.apply(input, weight)


def implicit_dim(name, input, dim):
    """`dim`, or torch's deprecated implicit choice for softmax and log_softmax where it is None (dim 0 of a 0-, 1-
    or 3-d input, else dim 1), with its warning."""
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                      "dim=X as an argument.", stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return dim


def softmax(input, dim=None, dtype=None):
    """exp(input) normalised along `dim`, computed in `dtype` if given. Without a dim, torch's deprecated implicit
    choice (implicit_dim)."""
    return ops.Softmax.apply(_cast(input, dtype), dim=implicit_dim("softmax", input, dim))


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(input)) along `dim`, as one op: (x - max) - log(sum(exp(x - max))), computed in `dtype` if
    given. Without a dim, torch's deprecated implicit choice (implicit_dim)."""
    return ops.LogSoftmax.apply(_cast(input, dtype), dim=implicit_dim("log_softmax", input, dim))


def softmin(input, dim=None, dtype=None):
    """softmax(-input) along `dim`, computed in `dtype` if given. Without a dim, torch's deprecated implicit choice
    (implicit_dim)."""
    return softmax(-_cast(input, dtype), dim=implicit_dim("softmin", input, dim))


def _cast(input, dtype):
    return input if dtype is None else input.to(dtype)


relu_, leaky_relu_, hardtanh_, elu_, selu_, celu_, threshold_, rrelu_ = map(
    in_place_version, (relu, leaky_relu, hardtanh, elu, selu, celu, threshold, rrelu))


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """torch's: softmax((logits + g) / tau) along `dim`, g Gumbel noise drawn on the host from minigrad's generator
    (-log of standard exponential draws); with `hard`, the one-hot of its argmax, whose gradient is the soft
    sample's (torch's straight-through estimator). eps is unused, as in torch."""
    gumbels = -np.log(random.generator().standard_exponential(logits.shape)).astype(logits.dtype)
    soft = softmax((logits + Tensor(gumbels, device=logits.device)) / tau, dim)
    if not hard:
        return soft
    dim = normalize_dim(dim, logits.ndim)
    xp = get_array_module(soft.data)
    one_hot = (xp.arange(soft.shape[dim]).reshape((-1,) + (1,) * (soft.ndim - dim - 1))
               == xp.expand_dims(soft.data.argmax(axis=dim), dim)).astype(soft.dtype)
    return Tensor(one_hot) - soft.detach() + soft
@autocasts("lower")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """torch's: softmax(query @ key^T * scale + bias) @ value, queries (..., L, E), keys (..., S, E), values
    (..., S, Ev), the leading dims broadcast; scale defaults to 1 / sqrt(E). A bool attn_mask says which keys each
    query attends to (True), a float one is added to the scores; is_causal lets query i attend to keys 0..i (aligned
    at the upper left, whatever L and S). A query that attends to no key gets zeros, and passes no gradient, as
    torch's. dropout_p drops attention weights whenever it is above 0, as torch's function (not a module) does.
    enable_gqa shares each key and value head (dim -3) among a block of query heads."""
    _check_attention_arguments(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa and query.ndim >= 3:
        key, value = _repeated_heads(query, key), _repeated_heads(query, value)
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale                            # (..., L, S)
    if is_causal:
        causal = get_array_module(scores.data).tri(*scores.shape[-2:], dtype=bool)  # made where the scores are
        scores = where(Tensor(causal), scores, -math.inf)
    if attn_mask is not None:
        scores = where(attn_mask, scores, -math.inf) if attn_mask.dtype == bool else scores + attn_mask
    weights = softmax(scores, dim=-1) if attn_mask is None else _softmax_of_attended(scores)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def _softmax_of_attended(scores):
    """softmax over the last dim, where a row that is -inf throughout (a query that attends to no key) is 0 and
    passes no gradient, rather than NaN: torch's attention's safe softmax."""
    blocked = (scores.data == -math.inf).all(axis=-1, keepdims=True)
    if not bool(blocked.any()):
        return softmax(scores, dim=-1)
    blocked = Tensor(blocked)
    return softmax(scores.masked_fill(blocked, 0.0), dim=-1).masked_fill(blocked, 0.0)


def _check_attention_arguments(query, key, value, attn_mask, dropout_p, is_causal):
    names = {name: CPP_TYPE_NAMES.get(t.dtype, str(t.dtype)) for name, t in
             (("query", query), ("key", key), ("value", value), ("attn_mask", attn_mask)) if t is not None}
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{names['query']} key.dtype: {names['key']} and value.dtype: {names['value']} instead.")
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead.")
    if attn_mask is not None and attn_mask.dtype not in (np.dtype(bool), np.dtype(np.float32), query.dtype):
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {names['attn_mask']} and  query.dtype: {names['query']} instead.")
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if not 0 <= dropout_p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _repeated_heads(query, key):
    """key (or value) with each of its heads (dim -3) repeated for the block of query heads that share it."""
    heads, shared = query.shape[-3], key.shape[-3]
    if heads % shared:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
    return key.repeat_interleave(heads // shared, dim=-3)


def adaptive_avg_pool2d(input, output_size):
    """torch's bins over (C, H, W) or (N, C, H, W), None keeping a size: output i of n averages the inputs
    [floor(i * H / n), ceil((i + 1) * H / n)). Sizes that divide the input (1 always does) take a plain block
    mean, the cheaper path; others, overlapping bins, go through a pooling matrix per axis."""
    h, w = input.shape[-2:]
    out_h, out_w = _adaptive_output_size("adaptive_avg_pool2d", input, output_size, 2)
    require_floating_point("adaptive_avg_pool2d", input)
    if not out_h * out_w:
        return _nothing_pooled(input, (out_h, out_w))
    if h % out_h or w % out_w:
        return AdaptiveAvgPool.apply(input, size=(out_h, out_w))
    blocks = input.reshape(*input.shape[:-2], out_h, h // out_h, out_w, w // out_w)
    return blocks.mean(dim=(-3, -1))


def adaptive_avg_pool3d(input, output_size):
    """adaptive_avg_pool2d over (C, D, H, W) or (N, C, D, H, W), None keeping a size, each axis binned as there. The
    mean is separable: adaptive_avg_pool2d of the (H, W) planes, then of the depth."""
    out_d, out_h, out_w = _adaptive_output_size("adaptive_avg_pool3d", input, output_size, 3)
    require_floating_point("adaptive_avg_pool3d_cpu", input)
    if not out_d * out_h * out_w:
        return _nothing_pooled(input, (out_d, out_h, out_w))
    *batch, d, h, w = input.shape
    volumes = math.prod(batch)
    planes = adaptive_avg_pool2d(input.reshape(volumes, d, h, w), (out_h, out_w))
    depths = adaptive_avg_pool2d(planes.reshape(volumes, 1, d, out_h * out_w), (out_d, None))
    return depths.reshape(*batch, out_d, out_h, out_w)


def _nothing_pooled(input, out_size):
    """An adaptive pooling's empty output, for an output size of 0, as torch gives one: still of the graph."""
    return input.narrow(-1, 0, 0).reshape(*input.shape[:-len(out_size)], *out_size)


_ADAPTIVE_RANK_ERRORS = {  # torch's wordings, which differ by a colon
    "adaptive_avg_pool2d": "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {}",
    "adaptive_max_pool2d": "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {}",
    "adaptive_avg_pool3d": "adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {}",
    "adaptive_max_pool3d": "adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: {}",
}
_ADAPTIVE_LENGTH_ERRORS = {  # torch's, for an output_size of another length than the spatial dims
    "adaptive_avg_pool2d": "adaptive_avg_pool2d: output_size must be 2",
    "adaptive_max_pool2d": "adaptive_max_pool2d(): internal error: output_size.size() must be 2",
    "adaptive_avg_pool3d": "adaptive_avg_pool3d: output_size must be 3",
    "adaptive_max_pool3d": "adaptive_max_pool3d(): internal error: output_size.size() must be 3",
}


def _adaptive_output_size(name, input, output_size, dims):
    """An adaptive pooling's output sizes from an int or `dims` of them, None keeping the input's size; the input
    must be (C, *spatial) or (N, C, *spatial), none of its sizes but N zero."""
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(_ADAPTIVE_RANK_ERRORS[name].format(list(input.shape)))
    for dim in range(1, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {dim} being empty")
    sizes = _ntuple(output_size, dims)
    if len(sizes) != dims:
        raise RuntimeError(_ADAPTIVE_LENGTH_ERRORS[name])
    if not all(s is None or (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0) for s in sizes):
        raise ValueError(f"{name}: output_size must be a non-negative int or None, or {dims} of them, got "
                         f"{output_size!r}")
    return tuple(n if size is None else int(size) for size, n in zip(sizes, input.shape[-dims:]))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """torch's bins over (C, H, W) or (N, C, H, W), as adaptive_avg_pool2d's, each pooled to its first maximum;
    with return_indices, also where that is, as a flat index into its (H, W) plane (int64). The maxima are read
    by gather at those indices, so that its gradient goes to them."""
    out_size = _adaptive_output_size("adaptive_max_pool2d", input, output_size, 2)
    return _adaptive_max_pool(input, out_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """adaptive_max_pool2d over (C, D, H, W) or (N, C, D, H, W), the indices flat into each (D, H, W) volume."""
    out_size = _adaptive_output_size("adaptive_max_pool3d", input, output_size, 3)
    return _adaptive_max_pool(input, out_size, return_indices)


def _adaptive_max_pool(input, out_size, return_indices):
    dims = len(out_size)
    if not math.prod(out_size):
        maxima = _nothing_pooled(input, out_size)
        return (maxima, maxima.detach().long()) if return_indices else maxima
    indices = Tensor(adaptive_max_indices(input.data, out_size))
    maxima = input.flatten(-dims).gather(-1, indices.flatten(-dims)).reshape(indices.shape)
    return (maxima, indices) if return_indices else maxima


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """torch's max_pool1d over (N, C, L) or (C, L): max_pool2d over a unit height, each size an int or a 1-tuple;
    the indices index along L. torch checks the sizes with messages of its own unless it returns indices."""
    op = "max_pool1d"
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(f"{op}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, "
                           f"but got:{list(input.shape)}")
    if not return_indices:
        _check_max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode)
    sizes = _unit_height_pool_sizes(op, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    return _on_unit_height(input, lambda image: max_pool2d(image, **sizes, ceil_mode=ceil_mode,
                                                           return_indices=return_indices))


def _check_max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode):
    """torch's own checks of max_pool1d's sizes (those of its path without indices), in its order."""
    def single(name, value, wording):
        message = f"max_pool1d() {name} must be {wording} tuple of ints of size 1 but got size {{count}}"
        return _int_sizes("max_pool1d", name, value, message, dims=1)[0]

    omitted = _omitted_stride(stride)
    kernel = single("kernel_size", kernel_size, "an int, list of ints or")
    stride = None if omitted else single("stride", stride, "None, an int, list of ints, or")
    pad = single("padding", padding, "an int, list of ints, or")
    step = single("dilation", dilation, "an int, list of ints or")
    stride = kernel if omitted else stride
    for name, value in (("kernel_size", kernel), ("stride", stride)):
        if value <= 0:
            raise RuntimeError(f"max_pool1d() {name} must be greater than zero, but got {value}")
    if pad < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {pad}")
    if pad > kernel // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got padding={pad} and "
                           f"kernel_size={kernel}")
    if step < 1:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {step}")
    length = pooled_size(input.shape[-1], kernel, stride, pad, step, ceil_mode)
    if length < 1:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {length}")
    require_floating_point("max_pool1d_impl", input)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """torch's avg_pool1d over (N, C, L) or (C, L): avg_pool2d over a unit height, each size an int or a 1-tuple."""
    _require_1d_input("avg_pool1d", input)
    sizes = _unit_height_pool_sizes("avg_pool1d", kernel_size=kernel_size, stride=stride, padding=padding)
    return _on_unit_height(input, lambda image: avg_pool2d(
        image, **sizes, ceil_mode=ceil_mode, count_include_pad=count_include_pad))


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """torch's power-average pooling over (N, C, L) or (C, L): (sum of input^p over each window)^(1/p), p =
    norm_type (the largest |input| for p = inf), see _lp_pool. The kernel size is an int: torch multiplies the
    average by it (a 1-tuple passes its pooling, not that product), the stride an int or a 1-tuple."""
    def area():
        if isinstance(kernel_size, (tuple, list)):
            raise TypeError(f"mul(): argument 'other' (position 1) must be Tensor, not {type(kernel_size).__name__}")
        return kernel_size

    return _lp_pool(input, norm_type, area, lambda x: avg_pool1d(x, kernel_size, stride, 0, ceil_mode),
                    lambda x: max_pool1d(x, kernel_size, stride, 0, 1, ceil_mode))


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """lp_pool1d over (N, C, H, W) or (C, H, W), each size an int or an (h, w) pair."""
    kh, kw = _pair(kernel_size)
    return _lp_pool(input, norm_type, lambda: kh * kw, lambda x: avg_pool2d(x, kernel_size, stride, 0, ceil_mode),
                    lambda x: max_pool2d(x, kernel_size, stride, 0, 1, ceil_mode))


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """lp_pool1d over (N, C, D, H, W) or (C, D, H, W), each size an int or a (d, h, w) triple."""
    kd, kh, kw = _ntuple(kernel_size, 3)
    return _lp_pool(input, norm_type, lambda: kd * kh * kw,
                    lambda x: avg_pool3d(x, kernel_size, stride, 0, ceil_mode),
                    lambda x: max_pool3d(x, kernel_size, stride, 0, 1, ceil_mode))


def _lp_pool(input, norm_type, area, average, maximum):
    """torch's formula: the window's mean of input^p (by `average`) times its area (by `area()`, after the
    average, as torch's), to the power 1/p; p = +-inf is the largest (or smallest) |input|, by `maximum`. Where a
    window's sum is 0, its gradient is 0, as torch's (whose sign(s) * relu(|s|) zeroes it) and not the 0 * inf of
    the root's slope."""
    if norm_type in (math.inf, -math.inf):
        sign = 1 if norm_type > 0 else -1
        return sign * maximum(sign * input.abs())
    sums = average(input.pow(norm_type)) * area()
    nonzero = sums.detach() != 0
    root = where(nonzero, sums, 1.0).pow(1.0 / norm_type)
    return where(nonzero, root, math.inf if norm_type < 0 else 0.0)


def adaptive_avg_pool1d(input, output_size):
    """torch's adaptive_avg_pool1d over (N, C, L) or (C, L): adaptive_avg_pool2d over a unit height."""
    _require_1d_input("adaptive_avg_pool1d", input)
    (size,) = _one_pool_size("adaptive_avg_pool1d", "output_size", output_size)
    return _on_unit_height(input, lambda image: adaptive_avg_pool2d(image, (1, size)))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """torch's adaptive_max_pool1d over (N, C, L) or (C, L): adaptive_max_pool2d over a unit height; the indices
    index along L."""
    _require_1d_input("adaptive_max_pool1d", input)
    (size,) = _one_pool_size("adaptive_max_pool1d", "output_size", output_size)
    return _on_unit_height(input, lambda image: adaptive_max_pool2d(image, (1, size), return_indices))


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """torch's fractional max pooling over (N, C, H, W) or (C, H, W): kernel_size windows at pseudo-random starts
    that reach output_size (or input size * output_ratio), drawn from one uniform sample per plane and dim
    (_random_samples, (N, C, 2): width's, then height's, as torch's; drawn from minigrad's generator unless
    given). With return_indices, also the flat index of each maximum into its plane, where its gradient goes."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """fractional_max_pool2d over (N, C, T, H, W) or (C, T, H, W); _random_samples (N, C, 3) are time's, height's
    and width's, as torch's."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def _fractional_max_pool(op, dims, input, kernel_size, output_size, output_ratio, return_indices, samples):
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if isinstance(output_ratio, (tuple, list)) and len(output_ratio) > dims:
            raise ValueError(f"{op} requires output_ratio to either be a single Int or tuple of Ints.")
        output_size = [int(size * ratio) for size, ratio in zip(input.shape[-dims:], _ntuple(output_ratio, dims))]
    kernel_size, output_size = _ntuple(kernel_size, dims), _ntuple(output_size, dims)
    unbatched = input.ndim == dims + 1
    batch = input.unsqueeze(0) if unbatched else input
    if samples is None:
        samples = Tensor(random.generator().random((batch.shape[0], batch.shape[1], dims)).astype(input.dtype),
                         device=input.device)
    if samples.shape[1] != batch.shape[1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    names = ("time", "height", "width")[-dims:]
    for name, size, pool, out in zip(names, batch.shape[2:], kernel_size, output_size):
        if out + pool - 1 > size:
            raise RuntimeError(f"{op}{'_out' if dims == 3 else ''}(): pool {name} {pool} too large relative to "
                               f"input {name} {size}")
    xp = get_array_module(batch.data)
    by_dim = samples.data[..., ::-1] if dims == 2 else samples.data  # torch's order: width's first in 2-d
    sizes = batch.shape[2:]
    flat = 0  # (N, C, *output_size, *kernel_size): each window entry's flat position in its plane
    for axis, (size, pool, out) in enumerate(zip(sizes, kernel_size, output_size)):
        positions = _fractional_starts(xp, by_dim[..., axis], size, out, pool)[..., None] + xp.arange(pool)
        shape = [*batch.shape[:2]] + [1] * 2 * dims
        shape[2 + axis], shape[2 + dims + axis] = out, pool
        flat = flat + positions.reshape(shape) * math.prod(sizes[axis + 1:])
    windows = flat.reshape(*flat.shape[:2 + dims], -1)  # (N, C, *outs, window)
    values = xp.take_along_axis(batch.data.reshape(*batch.shape[:2], -1), windows.reshape(*batch.shape[:2], -1),
                                axis=2).reshape(windows.shape)
    indices = xp.take_along_axis(windows, values.argmax(axis=-1)[..., None], axis=-1)[..., 0]
    out = batch.flatten(2).gather(2, Tensor(indices.reshape(*batch.shape[:2], -1))).reshape(indices.shape)
    indices = Tensor(indices.astype(np.int64))
    if unbatched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def _fractional_starts(xp, samples, size, out, pool):
    """torch's generate_intervals: the start of each of `out` windows of `pool` along a dim of `size`, from one
    uniform sample per plane (N, C), computed in the samples' dtype, as torch's; the last window ends at the end."""
    alpha = samples.dtype.type(size - pool) / samples.dtype.type(max(out - 1, 1))
    positions = xp.arange(out, dtype=samples.dtype)
    starts = ((positions + samples[..., None]) * alpha).astype(np.int64) - (samples * alpha).astype(np.int64)[..., None]
    starts[..., -1] = size - pool
    return starts


def _with_indices(pool):
    """torch's <pool>_with_indices: the pool's output and indices, whatever return_indices (its last argument, taken
    and ignored) says."""
    count = len(inspect.signature(pool).parameters) - 1

    def pool_with_indices(*args, **kwargs):
        kwargs.pop("return_indices", None)
        return pool(*args[:count], **kwargs, return_indices=True)
    pool_with_indices.__name__ = pool_with_indices.__qualname__ = f"{pool.__name__}_with_indices"
    pool_with_indices.__doc__ = f"torch's: {pool.__name__} with return_indices=True."
    return pool_with_indices


(max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices, adaptive_max_pool1d_with_indices,
 adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices, fractional_max_pool2d_with_indices,
 fractional_max_pool3d_with_indices) = map(_with_indices, (
    max_pool1d, max_pool2d, max_pool3d, adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d,
    fractional_max_pool2d, fractional_max_pool3d))


def _require_1d_input(op, input):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {op})")


def _one_pool_size(op, name, value):
    """A 1-d pooling's size, an int or a 1-tuple, as a 1-tuple."""
    return _int_sizes(op, name, value, f"{op}() argument '{name}' should contain one int (got {{count}})", dims=1)


def _unit_height_pool_sizes(op, **sizes):
    """A 1-d pooling's sizes (by name, each an int or a 1-tuple; stride None or empty the kernel size) as the 2-d
    pooling's (1, size) pairs, the height's stride and dilation 1 and its padding 0."""
    height = dict(kernel_size=1, stride=1, padding=0, dilation=1)
    pairs = {name: (height[name], *_one_pool_size(op, name, value)) for name, value in sizes.items()
             if name != "stride" or not _omitted_stride(value)}
    pairs.setdefault("stride", pairs["kernel_size"])
    return pairs


def _omitted_stride(stride):
    """A pooling's stride None or empty, which torch's poolings read as the kernel size."""
    return stride is None or stride in ((), [])


def pixel_shuffle(input, upscale_factor):
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r), r = upscale_factor: each group of r * r channels becomes the
    r x r blocks of one channel, as torch's (a sub-pixel convolution's upsampling)."""
    r = _shuffle_factor("pixel_shuffle", "upscale_factor", upscale_factor, input)
    *batch, channels, h, w = input.shape
    if channels % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    n = len(batch)
    blocks = input.reshape(*batch, channels // (r * r), r, r, h, w).permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return blocks.reshape(*batch, channels // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W), r = downscale_factor: pixel_shuffle undone, as torch's."""
    r = _shuffle_factor("pixel_unshuffle", "downscale_factor", downscale_factor, input)
    *batch, channels, h, w = input.shape
    for side, size in (("height", h), ("width", w)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {side} to be divisible by downscale_factor, but "
                               f"input.size({-2 if side == 'height' else -1})={size} is not divisible by {r}")
    n = len(batch)
    blocks = input.reshape(*batch, channels, h // r, r, w // r, r).permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return blocks.reshape(*batch, channels * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, C, *) with C = groups * k: the channels read as a (groups, k) grid and taken by columns, as torch's (a
    ShuffleNet's mixing of grouped convs' channels)."""
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"channel_shuffle(): argument 'groups' (position 2) must be int, not {type(groups).__name__}")
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    batch, channels, *rest = input.shape
    if channels % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {channels} channels and {groups} "
                           "groups.")
    grid = input.reshape(batch, groups, channels // groups, *rest)
    return grid.transpose(1, 2).reshape(input.shape)


def _shuffle_factor(op, name, factor, input):
    """pixel_shuffle's and pixel_unshuffle's factor, checked with their input as torch checks them."""
    if not isinstance(factor, numbers.Integral) or isinstance(factor, bool):
        raise TypeError(f"{op}(): argument '{name}' (position 2) must be int, not {type(factor).__name__}")
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input with {input.ndim} "
                           "dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {name}, but got {factor}")
    return int(factor)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """The rows of weight (num_embeddings, dim) at the integer indices `input`, of any shape -> (*input.shape, dim),
    as torch's; padding_idx's row gets no gradient. max_norm and sparse gradients are not supported."""
    if max_norm is not None or sparse:
        raise NotImplementedError("embedding: max_norm and sparse=True are not supported (minigrad's gradients are "
                                  "dense and it does not renormalise the weight's rows)")
    if input.dtype not in (np.int32, np.int64):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{SCALAR_TYPE_NAMES[input.dtype]}Tensor instead (while checking "
                           "arguments for embedding)")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.numel() and (input.data.min() < 0 or input.data.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    return ops.Embedding.apply(weight, input, padding_idx=embedding_padding_row(padding_idx, weight.shape[0]),
                               scale_grad_by_freq=bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Each bag of weight's rows reduced to one row by `mode` ("sum", "mean" or "max"), as torch's: a 2-d input's
    rows are the bags; a 1-d input is cut into bags at `offsets` (with include_last_offset, its last entry is the
    end of the last bag). padding_idx's entries are left out of their bags; an empty bag gives zeros.
    per_sample_weights (mode "sum" only) scale each row, and get a gradient. max_norm and sparse are not supported."""
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights (torch.Size({list(per_sample_weights.shape)})) is "
                         f"not None, then it must have the same shape as the input (torch.Size({list(input.shape)}))")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if max_norm is not None or sparse:
        raise NotImplementedError("embedding_bag: max_norm and sparse=True are not supported (minigrad's gradients "
                                  "are dense and it does not renormalise the weight's rows)")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    for name, indices in (("indices", input), ("offsets", offsets)):
        if indices is not None and indices.dtype not in (np.int32, np.int64):
            raise RuntimeError(f"Expected tensor for argument #1 '{name}' to have one of the following scalar types: "
                               f"Long, Int; but got torch.{SCALAR_TYPE_NAMES[indices.dtype]}Tensor instead (while "
                               "checking arguments for embedding_bag)")
    if per_sample_weights is not None and per_sample_weights.dtype != weight.dtype:
        raise RuntimeError("Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 "
                           f"'per_sample_weights'; but type torch.{SCALAR_TYPE_NAMES[weight.dtype]}Tensor does not "
                           f"equal torch.{SCALAR_TYPE_NAMES[per_sample_weights.dtype]}Tensor (while checking "
                           "arguments for embedding_bag)")
    if padding_idx is not None and not -weight.shape[0] <= padding_idx < weight.shape[0]:
        raise RuntimeError(f"padding_idx must be within the number of embeddings, -{weight.shape[0]} through "
                           f"{weight.shape[0] - 1}, but got {padding_idx}")
    indices = input.data.reshape(-1)
    bags, num_bags, end = _bags_of(indices, input.shape, None if offsets is None else offsets.data,
                                   include_last_offset)
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        position = int((indices < 0).argmax() if indices.min() < 0 else (indices >= weight.shape[0]).argmax())
        raise RuntimeError(f"Index {position} of input takes value {int(indices[position])} which is not in the valid "
                           f"range [0, {weight.shape[0]})")
    if padding_idx is not None:
        bags[indices == padding_idx % weight.shape[0]] = -1
        end = indices.size  # torch's last bag then runs on to the input's end, include_last_offset or not
    extra = () if per_sample_weights is None else (per_sample_weights.reshape(-1),)
    return ops.EmbeddingBag.apply(weight, Tensor(indices, device=weight.device), Tensor(bags, device=weight.device),
                                  *extra, num_bags=num_bags, mode=mode, end=end,
                                  scale_grad_by_freq=bool(scale_grad_by_freq))


def _bags_of(indices, shape, offsets, include_last_offset):
    """The bag of each of embedding_bag's flattened indices, how many bags there are, and where the last bag ends
    (include_last_offset's last offset), with torch's errors for offsets that do not cut the input."""
    xp = get_array_module(indices)
    positions = xp.arange(indices.size)
    if offsets is None:
        return positions // max(shape[1], 1), shape[0], indices.size
    starts = offsets[:-1] if include_last_offset else offsets
    if len(offsets) and int(offsets[0]) != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {int(offsets[0])}")
    if len(offsets) and int(offsets[-1]) > indices.size:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {indices.size} but got offsets[-1] "
                           f"of {int(offsets[-1])}")
    end = int(offsets[-1]) if include_last_offset and len(offsets) else indices.size
    return xp.searchsorted(starts, positions, side="right") - 1, len(starts), end


def embedding_padding_row(padding_idx, num_embeddings):
    """padding_idx as a row of the weight (a negative one counts from the end), or None, checked as torch's."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def pad(input, pad, mode="constant", value=0.0):
    """torch's pad order: (left, right, top, bottom, ...), last dim first. Modes "constant", "reflect",
    "replicate" and "circular"; the last three pad the last 1 to 3 dims of an input of one or two dims more, as
    torch's. A negative amount crops that side, as in torch: the input is padded by the positive amounts
    (reflected or replicated from the whole input), then cropped; "circular" wraps the cropped input."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant" and value:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    value = 0.0 if value is None else value  # torch's default, which callers pass on
    pad = tuple(pad)
    dims = len(pad) // 2  # an odd length is ops.Pad's error
    if mode != "constant" and len(pad) % 2 == 0 and not (dims in (1, 2, 3) and dims + 1 <= input.ndim <= dims + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode in ("reflect", "replicate") and 0 in input.shape[input.ndim - dims - 1:]:
        raise RuntimeError(f"Expected {dims + 1}D or {dims + 2}D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(input.shape)}")
    positive = tuple(max(amount, 0) for amount in pad)
    if positive == pad:
        return ops.Pad.apply(input, pad=pad, mode=mode, value=value)
    if mode == "circular":
        return ops.Pad.apply(_crop(input, pad, input.shape), pad=positive, mode=mode)
    return _crop(ops.Pad.apply(input, pad=positive, mode=mode, value=value), pad, input.shape)


def _crop(tensor, pad, shape):
    """tensor less the sides of F.pad's negative amounts, checked against the input's `shape`."""
    crop = [slice(None)] * tensor.ndim
    for axis, before, after in zip(range(tensor.ndim - 1, -1, -1), pad[::2], pad[1::2]):
        size = shape[axis]
        if max(-before, -after) > size or size + before + after < 0:
            raise ValueError(f"pad: cropping {pad} is more than dim {axis} of input {tuple(shape)} holds")
        crop[axis] = slice(max(-before, 0), tensor.shape[axis] - max(-after, 0))
    return tensor[tuple(crop)]


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, allowed=_REDUCTIONS, wording="is not a valid value for reduction"):
    """reduction itself, if one of `allowed`; else torch's ValueError (the losses torch writes in Python word it
    "is not valid")."""
    if reduction not in allowed:
        raise ValueError(f"{reduction} {wording}")
    return reduction


def legacy_reduction(size_average, reduce, reduction):
    """The reduction that torch's deprecated size_average and reduce choose where either is given (None counting
    as True), with torch's warning at the caller's line; else `reduction`. The losses, functional and modules, take
    them as torch's do."""
    if size_average is None and reduce is None:
        return reduction
    size_average, reduce = (True if value is None else value for value in (size_average, reduce))
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
                  UserWarning, stacklevel=caller_outside_package()[1])
    return reduction


def _reduce(loss, reduction):
    """torch's reduction= of a loss tensor, checked: "mean" (the default), "sum", or "none" (per element)."""
    return reduced(loss, _check_reduction(reduction))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return _difference_loss(input, target, size_average, reduce, reduction, weight, lambda difference: difference ** 2)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return _difference_loss(input, target, size_average, reduce, reduction, weight, lambda difference: difference.abs())


def _difference_loss(input, target, size_average, reduce, reduction, weight, pointwise):
    """mse_loss and l1_loss: `pointwise` of input - target, reduced. A weight scales each element's loss (see
    _weighted); torch composes that case of plain ops, so autocast casts it as it casts those."""
    _warn_if_target_size_differs(input, target)
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is None:
        return _unweighted_difference_loss(input, target, reduction, pointwise)
    expanded_input, expanded_target = _expanded_to_one_shape(input, target)
    return _weighted(lambda: pointwise(expanded_input - expanded_target), input, weight, reduction,
                     mean_by_weights=True)


@autocasts("float32")
def _unweighted_difference_loss(input, target, reduction, pointwise):
    input, target = _expanded_to_one_shape(input, target)
    return _reduce(pointwise(input - target), reduction)


def _weighted(per_element, input, weight, reduction, mean_by_weights):
    """torch's weight= of mse_loss, l1_loss and huber_loss, a weight per element of the input: the losses
    per_element() gives, times their weights, summed, and divided for "mean" by the weights' sum (mse_loss and
    l1_loss) or by their count (huber_loss), as torch's; its own errors, as torch's weighted path has them (a bad
    reduction only once the loss is computed)."""
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    loss = per_element() * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weights else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def _expanded_to_one_shape(input, target):
    """torch's broadcast_tensors ahead of the losses of input - target: a 0-d operand beside one of dims is
    expanded, and so promotes as a tensor of dims (a 0-d float64 target makes a float32 input's loss float64)."""
    return (input, target) if input.shape == target.shape else broadcast_tensors(input, target)


def _warn_if_target_size_differs(input, target, stacklevel=4):
    """torch's warning: a target that broadcasts against the input (a (B,) target for a (B, 1) output) gives a
    loss over every pair of elements, which is rarely what was meant. `stacklevel` points it at the loss's caller,
    past the loss's own frames."""
    input_size, target_size = tuple(getattr(input, "shape", ())), tuple(getattr(target, "shape", ()))
    if input_size != target_size:
        warnings.warn(f"Using a target size ({_size(target_size)}) that is different to the input size "
                      f"({_size(input_size)}). This will likely lead to incorrect results due to broadcasting. Please "
                      "ensure they have the same size.", stacklevel=stacklevel)


def _size(shape):
    """A shape as torch's messages print it: torch.Size([2, 1])."""
    return f"torch.Size({list(shape)})"


@autocasts({"cuda": "unsafe", "cpu": "float32"})
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """torch's: -weight * (target * log(input) + (1 - target) * log(1 - input)) of probabilities in [0, 1], each
    log clamped at -100, as one op. weight broadcasts against the input; target has the input's shape and dtype."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({_size(target.shape)}) that is different to the input size "
                         f"({_size(input.shape)}) is deprecated. Please ensure they have the same size.")
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {SCALAR_TYPE_NAMES.get(target.dtype, target.dtype)} but expected "
                           f"{SCALAR_TYPE_NAMES.get(input.dtype, input.dtype)}")
    for role, tensor in (("input", input), ("target", target)):
        if not bool(((tensor.data >= 0) & (tensor.data <= 1)).all()):
            raise RuntimeError(f"all elements of {role} should be between 0 and 1")
    if weight is not None:  # torch's error where they do not broadcast
        common_shape((tuple(input.shape), tuple(weight.shape)), shown=_size)
    return ops.BinaryCrossEntropy.apply(input, target, reduction=reduction,
                                        weight=_constant_weight("binary_cross_entropy", "weight", weight, input))


@autocasts("float32")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """torch's binary cross entropy of sigmoid(input), computed from the logits as one op that stays finite for any
    of them. pos_weight weighs the positive term of each class (it broadcasts along the last dim), weight each
    element's loss."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if target.shape != input.shape:
        raise ValueError(f"Target size ({_size(target.shape)}) must be the same as input size ({_size(input.shape)})")
    if target.dtype.kind != "f" and input.dtype.kind == "f":
        raise RuntimeError(f"result type {SCALAR_TYPE_NAMES[input.dtype]} can't be cast to the desired output type "
                           f"{SCALAR_TYPE_NAMES.get(target.dtype, target.dtype)}")
    op = "binary_cross_entropy_with_logits"
    if pos_weight is not None:
        require_broadcastable(tuple(pos_weight.shape), tuple(target.shape))
    loss = ops.BinaryCrossEntropyWithLogits.apply(input, target, reduction=reduction,
                                                  weight=_constant_weight(op, "weight", weight, input),
                                                  pos_weight=_constant_weight(op, "pos_weight", pos_weight, input))
    return loss.to(target.dtype)  # torch's loss is (1 - target) times the input in place: of the target's dtype


def _constant_weight(op, name, weight, input):
    """A loss's weight (or a target it takes no gradient for) as an array of the input's dtype, or None; it must
    broadcast against the input without growing it, and not require a gradient, as torch's losses take no gradient
    for their weights."""
    if weight is None:
        return None
    _refuse_gradient(op, name, weight)
    require_broadcastable(tuple(input.shape), tuple(weight.shape))
    if weight.ndim > input.ndim or any(w != 1 and w != n for w, n in zip(weight.shape[::-1], input.shape[::-1])):
        raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the broadcast shape "
                           f"{list(np.broadcast_shapes(input.shape, weight.shape))}")
    return weight.data.astype(input.dtype, copy=False)


def _refuse_gradient(op, name, tensor):
    """torch's error for an argument that an op takes no gradient for, given one that requires it."""
    if tensor.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{op}' is not differentiable with respect to argument '{name}'. This input "
                           "cannot have requires_grad True.")


@autocasts("float32")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """torch's: 0.5 * d^2 / beta where |d| < beta, else |d| - 0.5 * beta, d = input - target (beta 0: the L1 loss),
    as one op."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _smooth_l1(input, target, reduction, beta=float(beta), scale=1.0, legacy=(size_average, reduce))


@autocasts("float32")
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """torch's: 0.5 * d^2 where |d| < delta, else delta * (|d| - 0.5 * delta), d = input - target, as one op
    (smooth_l1_loss with beta = delta, times delta)."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is None:
        return _smooth_l1(input, target, reduction, beta=float(delta), scale=float(delta),
                          node_name="HuberLossBackward0")
    _warn_if_target_size_differs(input, target)  # before the weight's check, as torch's
    expanded_input, expanded_target = _expanded_to_one_shape(input, target)
    return _weighted(lambda: ops.SmoothL1Loss.apply(expanded_input, expanded_target, reduction="none",
                                                    beta=float(delta), scale=float(delta),
                                                    node_name="HuberLossBackward0"),
                     input, weight, reduction, mean_by_weights=False)


def _smooth_l1(input, target, reduction, beta, scale, node_name=None, legacy=(None, None)):
    """`legacy`: smooth_l1_loss's size_average and reduce, read after the target's size is checked, as torch's."""
    _warn_if_target_size_differs(input, target, stacklevel=5)
    reduction = _check_reduction(legacy_reduction(*legacy, reduction))
    input, target = _expanded_to_one_shape(input, target)
    return ops.SmoothL1Loss.apply(input, target, reduction=reduction, beta=beta, scale=scale, node_name=node_name)


KL_DIV_REDUCTIONS = ("batchmean", *_REDUCTIONS)


@autocasts("float32")
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """torch's KL divergence of log-probabilities `input` from probabilities `target` (log-probabilities with
    log_target): target * (log(target) - input) per element, as one op. "batchmean" divides the sum by the batch
    size (dim 0), the divergence's definition; "mean" divides by every element, with torch's warning (not where
    size_average or reduce chose it, as torch's)."""
    warn_of_mean = size_average is None and reduce is None
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction), KL_DIV_REDUCTIONS)
    if reduction == "mean" and warn_of_mean:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=3)  # past autocasts' frame
    for kinds, words in (("c", "Complex"), ("biu", "Integral")):
        if input.dtype.kind in kinds or target.dtype.kind in kinds:
            raise RuntimeError(f"kl_div: {words} inputs not supported.")
    require_broadcastable(tuple(target.shape), tuple(input.shape))  # torch's message names the target first
    loss = ops.KLDivergence.apply(input, target, reduction="sum" if reduction == "batchmean" else reduction,
                                  log_target=bool(log_target))
    return loss / input.shape[0] if reduction == "batchmean" and input.ndim else loss


@autocasts({"cuda": "float32"})
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """torch's: sum(x1 * x2) / (max(|x1|, eps) * max(|x2|, eps)) along `dim` of x1 and x2 broadcast together, as
    one op."""
    dtype = result_type(x1, x2)
    if dtype.kind != "f":
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           f"{SCALAR_TYPE_NAMES.get(dtype, dtype)}")
    require_broadcastable(tuple(x1.shape), tuple(x2.shape))
    ndim = len(np.broadcast_shapes(x1.shape, x2.shape))
    return ops.CosineSimilarity.apply(x1, x2, dim=normalize_dim(dim, ndim), eps=float(eps))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """torch's: the p-norm of x1 - x2 + eps along the last dim of the two broadcast together (eps keeps the norm's
    gradient finite where they are equal)."""
    return (x1 - x2 + eps).norm(p, dim=max(x1.ndim, x2.ndim) - 1, keepdim=keepdim)


@autocasts({"cpu": "float32"})
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """torch's connectionist temporal classification loss (see ops.CTCLoss) of (T, N, C) log-probabilities, or
    unbatched (T, C), against targets padded to (N, S) or concatenated (their lengths' sum); the lengths are
    tensors or sequences of ints. "mean" divides each sample's loss by its target's length before the mean over
    the batch, as torch's."""
    _check_reduction(reduction)
    unbatched = log_probs.ndim != 3  # as torch: any other is read as unbatched (T, C), then refused if not 2-d
    if unbatched:  # the targets stay as given, torch's: (S,) concatenated (of the one length), or (1, S) padded
        log_probs = log_probs.unsqueeze(1)
    input_lengths, target_lengths = (_host_integers(lengths).reshape(-1)
                                     for lengths in (input_lengths, target_lengths))
    if log_probs.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {log_probs.ndim}-dimensional tensor for argument "
                           "#1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)")
    steps, batch, classes = log_probs.shape
    for name, lengths in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if len(lengths) != batch:
            raise RuntimeError(f"{name} must be of size batch_size")
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    padded = _padded_targets(_host_integers(targets), target_lengths)
    if input_lengths.size and input_lengths.max() > steps:
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value "
                           f"{input_lengths.max()} (while checking arguments for ctc_loss_allocate_outputs)")
    device = log_probs.device
    loss = ops.CTCLoss.apply(log_probs, *(Tensor(array, device=device) for array in (padded, input_lengths,
                                                                                      target_lengths)),
                             blank=blank, zero_infinity=bool(zero_infinity))
    if reduction == "mean":
        return (loss / Tensor(np.maximum(target_lengths, 1).astype(loss.dtype), device=device)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss


def _host_integers(values):
    """A tensor (on either device) or a sequence of ints as a host int64 array."""
    return np.asarray(values.cpu().numpy() if isinstance(values, Tensor) else values, dtype=np.int64)


def _padded_targets(targets, lengths):
    """ctc_loss's targets as (N, S) rows, from padded rows or their concatenation, with torch's errors for too few."""
    longest = int(lengths.max(initial=0))
    if targets.ndim == 2:
        if targets.shape[0] != len(lengths):
            raise RuntimeError(f"Expected tensor to have size {len(lengths)} at dimension 0, but got size "
                               f"{targets.shape[0]} for argument #2 'targets' (while checking arguments for "
                               "ctc_loss_allocate_outputs)")
        if targets.shape[1] < longest:
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, but got size "
                               f"{targets.shape[1]} for argument #2 'targets' (while checking arguments for "
                               "ctc_loss_allocate_outputs)")
        return targets[:, :longest]
    if targets.shape[0] != lengths.sum():
        raise RuntimeError(f"Expected tensor to have size {lengths.sum()} at dimension 0, but got size "
                           f"{targets.shape[0]} for argument #2 'targets' (while checking arguments for "
                           "ctc_loss_allocate_outputs)")
    padded = np.zeros((len(lengths), longest), np.int64)
    padded[np.arange(longest) < lengths[:, None]] = targets  # the rows' places, in order, are the concatenation's
    return padded


@autocasts({"cuda": "float32"})
def pdist(input, p=2.0):
    """torch's: the p-norm distances between the rows of an (N, M) input, each pair i < j once, in row-major order
    (cdist's upper triangle), differentiable (0 between equal rows, as torch's)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input.dtype.kind != "f":
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    first, second = triu_indices(len(input), len(input), 1, device=input.device)
    return (input[first] - input[second]).norm(p, dim=1)


@autocasts("float32")
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """torch's: 1 - cos where target is 1, max(0, cos - margin) where it is -1 (0 elsewhere), cos the cosine of each
    row of (N, D) inputs against the N targets (of (D,) inputs with a 0-d target), each squared norm eased by 1e-12
    as torch's: its C float's 1e-12, which sets the gradient of a zero input in float64 too. Composed: it scores a
    batch of embeddings, one number each."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise RuntimeError(f"{target.ndim}D target tensor expects {target.ndim + 1}D input tensors, but found inputs "
                           f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    dim = target.ndim
    ease = float(np.float32(1e-12))
    squared_norms = ((input1 * input1).sum(dim) + ease) * ((input2 * input2).sum(dim) + ease)
    cosine = (input1 * input2).sum(dim) / squared_norms.sqrt()
    losses = where(target == 1, 1 - cosine, 0) + where(target == -1, (cosine - margin).clamp_min(0), 0)
    return _reduce(losses, reduction)


@autocasts("float32")
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """torch's: max(0, -target * (input1 - input2) + margin) of the three broadcast together, how far input1 falls
    short of ranking above input2 (target 1) or below it (target -1) by the margin."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {_size(input1.shape)}, input2: {_size(input2.shape)}, "
                           f"target: {_size(target.shape)} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


@autocasts("float32")
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """torch's: the input where the target is 1, max(0, margin - input) where it is -1 (both terms where it is
    neither), the target broadcast against the input and taking no gradient."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    hinge = where(target != 1, (margin - input).clamp_min(0), 0)
    return _reduce(hinge + where(target != -1, input, 0), reduction)


@autocasts("float32")
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """torch's logistic loss log(1 + exp(-target * input)) of targets 1 and -1, as -logsigmoid(target * input),
    which stays finite where torch's exp overflows. The target broadcasts into the input's shape and dtype and takes
    no gradient."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    target = Tensor(_constant_weight("soft_margin_loss", "target", target, input))
    return _reduce(-logsigmoid(input * target), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """torch's: the binary cross entropy of sigmoid(input) against each of the target's labels (0 or 1), times the
    weight, averaged over the classes (the last dim): one loss per sample."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=-1) / input.size(-1)
    return reduced(loss, _check_reduction(reduction, wording="is not valid"))


@autocasts("float32")
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """torch's: max(0, margin + d(anchor, positive) - d(anchor, negative)), d the pairwise p-norm distance along
    the last dim; with swap, the negative's distance is the smaller of its distances to the anchor and to the
    positive."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    return _triplet_margin(anchor, positive, negative, lambda x1, x2: pairwise_distance(x1, x2, p, eps), margin,
                           swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """triplet_margin_loss with any distance (a function of two tensors; pairwise_distance where None), as torch's."""
    _check_reduction(reduction)
    return _triplet_margin(anchor, positive, negative, pairwise_distance if distance_function is None
                           else distance_function, margin, swap, reduction)


def _triplet_margin(anchor, positive, negative, distance, margin, swap, reduction):
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    to_positive, to_negative = distance(anchor, positive), distance(anchor, negative)
    if swap:
        to_negative = to_negative.minimum(distance(positive, negative))
    return _reduce((margin + to_positive - to_negative).clamp_min(0), reduction)


@autocasts("float32")
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """torch's negative log-likelihood of a Poisson target whose rate is exp(input) (log_input) or the input itself
    (its log eased by eps), dropping the target's own term log(target!) unless full, which adds its Stirling
    approximation where the target is above 1, as torch."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + where(target > 1, stirling, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """torch's: 0.5 * (log(var) + (input - target)^2 / var), plus 0.5 * log(2 pi) where full. var is a float, or a
    tensor of the input's shape, of its shape less the last dim, or of its shape with one dim of size 1. var is
    clamped at eps as torch clamps it, in place outside autograd: its gradient is that at the clamped value, passed
    on where it is clamped too."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.new_full(input.shape, var)
    elif not isinstance(var, Tensor):
        raise TypeError(f"any() received an invalid combination of arguments - got ({type(var < 0).__name__})")
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif input.ndim != var.ndim or sum(v for n, v in zip(input.shape, var.shape) if n != v) != 1:
            raise ValueError("var is of incorrect size")
    _check_reduction(reduction, wording="is not valid")
    var = var.clone()
    with no_grad():
        var.copy_(var.clamp_min(eps))
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduced(loss, reduction)


@autocasts("float32")
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
    """torch's multi-class hinge loss: the sum over the classes i other than the target y of
    max(0, margin - input[y] + input[i]) ** p, times weight[y], over the number of classes; of an (N, C) input with
    N targets, or of one sample's (C,) input with a (1,) or 0-d target."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    check_multi_margin_power(p)
    if weight is not None:
        if weight.ndim != 1:
            raise ValueError("weight must be one-dimensional")
        _refuse_gradient("multi_margin_loss", "weight", weight)
    samples, classes = _margin_loss_samples(input)
    if target.ndim > 1 or target.numel() != samples:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{samples}], but got {list(target.shape)}. "
                           f"Input has shape {list(input.shape)}.")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(weight.shape)}")
    _check_margin_loss_dtypes("multi_margin_loss_cpu_kernel", input, target, weight)
    if bool(((target.data < 0) | (target.data >= classes)).any()):
        raise RuntimeError("target out of range")
    rows, column = input.reshape(samples, classes), target.reshape(samples, 1)
    margins = margin - rows.gather(1, column) + rows
    margins = where(margins > 0, margins, 0.0)  # a NaN margin is no term, as in torch's sum of the positive ones
    if p == 2:
        margins = margins * margins
    xp = get_array_module(column.data)
    losses = where(Tensor(xp.arange(classes) != column.data), margins, 0).sum(1) / classes
    if weight is not None:
        losses = losses * Tensor(weight.data[column.data[:, 0]])
    return _reduce(losses.reshape(target.shape), reduction)


def check_multi_margin_power(p):
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")


@autocasts("float32")
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """torch's multi-label hinge loss: the sum over a sample's labels j (the target's leading classes, up to the first
    -1) and the classes i that are not among them of max(0, 1 - input[j] + input[i]), over the number of classes; of
    an (N, C) input with (N, C) targets, or of one sample's (C,) input with (C,) targets."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    samples, classes = _margin_loss_samples(input)
    if (target.ndim > 1 or target.numel() != classes) if input.ndim < 2 else target.shape != input.shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}")
    _check_margin_loss_dtypes("multilabel_margin_loss_forward_out_frame", input, target)
    labels = target.data.reshape(samples, classes)
    if bool(((labels < -1) | (labels >= classes)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    xp = get_array_module(labels)
    listed = xp.cumprod(labels >= 0, axis=1).astype(bool)
    sample_index, position = xp.nonzero(listed)
    is_label = xp.zeros((samples, classes), dtype=bool)
    is_label[sample_index, labels[sample_index, position]] = True
    rows = input.reshape(samples, classes)
    label_inputs = rows.gather(1, Tensor(xp.where(listed, labels, 0)))
    margins = (1 - label_inputs.unsqueeze(2) + rows.unsqueeze(1)).relu()  # (sample, label, class)
    counted = Tensor(listed[:, :, None] & ~is_label[:, None, :])
    losses = where(counted, margins, 0).sum((1, 2)) / classes
    return _reduce(losses.reshape(input.shape[:-1]), reduction)


def _margin_loss_samples(input):
    """The (samples, classes) of a margin loss's (N, C) input, or of one sample's (C,) or 0-d one, which torch
    checks are not empty."""
    if not (input.ndim == 2 and input.shape[1] or input.ndim == 1 and input.shape[0] or input.ndim == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    return input.shape if input.ndim == 2 else (1, input.shape[0] if input.ndim else 1)


def _check_margin_loss_dtypes(kernel, input, target, weight=None):
    """torch's errors for a margin loss of an integer input, a target of classes that is not int64, or a weight of
    another dtype than the input's."""
    require_floating_point(kernel, input)
    for tensor, dtype in ((target, np.dtype(np.int64)), (weight, input.dtype)):
        if tensor is not None and tensor.dtype != dtype:
            raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES[dtype]} but found "
                               f"{SCALAR_TYPE_NAMES.get(tensor.dtype, tensor.dtype)}")


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """torch's: input divided by its p-norm along `dim`, the norm clamped at eps so that zero vectors stay 0; into
    `out` as torch's div writes it, outside autograd."""
    result = input / input.norm(p, dim, keepdim=True).clamp_min(eps)
    return result if out is None else written_out(out, result, "div")


def one_hot(tensor, num_classes=-1):
    """torch's: an int64 tensor of the index tensor's shape and one more dim of num_classes (the largest class plus
    one where -1), 1 at each index's class and 0 elsewhere."""
    if tensor.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    classes = tensor.data
    xp = get_array_module(classes)
    if num_classes == -1:
        if classes.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(classes.max()) + 1
    if classes.size:
        if int(classes.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(classes.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor((classes[..., None] == xp.arange(num_classes)).astype(np.int64))


@autocasts("float32")
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """torch's negative log-likelihood of class targets: -weight[t] * input[n, t] for each target t = target[n] of
    an (N, C) input of log-probabilities, and as much for (N, C, d1, ...) inputs with (N, d1, ...) targets, or a (C,)
    input with a 0-d target. Targets equal to ignore_index count for nothing; "mean" divides by the sum of the
    weights of the targets it counts (NaN when there are none, as torch)."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    target, weights, kept = _class_targets(input, target, weight, ignore_index)
    return _weighted_reduce(ops.NLLLoss.apply(input, target=target, weights=weights, kept=kept), weights, reduction)


@autocasts("float32")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """torch's cross_entropy: nll_loss of log_softmax(input) over the class dim (dim 1, or dim 0 of a (C,) input).
    A float target of the input's shape holds class probabilities instead of class indices. label_smoothing = e
    mixes each target with the uniform distribution as torch does: (1 - e) times the loss of the target, plus e / C
    times that of every class (weighted by the class weights, and reduced as the target's loss is)."""
    reduction = _check_reduction(legacy_reduction(size_average, reduce, reduction))
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    smoothing = max(float(label_smoothing), 0.0)  # torch ignores a negative one
    if target.shape == input.shape:
        return _cross_entropy_of_probabilities(input, target, weight, ignore_index, reduction, smoothing)
    class_dim = _class_dim(input)
    log_probs = log_softmax(input, class_dim)
    target, weights, kept = _class_targets(log_probs, target, weight, ignore_index)
    losses = ops.NLLLoss.apply(log_probs, target=target, weights=weights, kept=kept)
    if smoothing:
        # 0 where ignored, whatever the logits or the gradient there hold, as torch skips those targets
        every_class = where(Tensor(kept), -_class_weighted(log_probs, weight).sum(dim=class_dim), 0.0)
        losses = losses * (1 - smoothing) + every_class * (smoothing / input.shape[class_dim])
    return _weighted_reduce(losses, weights, reduction)


def _cross_entropy_of_probabilities(input, target, weight, ignore_index, reduction, smoothing):
    """cross_entropy's -sum over classes of weight[c] * target[n, c] * log_probs[n, c]; "mean" divides by the number
    of samples (N, or N * d1 * ...), whatever the weights, as torch."""
    if target.dtype.kind != "f":
        raise RuntimeError("Expected floating point type for target with class probabilities, got "
                           f"{SCALAR_TYPE_NAMES.get(target.dtype, target.dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim = _class_dim(input)
    classes = input.size(class_dim)  # torch's error for a 0-d input
    _check_class_weight(weight, classes, "cross_entropy: ")
    if smoothing:
        target = target * (1 - smoothing) + smoothing / classes
    return _reduce(-_class_weighted(log_softmax(input, class_dim) * target, weight).sum(dim=class_dim), reduction)


def _class_dim(input):
    """Where the classes lie: dim 1 of (N, C, d1, ...), dim 0 of one sample's (C,)."""
    return 0 if input.ndim == 1 else 1


def _class_weighted(values, weight):
    """values (N, C, d1, ...) or (C,) times weight (C,) along the class dim; values themselves without a weight."""
    if weight is None:
        return values
    return values * (weight if values.ndim == 1 else weight.reshape((-1,) + (1,) * (values.ndim - 2)))


def _check_class_weight(weight, classes, prefix="", spatial=False):
    """torch's error for a weight not of one entry per class; nll_loss2d's, the kernel of spatial inputs
    (N, C, d1, ...), words it without the sizes."""
    if weight is not None and tuple(weight.shape) != (classes,):
        if spatial:
            raise RuntimeError("weight tensor should be defined either for all or no classes")
        raise RuntimeError(f"{prefix}weight tensor should be defined either for all {classes} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")


def _class_targets(input, target, weight, ignore_index):
    """nll_loss's class targets, checked as torch checks them: (the target's array, with 0 in place of ignored
    targets, so that every entry indexes a class; the weight of each target's class, 0 where ignored; whether each
    target counts). torch's order: the batch sizes (and the target's size, but for a 4-d input), then the weight's
    gradient refused, by the name of the kernel (nll_loss2d's for spatial inputs (N, C, d1, ...)), then the
    kernel's checks."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim > 1 and (target.shape[0] if target.ndim else 0) != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.ndim else 0}).")
    spatial = input.ndim > 2
    if spatial and input.ndim != 4 and target.shape[1:] != input.shape[2:]:
        raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got {list(target.shape)}")
    if weight is not None:
        _refuse_gradient("nll_loss2d_forward" if spatial else "nll_loss_forward", "weight", weight)
    if not spatial and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if spatial and target.ndim != input.ndim - 1:  # a 4-d input's, the others' reshaped to 4-d
        raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                           f"{target.ndim}")
    if target.dtype not in (np.int64, np.uint8):
        raise RuntimeError("expected target dtype to be Long or Byte, but got "
                           f"{SCALAR_TYPE_NAMES.get(target.dtype, target.dtype)}")
    if input.ndim == 1 and target.ndim == 1:
        if target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        target = target.reshape(())
    classes = input.shape[_class_dim(input)]
    _check_class_weight(weight, classes, spatial=spatial)
    if target.shape[1:] != input.shape[2:]:
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES[input.dtype]} but found "
                           f"{SCALAR_TYPE_NAMES.get(weight.dtype, weight.dtype)}")
    xp, target = get_array_module(input.data), target.data
    kept = target != ignore_index
    out_of_range = kept & ((target < 0) | (target >= classes))
    if out_of_range.any():
        raise IndexError(f"Target {int(target[out_of_range][0])} is out of bounds.")
    target = xp.where(kept, target, 0)
    weights = kept if weight is None else xp.where(kept, weight.data[target], 0)
    return target, weights.astype(input.dtype), kept


def _weighted_reduce(losses, weights, reduction):
    """nll_loss's reductions: "mean" divides the sum by the total weight of the targets counted, as torch; where
    that is 0, the mean is NaN, as torch's 0 / 0, but with no NumPy warning and zero gradients."""
    if reduction != "mean":
        return _reduce(losses, reduction)
    total = float(weights.sum())
    return losses.sum() / total if total else losses.sum() + float("nan")


def dropout(input, p=0.5, training=True, inplace=False):
    """torch's: in training, each element zeroed with probability p and the others scaled by 1 / (1 - p) (all zeroed
    for p = 1), the mask drawn from minigrad's seeded generator (mg.manual_seed); otherwise the input itself."""
    _check_dropout_probability(p)
    return _dropout(input, p, training, inplace, input.shape)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """torch's channel dropout of 1-d maps: whole channels of an (N, C, L) or unbatched (C, L) input zeroed
    together."""
    _check_dropout_probability(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(input, p, training, inplace, channel_dims=input.ndim - 1)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """torch's channel dropout: whole channels (N, C, ...) zeroed together. As torch, a 3-d input is read as
    (N, C, L), with its warning, and other than 3-d or 4-d inputs are deprecated."""
    _check_dropout_probability(p)
    _warn_of_deprecated_dims(input, spatial_dims=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    _refuse_featureless(input, p, training, least_dims=2)
    return _channel_dropout(input, p, training, inplace, channel_dims=2)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """torch's channel dropout of 3-d maps: whole channels of an (N, C, D, H, W) input zeroed together. As torch,
    any other input is read as unbatched, its first dim the channels, and other than 4-d inputs are deprecated."""
    _check_dropout_probability(p)
    _warn_of_deprecated_dims(input, spatial_dims=3)
    _refuse_featureless(input, p, training, least_dims=1)
    return _channel_dropout(input, p, training, inplace, channel_dims=2 if input.ndim == 5 else 1)


def _refuse_featureless(input, p, training, least_dims):
    """torch's error for a channel dropout of an input of fewer than least_dims dims, checked after its early return
    of the input where nothing is dropped."""
    if input.ndim < least_dims and training and p > 0:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")


def _warn_of_deprecated_dims(input, spatial_dims):
    """torch's warning of dropout2d and dropout3d (spatial_dims 2, 3) for an input of other than spatial_dims + 1
    or + 2 dims, given where they are called."""
    if input.ndim not in (spatial_dims + 1, spatial_dims + 2):
        op = f"dropout{spatial_dims}d"
        warnings.warn(f"{op}: Received a {input.ndim}-D input to {op}, which is deprecated and will result in an "
                      "error in a future release. To retain the behavior and silence this warning, please use dropout "
                      f"instead. Note that {op} exists to provide channel-wise dropout on inputs with {spatial_dims} "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{spatial_dims + 1}D or {spatial_dims + 2}D inputs).", stacklevel=3)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """torch's dropout for SELU networks: in training, each element set with probability p to SELU's negative
    saturation -scale * alpha, then all scaled and shifted (a * x + b) so that an input of mean 0 and variance 1
    keeps them; the mask from mg.manual_seed's generator. Otherwise the input itself."""
    _check_dropout_probability(p)
    return _alpha_dropout(input, p, training, inplace, lambda: input.shape)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole channels: one draw for each (N, C) of an (N, C, ...) input."""
    _check_dropout_probability(p)

    def mask_shape():
        if input.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        return input.shape[:2] + (1,) * (input.ndim - 2)

    return _alpha_dropout(input, p, training, inplace, mask_shape)


_SELU_SATURATION = _SELU_ALPHA * _SELU_SCALE


def _alpha_dropout(input, p, training, inplace, mask_shape):
    """input * a + b, a = 1 / sqrt((saturation^2 * p + 1) * (1 - p)) where kept (else 0), and b = a * saturation *
    (p - 1 where dropped, else p), as torch's; all zero for p = 1. mask_shape() gives the shape of the draw (and
    checks the input), asked for only where a mask is drawn, as torch checks."""
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return _masked(input, np.zeros((), dtype=input.dtype), inplace)
    kept = _kept(mask_shape(), p).astype(input.dtype)
    a = input.dtype.type(1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p)))
    shift = (kept - 1 + input.dtype.type(p)) * (a * input.dtype.type(_SELU_SATURATION))
    return _masked(input, kept * a, inplace, shift)


def _channel_dropout(input, p, training, inplace, channel_dims):
    """_dropout with one draw for each channel, the input's first channel_dims dims (the batch's with the
    channel's), over all its positions."""
    return _dropout(input, p, training, inplace, input.shape[:channel_dims] + (1,) * (input.ndim - channel_dims))


def _check_dropout_probability(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input, p, training, inplace, mask_shape):
    """input times a mask of mask_shape (broadcast over the rest): 1 / (1 - p) where a uniform draw is >= p, else 0.
    inplace writes into the input, as torch's (unlike the activations' flags)."""
    if not training or p == 0 or input.numel() == 0:
        return input
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return _masked(input, _kept(mask_shape, p).astype(input.dtype) * input.dtype.type(scale), inplace)


def _kept(mask_shape, p):
    """Where a dropout keeps its input: a uniform draw >= p, made on the host, so that a seed gives the same mask on
    either device."""
    return random.generator().random(mask_shape) >= p


def _masked(input, mask, inplace, shift=None):
    """input times the host array mask, plus the host array shift where given (both broadcast), written into the
    input with inplace."""
    out = input.mul_(Tensor(mask, device=input.device)) if inplace else input * Tensor(mask, device=input.device)
    if shift is None:
        return out
    return out.add_(Tensor(shift, device=input.device)) if inplace else out + Tensor(shift, device=input.device)


def charbonnier_loss(input, target, eps=1e-3, reduction="mean"):
    """sqrt((input - target)^2 + eps^2), reduced as torch's losses are (mean by default), fused into one op."""
    return ops.CharbonnierLoss.apply(input, target, eps=float(eps), reduction=_check_reduction(reduction))


def sigmoid_gate(x, logits, weights):
    """x * sigmoid(logits) * weights, weights (N, C, 1, 1): the SCA block's gate, fused into one op."""
    return ops.SigmoidGate.apply(x, logits, weights)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """torch's batch_norm over the channel dim 1 of an (N, C, ...) input. In training it normalises by the batch's
    statistics and moves the running ones (when given) towards them in place, the variance unbiased as torch's;
    otherwise it normalises by the running statistics."""
    if training and math.prod(input.shape[:1] + input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {tuple(input.shape)}")
    return _normalize_channels("batch_norm", input, running_mean, running_var, weight, bias, training, momentum, eps,
                               axes=(0, *range(2, input.ndim)))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """torch's instance_norm: each channel of each sample of an (N, C, ...) input normalised over its positions.
    With use_input_stats, running statistics (when given) move towards the mean over the batch of the samples'
    statistics, as torch's; otherwise they are what it normalises by."""
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {tuple(input.shape)}")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    return _normalize_channels("instance_norm", input, running_mean, running_var, weight, bias, use_input_stats,
                               momentum, eps, axes=tuple(range(2, input.ndim)))


def _normalize_channels(op, input, running_mean, running_var, weight, bias, input_statistics, momentum, eps, axes):
    """Batch and instance norm: the channels (dim 1) normalised over `axes`, which hold the batch dim 0 or not, by
    the input's statistics (which move the running ones in place, when given) or by the running ones. torch runs
    instance norm as a batch norm of N * C channels, so its size errors count the channels of all the samples."""
    if momentum is None:  # the modules' cumulative average, which they reckon into a number before this call
        raise TypeError(f"{op}(): argument 'momentum' (position 7) must be float, not NoneType")
    channels = input.shape[1] if input.ndim > 1 else 1
    copies = 1 if 0 in axes else input.shape[0]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                         ("bias", bias)):
        if tensor is None and name.startswith("running") and not input_statistics:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
        if tensor is not None and tensor.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels * copies} elements not {tensor.numel() * copies}")
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var)):
        if tensor is not None:
            _refuse_gradient("native_batch_norm", name, tensor)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    require_floating_point("batch_norm", input)  # instance norm's too: torch runs it as a batch norm
    _require_parameters_dtype(op, input, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    broadcast = (channels,) + (1,) * (input.ndim - 2)
    if not input_statistics:
        return _normalize(input, weight, bias, broadcast, axes, eps, mean=running_mean.data.reshape(broadcast),
                          var=running_var.data.reshape(broadcast), constant_statistics=True)
    if running_mean is None or input.numel() == 0:
        # no running statistics to move (torch leaves them as they are for an empty input): Normalize computes
        # the input's own
        return _normalize(input, weight, bias, broadcast, axes, eps)
    mean, var = empty_statistics(input.data, axes)
    out = _normalize(input, weight, bias, broadcast, axes, eps, mean=mean, var=var)
    count = math.prod(input.shape[axis] for axis in axes)
    for stat, input_stat in ((running_mean, mean), (running_var, var * (count / (count - 1)))):
        # each sample's running statistics moved, then averaged over the samples: the order of torch's sums
        moved = (1 - momentum) * stat.data.reshape(1, channels) + momentum * input_stat.reshape(copies, channels)
        stat.data[...] = moved.mean(axis=0).reshape(stat.shape)
    return out


@autocasts({"cuda": "float32"})
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch's layer_norm: each input normalised over its last dims, normalized_shape, which weight and bias have."""
    normalized_shape = _normalized_shape("layer_norm", input, normalized_shape, "[*, ", weight=weight, bias=bias)
    require_floating_point("LayerNormKernelImpl", input)
    _require_parameters_dtype("layer_norm", input, weight=weight, bias=bias)
    return _normalize(input, weight, bias, normalized_shape, _last_dims(input, normalized_shape), eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """torch's: input / sqrt(mean(input^2) + eps) over its last dims, normalized_shape, times weight (of that shape)
    where given; eps None is the machine epsilon of the input's dtype, as torch's."""
    normalized_shape = _normalized_shape("rms_norm", input, normalized_shape, "[*", weight=weight)
    require_floating_point("rms_norm", input)
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    out = input * ((input * input).mean(dim=_last_dims(input, normalized_shape), keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def _normalized_shape(op, input, normalized_shape, opening, **affine):
    """layer_norm's and rms_norm's normalized_shape as a tuple, checked against the input and the affine tensors
    as torch's `op` checks them; `opening` starts its pattern of the input's shape, which they word apart."""
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                        f"{type(normalized_shape).__name__}")
    normalized_shape = tuple(normalized_shape)
    count = len(normalized_shape)
    if count > input.ndim or input.shape[input.ndim - count:] != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"{opening}{', '.join(map(str, normalized_shape))}], but got input of "
                           f"size{list(input.shape)}")
    for name, tensor in affine.items():
        if tensor is not None and tensor.shape != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(tensor.shape)} and normalized_shape = {list(normalized_shape)}")
    return normalized_shape


def _last_dims(input, shape):
    """The dims of input that its last len(shape) sizes fill."""
    return tuple(range(input.ndim - len(shape), input.ndim))


@autocasts({"cuda": "float32"})
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """torch's group_norm: the channels of an (N, C, ...) input in num_groups groups, each group of each sample
    normalised over its channels and positions; weight and bias are per channel."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    channels = input.shape[1]
    sizes = [input.shape[0] * channels // num_groups, num_groups, *input.shape[2:]]  # torch's count, checked first
    if sizes[0] * math.prod(sizes[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {sizes}")
    if channels % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and (tensor.ndim != 1 or tensor.numel() != channels):
            # torch's bias message shows the weight's shape (that of an absent weight is [0])
            shown = tensor.shape if name == "weight" else (0,) if weight is None else weight.shape
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, but "
                               f"got {name} of shape {list(shown)} and input of shape {list(input.shape)}")
    require_floating_point("GroupNormKernelImpl", input)
    _require_parameters_dtype("group_norm", input, weight=weight, bias=bias)
    positions = math.prod(input.shape[2:])
    grouped = input.reshape(input.shape[0], num_groups, channels // num_groups, positions)  # (N, G, C/G, positions)
    out = _normalize(grouped, weight, bias, (num_groups, channels // num_groups, 1), (2, 3), eps)
    return out.reshape(input.shape)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """torch's: input / (k + alpha * mean of input^2 over `size` neighbouring channels)^beta, over (N, C, *), the
    channels zero-padded by size // 2 ahead and (size - 1) // 2 behind; the mean is avg_pool2d's over the
    channels of an (N, 1, C, rest) view."""
    if input.ndim < 3:
        raise ValueError("Expected 3D or higher dimensionality                          input (got "
                         f"{input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    batch, channels = input.shape[:2]
    squares = (input * input).reshape(batch, 1, channels, -1)
    mean = avg_pool2d(pad(squares, (0, 0, size // 2, (size - 1) // 2)), (size, 1), stride=1)
    return input / (mean.reshape(input.shape) * alpha + k).pow(beta)


def _require_parameters_dtype(op, input, **parameters):
    """A normalization's parameters (by name; None where not given) of the input's dtype, or float32 beside a
    float16 input (mixed precision): torch refuses others, where NumPy would promote the output."""
    if not _is_mixed_precision(input, *parameters.values()):
        require_same_dtype(op, input=input, **parameters)


def _is_mixed_precision(input, *parameters):
    """Whether the normalization of `input` by `parameters` (weight, bias, running statistics; None where not
    given) is torch's mixed precision: float32 parameters beside a float16 input, which gives float16. Beside a
    float16 input they are all float16 or all float32, as torch's."""
    dtypes = {parameter.dtype for parameter in parameters if parameter is not None}
    if input.dtype != np.float16 or dtypes <= {np.dtype(np.float16)}:
        return False
    if dtypes != {np.dtype(np.float32)}:
        raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
    return True


def _normalize(input, weight, bias, broadcast, axes, eps, **statistics):
    """ops.Normalize with the weight and bias that are given, reshaped to `broadcast` against the input where
    they are not of that shape already (layer norm's are: no view nodes between them and Normalize, as in torch's
    graph); float32 ones beside a float16 input (mixed precision) cast to float16, which Normalize computes in
    float32, their gradients coming back as float32."""
    mixed = _is_mixed_precision(input, weight, bias)
    affine = [t if t.shape == broadcast else t.reshape(broadcast) for t in (weight, bias) if t is not None]
    affine = [t.to(input.dtype) for t in affine] if mixed else affine
    return ops.Normalize.apply(input, *affine, axes=axes, eps=eps, scaled=weight is not None,
                               shifted=bias is not None, **statistics)


__all__ = [
    "Tensor", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices", "affine_grid", "alpha_dropout", "avg_pool1d",
    "avg_pool2d", "avg_pool3d", "batch_norm", "bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cat", "celu", "celu_", "channel_shuffle", "charbonnier_loss", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "cosine_embedding_loss", "cosine_similarity", "cross_entropy", "ctc_loss",
    "dropout", "dropout1d", "dropout2d", "dropout3d", "elu", "elu_", "embedding", "embedding_bag",
    "feature_alpha_dropout", "fold", "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d", "fractional_max_pool3d_with_indices", "gaussian_nll_loss", "gelu", "glu", "grid_sample",
    "group_norm", "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "hardtanh_",
    "hinge_embedding_loss", "huber_loss", "instance_norm", "interpolate", "kl_div", "l1_loss", "layer_norm",
    "leaky_relu", "leaky_relu_", "linear", "local_response_norm", "log_softmax", "logsigmoid", "lp_pool1d", "lp_pool2d",
    "lp_pool3d", "margin_ranking_loss", "max_pool1d", "max_pool1d_with_indices", "max_pool2d",
    "max_pool2d_with_indices", "max_pool3d", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "mish", "mse_loss", "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss",
    "normalize", "one_hot", "pad", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "poisson_nll_loss",
    "prelu", "relu", "relu6", "relu_", "rms_norm", "rrelu", "rrelu_", "scaled_dot_product_attention", "selu", "selu_",
    "sigmoid", "sigmoid_gate", "silu", "smooth_l1_loss", "soft_margin_loss", "softmax", "softmin", "softplus",
    "softshrink", "softsign", "stack", "tanh", "tanhshrink", "threshold", "threshold_", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "unfold", "upsample", "upsample_bilinear", "upsample_nearest",
]
