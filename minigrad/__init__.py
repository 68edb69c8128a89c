"""minigrad: a small autograd framework on NumPy (CPU) and CuPy (GPU) with a torch-like API.

    import minigrad as mg
    import minigrad.functional as F
"""
import numpy as _np
from numpy import float32, float64

from . import functional, nn, optim
from .backend import DeviceError, gpu_available
from .backend import get_array_module as _get_array_module
from .function import Function, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .io import load, save
from .random import generator as _generator
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor
from .functional import cat, stack

def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor from an array, tensor, list or number (Python floats become float32), with its own copy of
    the data, as torch.tensor. `Tensor(array)` shares the array instead, as torch.from_numpy does."""
    source = data.data if isinstance(data, Tensor) else data
    result = Tensor(source, requires_grad=requires_grad, dtype=dtype, device=device)
    # Only an array already on the target device can still be shared: a cast, a transfer or a list made a new one.
    if isinstance(source, type(result.data)) and _get_array_module(source).may_share_memory(result.data, source):
        result.data = result.data.copy()
    return result


def _filled(maker, shape, dtype, device, requires_grad):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Tensor(maker(shape).astype(dtype or "float32"), requires_grad=requires_grad, device=device)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_np.zeros, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_np.ones, shape, dtype, device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_generator().standard_normal, shape, dtype, device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_generator().random, shape, dtype, device, requires_grad)


__all__ = [
    "DeviceError", "Function", "float32", "float64", "GradcheckError", "Tensor", "cat", "functional", "get_rng_state", "gpu_available",
    "gradcheck", "is_grad_enabled", "load", "manual_seed", "nn", "no_grad", "ones", "optim", "rand", "randn", "save",
    "set_rng_state", "stack", "tensor", "zeros",
]
