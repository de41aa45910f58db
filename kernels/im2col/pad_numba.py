"""Padding and its adjoint in Numba, for the kernels that want an explicitly padded image.

    xp[c, i, j] = x[c, i - pad, j - pad]   inside,
                  0 ("zeros") or the nearest edge pixel ("replicate") outside.

The adjoint (for gradients) crops the padded gradient and, for "replicate", adds every
border entry onto the edge pixel it was copied from. The per-image functions run
serially inside the conv kernels' parallel loops; `padded` pads a whole batch.
"""
from numba import njit, prange

from ..cpu_common import WORKSPACE, REPLICATE, padding_code


@njit(cache=True)
def pad_image(x, pad, mode, xp):
    pad_rows(x, pad, mode, 0, xp)


@njit(cache=True)
def pad_rows(x, pad, mode, a0, xp):
    """xp[c, i] = row a0 + i of the padded image, for the xp.shape[1] rows from a0 (a band
    of it; pad_image is the whole image, a0 = 0). Rows past the padded image are zeros."""
    n_ch, h, w = x.shape
    for c in range(n_ch):
        for i in range(xp.shape[1]):
            hi = a0 + i - pad
            row = xp[c, i]
            if hi < 0 or hi >= h:
                if mode != REPLICATE or a0 + i >= h + 2 * pad:
                    row[:] = 0
                    continue
                hi = min(max(hi, 0), h - 1)
            src = x[c, hi]
            row[pad:pad + w] = src
            row[:pad] = src[0] if mode == REPLICATE else 0
            row[pad + w:] = src[w - 1] if mode == REPLICATE else 0


@njit(cache=True)
def unpad_grad_image(gp, pad, mode, gx):
    """gx (C, H, W) = adjoint of pad_image applied to gp (C, H+2p, W+2p); overwrites gx."""
    n_ch, h, w = gx.shape
    for c in range(n_ch):
        gx[c] = gp[c, pad:pad + h, pad:pad + w]
        if mode == REPLICATE and pad > 0:
            for i in range(h + 2 * pad):
                hi = min(max(i - pad, 0), h - 1)
                for j in range(w + 2 * pad):
                    if not (pad <= i < h + pad and pad <= j < w + pad):
                        gx[c, hi, min(max(j - pad, 0), w - 1)] += gp[c, i, j]


@njit(parallel=True, cache=True)
def pad_into(x, pad, mode, xp):
    for n in prange(x.shape[0]):
        pad_image(x[n], pad, mode, xp[n])


@njit(parallel=True, cache=True)
def unpad_grad_into(gp, pad, mode, gx):
    for n in prange(gx.shape[0]):
        unpad_grad_image(gp[n], pad, mode, gx[n])


def padded(x, padding, padding_mode, name="xpad"):
    """x itself when padding is 0, else a padded copy in a reused work buffer."""
    if padding == 0:
        return x
    n_img, n_ch, h, w = x.shape
    xp = WORKSPACE.get(name, (n_img, n_ch, h + 2 * padding, w + 2 * padding), x.dtype)
    pad_into(x, padding, padding_code(padding_mode), xp)
    return xp
