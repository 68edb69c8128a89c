"""create_graph's engine against torch's, further: a custom Function that writes into its input (mark_dirty)
differentiated twice through what it saved; float16 gradients of gradients (ops that accumulate in float32) and a
gradient penalty under autocast with a GradScaler; backward(inputs=[non-leaf]) retaining its grad for later walks, and
a retained grad replaced, not written into, by each walk's sum. A guard that every op has a second derivative or is
listed as having none."""
import importlib
import pkgutil
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error
from minigrad.function import Function

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = np.array([0.7, 1.2, -0.4], np.float32)
W = np.array([1.5, -0.3, 0.8], np.float32)


def as_numpy(tensor):
    return tensor.detach().float().numpy() if hasattr(tensor, "float") else tensor.detach().numpy()


def _in_place_functions(library):
    """x.mul_(w) as custom Functions marking x dirty: one saving w and a copy of x, one saving the written x (its
    output, which torch links back through the Function's own node)."""
    class MulSavingInput(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x.clone(), w)
            x.mul_(w)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            return grad * w, grad * x

    class MulSavingOutput(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            x.mul_(w)
            ctx.mark_dirty(x)
            ctx.save_for_backward(x, w)
            return x

        @staticmethod
        def backward(ctx, grad):
            out, w = ctx.saved_tensors
            return grad * w, grad * out / w

    return {"saved input": MulSavingInput, "saved output": MulSavingOutput}


@pytest.mark.parametrize("saving", ["saved input", "saved output"])
def test_a_mark_dirty_functions_saved_tensors_lead_back_into_the_graph(saving):
    def run(library):
        x, w = library.tensor(X, requires_grad=True), library.tensor(W, requires_grad=True)
        y = _in_place_functions(library)[saving].apply(x * 1, w)
        gx, gw = library.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        second = library.autograd.grad((gx * gx).sum() + (gw ** 3).sum(), (x, w))
        return [as_numpy(g) for g in (gx, gw, *second)]

    for ours, theirs in zip(run(mg), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


FLOAT16_CASES = {  # build(library, x, w), shapes of x and w: ops that compute float16 in float32
    "sum": (lambda lib, x, w: (x.sum(dim=1) * w[:, 0]).sum(), (4, 5), (4, 5)),
    "mean": (lambda lib, x, w: (x.mean(dim=0) ** 2 * w.mean(dim=1)[0]).sum(), (4, 5), (4, 5)),
    "matmul": (lambda lib, x, w: (x @ w.transpose(0, 1)).pow(2).sum(), (4, 5), (3, 5)),
    "softmax": (lambda lib, x, w: (lib.nn.functional.softmax(x, dim=1) * w).sum(), (4, 5), (4, 5)),
    "conv2d": (lambda lib, x, w: lib.nn.functional.conv2d(x, w).pow(2).sum(), (1, 2, 5, 5), (3, 2, 3, 3)),
    "layer_norm": (lambda lib, x, w: (lib.nn.functional.layer_norm(x, (5,)) * w).pow(2).sum(), (4, 5), (4, 5)),
}


@pytest.mark.parametrize("name", FLOAT16_CASES)
def test_float16_gradients_of_gradients_match_torchs(name):
    """torch's CPU kernels take float16 for all of these; minigrad's compute in float32 and round once, so the values
    agree to float16's precision and every gradient is float16, as its input."""
    build, x_shape, w_shape = FLOAT16_CASES[name]
    x_values, w_values = (RNG.uniform(-1, 1, shape).astype(np.float16) for shape in (x_shape, w_shape))

    def run(library):
        x, w = library.tensor(x_values, requires_grad=True), library.tensor(w_values, requires_grad=True)
        gx, gw = library.autograd.grad(build(library, x, w), (x, w), create_graph=True)
        second = library.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (x, w))
        gradients = (gx, gw, *second)
        return [str(g.dtype).removeprefix("torch.") for g in gradients], [as_numpy(g) for g in gradients]

    (our_dtypes, ours), (their_dtypes, theirs) = run(mg), run(torch)
    assert our_dtypes == their_dtypes == ["float16"] * 4
    for index, (a, b) in enumerate(zip(ours, theirs)):
        assert relative_error(a, b) < 5e-3, f"gradient {index}: relative error {relative_error(a, b)}"


def test_a_gradient_penalty_under_autocast_with_a_grad_scaler_matches_torchs():
    """torch's AMP recipe for a gradient penalty: the scaled loss's gradients with create_graph, unscaled, their norm
    added to the loss in autocast, the scaled total's backward, and the scaler's step."""
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                    torch.nn.Linear(48, 1))
    values = [p.detach().numpy().copy() for p in reference.parameters()]
    inputs = RNG.uniform(-1, 1, (4, 2, 6, 6)).astype(np.float32)

    def step(library):
        model = library.nn.Sequential(library.nn.Conv2d(2, 3, 3), library.nn.ReLU(), library.nn.Flatten(),
                                      library.nn.Linear(48, 1))
        with library.no_grad():
            for parameter, value in zip(model.parameters(), values):
                parameter.copy_(library.tensor(value))
        optimizer = library.optim.SGD(model.parameters(), lr=0.01)
        scaler = library.amp.GradScaler("cpu", init_scale=2.0 ** 8)
        with library.autocast("cpu", dtype=library.float16):
            loss = model(library.tensor(inputs)).pow(2).mean()
        scaled = library.autograd.grad(scaler.scale(loss), list(model.parameters()), create_graph=True)
        gradients = [g * (1.0 / scaler.get_scale()) for g in scaled]
        with library.autocast("cpu", dtype=library.float16):
            penalty = sum(g.pow(2).sum() for g in gradients).sqrt()
            total = loss + penalty
        scaler.scale(total).backward()
        dtypes = [str(t.dtype).removeprefix("torch.") for t in (loss, penalty, *scaled)]
        grads = [as_numpy(p.grad) for p in model.parameters()]
        scaler.step(optimizer)
        scaler.update()
        return dtypes, grads, [as_numpy(p) for p in model.parameters()]

    ours, theirs = step(mg), step(torch)
    assert ours[0] == theirs[0] == ["float16", "float32"] + ["float32"] * 4
    for a, b in zip(ours[1] + ours[2], theirs[1] + theirs[2]):
        assert relative_error(a, b) < 2e-3


