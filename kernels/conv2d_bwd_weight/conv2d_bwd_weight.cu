// conv2d_bwd_weight.cu: the gradients of the convolution with respect to w and the bias.
//
//   gw[o,c,p,q] = sum_{n,i,j} gy[n,o,i,j] * xpad[n, c, i*s + p, j*s + q]
//   gb[o]       = sum_{n,i,j} gy[n,o,i,j]          (the bias gradient, computed alongside)
//
// As a GEMM: M = O, N = C*KH*KW (small: the weight), K = N*Ho*Wo (long: every pixel of
// the batch), A[o][(n,i,j)] = gy, B[(n,i,j)][(c,p,q)] = the input tap.
// A short, fat output and a long reduction: one block per output tile would leave most
// of the GPU idle, so every tiled version splits K over blockIdx.z ("split-K"): split z
// sums k in [z*kchunk, min(K, (z+1)*kchunk)) and writes its own partial result to
//   part_gw[z][o][(c,p,q)],  part_gb[z][o]
// and conv2d_bwd_weight_reduce adds the splits in a fixed order. No atomics, so results
// are bit-for-bit reproducible. With splits = 1 the partial buffers ARE gw and gb and the
// reduce kernel is skipped (kernels/conv2d_bwd_weight/launch.py).
//
// Versions, by the names the library selects them with (versions.py, README.md):
//   v1 direct, v2 smem_tiles, v3 reg_tiles, v4 warp_tiles, v5 tf32x3; v6 winograd is
//   winograd_bwd_weight.cu.
//
// Arguments of every version: (gy, x, part_gw, part_gb, N, C, H, W, O, KH, KW, Ho, Wo,
// stride, pad, replicate, splits, kchunk).

// ---------------------------------------------------------------------------------
// v1: naive. One thread per weight element (o, c, p, q) looping over all N*Ho*Wo pixels,
// plus O more threads, one per bias element. Always splits = 1.
//   grid = ceil((O*C*KH*KW + O) / 256), block = 256.
// Obviously right, and badly parallel: VDSR's 64x64x3x3 layer has 36864 weights, a
// fraction of an H100's ~270k resident threads, each looping over 100k pixels.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_bwd_weight_v1(const T* __restrict__ gy, const T* __restrict__ x,
                                     T* __restrict__ part_gw, T* __restrict__ part_gb, int N,
                                     int C, int H, int W, int O, int KH, int KW, int Ho,
                                     int Wo, int stride, int pad, int replicate, int splits,
                                     int kchunk) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    const int CKK = C * KH * KW;
    if (idx < O * CKK) {
        const int q = idx % KW, p = (idx / KW) % KH, c = (idx / (KW * KH)) % C;
        const int o = idx / CKK;
        T acc = T(0);
        for (int n = 0; n < N; ++n) {
            const T* g = gy + (n * O + o) * Ho * Wo;
            const T* plane = x + (n * C + c) * H * W;
            for (int i = 0; i < Ho; ++i)
                for (int j = 0; j < Wo; ++j)
                    acc += g[i * Wo + j] * tinysr::read_padded(plane, i * stride + p - pad,
                                                               j * stride + q - pad, H, W,
                                                               replicate);
        }
        part_gw[idx] = acc;
    } else if (idx < O * CKK + O) {
        const int o = idx - O * CKK;
        T acc = T(0);
        for (int n = 0; n < N; ++n)
            for (int ij = 0; ij < Ho * Wo; ++ij) acc += gy[(n * O + o) * Ho * Wo + ij];
        part_gb[o] = acc;
    }
}

