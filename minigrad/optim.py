"""Optimizers with torch's exact update rules; the learning-rate schedulers are in lr_scheduler.

Updates run on raw arrays under no graph; their state round-trips through state_dict() so that a
resumed run continues bit for bit.
"""
import math
import sys
import warnings

from . import kernels
from .backend import get_array_module, to_device
from .tensor import Tensor, zero_grads


class Optimizer:
    """Holds param_groups (each a dict with "params" and hyper-parameters) and per-parameter state."""

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        groups = list(params)
        if not groups:
            raise ValueError("the optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Adds a group (e.g. layers unfrozen while fine-tuning), its missing hyper-parameters the defaults.

        A parameter listed twice in the group is kept once, with torch's warning (it would be stepped twice);
        one already in another group is an error, as in torch."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not (param.is_leaf or param._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        unique = list({id(param): param for param in params}.values())
        if len(unique) < len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; each is stepped once",
                          stacklevel=3)
        if not {id(param) for _, param in self._params()}.isdisjoint(map(id, unique)):
            raise ValueError("some parameters appear in more than one parameter group")
        param_group["params"] = unique
        self.param_groups.append(param_group)

    def _params(self):
        for group in self.param_groups:
            for param in group["params"]:
                yield group, param

    def zero_grad(self, set_to_none=True):
        zero_grads((param for _, param in self._params()), set_to_none)

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
    """torch.optim.Adam: L2 weight decay added to the gradient (or, decoupled, the parameter shrunk by lr * decay
    first, as AdamW), bias corrections folded as torch folds them."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False):
        for name, value in (("learning rate", lr), ("epsilon value", eps), ("weight_decay value", weight_decay)):
            if not value >= 0:
                raise ValueError(f"Invalid {name}: {value}")
        for index, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    @staticmethod
    def _advance(param, state):
        """Count one more step in state, created zeroed on the parameter's first step."""
        if not state:
            zeros = get_array_module(param.data).zeros_like
            state.update(step=0, exp_avg=zeros(param.data), exp_avg_sq=zeros(param.data))
        state["step"] += 1

    @staticmethod
    def _decay_before_update(params, group):
        """A decoupled decay (AdamW's) shrinks the parameters now; Adam's L2 decay, which the update adds to the
        gradients, is returned (0 when decoupled)."""
        if group["decoupled_weight_decay"]:
            if group["weight_decay"]:
                for param in params:
                    param.data *= 1 - group["lr"] * group["weight_decay"]
            return 0.0
        return group["weight_decay"]

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
        weight_decay = self._decay_before_update([param], group)
        if weight_decay:
            grad = grad + weight_decay * param.data
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
                weight_decay = self._decay_before_update([param for param, _ in batch], group)
                kernels.adam([param.data for param, _ in batch],
                             [xp.ascontiguousarray(param.grad.data) for param, _ in batch],
                             [state["exp_avg"] for _, state in batch], [state["exp_avg_sq"] for _, state in batch],
                             *self._hyper_parameters(group, step), *group["betas"], group["eps"], weight_decay)


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay before the update."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)


# torch.optim.lr_scheduler's place: `optim.lr_scheduler.StepLR`, and importable as minigrad.optim.lr_scheduler.
from . import lr_scheduler  # noqa: E402  (last: it checks for an Optimizer)

LRScheduler, StepLR, CosineAnnealingLR = lr_scheduler.LRScheduler, lr_scheduler.StepLR, lr_scheduler.CosineAnnealingLR

sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler
