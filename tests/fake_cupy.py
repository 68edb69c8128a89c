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
  - NumPy functions called on device arrays run as CuPy's do (NEP 18), with the same checks;
  - while a stream captures a CUDA graph, every op is recorded, and a launch of the graph redoes them into the
    arrays they made at capture (from what their operands hold then), as CUDA replays kernels on fixed memory;
    the floats those arrays hold are NaN once the capture ends, where CUDA ran nothing yet; what would wait for
    the device or copy an array from the host is refused as CUDA refuses it (CuPy's 0-d arrays of a number are
    a fill kernel, and pass). The capture's own run still writes into arrays made before it, where CUDA's does
    not.
The kernels run through kernel_host.HostRunner. What this checks is the Python side of the GPU
path: every host/device crossing, and that each op keeps its arrays on the device. It says nothing
of CuPy's own numerics or of speed.
"""
import contextlib
import functools
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
# Calls that wait for the device: results sized by their values, and values for the host.
_WAIT_FOR_THE_DEVICE = {"nonzero", "argwhere", "flatnonzero", "unique", "extract", "item", "tolist", "tobytes"}
_CUBLAS = {"matmul", "dot", "tensordot", "inner", "vdot", "einsum"}  # CuPy's calls of cuBLAS


class CUDARuntimeError(RuntimeError):
    """cupy_backends.cuda.api.runtime.CUDARuntimeError."""


class _Capture:
    """The ops a capturing stream has recorded, each a callable that redoes it, and the arrays they made; `lost`
    once one was refused."""

    def __init__(self):
        self.ops, self.made, self.lost = [], [], False

    def record(self, redo, results):
        self.ops.append(redo)
        arrays = results if isinstance(results, (tuple, list)) else (results,)
        self.made += [array for array in arrays if isinstance(array, ndarray) and _OWNERS.get(id(array._host)) is array]

    def end(self):
        """The graph of the ops; what they made holds NaN until it is launched, as CUDA left it unwritten."""
        for array in self.made:
            if array._host.dtype.kind in "fc":
                array._host.fill(np.nan)
        return Graph(self.ops)


_capture = None  # the open capture, if a stream captures


def _refuse_while_capturing():
    """What would wait for the device or copy from the host: CUDA's refusal, and the capture is lost."""
    if _capture is not None:
        _capture.lost = True
        raise CUDARuntimeError("cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing")


def _refuse_a_call_while_capturing(name, args=()):
    """What is refused of a call of function `name` while a stream captures: CuPy's cuBLAS calls, by CuPy (the
    capture goes on), and calls that wait for the device. CuPy's einsum of one operand is a sum, without cuBLAS."""
    operands = sum(isinstance(arg, ndarray) for arg in args)
    if _capture is not None and name in _CUBLAS and not (name == "einsum" and operands < 2):
        raise NotImplementedError("calling cuBLAS API during stream capture is currently unsupported")
    if name in _WAIT_FOR_THE_DEVICE:
        _refuse_while_capturing()


def _run(work):
    """An op: `work()` now, and while a stream captures, again at each launch of the graph, into the same results."""
    results = work()
    if _capture is not None:
        _capture.record(lambda: _write_into(results, work()), results)
    return results


def _write_into(results, again):
    """A redone op's results into those of its capture; a view (of its operands) already shows them."""
    if isinstance(results, ndarray):
        if not np.may_share_memory(results._host, again._host):
            np.copyto(results._host, again._host)
    elif isinstance(results, (tuple, list)):
        for result, redone in zip(results, again):
            _write_into(result, redone)


def _recorded(function):
    """`function` as an op that a capturing stream records."""
    @functools.wraps(function)
    def op(*args, **kwargs):
        return _run(lambda: function(*args, **kwargs))
    return op


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
        _refuse_while_capturing()
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
        _refuse_a_call_while_capturing(ufunc.__name__)

        def work():
            if ufunc is np.floor_divide and method == "__call__" and np.result_type(*operands).kind == "f":
                return _to_device(np.floor(np.divide(*operands), **kwargs))  # CuPy's: the floor of the rounded quotient
            return _to_device(getattr(ufunc, method)(*operands, **kwargs))
        result = _run(work)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_a_call_while_capturing(func.__name__, args)
        return _run(lambda: _to_device(func(*_to_host(args), **_to_host(kwargs))))

    def __getattr__(self, name):
        if name.startswith("__"):  # NumPy would read the host buffer through __array_interface__
            raise AttributeError(name)
        value = getattr(self._host, name)
        if callable(value):
            _refuse_a_call_while_capturing(name)
            return _recorded(lambda *args, **kwargs: _to_device(value(*_to_host(args), **_to_host(kwargs))))
        return _to_device(value)

    def __getitem__(self, key):
        key = _to_host(key)
        if any(getattr(index, "dtype", None) == bool for index in (key if isinstance(key, tuple) else (key,))):
            _refuse_while_capturing()  # a boolean mask's result is sized by its values

        def work():
            item = self._host[key]
            if isinstance(item, np.generic):  # an index of all ints: CuPy's is a 0-d view, where NumPy's is a copy
                item = self._host[(*key, Ellipsis) if isinstance(key, tuple) else (key, Ellipsis)]
            return _to_device(item)
        return _run(work)

    def __setitem__(self, key, value):
        _run(lambda: self._host.__setitem__(_to_host(key), value._host if isinstance(value, ndarray) else value))

    def __len__(self):
        return len(self._host)

    def __iter__(self):
        return (ndarray(np.asarray(row)) for row in self._host)

    def __bool__(self):
        _refuse_while_capturing()
        return bool(self._host)

    def __float__(self):
        _refuse_while_capturing()
        return float(self._host)

    def __int__(self):
        _refuse_while_capturing()
        return int(self._host)

    def __index__(self):
        _refuse_while_capturing()
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
            if host.ndim:  # (CuPy fills a 0-d array with a kernel)
                _refuse_while_capturing()
            HOST_COPIES.append(host.shape)
            return ndarray(numpy_function(host.copy(), *args[1:], **_to_host(kwargs)))
        _refuse_a_call_while_capturing(name, args)
        return _run(lambda: _to_device(numpy_function(*_to_host(args), **_to_host(kwargs))))
    return call


