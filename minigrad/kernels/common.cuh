// Shared by every kernel file. Each kernel is one grid-stride loop over its `total` work items, so any
// launch shape covers all of them, and a host build that runs the threads one by one runs the same loops.
#define KERNEL extern "C" __global__ void
#define FOR_EACH(index, total) \
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < (total); \
         index += (long long)blockDim.x * gridDim.x)
