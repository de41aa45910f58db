"""im2col and col2im in Numba: turn a convolution into a matrix product, and back.

    cols[n, (c*kh + p)*kw + q, i*Wo + j] = xpad[n, c, i*stride + p, j*stride + q]

so that, image by image, y[n] (O, Ho*Wo) = W (O, C*kh*kw) @ cols[n]. col2im is the exact
adjoint (it sums every column entry back onto the input pixel it was copied from), which
is what the input gradient needs. Padding is applied on the fly: no padded copy of x.

`im2col_image` / `col2im_image` work on one image and run serially: the conv kernels call
them from inside their own parallel loop over images, so each thread keeps its column
buffer hot in its own L2 cache. `im2col` / `col2im` are parallel whole-batch wrappers
(one parallel iteration per image, so col2im never has two threads writing one pixel).
"""
import numpy as np
from numba import njit, prange

from ..cpu_common import REPLICATE


@njit(cache=True, inline="always")
def _clamp(v, hi):
    return min(max(v, 0), hi - 1)


@njit(cache=True, inline="always")
def _valid_range(q, pad, stride, wo, w):
    """Output columns j whose input column j*stride + q - pad lies inside [0, w)."""
    lo = 0
    while lo < wo and lo * stride + q - pad < 0:
        lo += 1
    hi = wo
    while hi > lo and (hi - 1) * stride + q - pad >= w:
        hi -= 1
    return lo, hi


@njit(cache=True)
def im2col_image(x, kh, kw, stride, pad, mode, cols):
    """x (C, H, W) -> cols (C*kh*kw, Ho*Wo) for one image."""
    ho = (x.shape[1] + 2 * pad - kh) // stride + 1
    im2col_rows(x, kh, kw, stride, pad, mode, 0, ho, cols)


@njit(cache=True)
def im2col_rows(x, kh, kw, stride, pad, mode, i0, i1, cols):
    """Output rows i0 .. i1-1 of im2col_image: cols[k, (i - i0)*Wo + j] (cols may be wider
    than (i1 - i0)*Wo: a band buffer sized for the largest band)."""
    n_ch, h, w = x.shape
    wo = (w + 2 * pad - kw) // stride + 1
    for c in range(n_ch):
        for p in range(kh):
            for q in range(kw):
                row = (c * kh + p) * kw + q
                j_lo, j_hi = _valid_range(q, pad, stride, wo, w)
                for i in range(i0, i1):
                    hi = i * stride + p - pad
                    base = (i - i0) * wo
                    if hi < 0 or hi >= h:
                        if mode != REPLICATE:
                            cols[row, base:base + wo] = 0
                            continue
                        hi = _clamp(hi, h)
                    # left border (zeros or the edge pixel), the interior, then the right
                    # border. The interior is a strided copy between two slices: indexing
                    # slices with a plain loop counter lets Numba skip its negative-index
                    # check, and only then does LLVM vectorise the loop.
                    dst = cols[row, base:base + wo]
                    src = x[c, hi, j_lo * stride + q - pad:j_hi * stride + q - pad:stride] \
                        if j_hi > j_lo else x[c, hi, 0:0]
                    left = x[c, hi, 0] if mode == REPLICATE else 0
                    right = x[c, hi, w - 1] if mode == REPLICATE else 0
                    for j in range(j_lo):
                        dst[j] = left
                    mid = dst[j_lo:j_hi]
                    for j in range(j_hi - j_lo):
                        mid[j] = src[j]
                    for j in range(j_hi, wo):
                        dst[j] = right


@njit(cache=True)
def col2im_image(cols, kh, kw, stride, pad, mode, gx):
    """gx (C, H, W) = adjoint of im2col_image applied to cols (gx is overwritten)."""
    n_ch, h, w = gx.shape
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (w + 2 * pad - kw) // stride + 1
    gx[:] = 0
    for c in range(n_ch):
        for p in range(kh):
            for q in range(kw):
                row = (c * kh + p) * kw + q
                j_lo, j_hi = _valid_range(q, pad, stride, wo, w)
                for i in range(ho):
                    hi = i * stride + p - pad
                    base = i * wo
                    if hi < 0 or hi >= h:
                        if mode != REPLICATE:
                            continue    # these entries were zeros: no gradient flows back
                        hi = _clamp(hi, h)
                    src = cols[row, base:base + wo]
                    if mode == REPLICATE:
                        for j in range(j_lo):
                            gx[c, hi, 0] += src[j]
                        for j in range(j_hi, wo):
                            gx[c, hi, w - 1] += src[j]
                    if j_hi > j_lo:
                        dst = gx[c, hi, j_lo * stride + q - pad:j_hi * stride + q - pad:stride]
                        mid = src[j_lo:j_hi]
                        for j in range(j_hi - j_lo):
                            dst[j] += mid[j]


