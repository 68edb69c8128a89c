"""Layers and containers with torch's names, so torch code and checkpoints carry over."""
from . import init, utils
from .layers import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BCELoss, BCEWithLogitsLoss, Conv2d,
                     ConvTranspose2d, CosineEmbeddingLoss, CosineSimilarity, CrossEntropyLoss, Dropout, Dropout1d,
                     Dropout2d, ELU, Embedding, Flatten, Fold, GELU, Hardsigmoid, Hardswish, Hardtanh, HuberLoss,
                     Identity, KLDivLoss, L1Loss, LeakyReLU, Linear, LogSoftmax, MaxPool2d, MaxUnpool2d, Mish,
                     ModuleDict, ModuleList, MSELoss, NLLLoss, PairwiseDistance, ParameterDict, ParameterList,
                     PixelShuffle, PixelUnshuffle, PReLU, ReLU, ReLU6, Sequential, Sigmoid, SiLU, SmoothL1Loss, Softmax,
                     Softplus, Tanh, Unfold, Upsample)
from .module import Module, Parameter, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm, RMSNorm

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BCELoss", "BCEWithLogitsLoss",
    "Conv2d", "ConvTranspose2d", "CosineEmbeddingLoss", "CosineSimilarity", "CrossEntropyLoss", "Dropout", "Dropout1d",
    "Dropout2d", "ELU", "Embedding", "Flatten", "Fold", "GELU", "GroupNorm", "Hardsigmoid", "Hardswish", "Hardtanh",
    "HuberLoss", "Identity", "InstanceNorm1d", "InstanceNorm2d", "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU",
    "Linear", "LogSoftmax", "MaxPool2d", "MaxUnpool2d", "Mish", "Module", "ModuleDict", "ModuleList", "MSELoss",
    "NLLLoss", "PairwiseDistance", "Parameter", "ParameterDict", "ParameterList", "PixelShuffle", "PixelUnshuffle",
    "PReLU", "ReLU", "ReLU6", "RMSNorm", "Sequential", "Sigmoid", "SiLU", "SmoothL1Loss", "Softmax", "Softplus",
    "StateDictError", "Tanh", "Unfold", "Upsample", "init", "utils",
]
