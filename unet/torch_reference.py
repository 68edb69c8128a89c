"""The SCA + non-local U-Net (docs/design.md §3) and its training loss (§4), written in PyTorch.

This is an independent oracle for parity tests, `evaluate.py --compare-torch` and the benchmarks'
baseline; minigrad and the network never import it. Torch is imported on first use only, so
importing this module is free and works without torch: the torch modules (``DoubleConv``, ``SCA``,
``NonLocal``, ``TorchUNet``) are built when first accessed as attributes of this module.
"""
import functools
import types

import numpy as np

from .model import check_input

NONLOCAL_MODES = ("softmax", "published")
_TORCH_CLASS_NAMES = ("DoubleConv", "SCA", "NonLocal", "TorchUNet")


class TorchNotAvailableError(ImportError):
    """Raised when the PyTorch reference is used but torch is not installed."""

    def __init__(self):
        super().__init__(
            'unet.torch_reference needs PyTorch; install it with: pip install -e ".[test]"'
        )


def _torch():
    """The torch module, or a clear error telling how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise TorchNotAvailableError() from exc
    return torch


@functools.lru_cache(maxsize=None)
def _torch_modules():
    """Define the torch modules once, on first use (they need torch at class-definition time)."""
    torch = _torch()
    nn = torch.nn

    class DoubleConv(nn.Module):
        """conv3x3 → ReLU → conv3x3 → ReLU, plus a 1×1 residual conv when in ≠ out."""

        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(out_channels, out_channels, 3, padding=1),
                nn.ReLU(),
            )
            self.residual_conv = (
                nn.Conv2d(in_channels, out_channels, 1)
                if in_channels != out_channels
                else nn.Identity()
            )

        def forward(self, x):
            return self.conv_block(x) + self.residual_conv(x)

    class SCA(nn.Module):
        """Spatial and channel attention: x * sigmoid(spatial(x)) * channel(x)."""

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

        def forward(self, x):
            return sigmoid_gate(x, self.spatial_attention(x), self.channel_attention(x))

    class NonLocal(nn.Module):
        """Non-local block, out = x + W(y), in the paper's form or the released code's form.

        "softmax": f = softmax(θᵀφ, dim=-1); y = f·gᵀ (B, N, C/2) permuted to (B, C/2, H, W).
        "published": f = θᵀφ / N; y = f·gᵀ (B, N, C/2) reinterpreted by a raw view as
        (B, C/2, H, W) without a permute: the layout the released weights were trained with.
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

        def affinity(self, x):
            """Pairwise weights f (B, N, N) between the N = H·W positions of x."""
            batch, _, height, width = x.shape
            theta_x = self.theta(x).view(batch, -1, height * width).permute(0, 2, 1)  # (B, N, C/2)
            phi_x = self.phi(x).view(batch, -1, height * width)  # (B, C/2, N)
            scores = theta_x @ phi_x  # (B, N, N)
            if self.mode == "softmax":
                return torch.softmax(scores, dim=-1)
            return scores / (height * width)

        def forward(self, x):
            batch, _, height, width = x.shape
            g_x = self.g(x).view(batch, -1, height * width).permute(0, 2, 1)  # (B, N, C/2)
            y = self.affinity(x) @ g_x  # (B, N, C/2), contiguous
            if self.mode == "softmax":
                y = y.permute(0, 2, 1).contiguous()  # (B, C/2, N)
            return x + self.W(y.view(batch, -1, height, width))

    class TorchUNet(nn.Module):
        """U-Net 16/32/64/128 with SCA on the skips and a non-local block in the bottleneck.

        attention=False replaces every SCA by the identity and nonlocal_mode=None drops the
        non-local block: both together give the plain U-Net used for ablations.
        """

        def __init__(self, in_channels=3, out_channels=3, nonlocal_mode="softmax", attention=True):
            super().__init__()
            if nonlocal_mode is not None and nonlocal_mode not in NONLOCAL_MODES:
                raise ValueError(
                    f"nonlocal_mode must be one of {NONLOCAL_MODES} or None, got {nonlocal_mode!r}"
                )
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.nonlocal_mode = nonlocal_mode
            self.attention = attention

            def attention_block(channels):
                return SCA(channels) if attention else nn.Identity()

            # Registration order matches the released checkpoint's key order.
            self.dconv_down1 = DoubleConv(in_channels, 16)
            self.att1 = attention_block(16)
            self.dconv_down2 = DoubleConv(16, 32)
            self.att2 = attention_block(32)
            self.dconv_down3 = DoubleConv(32, 64)
            self.att3 = attention_block(64)
            self.dconv_down4 = DoubleConv(64, 128)
            self.att4 = attention_block(128)
            self.dconv_bottleneck = DoubleConv(128, 128)
            self.nl_block = NonLocal(128, nonlocal_mode) if nonlocal_mode else nn.Identity()
            self.dconv_up3 = DoubleConv(128 + 64, 64)
            self.dconv_up2 = DoubleConv(64 + 32, 32)
            self.dconv_up1 = DoubleConv(32 + 16, 16)
            self.conv_last = nn.Conv2d(16, out_channels, 1)
            self.maxpool = nn.MaxPool2d(2)
            self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)

        def forward(self, x):
            check_input(x, self.in_channels)  # the shapes unet.UNet refuses, with its messages
            e1 = self.dconv_down1(x)  # 16, H
            e2 = self.dconv_down2(self.maxpool(e1))  # 32, H/2 (pool the un-attended features)
            e3 = self.dconv_down3(self.maxpool(e2))  # 64, H/4
            b = self.att4(self.dconv_down4(self.maxpool(e3)))  # 128, H/8
            b = self.nl_block(self.dconv_bottleneck(b))  # 128, H/8
            y = self.dconv_up3(torch.cat([self.upsample(b), self.att3(e3)], dim=1))  # 64, H/4
            y = self.dconv_up2(torch.cat([self.upsample(y), self.att2(e2)], dim=1))  # 32, H/2
            y = self.dconv_up1(torch.cat([self.upsample(y), self.att1(e1)], dim=1))  # 16, H
            return self.conv_last(y) + x  # global residual

    classes = (DoubleConv, SCA, NonLocal, TorchUNet)
    for cls in classes:
        # pickle (torch.save of a whole module, multiprocessing) finds a class by its qualified name, which here
        # would name this function's locals: as the module's attribute it is found through __getattr__ below
        cls.__qualname__ = cls.__name__
    return types.SimpleNamespace(**{cls.__name__: cls for cls in classes})


