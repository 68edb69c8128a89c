"""The one place that knows about NumPy versus CuPy.

Every other module asks `get_array_module(array)` for `xp` and writes array code once.
"""
import functools
import importlib
import re
import threading

import numpy as np

GPU_HINT = 'install the GPU extra with `pip install -e ".[gpu]"` on a machine with a CUDA GPU'
DEVICE_TYPES = ("cpu", "cuda", "gpu")  # "gpu" is minigrad's name of torch's "cuda"
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::(0|[1-9][0-9]*))?")  # torch's: a type, then maybe ":index"


_default_dtype = np.dtype(np.float32)


def default_dtype():
    """torch's default dtype, float32 unless set_default_dtype changed it: that of tensors made from Python floats
    and lists, of floating point results of integers (integer division, tanh of an int64 tensor), and of new
    parameters. Read at each call, so that a change reaches every op; one for the whole process, as torch's."""
    return _default_dtype


def is_dtype(dtype):
    """Whether `dtype` is a dtype object: minigrad's (mg.float32, NumPy's type) or a NumPy dtype."""
    return isinstance(dtype, np.dtype) or isinstance(dtype, type) and issubclass(dtype, np.generic)


def data_pointer(array):
    """The address of an array's first element, in host or GPU memory (NumPy's and CuPy's array interfaces)."""
    interface = (array.__cuda_array_interface__ if hasattr(array, "__cuda_array_interface__")
                 else array.__array_interface__)
    return interface["data"][0]


def default_complex_dtype():
    """The complex dtype of the default's precision (complex128 for float64), as torch gives Python complex
    numbers."""
    return np.result_type(_default_dtype, np.complex64)


def use_default_dtype(dtype):
    """Make `dtype` (float32 or float64, checked by the caller) the default."""
    global _default_dtype
    _default_dtype = np.dtype(dtype)


_float32_matmul_precision = "highest"


def float32_matmul_precision():
    return _float32_matmul_precision


def use_float32_matmul_precision(precision):
    """Make torch's `precision` ("highest", "high" or "medium", checked by the caller) that of float32 matmuls: the
    latter two let the GPU's run on TF32 tensor cores, from now on if minigrad uses one, else once it does."""
    global _float32_matmul_precision
    _float32_matmul_precision = precision
    if _cupy is not None:
        _apply_float32_matmul_precision(_cupy)


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
        if _float32_matmul_precision != "highest":
            _apply_float32_matmul_precision(_cupy)
    return _cupy


def loaded_cupy():
    """CuPy if minigrad has used it, else None (without importing it): for what concerns a GPU only once it is
    in use, as its memory pool."""
    return _cupy


def gpu_available():
    try:
        cupy_module()
        return True
    except DeviceError:
        return False


class device(str):  # noqa: N801 (torch's name)
    """torch.device: its string is minigrad's name of the device, "cpu" or "gpu", so that it equals that name and
    goes wherever a device name does; `type` and `index` are torch's ("cuda" and 0 for a tensor on the GPU).

    Unlike torch's: str() gives "gpu" where torch's gives "cuda:0", and device("cuda") == device("cuda:0") ==
    "gpu" (minigrad uses one GPU, and refuses cuda:1 and on); "gpu" is taken as a name of "cuda".
    """

    def __new__(cls, type, index=None):  # noqa: A002 (torch's keyword)
        if isinstance(type, device) and index is None:
            return type
        if isinstance(type, str) and not isinstance(type, device):
            if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
                raise TypeError(f"device(): argument 'index' (position 2) must be int, not {_type_name(index)}")
            return _parsed_device(str(type), index)
        if index is not None:
            raise TypeError(f"device(): argument 'type' (position 1) must be str, not {_type_name(type)}")
        if isinstance(type, int) and not isinstance(type, bool):
            if not gpu_available():
                raise DeviceError("Cannot access accelerator device when none is available.")
            return _parsed_device("cuda", type)
        raise TypeError(f"device() received an invalid combination of arguments - got ({_type_name(type, False)}), "
                        f"but expected one of:\n * (torch.device device)\n      didn't match because some of the "
                        f"arguments have invalid types: (!{_type_name(type)}!)\n * (str type, int index = -1)\n")

    @classmethod
    def _made(cls, name, type, index):  # noqa: A002
        made = super().__new__(cls, name)
        made._type, made._index = type, index
        return made

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __repr__(self):
        index = "" if self._index is None else f", index={self._index}"
        return f"device(type='{self._type}'{index})"

    def __reduce__(self):
        return device, (self._type, self._index)


def _type_name(value, with_items=True):
    """A value's type as torch's argument errors name it: "torch.device", "tuple of (str, int)"."""
    if isinstance(value, device):
        return "torch.device"
    name = type(value).__name__
    if with_items and isinstance(value, (tuple, list)):
        items = ", ".join(_type_name(item) for item in value) + ("," if isinstance(value, tuple) and
                                                                   len(value) == 1 else "")
        return f"{name} of ({items})" if isinstance(value, tuple) else f"{name} of [{items}]"
    return name


