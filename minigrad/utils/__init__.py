"""torch.utils: the data loading of training loops (`minigrad.utils.data`)."""
from . import data

__all__ = ["data"]
