"""A custom optimizer written as torch's documentation shows (a torch.optim.Optimizer subclass whose step works on
the parameters' tensors and keeps its state in self.state[p]) runs on minigrad's Optimizer from the same source, and
its state dicts cross to torch and back; built-in optimizers' state is keyed by the parameters too."""
import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim.optimizer import required

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from unet.torch_reference import numpy_to_state_dict, state_dict_to_numpy


def lion(lib):
    """lucidrains' lion-pytorch: the sign of momentum interpolated with the gradient, decoupled weight decay."""

    class Lion(lib.optim.Optimizer):
        def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
            assert lr > 0.0
            assert all(0.0 <= beta <= 1.0 for beta in betas)
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

        @lib.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with lib.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in filter(lambda p: p.grad is not None, group["params"]):
                    grad, lr, wd, (beta1, beta2), state = (p.grad, group["lr"], group["weight_decay"],
                                                          group["betas"], self.state[p])
                    if len(state) == 0:
                        state["exp_avg"] = lib.zeros_like(p)
                    exp_avg = state["exp_avg"]
                    p.mul_(1.0 - lr * wd)
                    update = exp_avg.clone().mul_(beta1).add(grad, alpha=1.0 - beta1).sign_()
                    p.add_(update, alpha=-lr)
                    exp_avg.mul_(beta2).add_(grad, alpha=1.0 - beta2)
            return loss

    return Lion


def momentum_sgd(lib):
    """SGD with momentum and L2 weight decay, its step count a tensor, as torch's own optimizers keep it."""

    class MomentumSGD(lib.optim.Optimizer):
        def __init__(self, params, lr=1e-2, momentum=0.9, weight_decay=0.0):
            if lr < 0.0:
                raise ValueError(f"Invalid learning rate: {lr}")
            super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

        @lib.no_grad()
        def step(self, closure=None):
            with lib.enable_grad():
                loss = None if closure is None else closure()
            for group in self.param_groups:
                for p in [p for p in group["params"] if p.grad is not None]:
                    d_p = p.grad
                    if d_p.is_sparse:
                        raise RuntimeError("MomentumSGD does not support sparse gradients")
                    if group["weight_decay"] != 0:
                        d_p = d_p.add(p, alpha=group["weight_decay"])
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = lib.tensor(0.0)
                        state["momentum_buffer"] = lib.zeros_like(p, memory_format=lib.preserve_format)
                    state["step"] += 1
                    state["momentum_buffer"].mul_(group["momentum"]).add_(d_p)
                    p.add_(state["momentum_buffer"], alpha=-group["lr"])
            return loss

    return MomentumSGD


def adamw_like(lib):
    """AdamW as a tutorial writes it: lerp_, addcmul_, addcdiv_, the bias corrections from state["step"].item()."""

    class AdamWLike(lib.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
            super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

        @lib.no_grad()
        def step(self, closure=None):
            with lib.enable_grad():
                loss = closure() if closure is not None else None
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"] = lib.tensor(0.0)
                        state["exp_avg"] = lib.zeros_like(p, memory_format=lib.preserve_format)
                        state["exp_avg_sq"] = lib.zeros_like(p, memory_format=lib.preserve_format)
                    state["step"] += 1
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    state["exp_avg"].lerp_(p.grad, 1 - beta1)
                    state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                    step = state["step"].item()
                    denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2 ** step)).add_(group["eps"])
                    p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1 ** step))
            return loss

    return AdamWLike


OPTIMIZERS = {"lion": (lion, dict(lr=1e-2, weight_decay=0.1)), "momentum_sgd": (momentum_sgd, dict(weight_decay=1e-3)),
              "adamw_like": (adamw_like, dict(lr=1e-2))}
RNG = np.random.default_rng(0)
WEIGHTS = [RNG.standard_normal(shape).astype(np.float32) for shape in ((4, 5), (5,), (5, 2))]
BATCHES = [(RNG.standard_normal((8, 4)).astype(np.float32), RNG.standard_normal((8, 2)).astype(np.float32))
           for _ in range(4)]


def params_of(lib, device=None):
    if lib is mg:
        return [mg.tensor(w, requires_grad=True, device=device) for w in WEIGHTS]
    return [torch.tensor(w, requires_grad=True) for w in WEIGHTS]


