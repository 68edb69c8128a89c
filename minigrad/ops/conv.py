"""2-D convolution over kernel taps (pooling is in minigrad.ops.pool).

Stride 1 without dilation or groups (every conv of the network and of the loss) runs on the "wide" flat
layout below: per image and per block of output rows, one column matrix of offset slices and one GEMM, or,
with many input channels, one GEMM over the kernel's row taps stacked (see STACKED). dX
is the same conv of the gradient with the flipped kernel, and dW recomputes the columns, so backward
keeps only the unpadded input. Blocks of output rows, of every image, are shared out over the worker
threads (minigrad.parallel), so one big image uses every core too. Other strides, dilations and groups
use the column path, im2col + one GEMM over the whole batch: tap (i, j) sees the strided slice of the
padded input that starts at (i*dh, j*dw); im2col copies each tap's slice into a column block and col2im
adds it back, tap by tap, so no scatter (np.add.at) is ever needed. The column rows are ordered (c, i, j),
so with groups they split, as they are, into one block of C/G*kh*kw rows per group, and the GEMMs become
batched over the groups.

On the GPU, Conv2dKernels runs every conv on the column path with minigrad.kernels' im2col and
col2im: a few large launches.
"""
from typing import NamedTuple

from .. import kernels, memory, parallel
from ..kernels import output_size
from ..backend import get_array_module
from ..function import Function, gpu_variant_of
from .matmul import matmul


def _tap(top, left, stride, out_h, out_w):
    """Index of the padded input that the kernel tap at (top, left) multiplies, for every output position,
    stride (sh, sw)."""
    sh, sw = stride
    return (
        slice(None),
        slice(None),
        slice(top, top + sh * (out_h - 1) + 1, sh),
        slice(left, left + sw * (out_w - 1) + 1, sw),
    )


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
                cols[start:stop, i, j] = x[:, start:stop][_tap(i * dh, j * dw, stride, out_h, out_w)].swapaxes(0, 1)

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
                tap = _tap(i * dh, j * dw, stride, out_h, out_w)
                padded[:, start:stop][tap] += cols[start:stop, i, j].swapaxes(0, 1)

    parallel.split(work, c)
    return padded[:, :, ph:ph + h, pw:pw + w]


# ---- stride-1 convolution on the "wide" flat layout ---------------------------------------------
# Each image's padded channels are stored flat, Hp*Wp values per channel (plus kw-1 zeros, so the
# last taps stay in bounds). Output position (r, q) is computed at wide index r*Wp + q, so kernel
# tap (i, j) reads the contiguous run that starts i*Wp + j further on: one offset slice per tap
# instead of a 2-D window gather. The kw-1 columns at the right of every wide row are garbage and
# are cropped; in backward they get zero gradient. Images are padded one at a time into a buffer
# of each thread, so no padded copy of the batch is ever made.

# Work on a few output rows at a time, so that a block's column matrix stays in the core's cache
# between being written and being multiplied.
COLUMN_BLOCK_BYTES = 2 << 20
# From this many input channels on, copying every tap's columns costs more than the GEMM gains from them.
STACK_MIN_CHANNELS = 16

# How a stride-1 conv runs its GEMM, per block of output rows (the threshold measured on the network's layers):
COLUMNS = "columns"   # one GEMM on a column matrix of all taps: few input channels, or a 1x1 kernel (no copy)
STACKED = "stacked"   # the kh row taps copied into the GEMM's inner dimension, the kw column taps into its output rows


class _WideGeometry:
    """Sizes and tap offsets of a stride-1 conv of an (H, W) image padded by (ph, pw), kernel kh x kw."""

    def __init__(self, h, w, ph, pw, kh, kw):
        self.h, self.w, self.ph, self.pw, self.kh, self.kw = h, w, ph, pw, kh, kw
        self.hp, self.wp = h + 2 * ph, w + 2 * pw
        self.out_h, self.out_w = self.hp - kh + 1, self.wp - kw + 1
        self.offsets = [i * self.wp + j for i in range(kh) for j in range(kw)]
        self.flat_size = self.hp * self.wp + kw - 1

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
        """image (C, H, W) -> its padded flat form (C, flat_size); a plain view when nothing is padded."""
        if self.flat_size == self.h * self.w and image.flags.c_contiguous:
            return image.reshape(image.shape[0], -1)
        interior = buffer[:, :self.hp * self.wp].reshape(-1, self.hp, self.wp)
        interior[:, self.ph:self.ph + self.h, self.pw:self.pw + self.w] = image
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
        """Positions a row stack spans for `length` wide outputs: the column taps reach kw-1 further."""
        return length + self.kw - 1

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
        rows (i, c). Column tap j of the block's wide output p then reads its position p + j."""
        begin, length = first * self.wp, self.stacked_length((stop - first) * self.wp)
        stack = buffer[:, :, :length]
        for i in range(self.kh):
            stack[i] = flat[:, begin + i * self.wp:begin + i * self.wp + length]
        return stack.reshape(-1, length)

    def crop(self, wide):
        """(O, rows*Wp) -> (O, rows, out_w) view without the garbage columns."""
        return wide.reshape(wide.shape[0], -1, self.wp)[:, :, :self.out_w]


