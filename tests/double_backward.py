"""Checks of gradients of gradients (create_graph), shared by the double-backward tests.

An op's double backward is checked two ways: against torch's, in float32 (first gradients, and the gradients of a
random projection of them with respect to the inputs and to the vector the first backward was given), and by
mg.gradgradcheck in float64 (a gradcheck of the gradient itself as a function of the inputs and that vector), which
central differences of minigrad's own first gradients check without torch.
"""
import numpy as np
import torch

import minigrad as mg
from conftest import relative_error


def _gradients_of_gradients(library, build, arrays, vector, projection, differentiable):
    """The first gradients of build(library, *inputs) for `vector`, and the gradients of <projection, first> with
    respect to the inputs and the vector (zeros where none flows, as torch's materialize_grads), as arrays."""
    inputs = [library.tensor(a, requires_grad=needs) for a, needs in zip(arrays, differentiable)]
    wanted = [t for t in inputs if t.requires_grad]
    output = build(library, *inputs)
    v = library.tensor(vector, requires_grad=True)
    first = library.autograd.grad(output, wanted, v, create_graph=True)
    total = sum((g * library.tensor(p)).sum() for g, p in zip(first, projection))
    second = library.autograd.grad(total, [*wanted, v], materialize_grads=True)
    return [g.detach().numpy() for g in first], [g.detach().numpy() for g in second]


def check_double_backward(build, *arrays, differentiable=None, seed=0, tolerance=1e-5, gradcheck=True):
    """build(library, *tensors) -> tensor, written once for minigrad and torch. Its gradients of gradients must be
    torch's within `tolerance` (relative, in float32), and, where gradcheck, pass a float64 gradcheck of the first
    gradients as a function of the inputs and the vector. `differentiable` says which inputs require grad (all
    floating-point ones by default)."""
    arrays = [np.asarray(a) for a in arrays]
    if differentiable is None:
        differentiable = [a.dtype.kind == "f" for a in arrays]
    rng = np.random.default_rng(seed)
    as32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in arrays]
    with torch.no_grad():
        shape = tuple(build(torch, *[torch.tensor(a) for a in as32]).shape)
    vector = rng.standard_normal(shape).astype(np.float32)
    projection = [rng.standard_normal(a.shape).astype(np.float32) for a, needs in zip(arrays, differentiable) if needs]
    ours = _gradients_of_gradients(mg, build, as32, vector, projection, differentiable)
    theirs = _gradients_of_gradients(torch, build, as32, vector, projection, differentiable)
    for kind, mine, reference in zip(("first", "second"), ours, theirs):
        for index, (a, b) in enumerate(zip(mine, reference)):
            assert relative_error(a, b) < tolerance, f"{kind} gradient {index}: relative error {relative_error(a, b)}"
    if gradcheck:
        check_gradgrad(build, *arrays, differentiable=differentiable, seed=seed)


def check_gradgrad(build, *arrays, differentiable=None, seed=0, **tolerances):
    """mg.gradgradcheck of build in float64: minigrad's first gradients (with create_graph), as a function of the
    inputs and of the vector the backward is given, against central differences of the first."""
    arrays = [np.asarray(a) for a in arrays]
    if differentiable is None:
        differentiable = [a.dtype.kind == "f" for a in arrays]
    as64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    inputs = [mg.tensor(a, requires_grad=needs) for a, needs in zip(as64, differentiable)]
    assert mg.gradgradcheck(lambda *tensors: build(mg, *tensors), inputs, seed=seed, **tolerances)


def check_gpu_path(build, *arrays, seed=3):
    """build's first and second gradients on the device (the GPU code path) against the CPU's, the inputs moved
    to the device in the graph so that the gradients come back through the move too."""
    def gradients(device):
        inputs = [mg.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
        with mg.no_grad():
            shape = build(mg, *inputs).shape
        direction = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        output = build(mg, *(t.to(device) for t in inputs))
        first = mg.autograd.grad(output, inputs, mg.tensor(direction, device=device), create_graph=True)
        second = mg.autograd.grad(sum((g * g).sum() for g in first), inputs)
        return [g.numpy() for g in (*first, *second)]

    for ours, reference in zip(gradients("gpu"), gradients("cpu")):
        assert relative_error(ours, reference) <= 1e-5
