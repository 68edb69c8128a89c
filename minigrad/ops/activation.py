"""Activations: relu, sigmoid, the sigmoid gate of the SCA block, softmax and log-softmax, and torch's other
element-wise activations (leaky_relu, elu, gelu, silu, softplus, logsigmoid, mish, hardswish, hardsigmoid, prelu).

ReLU and sigmoid are memory-bound passes over big feature maps: on the CPU they run in place on fresh
buffers (no temporaries) and split the batch over the worker threads; on the GPU each direction is
one fused kernel.
"""
import math

import numpy as np

from .. import kernels, memory, parallel
from ..backend import get_array_module, scipy_module
from ..function import SCALAR_TYPE_NAMES, Function, gpu_variant_of, is_grad_enabled
from .elementwise import (DependsOn, Elementwise, as_floating_point, gradient_where, require_floating_point,
                          select_into, tensor_functions)
from .shape import normalize_dim


def _sigmoid_into(a, out):
    """out = sigmoid(a) = 1 / (1 + exp(-a)), as torch: the negative tail keeps its digits (1 + tanh(a / 2) would
    round it to 0 from a ~ -17 in float32), and where exp(-a) overflows to inf the result is the exact 0."""
    xp = get_array_module(a)
    xp.negative(a, out=out)
    xp.exp(out, out=out)
    out += 1
    xp.divide(1, out, out=out)                                          # NumPy's reciprocal is not vectorised


