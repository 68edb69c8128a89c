"""One table of op specs drives the float64 gradchecks, the torch parity tests and the CPU/GPU agreement.

Each spec's function is written once against the shared torch/minigrad API and called with either
library, so the same code is the op under test and the reference call.
"""
import types
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
from minigrad import memory, parallel, profiler
from minigrad.ops import conv
from conftest import relative_error, requires_gpu

MG = types.SimpleNamespace(F=mgF, cat=mg.cat, stack=mg.stack, charbonnier_loss=mgF.charbonnier_loss,
                           sigmoid_gate=mgF.sigmoid_gate)


def _torch_namespace(torch):
    """torch's side of the API; minigrad's fused ops are the chains of the PyTorch reference build."""
    from unet import torch_reference

    return types.SimpleNamespace(
        F=torch.nn.functional, cat=torch.cat, stack=torch.stack,
        charbonnier_loss=torch_reference.charbonnier, sigmoid_gate=torch_reference.sigmoid_gate,
    )


@dataclass
class OpSpec:
    name: str
    fn: object                 # fn(lib, *tensors) -> tensor, lib has .F and .cat
    shapes: list
    low: float = -2.0          # inputs are drawn uniformly from [low, high]
    high: float = 2.0
    rtol: float = 1e-5
    gradcheck_shapes: list = field(default=None)  # smaller shapes for the per-element gradcheck
    integers: bool = False     # draw integers from [low, high] instead, so that values tie


def _interp(**kw):
    return lambda L, a: L.F.interpolate(a, mode="bilinear", **kw)


