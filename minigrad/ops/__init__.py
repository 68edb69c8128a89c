"""Every differentiable op, each a Function with its forward and backward side by side."""
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, LeakyReLU, LogSoftmax, Mish, PReLU, ReLU, Sigmoid,
                         SigmoidGate, SiLU, Softmax, Softplus)
from .conv import Conv2d, ConvTranspose2d, col2im, im2col
from .elementwise import (Abs, Add, Cast, Ceil, Clamp, Cos, Div, Elementwise, Erf, Exp, Expm1, Floor, FloorDivide,
                          Hardtanh, Log, Log1p, Log2, Log10, Maximum, Minimum, Mul, Neg, Pow, PowScalar, Reciprocal,
                          Remainder, Round, Rsqrt, Sign, Sin, Sqrt, Stepwise, Sub, Tanh, ToDevice, Trunc, Where)
from .loss import CharbonnierLoss, NLLLoss
from .matmul import MatMul
from .norm import Normalize
from .pool import AvgPool2d, MaxPool2d
from .reduce import Amax, Amin, Cumsum, LogSumExp, Max, MaxResult, Mean, Min, Norm, Prod, Std, Sum, Var
from .shape import Cat, Gather, GetItem, Pad, Permute, Reshape, SetItem
from .upsample import UpsampleBilinear, UpsampleNearest

__all__ = [
    "Abs", "Add", "Amax", "Amin", "AvgPool2d", "Cast", "Cat", "Ceil", "CharbonnierLoss", "Clamp", "Conv2d",
    "ConvTranspose2d", "Cos", "Cumsum", "Div", "Elementwise", "ELU", "Erf", "Exp", "Expm1", "Floor", "FloorDivide",
    "Gather", "GELU", "GetItem", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "Log", "Log10", "Log1p", "Log2",
    "LogSoftmax", "LogSumExp", "MatMul", "Max", "Maximum", "MaxPool2d", "MaxResult", "Mean", "Min", "Minimum", "Mish",
    "Mul", "Neg", "NLLLoss", "Norm", "Normalize", "Pad", "Permute", "Pow", "PowScalar", "PReLU", "Prod", "Reciprocal",
    "ReLU", "Remainder", "Reshape", "Round", "Rsqrt", "SetItem", "Sigmoid", "SigmoidGate", "Sign", "SiLU", "Sin",
    "Softmax", "Softplus", "Sqrt", "Std", "Stepwise", "Sub", "Sum", "Tanh", "ToDevice", "Trunc", "UpsampleBilinear",
    "UpsampleNearest", "Var", "Where", "col2im", "im2col",
]
