"""torch's function forms of the Tensor methods: minigrad.exp(t) is t.exp(), with torch's arguments, the first one
named as torch names it (`input`, or `tensor` for split), so ported code that calls torch.X(...) runs unchanged."""
import collections
import functools
import itertools
import math
import numbers
import warnings

import numpy as np

from . import linalg, ops
from .backend import default_dtype, get_array_module
from .creation import zeros
from .function import (CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, autocasts, converted_scalar, refusing_uninitialized,
                       require_64_bits, require_broadcastable, result_type)
from .ops.einsum import einsum_of_one
from .ops.shape import normalize_dim
from .tensor import (Tensor, checked_arguments, function_form, in_place_version, int_argument, tensor_only, where,
                     written_out)

# Tensor methods whose torch function takes the same arguments, the tensor first.
METHODS = (
    "abs", "absolute", "acos", "acosh", "add", "addcdiv", "addcmul", "all", "allclose", "amax", "amin", "aminmax",
    "angle", "any", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin",
    "argsort", "argwhere", "as_strided", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "broadcast_to", "ceil", "chunk", "clamp",
    "clamp_max", "clamp_min", "clip", "clone", "copysign", "cos", "cosh", "count_nonzero", "cummax", "cummin",
    "cumprod", "cumsum", "deg2rad", "detach", "diag", "diag_embed", "diagflat", "diagonal", "diagonal_scatter", "diff",
    "digamma", "div", "divide", "dsplit", "eq", "equal", "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "fix",
    "flatten", "flip", "fliplr", "flipud", "float_power", "floor", "floor_divide", "fmax", "fmin", "fmod", "frac",
    "frexp", "gather", "gcd", "ge", "ger", "greater", "greater_equal", "gt", "hsplit", "hypot", "i0", "index_add",
    "index_copy", "index_fill", "index_put", "index_reduce", "index_select", "is_complex", "is_floating_point",
    "is_nonzero", "is_same_size", "is_signed", "isclose", "isfinite", "isinf", "isnan", "isneginf", "isposinf",
    "isreal", "kthvalue", "lcm", "ldexp", "le", "lerp", "less", "less_equal", "lgamma", "log", "log10", "log1p",
    "log2", "log_softmax", "logaddexp", "logaddexp2", "logcumsumexp", "logical_and", "logical_not", "logical_or",
    "logical_xor", "logit", "logsumexp", "lt", "masked_fill", "masked_scatter", "matmul", "max", "maximum", "mean",
    "median", "min", "minimum", "mode", "moveaxis", "movedim", "msort", "mul", "multiply", "mvlgamma", "nan_to_num",
    "nanmean", "nanmedian", "nanquantile", "nansum", "narrow", "ne", "neg", "negative", "nextafter", "nonzero", "norm",
    "not_equal", "numel", "outer", "permute", "positive", "pow", "prod", "put", "quantile", "rad2deg", "ravel",
    "reciprocal", "relu", "remainder", "repeat_interleave", "reshape", "roll", "rot90", "round", "rsqrt", "rsub",
    "scatter", "scatter_add", "scatter_reduce", "select", "select_scatter", "sgn", "sigmoid", "sign", "signbit", "sin",
    "sinc", "sinh", "slice_scatter", "softmax", "sort", "split_with_sizes", "sqrt", "square", "squeeze", "std", "sub",
    "subtract", "sum", "swapaxes", "swapdims", "t", "take", "take_along_dim", "tan", "tanh", "tensor_split", "tile",
    "topk", "trace", "transpose", "tril", "triu", "true_divide", "trunc", "unbind", "unflatten", "unsqueeze", "var",
    "vsplit",
)
FIRST_ARGUMENT = {"split": "tensor"}  # torch's name of the tensor argument where it is not `input`
# no number for `other`
TENSOR_OTHER = {"arctan2", "atan2", "fmax", "fmin", "gcd", "hypot", "igamma", "igammac", "lcm", "ldexp", "logaddexp",
                "logaddexp2", "nextafter"}
# a number first, as torch.add(2, t)
NUMBER_FIRST = {"add", "bitwise_and", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "div",
                "divide", "floor_divide", "mul", "multiply", "pow", "remainder", "sub", "subtract", "true_divide"}


def _wrapped_number(number, other):
    """A number given first (torch.mul(0.1, t)) as torch wraps it: a 0-d tensor of its own precision (int64,
    float64, complex128 or bool) on the device of the tensor `other`, which ops promote as the number."""
    require_64_bits(number)
    wrapped = Tensor(np.asarray(number), device=other.device)
    wrapped._is_wrapped_number = True
    return wrapped


def _function_of(method, first="input"):
    """torch.<method>(first, *args, **kwargs) as first.<method>(*args, **kwargs), with torch's TypeError for a
    first argument that is not a tensor."""

    def function(*args, **kwargs):
        if first in kwargs:
            args = (kwargs.pop(first), *args)
        if not args:
            raise TypeError(f"{method}() missing 1 required positional argument: '{first}'")
        tensor, *rest = args
        if method in NUMBER_FIRST and isinstance(tensor, numbers.Number) and rest and isinstance(rest[0], Tensor):
            tensor = _wrapped_number(tensor, rest[0])
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{method}(): argument '{first}' (position 1) must be Tensor, not {type(tensor).__name__}")
        if method in TENSOR_OTHER and rest:
            tensor_only(method, rest[0], position=2)
        return function_form(method)(tensor, *rest, **kwargs)

    function.__name__ = function.__qualname__ = method
    function.__doc__ = f"torch.{method}: {first}.{method}(...), see Tensor.{method}."
    return function


