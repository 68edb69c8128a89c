"""minigrad: a small autograd framework on NumPy (CPU) and CuPy (GPU) with a torch-like API.

    import minigrad as mg
    import minigrad.functional as F
"""
from . import amp, autograd, backends, cpu, cuda, distributions, func, functional, linalg, nn, optim, special, utils
from .backend import (DeviceError, channels_last, channels_last_3d, contiguous_format, device, gpu_available,
                      memory_format, preserve_format)
from .backends import (are_deterministic_algorithms_enabled, get_float32_matmul_precision,
                       is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
                       use_deterministic_algorithms)
from .creation import (arange, as_tensor, asarray, bartlett_window, binomial, blackman_window, cartesian_prod, empty,
                       empty_like, empty_strided, eye, from_numpy, full, full_like, hamming_window, hann_window,
                       kaiser_window, linspace, logspace, meshgrid, normal, ones, ones_like, poisson, rand,
                       rand_like, randint, randint_like, randn, randn_like, randperm, scalar_tensor, tensor,
                       tril_indices, triu_indices, zeros, zeros_like)
from .dtypes import can_cast, finfo, get_default_dtype, iinfo, promote_types, result_type, set_default_dtype
from .function import (Function, enable_grad, inference_mode, is_anomaly_check_nan_enabled, is_anomaly_enabled,
                       is_grad_enabled, is_inference_mode_enabled, is_tensor, no_grad, set_anomaly_enabled,
                       set_grad_enabled)
from .amp import (GradScaler, autocast, get_autocast_cpu_dtype, get_autocast_dtype, get_autocast_gpu_dtype,
                  is_autocast_cache_enabled, is_autocast_cpu_enabled, is_autocast_enabled)
from .eager import compile
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .io import load, save
from .parallel import get_num_threads, set_num_threads
from .printing import set_printoptions
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,
                     set_rng_state)
from .tensor import Tensor, where
from .func import vmap
from .functional import cat, stack
from .torch_functional import FUNCTIONAL_FORMS as _FUNCTIONAL_FORMS
from .torch_functions import FUNCTIONS as _TORCH_FUNCTIONS, OTHER_FUNCTIONS as _OTHER_FUNCTIONS

globals().update(_TORCH_FUNCTIONS)  # torch.exp(t), torch.sum(t, dim), ...: the Tensor methods as functions
globals().update(_OTHER_FUNCTIONS)  # torch.exp_(t), torch.igamma(a, x), ...
globals().update(_FUNCTIONAL_FORMS)  # torch.conv2d, torch.dropout(input, p, train), ...

# torch's dtype names, as NumPy's types: a tensor's .dtype compares equal to them, and dtype= and .to() take them.
from numpy import bool_ as bool, float16, float32, float64, int8, int16, int32, int64, uint8  # noqa: E402
half, float, double, long, int, short = float16, float32, float64, int64, int32, int16

__all__ = [
    "DeviceError", "Function", "Generator", "GradScaler", "GradcheckError", "Tensor", "amp", "arange",
    "are_deterministic_algorithms_enabled", "as_tensor", "asarray", "autocast", "autograd", "backends",
    "bartlett_window", "binomial", "blackman_window", "bool", "can_cast", "cartesian_prod", "cat", "channels_last",
    "channels_last_3d", "compile", "contiguous_format", "cpu", "cuda", "default_generator",
    "device", "distributions", "double", "empty", "empty_like", "empty_strided", "enable_grad", "eye", "finfo", "float",
    "float16", "float32", "float64", "from_numpy", "full", "full_like", "func", "functional", "get_default_dtype",
    "get_autocast_cpu_dtype", "get_autocast_dtype", "get_autocast_gpu_dtype",
    "get_float32_matmul_precision", "get_num_threads", "get_rng_state", "gpu_available", "gradcheck", "gradgradcheck",
    "half",
    "hamming_window", "hann_window", "iinfo", "inference_mode", "initial_seed", "int", "int16", "int32", "int64",
    "int8", "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_autocast_cache_enabled",
    "is_autocast_cpu_enabled", "is_autocast_enabled", "is_deterministic_algorithms_warn_only_enabled",
    "is_grad_enabled", "is_inference_mode_enabled", "is_tensor", "kaiser_window", "linalg", "linspace", "load",
    "logspace", "long", "manual_seed", "memory_format", "meshgrid", "nn", "no_grad", "normal", "ones", "ones_like",
    "optim", "poisson", "preserve_format",
    "promote_types", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "result_type",
    "save", "scalar_tensor", "seed", "set_anomaly_enabled", "set_default_dtype", "set_float32_matmul_precision",
    "set_grad_enabled", "set_num_threads", "set_printoptions", "set_rng_state", "short", "special", "stack", "tensor",
    "tril_indices", "triu_indices", "uint8", "use_deterministic_algorithms", "utils", "vmap", "where", "zeros",
    "zeros_like",
]
__all__ += sorted(_TORCH_FUNCTIONS)
__all__ += sorted(_OTHER_FUNCTIONS)
__all__ += sorted(_FUNCTIONAL_FORMS)
