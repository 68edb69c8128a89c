"""torch.optim.swa_utils: a model whose weights are a running average of another's (equal weights, SWA, or
exponential, EMA), the SWALR schedule that anneals the lr to the constant SWA trains at, and update_bn, which
recomputes BatchNorm's statistics for averaged weights. The same arithmetic as torch's CPU path, so that the
averages agree to the last bit, and the same state dict keys, so that torch's averaged models load. Reached as
minigrad.optim.swa_utils."""
import copy
import itertools
import math

import numpy as np

from .creation import tensor
from .function import no_grad
from .lr_scheduler import LRScheduler, _per_group
from .nn.module import Module
from .nn.normalization import _BatchNorm


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


@no_grad()
def _swa_average(averaged, current, num_averaged):
    """The mean of num_averaged + 1 models' tensors, from the mean of the first num_averaged."""
    return averaged + (current - averaged) / (num_averaged + 1)


def _swa_each(averaged_list, current_list, num_averaged):
    for averaged, current in zip(averaged_list, current_list, strict=True):
        averaged.copy_(_swa_average(averaged, current, num_averaged))


def _lerp_each(averaged_list, current_list, weight):
    for averaged, current in zip(averaged_list, current_list, strict=True):
        averaged.copy_(averaged.lerp(current, weight))


def get_ema_multi_avg_fn(decay=0.999):
    """An update of a list of tensors in place to decay * average + (1 - decay) * current, as torch's lerp
    computes it (integer tensors, which lerp refuses, by that formula, truncated)."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param_list, current_param_list, _):
        if ema_param_list[0].is_floating_point():
            _lerp_each(ema_param_list, current_param_list, 1 - decay)
            return
        for ema, current in zip(ema_param_list, current_param_list, strict=True):
            ema.copy_(ema * decay + current * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """An update of a list of tensors in place to the mean of num_averaged + 1 models, as a lerp towards the
    current one by the float32 weight 1 / (num_averaged + 1), as torch's (integer tensors by true division,
    truncated: torch's addcdiv refuses them)."""

    @no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        if averaged_param_list[0].is_floating_point():
            _lerp_each(averaged_param_list, current_param_list, 1 / (num_averaged + 1))
        else:
            _swa_each(averaged_param_list, current_param_list, num_averaged)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """decay * average + (1 - decay) * current, one tensor at a time."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """average + (current - average) / (num_averaged + 1), one tensor at a time."""
    return _swa_average


class AveragedModel(Module):
    """A copy of `model` (in `module`, on `device` if given) whose parameters update_parameters(model) moves to
    a running average of model's: by avg_fn(average, current, n_averaged) tensor by tensor, by
    multi_avg_fn(averages, currents, n_averaged) list by list (one list per device and dtype), or else the
    equal-weight SWA mean. The first update copies the model. With use_buffers the buffers (BatchNorm's
    statistics) are averaged too; without, they are copied from the model at each update. n_averaged, an int64
    buffer, counts the updates and is saved in the state dict, as torch's; avg_fn and multi_avg_fn are not."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=np.int64, device=device))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @no_grad()
    def update_parameters(self, model):
        """Take `model`'s current weights into the average."""
        if self.use_buffers:
            averaged = itertools.chain(self.module.parameters(), self.module.buffers())
            current = itertools.chain(model.parameters(), model.buffers())
        else:
            averaged, current = self.parameters(), model.parameters()
        pairs = [(average.detach(), value.detach().to(average.device)) for average, value in zip(averaged, current)]
        if self.n_averaged == 0:
            for average, value in pairs:
                average.copy_(value)
        elif self.avg_fn is not None:
            for average, value in pairs:
                average.copy_(self.avg_fn(average, value, self.n_averaged.to(average.device)))
        else:
            # torch's default on a CUDA device is a lerp, whose last bits differ: one formula serves both here.
            multi_avg_fn = self.multi_avg_fn or _swa_each
            groups = {}
            for average, value in pairs:
                lists = groups.setdefault((average.device, average.dtype), ([], []))
                lists[0].append(average)
                lists[1].append(value)
            for (device, _), (averages, values) in groups.items():
                multi_avg_fn(averages, values, self.n_averaged.to(device))
        if not self.use_buffers:
            for buffer, model_buffer in zip(self.module.buffers(), model.buffers(), strict=True):
                buffer.detach().copy_(model_buffer.detach().to(buffer.device))
        self.n_averaged += 1


@no_grad()
def update_bn(loader, model, device=None):
    """One pass over `loader` (batches, or tuples whose first item is the batch) in training mode, after which
    every BatchNorm's running statistics are the average over the batches (momentum None) from a reset; the
    momenta and the model's mode are restored."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for input in loader:
        if isinstance(input, (list, tuple)):
            input = input[0]
        if device is not None:
            input = input.to(device)
        model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to its swa_lr over anneal_epochs epochs ("cos" or "linear"), then holds it. Each
    step recovers the lr the annealing started from out of the current one, as torch's does, so that a hand
    edit or another scheduler's step carries on into the annealing."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for group_swa_lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = group_swa_lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @property
    def anneal_func(self):
        """The share of swa_lr in the lr at a fraction t of the annealing (a property: not in state_dict)."""
        return self._cosine_anneal if self._anneal_strategy == "cos" else self._linear_anneal

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _scheduled_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) for group in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(groups, prev_lrs, strict=True)]


__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]
