"""Layers and containers with torch's names, so torch code and checkpoints carry over."""
from . import init
from .layers import AdaptiveAvgPool2d, Conv2d, Identity, MaxPool2d, ReLU, Sequential, Sigmoid, Upsample
from .module import Module, Parameter, StateDictError

__all__ = [
    "AdaptiveAvgPool2d", "Conv2d", "Identity", "MaxPool2d", "Module", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "StateDictError", "Upsample", "init",
]