def __getattr__(name):
    """Build the torch modules lazily when one of them is first accessed."""
    if name in _TORCH_CLASS_NAMES:
        return getattr(_torch_modules(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sigmoid_gate(x, logits, weights):
    """The SCA gate, x * sigmoid(logits) * weights: minigrad's F.sigmoid_gate as torch ops."""
    return x * _torch().sigmoid(logits) * weights


# ----------------------------------------------------------------------------- losses (§4)


def charbonnier(x, y, eps=1e-3):
    """Smooth L1: mean(sqrt((x - y)^2 + eps^2))."""
    return ((x - y) ** 2 + eps**2).sqrt().mean()


def _depthwise_conv(img, kernel):
    """Valid (unpadded) convolution of every channel of img (B, C, H, W) with one 2-D kernel."""
    channels = img.shape[1]
    weight = kernel.to(img).expand(channels, 1, *kernel.shape)
    return _torch().nn.functional.conv2d(img, weight, groups=channels)


def _gauss5(img):
    """5×5 binomial-like blur: outer([.05, .25, .4, .25, .05]) per channel, replicate padding 2."""
    torch = _torch()
    taps = torch.tensor([0.05, 0.25, 0.4, 0.25, 0.05], dtype=torch.float64)
    padded = torch.nn.functional.pad(img, (2, 2, 2, 2), mode="replicate")
    return _depthwise_conv(padded, torch.outer(taps, taps))


def laplacian(img):
    """One Laplacian-pyramid level: img - gauss(up(down(gauss(img))))."""
    filtered = _gauss5(img)
    upsampled = _torch().zeros_like(filtered)
    # down keeps every 2nd pixel; up zero-inserts them back, times 4
    upsampled[:, :, ::2, ::2] = filtered[:, :, ::2, ::2] * 4
    return img - _gauss5(upsampled)


def edge_loss(x, y):
    """Edge loss: charbonnier(laplacian(x), laplacian(y))."""
    return charbonnier(laplacian(x), laplacian(y))


def _ssim_window(size=11, sigma=1.5):
    """Normalized 2-D Gaussian window, the outer product of a 1-D Gaussian with itself."""
    torch = _torch()
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    taps = torch.exp(-(offsets**2) / (2 * sigma**2))
    taps = taps / taps.sum()
    return torch.outer(taps, taps)


def ssim(x, y, data_range=1.0):
    """Mean SSIM (Wang et al.): Gaussian window 11, σ 1.5, K1 0.01, K2 0.03, population variances.

    The window is applied without padding, so the mean runs over the valid region only (a 5-pixel
    border is left out): the same pixels skimage's structural_similarity averages over.
    """
    window = _ssim_window()
    mu_x, mu_y = _depthwise_conv(x, window), _depthwise_conv(y, window)
    var_x = _depthwise_conv(x * x, window) - mu_x**2
    var_y = _depthwise_conv(y * y, window) - mu_y**2
    cov_xy = _depthwise_conv(x * y, window) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return ssim_map.mean()


def ssim_loss(x, y):
    """SSIM loss: 1 - ssim(x, y)."""
    return 1 - ssim(x, y)


def restoration_loss(x, y, w_char=1.0, w_edge=0.1, w_ssim=0.3):
    """Training loss: w_char·charbonnier + w_edge·edge_loss + w_ssim·ssim_loss.

    Returns (total, parts) where parts holds the unweighted terms under the keys "charbonnier", "edge"
    and "ssim", as unet.RestorationLoss's do: a term of weight 0 is left out, not computed.
    """
    weights = {"charbonnier": w_char, "edge": w_edge, "ssim": w_ssim}
    terms = {"charbonnier": charbonnier, "edge": edge_loss, "ssim": ssim_loss}
    parts = {name: term(x, y) for name, term in terms.items() if weights[name]}
    return sum(weights[name] * part for name, part in parts.items()), parts


# ------------------------------------------------------------ weight transfer with minigrad


def _to_host(array):
    """NumPy view of a NumPy array, or a host copy of a CuPy array (which offers .get()); a minigrad tensor's
    (an optimizer's state holds them) through its .numpy(), which copies a GPU tensor's."""
    if hasattr(array, "numpy"):
        return array.numpy()
    return array.get() if hasattr(array, "get") else np.asarray(array)


def _map_tensors(node, convert, is_tensor):
    """`node` with convert(leaf) for each leaf that is_tensor, inside dicts, lists and tuples: an optimizer's state
    dict nests its tensors among numbers (hyper-parameters, parameter indices), which stay as they are."""
    if isinstance(node, dict):
        return {key: _map_tensors(value, convert, is_tensor) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_map_tensors(item, convert, is_tensor) for item in node)
    return convert(node) if is_tensor(node) else node


def state_dict_to_numpy(state_dict):
    """Torch state_dict, a module's or an optimizer's → the same with NumPy arrays of their dtypes for its tensors
    (float32 for the dtypes NumPy lacks, such as bfloat16), so that a float64 state keeps its precision."""
    torch = _torch()
    return _map_tensors(state_dict, _numpy_of, torch.is_tensor)


def _numpy_of(tensor):
    tensor = tensor.detach().cpu()
    try:
        return tensor.numpy()
    except TypeError:  # "Got unsupported ScalarType BFloat16"
        return tensor.float().numpy()


def numpy_to_state_dict(arrays):
    """minigrad state_dict, a module's or an optimizer's → the same with CPU tensors of their dtypes for its NumPy
    or CuPy arrays and minigrad tensors, which torch's load_state_dict takes."""
    torch = _torch()
    return _map_tensors(arrays, lambda array: torch.from_numpy(np.array(_to_host(array))),
                        lambda leaf: hasattr(leaf, "shape"))


CONFIG_NAMES = ("in_channels", "out_channels", "nonlocal_mode", "attention")
STATE_DICT_HINT = ("; a state dict loads into a network built for it, UNet(nonlocal_mode=...).load_state_dict(...), "
                   "and a file of weights through unet.checkpoint.load_model(path)")


def _config(model, takes):
    """The constructor arguments shared by unet.UNet and TorchUNet, or a TypeError that says what the caller
    `takes`: a state dict, or another network, has none of them."""
    if not all(hasattr(model, name) for name in CONFIG_NAMES):
        hint = STATE_DICT_HINT if isinstance(model, dict) else ""
        raise TypeError(f"{takes}, got {type(model).__name__}{hint}")
    return {name: getattr(model, name) for name in CONFIG_NAMES}


def to_torch(model):
    """A float32 TorchUNet in eval mode with the configuration and weights of a minigrad UNet."""
    module = _torch_modules().TorchUNet(**_config(model, "to_torch takes a minigrad unet.UNet"))
    module.load_state_dict(numpy_to_state_dict(model.state_dict()), strict=True)
    return module.float().eval()


def from_torch(module):
    """A minigrad unet.UNet with the configuration, weights and mode (training or evaluation) of a TorchUNet."""
    from unet import UNet

    model = UNet(**_config(module, "from_torch takes a unet.torch_reference.TorchUNet"))
    model.load_state_dict(state_dict_to_numpy(module.state_dict()))
    return model.train(module.training)
