// Max-pooling of NCDHW volumes (NCHW images as volumes of unit depth), real_t = float or double, with torch's
// windows: output (oz, oy, ox) of a volume has taps (t, i, j) at input (oz*sd + t*dd - pd, oy*sh + i*dh - ph,
// ox*sw + j*dw - pw), t < kd, i < kh, j < kw; taps in the padding are skipped.

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

// Max over each window of every volume (N*C of them); winner is the flat index, in its (D, H, W) volume, of the
// window's first maximal input in scan order (a later one wins only when strictly greater), or of its last NaN,
// as torch's. A window with no tap inside the input (all padding: dilation wider than the input) is -infinity,
// won by no pixel (-1).
KERNEL max_pool(const real_t* x, real_t* out, int* winner, long long planes, long long d, long long h, long long w,
                long long kd, long long kh, long long kw, long long sd, long long sh, long long sw, long long pd,
                long long ph, long long pw, long long dd, long long dh, long long dw, long long out_d,
                long long out_h, long long out_w, real_t minus_infinity) {
    FOR_EACH(index, planes * out_d * out_h * out_w) {
        const long long ox = index % out_w, oy = (index / out_w) % out_h, oz = (index / (out_w * out_h)) % out_d;
        const long long plane = index / (out_w * out_h * out_d);
        const real_t* volume = x + plane * d * h * w;
        const WindowAxis slices(oz, d, kd, sd, pd, dd), rows(oy, h, kh, sh, ph, dh), cols(ox, w, kw, sw, pw, dw);
        long long best_at = -1;
        real_t best = minus_infinity;
        for (long long z = slices.first; z < slices.stop; z += dd) {
            for (long long y = rows.first; y < rows.stop; y += dh) {
                for (long long x_ = cols.first; x_ < cols.stop; x_ += dw) {
                    const long long at = (z * h + y) * w + x_;
                    const real_t value = volume[at];
                    if (best_at < 0 || value > best || value != value) {
                        best = value;
                        best_at = at;
                    }
                }
            }
        }
        out[index] = best;
        winner[index] = (int)best_at;
    }
}

// Gradient of max_pool, as a gather: each input pixel sums the gradients of the windows it won, visiting only
// the windows that cover it (Taps, as conv's col2im).
KERNEL max_pool_backward(const real_t* grad, const int* winner, real_t* grad_x, long long planes, long long d,
                         long long h, long long w, long long kd, long long kh, long long kw, long long sd,
                         long long sh, long long sw, long long pd, long long ph, long long pw, long long dd,
                         long long dh, long long dw, long long out_d, long long out_h, long long out_w,
                         long long tap_step_d, long long output_step_d, long long tap_step_h,
                         long long output_step_h, long long tap_step_w, long long output_step_w) {
    FOR_EACH(index, planes * d * h * w) {
        const long long plane = index / (d * h * w), pixel = index - plane * (d * h * w);
        const long long z = pixel / (h * w), y = (pixel / w) % h, x_ = pixel % w;
        const Taps slice(z, pd, sd, dd, out_d, kd, tap_step_d, output_step_d),
            row(y, ph, sh, dh, out_h, kh, tap_step_h, output_step_h),
            column(x_, pw, sw, dw, out_w, kw, tap_step_w, output_step_w);
        real_t sum = 0;
        for (long long t = slice.tap, oz = slice.output; t < kd && oz >= 0;
             t += slice.tap_step, oz -= slice.output_step) {
            FOR_EACH_TAP(row, column, kh, kw, i, j, oy, ox) {
                const long long window = ((plane * out_d + oz) * out_h + oy) * out_w + ox;
                if (winner[window] == pixel) sum += grad[window];
            }
        }
        grad_x[index] = sum;
    }
}