DRAWING_METHODS = ("bernoulli", "multinomial")  # the same, drawn by minigrad's generator or generator=
FUNCTIONS = {name: _function_of(name, FIRST_ARGUMENT.get(name, "input"))
             for name in (*METHODS, *DRAWING_METHODS, *FIRST_ARGUMENT)}

# torch's function forms that FUNCTIONS, whose every entry is differentiable in its tensor arguments, leaves out:
# torch.exp_(t), ...: the in-place methods; igamma and igammac, whose `input` has no gradient; histogram, whose results
# have none.
IN_PLACE_METHODS = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_",
    "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_",
    "deg2rad_", "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_",
    "i0_", "index_put_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_",
    "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)
OTHER_FUNCTIONS = {name: _function_of(name) for name in (*IN_PLACE_METHODS, "igamma", "igammac")}


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


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over `dim`, var with torch's arguments (see Tensor.var)."""
    return _spread_and_mean("var", input, dim, unbiased, keepdim, correction)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over `dim`, std with torch's arguments (see Tensor.std)."""
    return _spread_and_mean("std", input, dim, unbiased, keepdim, correction)


def _spread_and_mean(name, input, dim, unbiased, keepdim, correction):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}_mean(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dtype.kind not in "fc":
        raise RuntimeError(f"{name}_mean only support floating point and complex dtypes")
    spread = getattr(input, name)(dim, unbiased, keepdim, correction=correction)
    return spread, input.mean(None if isinstance(dim, bool) else dim, keepdim)



def polygamma(n, input):
    """torch.polygamma, its order first: input.polygamma(n)."""
    return tensor_only("polygamma", input, position=2, role="input").polygamma(n)


def xlogy(input, other):
    """torch.xlogy, whose `input` may also be a number (the `other` then a tensor), as torch's."""
    if isinstance(input, Tensor):
        return input.xlogy(other)
    return ops.Xlogy.apply(input, tensor_only("xlogy", other, position=2), node_name="XlogyBackward1")


def _taking_tensors(*roles):
    """A function of torch's whose first arguments, named `roles`, are tensors: torch's TypeError for anything else,
    naming the argument and its position."""
    def decorate(function):
        @functools.wraps(function)
        def checked(*args, **kwargs):
            for position, role in enumerate(roles):
                tensor_only(function.__name__, args[position] if position < len(args) else kwargs.get(role),
                            position=position + 1, role=role)
            return function(*args, **kwargs)
        return checked
    return decorate


def _type_name(tensor):
    return SCALAR_TYPE_NAMES.get(tensor.dtype, str(tensor.dtype))


def _require_vectors(input, other):
    """torch's errors for dot and vdot, which take two 1-d tensors of one dtype and one size."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_type_name(input)} and "
                           f"{_type_name(other)}")
    if input.shape != other.shape:
        size, other_size = input.shape[0], other.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{size}] and src [{other_size}] to have the "
                           f"same number of elements, but got {size} and {other_size} elements respectively")


@autocasts({"cuda": "promote", "cpu": "uncast"})
@_taking_tensors("input", "tensor")
def dot(input, tensor):
    """The inner product of two 1-d tensors of one dtype, as torch's; vdot is the same for real tensors."""
    _require_vectors(input, tensor)
    return input.matmul(tensor)


@autocasts({"cuda": "promote", "cpu": "uncast"})
@_taking_tensors("input", "other")
def vdot(input, other):
    _require_vectors(input, other)
    return input.matmul(other)


def _contracted_dims(dims, ndim_a, ndim_b):
    """tensordot's `dims` as two lists of dims (non-negative): an int n (the last n of a with the first n of b),
    or a pair of lists (or of ints, or a 2-row tensor), as torch's."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(ndim_a, ndim_b):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(ndim_a - dims, ndim_a)), list(range(dims))
    dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    return [d % ndim_a for d in dims_a], [d % ndim_b for d in dims_b]


@autocasts({"cuda": "promote"})
@_taking_tensors("a", "b")
@refusing_uninitialized
def tensordot(a, b, dims=2, out=None):
    """The sum of products of a and b over the dims paired by `dims`, as torch's: a's other dims, then b's. A
    contracted dim of size 1 broadcasts against its partner, which it sums, as in torch; one matmul does the rest.
    `out` receives it as torch's composite functions write it: of its dtype, recorded as a copy."""
    if out is not None:
        return written_out(out, tensordot(a, b, dims), "tensordot", differentiable=True)
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    dims_a, dims_b = _contracted_dims(dims, a.ndim, b.ndim)
    for dim_a, dim_b in zip(dims_a, dims_b):
        size_a, size_b = a.shape[dim_a], b.shape[dim_b]
        if size_a == size_b:
            continue
        if 1 not in (size_a, size_b):
            raise RuntimeError(f"contracted dimensions need to match, but first has size {size_a} in dim {dim_a} and "
                               f"second has size {size_b} in dim {dim_b}")
        if size_a == 1:
            b = b.sum(dim_b, keepdim=True)
        else:
            a = a.sum(dim_a, keepdim=True)
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    kept_a, kept_b = [a.shape[d] for d in free_a], [b.shape[d] for d in free_b]
    contracted = math.prod(a.shape[d] for d in dims_a)
    rows = a.permute(*free_a, *dims_a).reshape(math.prod(kept_a), contracted)  # no -1: a size may be 0
    columns = b.permute(*dims_b, *free_b).reshape(contracted, math.prod(kept_b))
    return rows.matmul(columns).reshape(*kept_a, *kept_b)


@_taking_tensors("input", "other")
def inner(input, other):
    """Sums of products over the last dim of each, as torch's: of 0-d tensors, the product."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, dims=([-1], [-1]))


@_taking_tensors("input", "other")
def kron(input, other):
    """The Kronecker product: each entry of input times the whole of other, the blocks laid out as input's entries
    (the shorter shape padded with leading 1s), promoted as a product, as torch's."""
    ndim = max(input.ndim, other.ndim)
    shape_a = (1,) * (ndim - input.ndim) + input.shape
    shape_b = (1,) * (ndim - other.ndim) + other.shape
    blocks = input.reshape(*(n for size in shape_a for n in (size, 1))) * \
        other.reshape(*(n for size in shape_b for n in (1, size)))
    return blocks.reshape(*(a * b for a, b in zip(shape_a, shape_b)))


def _scaled_sum(input, product, beta, alpha):
    """beta * input + alpha * product, input broadcast to the product's shape (torch's error where it does not), as
    torch's addmm family: a beta of 0 leaves input out, its NaNs too (input's gradient is zeros then), and integers
    take beta's and alpha's integer parts; floats refuse a beta or alpha beyond the dtype torch computes in (float32
    for float16)."""
    input = input.expand(*product.shape)
    if product.dtype.kind != "f":
        beta, alpha = int(beta), int(alpha)
    for number in (beta, alpha):
        converted_scalar(number, product.dtype, half_in_float32=True)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return where(zeros(product.shape, dtype=bool, device=product.device), input, product)
    return product + (input if beta == 1 else input * beta)


@autocasts({"cuda": "lower", "cpu": "uncast"})
@_taking_tensors("input", "vec")
def mv(input, vec):
    """The product of a matrix and a 1-d vector, as torch's, which computes it as addmv into a vector of vec's dtype
    (its errors name that vector `input`)."""
    _require_matrix_and_vector(input.shape[:1] or (1,), vec.dtype, input, vec)
    return input.matmul(vec)


@autocasts({"cuda": "lower", "cpu": "uncast"})
@_taking_tensors("input", "mat", "vec")
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec), as torch's."""
    _require_matrix_and_vector(input.shape, input.dtype, mat, vec)
    return _scaled_sum(input, mat.matmul(vec), beta, alpha)


