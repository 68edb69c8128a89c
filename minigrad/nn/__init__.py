"""Layers and containers with torch's names, so torch code and checkpoints carry over."""
from . import init
from .layers import (AdaptiveAvgPool2d, AvgPool2d, Conv2d, ConvTranspose2d, CrossEntropyLoss, Dropout, Dropout2d,
                     Flatten, Identity, L1Loss, Linear, LogSoftmax, MaxPool2d, ModuleList, MSELoss, NLLLoss, ReLU,
                     Sequential, Sigmoid, Upsample)
from .module import Module, Parameter, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss",
    "Dropout", "Dropout2d", "Flatten", "GroupNorm", "Identity", "L1Loss", "LayerNorm", "Linear", "LogSoftmax",
    "MaxPool2d", "Module", "ModuleList", "MSELoss", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "StateDictError", "Upsample", "init",
]