SPECS = [
    # elementwise, with broadcasting
    OpSpec("add_broadcast", lambda L, a, b: a + b, [(3, 1, 5), (4, 5)]),
    OpSpec("sub_broadcast", lambda L, a, b: a - b, [(2, 3, 4), (3, 1)]),
    OpSpec("mul_broadcast", lambda L, a, b: a * b, [(2, 1, 4), (3, 1)]),
    OpSpec("mul_broadcast_leading_one", lambda L, a, b: a * b, [(1, 3, 4), (5, 3, 4)]),
    OpSpec("mul_batch_of_one", lambda L, a, b: a * b, [(1, 5, 4), (1, 5, 1)]),
    OpSpec("div_broadcast", lambda L, a, b: a / b, [(2, 3, 4), (1, 4)], low=0.5, high=2.0),
    OpSpec("scalar_arith", lambda L, a: (2.5 - a) * 3 + 1 / (a + 3), [(3, 4)]),
    OpSpec("pow_square", lambda L, a: a ** 2, [(3, 4)]),
    OpSpec("pow_sqrt_like", lambda L, a: a ** 0.5, [(3, 4)], low=0.5),
    OpSpec("pow_negative", lambda L, a: a ** -1.5, [(3, 4)], low=0.5),
    OpSpec("pow_tensor", lambda L, a, b: a ** b, [(3, 4), (3, 4)], low=0.5),
    OpSpec("neg", lambda L, a: -a, [(3, 4)]),
    OpSpec("neg_method", lambda L, a: a.neg(), [(3, 4)]),
    OpSpec("exp", lambda L, a: a.exp(), [(3, 4)]),
    OpSpec("log", lambda L, a: a.log(), [(3, 4)], low=0.2),
    OpSpec("sqrt", lambda L, a: a.sqrt(), [(3, 4)], low=0.2),
    OpSpec("abs", lambda L, a: a.abs(), [(3, 4)]),
    OpSpec("clamp", lambda L, a: a.clamp(min=-0.5, max=0.7), [(4, 5)]),
    OpSpec("clamp_min_only", lambda L, a: a.clamp(min=0.1), [(4, 5)]),
    # reductions
    OpSpec("sum_all", lambda L, a: a.sum(), [(3, 4, 5)]),
    OpSpec("sum_dim_keepdim", lambda L, a: a.sum(dim=1, keepdim=True), [(3, 4, 5)]),
    OpSpec("mean_dims", lambda L, a: a.mean(dim=(0, 2)), [(3, 4, 5)]),
    OpSpec("mean_all", lambda L, a: a.mean(), [(3, 4, 5)]),
    OpSpec("max_dim", lambda L, a: a.max(dim=1)[0], [(3, 4, 5)]),
    OpSpec("max_dim_keepdim", lambda L, a: a.max(dim=-1, keepdim=True)[0], [(3, 4, 5)]),
    OpSpec("max_all", lambda L, a: a.max(), [(3, 4, 5)]),
    # shape ops
    OpSpec("reshape", lambda L, a: a.reshape(4, 15) * a.reshape(4, 15), [(3, 4, 5)]),
    OpSpec("view_raw", lambda L, a: a.view(2, 5, 6), [(3, 4, 5)]),
    OpSpec("permute", lambda L, a: a.permute(2, 0, 1), [(3, 4, 5)]),
    OpSpec("transpose", lambda L, a: a.transpose(1, 2), [(3, 4, 5)]),
    OpSpec("cat", lambda L, a, b: L.cat([a, b, a], dim=1), [(2, 3, 4), (2, 1, 4)]),
    OpSpec("cat_dim0", lambda L, a, b: L.cat([a, b], dim=0), [(2, 3, 4), (1, 3, 4)]),
    OpSpec("stack", lambda L, a, b: L.stack([a, b], dim=0), [(2, 3), (2, 3)]),
    OpSpec("getitem_slices", lambda L, a: a[1:, ::2, -3:], [(3, 4, 5)]),
    OpSpec("getitem_int", lambda L, a: a[1, :, 2], [(3, 4, 5)]),
    OpSpec("getitem_repeats", lambda L, a: a[[0, 2, 0, 0]], [(3, 4)]),
    OpSpec("unsqueeze_flatten", lambda L, a: a.unsqueeze(1).flatten(1), [(3, 4, 5)]),
    # matmul
    OpSpec("matmul", lambda L, a, b: a @ b, [(4, 5), (5, 3)]),
    OpSpec("matmul_batched_broadcast", lambda L, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 6)]),
    OpSpec("matmul_batch_leading_one", lambda L, a, b: a @ b, [(1, 3, 4, 5), (1, 3, 5, 2)]),
    # convolution: stride/padding combinations, odd sizes, with and without bias
    OpSpec("conv3x3_pad1", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1), [(2, 3, 9, 7), (4, 3, 3, 3), (4,)]),
    OpSpec("conv3x3_valid", lambda L, x, w: L.F.conv2d(x, w), [(2, 3, 9, 7), (4, 3, 3, 3)]),
    OpSpec("conv3x3_stride2_pad1", lambda L, x, w, b: L.F.conv2d(x, w, b, stride=2, padding=1), [(2, 3, 9, 8), (5, 3, 3, 3), (5,)]),
    OpSpec("conv5x5_stride2_pad0", lambda L, x, w: L.F.conv2d(x, w, stride=2), [(1, 2, 11, 10), (3, 2, 5, 5)]),
    OpSpec("conv1x1", lambda L, x, w, b: L.F.conv2d(x, w, b), [(2, 6, 5, 3), (4, 6, 1, 1), (4,)]),
    OpSpec("conv_wide", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1), [(2, 24, 8, 8), (16, 24, 3, 3), (16,)],
           gradcheck_shapes=[(1, 5, 5, 4), (3, 5, 3, 3), (3,)]),
    # the stride-1 fast path: odd batch split over threads, many channels, 1-channel 1-D kernels as in the
    # loss's separable blurs, and padding wider than the kernel reaches (its input gradient is cropped)
    OpSpec("conv3x3_many_channels_odd_batch", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1),
           [(3, 32, 10, 12), (32, 32, 3, 3), (32,)], gradcheck_shapes=[(3, 4, 5, 6), (5, 4, 3, 3), (5,)]),
    OpSpec("conv_shift_and_gemm", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1),
           [(3, 16, 7, 6), (16, 16, 3, 3), (16,)], gradcheck_shapes=[(1, 16, 3, 3), (16, 16, 2, 2), (16,)]),
    OpSpec("conv_1ch_tall_kernel", lambda L, x, w: L.F.conv2d(x, w), [(6, 1, 13, 9), (1, 1, 11, 1)],
           gradcheck_shapes=[(3, 1, 12, 3), (1, 1, 11, 1)]),
    OpSpec("conv_1ch_wide_kernel", lambda L, x, w: L.F.conv2d(x, w), [(6, 1, 9, 13), (1, 1, 1, 5)]),
    OpSpec("conv1x5_pad1_beyond_kernel_height", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1),
           [(2, 3, 5, 7), (4, 3, 1, 5), (4,)]),
    OpSpec("conv1x1_pad1", lambda L, x, w, b: L.F.conv2d(x, w, b, padding=1), [(2, 3, 4, 5), (2, 3, 1, 1), (2,)]),
    # pooling and resizing
    OpSpec("max_pool2", lambda L, x: L.F.max_pool2d(x, 2), [(2, 3, 8, 6)]),
    OpSpec("max_pool2_odd", lambda L, x: L.F.max_pool2d(x, 2), [(2, 3, 9, 7)]),
    OpSpec("max_pool3_stride2_overlap", lambda L, x: L.F.max_pool2d(x, 3, 2), [(2, 3, 9, 8)]),
    OpSpec("max_pool3_stride1", lambda L, x: L.F.max_pool2d(x, 3, 1), [(1, 2, 6, 5)]),
    OpSpec("upsample2_align_true", _interp(scale_factor=2, align_corners=True), [(2, 3, 5, 4)]),
    OpSpec("upsample2_align_false", _interp(scale_factor=2, align_corners=False), [(2, 3, 5, 4)]),
    OpSpec("upsample_frac_align_false", _interp(scale_factor=1.5, align_corners=False), [(1, 2, 6, 5)]),
    OpSpec("resize_size_align_true", _interp(size=(7, 3), align_corners=True), [(1, 2, 5, 4)]),
    OpSpec("resize_size_align_false", _interp(size=(7, 3), align_corners=False), [(1, 2, 5, 4)]),
    OpSpec("downsize_align_false", _interp(size=(3, 2), align_corners=False), [(1, 2, 7, 5)]),
    OpSpec("adaptive_avg_pool1", lambda L, x: L.F.adaptive_avg_pool2d(x, 1), [(2, 3, 5, 4)]),
    OpSpec("adaptive_avg_pool2", lambda L, x: L.F.adaptive_avg_pool2d(x, 2), [(2, 3, 6, 4)]),
    # activations
    OpSpec("relu", lambda L, x: L.F.relu(x), [(3, 4, 5)]),
    OpSpec("sigmoid", lambda L, x: L.F.sigmoid(x), [(3, 4, 5)], low=-8, high=8),
    OpSpec("sigmoid_gate", lambda L, x, logits, w: L.sigmoid_gate(x, logits, w), [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 1, 1)],
           low=-4, high=4),
    OpSpec("softmax_last", lambda L, x: L.F.softmax(x, dim=-1), [(3, 4, 5)], low=-5, high=5),
    OpSpec("softmax_dim1", lambda L, x: L.F.softmax(x, dim=1), [(3, 4, 5)], low=-5, high=5),
    OpSpec("softmax_dim0", lambda L, x: L.F.softmax(x, dim=0), [(3, 4, 5)], low=-5, high=5),
    # losses
    OpSpec("charbonnier_loss", lambda L, x, y: L.charbonnier_loss(x, y), [(2, 3, 4, 5), (2, 3, 4, 5)]),
    # padding
    OpSpec("pad_replicate", lambda L, x: L.F.pad(x, (2, 1, 3, 2), mode="replicate"), [(2, 3, 4, 5)]),
    OpSpec("pad_reflect", lambda L, x: L.F.pad(x, (2, 1, 3, 2), mode="reflect"), [(2, 3, 4, 5)]),
    OpSpec("pad_constant", lambda L, x: L.F.pad(x, (1, 2, 0, 1), mode="constant", value=0.5), [(2, 3, 4, 5)]),
]
IDS = [spec.name for spec in SPECS]


