"""Activations: relu, sigmoid, the sigmoid gate of the SCA block, softmax and log-softmax, and torch's other
element-wise activations (leaky_relu, elu, gelu, silu, softplus, mish, hardswish, hardsigmoid, prelu).

ReLU and sigmoid are memory-bound passes over big feature maps: on the CPU they run in place on fresh
buffers (no temporaries) and split the batch over the worker threads; on the GPU each direction is
one fused kernel.
"""
import math

from .. import kernels, parallel
from ..backend import get_array_module, special_functions
from ..function import SCALAR_TYPE_NAMES, Function, gpu_variant_of
from .elementwise import Elementwise, as_floating_point, require_floating_point
from .shape import normalize_dim


def _sigmoid_into(a, out):
    """out = sigmoid(a) = (1 + tanh(a / 2)) / 2: no exp, so large |a| never overflows."""
    xp = get_array_module(a)
    xp.multiply(a, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        xp = get_array_module(a)
        out = parallel.elementwise(xp.maximum, a, xp.zeros((), dtype=a.dtype))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return ctx.function.pass_where_positive(grad, out)

    @staticmethod
    def pass_where_positive(grad, out):
        """grad where the output was positive, else 0."""
        xp = get_array_module(grad)

        def fill(grad, saved, out):                                    # a masked copy is 8x slower
            xp.multiply(grad, saved > 0, out=out)

        return parallel.elementwise(fill, grad, out)


@gpu_variant_of(ReLU)
class ReLUKernels(ReLU):
    @staticmethod
    def pass_where_positive(grad, out):
        return kernels.fused("relu_backward", [grad, out], 1)[0]


class Sigmoid(Function):
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


class _Activation(Elementwise):
    """torch has these for floating point only."""

    integers = "refuse"


class LeakyReLU(_Activation):
    """a where a > 0, else negative_slope * a (the slope's gradient at 0, as torch)."""

    @staticmethod
    def function(xp, a, negative_slope):
        return xp.where(a > 0, a, a * negative_slope)

    @staticmethod
    def gradient(grad, a, negative_slope):
        return get_array_module(a).where(a > 0, grad, grad * negative_slope)


class ELU(_Activation):
    """a where a > 0, else alpha * (exp(a) - 1)."""

    @staticmethod
    def function(xp, a, alpha):
        return xp.where(a > 0, a, xp.expm1(a) * alpha)

    @staticmethod
    def gradient(grad, a, alpha):
        xp = get_array_module(a)
        return xp.where(a > 0, grad, grad * xp.exp(a) * alpha)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


class GELU(_Activation):
    """a * Phi(a), Phi the standard normal CDF ("none"), or torch's tanh approximation of it ("tanh")."""

    @staticmethod
    def function(xp, a, approximate):
        return a * GELU.cdf(xp, a, approximate)

    @staticmethod
    def gradient(grad, a, approximate):
        xp = get_array_module(a)
        if approximate == "tanh":                                       # Phi ~ (1 + t) / 2
            t = GELU.tanh_term(xp, a)
            slope = (1 - t * t) * (1 + 3 * _GELU_CUBIC * a * a) * (_SQRT_2_OVER_PI / 2)
            return grad * ((1 + t) / 2 + a * slope)
        density = xp.exp(a * a * -0.5) * (1 / math.sqrt(2 * math.pi))
        return grad * (GELU.cdf(xp, a, approximate) + a * density)

    @staticmethod
    def cdf(xp, a, approximate):
        if approximate == "tanh":
            return (1 + GELU.tanh_term(xp, a)) / 2
        return (1 + special_functions(xp).erf(a * (1 / math.sqrt(2)))) / 2

    @staticmethod
    def tanh_term(xp, a):
        """t of torch's approximation Phi(a) ~ (1 + t) / 2: t = tanh(sqrt(2 / pi) * (a + 0.044715 * a ** 3))."""
        return xp.tanh((a + _GELU_CUBIC * a * a * a) * _SQRT_2_OVER_PI)


class SiLU(_Activation):
    """a * sigmoid(a)"""

    @staticmethod
    def function(xp, a):
        return a * Sigmoid.sigmoid(a)

    @staticmethod
    def gradient(grad, a):                                              # grad * s * (1 + a * (1 - s))
        s = Sigmoid.sigmoid(a)
        return grad * s * (1 + a * (1 - s))


class Softplus(_Activation):
    """log(1 + exp(beta * a)) / beta, and a itself where beta * a > threshold, as torch; logaddexp, so that exp
    never overflows."""

    @staticmethod
    def function(xp, a, beta, threshold):
        scaled = a * beta
        return xp.where(scaled > threshold, a, xp.logaddexp(0, scaled) / beta)

    @staticmethod
    def gradient(grad, a, beta, threshold):
        scaled = a * beta
        return get_array_module(a).where(scaled > threshold, grad, grad * Sigmoid.sigmoid(scaled))


class Mish(_Activation):
    """a * tanh(softplus(a))"""

    @staticmethod
    def function(xp, a):
        return a * xp.tanh(xp.logaddexp(0, a))

    @staticmethod
    def gradient(grad, a):                                              # grad * (t + a * sigmoid(a) * (1 - t ** 2))
        xp = get_array_module(a)
        t = xp.tanh(xp.logaddexp(0, a))
        return grad * (t + a * Sigmoid.sigmoid(a) * (1 - t * t))


class Hardswish(_Activation):
    """a * relu6(a + 3) / 6; its gradient is 0 up to -3, a / 3 + 1/2 up to 3 (not at 3) and 1 after, as torch's."""

    @staticmethod
    def function(xp, a):
        return a * Hardsigmoid.function(xp, a)

    @staticmethod
    def gradient(grad, a):
        xp = get_array_module(a)
        return xp.where(a < 3, grad * (a / 3 + 0.5), grad) * (a > -3)


class Hardsigmoid(_Activation):
    """relu6(a + 3) / 6; its gradient is 1/6 strictly between -3 and 3, else 0, as torch's."""

    @staticmethod
    def function(xp, a):
        return xp.clip(a / 6 + 0.5, 0, 1)

    @staticmethod
    def gradient(grad, a):
        return grad * ((a > -3) & (a < 3)) * (1 / 6)


class PReLU(Function):
    """a where a > 0, else weight * a, the learnable weight broadcast against a (one per channel, or one)."""

    broadcasts = True

    @staticmethod
    def forward(ctx, a, weight):
        require_floating_point("prelu", a)
        ctx.save_for_backward(a, weight)
        return get_array_module(a).where(a > 0, a, a * weight)

    @staticmethod
    def backward(ctx, grad):
        a, weight = ctx.saved
        xp = get_array_module(a)
        negative = a <= 0
        return xp.where(negative, grad * weight, grad), grad * a * negative


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
    A subclass gives `name`, `normalize(xp, shifted)`, which turns the shifted rows into its output in place, and
    `backward_rows(grad, saved, out)`, its backward on the rows of the gradient and of its saved output."""

    @staticmethod
    def forward(ctx, a, dim):
        xp = get_array_module(a)
        normalize = ctx.function.normalize

        def fill(a, out):
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


class Softmax(_AlongDim):
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


class LogSoftmax(_AlongDim):
    """log(softmax(a)), computed as (a - max) - log(sum(exp(a - max))): no log of an underflowed 0."""

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
