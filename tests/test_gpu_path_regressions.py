"""Disagreements between the GPU code path and the CPU's, found by differential fuzzing on the CuPy stand-in: each
case here failed on the GPU path before its fix."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F

from conftest import relative_error

HALF_PRECISION_OPS = {  # ops with a kernel variant, on a dtype the kernels are not built for
    "conv2d": lambda x, w: F.conv2d(x, w, padding=1),
    "conv_transpose2d": lambda x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2),
    "max_pool2d": lambda x, w: F.max_pool2d(x, 2),
    "bilinear": lambda x, w: F.interpolate(x, scale_factor=2, mode="bilinear"),
    "relu": lambda x, w: F.relu(x),
    "sigmoid": lambda x, w: F.sigmoid(x),
    "sigmoid_gate": lambda x, w: F.sigmoid_gate(x, x.flip(-1), x.mean(dim=(2, 3), keepdim=True)),
    "charbonnier": lambda x, w: F.charbonnier_loss(x, x.flip(-1), reduction="none"),
}


def _float16_forward_backward(fn, device):
    rng = np.random.default_rng(0)
    x, w = (mg.tensor(rng.standard_normal(shape).astype(np.float16), requires_grad=True, device=device)
            for shape in ((2, 3, 6, 6), (4, 3, 3, 3)))
    out = fn(x, w)
    out.sum().backward()
    return out.numpy(), x.grad.numpy()


@pytest.mark.parametrize("name", HALF_PRECISION_OPS)
def test_float16_takes_the_array_path_on_the_gpu(name, gpu_path):
    """The kernels are built for float32 and float64: a float16 tensor's op ran them and failed (KeyError)."""
    fn = HALF_PRECISION_OPS[name]
    for ours, reference in zip(_float16_forward_backward(fn, "gpu"), _float16_forward_backward(fn, "cpu")):
        assert ours.dtype == reference.dtype == np.float16
        np.testing.assert_allclose(ours.astype(np.float32), reference.astype(np.float32), rtol=2e-3, atol=2e-3)


