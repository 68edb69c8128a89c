"""Gradients of gradients (create_graph) through gradient checkpointing, modules' full backward hooks, grid sampling,
the fused recurrent cells and the remaining element-wise, scan and scatter ops, against torch's and by a float64
gradcheck of the first gradients (see double_backward.py)."""
import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import relative_error
from double_backward import check_double_backward, check_gpu_path
from unet import RestorationLoss, UNet

_RNG = np.random.default_rng(0)
X = _RNG.standard_normal((2, 3))
W = _RNG.standard_normal((3, 3))


# backward(create_graph=True)'s reference-cycle warning, minigrad's and torch's
REFERENCE_CYCLE_WARNING_IGNORED = pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")


def _checkpoint(library):
    return library.utils.checkpoint.checkpoint


def _block(library, x, w):
    return (x @ w).tanh() * x, (x * w[0]).sigmoid()


CHECKPOINTED = {
    "one output": lambda L, x, w: _checkpoint(L)(lambda a: _block(L, a, w)[0], x, use_reentrant=False),
    "two outputs": lambda L, x, w: L.stack(_checkpoint(L)(lambda a: _block(L, a, w), x, use_reentrant=False)),
    "one unused": lambda L, x, w: _checkpoint(L)(lambda a: _block(L, a, w), x, use_reentrant=False)[1],
    "parameters alone": lambda L, x, w: _checkpoint(L)(lambda a: (a @ w).tanh() * w[0], L.ones_like(x) * 0.7,
                                                       use_reentrant=False) * x,
}


@pytest.mark.parametrize("name", CHECKPOINTED)
def test_checkpoint_as_torchs_non_reentrant_gradgradcheck(name):
    check_double_backward(CHECKPOINTED[name], X, W)


def _third_derivative(library, build, x, w):
    x, w = library.tensor(x, requires_grad=True), library.tensor(w, requires_grad=True)
    first, = library.autograd.grad(build(library, x, w).sum(), x, create_graph=True)
    second, = library.autograd.grad((first ** 2).sum(), w, create_graph=True)
    return library.autograd.grad(second.sum(), x)[0].numpy()


THIRD_DERIVATIVES = {
    "checkpoint": CHECKPOINTED["one output"],
    "lstm": lambda L, x, w: _cell(L, "LSTMCell", x @ w, x[:, :2], x[:, 1:]),
    "gru": lambda L, x, w: _cell(L, "GRUCell", x @ w, x[:, 1:]),
}


@pytest.mark.parametrize("name", THIRD_DERIVATIVES)
def test_third_derivative(name):
    x, w = X.astype(np.float32), W.astype(np.float32)
    ours = _third_derivative(mg, THIRD_DERIVATIVES[name], x, w)
    assert relative_error(ours, _third_derivative(torch, THIRD_DERIVATIVES[name], x, w)) < 1e-5


def _penalty_gradients(model, image, target):
    image = mg.tensor(image, requires_grad=True)
    (image_grad,) = mg.autograd.grad(RestorationLoss()(model(image), mg.tensor(target))[0], image, create_graph=True)
    (image_grad * image_grad).sum().backward()
    return {name: p.grad.numpy().copy() for name, p in model.named_parameters()}


def test_unet_gradient_penalty_through_recomputed_blocks():
    mg.manual_seed(0)
    model = UNet()
    image, target = (_RNG.random((1, 3, 16, 16)).astype(np.float32) for _ in range(2))
    plain = _penalty_gradients(model, image, target)
    model.zero_grad()
    model.recompute_blocks = True
    recomputed = _penalty_gradients(model, image, target)
    scale = max(np.abs(g).max() for g in plain.values())
    for name, grad in plain.items():  # the softmax form's phi bias has a true gradient of 0: rounding noise alone
        assert np.abs(recomputed[name] - grad).max() <= 1e-5 * np.abs(grad).max() + 1e-7 * scale, name