def _require_matrix_and_vector(input_shape, input_dtype, mat, vec):
    """torch's errors for addmv, of an `input` of this shape and dtype."""
    if (len(input_shape), mat.ndim, vec.ndim) != (1, 2, 1):
        raise RuntimeError(f"vector + matrix @ vector expected, got {len(input_shape)}, {mat.ndim}, {vec.ndim}")
    if not input_dtype == mat.dtype == vec.dtype:
        names = [SCALAR_TYPE_NAMES.get(dtype, str(dtype)) for dtype in (input_dtype, mat.dtype, vec.dtype)]
        raise RuntimeError("addmv input tensors must have the same dtype, but got {}, {}, and {}".format(*names))
    if mat.shape[1] != vec.shape[0] or input_shape[0] not in (1, mat.shape[0]):
        raise RuntimeError(f"size mismatch, got input ({input_shape[0]}), mat ({mat.shape[0]}x{mat.shape[1]}), vec "
                           f"({vec.shape[0]})")


@autocasts("lower")
@_taking_tensors("input", "mat1", "mat2")
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), as torch's."""
    for role, tensor in (("mat1", mat1), ("mat2", mat2)):
        if tensor.ndim != 2:
            raise RuntimeError(f"{role} must be a matrix, got {tensor.ndim}-D tensor")
    _require_addmm_dtypes(input, mat1, mat2)
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})".format(*mat1.shape,
                                                                                              *mat2.shape))
    return _scaled_sum(input, mat1.matmul(mat2), beta, alpha)


def _require_addmm_dtypes(input, mat1, mat2):
    for role, tensor in (("self", input), ("mat1", mat1)):
        if tensor.dtype != mat2.dtype:
            raise RuntimeError(f"{role} and mat2 must have the same dtype, but got {_type_name(tensor)} and "
                               f"{_type_name(mat2)}")


@autocasts({"cuda": "lower", "cpu": "uncast"})
@_taking_tensors("input", "vec1", "vec2")
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2), the three promoted, as torch's; of bools, (beta and input) or
    (alpha and the outer product)."""
    for role, tensor in (("vec1", vec1), ("vec2", vec2)):
        if tensor.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {role}, but got {tensor.ndim}-D")
    product = vec1.outer(vec2)
    dtype = result_type(input, product)
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, bool) and dtype != bool:
            raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
        if dtype.kind in "biu" and not isinstance(value, numbers.Integral):
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
    if dtype == bool:
        return (input.expand(*product.shape) & bool(beta)) | (product & bool(alpha))
    return _scaled_sum(input, product, beta, alpha)


@autocasts("lower")
@_taking_tensors("input", "batch1", "batch2")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * bmm(batch1, batch2), as torch's."""
    _require_dims("baddbmm", 3, batch1=batch1, batch2=batch2)
    if not input.dtype == batch1.dtype == batch2.dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {CPP_TYPE_NAMES.get(input.dtype)}, batch1: "
                           f"{CPP_TYPE_NAMES.get(batch1.dtype)}, batch2: {CPP_TYPE_NAMES.get(batch2.dtype)}")
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


@autocasts("lower")
@_taking_tensors("input", "batch1", "batch2")
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (the sum of the products of the batches), as torch's."""
    _require_dims("addbmm", 3, batch1=batch1, batch2=batch2)
    _require_addmm_dtypes(input, batch1, batch2)
    return _scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha)


