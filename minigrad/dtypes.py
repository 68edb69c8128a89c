"""torch's dtype utilities: which dtype an op gives (result_type, promote_types), which casts an op may write
(can_cast), the default float dtype (get_default_dtype, set_default_dtype), and a dtype's limits (finfo, iinfo).
minigrad's dtypes are NumPy's."""
import numpy as np

from . import backend, function
from .tensor import Tensor

_NOT_FLOATING = "only floating-point types are supported as the default type"


_PYTHON_TYPES = (bool, int, float, complex)  # torch's arguments take them as bool, int64, float64, complex128


def _require_dtype(name, role, position, dtype):
    """The dtype of a dtype argument (minigrad's, as mg.float32, NumPy's, or a Python number type, as torch's), or
    torch's TypeError; position None for an argument that torch's message does not number."""
    if backend.is_dtype(dtype) or isinstance(dtype, type) and dtype in _PYTHON_TYPES:
        return np.dtype(dtype)
    where = "" if position is None else f" (position {position})"
    raise TypeError(f"{name}(): argument '{role}'{where} must be torch.dtype, not {type(dtype).__name__}")


def result_type(tensor1, tensor2):
    """The dtype of an op on two operands, each a tensor or a number, by torch's promotion rules (a tensor's dtype
    outranks a 0-d tensor's, which outranks a number's, unless the lower one is of a higher category)."""
    for operand in (tensor1, tensor2):
        if not isinstance(operand, (Tensor, bool, int, float, complex)):
            raise TypeError(f"result_type() received an invalid combination of arguments - got "
                            f"({type(tensor1).__name__}, {type(tensor2).__name__}), but expected a Tensor or a "
                            "Number for each")
    return function.result_type(tensor1, tensor2)


def promote_types(type1, type2):
    """The smallest dtype both dtypes cast to without losing their category, as torch's (uint8 and int8 give
    int16, int64 and float16 give float16)."""
    return function.promote(_require_dtype("promote_types", "type1", 1, type1),
                            _require_dtype("promote_types", "type2", 2, type2))


def can_cast(from_, to):
    """Whether torch lets an op write a result of dtype `from_` into a tensor of dtype `to`: any but a cast to a
    lower category (float to integer, integer to bool, complex to real)."""
    return function.can_cast(_require_dtype("can_cast", "from_", 1, from_), _require_dtype("can_cast", "to", 2, to))


def get_default_dtype():
    return backend.default_dtype()


def set_default_dtype(d, /):
    """Make `d`, float32 or float64, the dtype of what takes the default from now on, in every thread, as torch's:
    tensors of Python floats and lists, creation functions without a dtype (zeros, rand, arange of floats, ...),
    the floating point results of integers (int64 * 1.5, int64 / int64, tanh of an int64 tensor), complex numbers
    (complex128 for float64), and new layers' parameters and buffers. Existing tensors and NumPy arrays keep their
    dtypes. torch's float16 and bfloat16 are refused: NumPy has no bfloat16, nor the complex32 a float16 default
    gives complex numbers."""
    if not backend.is_dtype(d):
        raise TypeError(f"invalid dtype object: {_NOT_FLOATING}")
    dtype = np.dtype(d)
    if dtype.kind != "f":
        raise TypeError(_NOT_FLOATING)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"only float32 and float64 are supported as minigrad's default type, not {dtype}")
    backend.use_default_dtype(dtype)


_DEFAULT = object()  # finfo() without an argument: the default dtype (an explicit None is refused, as torch's)


class _TypeInfo:
    """The limits of a dtype as read-only Python numbers, with torch's repr and equality (of the same kind and
    dtype); `dtype` is the dtype's name, as torch's."""

    _REPR_FIELDS = ()

    def _hold(self, dtype, **limits):
        for name, value in dict(limits, dtype=str(dtype)).items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of '{type(self).__name__}' objects is not writable")

    def __eq__(self, other):
        return type(other) is type(self) and other.dtype == self.dtype

    __hash__ = None  # torch's are unhashable

    def __repr__(self):
        fields = "".join(f"{field}={getattr(self, field):g}, " for field in self._REPR_FIELDS)
        return f"{type(self).__name__}({fields}dtype={self.dtype})"


class finfo(_TypeInfo):
    """torch.finfo: the limits of a floating-point dtype (of a complex one's parts) from NumPy's finfo, the default
    dtype's without an argument."""

    _REPR_FIELDS = ("resolution", "min", "max", "eps", "smallest_normal", "tiny")

    def __init__(self, type=_DEFAULT):
        dtype = get_default_dtype() if type is _DEFAULT else _require_dtype("finfo", "type", 1, type)
        if dtype.kind not in "fc":
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        limits = np.finfo(dtype)
        self._hold(limits.dtype, bits=limits.bits, resolution=10.0 ** -limits.precision,  # NumPy's is rounded
                   **{field: float(getattr(limits, field)) for field in ("min", "max", "eps", "smallest_normal",
                                                                         "tiny")})


class iinfo(_TypeInfo):
    """torch.iinfo: the limits of an integer dtype, from NumPy's iinfo."""

    _REPR_FIELDS = ("min", "max")

    def __init__(self, type):
        dtype = _require_dtype("iinfo", "type", 1, type)
        if dtype == bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if dtype.kind not in "iu":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        limits = np.iinfo(dtype)
        self._hold(dtype, bits=limits.bits, min=int(limits.min), max=int(limits.max))
