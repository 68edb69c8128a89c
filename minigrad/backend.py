"""The one place that knows about NumPy versus CuPy.

Every other module asks `get_array_module(array)` for `xp` and writes array code once.
"""
import importlib

import numpy as np

GPU_HINT = 'install the GPU extra with `pip install -e ".[gpu]"` on a machine with a CUDA GPU'
DEVICES = ("cpu", "gpu")


_default_dtype = np.dtype(np.float32)


def default_dtype():
    """torch's default dtype, float32 unless set_default_dtype changed it: that of tensors made from Python floats
    and lists, of floating point results of integers (integer division, tanh of an int64 tensor), and of new
    parameters. Read at each call, so that a change reaches every op; one for the whole process, as torch's."""
    return _default_dtype


def default_complex_dtype():
    """The complex dtype of the default's precision (complex128 for float64), as torch gives Python complex
    numbers."""
    return np.result_type(_default_dtype, np.complex64)


def use_default_dtype(dtype):
    """Make `dtype` (float32 or float64, checked by the caller) the default."""
    global _default_dtype
    _default_dtype = np.dtype(dtype)


class DeviceError(RuntimeError):
    """A device that does not exist or cannot be used here; the message names the fix."""


def _load_cupy():
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library that fails to load
        raise DeviceError(f"the GPU backend needs CuPy, which could not be imported ({exc}); {GPU_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise DeviceError(f"CuPy found no usable CUDA device ({exc}); {GPU_HINT}") from None
    if count == 0:
        raise DeviceError(f"CuPy found no CUDA device; {GPU_HINT}")
    return cupy


_cupy = None


def cupy_module():
    """CuPy, imported on first use; raises DeviceError with the fix when it cannot be used."""
    global _cupy
    if _cupy is None:
        _cupy = _load_cupy()
    return _cupy


def gpu_available():
    try:
        cupy_module()
        return True
    except DeviceError:
        return False


def normalize_device(device):
    """Accept "cpu", "gpu", "cuda", "cuda:0" (as torch users write it)."""
    name = str(device).lower()
    if name == "cuda" or name.startswith("cuda:") or name == "gpu":
        return "gpu"
    if name == "cpu":
        return "cpu"
    raise DeviceError(f"unknown device {device!r}: use 'cpu' or 'gpu'")


def set_tf32(enabled):
    """Let CuPy's float32 matmuls (and so the GPU convs) run on TF32 tensor cores: Ampere and newer GPUs.

    Faster, at 10 mantissa bits in the products, so it is off by default, as torch's float32 matmuls are.
    CuPy warns and keeps full float32 on older GPUs.
    """
    cupy_module()
    from cupy._core import _routines_linalg as linalg

    linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if enabled else linalg.COMPUTE_TYPE_FP32)


def get_array_module(array):
    """numpy or cupy, whichever owns `array` (numpy for scalars and lists)."""
    if type(array).__module__.startswith("cupy"):
        return cupy_module()
    return np


def scipy_module(xp, name):
    """scipy.<name> for NumPy arrays, cupyx.scipy.<name> for CuPy's: what xp lacks (special: erf and its kin;
    ndimage: filters)."""
    return importlib.import_module(f"scipy.{name}" if xp is np else f"cupyx.scipy.{name}")


def linalg_reports_failures(xp):
    """Whether xp.linalg raises LinAlgError for a singular (or not positive-definite) matrix, as NumPy's does.
    CuPy's returns, without a word, whatever cuSOLVER and cuBLAS left, finite numbers too: a batch's inverse of a
    singular matrix comes back finite, even under cupyx.errstate(linalg="raise")."""
    return xp is np


def device_of(array):
    return "gpu" if get_array_module(array) is not np else "cpu"


def to_device(array, device):
    """Move an array to `device`, copying only when it has to."""
    target = normalize_device(device)
    if device_of(array) == target:
        return array
    if target == "gpu":
        return cupy_module().asarray(array)
    return array.get()


def to_numpy(array):
    return to_device(array, "cpu")
