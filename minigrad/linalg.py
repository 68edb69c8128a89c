"""torch.linalg's functions that minigrad has: cross."""
from .function import SCALAR_TYPE_NAMES, require_broadcastable
from .ops.shape import normalize_dim
from .tensor import tensor_only

__all__ = ["cross"]


def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along `dim`, the other dims broadcast, in one dtype (integers too), as
    torch.linalg.cross: entry i is input[i+1] * other[i+2] - input[i+2] * other[i+1], indices modulo 3."""
    for position, (role, tensor) in enumerate((("input", input), ("other", other)), 1):
        tensor_only("linalg_cross", tensor, position, role)
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    require_broadcastable(input.shape, other.shape)
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES.get(input.dtype, input.dtype)} but found "
                           f"{SCALAR_TYPE_NAMES.get(other.dtype, other.dtype)}")
    axis = normalize_dim(dim, input.ndim)
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[axis]} and "
                           f"{other.shape[axis]}")
    return input.roll(-1, axis) * other.roll(-2, axis) - input.roll(-2, axis) * other.roll(-1, axis)