// ---------------------------------------------------------------------------------
// v2: shared-memory tiles + split-K. A 16x16 block computes a 16 (o) x 16 (c,p,q) tile
// over its split of k in slices of 16: each loaded gy value and input tap feeds 16
// multiply-adds. Blocks of the first column tile (blockIdx.x == 0) also sum the gy tile
// they loaded anyway: that is the bias gradient, for free.
//   grid = (ceil(C*KH*KW / 16), ceil(O / 16), splits), block = (16, 16).
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_bwd_weight_v2(const T* __restrict__ gy, const T* __restrict__ x,
                                     T* __restrict__ part_gw, T* __restrict__ part_gb, int N,
                                     int C, int H, int W, int O, int KH, int KW, int Ho,
                                     int Wo, int stride, int pad, int replicate, int splits,
                                     int kchunk) {
    __shared__ T As[16][17];   // As[o][k]
    __shared__ T Bs[16][17];   // Bs[k][(c,p,q)]
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int CKK = C * KH * KW, HoWo = Ho * Wo, K = N * HoWo;
    const int m = blockIdx.y * 16 + ty;          // output channel this thread computes/loads
    const int col = blockIdx.x * 16 + tx;        // weight column (c, p, q) it computes/loads
    const bool col_ok = col < CKK;
    const int c = col / (KH * KW), p = (col / KW) % KH, q = col % KW;
    const int kbeg = blockIdx.z * kchunk;
    const int kend = K < kbeg + kchunk ? K : kbeg + kchunk;
    const bool bias_block = blockIdx.x == 0;

    T acc = T(0), gb = T(0);
    for (int k0 = kbeg; k0 < kend; k0 += 16) {
        const int ka = k0 + tx;                  // A[m][ka] = gy[n, m, i, j]
        T a = T(0);
        if (m < O && ka < kend) {
            const int n = ka / HoWo;
            a = gy[(n * O + m) * HoWo + (ka - n * HoWo)];
        }
        As[ty][tx] = a;
        const int kb = k0 + ty;                  // B[kb][col] = input tap
        T b = T(0);
        if (col_ok && kb < kend) {
            const int n = kb / HoWo, ij = kb - n * HoWo;
            const int i = ij / Wo, j = ij % Wo;
            b = tinysr::read_padded(x + (n * C + c) * H * W, i * stride + p - pad,
                                    j * stride + q - pad, H, W, replicate);
        }
        Bs[ty][tx] = b;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < 16; ++kk) acc += As[ty][kk] * Bs[kk][tx];
        if (bias_block && tx == 0)
            for (int kk = 0; kk < 16; ++kk) gb += As[ty][kk];
        __syncthreads();
    }
    if (m < O && col_ok) part_gw[(blockIdx.z * O + m) * CKK + col] = acc;
    if (m < O && bias_block && tx == 0) part_gb[blockIdx.z * O + m] = gb;
}

// ---------------------------------------------------------------------------------
// v3: register-blocked, double-buffered split-K GEMM (common.cuh gemm_mainloop): 64 (o)
// x 128 (c,p,q) per 256-thread block, 8 x 4 outputs per thread. The Gather walks the
// pixel index k = (n, i, j) by addition (Carry2 for gy, Carry3 for the input tap), and
// keeps a running sum of the gy values it loads: after the mainloop the 8 threads that
// loaded each gy row add their sums through shared memory in a fixed order -> gb.
//   A slot: gy[n, o, i, j];   B slot: x tap (c, p, q) of pixel (n, i, j).
//   grid = (ceil(C*KH*KW / 128), ceil(O / 64), splits), block = 256.
// ---------------------------------------------------------------------------------
template <typename T, typename Cfg>
struct BwdWeightGather {
    const T* gy; const T* x;
    int O, C, H, W, HoWo, Ho, Wo, stride, replicate, kend;
    int ka; tinysr::Carry2 ak;                 // A: k = (n, ij)
    int a_o[Cfg::A_LOADS];                     //    output channel o, or -1 past O
    T a_sum[Cfg::A_LOADS];                     //    running bias-gradient sums
    int kb; tinysr::Carry3 bk;                 // B: k = (n, i, j)
    int b_off[Cfg::B_LOADS];                   //    c * H * W, or -1 past C*KH*KW
    int b_p[Cfg::B_LOADS], b_q[Cfg::B_LOADS];  //    p - pad, q - pad

