"""Every differentiable op, each a Function with its forward and backward side by side."""
from .activation import LogSoftmax, ReLU, Sigmoid, SigmoidGate, Softmax
from .conv import Conv2d, col2im, im2col
from .elementwise import (Abs, Add, Cast, Clamp, Div, Exp, FloorDivide, Log, Mul, Neg, Pow, PowScalar, Remainder, Sqrt,
                          Sub, ToDevice, Where)
from .loss import CharbonnierLoss, NLLLoss
from .matmul import MatMul
from .norm import Normalize
from .pool import AvgPool2d, MaxPool2d
from .reduce import Amax, Amin, Cumsum, LogSumExp, Max, MaxResult, Mean, Min, Norm, Prod, Std, Sum, Var
from .shape import Cat, Gather, GetItem, Pad, Permute, Reshape, SetItem
from .upsample import UpsampleBilinear, UpsampleNearest

__all__ = [
    "Abs", "Add", "Amax", "Amin", "AvgPool2d", "Cast", "Cat", "CharbonnierLoss", "Clamp", "Conv2d", "Cumsum", "Div",
    "Exp", "FloorDivide", "Gather", "GetItem", "Log", "LogSoftmax", "LogSumExp", "MatMul", "Max", "MaxPool2d",
    "MaxResult", "Mean", "Min", "Mul", "NLLLoss", "Neg", "Norm", "Normalize", "Pad", "Permute", "Pow", "PowScalar",
    "Prod", "ReLU", "Remainder", "Reshape", "SetItem", "Sigmoid", "SigmoidGate", "Softmax", "Sqrt", "Std", "Sub",
    "Sum", "ToDevice", "UpsampleBilinear", "UpsampleNearest", "Var", "Where", "col2im", "im2col",
]
