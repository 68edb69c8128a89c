"""Gradients of gradients through the whole U-Net and its training loss, against the PyTorch build: a gradient
penalty on the input (the squared norm of d loss / d image, trained as WGAN-GP trains a critic) backpropagated to
every weight, and float64 gradchecks of the SCA and non-local blocks' input gradients."""
import numpy as np
import pytest

import minigrad as mg
from double_backward import check_gradgrad
from unet import SCA, NonLocal, RestorationLoss, UNet

torch = pytest.importorskip("torch")
from unet import torch_reference as tr  # noqa: E402


def _penalty_gradients(library, model, loss, image, target, device="cpu"):
    """The gradients of ||d loss(model(image), target) / d image||^2 with respect to the model's weights."""
    image = library.tensor(image, requires_grad=True, device=device)
    target = library.tensor(target, device=device)
    (image_grad,) = library.autograd.grad(loss(model(image), target), image, create_graph=True)
    (image_grad * image_grad).sum().backward()
    return {name: p.grad.numpy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("mode", ["published", "softmax"])
def test_an_input_gradient_penalty_trains_the_weights_as_torchs(mode):
    mg.manual_seed(0)
    model = UNet(nonlocal_mode=mode)
    reference = tr.to_torch(model).train()
    rng = np.random.default_rng(0)
    image, target = (rng.random((1, 3, 16, 16)).astype(np.float32) for _ in range(2))
    ours = _penalty_gradients(mg, model, lambda x, y: RestorationLoss()(x, y)[0], image, target)
    theirs = _penalty_gradients(torch, reference, lambda x, y: tr.restoration_loss(x, y)[0], image, target)
    scale = max(np.abs(g).max() for g in theirs.values())
    for name, grad in ours.items():
        # float32 rounding, relative to each weight's gradient, or to the largest where a gradient is tiny (a gate's
        # bias at 1e-7); the softmax form's phi bias has a true gradient of 0, where both give rounding noise alone
        tolerance = 1e-3 * np.abs(theirs[name]).max() + 1e-5 * scale
        assert np.abs(grad - theirs[name]).max() <= tolerance, name


def test_the_penalty_on_the_gpu_path_trains_the_weights_as_on_the_cpu(gpu_path):
    mg.manual_seed(0)
    model = UNet()
    rng = np.random.default_rng(0)
    image, target = (rng.random((1, 3, 16, 16)).astype(np.float32) for _ in range(2))
    loss = lambda x, y: RestorationLoss()(x, y)[0]  # noqa: E731
    on_the_cpu = _penalty_gradients(mg, model, loss, image, target)
    model.zero_grad()
    on_the_gpu = _penalty_gradients(mg, model.to("gpu"), loss, image, target, device="gpu")
    assert {"im2col", "col2im"} <= set(gpu_path.launches)  # the convs and their gradient ops ran the GPU kernels
    scale = max(np.abs(g).max() for g in on_the_cpu.values())
    for name, grad in on_the_gpu.items():
        assert np.abs(grad - on_the_cpu[name]).max() <= 1e-4 * np.abs(on_the_cpu[name]).max() + 1e-6 * scale, name


@pytest.mark.parametrize("block, channels", [(lambda: SCA(8, reduction=4), 8),
                                             (lambda: NonLocal(4, mode="softmax"), 4),
                                             (lambda: NonLocal(4, mode="published"), 4)],
                         ids=["sca", "nonlocal-softmax", "nonlocal-published"])
def test_attention_blocks_input_gradients_gradcheck(block, channels):
    mg.manual_seed(0)
    module = block().to(np.float64)
    check_gradgrad(lambda library, x: module(x), np.random.default_rng(1).standard_normal((1, channels, 4, 4)))
