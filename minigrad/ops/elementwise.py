"""Elementwise ops. Broadcasting is free: the engine sums each gradient back to its input's shape.

The binary arithmetic on feature maps splits its big passes over the worker threads (parallel.elementwise).
"""
import collections
import math
import operator

import numpy as np

from .. import memory, parallel
from ..backend import default_dtype, device_of, get_array_module, scipy_module, to_device, to_numpy
from ..function import (CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, Function, converted_scalar, is_tensor, named_by,
                        require_64_bits, require_broadcastable, require_fits, result_type)

FrexpResult = collections.namedtuple("FrexpResult", ["mantissa", "exponent"])
_INVERT_A_MASK = "use the `~` or `logical_not()` operator instead."


def tensor_functions():
    """minigrad's torch-like functions (where, exp, log, ...), which take NumPy's names: given in the place of xp, they
    let a gradient formula written once for arrays record on linked tensors (differentiable_backward). Imported where
    used, since minigrad imports the ops first."""
    import minigrad
    return minigrad


def _is_bool(operand):
    """A Python or NumPy bool, or a bool tensor or array."""
    return isinstance(operand, bool) or getattr(operand, "dtype", None) == bool


class Add(Function):
    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        return parallel.elementwise(get_array_module(a).add, a, b)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return grad, grad

    differentiable_backward = backward