def test_backward_inputs_a_non_leaf_retains_its_grad_for_later_walks_as_torchs():
    def run(library, create_graph):
        x = library.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * x
        y = (h * 3).sum()
        log = [h.retains_grad]
        library.autograd.grad(y, [h], retain_graph=True)  # autograd.grad leaves it as it is
        log.append(h.retains_grad)
        y.backward(inputs=[h], retain_graph=True, create_graph=create_graph)
        log += [h.retains_grad, h.grad.tolist(), x.grad]
        y.backward(retain_graph=True)  # a walk without inputs adds into it
        log += [h.grad.tolist(), x.grad.tolist()]
        (h.sum() * 2).backward(inputs=[x], retain_graph=True)  # so does one that runs through it for another input
        log += [h.grad.tolist(), x.grad.tolist()]
        return log

    for create_graph in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # create_graph's reference cycle
            assert run(mg, create_graph) == run(torch, create_graph)


@pytest.mark.parametrize("first_create_graph", [False, True])
@pytest.mark.parametrize("then_create_graph", [False, True])
def test_a_retained_grad_is_replaced_by_each_walks_sum_a_leafs_added_into(first_create_graph, then_create_graph):
    def run(library):
        x = library.tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = x * x
        h.retain_grad()
        y = (h * h).sum()
        y.backward(create_graph=first_create_graph, retain_graph=True)
        leaf_grad, retained = x.grad, h.grad
        y.backward(create_graph=then_create_graph, retain_graph=True)
        return [x.grad is leaf_grad, x.grad.requires_grad, h.grad is retained, h.grad.requires_grad,
                retained.tolist(), h.grad.tolist()]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run(mg) == run(torch)


# ---- every op has a second derivative, or is listed here ---------------------------------------------------------
BASES = {  # abstract: each op built on one gives its own formula, or its base's (an opt-in) serves it
    "minigrad.ops.activation._Activation", "minigrad.ops.activation._SavesDerivative",
    "minigrad.ops.elementwise.Elementwise", "minigrad.ops.elementwise.SpecialFunction",
    "minigrad.ops.elementwise.WithoutDerivative", "minigrad.ops.linalg.OfItsOutput", "minigrad.ops.loss.PointwiseLoss",
    "minigrad.ops.reduce._Scan",
}
WITHOUT_SECOND_DERIVATIVE = {  # each gives create_graph's gradients that refuse, by name, to be differentiated again
    "minigrad.function.NotTwiceDifferentiable": "the node that refuses, by name, to differentiate such gradients",
    "minigrad.ops.loss.CTCLoss": "torch has no second derivative of ctc_loss either",
    "minigrad.ops.decompositions.Geqrf": "torch differentiates geqrf not even once",
    "minigrad.ops.decompositions.LDLFactor": "torch differentiates ldl_factor not even once",
    "minigrad.ops.elementwise.GradientFreeSpecial": "torch differentiates bessel_j0 and its kin not even once",
    "minigrad.ops.polynomials.OrthogonalPolynomial": "torch differentiates its orthogonal polynomials not even once",
    "minigrad.ops.sample.GridSampleGridGrad": "a third derivative through grid_sample's grid is not implemented",
    "minigrad.utils.checkpoint.ReentrantCheckpoint": "torch's re-entrant checkpoint gives gradients without a graph",
}


