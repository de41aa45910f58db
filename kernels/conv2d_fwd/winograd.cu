// winograd.cu: conv2d_fwd v6 ("winograd"), Winograd F(4x4, 3x3) for stride-1 3x3
// convolutions (the loader compiles it after conv2d_fwd.cu; its CPU twin is the Numba
// "winograd", winograd_numba.py, and both take their matrices from
// kernels/winograd_common.py).
//
// The math (Lavin & Gray 2016). A 4x4 tile of outputs of a 3x3 filter g reads a 6x6 tile
// d of the (padded) input, alpha = m + r - 1 = 6, and
//     Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) = elementwise, 6 x 6
// Summed over input channels, the elementwise products turn into 36 independent GEMMs:
//     M[xi] (R x P) = U[xi] (R x S) @ V[xi] (S x P)      xi = 0 .. 35
// with R output channels, S input channels and P = N * th * tw tiles. The 16 outputs of
// a tile cost 36 multiply-adds a channel instead of 144 (4x fewer); the price is three
// cheap transforms and the 36-plane intermediates V and M in global memory.
//
// Four kernels, launched in this order by launch.py's winograd_conv ("winograd"):
//   1. filter:  U[xi][r][s] = (G g[r,s] G^T)[xi]           one thread per (r, s)
//   2. input:   V[xi][s][t] = (B^T d[s,t] B)[xi]           one thread per (s, t)
//   3. gemm:    M[xi] = U[xi] V[xi]: v4's engine (common.cuh section 5) with a plain
//               matrix Gather; blockIdx.z = xi                64 x 256 tiles, 256 threads
//   4. output:  y[n, r, 4ti:4ti+4, 4tj:4tj+4] = A^T M[:, r, t] A, cropped at the edge
//                                                             one thread per (r, t)
// Thread mapping of 2 and 4: the tile index t runs fastest across threads, so each of a
// thread's 36 plane accesses is, across a warp, 32 consecutive elements (coalesced).
//
//   V / M planes          t ->  0  1  2 ... P-1         (one row per channel)
//   xi = 0   [ s or r ]       [ ..coalesced warp.. ]
//   ...
//   xi = 35
//
// `mats` holds B^T (6x6), G (6x3), A^T (4x6), row-major, in float64. B^T and A^T have
// small integer entries, exact in any float type; G has 1/6, 1/12, 1/24, which float
// cannot hold, so the filter transform runs in double and rounds U once (the error
// analysis of winograd_error_terms counts exactly one rounding there).
// The backward-input pass uses the same four kernels: flip = 1 makes the filter
// transform read w (S, R, 3, 3) rotated by 180 degrees and transposed, i.e. the
// forward convolution of gy that equals the input gradient (conv2d_bwd_input/launch.py).
// The weight gradient (conv2d_bwd_weight "winograd") reuses the input transform. The tile
// constants WG_*, WinogradTile and MatrixGather are in common.cuh, section 8.
//   grids: filter ceil(R*S / 256), input ceil(S*P / 256), gemm (ceil(P / 256),
//   ceil(R / 64), 36), output ceil(R*P / 256); blocks of 256 threads.
// ---------------------------------------------------------------------------------

// 1. U[xi][r][s] = (G g G^T)[xi], in double, rounded once to T.
template <typename T>
__global__ void conv2d_fwd_v6_filter(const T* __restrict__ w, const double* __restrict__ mats,
                                     T* __restrict__ U, int R, int S, int flip) {
    using namespace tinysr;
    __shared__ double G[WG_A * WG_R];
    stage_matrix(mats, WG_G, WG_A * WG_R, G);
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= R * S) return;
    const int r = idx / S, s = idx - r * S;
    double g[WG_R][WG_R];
#pragma unroll
    for (int p = 0; p < WG_R; ++p)
#pragma unroll
        for (int q = 0; q < WG_R; ++q)
            g[p][q] = flip ? double(w[(s * R + r) * 9 + (2 - p) * 3 + (2 - q)])
                           : double(w[(r * S + s) * 9 + p * 3 + q]);
    double u[WG_A][WG_A];
    sandwich<WG_A, WG_R, false>(G, g, u);                    // G g G^T
#pragma unroll
    for (int a = 0; a < WG_A; ++a)
#pragma unroll
        for (int b = 0; b < WG_A; ++b) U[(a * WG_A + b) * R * S + idx] = T(u[a][b]);
}

