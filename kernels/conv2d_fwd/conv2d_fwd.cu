// conv2d_fwd.cu: the forward convolution, five ways (v1-v5; v6, Winograd, is winograd.cu).
//
// Versions, by the names the library selects them with (versions.py, README.md):
//   v1 direct, v2 smem_tiles, v3 reg_tiles, v4 warp_tiles (entries conv2d_fwd_v4 and
//   conv2d_fwd_v4_n128), v5 tf32x3; v6 winograd is in winograd.cu.
//
//   y[n,o,i,j] = sum_{c,p,q} w[o,c,p,q] * xpad[n, c, i*stride + p, j*stride + q]
//
// x (N,C,H,W), w (O,C,KH,KW), y (N,O,Ho,Wo), all C-contiguous; "xpad" is never built:
// read_padded() (common.cuh) reads zeros or the clamped edge pixel outside the image.
// Seen as a matrix product ("implicit GEMM"):
//   M = O output channels, N = N*Ho*Wo output pixels, K = C*KH*KW taps,
//   A[m][k] = w viewed as (O, C*KH*KW),  B[k][n] = the input pixel tap k of pixel n reads.
//
// Every kernel takes the same arguments:
//   (x, w, y, N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate)
// and is a template on the float type T (float or double); the loader instantiates
// conv2d_fwd_vK<float> or <double> through name_expressions. The launch plan of every
// version (grids, the tile choice, fallbacks) is kernels/conv2d_fwd/launch.py, shared by
// CuPy and the emulator; which version runs where another does not apply is versions.py.

// ---------------------------------------------------------------------------------
// v1: naive. One thread per output element; it loops over all C*KH*KW taps.
//   grid = ceil(N*O*Ho*Wo / 256), block = 256.
// Obviously right, and slow: every thread reads its whole receptive field and the
// weights straight from global memory (through the caches), about two loads per
// multiply-add, so the GPU waits on memory instead of computing.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_fwd_v1(const T* __restrict__ x, const T* __restrict__ w,
                              T* __restrict__ y, int N, int C, int H, int W, int O, int KH,
                              int KW, int Ho, int Wo, int stride, int pad, int replicate) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N * O * Ho * Wo) return;
    const int j = idx % Wo;                 // idx = ((n * O + o) * Ho + i) * Wo + j
    const int i = (idx / Wo) % Ho;
    const int o = (idx / (Wo * Ho)) % O;
    const int n = idx / (Wo * Ho * O);
    T acc = T(0);
    for (int c = 0; c < C; ++c) {
        const T* plane = x + (n * C + c) * H * W;
        const T* wk = w + (o * C + c) * KH * KW;
        for (int p = 0; p < KH; ++p)
            for (int q = 0; q < KW; ++q)
                acc += wk[p * KW + q] *
                       tinysr::read_padded(plane, i * stride + p - pad, j * stride + q - pad,
                                           H, W, replicate);
    }
    y[idx] = acc;
}

