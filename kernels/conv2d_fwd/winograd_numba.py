"""Winograd minimal filtering F(m x m, r x r) for stride-1 convolutions: the Numba
"winograd" version of conv2d_fwd (and, on the flipped filters, of conv2d_bwd_input; its
CUDA twin is winograd.cu, F(4x4, 3x3) only).

One output tile of m x m pixels needs an alpha x alpha input tile, alpha = m + r - 1.
Toom-Cook (Lavin & Gray 2016) computes the tile's correlation with an r x r filter as

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) = elementwise, alpha x alpha

and summed over input channels the elementwise products become alpha^2 independent GEMMs:

    M[xi] (T, O) = V[xi] (T, C) @ U[xi] (C, O)      xi = 0 .. alpha^2 - 1, T = tiles

with U = G w G^T (filters, transformed once per call) and V = B^T d B (input tiles). A
5x5 layer with F(3x3, 5x5) does alpha^2 = 49 multiplies per 9 outputs, 5.4 per pixel
instead of 25: 4.6x fewer, paid for with the transforms (cheap adds, vectorised over the
channels) and a slightly larger rounding error (winograd_common.winograd_error_terms).

Data layout (per image, per thread): the padded image turned channels-last, xt (Hq, Wq, C),
zero-extended so that whole tiles cover the output (Hq = nth*m + r - 1); alpha decimated
copies xs[l, a, tj, :] = xt[a, tj*m + l, :]; V (alpha^2, T, C); M (alpha^2, T, O). With the
decimated copies, both passes of B^T and both passes of A^T run over long contiguous runs
(ntw*C or T*O floats), which LLVM vectorises. The GEMMs use the pixel-major orientation of
conv2d_fwd "row_gemm_t", the one OpenBLAS runs fastest for O = 32. The input transform
(channels_last, decimate, input_transform, combine) is shared with the weight gradient:
kernels/winograd_transforms_numba.py. Outputs of the last tile row or
column that fall outside the image are computed from the zero extension and dropped.
"""
import numpy as np
from numba import njit, prange

from ..blas_numba import gemm
from ..winograd_common import matrices
from ..winograd_transforms_numba import channels_last, combine, decimate, input_transform


def filter_transform(w, r):
    """U[xi, c, o] = (G w[o, c] G^T)[xi], computed in float64, returned in w's dtype."""
    _, g, _ = matrices(r)[1:]
    u = np.einsum("ik,ockl,jl->ijco", g, w.astype(np.float64), g, optimize=True)
    alpha = g.shape[0]
    return np.ascontiguousarray(u.reshape(alpha * alpha, w.shape[1], w.shape[0]), w.dtype)


@njit(cache=True)
def _output_transform(mb, at, ntw, so, out, y):
    """Y = A^T M A for every tile, over runs of T*O floats (mb as (alpha^2, T*O) rows):
        so[j*alpha + k1] = sum_k2 A^T[j, k2] mb[k1*alpha + k2]
        out[i*m + j] = sum_k1 A^T[i, k1] so[j*alpha + k1]
    then out[i*m + j, t*O + o] is pixel (i, j) of tile t in channel o; the pixels that
    lie inside y (O, Ho, Wo) are copied there tile by tile. (Tried: copying one output row
    at a time, channel by channel, so the writes run along y[o, a]: 30% slower.)"""
    m, alpha = at.shape
    n_out, ho, wo = y.shape
    n_tiles = mb.shape[1] // n_out
    for k1 in range(alpha):
        for j in range(m):
            combine(at, j, mb, k1 * alpha, so, j * alpha + k1)
    for i in range(m):
        for j in range(m):
            combine(at, i, so, j * alpha, out, i * m + j)
    for t in range(n_tiles):
        ti, tj = t // ntw, t % ntw
        for i in range(min(m, ho - ti * m)):
            for j in range(min(m, wo - tj * m)):
                src = out[i * m + j, t * n_out:(t + 1) * n_out]
                for o in range(n_out):
                    y[o, ti * m + i, tj * m + j] = src[o]


@njit(parallel=True, cache=True)
def conv_winograd(x, u, at, bt, pad, mode, xt, xs, zv, v, mb, so, out, y):
    """Thread t takes images [t*per, (t+1)*per): channels-last copy, input transform,
    alpha^2 single-threaded GEMMs M[xi] (T, O) = V[xi] (T, C) @ U[xi] (C, O), output
    transform into y[n]. (Tried: M[xi] (O, T) = U[xi] @ V[xi]^T, which makes the copy into
    y contiguous; OpenBLAS ran that orientation 1.6-2x slower.)"""
    n_img, n_ch = x.shape[0], x.shape[1]
    n_out = y.shape[1]
    m = at.shape[0]
    alpha = bt.shape[0]
    ntw = xs.shape[3]
    n_tiles = v.shape[2]
    n_parts = xt.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for p in prange(n_parts):
        for n in range(p * per, min(n_img, (p + 1) * per)):
            channels_last(x[n], pad, mode, xt[p])
            decimate(xt[p], m, xs[p])
            input_transform(xs[p], bt, m, zv[p], v[p].reshape(-1, ntw * n_ch))
            for xi in range(alpha * alpha):
                gemm(False, False, n_tiles, n_out, n_ch, 1.0, v[p, xi], n_ch, u[xi], n_out,
                     0.0, mb[p, xi], n_out)
            _output_transform(mb[p].reshape(alpha * alpha, -1), at, ntw, so[p], out[p], y[n])