// 2. V[xi][s][t] = (B^T d B)[xi]. Tile t's window starts at (4 ti - pad, 4 tj - pad) in
// image coordinates. Inside the padded image a pixel reads as read_padded says ("zeros"
// or "replicate"); beyond it (the last tiles of a row or column, whose extra outputs are
// dropped) it is 0, as in the CPU twin, so both see the same tiles.
template <typename T>
__global__ void conv2d_fwd_v6_input(const T* __restrict__ x, const double* __restrict__ mats,
                                    T* __restrict__ V, int N, int S, int H, int W, int pad,
                                    int replicate, int th, int tw) {
    using namespace tinysr;
    __shared__ T BT[WG_A * WG_A];
    stage_matrix(mats, WG_BT, WG_A * WG_A, BT);
    const TileThread me(N, th, tw);                           // channel me.c, tile me.t
    if (me.c >= S) return;
    const T* plane = x + (me.tile.n * S + me.c) * H * W;
    const int h0 = WG_M * me.tile.ti - pad, w0 = WG_M * me.tile.tj - pad;
    T d[WG_A][WG_A];
#pragma unroll
    for (int a = 0; a < WG_A; ++a)
#pragma unroll
        for (int b = 0; b < WG_A; ++b) {
            const int ih = h0 + a, iw = w0 + b;
            const bool padded_image = ih < H + pad && iw < W + pad;
            d[a][b] = padded_image ? read_padded(plane, ih, iw, H, W, replicate) : T(0);
        }
    T v[WG_A][WG_A];
    sandwich<WG_A, WG_A, false>(BT, d, v);                   // B^T d B
#pragma unroll
    for (int a = 0; a < WG_A; ++a)
#pragma unroll
        for (int b = 0; b < WG_A; ++b) V[(a * WG_A + b) * S * me.P + me.idx] = v[a][b];
}

// 3. The 36 GEMMs M[xi] = U[xi] V[xi] on v4's engine; the operands are plain row-major
// matrices, so the gather is common.cuh's MatrixGather (section 8).
template <typename T>
__global__ void __launch_bounds__(tinysr::Tile64x256::THREADS, sizeof(T) == 4 ? 2 : 1)
conv2d_fwd_v6_gemm(const T* __restrict__ U, const T* __restrict__ V, T* __restrict__ M,
                   int R, int K, int P) {
    typedef tinysr::Tile64x256 Cfg;
    typedef tinysr::EngineV4<Cfg> Engine;
    const int xi = blockIdx.z;
    const int m0 = blockIdx.y * Cfg::BM, n0 = blockIdx.x * Cfg::BN;
    tinysr::MatrixGather<T, Cfg> g;
    g.init(U + xi * R * K, V + xi * K * P, R, K, P, m0, n0, threadIdx.x);
    T acc[Engine::TM][Engine::TN];
    Engine::run(g, (K + Cfg::BK - 1) / Cfg::BK, acc);
    T* out = M + xi * R * P;
#pragma unroll
    for (int j = 0; j < Engine::TN; ++j) {
        const int col = n0 + Engine::col(threadIdx.x, j);
        if (col >= P) continue;
#pragma unroll
        for (int i = 0; i < Engine::TM; ++i) {
            const int m = m0 + Engine::row(threadIdx.x, i);
            if (m < R) out[m * P + col] = acc[i][j];
        }
    }
}

// 4. The output transform: y tile = A^T M A, the part inside (Ho, Wo) stored.
template <typename T>
__global__ void conv2d_fwd_v6_output(const T* __restrict__ M, const double* __restrict__ mats,
                                     T* __restrict__ y, int N, int R, int Ho, int Wo, int th,
                                     int tw) {
    using namespace tinysr;
    __shared__ T AT[WG_M * WG_A];
    stage_matrix(mats, WG_AT, WG_M * WG_A, AT);
    const TileThread me(N, th, tw);                           // channel me.c, tile me.t
    if (me.c >= R) return;
    T mm[WG_A][WG_A];
#pragma unroll
    for (int a = 0; a < WG_A; ++a)
#pragma unroll
        for (int b = 0; b < WG_A; ++b) mm[a][b] = M[(a * WG_A + b) * R * me.P + me.idx];
    T out[WG_M][WG_M];
    sandwich<WG_M, WG_A, false>(AT, mm, out);                // A^T M A
    T* yp = y + (me.tile.n * R + me.c) * Ho * Wo;
#pragma unroll
    for (int u = 0; u < WG_M; ++u) {
        const int i = WG_M * me.tile.ti + u;
        if (i >= Ho) break;
#pragma unroll
        for (int v = 0; v < WG_M; ++v) {
            const int j = WG_M * me.tile.tj + v;
            if (j >= Wo) break;
            yp[i * Wo + j] = out[u][v];
        }
    }
}