// ---------------------------------------------------------------------------------
// v2: shared-memory tiles. A 16x16 block computes a 16 (output channels) x 16 (pixels)
// tile of the implicit GEMM; k advances in slices of 16. Per slice each thread loads ONE
// weight and ONE input tap into shared memory, then every thread reads 16 of each from
// shared memory. Each global load now feeds 16 multiply-adds instead of one, so memory
// traffic drops ~16x. Still: 2 shared loads per multiply-add, two barriers per slice, and
// each input tap decoded with divisions.
//   grid = (ceil(N*Ho*Wo / 16), ceil(O / 16)), block = (16, 16).
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_fwd_v2(const T* __restrict__ x, const T* __restrict__ w,
                              T* __restrict__ y, int N, int C, int H, int W, int O, int KH,
                              int KW, int Ho, int Wo, int stride, int pad, int replicate) {
    __shared__ T As[16][17];   // As[m][k]; the +1 column avoids bank conflicts
    __shared__ T Bs[16][17];   // Bs[k][n]
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int K = C * KH * KW, P = N * Ho * Wo;
    const int m = blockIdx.y * 16 + ty;        // output channel this thread computes
    const int col = blockIdx.x * 16 + tx;      // output pixel this thread computes
    // The pixel this thread's column stands for (it loads B for the same column).
    const bool col_ok = col < P;
    const int n = col_ok ? col / (Ho * Wo) : 0;
    const int ij = col_ok ? col - n * Ho * Wo : 0;
    const int i = ij / Wo, j = ij % Wo;
    const int a_row = blockIdx.y * 16 + ty;    // A element loaded: A[a_row][k0 + tx]

    T acc = T(0);
    for (int k0 = 0; k0 < K; k0 += 16) {
        const int ka = k0 + tx;
        As[ty][tx] = (a_row < O && ka < K) ? w[a_row * K + ka] : T(0);
        const int kb = k0 + ty;                // B element loaded: B[k0 + ty][col]
        T b = T(0);
        if (col_ok && kb < K) {
            const int c = kb / (KH * KW), pq = kb % (KH * KW);
            const int p = pq / KW, q = pq % KW;
            b = tinysr::read_padded(x + (n * C + c) * H * W, i * stride + p - pad,
                                    j * stride + q - pad, H, W, replicate);
        }
        Bs[ty][tx] = b;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; ++kk) acc += As[ty][kk] * Bs[kk][tx];
        __syncthreads();
    }
    if (m < O && col_ok) y[(n * O + m) * Ho * Wo + ij] = acc;
}

// ---------------------------------------------------------------------------------
// v3: register-blocked, double-buffered implicit GEMM (common.cuh: gemm_mainloop).
// A 256-thread block computes a 64 (output channels) x 128 (pixels) tile; each thread
// 8 x 4 outputs held in registers. Per k a thread reads 12 operands from shared memory
// (three 16-byte loads) for 32 multiply-adds: 5x fewer shared loads per multiply-add than
// v2, so the FMA units, not the load units, set the pace. The next slice's global loads
// are issued before the math on the current one (double buffering), and taps are
// decoded by addition (Carry3) instead of division. What this file adds is the Gather:
//   A slot: w[m][k] (w is already the (O, C*KH*KW) matrix, row-major)
//   B slot: the input pixel read by tap k = (c, p, q) of output pixel n = (img, i, j);
//           a thread's 4 B columns are fixed, so (img, i, j) is decoded once per tile.
//   grid = (ceil(N*Ho*Wo / 128), ceil(O / 64)), block = 256.
// ---------------------------------------------------------------------------------
template <typename T, typename Cfg>
struct FwdGather {
    const T* x; const T* w;
    int K, H, W, KH, KW, replicate;
    int ka;                                   // A: current k of this thread's A slot
    int a_off[Cfg::A_LOADS];                  //    m * K, or -1 past the last channel
    int kb; tinysr::Carry3 tap;               // B: current k = (c, p, q) of the B slot
    int b_off[Cfg::B_LOADS];                  //    x offset of image n, or -1 past the end
    int b_ih[Cfg::B_LOADS], b_iw[Cfg::B_LOADS];   // top-left input pixel of the window

