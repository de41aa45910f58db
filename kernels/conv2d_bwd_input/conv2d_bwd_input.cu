// conv2d_bwd_input.cu: the gradient of the convolution with respect to its input.
//
// The forward read xpad[n, c, i*s + p, j*s + q] for every output (n, o, i, j) and tap
// (p, q), so a padded-input pixel (hp, wp) receives
//   gpad[n,c,hp,wp] = sum_{o,p,q} w[o,c,p,q] * gy[n, o, (hp-p)/s, (wp-q)/s]
// over the (o, p, q) for which hp - p and wp - q are non-negative multiples of s whose
// quotient is a valid output row/column. Written this way (a gather: each thread OWNS the
// pixel it computes) no two threads ever write the same address: no atomics.
//
// Padding. The kernels compute the gather on an output grid (Hg, Wg) placed at offset
// `off` inside the padded input: hp = h + off.
//   "zeros":     grid = the image (Hg = H, off = pad); gradients that fell on the zero
//                padding are simply never computed.
//   "replicate": grid = the whole padded image (Hg = H + 2 pad, off = 0), then
//                conv2d_bwd_input_fold adds each border pixel onto the edge pixel it was
//                copied from (the adjoint of the clamp).
// kernels/conv2d_bwd_input/launch.py picks the grid and runs the fold.
//
// Versions, by the names the library selects them with (versions.py, README.md):
//   v1 direct, v2 smem_tiles, v3 reg_tiles, v4 warp_tiles (entries conv2d_bwd_input_v4
//   and conv2d_bwd_input_v4_n128), v5 tf32x3; "winograd" has no kernel here: it runs
//   conv2d_fwd's winograd.cu on gy.
//
// Arguments of every version: (gy, w, out, N, C, H, W, O, KH, KW, Ho, Wo, stride, pad,
// replicate, Hg, Wg, off); out is (N, C, Hg, Wg).
// As a GEMM: M = C, N = N*Hg*Wg grid pixels, K = O*KH*KW,
//   A[c][(o,p,q)] = w[o,c,p,q],   B[(o,p,q)][(n,h,w)] = gy tap (zero when not hit).

// The gy value tap (o, p, q) of grid pixel (hp, wp) receives, or 0.
template <typename T>
__device__ __forceinline__ T gy_tap(const T* gy_img_o, int hp, int wp, int p, int q,
                                    int Ho, int Wo, int stride) {
    const int a = hp - p, b = wp - q;
    if (a < 0 || b < 0) return T(0);
    int i = a, j = b;
    if (stride == 2) {                     // the common strides skip the division
        if ((a | b) & 1) return T(0);
        i = a >> 1; j = b >> 1;
    } else if (stride != 1) {
        i = a / stride; j = b / stride;
        if (i * stride != a || j * stride != b) return T(0);
    }
    if (i >= Ho || j >= Wo) return T(0);
    return gy_img_o[i * Wo + j];
}

// ---------------------------------------------------------------------------------
// v1: naive gather. One thread per grid pixel (n, c, h, w); loops over (o, p, q).
//   grid = ceil(N*C*Hg*Wg / 256), block = 256.
// Obviously right; every tap read from global memory, and stride-2 layers waste 3 of
// 4 taps on the divisibility test.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_bwd_input_v1(const T* __restrict__ gy, const T* __restrict__ w,
                                    T* __restrict__ out, int N, int C, int H, int W, int O,
                                    int KH, int KW, int Ho, int Wo, int stride, int pad,
                                    int replicate, int Hg, int Wg, int off) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N * C * Hg * Wg) return;
    const int wq = idx % Wg;                 // idx = ((n * C + c) * Hg + h) * Wg + wq
    const int h = (idx / Wg) % Hg;
    const int c = (idx / (Wg * Hg)) % C;
    const int n = idx / (Wg * Hg * C);
    const int hp = h + off, wp = wq + off;
    T acc = T(0);
    for (int o = 0; o < O; ++o) {
        const T* g = gy + (n * O + o) * Ho * Wo;
        const T* wk = w + (o * C + c) * KH * KW;
        for (int p = 0; p < KH; ++p)
            for (int q = 0; q < KW; ++q)
                acc += wk[p * KW + q] * gy_tap(g, hp, wp, p, q, Ho, Wo, stride);
    }
    out[idx] = acc;
}

