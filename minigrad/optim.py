"""Optimizers with torch's exact update rules, and torch's base class for one's own; the learning-rate schedulers are
in lr_scheduler.

minigrad's updates run on raw arrays under no graph; their state round-trips through state_dict() so that a
resumed run continues bit for bit.
"""
import functools
import math
import sys
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

from . import kernels
from .backend import default_dtype, get_array_module, to_device
from .function import enable_grad
from .functional import _size
from .nn.module import RemovableHandle
from .tensor import Tensor, zero_grads


# torch's switches of how an update runs, not of what it computes: its loops over the parameters (foreach, fused)
# and CUDA graphs (capturable), with their defaults. minigrad runs each update one way (one kernel launch for Adam's
# on the GPU), so it accepts them, keeps them in the groups as torch does, and they change nothing; differentiable,
# an update that autograd records, it does not have.
RUN_SWITCHES = {"foreach": None, "capturable": False, "differentiable": False, "fused": None}
CAPTURABLE_DEVICES = ["cuda", "xpu", "hpu", "privateuseone", "xla"]  # as torch's step lists them


class Optimizer:
    """torch.optim.Optimizer: param_groups (each a dict with "params" and hyper-parameters), each parameter's state
    in `state` under the parameter itself (a defaultdict(dict): empty before its first step), torch's state dict
    layout and step hooks. A subclass written for torch's, its step on the parameters' tensors (p.grad, p.add_(...),
    self.state[p]), runs as it is."""

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {params.type()}")
        self.defaults = defaults
        self.param_groups = []
        self.state = defaultdict(dict)
        self._optimizer_step_pre_hooks, self._optimizer_step_post_hooks = OrderedDict(), OrderedDict()
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        """A subclass's own step runs the step hooks around it, as torch patches its step."""
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _running_step_hooks(cls.__dict__["step"])

    def __repr__(self):
        groups = "".join(f"\nParameter Group {index}\n" + "".join(f"    {key}: {group[key]}\n" for key in sorted(group)
                                                                  if key != "params")
                         for index, group in enumerate(self.param_groups))
        return f"{type(self).__name__} ({groups})"

    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) runs before each step; it may return new (args, kwargs) for it."""
        return RemovableHandle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs) runs after each step."""
        return RemovableHandle(self._optimizer_step_post_hooks, hook)

    def add_param_group(self, param_group):
        """Adds a group (e.g. layers unfrozen while fine-tuning), its missing hyper-parameters the defaults.

        A parameter listed twice in the group stays twice, with torch's warning, and so is stepped twice, as in
        torch; one already in another group is an error."""
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
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(set(params)) < len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will cause "
                          "an error; see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        if not {param for _, param in self._params()}.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        param_group["params"] = params
        self.param_groups.append(param_group)

    def _params(self):
        for group in self.param_groups:
            for param in group["params"]:
                yield group, param

    def zero_grad(self, set_to_none=True):
        zero_grads((param for _, param in self._params()), set_to_none)

    def step(self, closure=None):
        raise NotImplementedError

    def state_dict(self):
        """torch's layout: each parameter's state, as self.state holds it (an empty one too), under its index; each
        group's hyper-parameters with its parameters' indices (a parameter listed twice has its last index twice, as
        in torch). Once its arrays are torch's tensors, torch's load_state_dict takes it."""
        index = {param: i for i, (_, param) in enumerate(self._params())}
        return {
            "state": {index.get(key, key): value for key, value in self.state.items()},
            "param_groups": [{**{k: v for k, v in group.items() if k != "params"},
                              "params": [index[p] for p in group["params"]]} for group in self.param_groups],
        }

    def load_state_dict(self, state_dict):
        """Takes torch's state dict (its tensors, or the NumPy arrays mg.load reads of them) or minigrad's, for
        groups of the sizes of this optimizer's, with torch's errors; each parameter's state goes to the parameter
        at its index in the groups' "params", cast as _loaded_value says. minigrad's state dicts from before they
        listed "params" keep their state under the parameters' positions, which stand in for them."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        param_at, start = {}, 0
        for group, saved in zip(self.param_groups, groups):
            size = len(group["params"])
            indices = saved.get("params", range(start, start + size))
            if len(indices) != size:
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
            param_at.update(zip(indices, group["params"]))
            start += size
        for group, saved in zip(self.param_groups, groups):
            group.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k != "params"})
        self.state = defaultdict(dict)
        for index, value in state_dict["state"].items():
            param = param_at.get(int(index))
            if param is not None:  # torch keeps a state that no parameter owns, which no step reads
                self.state[param] = {key: self._loaded_value(key, item, param) for key, item in value.items()}

    def _loaded_value(self, name, value, param):
        """torch's cast: each tensor or array (inside lists and tuples too) a tensor of its own on the parameter's
        device, in the parameter's dtype; the step count's kept where and as it is, as torch keeps it."""
        return _like_parameter(value, param, Tensor, cast=name != "step")


class _RequiredParameter:
    """The default of a hyper-parameter that every group must give (torch.optim.optimizer.required)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _running_step_hooks(step):
    """`step` run between the optimizer's step pre-hooks and post-hooks, which take the optimizer and step's args
    (the optimizer first, as torch's) and kwargs; a pre-hook may return new (args, kwargs). Only the step of the
    optimizer's own class runs them: a subclass's step that calls super().step() runs them once, as torch's."""
    @functools.wraps(step)
    def hooked_step(*args, **kwargs):
        optimizer = args[0]
        if "_opt_called" in vars(optimizer):  # a scheduler on it asks whether step() ran since it was made
            optimizer._opt_called = True
        if type(optimizer).step is not hooked_step:
            return step(*args, **kwargs)
        for hook in tuple(optimizer._optimizer_step_pre_hooks.values()):
            result = hook(optimizer, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
                args, kwargs = result
        out = step(*args, **kwargs)
        for hook in tuple(optimizer._optimizer_step_post_hooks.values()):
            hook(optimizer, args, kwargs)
        return out
    return hooked_step


class ArrayOptimizer(Optimizer):
    """minigrad's optimizers: each parameter updated on its raw arrays by update(param, grad, group, state); its
    state torch's, tensors (each buffer a tensor of the array that the update changes in place, each number a 0-d
    CPU tensor, see _scalar), so that ported code reads it as torch's; torch's run switches taken as their groups
    keep them."""

    run_switches = ("foreach", "capturable", "differentiable")  # the RUN_SWITCHES that torch's optimizer takes
    # The numbers of a parameter's state, which the update reads as Python floats (so that its arithmetic on them,
    # the step's bias corrections, stays in Python's floats) and loads as _scalar's tensors.
    state_scalars = ("step",)
    # torch's refusal of capturable=True for a parameter off the GPU: the tensors its step names and the devices it
    # lists, each as (its loop over the parameters', its foreach path's); most foreach paths list no xla
    capturable_tensors = ("params and state_steps",) * 2
    capturable_devices = (CAPTURABLE_DEVICES, CAPTURABLE_DEVICES[:-1])
    refuses_tensor_lr_with_foreach = False  # Adam's: torch's foreach path without capturable takes no lr tensor

    def __init__(self, params, defaults, switches=None):
        super().__init__(params, {**defaults, **self._run_switches(switches or {})})

    def _run_switches(self, given):
        """The group defaults of the run switches: `given`, and torch's default for the others this optimizer takes;
        a name it does not take is Python's TypeError, as torch's."""
        unknown = next((name for name in given if name not in self.run_switches), None)
        if unknown is not None:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument '{unknown}'")
        if given.get("fused") and given.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        if given.get("differentiable"):
            raise NotImplementedError("differentiable=True: minigrad's optimizers update the parameters outside the "
                                      "graph, so autograd cannot record a step")
        return {name: given.get(name, RUN_SWITCHES[name]) for name in self.run_switches}

    def step(self, closure=None):
        """One update of every group; a closure, which re-evaluates the loss (and its gradients), runs first, with
        the graph recorded, and its loss is returned, as torch's."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            if self.refuses_tensor_lr_with_foreach and group.get("foreach") and not group.get("capturable") \
                    and isinstance(group["lr"], Tensor):
                raise RuntimeError(_TENSOR_LR_WITH_FOREACH)
            self._refuse_capturable_on_cpu(group)
            self._step_group(_with_lr_a_number(group))
        return loss

    def _refuse_capturable_on_cpu(self, group):
        """torch's AssertionError for capturable=True (a step that CUDA graphs can capture) with a parameter to
        update on the CPU, as its foreach path words it, or its loop (foreach False, or None: the CPU's default)."""
        if group.get("capturable") and any(param.grad is not None and param.device == "cpu"
                                           for param in group["params"]):
            path = bool(group.get("foreach"))
            raise AssertionError(f"If capturable=True, {self.capturable_tensors[path]} must be on supported devices: "
                                 f"{self.capturable_devices[path]}.")

    def _step_group(self, group):
        for param in group["params"]:
            if param.grad is not None:
                self.update(param, param.grad.data, group, self._state_of(param, group))

    def _state_of(self, param, group):
        """The parameter's state for update to read and fill in."""
        return self.state[param]

    def update(self, param, grad, group, state):
        raise NotImplementedError

    @staticmethod
    def _count_step(param, state, *buffers, **scalars):
        """Count one more step in state and return it, a Python float (as torch's step.item()); on the parameter's
        first step the state starts with step 0, the given scalars, and the named buffers zeroed like the
        parameter, in that order (torch's)."""
        if not state:
            zeros = get_array_module(param.data).zeros_like
            state.update(step=_scalar(0.0), **{name: _scalar(value) for name, value in scalars.items()},
                         **{name: Tensor(zeros(param.data)) for name in buffers})
        step = state["step"].data
        step[()] = step.item() + 1  # rounded to its dtype as torch's step += 1, a tenth of the time NumPy's += takes
        return step.item()

    @staticmethod
    def _decay_before_update(params, group):
        """A decoupled decay (AdamW's) shrinks the parameters now; an L2 decay, which the update adds to the
        gradients, is returned (0 when decoupled)."""
        if group.get("decoupled_weight_decay"):
            _shrink_by_decay(params, group)
            return 0.0
        return group["weight_decay"]

    def _effective_gradient(self, param, grad, group):
        """The gradient the update descends, in torch's order: negated to maximize, then the weight decay (L2:
        weight_decay * param added; decoupled: the parameter shrunk instead)."""
        if group["maximize"]:
            grad = -grad
        weight_decay = self._decay_before_update([param], group)
        return grad + weight_decay * param.data if weight_decay else grad

    def _step_moments(self, param, grad, group, state, *buffers, **scalars):
        """The Adam family's first half (Adam, NAdam, RAdam): count the step, then move exp_avg toward the effective
        gradient and exp_avg_sq toward its square by the group's betas. Returns the step and that gradient."""
        beta1, beta2 = group["betas"]
        step = self._count_step(param, state, "exp_avg", "exp_avg_sq", *buffers, **scalars)
        grad = self._effective_gradient(param, grad, group)
        _average_into(state["exp_avg"].data, grad, 1 - beta1)
        _average_square_into(state["exp_avg_sq"].data, grad, beta2)
        return step, grad

    def _loaded_value(self, name, value, param):
        """A state_scalars number (torch's 0-d tensor, an array of it, or the Python number of minigrad's former
        state dicts) as _scalar's tensor; anything else as Optimizer loads it."""
        if name in self.state_scalars:
            return _scalar(float(value))
        return super()._loaded_value(name, value, param)


def _scalar(value):
    """A number of an optimizer's state as torch keeps it: a 0-d tensor on the CPU, where the step reads it without
    waiting on a GPU, float64 where that is the default dtype and float32 otherwise (torch's _get_scalar_dtype)."""
    return Tensor(np.array(value, dtype=np.float64 if default_dtype() == np.float64 else np.float32))


def _like_parameter(value, param, wrap=lambda array: array, cast=True):
    """A loaded state value as torch loads it: every array or tensor (minigrad's, or torch's read through its
    numpy()) a copy, cast to the parameter's device and dtype (a 0-d parameter's buffers too) unless told not to,
    passed through wrap (Tensor, for a tensor), inside lists and tuples as well (LBFGS's history)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_like_parameter(item, param, wrap, cast) for item in value)
    if isinstance(value, Tensor):
        value = value.data
    elif callable(getattr(value, "numpy", None)):
        value = value.numpy()
    if not hasattr(value, "shape"):
        return value
    return wrap(to_device(value, param.device).astype(param.dtype) if cast else value.copy())


def _shrink_by_decay(params, group):
    """Decoupled weight decay (AdamW's): each parameter *= 1 - lr * weight_decay."""
    if group["weight_decay"]:
        for param in params:
            param.data *= 1 - group["lr"] * group["weight_decay"]


def _rms(array):
    """The root mean square of the entries, a Python float: the norm over sqrt(numel), as torch's newer optimizers
    (Adafactor) take it."""
    return float(get_array_module(array).linalg.norm(array.reshape(-1))) / math.sqrt(array.size)


def _check_ranges(*checks):
    """The argument checks of torch's newer optimizers (Adafactor, Muon), whose messages are their own: (holds,
    message) pairs in torch's order, the first that fails a ValueError with its message."""
    for holds, message in checks:
        if not holds:
            raise ValueError(message)


_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def _check_hyper_parameters(**values):
    """torch's checks, in the order given (torch's, which picks the message when several fail): betas in [0, 1),
    rho in [0, 1], every other value at least 0 (NaN fails)."""
    for name, value in values.items():
        if name == "lr":
            _check_tensor_lr(value)
        if name == "betas":
            for index, beta in enumerate(value):
                if not 0 <= beta < 1:
                    raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        elif not (0 <= value <= 1 if name == "rho" else value >= 0):
            raise ValueError(f"Invalid {_LABELS.get(name, name + ' value')}: {value}")


def _check_tensor_lr(lr):
    """torch's error for an lr tensor of more than one element (one of any shape is taken as its number)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def _with_lr_a_number(group):
    """The group as a step reads it: an lr tensor (which torch takes, and its schedulers change in place) as its
    number now."""
    return {**group, "lr": float(group["lr"])} if isinstance(group["lr"], Tensor) else group


_TENSOR_LR_WITH_FOREACH = "lr as a Tensor is not supported for capturable=False and foreach=True"


def _add_scaled_into(target, value, alpha):
    """target += alpha * value in place, rounded as torch's add_(value, alpha=alpha): alpha in target's precision, the
    product added in one rounding (a fused multiply-add), for Muon, whose other arithmetic is torch's to the bit."""
    xp = get_array_module(target)
    product = _exact_product(xp, value, target.dtype.type(alpha), target)
    target[...] = xp.add(target, product, out=product)


def _average_into(average, value, weight, fused=False):
    """average = (1 - weight) * average + weight * value in place, rounded as torch's lerp_: from the average for a
    weight under 0.5, else from the value, so that weight 1 (beta1 = 0) gives the value itself, whatever the average
    held; the weight taken in the average's precision, 1 - weight too. torch adds the product in one rounding (a
    fused multiply-add), which `fused` does at three times the time; without it the result is within a rounding of
    torch's, which is enough unless a computation magnifies the last bit (Muon's bfloat16 iteration)."""
    xp = get_array_module(average)
    weight = average.dtype.type(weight)
    low = abs(weight) < 0.5
    start, factor = (average, weight) if low else (value, -(1 - weight))
    if fused:
        product = _exact_product(xp, value - average, factor, average)
        average[...] = xp.add(start, product, out=product)
    elif low:
        average += (value - average) * factor
    else:
        average[...] = start + (value - average) * factor


def _exact_product(xp, array, factor, like):
    """array * factor, of like's shape, in a dtype that holds the product of two of like's numbers exactly (float64;
    float64 itself for float64, which rounds it), so that adding it to like's numbers rounds once, as a fused
    multiply-add."""
    wide = np.float64 if like.dtype.itemsize < 8 else like.dtype
    return xp.multiply(array, factor, out=xp.empty(like.shape, wide), dtype=wide)


def _average_square_into(average, value, decay):
    """average = decay * average + (1 - decay) * value**2 in place, rounded as torch's mul_ then addcmul_."""
    average *= decay
    average += (1 - decay) * value * value


class SGD(ArrayOptimizer):
    """torch.optim.SGD: momentum, its new gradients dampened by (1 - dampening) after the first step, or
    Nesterov's momentum; L2 weight decay added to the gradient."""

    run_switches = ("foreach", "differentiable", "fused")

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, **switches):
        _check_hyper_parameters(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize), switches)

    def _state_of(self, param, group):
        """None without momentum, where torch's SGD keeps no state."""
        return super()._state_of(param, group) if group["momentum"] else None

    def update(self, param, grad, group, state):
        grad = self._effective_gradient(param, grad, group)
        if group["momentum"]:
            if "momentum_buffer" in state:
                buffer = state["momentum_buffer"].data
                buffer *= group["momentum"]
                buffer += (1 - group["dampening"]) * grad
            else:
                buffer = grad.copy()
                state["momentum_buffer"] = Tensor(buffer)
            grad = grad + group["momentum"] * buffer if group["nesterov"] else buffer
        param.data -= group["lr"] * grad


class Adam(ArrayOptimizer):
    """torch.optim.Adam: L2 weight decay added to the gradient (or, decoupled, the parameter shrunk by lr * decay
    first, as AdamW), bias corrections folded as torch folds them; amsgrad divides by the largest second moment
    so far."""

    run_switches = tuple(RUN_SWITCHES)
    refuses_tensor_lr_with_foreach = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False, **switches):
        if isinstance(lr, Tensor) and switches.get("foreach") and not switches.get("capturable"):
            raise ValueError(_TENSOR_LR_WITH_FOREACH)
        _check_hyper_parameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, decoupled_weight_decay=decoupled_weight_decay), switches)

    @staticmethod
    def _hyper_parameters(group, step):
        beta1, beta2 = group["betas"]
        return group["lr"] / (1 - beta1 ** step), math.sqrt(1 - beta2 ** step)  # step size, sqrt(bias correction 2)

    def _step_group(self, group):
        """The parameters the GPU kernel takes (see _kernel_takes) that share a dtype and a step count update in one
        launch; the others take update's array path."""
        batches = {}
        for param in group["params"]:
            if param.grad is not None:
                state = self.state[param]
                if not self._kernel_takes(param, group, state):
                    self.update(param, param.grad.data, group, state)
                    continue
                step = self._count_step(param, state, "exp_avg", "exp_avg_sq")
                batches.setdefault((step, param.dtype), []).append((param, state))
        for (step, _), batch in batches.items():
            xp = get_array_module(batch[0][0].data)
            weight_decay = self._decay_before_update([param for param, _ in batch], group)
            kernels.adam([param.data for param, _ in batch],
                         [xp.ascontiguousarray(param.grad.data) for param, _ in batch],
                         [state["exp_avg"].data for _, state in batch],
                         [state["exp_avg_sq"].data for _, state in batch],
                         *self._hyper_parameters(group, step), *group["betas"], group["eps"], weight_decay)

    @staticmethod
    def _kernel_takes(param, group, state):
        """Whether the parameter steps in the GPU kernel, which has neither amsgrad nor maximize, and reads
        C-contiguous arrays (the parameter, its moments) of the dtypes it is built for."""
        data = param.data
        arrays = [data] + [state[name].data for name in ("exp_avg", "exp_avg_sq") if name in state]
        return (not (group["amsgrad"] or group["maximize"]) and kernels.runs_on(get_array_module(data), data.dtype)
                and all(array.flags.c_contiguous for array in arrays))

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        step, _ = self._step_moments(param, grad, group, state, *["max_exp_avg_sq"] * group["amsgrad"])
        step_size, sqrt_bias_correction2 = self._hyper_parameters(group, step)
        v = state["exp_avg_sq"].data
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"].data, v, out=state["max_exp_avg_sq"].data)
        denom = xp.sqrt(v) / sqrt_bias_correction2 + group["eps"]
        param.data -= step_size * (state["exp_avg"].data / denom)


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay before the update."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, **switches):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         **switches)


