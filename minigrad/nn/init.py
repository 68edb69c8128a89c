"""torch's default initialisation, drawn from minigrad's seeded generator."""
import math

import numpy as np

from ..random import generator
from .module import Parameter


def uniform_(tensor, low, high):
    tensor.data[...] = generator().uniform(low, high, size=tensor.shape).astype(tensor.dtype)
    return tensor


def default_bound(fan_in):
    """kaiming_uniform(a=sqrt(5)) on the weight and U(±1/sqrt(fan_in)) on the bias both reduce to this bound."""
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


def default_weight_and_bias(weight_shape, bias=True, bias_size=None):
    """A float32 weight of `weight_shape` and a bias of bias_size, by default weight_shape[0] (None without `bias`),
    drawn, weight first, as torch's Linear and Conv2d reset_parameters draw them: U(±default_bound(fan_in)), fan_in
    being the product of weight_shape[1:] (in_features, or in_channels * kernel height * kernel width; for a
    transposed conv's (in, out/groups, kh, kw) weight, torch's fan_in is out/groups * kh * kw)."""
    bound = default_bound(math.prod(weight_shape[1:]))
    weight = uniform_(Parameter(np.empty(weight_shape, dtype=np.float32)), -bound, bound)
    bias_size = weight_shape[0] if bias_size is None else bias_size
    bias = uniform_(Parameter(np.empty(bias_size, dtype=np.float32)), -bound, bound) if bias else None
    return weight, bias