def _adam_steps(device, steps=3):
    """AdamW over a transposed (non-contiguous) parameter, a float16 one and a plain one."""
    rng = np.random.default_rng(0)
    transposed = mg.nn.Parameter(mg.tensor(rng.standard_normal((3, 4)).astype(np.float32), device=device).T)
    half = mg.nn.Parameter(mg.tensor(rng.standard_normal(5).astype(np.float16), device=device))
    plain = mg.nn.Parameter(mg.tensor(rng.standard_normal((2, 3)).astype(np.float32), device=device))
    params = [transposed, half, plain]
    optimizer = mg.optim.AdamW(params, lr=0.1, weight_decay=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        sum((param.float() ** 2 * float(index + 1)).sum() for index, param in enumerate(params)).backward()
        optimizer.step()
    return [param.detach().numpy() for param in params]


def test_adam_steps_parameters_the_kernel_cannot_read(gpu_path):
    """The GPU's one-launch Adam took every parameter of a group: a non-contiguous one stopped the step (ValueError),
    a float16 one too (KeyError). Those take the array path now, the others the kernel still."""
    gpu_path.launches.clear()
    for ours, reference in zip(_adam_steps("gpu"), _adam_steps("cpu")):
        assert ours.dtype == reference.dtype
        assert relative_error(ours, reference) <= (2e-3 if ours.dtype == np.float16 else 1e-5)
    assert "adam" in gpu_path.launches


CONSTANTS = {  # each made on the device (on the CPU too, for the values)
    "zeros": lambda device: mg.zeros(40, 30, device=device),
    "ones": lambda device: mg.ones((40, 30), dtype=mg.float64, device=device),
    "full": lambda device: mg.full((40, 30), 2.5, device=device),
    "full_int": lambda device: mg.full((40, 30), 7, device=device),
    "eye": lambda device: mg.eye(40, 30, device=device),
    "empty": lambda device: mg.empty(40, 30, dtype=mg.int32, device=device),
    "zeros_like": lambda device: mg.zeros_like(mg.eye(40, 30, device=device)),
    "ones_like": lambda device: mg.ones_like(mg.eye(40, 30, device=device)),
    "full_like": lambda device: mg.full_like(mg.eye(40, 30, device=device), True),
}


@pytest.mark.parametrize("name", CONSTANTS)
def test_constant_tensors_are_made_on_the_device(name, fake_gpu):
    """zeros, ones, full, eye and their _like versions were made on the host and copied to the GPU whole (max_unpool
    made its output so), a copy that waits for the GPU's queue: now none crosses."""
    import fake_cupy
    expected = CONSTANTS[name]("cpu").numpy()
    fake_cupy.HOST_COPIES.clear()
    made = CONSTANTS[name]("gpu")
    assert fake_cupy.HOST_COPIES == [] and made.device == "gpu"
    assert made.dtype == expected.dtype
    np.testing.assert_array_equal(made.numpy(), expected)


# Singular in float32 (its last row twice its first), where NumPy's LAPACK meets an exact zero pivot and SciPy's
# (zero_pivots) does not: the two judged it otherwise.
SINGULAR_IN_FLOAT32 = [[-0.6538286209106445, -0.12961363792419434, 0.7839754819869995],
                       [1.4934310913085938, -1.2590655088424683, 1.5139237642288208],
                       [-1.307657241821289, -0.25922727584838867, 1.567950963973999]]


def _outcome(call):
    try:
        return call().numpy()
    except Exception as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("name", ["inv", "solve"])
def test_a_failed_solver_gives_one_result_on_every_device(name, gpu_path):
    """Where xp's solver failed and zero_pivots found no singular matrix, the CPU raised NumPy's bare 'Singular
    matrix' (inv) or gave NaN (solve), and the GPU path gave CuPy's unchecked result, which had failed its check
    (zeros on the stand-in): now both take the host's getrf and getrs, whose verdict zero_pivots shares."""
    def call(device):
        a = mg.tensor(np.array(SINGULAR_IN_FLOAT32, np.float32), device=device)
        return mg.linalg.inv(a) if name == "inv" else mg.linalg.solve(a, mg.ones(3, device=device))
    cpu, gpu = (_outcome(lambda: call(device)) for device in ("cpu", "gpu"))
    assert not isinstance(cpu, str) or "Singular matrix" not in cpu
    if isinstance(cpu, str) or isinstance(gpu, str):
        assert gpu == cpu
    else:
        assert np.isfinite(cpu).all() and relative_error(gpu, cpu) <= 1e-5


def test_causal_attention_makes_its_mask_on_the_device(fake_gpu):
    """scaled_dot_product_attention(is_causal=True) made its (L, S) mask with NumPy and copied it to the GPU at every
    call."""
    import fake_cupy
    rng = np.random.default_rng(0)
    query, key, value = (rng.standard_normal(shape).astype(np.float32) for shape in ((2, 5, 4), (2, 7, 4), (2, 7, 3)))
    expected = F.scaled_dot_product_attention(*map(mg.tensor, (query, key, value)), is_causal=True).numpy()
    on_device = [mg.tensor(array, device="gpu") for array in (query, key, value)]
    fake_cupy.HOST_COPIES.clear()
    attended = F.scaled_dot_product_attention(*on_device, is_causal=True)
    assert [shape for shape in fake_cupy.HOST_COPIES if shape] == []
    np.testing.assert_allclose(attended.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_a_gpu_tensor_takes_an_index_tensor_held_on_the_host(gpu_path):
    """As torch's CUDA tensors take CPU index tensors: positions, a mask and a setitem's positions, read, written
    (recorded and not) and differentiated through; the index was a NumPy array inside a CuPy operation."""
    values = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    positions, mask = mg.tensor([2, 0, 2]), mg.tensor([True, False, True, False])
    results = {}
    for device in ("cpu", "gpu"):
        x = mg.tensor(values, requires_grad=True, device=device)
        picked = x[positions] * 2 + x[mask].sum()
        written = x * 1
        written[positions, 1] = 5.0
        (picked.sum() + written.sum()).backward()
        plain = mg.tensor(values, device=device)
        plain[mask] = 0.0
        results[device] = [picked.numpy(), written.numpy(), x.grad.numpy(), plain.numpy()]
    for ours, reference in zip(results["gpu"], results["cpu"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-6)
