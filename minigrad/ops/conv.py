"""2-D convolution over kernel taps (pooling is in minigrad.ops.pool).

Stride 1 (every conv of the network and of the loss; dilated and grouped convs too, one group at a time) runs
on the "wide" flat layout below: per image and per block of output rows, one column matrix of offset slices
and one GEMM, or, with many input channels, one GEMM over the kernel's row taps stacked (see STACKED). dX is
the same conv of the gradient with the flipped kernel, and dW recomputes the columns, so backward keeps only
the unpadded input. A stride-1 transposed conv, the adjoint of such a conv, runs the same three in swapped
roles (its padding may differ between the two sides of an axis, and crop where below 0). Blocks of output
rows, of every image, are shared out over the worker threads (minigrad.parallel), so one big image uses every
core too. Depthwise convs (one input channel per group) run tap by tap without any GEMM (see
_DepthwiseGeometry). Other strides use the column path, im2col + one GEMM over the whole batch: tap (i, j)
sees the strided slice of the padded input that starts at (i*dh, j*dw); im2col copies each tap's slice into a
column block and col2im adds it back, tap by tap, so no scatter (np.add.at) is ever needed. The column rows
are ordered (c, i, j), so with groups they split, as they are, into one block of C/G*kh*kw rows per group,
and the GEMMs become batched over the groups.

On the GPU, Conv2dKernels and ConvTranspose2dKernels run every conv on the column path with minigrad.kernels'
im2col and col2im: a few large launches.

A 3-d conv runs as this 2-d one: DepthUnfold (at the end) makes the depth taps of each output slice channels.
"""
import math
from typing import NamedTuple

from .. import kernels, memory, parallel
from ..kernels import output_size
from ..backend import get_array_module
from ..function import Function, gpu_variant_of
from .matmul import matmul
from .shape import Pad


def tap_index(starts, stride, out_size):
    """Index of padded planes (..., Hp, Wp) or volumes (..., Dp, Hp, Wp) that the kernel tap at `starts` (its
    offset along each axis) multiplies (a conv) or reads (a pooling), for every output position: strided slices,
    per axis of stride and out_size."""
    return (Ellipsis,) + tuple(slice(start, start + step * (out - 1) + 1, step)
                               for start, step, out in zip(starts, stride, out_size))


