"""torch.utils: the data loading of training loops (`minigrad.utils.data`) and activation checkpointing
(`minigrad.utils.checkpoint`)."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
