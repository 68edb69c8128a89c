// Convolution columns for NCHW images, real_t = float or double.

// cols (C*kh*kw, N*out_h*out_w), rows ordered (c, i, j) like a flattened conv weight, the batch inside
// each row: cols[(c*kh + i)*kw + j, (n*out_h + oy)*out_w + ox] = x[n, c, oy*sh + i*dh - ph, ox*sw + j*dw - pw],
// 0 outside x. One thread per output position of each plane (n, c) writes that position's kh*kw taps:
// the index arithmetic (64-bit divisions, slow on a GPU) is done once per position, not once per tap.
KERNEL im2col(const real_t* x, real_t* cols, long long n, long long c, long long h, long long w, long long kh, long long kw,
              long long sh, long long sw, long long ph, long long pw, long long dh, long long dw, long long out_h,
              long long out_w) {
    const long long positions = out_h * out_w, row_length = n * positions;
    FOR_EACH(index, n * c * positions) {
        const long long plane = index / positions, position = index - plane * positions;
        const long long image = plane / c, channel = plane - image * c;
        const long long oy = position / out_w, ox = position - oy * out_w;
        const real_t* plane_x = x + plane * h * w;
        real_t* column = cols + channel * kh * kw * row_length + image * positions + position;  // row (c, 0, 0), image n
        for (long long i = 0; i < kh; ++i) {
            const long long y = oy * sh + i * dh - ph;
            for (long long j = 0; j < kw; ++j) {
                const long long x_ = ox * sw + j * dw - pw;
                const bool inside = y >= 0 && y < h && x_ >= 0 && x_ < w;
                column[(i * kw + j) * row_length] = inside ? plane_x[y * w + x_] : real_t(0);
            }
        }
    }
}

// The adjoint of im2col, as a gather: each input pixel sums the column entries of the taps that read
// it, so no two threads write the same pixel and no atomics are needed.
KERNEL col2im(const real_t* cols, real_t* x, long long n, long long c, long long h, long long w, long long kh, long long kw,
              long long sh, long long sw, long long ph, long long pw, long long dh, long long dw, long long out_h,
              long long out_w, long long tap_step_h, long long output_step_h, long long tap_step_w,
              long long output_step_w) {
    const long long positions = out_h * out_w, row_length = n * positions;
    FOR_EACH(index, n * c * h * w) {
        const long long plane = index / (h * w), pixel = index - plane * (h * w);
        const long long image = plane / c, channel = plane - image * c;
        const long long y = pixel / w, x_ = pixel - y * w;
        const real_t* plane_cols = cols + channel * kh * kw * row_length + image * positions;   // row (c, 0, 0), image n
        const Taps row(y, ph, sh, dh, out_h, kh, tap_step_h, output_step_h),
            column(x_, pw, sw, dw, out_w, kw, tap_step_w, output_step_w);
        real_t sum = 0;
        FOR_EACH_TAP(row, column, kh, kw, i, j, oy, ox) {
            sum += plane_cols[(i * kw + j) * row_length + oy * out_w + ox];
        }
        x[index] = sum;
    }
}