def _pad_spatial(x, padding):
    ph, pw = padding
    if ph == pw == 0:
        return x
    return get_array_module(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def im2col(x, kh, kw, stride, padding=(0, 0), dilation=(1, 1)):
    """(N, C, H, W) zero-padded by `padding` -> (C*kh*kw, N*Ho*Wo), rows ordered (c, i, j) like a
    flattened conv weight, the batch inside each row: the whole batch is one GEMM operand. stride, padding
    and dilation are (height, width) pairs. The channels are shared out over the threads."""
    xp = get_array_module(x)
    x = _pad_spatial(x, padding)
    n, c, h, w = x.shape
    (sh, sw), (dh, dw) = stride, dilation
    out_h, out_w = output_size(h, kh, sh, 0, dh), output_size(w, kw, sw, 0, dw)
    cols = memory.empty(xp, (c, kh, kw, n, out_h, out_w), x.dtype)

    def work(start, stop):
        for i in range(kh):
            for j in range(kw):
                tap = tap_index((i * dh, j * dw), stride, (out_h, out_w))
                cols[start:stop, i, j] = x[:, start:stop][tap].swapaxes(0, 1)

    parallel.split(work, c)
    return cols.reshape(c * kh * kw, n * out_h * out_w)


def col2im(cols, x_shape, kh, kw, stride, padding=(0, 0), dilation=(1, 1)):
    """The adjoint of im2col: add every column entry back onto the input pixel it came from, the
    padding dropped. The channels are shared out over the threads."""
    xp = get_array_module(cols)
    n, c, h, w = x_shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    out_h, out_w = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = cols.reshape(c, kh, kw, n, out_h, out_w)
    padded = memory.zeros(xp, (n, c, h + 2 * ph, w + 2 * pw), cols.dtype)

    def work(start, stop):
        for i in range(kh):
            for j in range(kw):
                tap = tap_index((i * dh, j * dw), stride, (out_h, out_w))
                padded[:, start:stop][tap] += cols[start:stop, i, j].swapaxes(0, 1)

    parallel.split(work, c)
    return padded[:, :, ph:ph + h, pw:pw + w]


# ---- stride-1 convolution on the "wide" flat layout ---------------------------------------------
# Each image's padded channels are stored flat, Hp*Wp values per channel (plus dw*(kw-1) zeros, so the last
# taps stay in bounds). Output position (r, q) is computed at wide index r*Wp + q, so kernel tap (i, j),
# dilated by (dh, dw), reads the contiguous run that starts i*dh*Wp + j*dw further on: one offset slice per
# tap instead of a 2-D window gather. The dw*(kw-1) columns at the right of every wide row are garbage and
# are cropped; in backward they get zero gradient. Images are padded one at a time into a buffer of each
# thread, so no padded copy of the batch is ever made.

# Work on a few output rows at a time, so that a block's column matrix stays in the core's cache
# between being written and being multiplied.
COLUMN_BLOCK_BYTES = 2 << 20
# From this many input channels on, copying every tap's columns costs more than the GEMM gains from them.
STACK_MIN_CHANNELS = 16

# How a stride-1 conv runs its GEMM, per block of output rows (the threshold measured on the network's layers):
COLUMNS = "columns"   # one GEMM on a column matrix of all taps: few input channels, or a 1x1 kernel (no copy)
STACKED = "stacked"   # the kh row taps copied into the GEMM's inner dimension, the kw column taps into its output rows


class _WideGeometry:
    """Sizes and tap offsets of a stride-1 conv of an (H, W) image padded by ph rows and pw columns, kernel kh x kw
    dilated by (dh, dw). Each padding is an int, for both sides, or a (before, after) pair; below 0 it crops the
    image instead, as the adjoint of a conv padded past its kernel's reach needs."""

    def __init__(self, h, w, ph, pw, kh, kw, dh=1, dw=1):
        (top, bottom), (left, right) = _sides(ph), _sides(pw)
        self.h, self.w, self.kh, self.kw, self.dh, self.dw = h, w, kh, kw, dh, dw
        self.padded = any((top, bottom, left, right))
        self.hp, self.wp = h + top + bottom, w + left + right
        self.out_h, self.out_w = self.hp - dh * (kh - 1), self.wp - dw * (kw - 1)
        self.offsets = [i * dh * self.wp + j * dw for i in range(kh) for j in range(kw)]
        self.flat_size = self.hp * self.wp + dw * (kw - 1)
        # the image's rows and columns that the padded plane keeps, and where in it they start
        self.kept = (slice(max(-top, 0), max(h - max(-bottom, 0), 0)), slice(max(-left, 0), max(w - max(-right, 0), 0)))
        self.corner = max(top, 0), max(left, 0)

    def strategy(self, channels):
        """COLUMNS or STACKED for a conv of `channels` in.

        STACKED copies kh instead of kh*kw values per position, at the price of summing kw shifted row
        groups of its (kw*O x kh*C) GEMM's output, which pays once there are many input channels. (One
        GEMM per tap on its offset view, with no copy at all, ran slower: BLAS is slower on its thin
        O x C products than the copy costs.)
        """
        return COLUMNS if len(self.offsets) == 1 or channels < STACK_MIN_CHANNELS else STACKED

    def flat_buffer(self, xp, channels, dtype):
        """A zeroed (C, flat_size) buffer: `flat` only ever writes its interior, so borders stay 0."""
        return xp.zeros((channels, self.flat_size), dtype=dtype)

    def flat(self, image, buffer):
        """image (C, H, W) -> its padded (or cropped) flat form (C, flat_size); a plain view when nothing is
        padded."""
        if not self.padded and self.flat_size == self.h * self.w and image.flags.c_contiguous:
            return image.reshape(image.shape[0], -1)
        interior = buffer[:, :self.hp * self.wp].reshape(-1, self.hp, self.wp)
        kept = image[(slice(None), *self.kept)]
        (top, left), (rows, columns) = self.corner, kept.shape[1:]
        interior[:, top:top + rows, left:left + columns] = kept
        return buffer

    def row_blocks(self, channels, itemsize, strategy):
        """(first, stop) output-row ranges whose column matrices (STACKED: row stacks) fit COLUMN_BLOCK_BYTES."""
        row_bytes = channels * (self.kh if strategy == STACKED else len(self.offsets)) * self.wp * itemsize
        rows = max(1, min(self.out_h, COLUMN_BLOCK_BYTES // row_bytes))
        return [(first, min(first + rows, self.out_h)) for first in range(0, self.out_h, rows)]

    @staticmethod
    def tasks(n, blocks):
        """(image, first, stop) for each block of output rows of each image: the units threads share,
        so that a small batch (one big image) still keeps every thread busy."""
        return [(image, first, stop) for image in range(n) for first, stop in blocks]

    def flats(self, x, tasks, buffer):
        """(image, padded flat image, first, stop) per task; each image is padded into buffer once."""
        loaded = flat = None
        for image, first, stop in tasks:
            if image != loaded:
                flat, loaded = self.flat(x[image], buffer), image
            yield image, flat, first, stop

    def column_buffer(self, xp, channels, rows, dtype, strategy):
        """Per thread, the copy a block of `rows` output rows needs: its columns, or its row stack."""
        if strategy == STACKED:
            return xp.empty((self.kh, channels, self.stacked_length(rows * self.wp)), dtype=dtype)
        return xp.empty((channels * len(self.offsets), rows * self.wp), dtype=dtype)

    def stacked_length(self, length):
        """Positions a row stack spans for `length` wide outputs: the column taps reach dw*(kw-1) further."""
        return length + self.dw * (self.kw - 1)

    def columns(self, flat, first, stop, buffer):
        """Wide output rows [first, stop) of flat (C, flat_size) -> (C*kh*kw, positions), rows (c, i, j).

        A 1x1 kernel needs no copy: the columns are the flat image itself.
        """
        begin, length = first * self.wp, (stop - first) * self.wp
        if len(self.offsets) == 1:
            return flat[:, begin:begin + length]
        cols = buffer[:, :length]
        taps = cols.reshape(flat.shape[0], len(self.offsets), length)
        for tap, offset in enumerate(self.offsets):
            taps[:, tap] = flat[:, begin + offset:begin + offset + length]
        return cols

    def row_stack(self, flat, first, stop, buffer):
        """Wide rows [first, stop) of flat (C, flat_size) with the kh row taps stacked: (kh*C, stacked_length),
        rows (i, c). Column tap j of the block's wide output p then reads its position p + j*dw."""
        begin, length = first * self.wp, self.stacked_length((stop - first) * self.wp)
        stack = buffer[:, :, :length]
        for i in range(self.kh):
            start = begin + i * self.dh * self.wp
            stack[i] = flat[:, start:start + length]
        return stack.reshape(-1, length)

    def crop(self, wide):
        """(O, rows*Wp) -> (O, rows, out_w) view without the garbage columns."""
        return wide.reshape(wide.shape[0], -1, self.wp)[:, :, :self.out_w]


def _conv_wide(x, geometry, weight, bias=None):
    """out[n] = weight @ columns(padded x[n]) (+ bias), cropped: (N, O, out_h, out_w).

    STACKED multiplies the row stack by the weight as (kw*O, kh*C) instead and sums each column tap
    j's O rows at offset j*dw.
    """
    xp = get_array_module(x)
    n, c = x.shape[:2]
    out_channels = weight.shape[0]
    out = memory.empty(xp, (n, out_channels, geometry.out_h, geometry.out_w), x.dtype)
    bias = None if bias is None else bias.reshape(-1, 1, 1)
    strategy = geometry.strategy(c)
    blocks = geometry.row_blocks(c, x.itemsize, strategy)
    rows = blocks[0][1]
    tasks = geometry.tasks(n, blocks)
    if strategy == STACKED:                                             # (j, O, i, C)
        weights = xp.ascontiguousarray(weight.transpose(3, 0, 2, 1)).reshape(geometry.kw * out_channels, -1)
    else:
        weights = weight.reshape(out_channels, -1)

    def work(start, stop):
        flat_buffer = geometry.flat_buffer(xp, c, x.dtype)
        copy_buffer = geometry.column_buffer(xp, c, rows, x.dtype, strategy)
        if strategy == STACKED:
            wide_buffer = xp.empty((geometry.kw * out_channels, geometry.stacked_length(rows * geometry.wp)), dtype=x.dtype)
        else:
            wide_buffer = xp.empty((out_channels, rows * geometry.wp), dtype=x.dtype)
        for image, flat, first, last in geometry.flats(x, tasks[start:stop], flat_buffer):
            length = (last - first) * geometry.wp
            if strategy == STACKED:
                stacked = wide_buffer[:, :geometry.stacked_length(length)]
                xp.matmul(weights, geometry.row_stack(flat, first, last, copy_buffer), out=stacked)
                column_taps = stacked.reshape(geometry.kw, out_channels, -1)
                wide = column_taps[0, :, :length]
                for j in range(1, geometry.kw):
                    wide += column_taps[j, :, j * geometry.dw:j * geometry.dw + length]
            else:
                wide = wide_buffer[:, :length]
                xp.matmul(weights, geometry.columns(flat, first, last, copy_buffer), out=wide)
            target = out[image, :, first:last]
            if bias is None:
                target[...] = geometry.crop(wide)
            else:
                xp.add(geometry.crop(wide), bias, out=target)

    parallel.split(work, len(tasks))
    return out


def _weight_grad_wide(x, geometry, grad, weight_shape):
    """dW = sum_n grad[n] @ columns(padded x[n]).T, with zero gradient on the garbage columns.

    STACKED multiplies kw copies of the gradient, copy j shifted j*dw positions on, by the row stack
    instead: (kw*O, kh*C) per block.
    """
    xp = get_array_module(x)
    n, c = x.shape[:2]
    out_channels = grad.shape[1]
    strategy = geometry.strategy(c)
    blocks = geometry.row_blocks(c, x.itemsize, strategy)
    rows = blocks[0][1]
    tasks = geometry.tasks(n, blocks)
    no_garbage = geometry.wp == geometry.out_w
    taps, kw = len(geometry.offsets), geometry.kw
    if strategy == STACKED:
        product_shape = (kw * out_channels, geometry.kh * c)
        shifted_shape = (kw, out_channels, geometry.stacked_length(rows * geometry.wp))
    else:
        product_shape, shifted_shape = (out_channels, c * taps), (1, out_channels, rows * geometry.wp)

    def work(start, stop):
        flat_buffer = geometry.flat_buffer(xp, c, x.dtype)
        copy_buffer = geometry.column_buffer(xp, c, rows, x.dtype, strategy)
        shifted_buffer = xp.zeros(shifted_shape, dtype=x.dtype)       # garbage columns are never written: stay 0
        product = xp.empty(product_shape, dtype=x.dtype)
        total = xp.zeros(product_shape, dtype=x.dtype)
        for image, flat, first, last in geometry.flats(x, tasks[start:stop], flat_buffer):
            length = (last - first) * geometry.wp
            block = grad[image, :, first:last]
            if strategy == STACKED:                                     # copy j = the gradient shifted j*dw on
                shifted = shifted_buffer[:, :, :geometry.stacked_length(length)]
                for j in range(kw):
                    shift = j * geometry.dw
                    geometry.crop(shifted[j, :, shift:shift + length])[...] = block
                    shifted[j, :, shift + length:] = 0                  # a longer block before may have left data
                wide, copied = shifted.reshape(product_shape[0], -1), geometry.row_stack(flat, first, last, copy_buffer)
            else:
                if no_garbage:
                    wide = block.reshape(out_channels, -1)
                else:
                    wide = shifted_buffer[0, :, :length]
                    geometry.crop(wide)[...] = block
                copied = geometry.columns(flat, first, last, copy_buffer)
            xp.matmul(wide, copied.T, out=product)
            total += product
        return total

    total = sum(parallel.split(work, len(tasks)))
    if strategy == STACKED:                                      # (j, O, i, C) -> (O, C, i, j)
        total = total.reshape(kw, out_channels, geometry.kh, c).transpose(1, 3, 2, 0)
    return xp.ascontiguousarray(total).reshape(weight_shape)


def _sides(padding):
    """One axis's padding as (before, after): an int pads both sides alike."""
    return tuple(padding) if isinstance(padding, tuple) else (padding, padding)


def _geometry(x, weight, padding, dilation=(1, 1)):
    return _WideGeometry(*x.shape[2:], *padding, *weight.shape[2:], *dilation)


# A stride-1 conv and its two adjoints, each one group at a time. padding is (rows, columns), each an int or a
# (before, after) pair (see _WideGeometry). Conv2d runs them as forward, dX and dW; ConvTranspose2d, the adjoint of
# the conv whose weight it has, runs the same three with the roles swapped.

def _wide_conv(x, weight, bias, padding, dilation, groups):
    """x (N, C, H, W) convolved with weight (O, C/G, kh, kw) (+ bias)."""
    blocks = zip(_by_group(x, groups, 1), _by_group(weight, groups), _by_group(bias, groups))
    return _joined([_conv_wide(x_block, _geometry(x_block, weight_block, padding, dilation), weight_block, bias_block)
                    for x_block, weight_block, bias_block in blocks], 1)


def _wide_conv_adjoint(y, weight, padding, dilation, groups, bias=None):
    """The adjoint of _wide_conv in x, applied to an output-side y (N, O, out_h, out_w) (+ a bias of C): the conv
    of y with each group's kernel flipped and transposed, padded on each side by what the kernel reaches past the
    conv's padding there (the full correlation; below 0, cropped)."""
    xp = get_array_module(weight)
    reaches = [spacing * (size - 1) for size, spacing in zip(weight.shape[2:], dilation)]
    adjoint_padding = [tuple(reach - side for side in _sides(pad)) for pad, reach in zip(padding, reaches)]
    blocks = zip(_by_group(y, groups, 1), _by_group(weight, groups), _by_group(bias, groups))
    return _joined([_conv_wide(y_block, _geometry(y_block, weight_block, adjoint_padding, dilation),
                               xp.ascontiguousarray(weight_block[:, :, ::-1, ::-1].swapaxes(0, 1)), bias_block)
                    for y_block, weight_block, bias_block in blocks], 1)


def _wide_conv_weight_grad(x, grad, weight_shape, padding, dilation, groups):
    """The adjoint of _wide_conv in the weight: dW of x and the output's gradient, of weight_shape."""
    block_shape = (weight_shape[0] // groups, *weight_shape[1:])
    blocks = zip(_by_group(x, groups, 1), _by_group(grad, groups, 1))
    return _joined([_weight_grad_wide(x_block, _WideGeometry(*x_block.shape[2:], *padding, *block_shape[2:], *dilation),
                                      grad_block, block_shape) for x_block, grad_block in blocks], 0)


# ---- depthwise convolution (one input channel per group), tap by tap ------------------------------
# Each output channel sees a single input channel, so the column path's GEMMs would have one row per group and
# im2col's copy would cost far more than they do. The direct path instead multiplies each tap's strided slice of
# the padded input by that tap's weight, channel by channel, and adds it up in place; backward adds the gradient
# times the weight back onto the same slices (dX) and sums gradient times slice per tap (dW). The work goes in
# tasks of (image, block of channels) that fit COLUMN_BLOCK_BYTES, so that a block stays in cache over all the
# taps; the tasks are shared out over the threads.

class _DepthwiseGeometry:
    """A depthwise conv of x (N, C, H, W) by weight (C*m, 1, kh, kw), m the channel multiplier: output channel
    c*m + k sees input channel c."""

    def __init__(self, x_shape, weight_shape, options, itemsize):
        self.x_shape, self.weight_shape = x_shape, weight_shape
        n, self.channels, self.h, self.w = x_shape
        self.multiplier, (kh, kw) = weight_shape[0] // self.channels, weight_shape[2:]
        (sh, sw), (self.ph, self.pw), (dh, dw) = options.columns
        self.hp, self.wp = self.h + 2 * self.ph, self.w + 2 * self.pw
        self.out_h, self.out_w = output_size(self.h, kh, sh, self.ph, dh), output_size(self.w, kw, sw, self.pw, dw)
        self.taps = [tap_index((i * dh, j * dw), (sh, sw), (self.out_h, self.out_w))
                     for i in range(kh) for j in range(kw)]
        # a task's padded planes, their output and a product of a tap: three planes per channel in cache
        fitting = max(1, COLUMN_BLOCK_BYTES // (3 * self.hp * self.wp * itemsize))
        blocks = parallel.chunks(self.channels, -(-self.channels // fitting))
        self.block = blocks[0][1]
        self.tasks = [(image, first, stop) for image in range(n) for first, stop in blocks]

    def buffer(self, xp, dtype):
        """A zeroed (block, Hp, Wp) buffer for one task's padded planes: `padded` only writes its interior."""
        return xp.zeros((self.block, self.hp, self.wp), dtype=dtype)

    def padded(self, planes, buffer):
        """planes (c, H, W) -> padded (c, Hp, Wp), in buffer; planes themselves when nothing is padded."""
        if self.ph == self.pw == 0:
            return planes
        padded = buffer[:planes.shape[0]]
        self.crop(padded)[...] = planes
        return padded

    def crop(self, padded):
        """Padded planes (c, Hp, Wp) -> their input part (c, H, W)."""
        return padded[:, self.ph:self.ph + self.h, self.pw:self.pw + self.w]

    def per_channel(self, output):
        """An output-side array (N, C*m, out_h, out_w) -> (N, C, m, out_h, out_w)."""
        return output.reshape(output.shape[0], self.channels, self.multiplier, self.out_h, self.out_w)

    def tap_weights(self, weight):
        """weight (C*m, 1, kh, kw) -> (C, m, kh*kw)."""
        return weight.reshape(self.channels, self.multiplier, len(self.taps))


def _conv_depthwise(x, weight, bias, geometry):
    """out[n, c*m + k] = sum over taps t of slice_t(padded x[n, c]) * weight[c*m + k, t] (+ bias)."""
    xp = get_array_module(x)
    n = x.shape[0]
    out = memory.empty(xp, (n, weight.shape[0], geometry.out_h, geometry.out_w), x.dtype)
    outputs, weights = geometry.per_channel(out), geometry.tap_weights(weight)      # (N, C, m, ...), (C, m, taps)
    biases = None if bias is None else bias.reshape(geometry.channels, geometry.multiplier, 1, 1)

    def work(start, stop):
        buffer = geometry.buffer(xp, x.dtype)
        product = xp.empty((geometry.block, geometry.out_h, geometry.out_w), dtype=x.dtype)
        for image, first, last in geometry.tasks[start:stop]:
            planes = geometry.padded(x[image, first:last], buffer)
            term = product[:last - first]
            for k in range(geometry.multiplier):
                target = outputs[image, first:last, k]
                for t, tap in enumerate(geometry.taps):
                    tap_weights = weights[first:last, k, t, None, None]
                    if t == 0:
                        xp.multiply(planes[tap], tap_weights, out=target)
                    else:
                        target += xp.multiply(planes[tap], tap_weights, out=term)
                if biases is not None:
                    target += biases[first:last, k]

    parallel.split(work, len(geometry.tasks))
    return out


def _grads_depthwise(x, weight, grad, geometry, need_x, need_w):
    """(dX, dW) of _conv_depthwise: dX adds grad * weight back onto each tap's slice of the padded planes,
    dW[c*m + k, t] sums grad[:, c*m + k] * slice_t(padded x[:, c]) over images and positions. x may be None where
    dW is not needed, weight where dX is not."""
    xp, dtype = get_array_module(grad), grad.dtype
    grads = geometry.per_channel(grad)                                              # (N, C, m, ...)
    weights = geometry.tap_weights(weight) if need_x else None                      # (C, m, taps)
    grad_x = memory.empty(xp, geometry.x_shape, dtype) if need_x else None

    def work(start, stop):
        buffer = geometry.buffer(xp, dtype)
        grad_planes = xp.empty((geometry.block, geometry.hp, geometry.wp), dtype=dtype)
        product = xp.empty((geometry.block, geometry.out_h, geometry.out_w), dtype=dtype)
        total = xp.zeros((geometry.channels, geometry.multiplier, len(geometry.taps)), dtype=dtype) if need_w else None
        for image, first, last in geometry.tasks[start:stop]:
            count = last - first
            planes = geometry.padded(x[image, first:last], buffer) if need_w else None
            if need_x:
                grad_planes[:count] = 0
            for k in range(geometry.multiplier):
                block = grads[image, first:last, k]                                   # (count, out_h, out_w)
                for t, tap in enumerate(geometry.taps):
                    if need_x:
                        grad_planes[:count][tap] += xp.multiply(block, weights[first:last, k, t, None, None],
                                                                out=product[:count])
                    if need_w:
                        total[first:last, k, t] += xp.einsum("chw,chw->c", block, planes[tap])
            if need_x:
                grad_x[image, first:last] = geometry.crop(grad_planes[:count])
        return total

    totals = parallel.split(work, len(geometry.tasks))
    grad_w = sum(totals).reshape(geometry.weight_shape) if need_w else None
    return grad_x, grad_w


def _by_group(array, groups, axis=0):
    """array's blocks of one group each along its channel axis (an input or output gradient: 1, a weight or bias:
    0); [array] itself for one group, and one None per group for None."""
    if array is None:
        return [None] * groups
    return [array] if groups == 1 else get_array_module(array).split(array, groups, axis=axis)


def _joined(blocks, axis):
    """The groups' results joined along their channel axis; the only one as it is for one group."""
    return blocks[0] if len(blocks) == 1 else get_array_module(blocks[0]).concatenate(blocks, axis=axis)


# The CPU's paths for a conv (ConvOptions.path):
WIDE_PATH = "wide"             # stride 1: the wide flat layout, per group
DEPTHWISE_PATH = "depthwise"   # one input channel per group: tap by tap, no GEMM
COLUMN_PATH = "columns"        # anything else: im2col and GEMMs batched over the groups


class ConvOptions(NamedTuple):
    """A conv's options beside its arrays, as Conv2d.apply takes them: stride, padding and dilation are
    (height, width) pairs (minigrad.functional.conv2d makes them)."""

    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1

    def path(self, weight_shape):
        """Which path computes this conv on the CPU: DEPTHWISE_PATH for one input channel per group (any channel
        multiplier, stride and dilation), else WIDE_PATH for stride 1 (any padding, dilation, kh != kw and groups
        included: one wide conv per group), else COLUMN_PATH."""
        if self.groups > 1 and weight_shape[1] == 1:
            return DEPTHWISE_PATH
        if not weight_shape[1]:  # no input channels: the column path gives torch's empty output (see Conv2d.output)
            return COLUMN_PATH
        return WIDE_PATH if self.stride == (1, 1) else COLUMN_PATH

    @property
    def wide(self):
        """The wide path's (padding, dilation)."""
        return self.padding, self.dilation

    @property
    def columns(self):
        """im2col's and col2im's (stride, padding, dilation)."""
        return self.stride, self.padding, self.dilation


class Conv2d(Function):
    """weight (O, C/groups, kh, kw): output channel block g (O/groups of them) sees input channel block g."""

    autocast_category = "lower"
    half_in_float32 = True

    node_name = "ConvolutionBackward0"

    @staticmethod
    def check(x, weight, bias, options):
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(f"conv2d expects a 4-d input (N, C, H, W) and weight (O, C, kh, kw), got {x.shape} and {weight.shape}")
        check_conv_operands(x.shape, weight.shape, None if bias is None else bias.shape, options.groups,
                            options.padding, options.dilation)
        check_spatial_sizes(x.shape)

    @staticmethod
    def bias_grad(ctx, grad, axes=(0, 2, 3)):  # of an array or a tensor (differentiable_backward)
        return grad.sum(axes) if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2] else None

    @staticmethod
    def forward(ctx, x, weight, bias=None, **options):
        options = ConvOptions(**options)
        Conv2d.check(x, weight, bias, options)
        ctx.save_for_backward(x, weight)                     # backward re-pads x: no second copy kept
        return ctx.function.output(x, weight, bias, options)

    @staticmethod
    def backward(ctx, grad):
        options = ConvOptions(**ctx.params)
        x, weight = ctx.saved
        path, groups = ctx.function.path(options, weight.shape), options.groups
        if path == COLUMN_PATH:
            return Conv2d.backward_columns(ctx, grad)
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_b = Conv2d.bias_grad(ctx, grad)
        grad = get_array_module(grad).ascontiguousarray(grad)
        if path == DEPTHWISE_PATH:
            geometry = _DepthwiseGeometry(x.shape, weight.shape, options, x.itemsize)
            return (*_grads_depthwise(x, weight, grad, geometry, need_x, need_w), grad_b)
        grad_w = _wide_conv_weight_grad(x, grad, weight.shape, *options.wide, groups) if need_w else None
        grad_x = _wide_conv_adjoint(grad, weight, *options.wide, groups) if need_x else None
        return grad_x, grad_w, grad_b

    @staticmethod
    def differentiable_backward(ctx, grad):
        """The conv is bilinear in (x, weight): its input gradient and weight gradient are ops of their own
        (Conv2dInputGrad, Conv2dWeightGrad) whose gradients are again the three."""
        x, weight = ctx.linked_saved()
        need_x, need_w = ctx.needs_input_grad[:2]
        directions = ConvDirections(Conv2d, ctx.params, recorded=True)
        grad_x = directions.input_gradient(grad, weight, x.shape) if need_x else None
        grad_w = directions.weight_gradient(x, grad, weight.shape) if need_w else None
        return grad_x, grad_w, Conv2d.bias_grad(ctx, grad)

    # The three directions on arrays, by the path that the op (ctx.function: the CPU's or the GPU's) takes: the
    # conv, and its adjoints in x and in the weight. backward runs the last two at once where they share work.

    @staticmethod
    def path(options, weight_shape):
        return options.path(weight_shape)

    @classmethod
    def output(cls, x, weight, bias, options):
        """The conv of x by weight (+ bias)."""
        path = cls.path(options, weight.shape)
        if path == COLUMN_PATH:
            if not x.shape[1]:  # torch's output of an input without channels has none either: nothing to multiply
                plane = _column_plane(x.shape, *weight.shape[2:], options.columns)
                return get_array_module(x).zeros((x.shape[0], 0, *plane), x.dtype)
            return _columns_to_output(cls, x, weight, bias, options)
        if path == DEPTHWISE_PATH:
            return _conv_depthwise(x, weight, bias, _DepthwiseGeometry(x.shape, weight.shape, options, x.itemsize))
        return _wide_conv(x, weight, bias, *options.wide, options.groups)

    @classmethod
    def input_gradient(cls, grad, weight, x_shape, options):
        """The adjoint of the conv in x: dX of an output-side grad."""
        path = cls.path(options, weight.shape)
        if path == COLUMN_PATH:
            return _output_to_columns(cls, _output_rows(grad, options.groups), weight, x_shape, options)
        grad = get_array_module(grad).ascontiguousarray(grad)
        if path == DEPTHWISE_PATH:
            geometry = _DepthwiseGeometry(x_shape, weight.shape, options, grad.itemsize)
            return _grads_depthwise(None, weight, grad, geometry, True, False)[0]
        return _wide_conv_adjoint(grad, weight, *options.wide, options.groups)

    @classmethod
    def weight_gradient(cls, x, grad, weight_shape, options):
        """The adjoint of the conv in the weight: dW of x and an output-side grad."""
        path = cls.path(options, weight_shape)
        if path == COLUMN_PATH:
            return _weight_grad_columns(cls, x, _output_rows(grad, options.groups), weight_shape, options)
        grad = get_array_module(grad).ascontiguousarray(grad)
        if path == DEPTHWISE_PATH:
            geometry = _DepthwiseGeometry(x.shape, weight_shape, options, x.itemsize)
            return _grads_depthwise(x, None, grad, geometry, False, True)[1]
        return _wide_conv_weight_grad(x, grad, weight_shape, *options.wide, options.groups)

    # The column path, for strides other than 1 (any dilation and groups): ctx.function's im2col builds the
    # columns of the whole batch, one GEMM per group multiplies them. Backward rebuilds the columns rather than keeping them.
    # The batch sits inside each column row, so that dW is one GEMM per group too (the batch summed inside it),
    # not one per image; the price is a transposed copy of the output and of its gradient, (N, O) <-> (O, N).
    im2col = staticmethod(im2col)
    col2im = staticmethod(col2im)

    @staticmethod
    def backward_columns(ctx, grad):
        x, weight = ctx.saved
        options = ConvOptions(**ctx.params)
        need_x, need_w = ctx.needs_input_grad[:2]
        if not x.shape[1]:  # no output reached: zero gradients, the bias's too, as torch's
            xp = get_array_module(x)
            return (xp.zeros_like(x) if need_x else None, xp.zeros_like(weight) if need_w else None,
                    Conv2d.bias_grad(ctx, xp.zeros((weight.shape[0], 1), x.dtype), axes=1))
        rows = _output_rows(grad, options.groups)                               # (G, O/G, N*L)
        # the bias gradient sums each contiguous row: far faster on CuPy than grad's sum over axes (0, 2, 3)
        grad_b = Conv2d.bias_grad(ctx, rows.reshape(grad.shape[1], -1), axes=1)
        grad_w = _weight_grad_columns(ctx.function, x, rows, weight.shape, options) if need_w else None
        grad_x = _output_to_columns(ctx.function, rows, weight, x.shape, options) if need_x else None
        return grad_x, grad_w, grad_b


def check_conv_operands(x_shape, weight_shape, bias_shape, groups, padding=None, dilation=None):
    """torch's checks of a conv's shapes (bias_shape None without a bias), of any number of spatial dims: F.conv1d
    checks its own ahead of the unit-height conv2d that it runs, so that the messages show its shapes. The kernel's
    fit in the padded input is checked where padding is given."""
    _check_groups(weight_shape, groups)
    _check_bias(bias_shape, weight_shape, weight_shape[0])
    if x_shape[1] != weight_shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight_shape)}, "
                           f"expected input{list(x_shape)} to have {weight_shape[1] * groups} channels, "
                           f"but got {x_shape[1]} channels instead")
    if padding is None:
        return
    padded = [size + 2 * pad for size, pad in zip(x_shape[2:], padding)]
    spans = [spacing * (size - 1) + 1 for size, spacing in zip(weight_shape[2:], dilation)]
    if any(size < span for size, span in zip(padded, spans)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, spans))}). Kernel size can't be greater than actual input size")


