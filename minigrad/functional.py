"""torch.nn.functional-style wrappers over minigrad.ops, with torch's argument names."""
import numbers
import warnings

from . import ops
from .function import require_same_dtype
from .ops.upsample import AdaptiveAvgPool2d, output_size
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
    require_same_dtype("conv2d", input=input, weight=weight, bias=bias)
    params = dict(stride=_square("stride", stride), padding=_square("padding", padding))
    weights = (weight,) if bias is None else (weight, bias)
    return _one_image_as_a_batch("conv2d", input, lambda batch: ops.Conv2d.apply(batch, *weights, **params))


def max_pool2d(input, kernel_size, stride=None):
    kernel_size = _square("kernel_size", kernel_size)
    stride = kernel_size if stride is None else _square("stride", stride)
    return _one_image_as_a_batch("max_pool2d", input,
                                 lambda batch: ops.MaxPool2d.apply(batch, kernel_size=kernel_size, stride=stride))


def _one_image_as_a_batch(name, input, op):
    """torch's 2-d ops take (N, C, H, W) or one (C, H, W) image, which runs as a batch of one and comes back
    unbatched."""
    if input.ndim not in (3, 4):
        raise ValueError(f"{name} expects a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape {tuple(input.shape)}")
    return op(input) if input.ndim == 4 else op(input.unsqueeze(0)).squeeze(0)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Resizing of the last two dims of an (N, C, H, W) input, as torch's: "nearest" (its default) or
    "bilinear" (with either align_corners; None is False)."""
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"interpolate: the modes are 'nearest' and 'bilinear', got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    if input.ndim != 4:
        raise ValueError(f"interpolate: minigrad resizes 4-d inputs (N, C, H, W), got shape {tuple(input.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    sizes = dict(size=_pair(size) if size is not None else None,
                 scale_factor=tuple(float(s) for s in _pair(scale_factor)) if scale_factor is not None else None)
    (h, w), (out_h, out_w) = input.shape[-2:], (
        output_size(n, size and sizes["size"][axis], scale_factor and sizes["scale_factor"][axis])
        for axis, n in enumerate(input.shape[-2:]))
    if min(out_h, out_w) <= 0:
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input (H: {h}, W: {w}) output "
                           f"(H: {out_h}, W: {out_w})")
    if mode == "nearest":
        return ops.UpsampleNearest.apply(input, **sizes)
    return ops.UpsampleBilinear.apply(input, **sizes, align_corners=bool(align_corners))


relu = Tensor.relu
sigmoid = Tensor.sigmoid
softmax = Tensor.softmax


def adaptive_avg_pool2d(input, output_size):
    """torch's bins over (C, H, W) or (N, C, H, W), None keeping a size: output i of n averages the inputs
    [floor(i * H / n), ceil((i + 1) * H / n)). Sizes that divide the input (1 always does) take a plain block
    mean, the cheaper path; others, overlapping bins, go through a pooling matrix per axis."""
    if input.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d expects a 3-d or 4-d input, got shape {tuple(input.shape)}")
    sizes = _pair(output_size)
    if len(sizes) != 2 or not all(s is None or (isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0)
                                  for s in sizes):
        raise ValueError(f"adaptive_avg_pool2d: output_size must be a positive int or None, or a pair of them, "
                         f"got {output_size!r}")
    h, w = input.shape[-2:]
    out_h, out_w = (n if size is None else int(size) for size, n in zip(sizes, (h, w)))
    if h % out_h or w % out_w:
        return AdaptiveAvgPool2d.apply(input, size=(out_h, out_w))
    blocks = input.reshape(*input.shape[:-2], out_h, h // out_h, out_w, w // out_w)
    return blocks.mean(dim=(-3, -1))


def pad(input, pad, mode="constant", value=0.0):
    """torch's pad order: (left, right, top, bottom, ...), last dim first. A negative amount crops that side,
    as in torch: the input is padded by the positive amounts (reflected or replicated from the whole input),
    then cropped."""
    pad = tuple(pad)
    if all(amount >= 0 for amount in pad):
        return ops.Pad.apply(input, pad=pad, mode=mode, value=value)
    padded = ops.Pad.apply(input, pad=tuple(max(amount, 0) for amount in pad), mode=mode, value=value)
    crop = [slice(None)] * input.ndim
    for axis, before, after in zip(range(input.ndim - 1, -1, -1), pad[::2], pad[1::2]):
        size = input.shape[axis]
        if max(-before, -after) > size or size + before + after < 0:
            raise ValueError(f"pad: cropping {pad} is more than dim {axis} of input {tuple(input.shape)} holds")
        crop[axis] = slice(max(-before, 0), padded.shape[axis] - max(-after, 0))
    return padded[tuple(crop)]


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat expects a non-empty list of tensors")
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss, reduction):
    """torch's reduction= of a loss: "mean" (the default), "sum", or "none" (per element)."""
    if _check_reduction(reduction) == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def mse_loss(input, target, reduction="mean"):
    _warn_if_target_size_differs(input, target)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    _warn_if_target_size_differs(input, target)
    return _reduce((input - target).abs(), reduction)


def _warn_if_target_size_differs(input, target):
    """torch's warning: a target that broadcasts against the input (a (B,) target for a (B, 1) output) gives a
    loss over every pair of elements, which is rarely what was meant."""
    input_size, target_size = tuple(getattr(input, "shape", ())), tuple(getattr(target, "shape", ()))
    if input_size != target_size:
        warnings.warn(f"Using a target size ({target_size}) that is different to the input size ({input_size}). This "
                      "will likely lead to incorrect results due to broadcasting. Please ensure they have the same "
                      "size.", stacklevel=3)


def charbonnier_loss(input, target, eps=1e-3, reduction="mean"):
    """sqrt((input - target)^2 + eps^2), reduced as torch's losses are (mean by default), fused into one op."""
    return ops.CharbonnierLoss.apply(input, target, eps=float(eps), reduction=_check_reduction(reduction))


def sigmoid_gate(x, logits, weights):
    """x * sigmoid(logits) * weights, weights (N, C, 1, 1): the SCA block's gate, fused into one op."""
    return ops.SigmoidGate.apply(x, logits, weights)


__all__ = [
    "Tensor", "adaptive_avg_pool2d", "cat", "charbonnier_loss", "conv2d", "interpolate", "l1_loss", "max_pool2d",
    "mse_loss", "pad", "relu", "sigmoid", "sigmoid_gate", "softmax", "stack",
]
