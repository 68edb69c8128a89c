"""Layers and containers with torch's names, so torch code and checkpoints carry over."""
from . import init, utils
from .layers import (ELU, GELU, AdaptiveAvgPool2d, AvgPool2d, Conv2d, ConvTranspose2d, CrossEntropyLoss, Dropout,
                     Dropout2d, Flatten, Hardsigmoid, Hardswish, Hardtanh, Identity, L1Loss, LeakyReLU, Linear,
                     LogSoftmax, MaxPool2d, Mish, ModuleDict, ModuleList, MSELoss, NLLLoss, PReLU, ReLU, ReLU6,
                     Sequential, Sigmoid, SiLU, Softmax, Softplus, Tanh, Upsample)
from .module import Module, Parameter, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "CrossEntropyLoss",
    "Dropout", "Dropout2d", "ELU", "Flatten", "GELU", "GroupNorm", "Hardsigmoid", "Hardswish", "Hardtanh",
    "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MaxPool2d", "Mish", "Module",
    "ModuleDict", "ModuleList", "MSELoss", "NLLLoss", "Parameter", "PReLU", "ReLU", "ReLU6", "Sequential",
    "Sigmoid", "SiLU", "Softmax", "Softplus", "StateDictError", "Tanh", "Upsample", "init", "utils",
]
