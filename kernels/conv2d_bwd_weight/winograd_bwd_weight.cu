// winograd_bwd_weight.cu: conv2d_bwd_weight v6, the weight gradient of a Winograd
// F(4x4, 3x3) convolution (stride 1, 3x3; the loader compiles it after
// conv2d_bwd_weight.cu; the forward is kernels/conv2d_fwd/winograd.cu; the CPU twin is
// winograd_bwd_weight_numba.py, the Numba conv2d_bwd_weight v6).
//
// The math: the gradient of a Winograd convolution is a Winograd convolution with the
// transforms transposed. Per tile t the forward computes
//     y_t = A^T [ U (.) V_t ] A,     U = G g G^T,   V_t = B^T d_t B
// so for a loss L with gradient dY_t on the tile's 4x4 outputs,
//     dL/dU = sum_t (A dY_t A^T) (.) V_t          (the adjoint of X -> A^T X A is A X A^T)
//     dL/dg = G^T (dL/dU) G                       (the adjoint of g -> G g G^T)
// and with channels, dU[o][c] = sum_t Yh_t[o] (.) V_t[c], Yh = A dY A^T: 36 GEMMs
//     dU[xi] (R x S) = Yh[xi] (R x P) @ V[xi]^T (P x S)        xi = 0 .. 35
// whose reduction runs over the P tiles (long) while the output is small (R x S), as in
// every weight gradient. 36 multiply-adds per 16 pixels a (r, s) pair instead of 144.
//
// Kernels, launched by launch.py's winograd_weight_grad ("winograd"):
//   0. V = the forward's input transform (conv2d_fwd_v6_input, winograd.cu), reused
//   1. gy:      Yh[xi][r][t] = (A dY_t[r] A^T)[xi]          one thread per (r, t), t fastest
//   2. gemm:    part[split][xi] = the split's share of Yh[xi] V[xi]^T: a 64 x 64 output
//               tile per block, 4 x 4 per thread, k (tiles) in slices of 16 staged in
//               shared memory; blockIdx.z = split * 36 + xi (split-K: P is long)
//   3. filter:  dU[xi] = the splits' partial sums added in order (deterministic, no
//               atomics), then gw[r, s] = G^T dU G, in double, rounded once
// Both GEMM operands are stored with k (the tile index) contiguous (Yh as [r][t], V as
// [s][t]), so the loads of a slice read 16 consecutive elements of a row: a warp reads 2
// rows x 64 bytes, whole 32-byte sectors.
//   grids: gy ceil(R*P / 256), gemm (ceil(S / 64), ceil(R / 64), 36 * splits),
//   filter ceil(R*S / 256); blocks of 256 threads. The bias gradient is a plain sum of
//   gy (the launch plan's array library reduces it).
// ---------------------------------------------------------------------------------

// 1. Yh[xi][r][t] = (A dY A^T)[xi], dY the 4x4 tile of gy (zero past Ho, Wo).
template <typename T>
__global__ void conv2d_bwd_weight_v6_gy(const T* __restrict__ gy, const double* __restrict__ mats,
                                        T* __restrict__ Yh, int N, int R, int Ho, int Wo,
                                        int th, int tw) {
    using namespace tinysr;
    __shared__ T AT[WG_M * WG_A];
    stage_matrix(mats, WG_AT, WG_M * WG_A, AT);
    const TileThread me(N, th, tw);                           // channel me.c, tile me.t
    if (me.c >= R) return;
    const T* plane = gy + (me.tile.n * R + me.c) * Ho * Wo;
    T dy[WG_M][WG_M];
#pragma unroll
    for (int u = 0; u < WG_M; ++u)
#pragma unroll
        for (int v = 0; v < WG_M; ++v) {
            const int i = WG_M * me.tile.ti + u, j = WG_M * me.tile.tj + v;
            dy[u][v] = (i < Ho && j < Wo) ? plane[i * Wo + j] : T(0);
        }
    T yh[WG_A][WG_A];
    sandwich<WG_A, WG_M, true>(AT, dy, yh);                  // A dY A^T, A = (A^T)^T
#pragma unroll
    for (int a = 0; a < WG_A; ++a)
#pragma unroll
        for (int b = 0; b < WG_A; ++b) Yh[(a * WG_A + b) * R * me.P + me.idx] = yh[a][b];
}

