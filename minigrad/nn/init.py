"""torch's default initialisation, drawn from minigrad's seeded generator."""
import math

from ..random import generator


def uniform_(tensor, low, high):
    tensor.data[...] = generator().uniform(low, high, size=tensor.shape).astype(tensor.dtype)
    return tensor


def default_conv_bounds(fan_in):
    """kaiming_uniform(a=sqrt(5)) on the weight and U(±1/sqrt(fan_in)) on the bias both reduce to this bound."""
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0