class Adamax(ArrayOptimizer):
    """torch.optim.Adamax: Adam with the infinity norm, max(beta2 * u, |g| + eps), in place of the second moment."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *, maximize=False, **switches):
        _check_hyper_parameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        beta1, beta2 = group["betas"]
        step = self._count_step(param, state, "exp_avg", "exp_inf")
        grad = self._effective_gradient(param, grad, group)
        exp_avg, exp_inf = state["exp_avg"].data, state["exp_inf"].data
        _average_into(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + group["eps"], out=exp_inf)
        param.data -= group["lr"] / (1 - beta1 ** step) * exp_avg / exp_inf


class NAdam(ArrayOptimizer):
    """torch.optim.NAdam: Adam with Nesterov momentum, whose momentum warms up by momentum_decay; the product of
    the momenta so far is kept as a _scalar tensor, in whose precision it is multiplied, as torch's."""

    state_scalars = ("step", "mu_product")
    capturable_tensors = ("params, mu_products and state_steps", "params, mu_products, and state_steps")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, maximize=False, **switches):
        _check_hyper_parameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay, momentum_decay=momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        beta1, beta2 = group["betas"]
        step, grad = self._step_moments(param, grad, group, state, mu_product=1.0)
        mu, mu_next = (beta1 * (1.0 - 0.5 * 0.96 ** (t * group["momentum_decay"])) for t in (step, step + 1))
        mu_product = state["mu_product"].data
        mu_product *= mu_product.dtype.type(mu)  # in the scalar's precision, as torch's
        mu_product = float(mu_product)
        denom = xp.sqrt(state["exp_avg_sq"].data / (1 - beta2 ** step)) + group["eps"]
        param.data -= group["lr"] * (1.0 - mu) / (1.0 - mu_product) * grad / denom
        param.data -= group["lr"] * mu_next / (1.0 - mu_product * mu_next) * state["exp_avg"].data / denom


