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
from ..cpu_common import REPLICATE
from ..winograd_transforms_numba import combine, decimate, input_transform_rows


def filter_transform(w, r):
    """U[xi, c, o] = (G w[o, c] G^T)[xi], computed in float64, returned in w's dtype.
    (G g G^T) flattened is kron(G, G) @ (g flattened): alpha^2 dot products of length r^2
    per (o, c) pair. (An einsum over the 4-D weights took 200 ms for 256 -> 256 channels,
    more than the convolution it served.)"""
    _, g, _ = matrices(r)[1:]
    n_out, n_ch = w.shape[:2]
    alpha = g.shape[0]
    u = np.empty((alpha * alpha, n_ch, n_out), w.dtype)
    wt = np.ascontiguousarray(w.reshape(n_out, n_ch, r * r).transpose(1, 2, 0))   # (C, r^2, O)
    _filter_transform(wt, np.kron(g, g), u)
    return u


@njit(parallel=True, cache=True)
def _filter_transform(wt, gg, u):
    """u[xi, c, :] = sum_k gg[xi, k] * wt[c, k, :], summed in float64 over runs of O (the
    alpha^2 planes of u are C*O floats apart: written one plane row at a time)."""
    n_ch, kk, n_out = wt.shape
    for c in prange(n_ch):
        acc = np.empty(n_out)
        for xi in range(gg.shape[0]):
            acc[:] = 0.0
            for k in range(kk):
                gv = gg[xi, k]
                src = wt[c, k]
                for o in range(n_out):
                    acc[o] += gv * src[o]
            dst = u[xi, c]
            for o in range(n_out):
                dst[o] = acc[o]


@njit(cache=True)
def _output_transform(mb, at, so, out):
    """Y = A^T M A for every tile, over runs of T*O floats (mb as (alpha^2, T*O) rows):
        so[j*alpha + k1] = sum_k2 A^T[j, k2] mb[k1*alpha + k2]
        out[i*m + j] = sum_k1 A^T[i, k1] so[j*alpha + k1]
    then out[i*m + j, t*O + o] is pixel (i, j) of tile t in channel o (_copy_out puts the
    pixels that lie inside y there)."""
    m, alpha = at.shape
    for k1 in range(alpha):
        for j in range(m):
            combine(at, j, mb, k1 * alpha, so, j * alpha + k1)
    for i in range(m):
        for j in range(m):
            combine(at, i, so, j * alpha, out, i * m + j)


@njit(cache=True)
def _copy_out(out, m, ntw, tp, y):
    """y[o, ti*m + i, tj*m + j] = out[i*m + j, t*O + o] inside y, t = ti*ntw + tj.
    Small planes (training patches): tile by tile, all O channels of a pixel at a time.
    (Tried there: one output row at a time, channel by channel: 30% slower.) Large planes:
    those O writes land on O cache lines H*W*4 bytes apart, which for a 512x512 image are
    all in one L1 (and L2) set and evict one another before the next pixel of the tile
    fills them: 5x slower per tile. There, for each output row and each block of tiles
    (tp: O x the block's columns, in L1), transpose the block into tp, then copy tp's rows
    into y's rows whole."""
    n_out, ho, wo = y.shape
    n_tiles = out.shape[1] // n_out
    if y.strides[0] < SMALL_PLANE_BYTES:     # y may be a band of rows: the plane is its stride
        for t in range(n_tiles):
            ti, tj = t // ntw, t % ntw
            for i in range(min(m, ho - ti * m)):
                for j in range(min(m, wo - tj * m)):
                    src = out[i * m + j, t * n_out:(t + 1) * n_out]
                    for o in range(n_out):
                        y[o, ti * m + i, tj * m + j] = src[o]
        return
    nth = n_tiles // ntw
    tb_n = tp.shape[1] // m                      # tiles per block
    for ti in range(nth):
        for i in range(min(m, ho - ti * m)):
            a = ti * m + i
            for tb in range(0, ntw, tb_n):
                te = min(ntw, tb + tb_n)
                for tj in range(tb, te):
                    base = (ti * ntw + tj) * n_out
                    for j in range(m):
                        col = (tj - tb) * m + j
                        for o in range(n_out):
                            tp[o, col] = out[i * m + j, base + o]
                c0 = tb * m
                c1 = min(wo, te * m)
                for o in range(n_out):
                    d = y[o, a, c0:c1]
                    s = tp[o, 0:c1 - c0]
                    for k in range(c1 - c0):
                        d[k] = s[k]


SMALL_PLANE_BYTES = 16384    # planes below this (64x64 float32) go tile by tile
CL_BLOCK = 64                # columns a channels-last block transposes at a time