    __device__ __forceinline__ void init(const T* x_, const T* w_, const tinysr::ConvShape& s,
                                         int m0, int n0, int t) {
        x = x_; w = w_; K = s.C * s.KH * s.KW; H = s.H; W = s.W; KH = s.KH; KW = s.KW;
        replicate = s.replicate;
        ka = Cfg::a_col(t);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int m = m0 + Cfg::a_row(t, i);
            a_off[i] = m < s.O ? m * K : -1;
        }
        kb = Cfg::b_row(t);
        tap.set(kb, s.KH, s.KW);
        const int P = s.N * s.Ho * s.Wo;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) {
            const int col = n0 + Cfg::b_col(t, i);
            const int n = col / (s.Ho * s.Wo), ij = col - n * (s.Ho * s.Wo);
            const int oi = ij / s.Wo, oj = ij - oi * s.Wo;
            b_off[i] = col < P ? n * s.C * H * W : -1;
            b_ih[i] = oi * s.stride - s.pad;
            b_iw[i] = oj * s.stride - s.pad;
        }
    }

    __device__ __forceinline__ void fetch(T (&ra)[Cfg::A_LOADS], T (&rb)[Cfg::B_LOADS]) {
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i)
            ra[i] = (a_off[i] >= 0 && ka < K) ? w[a_off[i] + ka] : T(0);
        const bool k_ok = kb < K;
        const int plane = tap.a * H * W;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i)
            rb[i] = (b_off[i] >= 0 && k_ok)
                        ? tinysr::read_padded(x + b_off[i] + plane, b_ih[i] + tap.b,
                                              b_iw[i] + tap.c, H, W, replicate)
                        : T(0);
        ka += Cfg::BK;
        kb += Cfg::BK;
        tap.add(Cfg::BK, KH, KW);
    }
};

template <typename T>
__global__ void __launch_bounds__(256)
conv2d_fwd_v3(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int N,
              int C, int H, int W, int O, int KH, int KW, int Ho, int Wo, int stride, int pad,
              int replicate) {
    typedef tinysr::Tile64x128 Cfg;
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    const int K = C * KH * KW, P = N * Ho * Wo;
    FwdGather<T, Cfg> g;
    g.init(x, w, s, m0, n0, threadIdx.x);
    T acc[Cfg::TM][Cfg::TN];
    tinysr::gemm_mainloop<T, Cfg>(g, (K + Cfg::BK - 1) / Cfg::BK, acc);

    // Epilogue: thread (tm, tn) owns rows m0 + tm*8 + i, columns n0 + tn*4 + j.
    const int tn = threadIdx.x % (Cfg::BN / Cfg::TN), tm = threadIdx.x / (Cfg::BN / Cfg::TN);
#pragma unroll
    for (int j = 0; j < Cfg::TN; ++j) {
        const int col = n0 + tn * Cfg::TN + j;
        if (col >= P) continue;
        const int n = col / (Ho * Wo), ij = col - n * (Ho * Wo);
#pragma unroll
        for (int i = 0; i < Cfg::TM; ++i) {
            const int m = m0 + tm * Cfg::TM + i;
            if (m < O) y[(n * O + m) * Ho * Wo + ij] = acc[i][j];
        }
    }
}

// ---------------------------------------------------------------------------------
// v4: 8 x 8 outputs per thread, 64 x 256 tile per block (common.cuh: gemm_mainloop_v4).
// What changes from v3, and why it is faster:
//   - each thread holds 8 x 8 = 64 accumulators (v3: 32) and per k reads 16 operands
//     from shared memory as four 16-byte loads (v3: 12 operands as three loads for 32
//     multiply-adds), so shared-memory traffic per multiply-add drops by a third;
//   - lanes are laid out 4 x 8 inside a 32 x 64 warp tile, so each 16-byte shared load of
//     a warp touches 64 or 128 contiguous bytes: one wavefront, the rest broadcast (v3's
//     B loads take four wavefronts each);
//   - the block tile is 64 x 256: every weight loaded feeds 256 multiply-adds (v3: 128);
//   - slices go global -> shared with cp.async (sm_80+): no staging registers, no shared
//     stores; the copy is in flight while the block multiplies the other buffer;
//   - a cheaper gather (common.cuh: gather_taps): the tap part (c*H*W + p*W + q) is
//     computed once per slice, each column's pixel part once per block into a table in
//     shared memory, so an input element costs a table load, an add, two unsigned
//     compares and the copy; columns past the last pixel and rows past the last channel
//     are clamped instead of tested.
// The price: 64 accumulators need every register that two blocks (16 warps) per SM
// allow (__launch_bounds__(256, 2): 128), and a 256-column tile wastes work when
// N*Ho*Wo is small (tiny layers).
//   grid = (ceil(N*Ho*Wo / 256), ceil(O / 64)), block = 256.
// Tile choice inside v4: a second entry, conv2d_fwd_v4_n128, runs the same engine on a
// 64 x 128 tile (128 threads, BK = 4). launch.py's warp_tile_for picks one per launch
// from the SM count (busiest-SM model, see there and common.cuh, Tile64x128w); for the
// VDSR layer on an H100/H200 it picks 64 x 128. Same sums in the same order: same bits.
// ---------------------------------------------------------------------------------
template <typename T, typename Cfg>
struct FwdGatherV4 {
    const T* x; const T* w;
    const tinysr::TapColumn* cols;            // the block's B columns (shared memory)
    int K, H, W, KH, KW, HW, replicate;
    int ka;                                   // A: current k of this thread's A slot
    int a_off[Cfg::A_LOADS];                  //    m * K (m clamped to O - 1)
    int kb; tinysr::Carry3 tap;               // B: current k = (c, p, q) of the B slot