class ReLU(Function):
    node_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, a):
        if a.dtype == bool:
            raise RuntimeError("Boolean inputs not supported for relu")
        xp = get_array_module(a)
        largest = math.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).max
        # clip rather than maximum(a, 0), which NumPy does not vectorise: twice as fast, and -0 stays -0, as torch's
        out = parallel.elementwise(lambda part, out: xp.clip(part, 0, largest, out=out), a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return ctx.function.pass_where_positive(grad, out)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (out,) = ctx.saved
        return DependsOn.apply(ReLU.pass_where_positive(grad, out), ctx.linked_output(out))

    @staticmethod
    def pass_where_positive(grad, out):
        """grad, but 0 where the output is <= 0, as torch's; the output is >= 0 or NaN, and a NaN passes."""
        return gradient_where(grad, out != 0)


@gpu_variant_of(ReLU)
class ReLUKernels(ReLU):
    @staticmethod
    def pass_where_positive(grad, out):
        return kernels.fused("relu_backward", [grad, out], 1)[0]


class Sigmoid(Function):
    half_in_float32 = True  # torch's float16 forward, of float32 rounded once, and nearer its backward than float16's
    reads_rounded_output = True

    @staticmethod
    def forward(ctx, a):
        out = ctx.function.sigmoid(as_floating_point(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return ctx.function.sigmoid_backward(grad, out)

    @staticmethod
    def differentiable_backward(ctx, grad):
        out = ctx.linked_output(ctx.saved[0])
        return grad * out * (1 - out)

    @staticmethod
    def sigmoid(a):
        return parallel.elementwise(_sigmoid_into, a)

    @staticmethod
    def sigmoid_backward(grad, out):
        """grad * out * (1 - out)"""
        xp = get_array_module(grad)

        def fill(saved, grad, out):
            xp.subtract(1, saved, out=out)
            out *= saved
            out *= grad

        return parallel.elementwise(fill, out, grad)


@gpu_variant_of(Sigmoid)
class SigmoidKernels(Sigmoid):
    @staticmethod
    def sigmoid(a):
        return kernels.fused("sigmoid", [a], 1)[0]

    @staticmethod
    def sigmoid_backward(grad, out):
        return kernels.fused("sigmoid_backward", [grad, out], 1)[0]


class GivenSigmoid(Function):
    """sigmoid(logits) whose value `out` forward is given (the gate SigmoidGate saved, where the logits are not kept):
    a node of the graph with Sigmoid's gradients, for SigmoidGate's differentiable_backward. Of `logits` only its
    place in the graph counts."""

    node_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, logits, out):
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        return Sigmoid.sigmoid_backward(grad, ctx.saved[0])

    differentiable_backward = Sigmoid.differentiable_backward


class _Activation(Elementwise):
    """torch has these for floating point only, and computes them, and their gradients, in float32 for float16 (its
    backward of each is a kernel of its own, where many a plain op's is a formula of float16 ops)."""

    integers = "refuse"
    half_in_float32 = True


def _scratch(a):
    """A buffer like a, for a pass that needs one more intermediate than its output holds."""
    return memory.empty(get_array_module(a), a.shape, a.dtype)


def _scale(array, factor):
    """array *= factor in place, and no pass where the factor is 1, the default of the activations' constants."""
    if factor != 1:
        array *= factor


def _pass_where_positive(xp, a, kept, out):
    """out = kept where a > 0, else what out holds."""
    select_into(a > 0, kept, out)


class LeakyReLU(_Activation):
    """a where a > 0, else negative_slope * a (the slope's gradient at 0, as torch)."""

    kernel = "leaky_relu_cpu"
    node_name = "LeakyReluBackward0"
    numbers = ("negative_slope",)

    @staticmethod
    def function(xp, a, out, negative_slope):
        xp.multiply(a, negative_slope, out=out)
        if 0 < negative_slope <= 1:
            xp.maximum(a, out, out=out)                                 # the larger one, NaN kept: faster than a select
        else:
            _pass_where_positive(xp, a, a, out)

    @staticmethod
    def gradient(xp, grad, a, out, negative_slope):
        if 0 < negative_slope <= 1:                                     # grad times 1 or the slope, no select:
            xp.greater(a, 0, out=out)                                   # 1.0 where a > 0, else 0.0 (at a NaN too),
            xp.clip(out, negative_slope, 1, out=out)                    # 0.0 raised to the slope
            out *= grad
        else:
            xp.multiply(grad, negative_slope, out=out)
            _pass_where_positive(xp, a, grad, out)

    @staticmethod
    def tensor_gradient(grad, a, negative_slope):
        return DependsOn.apply(grad.where(a > 0, grad * negative_slope), a)


class ELU(_Activation):
    """scale * (a where a > 0, else alpha * (exp(input_scale * a) - 1)): torch's elu, whose scale and input_scale
    make selu (both fixed constants) and celu (input_scale = 1 / alpha) the same op."""

    kernel = "elu_cpu"
    node_name = "EluBackward0"
    numbers = ("alpha", "scale", "input_scale")

    @staticmethod
    def function(xp, a, out, alpha, scale=1.0, input_scale=1.0):
        # the two branches on the clipped halves of a, added: each is 0 on the other's half (a NaN in both), where a
        # select would cost as much as expm1; torch's constant alpha * scale folded
        xp.clip(a, -math.inf, 0, out=out)
        _scale(out, input_scale)
        xp.expm1(out, out=out)
        _scale(out, alpha * scale)
        positive = _scratch(a)
        xp.clip(a, 0, math.inf, out=positive)
        _scale(positive, scale)
        out += positive

    @staticmethod
    def gradient(xp, grad, a, out, alpha, scale=1.0, input_scale=1.0):
        # grad * (alpha * scale * input_scale * exp(input_scale * a) where a <= 0, else scale), a NaN the latter as
        # torch's: exp of fmin(a, 0), 1 where a > 0 or NaN, so that elu's defaults, whose two constants agree, need
        # no select
        negative_coefficient = alpha * scale * input_scale
        xp.fmin(a, 0, out=out)
        _scale(out, input_scale)
        xp.exp(out, out=out)
        _scale(out, negative_coefficient)
        if negative_coefficient != scale:
            select_into(~(a <= 0), scale, out)
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a, alpha, scale=1.0, input_scale=1.0):   # exp of min(a, 0): no inf where a > 0
        negative = grad * (a * input_scale).clamp(max=0).exp() * (alpha * input_scale)
        return negative.where(a <= 0, grad) * scale


# torch's float32 erf on the CPU (Abramowitz & Stegun 7.1.26): erf(x) = sign(x) * (1 - t * r(t) * exp(-x ** 2)),
# t = 1 / (1 + p * |x|), r a polynomial; off by under 1.5e-7, float32's own rounding near 1.
_ERF_P = 0.3275911
_ERF_R = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)     # r's coefficients, highest first
# So Phi(-|a|) = t * r(t) / 2 * exp(-a ** 2 / 2), t = 1 / (1 + p * |a| / sqrt(2)). In u = t / scale, with
# scale = (r's first coefficient / 2) ** -1/5, t * r(t) / 2 is a monic polynomial (u ** 5 + ...), and
# u = numerator / (offset + |a|) is one division
_CDF_SCALE = (_ERF_R[0] / 2) ** -0.2
_CDF_OFFSET = math.sqrt(2) / _ERF_P
_CDF_NUMERATOR = _CDF_OFFSET / _CDF_SCALE
_CDF_MONIC = tuple(coefficient / 2 * _CDF_SCALE ** power for power, coefficient in zip(range(4, 0, -1), _ERF_R[1:]))


def _gaussian(xp, a, out):
    """out = exp(-a ** 2 / 2), the normal density times sqrt(2 * pi); returns out."""
    xp.multiply(a, a, out=out)
    out *= -0.5
    xp.exp(out, out=out)
    return out


