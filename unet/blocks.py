"""DoubleConv: the U-Net's basic block, two 3x3 convs with ReLU plus a residual path."""
import minigrad.nn as nn


class DoubleConv(nn.Module):
    """conv3x3 -> ReLU -> conv3x3 -> ReLU, plus x (or a 1x1 projection of x when the width changes)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.ReLU(),
        )
        self.residual_conv = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x):                                   # x: (B, in, H, W)
        return self.conv_block(x) + self.residual_conv(x)   # (B, out, H, W)