@functools.lru_cache(maxsize=64)
def _parsed_device(text, index):
    """The device a string (with an index or not) names, checked as torch checks it; one object per spelling."""
    match = _DEVICE_STRING.fullmatch(text)
    if match is None:
        raise DeviceError(f"Invalid device string: '{text}'")
    kind, spelled_index = match.groups()
    if kind not in DEVICE_TYPES:
        raise DeviceError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {text}")
    if spelled_index is not None:
        if index is not None:
            raise DeviceError(f"type (string) must not include an index because index was passed explicitly: {text}")
        index = int(spelled_index)
    if index is not None and index < 0:
        raise DeviceError("Device index must not be negative")
    if kind == "cpu":
        return device._made("cpu", "cpu", index)
    if index not in (None, 0):
        raise DeviceError(f"Invalid device {kind}:{index}: minigrad uses one GPU, cuda:0")
    return device._made("gpu", "cuda", index)


class memory_format:  # noqa: N801 (torch's name)
    """torch.memory_format: a layout that torch's *_like, clone, contiguous and to take. minigrad's new arrays are
    laid out row by row whatever is asked, so each is taken and none changes a result; a channels-last layout asks
    for a tensor of its rank, as torch's (`rank`; None for any)."""

    def __init__(self, name, rank=None):
        self.name, self.rank = name, rank

    def __repr__(self):
        return f"torch.{self.name}"


contiguous_format, preserve_format = memory_format("contiguous_format"), memory_format("preserve_format")
channels_last, channels_last_3d = memory_format("channels_last", 4), memory_format("channels_last_3d", 5)


def taking_memory_format(function):
    """`function` with torch's keyword memory_format (see memory_format), checked as torch checks it against the
    tensor the function lays out (its first argument)."""
    @functools.wraps(function)
    def taking(*args, **kwargs):
        check_memory_format(function.__name__, kwargs.pop("memory_format", None), args[0] if args else None)
        return function(*args, **kwargs)
    return taking


def check_memory_format(function_name, layout, tensor=None):
    """torch's errors for a memory_format that is none, or asks for another rank than `tensor`'s (if given)."""
    if layout is None:
        return
    if not isinstance(layout, memory_format):
        raise TypeError(f"{function_name}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(layout).__name__}")
    if layout.rank is not None and getattr(tensor, "ndim", layout.rank) != layout.rank:
        raise RuntimeError(f"required rank {layout.rank} tensor to use {layout.name} format")


CPU = device("cpu")
GPU = device("cuda", 0)  # a GPU tensor's, as torch gives it


def normalize_device(name):
    """A device given as torch takes it ("cpu", "cuda", "cuda:0", a device) or by minigrad's name, "gpu": a device,
    equal to "cpu" or "gpu"."""
    return device(name)


def cuda_device(name=None):
    """The GPU, as Tensor.cuda and torch.cuda's functions take it: None (the current one), an index or a device."""
    gpu = GPU if name is None else device("cuda", name) if isinstance(name, int) else device(name)
    if gpu.type != "cuda":
        raise DeviceError("Invalid device, must be cuda device")
    return gpu


def set_tf32(enabled):
    """Let CuPy's float32 matmuls (and so the GPU convs) run on TF32 tensor cores: Ampere and newer GPUs.

    Faster, at 10 mantissa bits in the products, so it is off by default, as torch's float32 matmuls are.
    CuPy warns and keeps full float32 on older GPUs. torch's set_float32_matmul_precision("high") does the same.
    """
    cupy_module()
    use_float32_matmul_precision("high" if enabled else "highest")


def _apply_float32_matmul_precision(cupy):
    linalg = cupy._core._routines_linalg
    tf32 = _float32_matmul_precision != "highest"
    linalg.set_compute_type(np.float32, linalg.COMPUTE_TYPE_TF32 if tf32 else linalg.COMPUTE_TYPE_FP32)


def get_array_module(array):
    """numpy or cupy, whichever owns `array` (numpy for scalars and lists)."""
    if type(array) is np.ndarray:  # the most asked, answered first
        return np
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
    return GPU if get_array_module(array) is not np else CPU


_graph_capture = threading.local()  # whether this thread captures a CUDA graph (minigrad.cuda.graphs sets it)


def capturing_graph(capturing):
    """Set whether the current thread captures a CUDA graph: a capture records its own thread's work (the stream
    and allocator it uses are the thread's), so a copy that another thread makes meanwhile runs as usual."""
    _graph_capture.active = capturing


def to_device(array, device):
    """Move an array to `device`, copying only when it has to."""
    target = normalize_device(device)
    if device_of(array) == target:
        return array
    if target == "gpu":
        # (a 0-d array is made by a fill kernel, which a graph replays)
        if getattr(_graph_capture, "active", False) and np.ndim(array):
            raise RuntimeError("a copy from the host inside a CUDA graph capture would be replayed from CuPy's staging "
                               "buffer, which later copies reuse: make the tensor before the capture, and copy_() new "
                               "values into it before each replay")
        return cupy_module().asarray(array)
    return array.get()


def to_numpy(array):
    return to_device(array, "cpu")