class RAdam(ArrayOptimizer):
    """torch.optim.RAdam: Adam whose adaptive step is rectified by the variance of its estimate, and left out
    (plain momentum SGD) while that variance is intractable, rho_t <= 5."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, maximize=False, **switches):
        _check_hyper_parameters(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        beta1, beta2 = group["betas"]
        step, _ = self._step_moments(param, grad, group, state)
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        update = state["exp_avg"].data / (1 - beta1 ** step) * group["lr"]
        if rho_t > 5.0:
            rectification = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            denom = xp.sqrt(state["exp_avg_sq"].data) + group["eps"]
            update = update * (bias_correction2 ** 0.5 / denom) * rectification
        param.data -= update


class RMSprop(ArrayOptimizer):
    """torch.optim.RMSprop: the gradient divided by the root of its running mean square (centered: its running
    variance), with optional momentum on the result."""

    capturable_devices = (CAPTURABLE_DEVICES,) * 2  # torch's RMSprop lists xla in its foreach path too

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False, **switches):
        _check_hyper_parameters(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        self._count_step(param, state, "square_avg", *["momentum_buffer"] * (group["momentum"] > 0),
                         *["grad_avg"] * group["centered"])
        grad = self._effective_gradient(param, grad, group)
        square_avg = state["square_avg"].data
        _average_square_into(square_avg, grad, group["alpha"])
        if group["centered"]:
            grad_avg = state["grad_avg"].data
            _average_into(grad_avg, grad, 1 - group["alpha"])
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"].data
            buffer *= group["momentum"]
            buffer += grad / avg
            param.data -= group["lr"] * buffer
        else:
            param.data -= group["lr"] * grad / avg


class Adagrad(ArrayOptimizer):
    """torch.optim.Adagrad: the gradient divided by the root of the sum of its squares so far, the lr decayed as
    lr / (1 + (step - 1) * lr_decay). Every parameter's sum starts at the optimizer's initial_accumulator_value
    (not a group's own), on construction, as torch's."""

    run_switches = ("foreach", "differentiable", "fused")

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
                 maximize=False, **switches):
        _check_hyper_parameters(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize), switches)
        for _, param in self._params():
            self._start(param, self.state[param])

    def _start(self, param, state):
        state.update(step=_scalar(0.0), sum=Tensor(get_array_module(param.data).full_like(
            param.data, self.defaults["initial_accumulator_value"])))

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        if not state:  # a parameter of a group added after construction
            self._start(param, state)
        step = self._count_step(param, state)
        grad = self._effective_gradient(param, grad, group)
        total = state["sum"].data
        total += grad * grad
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        param.data -= clr * grad / (xp.sqrt(total) + group["eps"])


class Adadelta(ArrayOptimizer):
    """torch.optim.Adadelta: each step scaled by the ratio of the running RMS of past steps to that of the
    gradients, so that lr (1 by default) is only a multiplier."""

    capturable_devices = (CAPTURABLE_DEVICES[:-1],) * 2  # torch's Adadelta lists no xla in its loop either

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False, **switches):
        _check_hyper_parameters(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        self._count_step(param, state, "square_avg", "acc_delta")
        grad = self._effective_gradient(param, grad, group)
        square_avg, acc_delta = state["square_avg"].data, state["acc_delta"].data
        _average_square_into(square_avg, grad, group["rho"])
        delta = xp.sqrt(acc_delta + group["eps"]) / xp.sqrt(square_avg + group["eps"]) * grad
        _average_square_into(acc_delta, delta, group["rho"])
        param.data -= group["lr"] * delta


class Adafactor(ArrayOptimizer):
    """torch.optim.Adafactor: the second moment of a matrix's gradient kept as its row and column means (row_var,
    col_var, over the last two dims), their outer product over the rows' mean its estimate; a vector's kept whole
    (variance). The average's weight 1 - beta2 is step**beta2_decay; the update, clipped to an RMS of d, moves the
    parameter by its own RMS (at least eps2) times min(lr, 1 / sqrt(step)); lr is also the decoupled decay's factor.
    eps1 None is the parameter dtype's machine epsilon, as torch's."""

    run_switches = ("foreach",)

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 maximize=False, **switches):
        _check_tensor_lr(lr)
        _check_ranges((0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}"),
                      (0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}"),
                      (eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}"),
                      (0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}"),
                      (1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}"),
                      (0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}"))
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        first = not state
        step = self._count_step(param, state)
        if first:  # the factors' shapes are the gradient's with its last (rows) or second-last (columns) dim 1
            factored = {"row_var": -1, "col_var": -2} if grad.ndim > 1 else {"variance": None}
            state.update({name: Tensor(xp.zeros(_keeping_one(grad.shape, axis), grad.dtype))
                          for name, axis in factored.items()})
        eps1, eps2 = group["eps"]
        eps1 = np.finfo(param.dtype).eps if eps1 is None else eps1
        grad = -grad if group["maximize"] else grad
        weight = step ** group["beta2_decay"]  # 1 - beta2
        alpha = max(eps2, _rms(param.data)) * min(group["lr"], 1 / step ** 0.5)
        _shrink_by_decay([param], group)
        if grad.ndim > 1:
            row_var, col_var = state["row_var"].data, state["col_var"].data
            _average_into(row_var, xp.linalg.norm(grad, axis=-1, keepdims=True) ** 2 / grad.shape[-1], weight)
            _average_into(col_var, xp.linalg.norm(grad, axis=-2, keepdims=True) ** 2 / grad.shape[-2], weight)
            variance = row_var @ col_var / xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"].data
            _average_into(variance, grad * grad, weight)
        update = grad / xp.sqrt(xp.maximum(variance, eps1 * eps1))
        param.data -= alpha / max(1.0, _rms(update) / group["d"]) * update


def _keeping_one(shape, axis):
    """shape with the dim at axis 1 (the whole shape for axis None)."""
    shape = list(shape)
    if axis is not None:
        shape[axis] = 1
    return tuple(shape)


class Rprop(ArrayOptimizer):
    """torch.optim.Rprop: each entry moves by its own step size against the gradient's sign; the size grows by etaplus
    while the sign holds and shrinks by etaminus when it flips (within step_sizes). An entry whose sign flipped stays
    put for that step, its gradient forgotten, so that the next step keeps its size."""

    capturable_devices = (CAPTURABLE_DEVICES,) * 2  # torch's Rprop lists xla in its foreach path too

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, maximize=False, **switches):
        _check_hyper_parameters(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize), switches)

    def update(self, param, grad, group, state):
        xp = get_array_module(param.data)
        etaminus, etaplus = group["etas"]
        first = self._count_step(param, state, "prev", "step_size") == 1
        prev, step_size = state["prev"].data, state["step_size"].data
        if first:
            step_size += group["lr"]
        grad = -grad if group["maximize"] else grad
        agreement = grad * prev
        flipped = agreement < 0
        factor = xp.where(agreement > 0, etaplus, xp.where(flipped, etaminus, 1)).astype(param.dtype)
        step_size *= factor
        xp.clip(step_size, *group["step_sizes"], out=step_size)
        grad = xp.where(flipped, 0, grad).astype(param.dtype, copy=False)
        param.data -= xp.sign(grad) * step_size
        prev[...] = grad


class ASGD(ArrayOptimizer):
    """torch.optim.ASGD: SGD whose step eta decays as lr / (1 + lambd * lr * step)**alpha, the parameter shrunk by
    1 - lambd * eta first, and a running average of the parameters, ax, taken from step t0 on (before it, ax is the
    parameter). eta and mu, the average's weight, are kept as _scalar's tensors, in whose precision they round, as
    torch's."""

    state_scalars = ("step", "eta", "mu")
    capturable_tensors = ("params, mus, etas, and state_steps",) * 2

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, *, maximize=False,
                 **switches):
        _check_hyper_parameters(lr=lr, weight_decay=weight_decay)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      maximize=maximize), switches)

    def update(self, param, grad, group, state):
        step = self._count_step(param, state, "ax", eta=group["lr"], mu=1.0)
        grad = self._effective_gradient(param, grad, group)
        eta, mu, ax = float(state["eta"].data), float(state["mu"].data), state["ax"].data
        param.data *= 1 - group["lambd"] * eta
        param.data -= eta * grad
        if mu != 1:
            ax += (param.data - ax) * mu
        else:
            ax[...] = param.data
        state["eta"].data[...] = group["lr"] / (1 + group["lambd"] * group["lr"] * step) ** group["alpha"]
        state["mu"].data[...] = 1 / max(1, step - group["t0"])


