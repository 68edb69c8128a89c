"""A strict stand-in for CuPy on the host: runs minigrad's whole GPU path without a GPU.

Its arrays hold NumPy arrays but behave as CuPy's do where CuPy is stricter than NumPy, so the code
that only a GPU would run meets the same refusals here:
  - no implicit conversion to NumPy: np.asarray(x) and np.array(x) raise TypeError (use .get());
  - a NumPy array cannot take part in an operation with a device array (TypeError); Python and
    NumPy scalars can, so can integer NumPy arrays passed to a function as axes, shapes or widths,
    and asarray/array/ascontiguousarray copy NumPy arrays to the device;
  - reductions give 0-d device arrays, not NumPy scalars;
  - where's condition must be a device array, not a Python bool;
  - floor_divide of floats floors the rounded quotient a / b, where NumPy's takes Python's divmod steps (735.5 //
    0.1 in float32 is 7355, not 7354);
  - cupy.linalg gives a result for a singular (or not positive-definite) matrix without a word, where
    NumPy's raises LinAlgError: finite numbers for an inverse, as CuPy's do;
  - NumPy functions called on device arrays run as CuPy's do (NEP 18), with the same checks.
The kernels run through kernel_host.HostRunner. What this checks is the Python side of the GPU
path: every host/device crossing, and that each op keeps its arrays on the device. It says nothing
of CuPy's own numerics or of speed.
"""
import sys
import types
import weakref

import numpy as np
import scipy.linalg
import scipy.special
from numpy.lib.mixins import NDArrayOperatorsMixin

from minigrad import backend, kernels