    // Fills cols[t] (the caller synchronises before the first fetch).
    __device__ __forceinline__ void init(const T* x_, const T* w_, const tinysr::ConvShape& s,
                                         tinysr::TapColumn* cols_, int m0, int n0, int t) {
        x = x_; w = w_; cols = cols_; H = s.H; W = s.W; KH = s.KH; KW = s.KW; HW = s.H * s.W;
        K = s.C * s.KH * s.KW; replicate = s.replicate;
        ka = Cfg::a_col(t);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int m = m0 + Cfg::a_row(t, i);
            a_off[i] = (m < s.O ? m : s.O - 1) * K;
        }
        kb = Cfg::b_row(t);
        tap.set(kb, s.KH, s.KW);
        // column n0 + t of the tile: output pixel (img, oi, oj), clamped to the last one
        const int HoWo = s.Ho * s.Wo, P = s.N * HoWo;
        const int col = n0 + t < P ? n0 + t : P - 1;
        const int n = col / HoWo, ij = col - n * HoWo;
        const int oi = ij / s.Wo, oj = ij - oi * s.Wo;
        cols_[t].set(n * s.C * HW, oi * s.stride - s.pad, oj * s.stride - s.pad, W, replicate);
    }

    __device__ __forceinline__ void fetch(T* a_dst, T* b_dst) {
        const bool ka_ok = ka < K;
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i)
            tinysr::copy_async(a_dst + Cfg::a_row(threadIdx.x, i), w + (ka_ok ? a_off[i] + ka : 0),
                               ka_ok);
        // tap (c, p, q) = (tap.a, tap.b, tap.c): plane c*H*W, offset (p, q) in the window
        tinysr::gather_taps<T, Cfg>(x, cols, kb < K, tap.a * HW, tap.b, tap.c, H, W,
                                    replicate, b_dst);
        ka += Cfg::BK;
        kb += Cfg::BK;
        tap.add(Cfg::BK, KH, KW);
    }

    __device__ __forceinline__ void slice_ready(const T*) {}
};

// The kernel body: a forward tile (Cfg = Tile64x256 or Tile64x128w) and an engine
// (common.cuh section 7: EngineV4 for v4, EngineTf32x3 for v5) that says which
// accumulators a thread holds.
template <typename T, typename Cfg, typename Engine>
__device__ __forceinline__ void conv2d_fwd_tile_body(const T* __restrict__ x,
                                                     const T* __restrict__ w, T* __restrict__ y,
                                                     const tinysr::ConvShape& s,
                                                     tinysr::TapColumn* cols) {
    static_assert(Cfg::THREADS == Cfg::BN, "one thread per column of the tap table");
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    const int K = s.C * s.KH * s.KW, HoWo = s.Ho * s.Wo, P = s.N * HoWo, O = s.O;
    FwdGatherV4<T, Cfg> g;
    g.init(x, w, s, cols, m0, n0, threadIdx.x);
    __syncthreads();                          // the column table is complete
    T acc[Engine::TM][Engine::TN];
    Engine::run(g, (K + Cfg::BK - 1) / Cfg::BK, acc);

    // Epilogue: thread t owns rows m0 + Engine::row(t, i), columns n0 + Engine::col(t, j).
    // v4: for a fixed row, the 8 lanes with the same lm store 32 consecutive pixels.
#pragma unroll
    for (int j = 0; j < Engine::TN; ++j) {
        const int col = n0 + Engine::col(threadIdx.x, j);
        if (col >= P) continue;
        const int n = col / HoWo, ij = col - n * HoWo;
        T* yp = y + n * O * HoWo + ij;
#pragma unroll
        for (int i = 0; i < Engine::TM; ++i) {
            const int m = m0 + Engine::row(threadIdx.x, i);
            if (m < O) yp[m * HoWo] = acc[i][j];
        }
    }
}