@njit(cache=True)
def _channels_last_rows(x, pad, mode, a0, b0, tp, xt):
    """xt[a, b, :] = padded x at (a0 + a, b0 + b) inside the padded image (H + 2*pad rows,
    W + 2*pad columns); 0 beyond (the zero extension only feeds outputs that are dropped).
    A block of tile rows and columns: a0 = (first tile row) * m, b0 = (first tile column)
    * m; the whole image is a0 = b0 = 0. The interior goes through tp (C, CL_BLOCK) in L1:
    each channel's next CL_BLOCK pixels copied in one vectorised run, then transposed into
    xt. (Reading all C channels of one pixel at a time touches C lines H*W*4 bytes apart,
    which on a 512x512 image fall into one L1 set and evict each other: 4-5x slower there;
    on training patches the two cost the same.)"""
    n_ch, h, w = x.shape
    hq, wq, _ = xt.shape
    blk = tp.shape[1]
    b_lo = max(0, pad - b0)                       # xt columns inside the image: b_lo .. b_hi-1
    b_hi = max(b_lo, min(wq, w + pad - b0))
    for a in range(hq):
        hi = a0 + a - pad
        if a0 + a >= h + 2 * pad or ((hi < 0 or hi >= h) and mode != REPLICATE):
            xt[a] = 0
            continue
        hi = min(max(hi, 0), h - 1)
        for b in range(wq):                       # the columns outside the image
            if b_lo <= b < b_hi:
                continue
            d = xt[a, b]
            if b0 + b >= w + 2 * pad or mode != REPLICATE:
                d[:] = 0
                continue
            wj = min(max(b0 + b - pad, 0), w - 1)
            for c in range(n_ch):
                d[c] = x[c, hi, wj]
        for j0 in range(b0 + b_lo - pad, b0 + b_hi - pad, blk):   # the interior, in blocks
            nj = min(b0 + b_hi - pad, j0 + blk) - j0
            for c in range(n_ch):
                s = x[c, hi, j0:j0 + nj]
                d = tp[c]
                for k in range(nj):
                    d[k] = s[k]
            for k in range(nj):
                d = xt[a, j0 + pad - b0 + k]
                for c in range(n_ch):
                    d[c] = tp[c, k]


@njit(parallel=True, cache=True)
def conv_winograd(x, u, at, bt, pad, mode, items, tp_in, tp_out, xt, xs, zv, v, mb, so,
                  out, y):
    """Work item (n0, n1, t0, t1, s0, s1) (cpu_common.work_items, then column blocks):
    images n0 .. n1-1 whole, or tile rows t0 .. t1-1 and tile columns s0 .. s1-1 of image
    n0 (a block of one large image). Every image of an item takes nb x ntw = the buffers'
    tile rows x tile columns (its block of V and M); a block smaller than that computes
    its missing tiles from the zero extension and drops them. Thread p takes items
    [p*per, (p+1)*per): per image a channels-last copy, the decimated copies and the input
    transform into its block of V; then alpha^2 single-threaded GEMMs over all the item's
    tiles, M[xi] (T, O) = V[xi] (T, C) @ U[xi] (C, O), so that a batch of small images (16
    tiles each on a 16x16 map) reads U once per item instead of once per image; then the
    output transform and each image's copy into y. (Tried: M[xi] (O, T) = U[xi] @
    V[xi]^T, which makes the copy into y contiguous; OpenBLAS ran that orientation 1.6-2x
    slower.)"""
    n_ch = x.shape[1]
    n_out, ho, wo = y.shape[1], y.shape[2], y.shape[3]
    m = at.shape[0]
    alpha = bt.shape[0]
    ntw = xs.shape[3]
    nb = (xt.shape[1] - alpha) // m + 1          # tile rows per image in the buffers
    t_img = nb * ntw                              # tiles per image in the buffers
    t_max = v.shape[2]
    n_parts = xt.shape[0]
    n_items = items.shape[0]
    per = (n_items + n_parts - 1) // n_parts
    for p in prange(n_parts):
        vp = v[p].reshape(-1, ntw * n_ch)
        for it in range(p * per, min(n_items, (p + 1) * per)):
            n0, n1, t0, t1 = items[it, 0], items[it, 1], items[it, 2], items[it, 3]
            s0, s1 = items[it, 4], items[it, 5]
            for n in range(n0, n1):
                _channels_last_rows(x[n], pad, mode, t0 * m, s0 * m, tp_in[p], xt[p])
                decimate(xt[p], m, xs[p])
                input_transform_rows(xs[p], bt, m, zv[p], vp, t_max // ntw, (n - n0) * nb)
            n_tiles = (n1 - n0) * t_img
            for xi in range(alpha * alpha):
                gemm(False, False, n_tiles, n_out, n_ch, 1.0, v[p, xi], n_ch, u[xi], n_out,
                     0.0, mb[p, xi], n_out)
            _output_transform(mb[p].reshape(alpha * alpha, -1), at, so[p], out[p])
            for n in range(n0, n1):
                g = (n - n0) * t_img * n_out
                _copy_out(out[p, :, g:g + t_img * n_out], m, ntw, tp_out[p],
                          y[n, :, t0 * m:min(ho, t1 * m), s0 * m:min(wo, s1 * m)])
