"""The layers the U-Net needs, and the common torch layers around them, with torch's constructor arguments and
default initialisation."""
import collections
import collections.abc
import itertools
import warnings

from .. import functional as F
from ..ops import conv
from ..ops.shape import checked_position
from . import init
from .init import default_weight_and_bias, factory_tensor
from ..tensor import Tensor
from .module import Module, Parameter


class _ConvNd(Module):
    """torch's Conv1d, Conv2d and Conv3d, by their F function and the number of their spatial dims. kernel_size,
    stride, padding and dilation are an int or `dims` of them, kept as tuples (torch's _single, _pair, _triple);
    padding also "valid" or "same" (see F.conv2d). weight (out_channels, in_channels/groups, *kernel_size), its
    init bound over that fan-in, as torch. padding_mode "reflect", "replicate" and "circular" pad by F.pad ahead of
    an unpadded conv, as torch."""

    function, dims = None, None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        _check_groups(in_channels, out_channels, groups)
        _check_padding(padding, stride)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)}, "
                             f"but got padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.padding_mode = groups, padding_mode
        self.kernel_size, self.stride, self.dilation = (F._ntuple(size, self.dims)
                                                        for size in (kernel_size, stride, dilation))
        self.padding = padding if isinstance(padding, str) else F._ntuple(padding, self.dims)
        self.weight, self.bias = default_weight_and_bias((out_channels, in_channels // groups, *self.kernel_size), bias,
                                                         device=device, dtype=dtype)

    def forward(self, input):
        if self.padding_mode == "zeros":
            return self.function(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return self.function(F.pad(input, self._pad_widths(), mode=self.padding_mode), self.weight, self.bias,
                             self.stride, 0, self.dilation, self.groups)

    def _pad_widths(self):
        """F.pad's (left, right, top, bottom) of the padding (a 1-d conv's: (left, right)), for the modes that pad
        ahead of the conv."""
        if self.padding == "same":
            return F.same_padding(self.kernel_size, self.dilation)
        padding = (0,) * self.dims if self.padding == "valid" else self.padding
        return tuple(width for width in reversed(padding) for _ in range(2))

    def extra_repr(self):
        return _conv_repr(self)


class Conv1d(_ConvNd):
    function, dims = staticmethod(F.conv1d), 1


class Conv2d(_ConvNd):
    function, dims = staticmethod(F.conv2d), 2


class Conv3d(_ConvNd):
    function, dims = staticmethod(F.conv3d), 3


def _conv_repr(conv, output_padding=None):
    """torch's extra_repr of its convs, the options left at their defaults unnamed."""
    zeros, ones = (0,) * conv.dims, (1,) * conv.dims
    text = f"{conv.in_channels}, {conv.out_channels}, kernel_size={conv.kernel_size}, stride={conv.stride}"
    if conv.padding != zeros:
        text += f", padding={conv.padding}"
    if conv.dilation != ones:
        text += f", dilation={conv.dilation}"
    if output_padding not in (None, zeros):
        text += f", output_padding={output_padding}"
    if conv.groups != 1:
        text += f", groups={conv.groups}"
    if conv.bias is None:
        text += ", bias=False"
    if conv.padding_mode != "zeros":
        text += f", padding_mode={conv.padding_mode}"
    return text


class _ConvTransposeNd(Module):
    """torch's ConvTranspose1d, ConvTranspose2d and ConvTranspose3d (see F.conv_transpose2d), by their F function and
    number of spatial dims: weight (in_channels, out_channels/groups, *kernel_size), its init bound over torch's fan-in
    out_channels/groups * the kernel's size. forward's output_size, the spatial sizes or with the leading dims, picks
    the output_padding that reaches it (an input of several output sizes maps to one under the stride), as torch's;
    only padding_mode "zeros" exists, as in torch."""

    function, dims = None, None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        _check_groups(in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.padding_mode = groups, padding_mode
        self.kernel_size, self.stride, self.dilation, self.padding, self.output_padding = (
            F._ntuple(size, self.dims) for size in (kernel_size, stride, dilation, padding, output_padding))
        self.weight, self.bias = default_weight_and_bias((in_channels, out_channels // groups, *self.kernel_size), bias,
                                                         bias_size=out_channels, device=device, dtype=dtype)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding if output_size is None else self._output_padding(input, output_size)
        return self.function(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                             self.dilation)

    def _output_padding(self, input, output_size):
        """The output_padding that gives an output of output_size, refused, as torch's, outside the sizes the
        stride allows."""
        dims = self.dims
        if len(output_size) == input.ndim:
            output_size = output_size[-dims:]
        if len(output_size) != dims:
            raise ValueError(f"ConvTranspose{dims}D: for {input.ndim}D input, output_size must have {dims} or "
                             f"{input.ndim} elements (got {len(output_size)})")
        smallest = [conv.transposed_output_size(*sizes)
                    for sizes in zip(input.shape[-dims:], self.kernel_size, self.stride, self.padding, self.dilation)]
        largest = [size + stride - 1 for size, stride in zip(smallest, self.stride)]
        if not all(low <= size <= high for low, size, high in zip(smallest, output_size, largest)):
            raise ValueError(f"requested an output size of {output_size}, but valid sizes range from {smallest} to "
                             f"{largest} (for an input of {F._size(input.shape[-dims:])})")
        return tuple(size - low for size, low in zip(output_size, smallest))

    def extra_repr(self):
        return _conv_repr(self, self.output_padding)


class ConvTranspose1d(_ConvTransposeNd):
    function, dims = staticmethod(F.conv_transpose1d), 1


class ConvTranspose2d(_ConvTransposeNd):
    function, dims = staticmethod(F.conv_transpose2d), 2


class ConvTranspose3d(_ConvTransposeNd):
    function, dims = staticmethod(F.conv_transpose3d), 3


def _check_groups(in_channels, out_channels, groups):
    """torch's checks of a conv module's groups, when built."""
    if groups <= 0:
        raise ValueError("groups must be a positive integer")
    if in_channels % groups:
        raise ValueError("in_channels must be divisible by groups")
    if out_channels % groups:
        raise ValueError("out_channels must be divisible by groups")


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_padding(padding, stride):
    """torch's Conv1d, Conv2d and Conv3d refuse a padding string other than F.conv2d's, and "same" with a stride, when
    built."""
    if not isinstance(padding, str):
        return
    if padding not in F.PADDING_STRINGS:
        choices = ", ".join(map(repr, F.PADDING_STRINGS))
        raise ValueError(f"Invalid padding string {padding!r}, should be one of {{{choices}}}")
    if padding == "same" and any(s != 1 for s in F._ntuple(stride, 1)):
        raise ValueError("padding='same' is not supported for strided convolutions")


class Linear(Module):
    """y = x W^T + b over the last dim of an input of any number of leading dims (a 1-d input included), as torch's:
    weight (out_features, in_features), bias (out_features,), both U(±1/sqrt(in_features)) by default."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight, self.bias = default_weight_and_bias((out_features, in_features), bias, device=device, dtype=dtype)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """F.bilinear with weight (out_features, in1_features, in2_features) and bias (out_features,), both
    U(±1/sqrt(in1_features)), as torch's."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        if in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={in1_features})")
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight, self.bias = default_weight_and_bias((out_features, in1_features, in2_features), bias,
                                                         fan_in=in1_features, device=device, dtype=dtype)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Sigmoid(Module):
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return F.tanh(input)


class _FunctionLayer(Module):
    """A layer that calls its F `function` with its `options`, attributes of its own by those names, shown as torch
    shows them."""

    function, options = None, ()

    def __init__(self, **options):
        super().__init__()
        for name, value in options.items():
            setattr(self, name, value)

    def function_arguments(self):
        return {name: getattr(self, name) for name in self.options}

    def forward(self, input):
        return self.function(input, **self.function_arguments())

    def extra_repr(self):
        return ", ".join(f"{name}={value}" for name, value in self.function_arguments().items())


class _InPlaceFlag(_FunctionLayer):
    """An activation with torch's `inplace` flag, accepted so that torch code runs and shown as torch shows it, but
    computed out of place: the result is always a new tensor and the input keeps its values, so code that reads
    the input again after an in-place ReLU sees it unrectified here."""

    def __init__(self, inplace=False, **options):
        super().__init__(inplace=inplace, **options)

    def extra_repr(self):
        return ", ".join(text for text in (super().extra_repr(), "inplace=True" if self.inplace else "") if text)


class ReLU(_InPlaceFlag):
    function = staticmethod(F.relu)


class LeakyReLU(_InPlaceFlag):
    function = staticmethod(F.leaky_relu)
    options = ("negative_slope",)

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace, negative_slope=negative_slope)


class RReLU(_InPlaceFlag):
    """F.rrelu: negative slopes drawn from U(lower, upper) in training, (lower + upper) / 2 in evaluation."""

    function = staticmethod(F.rrelu)
    options = ("lower", "upper")

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__(inplace, lower=lower, upper=upper)

    def forward(self, input):
        return self.function(input, **self.function_arguments(), training=self.training)


class _WithAlpha(_InPlaceFlag):
    """ELU and CELU: their F function with `alpha`."""

    options = ("alpha",)

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace, alpha=alpha)


class ELU(_WithAlpha):
    function = staticmethod(F.elu)


class CELU(_WithAlpha):
    function = staticmethod(F.celu)


class SELU(_InPlaceFlag):
    function = staticmethod(F.selu)


class Threshold(_InPlaceFlag):
    function = staticmethod(F.threshold)
    options = ("threshold", "value")

    def __init__(self, threshold, value, inplace=False):
        super().__init__(inplace, threshold=threshold, value=value)


class Hardtanh(_InPlaceFlag):
    function = staticmethod(F.hardtanh)
    options = ("min_val", "max_val")

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None):
        """min_value and max_value: torch's deprecated names of the bounds, which win where both are given."""
        min_val = _renamed_keyword(min_val, "min_val", min_value, "min_value")
        max_val = _renamed_keyword(max_val, "max_val", max_value, "max_value")
        if max_val <= min_val:
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        super().__init__(inplace, min_val=min_val, max_val=max_val)


def _renamed_keyword(value, name, old_value, old_name):
    """The value of a constructor's keyword argument given by its new name or (torch's FutureWarning, at the line
    that calls the constructor) by its deprecated one, which wins."""
    if old_value is None:
        return value
    warnings.warn(f"keyword argument `{old_name}` is deprecated and renamed to `{name}`", FutureWarning, stacklevel=3)
    return old_value


class ReLU6(Hardtanh):
    function = staticmethod(F.relu6)
    options = ()

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)


