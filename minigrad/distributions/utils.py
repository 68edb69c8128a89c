"""Helpers shared by the distributions and the transforms, as torch.distributions.utils'."""
import numbers

import numpy as np

from ..creation import tensor
from ..function import broadcast_mismatch
from ..functional import _size
from ..tensor import Tensor
from ..torch_functions import broadcast_tensors


class lazy_property:
    """A parameter computed from the other one on first use (probs from logits or back), then kept."""

    def __init__(self, compute):
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.compute.__name__] = self.compute(instance)
        return value


def broadcast_all(*values):
    """The parameters as tensors of one shape: numbers take the first tensor's dtype and device (the default
    dtype where all are numbers), as torch's."""
    if not all(isinstance(value, (Tensor, numbers.Number)) for value in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or objects implementing "
                         "__torch_function__.")
    like = next((value for value in values if isinstance(value, Tensor)), None)
    options = {} if like is None else {"dtype": like.dtype, "device": like.device}
    tensors = [value if isinstance(value, Tensor) else tensor(float(value), **options) for value in values]
    return tuple(tensors) if len(tensors) == 1 else tuple(broadcast_tensors(*tensors))


def sum_rightmost(value, dims):
    """value summed over its rightmost dims."""
    return value.reshape(*value.shape[:value.ndim - dims], -1).sum(-1) if dims > 0 else value


def broadcast_shapes(a, b):
    """The shape that shapes a and b broadcast to, with torch.broadcast_shapes' error where they do not."""
    mismatch = broadcast_mismatch(tuple(a), tuple(b))
    if mismatch is not None:
        from_end, _, size_b = mismatch
        expected = [1] * (len(b) - len(a)) + list(a)
        raise RuntimeError(f"Attempting to broadcast a dimension of length {size_b} at {-1 - from_end}! Mismatching "
                           f"argument at index 1 had {_size(b)}; but expected shape should be broadcastable to "
                           f"{expected}")
    return np.broadcast_shapes(tuple(a), tuple(b))
