"""Winograd transforms on the CPU (Numba) that the forward and the weight gradient share.

conv2d_fwd/winograd_numba.py (the forward, and on the flipped filters the input gradient)
and conv2d_bwd_weight/winograd_bwd_weight_numba.py (the weight gradient, the forward's
adjoint) both transform the input the same way, per image:

    channels_last    the padded image as xt (Hq, Wq, C), zero-extended to whole tiles
    decimate         alpha copies xs[l, a, tj, :] = xt[a, tj*m + l, :]
    input_transform  V = B^T d B for every tile, over runs of ntw*C floats
    combine          dst[row] = sum_l mat[r, l] src[base + l]: the vectorised step every
                     transform (input, output, gy) is made of

The matrices come from winograd_common.py. Why the layout (decimated copies, long runs,
rows indexed in place): conv2d_fwd/winograd_numba.py and docs/kernels.md, section 2b.
"""
from numba import njit

from .cpu_common import REPLICATE


@njit(cache=True)
def channels_last(x, pad, mode, xt):
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
def combine(mat, r, src, base, dst, row):
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
def decimate(xt, m, xs):
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
def input_transform(xs, bt, m, zv, v):
    """V = B^T d B for every tile, one tile row ti at a time, over runs of ntw*C floats:
        zv[k1*alpha + l] = sum_l' B^T[k1, l'] xs[l, ti*m + l']
        v[k1*alpha + k2, ti] = sum_l B^T[k2, l] zv[k1*alpha + l]
    (v as (alpha^2 * nth, ntw*C) rows: the same memory as V (alpha^2, T, C))."""
    alpha, hq = xs.shape[:2]
    nth = (hq - alpha) // m + 1
    input_transform_rows(xs, bt, m, zv, v, nth, 0)


@njit(cache=True)
def input_transform_rows(xs, bt, m, zv, v, rows_per_xi, row0):
    """input_transform into one image's block of a V that holds several images: tile row ti
    of this image goes to row xi*rows_per_xi + row0 + ti of v."""
    alpha, hq, ntw, n_ch = xs.shape
    nth = (hq - alpha) // m + 1
    run = ntw * n_ch
    for ti in range(nth):
        for l in range(alpha):
            src = xs[l].reshape(hq, run)
            for k1 in range(alpha):
                combine(bt, k1, src, ti * m, zv, k1 * alpha + l)
        for k1 in range(alpha):
            for k2 in range(alpha):
                combine(bt, k2, zv, k1 * alpha, v, (k1 * alpha + k2) * rows_per_xi + row0 + ti)