def _normal_cdf_float32(xp, a, out, gaussian):
    """out = Phi(a) = (1 + erf(a / sqrt(2))) / 2 with torch's erf, given exp(-a ** 2 / 2), in plain NumPy passes:
    scipy's erf alone takes longer than torch's whole gelu, forward and backward. q = Phi(-|a|) is the monic
    polynomial in u times exp(-a ** 2 / 2) (see _CDF_MONIC: no pass scales t or starts Horner's rule), and
    Phi(a) = |[a >= 0] - q|: q where a < 0, 1 - q elsewhere (NumPy's copysign and where are not vectorised, and take
    longer than these three passes)."""
    u = _scratch(a)
    xp.abs(a, out=u)
    u += _CDF_OFFSET
    xp.divide(_CDF_NUMERATOR, u, out=u)                                 # NumPy's reciprocal is not vectorised
    xp.add(u, _CDF_MONIC[0], out=out)
    for coefficient in _CDF_MONIC[1:]:                                  # Horner's rule, times u at the end
        out *= u
        out += coefficient
    out *= u
    out *= gaussian
    xp.greater_equal(a, 0, out=u)
    xp.subtract(u, out, out=out)
    xp.abs(out, out=out)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


class _SavesDerivative(_Activation):
    """An activation whose derivative shares most of its passes with f itself (gelu's Phi, silu's sigmoid). forward
    writes f'(a) beside f(a), block by block while both are in cache, and saves it, so that backward is one multiply.
    torch saves a and recomputes that chain in backward, which in NumPy passes costs more than the forward itself.
    a is saved too, as torch's (create_graph's tensor_gradient differentiates f' through it). Without autograd
    recording, forward writes f(a) alone. A subclass gives `function` and
    `function_and_derivative(xp, a, out, derivative, **params)`."""

    @staticmethod
    def forward(ctx, a, **params):
        op = ctx.function
        if not (is_grad_enabled() and ctx.needs_input_grad[0]):
            return _Activation.forward(ctx, a, **params)
        require_floating_point(op.__name__.lower(), a)
        xp = get_array_module(a)
        derivative = _scratch(a)
        out = parallel.blockwise(lambda a, derivative, out: op.function_and_derivative(xp, a, out, derivative, **params),
                                 a, derivative)
        ctx.save_for_backward(derivative, a)
        return out

    @staticmethod
    def backward(ctx, grad):
        derivative, _ = ctx.saved
        return parallel.elementwise(get_array_module(grad).multiply, grad, derivative)

    @staticmethod
    def linked_values(ctx):
        return (ctx.linked(0, ctx.saved[1]),)


class GELU(_SavesDerivative):
    """a * Phi(a), Phi the standard normal CDF ("none"), or torch's tanh approximation of it ("tanh")."""

    kernel = "GeluKernelImpl"
    node_name = "GeluBackward0"

    @staticmethod
    def function(xp, a, out, approximate):
        GELU.cdf(xp, a, out, approximate)
        out *= a

    @staticmethod
    def function_and_derivative(xp, a, out, derivative, approximate):
        # f' = Phi(a) + a * Phi'(a); the tanh approximation's Phi = (1 + t) / 2 has
        # Phi' = (1 - t ** 2) * (1 + 3 * 0.044715 * a ** 2) * sqrt(2 / pi) / 2, and 1 - t ** 2 = 4 * Phi * (1 - Phi)
        if approximate == "tanh":
            GELU.cdf(xp, a, out, approximate)
            xp.multiply(a, a, out=derivative)                           # 4 * Phi' / (1 - t ** 2), then Phi'
            derivative *= 6 * _GELU_CUBIC * _SQRT_2_OVER_PI
            derivative += 2 * _SQRT_2_OVER_PI
            derivative *= out
            scratch = _scratch(a)
            xp.subtract(1, out, out=scratch)
            derivative *= scratch
        else:                                                           # Phi' is the normal density
            GELU.cdf(xp, a, out, approximate, _gaussian(xp, a, derivative))
            derivative *= 1 / math.sqrt(2 * math.pi)
        derivative *= a
        derivative += out
        out *= a

    @staticmethod
    def tensor_gradient(grad, a, approximate):
        if approximate == "tanh":
            t = ((a + a * a * a * _GELU_CUBIC) * _SQRT_2_OVER_PI).tanh()
            cdf, density = (1 + t) * 0.5, (1 - t * t) * (1 + a * a * (3 * _GELU_CUBIC)) * (_SQRT_2_OVER_PI / 2)
        else:
            cdf = ((a * (1 / math.sqrt(2))).erf() + 1) * 0.5
            density = (a * a * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + a * density)

    @staticmethod
    def cdf(xp, a, out, approximate, gaussian=None):
        """out = Phi(a) = (1 + erf(a / sqrt(2))) / 2, or its tanh approximation (1 + t) / 2; `gaussian`,
        exp(-a ** 2 / 2), when the caller has it."""
        if approximate == "tanh":
            GELU.tanh_term(xp, a, out)
        elif a.dtype == xp.float32:
            _normal_cdf_float32(xp, a, out, _gaussian(xp, a, _scratch(a)) if gaussian is None else gaussian)
            return
        else:
            xp.multiply(a, 1 / math.sqrt(2), out=out)
            scipy_module(xp, "special").erf(out, out=out)
        out += 1
        out *= 0.5

    @staticmethod
    def tanh_term(xp, a, out):
        """out = t of torch's approximation Phi(a) ~ (1 + t) / 2: t = tanh(sqrt(2 / pi) * (a + 0.044715 * a ** 3)),
        the polynomial as sqrt(2 / pi) * (0.044715 * a ** 2 + 1) * a, its constants folded."""
        xp.multiply(a, a, out=out)
        out *= _GELU_CUBIC * _SQRT_2_OVER_PI
        out += _SQRT_2_OVER_PI
        out *= a
        xp.tanh(out, out=out)


