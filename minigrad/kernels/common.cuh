// Shared by every kernel file. Each kernel is one grid-stride loop over its `total` work items, so any
// launch shape covers all of them, and a host build that runs the threads one by one runs the same loops.
#define KERNEL extern "C" __global__ void
#define FOR_EACH(index, total) \
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < (total); \
         index += (long long)blockDim.x * gridDim.x)

// The kernel taps that read input coordinate `at` along an axis, and the outputs they feed (conv's col2im,
// max-pool's backward): tap t reads `at` for output o when o*stride + t*dilation = at + pad. With
// g = gcd(stride, dilation), the solutions step by tap_step = stride/g taps and output_step = dilation/g
// outputs (the launcher computes both, so no thread divides for them), so only the first needs a search (at
// most tap_step tries); solutions past the last output skip ahead to it. No solution (`at` between the pixels
// any tap reads) leaves tap past the kernel.
struct Taps {
    long long tap, output, tap_step, output_step;
    __device__ Taps(long long at, long long pad, long long stride, long long dilation, long long outputs,
                    long long taps, long long tap_step, long long output_step)
        : tap(0), tap_step(tap_step), output_step(output_step) {
        while (tap < tap_step && (at + pad - tap * dilation) % stride) ++tap;
        if (tap == tap_step) {
            tap = taps;
            output = -1;
            return;
        }
        output = (at + pad - tap * dilation) / stride;
        if (output >= outputs) {
            const long long skipped = (output - outputs + output_step) / output_step;
            tap += skipped * tap_step;
            output -= skipped * output_step;
        }
    }
};

// Every (tap (i, j), output (oy, ox)) pair of two axes' Taps, rows then columns: the gathers' loop.
#define FOR_EACH_TAP(row, column, kh, kw, i, j, oy, ox) \
    for (long long i = (row).tap, oy = (row).output; i < (kh) && oy >= 0; \
         i += (row).tap_step, oy -= (row).output_step) \
        for (long long j = (column).tap, ox = (column).output; j < (kw) && ox >= 0; \
             j += (column).tap_step, ox -= (column).output_step)
