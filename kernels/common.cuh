// common.cuh: the helpers every tinysr CUDA kernel shares.
//
// The loader (tinysr/backend/cuda_loader.py) prepends this file to each kernel's .cu
// text before compiling it, so the kernels never #include it and editing it changes
// the source CuPy hashes (its compile cache cannot go stale). The CPU emulator
// (kernels/emulator/) compiles the same text as C++ after cuda_shim.h, so nothing
// here may use inline PTX or intrinsics the shim does not know, except behind
// `#if !defined(TINYSR_EMULATE)` with a plain C++ equivalent (copy_async, section 5).
//
// Contents, in reading order:
//   1. ConvShape:      the integers that describe one convolution, in one struct
//   2. read_padded:    read x[n, c, ih, iw] with "zeros" or "replicate" padding
//   3. Carry2/Carry3:  walk a flat index k -> (a, b, c) by adding, not dividing
//   4. TileConfig and gemm_mainloop: the register-blocked, double-buffered tile loop
//      behind every "v3" convolution (forward, backward-input, backward-weight);
//      each kernel supplies only a Gather that says where operand elements live.
//   5. WarpTileConfig and gemm_mainloop_v4: the same loop with 8 x 8 outputs per thread
//      and 32 x 64 warp tiles, behind every "v4" convolution (tiles 64 x 256 and
//      64 x 128 for forward / backward-input, 64 x 192 for backward-weight).
//   6. TapColumn and gather_taps: the v4 gather of an input tap, split into a per-k part
//      and a per-column part (a table in shared memory) so an element costs a few adds,
//      two compares and a load.
//   7. Engines (EngineV4, EngineTf32x3): what a tile body calls to fill its accumulators,
//      and gemm_mainloop_tf32x3, the "v5" loop: the v4 slices, multiplied on tensor cores
//      (mma.sync m16n8k8 TF32) with the 3xTF32 split that keeps float32 accuracy.
//   8. Winograd F(4x4, 3x3) helpers of the "v6" convolutions: the tile constants, the
//      transforms (sandwich), the per-tile thread mapping (TileThread, stage_matrix)
//      and MatrixGather (v4's engine on plain row-major matrices).
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

