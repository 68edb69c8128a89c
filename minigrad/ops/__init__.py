"""Every differentiable op, each a Function with its forward and backward side by side."""
from .activation import LogSoftmax, ReLU, Sigmoid, SigmoidGate, Softmax
from .conv import Conv2d, ConvTranspose2d, col2im, im2col
from .elementwise import (Abs, Add, Cast, Clamp, Div, Exp, FloorDivide, Log, Mul, Neg, Pow, PowScalar, Remainder, Sqrt,
                          Sub, ToDevice, Where)
from .loss import CharbonnierLoss, NLLLoss
from .matmul import MatMul
from .norm import Normalize
from .pool import AvgPool2d, MaxPool2d
from .reduce import Max, MaxResult, Mean, Min, Std, Sum, Var
from .shape import Cat, GetItem, Pad, Permute, Reshape, SetItem
from .upsample import UpsampleBilinear, UpsampleNearest

__all__ = [
    "Abs", "Add", "AvgPool2d", "Cast", "Cat", "CharbonnierLoss", "Clamp", "Conv2d", "ConvTranspose2d", "Div", "Exp", "FloorDivide",
    "GetItem", "Log", "LogSoftmax", "MatMul", "Max", "MaxPool2d", "MaxResult", "Mean", "Min", "Mul", "NLLLoss", "Neg",
    "Normalize", "Pad", "Permute", "Pow", "PowScalar", "ReLU", "Remainder", "Reshape", "SetItem", "Sigmoid",
    "SigmoidGate", "Softmax", "Sqrt", "Std", "Sub", "Sum", "ToDevice", "UpsampleBilinear", "UpsampleNearest", "Var",
    "Where", "col2im", "im2col",
]
