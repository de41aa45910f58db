"""Winograd minimal filtering F(m x m, r x r) for stride-1 convolutions (conv2d_fwd v7).

One output tile of m x m pixels needs an alpha x alpha input tile, alpha = m + r - 1.
Toom-Cook (Lavin & Gray 2016) computes the tile's correlation with an r x r filter as

    Y = A^T [ (G g G^T) (.) (B^T d B) ] A          (.) = elementwise, alpha x alpha

and summed over input channels the elementwise products become alpha^2 independent GEMMs:

    M[xi] (T, O) = V[xi] (T, C) @ U[xi] (C, O)      xi = 0 .. alpha^2 - 1, T = tiles

with U = G w G^T (filters, transformed once per call) and V = B^T d B (input tiles). A
5x5 layer with F(3x3, 5x5) does alpha^2 = 49 multiplies per 9 outputs, 5.4 per pixel
instead of 25: 4.6x fewer, paid for with the transforms (cheap adds, vectorised over the
channels) and a slightly larger rounding error (see winograd_error_terms).

Data layout (per image, per thread): the padded image turned channels-last, xt (Hq, Wq, C),
zero-extended so that whole tiles cover the output (Hq = nth*m + r - 1); alpha decimated
copies xs[l, a, tj, :] = xt[a, tj*m + l, :]; V (alpha^2, T, C); M (alpha^2, T, O). With the
decimated copies, both passes of B^T and both passes of A^T run over long contiguous runs
(ntw*C or T*O floats), which LLVM vectorises. The GEMMs use the pixel-major orientation of
conv2d_fwd v6, the one OpenBLAS runs fastest for O = 32. Outputs of the last tile row or
column that fall outside the image are computed from the zero extension and dropped.
"""
import numpy as np
from numba import njit, prange

from ..blas_numba import gemm
from ..cpu_common import REPLICATE
from .winograd_matrices import POINTS, TILE, matrices, toom_cook, winograd_error_terms  # noqa: F401

def filter_transform(w, r):
    """U[xi, c, o] = (G w[o, c] G^T)[xi], computed in float64, returned in w's dtype."""
    _, g, _ = matrices(r)[1:]
    u = np.einsum("ik,ockl,jl->ijco", g, w.astype(np.float64), g, optimize=True)
    alpha = g.shape[0]
    return np.ascontiguousarray(u.reshape(alpha * alpha, w.shape[1], w.shape[0]), w.dtype)


@njit(cache=True)
def _channels_last(x, pad, mode, xt):
    """xt[a, b, :] = padded x at (a, b) for a < H + 2*pad, b < W + 2*pad; 0 beyond (the
    zero extension only feeds outputs that are dropped)."""
    n_ch, h, w = x.shape
    hq, wq, _ = xt.shape
    for a in range(hq):
        hi = a - pad
        if a >= h + 2 * pad or ((hi < 0 or hi >= h) and mode != REPLICATE):
            xt[a] = 0
            continue
        hi = min(max(hi, 0), h - 1)
        for b in range(wq):
            wj = b - pad
            d = xt[a, b]
            if b >= w + 2 * pad or ((wj < 0 or wj >= w) and mode != REPLICATE):
                d[:] = 0
                continue
            wj = min(max(wj, 0), w - 1)
            for c in range(n_ch):
                d[c] = x[c, hi, wj]


@njit(cache=True, fastmath={"contract"})
def _combine(mat, r, src, base, dst, row):
    """dst[row] = sum_l mat[r, l] * src[base + l] over the nonzero coefficients (rows of
    2-D C-order arrays, one vectorised pass per term).
    Rows are indexed in place, never sliced out: every array view Numba makes costs a
    reference-count update, which at this size took longer than the arithmetic. (Tried:
    two or four source rows per pass, to load and store dst less often; both ran 2x
    slower on this Zen 4.)"""
    first = True
    n = dst.shape[1]
    for l in range(mat.shape[1]):
        c = mat[r, l]
        if c != 0:
            i = base + l
            if first:
                for k in range(n):
                    dst[row, k] = c * src[i, k]
                first = False
            else:
                for k in range(n):
                    dst[row, k] += c * src[i, k]
    if first:
        for k in range(n):
            dst[row, k] = 0


@njit(cache=True)
def _decimate(xt, m, xs):
    """xs[l, a, tj, :] = xt[a, tj*m + l, :]: alpha copies of the image, copy l holding the
    l-th column of every tile contiguously, so both transform passes below run over long
    contiguous runs (ntw*C floats) instead of C-long pieces."""
    alpha, hq, ntw, n_ch = xs.shape
    for l in range(alpha):
        for a in range(hq):
            for tj in range(ntw):
                src = xt[a, tj * m + l]
                dst = xs[l, a, tj]
                for c in range(n_ch):
                    dst[c] = src[c]


@njit(cache=True)
def _input_transform(xs, bt, m, zv, v):
    """V = B^T d B for every tile, one tile row ti at a time, over runs of ntw*C floats:
        zv[k1*alpha + l] = sum_l' B^T[k1, l'] xs[l, ti*m + l']
        v[k1*alpha + k2, ti] = sum_l B^T[k2, l] zv[k1*alpha + l]
    (v as (alpha^2 * nth, ntw*C) rows: the same memory as V (alpha^2, T, C))."""
    alpha, hq, ntw, n_ch = xs.shape
    nth = (hq - alpha) // m + 1
    run = ntw * n_ch
    for ti in range(nth):
        for l in range(alpha):
            src = xs[l].reshape(hq, run)
            for k1 in range(alpha):
                _combine(bt, k1, src, ti * m, zv, k1 * alpha + l)
        for k1 in range(alpha):
            for k2 in range(alpha):
                _combine(bt, k2, zv, k1 * alpha, v, (k1 * alpha + k2) * nth + ti)


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
            _combine(at, j, mb, k1 * alpha, so, j * alpha + k1)
    for i in range(m):
        for j in range(m):
            _combine(at, i, so, j * alpha, out, i * m + j)
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
            _channels_last(x[n], pad, mode, xt[p])
            _decimate(xt[p], m, xs[p])
            _input_transform(xs[p], bt, m, zv[p], v[p].reshape(-1, ntw * n_ch))
            for xi in range(alpha * alpha):
                gemm(False, False, n_tiles, n_out, n_ch, 1.0, v[p, xi], n_ch, u[xi], n_out,
                     0.0, mb[p, xi], n_out)
            _output_transform(mb[p].reshape(alpha * alpha, -1), at, ntw, so[p], out[p], y[n])