def check_transposed_conv_operands(x_shape, weight_shape, bias_shape, groups):
    """torch's checks of a transposed conv's channels and bias, of any number of spatial dims (see
    check_conv_operands)."""
    _check_groups(weight_shape, groups)
    if x_shape[1] != weight_shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight_shape)}, expected input{list(x_shape)} "
                           f"to have {weight_shape[0]} channels, but got {x_shape[1]} channels instead")
    _check_bias(bias_shape, weight_shape, weight_shape[1] * groups, "transposed=1, ")


def check_spatial_sizes(x_shape):
    """torch's error for a conv's input (N, C, *spatial) with no pixels, which only an empty batch or no channels may
    be; after check_conv_operands (a 1-d conv leaves it to the 2-d conv it runs, whose shape torch's message shows)."""
    if 0 in x_shape[2:]:
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input shape: "
                           f"{list(x_shape)}")


def check_transposed_output_channels(weight_shape, groups):
    """torch's error for a transposed conv's weight without output channels: its kernel's, which shows one group's
    weight (a 1-d conv's of unit height)."""
    if weight_shape[1]:
        return
    shape = [weight_shape[0] // groups, *weight_shape[1:]]
    if len(shape) == 5:
        raise RuntimeError("non-empty 5D (n_output_plane x n_input_plane x kernel_depth x kernel_height x "
                           f"kernel_width) tensor expected for weight, but got: {shape}")
    raise RuntimeError(f"non-empty 2D or 4D weight tensor expected, but got: {shape}")


def check_transposed_sizes(input_size, output_size, output_padding, stride, dilation):
    """torch's checks of a transposed conv's output_padding and output size, of any number of spatial dims."""
    if any(extra >= step and extra >= spacing for extra, step, spacing in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got " + " ".join(
            axis_sizes(name, sizes) for name, sizes in
            (("output_padding", output_padding), ("stride", stride), ("dilation", dilation))))
    if min(output_size) < 1:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, input_size))}). Calculated output "
                           f"size per channel: ({' x '.join(map(str, output_size))}). Output size is too small")