class Muon(ArrayOptimizer):
    """torch.optim.Muon, for 2-d parameters only (torch's ValueError for any other at construction): the
    momentum buffer (buf += (1 - momentum) * (grad - buf); Nesterov's look-ahead grad toward buf by momentum)
    orthogonalised by Newton-Schulz iterations in bfloat16, as torch's, and the parameter, shrunk by decoupled
    weight decay, moved by lr times adjust_lr_fn's factor of its shape."""

    run_switches = ()
    lr_factors = {None: lambda rows, columns: math.sqrt(max(1, rows / columns)),
                  "original": lambda rows, columns: math.sqrt(max(1, rows / columns)),
                  "match_rms_adamw": lambda rows, columns: 0.2 * math.sqrt(max(rows, columns))}

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        _check_tensor_lr(lr)
        _check_ranges((0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}"),
                      (0.0 <= momentum, f"momentum should be >= 0 but is: {momentum}"),
                      (0.0 <= weight_decay, f"weight decay should be >= 0 but is: {weight_decay}"),
                      (adjust_lr_fn in self.lr_factors,
                       f"Adjust learning rate function {adjust_lr_fn} is not supported"))
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for _, param in self._params():
            if param.ndim != 2:
                raise ValueError("Muon only supports 2D parameters whereas we found a parameter with size: "
                                 f"{_size(param.shape)}")

    def update(self, param, grad, group, state):
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        if not state:
            state["momentum_buffer"] = Tensor(get_array_module(grad).zeros_like(grad))
        buffer = state["momentum_buffer"].data
        _average_into(buffer, grad, 1 - group["momentum"], fused=True)
        if group["nesterov"]:
            grad = grad.copy()
            _average_into(grad, buffer, group["momentum"], fused=True)
        else:
            grad = buffer
        orthogonal = _orthogonalised(grad, group["ns_coefficients"], group["ns_steps"], group["eps"])
        _shrink_by_decay([param], group)
        _add_scaled_into(param.data, orthogonal, -group["lr"] * self.lr_factors[group["adjust_lr_fn"]](*param.shape))


