// Fused elementwise chains, real_t = float or double: one pass over memory where separate ops
// would each launch a kernel and write an intermediate array.

__device__ real_t logistic(real_t a) {  // sigmoid as torch's: the negative tail keeps its digits, and exp's inf gives 0
    return real_t(1) / (real_t(1) + exp(-a));
}

KERNEL relu_backward(const real_t* grad, const real_t* out, real_t* grad_a, long long n) {
    FOR_EACH(i, n) grad_a[i] = out[i] <= real_t(0) ? real_t(0) : grad[i];  // a NaN output passes, as torch's
}

KERNEL sigmoid(const real_t* a, real_t* out, long long n) {
    FOR_EACH(i, n) out[i] = logistic(a[i]);
}

KERNEL sigmoid_backward(const real_t* grad, const real_t* out, real_t* grad_a, long long n) {
    FOR_EACH(i, n) grad_a[i] = grad[i] * out[i] * (real_t(1) - out[i]);
}

// out = x * sigmoid(logits) * weights[plane], one weight per plane of `plane_size` values.
KERNEL sigmoid_gate(const real_t* x, const real_t* logits, const real_t* weights, real_t* out, real_t* gate,
                    long long plane_size, long long n) {
    FOR_EACH(i, n) {
        gate[i] = logistic(logits[i]);
        out[i] = x[i] * gate[i] * weights[i / plane_size];
    }
}

// weighted = grad * gate * x, summed per plane afterwards into the weights' gradient.
KERNEL sigmoid_gate_backward(const real_t* grad, const real_t* x, const real_t* gate, const real_t* weights,
                             real_t* grad_x, real_t* grad_logits, real_t* weighted, long long plane_size, long long n) {
    FOR_EACH(i, n) {
        const real_t gated = grad[i] * gate[i];
        grad_x[i] = gated * weights[i / plane_size];
        grad_logits[i] = grad_x[i] * x[i] * (real_t(1) - gate[i]);
        weighted[i] = gated * x[i];
    }
}

// Charbonnier: distance = sqrt((x - y)^2 + eps^2), and its slope d distance / dx = (x - y) / distance.
KERNEL charbonnier(const real_t* x, const real_t* y, real_t* distance, real_t* slope, real_t eps_squared, long long n) {
    FOR_EACH(i, n) {
        const real_t difference = x[i] - y[i];
        distance[i] = sqrt(difference * difference + eps_squared);
        slope[i] = difference / distance[i];
    }
}

// Softmax's backward on its (outer, length, inner) rows, one row per work item: the row's values lie `inner` apart,
// and grad_a = out * (grad - sum over the row of grad * out).
KERNEL softmax_backward(const real_t* grad, const real_t* out, real_t* grad_a, long long length, long long inner,
                        long long rows) {
    FOR_EACH(row, rows) {
        const long long first = row / inner * length * inner + row % inner;
        real_t total = 0;
        for (long long j = 0; j < length; ++j) total += grad[first + j * inner] * out[first + j * inner];
        for (long long j = 0; j < length; ++j) {
            const long long at = first + j * inner;
            grad_a[at] = out[at] * (grad[at] - total);
        }
    }
}