def axis_sizes(name, sizes, separator=" "):
    """Per-axis sizes as torch's messages of 2-d and 3-d convs word them: "stride_height: 2 stride_width: 1"."""
    return separator.join(f"{name}_{axis}: {size}" for axis, size in zip(("depth", "height", "width")[-len(sizes):],
                                                                            sizes))


def _check_bias(bias_shape, weight_shape, out_channels, transposed=""):
    """torch's error for a bias that is not one value per output channel."""
    if bias_shape is not None and tuple(bias_shape) != (out_channels,):
        raise RuntimeError(f"Given {transposed}weight of size {list(weight_shape)}, expected bias to be 1-dimensional "
                           f"with {out_channels} elements, but got bias of size {list(bias_shape)} instead")


def _check_groups(weight_shape, groups):
    """torch's errors for a weight of fewer output channels (a transposed one's: input channels) than groups, or not
    a multiple of them."""
    if weight_shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
                           f"but got weight of size {list(weight_shape)} instead")
    if weight_shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size [{list(weight_shape)}] instead")


def _per_group(array, groups):
    """A weight (O, C/G, kh, kw), columns (C*kh*kw, N*L) or output gradient (O, N, out_h, out_w) -> (G, rows of a
    group, -1): a free reshape, as each group's rows are contiguous."""
    return array.reshape(groups, array.shape[0] // groups, -1)


# The column path's three GEMM steps. A transposed conv is the adjoint of a conv, so ConvTranspose2d runs the
# same three with the roles swapped at strides other than 1: its forward is a conv's input gradient, its input
# gradient a conv.
# `function` is the op running (ctx.function), whose im2col and col2im are the CPU's or the GPU kernels'.

def _output_rows(y, groups):
    """A conv's output side (N, O, out_h, out_w) -> (G, O/G, N*L), the batch inside each row as im2col's columns."""
    return _per_group(get_array_module(y).ascontiguousarray(y.swapaxes(0, 1)), groups)


def _columns_to_output(function, x, weight, bias, options, cols=None):
    """conv2d on the column path: x (N, C, H, W), weight (O, C/G, kh, kw) -> (N, O, out_h, out_w). cols: x's
    columns, where the caller has made them already."""
    out_channels, _, kh, kw = weight.shape
    if cols is None:
        cols = function.im2col(x, kh, kw, *options.columns)                     # (C*kh*kw, N*L)
    out = matmul(_per_group(weight, options.groups), _per_group(cols, options.groups))  # (G, O/G, N*L)
    out = out.reshape(out_channels, -1)                                         # (O, N*L)
    if bias is not None:
        out += bias.reshape(-1, 1)
    out = out.reshape(out_channels, x.shape[0], *_column_plane(x.shape, kh, kw, options.columns)).swapaxes(0, 1)
    return get_array_module(out).ascontiguousarray(out)


def _column_plane(x_shape, kh, kw, columns):
    """(out_h, out_w): the positions of a kh x kw kernel in an (N, C, H, W) input, by im2col's (stride, padding,
    dilation)."""
    (sh, sw), (ph, pw), (dh, dw) = columns
    return output_size(x_shape[2], kh, sh, ph, dh), output_size(x_shape[3], kw, sw, pw, dw)


def _output_to_columns(function, rows, weight, x_shape, options):
    """The adjoint of _columns_to_output in x: output-side rows (G, O/G, N*L) -> x_shape (N, C, H, W), by one
    GEMM per group into columns and col2im."""
    kh, kw = weight.shape[2:]
    cols = matmul(_per_group(weight, options.groups).swapaxes(1, 2), rows)    # (G, C/G*kh*kw, N*L)
    cols = cols.reshape(cols.shape[0] * cols.shape[1], rows.shape[-1])                       # no -1: N*L may be 0
    return function.col2im(cols, x_shape, kh, kw, *options.columns)


def _weight_grad_columns(function, x, rows, weight_shape, options, cols=None):
    """The adjoint of _columns_to_output in the weight: x (N, C, H, W) and output-side rows (G, O/G, N*L) ->
    weight_shape (O, C/G, kh, kw), the batch summed inside one GEMM per group. cols as _columns_to_output's."""
    if cols is None:
        cols = function.im2col(x, *weight_shape[2:], *options.columns)
    cols = _per_group(cols, options.groups)                                     # (G, C/G*kh*kw, N*L)
    return matmul(rows, cols.swapaxes(1, 2)).reshape(weight_shape)


@gpu_variant_of(Conv2d)
class Conv2dKernels(Conv2d):
    """The GPU runs every conv, stride 1 too, on the column path, with one im2col kernel per direction:
    col2im gathers per input pixel, so no atomics and a deterministic sum."""

    im2col = staticmethod(kernels.im2col)
    col2im = staticmethod(kernels.col2im)

    @staticmethod
    def path(options, weight_shape):
        return COLUMN_PATH


class ConvDirections:
    """The conv's three directions, its output and its gradients in x and in the weight, with the options among
    `params`: on arrays by the array code of `conv` (the op that runs: the CPU's or the GPU's), or `recorded`, on
    tensors by the ops (Conv2d, Conv2dInputGrad, Conv2dWeightGrad), so that they are differentiated in turn."""

    def __init__(self, conv, params, recorded):
        self.conv, self.recorded = conv, recorded
        self.params = {name: params[name] for name in ConvOptions._fields}
        self.options = ConvOptions(**self.params)

    def output(self, x, weight):
        if self.recorded:
            return Conv2d.apply(x, weight, **self.params)
        return self.conv.output(x, weight, None, self.options)

    def input_gradient(self, grad, weight, x_shape):
        if self.recorded:
            return Conv2dInputGrad.apply(grad, weight, shape=x_shape, **self.params)
        return self.conv.input_gradient(grad, weight, x_shape, self.options)

    def weight_gradient(self, x, grad, weight_shape):
        if self.recorded:
            return Conv2dWeightGrad.apply(x, grad, shape=weight_shape, **self.params)
        return self.conv.weight_gradient(x, grad, weight_shape, self.options)


class ConvGradient(Function):
    """One of the conv's gradients as an op of its two operands, the shape of the conv's operand it is the gradient
    of and the conv's options its constants. Bilinear as the conv, its gradients are again the conv's directions
    (`gradients`), so the conv and its two gradients are closed under differentiation. `conv` is the op whose array
    code it runs (the GPU's in the GPU variants); `direction` names the gradient (a ConvDirections method)."""

    node_name = "ConvolutionBackwardBackward0"
    conv = Conv2d

    @staticmethod
    def forward(ctx, a, b, shape, **options):
        ctx.save_for_backward(a, b)
        directions = ConvDirections(ctx.function.conv, options, recorded=False)
        return getattr(directions, ctx.function.direction)(a, b, shape)

    @staticmethod
    def backward(ctx, grad):
        directions = ConvDirections(ctx.function.conv, ctx.params, recorded=False)
        return ctx.function.gradients(directions, grad, *ctx.saved, ctx.needs_input_grad)

    @staticmethod
    def differentiable_backward(ctx, grad):
        directions = ConvDirections(ctx.function.conv, ctx.params, recorded=True)
        return ctx.function.gradients(directions, grad, *ctx.linked_saved(), ctx.needs_input_grad)


class Conv2dInputGrad(ConvGradient):
    """dX of (grad, weight): its gradient in grad is the conv (of its own gradient, by the weight), in the weight the
    conv's weight gradient (its own gradient as the conv's input)."""

    direction = "input_gradient"

    @staticmethod
    def gradients(directions, grad, output_grad, weight, needs):
        need_grad, need_w = needs
        return (directions.output(grad, weight) if need_grad else None,
                directions.weight_gradient(grad, output_grad, weight.shape) if need_w else None)


class Conv2dWeightGrad(ConvGradient):
    """dW of (x, grad): its gradient in x is the conv's input gradient (of grad, by its own gradient as the weight),
    in grad the conv (of x, by its own gradient)."""

    direction = "weight_gradient"

    @staticmethod
    def gradients(directions, grad, x, output_grad, needs):
        need_x, need_grad = needs
        return (directions.input_gradient(output_grad, grad, x.shape) if need_x else None,
                directions.output(x, grad) if need_grad else None)


@gpu_variant_of(Conv2dInputGrad)
class Conv2dInputGradKernels(Conv2dInputGrad):
    conv = Conv2dKernels


@gpu_variant_of(Conv2dWeightGrad)
class Conv2dWeightGradKernels(Conv2dWeightGrad):
    conv = Conv2dKernels


def transposed_output_size(size, kernel, stride, padding=0, dilation=1, output_padding=0):
    """Output length of a transposed conv along one axis: the input length of the conv it is the adjoint of, plus
    output_padding."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1 + output_padding


def _transposed_options(params):
    """ConvTranspose2d.apply's keyword arguments -> (ConvOptions, output_padding)."""
    params = dict(params)
    output_padding = params.pop("output_padding", (0, 0))
    return ConvOptions(**params), output_padding


def _transposed_shape(x_shape, weight_shape, options, output_padding=(0, 0)):
    """(N, O, out_h, out_w) of a transposed conv of x (N, C, H, W) by weight (C, O/G, kh, kw)."""
    (sh, sw), (ph, pw), (dh, dw) = options.columns
    (kh, kw), (oph, opw) = weight_shape[2:], output_padding
    return (x_shape[0], weight_shape[1] * options.groups,
            transposed_output_size(x_shape[2], kh, sh, ph, dh, oph), transposed_output_size(x_shape[3], kw, sw, pw, dw, opw))


def _plane_shape(x_shape, weight_shape, options):
    """The shape of the transposed conv's whole plane, its padding not yet cut: the input of an unpadded conv."""
    n, out_channels, h, w = _transposed_shape(x_shape, weight_shape, options)
    (ph, pw) = options.padding
    return n, out_channels, h + 2 * ph, w + 2 * pw


def _output_of_plane(plane, padding, size):
    """The output (N, O, *size) of the plane: the padding cut at the top and left, the output_padding rows and
    columns at the bottom and right kept where the plane has them and zero past it."""
    (ph, pw), (out_h, out_w) = padding, size
    out = plane[:, :, ph:ph + out_h, pw:pw + out_w]
    missing_h, missing_w = out_h - out.shape[2], out_w - out.shape[3]
    if missing_h or missing_w:
        out = get_array_module(out).pad(out, ((0, 0), (0, 0), (0, missing_h), (0, missing_w)))
    return out


def _plane_of_output(grad, padding, plane_shape):
    """The adjoint of _output_of_plane: the output's gradient put back in place on a zero plane."""
    (ph, pw), (plane_h, plane_w) = padding, plane_shape[2:]
    grad = grad[:, :, :plane_h - ph, :plane_w - pw]
    widths = ((0, 0), (0, 0), (ph, plane_h - ph - grad.shape[2]), (pw, plane_w - pw - grad.shape[3]))
    return get_array_module(grad).pad(grad, widths) if any(map(any, widths)) else grad


class ConvTranspose2d(Function):
    """weight (C, O/groups, kh, kw), as torch's: the adjoint of a Conv2d whose weight it is, so it runs that conv's
    steps in swapped roles. At stride 1 (unless one output channel per group makes that conv depthwise) the conv is
    a wide one padded by (padding, padding - output_padding) on each axis: forward is its input gradient, dX the
    conv itself, dW its weight gradient with the output gradient as its input and x as its output's gradient. Other
    strides take the column path: forward is an unpadded conv's input gradient (a GEMM into columns and col2im) on
    the whole plane, of which the padding is then cut (output_padding keeps rows and columns of it at the bottom and
    right, zero past the plane, so that there only the bias reaches); dX is that conv of the output gradient put
    back on the plane; dW is its weight gradient with that plane as its input and x as its output gradient."""

    autocast_category = "lower"
    half_in_float32 = True

    node_name = "ConvolutionBackward0"  # torch's, of every convolution

    im2col = staticmethod(im2col)
    col2im = staticmethod(col2im)

    @staticmethod
    def check(x, weight, bias, options, output_padding):
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(f"conv_transpose2d expects a 4-d input (N, C, H, W) and weight (C, O, kh, kw), "
                             f"got {x.shape} and {weight.shape}")
        check_transposed_conv_operands(x.shape, weight.shape, None if bias is None else bias.shape, options.groups)
        check_spatial_sizes(x.shape)
        check_transposed_output_channels(weight.shape, options.groups)
        check_transposed_sizes(x.shape[2:], _transposed_shape(x.shape, weight.shape, options, output_padding)[2:],
                               output_padding, options.stride, options.dilation)

    @staticmethod
    def wide_padding(options, output_padding):
        """The padding, (before, after) per axis, of the wide conv that the transposed conv is the adjoint of: the
        output_padding rows and columns are outputs that the conv leaves out."""
        return tuple((pad, pad - extra) for pad, extra in zip(options.padding, output_padding))

    @staticmethod
    def forward(ctx, x, weight, bias=None, **params):
        options, output_padding = _transposed_options(params)
        ConvTranspose2d.check(x, weight, bias, options, output_padding)
        if options.path(weight.shape) != WIDE_PATH:
            return ConvTranspose2d.forward_columns(ctx, x, weight, bias, options, output_padding)
        ctx.save_for_backward(x, weight)
        return _wide_conv_adjoint(x, weight, ConvTranspose2d.wide_padding(options, output_padding), options.dilation,
                                  options.groups, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved
        options, output_padding = _transposed_options(ctx.params)
        if options.path(weight.shape) != WIDE_PATH:
            return ConvTranspose2d.backward_columns(ctx, grad)
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_b = Conv2d.bias_grad(ctx, grad)
        grad = get_array_module(grad).ascontiguousarray(grad)
        padding = ConvTranspose2d.wide_padding(options, output_padding)
        grad_x = _wide_conv(grad, weight, None, padding, options.dilation, options.groups) if need_x else None
        grad_w = (_wide_conv_weight_grad(grad, x, weight.shape, padding, options.dilation, options.groups) if need_w
                  else None)
        return grad_x, grad_w, grad_b

    @staticmethod
    def differentiable_backward(ctx, grad):
        """As the adjoint of a conv, its gradients are that conv (in x) and its weight gradient (in the weight), x
        the conv's output gradient: Conv2d's closed system. Where output_padding reaches a stride (below the
        dilation), that conv gives rows and columns past x, which x's gradient leaves out and x reads as zeros."""
        x, weight = ctx.linked_saved()
        options, output_padding = _transposed_options(ctx.params)
        need_x, need_w = ctx.needs_input_grad[:2]
        conv = ConvDirections(Conv2d, ctx.params, recorded=True)
        extra = [extra // step for extra, step in zip(output_padding, options.stride)]
        grad_x = grad_w = None
        if need_x:
            grad_x = conv.output(grad, weight)
            if any(extra):
                grad_x = grad_x[:, :, :x.shape[2], :x.shape[3]]
        if need_w:
            output_grad = Pad.apply(x, pad=(0, extra[1], 0, extra[0])) if any(extra) else x
            grad_w = conv.weight_gradient(grad, output_grad, weight.shape)
        return grad_x, grad_w, Conv2d.bias_grad(ctx, grad)

    @staticmethod
    def forward_columns(ctx, x, weight, bias, options, output_padding):
        plane = _output_to_columns(ctx.function, _output_rows(x, options.groups), weight,
                                   _plane_shape(x.shape, weight.shape, options), options._replace(padding=(0, 0)))
        out_shape = _transposed_shape(x.shape, weight.shape, options, output_padding)
        out = _output_of_plane(plane, options.padding, out_shape[2:])           # (N, O, out_h, out_w)
        if bias is not None:
            out += bias.reshape(-1, 1, 1)
        ctx.save_for_backward(x, weight)
        return get_array_module(out).ascontiguousarray(out)

    @staticmethod
    def backward_columns(ctx, grad):
        x, weight = ctx.saved
        options, _ = _transposed_options(ctx.params)
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_b = Conv2d.bias_grad(ctx, grad)
        grad = _plane_of_output(grad, options.padding, _plane_shape(x.shape, weight.shape, options))
        unpadded = options._replace(padding=(0, 0))
        # both gradients multiply the columns of the output's gradient: made once
        cols = ctx.function.im2col(grad, *weight.shape[2:], *unpadded.columns) if need_x and need_w else None
        grad_x = _columns_to_output(ctx.function, grad, weight, None, unpadded, cols) if need_x else None
        grad_w = _weight_grad_columns(ctx.function, grad, _output_rows(x, options.groups), weight.shape, unpadded,
                                      cols) if need_w else None
        return grad_x, grad_w, grad_b


@gpu_variant_of(ConvTranspose2d)
class ConvTranspose2dKernels(ConvTranspose2d):
    """Every stride on the column path, with minigrad.kernels' im2col and col2im, as Conv2dKernels."""

    im2col = staticmethod(kernels.im2col)
    col2im = staticmethod(kernels.col2im)

    @staticmethod
    def forward(ctx, x, weight, bias=None, **params):
        options, output_padding = _transposed_options(params)
        ConvTranspose2d.check(x, weight, bias, options, output_padding)
        return ConvTranspose2d.forward_columns(ctx, x, weight, bias, options, output_padding)

    backward = staticmethod(ConvTranspose2d.backward_columns)


class Unfold(Function):
    """F.unfold (im2col: each kernel-sized block of the image as a column) and, with `fold`, F.fold (col2im: the
    columns added back onto the image), on the columns as torch lays them out, (N, C*kh*kw, L) with the batch first.
    Each is the other's adjoint, so the backward of either is the forward of the other. The conv's im2col and col2im
    (ctx.function's, the CPU's or the GPU kernels') do the work; `columns` is their (stride, padding, dilation)."""

    node_name = staticmethod(lambda ctx: "Col2ImBackward0" if ctx.params["fold"] else "Im2ColBackward0")
    im2col = staticmethod(im2col)
    col2im = staticmethod(col2im)

    @staticmethod
    def forward(ctx, x, image_shape, kernel_size, columns, fold):
        return Unfold.blocks(ctx.function, x, image_shape, kernel_size, columns, fold)

    @staticmethod
    def backward(ctx, grad):
        params = ctx.params
        return Unfold.blocks(ctx.function, grad, params["image_shape"], params["kernel_size"], params["columns"],
                             not params["fold"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return Unfold.apply(grad, **{**ctx.params, "fold": not ctx.params["fold"]})

    @staticmethod
    def blocks(function, array, image_shape, kernel_size, columns, fold):
        """im2col of an image (N, C, H, W) of image_shape, or with `fold` col2im of columns (N, C*kh*kw, L), whose
        batch im2col and col2im keep inside each row: (C*kh*kw, N*L), a transposed copy where N > 1."""
        xp = get_array_module(array)
        if fold:
            cols = array.swapaxes(0, 1).reshape(array.shape[1], -1)
            return xp.ascontiguousarray(function.col2im(cols, image_shape, *kernel_size, *columns))
        cols = function.im2col(array, *kernel_size, *columns)
        blocks = math.prod(_column_plane(image_shape, *kernel_size, columns))
        return xp.ascontiguousarray(cols.reshape(cols.shape[0], image_shape[0], blocks).swapaxes(0, 1))


@gpu_variant_of(Unfold)
class UnfoldKernels(Unfold):
    """The same with minigrad.kernels' im2col and col2im, as Conv2dKernels."""

    im2col = staticmethod(kernels.im2col)
    col2im = staticmethod(kernels.col2im)


class DepthUnfold(Function):
    """A volumetric conv's depth taps as channels, so that a 2-d conv over each output slice does the rest
    (F.conv3d): a batch (N, C, D, H, W), zero-padded in depth, -> columns (N, positions, C, kd, H, W), entry
    [n, p, c, t] the depth slice p*stride + t*dilation of the padded batch. With `fold`, the adjoint
    (F.conv_transpose3d): such columns added back onto a batch of `depth` slices, the padding dropped. Each is the
    other's backward, as Unfold's. `taps` is the depth's (kd, stride, padding, dilation). A tap's slices in the
    batch are one strided slice of it, so either way is kd copies of the channels (shared out over the threads),
    with no padded copy: the positions in the padding are zeros in the columns and dropped by the fold."""

    @staticmethod
    def forward(ctx, x, depth, positions, taps, fold):
        return DepthUnfold.slices(x, depth, positions, taps, fold)

    @staticmethod
    def backward(ctx, grad):
        params = ctx.params
        return DepthUnfold.slices(grad, params["depth"], params["positions"], params["taps"], not params["fold"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return DepthUnfold.apply(grad, **{**ctx.params, "fold": not ctx.params["fold"]})

    @staticmethod
    def slices(array, depth, positions, taps, fold):
        """The columns of a batch (N, C, depth, H, W), or with `fold` the batch of columns (N, positions, C, kd, H, W)."""
        xp = get_array_module(array)
        n, channels, h, w = array.shape[0], array.shape[2 if fold else 1], *array.shape[-2:]
        reads = DepthUnfold.reads(depth, positions, taps)
        if fold:
            out = memory.zeros(xp, (n, channels, depth, h, w), array.dtype)
        else:
            out = memory.empty(xp, (n, positions, channels, taps[0], h, w), array.dtype)

        def work(start, stop):
            for tap, (first, last, read) in enumerate(reads):
                if fold:
                    out[:, start:stop, read] += array[:, first:last, start:stop, tap].swapaxes(1, 2)
                    continue
                out[:, :first, start:stop, tap] = 0
                out[:, last:, start:stop, tap] = 0
                out[:, first:last, start:stop, tap] = array[:, start:stop, read].swapaxes(1, 2)

        if parallel.worth_splitting(xp, array.size * (1 if fold else taps[0])):
            parallel.split(work, channels)
        else:
            work(0, channels)
        return out

    @staticmethod
    def reads(depth, positions, taps):
        """Per tap, (first, last, read): the positions first..last-1 whose slice lies in the unpadded depth, and
        the strided slice of the depth they read."""
        kernel, stride, padding, dilation = taps
        reads = []
        for tap in range(kernel):
            offset = tap * dilation - padding                                   # the slice position 0 reads
            first = min(positions, -(offset // stride)) if offset < 0 else 0
            last = max(first, min(positions, (depth - 1 - offset) // stride + 1))
            start = offset + first * stride
            reads.append((first, last, slice(start, start + (last - first - 1) * stride + 1, stride) if last > first
                          else slice(0, 0)))
        return reads
