"""Max and average pooling over the taps of each window, as torch places the windows, over 2 or 3 spatial dims.

Tap t of every window reads one strided slice of the padded input. Both poolings run a running maximum or sum
over the taps (where windows overlap, one axis at a time: see Windows.reductions), on the channels of every image
split over the threads; the average's backward spreads each window's gradient back the same way, the max's onto
its winner, tap by tap. Padding reads as -inf for the max and as 0 for the mean (whose
divisors count it or not, as torch's). Windows describes the windows once for both, and the arguments'
checks, with torch's errors. The 1-d poolings are the 2-d ones over a unit height (see minigrad.functional).

On the GPU, MaxPoolKernels pools with minigrad.kernels' max-pool kernels: one launch per direction.
Average pooling runs the same slices there, over all the planes at once: one launch per tap.
"""
import functools
import itertools
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function, gpu_variant_of
from ..kernels import output_size
from .conv import tap_index
from .elementwise import masked_into
from .upsample import adaptive_bins


def pooled_size(size, kernel, stride, padding, dilation, ceil_mode):
    """torch's output length of a pooling along one axis: with ceil_mode, a last partial window counts, unless it
    would start in the padding past the input."""
    effective = dilation * (kernel - 1) + 1
    out = output_size(size + (stride - 1 if ceil_mode else 0), effective, stride, padding)
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


# torch's names, in its 3-d checks' messages, of the functions that check
_VOLUME_CHECKERS = {"max_pool3d": "max_pool3d_with_indices_out_cpu_template", "avg_pool3d": "avg_pool3d"}


