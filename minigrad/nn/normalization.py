"""torch's normalization layers, with its parameter and buffer names, so that its state dicts load."""
import numbers
import warnings

import numpy as np

from .. import functional as F
from .init import factory_tensor
from .module import Module, Parameter


def _affine_parameters(shape, weight, bias, device, dtype):
    """A weight of ones and a bias of zeros of `shape`, each only where asked for (None otherwise), on `device` and
    in `dtype` (see factory_tensor), as torch's."""
    return (Parameter(factory_tensor(shape, 1.0, device, dtype)) if weight else None,
            Parameter(factory_tensor(shape, 0.0, device, dtype)) if bias else None)


class _NormBase(Module):
    """What batch and instance norm share, as torch's _NormBase: a per-channel weight and bias (with `affine`),
    and with track_running_stats the running statistics, moved by `momentum`, and num_batches_tracked (int64 on
    `device` whatever `dtype` the others take)."""

    optional_state = ("num_batches_tracked",)  # torch's checkpoints before 0.4.1 lack it, and torch loads them
    _version = 2  # torch's, since num_batches_tracked

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight, self.bias = _affine_parameters(num_features, affine, affine and bias, device, dtype)
        tracked = track_running_stats
        self.register_buffer("running_mean", factory_tensor(num_features, 0.0, device, dtype) if tracked else None)
        self.register_buffer("running_var", factory_tensor(num_features, 1.0, device, dtype) if tracked else None)
        self.register_buffer("num_batches_tracked", factory_tensor((), 0, device, np.int64) if tracked else None)

    def reset_running_stats(self):
        """The running statistics of a new layer again: mean 0, variance 1, no batch counted."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def _check_input_dim(self, input):
        if input.ndim not in self.input_dims:
            expected = " or ".join(f"{n}D" for n in self.input_dims)
            raise ValueError(f"expected {expected} input (got {input.ndim}D input)")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    """torch's BatchNorm: batch statistics in training, which running_mean and running_var follow by `momentum`
    (None: their cumulative average over the num_batches_tracked batches), and the running statistics in
    evaluation. Without track_running_stats there are none, and batch statistics serve in both modes."""

    def forward(self, input):
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.item())
        batch_statistics = self.training or self.running_mean is None
        tracks = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if tracks else None, self.running_var if tracks else None,
                            self.weight, self.bias, batch_statistics, momentum, self.eps)


class BatchNorm1d(_BatchNorm):
    input_dims = (2, 3)  # (N, C) or (N, C, L)


class BatchNorm2d(_BatchNorm):
    input_dims = (4,)  # (N, C, H, W)


class BatchNorm3d(_BatchNorm):
    input_dims = (5,)  # (N, C, D, H, W)


class _InstanceNorm(_NormBase):
    """torch's InstanceNorm: each sample's own statistics, in evaluation too unless track_running_stats, when
    the running statistics (which training moved, as F.instance_norm does, and num_batches_tracked does not
    count) serve instead. The smaller of input_dims is an unbatched input, without the batch dim."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.ndim == min(self.input_dims)
        feature_dim = 0 if unbatched else 1
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match num_features "
                                 f"({self.num_features}), but got: {input.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        out = F.instance_norm(input.unsqueeze(0) if unbatched else input, self.running_mean, self.running_var,
                              self.weight, self.bias, self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    input_dims = (2, 3)  # (C, L) or (N, C, L)


class InstanceNorm2d(_InstanceNorm):
    input_dims = (3, 4)  # (C, H, W) or (N, C, H, W)


class InstanceNorm3d(_InstanceNorm):
    input_dims = (4, 5)  # (C, D, H, W) or (N, C, D, H, W)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps, self.elementwise_affine = tuple(normalized_shape), eps, elementwise_affine
        self.weight, self.bias = _affine_parameters(self.normalized_shape, elementwise_affine,
                                                    elementwise_affine and bias, device, dtype)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """F.rms_norm over the last dims, normalized_shape, with a weight of ones where elementwise_affine; eps None is
    the input's machine epsilon, as torch's."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps, self.elementwise_affine = tuple(normalized_shape), eps, elementwise_affine
        self.weight = _affine_parameters(self.normalized_shape, elementwise_affine, False, device, dtype)[0]

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight, self.bias = _affine_parameters(num_channels, affine, affine and bias, device, dtype)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LayerNorm", "RMSNorm"]
