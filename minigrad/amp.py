"""torch.amp: mixed-precision training, autocast regions and the GradScaler, as ported training scripts write them.

    scaler = mg.amp.GradScaler("cuda")
    with mg.autocast(device_type="cuda", dtype=mg.float16):
        loss = criterion(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()

Inside an enabled autocast region the ops on torch's lists for its device type cast their float16 and float32
operands (see function.autocast_operands): matrix products and convolutions to float16, reductions, norms and
losses to float32. NumPy has no bfloat16, so float16 is the one dtype autocast takes. Each device type's lists
apply whatever device the tensors are on, so a "cuda" script casts as on a GPU on minigrad's CPU too (where torch's
disables a "cuda" region without a GPU). As minigrad's anomaly mode, the autocast state is the process's, not a
thread's as torch's.
"""
import contextlib
import copy
import functools
import warnings
from collections import abc, defaultdict

import numpy as np

from . import function
from .function import no_grad
from .tensor import Tensor
from .torch_functions import stack

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype", "is_autocast_available"]

_DEVICE_TYPES = {"cuda": "cuda", "gpu": "cuda", "cpu": "cpu"}  # the device types autocast takes, by their lists
_FLOAT16 = np.dtype(np.float16)
_enabled = {"cuda": False, "cpu": False}
_dtypes = {"cuda": _FLOAT16, "cpu": None}  # torch's default for the CPU is bfloat16, which NumPy lacks
_cache_enabled = [True]


def is_autocast_available(device_type):
    """Whether autocast takes `device_type`: "cuda" (also "gpu") and "cpu"."""
    return device_type in _DEVICE_TYPES


def _lists_of(device_type):
    if device_type not in _DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return _DEVICE_TYPES[device_type]


def is_autocast_enabled(device_type=None):
    """Whether an enabled autocast region of `device_type` ("cuda" where None, as torch's) runs now."""
    return _enabled[_lists_of("cuda" if device_type is None else device_type)]


def get_autocast_dtype(device_type):
    """The dtype autocast casts to on `device_type`: float16, or None on the CPU until a region sets it (torch's
    default there, bfloat16, has no NumPy dtype)."""
    return _dtypes[_lists_of(device_type)]


def is_autocast_cpu_enabled():
    return is_autocast_enabled("cpu")


def get_autocast_gpu_dtype():
    return get_autocast_dtype("cuda")


def get_autocast_cpu_dtype():
    return get_autocast_dtype("cpu")


def is_autocast_cache_enabled():
    return _cache_enabled[0]


class autocast(contextlib.ContextDecorator):  # noqa: N801 (torch's name)
    """torch.autocast: a region (a `with` block, or each call of a decorated function) whose ops run in float16 or
    float32 by torch's lists for `device_type` ("cuda", also "gpu", or "cpu"); autocast(enabled=False) inside one
    runs its ops uncast. cache_enabled is taken: minigrad casts a weight again at each use."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self.lists = _lists_of(device_type)
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        if enabled and (self.fast_dtype is None or np.dtype(self.fast_dtype) != _FLOAT16):
            raise RuntimeError(f"minigrad's autocast supports dtype=float16 only (NumPy has no bfloat16), got "
                               f"{'bfloat16, the CPU default' if self.fast_dtype is None else self.fast_dtype}: "
                               "pass dtype=float16")
        self._enabled = bool(enabled)
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled

    def __enter__(self):
        self.previous = (dict(_enabled), dict(_dtypes), _cache_enabled[0], function.autocast_device,
                         function.autocast_dtype)
        _enabled[self.lists] = self._enabled
        _cache_enabled[0] = self._cache_enabled
        if self._enabled:
            _dtypes[self.lists] = _FLOAT16
            function.set_autocast(self.lists, _FLOAT16)
        elif function.autocast_device == self.lists:
            function.set_autocast(None, None)
        return self

    def __exit__(self, *exception):
        enabled, dtypes, _cache_enabled[0], device_type, dtype = self.previous
        _enabled.update(enabled)
        _dtypes.update(dtypes)
        function.set_autocast(device_type, dtype)
        return False

    def _recreate_cm(self):
        return copy.copy(self)  # each call of a decorated function keeps its own state: a recursive call too


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """torch.amp.custom_fwd, for a custom Function's forward: with `cast_inputs`, inside an enabled autocast region
    of `device_type`, forward gets its floating-point tensors cast to that dtype and runs with autocast off; without,
    it runs in the region's autocast, which custom_bwd then gives backward too."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def forward(ctx, *args, **kwargs):
        ctx._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        ctx._fwd_used_autocast = enabled and cast_inputs is None
        if cast_inputs is None or not enabled:
            return fwd(ctx, *args, **kwargs)
        with autocast(device_type, enabled=False):
            return fwd(ctx, *function.cast_floating(args, cast_inputs), **function.cast_floating(kwargs, cast_inputs))
    return forward


def custom_bwd(bwd=None, *, device_type):
    """torch.amp.custom_bwd, for a custom Function's backward: run in the autocast state its forward ran in (see
    custom_fwd)."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def backward(ctx, *args, **kwargs):
        with autocast(device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(ctx, *args, **kwargs)
    return backward


def _deprecated_autocast(device_type):
    """torch.<device_type>.amp.autocast: autocast(device_type, ...), with torch's FutureWarning."""
    class DeviceAutocast(autocast):
        __doc__ = f"torch.{device_type}.amp.autocast, deprecated for autocast('{device_type}', ...)."

        def __init__(self, enabled=True, dtype=_FLOAT16 if device_type == "cuda" else None, cache_enabled=True):
            warnings.warn(f"`torch.{device_type}.amp.autocast(args...)` is deprecated. Please use "
                          f"`torch.amp.autocast('{device_type}', args...)` instead.", FutureWarning, stacklevel=2)
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
    DeviceAutocast.__name__ = DeviceAutocast.__qualname__ = "autocast"
    DeviceAutocast.__module__ = f"{__package__}.{device_type}.amp"
    return DeviceAutocast