@autocasts({"cuda": "promote"})
@_taking_tensors("input", "other")
def cross(input, other, dim=None):
    """linalg.cross along `dim`; without one, along the first dim of size 3 (of the broadcast shape), as torch's."""
    if dim is None and input.ndim == other.ndim:
        require_broadcastable(input.shape, other.shape)
        shape = np.broadcast_shapes(input.shape, other.shape)
        if 3 not in shape:
            raise RuntimeError("no dimension of size 3 in input")
        dim = shape.index(3)
    return linalg.cross(input, other, dim=-1 if dim is None else dim)


@autocasts({"cuda": "float32", "cpu": "uncast"})
@_taking_tensors("input", "other")
def dist(input, other, p=2):
    """The p-norm of input - other (broadcast and promoted), as torch's; its gradient is 0 where they are equal."""
    difference = input - other
    if difference.dtype.kind != "f":
        raise RuntimeError("norm(): input dtype should be either floating point or complex. Got "
                           f"{_type_name(difference)} instead.")
    return difference.norm(p.item() if isinstance(p, Tensor) else p)


@autocasts("float32")
@_taking_tensors("x1", "x2")
def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distance of each row of x1 to each row of x2, over leading batch dims that broadcast, as torch's,
    whose gradient is 0 where a distance is 0. Computed from the differences, so it holds rows1 * rows2 * columns
    entries at once, and is exact where torch's matrix-product shortcut (p = 2, over 25 rows) rounds."""
    for role, tensor in (("X1", x1), ("X2", x2)):
        if tensor.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {role} got: {tensor.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    for role, tensor in (("X1", x1), ("X2", x2)):
        if tensor.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {role} got: {_type_name(tensor)}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x1)} but found {_type_name(x2)}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    require_broadcastable(x1.shape[:-2], x2.shape[:-2])
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


@autocasts({"cuda": "float32", "cpu": "uncast"})
@_taking_tensors("input")
def renorm(input, p, dim, maxnorm):
    """input with each slice along `dim` whose p-norm is over maxnorm scaled by maxnorm / (norm + 1e-7), the others
    as they are, as torch's; the gradient goes through the scale too, as torch's."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    axis = normalize_dim(dim, input.ndim)
    norms = input.norm(p, dim=[d for d in range(input.ndim) if d != axis], keepdim=True)
    return input * where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


@_taking_tensors("input", "mask")
def masked_select(input, mask):
    """input's entries where the bool mask holds, the two broadcast together, as a 1-d tensor in row-major order;
    the gradient goes back to the places taken, as torch's."""
    if mask.dtype != bool:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    require_broadcastable(mask.shape, input.shape)  # in torch's order, for its message
    shape = np.broadcast_shapes(input.shape, mask.shape)
    return input.expand(*shape)[mask.expand(*shape)]


@_taking_tensors("input", "values")
def heaviside(input, values):
    return input.heaviside(values)


def _integer_results(out_int32, *arrays):
    return tuple(Tensor(array.astype(np.int32 if out_int32 else np.int64)) for array in arrays)


@_taking_tensors("input")
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct entries (of the flattened input, or the distinct slices along `dim`), sorted whatever `sorted`
    says, as torch's; NaNs are each distinct. With return_inverse, where each entry (slice) went; with
    return_counts, how many there were of each. Outside the graph."""
    data, xp = input.data, get_array_module(input.data)
    axis = None if dim is None else normalize_dim(dim, input.ndim)
    values, inverse, counts = xp.unique(data, return_inverse=True, return_counts=True, axis=axis, equal_nan=False)
    inverse = inverse.reshape(data.shape if axis is None else -1)
    return _chosen(Tensor(values), return_inverse, return_counts, *_integer_results(False, inverse, counts))


@_taking_tensors("input")
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """unique() of each run of equal neighbours (of the flattened input, or of slices along `dim`), in order, as
    torch's. Outside the graph."""
    data, xp = input.data, get_array_module(input.data)
    axis = 0 if dim is None else normalize_dim(dim, input.ndim)
    rows = xp.moveaxis(data.reshape(-1) if dim is None else data, axis, 0)
    flat = rows.reshape(len(rows), math.prod(rows.shape[1:]))
    starts = xp.ones(len(rows), dtype=bool)
    starts[1:] = (flat[1:] != flat[:-1]).any(axis=1)
    first = xp.flatnonzero(starts)
    inverse = xp.cumsum(starts) - 1
    counts = xp.diff(xp.append(first, len(rows)))
    values = Tensor(xp.moveaxis(rows[first], 0, axis))
    inverse = inverse.reshape(data.shape) if dim is None else inverse
    return _chosen(values, return_inverse, return_counts, *_integer_results(False, inverse, counts))


def _chosen(values, return_inverse, return_counts, inverse, counts):
    """values alone, or (values, inverse, counts) with only those asked for, as torch's unique."""
    if not (return_inverse or return_counts):
        return values
    return (values, *([inverse] if return_inverse else []), *([counts] if return_counts else []))


