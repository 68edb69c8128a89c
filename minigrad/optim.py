"""Optimizers with torch's exact update rules, and learning-rate schedulers.

Updates run on raw arrays under no graph; their state round-trips through state_dict() so that a
resumed run continues bit for bit.
"""
import math
import warnings

from . import kernels
from .backend import get_array_module, to_device
from .tensor import zero_grads


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


class LRScheduler:
    """Sets each group's lr once per epoch: call step() after the epoch's optimizer steps, as in torch.

    step() builds on each group's current lr, as torch's chainable schedulers do, rather than recomputing it from
    the start: a hand edit of group["lr"] holds for the epochs after it, and two schedulers on one optimizer
    multiply their effects. The lr a group started from is kept in the group as "initial_lr", so that it travels
    with the optimizer's state_dict; base_lrs copies it. last_epoch is the epoch the groups' lrs are for: __init__
    steps it from -1 (a fresh run) to 0, and each step() on by one. A scheduler made with another last_epoch goes
    on from a loaded optimizer, whose groups hold their initial_lr.
    """

    def __init__(self, optimizer, last_epoch=-1):
        groups = optimizer.param_groups
        for i, group in enumerate(groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])  # a second scheduler keeps the first one's
            elif "initial_lr" not in group:
                raise KeyError(f"param_groups[{i}] has no 'initial_lr': a scheduler that starts at "
                               f"last_epoch={last_epoch} goes on from an optimizer whose state_dict was loaded")
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self):
        """Each group's lr for epoch last_epoch, built on its current one (subclasses say how)."""
        raise NotImplementedError

    def _closed_form_lr(self):
        """Each group's lr for epoch last_epoch from base_lrs alone; where a schedule has no formula, get_lr's."""
        return self.get_lr()

    def step(self, epoch=None):
        """Move on one epoch. step(epoch) jumps to that epoch on the schedule's closed form instead, which drops
        hand edits and other schedulers' effects: torch deprecates it, but it is how a resumed run moves onto a
        schedule reshaped for more epochs."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            lrs = self._closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self):
        """The lrs this scheduler set last; a later hand edit shows in param_groups, not here."""
        return self._last_lr

    def state_dict(self):
        """Every attribute but the optimizer, as in torch (the optimizer's own state_dict holds the lrs)."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state):
        self.__dict__.update(state)


class StepLR(LRScheduler):
    """Multiplies the lr by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneals the lr from its initial value to eta_min over T_max epochs along half a cosine, then back up
    over the next T_max, and so on: each step scales the current lr's distance to eta_min by the ratio of
    consecutive points of the cosine."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def _cosine(self, epoch):
        return 1 + math.cos(math.pi * epoch / self.T_max)

    def get_lr(self):
        if self._step_count == 1:  # the step __init__ makes keeps the lrs, loaded ones included
            return self._current_lrs()
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            # Just past a trough the ratio would divide by zero: climb by the first epoch's drop instead.
            rise = (1 - math.cos(math.pi / self.T_max)) / 2
            return [lr + (base_lr - self.eta_min) * rise for lr, base_lr in zip(self._current_lrs(), self.base_lrs)]
        ratio = self._cosine(self.last_epoch) / self._cosine(self.last_epoch - 1)
        return [ratio * (lr - self.eta_min) + self.eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * self._cosine(self.last_epoch) / 2
                for base_lr in self.base_lrs]