# CuPy's constructors take host data; every other function refuses NumPy arrays.
_FROM_HOST = ("asarray", "array", "ascontiguousarray")
UFUNCS_WITH_AT = {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}  # CuPy's scatter ops
HOST_COPIES = []  # the shape of each array copied from the host since install()
_OWNERS = weakref.WeakValueDictionary()  # id(a host array that owns its memory) -> the device array made of it first


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 (CuPy's name)
    """A device array: a NumPy array that only device arrays and scalars may touch."""

    __module__ = "cupy"  # how minigrad.backend tells CuPy arrays apart
    __hash__ = None

    def __init__(self, host):
        self._host = host
        if host.base is None:
            _OWNERS.setdefault(id(host), self)

    @property
    def base(self):
        """The array whose memory this one views, one object for all its views, as CuPy's (minigrad tells a block
        of memory by that object's identity, so a new one each time would tell a write into it by chance)."""
        owner = self._host.base
        if not isinstance(owner, np.ndarray):
            return None
        device = _OWNERS.get(id(owner))
        if device is None or device._host is not owner:
            device = ndarray(owner)
        self._owner = device                                            # alive, and its identity kept, as this view
        return device

    def get(self):
        return self._host.copy()

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self._host.ctypes.data)

    @property
    def __cuda_array_interface__(self):
        host = self._host
        return {"shape": host.shape, "typestr": host.dtype.str, "data": (host.ctypes.data, False),
                "strides": None if host.flags.c_contiguous else host.strides, "version": 3}

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "at" and ufunc.__name__ not in UFUNCS_WITH_AT:
            raise NotImplementedError(f"`{ufunc.__name__}.at` is not supported yet")  # CuPy's words
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_to_host(array, operand=True) for array in out)
        operands = _to_host(inputs, operand=True)
        if ufunc is np.floor_divide and method == "__call__" and np.result_type(*operands).kind == "f":
            result = np.floor(np.divide(*operands), **kwargs)  # CuPy's: the floor of the rounded quotient
        else:
            result = getattr(ufunc, method)(*operands, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device(result)

    def __array_function__(self, func, types_, args, kwargs):
        return _to_device(func(*_to_host(args), **_to_host(kwargs)))

    def __getattr__(self, name):
        if name.startswith("__"):  # NumPy would read the host buffer through __array_interface__
            raise AttributeError(name)
        value = getattr(self._host, name)
        if callable(value):
            return lambda *args, **kwargs: _to_device(value(*_to_host(args), **_to_host(kwargs)))
        return _to_device(value)

    def __getitem__(self, key):
        key = _to_host(key)
        item = self._host[key]
        if isinstance(item, np.generic):  # an index of all ints: CuPy's is a 0-d view, where NumPy's is a copy
            item = self._host[(*key, Ellipsis) if isinstance(key, tuple) else (key, Ellipsis)]
        return _to_device(item)

    def __setitem__(self, key, value):
        self._host[_to_host(key)] = value._host if isinstance(value, ndarray) else value

    def __len__(self):
        return len(self._host)

    def __iter__(self):
        return (ndarray(np.asarray(row)) for row in self._host)

    def __bool__(self):
        return bool(self._host)

    def __float__(self):
        return float(self._host)

    def __int__(self):
        return int(self._host)

    def __index__(self):
        return self._host.__index__()

    def __repr__(self):
        return f"fake_cupy.{self._host!r}"


def _to_host(value, operand=False):
    """Device arrays -> their NumPy arrays, inside tuples, lists and dicts; NumPy data is refused.

    An integer NumPy array passes as a function's parameter (axes, a shape), never as an `operand`.
    """
    if isinstance(value, ndarray):
        return value._host
    if isinstance(value, np.ndarray) and value.ndim > 0 and (operand or value.dtype.kind not in "iu"):
        raise TypeError(f"Unsupported type {type(value)}: a NumPy array met a CuPy array")
    if isinstance(value, (tuple, list)):
        return type(value)(_to_host(item, operand) for item in value)
    if isinstance(value, dict):
        return {key: _to_host(item, operand) for key, item in value.items()}
    return value


def _to_device(value):
    """NumPy arrays and scalars -> device arrays (CuPy returns 0-d arrays), inside tuples and lists; NumPy's named
    tuples (of svd, eigh, qr) are plain tuples, as CuPy's."""
    if isinstance(value, (np.ndarray, np.generic)):
        return ndarray(np.asarray(value))
    if isinstance(value, (tuple, list)):
        return (list if isinstance(value, list) else tuple)(_to_device(item) for item in value)
    return value


def _function(name):
    return _function_of(np, name)


def _function_of(module, name):
    numpy_function = getattr(module, name)

    def call(*args, **kwargs):
        if name in _FROM_HOST and args and not isinstance(args[0], ndarray):
            host = args[0] if isinstance(args[0], np.ndarray) else np.asarray(_to_host(args[0]))
            HOST_COPIES.append(host.shape)
            return ndarray(numpy_function(host.copy(), *args[1:], **_to_host(kwargs)))
        return _to_device(numpy_function(*_to_host(args), **_to_host(kwargs)))
    return call


def _unchecked(numpy_function, result_of_failure):
    """cupy.linalg's function: result_of_failure(the host operands) where NumPy's raises LinAlgError, as CuPy
    returns what cuSOLVER and cuBLAS left."""
    def call(*operands):
        operands = _to_host(operands, operand=True)
        try:
            return _to_device(numpy_function(*operands))
        except np.linalg.LinAlgError:
            return _to_device(result_of_failure(*operands))
    return call


def _zeros_of_result(a, b=None):
    """inv's or solve's result for a batch with a singular matrix: zeros, finite, as cuBLAS's batched getri can
    leave it."""
    return np.zeros((a if b is None else b).shape, a.dtype)


def _factor_as_far_as_potrf_got(a):
    """cholesky's for a matrix that is not positive-definite: its factor as far as potrf got (its failing pivot
    on the diagonal)."""
    flat = a.reshape(-1, *a.shape[-2:])
    potrf = scipy.linalg.get_lapack_funcs("potrf", (flat,))
    return np.stack([np.tril(potrf(m, lower=True, clean=True)[0]) for m in flat]).reshape(a.shape)


def _host_function(module, name):
    """`name` of a host module (scipy.linalg's) on device arrays only, as cupyx's."""
    function = getattr(module, name)
    return lambda *args, **kwargs: _to_device(function(*_to_host(args, operand=True), **_to_host(kwargs)))


# cupy.linalg: what CuPy's has, and nothing else
LINALG = types.SimpleNamespace(
    LinAlgError=np.linalg.LinAlgError, cholesky=_unchecked(np.linalg.cholesky, _factor_as_far_as_potrf_got),
    inv=_unchecked(np.linalg.inv, _zeros_of_result), solve=_unchecked(np.linalg.solve, _zeros_of_result),
    **{name: _function_of(np.linalg, name) for name in ("det", "slogdet", "qr", "svd", "eigh", "eigvalsh", "norm",
                                                         "pinv", "lstsq", "matrix_power", "matrix_rank",
                                                         "tensorinv", "tensorsolve")})
def _lu_factor(a, overwrite_a=False, check_finite=True):
    """cupyx.scipy.linalg.lu_factor: of one matrix, where SciPy's takes batches; 0-based int32 pivots."""
    if a.ndim != 2:
        raise ValueError(f"expected a 2-dimensional matrix, got {a.ndim} dimensions")
    factors, pivots = scipy.linalg.lu_factor(_to_host(a, operand=True), check_finite=check_finite)
    return _to_device(factors), _to_device(pivots.astype(np.int32))


def _as_strided(x, shape=None, strides=None):
    """cupy.lib.stride_tricks.as_strided: of device arrays, without NumPy's subok and writeable, as CuPy's."""
    return _to_device(np.lib.stride_tricks.as_strided(_to_host(x, operand=True), shape, strides))


LIB = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))  # what minigrad uses of it