class SiLU(_InPlaceFlag):
    function = staticmethod(F.silu)


class Mish(_InPlaceFlag):
    function = staticmethod(F.mish)


class Hardswish(_InPlaceFlag):
    function = staticmethod(F.hardswish)

    def extra_repr(self):
        return ""  # torch shows no flag


class Hardsigmoid(Hardswish):
    function = staticmethod(F.hardsigmoid)


class GLU(_FunctionLayer):
    function = staticmethod(F.glu)
    options = ("dim",)

    def __init__(self, dim=-1):
        super().__init__(dim=dim)


class LogSigmoid(_FunctionLayer):
    function = staticmethod(F.logsigmoid)


class Softsign(_FunctionLayer):
    function = staticmethod(F.softsign)


class Tanhshrink(_FunctionLayer):
    function = staticmethod(F.tanhshrink)


class _Shrink(_FunctionLayer):
    """Hardshrink and Softshrink: their F function with `lambd`, shown bare, as torch's."""

    options = ("lambd",)

    def __init__(self, lambd=0.5):
        super().__init__(lambd=lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    function = staticmethod(F.hardshrink)


class Softshrink(_Shrink):
    function = staticmethod(F.softshrink)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(_FunctionLayer):
    function = staticmethod(F.softplus)
    options = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__(beta=beta, threshold=threshold)


class Softmax(_FunctionLayer):
    """F.softmax along `dim`; None is torch's deprecated implicit choice (see F.softmax)."""

    function = staticmethod(F.softmax)
    options = ("dim",)

    def __init__(self, dim=None):
        super().__init__(dim=dim)


class PReLU(Module):
    """F.prelu with a learnable slope `weight`: one, or one per channel (num_parameters), each `init` at first."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(factory_tensor(num_parameters, init, device, dtype))

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class LogSoftmax(Softmax):
    """F.log_softmax along `dim`; None is torch's deprecated implicit choice (see F.log_softmax)."""

    function = staticmethod(F.log_softmax)


class Softmin(Softmax):
    """F.softmin along `dim`; None is torch's deprecated implicit choice (see F.softmin)."""

    function = staticmethod(F.softmin)


class Softmax2d(Module):
    """F.softmax over the channels of a (C, H, W) or (N, C, H, W) input, as torch's."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class Identity(Module):
    """Its input, unchanged; any arguments are ignored, as torch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Dims start_dim..end_dim as one (by default all but the batch dim), as torch's."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Dim `dim` as the dims `unflattened_size`, as torch's (Tensor.unflatten)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for position, size in enumerate(unflattened_size):
            if not isinstance(size, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {position}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _PadNd(Module):
    """torch's padding layers: F.pad of the last `dims` dims in `mode`, an int padding as the same on every side
    of them; shown as torch shows them."""

    mode, dims, value = "constant", None, 0.0

    def __init__(self, padding):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self.dims)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode, self.value)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    dims = 1


