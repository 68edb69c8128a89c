"""NaN and inf through backward, as torch: where torch masks a gradient (relu, clamp, max, max pooling, ignored
targets) a NaN or inf coming from above stops there, not 0 * NaN; and a NaN input takes the branch torch's own
comparison sends it to (elu's NaN takes the linear slope, prelu's the weight). A training run that meets one bad
value then spreads it where torch's would not."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF

torch = pytest.importorskip("torch")

NAN, INF = math.nan, math.inf
# the kinks and bounds of the ops below, a NaN, and values past them
INPUTS = [[NAN, -3.0, -1.0, -0.5, 0.0, 0.5], [1.0, 3.0, 6.0, -7.0, 7.0, 7.0]]

CASES = {
    "relu": lambda L, F, x: F.relu(x),
    "relu6": lambda L, F, x: F.relu6(x),
    "leaky_relu": lambda L, F, x: F.leaky_relu(x, 0.1),
    "elu": lambda L, F, x: F.elu(x),
    "selu": lambda L, F, x: F.selu(x),
    "celu": lambda L, F, x: F.celu(x, 0.5),
    "hardtanh": lambda L, F, x: F.hardtanh(x),
    "hardswish": lambda L, F, x: F.hardswish(x),
    "hardsigmoid": lambda L, F, x: F.hardsigmoid(x),
    "softshrink": lambda L, F, x: F.softshrink(x, 0.5),
    "hardshrink": lambda L, F, x: F.hardshrink(x, 0.5),
    "prelu": lambda L, F, x: F.prelu(x, L.tensor([0.25])),
    "clamp": lambda L, F, x: x.clamp(-1, 1),
    "clamp_min": lambda L, F, x: x.clamp(min=0.0),
    "clamp_max": lambda L, F, x: x.clamp(max=0.0),
    "clamp_tensors": lambda L, F, x: x.clamp(L.zeros(6) - 1, L.ones(6)),
    "maximum": lambda L, F, x: L.maximum(x, x.flip(1)),
    "minimum": lambda L, F, x: L.minimum(x, x.flip(0)),
    "abs": lambda L, F, x: x.abs(),
    "max": lambda L, F, x: x.max().reshape(1),
    "max_dim": lambda L, F, x: x.max(1)[0],
    "min_dim": lambda L, F, x: x.min(0)[0],
    "amax": lambda L, F, x: x.amax(1),
    "amin": lambda L, F, x: x.amin(0),
    "nll_loss_ignored": lambda L, F, x: F.nll_loss(x, L.tensor([0, 1], device=x.device), reduction="none", ignore_index=1),
    "cross_entropy_ignored": lambda L, F, x: F.cross_entropy(x, L.tensor([0, 1]), reduction="none", ignore_index=0),
}


def _values_and_gradient(lib, functional, fn, upstream):
    x = lib.tensor(INPUTS, requires_grad=True)
    out = fn(lib, functional, x)
    grad = np.full(tuple(out.shape), upstream, dtype=np.float32)
    grad.reshape(-1)[::2] = 1.0                                         # finite beside the bad values
    out.backward(lib.tensor(grad))
    to_numpy = (lambda t: t.numpy()) if lib is mg else (lambda t: t.detach().numpy())
    return to_numpy(out), to_numpy(x.grad)


@pytest.mark.parametrize("upstream", [NAN, INF, -INF, 2.0])
@pytest.mark.parametrize("name", sorted(CASES))
def test_nonfinite_values_go_through_backward_as_torchs(name, upstream):
    ours = _values_and_gradient(mg, mgF, CASES[name], upstream)
    theirs = _values_and_gradient(torch, torch.nn.functional, CASES[name], upstream)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_sign_of_nan_is_zero_as_torchs():
    values = [NAN, -INF, -2.0, -0.0, 0.0, 3.0, INF]
    for dtype in ("float32", "float64"):
        np.testing.assert_array_equal(mg.tensor(values, dtype=dtype).sign().numpy(),
                                      torch.tensor(values, dtype=getattr(torch, dtype)).sign().numpy())


@pytest.mark.parametrize("name", ["relu", "hardtanh", "clamp", "maximum", "max_dim", "nll_loss_ignored"])
def test_the_gpu_path_masks_gradients_as_the_cpu(name, gpu_path):
    def run(device):
        x = mg.tensor(INPUTS, requires_grad=True, device=device)
        out = CASES[name](mg, mgF, x)
        grad = np.full(tuple(out.shape), NAN, dtype=np.float32)
        grad.reshape(-1)[::2] = 1.0
        out.backward(mg.tensor(grad, device=device))
        return x.grad.numpy()

    np.testing.assert_array_equal(run("gpu"), run("cpu"))


@pytest.mark.parametrize("pool", [
    lambda F, x: F.max_pool2d(x, 2),                                    # disjoint windows
    lambda F, x: F.max_pool2d(x, 3, 1, 1),                              # overlapping
    lambda F, x: F.max_pool3d(x.unsqueeze(2).expand(-1, -1, 2, -1, -1), 2),
    lambda F, x: F.adaptive_max_pool2d(x, 3),
])
def test_max_pooling_gives_no_gradient_to_the_losers_where_it_is_nan(pool):
    image = np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6) % 7
    image[0, 0, 1, 1] = NAN

    def gradient(lib, functional):
        x = lib.tensor(image, requires_grad=True)
        out = pool(functional, x)
        upstream = np.full(tuple(out.shape), NAN, dtype=np.float32)
        upstream.reshape(-1)[::2] = 1.0
        out.backward(lib.tensor(upstream))
        return x.grad.numpy()

    np.testing.assert_array_equal(gradient(mg, mgF), gradient(torch, torch.nn.functional))