// ---------------------------------------------------------------------------------
// 5. The v4 mainloop: 8 x 8 outputs per thread, laid out so that shared loads broadcast.
//
//    A block is WM x WN warps; each warp computes a 32 x 64 tile of C, each lane an 8 x 8
//    piece of it made of four 4 x 4 sub-tiles, 16 rows and 32 columns apart:
//
//                     warp tile: 64 columns
//            ln = 0    1    ...   7      ln = 0    1    ...   7
//          +----+----+-----+----+      +----+----+-----+----+
//   lm = 0 |4x4 |    |     |    |      |4x4 |    |     |    |     lane = 8 * lm + ln
//   lm = 1 |    |    |     |    |      |    |    |     |    |     lane (lm, ln) owns the
//   lm = 2 |    |    |     |    |      |    |    |     |    |     four 4x4 squares
//   lm = 3 |    |    |     |    |      |    |    |     |    |     marked at (lm, ln) in
//          +----+----+-----+----+      +----+----+-----+----+     each quadrant
//   16 rows further down: the same again              (32 rows in all)
//
//    Why this layout (the step from v3's 8 x 4 per thread, one warp per row strip):
//    - per k a thread reads 8 A and 8 B values (four 16-byte loads) for 64 multiply-adds:
//      4 operands per 16 multiply-adds instead of 6 (v3: 12 operands for 32);
//    - within a warp the 4 distinct A vectors are 64 contiguous bytes and the 8 distinct B
//      vectors 128 contiguous bytes: every shared load is ONE wavefront (the other lanes
//      get broadcasts). v3's B load (32 distinct vectors) needs four;
//    - a block tile of BN = 64*WN columns: each A element loaded from global memory feeds
//      BN multiply-adds (v3: 128); each B element still feeds BM = 64, so the B gather is
//      made cheaper per element instead (section 6);
//    - slices are copied global -> shared with cp.async (below): no staging registers and
//      no separate shared stores, which is what lets 64 accumulators fit in the 128
//      registers that two 256-thread blocks per SM allow.
//    K-slices, the two shared buffers and the load slots are v3's (section 4): BK = the
//    number of warps, one B row per warp, lanes of a warp load consecutive columns.
// ---------------------------------------------------------------------------------
template <int WM_, int WN_>
struct WarpTileConfig {
    static constexpr int WM = WM_, WN = WN_;
    static constexpr int BM = 32 * WM, BN = 64 * WN, TM = 8, TN = 8;
    static constexpr int THREADS = 32 * WM * WN;
    static constexpr int BK = THREADS / 32;            // one B row per warp
    static constexpr int A_LOADS = BM * BK / THREADS;  // = WM
    static constexpr int B_LOADS = BN / 32;            // = 2 * WN
    static constexpr int APAD = 4;                     // 16-byte rows; conflict-free A stores
    static_assert(THREADS % BK == 0 && BM % (THREADS / BK) == 0, "A slots tile BM x BK");
    static_assert(A_LOADS * (THREADS / BK) == BM, "A slots cover BM rows exactly");
    // load slots, as in TileConfig
    __device__ static __forceinline__ int a_row(int t, int i) { return t / BK + (THREADS / BK) * i; }
    __device__ static __forceinline__ int a_col(int t) { return t % BK; }
    __device__ static __forceinline__ int b_row(int t) { return t / 32; }
    __device__ static __forceinline__ int b_col(int t, int i) { return t % 32 + 32 * i; }
    // the outputs of thread t: rows row(t, 0..7), columns col(t, 0..7) of the block tile
    __device__ static __forceinline__ int row(int t, int i) {
        return (t / 32) / WN * 32 + (t % 32) / 8 * 4 + (i & 3) + 16 * (i >> 2);
    }
    __device__ static __forceinline__ int col(int t, int j) {
        return (t / 32) % WN * 64 + (t % 32) % 8 * 4 + (j & 3) + 32 * (j >> 2);
    }
};

typedef WarpTileConfig<2, 4> Tile64x256;             // 256 threads, BK = 8
typedef WarpTileConfig<2, 2> Tile64x128w;            // 128 threads, BK = 4 (see below)
typedef WarpTileConfig<2, 3> Tile64x192;             // 192 threads, BK = 6

// Why a second forward tile (Tile64x128w, used by the "v4" forward and backward-input
// when the launch plan's wave model prefers it; conv2d_fwd/launch.py: warp_tile_for): float v4
// needs 128 registers a thread, so an SM holds 16 warps whatever the block shape
// (2 x 256 or 4 x 128 threads). The wave count ceil(blocks / slots) is therefore the same
// for both tiles (VDSR: 421 / 264 and 841 / 528 both give 1.59 -> 2 waves); what the
// smaller block changes is the granularity of the tail. Blocks are handed to SMs as
// slots free up, so the busiest SM runs ceil(blocks / SMs) blocks: 4 x 256 columns with
// the big tile (the last 2 of them on a half-empty SM) against 7 x 128 with the small
// one (the last 3 on an SM still 3/4 full). The price is a BK of 4 (one barrier per 256
// multiply-adds a thread instead of 512) and twice as many column tables; summation
// order per output is k = 0, 1, ..., K-1 in both, so results are bit-identical.

// Four consecutive values from 16-byte aligned shared memory (one or two 16-byte loads).
template <typename T>
__device__ __forceinline__ void load4(const T* p, T* r) {
    constexpr int L = 16 / sizeof(T);
#pragma unroll
    for (int i = 0; i < 4 / L; ++i) {
        Vec16<T> q = reinterpret_cast<const Vec16<T>*>(p)[i];
#pragma unroll
        for (int j = 0; j < L; ++j) r[i * L + j] = q.v[j];
    }
}