// ---------------------------------------------------------------------------------
// v2: shared-memory tiles, 16 input channels x 16 grid pixels per 16x16 block, k in
// slices of 16 (the same step from v1 as conv2d_fwd v2): each loaded weight and gy tap
// feeds 16 multiply-adds from shared memory.
//   grid = (ceil(N*Hg*Wg / 16), ceil(C / 16)), block = (16, 16).
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_bwd_input_v2(const T* __restrict__ gy, const T* __restrict__ w,
                                    T* __restrict__ out, int N, int C, int H, int W, int O,
                                    int KH, int KW, int Ho, int Wo, int stride, int pad,
                                    int replicate, int Hg, int Wg, int off) {
    __shared__ T As[16][17];   // As[c][k]
    __shared__ T Bs[16][17];   // Bs[k][pixel]
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int KK = KH * KW, K = O * KK, P = N * Hg * Wg;
    const int c = blockIdx.y * 16 + ty;         // the channel this thread computes and loads
    const int col = blockIdx.x * 16 + tx;       // the grid pixel this thread computes/loads
    const bool col_ok = col < P;
    const int n = col_ok ? col / (Hg * Wg) : 0;
    const int hw = col_ok ? col - n * Hg * Wg : 0;
    const int hp = hw / Wg + off, wp = hw % Wg + off;

    T acc = T(0);
    for (int k0 = 0; k0 < K; k0 += 16) {
        const int ka = k0 + tx;                 // A[c][ka] = w[o, c, p, q]
        As[ty][tx] = (c < C && ka < K) ? w[(ka / KK) * C * KK + c * KK + ka % KK] : T(0);
        const int kb = k0 + ty;                 // B[kb][col]
        T b = T(0);
        if (col_ok && kb < K) {
            const int o = kb / KK, pq = kb % KK;
            b = gy_tap(gy + (n * O + o) * Ho * Wo, hp, wp, pq / KW, pq % KW, Ho, Wo, stride);
        }
        Bs[ty][tx] = b;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; ++kk) acc += As[ty][kk] * Bs[kk][tx];
        __syncthreads();
    }
    if (c < C && col_ok) out[(n * C + c) * Hg * Wg + hw] = acc;
}

// ---------------------------------------------------------------------------------
// v3: register-blocked, double-buffered implicit GEMM (common.cuh gemm_mainloop), the
// same engine as conv2d_fwd v3 with a different Gather: 64 channels x 128 grid pixels
// per 256-thread block, 8 x 4 outputs per thread.
//   A slot: w[o, c, p, q] with k = (o, pq) walked by Carry2 (no divisions per slice)
//   B slot: gy tap; k = (o, p, q) walked by Carry3; the 4 pixel columns decoded once.
//   grid = (ceil(N*Hg*Wg / 128), ceil(C / 64)), block = 256.
// ---------------------------------------------------------------------------------
template <typename T, typename Cfg>
struct BwdInputGather {
    const T* gy; const T* w;
    int K, C, KK, KH, KW, Ho, Wo, stride;
    int ka; tinysr::Carry2 ak;                 // A: k = (o, pq)
    int a_c[Cfg::A_LOADS];                     //    channel c, or -1 past C
    int kb; tinysr::Carry3 bk;                 // B: k = (o, p, q)
    int b_off[Cfg::B_LOADS];                   //    gy offset of image n, or -1
    int b_hp[Cfg::B_LOADS], b_wp[Cfg::B_LOADS];

