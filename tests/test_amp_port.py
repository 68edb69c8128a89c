"""Mixed-precision training as ported scripts write it: autocast regions and the GradScaler, against torch's (CPU)."""
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F
from conftest import relative_error

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 4)).astype(np.float32)
B = RNG.standard_normal((4, 4)).astype(np.float32)
IMAGES = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
KERNELS = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
TARGETS = np.array([0, 3, 1, 2])


def _tensors(lib, *arrays):
    return [lib.tensor(array) for array in arrays]


# the same call on torch and minigrad (lib), a of either dtype, b float32: torch's autocast category decides the dtype
OPS = {
    "matmul": lambda lib, a, b: a @ b,
    "mm": lambda lib, a, b: lib.mm(a, b),
    "bmm": lambda lib, a, b: lib.bmm(a[None], b[None]),
    "addmm": lambda lib, a, b: lib.addmm(b, a, b),
    "baddbmm": lambda lib, a, b: lib.baddbmm(b[None], a[None], b[None]),
    "linear": lambda lib, a, b: lib.nn.functional.linear(a, b, b[0]),
    "conv2d": lambda lib, a, b: lib.nn.functional.conv2d(lib.tensor(IMAGES).to(a.dtype), lib.tensor(KERNELS)),
    "prelu": lambda lib, a, b: lib.nn.functional.prelu(a, b[0, :1]),
    "sdpa": lambda lib, a, b: lib.nn.functional.scaled_dot_product_attention(a[None], b[None], b[None]),
    "mv": lambda lib, a, b: lib.mv(a, b[0]),
    "softmax": lambda lib, a, b: lib.softmax(a, -1),
    "layer_norm": lambda lib, a, b: lib.nn.functional.layer_norm(a, (4,), b[0], b[1]),
    "exp": lambda lib, a, b: a.exp(),
    "pow": lambda lib, a, b: a ** 2,
    "sum": lambda lib, a, b: a.sum(),
    "cumsum": lambda lib, a, b: a.cumsum(0),
    "prod": lambda lib, a, b: a.prod(),
    "mse_loss": lambda lib, a, b: lib.nn.functional.mse_loss(a, b),
    "cross_entropy": lambda lib, a, b: lib.nn.functional.cross_entropy(a, lib.tensor(TARGETS)),
    "cdist": lambda lib, a, b: lib.cdist(a, b),
    "tensordot": lambda lib, a, b: lib.tensordot(a, b, 1),
    "inv": lambda lib, a, b: lib.linalg.inv(a),
    "trace": lambda lib, a, b: a.trace(),
    "cat": lambda lib, a, b: lib.cat([a, b.half()]),
    "stack": lambda lib, a, b: lib.stack([a.half(), b]),
}
# torch's CUDA lists where they differ from its CPU ones, which this CPU-only torch cannot show: the dtype of each op's
# result for a float32 and a float16 input
CUDA_DTYPES = {"matmul": ("float16", "float16"), "mv": ("float16", "float16"), "softmax": ("float32", "float32"),
               "sum": ("float32", "float32"), "pow": ("float32", "float32"), "exp": ("float32", "float32"),
               "layer_norm": ("float32", "float32"), "cumsum": ("float32", "float32"), "cat": ("float32", "float16")}


def _autocast_result(lib, name, dtype, device_type="cpu"):
    a, b = _tensors(lib, A, B)
    with lib.autocast(device_type, dtype=lib.float16):
        return OPS[name](lib, a.to(dtype), b)