// Asynchronous global -> shared copies (sm_80+ cp.async): the copy unit writes shared
// memory itself, so a prefetched slice occupies no registers on the way (v3 stages it in
// ra/rb). `valid == false` writes a zero and reads nothing (src-size 0: "zero fill").
// copy_async_wait() waits for this thread's copies; a __syncthreads() after it publishes
// them to the block. The CPU emulator (and GPUs before sm_80) copy synchronously.
template <typename T>
__device__ __forceinline__ void copy_async(T* dst_shared, const T* src, bool valid) {
#if !defined(TINYSR_EMULATE) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    unsigned dst;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }"
        : "=r"(dst) : "l"(dst_shared));
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(dst), "l"(src),
                 "n"(int(sizeof(T))), "r"(valid ? int(sizeof(T)) : 0) : "memory");
#else
    *dst_shared = valid ? *src : T(0);
#endif
}

__device__ __forceinline__ void copy_async_wait() {
#if !defined(TINYSR_EMULATE) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_all;\n" ::: "memory");
#endif
}

//    The v4 Gather provides
//      __device__ void fetch(T* a_dst, T* b_dst);
//          copy (copy_async) the current slice's elements of this thread's slots to
//          a_dst[Cfg::a_row(t, i)] and b_dst[Cfg::b_col(t, i)], zero outside the problem,
//          then advance to the next slice;
//      __device__ void slice_ready(const T* a_src);
//          called once the slice is in shared memory (a_src[Cfg::a_row(t, i)] are this
//          thread's A slots); backward-weight sums its gy values there, others do nothing.
// The double-buffered slice pipeline of the v4 and v5 mainloops: slice s + 1 is copied
// (cp.async) into one buffer while `math(A, B)` multiplies slice s from the other.
// Buffers are `BK` rows of `AS` (A, stored transposed: [k][m]) and `BS` (B: [k][n])
// elements; a_slot / b_slot are this thread's load offsets inside a buffer.
template <int BK, int AS, int BS, typename T, typename Gather, typename Math>
__device__ __forceinline__ void double_buffered_slices(Gather& g, int nslices, T* As, T* Bs,
                                                       int a_slot, int b_slot, Math math) {
    if (nslices > 0) g.fetch(As + a_slot, Bs + b_slot);   // slice 0 -> buffer 0
    copy_async_wait();
    __syncthreads();

    for (int s = 0; s < nslices; ++s) {
        const int cur = s & 1;
        g.slice_ready(As + cur * BK * AS + a_slot);
        // Slice s + 1 -> the other buffer, in flight during the math. That buffer was
        // last read in iteration s - 1, which every thread has finished (barrier below).
        if (s + 1 < nslices)
            g.fetch(As + (cur ^ 1) * BK * AS + a_slot, Bs + (cur ^ 1) * BK * BS + b_slot);
        math(As + cur * BK * AS, Bs + cur * BK * BS);
        copy_async_wait();                       // my copies of slice s + 1 have landed
        __syncthreads();                         // ... and everyone's; buffer cur is free
    }
}

template <typename T, typename Cfg, typename Gather>
__device__ __forceinline__ void gemm_mainloop_v4(Gather& g, int nslices, T (&acc)[8][8]) {
    constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
    constexpr int AS = BM + Cfg::APAD, BS = BN;       // shared row strides
    static_assert(AS % 4 == 0 && BS % 4 == 0, "16-byte aligned shared rows");
    __shared__ Vec16<T> As_raw[2 * BK * AS * sizeof(T) / 16];
    __shared__ Vec16<T> Bs_raw[2 * BK * BS * sizeof(T) / 16];
    T* As = reinterpret_cast<T*>(As_raw);   // As[buf][k][m]  (A stored transposed)
    T* Bs = reinterpret_cast<T*>(Bs_raw);   // Bs[buf][k][n]

    const int t = threadIdx.x;
    const int r0 = Cfg::row(t, 0), c0 = Cfg::col(t, 0);   // multiples of 4: aligned

#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = T(0);

    double_buffered_slices<BK, AS, BS>(
        g, nslices, As, Bs, Cfg::a_col(t) * AS, Cfg::b_row(t) * BS,
        [&](const T* A, const T* B) {
            const T* Ab = A + r0;
            const T* Bb = B + c0;
#pragma unroll
            for (int k = 0; k < BK; ++k) {
                T a[8], b[8];
                load4(Ab + k * AS, a);              // rows r0 .. r0+3
                load4(Ab + k * AS + 16, a + 4);     // rows r0+16 .. r0+19
                load4(Bb + k * BS, b);              // columns c0 .. c0+3
                load4(Bb + k * BS + 32, b + 4);     // columns c0+32 .. c0+35
#pragma unroll
                for (int i = 0; i < 8; ++i)
#pragma unroll
                    for (int j = 0; j < 8; ++j) acc[i][j] += a[i] * b[j];
            }
        });
}