    __device__ __forceinline__ void init(const T* gy_, const T* w_, const tinysr::ConvShape& s,
                                         int Hg, int Wg, int off, int m0, int n0, int t) {
        gy = gy_; w = w_; KK = s.KH * s.KW; K = s.O * KK; C = s.C; KH = s.KH; KW = s.KW;
        Ho = s.Ho; Wo = s.Wo; stride = s.stride;
        ka = Cfg::a_col(t);
        ak.set(ka, KK);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int c = m0 + Cfg::a_row(t, i);
            a_c[i] = c < C ? c : -1;
        }
        kb = Cfg::b_row(t);
        bk.set(kb, s.KH, s.KW);
        const int P = s.N * Hg * Wg;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) {
            const int col = n0 + Cfg::b_col(t, i);
            const int n = col / (Hg * Wg), hw = col - n * (Hg * Wg);
            const int h = hw / Wg;
            b_off[i] = col < P ? n * s.O * Ho * Wo : -1;
            b_hp[i] = h + off;
            b_wp[i] = hw - h * Wg + off;
        }
    }

    __device__ __forceinline__ void fetch(T (&ra)[Cfg::A_LOADS], T (&rb)[Cfg::B_LOADS]) {
        const bool ka_ok = ka < K;
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i)
            ra[i] = (a_c[i] >= 0 && ka_ok) ? w[(ak.a * C + a_c[i]) * KK + ak.b] : T(0);
        const bool kb_ok = kb < K;
        const int plane = bk.a * Ho * Wo;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i)
            rb[i] = (b_off[i] >= 0 && kb_ok)
                        ? gy_tap(gy + b_off[i] + plane, b_hp[i], b_wp[i], bk.b, bk.c, Ho, Wo,
                                 stride)
                        : T(0);
        ka += Cfg::BK; ak.add(Cfg::BK, KK);
        kb += Cfg::BK; bk.add(Cfg::BK, KH, KW);
    }
};

template <typename T>
__global__ void __launch_bounds__(256)
conv2d_bwd_input_v3(const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ out,
                    int N, int C, int H, int W, int O, int KH, int KW, int Ho, int Wo,
                    int stride, int pad, int replicate, int Hg, int Wg, int off) {
    typedef tinysr::Tile64x128 Cfg;
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    const int K = O * KH * KW, P = N * Hg * Wg;
    BwdInputGather<T, Cfg> g;
    g.init(gy, w, s, Hg, Wg, off, m0, n0, threadIdx.x);
    T acc[Cfg::TM][Cfg::TN];
    tinysr::gemm_mainloop<T, Cfg>(g, (K + Cfg::BK - 1) / Cfg::BK, acc);

    const int tn = threadIdx.x % (Cfg::BN / Cfg::TN), tm = threadIdx.x / (Cfg::BN / Cfg::TN);
#pragma unroll
    for (int j = 0; j < Cfg::TN; ++j) {
        const int col = n0 + tn * Cfg::TN + j;
        if (col >= P) continue;
        const int n = col / (Hg * Wg), hw = col - n * (Hg * Wg);
#pragma unroll
        for (int i = 0; i < Cfg::TM; ++i) {
            const int c = m0 + tm * Cfg::TM + i;
            if (c < C) out[(n * C + c) * Hg * Wg + hw] = acc[i][j];
        }
    }
}

// ---------------------------------------------------------------------------------
// fold (replicate padding only): gx[n,c,h,w] = sum of gpad over every padded pixel whose
// clamped source is (h, w). Interior pixels have one source; an edge pixel collects its
// pad-wide strip, a corner pixel the pad x pad corner too. One thread per gx element.
//   grid = ceil(N*C*H*W / 256), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_bwd_input_fold(const T* __restrict__ gpad, T* __restrict__ gx, int N,
                                      int C, int H, int W, int pad) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N * C * H * W) return;
    const int w = idx % W, h = (idx / W) % H, nc = idx / (W * H);
    const int Hp = H + 2 * pad, Wp = W + 2 * pad;
    // padded rows that clamp to h: [h+pad, h+pad], widened to the border at the edges
    const int r0 = h == 0 ? 0 : h + pad, r1 = h == H - 1 ? Hp - 1 : h + pad;
    const int c0 = w == 0 ? 0 : w + pad, c1 = w == W - 1 ? Wp - 1 : w + pad;
    const T* g = gpad + nc * Hp * Wp;
    T acc = T(0);
    for (int r = r0; r <= r1; ++r)
        for (int c = c0; c <= c1; ++c) acc += g[r * Wp + c];
    gx[idx] = acc;
}