class SiLU(_SavesDerivative):
    """a * sigmoid(a)"""

    kernel = "silu_cpu"
    node_name = "SiluBackward0"

    @staticmethod
    def function(xp, a, out):
        _sigmoid_into(a, out)
        out *= a

    @staticmethod
    def function_and_derivative(xp, a, out, derivative):              # f' = s + a * s * (1 - s), s = sigmoid(a)
        s = _scratch(a)
        _sigmoid_into(a, s)
        xp.multiply(a, s, out=out)
        xp.subtract(1, s, out=derivative)
        derivative *= out
        derivative += s

    @staticmethod
    def tensor_gradient(grad, a):
        s = a.sigmoid()
        return grad * s * (1 + a * (1 - s))


def _exp_minus_abs(xp, a, out):
    """out = exp(-|a|), at most 1."""
    xp.abs(a, out=out)
    xp.negative(out, out=out)
    xp.exp(out, out=out)


def _softplus_into(xp, a, out):
    """out = log(1 + exp(a)) = max(a, 0) + log1p(exp(-|a|)), so that exp never overflows: logaddexp(0, a)'s steps in
    vectorised passes, where NumPy's logaddexp is a scalar loop 40 times slower than its exp. a may be out."""
    larger = xp.clip(a, 0, math.inf)                                    # NumPy's maximum(a, 0) is not vectorised
    _exp_minus_abs(xp, a, out)
    xp.log1p(out, out=out)
    out += larger


class Softplus(_Activation):
    """log(1 + exp(beta * a)) / beta, and a itself where beta * a > threshold, as torch; exp never overflows."""

    kernel = "softplus_cpu"
    autocast_category = {"cuda": "float32"}
    numbers = ("beta", "threshold")

    @staticmethod
    def function(xp, a, out, beta, threshold):
        scaled = a if beta == 1 else xp.multiply(a, beta, out=out)
        linear = None if beta == 1 and Softplus.saturates(a.dtype, threshold) else scaled > threshold
        _softplus_into(xp, scaled, out)
        if beta != 1:
            out /= beta
        if linear is not None:
            select_into(linear, a, out)

    @staticmethod
    def gradient(xp, grad, a, out, beta, threshold):                   # grad / (1 + exp(-beta * a)), or grad
        xp.multiply(a, -beta, out=out)
        linear = None if Softplus.saturates(a.dtype, threshold) else out < -threshold
        xp.exp(out, out=out)
        out += 1
        xp.divide(grad, out, out=out)
        if linear is not None:
            select_into(linear, grad, out)

    @staticmethod
    def saturates(dtype, threshold):
        """Whether torch's linear branch beyond the threshold is what the formulas give there already, so that no
        select is needed: exp(-x) < eps / 4 for every x > threshold, where log1p(exp(x)) = x + log1p(exp(-x))
        rounds to x and 1 / (1 + exp(-x)) to 1 (float32's default threshold of 20 is past 17.3; float64's 37.4
        is not)."""
        return threshold > -math.log(np.finfo(dtype).eps / 4)

    @staticmethod
    def tensor_gradient(grad, a, beta, threshold):
        scaled = a * beta
        return grad.where(scaled > threshold, grad * scaled.sigmoid())


class LogSigmoid(_Activation):
    """log(sigmoid(a)) = min(a, 0) - log1p(exp(-|a|)), as torch's: exp never overflows, and both tails keep their
    digits (its gradient sigmoid(-a) too, which 1 - sigmoid(a) would round to 0 from a ~ 17 in float32)."""

    node_name = "LogSigmoidBackward0"

    @staticmethod
    def function(xp, a, out):
        _exp_minus_abs(xp, a, out)
        xp.log1p(out, out=out)
        smaller = _scratch(a)
        xp.clip(a, -math.inf, 0, out=smaller)                           # NumPy's minimum(a, 0) is not vectorised
        xp.subtract(smaller, out, out=out)

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad * (z or 1) / (1 + z), z = exp(-|a|)
        _exp_minus_abs(xp, a, out)
        denominator = _scratch(a)
        xp.add(out, 1, out=denominator)
        select_into(a < 0, 1, out)
        out /= denominator
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        return grad * (-a).sigmoid()


