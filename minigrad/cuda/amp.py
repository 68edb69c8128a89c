"""torch.cuda.amp: autocast, GradScaler, custom_fwd and custom_bwd for device type "cuda", which torch deprecates for
minigrad.amp's."""
import warnings

from .. import amp
from ..amp import _deprecated_autocast, _deprecated_grad_scaler

autocast = _deprecated_autocast("cuda")
GradScaler = _deprecated_grad_scaler("cuda")

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


def _warn_deprecated(name):
    warnings.warn(f"`torch.cuda.amp.{name}(args...)` is deprecated. Please use `torch.amp.{name}(args..., "
                  "device_type='cuda')` instead.", FutureWarning, stacklevel=3)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs), with torch's FutureWarning."""
    _warn_deprecated("custom_fwd")
    return amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    """amp.custom_bwd(bwd, device_type="cuda"), with torch's FutureWarning."""
    _warn_deprecated("custom_bwd")
    return amp.custom_bwd(bwd, device_type="cuda")
