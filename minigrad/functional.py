"""torch.nn.functional-style wrappers over minigrad.ops, with torch's argument names."""
from . import ops
from .tensor import Tensor


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _square(name, value):
    first, second = _pair(value)
    if first != second:
        raise ValueError(f"{name} must be square here, got {value}")
    return int(first)


def conv2d(input, weight, bias=None, stride=1, padding=0):
    """Cross-correlation, as torch's conv2d (im2col + GEMM)."""
    params = dict(stride=_square("stride", stride), padding=_square("padding", padding))
    if bias is None:
        return ops.Conv2d.apply(input, weight, **params)
    return ops.Conv2d.apply(input, weight, bias, **params)


def max_pool2d(input, kernel_size, stride=None):
    kernel_size = _square("kernel_size", kernel_size)
    stride = kernel_size if stride is None else _square("stride", stride)
    return ops.MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride)


def interpolate(input, size=None, scale_factor=None, mode="bilinear", align_corners=False):
    """Bilinear resizing of the last two dims, matching torch for both align_corners settings."""
    if mode != "bilinear":
        raise ValueError(f"interpolate: only mode='bilinear' is implemented, got {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    return ops.UpsampleBilinear.apply(
        input,
        size=_pair(size) if size is not None else None,
        scale_factor=tuple(float(s) for s in _pair(scale_factor)) if scale_factor is not None else None,
        align_corners=bool(align_corners),
    )


relu = Tensor.relu
sigmoid = Tensor.sigmoid
softmax = Tensor.softmax


def adaptive_avg_pool2d(input, output_size):
    """Average over equal blocks; the output size must divide the input size (1 always does)."""
    out_h, out_w = _pair(output_size)
    n, c, h, w = input.shape
    if h % out_h or w % out_w:
        raise ValueError(f"adaptive_avg_pool2d: output size {(out_h, out_w)} must divide the input size {(h, w)}")
    blocks = input.reshape(n, c, out_h, h // out_h, out_w, w // out_w)
    return blocks.mean(dim=(3, 5))


def pad(input, pad, mode="constant", value=0.0):
    """torch's pad order: (left, right, top, bottom, ...), last dim first."""
    return ops.Pad.apply(input, pad=tuple(pad), mode=mode, value=value)


def cat(tensors, dim=0):
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


def mse_loss(input, target):
    return ((input - target) ** 2).mean()


def l1_loss(input, target):
    return (input - target).abs().mean()


def charbonnier_loss(input, target, eps=1e-3):
    """mean(sqrt((input - target)^2 + eps^2)), fused into one op."""
    return ops.CharbonnierLoss.apply(input, target, eps=float(eps))


def sigmoid_gate(x, logits, weights):
    """x * sigmoid(logits) * weights, weights (N, C, 1, 1): the SCA block's gate, fused into one op."""
    return ops.SigmoidGate.apply(x, logits, weights)


__all__ = [
    "Tensor", "adaptive_avg_pool2d", "cat", "charbonnier_loss", "conv2d", "interpolate", "l1_loss", "max_pool2d",
    "mse_loss", "pad", "relu", "sigmoid", "sigmoid_gate", "softmax", "stack",
]
