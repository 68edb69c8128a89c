"""Layers and containers with torch's names, so torch code and checkpoints carry over."""
from . import init
from .layers import (AdaptiveAvgPool2d, AvgPool2d, Conv2d, CrossEntropyLoss, Dropout, Dropout2d, Flatten, Identity, L1Loss,
                     Linear, LogSoftmax, MaxPool2d, ModuleList, MSELoss, NLLLoss, ReLU, Sequential, Sigmoid, Upsample)
from .module import Module, Parameter, StateDictError

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "Flatten", "Identity",
    "L1Loss", "Linear", "LogSoftmax", "MaxPool2d", "Module", "ModuleList", "MSELoss", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "StateDictError", "Upsample", "init",
]
