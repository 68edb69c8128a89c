"""minigrad: a small autograd framework on NumPy (CPU) and CuPy (GPU) with a torch-like API.

    import minigrad as mg
    import minigrad.functional as F
"""
from . import autograd, functional, linalg, nn, optim, special
from .backend import DeviceError, gpu_available
from .creation import (arange, empty_like, eye, full, full_like, linspace, logspace, meshgrid, ones, ones_like, rand,
                       rand_like, randint_like, randn, randn_like, tensor, zeros, zeros_like)
from .function import (Function, enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                       set_grad_enabled)
from .gradcheck import GradcheckError, gradcheck
from .io import load, save
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor, where
from .functional import cat, stack
from .torch_functions import FUNCTIONS as _TORCH_FUNCTIONS

globals().update(_TORCH_FUNCTIONS)  # torch.exp(t), torch.sum(t, dim), ...: the Tensor methods as functions

# torch's dtype names, as NumPy's types: a tensor's .dtype compares equal to them, and dtype= and .to() take them.
from numpy import bool_ as bool, float32, float64, int8, int16, int32, int64, uint8  # noqa: E402
float, double, long, int, short = float32, float64, int64, int32, int16

__all__ = [
    "DeviceError", "Function", "GradcheckError", "Tensor", "arange", "autograd", "bool", "cat", "double", "empty_like",
    "enable_grad", "eye", "float", "float32", "float64", "full", "full_like", "functional", "get_rng_state",
    "gpu_available", "gradcheck", "inference_mode", "int", "int8", "int16", "int32", "int64", "is_grad_enabled",
    "is_inference_mode_enabled", "linalg", "linspace", "load", "logspace", "long", "manual_seed", "meshgrid", "nn",
    "no_grad", "ones", "ones_like", "optim", "rand", "rand_like", "randint_like", "randn", "randn_like", "save",
    "set_grad_enabled", "set_rng_state", "short", "special", "stack", "tensor", "uint8", "where", "zeros", "zeros_like",
]
__all__ += sorted(_TORCH_FUNCTIONS)