@njit(parallel=True, cache=True)
def im2col(x, kh, kw, stride, pad, mode, cols):
    """Whole batch: x (N, C, H, W) -> cols (N, C*kh*kw, Ho*Wo)."""
    for n in prange(x.shape[0]):
        im2col_image(x[n], kh, kw, stride, pad, mode, cols[n])


@njit(parallel=True, cache=True)
def col2im(cols, kh, kw, stride, pad, mode, gx):
    """Whole batch adjoint: cols (N, C*kh*kw, Ho*Wo) -> gx (N, C, H, W), overwritten."""
    for n in prange(gx.shape[0]):
        col2im_image(cols[n], kh, kw, stride, pad, mode, gx[n])


# ---------------------------------------------------------------- row im2col (stride 1)
# The conv kernels' row_gemm copies each padded image kw times, once per column tap q:
#
#     rows[q*C + c, a*Wo + j] = xpad[c, a, j + q]        a < Hp, j < Wo
#
# Row tap p then reads the contiguous window rows[:, p*Wo : p*Wo + Ho*Wo], whose column
# i*Wo + j is xpad[c, i + p, j + q]: exactly the output pixels, with no junk columns. So a
# stride-1 convolution is kh GEMMs with K = kw*C, and the buffer is kw (not kh*kw) times
# the image.
@njit(cache=True)
def rows_image(xp, kw, wo, rows):
    """xp (C, Hp, Wp) already padded -> rows (kw*C, Hp*Wo)."""
    n_ch, hp, _ = xp.shape
    for q in range(kw):
        for c in range(n_ch):
            dst = rows[q * n_ch + c]
            for a in range(hp):
                src = xp[c, a, q:q + wo]
                d = dst[a * wo:(a + 1) * wo]
                for j in range(wo):
                    d[j] = src[j]


@njit(cache=True)
def rows_adjoint_image(rows, kw, wo, gp):
    """gp (C, Hp, Wp) = adjoint of rows_image applied to rows (gp is overwritten)."""
    n_ch, hp, _ = gp.shape
    gp[:] = 0
    for q in range(kw):
        for c in range(n_ch):
            src = rows[q * n_ch + c]
            for a in range(hp):
                s = src[a * wo:(a + 1) * wo]
                d = gp[c, a, q:q + wo]
                for j in range(wo):
                    d[j] += s[j]


@njit(cache=True)
def _to_channels_last(xp, xt):
    n_ch, hp, wp = xp.shape
    for a in range(hp):
        for b in range(wp):
            d = xt[a, b]
            for c in range(n_ch):
                d[c] = xp[c, a, b]


@njit(cache=True)
def _window_rows(xt, kw, wo, rows_t):
    hp, wp, n_ch = xt.shape
    kc = kw * n_ch
    for a in range(hp):
        flat = xt[a].reshape(wp * n_ch)
        for j in range(wo):
            src = flat[j * n_ch:j * n_ch + kc]
            dst = rows_t[a * wo + j]
            for k in range(kc):
                dst[k] = src[k]


@njit(cache=True)
def rows_t_image(xp, kw, wo, xt, rows_t):
    """The pixel-major twin of rows_image: rows_t (Hp*Wo, kw*C) with
        rows_t[a*Wo + j, q*C + c] = xp[c, a, j + q],
    built via xt (Hp, Wp, C), the image transposed to channels-last: the kw*C entries of
    one rows_t row are then the contiguous run xt[a, j:j+kw, :]."""
    _to_channels_last(xp, xt)
    _window_rows(xt, kw, wo, rows_t)