class Mish(_Activation):
    """a * tanh(softplus(a))"""

    kernel = "mish_cpu"

    @staticmethod
    def function(xp, a, out):
        Mish.tanh_softplus(xp, a, out)
        out *= a

    @staticmethod
    def gradient(xp, grad, a, out):                                    # grad * (t + a * sigmoid(a) * (1 - t ** 2))
        t, s = _scratch(a), _scratch(a)
        Mish.tanh_softplus(xp, a, t)
        _sigmoid_into(a, s)
        xp.multiply(t, t, out=out)
        xp.subtract(1, out, out=out)
        out *= s
        out *= a
        out += t
        out *= grad

    @staticmethod
    def tensor_gradient(grad, a):
        t = Softplus.apply(a, beta=1.0, threshold=20.0).tanh()
        return grad * (t + a * a.sigmoid() * (1 - t * t))

    @staticmethod
    def tanh_softplus(xp, a, out):
        """out = tanh(log(1 + exp(a)))"""
        _softplus_into(xp, a, out)
        xp.tanh(out, out=out)


class Hardswish(_Activation):
    """a * relu6(a + 3) / 6; its gradient is 0 up to -3, a / 3 + 1/2 up to 3 (not at 3) and 1 after, as torch's."""

    kernel = "hardswish_cpu"

    @staticmethod
    def function(xp, a, out):
        Hardsigmoid.function(xp, a, out)
        out *= a

    @staticmethod
    def gradient(xp, grad, a, out):
        xp.divide(a, 3, out=out)
        out += 0.5
        out *= grad
        xp.copyto(out, grad, where=~(a < 3))                            # at a NaN too, as torch's
        xp.copyto(out, 0, where=a <= -3)

    @staticmethod
    def tensor_gradient(grad, a):
        return (grad * (a / 3 + 0.5)).where(a < 3, grad).where(~(a <= -3), 0)


class Hardsigmoid(_Activation):
    """relu6(a + 3) / 6; its gradient is 1/6 strictly between -3 and 3, else 0, as torch's."""

    kernel = "hardsigmoid_cpu"

    @staticmethod
    def function(xp, a, out):
        xp.divide(a, 6, out=out)
        out += 0.5
        xp.clip(out, 0, 1, out=out)

    @staticmethod
    def gradient(xp, grad, a, out):
        xp.multiply(grad, 1 / 6, out=out)
        xp.copyto(out, 0, where=~((a > -3) & (a < 3)))                 # where grad is NaN or inf too, as torch's

    @staticmethod
    def tensor_gradient(grad, a):
        return DependsOn.apply((grad * (1 / 6)).where((a > -3) & (a < 3), 0), a)