@_taking_tensors("input")
def bincount(input, weights=None, minlength=0):
    """How often each of 0, 1, ..., max(input) occurs in a 1-d tensor of non-negative integers (at least
    `minlength` counts), or the sums of `weights` of each, as torch's: counts in int64, sums in weights' dtype
    (float32's stay float32, integers' become float64), but those of an empty input int64. Outside the graph."""
    if input.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_type_name(input)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    xp = get_array_module(input.data)
    if input.ndim == 1 and not input.numel():  # torch's counts of nothing: int64 zeros, weights or not
        return Tensor(xp.zeros(minlength, np.int64))
    if input.ndim != 1 or bool(input.data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return Tensor(xp.bincount(input.data, minlength=minlength).astype(np.int64))
    if weights.ndim != 1 or weights.shape != input.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dtype = weights.dtype if weights.dtype.kind == "f" else np.float64
    return Tensor(xp.bincount(input.data, weights=weights.data, minlength=minlength).astype(dtype))


@_taking_tensors("input")
def histc(input, bins=100, min=0, max=0):
    """Counts of input's entries in `bins` equal bins over [min, max] (the input's own range where min == max,
    widened by 1 each way where that is a point), in input's floating point dtype, as torch's: entries outside
    are left out, max falls into the last bin. Outside the graph."""
    if input.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_type_name(input)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    data, xp = input.data, get_array_module(input.data)
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    low, high = (float(min), float(max)) if min != max or not data.size else (float(data.min()), float(data.max()))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low:g}, {high:g}] is not finite")
    if low == high:
        low, high = low - 1, high + 1
    inside = data[(data >= low) & (data <= high)]
    positions = ((inside - data.dtype.type(low)) / data.dtype.type(high - low) * bins).astype(np.int64)
    return Tensor(xp.bincount(xp.minimum(positions, bins - 1), minlength=bins).astype(data.dtype))


HistogramResult = collections.namedtuple("HistogramResult", ["hist", "bin_edges"])


def histogram(input, bins, *, range=None, weight=None, density=False):
    """(hist, bin_edges): the counts (or weights' sums, or with density the density) of input's entries in `bins`
    equal bins over `range` (input's own by default) or between the edges of a 1-d tensor `bins`, in input's
    floating point dtype, as torch's. Outside the graph."""
    if input.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_type_name(input)}'")
    xp = get_array_module(input.data)
    edges = bins.data if isinstance(bins, Tensor) else bins
    hist, edges = xp.histogram(input.data, edges, range=range, density=density,
                               weights=None if weight is None else weight.data)
    return HistogramResult(Tensor(hist.astype(input.dtype)), Tensor(edges.astype(input.dtype)))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each of input's values would go in sorted_sequence (along its last dim, with input's leading dims
    where it has more than one) to keep it sorted: before equal entries, or after them with right=True (or
    side="right"), as torch's. `sorter` sorts sorted_sequence where it is not. Outside the graph."""
    tensor_only("searchsorted", sorted_sequence, role="sorted_sequence")
    if side not in (None, "left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
    if side == "left" and right:
        raise RuntimeError(f"torch.searchsorted(): side and right can't be set to opposites, got side of {side} "
                           f"while right was {right}")
    sequence, xp = sorted_sequence.data, get_array_module(sorted_sequence.data)
    if sequence.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    values = input.data if isinstance(input, Tensor) else xp.asarray(input)
    if sequence.ndim > 1 and sequence.shape[:-1] != values.shape[:-1]:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(sequence.shape)} and input value tensor {list(values.shape)}")
    if sorter is not None:
        if sorter.shape != sequence.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(sequence.shape)}and got sorter tensor {list(sorter.shape)}")
        sequence = xp.take_along_axis(sequence, sorter.data, axis=-1)
    side = "right" if right or side == "right" else "left"
    if sequence.ndim == 1:
        return _integer_results(out_int32, xp.searchsorted(sequence, values, side=side))[0]
    return _integer_results(out_int32, _batched_searchsorted(xp, sequence, values, side))[0]