// ---------------------------------------------------------------------------------
// 6. The v4 gather of an input tap. Every B operand of the v4 kernels is one element of
//    a (planes, Hs, Ws) tensor `src` at
//        plane = rp(k) + cp(n),   h = rh(k) + ch(n),   w = rw(k) + cw(n)
//    i.e. a part that depends only on the K row and a part that depends only on the
//    column. Forward: k = tap (c, p, q) gives (c*H*W, p, q), column = output pixel gives
//    (img*C*H*W, i*s - pad, j*s - pad). A thread loads ONE row and B_LOADS columns per
//    slice; it decodes its row once per slice (by addition, Carry3), and the block
//    decodes each of its BN columns once, into a table in shared memory (TapColumn; one
//    thread per column, before the mainloop). An element then costs one 8-byte shared
//    load of its column entry and:
//      zeros:     two unsigned compares (0 <= h < Hs, 0 <= w < Ws) and a load at
//                 (rp + rh*Ws + rw) + (cp + ch*Ws + cw): both brackets precomputed;
//      replicate: the clamped coordinates (numpy.pad mode="edge").
//    Why a shared table and not registers: 8 columns x (offset, h, w) would be 24 more
//    registers on top of 64 accumulators and the fragments, past the 128 that two blocks
//    per SM allow (ptxas spills). (ch, cw) are packed into one int, 16 bits each: images
//    up to 32767 pixels a side (the launch plans run v3 beyond: each versions.py).
//    Columns past the end of the problem are clamped to the last column by the caller:
//    they load real (finite) data into accumulators that are never stored, and need no
//    test. Rows past the end (k >= K) pass k_ok = false and load zeros.
// ---------------------------------------------------------------------------------
struct alignas(8) TapColumn {
    int off;   // zeros: cp + ch*Ws + cw;  replicate: cp
    int hw;    // (ch, cw) as two 16-bit halves

    __device__ __forceinline__ void set(int cp, int ch, int cw, int Ws, int replicate) {
        hw = int((unsigned(ch) << 16) | (unsigned(cw) & 0xffffu));
        off = replicate ? cp : cp + ch * Ws + cw;
    }
    __device__ __forceinline__ int h() const { return hw >> 16; }   // arithmetic: signed
    __device__ __forceinline__ int w() const { return int(short(hw & 0xffff)); }
};

// B_LOADS elements of row (rp, rh, rw) at this thread's B columns (Cfg::b_col), copied
// to dst[Cfg::b_col(t, i)].
template <typename T, typename Cfg>
__device__ __forceinline__ void gather_taps(const T* src, const TapColumn* cols, bool k_ok,
                                            int rp, int rh, int rw, int Hs, int Ws,
                                            int replicate, T* dst) {
    const int t = threadIdx.x;
    if (replicate) {
        if (!k_ok) rp = 0;                    // keep the (unread) address inside src
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) {
            const TapColumn c = cols[Cfg::b_col(t, i)];
            copy_async(dst + Cfg::b_col(t, i),
                       src + rp + c.off + clamp_index(rh + c.h(), Hs) * Ws +
                           clamp_index(rw + c.w(), Ws),
                       k_ok);
        }
    } else {
        const int roff = rp + rh * Ws + rw;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) {
            const TapColumn c = cols[Cfg::b_col(t, i)];
            const bool in = k_ok && unsigned(rh + c.h()) < unsigned(Hs) &&
                            unsigned(rw + c.w()) < unsigned(Ws);
            copy_async(dst + Cfg::b_col(t, i), src + (in ? roff + c.off : 0), in);
        }
    }
}