@REFERENCE_CYCLE_WARNING_IGNORED
def test_reentrant_checkpoint_refuses_a_second_derivative():
    x, w = mg.tensor(X, requires_grad=True), mg.tensor(W, requires_grad=True)
    y = mg.utils.checkpoint.checkpoint(lambda a: _block(mg, a, w)[0], x, use_reentrant=True)
    y.sum().backward(create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for the backward of CheckpointFunctionBackward"):
        (x.grad ** 2).sum().backward()


def _hooked_model(library, x, w):
    """A tanh module whose full backward hook squares its input's gradient (the gradient of its output, which it also
    gets, added): under create_graph the hook's own ops are differentiated, as torch's."""
    module = library.nn.Tanh()
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append(grad_input[0].requires_grad)
        return (grad_input[0] ** 2 + grad_output[0],)

    module.register_full_backward_hook(hook)
    return module(x @ w) * x, seen


def test_full_backward_hook_as_torchs():
    # no gradcheck: the hook runs again in the second backward, as torch's, so the gradients are not derivatives
    check_double_backward(lambda L, x, w: _hooked_model(L, x, w)[0], X, W, gradcheck=False)
    x = mg.tensor(X, requires_grad=True)
    y, seen = _hooked_model(mg, x, mg.tensor(W))
    mg.autograd.grad(y.sum(), x, create_graph=True)
    assert seen == [True]


IMAGE = _RNG.standard_normal((2, 2, 3, 4))
GRID = _RNG.uniform(-1.2, 1.2, (2, 3, 2, 2))  # some points off the image; none near a pixel's edge (see below)
GRID_SAMPLES = [("bilinear", "zeros", False), ("bilinear", "border", True), ("bilinear", "reflection", False),
                ("nearest", "zeros", True)]


@pytest.mark.parametrize("mode, padding_mode, align_corners", GRID_SAMPLES)
def test_grid_sample_gradgradcheck(mode, padding_mode, align_corners):
    def build(L, image, grid):
        out = L.nn.functional.grid_sample(image, grid, mode=mode, padding_mode=padding_mode,
                                          align_corners=align_corners)
        return out * out.sum()  # a second derivative by the input too
    check_double_backward(build, IMAGE, GRID)


POSITIVE = _RNG.uniform(0.5, 2.0, (2, 3))
EXPONENTS = np.array([[1, -2, 0], [3, 1, -1]])
ELEMENTWISE = {
    "ldexp": (lambda L, a, e: L.ldexp(a * a, e), (X, X[::-1] * 1.5)),
    "ldexp integer exponent": (lambda L, a, e: L.ldexp(a * a, e), (X, EXPONENTS)),
    "i0": (lambda L, a: (a * 1.5).i0(), (X,)),
    "igamma": (lambda L, a, x: L.igamma(a, x * x), (POSITIVE, X), [False, True]),
    "igammac": (lambda L, a, x: L.igammac(a, x * x), (POSITIVE, X), [False, True]),
    "logcumsumexp": (lambda L, a: (a * 3).logcumsumexp(dim=1) * a, (X,)),
    "logcumsumexp 0-d": (lambda L, a: (a * a).logcumsumexp(dim=0), (np.float64(0.7),)),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_and_scans_gradgradcheck(name):
    build, arrays, *differentiable = ELEMENTWISE[name]
    check_double_backward(build, *arrays, differentiable=differentiable[0] if differentiable else None)


@pytest.mark.parametrize("name, build", [("heaviside", lambda L, a, b: L.heaviside(a, b)),
                                         ("floor_divide", lambda L, a, b: L.floor_divide(a, b))])
def test_ops_without_derivative_refuse_under_create_graph_as_torch(name, build):
    for library in (mg, torch):
        a, b = library.tensor(X, requires_grad=True), library.tensor(POSITIVE, requires_grad=True)
        with pytest.raises(RuntimeError, match=f"derivative for aten::{name} is not implemented"):
            library.autograd.grad(build(library, a, b).sum(), a, create_graph=True)


@REFERENCE_CYCLE_WARNING_IGNORED
def test_igamma_refuses_its_first_arguments_gradient_as_torch():
    for library in (mg, torch):
        a, x = library.tensor(POSITIVE, requires_grad=True), library.tensor(POSITIVE, requires_grad=True)
        with pytest.raises(NotImplementedError, match="the derivative for 'igamma: input' is not implemented"):
            library.igamma(a, x).sum().backward(create_graph=True)


SELF = _RNG.standard_normal((3, 4))
SOURCE = _RNG.standard_normal((2, 4))
PLACES = np.array([[0, 2, 2, 1], [0, 0, 1, 1]])
WEIGHT = _RNG.standard_normal((5, 3))
BAG_INDICES = np.array([1, 3, 1, 4, 0, 2])
OFFSETS = np.array([0, 2, 2, 5])  # an empty bag
INDEXED = {
    "scatter_reduce sum": (lambda L, a, s, i: (a * a).scatter_reduce(0, i, s * s, "sum") * a, (SELF, SOURCE, PLACES)),
    "scatter_reduce mean": (lambda L, a, s, i: (a * a).scatter_reduce(0, i, s * a[:2], "mean", include_self=False),
                            (SELF, SOURCE, PLACES)),
    "scatter_reduce amax": (lambda L, a, s, i: (a * s.sum()).scatter_reduce(0, i, s * s, "amax") ** 2,
                            (SELF, SOURCE, PLACES)),
    "scatter_reduce amin": (lambda L, a, s, i: a.scatter_reduce(0, i, s * s, "amin", include_self=False) * a,
                            (SELF, SOURCE, PLACES)),
    "scatter_reduce prod": (lambda L, a, s, i: (a * a).scatter_reduce(0, i, s, "prod") * a, (SELF, SOURCE, PLACES)),
    "scatter_reduce prod without self": (lambda L, a, s, i: a.scatter_reduce(0, i, s * a[1:], "prod",
                                                                             include_self=False),
                                         (SELF, SOURCE, PLACES)),
}


@pytest.mark.parametrize("name", INDEXED)
def test_scatter_reduce_and_embedding_bag_gradgradcheck(name):
    build, arrays = INDEXED[name]
    check_double_backward(build, *arrays)


BAGS = np.array([0, 0, 2, 2, 2, 3])  # the bag of each of BAG_INDICES, by OFFSETS


def _embedding_bag(library, weight, per_sample_weights=None, mode="sum"):
    """minigrad's embedding_bag; torch's, which has no second derivative, as the same bags of embedding's rows."""
    if library is mg:
        return mg.nn.functional.embedding_bag(mg.tensor(BAG_INDICES), weight, mg.tensor(OFFSETS), mode=mode,
                                              per_sample_weights=per_sample_weights)
    rows = torch.nn.functional.embedding(torch.tensor(BAG_INDICES), weight)
    rows = rows if per_sample_weights is None else rows * per_sample_weights[:, None]
    places = torch.tensor(BAGS)[:, None].expand(rows.shape)
    zeros = torch.zeros(len(OFFSETS), weight.shape[1], dtype=weight.dtype)
    return zeros.scatter_reduce(0, places, rows, "amax" if mode == "max" else mode, include_self=False)


EMBEDDING_BAGS = {
    "sum": (lambda L, w, p: _embedding_bag(L, w * w, p * p), (WEIGHT, _RNG.standard_normal(6))),
    "mean": (lambda L, w: _embedding_bag(L, w * w, mode="mean") * w[:4], (WEIGHT,)),
    "max": (lambda L, w: _embedding_bag(L, w, mode="max") ** 2, (WEIGHT,)),
}


@pytest.mark.parametrize("mode", EMBEDDING_BAGS)
def test_embedding_bag_gradgradcheck(mode):
    build, arrays = EMBEDDING_BAGS[mode]
    check_double_backward(build, *arrays)


def _cell(library, kind, x, *states):
    """A one-step LSTM or GRU cell of fixed weights (the fused update ops), on the input and the state."""
    cell = getattr(library.nn, kind)(3, 2, dtype=x.dtype)
    rng = np.random.default_rng(2)
    with library.no_grad():
        for parameter in cell.parameters():
            parameter.copy_(library.tensor(rng.standard_normal(tuple(parameter.shape))))
    out = cell.to(x.device)(x, states if len(states) > 1 else states[0])
    return library.cat(out, dim=1) if isinstance(out, tuple) else out


STATE = _RNG.standard_normal((2, 2))


@pytest.mark.parametrize("kind", ["LSTMCell", "GRUCell"])
def test_recurrent_cells_gradgradcheck(kind):
    states = (STATE, STATE[::-1] * 2) if kind == "LSTMCell" else (STATE,)
    check_double_backward(lambda L, x, *s: _cell(L, kind, x * x, *s), X, *states)


GPU_CASES = {
    "grid_sample": (lambda L, image, grid: L.nn.functional.grid_sample(image, grid, align_corners=False) ** 2,
                    (IMAGE, GRID)),
    "lstm i0 logcumsumexp": (lambda L, x, w: _cell(L, "LSTMCell", (x @ w).i0(), x[:, :2], x[:, 1:]).logcumsumexp(1),
                             (X, W)),
    "scatter_reduce checkpoint": (lambda L, a, s: _checkpoint(L)(
        lambda b, t: b.scatter_reduce(0, L.tensor(PLACES, device=b.device), t * t, "amax") * b, a, s,
        use_reentrant=False),
        (SELF, SOURCE)),
}


@pytest.mark.parametrize("name", GPU_CASES)
def test_gpu_path_matches_cpu(name, gpu_path):
    build, arrays = GPU_CASES[name]
    check_gpu_path(build, *arrays)