class ConstantPad2d(_ConstantPadNd):
    dims = 2


class ConstantPad3d(_ConstantPadNd):
    dims = 3


class ZeroPad1d(_PadNd):
    dims = 1


class ZeroPad2d(_PadNd):
    dims = 2


class ZeroPad3d(_PadNd):
    dims = 3


class ReflectionPad1d(_PadNd):
    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    mode, dims = "replicate", 3


class _CircularPadNd(_PadNd):
    """torch's circular padding layers check their input's dims themselves."""

    mode = "circular"

    def forward(self, input):
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"expected {self.dims + 1}D or {self.dims + 2}D input (got {input.ndim}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    dims = 1


class CircularPad2d(_CircularPadNd):
    dims = 2


class CircularPad3d(_CircularPadNd):
    dims = 3


class _Loss(Module):
    """torch's loss modules: reduction "mean" (the default), "sum" or "none", checked when called, as torch; the
    deprecated size_average and reduce, when given, choose it as torch's do, with its warning."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F.legacy_reduction(size_average, reduce, reduction)


class MSELoss(_Loss):
    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class _WeightedLoss(_Loss):
    """A loss with torch's optional class weights, a (C,) tensor kept as the buffer `weight`, as torch's."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class NLLLoss(_WeightedLoss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class _FractionalMaxPoolNd(Module):
    """torch's FractionalMaxPool2d and FractionalMaxPool3d, by their F function and number of spatial dims:
    output_size or output_ratio (in (0, 1)), one of them; _random_samples, a buffer, fixes the windows' draws."""

    function, dims = None, None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        super().__init__()
        self.kernel_size, self.return_indices = F._ntuple(kernel_size, self.dims), return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = F._ntuple(output_size, self.dims) if output_size is not None else None
        self.output_ratio = F._ntuple(output_ratio, self.dims) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{type(self).__name__} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < ratio < 1 for ratio in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return self.function(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                             _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    function, dims = staticmethod(F.fractional_max_pool2d), 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    function, dims = staticmethod(F.fractional_max_pool3d), 3


class NLLLoss2d(NLLLoss):
    """torch's deprecated name of NLLLoss, with its FutureWarning."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        warnings.warn("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                      "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.", FutureWarning,
                      stacklevel=2)
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class CTCLoss(_Loss):
    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                          self.zero_infinity)


class CrossEntropyLoss(_WeightedLoss):
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """pos_weight, the positive term's weight of each class, is a buffer too, as torch's."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class SmoothL1Loss(_Loss):
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineSimilarity(Module):
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim  # torch's names

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineEmbeddingLoss(_Loss):
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


def _check_triplet_margin(loss, margin):
    """The triplet losses' modules refuse a margin that is not positive when made, with their own name, as torch's."""
    if margin <= 0:
        raise ValueError(f"{loss}: expected margin to be greater than 0, got {margin} instead")


class TripletMarginLoss(_Loss):
    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        _check_triplet_margin("TripletMarginLoss", margin)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                     swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """The distance function is a PairwiseDistance() submodule where none is given, as torch's."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        _check_triplet_margin("TripletMarginWithDistanceLoss", margin)
        self.distance_function = PairwiseDistance() if distance_function is None else distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                   margin=self.margin, swap=self.swap, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        F.check_multi_margin_power(p)
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got {weight.ndim}D instead")
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class _MaxPoolNd(Module):
    """torch's MaxPool1d, 2d and 3d, by their F function: the sizes kept as given, stride None the kernel size."""

    function = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation, self.return_indices, self.ceil_mode = padding, dilation, return_indices, ceil_mode

    def forward(self, input):
        return self.function(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                             self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    function = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    function = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    function = staticmethod(F.max_pool3d)


class MaxUnpool2d(Module):
    """F.max_unpool2d with its sizes kept as tuples of `dims`, stride None the kernel size, as torch's."""

    function, dims = staticmethod(F.max_unpool2d), 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.padding = F._ntuple(kernel_size, self.dims), F._ntuple(padding, self.dims)
        self.stride = F._ntuple(stride if stride is not None else kernel_size, self.dims)

    def forward(self, input, indices, output_size=None):
        return self.function(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(MaxUnpool2d):
    function, dims = staticmethod(F.max_unpool1d), 1


class MaxUnpool3d(MaxUnpool2d):
    function, dims = staticmethod(F.max_unpool3d), 3


class _AvgPoolNd(Module):
    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """F.avg_pool1d with its sizes kept as 1-tuples, stride None the kernel size, as torch's."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.padding = F._ntuple(kernel_size, 1), F._ntuple(padding, 1)
        self.stride = F._ntuple(stride if stride is not None else kernel_size, 1)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    function = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return self.function(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                             self.divisor_override)


class AvgPool3d(AvgPool2d):
    function = staticmethod(F.avg_pool3d)


class _LPPoolNd(_FunctionLayer):
    """F.lp_pool1d, 2d or 3d with the sizes kept as given, stride None the kernel size, as torch's."""

    options = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__(norm_type=norm_type, kernel_size=kernel_size, stride=stride, ceil_mode=ceil_mode)


class LPPool1d(_LPPoolNd):
    function = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    function = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    function = staticmethod(F.lp_pool3d)


class Dropout(Module):
    """Active in train(), the identity in eval(), as torch's."""

    function = staticmethod(F.dropout)

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        F._check_dropout_probability(p)
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return self.function(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    function = staticmethod(F.dropout1d)


class Dropout2d(Dropout):
    function = staticmethod(F.dropout2d)


class Dropout3d(Dropout):
    function = staticmethod(F.dropout3d)


class AlphaDropout(Dropout):
    """inplace is kept and shown but not passed on, as torch's."""

    function = staticmethod(F.alpha_dropout)

    def forward(self, input):
        return self.function(input, self.p, self.training)


class FeatureAlphaDropout(AlphaDropout):
    function = staticmethod(F.feature_alpha_dropout)


class LocalResponseNorm(_FunctionLayer):
    function = staticmethod(F.local_response_norm)
    options = ("size", "alpha", "beta", "k")

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__(size=size, alpha=alpha, beta=beta, k=k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Upsample(Module):
    """F.interpolate as a layer, with torch's defaults ("nearest")."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:  # torch's: a zero scale factor is none
            self.scale_factor = float(scale_factor) if scale_factor else None

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        where = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{where}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear with align_corners=True, as torch's."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class _AdaptiveAvgPoolNd(_FunctionLayer):
    options = ("output_size",)

    def __init__(self, output_size):
        super().__init__(output_size=output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    function = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    function = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(_FunctionLayer):
    """return_indices is left out of the repr, as torch's."""

    options = ("output_size", "return_indices")

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size=output_size, return_indices=return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    function = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    function = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    function = staticmethod(F.adaptive_max_pool3d)


class PixelShuffle(_FunctionLayer):
    function = staticmethod(F.pixel_shuffle)
    options = ("upscale_factor",)

    def __init__(self, upscale_factor):
        super().__init__(upscale_factor=upscale_factor)


class PixelUnshuffle(_FunctionLayer):
    function = staticmethod(F.pixel_unshuffle)
    options = ("downscale_factor",)

    def __init__(self, downscale_factor):
        super().__init__(downscale_factor=downscale_factor)


class ChannelShuffle(_FunctionLayer):
    function = staticmethod(F.channel_shuffle)
    options = ("groups",)

    def __init__(self, groups):
        super().__init__(groups=groups)


class Unfold(_FunctionLayer):
    function = staticmethod(F.unfold)
    options = ("kernel_size", "dilation", "padding", "stride")

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)


class Fold(_FunctionLayer):
    function = staticmethod(F.fold)
    options = ("output_size",) + Unfold.options

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=padding,
                         stride=stride)


class _LookupTable(Module):
    """What Embedding and EmbeddingBag share: a table of num_embeddings vectors of embedding_dim, drawn N(0, 1) as
    torch's, padding_idx's row zero (and kept from its gradient), or `_weight` as it is."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                 _weight, _freeze, device, dtype):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = F.embedding_padding_row(padding_idx, num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(factory_tensor((num_embeddings, embedding_dim), device=device, dtype=dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0


class Embedding(_LookupTable):
    """A lookup table of num_embeddings vectors of embedding_dim (see _LookupTable). max_norm and sparse=True are
    not supported (F.embedding refuses them)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                         _weight, _freeze, device, dtype)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is `embeddings` (2-d, its padding row kept as it is), frozen by default."""
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        return cls(*embeddings.shape, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        options = [f"padding_idx={self.padding_idx}" if self.padding_idx is not None else "",
                   f"max_norm={self.max_norm}" if self.max_norm is not None else "",
                   f"norm_type={self.norm_type}" if self.norm_type != 2 else "",
                   "scale_grad_by_freq=True" if self.scale_grad_by_freq else "", "sparse=True" if self.sparse else ""]
        return ", ".join([f"{self.num_embeddings}, {self.embedding_dim}", *filter(None, options)])


class EmbeddingBag(_LookupTable):
    """Bags of embeddings, each reduced to one vector by `mode` ("sum", "mean" or "max"), as torch's (see
    F.embedding_bag); the table is Embedding's. max_norm and sparse=True are not supported."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                         _weight, False, device, dtype)
        self.mode, self.include_last_offset = mode, include_last_offset

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose weight is `embeddings` (2-d, its padding row kept as it is), frozen by default."""
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        bag = cls(*embeddings.shape, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        options = [f"max_norm={self.max_norm!r}" if self.max_norm is not None else "",
                   f"norm_type={self.norm_type!r}" if self.norm_type != 2 else "",
                   f"scale_grad_by_freq={self.scale_grad_by_freq!r}" if self.scale_grad_by_freq is not False else "",
                   f"mode={self.mode!r}", f"padding_idx={self.padding_idx!r}" if self.padding_idx is not None else ""]
        return ", ".join([f"{self.num_embeddings}, {self.embedding_dim}", *filter(None, options)])


class _Sequence(Module):
    """What Sequential, ModuleList and ParameterList share: entries named "0", "1", ... by position, so names
    match torch's (e.g. conv_block.0.weight), and list-like editing (append, insert, extend, del, pop, item
    assignment) that behaves as torch's, errors included (but see insert). A subclass names the registry its
    entries live in (`_registry`), and how an entry is put there by item assignment (`_put`) and appended (`_add`),
    each with torch's error for what does not belong."""

    _registry = "_modules"

    def _entries(self):
        return self.__dict__[self._registry]

    def _put(self, name, entry):
        setattr(self, name, entry)

    def _add(self, name, entry):
        self.add_module(name, entry)

    def _position(self, index):
        """An index as a position in 0..len-1, checked as torch checks it."""
        return checked_position(index, len(self), "index {index} is out of range")

    def __getitem__(self, index):
        """A child by position, or a slice as a container of the same type (see _slice)."""
        if isinstance(index, slice):
            return self._slice(index)
        return list(self._entries().values())[self._position(index)]

    def __setitem__(self, index, module):
        self._put(list(self._entries())[self._position(index)], module)

    def __delitem__(self, index):
        """As torch: the children left are renamed "0", "1", ..., so names stay positions."""
        modules = list(self._entries().values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._rename_in_order(modules)

    def _rename_in_order(self, modules):
        for name in list(self._entries()):
            delattr(self, name)
        for position, module in enumerate(modules):
            self._put(str(position), module)

    def pop(self, index):
        module = self[index]
        del self[index]
        return module

    def append(self, module):
        self._add(str(len(self)), module)
        return self

    def insert(self, index, module):
        """`module` before position `index` (len(self) appends); the children are renamed in order, as torch.
        A non-module is append's TypeError, where torch's Sequential.insert fails an assertion; an index out of
        -len..len is Sequential.insert's IndexError, where torch's ModuleList.insert breaks its numbering."""
        if not -len(self) <= index <= len(self):
            raise IndexError(f"Index out of range: {index}")
        modules = list(self.append(module))  # append checks that it is a Module
        modules.insert(index, modules.pop())
        self._rename_in_order(modules)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries().values())