// ---------------------------------------------------------------------------------
// 7. Engines: how a tile body turns slices into accumulators.
//
//    A body (e.g. conv2d_fwd.cu: conv2d_fwd_tile_body) owns the gather, the column table
//    and the epilogue; the engine owns the accumulators' layout:
//      Engine::TM x Engine::TN accumulators a thread, acc[i][j] the output at block-tile
//      row Engine::row(t, i), column Engine::col(t, j); Engine::run(g, nslices, acc).
//    EngineV4 is section 5's loop. EngineTf32x3 ("v5") runs the same slices through the
//    tensor cores.
//
//    Why 3xTF32. A tensor core multiplies TF32 numbers (float's 8-bit exponent, 10
//    mantissa bits) and adds in float. One pass loses float accuracy (2^-11 relative per
//    product). Split each operand into a TF32 "big" part and the TF32 rounding of what is
//    left, x = xb + xs (|xs| <= 2^-11 |x|, and xs itself is rounded to 2^-22 |x|), and take
//        a*b ~= as*bb + ab*bs + ab*bb       (the as*bs term, 2^-22 |ab|, is dropped)
//    so each product is within about 3 * 2^-22 |ab| of the float one: three tensor-core
//    passes for float32 accuracy (tests: a bound of (3 terms + 6) float ulps, against
//    2 terms for the SIMT versions; see tests/test_cuda_emulation.py).
//
//    The warp tile is v4's 32 x 64 (WM x WN warps a block), now made of 2 x 8 mma tiles of
//    16 x 8. Lane l (g = l / 4, q = l % 4) holds, of one m16n8k8 product (PTX ISA,
//    "matrix fragments for mma.m16n8k8", .tf32):
//        A (16 x 8, row-major):  a0 = A[g][q], a1 = A[g+8][q], a2 = A[g][q+4], a3 = A[g+8][q+4]
//        B (8 x 8, "col"):       b0 = B[q][g], b1 = B[q+4][g]
//        C (16 x 8):             c0 = C[g][2q], c1 = C[g][2q+1], c2 = C[g+8][2q], c3 = C[g+8][2q+1]
//    so a thread's 64 accumulators sit in 4 rows (g, g+8, g+16, g+24 of the warp tile) and
//    16 columns (2q, 2q+1 of each of the 8 column tiles): acc[4][16], TM = 4, TN = 16.
//    The slices are v4's (same Gather, same cp.async double buffer, BK = 8 = one mma k),
//    but the shared rows are padded by 8 floats: a fragment load then reads 32 different
//    banks (row stride = 8 mod 32 banks), where v4's padding of 4 would read A twice per
//    bank and an unpadded B four times.
//    Only float has tensor-core TF32; double instantiations of a v5 kernel run EngineV4
//    (Tf32x3Or<T, Cfg>::type picks).
// ---------------------------------------------------------------------------------
template <typename Cfg>
struct EngineV4 {
    static constexpr int TM = 8, TN = 8;
    __device__ static __forceinline__ int row(int t, int i) { return Cfg::row(t, i); }
    __device__ static __forceinline__ int col(int t, int j) { return Cfg::col(t, j); }
    template <typename T, typename Gather>
    __device__ static __forceinline__ void run(Gather& g, int nslices, T (&acc)[8][8]) {
        gemm_mainloop_v4<T, Cfg>(g, nslices, acc);
    }
};

// TF32 bits of x, rounded to nearest with ties away from zero (cvt.rna.tf32.f32): the low
// 13 mantissa bits are dropped. tf32_split gives x's big and small parts (see above).
__device__ __forceinline__ unsigned to_tf32(float x) {
#if defined(TINYSR_EMULATE)
    return tinysr_emu::tf32_rna(x);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    unsigned u;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(u) : "f"(x));
    return u;