class ScaledAdd(Function):
    """a + alpha * b, as torch's add with alpha (and sub, alpha negated) computes it, in one op: alpha a number of the
    operands' dtype (beyond float16's range refused, as torch's), float16 computed in float32 and rounded once,
    where a product and a sum would each round. Its gradient for b is grad times alpha itself, as torch's."""

    broadcasts = True
    half_in_float32 = True
    node_name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, alpha):
        xp = get_array_module(a)
        alpha = converted_scalar(alpha, np.dtype(np.float16) if ctx.half_in_float32 else a.dtype)

        def fill(a, b, out):
            xp.multiply(b, alpha, out=out)
            xp.add(out, a, out=out)

        return parallel.elementwise(fill, a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad * grad.dtype.type(ctx.params["alpha"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        return grad, grad * ctx.params["alpha"]


class Sub(Function):
    """a - b, where a bool operand (tensor or Python bool) is refused with torch's error, as a mask is
    inverted by comparison, not by 1 - mask."""

    broadcasts = True

    @classmethod
    def apply(cls, a, b, node_name=None):
        cls.refuse_bools(a, b)
        return super().apply(a, b, node_name=node_name)

    @staticmethod
    def refuse_bools(a, b):
        bools = _is_bool(a) + _is_bool(b)
        if bools == 2:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        if bools:
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                               f"If you are trying to invert a mask, {_INVERT_A_MASK}")

    @staticmethod
    def forward(ctx, a, b):
        return parallel.elementwise(get_array_module(a).subtract, a, b)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return grad, -grad

    differentiable_backward = backward


class Mul(Function):
    broadcasts = True
    numbers_in_float32 = True

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad  # each operand's gradient needs the other, as torch saves them:
        ctx.save_for_backward(a if need_b else None, b if need_a else None)  # a later write into the other is no error
        return parallel.elementwise(get_array_module(a).multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        multiply = get_array_module(grad).multiply
        grad_a = parallel.elementwise(multiply, grad, b) if need_a else None
        grad_b = parallel.elementwise(multiply, grad, a) if need_b else None
        return grad_a, grad_b

    @staticmethod
    def differentiable_backward(ctx, grad):
        a, b = ctx.linked_saved()
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """True division: integer (and bool) operands divide in torch's default dtype, not NumPy's float64, each with
    its own value (int8 / 300 is 1/300, not 1 over 300 wrapped into int8)."""

    broadcasts = True
    integers_to_float = True
    numbers_in_float32 = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)  # a only for b's gradient (see Mul)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        return Div.gradients(ctx, grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        return Div.gradients(ctx, grad, *ctx.linked_saved())

    @staticmethod
    def gradients(ctx, grad, a, b):
        """Both directions' gradients, from arrays (backward) or linked tensors (differentiable_backward)."""
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b
        return (grad_a if need_a else None), (-grad_a * a / b if need_b else None)


def _check_floor_division(op, a, b):
    """torch's errors for a // b and a % b (operands of one dtype), where NumPy would compute: bools have no
    such op, and an integer divisor of 0 is an error rather than NumPy's 0 (an empty result divides nothing)."""
    if a.dtype == bool:
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
    if a.dtype.kind in "iu" and a.size and not b.all():
        raise RuntimeError("ZeroDivisionError")


# torch's node of an op that has no derivative
NOT_IMPLEMENTED = "torch::autograd::NotImplemented"


class WithoutDerivative(Function):
    """An op that torch has no derivative for: its result requires grad where an input does, as torch's (its node
    NOT_IMPLEMENTED), and backward through it is torch's error, not zeros. `aten_name` names it."""

    aten_name = None

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(f"derivative for aten::{ctx.function.aten_name} is not implemented")

    differentiable_backward = backward  # under create_graph too, torch's error


class FloorDivide(WithoutDerivative):
    """a // b, rounded toward -inf."""

    node_name = NOT_IMPLEMENTED
    broadcasts = True
    numbers_in_float32 = True
    aten_name = "floor_divide"

    @staticmethod
    def forward(ctx, a, b):
        _check_floor_division("floor_divide", a, b)
        return floor_quotient(a, b)


def floor_quotient(a, b):
    """a // b of arrays, as Python's, NumPy's and torch's (see _float_divmod)."""
    return _float_divmod(a, b)[0] if a.dtype.kind == "f" else get_array_module(a).floor_divide(a, b)


def python_remainder(a, b):
    """a % b of arrays, with the sign of b, as Python's, NumPy's and torch's (see _float_divmod)."""
    return _float_divmod(a, b)[1] if a.dtype.kind == "f" else get_array_module(a).remainder(a, b)


def _float_divmod(a, b):
    """(a // b, a % b) of float arrays as Python's divmod, NumPy's and torch's kernels compute them: the remainder
    by fmod (exact), the quotient (a less it) / b floored to the nearest integer, each step rounded to the arrays'
    dtype. CuPy's floor_divide floors the rounded a / b instead, one more where that rounds up to an integer
    (735.5 // 0.1 in float32 is 7355 there, 7354 here), and NumPy's float16 ops compute in float32 and round once."""
    xp = get_array_module(a)
    remainder = xp.fmod(a, b)
    past_zero = (remainder != 0) & ((b < 0) != (remainder < 0))  # the remainder must take b's sign: one more b
    quotient = (a - remainder) / b
    quotient -= past_zero
    floored = xp.floor(quotient)
    floored += quotient - floored > floored.dtype.type(0.5)
    quotient_of_ieee = a / b  # where b is 0, and the sign of a zero quotient
    floored = xp.where(b == 0, quotient_of_ieee,
                       xp.where(quotient == 0, xp.copysign(floored.dtype.type(0), quotient_of_ieee), floored))
    return floored, xp.where(past_zero, remainder + b, remainder)


class Heaviside(WithoutDerivative):
    """The step function: 0 below 0 (and at NaN), 1 above, b at 0; a and b of one dtype."""

    node_name = NOT_IMPLEMENTED
    broadcasts = True
    aten_name = "heaviside"

    @staticmethod
    def forward(ctx, a, b):
        xp = get_array_module(a)
        return xp.where(a == 0, b, (a > 0).astype(a.dtype))


class DivFloor(FloorDivide):
    """div(a, b, rounding_mode="floor"): floor_divide's quotient, whose gradients torch takes as zeros."""

    node_name = "DivBackward2"

    @staticmethod
    def backward(ctx, grad):
        zeros = get_array_module(grad).zeros_like(grad)
        return zeros, zeros

    @staticmethod
    def differentiable_backward(ctx, grad):
        zeros = tensor_functions().zeros_like(grad)
        return zeros, zeros


class DivTrunc(DivFloor):
    """div(a, b, rounding_mode="trunc"): the quotient rounded toward zero, whose gradients torch takes as zeros
    (where b is 0 too, which a gradient through a / b would make NaN)."""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, a, b):
        _check_floor_division("div_trunc_cpu", a, b)
        xp = get_array_module(a)
        if a.dtype.kind == "f":
            return xp.trunc(a / b)
        return xp.floor_divide(a - xp.fmod(a, b), b)  # exact: a less its remainder is a multiple of b


class Remainder(Function):
    """a % b, with the sign of b (a - b * floor(a / b)); its gradients are 1 for a and -floor(a / b) for b.

    A zero remainder takes the sign of a, as torch's (fmod's) does, where NumPy's remainder takes the sign of b.
    """

    node_name = "RemainderBackward1"  # torch's of two tensors; of a tensor and a number, it is RemainderBackward0

    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        _check_floor_division("remainder", a, b)
        ctx.save_for_backward(a, b)
        return python_remainder(a, b)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward (the quotient a constant, as torch's)
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        if not need_b:  # the quotient, a second division, only for b's gradient
            return (grad if need_a else None), None
        return (grad if need_a else None), -grad * (a // b if is_tensor(a) else floor_quotient(a, b))

    differentiable_backward = backward


class PowScalar(Function):
    """a ** exponent for a Python number exponent, which promotes as an operand does (int64 ** 0.5 is float32).

    The gradient of a ** 0 is 0, as in torch, not 0 * 0 ** -1 = NaN at a = 0.
    """

    autocast_category = {"cuda": "float32"}
    node_name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, exponent):
        require_64_bits(exponent)
        if a.dtype.kind != "f":  # a scalar never widens a float tensor
            a = a.astype(result_type(a, exponent), copy=False)
        if a.dtype != np.float32:  # torch converts the exponent for integers and float16, not float32 (a double)
            require_fits(np.asarray(exponent), a.dtype)
        if a.dtype.kind in "iu" and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        ctx.save_for_backward(a)
        return a ** a.dtype.type(exponent)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        exponent = a.dtype.type(ctx.params["exponent"])
        if exponent == 0:
            return get_array_module(a).zeros_like(a)
        return grad * exponent * a ** (exponent - 1)

    @staticmethod
    def differentiable_backward(ctx, grad):
        a, exponent = ctx.linked(0, ctx.saved[0]), ctx.params["exponent"]
        return tensor_functions().zeros_like(a) if exponent == 0 else grad * exponent * a ** (exponent - 1)


class Pow(Function):
    """base ** exponent, both tensors, with torch's gradients at base 0: zero for the base where the exponent
    is 0 (not 0 * 0 ** -1 = NaN), zero for the exponent where base == 0 and exponent >= 0 (not 0 ** y * log 0)."""

    autocast_category = {"cuda": "float32"}
    broadcasts = True
    node_name = "PowBackward1"

    @staticmethod
    def forward(ctx, base, exponent):
        if base.dtype.kind in "iu":
            out = _integer_power(base, exponent)
        else:
            out = base ** exponent
        ctx.save_for_backward(base, exponent, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return Pow.gradients(get_array_module(grad), ctx, grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        base, exponent, out = ctx.saved
        return Pow.gradients(tensor_functions(), ctx, grad, ctx.linked(0, base), ctx.linked(1, exponent),
                             ctx.linked_output(out))

    @staticmethod
    def gradients(xp, ctx, grad, base, exponent, out):
        """Both gradients, of arrays (xp NumPy's or CuPy's) or of linked tensors (xp minigrad's functions)."""
        need_base, need_exponent = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if need_base:  # base ** 1 where the exponent is 0: masked, and no 0 ** -1 to warn about
            grad_base = xp.where(exponent == 0, 0, grad * exponent * base ** xp.where(exponent == 0, 1, exponent - 1))
        if need_exponent:  # log(1) where masked, for the same reason; a negative base's log is NaN, as torch's
            masked = (base == 0) & (exponent >= 0)
            grad_exponent = grad * xp.where(masked, 0, out * xp.log(xp.where(masked, 1, base)))
        return grad_base, grad_exponent


def _integer_power(base, exponent):
    """base ** exponent of integers as torch computes it: where an exponent is negative, 1 / base ** -exponent
    truncated (±1 where |base| is 1, else 0), where NumPy refuses the whole array."""
    xp = get_array_module(base)
    negative = exponent < 0
    out = base ** xp.where(negative, exponent % 2, exponent)  # base ** 0 or base ** 1 where negative
    return out * ~(negative & (xp.abs(base) != 1))


class Ldexp(Function):
    """a * 2 ** exponent, in a's floating-point dtype or the default one (promoted with a floating-point exponent's):
    exact for an integer exponent (xp.ldexp), else a times 2 ** exponent taken in the exponent's dtype, as torch's.
    As torch's, a's gradient is grad * 2 ** exponent in the exponent's dtype, for an integer exponent an integer
    power (0 where it is negative, wrapped where it overflows); the exponent's is grad * out * log(2)."""

    promotes_inputs = False
    broadcasts = True

    @staticmethod
    def forward(ctx, a, exponent):
        if exponent.dtype == bool and a.dtype.kind == "f":
            raise NotImplementedError("\"ldexp_cpu_exp\" not implemented for 'Bool'")
        dtype = result_type(a, exponent)
        a = a.astype(dtype if dtype.kind == "f" else default_dtype(), copy=False)
        if exponent.dtype.kind == "f":
            out = a * Ldexp.power_of_two(exponent).astype(a.dtype, copy=False)
        else:
            out = get_array_module(a).ldexp(a, exponent)
        ctx.save_for_backward(exponent, out)
        return out

    @staticmethod
    def power_of_two(exponent):
        """2 ** exponent in the exponent's dtype, as torch's pow(2, exponent)."""
        if exponent.dtype.kind == "f":
            return 2 ** exponent
        return _integer_power(get_array_module(exponent).asarray(2, dtype=exponent.dtype), exponent)

    @staticmethod
    def backward(ctx, grad):
        exponent, out = ctx.saved
        need_a, need_exponent = ctx.needs_input_grad
        return (grad * Ldexp.power_of_two(exponent).astype(grad.dtype) if need_a else None,
                grad * out * math.log(2) if need_exponent else None)

    @staticmethod
    def differentiable_backward(ctx, grad):
        exponent, out = ctx.saved
        need_a, need_exponent = ctx.needs_input_grad
        if exponent.dtype.kind == "f":
            power = 2 ** ctx.linked(1, exponent)
        else:  # a constant: an integer exponent needs no gradient
            power = ctx.linked(1, Ldexp.power_of_two(exponent))
        return (grad * power.to(grad.dtype) if need_a else None,
                grad * ctx.linked_output(out) * math.log(2) if need_exponent else None)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype == bool:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               f"If you are trying to invert a mask, {_INVERT_A_MASK}")
        return -a

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return -grad

    differentiable_backward = backward


def gradient_where(grad, keep):
    """grad (real floating point) where the bool array `keep` holds, else 0, where grad is NaN or inf too, as
    torch's masked gradients are (grad * keep gives NaN there); grad a tensor in differentiable_backward."""
    if is_tensor(grad):
        return grad.where(keep, 0)
    shape = np.broadcast_shapes(grad.shape, keep.shape)
    return parallel.elementwise(masked_into, grad, keep, out=memory.empty(get_array_module(grad), shape, grad.dtype))


class DependsOn(Function):
    """`value` recorded as depending on `source`, with a zero derivative: create_graph's gradient of an op that reads
    its input only through a mask (relu's, hardtanh's), which torch records as a node of that input, so that the
    gradient requires grad and its own gradient is zeros rather than none. Of `source` only its place in the graph
    counts."""

    promotes_inputs = False

    @staticmethod
    def forward(ctx, value, source):
        return value.copy()

    @staticmethod
    def backward(ctx, grad):
        source = ctx.inputs[1]
        return grad, get_array_module(grad).zeros(source.shape, source.dtype)

    @staticmethod
    def differentiable_backward(ctx, grad):
        source = ctx.inputs[1]
        return grad, grad.new_zeros(source.shape, dtype=source.dtype)


def masked_into(grad, keep, out):
    """out = grad where keep, else 0 (gradient_where's, into out); returns out. grad's bits are ANDed with all ones
    or all zeros, which costs 1.5 times grad * keep, where a masked copy costs 4 times as much."""
    xp = get_array_module(grad)
    bits = xp.dtype(f"i{grad.dtype.itemsize}")
    xp.bitwise_and(grad.view(bits), xp.negative(keep.view(xp.int8), dtype=bits), out=out.view(bits))
    return out


def select_into(keep, chosen, out):
    """out = chosen (an array, or a number) where the bool array keep holds, else what out holds; returns out.
    Unsigned arithmetic on the bits, out's plus (chosen's - out's) times keep, modulo 2^bits: exact for every
    value, NaN and inf included. A masked copy (copyto's where=) or xp.where costs ten times as much on NumPy,
    whose masked loops branch on every element."""
    xp = get_array_module(out)
    bits = np.dtype(f"u{out.dtype.itemsize}")
    held = out.view(bits)
    chosen = (chosen.astype(out.dtype, copy=False).view(bits) if isinstance(chosen, xp.ndarray)
              else np.array(chosen, out.dtype).view(bits)[()])
    step = xp.subtract(chosen, held)
    step *= keep
    held += step
    return out


def as_floating_point(a):
    """An integer or bool array in the default dtype, where torch computes tanh or sigmoid of an int64 tensor; a
    complex one as it is, which NumPy's functions take."""
    return a if a.dtype.kind in "fc" else a.astype(default_dtype())


def require_floating_point(name, a):
    """torch's error for an op that it has for floating point only, where NumPy would compute."""
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}\" not implemented for '{SCALAR_TYPE_NAMES.get(a.dtype, a.dtype)}'")


class Elementwise(Function):
    """f(a) of one tensor, whose backward is grad * f'(a). A subclass gives `function(xp, a, out, **params)`, which
    writes f(a) into out (or names the `ufunc` of xp that is f), and `gradient(xp, grad, saved, out, **params)`,
    which writes grad * f'(a) into out from what it `saves`: "input" (a), "output" (f(a)), or nothing (None, and
    gradient gets no saved array).

    Both directions are chains of memory-bound passes over whole feature maps, so both run through
    parallel.blockwise: on the CPU the worker threads fill cache-sized blocks of one preallocated output in
    place, where a chain of NumPy expressions would write a full-size temporary per step; a GPU gets the whole
    array at once.

    `integers` is what an integer or bool input does, as in torch: "float" computes in the default dtype (tanh of an
    int64 tensor is float32), "keep" computes in its own dtype, and "refuse" is torch's NotImplementedError
    for ops that torch has for floating point only, which names torch's CPU `kernel` (the op's name where None).
    `numbers` names the params that torch takes as numbers of the dtype it computes in, refused with its error where
    that dtype cannot hold them (leaky_relu's slope of 1e300 beside float32); an op that has them computes float16
    in float32 (half_in_float32), so that forward checks them against the dtype of the array it gets.

    For create_graph, a subclass gives `tensor_gradient(grad, saved, **params)`, grad * f'(a) computed by recorded
    ops on tensors: grad, and what forward saved, linked back into the graph (a to the input, f(a) to the output;
    nothing where it saves nothing); its ops are differentiable in turn, so that higher derivatives follow.
    """

    saves = "input"
    integers = "float"
    ufunc = None
    kernel = None
    numbers = ()
    tensor_gradient = None
    reads_rounded_output = True  # where it saves its output and computes float16 in float32 (half_in_float32)

    @classmethod
    def has_differentiable_backward(cls):
        return cls.tensor_gradient is not None

    @staticmethod
    def differentiable_backward(ctx, grad):
        op = ctx.function
        return op.tensor_gradient(grad, *op.linked_values(ctx), **ctx.params)

    @classmethod
    def linked_values(cls, ctx):
        """What forward saved (see saves), linked back into the graph."""
        if cls.saves == "output":
            return (ctx.linked_output(ctx.saved[0]),)
        return tuple(ctx.linked(0, array) for array in ctx.saved)

    @classmethod
    def function(cls, xp, a, out, **params):
        getattr(xp, cls.ufunc)(a, out=out, **params)

    @staticmethod
    def forward(ctx, a, **params):
        op = ctx.function
        if op.integers == "refuse":
            require_floating_point(op.kernel or op.__name__.lower(), a)
        if op.integers != "keep":
            a = as_floating_point(a)
        for name in op.numbers:
            if name in params:  # one left at its default the dtype holds
                converted_scalar(params[name], a.dtype)
        xp = get_array_module(a)
        out = parallel.blockwise(lambda a, out: op.function(xp, a, out, **params), a)
        ctx.save_for_backward(*{"input": (a,), "output": (out,), None: ()}[op.saves])
        return out

    @staticmethod
    def backward(ctx, grad):
        op, params, xp = ctx.function, ctx.params, get_array_module(grad)
        return parallel.blockwise(lambda grad, *saved, out: op.gradient(xp, grad, *saved, out, **params),
                                  grad, *ctx.saved)


class Exp(Elementwise):
    autocast_category = {"cuda": "float32"}
    saves = "output"
    ufunc = "exp"

    @staticmethod
    def gradient(xp, grad, saved, out):
        xp.multiply(grad, saved, out=out)

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * out


class Expm1(Elementwise):
    """exp(a) - 1, exact near 0 where exp(a) - 1 loses its digits."""

    autocast_category = {"cuda": "float32"}
    saves = "output"
    ufunc = "expm1"

    @staticmethod
    def gradient(xp, grad, saved, out):                                # grad * (saved + 1)
        xp.add(saved, 1, out=out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * (out + 1)


class Log(Elementwise):
    autocast_category = {"cuda": "float32"}
    ufunc = "log"

    @staticmethod
    def gradient(xp, grad, a, out):
        xp.divide(grad, a, out=out)

    @staticmethod
    def tensor_gradient(grad, a):
        return grad / a


class Log1p(Elementwise):
    """log(1 + a), exact near 0 where 1 + a rounds a away."""

    autocast_category = {"cuda": "float32"}
    node_name = "Log1PBackward0"

    ufunc = "log1p"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad / (a + 1)
        xp.add(a, 1, out=out)
        xp.divide(grad, out, out=out)

    @staticmethod
    def tensor_gradient(grad, a):
        return grad / (a + 1)


class _LogToBase(Elementwise):
    """log of a fixed base: its gradient is grad / (a * log(base))."""

    autocast_category = {"cuda": "float32"}

    @classmethod
    def gradient(cls, xp, grad, a, out):
        xp.multiply(a, cls.log_of_base, out=out)
        xp.divide(grad, out, out=out)

    @classmethod
    def tensor_gradient(cls, grad, a):
        return grad / (a * cls.log_of_base)


class Log2(_LogToBase):
    ufunc = "log2"
    log_of_base = math.log(2)


class Log10(_LogToBase):
    ufunc = "log10"
    log_of_base = math.log(10)


class Sqrt(Elementwise):
    saves = "output"
    ufunc = "sqrt"

    @staticmethod
    def gradient(xp, grad, saved, out):                                # grad / (2 * saved)
        xp.multiply(saved, 2, out=out)
        xp.divide(grad, out, out=out)

    @staticmethod
    def tensor_gradient(grad, out):
        return grad / (out * 2)


class Rsqrt(Elementwise):
    """1 / sqrt(a)"""

    autocast_category = {"cuda": "float32"}
    saves = "output"

    @staticmethod
    def function(xp, a, out):
        xp.sqrt(a, out=out)
        xp.reciprocal(out, out=out)

    @staticmethod
    def gradient(xp, grad, saved, out):                                # -grad * saved ** 3 / 2
        xp.multiply(grad, saved, out=out)
        out *= saved
        out *= saved
        out *= -0.5

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * out * out * out * -0.5


class Reciprocal(Elementwise):
    autocast_category = {"cuda": "float32"}
    saves = "output"
    ufunc = "reciprocal"

    @staticmethod
    def gradient(xp, grad, saved, out):                                # -grad * saved ** 2, squared first
        xp.multiply(saved, saved, out=out)                              # (torch's order, which float16 shows)
        out *= grad
        xp.negative(out, out=out)

    @staticmethod
    def tensor_gradient(grad, out):
        return -(out * out * grad)


class Tanh(Elementwise):
    saves = "output"
    ufunc = "tanh"
    half_in_float32 = True  # torch's backward is a kernel of its own, in float32 from the float16 output

    @staticmethod
    def gradient(xp, grad, saved, out):                                # grad * (1 - saved ** 2)
        xp.multiply(grad, saved, out=out)
        out *= saved
        xp.subtract(grad, out, out=out)

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * (1 - out * out)


class Sin(Elementwise):
    ufunc = "sin"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad * cos(a)
        xp.cos(a, out=out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * a.cos()


class Cos(Elementwise):
    ufunc = "cos"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # -grad * sin(a)
        xp.sin(a, out=out)
        out *= grad
        xp.negative(out, out=out)

    @staticmethod
    def tensor_gradient(grad, a):
        return -(grad * a.sin())


class Exp2(Elementwise):
    saves = "output"
    ufunc = "exp2"

    @staticmethod
    def gradient(xp, grad, saved, out):                                # grad * saved * log(2)
        xp.multiply(grad, saved, out=out)
        out *= math.log(2)

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * out * math.log(2)


class Sinh(Elementwise):
    """sinh, whose derivative is cosh, and (as Cosh) the other way round."""

    autocast_category = {"cuda": "float32"}
    ufunc, derivative = "sinh", "cosh"

    @classmethod
    def gradient(cls, xp, grad, a, out):                               # grad * cosh(a)
        getattr(xp, cls.derivative)(a, out=out)
        out *= grad

    @classmethod
    def tensor_gradient(cls, grad, a):
        return grad * getattr(a, cls.derivative)()


class Cosh(Sinh):
    ufunc, derivative = "cosh", "sinh"


class Tan(Elementwise):
    autocast_category = {"cuda": "float32"}
    saves = "output"
    ufunc = "tan"

    @staticmethod
    def gradient(xp, grad, saved, out):                                # grad * (1 + saved ** 2)
        xp.multiply(saved, saved, out=out)
        out += 1
        out *= grad

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * (1 + out * out)


class Atan(Elementwise):
    ufunc = "arctan"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad / (1 + a ** 2)
        xp.multiply(a, a, out=out)
        out += 1
        xp.divide(grad, out, out=out)

    @staticmethod
    def tensor_gradient(grad, a):
        return grad / (1 + a * a)


class Asin(Elementwise):
    """arcsin, and (as Acos) arccos, whose derivative is the same but negated."""

    autocast_category = {"cuda": "float32"}
    ufunc, sign = "arcsin", 1

    @classmethod
    def gradient(cls, xp, grad, a, out):                               # sign * grad / sqrt(1 - a ** 2)
        xp.multiply(a, a, out=out)
        xp.subtract(1, out, out=out)
        xp.sqrt(out, out=out)
        xp.divide(grad, out, out=out)
        out *= cls.sign

    @classmethod
    def tensor_gradient(cls, grad, a):
        return grad / (1 - a * a).sqrt() * cls.sign


class Acos(Asin):
    ufunc, sign = "arccos", -1


class Asinh(Elementwise):
    """arcsinh, and (as Acosh) arccosh, whose derivatives differ by the sign under the root."""

    ufunc, shift = "arcsinh", 1

    @classmethod
    def gradient(cls, xp, grad, a, out):                               # grad / sqrt(a ** 2 + shift)
        xp.multiply(a, a, out=out)
        out += cls.shift
        xp.sqrt(out, out=out)
        xp.divide(grad, out, out=out)

    @classmethod
    def tensor_gradient(cls, grad, a):
        return grad / (a * a + cls.shift).sqrt()


class Acosh(Asinh):
    ufunc, shift = "arccosh", -1


class Atanh(Elementwise):
    ufunc = "arctanh"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad / (1 - a ** 2)
        xp.multiply(a, a, out=out)
        xp.subtract(1, out, out=out)
        xp.divide(grad, out, out=out)

    @staticmethod
    def tensor_gradient(grad, a):
        return grad / (1 - a * a)


class Deg2rad(Elementwise):
    """a times a constant `factor`: degrees to radians, and (as Rad2deg) back; bools as 0 and 1, as torch's."""

    saves = None
    factor = math.pi / 180

    @classmethod
    def function(cls, xp, a, out):
        xp.multiply(a, out.dtype.type(cls.factor), out=out)

    @classmethod
    def gradient(cls, xp, grad, out):
        xp.multiply(grad, grad.dtype.type(cls.factor), out=out)

    @classmethod
    def tensor_gradient(cls, grad):
        return grad * cls.factor


class Rad2deg(Deg2rad):
    factor = 180 / math.pi


class Frac(Elementwise):
    """a - trunc(a), for floating point only, as torch's; its gradient is grad itself."""

    saves = None
    integers = "refuse"
    kernel = "frac_cpu"

    @staticmethod
    def function(xp, a, out):
        xp.trunc(a, out=out)
        xp.subtract(a, out, out=out)

    @staticmethod
    def gradient(xp, grad, out):
        xp.copyto(out, grad)

    @staticmethod
    def tensor_gradient(grad):
        return grad


class Logit(Elementwise):
    """log(a / (1 - a)), a first clamped to [eps, 1 - eps] when eps is given (None: not). As torch's, the gradient
    is zero where eps clamped a, and NaN outside [0, 1] without eps."""

    @staticmethod
    def function(xp, a, out, eps=None):
        if eps is None:
            xp.copyto(out, a)
        else:
            xp.clip(a, eps, 1 - eps, out=out)
        xp.divide(out, xp.subtract(1, out), out=out)
        xp.log(out, out=out)

    @staticmethod
    def gradient(xp, grad, a, out, eps=None):                          # grad / (a * (1 - a)) inside the range
        xp.subtract(1, a, out=out)
        out *= a
        xp.divide(grad, out, out=out)
        low, high, outside = (0, 1, xp.nan) if eps is None else (eps, 1 - eps, 0)
        out[(a < low) | (a > high)] = outside

    @staticmethod
    def tensor_gradient(grad, a, eps=None):
        low, high, outside = (0, 1, math.nan) if eps is None else (eps, 1 - eps, 0)
        return tensor_functions().where((a < low) | (a > high), outside, grad / (a * (1 - a)))


class SpecialFunction(Elementwise):
    """f(a) of scipy.special (cupyx.scipy.special on a GPU), named `special`; where f's derivative is one of them
    too, its name is `derivative`, and the gradient is grad * derivative(a). Where torch's kernel computes f as
    exp(|a|) times a series (i0, i1), f is ±inf where exp(|a|) overflows (`overflows_with_exp`), as torch's, a little
    before f itself does."""

    overflows_with_exp = False

    @classmethod
    def function(cls, xp, a, out):
        getattr(scipy_module(xp, "special"), cls.special)(a, out=out)
        if cls.overflows_with_exp:
            xp.copyto(out, xp.copysign(out.dtype.type(math.inf), out),
                      where=(xp.abs(a) > math.log(xp.finfo(out.dtype).max)) & ~xp.isnan(out))

    @classmethod
    def gradient(cls, xp, grad, a, out):
        getattr(scipy_module(xp, "special"), cls.derivative)(a, out=out)
        out *= grad


class Erf(SpecialFunction):
    special = "erf"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad * 2 / sqrt(pi) * exp(-a ** 2)
        xp.multiply(a, a, out=out)
        xp.negative(out, out=out)
        xp.exp(out, out=out)
        out *= grad
        out *= 2 / math.sqrt(math.pi)

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * (-a * a).exp() * (2 / math.sqrt(math.pi))


class Erfc(SpecialFunction):
    """1 - erf(a), exact in the tail where 1 - erf(a) rounds to 0."""

    special = "erfc"

    @staticmethod
    def gradient(xp, grad, a, out):                                    # -grad * 2 / sqrt(pi) * exp(-a ** 2)
        Erf.gradient(xp, grad, a, out)
        xp.negative(out, out=out)

    @staticmethod
    def tensor_gradient(grad, a):
        return -Erf.tensor_gradient(grad, a)


class Erfinv(SpecialFunction):
    """The inverse of erf on (-1, 1): ±inf at ±1, NaN outside."""

    autocast_category = {"cuda": "float32"}
    saves = "output"
    special = "erfinv"

    @staticmethod
    def gradient(xp, grad, saved, out):                                # grad * sqrt(pi) / 2 * exp(out ** 2)
        xp.multiply(saved, saved, out=out)
        xp.exp(out, out=out)
        out *= grad
        out *= math.sqrt(math.pi) / 2

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * (out * out).exp() * (math.sqrt(math.pi) / 2)


class Lgamma(SpecialFunction):
    """log |gamma(a)|."""

    special, derivative = "gammaln", "digamma"

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * a.digamma()


class Digamma(SpecialFunction):
    """The derivative of lgamma; its own is the trigamma function, polygamma(1, a) = zeta(2, a) (Hurwitz's)."""

    special = "digamma"

    @staticmethod
    def gradient(xp, grad, a, out):
        scipy_module(xp, "special").zeta(2, a, out=out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * tensor_functions().polygamma(1, a)


class Polygamma(SpecialFunction):
    """The n-th derivative of digamma (n >= 0; n = 0 is digamma), (-1) ** (n + 1) n! zeta(n + 1, a) for n > 0 (Hurwitz's
    zeta); its own derivative is polygamma of n + 1."""

    @staticmethod
    def function(xp, a, out, n):
        special = scipy_module(xp, "special")
        if n == 0:
            special.digamma(a, out=out)
            return
        special.zeta(n + 1, a, out=out)
        out *= (-1) ** (n + 1) * math.factorial(n)

    @staticmethod
    def gradient(xp, grad, a, out, n):
        Polygamma.function(xp, a, out, n + 1)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a, n):
        return grad * tensor_functions().polygamma(n + 1, a)


class I0(SpecialFunction):
    """The modified Bessel function of the first kind of order 0."""

    special, overflows_with_exp = "i0", True

    @staticmethod
    def gradient(xp, grad, a, out):
        I1.function(xp, a, out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * I1.apply(a)


class I1(SpecialFunction):
    """The modified Bessel function of the first kind of order 1, i0's derivative (torch.special.i1). Its own is
    i0(a) - i1(a) / a; I1e's, of the scaled i1e, is i0e(a) - i1e(a) (1 / a + sgn(a)). Both are 1/2 where |a| is not
    above the dtype's epsilon (at NaN too), as torch's."""

    node_name = "SpecialI1Backward0"
    special, order_zero, scaled, overflows_with_exp = "i1", I0, False, True

    @classmethod
    def gradient(cls, xp, grad, a, out):
        tiny = ~(xp.abs(a) > xp.finfo(a.dtype).eps)
        xp.reciprocal(xp.where(tiny, 1, a), out=out)
        if cls.scaled:
            out += xp.sign(a)
        value, order_zero = xp.empty_like(out), xp.empty_like(out)
        cls.function(xp, a, value)
        cls.order_zero.function(xp, a, order_zero)
        out *= value
        xp.subtract(order_zero, out, out=out)
        xp.copyto(out, out.dtype.type(0.5), where=tiny)
        out *= grad

    @classmethod
    def tensor_gradient(cls, grad, a):
        large = a.abs() > np.finfo(a.dtype).eps
        slope = 1 / a.where(large, 1)
        if cls.scaled:
            slope = slope + a.sign()
        return grad * (cls.order_zero.apply(a) - cls.apply(a) * slope).where(large, 0.5)


class I0e(SpecialFunction):
    """i0(a) exp(-|a|), finite where i0 overflows (torch.special.i0e); its derivative is i1e(a) - sgn(a) i0e(a)."""

    node_name = "SpecialI0EBackward0"
    special = "i0e"

    @staticmethod
    def gradient(xp, grad, a, out):
        special = scipy_module(xp, "special")
        special.i0e(a, out=out)
        out *= xp.sign(a)
        xp.subtract(special.i1e(a), out, out=out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * (I1e.apply(a) - a.sign() * I0e.apply(a))


class I1e(I1):
    """i1(a) exp(-|a|) (torch.special.i1e)."""

    node_name = "SpecialI1EBackward0"
    special, order_zero, scaled, overflows_with_exp = "i1e", I0e, True, False


class Ndtri(SpecialFunction):
    """The inverse of the standard normal distribution function on (0, 1), ±inf at 1 and 0, NaN outside; its
    derivative is sqrt(2 pi) exp(out ** 2 / 2)."""

    node_name = "SpecialNdtriBackward0"
    saves = "output"
    special = "ndtri"

    @staticmethod
    def gradient(xp, grad, saved, out):
        xp.multiply(saved, saved, out=out)
        out *= 0.5
        xp.exp(out, out=out)
        out *= grad
        out *= math.sqrt(2 * math.pi)

    @staticmethod
    def tensor_gradient(grad, out):
        return grad * math.sqrt(2 * math.pi) * (out * out / 2).exp()


class LogNdtr(SpecialFunction):
    """The log of the standard normal distribution function, exact far into the lower tail; its derivative, the
    normal density over the distribution function, is exp(-a ** 2 / 2 - log_ndtr(a)) / sqrt(2 pi), as torch's."""

    node_name = "SpecialLogNdtrBackward0"
    special = "log_ndtr"

    @staticmethod
    def gradient(xp, grad, a, out):
        scipy_module(xp, "special").log_ndtr(a, out=out)
        out += a * a / 2
        xp.negative(out, out=out)
        xp.exp(out, out=out)
        out *= grad
        out /= math.sqrt(2 * math.pi)

    @staticmethod
    def tensor_gradient(grad, a):
        return grad / math.sqrt(2 * math.pi) * (-(LogNdtr.apply(a) + a * a / 2)).exp()


class Erfcx(SpecialFunction):
    """The scaled complementary error function exp(a ** 2) erfc(a), finite where erfc underflows; its derivative
    is 2 a erfcx(a) - 2 / sqrt(pi)."""

    node_name = "SpecialErfcxBackward0"
    special = "erfcx"

    @staticmethod
    def gradient(xp, grad, a, out):
        scipy_module(xp, "special").erfcx(a, out=out)
        out *= a
        out *= 2
        out -= 2 / math.sqrt(math.pi)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return (2 * a * Erfcx.apply(a) - 2 / math.sqrt(math.pi)) * grad


class Entr(SpecialFunction):
    """The entropy term -a log(a): 0 at 0, -inf below; its derivative is -(1 + log(a)) (inf at 0, NaN below)."""

    node_name = "SpecialEntrBackward0"
    special = "entr"

    @staticmethod
    def gradient(xp, grad, a, out):
        xp.log(a, out=out)
        out += 1
        xp.negative(out, out=out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * -(1 + a.log())


def spherical_bessel_j0(xp, a, out):
    """sin(a) / a, 1 at 0 and 0 at ±inf, as torch's, computed in float64 (its division loses nothing there)."""
    wide = a.astype(np.float64)
    xp.copyto(out, xp.where(wide == 0, 1, xp.where(xp.isinf(wide), 0, xp.sin(wide) / xp.where(wide == 0, 1, wide))))


def airy_ai(xp, a, out):
    """The Airy function Ai, as torch's: 0 above 103.892 (where scipy's overflows to NaN), NaN at ±inf.
    cupyx.scipy.special has no airy, so a GPU's array takes it on the host."""
    value = to_device(scipy_module(np, "special").airy(to_numpy(a))[0], device_of(a))
    xp.copyto(out, xp.where(xp.isinf(a), xp.nan, xp.where(a > 103.892, 0, value)))


class GradientFreeSpecial(Elementwise):
    """torch.special's functions that torch gives no derivative (bessel_j0, ...), of the `name` of scipy.special's
    function (or of a formula here, where cupyx.scipy.special lacks it). Their results never require grad (see
    minigrad.special), so that backward through them is torch's error for a tensor outside any graph."""

    saves = None
    formulas = {"spherical_bessel_j0": spherical_bessel_j0, "airy_ai": airy_ai, "i0": I0.function,
                "i1": I1.function}

    @staticmethod
    def function(xp, a, out, name):
        formula = GradientFreeSpecial.formulas.get(name)
        if formula is None:
            getattr(scipy_module(xp, "special"), name)(a, out=out)
        else:
            formula(xp, a, out)


class Sinc(Elementwise):
    """sin(pi a) / (pi a), 1 at 0; its gradient (cos(pi a) - sinc(a)) / a is 0 at 0, as torch's."""

    @staticmethod
    def function(xp, a, out):
        xp.copyto(out, xp.sinc(a))

    @staticmethod
    def gradient(xp, grad, a, out):                                    # (pi a cos(pi a) - sin(pi a)) / (pi a ** 2)
        angle = a * math.pi
        xp.multiply(angle, xp.cos(angle), out=out)
        out -= xp.sin(angle)
        out /= xp.where(a == 0, 1, angle * a)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):                                      # its own gradient NaN at 0, as torch's
        angle = a * math.pi
        return (grad * (angle * angle.cos() - angle.sin()) / (angle * a)).where(a != 0, 0)


class Stepwise(Elementwise):
    """A function constant between steps (sign, floor, ...): its gradient is zero almost everywhere, and torch's
    is zero everywhere. Integer inputs keep their dtype; floor and its kin return them as they are (a copy),
    and refuse bools with torch's error, which names its CPU kernel (trunc_vml_cpu)."""

    saves = None
    integers = "keep"

    @classmethod
    def function(cls, xp, a, out, **params):
        if a.dtype.kind == "f":
            super().function(xp, a, out, **params)
            return
        if a.dtype == bool:
            raise NotImplementedError(f"\"{cls.ufunc}_vml_cpu\" not implemented for 'Bool'")
        xp.copyto(out, a)

    @staticmethod
    def gradient(xp, grad, out, **params):
        out.fill(0)

    @staticmethod
    def tensor_gradient(grad, **params):
        return tensor_functions().zeros_like(grad)


class Angle(Stepwise):
    """The angle of a real number: pi where it is negative, 0 elsewhere, NaN at NaN; integers and bools in the default
    dtype, as torch's, whose gradient is zero."""

    integers = "float"

    @staticmethod
    def function(xp, a, out):
        xp.multiply(a < 0, out.dtype.type(math.pi), out=out)
        out[xp.isnan(a)] = xp.nan


class Floor(Stepwise):
    ufunc = "floor"


class Ceil(Stepwise):
    ufunc = "ceil"


class Trunc(Stepwise):
    ufunc = "trunc"


class Round(Stepwise):
    """Halves to even, as torch's (and NumPy's). Integers round to themselves, unless `decimals` is given (None:
    not), which torch refuses for them."""

    node_name = named_by("decimals", "RoundBackward0", "RoundBackward1")
    ufunc = "round"

    @classmethod
    def function(cls, xp, a, out, decimals=None):
        if decimals is not None and a.dtype.kind in "iu":
            raise NotImplementedError(f"\"round_cpu\" not implemented for '{SCALAR_TYPE_NAMES[a.dtype]}'")
        super().function(xp, a, out, decimals=decimals or 0)


class Sign(Stepwise):
    """-1, 0 or 1 (0 for NaN); a bool tensor's own copy, as torch's."""

    @staticmethod
    def function(xp, a, out):
        if a.dtype == bool:
            xp.copyto(out, a)
        elif a.dtype.kind == "f":                                       # NaN's sign is 0, as torch's
            xp.greater(a, 0, out=out)
            out -= a < 0
        else:
            xp.sign(a, out=out)


class Binary(Function):
    """f(a, b) of two tensors that broadcast, for the ops without a fast path of their own: a subclass gives
    `function(xp, a, b)` and `gradients(xp, grad, a, b, out)`, which returns both gradients (out is f(a, b)).
    `integers` is what integer and bool operands do, as Elementwise's ("float": apply casts each straight to the
    default dtype, see Function.integers_to_float); "refuse" names torch's CPU kernel. `gradients` written with xp's
    functions that minigrad has too (where, log, exp) also records on linked tensors, given minigrad as xp, for
    create_graph (`records`); a subclass whose gradients need xp's own (scipy.special's) gives `tensor_gradients`.
    Where torch has no derivative for the first operand, `first_without_derivative` is torch's name of it, and
    asking for that gradient is torch's NotImplementedError."""

    broadcasts = True
    integers = "float"
    records = True
    first_without_derivative = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.integers_to_float = cls.integers == "float"

    @staticmethod
    def forward(ctx, a, b):
        op = ctx.function
        if op.integers == "refuse":
            require_floating_point(f"{op.__name__.lower()}_cpu", a)
        out = op.function(get_array_module(a), a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        _refuse_missing_first_gradient(ctx)
        return ctx.function.gradients(get_array_module(grad), grad, *ctx.saved)

    @classmethod
    def has_differentiable_backward(cls):
        return cls.records

    @staticmethod
    def differentiable_backward(ctx, grad):
        _refuse_missing_first_gradient(ctx)
        a, b, out = ctx.saved
        return ctx.function.tensor_gradients(grad, ctx.linked(0, a), ctx.linked(1, b), ctx.linked_output(out))

    @classmethod
    def tensor_gradients(cls, grad, a, b, out):
        """`gradients` of linked tensors, recorded: minigrad's functions in xp's place."""
        return cls.gradients(tensor_functions(), grad, a, b, out)


def _refuse_missing_first_gradient(ctx):
    """torch's error for a gradient of a binary op's first operand that torch has no formula for."""
    derivative = ctx.function.first_without_derivative
    if derivative is not None and ctx.needs_input_grad[0]:
        raise NotImplementedError(f"the derivative for '{derivative}' is not implemented.")


class Atan2(Binary):
    """The angle of the point (b, a); as torch's, both gradients are 0 at the origin, where a / b has none."""

    autocast_category = {"cuda": "promote"}

    @staticmethod
    def function(xp, a, b):
        return xp.arctan2(a, b)

    @staticmethod
    def gradients(xp, grad, a, b, out):
        squared = a * a + b * b
        scale = xp.where(squared == 0, 0, grad / xp.where(squared == 0, 1, squared))
        return scale * b, -scale * a


class Hypot(Binary):
    """sqrt(a ** 2 + b ** 2) without overflow, for floating point only, as torch's (NaN gradients at the origin)."""

    integers = "refuse"

    @staticmethod
    def function(xp, a, b):
        return xp.hypot(a, b)

    @staticmethod
    def gradients(xp, grad, a, b, out):
        return grad * a / out, grad * b / out


class Copysign(Binary):
    """|a| with the sign of b (of -0.0 and of NaN too); b gets no gradient, and a none where it is 0, as torch's."""

    node_name = "CopysignBackward0"  # torch's of two tensors; of a tensor and a number, it is CopysignBackward1

    @staticmethod
    def function(xp, a, b):
        return xp.copysign(a, b)

    @staticmethod
    def gradients(xp, grad, a, b, out):
        return grad * xp.where(a == 0, 0, out / xp.where(a == 0, 1, a)), xp.zeros_like(b)


class Nextafter(Binary):
    """The next floating-point value after a toward b; as torch's, a's gradient passes through, b's is 0."""

    integers = "refuse"

    @staticmethod
    def function(xp, a, b):
        return xp.nextafter(a, b)

    @staticmethod
    def gradients(xp, grad, a, b, out):
        return grad, xp.zeros_like(b)


class Xlogy(Binary):
    """a * log(b), 0 where a is 0 (unless b is NaN), as torch's: the entropy terms of a distribution with zeros; and
    (as Xlog1py) a * log1p(b). a's gradient is xlogy(grad, b), 0 where also a is 0 and b is at or past log's pole;
    b's is a / (b - pole) (NaN at 0 / 0)."""

    logarithm, pole = "log", 0

    @classmethod
    def function(cls, xp, a, b):
        return xp.where((a == 0) & ~xp.isnan(b), 0, a * getattr(xp, cls.logarithm)(b))

    @classmethod
    def gradients(cls, xp, grad, a, b, out):
        return (xp.where((a == 0) & (b <= cls.pole), 0, cls.function(xp, grad, b)),
                grad * a / (b - cls.pole))


class Xlog1py(Xlogy):
    node_name = "SpecialXlog1PyBackward0"
    logarithm, pole = "log1p", -1


class Igamma(Binary):
    """The regularized lower incomplete gamma function P(a, x), and (as Igammac) the upper Q = 1 - P, of floating point
    only, as torch.igamma's. As torch's, only x has a gradient: a's is torch's NotImplementedError."""

    integers = "refuse"
    special, sign, first_without_derivative = "gammainc", 1, "igamma: input"

    @classmethod
    def function(cls, xp, a, b):
        return getattr(scipy_module(xp, "special"), cls.special)(a, b)

    @classmethod
    def gradients(cls, xp, grad, a, x, out):                           # sign * x ** (a - 1) * exp(-x) / gamma(a)
        special = scipy_module(xp, "special")
        return None, cls.sign * grad * xp.exp((a - 1) * xp.log(x) - x - special.gammaln(a))

    @classmethod
    def tensor_gradients(cls, grad, a, x, out):
        return None, cls.sign * grad * ((a - 1) * x.log() - x - a.lgamma()).exp()


class Igammac(Igamma):
    special, sign, first_without_derivative = "gammaincc", -1, "igammac: input"


class Zeta(Binary):
    """Hurwitz's zeta function, sum over k >= 0 of (q + k) ** -x: inf at x = 1 and at the poles q = 0, -1, ..., NaN
    for x < 1 and at q = inf, as torch's. Only q has a gradient, -x zeta(x + 1, q); x's is torch's
    NotImplementedError."""

    node_name = "SpecialZetaBackward0"
    first_without_derivative = "zeta"

    @staticmethod
    def function(xp, x, q):
        return xp.where(q == xp.inf, xp.nan, scipy_module(xp, "special").zeta(x, q))

    @staticmethod
    def gradients(xp, grad, x, q, out):
        return None, grad * -x * Zeta.function(xp, x + 1, q)

    @staticmethod
    def tensor_gradients(grad, x, q, out):
        return None, grad * -x * Zeta.apply(x + 1, q)


class Fmod(Binary):
    """The remainder of a / b truncated toward 0, with the sign of a (C's fmod); integers stay integers, and an
    integer divisor of 0 is torch's error. b's gradient is -trunc(a / b)."""

    node_name = "FmodBackward1"  # torch's of two tensors; of a tensor and a number, it is FmodBackward0
    integers = "keep"

    @staticmethod
    def function(xp, a, b):
        _check_floor_division("fmod_cpu", a, b)
        return xp.fmod(a, b)

    @staticmethod
    def gradients(xp, grad, a, b, out):
        return grad, -grad * xp.trunc(a / b)


class LogAddExp(Binary):
    """log(exp(a) + exp(b)) without overflow, for floating point only, as torch's; a's gradient is
    1 / (1 + exp(b - a)), NaN where a and b are one infinity, as torch's. LogAddExp2 is the same in base 2."""

    integers = "refuse"
    ufunc, exp, node_name = "logaddexp", "exp", "LogaddexpBackward0"

    @classmethod
    def function(cls, xp, a, b):
        return getattr(xp, cls.ufunc)(a, b)

    @classmethod
    def gradients(cls, xp, grad, a, b, out):
        exp = getattr(xp, cls.exp)
        return grad / (1 + exp(b - a)), grad / (1 + exp(a - b))


class LogAddExp2(LogAddExp):
    ufunc, exp, node_name = "logaddexp2", "exp2", "Logaddexp2Backward0"


class Fmax(Binary):
    """The larger of a and b, ignoring a NaN (NaN only where both are), integers kept. As torch's, the gradient
    goes to one side only: to a where a >= b (ties included) or b is NaN, else to b. Fmin is the same for the
    smaller."""

    integers = "keep"
    ufunc, wins = "fmax", operator.ge

    @classmethod
    def function(cls, xp, a, b):
        return getattr(xp, cls.ufunc)(a, b)

    @classmethod
    def gradients(cls, xp, grad, a, b, out):
        to_a = cls.wins(a, b) | xp.isnan(b)
        zero = grad.dtype.type(0)
        return xp.where(to_a, grad, zero), xp.where(to_a, zero, grad)


class Fmin(Fmax):
    ufunc, wins = "fmin", operator.le


def fused_multiply_add(a, b, c):
    """a * b + c (arrays of one dtype) rounded once, as a fused multiply-add (torch's CPU and CUDA kernels round so).
    float32 operands compute in float64, where a * b is exact, and the sum is rounded to odd (truncated toward 0, its
    last bit set where inexact), so that rounding it to float32 rounds the exact value (Boldo and Melquiond 2008);
    float64 ones, without a wider type, round twice."""
    if c.dtype != np.float32:
        return a * b + c
    xp = get_array_module(c)
    product = a.astype(np.float64) * b.astype(np.float64)
    total = product + c
    product_part = total - c                                           # two-sum: total + error = product + c
    error = product - product_part
    error += c - (total - product_part)
    bits = total.view(np.int64)                                        # IEEE order: one step of bits, one value
    bits -= error * total < 0                                          # toward 0 where the sum lies below total
    bits |= xp.abs(error) > 0                                          # not NaN's: inf stays inf
    return total.astype(np.float32)


def _lerp_into(start, end, weight, out):
    """out = start + weight * (end - start) from the nearer end, in one fused multiply-add (see Lerp)."""
    xp = get_array_module(out)
    far = xp.abs(weight) >= 0.5
    xp.copyto(out, fused_multiply_add(weight - far, end - start, xp.where(far, end, start)))


class Lerp(Function):
    """start + weight * (end - start) as torch's: from the nearer end, so exact at weight 0 and 1, in one fused
    multiply-add (weight * (end - start) + start, or (weight - 1) * (end - start) + end). The three broadcast together
    and come in one floating-point dtype, as torch's (end in start's, a weight tensor of more than 0 dims too); a
    number weight (number_weight) comes as a 0-d float64 array, which takes no part in the dtype, and whose
    gradients, as torch's of its double, are grad * (1 - weight) and grad * weight rounded to that dtype."""

    promotes_inputs = False
    node_name = named_by("number_weight", "LerpBackward1", "LerpBackward0")  # of a tensor weight, of a number

    @staticmethod
    def forward(ctx, start, end, weight, number_weight=None):
        for role, operand in (("end", end), ("weight", weight)):
            if operand.dtype != start.dtype and (role == "end" or operand.ndim):
                raise RuntimeError(f"expected dtype {CPP_TYPE_NAMES.get(start.dtype, start.dtype)} for `{role}` but "
                                   f"got dtype {CPP_TYPE_NAMES.get(operand.dtype, operand.dtype)}")
        require_broadcastable(start.shape, end.shape)
        require_broadcastable(np.broadcast_shapes(start.shape, end.shape), weight.shape)
        # a 0-d weight tensor of a higher category promotes, as torch's
        dtype = start.dtype if number_weight else result_type(start, end, weight)
        start, end, rounded_weight = (operand.astype(dtype, copy=False) for operand in (start, end, weight))
        require_floating_point("lerp_kernel_tensor" if weight.ndim else "lerp_kernel_scalar", start)
        ctx.save_for_backward(start, end, weight)
        return parallel.blockwise(_lerp_into, start, end, rounded_weight)

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved
        need_start, need_end, need_weight = ctx.needs_input_grad
        return (grad * (1 - weight).astype(grad.dtype) if need_start else None,
                grad * weight.astype(grad.dtype) if need_end else None,
                grad * (end - start) if need_weight else None)

    @staticmethod
    def differentiable_backward(ctx, grad):
        start, end, weight = ctx.linked_saved()
        need_start, need_end, need_weight = ctx.needs_input_grad
        return (grad * (1 - weight) if need_start else None, grad * weight if need_end else None,
                grad * (end - start) if need_weight else None)


class NanToNum(Function):
    """Integer and bool tensors come back as copies, as torch's; nan=None is 0, as torch's."""

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        xp = get_array_module(a)
        ctx.save_for_backward(xp.isfinite(a))
        return xp.nan_to_num(a, nan=0.0 if nan is None else nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        (finite,) = ctx.saved
        return grad * finite

    differentiable_backward = backward


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype == bool:
            raise NotImplementedError("\"abs_cpu\" not implemented for 'Bool'")
        ctx.save_for_backward(a)
        return get_array_module(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        sign = memory.empty(get_array_module(a), a.shape, a.dtype)
        Sign.function(get_array_module(a), a, sign)                    # 0 at NaN, as torch's
        return grad * sign

    @staticmethod
    def differentiable_backward(ctx, grad):                            # sign's gradient is 0, as torch's
        return grad * ctx.linked(0, ctx.saved[0]).sign()


class Clamp(Function):
    """Gradient passes where low <= a <= high, not where a is NaN, as in torch; the bounds are numbers in a's dtype,
    as torch converts them (a uint8 tensor's bound of -5 is 251)."""

    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, low=None, high=None):
        xp = get_array_module(a)
        low, high = (None if bound is None else converted_scalar(bound, a.dtype) for bound in (low, high))
        ctx.save_for_backward(ctx.function.passes(xp, a, low, high))
        return xp.clip(a, low, high).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        (passes,) = ctx.saved
        return gradient_where(grad, passes)

    differentiable_backward = backward

    @staticmethod
    def passes(xp, a, low, high):
        inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        return inside


class Hardtanh(Clamp):
    """Clamp to [low, high] whose gradient, as torch's hardtanh's, passes strictly inside (not at the bounds) and
    where a is NaN; create_graph's depends on a, as torch's (clamp's does not)."""

    @staticmethod
    def differentiable_backward(ctx, grad):
        (passes,) = ctx.saved
        return DependsOn.apply(gradient_where(grad, passes), ctx.linked(0, passes))

    @staticmethod
    def passes(xp, a, low, high):
        return ~((a <= low) | (a >= high))


class Maximum(Function):
    """The element-wise larger of a and b (NaN where either is). As torch's, each side's gradient flows wherever it
    is not the smaller one, so both sides take it where either is NaN, and where they tie each takes half."""

    broadcasts = True
    pick, loses = "maximum", operator.lt                               # a loses to b where a < b

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(get_array_module(a), ctx.function.pick)(a, b)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        a, b = ctx.saved
        loses = ctx.function.loses
        shared = grad * ((a == b) * grad.dtype.type(-0.5) + grad.dtype.type(1))      # halved where they tie
        return gradient_where(shared, ~loses(a, b)), gradient_where(shared, ~loses(b, a))

    differentiable_backward = backward


class Minimum(Maximum):
    pick, loses = "minimum", operator.gt


class ClampMinTensor(Maximum):
    """max(a, low) for a tensor bound, clamp's lower half, with clamp's gradients rather than maximum's: as torch's,
    to a where a >= low (at the bound too) and to low where a < low. ClampMaxTensor, the upper half, after it makes
    clamp(a, low, high) with torch's gradients, low > high included."""

    passes, clamped = operator.ge, operator.lt                        # a passes where a >= bound, else clamped

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        a, bound = ctx.saved
        op = ctx.function
        return gradient_where(grad, op.passes(a, bound)), gradient_where(grad, op.clamped(a, bound))

    differentiable_backward = backward


class ClampMaxTensor(ClampMinTensor):
    pick, passes, clamped = "minimum", operator.le, operator.gt


class Where(Function):
    """a where the condition (a bool array) holds, else b; a and b come in one dtype (minigrad.where promotes
    them). The gradient goes to a where the condition holds and to b elsewhere; the condition has none. The
    three broadcast together, checked as torch does: the condition with a, then that with b."""

    promotes_inputs = False

    @staticmethod
    def forward(ctx, condition, a, b):
        require_broadcastable(condition.shape, a.shape)
        require_broadcastable(np.broadcast_shapes(condition.shape, a.shape), b.shape)
        ctx.save_for_backward(condition)
        return get_array_module(a).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved
        _, need_a, need_b = ctx.needs_input_grad
        where, zero = get_array_module(grad).where, grad.dtype.type(0)
        grad_a = where(condition, grad, zero) if need_a else None
        return None, grad_a, (where(condition, zero, grad) if need_b else None)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (condition,) = ctx.saved
        _, need_a, need_b = ctx.needs_input_grad
        return None, (grad.where(condition, 0) if need_a else None), (grad.where(~condition, 0) if need_b else None)


class Cast(Function):
    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, dtype, order="K"):
        """order "K" keeps a permuted array's layout, as torch's preserve_format; "C" lays it out row by row."""
        ctx.save_for_backward(a.dtype)
        return a.astype(dtype, order=order)

    @staticmethod
    def backward(ctx, grad):
        (dtype,) = ctx.saved
        return grad.astype(dtype)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (dtype,) = ctx.saved
        return grad.to(dtype)


class Drawn(Function):
    """Values drawn from a distribution whose parameters are tensors (bernoulli's probabilities, normal's mean and
    std): torch defines their gradient as zero, so a draw stays in the graph without moving its parameters."""
    promotes_inputs = False

    @staticmethod
    def forward(ctx, values, *parameters):
        ctx.save_for_backward(tuple(parameter.dtype for parameter in parameters))
        return values

    @staticmethod
    def backward(ctx, grad):
        (dtypes,) = ctx.saved
        xp = get_array_module(grad)
        return (None, *(xp.zeros(grad.shape, dtype) for dtype in dtypes))

    @staticmethod
    def differentiable_backward(ctx, grad):
        (dtypes,) = ctx.saved
        return (None, *(tensor_functions().zeros_like(grad, dtype=dtype) for dtype in dtypes))


class Binomial(WithoutDerivative):
    """The successes in `count` trials of probability `prob` each (broadcast), drawn on the host by
    `numpy_generator`, as torch's draws treat their parameters: counts truncated (below 0 as 0), probabilities
    clipped to [0, 1], and count + prob (NaN or infinity) where a count is not finite or a probability is NaN."""

    node_name = NOT_IMPLEMENTED
    broadcasts = True
    aten_name = "binomial"

    @staticmethod
    def forward(ctx, count, prob, numpy_generator):
        device = device_of(count)
        count, prob = np.broadcast_arrays(to_numpy(count), to_numpy(prob))
        drawable = np.isfinite(count) & ~np.isnan(prob)
        trials = np.where(drawable, np.maximum(count, 0), 0).astype(np.int64)
        draws = numpy_generator.binomial(trials, np.clip(np.where(drawable, prob, 0), 0, 1))
        return to_device(np.where(drawable, draws, count + prob).astype(count.dtype), device)


class ToDevice(Function):
    """a's copy on `device`; its gradient goes back to `source`, a's device, which is all that backward keeps of a
    (a batch moved to the GPU is not held on the host for it)."""

    @staticmethod
    def forward(ctx, a, device, source):
        return to_device(a, device)

    @staticmethod
    def backward(ctx, grad):  # on tensors too: differentiable_backward
        return grad.to(ctx.params["source"]) if is_tensor(grad) else to_device(grad, ctx.params["source"])

    differentiable_backward = backward