def _batched_searchsorted(xp, sequence, values, side):
    """searchsorted of each row of values in its own row of sequence, by one stable sort of the two merged: the
    number of sequence entries that come before a value. With side="left" the values come first in the merge, so
    that equal entries follow them; with "right", after."""
    count = values.shape[-1]
    merged = xp.concatenate([values, sequence] if side == "left" else [sequence, values], axis=-1)
    order = xp.argsort(merged, axis=-1, kind="stable")
    from_sequence = (order >= count) if side == "left" else (order < sequence.shape[-1])
    sequence_before = xp.cumsum(from_sequence, axis=-1) - from_sequence
    place = xp.argsort(order, axis=-1)  # where each merged entry went
    value_places = place[..., :count] if side == "left" else place[..., sequence.shape[-1]:]
    return xp.take_along_axis(sequence_before, value_places, axis=-1)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each of input's values among the 1-d sorted boundaries: searchsorted(boundaries, input), as
    torch's."""
    tensor_only("bucketize", boundaries, position=2, role="boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@_taking_tensors("input")
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in input's rows (a 1-d input: one variable), observations in its
    columns, weighted by the integer frequencies `fweights` and the floating point `aweights`, as torch's (and
    NumPy's); differentiable in input and aweights."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    observations = input.reshape(1, -1) if input.ndim < 2 else input
    if observations.dtype.kind != "f":
        observations = observations.to(default_dtype())
    count = observations.shape[1]
    weights = None
    for role, given, kinds, kind_name in (("fweights", fweights, "iu", "integral"),
                                          ("aweights", aweights, "f", "floating point")):
        if given is None:
            continue
        if given.ndim > 1:
            raise RuntimeError(f"cov(): expected {role} to have one or fewer dimensions but got {role} with "
                               f"{given.ndim} dimensions")
        if given.numel() != count:
            raise RuntimeError(f"cov(): expected {role} to have the same numel as there are observations in the "
                               f"input but got {given.numel()} != {count}")
        if given.dtype.kind not in kinds:
            raise RuntimeError(f"cov(): expected {role} to have {kind_name} dtype but got {role} with "
                               f"{_type_name(given)} dtype")
        if given.numel() and bool((given.data < 0).any()):
            raise RuntimeError(f"cov(): {role} cannot be negative")
        weights = given if weights is None else weights * given
    total = count if weights is None else weights.sum()
    weighted = observations if weights is None else observations * weights
    mean = weighted.sum(1) / total
    if weights is not None and correction != 0 and aweights is not None:
        norm = total - correction * (weights * aweights).sum() / total
    else:
        norm = total - correction
    if float(norm) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.")
        norm = norm * 0
    centered = observations - mean.unsqueeze(1)
    weighted = centered if weights is None else centered * weights
    return (centered.matmul(weighted.t()) / norm).squeeze()


@_taking_tensors("input")
def corrcoef(input):
    """Pearson's correlation coefficients of the variables in input's rows: cov() over the product of their
    standard deviations, clipped to [-1, 1], as torch's."""
    covariance = cov(input)
    if covariance.ndim == 0:
        return covariance / covariance
    deviations = covariance.diagonal().sqrt()
    return (covariance / deviations.unsqueeze(1) / deviations).clamp(-1, 1)


def _trapezoid_widths(name, y, x, dx, dim):
    """The widths of the trapezoids: dx (a number) or the steps of x (1-d, along dim; or broadcast with y)."""
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got both x and dx")
    if x is None:
        return 1 if dx is None else dx
    if x.ndim == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        return x.diff().reshape(-1, *(1,) * (y.ndim - 1 - dim))
    return x.diff(dim=dim)


def _sums_of_neighbours(y, dim):
    length = y.shape[dim]
    return y.narrow(dim, 1, length - 1) + y.narrow(dim, 0, length - 1)


@_taking_tensors("y")
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule's integral of y along `dim`, sampled at x or dx apart, as torch's."""
    dim = normalize_dim(dim, y.ndim)
    widths = _trapezoid_widths("trapezoid", y, x, dx, dim)
    if y.shape[dim] == 0:
        return y.sum(dim) * 0.0
    if isinstance(widths, Tensor):
        return (_sums_of_neighbours(y, dim) * widths).sum(dim) / 2.0
    ends = (y.narrow(dim, 0, 1) + y.narrow(dim, y.shape[dim] - 1, 1)).squeeze(dim)
    return (y.sum(dim) - ends * 0.5) * widths


@_taking_tensors("y")
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid-rule integrals of y along `dim` (one fewer than y's samples), as torch's."""
    dim = normalize_dim(dim, y.ndim)
    widths = _trapezoid_widths("cumulative_trapezoid", y, x, dx, dim)
    if isinstance(widths, Tensor):
        return (_sums_of_neighbours(y, dim) * widths).cumsum(dim) / 2.0
    return (_sums_of_neighbours(y, dim) * (widths / 2.0)).cumsum(dim)


@_taking_tensors("input")
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivatives of input along each of `dim` (all dims by default) by central differences, and one-sided ones
    of first or second order (edge_order) at the ends, as torch's (and NumPy's): the samples `spacing` apart (a
    number, or one per dim) or at the coordinates of a 1-d tensor per dim. A tuple, one tensor per dim;
    differentiable in input."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = range(input.ndim) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    dims = [normalize_dim(d, input.ndim) for d in dims]
    spacings = list(spacing) if isinstance(spacing, (tuple, list)) else [spacing] * len(dims)
    if len(spacings) != len(dims) and dim is None:
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal "
                           f"to 'self.dim() = {input.ndim}', since dim argument was not given, but got a list of "
                           f"length {len(spacings)}")
    if len(spacings) != len(dims):
        raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length {len(spacings)} "
                           f"and a dim argument of length {len(dims)}.")
    if any(input.shape[d] < edge_order + 1 for d in dims):
        raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    values = input if input.dtype.kind == "f" else input.to(default_dtype())
    return tuple(_derivative(values, d, steps, edge_order) for d, steps in zip(dims, spacings))


def _derivative(f, dim, spacing, edge_order):
    """torch.gradient along one dim: second-order differences inside, weighted by the steps to either side (NumPy's
    coefficients for uneven ones), and first- or second-order ones at the two ends."""
    xp, n = get_array_module(f.data), f.shape[dim]
    if isinstance(spacing, Tensor):
        steps = xp.diff(spacing.data.astype(np.float64))
    else:
        steps = xp.full(n - 1, float(spacing))
    before, after = steps[:-1], steps[1:]
    inside = (-after / (before * (before + after)), (after - before) / (before * after),
              before / (after * (before + after)))
    if edge_order == 1:  # of the first two samples and of the last two
        first = (-1 / steps[:1], 1 / steps[:1], 0 * steps[:1])
        last = (-1 / steps[-1:], 1 / steps[-1:], 0 * steps[-1:])
    else:  # of the first three samples and of the last three
        h1, h2 = steps[:1], steps[1:2]
        first = (-(2 * h1 + h2) / (h1 * (h1 + h2)), (h1 + h2) / (h1 * h2), -h1 / (h2 * (h1 + h2)))
        h1, h2 = steps[-2:-1], steps[-1:]
        last = (h2 / (h1 * (h1 + h2)), -(h1 + h2) / (h1 * h2), (2 * h2 + h1) / (h2 * (h1 + h2)))
    # each derivative weighs three samples from its start (the last's weight 0 where it weighs two)
    starts = xp.concatenate([xp.zeros(1, np.int64), xp.arange(n - 2), xp.full(1, n - 1 - edge_order)])
    shape = [1] * f.ndim
    shape[dim] = n
    out = 0
    for k in range(3):
        weights = xp.concatenate([first[k], inside[k], last[k]]).astype(f.dtype).reshape(shape)
        out = out + f.index_select(dim, Tensor(xp.minimum(starts + k, n - 1))) * Tensor(weights)
    return out


def pinverse(input, rcond=1e-15):
    """linalg.pinv with rcond as its relative tolerance, as torch's."""
    tensor_only("pinverse", input, 1, "input")
    return linalg.pinv(input, rtol=rcond)