#else
    return 0u;   // no TF32 before sm_80 (the kernel traps there, see mma_tf32_m16n8k8)
#endif
}

__device__ __forceinline__ float tf32_value(unsigned u) {
#if defined(TINYSR_EMULATE)
    return tinysr_emu::bits_to_float(u);
#else
    return __uint_as_float(u);
#endif
}

__device__ __forceinline__ void tf32_split(float x, unsigned& big, unsigned& small) {
    big = to_tf32(x);
    small = to_tf32(x - tf32_value(big));   // exact difference (Sterbenz), then rounded
}

// d += A * B for one 16 x 8 x 8 TF32 tile held by the warp's 32 lanes (fragments above).
// Every lane of the warp must call it together (it is warp-collective, mma.sync).
__device__ __forceinline__ void mma_tf32_m16n8k8(float& d0, float& d1, float& d2, float& d3,
                                                 const unsigned (&a)[4], unsigned b0,
                                                 unsigned b1) {
#if defined(TINYSR_EMULATE)
    tinysr_emu::mma_tf32_m16n8k8(d0, d1, d2, d3, a, b0, b1);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d0), "+f"(d1), "+f"(d2), "+f"(d3)
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();    // tensor-core TF32 needs sm_80 or newer: use v4 there
#endif
}

// d += as*bb + ab*bs + ab*bb: the three passes of one 3xTF32 product (small terms first).
// The emulator runs them as one collective call (one barrier instead of three).
__device__ __forceinline__ void mma_tf32x3_m16n8k8(float& d0, float& d1, float& d2, float& d3,
                                                   const unsigned (&ab)[4],
                                                   const unsigned (&as)[4], unsigned bb0,
                                                   unsigned bb1, unsigned bs0, unsigned bs1) {
#if defined(TINYSR_EMULATE)
    tinysr_emu::mma_tf32x3_m16n8k8(d0, d1, d2, d3, ab, as, bb0, bb1, bs0, bs1);
#else
    mma_tf32_m16n8k8(d0, d1, d2, d3, as, bb0, bb1);
    mma_tf32_m16n8k8(d0, d1, d2, d3, ab, bs0, bs1);
    mma_tf32_m16n8k8(d0, d1, d2, d3, ab, bb0, bb1);
#endif
}

// The v5 mainloop: float only, BK = 8 (Tile64x256: one mma k-step a slice).
template <typename Cfg, typename Gather>
__device__ __forceinline__ void gemm_mainloop_tf32x3(Gather& g, int nslices,
                                                     float (&acc)[4][16]) {
    constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK;
    static_assert(BK == 8, "one m16n8k8 step per slice");
    constexpr int AS = BM + 8, BS = BN + 8;              // conflict-free fragment loads
    __shared__ Vec16<float> As_raw[2 * BK * AS * 4 / 16];
    __shared__ Vec16<float> Bs_raw[2 * BK * BS * 4 / 16];
    float* As = reinterpret_cast<float*>(As_raw);   // As[buf][k][m]  (A stored transposed)
    float* Bs = reinterpret_cast<float*>(Bs_raw);   // Bs[buf][k][n]

    const int t = threadIdx.x, lane = t % 32, warp = t / 32;
    const int gq = lane / 4, q = lane % 4;
    const int wm = warp / Cfg::WN * 32, wn = warp % Cfg::WN * 64;   // the warp tile

#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 16; ++j) acc[i][j] = 0.0f;

    double_buffered_slices<BK, AS, BS>(
        g, nslices, As, Bs, Cfg::a_col(t) * AS, Cfg::b_row(t) * BS,
        [&](const float* A, const float* B) {
            // A fragments of the warp's two 16-row tiles, split once, used by 8 column tiles
            const float* Ab = A + wm + gq;
            unsigned ab[2][4], as[2][4];
#pragma unroll
            for (int mi = 0; mi < 2; ++mi) {
                tf32_split(Ab[q * AS + 16 * mi], ab[mi][0], as[mi][0]);
                tf32_split(Ab[q * AS + 16 * mi + 8], ab[mi][1], as[mi][1]);
                tf32_split(Ab[(q + 4) * AS + 16 * mi], ab[mi][2], as[mi][2]);
                tf32_split(Ab[(q + 4) * AS + 16 * mi + 8], ab[mi][3], as[mi][3]);
            }
            const float* Bb = B + wn + gq;
#pragma unroll
            for (int nj = 0; nj < 8; ++nj) {
                unsigned bb0, bs0, bb1, bs1;
                tf32_split(Bb[q * BS + 8 * nj], bb0, bs0);
                tf32_split(Bb[(q + 4) * BS + 8 * nj], bb1, bs1);
#pragma unroll
                for (int mi = 0; mi < 2; ++mi)
                    mma_tf32x3_m16n8k8(acc[2 * mi][2 * nj], acc[2 * mi][2 * nj + 1],
                                       acc[2 * mi + 1][2 * nj], acc[2 * mi + 1][2 * nj + 1],
                                       ab[mi], as[mi], bb0, bb1, bs0, bs1);
            }
        });
}