def _inputs(spec, dtype, shapes=None, seed=0):
    rng = np.random.default_rng(seed)
    draw = rng.integers if spec.integers else rng.uniform
    return [draw(spec.low, spec.high, size=shape).astype(dtype) for shape in (shapes or spec.shapes)]


def _mg_tensors(arrays, device="cpu"):
    return [mg.tensor(a, requires_grad=True, device=device) for a in arrays]


def _mg_forward_backward(spec, arrays, direction, device="cpu"):
    tensors = _mg_tensors(arrays, device)
    out = spec.fn(MG, *tensors)
    (out * mg.tensor(direction, device=device)).sum().backward()
    return out.numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradcheck_float64(spec):
    tensors = _mg_tensors(_inputs(spec, np.float64, spec.gradcheck_shapes))
    assert mg.gradcheck(lambda *ts: spec.fn(MG, *ts), tensors)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_matches_torch_float32(spec):
    _assert_matches_torch(spec)


# Ops whose passes split over the worker threads once big enough; the specs' small shapes only take
# that path with the size floor removed, and convs split their images into one-row blocks.
THREAD_SPLIT = ["add_broadcast", "sub_broadcast", "mul_broadcast", "mul_broadcast_leading_one", "mul_batch_of_one",
                "relu", "sigmoid", "sigmoid_gate", "charbonnier_loss", "conv3x3_pad1", "conv3x3_stride2_pad1", "conv_shift_and_gemm", "conv_1ch_tall_kernel", "max_pool2_odd",
                "max_pool3_stride2_overlap", "matmul", "matmul_batched_broadcast", "matmul_batch_leading_one", "softmax_last",
                "softmax_dim1", "softmax_dim0", "cat", "cat_dim0", "stack"]


