"""Gradients of gradients (create_graph) of the element-wise ops and the activations, against torch's and a float64
gradcheck of the first gradients (see double_backward.py); third derivatives of a few, and the GPU path."""
import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import relative_error
from double_backward import check_double_backward, check_gpu_path

_RNG = np.random.default_rng(0)
UNIT = _RNG.uniform(0.2, 0.8, (2, 3))                                   # inside every domain (log, asin, logit)
ABOVE_ONE = _RNG.uniform(1.2, 2.5, (2, 3))
NORMAL = _RNG.standard_normal((2, 3)) * 2                               # both signs, away from the kinks below
NORMAL[np.abs(NORMAL) < 0.1] = 0.5
MAPS = _RNG.standard_normal((2, 3, 2, 2))


def _functional(library):
    return library.nn.functional


UNARY = {
    "exp": lambda L, a: a.exp(),
    "expm1": lambda L, a: a.expm1(),
    "exp2": lambda L, a: L.exp2(a),
    "log": lambda L, a: a.log(),
    "log1p": lambda L, a: a.log1p(),
    "log2": lambda L, a: a.log2(),
    "log10": lambda L, a: a.log10(),
    "sqrt": lambda L, a: a.sqrt(),
    "rsqrt": lambda L, a: a.rsqrt(),
    "reciprocal": lambda L, a: a.reciprocal(),
    "tanh": lambda L, a: a.tanh(),
    "sin": lambda L, a: a.sin(),
    "cos": lambda L, a: a.cos(),
    "sinh": lambda L, a: a.sinh(),
    "cosh": lambda L, a: a.cosh(),
    "tan": lambda L, a: a.tan(),
    "atan": lambda L, a: a.atan(),
    "asin": lambda L, a: a.asin(),
    "acos": lambda L, a: a.acos(),
    "asinh": lambda L, a: a.asinh(),
    "atanh": lambda L, a: a.atanh(),
    "erf": lambda L, a: a.erf(),
    "erfc": lambda L, a: a.erfc(),
    "erfinv": lambda L, a: a.erfinv(),
    "lgamma": lambda L, a: a.lgamma(),
    "digamma": lambda L, a: a.digamma(),
    "polygamma": lambda L, a: L.polygamma(2, a),
    "logit": lambda L, a: a.logit(),
    "logit eps": lambda L, a: a.logit(eps=0.3),                        # clamped where a < 0.3 or a > 0.7
    "deg2rad": lambda L, a: a.deg2rad() * a,
    "frac": lambda L, a: (a * 3).frac() * a,
    "floor": lambda L, a: (a * 3).floor() * a,                          # zero gradients, a graph all the same
    "sinc": lambda L, a: L.sinc(a * 3 - 1.2),
    "nan_to_num": lambda L, a: L.nan_to_num((a - 0.5).log()) * a,       # NaN where a < 0.5
    "pow scalar": lambda L, a: a ** 2.5,
    "pow 2": lambda L, a: a ** 2,
    "pow 0": lambda L, a: a ** 0 * a,
    "cast": lambda L, a: a.to(L.float64) ** 3,
    "clamp": lambda L, a: a.clamp(0.3, 0.7) * a,
    "clamp min": lambda L, a: a.clamp(min=0.5) ** 2,
    "hardtanh": lambda L, a: _functional(L).hardtanh(a, 0.3, 0.6) * a,
}
SIGNED = {
    "abs": lambda L, a: a.abs() * a,
    "relu": lambda L, a: _functional(L).relu(a) * a,
    "sigmoid": lambda L, a: a.sigmoid(),
    "leaky_relu": lambda L, a: _functional(L).leaky_relu(a, 0.1) * a,
    "gelu": lambda L, a: _functional(L).gelu(a),
    "gelu tanh": lambda L, a: _functional(L).gelu(a, approximate="tanh"),
    "silu": lambda L, a: _functional(L).silu(a),
    "softplus": lambda L, a: _functional(L).softplus(a, beta=2, threshold=3),  # linear where 2a > 3
    "elu": lambda L, a: _functional(L).elu(a, 0.7),
    "selu": lambda L, a: _functional(L).selu(a),
    "celu": lambda L, a: _functional(L).celu(a, 0.5),
    "logsigmoid": lambda L, a: _functional(L).logsigmoid(a),
    "hardswish": lambda L, a: _functional(L).hardswish(a * 2),         # all three pieces
    "mish": lambda L, a: _functional(L).mish(a),
    "softmax": lambda L, a: _functional(L).softmax(a, dim=1),
    "softmax dim 0": lambda L, a: _functional(L).softmax(a, dim=0) ** 2,
    "log_softmax": lambda L, a: _functional(L).log_softmax(a, dim=-1) * a,
}
BINARY = {
    "pow": lambda L, a, b: a ** b,
    "pow exponent 0": lambda L, a, b: a ** (b * L.tensor([[1.0, 0.0, 1.0]])),
    "maximum": lambda L, a, b: L.maximum(a, b) * a,
    "minimum": lambda L, a, b: L.minimum(a, b) ** 2,
    "clamp tensors": lambda L, a, b: (a * 2).clamp(b, b + 0.8) * a,
    "where": lambda L, a, b: L.where(a > 0.5, a * a, b * b),
    "lerp": lambda L, a, b: L.lerp(a, b, a * b),
    "lerp number": lambda L, a, b: L.lerp(a * a, b, 0.3),
    "logaddexp": lambda L, a, b: L.logaddexp(a, b),
    "logaddexp2": lambda L, a, b: L.logaddexp2(a, b * 2),
    "atan2": lambda L, a, b: L.atan2(a, b - 1),
    "hypot": lambda L, a, b: L.hypot(a, b),
    "xlogy": lambda L, a, b: L.xlogy(a, b),
    "copysign": lambda L, a, b: L.copysign(a, b - 1.5) * a,
    "fmax": lambda L, a, b: L.fmax(a, b) * b,
    "fmod": lambda L, a, b: L.fmod(a * 3, b),
    "remainder": lambda L, a, b: L.remainder(a * 3, b) * a,
    "div floor": lambda L, a, b: L.div(a * 3, b, rounding_mode="floor") * a + a * b,
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_double_backward_gradgradcheck(name):
    check_double_backward(UNARY[name], ABOVE_ONE if name == "cosh" else UNIT)


def test_acosh_double_backward_gradgradcheck():
    check_double_backward(lambda L, a: a.acosh(), ABOVE_ONE)


@pytest.mark.parametrize("name", SIGNED)
def test_activation_double_backward_gradgradcheck(name):
    check_double_backward(SIGNED[name], NORMAL)


@pytest.mark.parametrize("name", BINARY)
def test_binary_double_backward_gradgradcheck(name):
    check_double_backward(BINARY[name], UNIT, ABOVE_ONE - 0.5)


@pytest.mark.parametrize("exponent", [1, 2, 3])
def test_pow_scalar_double_backward_at_zero(exponent):
    """torch's values at a zero base (no gradcheck across it)."""
    check_double_backward(lambda L, a: a ** exponent, np.array([[0.0, -0.0, 0.5, -1.5]]), gradcheck=False)


def test_broadcast_operands_double_backward_gradgradcheck():
    check_double_backward(lambda L, a, b: a ** b + L.maximum(a, b) * b, UNIT, ABOVE_ONE[:1])


def test_hardsigmoid_double_backward_gradgradcheck():
    """torch has no double backward of hardsigmoid: it is checked against its clamp, away from the kinks."""
    def build(library, a):
        if library is torch:
            return (a / 6 + 0.5).clamp(0, 1) * a
        return _functional(library).hardsigmoid(a) * a
    check_double_backward(build, NORMAL * 2)


def _sigmoid_gate(library, x, logits, weights):
    if library is torch:
        return x * logits.sigmoid() * weights
    return _functional(library).sigmoid_gate(x, logits, weights)


def test_sigmoid_gate_double_backward_gradgradcheck():
    check_double_backward(_sigmoid_gate, MAPS, MAPS[::-1], MAPS[:, :, :1, :1] + 1)


@pytest.mark.parametrize("weight, differentiable", [(np.array([0.25]), None),
                                                    (np.array([0.1, 0.2, -0.3]), [True, False])])
def test_prelu_double_backward_gradgradcheck(weight, differentiable):
    check_double_backward(lambda L, a, w: _functional(L).prelu(a, w), MAPS, weight, differentiable=differentiable)


def _third_derivative(library, name, x):
    """d3/dx3 of the sum of op(x), through three nested autograd.grad calls."""
    a = library.tensor(x, requires_grad=True)
    first, = library.autograd.grad(getattr(a, name)().sum(), a, create_graph=True)
    second, = library.autograd.grad(first.sum(), a, create_graph=True)
    third, = library.autograd.grad(second.sum(), a)
    return third.detach().numpy()


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "exp", "erf"])
def test_third_derivative(name):
    x = NORMAL.astype(np.float32) / 2
    assert relative_error(_third_derivative(mg, name, x), _third_derivative(torch, name, x)) < 1e-5


