"""The training loss (docs/design.md §4): Charbonnier + 0.1 Edge + 0.3 (1 - SSIM), all built from minigrad ops."""
import functools

import numpy as np

import minigrad as mg
import minigrad.functional as F
from minigrad.backend import get_array_module

GAUSS5_TAPS = (0.05, 0.25, 0.4, 0.25, 0.05)


def gaussian_taps(size=11, sigma=1.5):
    offsets = np.arange(size) - (size - 1) / 2
    taps = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    return tuple(taps / taps.sum())


@functools.lru_cache(maxsize=16)
def _blur_kernels(taps, xp, dtype):
    """The vertical and horizontal 1-D conv kernels of `taps`, as arrays of xp, made once: each training step
    blurs 18 times, and a GPU copy from the host costs more than the blur's launches."""
    column = xp.asarray(taps, dtype=dtype).reshape(1, 1, -1, 1)              # (1, 1, k, 1)
    return mg.Tensor(column), mg.Tensor(column.reshape(1, 1, 1, -1))


def separable_blur(images, taps):
    """Blur every channel by the outer product taps x taps (a tuple), unpadded ("valid"), as two 1-D convs.

    images: (B, C, H, W) -> (B, C, H-k+1, W-k+1). Channels are folded into the batch so one
    single-channel kernel serves them all.
    """
    b, c, h, w = images.shape
    k = len(taps)
    vertical, horizontal = _blur_kernels(taps, get_array_module(images.data), images.dtype)
    flat = images.reshape(b * c, 1, h, w)                                    # (B*C, 1, H, W)
    flat = F.conv2d(flat, vertical)                                          # (B*C, 1, H-k+1, W)
    flat = F.conv2d(flat, horizontal)                                        # (B*C, 1, H-k+1, W-k+1)
    return flat.reshape(b, c, h - k + 1, w - k + 1)


class Charbonnier:
    """mean(sqrt((x - y)^2 + eps^2)): L1 that is smooth at zero."""

    def __init__(self, eps=1e-3):
        self.eps = eps

    def __call__(self, x, y):
        return F.charbonnier_loss(x, y, self.eps)


def laplacian(images):
    """One Laplacian-pyramid level: img - gauss(up(down(gauss(img)))), replicate padding.

    down keeps every 2nd pixel and up zero-inserts them back times 4; together that is
    "keep the even-even pixels, times 4, zero elsewhere": one multiply by a fixed mask.
    """
    def gauss(t):
        return separable_blur(F.pad(t, (2, 2, 2, 2), mode="replicate"), GAUSS5_TAPS)

    filtered = gauss(images)                                                 # (B, C, H, W)
    xp = get_array_module(images.data)
    even = xp.zeros(images.shape[2:], dtype=images.dtype)
    even[::2, ::2] = 4
    return images - gauss(filtered * mg.Tensor(even))                       # (B, C, H, W)


class EdgeLoss:
    """Charbonnier distance between the Laplacians: penalises soft or missing edges."""

    def __init__(self, eps=1e-3):
        self.charbonnier = Charbonnier(eps)

    def __call__(self, x, y):
        return self.charbonnier(laplacian(x), laplacian(y))


SSIM_WINDOW = 11  # the Wang window's taps: training crops must be at least this large


def ssim(x, y, data_range=1.0, window_size=SSIM_WINDOW, sigma=1.5):
    """Mean SSIM (Wang et al.) over the valid region of a Gaussian window, population (co)variances.

    x, y: (B, C, H, W). Each of the five local moments is blurred on its own: joining them into one
    batch would cost a copy forward and five full-size zero-filled gradients backward.
    """
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    taps = gaussian_taps(window_size, sigma)
    mu_x, mu_y, xx, yy, xy = (separable_blur(moment, taps) for moment in (x, y, x * x, y * y, x * y))  # (B, C, h, w)
    var_x, var_y, cov = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return (numerator / denominator).mean()


class SSIMLoss:
    """1 - SSIM, with the Wang window (11 taps, sigma 1.5)."""

    def __call__(self, x, y):
        return 1 - ssim(x, y)


class RestorationLoss:
    """The paper's composite loss; returns (total, {"charbonnier", "edge", "ssim"}) with unweighted parts, less
    those of weight 0, which are not computed."""

    def __init__(self, w_char=1.0, w_edge=0.1, w_ssim=0.3):
        self.weights = {"charbonnier": w_char, "edge": w_edge, "ssim": w_ssim}
        self.terms = {"charbonnier": Charbonnier(), "edge": EdgeLoss(), "ssim": SSIMLoss()}

    def __call__(self, x, y):
        parts = {name: term(x, y) for name, term in self.terms.items() if self.weights[name]}
        total = sum(self.weights[name] * part for name, part in parts.items())
        return total, parts
