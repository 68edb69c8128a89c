"""The two attention blocks of the network.

SCA re-weights a feature map twice: per pixel (spatial gate) and per channel (squeeze-excitation).
NonLocal lets every bottleneck position mix in features from every other position.
"""
import minigrad.functional as F
import minigrad.nn as nn

NONLOCAL_MODES = ("softmax", "published")


class SCA(nn.Module):
    """Spatial-channel attention: x * sigmoid(conv1x1(x)) * channel_weights(x)."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        self.spatial_attention = nn.Conv2d(channels, channels, 1)
        self.channel_attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x, return_maps=False):                    # x: (B, C, H, W)
        spatial_logits = self.spatial_attention(x)              # (B, C, H, W); sigmoid of it: which pixels matter
        channel = self.channel_attention(x)                     # (B, C, 1, 1) in (0, 1): which channels matter
        out = F.sigmoid_gate(x, spatial_logits, channel)        # x * sigmoid(spatial_logits) * channel, one pass
        if return_maps:
            return out, {"spatial": spatial_logits.sigmoid(), "channel": channel}
        return out


class NonLocal(nn.Module):
    """Non-local block: y_i = sum_j f(x_i, x_j) g(x_j), out = x + W(y).

    "softmax" is the paper's eq. 6: f = softmax_j(theta_i . phi_j).
    "published" is what the released weights were trained with: f = theta_i . phi_j / N, and y is
    reshaped from (B, N, C/2) to (B, C/2, H, W) by a raw view without a permute. That scrambles which
    channel lands where, and the released weights depend on it.
    """

    def __init__(self, channels, mode="softmax"):
        super().__init__()
        if mode not in NONLOCAL_MODES:
            raise ValueError(f"nonlocal mode must be one of {NONLOCAL_MODES}, got {mode!r}")
        self.mode = mode
        inner = channels // 2
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.W = nn.Conv2d(inner, channels, 1)

    def affinity(self, x):                                              # x: (B, C, H, W)
        b, _, h, w = x.shape
        n = h * w
        theta = self.theta(x).reshape(b, -1, n).permute(0, 2, 1)       # (B, N, C/2)
        phi = self.phi(x).reshape(b, -1, n)                             # (B, C/2, N)
        scores = theta @ phi                                            # (B, N, N): query i vs key j
        if self.mode == "softmax":
            return scores.softmax(dim=-1)                               # (B, N, N), rows sum to 1
        return scores / n                                               # (B, N, N)

    def forward(self, x, return_maps=False):                            # x: (B, C, H, W)
        b, _, h, w = x.shape
        f = self.affinity(x)                                            # (B, N, N)
        g = self.g(x).reshape(b, -1, h * w).permute(0, 2, 1)            # (B, N, C/2)
        y = f @ g                                                       # (B, N, C/2)
        if self.mode == "softmax":
            y = y.permute(0, 2, 1)                                      # (B, C/2, N)
        y = y.reshape(b, -1, h, w)                                      # (B, C/2, H, W)
        out = x + self.W(y)                                             # (B, C, H, W)
        if return_maps:
            return out, {"affinity": f}
        return out