class Sequential(_Sequence):
    """Its children run in order. As torch's, a slice is a Sequential that keeps the children's names, and + and *
    build new ones (+ only with another Sequential)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            modules = modules[0].items()
        else:
            modules = ((str(i), m) for i, m in enumerate(modules))
        for name, module in modules:
            setattr(self, name, module)

    def _slice(self, index):
        return type(self)(collections.OrderedDict(list(self._modules.items())[index]))

    def __add__(self, other):
        return Sequential().extend(self).extend(_sequential_operand(other))

    def __iadd__(self, other):
        return self.extend(_sequential_operand(other))

    def __mul__(self, times):
        return Sequential().extend(list(self) * _repeat_count(self, times))

    __rmul__ = __mul__

    def __imul__(self, times):
        return self.extend(list(self) * (_repeat_count(self, times) - 1))

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class _Mapping(Module):
    """What ModuleDict and ParameterDict share: entries by name, registered under their keys (so parameters are
    `blocks.down1.weight`, as torch's), in insertion order; a dict's API as torch's: [], in, len, iteration over
    keys, keys, items, values, update, pop, clear. A subclass names its registry and how an entry is put there,
    as _Sequence's do."""

    _registry = "_modules"

    def __init__(self, entries=None):
        super().__init__()
        if entries is not None:
            self.update(entries)

    def _entries(self):
        return self.__dict__[self._registry]

    def __getitem__(self, key):
        return self._entries()[key]

    def __setitem__(self, key, entry):
        self.add_module(key, entry)

    def __delitem__(self, key):
        del self._entries()[key]
        object.__delattr__(self, key)

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries())

    def __contains__(self, key):
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def items(self):
        return self._entries().items()

    def values(self):
        return self._entries().values()

    def pop(self, key):
        entry = self[key]
        del self[key]
        return entry

    def clear(self):
        for key in list(self):
            del self[key]

    def update(self, entries):
        """From a mapping (a plain dict in its order) or an iterable of (key, entry) pairs, as torch's."""
        name = type(self).__name__
        if isinstance(entries, collections.abc.Mapping):
            entries = entries.items()
        elif not isinstance(entries, collections.abc.Iterable):
            raise TypeError(f"{name}.update should be called with an iterable of key/value pairs, but got "
                            f"{type(entries).__name__}")
        for index, pair in enumerate(entries):
            if len(pair) != 2:
                raise ValueError(f"{name} update sequence element #{index} has length {len(pair)}; 2 is required")
            self[pair[0]] = pair[1]