// 64 x 256 tile, 256 threads: grid = (ceil(N*Ho*Wo / 256), ceil(O / 64)), block = 256.
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x256::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_fwd_v4(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int N,
              int C, int H, int W, int O, int KH, int KW, int Ho, int Wo, int stride, int pad,
              int replicate) {
    __shared__ tinysr::TapColumn cols[tinysr::Tile64x256::BN];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_fwd_tile_body<T, tinysr::Tile64x256, tinysr::EngineV4<tinysr::Tile64x256>>(x, w, y, s, cols);
}

// The same kernel with a 64 x 128 tile, 128 threads (common.cuh: Tile64x128w; the launch
// plan picks it when its wave model says the smaller tile balances the SMs better).
// Float: 4 blocks of 128 threads per SM, the same 128-register budget as 2 x 256.
//   grid = (ceil(N*Ho*Wo / 128), ceil(O / 64)), block = 128.
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x128w::THREADS, sizeof(T) == 4 ? 4 : 2)
conv2d_fwd_v4_n128(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,
                   int N, int C, int H, int W, int O, int KH, int KW, int Ho, int Wo,
                   int stride, int pad, int replicate) {
    __shared__ tinysr::TapColumn cols[tinysr::Tile64x128w::BN];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_fwd_tile_body<T, tinysr::Tile64x128w, tinysr::EngineV4<tinysr::Tile64x128w>>(x, w, y, s,
                                                                                   cols);
}

// ---------------------------------------------------------------------------------
// v5: v4's slices (same gather, same 64 x 256 tile and cp.async double buffer) multiplied
// on tensor cores: mma.sync m16n8k8 in TF32, three passes per product (3xTF32), which
// keeps float32 accuracy (common.cuh section 7 explains the split and the fragments).
// What changes from v4, and why it should be faster:
//   - a warp's 32 x 64 tile per 8-deep k-slice is 16 mma instructions a pass (48 for
//     three passes) instead of 512 warp-wide FMA instructions (32 x 64 x 8 multiply-adds,
//     32 lanes each); the tensor cores' TF32 rate is several times the
//     float FMA rate, so even three passes leave the FMA pipes' bound behind;
//   - each thread still holds 64 accumulators (acc[4][16] in the fragment layout) and
//     reads 8 A and 16 B values from shared memory per slice, now split into TF32 halves;
//   - shared rows are padded by 8 floats so fragment loads hit 32 different banks.
// Only float uses tensor cores; double instantiations are v4 (Tf32x3Or).
// Its speed against v4 and cuDNN is what benchmarks/gpu_check.sh measures.
//   grid = (ceil(N*Ho*Wo / 256), ceil(O / 64)), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x256::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_fwd_v5(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y, int N,
              int C, int H, int W, int O, int KH, int KW, int Ho, int Wo, int stride, int pad,
              int replicate) {
    __shared__ tinysr::TapColumn cols[tinysr::Tile64x256::BN];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_fwd_tile_body<T, tinysr::Tile64x256, typename tinysr::Tf32x3Or<T, tinysr::Tile64x256>::type>(
        x, w, y, s, cols);
}
