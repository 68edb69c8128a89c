"""Elementwise ops. Broadcasting is free: the engine sums each gradient back to its input's shape.

The binary arithmetic on feature maps splits its big passes over the worker threads (parallel.elementwise).
"""
import numbers

import numpy as np

from .. import parallel
from ..backend import DEFAULT_DTYPE, get_array_module, to_device
from ..function import Function, require_64_bits, require_broadcastable, require_fits, result_type

_INVERT_A_MASK = "use `mask == 0` instead."  # torch points to `~`, which minigrad does not have


def _is_bool(operand):
    """A Python or NumPy bool, or a bool tensor or array."""
    return isinstance(operand, bool) or getattr(operand, "dtype", None) == bool


class Add(Function):
    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        return parallel.elementwise(get_array_module(a).add, a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """a - b, where a bool operand (tensor or Python bool) is refused with torch's error, as a mask is
    inverted by comparison, not by 1 - mask."""

    broadcasts = True

    @classmethod
    def apply(cls, a, b):
        bools = _is_bool(a) + _is_bool(b)
        if bools == 2:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `!=` operator instead.")
        if bools:
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                               f"If you are trying to invert a mask, {_INVERT_A_MASK}")
        return super().apply(a, b)

    @staticmethod
    def forward(ctx, a, b):
        return parallel.elementwise(get_array_module(a).subtract, a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return parallel.elementwise(get_array_module(a).multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        multiply = get_array_module(grad).multiply
        grad_a = parallel.elementwise(multiply, grad, b) if need_a else None
        grad_b = parallel.elementwise(multiply, grad, a) if need_b else None
        return grad_a, grad_b


class Div(Function):
    """True division: integer (and bool) operands divide in torch's default dtype, float32, not NumPy's float64."""

    broadcasts = True

    @classmethod
    def apply(cls, a, b):
        """An integer number divides as a float, as in torch: int8 / 300 is 1/300, not 1 over 300 wrapped
        into int8."""
        return super().apply(*(float(x) if isinstance(x, numbers.Integral) else x for x in (a, b)))

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype.kind in "biu":  # Function.apply gave both operands one dtype
            a, b = a.astype(DEFAULT_DTYPE), b.astype(DEFAULT_DTYPE)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b
        return (grad_a if need_a else None), (-grad_a * a / b if need_b else None)


def _check_floor_division(op, a, b):
    """torch's errors for a // b and a % b (operands of one dtype), where NumPy would compute: bools have no
    such op, and an integer divisor of 0 is an error rather than NumPy's 0 (an empty result divides nothing)."""
    if a.dtype == bool:
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")
    if a.dtype.kind in "iu" and a.size and not b.all():
        raise RuntimeError("ZeroDivisionError: integer division or modulo by zero")


class FloorDivide(Function):
    """a // b, rounded toward -inf; torch has no derivative for it, so backward is torch's error, not zeros."""

    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        _check_floor_division("floor_divide", a, b)
        return get_array_module(a).floor_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for floor_divide is not implemented")


class Remainder(Function):
    """a % b, with the sign of b (a - b * floor(a / b)); its gradients are 1 for a and -floor(a / b) for b.

    A zero remainder takes the sign of a, as torch's (fmod's) does, where NumPy's takes the sign of b.
    """

    broadcasts = True

    @staticmethod
    def forward(ctx, a, b):
        _check_floor_division("remainder", a, b)
        ctx.save_for_backward(a, b)
        xp = get_array_module(a)
        out = xp.remainder(a, b)
        if out.dtype.kind == "f":
            out = xp.copysign(out, xp.where(out == 0, a, out))
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (grad if need_a else None), (-grad * get_array_module(a).floor_divide(a, b) if need_b else None)


class PowScalar(Function):
    """a ** exponent for a Python number exponent, which promotes as an operand does (int64 ** 0.5 is float32).

    The gradient of a ** 0 is 0, as in torch, not 0 * 0 ** -1 = NaN at a = 0.
    """

    @staticmethod
    def forward(ctx, a, exponent):
        require_64_bits(exponent)
        if a.dtype.kind != "f":  # a scalar never widens a float tensor
            a = a.astype(result_type(a, exponent), copy=False)
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


class Pow(Function):
    """base ** exponent, both tensors, with torch's gradients at base 0: zero for the base where the exponent
    is 0 (not 0 * 0 ** -1 = NaN), zero for the exponent where base == 0 and exponent >= 0 (not 0 ** y * log 0)."""

    broadcasts = True

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
        base, exponent, out = ctx.saved
        need_base, need_exponent = ctx.needs_input_grad
        xp = get_array_module(base)
        grad_base = grad_exponent = None
        if need_base:  # base ** 1 where the exponent is 0: masked, and no 0 ** -1 to warn about
            grad_base = xp.where(exponent == 0, 0, grad * exponent * base ** xp.where(exponent == 0, 1, exponent - 1))
        if need_exponent:  # log(1) where masked, for the same reason
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


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        if a.dtype == bool:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               f"If you are trying to invert a mask, {_INVERT_A_MASK}")
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = get_array_module(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return get_array_module(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        return grad / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = get_array_module(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad / (2 * out)


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return get_array_module(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        return grad * get_array_module(a).sign(a)


class Clamp(Function):
    """Gradient passes where low <= a <= high, as in torch."""

    @staticmethod
    def forward(ctx, a, low=None, high=None):
        xp = get_array_module(a)
        inside = xp.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        ctx.save_for_backward(inside)
        return xp.clip(a, low, high).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad * inside


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


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.save_for_backward(a.dtype)
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        (dtype,) = ctx.saved
        return grad.astype(dtype)


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, device):
        ctx.save_for_backward(a)
        return to_device(a, device)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved
        return to_device(grad, "gpu" if get_array_module(a).__name__ == "cupy" else "cpu")