def test_op_without_formula_refuses_a_second_derivative_by_name():
    a = mg.tensor(MAPS, requires_grad=True)
    grid = mg.tensor(np.random.default_rng(1).uniform(-1, 1, (2, 2, 2, 2)))
    first, = mg.autograd.grad(_functional(mg).grid_sample(a, grid, mode="bicubic", align_corners=False).sum(), a,
                              create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for the backward of GridSampler2DBackward0 is not implemented"):
        mg.autograd.grad(first.sum(), a)


GPU_CASES = {"sigmoid_gate": (_sigmoid_gate, (MAPS, MAPS[::-1], MAPS[:, :, :1, :1])),
             "relu sigmoid softmax": (lambda L, a: _functional(L).softmax(a.relu() * a.sigmoid(), dim=1), (MAPS,)),
             "gelu pow": (lambda L, a: _functional(L).gelu(a) * a.abs() ** 1.5, (MAPS,))}


@pytest.mark.parametrize("name", GPU_CASES)
def test_gpu_path_matches_cpu(name, gpu_path):
    build, arrays = GPU_CASES[name]
    check_gpu_path(build, *arrays)


CONSTANT_SEED = {
    "relu": lambda L, a: _functional(L).relu(a),
    "leaky_relu": lambda L, a: _functional(L).leaky_relu(a, 0.1),
    "hardtanh": lambda L, a: _functional(L).hardtanh(a),
    "prelu": lambda L, a: _functional(L).prelu(a, L.tensor([0.2])),
    "hardswish": lambda L, a: _functional(L).hardswish(a),
    "clamp": lambda L, a: a.clamp(-1, 1),
    "maximum": lambda L, a: L.maximum(a, L.zeros(4)),
    "where": lambda L, a: L.where(a > 0, a, a * 2),
}


@pytest.mark.parametrize("name", CONSTANT_SEED)
def test_gradient_of_a_masked_gradient_depends_on_the_input_as_torchs(name):
    """A gradient from its input through a mask alone requires grad where torch's does (relu's node takes its output,
    clamp's none), and its own gradient is then torch's zeros."""
    results = []
    for library in (mg, torch):
        a = library.tensor([-1.5, 0.5, 2.0, -0.2], requires_grad=True)
        first, = library.autograd.grad(CONSTANT_SEED[name](library, a).sum(), a, create_graph=True)
        second = library.autograd.grad(first.sum(), a)[0].detach().numpy() if first.requires_grad else None
        results.append((first.requires_grad, second))
    (ours, our_second), (theirs, their_second) = results
    assert ours == theirs
    if theirs:
        np.testing.assert_array_equal(our_second, their_second)
