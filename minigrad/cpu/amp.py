"""torch.cpu.amp: autocast and GradScaler for device type "cpu", which torch deprecates for minigrad.amp's."""
from ..amp import _deprecated_autocast, _deprecated_grad_scaler

autocast = _deprecated_autocast("cpu")
GradScaler = _deprecated_grad_scaler("cpu")

__all__ = ["GradScaler", "autocast"]