class ModuleDict(_Mapping):
    """Modules by name (see _Mapping). As torch's, it has no forward."""

    def __init__(self, modules=None):  # torch's keyword
        super().__init__(modules)


class _List(_Sequence):
    """What ModuleList and ParameterList share: built from an iterable; a slice renumbered from 0; + and += take
    any iterable."""

    def __init__(self, entries=None):
        super().__init__()
        if entries is not None:
            self.extend(entries)

    def _slice(self, index):
        return type(self)(list(self)[index])

    def extend(self, entries):
        if not isinstance(entries, collections.abc.Iterable):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, but got "
                            f"{type(entries).__name__}")
        return super().extend(entries)

    def __add__(self, other):
        return type(self)(itertools.chain(self, other))

    def __iadd__(self, other):
        return self.extend(other)


class ModuleList(_List):
    """A list of modules registered as children "0", "1", ..., so that parameters(), state_dict() and to() see
    them under torch's names (layers.0.weight). As torch's, it has no forward."""

    def __init__(self, modules=None):  # torch's keyword
        super().__init__(modules)

    def insert(self, index, module):
        """As _Sequence.insert, but returns None, as torch's ModuleList.insert."""
        super().insert(index, module)

    def _child_reprs(self):
        """A run of children with one repr as one line, "(0-2): 3 x ...", as torch's."""
        runs = []  # [first index, last index, repr]
        for index, (_, child_repr) in enumerate(super()._child_reprs()):
            if runs and runs[-1][2] == child_repr:
                runs[-1][1] = index
            else:
                runs.append([index, index, child_repr])
        return [(str(first), child_repr) if first == last else (f"{first}-{last}", f"{last - first + 1} x {child_repr}")
                for first, last, child_repr in runs]


