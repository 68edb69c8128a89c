"""Layers and containers with torch's names, so torch code and checkpoints carry over."""
from . import init
from .layers import (AdaptiveAvgPool2d, Conv2d, Flatten, Identity, L1Loss, Linear, MaxPool2d, ModuleList, MSELoss, ReLU,
                     Sequential, Sigmoid, Upsample)
from .module import Module, Parameter, StateDictError

__all__ = [
    "AdaptiveAvgPool2d", "Conv2d", "Flatten", "Identity", "L1Loss", "Linear", "MaxPool2d", "Module", "ModuleList",
    "MSELoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "StateDictError", "Upsample", "init",
]
