"""torch.cpu's amp, as ported scripts import it (torch.cpu.amp.autocast)."""
from . import amp

__all__ = ["amp"]
