"""torch's dtype utilities: which dtype an op gives (result_type, promote_types), which casts an op may write
(can_cast), and the default float dtype. minigrad's dtypes are NumPy's; its default float is float32 throughout
(set_default_dtype is not offered: the float32 of numbers and lists is fixed where each op makes its values)."""
import numpy as np

from . import function
from .backend import DEFAULT_DTYPE
from .tensor import Tensor


def _require_dtype(name, role, position, dtype):
    """torch's TypeError for an argument that is not a dtype (minigrad's, as mg.float32, or NumPy's)."""
    if isinstance(dtype, np.dtype) or isinstance(dtype, type) and issubclass(dtype, np.generic):
        return np.dtype(dtype)
    raise TypeError(f"{name}(): argument '{role}' (position {position}) must be torch.dtype, not "
                    f"{type(dtype).__name__}")


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
    return np.dtype(DEFAULT_DTYPE)