ALSO_METHODS = dict(mm=mm, bmm=bmm, dot=dot, vdot=vdot, inner=inner, kron=kron, mv=mv, addmv=addmv, addmm=addmm,
                    baddbmm=baddbmm, addbmm=addbmm, cross=cross, dist=dist, renorm=renorm, masked_select=masked_select,
                    unique=unique, unique_consecutive=unique_consecutive, bincount=bincount, histc=histc, cov=cov,
                    corrcoef=corrcoef, pinverse=pinverse, addr=addr)
for _name, _function in ALSO_METHODS.items():  # torch has each as a Tensor method too: the same function, self first
    setattr(Tensor, _name, _function)
# torch's x.f_(...) of these too: f's result written into x (a comparison's as x's dtype's 1s and 0s)
IN_PLACE_TOO = ("addbmm", "addmm", "addmv", "addr", "baddbmm", "renorm", "atan2", "arctan2", "hypot", "nextafter",
                "copysign", "heaviside", "cumsum", "cumprod", "digamma", "lgamma", "erfinv", "divide", "true_divide",
                "multiply", "subtract", "eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal",
                "greater", "greater_equal")
for _name in IN_PLACE_TOO:
    setattr(Tensor, _name + "_", in_place_version(getattr(Tensor, _name), _name))
del _name, _function
FUNCTIONS.update(einsum=einsum, std_mean=std_mean, var_mean=var_mean, xlogy=xlogy, polygamma=polygamma,
                 gradient=gradient, tensordot=tensordot, cdist=cdist, heaviside=heaviside, searchsorted=searchsorted,
                 bucketize=bucketize, trapezoid=trapezoid, trapz=trapezoid, cumulative_trapezoid=cumulative_trapezoid,
                 **ALSO_METHODS)

Tensor.histogram = histogram
OTHER_FUNCTIONS.update(histogram=histogram)

LINALG_METHODS = dict(det=linalg.det, logdet=linalg.logdet, slogdet=linalg.slogdet, inverse=linalg.inv,
                      matrix_power=linalg.matrix_power, cholesky_solve=linalg.cholesky_solve,
                      cholesky_inverse=linalg.cholesky_inverse, matrix_exp=linalg.matrix_exp, geqrf=linalg.geqrf,
                      orgqr=linalg.householder_product)
for _name, _function in LINALG_METHODS.items():  # torch.det(A) and A.det(), ...: linalg's, as torch has them
    setattr(Tensor, _name, _function)
del _name, _function
FUNCTIONS.update(LINALG_METHODS, lu_unpack=linalg.lu_unpack)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    return ops.Cat.apply(*tensors, dim=dim)


@refusing_uninitialized
def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for entry, tensor in enumerate(tensors):
        if tensor.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(tensor.shape)} at entry {entry}")
    return ops.Stack.apply(*tensors, dim=normalize_dim(dim, tensors[0].ndim + 1))


@refusing_uninitialized
def broadcast_tensors(*tensors):
    """The tensors expanded to their broadcast shape (views), as torch's."""
    shape = ()
    for tensor in tensors:
        require_broadcastable(shape, tensor.shape)
        shape = np.broadcast_shapes(shape, tensor.shape)
    return tuple(tensor.expand(shape) for tensor in tensors)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes (each a sequence of sizes, or an int for a 1-d one) broadcast to, as a
    tuple, with torch's errors."""
    shapes = [(shape,) if isinstance(shape, numbers.Integral) else shape for shape in shapes if shape is not None]
    for shape in shapes:
        if not isinstance(shape, collections.abc.Sequence):
            raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list of ints, got {shape}")
    common = common_shape(shapes)
    for position, size in enumerate(common):
        if not isinstance(size, numbers.Integral):
            raise TypeError(f"torch.Size() takes an iterable of 'int' (item {position} is '{type(size).__name__}')")
    return tuple(common)


def common_shape(shapes, shown=str):
    """The sizes that `shapes` broadcast to, as torch infers them (each shape in turn, from its last dim), with
    torch's error, which names the sizes inferred so far and the shape that breaks them, as `shown` prints it
    (a tensor's size as torch.Size)."""
    common = [1] * max(map(len, shapes), default=0)
    for position, shape in enumerate(shapes):
        for dim in range(-1, -1 - len(shape), -1):
            size = shape[dim]
            if common[dim] == 1:
                if size < 0:
                    raise ValueError("Attempting to broadcast a dimension with negative length!")
                common[dim] = size
            elif size not in (1, common[dim]):
                raise RuntimeError(f"Attempting to broadcast a dimension of length {size} at {dim}! Mismatching "
                                   f"argument at index {position} had {shown(shape)}; but expected shape should be "
                                   f"broadcastable to {common}")
    return common


