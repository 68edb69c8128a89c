"""torch.backends' switches that ported scripts set (cudnn's, cuda.matmul's), and torch's process-wide settings of
how ops compute: the precision of float32 matmuls, and deterministic algorithms."""
import warnings

from .. import backend
from ..function import require_bool
from . import cuda, cudnn

MATMUL_PRECISIONS = ("highest", "high", "medium")

_deterministic = {"mode": False, "warn_only": False}


def set_float32_matmul_precision(precision):
    """torch's: "highest" keeps float32 matmuls (and the GPU's convs, which are matmuls here) in float32; "high" and
    "medium" let the GPU run them on TF32 tensor cores. The CPU's stay float32 whatever the setting, as torch's do."""
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}")
    if precision not in MATMUL_PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      f"setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    backend.use_float32_matmul_precision(precision)


def get_float32_matmul_precision():
    return backend.float32_matmul_precision()


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded, for are_deterministic_algorithms_enabled, and otherwise without effect. minigrad's CPU ops are
    deterministic; on the GPU its scatter-adds (CuPy's add.at: indexing's gradient, index_put with accumulate,
    scatter_add, scatter_reduce) add in the order of atomic operations, where torch's deterministic mode would take
    another kernel or raise."""
    require_bool("_set_deterministic_algorithms", "mode", 1, mode)
    require_bool("_set_deterministic_algorithms", "warn_only", None, warn_only)
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled():
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic["warn_only"]


__all__ = ["are_deterministic_algorithms_enabled", "cuda", "cudnn", "get_float32_matmul_precision",
           "is_deterministic_algorithms_warn_only_enabled", "set_float32_matmul_precision",
           "use_deterministic_algorithms"]