// 2. part[split][xi][r][s] = sum over t in the split's chunk of Yh[xi][r][t] * V[xi][s][t].
// Thread t loads rows lr + 16 i (i = 0..3) of both operands at k = k0 + t % 16 and
// computes the 4 x 4 outputs rows tm .. tm+3, columns tn .. tn+3 of the 64 x 64 tile.
template <typename T>
__global__ void __launch_bounds__(256)
conv2d_bwd_weight_v6_gemm(const T* __restrict__ Yh, const T* __restrict__ V,
                          T* __restrict__ part, int R, int S, int P, int kchunk) {
    constexpr int BM = 64, BN = 64, BK = 16, PAD = 4;       // rows stay 16-byte aligned
    __shared__ tinysr::Vec16<T> As_raw[BK * (BM + PAD) * sizeof(T) / 16];
    __shared__ tinysr::Vec16<T> Bs_raw[BK * (BN + PAD) * sizeof(T) / 16];
    T* As = reinterpret_cast<T*>(As_raw);                    // As[k][m]: Yh transposed
    T* Bs = reinterpret_cast<T*>(Bs_raw);                    // Bs[k][n]: V transposed
    const int xi = blockIdx.z % (tinysr::WG_A * tinysr::WG_A);
    const int split = blockIdx.z / (tinysr::WG_A * tinysr::WG_A);
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int k_begin = split * kchunk;
    const int k_end = P < k_begin + kchunk ? P : k_begin + kchunk;
    const T* a = Yh + xi * R * P;
    const T* b = V + xi * S * P;
    const int t = threadIdx.x, lr = t / BK, lk = t % BK;
    int a_row[4], b_row[4];                                  // clamped: never stored
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + lr + 16 * i, n = n0 + lr + 16 * i;
        a_row[i] = (m < R ? m : R - 1) * P;
        b_row[i] = (n < S ? n : S - 1) * P;
    }
    const int tm = t / 16 * 4, tn = t % 16 * 4;
    T acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = T(0);

    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        const int k = k0 + lk;
        const bool ok = k < k_end;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            As[lk * (BM + PAD) + lr + 16 * i] = ok ? a[a_row[i] + k] : T(0);
            Bs[lk * (BN + PAD) + lr + 16 * i] = ok ? b[b_row[i] + k] : T(0);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            T av[4], bv[4];
            tinysr::load4(As + kk * (BM + PAD) + tm, av);
            tinysr::load4(Bs + kk * (BN + PAD) + tn, bv);
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
    }
    T* out = part + (split * tinysr::WG_A * tinysr::WG_A + xi) * R * S;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + tm + i;
        if (m >= R) break;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tn + j;
            if (n < S) out[m * S + n] = acc[i][j];
        }
    }
}

// 3. gw[r][s][p][q] = (G^T dU[r][s] G)[p][q], dU[xi] = sum over splits in order.
template <typename T>
__global__ void conv2d_bwd_weight_v6_filter(const T* __restrict__ part,
                                            const double* __restrict__ mats, T* __restrict__ gw,
                                            int R, int S, int splits) {
    using namespace tinysr;
    __shared__ double G[WG_A * WG_R];
    stage_matrix(mats, WG_G, WG_A * WG_R, G);
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= R * S) return;
    double du[WG_A][WG_A];
#pragma unroll
    for (int a = 0; a < WG_A; ++a)
#pragma unroll
        for (int b = 0; b < WG_A; ++b) {
            T sum = T(0);
            for (int sp = 0; sp < splits; ++sp)
                sum += part[(sp * WG_A * WG_A + a * WG_A + b) * R * S + idx];
            du[a][b] = double(sum);
        }
    double g[WG_R][WG_R];
    sandwich<WG_R, WG_A, true>(G, du, g);                    // G^T dU G
#pragma unroll
    for (int p = 0; p < WG_R; ++p)
#pragma unroll
        for (int q = 0; q < WG_R; ++q) gw[idx * WG_R * WG_R + p * WG_R + q] = T(g[p][q]);
}
