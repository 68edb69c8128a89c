// One Adam step (torch's formula) over many parameters in a single launch, real_t = float or double.
// The arrays of parameter t are at addresses params[t], grads[t], exp_avgs[t] and exp_avg_sqs[t];
// its elements are the flat indices [offsets[t], offsets[t + 1]).
KERNEL adam(const unsigned long long* params, const unsigned long long* grads, const unsigned long long* exp_avgs,
            const unsigned long long* exp_avg_sqs, const long long* offsets, long long tensors, real_t step_size,
            real_t one_minus_beta1, real_t beta2, real_t one_minus_beta2, real_t sqrt_bias_correction2, real_t eps, real_t weight_decay) {
    FOR_EACH(index, offsets[tensors]) {
        long long low = 0, high = tensors - 1;                          // the last t with offsets[t] <= index
        while (low < high) {
            const long long middle = (low + high + 1) / 2;
            if (offsets[middle] <= index) low = middle; else high = middle - 1;
        }
        const long long e = index - offsets[low];
        real_t* param = (real_t*)params[low];
        real_t* m = (real_t*)exp_avgs[low];
        real_t* v = (real_t*)exp_avg_sqs[low];
        real_t grad = ((const real_t*)grads[low])[e];
        if (weight_decay != real_t(0)) grad += weight_decay * param[e];
        m[e] = one_minus_beta1 < real_t(0.5)                        // torch's lerp_, rounded from the nearer end
                   ? m[e] + (grad - m[e]) * one_minus_beta1
                   : grad - (grad - m[e]) * (real_t(1) - one_minus_beta1);
        v[e] = v[e] * beta2 + one_minus_beta2 * grad * grad;
        param[e] -= step_size * (m[e] / (sqrt(v[e]) / sqrt_bias_correction2 + eps));
    }
}