    __device__ __forceinline__ void init(const T* gy_, const T* x_, const tinysr::ConvShape& s,
                                         int kbeg, int kend_, int m0, int n0, int t) {
        gy = gy_; x = x_; O = s.O; C = s.C; H = s.H; W = s.W; Ho = s.Ho; Wo = s.Wo;
        HoWo = s.Ho * s.Wo; stride = s.stride; replicate = s.replicate; kend = kend_;
        ka = kbeg + Cfg::a_col(t);
        ak.set(ka, HoWo);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int o = m0 + Cfg::a_row(t, i);
            a_o[i] = o < O ? o : -1;
            a_sum[i] = T(0);
        }
        kb = kbeg + Cfg::b_row(t);
        bk.set(kb, s.Ho, s.Wo);
        const int KK = s.KH * s.KW, CKK = s.C * KK;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i) {
            const int col = n0 + Cfg::b_col(t, i);
            const int c = col / KK, pq = col - c * KK, p = pq / s.KW;
            b_off[i] = col < CKK ? c * H * W : -1;
            b_p[i] = p - s.pad;
            b_q[i] = pq - p * s.KW - s.pad;
        }
    }

    __device__ __forceinline__ void fetch(T (&ra)[Cfg::A_LOADS], T (&rb)[Cfg::B_LOADS]) {
        const bool ka_ok = ka < kend;
        const T* g = gy + ak.a * O * HoWo + ak.b;
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            ra[i] = (a_o[i] >= 0 && ka_ok) ? g[a_o[i] * HoWo] : T(0);
            a_sum[i] += ra[i];
        }
        const bool kb_ok = kb < kend;
        const T* img = x + bk.a * C * H * W;
        const int ih = bk.b * stride, iw = bk.c * stride;
#pragma unroll
        for (int i = 0; i < Cfg::B_LOADS; ++i)
            rb[i] = (b_off[i] >= 0 && kb_ok)
                        ? tinysr::read_padded(img + b_off[i], ih + b_p[i], iw + b_q[i], H, W,
                                              replicate)
                        : T(0);
        ka += Cfg::BK; ak.add(Cfg::BK, HoWo);
        kb += Cfg::BK; bk.add(Cfg::BK, Ho, Wo);
    }
};

template <typename T>
__global__ void __launch_bounds__(256)
conv2d_bwd_weight_v3(const T* __restrict__ gy, const T* __restrict__ x,
                     T* __restrict__ part_gw, T* __restrict__ part_gb, int N, int C, int H,
                     int W, int O, int KH, int KW, int Ho, int Wo, int stride, int pad,
                     int replicate, int splits, int kchunk) {
    typedef tinysr::Tile64x128 Cfg;
    __shared__ T red[Cfg::BM][Cfg::BK];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    const int CKK = C * KH * KW, K = N * Ho * Wo;
    const int kbeg = blockIdx.z * kchunk, kend = K < kbeg + kchunk ? K : kbeg + kchunk;
    BwdWeightGather<T, Cfg> g;
    g.init(gy, x, s, kbeg, kend, m0, n0, threadIdx.x);
    T acc[Cfg::TM][Cfg::TN];
    const int nslices = kend > kbeg ? (kend - kbeg + Cfg::BK - 1) / Cfg::BK : 0;
    tinysr::gemm_mainloop<T, Cfg>(g, nslices, acc);   // ends with __syncthreads()

    const int t = threadIdx.x;
    const int tn = t % (Cfg::BN / Cfg::TN), tm = t / (Cfg::BN / Cfg::TN);
    T* out = part_gw + blockIdx.z * O * CKK;
#pragma unroll
    for (int j = 0; j < Cfg::TN; ++j) {
        const int col = n0 + tn * Cfg::TN + j;
        if (col >= CKK) continue;
#pragma unroll
        for (int i = 0; i < Cfg::TM; ++i) {
            const int o = m0 + tm * Cfg::TM + i;
            if (o < O) out[o * CKK + col] = acc[i][j];
        }
    }

    // The bias gradient: every block summed the same gy rows, so blocks of column tile 0
    // publish theirs. red[o][slot] holds the sum of the thread that loaded column slot.
#pragma unroll
    for (int i = 0; i < Cfg::A_LOADS; ++i) red[Cfg::a_row(t, i)][Cfg::a_col(t)] = g.a_sum[i];
    __syncthreads();
    if (blockIdx.x == 0 && t < Cfg::BM && m0 + t < O) {
        T sum = T(0);
        for (int k = 0; k < Cfg::BK; ++k) sum += red[t][k];
        part_gb[blockIdx.z * O + m0 + t] = sum;
    }
}

