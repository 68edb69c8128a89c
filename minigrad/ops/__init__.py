"""Every differentiable op, each a Function with its forward and backward side by side."""
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, LeakyReLU, LogSoftmax, Mish, PReLU, ReLU, Sigmoid,
                         SigmoidGate, SiLU, Softmax, Softplus)
from .conv import Conv2d, ConvTranspose2d, col2im, im2col
from .elementwise import (Abs, Acos, Add, Asin, Atan, Cast, Ceil, Clamp, ClampMaxTensor, ClampMinTensor, Cos, Cosh,
                          Div, Elementwise, Erf, Exp, Exp2, Expm1, Floor, FloorDivide, Frac, Hardtanh, Log, Log1p, Log2,
                          Log10, Logit, Maximum, Minimum, Mul, NanToNum, Neg, Pow, PowScalar, Reciprocal, Remainder,
                          Round, Rsqrt, Sign, Sin, Sinh, Sqrt, Stepwise, Sub, Tan, Tanh, ToDevice, Trunc, Where)
from .loss import CharbonnierLoss, NLLLoss
from .matmul import MatMul
from .norm import Normalize
from .pool import AvgPool2d, MaxPool2d
from .reduce import Amax, Amin, Cumsum, LogSumExp, Max, MaxResult, Mean, Min, Norm, Prod, Std, Sum, Var
from .shape import Cat, Gather, GetItem, Pad, Permute, Reshape, SetItem
from .upsample import UpsampleBilinear, UpsampleNearest

__all__ = [
    "Abs", "Acos", "Add", "Amax", "Amin", "Asin", "Atan", "AvgPool2d", "Cast", "Cat", "Ceil", "CharbonnierLoss",
    "Clamp", "ClampMaxTensor", "ClampMinTensor", "Conv2d", "ConvTranspose2d", "Cos", "Cosh", "Cumsum", "Div",
    "Elementwise", "ELU", "Erf", "Exp", "Exp2", "Expm1", "Floor", "FloorDivide", "Frac", "Gather", "GELU",
    "GetItem", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "Log", "Log10", "Log1p", "Log2", "Logit",
    "LogSoftmax", "LogSumExp", "MatMul", "Max", "Maximum", "MaxPool2d", "MaxResult", "Mean", "Min", "Minimum",
    "Mish", "Mul", "NanToNum", "Neg", "NLLLoss", "Norm", "Normalize", "Pad", "Permute", "Pow", "PowScalar", "PReLU",
    "Prod",
    "Reciprocal", "ReLU", "Remainder", "Reshape", "Round", "Rsqrt", "SetItem", "Sigmoid", "SigmoidGate", "Sign",
    "SiLU", "Sin", "Sinh", "Softmax", "Softplus", "Sqrt", "Std", "Stepwise", "Sub", "Sum", "Tan", "Tanh",
    "ToDevice", "Trunc", "UpsampleBilinear", "UpsampleNearest", "Var", "Where", "col2im", "im2col",
]