class PReLU(Function):
    """a where a > 0, else weight * a, the learnable weight broadcast against a (one per channel, or one)."""

    autocast_category = "lower"
    broadcasts = True
    node_name = "PreluKernelBackward0"

    @staticmethod
    def forward(ctx, a, weight):
        require_floating_point("prelu_cpu", a)
        ctx.save_for_backward(a, weight)
        return get_array_module(a).where(a > 0, a, a * weight)

    @staticmethod
    def backward(ctx, grad):
        return PReLU.gradients(get_array_module(grad), grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        a, weight = ctx.linked_saved()
        grad_a, grad_weight = PReLU.gradients(tensor_functions(), grad, a, weight)
        return DependsOn.apply(grad_a, a), grad_weight

    @staticmethod
    def gradients(xp, grad, a, weight):
        """Both gradients, of arrays (xp NumPy's or CuPy's) or of linked tensors (xp minigrad's functions)."""
        negative = ~(a > 0)                                             # a NaN a too, as torch's
        return xp.where(negative, grad * weight, grad), grad * a * negative


def _gates(array, size):
    """The gates side by side in an (N, gates * size) array, as (N, size) views: a reshape's, far cheaper than
    xp.split's at a recurrent step's sizes."""
    return array.reshape(array.shape[0], array.shape[1] // size, size).swapaxes(0, 1)


class LSTMUpdate(Function):
    """An LSTM step after its two matmuls: gates (N, 4H), pre-activation in torch's order i, f, g, o, and the cell
    state c (N, H) -> [h', c'] (N, 2H), with c' = sigmoid(f) c + sigmoid(i) tanh(g) and h' = sigmoid(o) tanh(c').
    One op, where a composition is a dozen nodes a time step whose bookkeeping outweighs their arithmetic at the
    sizes of a recurrent layer; the two results come out side by side, to be sliced (see nn.recurrent)."""

    @staticmethod
    def forward(ctx, gates, c):
        xp, size = get_array_module(gates), c.shape[1]
        activated = memory.empty(xp, gates.shape, gates.dtype)
        _sigmoid_into(gates, activated)
        xp.tanh(gates[:, 2 * size:3 * size], out=activated[:, 2 * size:3 * size])
        i, f, g, o = _gates(activated, size)
        out = memory.empty(xp, c.shape[:1] + (2 * size,), gates.dtype)
        c_new, tanh_c = out[:, size:], memory.empty(xp, c.shape, gates.dtype)
        xp.multiply(f, c, out=c_new)
        c_new += i * g
        xp.tanh(c_new, out=tanh_c)
        xp.multiply(o, tanh_c, out=out[:, :size])
        ctx.save_for_backward(activated, c, tanh_c)
        return out

    @staticmethod
    def backward(ctx, grad):
        activated, c, tanh_c = ctx.saved
        xp, size = get_array_module(grad), c.shape[1]
        i, f, g, o = _gates(activated, size)
        grad_h, grad_c = grad[:, :size], grad[:, size:]
        grad_c = grad_c + grad_h * o * (1 - tanh_c * tanh_c)           # c' reaches h' through tanh
        grad_gates = memory.empty(xp, activated.shape, grad.dtype)
        parts = (grad_c * g, grad_c * c, grad_c * i, grad_h * tanh_c)  # d/d i, f, g, o after their activations
        for part, slope, out in zip(parts, (i * (1 - i), f * (1 - f), 1 - g * g, o * (1 - o)),
                                    _gates(grad_gates, size)):
            xp.multiply(part, slope, out=out)
        return grad_gates, grad_c * f

    @staticmethod
    def differentiable_backward(ctx, grad):
        activated, c, _ = ctx.saved
        size = c.shape[1]
        tanh_columns = memory.zeros(get_array_module(c), (1, activated.shape[1]), c.dtype)
        tanh_columns[:, 2 * size:3 * size] = 1
        # the activated gates, by the gates' values forward did not keep: only their graph counts
        i, f, g, o = _split(Reactivated.apply(ctx.linked(0, activated), values=activated, tanh_columns=tanh_columns),
                            size)
        c = ctx.linked(1, c)
        tanh_c = (f * c + i * g).tanh()
        grad_h, grad_c = grad[:, :size], grad[:, size:]
        grad_c = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
        grad_gates = [grad_c * g * i * (1 - i), grad_c * c * f * (1 - f), grad_c * i * (1 - g * g),
                      grad_h * tanh_c * o * (1 - o)]
        return tensor_functions().cat(grad_gates, dim=1), grad_c * f


class GRUUpdate(Function):
    """A GRU step after its two matmuls, as LSTMUpdate is an LSTM's: the input's projection x (N, 3H) and the
    state's h_projected (N, 3H), both in torch's order r, z, n, and the state h (N, H) -> h' = n + z (h - n), with
    r, z = sigmoid(x + h_projected) and n = tanh(x_n + r h_projected_n)."""

    @staticmethod
    def forward(ctx, x, h_projected, h):
        xp, size = get_array_module(x), h.shape[1]
        gates = memory.empty(xp, x.shape, x.dtype)                     # r, z, n after their activations
        xp.add(x[:, :2 * size], h_projected[:, :2 * size], out=gates[:, :2 * size])
        _sigmoid_into(gates[:, :2 * size], gates[:, :2 * size])
        r, z, n = _gates(gates, size)
        xp.multiply(r, h_projected[:, 2 * size:], out=n)
        n += x[:, 2 * size:]
        xp.tanh(n, out=n)
        ctx.save_for_backward(gates, h_projected[:, 2 * size:], h)
        return n + z * (h - n)

    @staticmethod
    def backward(ctx, grad):
        gates, h_projected_n, h = ctx.saved
        xp, size = get_array_module(grad), h.shape[1]
        r, z, n = _gates(gates, size)
        grad_x = memory.empty(xp, gates.shape, grad.dtype)
        grad_n = grad * (1 - z) * (1 - n * n)                           # before its tanh
        xp.multiply(grad_n * h_projected_n, r * (1 - r), out=grad_x[:, :size])
        xp.multiply(grad * (h - n), z * (1 - z), out=grad_x[:, size:2 * size])
        grad_x[:, 2 * size:] = grad_n
        grad_h_projected = grad_x.copy()
        grad_h_projected[:, 2 * size:] *= r
        return grad_x, grad_h_projected, grad * z

    @staticmethod
    def differentiable_backward(ctx, grad):
        gates, h_projected_n, h = ctx.saved
        size, xp = h.shape[1], get_array_module(h)
        # r and z, and n, as functions of their pre-activations x + h_projected and x_n + r h_projected_n, by the
        # graph of these alone (x and the rest of h_projected, which forward did not keep, are zeros)
        x = ctx.linked(0, xp.zeros_like(gates))
        h_projected = memory.zeros(xp, gates.shape, gates.dtype)
        h_projected[:, 2 * size:] = h_projected_n
        h_projected = ctx.linked(1, h_projected)
        r, z = _split(Reactivated.apply(x[:, :2 * size] + h_projected[:, :2 * size], values=gates[:, :2 * size],
                                        tanh_columns=0), size)
        h_projected_n = h_projected[:, 2 * size:]
        n = Reactivated.apply(x[:, 2 * size:] + r * h_projected_n, values=gates[:, 2 * size:], tanh_columns=1)
        h = ctx.linked(2, h)
        grad_n = grad * (1 - z) * (1 - n * n)
        cat = tensor_functions().cat
        grad_rz = cat([grad_n * h_projected_n * r * (1 - r), grad * (h - n) * z * (1 - z)], dim=1)
        return cat([grad_rz, grad_n], dim=1), cat([grad_rz, grad_n * r], dim=1), grad * z


def _split(gates, size):
    """A tensor's gates side by side, (N, gates * size), as (N, size) tensors."""
    return [gates[:, start:start + size] for start in range(0, gates.shape[1], size)]


class Reactivated(Function):
    """Sigmoids (tanhs where tanh_columns, 0 or 1 or an array of them by column, is 1) recorded again, for
    create_graph, from their saved `values` as a function of pre-activations of which the fused cell updates kept
    none: `pre` gives their graph alone, its values unused. The gradient is grad times the slope, a function of the
    values, (1 - v) v for a sigmoid and (1 - v)(1 + v) for a tanh, as torch's sigmoid and tanh differentiate through
    their outputs."""

    @staticmethod
    def forward(ctx, pre, values, tanh_columns):
        ctx.save_for_backward(values)
        return values.copy()

    @staticmethod
    def backward(ctx, grad):
        (values,) = ctx.saved
        return grad * (1 - values) * (values + ctx.params["tanh_columns"])

    @staticmethod
    def differentiable_backward(ctx, grad):
        values = ctx.linked_output(ctx.saved[0])
        return grad * (1 - values) * (values + ctx.params["tanh_columns"])


class SigmoidGate(Function):
    """x * sigmoid(logits) * weights, with one weight per (image, channel): the SCA block's re-weighting.

    One op rather than three, so that a GPU makes one pass over the feature maps each way instead of
    seven; the CPU splits its passes over the worker threads.
    """

    @staticmethod
    def forward(ctx, x, logits, weights):
        if x.ndim != 4 or logits.shape != x.shape or weights.shape != x.shape[:2] + (1, 1):
            raise ValueError(f"sigmoid_gate expects x and logits of one shape (N, C, H, W) and weights (N, C, 1, 1), "
                             f"got {x.shape}, {logits.shape} and {weights.shape}")
        out, gate = ctx.function.gate(x, logits, weights)
        ctx.save_for_backward(x, gate, weights)
        return out

    @staticmethod
    def backward(ctx, grad):
        return ctx.function.gate_backward(grad, *ctx.saved)

    @staticmethod
    def differentiable_backward(ctx, grad):
        x, gate, weights = ctx.saved
        x, gate, weights = ctx.linked(0, x), GivenSigmoid.apply(ctx.linked(1, gate), out=gate), ctx.linked(2, weights)
        need_x, need_logits, need_weights = ctx.needs_input_grad
        gated = grad * gate
        grad_x = gated * weights
        return (grad_x if need_x else None, grad_x * x * (1 - gate) if need_logits else None,
                (gated * x).sum(dim=(2, 3), keepdim=True) if need_weights else None)

    @staticmethod
    def gate(x, logits, weights):
        """(x * gate * weights, gate = sigmoid(logits))"""
        xp = get_array_module(x)
        gate = Sigmoid.sigmoid(logits)

        def fill(x, gate, weights, out):
            xp.multiply(x, gate, out=out)
            out *= weights

        return parallel.elementwise(fill, x, gate, weights), gate

    @staticmethod
    def gate_backward(grad, x, gate, weights):
        xp = get_array_module(grad)
        gated = parallel.elementwise(xp.multiply, grad, gate)
        grad_x = parallel.elementwise(xp.multiply, gated, weights)

        def logits_fill(grad_x, x, gate, out):                          # grad_x * x * (1 - gate)
            xp.subtract(1, gate, out=out)
            out *= x
            out *= grad_x

        grad_logits = parallel.elementwise(logits_fill, grad_x, x, gate)
        grad_weights = parallel.elementwise(xp.multiply, gated, x, out=gated).sum(axis=(2, 3), keepdims=True)
        return grad_x, grad_logits, grad_weights


@gpu_variant_of(SigmoidGate)
class SigmoidGateKernels(SigmoidGate):
    @staticmethod
    def gate(x, logits, weights):
        return kernels.fused("sigmoid_gate", [x, logits, weights], 2, x.shape[2] * x.shape[3])

    @staticmethod
    def gate_backward(grad, x, gate, weights):
        grad_x, grad_logits, weighted = kernels.fused("sigmoid_gate_backward", [grad, x, gate, weights], 3,
                                                      x.shape[2] * x.shape[3])
        return grad_x, grad_logits, weighted.sum(axis=(2, 3), keepdims=True)


def _softmax_rows(a, dim, name):
    """a as (outer, n, inner) with `dim` (one int, as in torch) in the middle; a 0-d tensor is one row of 1."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    if a.dtype.kind != "f":
        raise NotImplementedError(f"{name}() takes floating point tensors, not {SCALAR_TYPE_NAMES.get(a.dtype, a.dtype)}")
    axis = normalize_dim(dim, a.ndim)
    shape = a.shape or (1,)
    return a.reshape(math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:]))


class _AlongDim(Function):
    """What Softmax and LogSoftmax share: both run on the (outer, n, inner) view of _softmax_rows, the outer rows
    split over the worker threads, and both start from a - max(a) along `dim`, so that exp never overflows.
    A subclass gives `name`, `normalize(xp, shifted)`, which turns the shifted rows into its output in place,
    `backward_rows(grad, saved, out)`, its backward on the rows of the gradient and of its saved output, and
    `tensor_gradient(grad, out, dim)`, that backward in recorded tensor ops (out linked to the output), for
    create_graph."""

    half_in_float32 = True

    @staticmethod
    def forward(ctx, a, dim):
        xp = get_array_module(a)
        normalize = ctx.function.normalize

        def fill(a, out):
            if a.size:  # NumPy's max of no elements is an error, where torch's softmax of none is empty
                xp.subtract(a, a.max(axis=1, keepdims=True), out=out)
                normalize(xp, out)

        out = parallel.elementwise(fill, _softmax_rows(a, dim, ctx.function.name), whole_axes=(1,))
        ctx.save_for_backward(out)
        return out.reshape(a.shape)

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return parallel.elementwise(ctx.function.backward_rows, grad.reshape(out.shape), out,
                                    whole_axes=(1,)).reshape(grad.shape)

    @staticmethod
    def differentiable_backward(ctx, grad):
        (out,) = ctx.saved
        return ctx.function.tensor_gradient(grad, ctx.linked_output(out.reshape(grad.shape)), ctx.params["dim"])


class Softmax(_AlongDim):
    autocast_category = {"cuda": "float32"}
    name = "softmax"

    @staticmethod
    def normalize(xp, shifted):                                         # exp(shifted) / sum(exp(shifted))
        xp.exp(shifted, out=shifted)
        scale = shifted.sum(axis=1, keepdims=True)
        shifted *= xp.reciprocal(scale, out=scale)                      # a multiply is cheaper than a divide

    @staticmethod
    def backward_rows(grad, saved, out):                                # saved * (grad - sum(grad * saved))
        xp = get_array_module(grad)
        total = xp.einsum("ijk,ijk->ik", grad, saved)                   # no product array written
        xp.subtract(grad, total[:, None], out=out)
        out *= saved

    @staticmethod
    def tensor_gradient(grad, out, dim):
        return out * (grad - (grad * out).sum(dim=dim, keepdim=True))


@gpu_variant_of(Softmax)
class SoftmaxKernels(Softmax):
    """One launch per backward, where CuPy's einsum would call cuBLAS (which a CUDA graph's capture refuses)."""

    backward_rows = staticmethod(kernels.softmax_backward)


class LogSoftmax(_AlongDim):
    """log(softmax(a)), computed as (a - max) - log(sum(exp(a - max))): no log of an underflowed 0."""

    autocast_category = {"cuda": "float32"}
    name = "log_softmax"

    @staticmethod
    def normalize(xp, shifted):
        shifted -= xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))

    @staticmethod
    def backward_rows(grad, saved, out):                                # grad - exp(saved) * sum(grad)
        xp = get_array_module(grad)
        xp.exp(saved, out=out)
        out *= -grad.sum(axis=1, keepdims=True)
        out += grad

    @staticmethod
    def tensor_gradient(grad, out, dim):
        return grad - out.exp() * grad.sum(dim=dim, keepdim=True)
