"""torch.nn.init: torch's initialisations, drawn from minigrad's seeded generator (mg.manual_seed), and the default
one of torch's Linear and conv layers. Each fills a tensor in place and returns it, as torch's."""
import math
import warnings

import numpy as np
from scipy import special

from .. import batching
from ..backend import default_dtype, to_device
from ..dtypes import _require_dtype
from ..function import no_grad
from ..random import generator as numpy_generator
from ..tensor import Tensor
from .module import Parameter

# torch's recommended gains (calculate_gain), for the nonlinearities without a parameter
_GAINS = {"linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0),
          "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """The gain torch recommends for a nonlinearity: sqrt(2 / (1 + slope²)) for leaky_relu (slope param, 0.01 by
    default), 5/3 for tanh, sqrt(2) for relu, 3/4 for selu, else 1."""
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    return _GAINS[nonlinearity]


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): in and out times the kernel's size, as torch's."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _warned_if_empty(tensor):
    """Whether the tensor has no elements, then with torch's warning, which its He initialisations give (they and
    the default layers' weights, which torch draws with them, would divide by a fan of 0)."""
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def fill_drawn(tensor, draw):
    """Write draw(shape), host values, into the tensor's own array, on its device and in its dtype. (Not counted
    as a write that backward checks: counting starts a check at every op for the rest of the program.) Refused for
    an expanded tensor, whose elements share memory, as torch refuses its random draws there."""
    tensor._refuse_shared_memory()
    batching.refuse_unbatched_draw(tensor)
    values = np.asarray(draw(tensor.shape)).astype(tensor.dtype)
    tensor.data[...] = to_device(values, tensor.device)
    return tensor


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return fill_drawn(tensor, lambda shape: numpy_generator(generator).uniform(a, b, size=shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return fill_drawn(tensor, lambda shape: numpy_generator(generator).normal(mean, std, size=shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std) cut to [a, b], by the inverse of the normal CDF over a uniform draw between the bounds' CDFs."""
    low, high = special.ndtr((a - mean) / std), special.ndtr((b - mean) / std)
    return fill_drawn(tensor, lambda shape: np.clip(
        mean + std * special.ndtri(numpy_generator(generator).uniform(low, high, shape)), a, b))


def constant_(tensor, val):
    """torch's: tensor.fill_(val) without recording, which fills an expanded tensor too."""
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def eye_(tensor):
    """The identity matrix, as many of a Linear layer's inputs kept as it has outputs."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return fill_drawn(tensor, lambda shape: np.eye(*shape))


def dirac_(tensor, groups=1):
    """A convolution's weight (out, in, *kernel) that passes each input channel through to its output channel in
    each of the groups, as many as both have: a 1 at the kernel's centre (its lower middle for an even size)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if tensor.shape[0] % groups:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = tensor.shape[0] // groups
    passed = min(per_group, tensor.shape[1])

    def deltas(shape):
        weight = np.zeros(shape)
        channels = np.arange(passed)
        outputs = (np.arange(groups)[:, None] * per_group + channels).ravel()
        weight[(outputs, np.tile(channels, groups), *(size // 2 for size in shape[2:]))] = 1
        return weight

    return fill_drawn(tensor, deltas)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix times gain, the tensor's dims after the first flattened (Saxe et al., 2013): the
    Q of a normal matrix's QR, each column's sign that of R's diagonal (which makes it uniform over the orthogonal
    matrices, as torch's)."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor

    def orthogonal(shape):
        rows, cols = shape[0], math.prod(shape) // shape[0]
        normal = numpy_generator(generator).normal(0.0, 1.0, (rows, cols))
        wide = rows < cols  # QR of the transpose: orthonormal rows
        q, r = np.linalg.qr(normal.T if wide else normal)
        q *= np.sign(np.diag(r))
        return gain * (q.T if wide else q).reshape(shape)

    return fill_drawn(tensor, orthogonal)


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std) values with ceil(sparsity * rows) of each column's set to 0 (Martens, 2010); which rows, the
    default generator draws, as torch's draws them from its default one whatever the generator given."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    zeros = math.ceil(sparsity * rows)

    def sparse(shape):
        values = numpy_generator(generator).normal(0.0, std, shape)
        zero_rows = np.argsort(numpy_generator().random(shape), axis=0)[:zeros]  # a random permutation a column
        values[zero_rows, np.arange(cols)] = 0
        return values

    return fill_drawn(tensor, sparse)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(±gain·sqrt(6 / (fan_in + fan_out))), Glorot's."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, gain²·2 / (fan_in + fan_out)), Glorot's."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(±gain·sqrt(3 / fan)), He's, the gain of `nonlinearity` (leaky_relu of slope a by default)."""
    if _warned_if_empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, gain² / fan), He's."""
    if _warned_if_empty(tensor):
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator)


def default_bound(fan_in):
    """kaiming_uniform(a=sqrt(5)) on the weight and U(±1/sqrt(fan_in)) on the bias both reduce to this bound."""
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


def factory_tensor(shape, fill_value=None, device=None, dtype=None):
    """A layer's new parameter or buffer: `shape` filled with fill_value (left to be drawn where None), in `dtype`
    (the default dtype unless given: minigrad's, NumPy's, or a Python number type, as torch takes it) on `device`,
    as torch's layers make theirs from their factory kwargs, device= and dtype=. A Parameter of it refuses an
    integer dtype with torch's error."""
    dtype = default_dtype() if dtype is None else _require_dtype("empty", "dtype", None, dtype)
    return Tensor(np.empty(shape, dtype) if fill_value is None else np.full(shape, fill_value, dtype), device=device)


def empty_parameter(*shape, device=None, dtype=None):
    """A parameter of `shape` for an initialisation to draw, as torch's Parameter(torch.empty(shape, device=device,
    dtype=dtype))."""
    return Parameter(factory_tensor(shape, device=device, dtype=dtype))


def default_weight_and_bias(weight_shape, bias=True, bias_size=None, fan_in=None, device=None, dtype=None):
    """A weight of `weight_shape` and a bias of bias_size, by default weight_shape[0] (None without `bias`), made
    by factory_tensor from device and dtype, drawn, weight first, as torch's Linear and Conv2d reset_parameters draw
    them: U(±default_bound(fan_in)), fan_in by default the product of weight_shape[1:] (in_features, or in_channels *
    kernel height * kernel width; for a transposed conv's (in, out/groups, kh, kw) weight, torch's fan_in is
    out/groups * kh * kw; Bilinear's is in1_features alone). The draws are float64, each cast to the dtype, so a
    float32 layer holds a float64 one's values rounded."""
    bound = default_bound(math.prod(weight_shape[1:]) if fan_in is None else fan_in)
    weight = empty_parameter(*weight_shape, device=device, dtype=dtype)
    if not _warned_if_empty(weight):
        uniform_(weight, -bound, bound)
    bias_size = weight_shape[0] if bias_size is None else bias_size
    bias = uniform_(empty_parameter(bias_size, device=device, dtype=dtype), -bound, bound) if bias else None
    return weight, bias
