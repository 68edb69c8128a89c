"""Gradients of gradients (create_graph) of the shape, indexing and reduction ops, against torch's and by a float64
gradcheck of the first gradients (see double_backward.py). Each build multiplies its op's result by a function of
the input (or takes a nonlinear function of it), so that the second derivatives are not all zero."""
import math

import numpy as np
import pytest

import minigrad as mg
from double_backward import check_double_backward

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
MATRIX = rng.standard_normal((3, 4))
CUBE = rng.standard_normal((2, 3, 4))
POSITIVE = rng.uniform(0.5, 1.5, (3, 4))
VECTOR = rng.standard_normal(5)
WITH_TIES = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, 0.5, -1.0, 0.5], [2.0, -4.0, 1.0, 1.5]])
ROWS = np.array([[2, 0], [1, 2]])
GATHER_INDEX = np.array([[0, 2, 2], [3, 1, 0], [1, 1, 3]])
WITH_ZEROS = np.array([[0.5, 0.0, 0.0, 1.2], [-1.5, 0.7, 0.0, 0.9], [1.1, 1.3, 2.0, -0.8]])  # columns of 0, 1, 2 zeros


def square(library, x):
    """x * x: the op after it gets a gradient that depends on x, so its own gradient's derivative is not zero."""
    return x * x


CASES = {
    "reshape": (lambda L, x: square(L, x).reshape(4, 3), MATRIX),
    "view -1": (lambda L, x: square(L, x).view(2, -1, 2), CUBE),
    "expand": (lambda L, x, y: square(L, x).reshape(3, 1).expand(3, 4) * y, VECTOR[:3], MATRIX),
    "permute": (lambda L, x: square(L, x).permute(2, 0, 1), CUBE),
    "t": (lambda L, x: square(L, x).t(), MATRIX),
    "transpose": (lambda L, x: square(L, x).transpose(0, 2), CUBE),
    "cat": (lambda L, x, y: L.cat([square(L, x), x * y], dim=1), MATRIX, POSITIVE),
    "stack": (lambda L, x, y: L.stack([square(L, x), x * y], dim=-1), MATRIX, POSITIVE),
    "pad constant": (lambda L, x: L.nn.functional.pad(square(L, x), (1, 2, 0, 1), value=0.5), CUBE),
    "pad reflect": (lambda L, x: L.nn.functional.pad(square(L, x), (2, 1), mode="reflect"), CUBE),
    "pad replicate": (lambda L, x: L.nn.functional.pad(square(L, x), (1, 1, 2, 0), mode="replicate"), CUBE),
    "pad circular": (lambda L, x: L.nn.functional.pad(square(L, x), (1, 2), mode="circular"), CUBE),
    "getitem basic": (lambda L, x: square(L, x)[1:, None, ::2], MATRIX),
    "getitem int": (lambda L, x: square(L, x)[0, :, -1], CUBE),
    "getitem repeated": (lambda L, x: square(L, x)[[0, 2, 0]], MATRIX),
    "getitem mask": (lambda L, x: square(L, x)[L.tensor(MATRIX > 0)], MATRIX),
    "getitem rows cols": (lambda L, x: square(L, x)[L.tensor(ROWS), 1:], MATRIX),
    "flip": (lambda L, x: square(L, x).flip(0, 2), CUBE),
    "gather": (lambda L, x: square(L, x).gather(1, L.tensor(GATHER_INDEX)), MATRIX),
    "diagonal": (lambda L, x: square(L, x).diagonal(1, 0, 2), CUBE),
    "diag_embed": (lambda L, x: L.diag_embed(square(L, x), offset=-1), MATRIX),
    "tril": (lambda L, x: square(L, x).tril(1), CUBE),
    "triu": (lambda L, x: square(L, x).triu(-1), MATRIX),
    "embedding": (lambda L, w: L.nn.functional.embedding(L.tensor(ROWS), square(L, w), padding_idx=1), MATRIX),
    "setitem": (lambda L, x, y: square(L, x).index_put((L.tensor([0, 2]),), x[1] * y), MATRIX, VECTOR[:4]),
    "setitem accumulate": (lambda L, x, y: square(L, x).index_put((L.tensor([0, 0]),), y * y, accumulate=True),
                           MATRIX, VECTOR[:4]),
    "scatter": (lambda L, x, y: square(L, x).scatter(1, L.tensor(GATHER_INDEX[:, :1]), y * y), MATRIX, POSITIVE[:, :1]),
    "scatter_add": (lambda L, x, y: square(L, x).scatter_add(0, L.tensor(GATHER_INDEX[:2] % 3), y * y),
                    MATRIX, POSITIVE[:2, :3]),
    "max dim": (lambda L, x: square(L, x).max(1).values, MATRIX),
    "max dim ties": (lambda L, x: square(L, x).max(1).values, WITH_TIES),
    "max": (lambda L, x: square(L, x).max(), WITH_TIES),
    "min dim keepdim ties": (lambda L, x: square(L, x).min(0, keepdim=True).values, WITH_TIES),
    "amax": (lambda L, x: square(L, x).amax((0, 1)), WITH_TIES),
    "amin dim": (lambda L, x: square(L, x).amin(-1, keepdim=True), CUBE),
    "amin dim ties": (lambda L, x: square(L, x).amin(-1, keepdim=True), WITH_TIES),
    "var": (lambda L, x: x.var(1), MATRIX),
    "var dims correction": (lambda L, x: x.var((0, 2), correction=0, keepdim=True), CUBE),
    "std": (lambda L, x: x.std(), MATRIX),
    "std dim": (lambda L, x: x.std(-1, keepdim=True), CUBE),
    "norm": (lambda L, x: x.norm(dim=1), MATRIX),
    "norm all": (lambda L, x: L.linalg.vector_norm(x), CUBE),
    "norm 1": (lambda L, x: square(L, x).norm(p=1, dim=0), MATRIX),
    "norm inf": (lambda L, x: square(L, x).norm(p=math.inf, dim=(0, 2)), CUBE),
    "norm 3": (lambda L, x: x.norm(p=3), MATRIX),
    "norm 3 zeros": (lambda L, x: x.norm(p=3, dim=0), WITH_ZEROS),
    "norm 1.5 dims keepdim": (lambda L, x: L.linalg.vector_norm(x, 1.5, dim=(0, 2), keepdim=True), CUBE),
    "norm 0.5": (lambda L, x: L.linalg.vector_norm(x, 0.5, dim=1), MATRIX),
    "logsumexp": (lambda L, x: x.logsumexp(1), MATRIX),
    "logsumexp dims": (lambda L, x: x.logsumexp((0, 2), keepdim=True), CUBE),
    "prod": (lambda L, x: x.prod(1), POSITIVE),
    "prod all": (lambda L, x: x.prod(), POSITIVE),
    "prod zeros": (lambda L, x: x.prod(0, keepdim=True), WITH_ZEROS),
    "prod all one zero": (lambda L, x: x.prod(), WITH_ZEROS[:, :2]),
    "cumsum": (lambda L, x: square(L, x).cumsum(1), MATRIX),
    "cumprod": (lambda L, x: x.cumprod(0), POSITIVE),
}


