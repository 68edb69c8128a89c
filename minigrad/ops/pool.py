"""Max and average pooling over the taps of each window, as torch places the windows.

Tap (i, j) of every window reads one strided slice of the padded input, so both poolings run over the
kernel's taps, a running maximum or sum per tap, on the channels of every image split over the threads;
backward adds each window's gradient back onto the same slices. Padding reads as -inf for the max and
as 0 for the mean (whose divisors count it or not, as torch's). Windows describes the windows once for
both, and the arguments' checks, with torch's errors.

On the GPU, MaxPool2dKernels pools with minigrad.kernels' max-pool kernels: one launch per direction.
Average pooling runs the same per-tap slices there, over all the planes at once: one launch per tap.
"""
import itertools

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function, gpu_variant_of
from ..kernels import output_size
from .conv import tap_index
from .upsample import adaptive_bins


def pooled_size(size, kernel, stride, padding, dilation, ceil_mode):
    """torch's output length of a pooling along one axis: with ceil_mode, a last partial window counts, unless it
    would start in the padding past the input."""
    effective = dilation * (kernel - 1) + 1
    out = output_size(size + (stride - 1 if ceil_mode else 0), effective, stride, padding)
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class Windows:
    """Where the windows of a 2-d pooling of (C, H, W) or (N, C, H, W) `shape` lie, from (h, w) pairs of sizes,
    checked as torch checks them. Tap (i, j) of output (oy, ox) reads input (oy*sh + i*dh - ph, ox*sw + j*dw - pw)."""

    def __init__(self, shape, kernel_size, stride, padding, dilation=(1, 1), ceil_mode=False):
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        for axis in range(2):
            kernel, pad, step = kernel_size[axis], padding[axis], dilation[axis]
            if stride[axis] == 0:
                raise RuntimeError("stride should not be zero")
            if pad < 0:
                raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
            if pad > int(((kernel - 1) * step + 1) / 2):           # C's division, toward zero
                raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pad}, "
                                   f"kernel_size={kernel} and dilation={step}")
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
        if kh <= 0 or kw <= 0:
            raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
        if sh <= 0 or sw <= 0:
            raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
        if dh <= 0 or dw <= 0:
            raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}")
        if len(shape) not in (3, 4) or 0 in shape[-3:]:
            raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                               f"got:{list(shape)}")
        if kw // 2 < pw or kh // 2 < ph:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {pw}, "
                               f"padH = {ph}, kW = {kw}, kH = {kh}")
        self.in_size = shape[-2:]
        self.out_size = tuple(pooled_size(*args, ceil_mode) for args in zip(self.in_size, kernel_size, stride, padding,
                                                                            dilation))
        if min(self.out_size) < 1:
            channels, (h, w), (out_h, out_w) = shape[-3], self.in_size, self.out_size
            raise RuntimeError(f"Given input size: ({channels}x{h}x{w}). Calculated output size: "
                               f"({channels}x{out_h}x{out_w}). Output size is too small")
        # the padded input reaches from -padding to the last window's last tap, or to the input's end
        reach = [(out - 1) * s + d * (k - 1) + 1 - p - size
                 for out, s, d, k, p, size in zip(self.out_size, stride, dilation, kernel_size, padding, self.in_size)]
        self.pad_widths = tuple((p, max(after, 0)) for p, after in zip(padding, reach))
        self.padded_size = tuple(size + sum(widths) for size, widths in zip(self.in_size, self.pad_widths))
        self.reaches_padding = self.padded_size != tuple(self.in_size)
        self.taps = [tap_index(i * dh, j * dw, stride, self.out_size) for i in range(kh) for j in range(kw)]
        # every padded pixel under at most one tap (so backward may assign), or under exactly one
        self.disjoint = all(d == 1 and s >= k for s, d, k in zip(stride, dilation, kernel_size))
        self.tiled = self.disjoint and all(s == k and out * k == size for s, k, out, size in
                                           zip(stride, kernel_size, self.out_size, self.padded_size))

    def padded(self, x, value):
        """x (..., H, W) padded with `value` as far as the windows reach; x itself when they stay inside it."""
        if not self.reaches_padding:
            return x
        planes = memory.empty(get_array_module(x), x.shape[:-2] + self.padded_size, x.dtype)
        self.fill_padding(planes, value)
        self.crop(planes)[...] = x
        return planes

    def fill_padding(self, planes, value):
        """Write `value` over the padding of padded planes (..., Hp, Wp)."""
        (top, bottom), (left, right) = self.pad_widths
        hp, wp = self.padded_size
        for border in ((Ellipsis, slice(0, top), slice(None)), (Ellipsis, slice(hp - bottom, hp), slice(None)),
                       (Ellipsis, slice(0, left)), (Ellipsis, slice(wp - right, wp))):
            planes[border] = value

    def crop(self, planes):
        """Padded planes (..., Hp, Wp) -> their input part (..., H, W)."""
        (top, _), (left, _) = self.pad_widths
        return planes[..., top:top + self.in_size[0], left:left + self.in_size[1]]

    def input_offsets(self, xp):
        """Per tap, the flat index into the (H, W) plane that it reads for each output position, (out_h, out_w)."""
        rows, cols = (xp.arange(out, dtype=xp.int64) * s - p for out, s, p in zip(self.out_size, self.stride, self.padding))
        (kh, kw), (dh, dw), w = self.kernel_size, self.dilation, self.in_size[1]
        return [(rows[:, None] + i * dh) * w + (cols + j * dw) for i in range(kh) for j in range(kw)]

    def divisors(self, count_include_pad, divisor_override):
        """(out_h, out_w) float64: what each window's sum is divided by, as torch's avg_pool2d: the window's size
        cut at the far padding's end, or without count_include_pad its part inside the input."""
        if divisor_override:
            return np.full(self.out_size, float(divisor_override))
        lengths = []
        for out, s, p, k, size in zip(self.out_size, self.stride, self.padding, self.kernel_size, self.in_size):
            start = np.arange(out) * s - p
            stop = np.minimum(start + k, size + p)
            lengths.append(stop - start if count_include_pad else np.minimum(stop, size) - np.maximum(start, 0))
        return np.outer(*lengths).astype(np.float64)


