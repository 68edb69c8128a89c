"""minigrad: a small autograd framework on NumPy (CPU) and CuPy (GPU) with a torch-like API.

    import minigrad as mg
    import minigrad.functional as F
"""
import math as _math
import numbers as _numbers

import numpy as _np
from numpy import float32, float64

from . import autograd, functional, nn, optim
from .backend import DeviceError, gpu_available
from .backend import get_array_module as _get_array_module
from .function import Function, is_grad_enabled, no_grad
from .function import require_fits as _require_fits
from .function import result_type as _result_type
from .gradcheck import GradcheckError, gradcheck
from .io import load, save
from .random import generator as _generator
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor, where
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
    """A new tensor of maker(shape), a NumPy array, as `dtype` (float32 by default), on `device`."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    array = maker(shape).astype("float32" if dtype is None else dtype)
    return Tensor(array, requires_grad=requires_grad, device=device)


def _filled_like(maker, input, dtype, device, requires_grad):
    """_filled in the shape of `input`, in its dtype and on its device unless told otherwise, as torch's *_like."""
    dtype = input.dtype if dtype is None else dtype
    return _filled(maker, input.shape, dtype, device or input.device, requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_np.zeros, shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_np.ones, shape, dtype, device, requires_grad)


def zeros_like(input, dtype=None, device=None, requires_grad=False):
    return _filled_like(_np.zeros, input, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):
    return _filled_like(_np.ones, input, dtype, device, requires_grad)


def _filler(fill_value, dtype):
    """full's maker: fill_value, which `dtype` must hold (torch's error, where NumPy would wrap)."""
    _require_fits(_np.asarray(fill_value), _np.dtype(dtype))
    return lambda shape: _np.full(shape, fill_value)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` (a tuple or list) filled with fill_value, in its dtype unless told otherwise, as torch's:
    bool, int64, or float32 for a float."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    dtype = _result_type(fill_value) if dtype is None else dtype
    return _filled(_filler(fill_value, dtype), (size,), dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    dtype = input.dtype if dtype is None else dtype
    return _filled_like(_filler(fill_value, dtype), input, dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m (n x n) identity matrix, float32 by default, as torch.eye."""
    m = n if m is None else m
    for name, size in (("n", n), ("m", m)):
        if not isinstance(size, _numbers.Integral):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(size).__name__}")
        if size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    return _filled(lambda shape: _np.eye(*shape), (n, m), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """start, start + step, ... up to and without end (`arange(end)` counts from 0), as torch.arange: int64 when
    every argument is an integer, else float32. A float value is start + i * step computed in float64; an integer
    dtype takes the start and step truncated to integers, int64 the end too before counting, as torch's."""
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if not (_math.isfinite(start) and _math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    integers = all(isinstance(x, _numbers.Integral) for x in (start, end, step))
    dtype = _np.dtype((_np.int64 if integers else float32) if dtype is None else dtype)
    if dtype == bool:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype == _np.int64:
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    count = -((start - end) // step) if dtype == _np.int64 else _math.ceil((end - start) / step)
    if dtype.kind in "iu":
        start, step = int(start), int(step)
    steps = _np.arange(count, dtype=_np.int64 if dtype.kind in "iu" else _np.float64)
    return _filled(lambda shape: start + step * steps, (count,), dtype, device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_generator().standard_normal, shape, dtype, device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_generator().random, shape, dtype, device, requires_grad)


__all__ = [
    "autograd", "DeviceError", "Function", "float32", "float64", "GradcheckError", "Tensor", "arange", "cat", "eye", "full",
    "full_like", "functional", "get_rng_state", "gpu_available", "gradcheck", "is_grad_enabled", "load", "manual_seed",
    "nn", "no_grad", "ones", "ones_like", "optim", "rand", "randn", "save", "set_rng_state", "stack", "tensor", "where",
    "zeros", "zeros_like",
]
