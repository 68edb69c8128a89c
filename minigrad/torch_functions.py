"""torch's function forms of the Tensor methods: minigrad.exp(t) is t.exp(), with torch's arguments, the first one
named as torch names it (`input`, or `tensor` for split), so ported code that calls torch.X(...) runs unchanged."""
from . import ops
from .ops.einsum import einsum_of_one
from .tensor import Tensor, tensor_only

# Tensor methods whose torch function takes the same arguments, the tensor first.
METHODS = (
    "abs", "acos", "all", "allclose", "amax", "amin", "any", "arctan2", "argmax", "argmin", "argsort", "asin",
    "atan", "atan2", "ceil", "chunk", "clamp", "clamp_max", "clamp_min", "clip", "copysign", "cos", "cosh",
    "count_nonzero", "cumsum", "diag", "diagonal", "erf", "exp", "exp2", "expm1", "flatten", "flip", "floor",
    "floor_divide", "fmax", "fmin", "fmod", "frac", "gather", "ger", "hypot", "index_add", "index_copy",
    "index_fill", "index_select", "is_floating_point", "isfinite", "isinf", "isnan", "lerp", "log", "log10",
    "log1p", "log2", "log_softmax", "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logit", "logsumexp", "masked_fill", "matmul", "max", "maximum", "mean", "min", "minimum",
    "msort", "nan_to_num", "narrow", "neg", "nonzero", "norm", "numel", "outer", "permute", "pow", "prod",
    "reciprocal", "relu", "remainder", "repeat_interleave", "reshape", "roll", "round", "rsqrt", "scatter",
    "scatter_add", "sigmoid", "sign", "sin", "sinh", "softmax", "sort", "sqrt", "square", "squeeze", "std", "sum",
    "t", "tan", "tanh", "topk", "trace", "transpose", "tril", "triu", "trunc", "unbind", "unflatten", "unsqueeze",
    "var",
)
FIRST_ARGUMENT = {"split": "tensor"}  # torch's name of the tensor argument where it is not `input`
TENSOR_OTHER = {"arctan2", "atan2", "fmax", "fmin", "hypot", "logaddexp", "logaddexp2"}  # no number for `other`


def _function_of(method, first="input"):
    """torch.<method>(first, *args, **kwargs) as first.<method>(*args, **kwargs), with torch's TypeError for a
    first argument that is not a tensor."""

    def function(*args, **kwargs):
        if first in kwargs:
            args = (kwargs.pop(first), *args)
        if not args:
            raise TypeError(f"{method}() missing 1 required positional argument: '{first}'")
        tensor, *rest = args
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{method}(): argument '{first}' (position 1) must be Tensor, not {type(tensor).__name__}")
        if method in TENSOR_OTHER and rest:
            tensor_only(method, rest[0], position=2)
        return getattr(tensor, method)(*rest, **kwargs)

    function.__name__ = function.__qualname__ = method
    function.__doc__ = f"torch.{method}: {first}.{method}(...), see Tensor.{method}."
    return function


FUNCTIONS = {name: _function_of(name, FIRST_ARGUMENT.get(name, "input"))
             for name in (*METHODS, *FIRST_ARGUMENT)}


def _require_dims(name, ndim, **operands):
    """torch's errors for mm (matrices) and bmm (3-d batches) before the product's own shape checks."""
    for role, tensor in operands.items():
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{name}(): argument '{role}' must be Tensor, not {type(tensor).__name__}")
        if tensor.ndim != ndim:
            raise RuntimeError(f"{role} must be a matrix" if ndim == 2 else f"{role} must be a {ndim}D tensor")


def mm(input, mat2):
    """The product of two matrices; unlike matmul, nothing else (no 1-d vectors, no batches), as torch's."""
    _require_dims("mm", 2, self=input, mat2=mat2)
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied "
                           "({}x{} and {}x{})".format(*input.shape, *mat2.shape))
    return input.matmul(mat2)


def bmm(input, mat2):
    """Batched products of two 3-d tensors of one batch size, without broadcasting, as torch's."""
    _require_dims("bmm", 3, batch1=input, batch2=mat2)
    expected = [input.shape[0], input.shape[2]]
    if list(mat2.shape[:2]) != expected:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: {expected} but got: "
                           f"{list(mat2.shape[:2])}.")
    return input.matmul(mat2)


def einsum(equation, *operands):
    """torch.einsum: the operands as separate arguments or as one list, of one dtype; see ops.Einsum."""
    if not isinstance(equation, str):
        raise TypeError("einsum(): the equation must be a str (torch's sublist form is not supported in minigrad)")
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for index, operand in enumerate(operands):
        if not isinstance(operand, Tensor):
            raise TypeError(f"einsum(): argument 'operands' must be tuple of Tensors, but found element of type "
                            f"{type(operand).__name__} at pos {index}")
    out = ops.Einsum.apply(*operands, equation=equation)
    if len(operands) > 1:
        return out
    return operands[0]._viewed(out, lambda array: einsum_of_one(equation, array))


def xlogy(input, other):
    """torch.xlogy, whose `input` may also be a number (the `other` then a tensor), as torch's."""
    if isinstance(input, Tensor):
        return input.xlogy(other)
    return ops.Xlogy.apply(input, tensor_only("xlogy", other, position=2), node_name="XlogyBackward1")


FUNCTIONS.update(mm=mm, bmm=bmm, einsum=einsum, xlogy=xlogy)
