// common.cuh: the helpers every tinysr CUDA kernel shares.
//
// The loader (tinysr/backend/cuda_loader.py) prepends this file to each kernel's .cu
// text before compiling it, so the kernels never #include it and editing it changes
// the source CuPy hashes (its compile cache cannot go stale). The CPU emulator
// (kernels/emulator/) compiles the same text as C++ after cuda_shim.h, so nothing
// here may use inline PTX or intrinsics the shim does not know.
//
// Contents, in reading order:
//   1. ConvShape:      the integers that describe one convolution, in one struct
//   2. read_padded:    read x[n, c, ih, iw] with "zeros" or "replicate" padding
//   3. Carry2/Carry3:  walk a flat index k -> (a, b, c) by adding, not dividing
//   4. TileConfig and gemm_mainloop: the register-blocked, double-buffered tile loop
//      behind every "v3" convolution (forward, backward-input, backward-weight);
//      each kernel supplies only a Gather that says where operand elements live.
#ifndef TINYSR_COMMON_CUH
#define TINYSR_COMMON_CUH

namespace tinysr {

// ---------------------------------------------------------------------------------
// 1. The convolution's shape. Every conv kernel takes the same 12 ints, in this order,
//    so one launch helper and one signature table serve them all.
//      x: (N, C, H, W)   w: (O, C, KH, KW)   y: (N, O, Ho, Wo)
//      Ho = (H + 2*pad - KH) / stride + 1, the same for W.
// ---------------------------------------------------------------------------------
struct ConvShape {
    int N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate;
};

__device__ __forceinline__ ConvShape make_shape(int N, int C, int H, int W, int O, int KH,
                                                int KW, int Ho, int Wo, int stride, int pad,
                                                int replicate) {
    ConvShape s;
    s.N = N; s.C = C; s.H = H; s.W = W; s.O = O; s.KH = KH; s.KW = KW;
    s.Ho = Ho; s.Wo = Wo; s.stride = stride; s.pad = pad; s.replicate = replicate;
    return s;
}

__device__ __forceinline__ int clamp_index(int i, int n) {
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

// ---------------------------------------------------------------------------------
// 2. One pixel of the padded input. (ih, iw) are coordinates in the UNPADDED image and
//    may lie outside it by up to `pad`: "zeros" reads 0 there, "replicate" reads the
//    nearest edge pixel (clamp), exactly numpy.pad(mode="edge").
//    `plane` points at x[n, c, 0, 0].
// ---------------------------------------------------------------------------------
template <typename T>
__device__ __forceinline__ T read_padded(const T* plane, int ih, int iw, int H, int W,
                                         int replicate) {
    if (replicate) {
        return plane[clamp_index(ih, H) * W + clamp_index(iw, W)];
    }
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return T(0);
    return plane[ih * W + iw];
}

// ---------------------------------------------------------------------------------
// 3. Incremental index decoding. The tiled kernels walk the reduction index k in steps
//    of BK. Decoding k = (a*B + b)*C + c with two divisions per element would cost more
//    than the multiply-adds it feeds, so each thread decodes its k once and then adds:
//    c += step, and carries into b and a only when c overflows (rare for big C).
// ---------------------------------------------------------------------------------
struct Carry2 {            // k = a * B + b
    int a, b;
    __device__ __forceinline__ void set(int k, int B) { a = k / B; b = k - a * B; }
    __device__ __forceinline__ void add(int step, int B) {
        b += step;
        if (b >= B) { int q = b / B; a += q; b -= q * B; }
    }
};

struct Carry3 {            // k = (a * B + b) * C + c
    int a, b, c;
    __device__ __forceinline__ void set(int k, int B, int C) {
        int ab = k / C; c = k - ab * C; a = ab / B; b = ab - a * B;
    }
    __device__ __forceinline__ void add(int step, int B, int C) {
        c += step;
        if (c >= C) {
            int q = c / C; c -= q * C; b += q;
            if (b >= B) { q = b / B; b -= q * B; a += q; }
        }
    }
};

// ---------------------------------------------------------------------------------
// 4. The tiled GEMM mainloop shared by the three v3 convolution kernels.
//
//    Every convolution pass is a matrix product C[m][n] = sum_k A[m][k] * B[k][n] whose
//    operands are never materialised ("implicit GEMM"): a Gather computes where A[m][k]
//    and B[k][n] live in the real tensors. A block owns a BM x BN tile of C and walks k
//    in slices of BK:
//
//          k ->                 n ->  (BN = 128 columns)
//        +-----+              +----------------------------+
//      m | A   |  BK          | B   BK rows                |
//      | |tile |              +----------------------------+
//      v +-----+
//      BM = 64 rows            C tile: 8 warps x 32 lanes; thread (tm, tn) owns the
//                              TM x TN = 8 x 4 outputs at rows tm*8.., columns tn*4..
//
//    What makes it fast (each line is a step from the "v2" kernels):
//    - register blocking: a thread keeps TM*TN = 32 accumulators in registers and, per
//      k, reads TM + TN = 12 operands from shared memory for 32 multiply-adds (v2 reads
//      2 operands per multiply-add), as 3 16-byte loads;
//    - double buffering: while the block multiplies slice s out of shared buffer s%2, each
//      thread already holds slice s+1 in registers (fetched from global memory before the
//      math, so the loads' latency hides behind it) and stores it into the other buffer:
//      one __syncthreads() per slice instead of two;
//    - fixed load slots: per slice every thread loads A at one k (k0 + t % BK) and B at one
//      k (k0 + t / 32), so the Gather decodes each k once per slice, incrementally (Carry).
//      B columns of a thread are fixed (n0 + t%32 + 32*i), decoded once per tile. Lanes
//      of a warp load consecutive n, which are consecutive pixels: coalesced.
//
//    A Gather provides (T the float type, Cfg this config):
//      __device__ void fetch(T (&ra)[Cfg::A_LOADS], T (&rb)[Cfg::B_LOADS]);
//          load the current slice's elements for this thread's slots, zero outside the
//          problem, then advance to the next slice
//    Slot i of thread t:  A: row m0 + t / BK + (THREADS / BK) * i, column k0 + t % BK
//                         B: row k0 + t / 32,                      column n0 + t % 32 + 32 * i
// ---------------------------------------------------------------------------------
template <int BM_, int BN_, int TM_, int TN_>
struct TileConfig {
    static constexpr int BM = BM_, BN = BN_, TM = TM_, TN = TN_;
    static constexpr int THREADS = (BM / TM) * (BN / TN);
    static constexpr int BK = THREADS / 32;            // one B row per warp
    static constexpr int A_LOADS = BM * BK / THREADS;  // A elements per thread per slice
    static constexpr int B_LOADS = BN / 32;            // B elements per thread per slice
    static constexpr int APAD = 4, BPAD = 4;           // keeps rows 16-byte aligned and
                                                        // the A stores bank-conflict free
    static_assert(BN / TN == 32, "one warp spans the BN columns");
    // The load slots described above, as functions so the Gathers cannot disagree.
    __device__ static __forceinline__ int a_row(int t, int i) { return t / BK + (THREADS / BK) * i; }
    __device__ static __forceinline__ int a_col(int t) { return t % BK; }
    __device__ static __forceinline__ int b_row(int t) { return t / 32; }
    __device__ static __forceinline__ int b_col(int t, int i) { return t % 32 + 32 * i; }
    static_assert(THREADS % BK == 0 && BM % (THREADS / BK) == 0, "A slots tile BM x BK");
};

typedef TileConfig<64, 128, 8, 4> Tile64x128;        // 256 threads, BK = 8

// 16-byte shared-memory vector loads (4 floats or 2 doubles): one instruction instead of
// four. A plain aligned struct, so the CPU emulator needs no CUDA vector types.
template <typename T> struct alignas(16) Vec16 { T v[16 / sizeof(T)]; };

template <typename T, int N>
__device__ __forceinline__ void load_fragment(const T* p, T (&r)[N]) {
    constexpr int L = 16 / sizeof(T);
    static_assert(N % L == 0, "fragment is a whole number of 16-byte vectors");
#pragma unroll
    for (int i = 0; i < N / L; ++i) {
        Vec16<T> q = reinterpret_cast<const Vec16<T>*>(p)[i];
#pragma unroll
        for (int j = 0; j < L; ++j) r[i * L + j] = q.v[j];
    }
}

template <typename T, typename Cfg, typename Gather>
__device__ __forceinline__ void gemm_mainloop(Gather& g, int nslices,
                                              T (&acc)[Cfg::TM][Cfg::TN]) {
    constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN;
    constexpr int AS = BM + Cfg::APAD, BS = BN + Cfg::BPAD;   // shared row strides
    __shared__ Vec16<T> As_raw[2 * BK * AS * sizeof(T) / 16];
    __shared__ Vec16<T> Bs_raw[2 * BK * BS * sizeof(T) / 16];
    T* As = reinterpret_cast<T*>(As_raw);   // As[buf][k][m]  (A stored transposed)
    T* Bs = reinterpret_cast<T*>(Bs_raw);   // Bs[buf][k][n]

    const int t = threadIdx.x;
    const int tn = t % (BN / TN), tm = t / (BN / TN);
    const int a_k = Cfg::a_col(t), b_k = Cfg::b_row(t);   // this thread's load slots

#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

    T ra[Cfg::A_LOADS], rb[Cfg::B_LOADS];
    if (nslices > 0) {
        g.fetch(ra, rb);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) As[a_k * AS + Cfg::a_row(t, i)] = ra[i];
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) Bs[b_k * BS + Cfg::b_col(t, i)] = rb[i];
    }
    __syncthreads();

    for (int s = 0; s < nslices; ++s) {
        const int cur = s & 1;
        const bool more = s + 1 < nslices;      // the same for every thread of the block
        if (more) g.fetch(ra, rb);              // global -> registers, in flight during the math

        const T* Ab = As + cur * BK * AS;
        const T* Bb = Bs + cur * BK * BS;
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            T a[TM], b[TN];
            load_fragment(Ab + k * AS + tm * TM, a);
            load_fragment(Bb + k * BS + tn * TN, b);
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
        }

        if (more) {                              // registers -> the other shared buffer
            T* An = As + (cur ^ 1) * BK * AS;
            T* Bn = Bs + (cur ^ 1) * BK * BS;
#pragma unroll
            for (int i = 0; i < Cfg::A_LOADS; ++i) An[a_k * AS + Cfg::a_row(t, i)] = ra[i];
#pragma unroll
            for (int i = 0; i < Cfg::B_LOADS; ++i) Bn[b_k * BS + Cfg::b_col(t, i)] = rb[i];
        }
        __syncthreads();
    }
}

}  // namespace tinysr

#endif  // TINYSR_COMMON_CUH
