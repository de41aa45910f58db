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
    n_ch, h, w = x.shape
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (w + 2 * pad - kw) // stride + 1
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