// ---------------------------------------------------------------------------------
// v4: the v4 engine (common.cuh: gemm_mainloop_v4, 8 x 8 outputs per thread, cp.async
// copies, a column table in shared memory) on a 64 (o) x 192 (c,p,q) tile, 192 threads.
// What changes from v3, and why it is faster:
//   - 8 x 8 outputs per thread with broadcast-friendly shared loads: 4 shared loads per
//     64 multiply-adds (v3: 3 per 32), as in conv2d_fwd v4;
//   - the tile is 192 columns wide: VDSR's 64*3*3 = 576 weight columns are exactly three
//     tiles (v3's 128-wide tiles need 4.5, v4's forward 256-wide tiles would need 2.25:
//     a quarter of the work wasted);
//   - each column's tap (c, p, q) is decoded once per block into the table; the per-slice
//     row, a pixel (n, i, j), is walked by Carry3, so an input element costs an add, two
//     compares and a copy (zeros padding) or two clamps (replicate);
//   - split-K as in v3: blockIdx.z sums k in [z*kchunk, min(K, (z+1)*kchunk)) into its own
//     partial buffer, conv2d_bwd_weight_reduce adds them in a fixed order (deterministic).
//   The bias gradient: blocks of column tile 0 sum the gy values of their A slots from
//   shared memory once each slice has landed (slice_ready), then add the 6 partial sums
//   of each row through shared memory in a fixed order, as v3 does.
//   A slot: gy[n, o, i, j] (rows past O clamped);  B: x tap (c, p, q) of pixel (n, i, j).
//   grid = (ceil(C*KH*KW / 192), ceil(O / 64), splits), block = 192.
// ---------------------------------------------------------------------------------
template <typename T, typename Cfg>
struct BwdWeightGatherV4 {
    const T* gy; const T* x;
    const tinysr::TapColumn* cols;             // the block's B columns (shared memory)
    int H, W, Ho, Wo, HoWo, CHW, OHoWo, stride, replicate, kend;
    int ka; tinysr::Carry2 ak;                 // A: k = (n, ij)
    int a_o[Cfg::A_LOADS];                     //    o * Ho*Wo (o clamped to O - 1)
    bool bias;                                 //    this block sums gy for the bias
    T a_sum[Cfg::A_LOADS];                     //    running bias-gradient sums
    int kb; tinysr::Carry3 bk;                 // B: k = (n, i, j)

