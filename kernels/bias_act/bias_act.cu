// bias_act.cu: bias + activation, forward and backward.
//
//   forward:   y = act(x + b[c])            c = the channel (axis 1), any trailing axes
//   backward:  gx = gy * act'(y),  gb[c] = sum of gx over every axis but 1
// with act in {0: none, 1: relu, 2: leaky_relu(slope)}. The backward is written in terms
// of the OUTPUT y: y > 0 exactly when x + b > 0 (slope >= 0), so the forward input need
// not be kept. Arrays are viewed as (N, C, inner), inner = the product of trailing axes.
//
// Forward arguments:  (x, b, y, has_bias, act, slope, C, inner, total)
// Backward arguments: (gy, y, gx, gb, act, slope, N, C, inner)

template <typename T>
__device__ __forceinline__ T activate(T v, int act, T slope) {
    if (act == 1) return v > T(0) ? v : T(0);
    if (act == 2) return v > T(0) ? v : v * slope;
    return v;
}

template <typename T>
__device__ __forceinline__ T act_grad(T g, T y, int act, T slope) {
    if (act == 1) return y > T(0) ? g : T(0);
    if (act == 2) return y > T(0) ? g : g * slope;
    return g;
}

// ---------------------------------------------------------------------------------
// v1: one thread per element; the channel comes from a division and a modulo.
//   forward  grid = ceil(total / 256), block = 256.
//   backward grid = ceil(max(total, C) / 256): thread e writes gx[e]; threads e < C ALSO
//   compute gb[e] by looping over all N*inner elements of channel e. Obviously right;
//   the gb loop is serial (C threads do all the summing) and reads gy and y again.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void bias_act_fwd_v1(const T* __restrict__ x, const T* __restrict__ b,
                                T* __restrict__ y, int has_bias, int act, T slope, int C,
                                int inner, int total) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total) return;
    const int c = (idx / inner) % C;
    y[idx] = activate(x[idx] + (has_bias ? b[c] : T(0)), act, slope);
}

template <typename T>
__global__ void bias_act_bwd_v1(const T* __restrict__ gy, const T* __restrict__ y,
                                T* __restrict__ gx, T* __restrict__ gb, int act, T slope,
                                int N, int C, int inner) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx < N * C * inner) gx[idx] = act_grad(gy[idx], y[idx], act, slope);
    if (idx < C) {
        T acc = T(0);
        for (int n = 0; n < N; ++n)
            for (int j = 0; j < inner; ++j) {
                const int e = (n * C + idx) * inner + j;
                acc += act_grad(gy[e], y[e], act, slope);
            }
        gb[idx] = acc;
    }
}

// ---------------------------------------------------------------------------------
// v2: one block row per (n, c) plane. Forward: grid = (N*C, ceil(inner / 256)), each
// thread strides over its plane, so the channel is blockIdx.x % C (no per-element
// division) and the bias is read once. Backward: one 256-thread block per channel
// (grid = C) walks that channel's N planes, writes gx, and reduces gb in shared memory:
// 256 partial sums, then a tree of 8 halvings (fixed order: reproducible). gx and gb
// come from one pass over gy and y instead of two.
// ---------------------------------------------------------------------------------
// The sum of one value from each thread of a 256-thread block: 256 partial sums in
// shared memory, then a tree of 8 halvings (a fixed order: reproducible). Every thread
// must call it; thread 0 gets the sum.
template <typename T>
__device__ __forceinline__ T block_sum_256(T v) {
    __shared__ T partial[256];
    const int t = threadIdx.x;
    partial[t] = v;
    __syncthreads();
    for (int half = 128; half > 0; half >>= 1) {
        if (t < half) partial[t] += partial[t + half];
        __syncthreads();
    }
    return partial[0];
}

template <typename T>
__global__ void bias_act_fwd_v2(const T* __restrict__ x, const T* __restrict__ b,
                                T* __restrict__ y, int has_bias, int act, T slope, int C,
                                int inner, int total) {
    const int plane = blockIdx.x;
    const T bias = has_bias ? b[plane % C] : T(0);
    const T* xp = x + plane * inner;
    T* yp = y + plane * inner;
    for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < inner; j += gridDim.y * blockDim.x)
        yp[j] = activate(xp[j] + bias, act, slope);
}

template <typename T>
__global__ void __launch_bounds__(256)
bias_act_bwd_v2(const T* __restrict__ gy, const T* __restrict__ y, T* __restrict__ gx,
                T* __restrict__ gb, int act, T slope, int N, int C, int inner) {
    const int c = blockIdx.x, t = threadIdx.x;
    T acc = T(0);
    for (int n = 0; n < N; ++n) {
        const int base = (n * C + c) * inner;
        for (int j = t; j < inner; j += 256) {
            const T g = act_grad(gy[base + j], y[base + j], act, slope);
            gx[base + j] = g;
            acc += g;
        }
    }
    const T sum = block_sum_256(acc);
    if (t == 0) gb[c] = sum;
}

// ---------------------------------------------------------------------------------
// v3 (backward; the forward is v2's): the channel's reduction split over many blocks.
// v2 runs ONE block per channel: a VDSR layer (C = 64) is 64 blocks of 8 warps on a
// 132-SM card, half the SMs idle and the rest far too thin to stream three arrays at
// full bandwidth (an H200 profile put bias_act_backward ~6x above its bandwidth bound).
// v3: grid = (C, splits). Block (c, s) takes the s-th chunk of `chunk` consecutive
// elements of channel c's N*inner (flattened as k = n*inner + j, so a chunk is a few
// contiguous runs: coalesced), writes gx there and ONE partial sum part[s*C + c]
// (block_sum_256, as v2). bias_act_bwd_v3_reduce then adds each channel's
// partials in the order s = 0, 1, ... (fixed: reproducible, no atomics). With one split
// the block writes gb directly and the plan skips the reduce.
//   extra arguments: chunk (elements per split); splits = gridDim.y.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(256)
bias_act_bwd_v3(const T* __restrict__ gy, const T* __restrict__ y, T* __restrict__ gx,
                T* __restrict__ part, int act, T slope, int N, int C, int inner, int chunk) {
    const int c = blockIdx.x, t = threadIdx.x;
    const int k0 = blockIdx.y * chunk, k1 = min(k0 + chunk, N * inner);
    T acc = T(0);
    for (int n = k0 / inner; n < N && n * inner < k1; ++n) {
        const int lo = max(k0 - n * inner, 0), hi = min(k1 - n * inner, inner);
        const int base = (n * C + c) * inner;
        for (int j = lo + t; j < hi; j += 256) {
            const T g = act_grad(gy[base + j], y[base + j], act, slope);
            gx[base + j] = g;
            acc += g;
        }
    }
    const T sum = block_sum_256(acc);
    if (t == 0) part[blockIdx.y * C + c] = sum;
}

// gb[c] = part[0*C + c] + part[1*C + c] + ... (one thread per channel, in split order)
template <typename T>
__global__ void bias_act_bwd_v3_reduce(const T* __restrict__ part, T* __restrict__ gb,
                                       int C, int splits) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    T acc = T(0);
    for (int s = 0; s < splits; ++s) acc += part[s * C + c];
    gb[c] = acc;
}
