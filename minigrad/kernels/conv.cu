// Convolution columns and max-pooling for NCHW images, real_t = float or double.

// cols (N, C*kh*kw, out_h*out_w), rows ordered (c, i, j) like a flattened conv weight:
// cols[n, (c*kh + i)*kw + j, oy*out_w + ox] = x[n, c, oy*stride + i - pad, ox*stride + j - pad], 0 outside x.
KERNEL im2col(const real_t* x, real_t* cols, long long n, long long c, long long h, long long w, long long kh, long long kw,
              long long stride, long long pad, long long out_h, long long out_w) {
    const long long positions = out_h * out_w, rows = c * kh * kw;
    FOR_EACH(index, n * rows * positions) {
        const long long position = index % positions, row = (index / positions) % rows;
        const long long image = index / (positions * rows);
        const long long j = row % kw, i = (row / kw) % kh, channel = row / (kw * kh);
        const long long y = (position / out_w) * stride + i - pad, x_ = (position % out_w) * stride + j - pad;
        const bool inside = y >= 0 && y < h && x_ >= 0 && x_ < w;
        cols[index] = inside ? x[((image * c + channel) * h + y) * w + x_] : real_t(0);
    }
}

// The adjoint of im2col, as a gather: each input pixel sums the column entries of the taps that read
// it, so no two threads write the same pixel and no atomics are needed.
KERNEL col2im(const real_t* cols, real_t* x, long long n, long long c, long long h, long long w, long long kh, long long kw,
              long long stride, long long pad, long long out_h, long long out_w) {
    const long long positions = out_h * out_w, rows = c * kh * kw;
    FOR_EACH(index, n * c * h * w) {
        const long long x_ = index % w, y = (index / w) % h, channel = (index / (w * h)) % c, image = index / (w * h * c);
        const real_t* image_cols = cols + (image * rows + channel * kh * kw) * positions;
        real_t sum = 0;
        for (long long i = 0; i < kh; ++i) {
            const long long row_offset = y + pad - i;                     // = oy * stride for a tap that reads y
            if (row_offset < 0 || row_offset % stride != 0 || row_offset / stride >= out_h) continue;
            for (long long j = 0; j < kw; ++j) {
                const long long col_offset = x_ + pad - j;
                if (col_offset < 0 || col_offset % stride != 0 || col_offset / stride >= out_w) continue;
                sum += image_cols[(i * kw + j) * positions + (row_offset / stride) * out_w + col_offset / stride];
            }
        }
        x[index] = sum;
    }
}

// Max over each k x k window of every plane (N*C of them); winner is the window's first maximal tap
// i*k + j, as on the CPU (a later tap wins only when strictly greater).
KERNEL max_pool(const real_t* x, real_t* out, int* winner, long long planes, long long h, long long w, long long k,
                long long stride, long long out_h, long long out_w) {
    FOR_EACH(index, planes * out_h * out_w) {
        const long long ox = index % out_w, oy = (index / out_w) % out_h, plane = index / (out_w * out_h);
        const real_t* window = x + (plane * h + oy * stride) * w + ox * stride;
        real_t best = window[0];
        int best_tap = 0;
        for (int tap = 1; tap < k * k; ++tap) {
            const real_t value = window[(tap / k) * w + tap % k];
            if (value > best) {
                best = value;
                best_tap = tap;
            }
        }
        out[index] = best;
        winner[index] = best_tap;
    }
}

// Gradient of max_pool, as a gather: each input pixel sums the gradients of the windows it won.
KERNEL max_pool_backward(const real_t* grad, const int* winner, real_t* grad_x, long long planes, long long h, long long w,
                         long long k, long long stride, long long out_h, long long out_w) {
    FOR_EACH(index, planes * h * w) {
        const long long x_ = index % w, y = (index / w) % h, plane = index / (w * h);
        const long long first_oy = y < k ? 0 : (y - k) / stride + 1, first_ox = x_ < k ? 0 : (x_ - k) / stride + 1;
        const long long last_oy = y / stride < out_h - 1 ? y / stride : out_h - 1;
        const long long last_ox = x_ / stride < out_w - 1 ? x_ / stride : out_w - 1;
        real_t sum = 0;
        for (long long oy = first_oy; oy <= last_oy; ++oy) {
            for (long long ox = first_ox; ox <= last_ox; ++ox) {
                const long long window = (plane * out_h + oy) * out_w + ox;
                if (winner[window] == (y - oy * stride) * k + (x_ - ox * stride)) sum += grad[window];
            }
        }
        grad_x[index] = sum;
    }
}