# The planes are pooled in blocks of about this many bytes of padded input, so that a block stays in the core's
# cache over all the taps.
BLOCK_BYTES = 1 << 19


def _split_planes(work, planes, windows):
    """work(start, stop) over blocks of the (P, 1, Hp, Wp) planes that fit BLOCK_BYTES, shared out over the threads;
    over all the planes at once where threads do not pay (small arrays, and a GPU: one launch per tap there)."""
    if not parallel.worth_splitting(get_array_module(planes), planes.size):
        work(0, planes.shape[0])
        return
    plane_bytes = windows.padded_size[0] * windows.padded_size[1] * planes.itemsize
    parallel.split_blocks(work, planes.shape[0], BLOCK_BYTES // plane_bytes)


def _planes(x):
    """(N, C, H, W) -> (N*C, 1, H, W): every channel of every image pooled on its own, so split over the threads."""
    n, c, h, w = x.shape
    return x.reshape(n * c, 1, h, w)


def _over_taps(ufunc, planes, windows):
    """ufunc (maximum, add) of every tap's slice of the padded planes (P, 1, Hp, Wp) -> (P, 1, out_h, out_w)."""
    xp = get_array_module(planes)
    out = memory.empty(xp, planes.shape[:2] + windows.out_size, planes.dtype)
    first, *others = windows.taps

    def work(start, stop):
        chunk, target = planes[start:stop], out[start:stop]
        xp.copyto(target, chunk[first])
        for tap in others:
            ufunc(target, chunk[tap], out=target)

    _split_planes(work, planes, windows)
    return out


def _spread(grad, windows, hits=None):
    """The adjoint of _over_taps' slicing: grad (P, 1, out_h, out_w) added onto every tap's slice of the padded
    planes -> (P, 1, H, W). hits(start, stop), if given, yields per tap a mask of the windows that send it their
    gradient, for those planes; without it every tap takes every window's."""
    xp = get_array_module(grad)
    grad_x = (memory.empty if windows.tiled else memory.zeros)(xp, grad.shape[:2] + windows.padded_size, grad.dtype)

    def work(start, stop):
        chunk = grad[start:stop]
        for tap, hit in zip(windows.taps, hits(start, stop) if hits else itertools.repeat(None)):
            target = grad_x[start:stop][tap]
            if hit is None:
                if windows.disjoint:
                    xp.copyto(target, chunk)
                else:
                    target += chunk
            elif windows.disjoint:
                xp.multiply(chunk, hit, out=target)
            else:
                target += chunk * hit

    _split_planes(work, grad_x, windows)
    return windows.crop(grad_x)


def _first_maxima(planes, maxima, windows):
    """Per tap, in order, where it is the tap that wins its window: the first equal to the window's maximum, or,
    where that is NaN, the window's last NaN, as torch's; one bool mask shaped as maxima, rewritten for each tap.
    Padding must read as NaN here, which equals nothing (and is no NaN of the input)."""
    xp = get_array_module(planes)
    last_nan = _last_nan_taps(planes, maxima, windows)
    unclaimed = xp.ones(maxima.shape, dtype=bool)                  # windows whose winner is still unfound
    hit = xp.empty_like(unclaimed)
    for index, tap in enumerate(windows.taps):
        xp.equal(planes[tap], maxima, out=hit)
        hit &= unclaimed
        unclaimed ^= hit
        if last_nan is not None:
            hit |= last_nan == index
        yield hit


def _last_nan_taps(planes, maxima, windows):
    """For each window whose maximum is NaN, the index of its last tap on a NaN of the input (-1 elsewhere); None
    where no window's is, so that NaN-free input pays one check."""
    xp = get_array_module(planes)
    nan_windows = xp.isnan(maxima)
    if not nan_windows.any():
        return None
    nans = xp.isnan(planes)
    windows.fill_padding(nans, False)
    last = xp.full(maxima.shape, -1, dtype=np.int64)
    for index, tap in enumerate(windows.taps):
        last[nans[tap] & nan_windows] = index
    return last


def _lowest(dtype):
    """What padding reads as in a max: -inf, or an integer type's least value."""
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _refuse_dtypes(name, x, kinds):
    """torch's error for the dtypes whose kinds (NumPy's: "b" bool, "i", "u" integers) it does not pool."""
    if x.dtype.kind in kinds:
        raise NotImplementedError(f"\"{name}\" not implemented for '{SCALAR_TYPE_NAMES[x.dtype]}'")


def max_pool_indices(x, maxima, windows):
    """torch's return_indices: for each window of x (N, C, H, W), the flat index into its (H, W) plane of the first
    input equal to the window's maximum in maxima (N, C, out_h, out_w); int64. Integers are searched as float64,
    whose NaN padding equals nothing."""
    xp = get_array_module(x)
    if x.dtype.kind != "f":
        x, maxima = x.astype(np.float64), maxima.astype(np.float64)
    indices = xp.zeros(maxima.shape, dtype=xp.int64)
    for offsets, hit in zip(windows.input_offsets(xp), _first_maxima(windows.padded(x, np.nan), maxima, windows)):
        xp.copyto(indices, offsets, where=hit)
    return indices


class MaxPool2d(Function):
    """Max over each window's taps; the first maximal tap wins, as in torch.

    Forward keeps what backward needs to find each window's winner (`pool` says what that is); backward
    sends each window's gradient to that tap.
    """

    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, windows):
        out, winners = ctx.function.pool(x, windows)
        ctx.save_for_backward(winners, x.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        winners, x_shape = ctx.saved
        return ctx.function.unpool(grad, winners, x_shape, ctx.params["windows"])

    @staticmethod
    def pool(x, windows):
        """(N, C, H, W) -> (max of each window, (padded planes, maxima)): a running maximum over the taps.

        The winners are not picked here but found again by `unpool` from the input and the maxima, so
        that inference never pays for them (and training keeps no more: x is kept by its other users,
        a padded copy only where the windows reach into padding, its padding then set to NaN for unpool).
        """
        n, c = x.shape[:2]
        _refuse_dtypes("max_pool2d", x, "b")
        planes = windows.padded(_planes(x), _lowest(x.dtype))
        out = _over_taps(get_array_module(x).maximum, planes, windows)
        if windows.reaches_padding and x.dtype.kind == "f":  # integers have no gradient, so no unpool
            windows.fill_padding(planes, np.nan)
        return out.reshape(n, c, *windows.out_size), (planes, out)

    @staticmethod
    def unpool(grad, winners, x_shape, windows):
        """Each window's gradient onto its first input pixel equal to the window's max."""
        planes, maxima = winners
        grad = get_array_module(grad).ascontiguousarray(grad).reshape(maxima.shape)
        hits = lambda start, stop: _first_maxima(planes[start:stop], maxima[start:stop], windows)  # noqa: E731
        return _spread(grad, windows, hits).reshape(x_shape)


@gpu_variant_of(MaxPool2d)
class MaxPool2dKernels(MaxPool2d):
    """One kernel per direction: each window finds its winner, each input pixel gathers the windows it won."""

    @staticmethod
    def pool(x, windows):
        """The kernels are built for float and double: integers (which have no gradient) pool as on the CPU."""
        return (kernels.max_pool if x.dtype.kind == "f" else MaxPool2d.pool)(x, windows)

    unpool = staticmethod(kernels.max_pool_backward)


class AvgPool2d(Function):
    """Sum over each window's taps (padding reads as 0) divided by Windows.divisors; backward spreads each
    window's gradient, so divided, evenly over its taps."""

    node_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, windows, count_include_pad=True, divisor_override=None):
        """int64 averages are truncated toward zero, as torch's; torch has no other integer average pooling."""
        xp = get_array_module(x)
        n, c = x.shape[:2]
        _refuse_dtypes("avg_pool2d", x, "biu" if x.dtype != np.int64 else "")
        sums = _over_taps(xp.add, windows.padded(_planes(x), 0), windows)
        if x.dtype.kind != "f":
            averages = xp.trunc(sums / xp.asarray(windows.divisors(count_include_pad, divisor_override)))
            return averages.astype(x.dtype).reshape(n, c, *windows.out_size)
        divisors = xp.asarray(windows.divisors(count_include_pad, divisor_override), dtype=x.dtype)
        ctx.save_for_backward(divisors, x.shape)
        return xp.divide(sums, divisors, out=sums).reshape(n, c, *windows.out_size)

    @staticmethod
    def backward(ctx, grad):
        divisors, x_shape = ctx.saved
        windows = ctx.params["windows"]
        shares = _planes(grad / divisors)
        return _spread(shares, windows).reshape(x_shape)


