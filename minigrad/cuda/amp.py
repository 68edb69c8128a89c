"""torch.cuda.amp: autocast and GradScaler for device type "cuda", which torch deprecates for minigrad.amp's."""
from ..amp import _deprecated_autocast, _deprecated_grad_scaler

autocast = _deprecated_autocast("cuda")
GradScaler = _deprecated_grad_scaler("cuda")

__all__ = ["GradScaler", "autocast"]
