// Max-pooling of NCHW images, real_t = float or double, with torch's windows: output (oy, ox) of a plane has taps
// (i, j) at input (oy*sh + i*dh - ph, ox*sw + j*dw - pw), i < kh, j < kw; taps in the padding are skipped.

// The taps of a window along one axis that lie inside the input: from `first` to before `stop`, `step` apart.
struct WindowAxis {
    long long first, stop;
    __device__ WindowAxis(long long output, long long size, long long kernel, long long stride, long long pad,
                          long long step) {
        first = output * stride - pad;
        stop = first + (kernel - 1) * step + 1 < size ? first + (kernel - 1) * step + 1 : size;
        if (first < 0) first += (-first + step - 1) / step * step;
    }
};

// Max over each window of every plane (N*C of them); winner is the flat index, in its (H, W) plane, of the
// window's first maximal input (a later one wins only when strictly greater), or of its last NaN, as torch's.
// A window with no tap inside the input (all padding: dilation wider than the input) is -infinity, won by
// no pixel (-1).
KERNEL max_pool(const real_t* x, real_t* out, int* winner, long long planes, long long h, long long w,
                long long kh, long long kw, long long sh, long long sw, long long ph, long long pw,
                long long dh, long long dw, long long out_h, long long out_w, real_t minus_infinity) {
    FOR_EACH(index, planes * out_h * out_w) {
        const long long ox = index % out_w, oy = (index / out_w) % out_h, plane = index / (out_w * out_h);
        const real_t* plane_x = x + plane * h * w;
        const WindowAxis rows(oy, h, kh, sh, ph, dh), cols(ox, w, kw, sw, pw, dw);
        long long best_at = -1;
        real_t best = minus_infinity;
        for (long long y = rows.first; y < rows.stop; y += dh) {
            for (long long x_ = cols.first; x_ < cols.stop; x_ += dw) {
                const real_t value = plane_x[y * w + x_];
                if (best_at < 0 || value > best || value != value) {
                    best = value;
                    best_at = y * w + x_;
                }
            }
        }
        out[index] = best;
        winner[index] = (int)best_at;
    }
}

// Gradient of max_pool, as a gather: each input pixel sums the gradients of the windows it won, visiting only
// the windows that cover it (Taps, as conv's col2im).
KERNEL max_pool_backward(const real_t* grad, const int* winner, real_t* grad_x, long long planes, long long h,
                         long long w, long long kh, long long kw, long long sh, long long sw, long long ph,
                         long long pw, long long dh, long long dw, long long out_h, long long out_w,
                         long long tap_step_h, long long output_step_h, long long tap_step_w,
                         long long output_step_w) {
    FOR_EACH(index, planes * h * w) {
        const long long plane = index / (h * w), pixel = index - plane * (h * w);
        const long long y = pixel / w, x_ = pixel - y * w;
        const Taps row(y, ph, sh, dh, out_h, kh, tap_step_h, output_step_h),
            column(x_, pw, sw, dw, out_w, kw, tap_step_w, output_step_w);
        real_t sum = 0;
        FOR_EACH_TAP(row, column, kh, kw, i, j, oy, ox) {
            const long long window = (plane * out_h + oy) * out_w + ox;
            if (winner[window] == pixel) sum += grad[window];
        }
        grad_x[index] = sum;
    }
}
