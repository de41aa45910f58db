// optim_update.cu: the optimiser steps, in place on the parameter and its state.
//
//   SGD:  d = g + wd*p;  buf = momentum*buf + d;  p -= lr*buf      (no buf: p -= lr*d)
//   Adam: d = g + wd*p;  m = b1*m + (1-b1)*d;  v = b2*v + (1-b2)*d*d;
//         p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// The host computes 1-b1, 1-b2, 1-b1^t, 1-b2^t in double and passes them in the float
// type, in the same order of operations as numpy_ref, so the GPU and the reference round
// alike. Each element is independent: these kernels only stream memory.
//
// SGD arguments:  (p, g, buf, n, has_buf, lr, momentum, weight_decay)
// Adam arguments: (p, g, m, v, n, lr, b1, 1-b1, b2, 1-b2, eps, weight_decay, 1-b1^t, 1-b2^t)

template <typename T>
__device__ __forceinline__ void sgd_one(T* p, const T* g, T* buf, int i, int has_buf, T lr,
                                        T momentum, T wd) {
    const T d = g[i] + wd * p[i];
    if (has_buf) {
        const T b = momentum * buf[i] + d;
        buf[i] = b;
        p[i] -= lr * b;
    } else {
        p[i] -= lr * d;
    }
}

template <typename T>
__device__ __forceinline__ void adam_one(T* p, const T* g, T* m, T* v, int i, T lr, T b1,
                                         T omb1, T b2, T omb2, T eps, T wd, T bc1, T bc2) {
    const T d = g[i] + wd * p[i];
    const T mi = b1 * m[i] + omb1 * d;
    const T vi = b2 * v[i] + omb2 * d * d;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}

// ---------------------------------------------------------------------------------
// v1: one thread per element.  grid = ceil(n / 256), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void sgd_step_v1(T* p, const T* __restrict__ g, T* buf, int n, int has_buf, T lr,
                            T momentum, T wd) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) sgd_one(p, g, buf, i, has_buf, lr, momentum, wd);
}

template <typename T>
__global__ void adam_step_v1(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m,
                             T* __restrict__ v, int n, T lr, T b1, T omb1, T b2, T omb2,
                             T eps, T wd, T bc1, T bc2) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) adam_one(p, g, m, v, i, lr, b1, omb1, b2, omb2, eps, wd, bc1, bc2);
}

// ---------------------------------------------------------------------------------
// v2: grid-stride loop. At most 4096 blocks (about 4 elements per thread for big
// tensors): fewer blocks to schedule, each thread keeps several loads in flight, and one
// grid size serves any n. (NB: p and buf may alias when has_buf == 0; then buf is never
// touched.)  grid = min(ceil(n / 1024), 4096), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void sgd_step_v2(T* p, const T* __restrict__ g, T* buf, int n, int has_buf, T lr,
                            T momentum, T wd) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        sgd_one(p, g, buf, i, has_buf, lr, momentum, wd);
}

template <typename T>
__global__ void adam_step_v2(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m,
                             T* __restrict__ v, int n, T lr, T b1, T omb1, T b2, T omb2,
                             T eps, T wd, T bc1, T bc2) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        adam_one(p, g, m, v, i, lr, b1, omb1, b2, omb2, eps, wd, bc1, bc2);
}