def _as_parameter(tensor):
    """A tensor put in a ParameterList or a ParameterDict becomes a Parameter (which requires grad), as in torch."""
    return tensor if isinstance(tensor, Parameter) or not isinstance(tensor, Tensor) else Parameter(tensor)


def _parameter_lines(items, type_name):
    """The body of a ParameterList's or ParameterDict's repr, one line per parameter, as torch's: its type_name, its
    size, and its device where that is not the CPU."""
    return "\n".join(f"  ({name}): Parameter containing: [{type_name(p)} of size {'x'.join(map(str, p.shape))}"
                     f"{'' if p.device == 'cpu' else f' ({p.device})'}]" for name, p in items)


class ParameterList(_List):
    """Parameters registered as "0", "1", ..., so that parameters(), state_dict() and to() see them under torch's
    names (weights.0); a tensor put in becomes a Parameter, as in torch."""

    _registry = "_parameters"

    def __init__(self, values=None):  # torch's keyword
        super().__init__(values)

    def _put(self, name, parameter):
        self.register_parameter(name, _as_parameter(parameter))

    _add = _put

    def extra_repr(self):
        return _parameter_lines(self._entries().items(), lambda parameter: f"torch.{parameter.dtype}")


class ParameterDict(_Mapping):
    """Parameters by name (see _Mapping), as torch's; a tensor put in becomes a Parameter."""

    _registry = "_parameters"

    def __init__(self, parameters=None):  # torch's keyword
        super().__init__(parameters)

    def __setitem__(self, key, parameter):
        self.register_parameter(key, _as_parameter(parameter))

    def update(self, parameters):
        """As _Mapping's, but a mapping other than an OrderedDict or a ParameterDict in the order of its keys, as
        torch's."""
        if isinstance(parameters, collections.abc.Mapping) and not isinstance(parameters, (collections.OrderedDict,
                                                                                           ParameterDict)):
            parameters = sorted(parameters.items())
        super().update(parameters)

    def extra_repr(self):
        return _parameter_lines(self._entries().items(), Tensor.type)  # torch.FloatTensor, ..., as torch's


def _sequential_operand(other):
    """The right operand of Sequential + and +=: only another Sequential, as torch."""
    if not isinstance(other, Sequential):
        raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")
    return other


def _repeat_count(sequential, times):
    """The factor of Sequential * and *=: a positive int, as torch."""
    if not isinstance(times, int):
        raise TypeError(f"unsupported operand type(s) for *: {type(sequential)} and {type(times)}")
    if times <= 0:
        raise ValueError(f"Non-positive multiplication factor {times} for {type(sequential)}")
    return times
