"""Every differentiable op, each a Function with its forward and backward side by side."""
from .activation import (ELU, GELU, GRUUpdate, Hardsigmoid, Hardswish, LeakyReLU, LogSigmoid, LogSoftmax, LSTMUpdate,
                         Mish, PReLU, ReLU, Sigmoid, SigmoidGate, SiLU, Softmax, Softplus)
from .conv import Conv2d, ConvTranspose2d, DepthUnfold, Unfold, col2im, im2col
from .decompositions import Eigh, EighResult, Geqrf, LDLFactor, Lstsq, LstsqResult, Pinv, QR, QRResult, SVD, SVDResult
from .einsum import Einsum
from .elementwise import (Abs, Acos, Acosh, Add, Angle, Asin, Asinh, Atan, Atan2, Atanh, Binary, Binomial, Cast, Ceil,
                          Clamp, ClampMaxTensor, ClampMinTensor, Copysign, Cos, Cosh, Deg2rad, Digamma, Div, DivFloor,
                          DivTrunc, Drawn, Elementwise, Entr, Erf, Erfc, Erfcx, Erfinv, Exp, Exp2, Expm1, Floor,
                          FloorDivide, Fmax, Fmin, Fmod, Frac, FrexpResult, GradientFreeSpecial, Hardtanh, Heaviside,
                          Hypot, I0, I0e, I1, I1e, Igamma, Igammac, Ldexp, Lerp, Lgamma, Log, Log10, Log1p, Log2,
                          LogAddExp, LogAddExp2, Logit, LogNdtr, Maximum, Minimum, Mul, NanToNum, Ndtri, Neg, Nextafter,
                          Polygamma, Pow, PowScalar, Rad2deg, Reciprocal, Remainder, Round, Rsqrt, ScaledAdd, Sign, Sin,
                          Sinc, Sinh, SpecialFunction, Sqrt, Stepwise, Sub, Tan, Tanh, ToDevice, Trunc, Where,
                          WithoutDerivative, Xlog1py, Xlogy, Zeta)
from .linalg import (Cholesky, CholeskySolve, Det, Inverse, LogAbsDet, LUFactor, LUSolve, MatrixExp, SlogdetSign, Solve,
                     SolveTriangular)
from .loss import (BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CharbonnierLoss, CosineSimilarity, CTCLoss,
                   KLDivergence, NLLLoss, PointwiseLoss, SmoothL1Loss)
from .matmul import MatMul
from .norm import Normalize
from .polynomials import OrthogonalPolynomial
from .pool import AvgPool, MaxPool
from .reduce import (Amax, Amin, AminmaxResult, Cumprod, Cumsum, LogCumSumExp, LogSumExp, Max, MaxResult, Mean, Median,
                     Min, NanMedian, Norm, Prod, Std, Sum, Var)
from .sample import GridSample
from .shape import (AsStrided, Cat, DiagEmbed, Diagonal, Embedding, EmbeddingBag, Expand, FillOfSharedMemory, Flip,
                    Gather, GetItem, Pad, Permute, Reshape, Scatter, ScatterReduce, SetItem, Stack, Tril, Triu,
                    UnfoldWindows)
from .upsample import UpsampleAntialiased, UpsampleBicubic, UpsampleBilinear, UpsampleNearest, UpsampleNearestExact

__all__ = [
    "Abs", "Acos", "Acosh", "Add", "Amax", "Amin", "AminmaxResult", "Angle", "Asin", "Asinh", "AsStrided", "Atan",
    "Atan2", "Atanh", "AvgPool", "Binary", "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "Binomial", "Cast",
    "Cat", "Ceil", "CharbonnierLoss", "Cholesky", "CholeskySolve", "Clamp", "ClampMaxTensor", "ClampMinTensor",
    "col2im", "Conv2d", "ConvTranspose2d", "Copysign", "Cos", "Cosh", "CosineSimilarity", "CTCLoss", "Cumprod",
    "Cumsum", "Deg2rad", "DepthUnfold", "Det", "DiagEmbed", "Diagonal", "Digamma", "Div", "DivFloor", "DivTrunc",
    "Drawn", "Eigh", "EighResult", "Einsum", "Elementwise", "ELU", "Embedding", "EmbeddingBag", "Entr", "Erf", "Erfc",
    "Erfcx", "Erfinv", "Exp", "Exp2", "Expand", "Expm1", "FillOfSharedMemory", "Flip", "Floor", "FloorDivide", "Fmax",
    "Fmin", "Fmod", "Frac", "FrexpResult", "Gather", "GELU", "Geqrf", "GetItem", "GradientFreeSpecial", "GridSample",
    "GRUUpdate", "Hardsigmoid", "Hardswish", "Hardtanh", "Heaviside", "Hypot", "I0", "I0e", "I1", "I1e", "Igamma",
    "Igammac", "im2col", "Inverse", "KLDivergence", "Ldexp", "LDLFactor", "LeakyReLU", "Lerp", "Lgamma", "Log", "Log10",
    "Log1p", "Log2", "LogAbsDet", "LogAddExp", "LogAddExp2", "LogCumSumExp", "Logit", "LogNdtr", "LogSigmoid",
    "LogSoftmax", "LogSumExp", "LSTMUpdate", "Lstsq", "LstsqResult", "LUFactor", "LUSolve", "MatMul", "MatrixExp",
    "Max", "Maximum", "MaxPool", "MaxResult", "Mean", "Median", "Min", "Minimum", "Mish", "Mul", "NanMedian",
    "NanToNum", "Ndtri", "Neg", "Nextafter", "NLLLoss", "Norm", "Normalize", "OrthogonalPolynomial", "Pad", "Permute",
    "Pinv", "PointwiseLoss", "Polygamma", "Pow", "PowScalar", "PReLU", "Prod", "QR", "QRResult", "Rad2deg",
    "Reciprocal", "ReLU", "Remainder", "Reshape", "Round", "Rsqrt", "ScaledAdd", "Scatter", "ScatterReduce", "SetItem",
    "Sigmoid", "SigmoidGate", "Sign", "SiLU", "Sin", "Sinc", "Sinh", "SlogdetSign", "SmoothL1Loss", "Softmax",
    "Softplus", "Solve", "SolveTriangular", "SpecialFunction", "Sqrt", "Stack", "Std", "Stepwise", "Sub", "Sum", "SVD",
    "SVDResult", "Tan", "Tanh", "ToDevice", "Tril", "Triu", "Trunc", "Unfold", "UnfoldWindows", "UpsampleAntialiased",
    "UpsampleBicubic", "UpsampleBilinear", "UpsampleNearest", "UpsampleNearestExact", "Var", "Where",
    "WithoutDerivative", "Xlog1py", "Xlogy", "Zeta"
]