// ---------------------------------------------------------------------------------
// v4 (stride 1): the forward v4 kernel's engine (common.cuh: gemm_mainloop_v4, 8 x 8
// outputs per thread, 64 x 256 tile per block, cp.async copies, column table).
// For stride 1 the gradient is itself a convolution: grid pixel (hp, wp) receives
//   sum_{o,p,q} w[o,c,p,q] * gy[n, o, hp - p, wp - q]      (zero outside gy)
// i.e. a forward convolution of gy with the flipped, transposed weight. No divisibility
// test is needed (every tap hits), so the B operand is an ordinary tap gather:
//   row k = (o, p, q):  plane o*Ho*Wo, offset (-p, -q)
//   column (n, h, w):   plane n*O*Ho*Wo, position (h + off, w + off)
// read with zero fill outside [0, Ho) x [0, Wo) (common.cuh: gather_taps). v3's gy_tap
// tested the stride on every element; here the per-element work is the forward's.
//   A slot: w[o, c, p, q] with k = (o, pq) walked by Carry2; channel rows past C clamped.
// Strides other than 1 run v3 (versions.py's fallbacks): a stride-2
// gradient skips 3 taps of 4, which a dense tile cannot use.
//   grid = (ceil(N*Hg*Wg / 256), ceil(C / 64)), block = 256;
// or, when conv2d_fwd/launch.py's warp_tile_for prefers it (as for the forward), the 64 x 128 tile
// entry conv2d_bwd_input_v4_n128: grid = (ceil(N*Hg*Wg / 128), ceil(C / 64)), block = 128.
// ---------------------------------------------------------------------------------
template <typename T, typename Cfg>
struct BwdInputGatherV4 {
    const T* gy; const T* w;
    const tinysr::TapColumn* cols;             // the block's B columns (shared memory)
    int K, KK, KH, KW, Ho, Wo, HoWo;
    int ka; tinysr::Carry2 ak;                 // A: k = (o, pq)
    int a_c[Cfg::A_LOADS];                     //    c * KK (c clamped to C - 1)
    int C;
    int kb; tinysr::Carry3 bk;                 // B: k = (o, p, q)

    // Fills cols[t] (the caller synchronises before the first fetch).
    __device__ __forceinline__ void init(const T* gy_, const T* w_, const tinysr::ConvShape& s,
                                         int Hg, int Wg, int off, tinysr::TapColumn* cols_,
                                         int m0, int n0, int t) {
        gy = gy_; w = w_; cols = cols_; KK = s.KH * s.KW; K = s.O * KK; C = s.C;
        KH = s.KH; KW = s.KW; Ho = s.Ho; Wo = s.Wo; HoWo = s.Ho * s.Wo;
        ka = Cfg::a_col(t);
        ak.set(ka, KK);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int c = m0 + Cfg::a_row(t, i);
            a_c[i] = (c < C ? c : C - 1) * KK;
        }
        kb = Cfg::b_row(t);
        bk.set(kb, s.KH, s.KW);
        // column n0 + t of the tile: grid pixel (n, h, w), clamped to the last one
        const int P = s.N * Hg * Wg;
        const int col = n0 + t < P ? n0 + t : P - 1;
        const int n = col / (Hg * Wg), hw = col - n * (Hg * Wg);
        const int h = hw / Wg;
        cols_[t].set(n * s.O * HoWo, h + off, hw - h * Wg + off, Wo, 0);
    }

    __device__ __forceinline__ void fetch(T* a_dst, T* b_dst) {
        const bool ka_ok = ka < K;
        const int a_base = ak.a * C * KK + ak.b;          // w[o, 0, pq]
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i)
            tinysr::copy_async(a_dst + Cfg::a_row(threadIdx.x, i),
                               w + (ka_ok ? a_base + a_c[i] : 0), ka_ok);
        // row k = (o, p, q) = (bk.a, bk.b, bk.c): plane o*Ho*Wo, offset (-p, -q)
        tinysr::gather_taps<T, Cfg>(gy, cols, kb < K, bk.a * HoWo, -bk.b, -bk.c, Ho, Wo, 0,
                                    b_dst);
        ka += Cfg::BK; ak.add(Cfg::BK, KK);
        kb += Cfg::BK; bk.add(Cfg::BK, KH, KW);
    }

    __device__ __forceinline__ void slice_ready(const T*) {}
};