def adaptive_max_indices(x, out_size):
    """torch's adaptive_max_pool2d indices: for each bin (adaptive_bins along each axis) of x (N, C, H, W), the flat
    index into its (H, W) plane of its first maximum in row-major order (its last NaN, where it has one), int64.
    The max is separable: the bins' maxima along each row first, then those along the columns."""
    _refuse_dtypes("adaptive_max_pool2d", x, "biu")
    xp = get_array_module(x)
    h, w = x.shape[-2:]
    flat = xp.arange(h * w, dtype=xp.int64).reshape(h, w)
    row_maxima, row_winners = _bin_maxima(x, flat, -1, out_size[1])
    return _bin_maxima(row_maxima, row_winners, -2, out_size[0])[1]


def _bin_maxima(values, positions, axis, out_size):
    """Along `axis`, each adaptive bin's maximum of values and the entry of positions (broadcast against values)
    at its first maximum, as torch scans a bin: a later entry wins only if greater, or NaN."""
    xp = get_array_module(values)
    start, stop = adaptive_bins(values.shape[axis], out_size)
    best = best_at = None
    for tap in range(int((stop - start).max())):
        at = xp.asarray(np.minimum(start + tap, stop - 1))  # a shorter bin reads its last entry again: no change
        value, position = xp.take(values, at, axis=axis), xp.take(positions, at, axis=axis)
        if best is None:
            best, best_at = value, xp.broadcast_to(position, value.shape)
            continue
        wins = (value > best) | xp.isnan(value)
        best, best_at = xp.where(wins, value, best), xp.where(wins, position, best_at)
    return best, best_at