def _minigrad_ops():
    """Every Function subclass that minigrad defines (all its modules imported), by qualified name."""
    for module in pkgutil.walk_packages(mg.__path__, "minigrad."):
        importlib.import_module(module.name)
    found, pending = {}, [Function]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.startswith("minigrad."):
                found[f"{subclass.__module__}.{subclass.__qualname__}"] = subclass
    return found


def test_every_op_has_a_second_derivative_or_is_listed_without_one():
    ops = _minigrad_ops()
    assert all(ops.get(name) is not None and ops[name].__subclasses__() for name in BASES)
    listed = WITHOUT_SECOND_DERIVATIVE.keys()
    assert listed <= ops.keys(), "listed but no longer an op"
    lacking = {name for name, op in ops.items() if name not in BASES and not op.has_differentiable_backward()}
    assert lacking == listed, (f"without a second derivative, unlisted: {sorted(lacking - listed)}; listed but "
                               f"having one now: {sorted(listed - lacking)}")


def test_a_walk_towards_some_tensors_runs_no_other_tensors_hooks_as_torchs():
    def run(library):
        calls = []
        x, w = library.tensor([1.0, 2.0], requires_grad=True), library.tensor([3.0, 4.0], requires_grad=True)
        w.register_hook(lambda g: calls.append("w"))
        h = x * w
        h.register_hook(lambda g: calls.append("h"))
        library.autograd.grad((h * w).sum(), x)
        (x * w).sum().backward(inputs=[x])
        return calls, x.grad.tolist(), w.grad

    assert run(mg) == run(torch)


def test_an_input_gradient_with_create_graph_computes_no_weight_gradient():
    """As torch's engine: autograd.grad with respect to the input of a convolution whose weight requires grad records
    the input's gradient alone (a gradient penalty's first walk)."""
    x = mg.tensor(RNG.standard_normal((2, 2, 5, 5)).astype(np.float32), requires_grad=True)
    conv = mg.nn.Conv2d(2, 3, 3)
    out = conv(x)
    with mg.profiler.profile() as stats:
        g, = mg.autograd.grad(out.pow(2).sum(), x, create_graph=True)
    assert ("Conv2dInputGrad", "forward") in stats.calls and ("Conv2dWeightGrad", "forward") not in stats.calls
    g.pow(2).sum().backward()  # the weight's gradient through the input's, as before
    reference = torch.nn.Conv2d(2, 3, 3)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(conv.weight.numpy()))
        reference.bias.copy_(torch.tensor(conv.bias.numpy()))
    tx = torch.tensor(x.numpy(), requires_grad=True)
    tg, = torch.autograd.grad(reference(tx).pow(2).sum(), tx, create_graph=True)
    tg.pow(2).sum().backward()
    np.testing.assert_allclose(conv.weight.grad.numpy(), reference.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_gpu_path_matches_cpu(gpu_path):
    """float16 gradients of gradients (computed in float32) and an input-only first walk stay on the device."""
    x_values = RNG.uniform(-1, 1, (1, 2, 5, 5)).astype(np.float16)
    w_values = RNG.uniform(-1, 1, (3, 2, 3, 3)).astype(np.float16)
    results = []
    for device in ("cpu", "gpu"):
        x = mg.tensor(x_values, device=device, requires_grad=True)
        w = mg.tensor(w_values, device=device, requires_grad=True)
        out = mg.nn.functional.conv2d(x, w).flatten(1)
        gradient, = mg.autograd.grad((out @ out.transpose(0, 1)).sum(), x, create_graph=True)
        second = mg.autograd.grad((gradient * gradient).sum(), (x, w))
        assert gradient.dtype == mg.float16 and all(g.dtype == mg.float16 and g.device == device for g in second)
        results.append([gradient.numpy().astype(np.float32), *(g.numpy().astype(np.float32) for g in second)])
    for gpu, cpu in zip(results[1], results[0]):
        assert relative_error(gpu, cpu) <= 2e-3