def unravel_index(indices, shape):
    """The coordinates in a tensor of `shape` of each flat (row-major) index, one int64 tensor of indices' shape per
    dim, as torch's: an index out of range wraps, as Python's floor division and remainder do."""
    if indices.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got torch.{indices.dtype}")
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, collections.abc.Sequence):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    for size in shape:
        if not isinstance(size, int):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(size)}")
    if any(size < 0 for size in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {tuple(shape)}")
    steps = [math.prod(shape[dim + 1:]) for dim in range(len(shape))]
    steps, sizes = (Tensor(np.array(values, dtype=np.int64), device=indices.device) for values in (steps, shape))
    return (indices.unsqueeze(-1).floor_divide(steps) % sizes).unbind(-1)


@_taking_tensors("x")
@checked_arguments(N=int_argument)
def vander(x, N=None, increasing=False):
    """The powers x ** (N - 1), ..., x ** 0 of a 1-d x as columns (from x ** 0 where increasing), N = len(x)
    without N, in x's dtype (integers and bools as int64), as torch's; differentiable in x."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    N = x.shape[0] if N is None else N
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    powers = np.arange(N) if increasing else np.arange(N - 1, -1, -1)
    return x.unsqueeze(1) ** Tensor(powers.astype(np.int64), device=x.device)


@autocasts({"cuda": "lower"})
def chain_matmul(*matrices):
    """The product of one or more matrices in the matrix chain order (linalg.multi_dot's, which torch deprecates
    this for, with torch's warning); one matrix is copied."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
                  "parameters.", UserWarning, stacklevel=3)  # past autocasts' frame
    for position, matrix in enumerate(matrices):
        if not isinstance(matrix, Tensor):
            raise TypeError(f"expected Tensor as element {position} in argument 0, but got {type(matrix).__name__}")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for matrix in matrices:
        if matrix.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {matrix.ndim}, expected 2 instead.")
    return matrices[0].clone() if len(matrices) == 1 else linalg.multi_dot(matrices)


def _at_least(ndim, shape_of):
    """atleast_1d, _2d or _3d: a tensor of fewer than `ndim` dims reshaped to shape_of(its shape), the others as they
    are; one tensor gives a tensor, several (or a sequence) a tuple, as torch's."""
    def at_least(*tensors):
        def reshaped(tensor):
            return tensor.reshape(shape_of(tensor.shape)) if tensor.ndim < ndim else tensor

        if len(tensors) == 1 and isinstance(tensors[0], Tensor):
            return reshaped(tensors[0])
        if len(tensors) == 1:
            tensors = tensors[0]
        return tuple(reshaped(tensor) for tensor in tensors)

    at_least.__name__ = at_least.__qualname__ = f"atleast_{ndim}d"
    return refusing_uninitialized(at_least)


atleast_1d = _at_least(1, lambda shape: (1,))
atleast_2d = _at_least(2, lambda shape: (1, *(shape or (1,))))  # a row
atleast_3d = _at_least(3, lambda shape: (1, *(shape or (1,)), 1) if len(shape) < 2 else (*shape, 1))


def concatenate(tensors, axis=0):
    """cat, its dim named `axis`, as torch's."""
    return cat(tensors, axis)


def hstack(tensors):
    """The tensors joined along dim 1, or dim 0 where they are 1-d (0-d ones as 1-d), as torch's."""
    tensors = atleast_1d(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """The tensors (0-d and 1-d as rows) joined along dim 0, as torch's."""
    return cat(atleast_2d(tensors), 0)


def dstack(tensors):
    """The tensors (of fewer dims as atleast_3d makes them) joined along dim 2, as torch's."""
    return cat(atleast_3d(tensors), 2)


def column_stack(tensors):
    """The tensors joined along dim 1, 0-d and 1-d ones as columns, as torch's."""
    return cat([tensor.reshape(tensor.numel(), 1) if tensor.ndim < 2 else tensor for tensor in tensors], 1)


@refusing_uninitialized
def block_diag(*tensors):
    """The tensors (0-d and 1-d as one row) as the blocks of a block-diagonal matrix, zeros elsewhere, of their
    promoted dtype, as torch's."""
    blocks = []
    for position, tensor in enumerate(tensors):
        if tensor.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {position} has "
                               f"{tensor.ndim} dimensions")
        blocks.append(tensor.reshape(-1, tensor.shape[-1] if tensor.ndim else 1) if tensor.ndim < 2 else tensor)
    if not blocks:
        return zeros((1, 0))
    dtype = result_type(*blocks)
    device = blocks[0].device
    width = sum(block.shape[1] for block in blocks)
    rows, before = [], 0
    for block in blocks:
        after = width - before - block.shape[1]
        rows.append(cat([zeros((block.shape[0], before), dtype=dtype, device=device), block.to(dtype),
                         zeros((block.shape[0], after), dtype=dtype, device=device)], 1))
        before += block.shape[1]
    return cat(rows, 0)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Where each of `elements` is one of `test_elements` (either may be a number), as torch's."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got ({type(elements).__name__}, "
                        f"{type(test_elements).__name__}), but expected a Tensor of elements or of test_elements")
    device = (elements if isinstance(elements, Tensor) else test_elements).device
    elements, test_elements = (value if isinstance(value, Tensor) else Tensor(value, device=device)
                               for value in (elements, test_elements))
    xp = get_array_module(elements.data)
    return Tensor(xp.isin(elements.data, test_elements.data, assume_unique=assume_unique, invert=invert))


def combinations(input, r=2, with_replacement=False):
    """The r-long combinations of a 1-d input's entries (with repeats, with_replacement), in itertools' order, one a
    row, as torch's: differentiable, as the entries gathered."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r == 0:
        return input.new_zeros(0)
    choose = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(choose(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[Tensor(rows, device=input.device)]


FUNCTIONS.update(isin=isin, broadcast_tensors=broadcast_tensors, atleast_1d=atleast_1d, atleast_2d=atleast_2d,
                 atleast_3d=atleast_3d, concat=cat, concatenate=concatenate, hstack=hstack, vstack=vstack,
                 dstack=dstack, column_stack=column_stack, block_diag=block_diag, row_stack=vstack,
                 combinations=combinations, chain_matmul=chain_matmul)
# of shapes and indices, not differentiable; vander, differentiable, but torch's own backward of it fails
OTHER_FUNCTIONS.update(broadcast_shapes=broadcast_shapes, unravel_index=unravel_index, vander=vander)
