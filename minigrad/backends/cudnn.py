"""torch.backends.cudnn's switches, which ported scripts set (`cudnn.benchmark = True`): taken, checked as torch
checks them, and without effect, as minigrad has no cuDNN (its GPU convs are CuPy matmuls, whose TF32 use
torch.backends.cuda.matmul.allow_tf32 and set_float32_matmul_precision switch). is_available() is False."""
import sys
import types


class _Switch:
    """A bool attribute of the module, refused otherwise with torch's message (which names torch's setter)."""

    def __init__(self, setter, default):
        self.setter, self.default = setter, default

    def __set_name__(self, owner, name):
        self.name = f"_{name}"

    def __get__(self, module, owner=None):
        return self if module is None else module.__dict__.get(self.name, self.default)

    def __set__(self, module, value):
        if not isinstance(value, bool):
            raise RuntimeError(f"{self.setter} expects a bool, but got {type(value).__name__}")
        module.__dict__[self.name] = value


class CudnnModule(types.ModuleType):
    enabled = _Switch("set_enabled_cudnn", True)
    benchmark = _Switch("set_benchmark_cudnn", False)
    deterministic = _Switch("set_deterministic_cudnn", False)
    allow_tf32 = _Switch("set_allow_tf32_cublas", True)  # torch's message names cuBLAS's setter here


def is_available():
    return False


def version():
    return None


sys.modules[__name__].__class__ = CudnnModule
