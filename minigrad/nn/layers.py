"""The layers the U-Net needs, with torch's constructor arguments and default initialisation."""
import collections

import numpy as np

from .. import functional as F
from ..ops.shape import checked_position
from .init import default_conv_bounds, uniform_
from .module import Module, Parameter


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        if isinstance(kernel_size, (tuple, list)):
            kernel_size = F._square("kernel_size", kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        bound = default_conv_bounds(in_channels * kernel_size * kernel_size)
        self.weight = uniform_(Parameter(np.empty(shape, dtype=np.float32)), -bound, bound)
        self.bias = uniform_(Parameter(np.empty(out_channels, dtype=np.float32)), -bound, bound) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Identity(Module):
    def forward(self, x):
        return x


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class Upsample(Module):
    def __init__(self, size=None, scale_factor=None, mode="bilinear", align_corners=False):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners)

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}, align_corners={self.align_corners}"


class AdaptiveAvgPool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Sequential(Module):
    """Children named "0", "1", ... so parameter names match torch's (e.g. conv_block.0.weight). Editing it
    (append, insert, extend, +, *, del, pop, item assignment) behaves as torch's, errors included (but see insert)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            modules = modules[0].items()
        else:
            modules = ((str(i), m) for i, m in enumerate(modules))
        for name, module in modules:
            setattr(self, name, module)

    def _position(self, index):
        """An index as a position in 0..len-1, checked as torch checks it."""
        return checked_position(index, len(self), "index {index} is out of range")

    def __getitem__(self, index):
        """A child by position, or a slice as a Sequential that keeps the children's names, as torch."""
        if isinstance(index, slice):
            return type(self)(collections.OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[self._position(index)]

    def __setitem__(self, index, module):
        setattr(self, list(self._modules)[self._position(index)], module)

    def __delitem__(self, index):
        """As torch: the children left are renamed "0", "1", ..., so names stay positions."""
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._rename_in_order(modules)

    def _rename_in_order(self, modules):
        for name in list(self._modules):
            delattr(self, name)
        for position, module in enumerate(modules):
            setattr(self, str(position), module)

    def pop(self, index):
        module = self[index]
        del self[index]
        return module

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index, module):
        """`module` before position `index` (len(self) appends); the children are renamed in order, as torch.
        A non-module is append's TypeError, where torch's insert fails an assertion."""
        if not -len(self) <= index <= len(self):
            raise IndexError(f"Index out of range: {index}")
        modules = list(self.append(module))  # append checks that it is a Module
        modules.insert(index, modules.pop())
        self._rename_in_order(modules)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __add__(self, other):
        return Sequential().extend(self).extend(_sequential_operand(other))

    def __iadd__(self, other):
        return self.extend(_sequential_operand(other))

    def __mul__(self, times):
        return Sequential().extend(list(self) * _repeat_count(self, times))

    __rmul__ = __mul__

    def __imul__(self, times):
        return self.extend(list(self) * (_repeat_count(self, times) - 1))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


def _sequential_operand(other):
    """The right operand of Sequential + and +=: only another Sequential, as torch."""
    if not isinstance(other, Sequential):
        raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
    return other


def _repeat_count(sequential, times):
    """The factor of Sequential * and *=: a positive int, as torch."""
    if not isinstance(times, int):
        raise TypeError(f"unsupported operand type(s) for *: {type(sequential)} and {type(times)}")
    if times <= 0:
        raise ValueError(f"Non-positive multiplication factor {times} for {type(sequential)}")
    return times