    // Fills cols[t] (the caller synchronises before the first fetch).
    __device__ __forceinline__ void init(const T* gy_, const T* x_, const tinysr::ConvShape& s,
                                         int kbeg, int kend_, tinysr::TapColumn* cols_,
                                         int m0, int n0, int t, bool bias_) {
        gy = gy_; x = x_; cols = cols_; H = s.H; W = s.W; Ho = s.Ho; Wo = s.Wo;
        HoWo = s.Ho * s.Wo; CHW = s.C * s.H * s.W; OHoWo = s.O * HoWo;
        stride = s.stride; replicate = s.replicate; kend = kend_; bias = bias_;
        ka = kbeg + Cfg::a_col(t);
        ak.set(ka, HoWo);
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) {
            const int o = m0 + Cfg::a_row(t, i);
            a_o[i] = (o < s.O ? o : s.O - 1) * HoWo;
            a_sum[i] = T(0);
        }
        kb = kbeg + Cfg::b_row(t);
        bk.set(kb, s.Ho, s.Wo);
        // column n0 + t of the tile: weight tap (c, p, q), clamped to the last one
        const int KK = s.KH * s.KW, CKK = s.C * KK;
        const int col = n0 + t < CKK ? n0 + t : CKK - 1;
        const int c = col / KK, pq = col - c * KK, p = pq / s.KW;
        cols_[t].set(c * H * W, p - s.pad, pq - p * s.KW - s.pad, W, replicate);
    }

    __device__ __forceinline__ void fetch(T* a_dst, T* b_dst) {
        const bool ka_ok = ka < kend;
        const int a_base = ak.a * OHoWo + ak.b;           // gy[n, 0, ij]
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i)
            tinysr::copy_async(a_dst + Cfg::a_row(threadIdx.x, i),
                               gy + (ka_ok ? a_base + a_o[i] : 0), ka_ok);
        // row k = pixel (n, i, j) = (bk.a, bk.b, bk.c): plane n*C*H*W, top-left of its
        // window (i*s, j*s) in padded coordinates; the column adds (p - pad, q - pad)
        tinysr::gather_taps<T, Cfg>(x, cols, kb < kend, bk.a * CHW, bk.b * stride,
                                    bk.c * stride, H, W, replicate, b_dst);
        ka += Cfg::BK; ak.add(Cfg::BK, HoWo);
        kb += Cfg::BK; bk.add(Cfg::BK, Ho, Wo);
    }

    // The slice is in shared memory: add the gy values of this thread's A slots.
    __device__ __forceinline__ void slice_ready(const T* a_src) {
        if (bias) {
#pragma unroll
            for (int i = 0; i < Cfg::A_LOADS; ++i) a_sum[i] += a_src[Cfg::a_row(threadIdx.x, i)];
        }
    }
};