@pytest.mark.parametrize("name", OPS)
def test_autocast_dtypes_and_values_match_torch_cpu(name):
    """a float32 or float16 beside a float32 b: where torch refuses the mix (an op on no list), so does minigrad."""
    for dtype in (np.float32, np.float16):
        try:
            theirs = _autocast_result(torch, name, getattr(torch, np.dtype(dtype).name))
        except RuntimeError:
            with pytest.raises(RuntimeError):
                _autocast_result(mg, name, dtype)
            continue
        ours = _autocast_result(mg, name, dtype)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), dtype
        np.testing.assert_allclose(ours.numpy().astype(np.float32), theirs.float().numpy(), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("name", CUDA_DTYPES)
def test_autocast_cuda_lists(name):
    """The "cuda" lists, as torch's CUDA autocast casts (on any device in minigrad)."""
    a, b = _tensors(mg, A, B)
    for dtype, expected in zip((mg.float32, mg.float16), CUDA_DTYPES[name]):
        with mg.autocast("cuda"):
            assert str(OPS[name](mg, a.to(dtype), b.to(dtype)).dtype) == expected


def test_float64_is_not_cast_as_in_torch():
    for lib in (torch, mg):
        a = lib.tensor(A).double()
        with lib.autocast("cpu", dtype=lib.float16):
            assert (a @ a).dtype == lib.float64


class _Net:
    """conv -> relu -> linear -> cross_entropy on torch or minigrad, the same weights."""

    def __init__(self, lib):
        lib.manual_seed(0)
        self.lib = lib
        self.conv = lib.nn.Conv2d(3, 4, 3)
        self.norm = lib.nn.GroupNorm(2, 4)
        self.fc = lib.nn.Linear(64, 4)
        weights = np.random.default_rng(2)
        with lib.no_grad():
            for p in self.parameters():
                p.copy_(lib.tensor(weights.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))

    def parameters(self):
        return [*self.conv.parameters(), *self.norm.parameters(), *self.fc.parameters()]

    def loss(self, images):
        F_ = self.lib.nn.functional
        hidden = F_.relu(self.norm(self.conv(images)))
        logits = self.fc(hidden.flatten(1))
        return logits, F_.cross_entropy(logits, self.lib.tensor(TARGETS[:2]))


def test_model_forward_backward_in_autocast_matches_torch():
    results = []
    for lib in (torch, mg):
        net = _Net(lib)
        with lib.autocast("cpu", dtype=lib.float16):
            logits, loss = net.loss(lib.tensor(IMAGES))
            with lib.autocast("cpu", enabled=False):
                uncast = lib.tensor(A) @ lib.tensor(B)
        loss.backward()
        results.append((logits, loss, uncast, [p.grad for p in net.parameters()]))
    (t_logits, t_loss, t_uncast, t_grads), (logits, loss, uncast, grads) = results
    assert (logits.dtype, loss.dtype, uncast.dtype) == (mg.float16, mg.float32, mg.float32)
    assert str(t_logits.dtype) == "torch.float16" and str(t_uncast.dtype) == "torch.float32"
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-2)
    for ours, theirs in zip(grads, t_grads):
        assert ours.dtype == mg.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-2, atol=2e-2)


