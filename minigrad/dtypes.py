"""torch's dtype utilities: which dtype an op gives (result_type, promote_types), which casts an op may write
(can_cast), and the default float dtype (get_default_dtype, set_default_dtype). minigrad's dtypes are NumPy's."""
import numpy as np

from . import backend, function
from .tensor import Tensor

_NOT_FLOATING = "only floating-point types are supported as the default type"


def _is_dtype(dtype):
    """Whether `dtype` is a dtype object: minigrad's (mg.float32, NumPy's type) or a NumPy dtype."""
    return isinstance(dtype, np.dtype) or isinstance(dtype, type) and issubclass(dtype, np.generic)


_PYTHON_TYPES = (bool, int, float, complex)  # torch's arguments take them as bool, int64, float64, complex128


def _require_dtype(name, role, position, dtype):
    """The dtype of a dtype argument (minigrad's, as mg.float32, NumPy's, or a Python number type, as torch's), or
    torch's TypeError; position None for an argument that torch's message does not number."""
    if _is_dtype(dtype) or isinstance(dtype, type) and dtype in _PYTHON_TYPES:
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
    if not _is_dtype(d):
        raise TypeError(f"invalid dtype object: {_NOT_FLOATING}")
    dtype = np.dtype(d)
    if dtype.kind != "f":
        raise TypeError(_NOT_FLOATING)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"only float32 and float64 are supported as minigrad's default type, not {dtype}")
    backend.use_default_dtype(dtype)
