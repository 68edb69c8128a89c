"""Optimizers with torch's exact update rules, and learning-rate schedulers.

Updates run on raw arrays under no graph; their state round-trips through state_dict() so that a
resumed run continues bit for bit.
"""
import math
import warnings

from . import kernels
from .backend import get_array_module, to_device


def _once_each(groups):
    """Each group's params listed once: a parameter listed twice in a group is kept once, with torch's
    warning (it would be stepped twice); one in two groups is an error, as in torch."""
    seen = set()
    for group in groups:
        unique, in_group = [], set()
        for param in group["params"]:
            if id(param) in in_group:
                continue
            if id(param) in seen:
                raise ValueError("some parameters appear in more than one parameter group")
            in_group.add(id(param))
            unique.append(param)
        if len(unique) < len(group["params"]):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; each is stepped once",
                          stacklevel=4)  # the caller of SGD(...) or Adam(...)
        seen |= in_group
        group["params"] = unique
    return groups


class Optimizer:
    """Holds param_groups (each a dict with "params" and hyper-parameters) and per-parameter state."""

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups = _once_each([{**defaults, **group, "params": list(group["params"])} for group in groups])
        self.state = {}

    def _params(self):
        for group in self.param_groups:
            for param in group["params"]:
                yield group, param

    def zero_grad(self):
        for _, param in self._params():
            param.grad = None

    def step(self):
        for group, param in self._params():
            if param.grad is not None:
                self.update(param, param.grad.data, group, self.state.setdefault(id(param), {}))

    def update(self, param, grad, group, state):
        raise NotImplementedError

    def state_dict(self):
        """State by parameter index (as torch does), plus hyper-parameters, all plain arrays and numbers."""
        index = {id(p): i for i, (_, p) in enumerate(self._params())}
        return {
            "state": {index[key]: dict(value) for key, value in self.state.items()},
            "param_groups": [{k: v for k, v in group.items() if k != "params"} for group in self.param_groups],
        }

    def load_state_dict(self, state_dict):
        params = [p for _, p in self._params()]
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"optimizer state has {len(groups)} param groups, this optimizer has {len(self.param_groups)}")
        for group, saved in zip(self.param_groups, groups):
            group.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items()})
        self.state = {}
        for i, value in state_dict["state"].items():
            param = params[int(i)]
            self.state[id(param)] = {
                k: (to_device(v, param.device).astype(param.dtype, copy=True) if hasattr(v, "shape") and v.ndim else v)
                for k, v in value.items()
            }


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov))

    def update(self, param, grad, group, state):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        if group["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = grad.copy()
            else:
                state["momentum_buffer"] = group["momentum"] * state["momentum_buffer"] + grad
            buffer = state["momentum_buffer"]
            grad = grad + group["momentum"] * buffer if group["nesterov"] else buffer
        param.data -= group["lr"] * grad


class Adam(Optimizer):
    """torch.optim.Adam: L2 weight decay added to the gradient, bias corrections folded as torch folds them."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @staticmethod
    def _advance(param, state):
        """Count one more step in state, created zeroed on the parameter's first step."""
        if not state:
            zeros = get_array_module(param.data).zeros_like
            state.update(step=0, exp_avg=zeros(param.data), exp_avg_sq=zeros(param.data))
        state["step"] += 1

    @staticmethod
    def _hyper_parameters(group, step):
        beta1, beta2 = group["betas"]
        return group["lr"] / (1 - beta1 ** step), math.sqrt(1 - beta2 ** step)  # step size, sqrt(bias correction 2)

    def step(self):
        updated = next((param for _, param in self._params() if param.grad is not None), None)
        if updated is not None and kernels.runs_on(get_array_module(updated.data)):
            self._kernel_step()
        else:
            super().step()

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        beta1, beta2 = group["betas"]
        self._advance(param, state)
        step_size, sqrt_bias_correction2 = self._hyper_parameters(group, state["step"])
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (grad - m) * (1 - beta1)               # torch's lerp: m = b1*m + (1-b1)*g
        v *= beta2
        v += (1 - beta2) * grad * grad
        denom = xp.sqrt(v) / sqrt_bias_correction2 + group["eps"]
        param.data -= step_size * (m / denom)

    def _kernel_step(self):
        """The GPU's step: parameters that share a dtype and a step count update in one kernel launch."""
        for group in self.param_groups:
            batches = {}
            for param in group["params"]:
                if param.grad is not None:
                    state = self.state.setdefault(id(param), {})
                    self._advance(param, state)
                    batches.setdefault((state["step"], param.dtype), []).append((param, state))
            for (step, _), batch in batches.items():
                xp = get_array_module(batch[0][0].data)
                kernels.adam([param.data for param, _ in batch],
                             [xp.ascontiguousarray(param.grad.data) for param, _ in batch],
                             [state["exp_avg"] for _, state in batch], [state["exp_avg_sq"] for _, state in batch],
                             *self._hyper_parameters(group, step), *group["betas"], group["eps"], group["weight_decay"])


class LRScheduler:
    """Sets each group's lr from its initial lr and the epoch count; call step() once per epoch."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0

    def lr_at(self, base_lr, epoch):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]


class StepLR(LRScheduler):
    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size, self.gamma = step_size, gamma

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    def __init__(self, optimizer, T_max, eta_min=0.0):
        super().__init__(optimizer)
        self.T_max, self.eta_min = T_max, eta_min

    def lr_at(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


