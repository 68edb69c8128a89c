"""Gradients of gradients (create_graph) through the losses and the normalizations, against torch's and by a
float64 gradcheck of the first gradients (see double_backward.py)."""
import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import relative_error
from double_backward import check_double_backward

rng = np.random.default_rng(0)


def F(library):
    return torch.nn.functional if library is torch else mg.functional


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_charbonnier_loss_gradgradcheck(reduction):
    eps = 0.3  # large enough that its curvature shows in the second derivatives

    def build(library, x, y):
        if library is torch:
            loss = torch.sqrt((x - y) ** 2 + eps * eps)
            return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]
        return mg.functional.charbonnier_loss(x, y, eps=eps, reduction=reduction)

    check_double_backward(build, rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4)))


def probabilities(*shape):
    return rng.uniform(0.05, 0.95, shape)


WEIGHT = rng.uniform(0.5, 2.0, (4,))

def _batchmean(reduction):
    return "batchmean" if reduction == "mean" else reduction


POINTWISE = {
    "binary_cross_entropy": (lambda library, p, t, reduction: F(library).binary_cross_entropy(
        p, t, weight=library.tensor(WEIGHT, dtype=p.dtype),
        reduction=reduction), probabilities(3, 4), probabilities(3, 4)),
    "binary_cross_entropy_with_logits": (lambda library, x, t, reduction: F(library).binary_cross_entropy_with_logits(
        x, t, reduction=reduction), rng.standard_normal((3, 4)), probabilities(3, 4)),
    "binary_cross_entropy_with_logits pos_weight": (
        lambda library, x, t, reduction: F(library).binary_cross_entropy_with_logits(
            x, t, reduction=reduction, pos_weight=library.tensor([0.5, 1.0, 2.0, 3.0], dtype=x.dtype)),
        rng.standard_normal((3, 4)), probabilities(3, 4)),
    "smooth_l1_loss": (lambda library, x, y, reduction: F(library).smooth_l1_loss(x, y, reduction=reduction, beta=0.8),
                       rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
    "huber_loss": (lambda library, x, y, reduction: F(library).huber_loss(x, y, reduction=reduction, delta=0.7),
                   rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
    # kl_div's "mean" is torch's deprecated one, which warns: its "batchmean" in its place
    "kl_div": (lambda library, x, t, reduction: F(library).kl_div(x, t, reduction=_batchmean(reduction)),
               np.log(probabilities(3, 4)), probabilities(3, 4)),
    "kl_div log_target": (lambda library, x, t, reduction: F(library).kl_div(x, t, reduction=_batchmean(reduction),
                                                                                log_target=True),
                          np.log(probabilities(3, 4)), np.log(probabilities(3, 4))),
}


@pytest.mark.parametrize("name, reduction", [(name, ("mean", "sum", "none")[index % 3])
                                             for index, name in enumerate(POINTWISE)])
def test_pointwise_losses_gradgradcheck(name, reduction):
    loss, *arrays = POINTWISE[name]
    check_double_backward(lambda library, *tensors: loss(library, *tensors, reduction), *arrays)


@pytest.mark.parametrize("shape, weighted, reduction", [((5, 4), True, "mean"), ((2, 4, 3), False, "mean"),
                                                       ((2, 4, 3), True, "none"), ((4,), True, "sum")])
def test_nll_loss_gradgradcheck(shape, weighted, reduction):
    """On log-probabilities given (cross_entropy's log_softmax ahead of it is another op), with a class weight and
    an ignored target."""
    classes = shape[0] if len(shape) == 1 else shape[1]
    target = rng.integers(0, classes, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if target.ndim:
        target.flat[0] = -1
    weight = rng.uniform(0.5, 2.0, classes).astype(np.float32) if weighted else None

    def build(library, log_probs, target):
        class_weight = None if weight is None else library.tensor(weight, dtype=log_probs.dtype)
        return F(library).nll_loss(log_probs, target, weight=class_weight, ignore_index=-1, reduction=reduction)

    check_double_backward(build, np.log(rng.uniform(0.1, 1.0, shape)), target)


@pytest.mark.parametrize("shapes, dim, eps", [(((3, 5), (3, 5)), 1, 1e-8), (((2, 3, 4), (3, 1)), -2, 1e-8),
                                               (((4, 3), (4, 3)), 0, 2.0)])
def test_cosine_similarity_gradgradcheck(shapes, dim, eps):
    """Broadcast operands, and an eps that clamps the norms: torch's clamp leaves the norms' derivatives, so its
    gradients are not the derivatives of the clamped function, and only torch's are the reference there."""
    def build(library, x1, x2):
        return F(library).cosine_similarity(x1, x2, dim=dim, eps=eps)

    check_double_backward(build, *(rng.standard_normal(shape) for shape in shapes), gradcheck=eps < 1)



RUNNING = (rng.standard_normal(3), rng.uniform(0.5, 2.0, 3))

# the torch function of an input and a weight and bias of the shape Normalize gets them in, and Normalize's own
# parameters (as minigrad.functional calls it after reshaping the weight and bias, which is another op)
NORMS = {
    "batch_norm": (lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, _flat(w), _flat(b), training=True),
                   (2, 3, 4), (3, 1), {"axes": (0, 2)}),
    "batch_norm eval": (lambda x, w, b: torch.nn.functional.batch_norm(
        x, *(torch.tensor(s, dtype=x.dtype) for s in RUNNING), _flat(w), _flat(b)), (2, 3, 4), (3, 1),
        {"axes": (0, 2), "constant_statistics": True}),
    "instance_norm": (lambda x, w, b: torch.nn.functional.instance_norm(x, weight=_flat(w), bias=_flat(b)),
                      (2, 3, 4), (3, 1), {"axes": (2,)}),
    "group_norm": (lambda x, w, b: torch.nn.functional.group_norm(
        x.reshape(2, 6, 4), 3, _flat(w), _flat(b)).reshape(x.shape), (2, 3, 2, 4), (3, 2, 1), {"axes": (2, 3)}),
    "layer_norm": (lambda x, w, b: torch.nn.functional.layer_norm(x, (3, 4), w, b), (2, 3, 4), (3, 4),
                   {"axes": (1, 2)}),
}


def _flat(tensor):
    return None if tensor is None else tensor.reshape(-1)


@pytest.mark.parametrize("name, affine", [*((name, 2) for name in NORMS), ("batch_norm", 1), ("layer_norm", 1),
                                          ("batch_norm eval", 0), ("group_norm", 0)])
def test_normalize_gradgradcheck(name, affine):
    """Batch norm by the batch's statistics and by running ones, instance, group and layer norm, each with its
    weight and bias, its weight alone and neither."""
    torch_norm, shape, affine_shape, params = NORMS[name]

    def build(library, x, *weight_and_bias):
        if library is torch:
            return torch_norm(x, *weight_and_bias, *[None] * (2 - affine))
        statistics = {}
        if params.get("constant_statistics"):
            statistics = {"mean": RUNNING[0].astype(x.dtype).reshape(affine_shape),
                          "var": RUNNING[1].astype(x.dtype).reshape(affine_shape)}
        return mg.ops.Normalize.apply(x, *weight_and_bias, eps=1e-5, scaled=affine > 0, shifted=affine > 1,
                                      **params, **statistics)

    weight, bias = rng.uniform(0.5, 2.0, affine_shape), rng.standard_normal(affine_shape)
    check_double_backward(build, rng.standard_normal(shape) * 2 + 1, *(weight, bias)[:affine])


@pytest.mark.parametrize("training", [True, False])
def test_batch_and_layer_norm_functions_gradgradcheck(training):
    """Through minigrad.functional, which moves the running statistics in training."""
    def build(library, x):
        running = [library.tensor(s, dtype=x.dtype) for s in RUNNING]
        out = F(library).batch_norm(x, *running, training=training)
        return F(library).layer_norm(out, (4,))

    check_double_backward(build, rng.standard_normal((2, 3, 4)))


GPU_CASES = {
    "charbonnier_loss": (lambda x, y: mg.functional.charbonnier_loss(x, y, eps=0.3), (3, 4), (3, 4)),
    "binary_cross_entropy_with_logits": (lambda x, t: mg.functional.binary_cross_entropy_with_logits(
        x, t, pos_weight=mg.tensor([0.5, 1.0, 2.0, 3.0], device=x.device)), (3, 4), (3, 4)),
    "smooth_l1_loss": (lambda x, y: mg.functional.smooth_l1_loss(x, y, beta=0.8), (3, 4), (3, 4)),
    "cosine_similarity": (lambda x1, x2: mg.functional.cosine_similarity(x1, x2), (3, 5), (3, 5)),
    "kl_div": (lambda x, t: mg.functional.kl_div(x, t, reduction="sum"), (3, 4), (3, 4)),
    "nll_loss": (lambda x, w: mg.functional.nll_loss(x * w, mg.tensor([0, 3, -100], device=x.device),
                                                     weight=mg.tensor([1.0, 2.0, 3.0, 4.0], device=x.device)),
                 (3, 4), (3, 4)),
    "normalize": (lambda x, w: mg.ops.Normalize.apply(x, w, axes=(0, 2), eps=1e-5, scaled=True, shifted=False),
                  (2, 3, 4), (3, 1)),
    "normalize by running statistics": (lambda x, w: mg.ops.Normalize.apply(
        x, w, axes=(0, 2), eps=1e-5, scaled=True, shifted=False, mean=_on(x, RUNNING[0]), var=_on(x, RUNNING[1]),
        constant_statistics=True), (2, 3, 4), (3, 1)),
}


def _on(like, statistic):
    return mg.tensor(statistic.astype(np.float32).reshape(3, 1), device=like.device).data


def _second_gradients(fn, arrays, device):
    inputs = [mg.tensor(a, requires_grad=True, device=device) for a in arrays]
    output = fn(*inputs)
    # a direction, not ones: for ones, a normalization's input gradient is zero, and rounding is all left to compare
    direction = np.random.default_rng(2).standard_normal(output.shape).astype(np.float32)
    first = mg.autograd.grad(output, inputs, mg.tensor(direction, device=device), create_graph=True)
    total = sum((g * g).sum() for g in first)
    return [g.numpy() for g in (*first, *mg.autograd.grad(total, inputs))]


@pytest.mark.parametrize("name", GPU_CASES)
def test_gpu_path_matches_cpu(name, gpu_path):
    """The formulas use no NumPy-only call: first and second gradients on the device as on the host (the GPU
    variant of the Charbonnier loss, with its own kernel, inherits the formula)."""
    fn, *shapes = GPU_CASES[name]
    arrays = [rng.uniform(0.1, 0.9, shape).astype(np.float32) for shape in shapes]
    cpu, gpu = (_second_gradients(fn, arrays, device) for device in ("cpu", "gpu"))
    for ours, reference in zip(gpu, cpu):
        assert relative_error(ours, reference) <= 1e-5


def test_ctc_loss_gradients_refuse_a_second_differentiation():
    """An op left without a formula: its create_graph gradients raise, naming it, when differentiated again."""
    log_probs = mg.tensor(rng.standard_normal((5, 2, 4)), requires_grad=True).log_softmax(2)
    loss = mg.functional.ctc_loss(log_probs, mg.tensor([[1, 2], [3, 3]]), mg.tensor([5, 5]), mg.tensor([2, 2]))
    (grad,) = mg.autograd.grad(loss, log_probs, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for the backward of CTCLossBackward0 is not implemented"):
        grad.sum().backward()