template <typename Cfg>
struct EngineTf32x3 {
    static constexpr int TM = 4, TN = 16;
    // acc[i][j]: row g + 8 i of the warp tile (i = 2 mi + half), column 8 (j / 2) + 2 q + j % 2
    __device__ static __forceinline__ int row(int t, int i) {
        return (t / 32) / Cfg::WN * 32 + 8 * i + (t % 32) / 4;
    }
    __device__ static __forceinline__ int col(int t, int j) {
        return (t / 32) % Cfg::WN * 64 + 8 * (j / 2) + 2 * (t % 4) + j % 2;
    }
    template <typename Gather>
    __device__ static __forceinline__ void run(Gather& g, int nslices, float (&acc)[4][16]) {
        gemm_mainloop_tf32x3<Cfg>(g, nslices, acc);
    }
};

// The v5 engine for float, v4's for double.
template <typename T, typename Cfg> struct Tf32x3Or { typedef EngineV4<Cfg> type; };
template <typename Cfg> struct Tf32x3Or<float, Cfg> { typedef EngineTf32x3<Cfg> type; };

// ---------------------------------------------------------------------------------
// 8. Winograd F(4x4, 3x3) helpers, shared by the v6 convolutions (conv2d_fwd/winograd.cu:
//    forward and backward-input; conv2d_bwd_weight/winograd_bwd_weight.cu: the weight
//    gradient). A 4x4 output tile of a 3x3 filter reads a 6x6 input tile; `mats` holds
//    B^T (6x6), G (6x3), A^T (4x6) row-major in float64 at the offsets below.
// ---------------------------------------------------------------------------------
constexpr int WG_M = 4, WG_R = 3, WG_A = WG_M + WG_R - 1;   // F(4x4, 3x3): 6x6 tiles
constexpr int WG_BT = 0, WG_G = WG_A * WG_A, WG_AT = WG_G + WG_A * WG_R;  // offsets in mats

// out = P X P^T, or P^T X P when TRANSPOSED, for the small transform matrices: X is K x K
// (registers), P is I x K row-major (K x I when TRANSPOSED) in shared memory, sums run in
// index order in type Acc. Every Winograd transform is one: U = G g G^T, V = B^T d B,
// Y = A^T M A (P = G, B^T, A^T) and, in the weight gradient, A dY A^T and G^T dU G
// (the same matrices, TRANSPOSED).
template <int I, int K, bool TRANSPOSED, typename Acc, typename TP, typename TX>
__device__ __forceinline__ void sandwich(const TP* P, const TX (&x)[K][K], Acc (&out)[I][I]) {
    auto p = [&](int i, int k) { return Acc(TRANSPOSED ? P[k * I + i] : P[i * K + k]); };
    Acc px[I][K];                                            // P X
#pragma unroll
    for (int i = 0; i < I; ++i)
#pragma unroll
        for (int l = 0; l < K; ++l) {
            Acc sum = Acc(0);
#pragma unroll
            for (int k = 0; k < K; ++k) sum += p(i, k) * Acc(x[k][l]);
            px[i][l] = sum;
        }
#pragma unroll
    for (int i = 0; i < I; ++i)
#pragma unroll
        for (int j = 0; j < I; ++j) {
            Acc sum = Acc(0);
#pragma unroll
            for (int l = 0; l < K; ++l) sum += px[i][l] * p(j, l);
            out[i][j] = sum;
        }
}