// The kernel body: a backward-weight tile (Cfg = Tile64x192 for v4, Tile64x256 for v5)
// and an engine (common.cuh section 7: EngineV4 or EngineTf32x3) that says which
// accumulators a thread holds. The gather and the bias sums depend on Cfg only.
template <typename T, typename Cfg, typename Engine>
__device__ __forceinline__ void conv2d_bwd_weight_tile_body(
    const T* __restrict__ gy, const T* __restrict__ x, T* __restrict__ part_gw,
    T* __restrict__ part_gb, const tinysr::ConvShape& s, int kchunk, tinysr::TapColumn* cols,
    T (&red)[Cfg::BM][Cfg::BK]) {
    static_assert(Cfg::THREADS == Cfg::BN, "one thread per column of the tap table");
    const int O = s.O;
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    const int CKK = s.C * s.KH * s.KW, K = s.N * s.Ho * s.Wo;
    const int kbeg = blockIdx.z * kchunk, kend = K < kbeg + kchunk ? K : kbeg + kchunk;
    const bool bias = blockIdx.x == 0;
    BwdWeightGatherV4<T, Cfg> g;
    g.init(gy, x, s, kbeg, kend, cols, m0, n0, threadIdx.x, bias);
    __syncthreads();                           // the column table is complete
    T acc[Engine::TM][Engine::TN];
    const int nslices = kend > kbeg ? (kend - kbeg + Cfg::BK - 1) / Cfg::BK : 0;
    Engine::run(g, nslices, acc);              // ends with __syncthreads()

    const int t = threadIdx.x;
    T* out = part_gw + blockIdx.z * O * CKK;
#pragma unroll
    for (int j = 0; j < Engine::TN; ++j) {
        const int col = n0 + Engine::col(t, j);
        if (col >= CKK) continue;
#pragma unroll
        for (int i = 0; i < Engine::TM; ++i) {
            const int o = m0 + Engine::row(t, i);
            if (o < O) out[o * CKK + col] = acc[i][j];
        }
    }

    // The bias gradient (blocks of column tile 0): red[o][slot] is the sum of the thread
    // that loaded slot (k % BK) of row o; the BK of them are added in a fixed order.
    if (bias) {                                // the same for the whole block
#pragma unroll
        for (int i = 0; i < Cfg::A_LOADS; ++i) red[Cfg::a_row(t, i)][Cfg::a_col(t)] = g.a_sum[i];
        __syncthreads();
        if (t < Cfg::BM && m0 + t < O) {
            T sum = T(0);
            for (int k = 0; k < Cfg::BK; ++k) sum += red[t][k];
            part_gb[blockIdx.z * O + m0 + t] = sum;
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x192::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_bwd_weight_v4(const T* __restrict__ gy, const T* __restrict__ x,
                     T* __restrict__ part_gw, T* __restrict__ part_gb, int N, int C, int H,
                     int W, int O, int KH, int KW, int Ho, int Wo, int stride, int pad,
                     int replicate, int splits, int kchunk) {
    typedef tinysr::Tile64x192 Cfg;
    __shared__ tinysr::TapColumn cols[Cfg::BN];
    __shared__ T red[Cfg::BM][Cfg::BK];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_bwd_weight_tile_body<T, Cfg, tinysr::EngineV4<Cfg>>(gy, x, part_gw, part_gb, s,
                                                               kchunk, cols, red);
}

// ---------------------------------------------------------------------------------
// v5: v4's gather, bias sums and split-K, multiplied on tensor cores as conv2d_fwd v5
// (mma.sync m16n8k8 TF32, three passes per product: 3xTF32, float32 accuracy; common.cuh
// section 7). The mma step needs BK = 8, and a WarpTileConfig's BK is its warp count, so
// v5 runs on the forward's 64 x 256 tile with 256 threads, not v4's 64 x 192 (BK = 6).
// What changes from v4, and why it should be faster:
//   - a warp's 32 x 64 tile per 8-deep k-slice is 48 mma instructions (16 a pass)
//     instead of 512 warp-wide FMA instructions;
//   - the price: VDSR's 576 weight columns fill three 256-wide tiles (768 columns), so a
//     quarter of the tensor-core work is padding, against none for v4's 192-wide tiles.
//     Whether the tensor cores more than pay for it is what benchmarks/gpu_check.sh
//     measures.
// Only float uses tensor cores; double instantiations run the v4 engine on this tile.
//   grid = (ceil(C*KH*KW / 256), ceil(O / 64), splits), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x256::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_bwd_weight_v5(const T* __restrict__ gy, const T* __restrict__ x,
                     T* __restrict__ part_gw, T* __restrict__ part_gb, int N, int C, int H,
                     int W, int O, int KH, int KW, int Ho, int Wo, int stride, int pad,
                     int replicate, int splits, int kchunk) {
    typedef tinysr::Tile64x256 Cfg;
    __shared__ tinysr::TapColumn cols[Cfg::BN];
    __shared__ T red[Cfg::BM][Cfg::BK];
    const tinysr::ConvShape s =
        tinysr::make_shape(N, C, H, W, O, KH, KW, Ho, Wo, stride, pad, replicate);
    conv2d_bwd_weight_tile_body<T, Cfg, typename tinysr::Tf32x3Or<T, Cfg>::type>(
        gy, x, part_gw, part_gb, s, kchunk, cols, red);
}

// ---------------------------------------------------------------------------------
// reduce: gw[e] = sum_z part_gw[z][e] for e < OCKK, gb[o] = sum_z part_gb[z][o], in split
// order (deterministic). One thread per output element; reads are coalesced across
// threads for every z.
//   grid = ceil((OCKK + O) / 256), block = 256.
// ---------------------------------------------------------------------------------
template <typename T>
__global__ void conv2d_bwd_weight_reduce(const T* __restrict__ part_gw,
                                         const T* __restrict__ part_gb, T* __restrict__ gw,
                                         T* __restrict__ gb, int splits, int OCKK, int O) {
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx < OCKK) {
        T acc = T(0);
        for (int z = 0; z < splits; ++z) acc += part_gw[z * OCKK + idx];
        gw[idx] = acc;
    } else if (idx < OCKK + O) {
        const int o = idx - OCKK;
        T acc = T(0);
        for (int z = 0; z < splits; ++z) acc += part_gb[z * O + o];
        gb[o] = acc;
    }
}
