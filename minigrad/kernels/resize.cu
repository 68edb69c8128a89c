// Separable linear resizing of planes, real_t = float or double:
//     out[p, Y, X] = sum_y rows[Y, y] * sum_x cols[X, x] * in[p, y, x]
// Each row of the (dense) interpolation matrices is nonzero only on the band [first, last], two
// entries for bilinear upsampling, so a thread reads a few input pixels instead of a whole plane.
// Backward is the same kernel with the transposed matrices (a band may then be empty: first > last).
KERNEL resize(const real_t* in, real_t* out, const real_t* rows, const long long* row_first, const long long* row_last,
              const real_t* cols, const long long* col_first, const long long* col_last, long long planes,
              long long in_h, long long in_w, long long out_h, long long out_w) {
    FOR_EACH(index, planes * out_h * out_w) {
        const long long X = index % out_w, Y = (index / out_w) % out_h, plane = index / (out_w * out_h);
        const real_t* image = in + plane * in_h * in_w;
        real_t sum = 0;
        for (long long y = row_first[Y]; y <= row_last[Y]; ++y) {
            real_t row_sum = 0;
            for (long long x = col_first[X]; x <= col_last[X]; ++x) row_sum += cols[X * in_w + x] * image[y * in_w + x];
            sum += rows[Y * in_h + y] * row_sum;
        }
        out[index] = sum;
    }
}