class GradScaler:
    """torch.amp.GradScaler: the loss scaled up before backward, so that float16 gradients do not underflow, and
    the gradients scaled back down (unscale_) before the optimizer's step, which is skipped where any of them is inf
    or NaN; update() then halves the scale (backoff_factor), or doubles it (growth_factor) after growth_interval
    steps in a row without one. enabled=False makes every method a pass-through, as torch's. The scale is a 0-d
    float32 tensor on the device of the first tensor scaled, as torch's. GradScaler("cuda") scales on any device,
    where torch's disables itself (with a warning) on a machine without a GPU."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    def _check_scale_growth_tracker(self, funcname):
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate your script did not "
                                 "use scaler.scale(loss or outputs) earlier in the iteration.")

    def scale(self, outputs):
        """`outputs` (a tensor, or lists and tuples of them, nested) times the scale; as they are where disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale_on(outputs.device)
        if isinstance(outputs, abc.Iterable):
            scaled = map(self.scale, outputs)
            return type(outputs)(scaled) if isinstance(outputs, (list, tuple)) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _scale_on(self, device):
        """The scale tensor (made on `device` at the first scale(), as torch's), on `device`."""
        if self._scale is None:
            self._scale = Tensor(np.float32(self._init_scale), device=device)
            self._growth_tracker = self._init_growth_tracker
        return self._scale if self._scale.device == device else self._scale.to(device)

    def unscale_(self, optimizer):
        """Divide the gradients of `optimizer`'s parameters by the scale, in place (before clipping them), and note
        whether any is inf or NaN; once per optimizer between two update() calls, as torch's."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == "unscaled":
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == "stepped":
            raise RuntimeError("unscale_() is being called after step().")
        inverse = float(np.float32(1.0 / np.float64(self._scale.item())))  # torch's: 1 / scale in double, then float
        finite = defaultdict(list)  # per device, whether each gradient is finite: read back once per device
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.dtype == _FLOAT16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                finite[param.grad.device].append(param.grad.isfinite().all())
                with no_grad():
                    param.grad.mul_(inverse)
        state["found_inf_per_device"] = {device: not bool(stack(flags).all()) for device, flags in finite.items()}
        state["stage"] = "unscaled"

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step(*args, **kwargs) on the unscaled gradients (unscale_ first, where not called), skipped
        (None) where any is inf or NaN; what optimizer.step returns."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] == "stepped":
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == "ready":
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        result = None if any(state["found_inf_per_device"].values()) else optimizer.step(*args, **kwargs)
        state["stage"] = "stepped"
        return result

    def update(self, new_scale=None):
        """The scale for the next iteration: `new_scale` where given (a float, or a 1-element tensor), else backed
        off where a step found inf or NaN, grown after growth_interval clean steps in a row, as torch's."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if not isinstance(new_scale, float):
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or torch.FloatTensor "
                          "with requires_grad=False.")
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError(reason)
                new_scale = new_scale.item()
            self._set_scale(np.float32(new_scale))
        else:
            found = [found_inf for state in self._per_optimizer_states.values()
                     for found_inf in state["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._update_scale(any(found))
        self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    def _update_scale(self, found_inf):
        """torch's _amp_update_scale_: back off and restart the count of clean steps, or count one more and grow
        the scale (where it stays finite) when the count reaches growth_interval."""
        scale = np.float32(self._scale.item())
        if found_inf:
            self._set_scale(scale * np.float32(self._backoff_factor))
            self._growth_tracker = 0
            return
        clean_steps = self._growth_tracker + 1
        if clean_steps == self._growth_interval:
            with np.errstate(over="ignore"):
                grown = scale * np.float32(self._growth_factor)
            if np.isfinite(grown):
                self._set_scale(grown)
            clean_steps = 0
        self._growth_tracker = clean_steps

    def _set_scale(self, value):
        self._scale = Tensor(np.float32(value), device=self._scale.device)

    def get_scale(self):
        """The scale as a Python float (1.0 where disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale.item()

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """torch's five entries (an empty dict where disabled): scale, growth_factor, backoff_factor,
        growth_interval, _growth_tracker."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._set_scale(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]


def _fresh_optimizer_state():
    return {"stage": "ready", "found_inf_per_device": {}}


def _deprecated_grad_scaler(device_type):
    """torch.<device_type>.amp.GradScaler: GradScaler(device_type, ...), with torch's FutureWarning."""
    class DeviceGradScaler(GradScaler):
        __doc__ = f"torch.{device_type}.amp.GradScaler, deprecated for GradScaler('{device_type}', ...)."

        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            warnings.warn(f"`torch.{device_type}.amp.GradScaler(args...)` is deprecated. Please use "
                          f"`torch.amp.GradScaler('{device_type}', args...)` instead.", FutureWarning, stacklevel=2)
            super().__init__(device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)
    DeviceGradScaler.__name__ = DeviceGradScaler.__qualname__ = "GradScaler"
    DeviceGradScaler.__module__ = f"{__package__}.{device_type}.amp"
    return DeviceGradScaler