def loss_of(lib, params, batch, device=None):
    x, y = (mg.tensor(a, device=device) if lib is mg else torch.tensor(a) for a in batch)
    w1, b1, w2 = params
    return (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean()


def train(lib, optimizer, params, batches, device=None):
    """Steps on each batch, half of them through a closure; returns the closure's losses."""
    losses = []
    for index, batch in enumerate(batches):
        def closure():
            optimizer.zero_grad()
            loss = loss_of(lib, params, batch, device)
            loss.backward()
            return loss
        if index % 2:
            losses.append(float(optimizer.step(closure).detach()))
        else:
            closure()
            optimizer.step()
    return losses


def numpy_of(tensor):
    return tensor.detach().cpu().numpy() if torch.is_tensor(tensor) else tensor.numpy()


def groups_of(params):
    """Two groups, the second with its own learning rate."""
    return [{"params": params[:2]}, {"params": params[2:], "lr": 3e-3}]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_trains_as_torch_from_the_same_source(name):
    make, options = OPTIMIZERS[name]
    results = []
    for lib in (torch, mg):
        params = params_of(lib)
        optimizer = make(lib)(groups_of(params), **options)
        losses = train(lib, optimizer, params, BATCHES)
        results.append((losses, [numpy_of(p) for p in params], optimizer))
    (torch_losses, torch_params, torch_opt), (mg_losses, mg_params, mg_opt) = results
    np.testing.assert_allclose(mg_losses, torch_losses, rtol=1e-5)
    for ours, theirs in zip(mg_params, torch_params, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(mg_opt.state.values(), torch_opt.state.values(), strict=True):
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert isinstance(ours[key], mg.Tensor) and ours[key].dtype == numpy_of(theirs[key]).dtype, key
            np.testing.assert_allclose(numpy_of(ours[key]), numpy_of(theirs[key]), rtol=1e-5, atol=1e-6)
    assert mg_opt.param_groups[1]["lr"] == torch_opt.param_groups[1]["lr"] == 3e-3
    assert mg_opt.defaults == torch_opt.defaults
    assert repr(mg_opt) == repr(torch_opt)


@pytest.mark.parametrize("name", ["momentum_sgd", "adamw_like"])
def test_state_dict_crosses_to_torch_and_back(name, tmp_path):
    """Two steps in one library, its state dict loaded into the other's same optimizer, two more there: as four
    steps in torch alone. The loaded step count keeps its float32, as torch's."""
    make, options = OPTIMIZERS[name]
    reference_params = params_of(torch)
    reference = make(torch)(groups_of(reference_params), **options)
    train(torch, reference, reference_params, BATCHES)

    for first, second in ((mg, torch), (torch, mg)):
        params = params_of(first)
        optimizer = make(first)(groups_of(params), **options)
        train(first, optimizer, params, BATCHES[:2])
        if first is mg:
            mg.save(optimizer.state_dict(), tmp_path / "optimizer.npz")
            saved = numpy_to_state_dict(mg.load(tmp_path / "optimizer.npz"))
        else:
            saved = state_dict_to_numpy(optimizer.state_dict())
        resumed_params = [(mg.tensor if second is mg else torch.tensor)(numpy_of(p), requires_grad=True)
                          for p in params]
        resumed = make(second)(groups_of(resumed_params), **options)
        resumed.load_state_dict(saved)
        if second is mg:
            step = resumed.state[resumed_params[0]]["step"]
            assert isinstance(step, mg.Tensor) and step.dtype == mg.float32 and step.item() == 2
        train(second, resumed, resumed_params, BATCHES[2:])
        for ours, theirs in zip(resumed_params, reference_params, strict=True):
            np.testing.assert_allclose(numpy_of(ours), numpy_of(theirs), rtol=1e-5, atol=1e-6)


def test_state_is_keyed_by_the_parameters():
    """self.state is a defaultdict(dict) keyed by the tensors (empty before a step); a built-in optimizer's state
    after a step has torch's keys and values."""
    states = []
    for lib in (torch, mg):
        params = params_of(lib)
        optimizer = lib.optim.Adam(params, lr=1e-2)
        assert len(optimizer.state) == 0 and len(optimizer.state[params[0]]) == 0
        train(lib, optimizer, params, BATCHES[:1])
        assert list(optimizer.state) == params
        states.append([optimizer.state[p] for p in params])
    for ours, theirs in zip(states[1], states[0], strict=True):
        assert ours.keys() == theirs.keys()
        for key in ours:
            np.testing.assert_allclose(np.asarray(ours[key]), numpy_of(theirs[key]), rtol=1e-5, atol=1e-7)


def test_add_param_group_zero_grad_and_required():
    results = []
    for lib in (torch, mg):
        params = params_of(lib)
        optimizer = momentum_sgd(lib)(params[:2], lr=0.1)
        optimizer.add_param_group({"params": params[2], "momentum": 0.5})
        loss_of(lib, params, BATCHES[0]).backward()
        optimizer.zero_grad(set_to_none=False)
        zeroed = [numpy_of(p.grad) for p in params]
        optimizer.zero_grad()
        results.append(([{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups],
                        [len(g["params"]) for g in optimizer.param_groups], zeroed, [p.grad for p in params]))

        class NeedsLr(lib.optim.Optimizer):
            def __init__(self, params, lr=required if lib is torch else mg.optim.required):
                super().__init__(params, dict(lr=lr))

        assert NeedsLr([{"params": params, "lr": 1.0}]).param_groups[0]["lr"] == 1.0
        with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
            NeedsLr(params)
    (torch_groups, torch_sizes, torch_zeroed, torch_grads), (mg_groups, mg_sizes, mg_zeroed, mg_grads) = results
    assert mg_groups == torch_groups and mg_sizes == torch_sizes == [2, 1]
    assert all(not z.any() for z in mg_zeroed) and mg_grads == torch_grads == [None] * 3


def _error(make):
    try:
        make()
    except Exception as error:  # noqa: BLE001 (any error, compared with torch's)
        return type(error), str(error)
    return None


@pytest.mark.parametrize("case", ["tensor", "empty", "non_leaf", "not_tensor", "set", "two_groups", "group_type"])
def test_errors_as_torch(case):
    def attempt(lib):
        make = lion(lib)
        params = params_of(lib)
        return {
            "tensor": lambda: make(params[0]),
            "empty": lambda: make([]),
            "non_leaf": lambda: make([params[0] * 2]),
            "not_tensor": lambda: make([params[0], 1.0]),
            "set": lambda: make([{"params": set(params)}]),
            "two_groups": lambda: make([{"params": params[:2]}, {"params": params[1:]}]),
            "group_type": lambda: make(params).add_param_group(params[0]),
        }[case]

    theirs, (kind, message) = _error(attempt(torch)), _error(attempt(mg))
    assert theirs == (kind, message.replace("minigrad.tensor.Tensor", "torch.Tensor"))


def test_step_hooks_as_torch():
    """A pre-hook sees the step's arguments and may replace them; post-hooks run after; removed hooks do not run."""
    logs = []
    for lib in (torch, mg):
        params = params_of(lib)
        optimizer = lion(lib)(params, lr=1e-2)
        log = []

        def pre_hook(opt, args, kwargs):
            log.append(("pre", opt is optimizer and args == (optimizer,), sorted(kwargs)))
            return args, {"closure": lambda: log.append("closure") or 1.0}

        def post_hook(opt, args, kwargs):
            log.append(("post", opt is optimizer and args == (optimizer,), sorted(kwargs)))

        pre, post = optimizer.register_step_pre_hook(pre_hook), optimizer.register_step_post_hook(post_hook)
        log.append(optimizer.step())
        pre.remove()
        post.remove()
        log.append(optimizer.step())
        logs.append(log)
    assert logs[1] == logs[0] == [("pre", True, []), "closure", ("post", True, ["closure"]), 1.0, None]


def test_memory_formats_as_torch():
    for x, layouts in ((mg.ones(2, 3), (mg.contiguous_format, mg.preserve_format, None)),
                       (mg.ones(2, 3, 4, 5), (mg.channels_last,)), (mg.ones(1, 2, 3, 4, 5), (mg.channels_last_3d,))):
        for layout in layouts:
            assert (mg.zeros_like(x, memory_format=layout).shape == x.clone(memory_format=layout).shape
                    == x.to(memory_format=layout).shape == x.contiguous(memory_format=layout).shape == x.shape)
    assert repr(mg.preserve_format) == repr(torch.preserve_format) and isinstance(mg.preserve_format, mg.memory_format)
    assert mg.ones(2).is_sparse is torch.ones(2).is_sparse is False
    for lib in (torch, mg):
        with pytest.raises(TypeError, match=r"^full_like\(\): argument 'memory_format' must be torch.memory_format, "
                                            "not int$"):
            lib.full_like(lib.ones(2), 1.0, memory_format=1)


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2, 3).to(memory_format=lib.channels_last),
    lambda lib: lib.ones(2, 3, 4, 5).contiguous(memory_format=lib.channels_last_3d),
    lambda lib: lib.ones(2, 3).clone(memory_format=lib.channels_last),
    lambda lib: lib.zeros_like(lib.ones(2, 3, 4), memory_format=lib.channels_last),
], ids=["to", "contiguous", "clone", "zeros_like"])
def test_a_channels_last_layout_of_another_rank_is_refused_as_torchs(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_a_module_moved_to_channels_last_as_a_script_writes_it():
    """Every parameter is taken, whatever its rank (torch lays out only its 4-d ones), with a dtype too."""
    for lib in (torch, mg):
        model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4))
        assert model.to(lib.float64, memory_format=lib.channels_last) is model
        assert [str(p.dtype).rpartition(".")[2] for p in model.parameters()] == ["float64"] * 4
        with pytest.raises(TypeError):
            model.to(memory_format="channels_last")


def test_gpu_path_matches_cpu(gpu_path):
    """A custom optimizer's state and updates stay on the parameters' device."""
    results = []
    for device in ("cpu", "gpu"):
        params = params_of(mg, device)
        optimizer = adamw_like(mg)(params, lr=1e-2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train(mg, optimizer, params, BATCHES, device)
        for state in optimizer.state.values():  # the step count a CPU tensor, as torch's
            assert (state["step"].device, state["exp_avg"].device, state["exp_avg_sq"].device) == ("cpu", device, device)
        results.append([p.numpy() for p in params])
    for ours, reference in zip(*results):
        assert relative_error(ours, reference) <= 1e-5