class Windows:
    """Where the windows of a pooling of `shape`, (C, *spatial) or (N, C, *spatial) with 2 or 3 spatial dims, lie,
    from per-axis sizes (as many as the spatial dims), checked as torch checks them; op (max_pool3d, avg_pool3d)
    names a 3-d pooling, whose checks depend on it. Tap t of output o reads input o*stride + t*dilation - padding
    along each axis."""

    def __init__(self, shape, kernel_size, stride, padding, dilation=None, ceil_mode=False, op=None):
        dilation = dilation or (1,) * len(kernel_size)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.in_size = tuple(shape[-len(kernel_size):])
        self._check_axes(shape)
        self.out_size = tuple(pooled_size(*args, ceil_mode) for args in zip(self.in_size, kernel_size, stride, padding,
                                                                            dilation))
        self._check_shape(shape, op)
        # the padded input reaches from -padding to the last window's last tap, or to the input's end
        reach = [(out - 1) * s + d * (k - 1) + 1 - p - size
                 for out, s, d, k, p, size in zip(self.out_size, stride, dilation, kernel_size, padding, self.in_size)]
        self.pad_widths = tuple((p, max(after, 0)) for p, after in zip(padding, reach))
        self.padded_size = tuple(size + sum(widths) for size, widths in zip(self.in_size, self.pad_widths))
        self.reaches_padding = self.padded_size != self.in_size
        # each tap's offset from its window's first input, in scan order (the last axis fastest), as torch's
        self.tap_starts = [tuple(t * d for t, d in zip(tap, dilation))
                           for tap in itertools.product(*(range(k) for k in kernel_size))]
        self.taps = [tap_index(starts, stride, self.out_size) for starts in self.tap_starts]
        # every padded pixel under at most one tap (so backward may assign), or under exactly one
        self.disjoint = all(d == 1 and s >= k for s, d, k in zip(stride, dilation, kernel_size))
        self.tiled = self.disjoint and all(s == k and out * k == size for s, k, out, size in
                                           zip(stride, kernel_size, self.out_size, self.padded_size))

    @functools.cached_property
    def reductions(self):
        """The steps from the padded planes to the output, each (its taps' slices, the size it leaves): where
        windows overlap, one axis at a time, the last first, so that a tap's slice along the last axis serves
        every padded row, and those along the others read whole rows of it, contiguous. A 3x3 stride-2 window
        so reads 6 strided units of out_h*out_w and 3 contiguous ones, where its 9 taps read 9 strided, which
        NumPy runs several times slower. Disjoint windows read each input once anyway: all the taps in one
        step."""
        if self.disjoint:
            return [(self.taps, self.out_size)]
        steps = []
        for axis in reversed(range(len(self.in_size))):
            rest = (slice(None),) * (len(self.in_size) - 1 - axis)
            taps = [(Ellipsis, tap_index((t * self.dilation[axis],), (self.stride[axis],), (self.out_size[axis],))[1],
                     *rest) for t in range(self.kernel_size[axis])]
            steps.append((taps, self.padded_size[:axis] + self.out_size[axis:]))
        return steps

    def _check_axes(self, shape):
        """torch's first checks: a 3-d pooling's input dims, then pooling_output_shape's, per axis."""
        if len(self.kernel_size) == 3 and len(shape) not in (4, 5):
            raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
        for kernel, stride, pad, step in zip(self.kernel_size, self.stride, self.padding, self.dilation):
            if stride == 0:
                raise RuntimeError("stride should not be zero")
            if pad < 0:
                raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
            if pad > int(((kernel - 1) * step + 1) / 2):           # C's division, toward zero
                raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pad}, "
                                   f"kernel_size={kernel} and dilation={step}")

    def _check_shape(self, shape, op):
        """torch's pool2d_shape_check or pool3d_shape_check, in its order."""
        dims = len(self.kernel_size)
        axes = "THW"[-dims:]
        for what, prefix, sizes in (("kernel size", "k", self.kernel_size), ("stride", "d", self.stride),
                                    ("dilation", "dilation", self.dilation)):
            if min(sizes) <= 0:
                listed = " ".join(f"{prefix}{axis}: {size}" for axis, size in zip(axes, sizes))
                raise RuntimeError(f"{what} should be greater than zero, but got {listed}")
        (self._check_planes if dims == 2 else self._check_volumes)(shape, op)
        if min(self.out_size) < 1:
            channels = shape[-dims - 1]
            raise RuntimeError(f"Given input size: ({'x'.join(map(str, (channels, *self.in_size)))}). Calculated "
                               f"output size: ({'x'.join(map(str, (channels, *self.out_size)))}). Output size is too "
                               "small")

    def _check_planes(self, shape, op):
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if len(shape) not in (3, 4) or 0 in shape[-3:]:
            raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                               f"got:{list(shape)}")
        if kw // 2 < pw or kh // 2 < ph:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {pw}, "
                               f"padH = {ph}, kW = {kw}, kH = {kh}")

    def _check_volumes(self, shape, op):
        """avg_pool3d also refuses a kernel larger than the input, padding or not."""
        (kt, kh, kw), (pt, ph, pw) = self.kernel_size, self.padding
        if 0 in shape[-4:]:
            raise RuntimeError(f"{_VOLUME_CHECKERS[op]}(): Expected input's non-batch dimensions to have positive "
                               f"length, but input has a shape of {list(shape)} and non-batch dimension 0 has length "
                               "zero!")
        if op == "avg_pool3d" and any(size < kernel for size, kernel in zip(self.in_size, self.kernel_size)):
            (t, h, w) = self.in_size
            raise RuntimeError(f"input image (T: {t} H: {h} W: {w}) smaller than kernel size (kT: {kt} kH: {kh} "
                               f"kW: {kw})")
        if kt // 2 < pt or kw // 2 < pw or kh // 2 < ph:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {kt} kW: "
                               f"{kw} kH: {kh} padT: {pt} padW: {pw} padH: {ph}")

    def padded(self, x, value):
        """x (..., *spatial) padded with `value` as far as the windows reach; x itself when they stay inside it."""
        if not self.reaches_padding:
            return x
        planes = memory.empty(get_array_module(x), x.shape[:-len(self.in_size)] + self.padded_size, x.dtype)
        self.fill_padding(planes, value)
        self.crop(planes)[...] = x
        return planes

    def fill_padding(self, planes, value):
        """Write `value` over the padding of padded planes (..., *padded_size)."""
        for axis, ((before, after), size) in enumerate(zip(self.pad_widths, self.padded_size)):
            rest = (slice(None),) * (len(self.padded_size) - 1 - axis)
            planes[(Ellipsis, slice(0, before), *rest)] = value
            planes[(Ellipsis, slice(size - after, size), *rest)] = value

    def crop(self, planes):
        """Padded planes (..., *padded_size) -> their input part (..., *in_size)."""
        return planes[(Ellipsis, *(slice(before, before + size) for (before, _), size in
                                   zip(self.pad_widths, self.in_size)))]

    def input_offsets(self, xp):
        """Per tap, the flat index into the input's plane (or volume) that it reads for each output position, shaped
        as out_size."""
        dims = len(self.in_size)
        strides = [math.prod(self.in_size[axis + 1:]) for axis in range(dims)]
        firsts = [(xp.arange(out, dtype=xp.int64) * s - p).reshape((-1,) + (1,) * (dims - 1 - axis))
                  for axis, (out, s, p) in enumerate(zip(self.out_size, self.stride, self.padding))]
        return [sum((first + start) * step for first, start, step in zip(firsts, starts, strides))
                for starts in self.tap_starts]

    def divisors(self, count_include_pad, divisor_override):
        """out_size float64: what each window's sum is divided by, as torch's avg_pool2d and avg_pool3d: the window's
        size cut at the far padding's end, or without count_include_pad its part inside the input."""
        if divisor_override:
            return np.full(self.out_size, float(divisor_override))
        lengths = []
        for out, s, p, k, size in zip(self.out_size, self.stride, self.padding, self.kernel_size, self.in_size):
            start = np.arange(out) * s - p
            stop = np.minimum(start + k, size + p)
            lengths.append(stop - start if count_include_pad else np.minimum(stop, size) - np.maximum(start, 0))
        return functools.reduce(np.multiply.outer, lengths).astype(np.float64)


