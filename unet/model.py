"""The U-Net with SCA attention on the skips and a non-local block at the bottleneck (docs/design.md §3)."""
import minigrad as mg
import minigrad.nn as nn
from minigrad.utils.checkpoint import checkpoint

from .attention import NONLOCAL_MODES, SCA, NonLocal
from .blocks import DoubleConv

WIDTHS = (16, 32, 64, 128)
INPUT_MULTIPLE = 8  # three 2x poolings


class UNet(nn.Module):
    """Restores an image: predicts a correction that is added to the input (global residual).

    attention=False and nonlocal_mode=None give the plain U-Net used for ablations. Parameter
    names match the authors' released checkpoint key for key. With `recompute_blocks` set, training keeps only
    each block's input for backward and recomputes the rest there (activation checkpointing): about half the
    memory held for backward, for one more forward pass of the blocks, with the same gradients.
    """

    recompute_blocks = False

    def __init__(self, in_channels=3, out_channels=3, nonlocal_mode="softmax", attention=True):
        super().__init__()
        if nonlocal_mode is not None and nonlocal_mode not in NONLOCAL_MODES:
            raise ValueError(f"nonlocal_mode must be one of {NONLOCAL_MODES} or None, got {nonlocal_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.nonlocal_mode, self.attention = nonlocal_mode, attention
        c1, c2, c3, c4 = WIDTHS
        gate = SCA if attention else (lambda channels: nn.Identity())
        # registered in the released checkpoint's order, so state_dict() lists keys as it does
        self.dconv_down1, self.att1 = DoubleConv(in_channels, c1), gate(c1)
        self.dconv_down2, self.att2 = DoubleConv(c1, c2), gate(c2)
        self.dconv_down3, self.att3 = DoubleConv(c2, c3), gate(c3)
        self.dconv_down4, self.att4 = DoubleConv(c3, c4), gate(c4)
        self.maxpool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.dconv_bottleneck = DoubleConv(c4, c4)
        self.nl_block = NonLocal(c4, nonlocal_mode) if nonlocal_mode else nn.Identity()
        self.dconv_up3 = DoubleConv(c4 + c3, c3)
        self.dconv_up2 = DoubleConv(c3 + c2, c2)
        self.dconv_up1 = DoubleConv(c2 + c1, c1)
        self.conv_last = nn.Conv2d(c1, out_channels, 1)

    def config(self):
        """What it takes to rebuild this network (stored in checkpoints)."""
        return dict(in_channels=self.in_channels, out_channels=self.out_channels,
                    nonlocal_mode=self.nonlocal_mode, attention=self.attention)

    def _run(self, block, x):
        """block(x), recomputed in backward rather than kept where recompute_blocks is set."""
        if self.recompute_blocks and mg.is_grad_enabled():
            return checkpoint(block, x, use_reentrant=False)
        return block(x)

    def _attend(self, block, x, maps, name):
        """Run an attention block, keeping its maps when the caller asked for intermediates."""
        if maps is None or isinstance(block, nn.Identity):
            return self._run(block, x)
        out, maps[name] = block(x, return_maps=True)
        return out

    def forward(self, x, return_intermediates=False):
        """x: (B, C, H, W) with H, W multiples of 8. With return_intermediates, also a dict of
        every stage's features and every attention map (for the attention explorer)."""
        check_input(x, self.in_channels)
        maps = {} if return_intermediates else None
        e1 = self._run(self.dconv_down1, x)                                     # (B, 16, H, W)
        e2 = self._run(self.dconv_down2, self.maxpool(e1))                      # (B, 32, H/2, W/2)
        e3 = self._run(self.dconv_down3, self.maxpool(e2))                      # (B, 64, H/4, W/4)
        e4 = self._run(self.dconv_down4, self.maxpool(e3))                      # (B, 128, H/8, W/8)
        b = self._attend(self.att4, e4, maps, "att4")                           # (B, 128, H/8, W/8)
        b = self._run(self.dconv_bottleneck, b)                                 # (B, 128, H/8, W/8)
        b = self._attend(self.nl_block, b, maps, "nl_block")                    # (B, 128, H/8, W/8)
        s3 = self._attend(self.att3, e3, maps, "att3")                          # (B, 64, H/4, W/4)
        d3 = self._run(self.dconv_up3, mg.cat([self.upsample(b), s3], dim=1))   # (B, 192 -> 64, H/4, W/4)
        s2 = self._attend(self.att2, e2, maps, "att2")                          # (B, 32, H/2, W/2)
        d2 = self._run(self.dconv_up2, mg.cat([self.upsample(d3), s2], dim=1))  # (B, 96 -> 32, H/2, W/2)
        s1 = self._attend(self.att1, e1, maps, "att1")                          # (B, 16, H, W)
        d1 = self._run(self.dconv_up1, mg.cat([self.upsample(d2), s1], dim=1))  # (B, 48 -> 16, H, W)
        out = self.conv_last(d1) + x                                            # (B, 3, H, W)
        if not return_intermediates:
            return out
        features = dict(enc1=e1, enc2=e2, enc3=e3, enc4=e4, bottleneck=b, dec3=d3, dec2=d2, dec1=d1)
        return out, {"features": features, "attention": maps}


def check_input(x, channels):
    """Refuse an input the network cannot take, an array of either library (the PyTorch build checks with it too)."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"UNet expects input of shape (B, {channels}, H, W), got {tuple(x.shape)}")
    h, w = x.shape[2:]
    if h % INPUT_MULTIPLE or w % INPUT_MULTIPLE:
        raise ValueError(
            f"UNet needs H and W to be multiples of {INPUT_MULTIPLE}, got {h}x{w}; "
            "unet.restore() pads any image for you"
        )
