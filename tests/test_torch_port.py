"""A typical PyTorch CNN, written once against the shared `nn` API and built with torch and with minigrad: the
same weights give the same outputs, and a few training steps stay together (the layers' own tests check each
layer; this checks that they compose as a ported program uses them)."""
import numpy as np
import pytest

import minigrad as mg
from conftest import eval_outputs, relative_error

torch = pytest.importorskip("torch")


def classifier(nn, dropout):
    """(N, 3, 16, 16) images -> (N, 10) logits: BatchNorm (no conv bias ahead of it: its gradient would be zero,
    which Adam turns into steps of rounding noise), a depthwise-separable block, padded max-pooling, a
    dilated conv with GroupNorm, average pooling, dropout and a LayerNorm'd head."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),       # (N, 16, 16, 16)
        nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),                          # depthwise
        nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),                 # pointwise: (N, 32, 16, 16)
        nn.MaxPool2d(3, stride=2, padding=1),                                            # (N, 32, 8, 8)
        nn.Conv2d(32, 32, 3, padding=2, dilation=2), nn.GroupNorm(4, 32), nn.ReLU(),     # (N, 32, 8, 8)
        nn.AvgPool2d(2),                                                                 # (N, 32, 4, 4)
        nn.Dropout(dropout), nn.Flatten(),                                               # (N, 512)
        nn.Linear(512, 64), nn.LayerNorm(64), nn.ReLU(), nn.Linear(64, 10),              # (N, 10)
    )


def twins(dropout):
    torch.manual_seed(0)
    reference = classifier(torch.nn, dropout)
    with torch.no_grad():  # BatchNorm's running statistics away from their defaults, so eval mode tests them
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    model = classifier(mg.nn, dropout)
    model.load_state_dict({name: value.numpy() for name, value in reference.state_dict().items()})
    return model, reference


def batch(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((6, 3, 16, 16)).astype(np.float32), rng.integers(0, 10, 6)


def test_a_ported_network_in_evaluation_mode_gives_torchs_outputs():
    model, reference = twins(dropout=0.5)
    assert relative_error(*eval_outputs(model, reference, batch(0)[0])) < 1e-5


def test_a_ported_network_trains_as_torchs():
    """Five AdamW steps on cross-entropy in training mode (batch statistics; dropout off, since the two libraries
    draw other masks): the losses, the parameters and BatchNorm's running statistics stay torch's. Adam steps a
    weight whose gradient is rounding noise by up to lr either way, so each tensor is compared with how far the
    steps moved it."""
    model, reference = twins(dropout=0.0)
    initial = {name: value.numpy().copy() for name, value in reference.state_dict().items()}
    optimizer = mg.optim.AdamW(model.parameters(), lr=1e-3)
    torch_optimizer = torch.optim.AdamW(reference.parameters(), lr=1e-3)
    for step in range(5):
        images, labels = batch(step)
        loss = mg.functional.cross_entropy(model(mg.tensor(images)), mg.tensor(labels))
        expected = torch.nn.functional.cross_entropy(reference(torch.tensor(images)), torch.tensor(labels))
        assert abs(loss.item() - expected.item()) < 1e-5 * max(1.0, abs(expected.item()))
        optimizer.zero_grad(), torch_optimizer.zero_grad()
        loss.backward(), expected.backward()
        optimizer.step(), torch_optimizer.step()
    ours = model.state_dict()
    for name, value in reference.state_dict().items():
        moved = np.abs(value.numpy() - initial[name]).max()
        assert moved > 0 and np.abs(ours[name].numpy() - value.numpy()).max() <= 1e-2 * moved, name