// The decoded tile t = (n, ti, tj) of an N x th x tw grid of tiles.
struct WinogradTile {
    int n, ti, tj;
    __device__ __forceinline__ WinogradTile(int t, int th, int tw) {
        n = t / (th * tw);
        const int rest = t - n * th * tw;
        ti = rest / tw;
        tj = rest - ti * tw;
    }
};

// The thread mapping of the per-tile transform kernels (1-D grid, 256 threads): thread
// idx = c * P + t works on channel c of tile t, t fastest, so each of its 36 plane
// accesses is, across a warp, 32 consecutive elements. c >= the channel count: no work.
struct TileThread {
    int idx, P, c, t;                         // (declared in initialisation order)
    WinogradTile tile;
    __device__ __forceinline__ TileThread(int N, int th, int tw)
        : idx(blockIdx.x * blockDim.x + threadIdx.x), P(N * th * tw), c(idx / P),
          t(idx - c * P), tile(t, th, tw) {}
};

// n entries of `mats` from `offset`, as T, into shared `dst`; then the block's barrier.
template <typename T>
__device__ __forceinline__ void stage_matrix(const double* mats, int offset, int n, T* dst) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = T(mats[offset + i]);
    __syncthreads();
}

// The Gather of a GEMM on plain row-major matrices, for v4's engine (section 5): v4's
// forward gather without the taps. A (R x K), B (K x P). Slots as in WarpTileConfig: a
// thread copies A rows a_row(t, i) at column a_col(t) and B row b_row(t) at columns
// b_col(t, i) = lane + 32 i (a warp reads 32 consecutive elements). Rows past R and
// columns past P are clamped (real data into accumulators never stored); rows of the
// slice past K are zero.
template <typename T, typename Cfg>
struct MatrixGather {
    const T* a; const T* b;
    int K, P, ncol0;                          // ncol0: this thread's first B column
    int ka, a_off[Cfg::A_LOADS];              // A: current k, and m * K per slot
    int kb;                                   // B: current k

    __device__ __forceinline__ void init(const T* a_, const T* b_, int R, int K_, int P_,
                                         int m0, int n0, int t) {
        a = a_; b = b_; K = K_; P = P_;
        ka = Cfg::a_col(t);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int m = m0 + Cfg::a_row(t, i);
            a_off[i] = (m < R ? m : R - 1) * K;
        }
        kb = Cfg::b_row(t);
        ncol0 = n0 + Cfg::b_col(t, 0);
    }

    __device__ __forceinline__ void fetch(T* a_dst, T* b_dst) {
        const bool ka_ok = ka < K, kb_ok = kb < K;
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i)
            copy_async(a_dst + Cfg::a_row(threadIdx.x, i), a + (ka_ok ? a_off[i] + ka : 0),
                       ka_ok);
        const T* row = b + (kb_ok ? kb * P : 0);
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) {
            const int col = ncol0 + 32 * i;               // = n0 + Cfg::b_col(t, i)
            copy_async(b_dst + Cfg::b_col(threadIdx.x, i), row + (col < P ? col : P - 1),
                       kb_ok);
        }
        ka += Cfg::BK;
        kb += Cfg::BK;
    }

    __device__ __forceinline__ void slice_ready(const T*) {}
};

}  // namespace tinysr

#endif  // TINYSR_COMMON_CUH