def _unchecked(numpy_function, result_of_failure):
    """cupy.linalg's function: result_of_failure(the host operands) where NumPy's raises LinAlgError, as CuPy
    returns what cuSOLVER and cuBLAS left."""
    @_recorded
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
    return _recorded(lambda *args, **kwargs: _to_device(function(*_to_host(args, operand=True), **_to_host(kwargs))))


# cupy.linalg: what CuPy's has, and nothing else
LINALG = types.SimpleNamespace(
    LinAlgError=np.linalg.LinAlgError, cholesky=_unchecked(np.linalg.cholesky, _factor_as_far_as_potrf_got),
    inv=_unchecked(np.linalg.inv, _zeros_of_result), solve=_unchecked(np.linalg.solve, _zeros_of_result),
    **{name: _function_of(np.linalg, name) for name in ("det", "slogdet", "qr", "svd", "eigh", "eigvalsh", "norm",
                                                         "pinv", "lstsq", "matrix_power", "matrix_rank",
                                                         "tensorinv", "tensorsolve")})
@_recorded
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
    """cupy.cuda.MemoryPool: the stand-in's arrays are the host's, so it holds no blocks and allocates nothing."""

    @staticmethod
    def free_all_blocks():
        pass

    def malloc(self, size):
        raise AssertionError("the stand-in's arrays take the host's memory")


class Graph:
    """cupy.cuda.Graph: a launch redoes the recorded ops in order."""

    def __init__(self, ops):
        self._ops = ops

    def launch(self, stream=None):
        for op in self._ops:
            op()


class Stream:
    """cupy.cuda.Stream: one queue, as the stand-in runs each op at once; current within `with`, and able to
    capture a graph, as a stream other than the default one is."""

    _current = []  # the streams entered, innermost last

    def __init__(self, null=False, non_blocking=False):
        self.null = null

    def __enter__(self):
        Stream._current.append(self)
        return self

    def __exit__(self, *exc):
        Stream._current.pop()

    def record(self, event=None):
        return event

    def wait_event(self, event):
        pass

    def synchronize(self):
        _refuse_while_capturing()

    def begin_capture(self, mode=None):
        global _capture
        if self.null:
            raise RuntimeError("cannot capture on the default (legacy) stream")  # CuPy's words
        if _capture is not None:
            raise CUDARuntimeError("cudaErrorIllegalState: operation would make the legacy stream depend on a "
                                   "capturing blocking stream")
        _capture = _Capture()

    def end_capture(self):
        global _capture
        capture, _capture = _capture, None
        if capture.lost:
            raise CUDARuntimeError("cudaErrorStreamCaptureInvalidated: operation failed due to a previous error "
                                   "during capture")
        return capture.end()

    def is_capturing(self):
        return _capture is not None


NULL_STREAM = Stream(null=True)


def _current_stream():
    return Stream._current[-1] if Stream._current else NULL_STREAM


def _device_synchronize():
    _refuse_while_capturing()


# cupy.cuda.runtime: what minigrad calls of it, for one device
RUNTIME = types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=_device_synchronize,
                                getDeviceProperties=lambda device: {"name": b"CuPy stand-in"})


class FakeCupy(types.ModuleType):
    """The `cupy` module: its functions take and give device arrays; dtypes and ufuncs are NumPy's."""

    ndarray = ndarray
    linalg = LINALG
    lib = LIB
    cuda = types.SimpleNamespace(runtime=RUNTIME, Stream=Stream, MemoryPool=MemoryPool,
                                 get_current_stream=_current_stream,
                                 using_allocator=lambda allocator=None: contextlib.nullcontext())

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
        _run(lambda: self.host_runner(file, kernel, dtype, total, tuple(_to_host(arg) for arg in args)))

    def gemm(self, call, dtype):
        host = call._replace(a=call.a._host, b=call.b._host, c=call.c._host)
        return _run(lambda: self.host_runner.gemm(host, dtype))

    @staticmethod
    def address(array):
        return array.data.ptr


def install(monkeypatch, host_runner):
    """Within a test: minigrad's GPU is this stand-in, and its kernels run on the host. cupyx.scipy.special is
    scipy.special, whose functions are ufuncs, so they take device arrays through ndarray.__array_ufunc__;
    cupyx.scipy.linalg has what minigrad uses of it."""
    HOST_COPIES.clear()
    monkeypatch.setattr(sys.modules[__name__], "_capture", None)
    monkeypatch.setattr(Stream, "_current", [])
    monkeypatch.setattr(backend, "_cupy", FakeCupy())
    monkeypatch.setattr(kernels, "_cupy_runner", HostKernels(host_runner))
    monkeypatch.setitem(sys.modules, "cupyx.scipy.special", scipy.special)
    monkeypatch.setitem(sys.modules, "cupyx.scipy.linalg", SCIPY_LINALG)