@pytest.mark.parametrize("name", THREAD_SPLIT)
def test_thread_split_matches_torch_float32(name, monkeypatch):
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(conv, "COLUMN_BLOCK_BYTES", 1)
    threads = parallel.get_num_threads()
    parallel.set_num_threads(2)
    try:
        _assert_matches_torch(SPECS[IDS.index(name)])
    finally:
        parallel.set_num_threads(threads)


def _nan_filled(xp, shape, dtype):
    out = xp.empty(shape, dtype=dtype)
    out.fill(np.nan if np.dtype(dtype).kind == "f" else -1)
    return out


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_uninitialised_memory_is_always_overwritten(spec, monkeypatch):
    """Ops that take memory.empty (pooled, possibly stale) buffers must write every element they hand on."""
    monkeypatch.setattr(memory, "empty", _nan_filled)
    _assert_matches_torch(spec)


# Integer inputs tie often: each window's gradient must go to its first maximal tap, as in torch. (No
# gradcheck: a tie has no derivative.)
TIE_SPECS = [OpSpec(f"max_pool{size}_stride{stride}_ties", lambda L, x, size=size, stride=stride: L.F.max_pool2d(x, size, stride),
                    [(2, 3, 9, 8)], low=0, high=3, integers=True) for size, stride in [(2, 2), (3, 2), (3, 1), (2, 3)]]


@pytest.mark.parametrize("spec", TIE_SPECS, ids=[spec.name for spec in TIE_SPECS])
def test_max_pool_ties_match_torch_float32(spec, monkeypatch):
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    _assert_matches_torch(spec)


def _assert_matches_torch(spec):
    torch = pytest.importorskip("torch")
    torch_lib = _torch_namespace(torch)
    arrays = _inputs(spec, np.float32)

    torch_inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_out = spec.fn(torch_lib, *torch_inputs)
    direction = np.random.default_rng(1).standard_normal(tuple(torch_out.shape)).astype(np.float32)
    (torch_out * torch.tensor(direction)).sum().backward()

    out, grads = _mg_forward_backward(spec, arrays, direction)
    assert out.dtype == np.float32, f"{spec.name} promoted float32 to {out.dtype}"
    assert relative_error(out, torch_out.detach().numpy()) <= spec.rtol
    for i, (grad, torch_input) in enumerate(zip(grads, torch_inputs)):
        assert grad.dtype == np.float32
        assert relative_error(grad, torch_input.grad.numpy()) <= spec.rtol, f"gradient of input {i}"


# Ops with a GPU variant (minigrad.kernels). With the kernels built for the host, the same checks run
# the GPU code paths on NumPy arrays, so their index arithmetic is tested without a GPU.
KERNEL_SPECS = [spec for spec in SPECS if spec.name.startswith(
    ("conv", "max_pool", "upsample", "resize", "downsize", "relu", "sigmoid", "charbonnier"))]


def _assert_gpu_variants_ran(stats):
    assert any(name.endswith("Kernels") for name, _ in stats.calls), f"no GPU variant among {sorted(stats.calls)}"


@pytest.mark.parametrize("spec", KERNEL_SPECS, ids=[spec.name for spec in KERNEL_SPECS])
def test_gpu_kernels_gradcheck_float64_on_host(spec, host_kernels):
    with profiler.profile() as stats:
        test_gradcheck_float64(spec)
    _assert_gpu_variants_ran(stats)


@pytest.mark.parametrize("spec", KERNEL_SPECS, ids=[spec.name for spec in KERNEL_SPECS])
def test_gpu_kernels_match_torch_float32_on_host(spec, host_kernels):
    with profiler.profile() as stats:
        _assert_matches_torch(spec)
    _assert_gpu_variants_ran(stats)


@requires_gpu
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gpu_matches_cpu(spec):
    arrays = _inputs(spec, np.float32)
    cpu_out, cpu_grads = _mg_forward_backward(spec, arrays, np.ones(1, np.float32))
    gpu_out, gpu_grads = _mg_forward_backward(spec, arrays, np.ones(1, np.float32), device="gpu")
    assert relative_error(gpu_out, cpu_out) <= 1e-5
    for gpu_grad, cpu_grad in zip(gpu_grads, cpu_grads):
        assert relative_error(gpu_grad, cpu_grad) <= 1e-5