def _orthogonalised(matrix, coefficients, steps, eps):
    """Muon's quintic Newton-Schulz iteration toward U V^T of matrix's SVD U S V^T, in bfloat16 as torch's: each
    product computed in float32 and rounded to bfloat16 once (see _bfloat16), on the wide orientation of the
    matrix, after scaling it to a Frobenius norm of 1 (at least eps)."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if matrix.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(coefficient) for coefficient in coefficients)
    tall = matrix.shape[0] > matrix.shape[1]
    x = _bfloat16(matrix.T if tall else matrix)
    norm = _bfloat16(get_array_module(x).linalg.norm(x))
    x = _bfloat16(x / max(norm, _bfloat16(np.float32(eps))))
    for _ in range(steps):
        gram = _bfloat16(x @ x.T)
        gram_update = _bfloat16(b * gram + c * (gram @ gram))
        x = _bfloat16(a * x + gram_update @ x)
    return x.T if tall else x


def _bfloat16(array):
    """float32 values rounded to bfloat16's 8 significant bits (to nearest, ties to even, as torch rounds), kept in
    float32: NumPy has no bfloat16."""
    xp = get_array_module(array)
    bits = xp.asarray(array, dtype=np.float32).view(np.uint32)
    rounded = (bits + (np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1)))) & np.uint32(0xFFFF0000)
    return rounded.view(np.float32)


class LBFGS(ArrayOptimizer):
    """torch.optim.LBFGS: quasi-Newton steps on all the parameters as one flat vector, the inverse Hessian estimated
    from the last history_size changes of step and gradient. One step(closure) runs up to max_iter iterations and
    max_eval evaluations of the closure, stepping lr along the direction or as far as torch's strong-Wolfe line
    search finds. One group only; its state is kept on the first parameter, as torch keeps it."""

    run_switches = ()

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        _check_hyper_parameters(lr=lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    def step(self, closure):
        """Minimizes the closure's loss (the closure zeroes the gradients, computes the loss, backpropagates it and
        returns it); returns its first loss."""
        if len(self.param_groups) != 1:
            raise AssertionError(f"Expected exactly one param_group, but got {len(self.param_groups)}")
        group = _with_lr_a_number(self.param_groups[0])
        params, lr, max_iter, max_eval = group["params"], group["lr"], group["max_iter"], group["max_eval"]
        evaluate = enable_grad()(closure)
        state = self.state[params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        xp = get_array_module(flat_grad)
        if xp.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss

        d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad, prev_loss = (state.get(key) for key in (
            "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss"))
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, H_diag = -flat_grad, [], [], [], 1
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == group["history_size"]:
                        for history in (old_dirs, old_stps, ro):
                            history.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                al = state.setdefault("al", [None] * group["history_size"])
                d = _inverse_hessian_times(-flat_grad, old_dirs, old_stps, ro, H_diag, al)
            prev_flat_grad, prev_loss = flat_grad, loss

            t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -group["tolerance_change"]:
                break

            ls_func_evals = 0
            if group["line_search_fn"] is not None:
                if group["line_search_fn"] != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                start = [param.data.copy() for param in params]
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    lambda step_size: self._evaluate_at(evaluate, start, step_size, d), t, d, loss, flat_grad, gtd,
                    tolerance_change=group["tolerance_change"], max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
                optimal = xp.abs(flat_grad).max() <= group["tolerance_grad"]
            else:
                self._add_to_params(t, d)
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    loss = float(evaluate())
                    flat_grad = self._flat_grad()
                    optimal = xp.abs(flat_grad).max() <= group["tolerance_grad"]
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or optimal:
                break
            if xp.abs(d * t).max() <= group["tolerance_change"] or abs(loss - prev_loss) < group["tolerance_change"]:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def _loaded_value(self, name, value, param):
        """Arrays like the parameter's, and numbers, which LBFGS's state holds."""
        return _like_parameter(value, param)

    def _flat_grad(self):
        params = self.param_groups[0]["params"]
        xp = get_array_module(params[0].data)
        return xp.concatenate([(xp.zeros_like(param.data) if param.grad is None else param.grad.data).reshape(-1)
                               for param in params])

    def _add_to_params(self, step_size, direction):
        """The parameters += step_size * direction, the flat direction cut into their shapes."""
        offset = 0
        for param in self.param_groups[0]["params"]:
            param.data += step_size * direction[offset:offset + param.data.size].reshape(param.shape)
            offset += param.data.size

    def _evaluate_at(self, evaluate, start, step_size, direction):
        """The loss and flat gradient at start + step_size * direction, the parameters left at start."""
        self._add_to_params(step_size, direction)
        loss = float(evaluate())
        flat_grad = self._flat_grad()
        for param, saved in zip(self.param_groups[0]["params"], start, strict=True):
            param.data[...] = saved
        return loss, flat_grad


def _inverse_hessian_times(vector, old_dirs, old_stps, ro, H_diag, al):
    """L-BFGS's two-loop recursion, in place in vector: the inverse Hessian estimated from the history (gradient
    changes old_dirs, steps old_stps, ro their 1 / dot products, H_diag the initial scale) times vector; al, torch's
    buffer of the first loop's coefficients, is written as torch writes it."""
    for i in reversed(range(len(old_dirs))):
        al[i] = old_stps[i].dot(vector) * ro[i]
        vector -= al[i] * old_dirs[i]
    result = vector * H_diag
    for i in range(len(old_dirs)):
        result += (al[i] - old_dirs[i].dot(result) * ro[i]) * old_stps[i]
    return result


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through two points' values f and slopes g, within bounds (by default the points'
    interval); the bounds' middle where the cubic has none."""
    xmin_bound, xmax_bound = bounds if bounds is not None else (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = get_array_module(d2_square).sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(evaluate_at, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """torch's line search along d from the loss f (gradient g, slope gtd) for a step t that meets the strong Wolfe
    conditions: brackets such a step, then zooms in by cubic interpolation, with at most max_ls evaluations.
    Returns the loss, flat gradient and step found, and the number of evaluations."""
    d_norm = get_array_module(d).abs(d).max()
    f_new, g_new = evaluate_at(t)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                      gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                      gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate_at(t)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket around a step that meets the conditions
    insufficient_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # a t at the bracket's edge, or near it twice running, moves a tenth of the bracket inside
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False

        f_new, g_new = evaluate_at(t)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos] = (
                t, f_new, g_new, gtd_new)
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos] = (
                    bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos])
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos] = t, f_new, g_new, gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


# torch.optim.lr_scheduler's and swa_utils' places: `optim.lr_scheduler.StepLR`, `optim.swa_utils.SWALR`, and
# importable as minigrad.optim.lr_scheduler and minigrad.optim.swa_utils.
from . import lr_scheduler, swa_utils  # noqa: E402  (last: they check for an Optimizer)

LRScheduler, StepLR, CosineAnnealingLR = lr_scheduler.LRScheduler, lr_scheduler.StepLR, lr_scheduler.CosineAnnealingLR

sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler
sys.modules[__name__ + ".swa_utils"] = swa_utils