@pytest.mark.parametrize("name", CASES)
def test_gradients_of_gradients_are_torchs_gradgradcheck(name):
    """Against torch's; ties of an extreme sit on a kink, where central differences cannot check the gradient."""
    build, *arrays = CASES[name]
    check_double_backward(build, *arrays, gradcheck=not name.endswith("ties"))


def test_a_hessian_built_of_the_ops_is_torchs():
    """The Hessian of a scalar function of a vector, row by row from nested autograd.grad, against torch's."""
    x0 = rng.standard_normal(6)

    def f(library, x):
        grid = x.reshape(2, 3)
        padded = library.nn.functional.pad(grid * grid, (1, 0))
        return (padded.logsumexp(1).sum() + grid.t().norm(dim=0).prod() + grid.var(0).sum()
                + library.cat([grid, grid.flip(1)], 1)[:, [0, 4]].amax() + x.cumsum(0).max())

    x = mg.tensor(x0, requires_grad=True)
    (gradient,) = mg.autograd.grad(f(mg, x), x, create_graph=True)
    rows = [mg.autograd.grad(gradient[i], x, retain_graph=True)[0].numpy() for i in range(len(x0))]
    expected = torch.autograd.functional.hessian(lambda t: f(torch, t), torch.tensor(x0))
    np.testing.assert_allclose(np.stack(rows), expected.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("build, array", [
    (lambda x: x.cumprod(0).sum(), np.array([1.5, 0.0, 2.0])),
], ids=["cumprod with a zero"])
def test_cases_without_a_formula_refuse_a_second_differentiation(build, array):
    """Their first gradients are right, but differentiating them again names the op."""
    x = mg.tensor(array, requires_grad=True)
    (gradient,) = mg.autograd.grad(build(x), x, create_graph=True)
    t = torch.tensor(array, requires_grad=True)
    np.testing.assert_allclose(gradient.detach().numpy(), torch.autograd.grad(build(t), t)[0].numpy())
    with pytest.raises(RuntimeError, match="derivative for the backward of .*Backward.* is not implemented"):
        gradient.sum().backward()


def test_third_derivatives_through_the_index_gradient():
    """GetItem and its gradient differentiate each other, so a third derivative through indexing is torch's."""
    x0 = rng.standard_normal(5)

    def third(library):
        x = library.tensor(x0, requires_grad=True)
        picked, tail = x[[0, 2, 2, 4]], x[1:]
        y = (picked * picked * picked).sum() + (tail * tail * tail * tail).sum()
        (first,) = library.autograd.grad(y, x, create_graph=True)
        (second,) = library.autograd.grad((first * first).sum(), x, create_graph=True)
        (third,) = library.autograd.grad(second.sum(), x)
        return third.numpy()

    np.testing.assert_allclose(third(mg), third(torch), rtol=1e-10)


def test_gpu_path_matches_cpu(gpu_path):
    """Second gradients through the ops' scatters on the GPU code path are the CPU's."""
    x0 = rng.standard_normal((3, 4)).astype(np.float32)

    def second(device):
        x = mg.tensor(x0, requires_grad=True, device=device)
        picked = (x * x)[[0, 2, 0]].gather(1, mg.tensor(GATHER_INDEX, device=device))
        y = (picked.logsumexp(1) + mg.nn.functional.pad(x, (1, 1)).var(1) + mg.cat([x, picked], 1).amax(1)
             + x.norm(dim=1) * x.prod(1)).sum()
        (first,) = mg.autograd.grad(y, x, create_graph=True)
        (first * first).sum().backward()
        return x.grad.cpu().numpy()

    from conftest import relative_error
    assert relative_error(second("cuda"), second("cpu")) <= 1e-5
