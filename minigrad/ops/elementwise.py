"""Elementwise ops. Broadcasting is free: the engine sums each gradient back to its input's shape.

The binary arithmetic on feature maps splits its big passes over the worker threads (parallel.elementwise).
"""
import numbers

import numpy as np

from .. import parallel
from ..backend import DEFAULT_DTYPE, get_array_module, to_device
from ..function import Function, require_fits, result_type

_INVERT_A_MASK = "use `mask == 0` instead."  # torch points to `~`, which minigrad does not have


def _is_bool(operand):
    """A Python or NumPy bool, or a bool tensor or array."""
    return isinstance(operand, bool) or getattr(operand, "dtype", None) == bool


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return parallel.elementwise(get_array_module(a).add, a, b)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """a - b, where a bool operand (tensor or Python bool) is refused with torch's error, as a mask is
    inverted by comparison, not by 1 - mask."""

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


class PowScalar(Function):
    """a ** exponent for a Python number exponent, which promotes as an operand does (int64 ** 0.5 is float32).

    The gradient of a ** 0 is 0, as in torch, not 0 * 0 ** -1 = NaN at a = 0.
    """

    @staticmethod
    def forward(ctx, a, exponent):
        if a.dtype.kind != "f":  # a scalar never widens a float tensor
            a = a.astype(result_type(a, exponent), copy=False)
            require_fits(np.asarray(exponent), a.dtype)
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

    @staticmethod
    def forward(ctx, base, exponent):
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
