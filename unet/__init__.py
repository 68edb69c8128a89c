"""The SCA + non-local U-Net for image restoration, built only from minigrad."""
from .attention import NONLOCAL_MODES, SCA, NonLocal
from .blocks import DoubleConv
from .losses import Charbonnier, EdgeLoss, RestorationLoss, SSIMLoss
from .model import UNet
from .restore import restore

__all__ = ["Charbonnier", "DoubleConv", "EdgeLoss", "NONLOCAL_MODES", "NonLocal", "RestorationLoss", "SCA", "SSIMLoss",
           "UNet", "restore"]
