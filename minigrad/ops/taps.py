"""Where the taps of a kernel slid over padded planes (or volumes) read: the layout that poolings (minigrad.ops.pool)
and depthwise convs (minigrad.ops.conv) run their taps on, one slice of the padded input per tap."""
import itertools
import math

import numpy as np

from .. import memory
from ..backend import get_array_module


def tap_index(starts, stride, out_size):
    """Index of padded planes (..., Hp, Wp) or volumes (..., Dp, Hp, Wp) that the kernel tap at `starts` (its
    offset along each axis) multiplies (a conv) or reads (a pooling), for every output position: strided slices,
    per axis of stride and out_size."""
    return (Ellipsis,) + tuple(slice(start, start + step * (out - 1) + 1, step)
                               for start, step, out in zip(starts, stride, out_size))


class TapLayout:
    """The taps of a kernel over an input of in_size, for outputs of out_size, from per-axis sizes (as many as the
    spatial dims). Tap t of output o reads input o*stride + t*dilation - padding along each axis; the padding is
    stored as far as the last output's last tap reaches."""

    def __init__(self, in_size, out_size, kernel_size, stride, padding, dilation):
        self.in_size, self.out_size = tuple(in_size), tuple(out_size)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        # the padded input reaches from -padding to the last output's last tap, or to the input's end
        reach = [(out - 1) * s + d * (k - 1) + 1 - p - size
                 for out, s, d, k, p, size in zip(self.out_size, stride, dilation, kernel_size, padding, self.in_size)]
        self.pad_widths = tuple((p, max(after, 0)) for p, after in zip(padding, reach))
        self.padded_size = tuple(size + sum(widths) for size, widths in zip(self.in_size, self.pad_widths))
        self.reaches_padding = self.padded_size != self.in_size
        # every padded pixel under at most one tap (so backward may assign)
        self.disjoint = all(d == 1 and s >= k for s, d, k in zip(stride, dilation, kernel_size))
        # each tap's offset from its window's first input, in scan order (the last axis fastest), as torch's
        self.tap_starts = [tuple(t * d for t, d in zip(tap, dilation))
                           for tap in itertools.product(*(range(k) for k in kernel_size))]
        # Where taps overlap, each pixel is read by several: the input is copied into a layout where every tap reads
        # one contiguous run per plane (see _layout), a pass of a third of the time of one over a strided window on a
        # CPU. Elsewhere the taps read strided windows of the padded input, or of x itself.
        self.wide = not self.disjoint
        self.in_place = self.disjoint and not self.reaches_padding
        self._layout()
        # per tap, whether it is the first to reach its phase: the taps before it left that part of the layout alone
        reached = [tuple(start % count for start, count in zip(starts, self.phases)) for starts in self.tap_starts]
        self.opens_phase = [phase not in reached[:index] for index, phase in enumerate(reached)]

    def _layout(self):
        """The layout of each plane (or volume) of the padded input that the taps read, layout_size, and its taps.

        In place, the input's own (in_size), each tap a strided window of it. Otherwise each axis of stride s is
        split into s phases, phase p holding the padded positions p, p + s, ..., each combination of phases stored
        flat (phase_size, then a tail for the last taps' runs): (phases, flat length). Output position o (along
        each axis) is computed at the "wide" index of o in a phase, sum(o * phase_strides), so that tap t reads
        the contiguous run at its offset, as long as wide_shape, whose positions past out_size on the later
        axes are garbage, cropped by `narrowed`. At stride 1 that is one phase: the padded plane, flat.
        """
        dims = len(self.in_size)
        if not self.wide:
            self.phases, self.phase_size, self.layout_size = (1,) * dims, self.padded_size, self.padded_size
            self.wide_shape = self.out_size
            self.taps = [tap_index(starts, self.stride, self.out_size) for starts in self.tap_starts]
            return
        self.phases = self.stride
        self.phase_size = tuple(-(-size // count) for size, count in zip(self.padded_size, self.phases))
        phase_strides = [math.prod(self.phase_size[axis + 1:]) for axis in range(dims)]
        length = self.out_size[0] * phase_strides[0]
        self.wide_shape = (length,)
        runs = []
        for starts in self.tap_starts:
            phase = int(np.ravel_multi_index([start % count for start, count in zip(starts, self.phases)],
                                             self.phases))
            offset = sum(start // count * step for start, count, step in zip(starts, self.phases, phase_strides))
            runs.append((phase, offset))
        self.flat_size = math.prod(self.phase_size)
        self.layout_size = (math.prod(self.phases), max(self.flat_size, max(offset for _, offset in runs) + length))
        self.taps = [(Ellipsis, phase, slice(offset, offset + length)) for phase, offset in runs]

    def _phase_planes(self, planes):
        """planes in the layout (..., *layout_size) -> a view of their phases (..., *phases, *phase_size), the tails
        left out."""
        if not self.wide:
            return planes.reshape(planes.shape[:-len(self.in_size)] + self.phases + self.phase_size)
        return planes[..., :self.flat_size].reshape(planes.shape[:-2] + self.phases + self.phase_size)

    def padded(self, x, value):
        """x (..., *spatial) padded with `value` as far as the taps reach, in the layout (..., *layout_size); x
        itself in place."""
        planes = self.new_planes(x)
        self.pad_into(planes, x, value)
        return planes

    def new_planes(self, x):
        """An empty array for x (..., *spatial) in the layout; x itself in place."""
        if self.in_place:
            return x
        return memory.empty(get_array_module(x), x.shape[:-len(self.in_size)] + self.layout_size, x.dtype)

    def pad_into(self, planes, x, value):
        """Write x (..., *spatial) into planes (new_planes'), padded with `value`."""
        if self.in_place:
            return
        self.fill_padding(planes, value)
        self.fill_input(planes, x)

    def fill_input(self, planes, x):
        """Write x (..., *spatial) into the input's part of planes in the layout, the padding left as it is (a
        buffer's, padded once for all the inputs that it takes in turn)."""
        phases = self._phase_planes(planes)
        for inside, part in self._input_parts():
            phases[part] = x[inside]

    def unpad_into(self, x, planes):
        """The adjoint of pad_into: the input's part of planes into x (..., *in_size), the padding dropped."""
        if self.in_place:
            return
        phases = self._phase_planes(planes)
        for inside, part in self._input_parts():
            x[inside] = phases[part]

    def _input_parts(self):
        """(index of the input, index of the phases) per combination of phases: the input's strided slice that the
        phases hold, and where they hold it."""
        axes = []
        for count, (before, _), size in zip(self.phases, self.pad_widths, self.in_size):
            parts = []
            for phase in range(count):
                first = (phase - before) % count                        # the input's first position in this phase
                if first < size:
                    held = (size - 1 - first) // count + 1
                    begin = (first + before) // count
                    parts.append((phase, slice(first, size, count), slice(begin, begin + held)))
            axes.append(parts)
        return [((Ellipsis, *(inside for _, inside, _ in combination)),
                 (Ellipsis, *(phase for phase, _, _ in combination), *(part for _, _, part in combination)))
                for combination in itertools.product(*axes)]

    def fill_padding(self, planes, value):
        """Write `value` over the padding of planes in the layout (..., *layout_size): the positions of the phases
        outside the input, and the tails."""
        if self.wide:
            planes[..., self.flat_size:] = value
        phases, dims = self._phase_planes(planes), len(self.in_size)
        for axis, (count, (before, _), size) in enumerate(zip(self.phases, self.pad_widths, self.in_size)):
            for phase in range(count):
                lead, trail = max(-(-(before - phase) // count), 0), -(-(before + size - phase) // count)
                for positions in (slice(0, lead), slice(trail, None)):
                    index = [slice(None)] * (2 * dims)
                    index[axis], index[dims + axis] = phase, positions
                    phases[(Ellipsis, *index)] = value

    def narrowed(self, wide):
        """An output-side array on the taps' wide positions (..., *wide_shape) -> a view of its outputs (...,
        *out_size)."""
        if not self.wide:
            return wide
        lead = wide.shape[:-1]
        full = wide.reshape(lead + self.out_size[:1] + self.phase_size[1:])
        return full[(Ellipsis, *(slice(0, out) for out in self.out_size))]

    def widened(self, array, buffer=None):
        """The adjoint of `narrowed`: array (..., *out_size) on the wide positions, 0 on the others, in `buffer`
        (..., *wide_shape) where given (zeroed, its wide positions past the outputs never written); array itself in
        place."""
        if not self.wide:
            return array
        if buffer is None:
            buffer = memory.zeros(get_array_module(array), array.shape[:-len(self.out_size)] + self.wide_shape,
                                  array.dtype)
        self.narrowed(buffer)[...] = array
        return buffer