// The kernel body, for either forward-engine tile (Cfg = Tile64x256 or Tile64x128w) and
// engine (common.cuh section 7: EngineV4 for v4, EngineTf32x3 for v5).
template <typename T, typename Cfg, typename Engine>
__device__ __forceinline__ void conv2d_bwd_input_tile_body(
        const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ out,
        const tinysr::ConvShape& s, int Hg, int Wg, int off, tinysr::TapColumn* cols) {
    static_assert(Cfg::THREADS == Cfg::BN, "one thread per column of the tap table");
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    const int K = s.O * s.KH * s.KW, HgWg = Hg * Wg, P = s.N * HgWg, C = s.C;
    BwdInputGatherV4<T, Cfg> g;
    g.init(gy, w, s, Hg, Wg, off, cols, m0, n0, threadIdx.x);
    __syncthreads();                           // the column table is complete
    T acc[Engine::TM][Engine::TN];
    Engine::run(g, (K + Cfg::BK - 1) / Cfg::BK, acc);

#pragma unroll
    for (int j = 0; j < Engine::TN; ++j) {
        const int col = n0 + Engine::col(threadIdx.x, j);
        if (col >= P) continue;
        const int n = col / HgWg, hw = col - n * HgWg;
        T* op = out + n * C * HgWg + hw;
#pragma unroll
        for (int i = 0; i < Engine::TM; ++i) {
            const int c = m0 + Engine::row(threadIdx.x, i);
            if (c < C) op[c * HgWg] = acc[i][j];
        }
    }
}

// 64 x 256 tile, 256 threads: grid = (ceil(N*Hg*Wg / 256), ceil(C / 64)), block = 256.
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x256::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_bwd_input_v4(const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ out,
                    int N, int C, int H, int W, int O, int KH, int KW, int Ho, int Wo,
                    int stride, int pad, int replicate, int Hg, int Wg, int off) {
    __shared__ tinysr::TapColumn cols[tinysr::Tile64x256::BN];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_bwd_input_tile_body<T, tinysr::Tile64x256, tinysr::EngineV4<tinysr::Tile64x256>>(
        gy, w, out, s, Hg, Wg, off, cols);
}

// 64 x 128 tile, 128 threads (common.cuh: Tile64x128w; chosen by the launch plan, as for
// the forward): grid = (ceil(N*Hg*Wg / 128), ceil(C / 64)), block = 128.
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x128w::THREADS, sizeof(T) == 4 ? 4 : 2)
conv2d_bwd_input_v4_n128(const T* __restrict__ gy, const T* __restrict__ w,
                         T* __restrict__ out, int N, int C, int H, int W, int O, int KH,
                         int KW, int Ho, int Wo, int stride, int pad, int replicate, int Hg,
                         int Wg, int off) {
    __shared__ tinysr::TapColumn cols[tinysr::Tile64x128w::BN];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_bwd_input_tile_body<T, tinysr::Tile64x128w, tinysr::EngineV4<tinysr::Tile64x128w>>(
        gy, w, out, s, Hg, Wg, off, cols);
}

// ---------------------------------------------------------------------------------
// v5 (stride 1): v4's gather on the forward's v5 engine, 3xTF32 on tensor cores
// (common.cuh section 7; conv2d_fwd.cu v5 says what changes). Other strides run v3.
// Double instantiations are v4 (Tf32x3Or).
//   grid = (ceil(N*Hg*Wg / 256), ceil(C / 64)), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x256::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_bwd_input_v5(const T* __restrict__ gy, const T* __restrict__ w, T* __restrict__ out,
                    int N, int C, int H, int W, int O, int KH, int KW, int Ho, int Wo,
                    int stride, int pad, int replicate, int Hg, int Wg, int off) {
    __shared__ tinysr::TapColumn cols[tinysr::Tile64x256::BN];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_bwd_input_tile_body<T, tinysr::Tile64x256,
                               typename tinysr::Tf32x3Or<T, tinysr::Tile64x256>::type>(
        gy, w, out, s, Hg, Wg, off, cols);
}