# The planes are pooled in blocks of about this many bytes of padded input, so that a block stays in the core's
# cache over all the taps.
BLOCK_BYTES = 1 << 19


def _split_planes(work, planes, windows):
    """work(start, stop) over blocks of the (P, 1, *padded_size) planes that fit BLOCK_BYTES, shared out over the
    threads; over all the planes at once where threads do not pay (small arrays, and a GPU: one launch per tap
    there)."""
    if not parallel.worth_splitting(get_array_module(planes), planes.size):
        work(0, planes.shape[0])
        return
    plane_bytes = math.prod(windows.padded_size) * planes.itemsize
    parallel.split_blocks(work, planes.shape[0], BLOCK_BYTES // plane_bytes)


def _planes(x):
    """(N, C, *spatial) -> (N*C, 1, *spatial): every channel of every image pooled on its own, so split over the
    threads."""
    return x.reshape(x.shape[0] * x.shape[1], 1, *x.shape[2:])


def _over_taps(ufunc, planes, windows):
    """ufunc (maximum, add) of every tap's slice of the padded planes (P, 1, *padded_size) -> (P, 1, *out_size),
    in Windows.reductions' steps."""
    xp = get_array_module(planes)
    out = memory.empty(xp, planes.shape[:2] + windows.out_size, planes.dtype)
    steps = windows.reductions

    def work(start, stop):
        reduced = planes[start:stop]
        for index, (taps, size) in enumerate(steps):
            target = (out[start:stop] if index == len(steps) - 1 else
                      memory.empty(xp, reduced.shape[:2] + size, planes.dtype))
            first, *others = taps
            if others:
                ufunc(reduced[first], reduced[others.pop(0)], out=target)
            else:
                xp.copyto(target, reduced[first])
            for tap in others:
                ufunc(target, reduced[tap], out=target)
            reduced = target

    _split_planes(work, planes, windows)
    return out


def _spread(grad, windows, hits=None):
    """The adjoint of _over_taps' slicing: grad (P, 1, *out_size) added onto every tap's slice of the padded
    planes -> (P, 1, *in_size). hits(start, stop), if given, yields per tap a mask of the windows that send it their
    gradient, for those planes; without it every tap takes every window's, in the reductions' steps backwards."""
    xp = get_array_module(grad)
    fresh = memory.empty if windows.tiled else memory.zeros
    grad_x = fresh(xp, grad.shape[:2] + windows.padded_size, grad.dtype)
    steps = windows.reductions
    sizes = [windows.padded_size] + [size for _, size in steps[:-1]]     # what each step reduced

    def spread_back(start, stop):
        spread = grad[start:stop]
        for index in reversed(range(len(steps))):
            target = grad_x[start:stop] if index == 0 else fresh(xp, spread.shape[:2] + sizes[index], grad.dtype)
            for tap in steps[index][0]:
                if windows.disjoint:
                    xp.copyto(target[tap], spread)
                else:
                    target[tap] += spread
            spread = target

    def spread_to_winners(start, stop):
        chunk = grad[start:stop]
        for tap, hit in zip(windows.taps, hits(start, stop)):
            target = grad_x[start:stop][tap]
            if windows.disjoint:                                        # masked, not times hit: NaN * 0 is NaN
                masked_into(chunk, hit, target)
            else:
                target += masked_into(chunk, hit, memory.empty(xp, chunk.shape, chunk.dtype))

    _split_planes(spread_to_winners if hits else spread_back, grad_x, windows)
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


def _refuse_dtypes(name, x, kinds, dtypes=()):
    """torch's error for the dtypes whose kinds (NumPy's: "b" bool, "i", "u" integers), or which of `dtypes`, it does
    not pool."""
    if x.dtype.kind in kinds or x.dtype in dtypes:
        raise NotImplementedError(f"\"{name}\" not implemented for '{SCALAR_TYPE_NAMES[x.dtype]}'")


def max_pool_indices(x, maxima, windows):
    """torch's return_indices: for each window of x (N, C, *spatial), the flat index into its plane (or volume) of
    the first input, in scan order, equal to the window's maximum in maxima (N, C, *out_size); int64. Integers are
    searched as float64, whose NaN padding equals nothing."""
    if x.dtype.kind != "f":
        x, maxima = x.astype(np.float64), maxima.astype(np.float64)
    return _winner_offsets(windows.padded(x, np.nan), maxima, windows)


def _winner_offsets(planes, maxima, windows):
    """For each window of the padded planes (padding NaN), the flat index into its plane (or volume) of its winner
    (see _first_maxima), in maxima's shape; int64."""
    xp = get_array_module(planes)
    indices = xp.zeros(maxima.shape, dtype=xp.int64)
    for offsets, hit in zip(windows.input_offsets(xp), _first_maxima(planes, maxima, windows)):
        xp.copyto(indices, offsets, where=hit)
    return indices


def _named_by_dims(template):
    """The node_name of a pooling that serves 2 and 3 spatial dims: `template` with their count, as torch's."""
    return lambda ctx: template.format(len(ctx.params["windows"].kernel_size))


class MaxPool(Function):
    """Max over each window's taps; the first maximal tap wins, as in torch.

    Forward keeps what backward needs to find each window's winner (`pool` says what that is); backward
    sends each window's gradient to that tap.
    """

    node_name = _named_by_dims("MaxPool{}DWithIndicesBackward0")

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
    def differentiable_backward(ctx, grad):
        winners, x_shape = ctx.saved
        return MaxPoolGrad.apply(grad, pool=ctx.function, winners=winners, x_shape=x_shape,
                                 windows=ctx.params["windows"])

    @staticmethod
    def pool(x, windows):
        """(N, C, *spatial) -> (max of each window, (padded planes, maxima)): a running maximum over the taps.

        The winners are not picked here but found again by `unpool` from the input and the maxima, so
        that inference never pays for them (and training keeps no more: x is kept by its other users,
        a padded copy only where the windows reach into padding, its padding then set to NaN for unpool).
        """
        n, c = x.shape[:2]
        _refuse_dtypes(f"max_pool{len(windows.kernel_size)}d", x, "b")
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

    @staticmethod
    def winner_indices(winners, windows):
        """What pool found as each window's flat index of its winner into its plane (or volume), (N*C, -1)."""
        planes, maxima = winners
        return _winner_offsets(planes, maxima, windows).reshape(maxima.shape[0], -1)


@gpu_variant_of(MaxPool)
class MaxPoolKernels(MaxPool):
    """One kernel per direction: each window finds its winner, each input pixel gathers the windows it won."""

    @staticmethod
    def pool(x, windows):
        """The kernels are built for float and double: integers (which have no gradient) pool as on the CPU."""
        return (kernels.max_pool if x.dtype.kind == "f" else MaxPool.pool)(x, windows)

    unpool = staticmethod(kernels.max_pool_backward)

    @staticmethod
    def winner_indices(winners, windows):
        return winners.reshape(math.prod(winners.shape[:2]), -1)


class MaxPoolGrad(Function):
    """MaxPool's gradient as an op of the output's gradient, what MaxPool's forward found (`winners`, as `pool`, the
    op that ran, keeps them) its constant: a scatter of each window's gradient onto its winner, linear, so its
    gradient is the gather at the winners (MaxPoolGather), and that one's this scatter again."""

    node_name = _named_by_dims("MaxPool{}DWithIndicesBackwardBackward0")

    @staticmethod
    def forward(ctx, grad, pool, winners, x_shape, windows):
        return pool.unpool(grad, winners, x_shape, windows)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolGather.gather(grad, **ctx.params)

    @staticmethod
    def differentiable_backward(ctx, grad):
        return MaxPoolGather.apply(grad, **ctx.params)


class MaxPoolGather(Function):
    """Each window's winner picked from an input-side array: the adjoint of MaxPoolGrad, with its constants."""

    @staticmethod
    def forward(ctx, x, pool, winners, x_shape, windows):
        return MaxPoolGather.gather(x, pool, winners, x_shape, windows)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolGrad.forward(ctx, grad, **ctx.params)

    @staticmethod
    def differentiable_backward(ctx, grad):
        return MaxPoolGrad.apply(grad, **ctx.params)

    @staticmethod
    def gather(x, pool, winners, x_shape, windows):
        indices = pool.winner_indices(winners, windows)
        picked = get_array_module(x).take_along_axis(x.reshape(indices.shape[0], -1), indices, axis=1)
        return picked.reshape(x_shape[:2] + windows.out_size)


# by dims, torch's name in its dtype errors and the float dtypes that it does not average
_AVG_POOL_KERNELS = {2: ("avg_pool2d", ()), 3: ("avg_pool3d_out_frame", (np.float16,))}


class AvgPool(Function):
    """Sum over each window's taps (padding reads as 0) divided by Windows.divisors; backward spreads each
    window's gradient, so divided, evenly over its taps."""

    node_name = _named_by_dims("AvgPool{}DBackward0")

    @staticmethod
    def forward(ctx, x, windows, count_include_pad=True, divisor_override=None):
        """int64 averages are truncated toward zero, as torch's; torch has no other integer average pooling."""
        xp = get_array_module(x)
        n, c = x.shape[:2]
        name, refused_floats = _AVG_POOL_KERNELS[len(windows.kernel_size)]
        _refuse_dtypes(name, x, "biu" if x.dtype != np.int64 else "", refused_floats)
        sums = _window_sums(x, windows)
        if x.dtype.kind != "f":
            averages = xp.trunc(sums / xp.asarray(windows.divisors(count_include_pad, divisor_override)))
            return averages.astype(x.dtype).reshape(n, c, *windows.out_size)
        divisors = xp.asarray(windows.divisors(count_include_pad, divisor_override), dtype=x.dtype)
        ctx.save_for_backward(divisors, x.shape)
        return xp.divide(sums, divisors, out=sums).reshape(n, c, *windows.out_size)

    @staticmethod
    def backward(ctx, grad):
        divisors, x_shape = ctx.saved
        return AvgPool.spread(grad, divisors, x_shape, ctx.params["windows"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        divisors, x_shape = ctx.saved
        return AvgPoolGrad.apply(grad, divisors=divisors, x_shape=x_shape, **ctx.params)

    @staticmethod
    def spread(grad, divisors, x_shape, windows):
        """backward's: each window's gradient over divisors, spread evenly over its taps."""
        return _spread(_planes(grad / divisors), windows).reshape(x_shape)


def _window_sums(x, windows):
    """The sum of each window of x (N, C, *spatial), padding read as 0: (N*C, 1, *out_size)."""
    return _over_taps(get_array_module(x).add, windows.padded(_planes(x), 0), windows)


class AvgPoolGrad(Function):
    """AvgPool's gradient as an op of the output's gradient, with what AvgPool saved and its parameters as
    constants: linear, its gradient is the average pooling itself (the sums over the divisors), whose gradient it
    is."""

    node_name = _named_by_dims("AvgPool{}DBackwardBackward0")

    @staticmethod
    def forward(ctx, grad, divisors, x_shape, windows, **pooling):
        return AvgPool.spread(grad, divisors, x_shape, windows)

    @staticmethod
    def backward(ctx, grad):
        params = ctx.params
        sums = _window_sums(grad, params["windows"])
        return (sums / params["divisors"]).reshape(params["x_shape"][:2] + sums.shape[2:])

    @staticmethod
    def differentiable_backward(ctx, grad):
        pooling = {name: value for name, value in ctx.params.items() if name not in ("divisors", "x_shape")}
        return AvgPool.apply(grad, **pooling)


_ADAPTIVE_MAX_KERNEL_NAMES = {2: "adaptive_max_pool2d", 3: "adaptive_max_pool3d_cpu"}  # torch's, by dims


def adaptive_max_indices(x, out_size):
    """torch's adaptive_max_pool2d and adaptive_max_pool3d indices: for each bin (adaptive_bins along each axis) of
    x (N, C, *spatial), the flat index into its plane (or volume) of its first maximum in scan order (its last NaN,
    where it has one), int64. The max is separable: the bins' maxima along the last axis first, then along each
    axis before it."""
    dims = len(out_size)
    _refuse_dtypes(_ADAPTIVE_MAX_KERNEL_NAMES[dims], x, "biu")
    xp = get_array_module(x)
    spatial = x.shape[-dims:]
    maxima, winners = x, xp.arange(math.prod(spatial), dtype=xp.int64).reshape(spatial)
    for axis in range(-1, -dims - 1, -1):
        maxima, winners = _bin_maxima(maxima, winners, axis, out_size[axis])
    return winners


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
