"""2-D convolution as im2col + one GEMM per image, and max-pooling over the same kernel taps.

Both walk the kh*kw kernel taps: tap (i, j) sees the strided slice of the padded input that starts at
(i, j). im2col copies each tap's slice into a column block; col2im adds it back, tap by tap, so no
scatter (np.add.at) is ever needed.
"""
from ..backend import get_array_module
from ..function import Function


def _output_size(size, kernel, stride):
    return (size - kernel) // stride + 1


def _tap(i, j, stride, out_h, out_w):
    """Index of the padded input that kernel tap (i, j) multiplies, for every output position."""
    return (
        slice(None),
        slice(None),
        slice(i, i + stride * (out_h - 1) + 1, stride),
        slice(j, j + stride * (out_w - 1) + 1, stride),
    )


def im2col(x, kh, kw, stride):
    """(N, C, H, W) -> (N, C*kh*kw, Ho*Wo), rows ordered (c, i, j) like a flattened conv weight."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out_h, out_w = _output_size(h, kh, stride), _output_size(w, kw, stride)
    cols = xp.empty((n, c, kh, kw, out_h, out_w), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[_tap(i, j, stride, out_h, out_w)]
    return cols.reshape(n, c * kh * kw, out_h * out_w)


def col2im(cols, x_shape, kh, kw, stride):
    """The adjoint of im2col: add every column entry back onto the input pixel it came from."""
    xp = get_array_module(cols)
    n, c, h, w = x_shape
    out_h, out_w = _output_size(h, kh, stride), _output_size(w, kw, stride)
    cols = cols.reshape(n, c, kh, kw, out_h, out_w)
    x = xp.zeros(x_shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            x[_tap(i, j, stride, out_h, out_w)] += cols[:, :, i, j]
    return x


def _pad_spatial(x, padding):
    if padding == 0:
        return x
    return get_array_module(x).pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0):
        if x.ndim != 4 or weight.ndim != 4:
            raise ValueError(f"conv2d expects a 4-d input (N, C, H, W) and weight (O, C, kh, kw), got {x.shape} and {weight.shape}")
        if x.shape[1] != weight.shape[1]:
            raise ValueError(
                f"conv2d: input of shape {tuple(x.shape)} has {x.shape[1]} channels, "
                f"but weight of shape {tuple(weight.shape)} expects {weight.shape[1]}"
            )
        n, _, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        if h + 2 * padding < kh or w + 2 * padding < kw:
            raise ValueError(f"conv2d: input {tuple(x.shape)} with padding {padding} is smaller than the kernel {kh}x{kw}")
        padded = _pad_spatial(x, padding)
        out_h = _output_size(padded.shape[2], kh, stride)
        out_w = _output_size(padded.shape[3], kw, stride)
        cols = im2col(padded, kh, kw, stride)                               # (N, C*kh*kw, L)
        out = weight.reshape(out_channels, -1) @ cols                       # (N, O, L)
        if bias is not None:
            out += bias.reshape(1, -1, 1)
        ctx.save_for_backward(cols, weight, padded.shape)
        return out.reshape(n, out_channels, out_h, out_w)

    @staticmethod
    def backward(ctx, grad):
        cols, weight, padded_shape = ctx.saved
        stride, padding = ctx.params.get("stride", 1), ctx.params.get("padding", 0)
        need_x, need_w = ctx.needs_input_grad[:2]
        xp = get_array_module(grad)
        out_channels, _, kh, kw = weight.shape
        grad = grad.reshape(grad.shape[0], out_channels, -1)                # (N, O, L)
        grad_w = grad_x = grad_b = None
        if need_w:
            grad_w = xp.tensordot(grad, cols, axes=([0, 2], [0, 2])).reshape(weight.shape)
        if need_x:
            grad_cols = weight.reshape(out_channels, -1).T @ grad           # (N, C*kh*kw, L)
            grad_x = col2im(grad_cols, padded_shape, kh, kw, stride)
            if padding:
                grad_x = grad_x[:, :, padding:-padding, padding:-padding]
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            grad_b = grad.sum(axis=(0, 2))
        return grad_x, grad_w, grad_b


class MaxPool2d(Function):
    """Max over kernel taps; the first maximal tap wins, as in torch."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        if h < kernel_size or w < kernel_size:
            raise ValueError(f"max_pool2d: input {tuple(x.shape)} is smaller than the kernel {kernel_size}")
        out_h, out_w = _output_size(h, kernel_size, stride), _output_size(w, kernel_size, stride)
        out = None
        winner = xp.zeros((n, c, out_h, out_w), dtype=xp.int8 if kernel_size ** 2 < 128 else xp.int32)
        for tap in range(kernel_size * kernel_size):
            values = x[_tap(tap // kernel_size, tap % kernel_size, stride, out_h, out_w)]
            if out is None:
                out = values.copy()
                continue
            better = values > out
            xp.copyto(out, values, where=better)
            winner[better] = tap
        ctx.save_for_backward(winner, x.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        winner, x_shape = ctx.saved
        kernel_size, stride = ctx.params["kernel_size"], ctx.params["stride"]
        xp = get_array_module(grad)
        grad_x = xp.zeros(x_shape, dtype=grad.dtype)
        for tap in range(kernel_size * kernel_size):
            grad_x[_tap(tap // kernel_size, tap % kernel_size, stride, *grad.shape[2:])] += grad * (winner == tap)
        return grad_x