SCIPY_LINALG = types.SimpleNamespace(solve_triangular=_host_function(scipy.linalg, "solve_triangular"),
                                     lu_factor=_lu_factor)


class ComputeTypes:
    """cupy._core._routines_linalg's compute types of matmuls, by dtype (what CuPy's cuBLAS calls use)."""

    COMPUTE_TYPE_DEFAULT, COMPUTE_TYPE_FP32, COMPUTE_TYPE_TF32 = 1, 4, 7  # CuPy's values

    def __init__(self):
        self._by_dtype = {}

    def set_compute_type(self, dtype, compute_type):
        self._by_dtype[np.dtype(dtype)] = compute_type

    def get_compute_type(self, dtype):
        return self._by_dtype.get(np.dtype(dtype), self.COMPUTE_TYPE_DEFAULT)


class MemoryPool:
    """cupy.get_default_memory_pool(): the stand-in's arrays are the host's, so it holds no blocks."""

    @staticmethod
    def free_all_blocks():
        pass


# cupy.cuda.runtime: what minigrad calls of it, for one device
RUNTIME = types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: None,
                                getDeviceProperties=lambda device: {"name": b"CuPy stand-in"})


class FakeCupy(types.ModuleType):
    """The `cupy` module: its functions take and give device arrays; dtypes and ufuncs are NumPy's."""

    ndarray = ndarray
    linalg = LINALG
    lib = LIB
    cuda = types.SimpleNamespace(runtime=RUNTIME)

    def __init__(self):
        super().__init__("cupy")
        self._core = types.SimpleNamespace(_routines_linalg=ComputeTypes())
        self._memory_pool = MemoryPool()

    def get_default_memory_pool(self):
        return self._memory_pool

    def __getattr__(self, name):
        value = getattr(np, name)
        if isinstance(value, np.ufunc) or not callable(value) or isinstance(value, type):
            return value  # ufuncs dispatch through ndarray.__array_ufunc__; dtypes and constants are shared
        return _function(name)

    @staticmethod
    def asnumpy(array):
        return array.get()

    @staticmethod
    def where(condition, *values):
        if not isinstance(condition, ndarray):
            raise AttributeError(f"{type(condition).__name__!r} object has no attribute 'astype'")  # CuPy's
        return _function("where")(condition, *values)


class HostKernels:
    """minigrad.kernels' runner for device arrays: the CUDA kernels, built for the host (kernel_host)."""

    def __init__(self, host_runner):
        self.host_runner = host_runner

    def __call__(self, file, kernel, dtype, total, args):
        self.host_runner(file, kernel, dtype, total, tuple(_to_host(arg) for arg in args))

    @staticmethod
    def address(array):
        return array.data.ptr


def install(monkeypatch, host_runner):
    """Within a test: minigrad's GPU is this stand-in, and its kernels run on the host. cupyx.scipy.special is
    scipy.special, whose functions are ufuncs, so they take device arrays through ndarray.__array_ufunc__;
    cupyx.scipy.linalg has what minigrad uses of it."""
    HOST_COPIES.clear()
    monkeypatch.setattr(backend, "_cupy", FakeCupy())
    monkeypatch.setattr(kernels, "_cupy_runner", HostKernels(host_runner))
    monkeypatch.setitem(sys.modules, "cupyx.scipy.special", scipy.special)
    monkeypatch.setitem(sys.modules, "cupyx.scipy.linalg", SCIPY_LINALG)