def _conv_wide(x, geometry, weight, bias=None):
    """out[n] = weight @ columns(padded x[n]) (+ bias), cropped: (N, O, out_h, out_w).

    STACKED multiplies the row stack by the weight as (kw*O, kh*C) instead and sums each column tap
    j's O rows at offset j.
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
                    wide += column_taps[j, :, j:j + length]
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

    STACKED multiplies kw copies of the gradient, copy j shifted j positions on, by the row stack
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
            if strategy == STACKED:                                     # copy j = the gradient shifted j on
                shifted = shifted_buffer[:, :, :geometry.stacked_length(length)]
                for j in range(kw):
                    geometry.crop(shifted[j, :, j:j + length])[...] = block
                    shifted[j, :, j + length:] = 0                      # a longer block before may have left data
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


def _geometry(x, weight, ph, pw):
    return _WideGeometry(x.shape[2], x.shape[3], ph, pw, *weight.shape[2:])


def _conv_stride1(x, weight, bias, ph, pw):
    """Stride-1 conv of x (N, C, H, W) with weight (O, C, kh, kw), padded by (ph, pw)."""
    return _conv_wide(x, _geometry(x, weight, ph, pw), weight, bias)


def _input_grad_stride1(grad, weight, ph, pw):
    """dX of a stride-1 conv: the full correlation of grad with the flipped, transposed kernel."""
    kh, kw = weight.shape[2:]
    flipped = get_array_module(weight).ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    full_h, full_w = kh - 1 - ph, kw - 1 - pw                          # < 0: padding beyond the kernel
    grad_x = _conv_stride1(grad, flipped, None, max(full_h, 0), max(full_w, 0))
    if full_h < 0 or full_w < 0:
        h, w = grad.shape[2] + kh - 1 - 2 * ph, grad.shape[3] + kw - 1 - 2 * pw
        top, left = max(-full_h, 0), max(-full_w, 0)
        grad_x = grad_x[:, :, top:top + h, left:left + w]
    return grad_x


class ConvOptions(NamedTuple):
    """A conv's options beside its arrays, as Conv2d.apply takes them: stride, padding and dilation are
    (height, width) pairs (minigrad.functional.conv2d makes them)."""

    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1

    @property
    def wide(self):
        """Whether the stride-1 wide path computes this conv (any padding, kh != kw included)."""
        return self.stride == (1, 1) and self.dilation == (1, 1) and self.groups == 1

    @property
    def columns(self):
        """im2col's and col2im's (stride, padding, dilation)."""
        return self.stride, self.padding, self.dilation


class Conv2d(Function):
    """weight (O, C/groups, kh, kw): output channel block g (O/groups of them) sees input channel block g."""

    @staticmethod
    def check(x, weight, bias, options):
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(f"conv2d expects a 4-d input (N, C, H, W) and weight (O, C, kh, kw), got {x.shape} and {weight.shape}")
        if bias is not None and bias.shape != weight.shape[:1]:
            raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},), one value per output channel "
                             f"of weight {tuple(weight.shape)}, got {tuple(bias.shape)}")
        groups = options.groups
        if weight.shape[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                               f"but got weight of size [{list(weight.shape)}] instead")
        if x.shape[1] != weight.shape[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, "
                               f"expected input{list(x.shape)} to have {weight.shape[1] * groups} channels, "
                               f"but got {x.shape[1]} channels instead")
        padded = [size + 2 * pad for size, pad in zip(x.shape[2:], options.padding)]
        spans = [dilation * (size - 1) + 1 for size, dilation in zip(weight.shape[2:], options.dilation)]
        if padded[0] < spans[0] or padded[1] < spans[1]:
            raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x {padded[1]}). Kernel size: "
                               f"({spans[0]} x {spans[1]}). Kernel size can't be greater than actual input size")

    @staticmethod
    def bias_grad(ctx, grad):
        return grad.sum(axis=(0, 2, 3)) if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2] else None

    @staticmethod
    def forward(ctx, x, weight, bias=None, **options):
        options = ConvOptions(**options)
        Conv2d.check(x, weight, bias, options)
        if not options.wide:
            return Conv2d.forward_columns(ctx, x, weight, bias, options)
        out = _conv_stride1(x, weight, bias, *options.padding)
        ctx.save_for_backward(x, weight)                     # backward re-pads x: no second copy kept
        return out

    @staticmethod
    def backward(ctx, grad):
        options = ConvOptions(**ctx.params)
        if not options.wide:
            return Conv2d.backward_columns(ctx, grad)
        x, weight = ctx.saved
        ph, pw = options.padding
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_b = Conv2d.bias_grad(ctx, grad)
        grad = get_array_module(grad).ascontiguousarray(grad)
        grad_w = grad_x = None
        if need_w:
            grad_w = _weight_grad_wide(x, _geometry(x, weight, ph, pw), grad, weight.shape)
        if need_x:
            grad_x = _input_grad_stride1(grad, weight, ph, pw)
        return grad_x, grad_w, grad_b

    # The column path, for any stride, dilation and groups: ctx.function's im2col builds the columns of the
    # whole batch, one GEMM per group multiplies them. Backward rebuilds the columns rather than keeping them.
    # The batch sits inside each column row, so that dW is one GEMM per group too (the batch summed inside it),
    # not one per image; the price is a transposed copy of the output and of its gradient, (N, O) <-> (O, N).
    im2col = staticmethod(im2col)
    col2im = staticmethod(col2im)

    @staticmethod
    def forward_columns(ctx, x, weight, bias, options):
        out_channels, _, kh, kw = weight.shape
        cols = ctx.function.im2col(x, kh, kw, *options.columns)                    # (C*kh*kw, N*L)
        out = matmul(_per_group(weight, options.groups), _per_group(cols, options.groups))  # (G, O/G, N*L)
        out = out.reshape(out_channels, -1)                                         # (O, N*L)
        if bias is not None:
            out += bias.reshape(-1, 1)
        ctx.save_for_backward(x, weight)
        (sh, sw), (ph, pw), (dh, dw) = options.columns
        out_h, out_w = output_size(x.shape[2], kh, sh, ph, dh), output_size(x.shape[3], kw, sw, pw, dw)
        out = out.reshape(out_channels, x.shape[0], out_h, out_w).swapaxes(0, 1)   # (N, O, out_h, out_w)
        return get_array_module(out).ascontiguousarray(out)

    @staticmethod
    def backward_columns(ctx, grad):
        x, weight = ctx.saved
        options = ConvOptions(**ctx.params)
        need_x, need_w = ctx.needs_input_grad[:2]
        xp = get_array_module(grad)
        kh, kw = weight.shape[2:]
        grad_b = Conv2d.bias_grad(ctx, grad)
        grad = _per_group(xp.ascontiguousarray(grad.swapaxes(0, 1)), options.groups)  # (G, O/G, N*L)
        grad_x = grad_w = None
        if need_w:
            cols = ctx.function.im2col(x, kh, kw, *options.columns)
            cols = _per_group(cols, options.groups)                             # (G, C/G*kh*kw, N*L)
            grad_w = matmul(grad, cols.swapaxes(1, 2)).reshape(weight.shape)
            del cols                                                            # grad_cols below reuses its memory
        if need_x:
            grad_cols = matmul(_per_group(weight, options.groups).swapaxes(1, 2), grad)  # (G, C/G*kh*kw, N*L)
            grad_x = ctx.function.col2im(grad_cols.reshape(-1, grad.shape[-1]), x.shape, kh, kw, *options.columns)
        return grad_x, grad_w, grad_b


def _per_group(array, groups):
    """A weight (O, C/G, kh, kw), columns (C*kh*kw, N*L) or output gradient (O, N, out_h, out_w) -> (G, rows of a
    group, -1): a free reshape, as each group's rows are contiguous."""
    return array.reshape(groups, array.shape[0] // groups, -1)


@gpu_variant_of(Conv2d)
class Conv2dKernels(Conv2d):
    """The GPU runs every conv, stride 1 too, on the column path, with one im2col kernel per direction:
    col2im gathers per input pixel, so no atomics and a deterministic sum."""

    im2col = staticmethod(kernels.im2col)
    col2im = staticmethod(kernels.col2im)

    @staticmethod
    def forward(ctx, x, weight, bias=None, **options):
        options = ConvOptions(**options)
        Conv2d.check(x, weight, bias, options)
        return Conv2d.forward_columns(ctx, x, weight, bias, options)

    backward = staticmethod(Conv2d.backward_columns)
