"""Winograd weight gradient F(m x m, r x r) on the CPU (conv2d_bwd_weight "winograd"; the
CUDA twin is winograd_bwd_weight.cu, F(4x4, 3x3) only).

The forward (kernels/conv2d_fwd/winograd_numba.py) computes, per output tile t,
    y_t = A^T [ U (.) V_t ] A,      U = G g G^T,   V_t = B^T d_t B
so the gradient of a loss with tile gradient dY_t is
    dU = sum_t (A dY_t A^T) (.) V_t,        gw = G^T dU G
and with channels dU[xi] (C, O) = sum_t V[xi]^T (C, T) @ Yh[xi] (T, O), Yh = A dY A^T:
alpha^2 GEMMs per image whose reduction runs over the T tiles of the image.

Per thread (its share of the images): the forward's channels-last copy, decimation and
input transform give V (alpha^2, T, C); gy's tiles are gathered into rows
gt[j*m + i] = (the (i, j) pixel of every tile, every channel: T*O floats), transformed
over those long rows (combine, as the forward's transforms) into Yh (alpha^2, T, O); the
alpha^2 GEMMs accumulate into the thread's partial dU. The partials are added at the end
and gw = G^T dU G is taken in float64 (U's rounding happens once, at the end).
"""
import numpy as np
from numba import njit, prange

from ..blas_numba import gemm
from ..winograd_transforms_numba import channels_last, combine, decimate, input_transform


@njit(cache=True)
def _gy_tiles(gy, m, ntw, gt):
    """gt[j*m + i, t*O + o] = gy[o, ti*m + i, tj*m + j], 0 past the edge of gy."""
    n_out, ho, wo = gy.shape
    n_tiles = gt.shape[1] // n_out
    for t in range(n_tiles):
        ti, tj = t // ntw, t % ntw
        for i in range(m):
            for j in range(m):
                dst = gt[j * m + i, t * n_out:(t + 1) * n_out]
                a, b = ti * m + i, tj * m + j
                if a < ho and b < wo:
                    for o in range(n_out):
                        dst[o] = gy[o, a, b]
                else:
                    dst[:] = 0


@njit(cache=True)
def _gy_transform(gt, a_mat, s1, yh):
    """Yh = A dY A^T over runs of T*O floats (A = (A^T)^T, alpha x m):
        s1[k1*m + j] = sum_i A[k1, i] gt[j*m + i]
        yh[k1*alpha + k2] = sum_j A[k2, j] s1[k1*m + j]"""
    alpha, m = a_mat.shape
    for k1 in range(alpha):
        for j in range(m):
            combine(a_mat, k1, gt, j * m, s1, k1 * m + j)
    for k1 in range(alpha):
        for k2 in range(alpha):
            combine(a_mat, k2, s1, k1 * m, yh, k1 * alpha + k2)


@njit(parallel=True, cache=True)
def bwd_weight_winograd(gy, x, a_mat, bt, pad, mode, xt, xs, zv, v, gt, s1, yh, part):
    """Thread p takes images [p*per, (p+1)*per) and accumulates
    part[p, xi] (C, O) += V[xi]^T @ Yh[xi] for each of them (single-threaded GEMMs)."""
    n_img, n_ch = x.shape[0], x.shape[1]
    n_out = gy.shape[1]
    alpha, m = a_mat.shape
    ntw = xs.shape[3]
    n_tiles = v.shape[2]
    n_parts = xt.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for p in prange(n_parts):
        part[p] = 0
        for n in range(p * per, min(n_img, (p + 1) * per)):
            channels_last(x[n], pad, mode, xt[p])
            decimate(xt[p], m, xs[p])
            input_transform(xs[p], bt, m, zv[p], v[p].reshape(-1, ntw * n_ch))
            _gy_tiles(gy[n], m, ntw, gt[p])
            _gy_transform(gt[p], a_mat, s1[p], yh[p].reshape(alpha * alpha, -1))
            for xi in range(alpha * alpha):
                gemm(True, False, n_ch, n_out, n_tiles, 1.0, v[p, xi], n_ch, yh[p, xi], n_out,
                     1.0, part[p, xi], n_out)


@njit(parallel=True, cache=True)
def weight_from_du(part, gg, gw):
    """gw[o, c] (r x r, flattened) = G^T dU[:, :, c, o] G with dU = sum over threads of
    part[t] (alpha^2, C, O), in float64: flattened, G^T dU G is kron(G, G)^T @ dU, so per
    channel c, acc (r^2, O) += gg[xi, k] * part[t, xi, c, :], vectorised over O. (An einsum
    over the whole float64 dU took 16 ms for 256 -> 256 channels.)"""
    n_parts, n_xi, n_ch, n_out = part.shape
    kk = gg.shape[1]
    for c in prange(n_ch):
        acc = np.zeros((kk, n_out))
        for t in range(n_parts):
            for xi in range(n_xi):
                row = part[t, xi, c]
                for k in range(kk):
                    gv = gg[xi, k]
                    if gv != 0:
                        dst = acc[k]
                        for o in range(n_out):
                            dst[o] += gv * row[o]
        for o in range(n_out):
            for k in range(kk):
                gw[o, c, k] = acc[k, o]