def test_autocast_as_decorator_and_state():
    @mg.autocast("cpu", dtype=mg.float16)
    def product(a, b):
        assert mg.is_autocast_cpu_enabled() and not mg.is_autocast_enabled()
        return a @ b

    a, b = _tensors(mg, A, B)
    assert product(a, b).dtype == mg.float16 and (a @ b).dtype == mg.float32
    assert not mg.is_autocast_cpu_enabled() and mg.get_autocast_gpu_dtype() == mg.float16
    with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.autocast\(args...\)` is deprecated"):
        region = mg.cuda.amp.autocast()
    with region:
        assert mg.is_autocast_enabled("cuda") and mg.is_autocast_enabled()


def test_autocast_argument_errors():
    with pytest.raises(RuntimeError, match="float16 only"):
        mg.autocast("cpu")  # torch's CPU default, bfloat16
    with pytest.raises(RuntimeError, match="float16 only"):
        mg.autocast("cuda", dtype=mg.float32)
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="User specified an unsupported autocast device_type 'meta'"):
            lib.autocast("meta", dtype=lib.float16)
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.autocast(0)
    mg.autocast("cpu", enabled=False)  # a disabled region takes any dtype


def test_binary_cross_entropy_is_refused_in_cuda_autocast():
    p = mg.tensor(A).sigmoid()
    with mg.autocast("cuda"), pytest.raises(RuntimeError, match="unsafe to autocast"):
        F.binary_cross_entropy(p, p)


# ---- GradScaler ------------------------------------------------------------------------------------------------
def _train(lib, scaler, overflow_steps=(2, 5), steps=8):
    """A linear model trained with `scaler` as scripts do (clipping the unscaled gradients), the loss made to
    overflow on `overflow_steps`: per step, the scale after update(), the growth count, and whether it stepped."""
    model = lib.nn.Linear(4, 3)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(A[:3]))
        model.bias.zero_()
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    log = []
    for step in range(steps):
        optimizer.zero_grad()
        before = model.weight.detach().clone()
        loss = (model(lib.tensor(B)) ** 2).mean() * (1e38 if step in overflow_steps else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        stepped = not np.array_equal(before.numpy(), model.weight.detach().numpy())
        log.append((scaler.get_scale(), scaler._get_growth_tracker(), stepped))
    return log, model.weight.detach().numpy(), scaler.state_dict()


def test_grad_scaler_training_matches_torch():
    options = dict(init_scale=2.0 ** 10, growth_interval=2)
    theirs = _train(torch, torch.amp.GradScaler("cpu", **options))
    ours = _train(mg, mg.amp.GradScaler("cuda", **options))
    assert ours[0] == theirs[0]
    assert [stepped for *_, stepped in ours[0]] == [True, True, False, True, True, False, True, True]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)
    assert ours[2] == theirs[2]


def test_grad_scaler_disabled_is_a_pass_through():
    theirs = _train(torch, torch.amp.GradScaler("cpu", enabled=False), overflow_steps=())
    ours = _train(mg, mg.amp.GradScaler(enabled=False), overflow_steps=())
    assert ours[0] == theirs[0] and ours[2] == theirs[2] == {}
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)


class _Recording:
    """An optimizer whose step returns what it was given, around a torch or minigrad parameter."""

    def __init__(self, param):
        self.param_groups = [{"params": [param]}]

    def step(self, *args, **kwargs):
        return args, kwargs


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_grad_scaler_step_returns_optimizer_step_or_none(lib):
    param = lib.tensor([1.0, 2.0], requires_grad=True)
    scaler = lib.amp.GradScaler("cpu", init_scale=4.0)
    optimizer = _Recording(param)
    scaled = scaler.scale([param.sum(), (param * 2, [param.sum()])])
    assert isinstance(scaled, list) and isinstance(scaled[1], tuple) and isinstance(scaled[1][1], list)
    assert scaled[1][0].detach().numpy().tolist() == [8.0, 16.0]
    scaled[0].backward()
    assert scaler.step(optimizer, 1, lr=2) == ((1,), {"lr": 2})
    assert param.grad.numpy().tolist() == [1.0, 1.0]
    scaler.update(new_scale=lib.tensor(8.0))
    param.grad = lib.tensor([float("nan"), 1.0])
    assert scaler.step(optimizer) is None
    scaler.update()
    assert scaler.get_scale() == 4.0 and scaler._get_growth_tracker() == 0


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_grad_scaler_misuse_errors(lib):
    param = lib.tensor([1.0], requires_grad=True)
    optimizer = lib.optim.SGD([param], lr=0.1)
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
        lib.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="The backoff factor must be < 1.0."):
        lib.amp.GradScaler("cpu", backoff_factor=1.0)
    scaler = lib.amp.GradScaler("cpu")
    with pytest.raises(AssertionError, match=r"Attempted step but _scale is None.  This may indicate your script"):
        scaler.step(optimizer)
    scaler.scale(param.sum()).backward()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported if GradScaler is enabled."):
        scaler.step(optimizer, closure=lambda: None)
    scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer since the last"):
        scaler.unscale_(optimizer)
    scaler.step(optimizer)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)."):
        scaler.unscale_(optimizer)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)."):
        scaler.step(optimizer)
    scaler.update()
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update."):
        scaler.update()
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        scaler.load_state_dict({})
    half = lib.tensor([1.0], dtype=lib.float16, requires_grad=True)
    scaler.scale(half.sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        scaler.unscale_(lib.optim.SGD([half], lr=0.1))


def test_grad_scaler_state_dict_round_trip_and_factors():
    scalers = []
    for lib in (torch, mg):
        source = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
        source.scale(lib.tensor(1.0))
        state = source.state_dict()
        scaler = lib.amp.GradScaler("cpu")
        scaler.load_state_dict(state)
        scaler.set_growth_factor(4.0)
        scaler.set_backoff_factor(0.25)
        scaler.set_growth_interval(5)
        scalers.append((state, scaler.state_dict(), scaler.get_growth_factor(), scaler.get_backoff_factor(),
                        scaler.get_growth_interval(), scaler.is_enabled()))
    assert scalers[0] == scalers[1]


def test_grad_scaler_aliases_warn_as_torch():
    for device_type, module in (("cuda", mg.cuda.amp), ("cpu", mg.cpu.amp)):
        with pytest.warns(FutureWarning, match=rf"Please use `torch.amp.GradScaler\('{device_type}', args...\)`"):
            scaler = module.GradScaler(init_scale=4.0)
        assert isinstance(scaler, mg.amp.GradScaler) and scaler.get_scale() == 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.amp.GradScaler("cuda")
    assert (mg.GradScaler is mg.amp.GradScaler) == (torch.GradScaler is torch.amp.GradScaler)  # torch's top level


def test_gpu_path_autocast_and_scaler(gpu_path):
    """The casts and the scaler's scale, unscale and inf check stay on the device."""
    results = []
    for device in ("cpu", "gpu"):
        a, b = (mg.tensor(array, device=device, requires_grad=True) for array in (A, B))
        scaler = mg.amp.GradScaler("cuda", init_scale=2.0 ** 4)
        optimizer = mg.optim.SGD([a, b], lr=0.1)
        with mg.autocast("cuda"):
            out = F.softmax(a @ b, -1)
        # weighted, as the rows of a softmax sum to one whatever its input, which a plain sum's gradients show as
        # rounding alone
        scaler.scale((out * mg.tensor(B, device=device)).sum()).backward()
        scaler.step(optimizer)
        scaler.update()
        assert out.device == device
        results.append((out.numpy(), a.grad.numpy(), b.numpy(), scaler.get_scale()))
    for ours, reference in zip(results[1][:3], results[0][:3]):
        assert relative_error(ours, reference) <= 1e-3
    assert results[1][3] == results[0][3]


def _custom_matmul(lib, forward_decorator, backward_decorator):
    """A custom Function whose forward asks for float32 inputs (custom_fwd's cast_inputs), as ported code writes it."""
    class MatMul(lib.autograd.Function):
        @staticmethod
        @forward_decorator
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            ctx.seen = (str(a.dtype), str(b.dtype), lib.is_autocast_enabled("cpu"))
            return a @ b

        @staticmethod
        @backward_decorator
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            ctx.backward_autocast = lib.is_autocast_enabled("cpu")
            return grad @ b.T, a.T @ grad
    return MatMul


@pytest.mark.parametrize("cast_inputs", [None, "float32"])
def test_custom_fwd_and_bwd_match_torch(cast_inputs):
    results = []
    for lib in (torch, mg):
        cast = None if cast_inputs is None else getattr(lib, cast_inputs)
        MatMul = _custom_matmul(lib, lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast),
                                lib.amp.custom_bwd(device_type="cpu"))
        a = lib.tensor(A, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.float16):
            out = MatMul.apply(a @ a, a)
        out.float().sum().backward()
        ctx = out.grad_fn
        results.append((ctx.seen, str(out.dtype).removeprefix("torch."), str(a.grad.dtype).removeprefix("torch.")))
    assert results[0][0][:2] == tuple(f"torch.{d}" for d in results[1][0][:2])
    assert results[0][0][2] == results[1][0][2] and results[0][1:] == results[1][1:]


def test_cuda_amp_custom_fwd_is_deprecated_as_torch():
    with pytest.warns(FutureWarning, match=r"Please use `torch.amp.custom_fwd\(args..., device_type='cuda'\)`"):
        mg.cuda.amp.custom_fwd(cast_inputs=mg.float32)


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_grad_scaler_step_without_gradients_is_refused(lib):
    param = lib.tensor([1.0], requires_grad=True)
    scaler = lib.amp.GradScaler("cpu")
    scaler.scale(param.sum())
    with pytest.raises(AssertionError, match="No inf checks were recorded for this optimizer."):
        scaler.step(lib.optim.SGD([param], lr=0.1))
