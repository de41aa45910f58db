"""float64 NumPy reference for conv2d forward: plain loops first, then vectorised."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..im2col.reference import pad


def conv2d_fwd_loops(x, w, stride=1, p=0, padding_mode="zeros"):
    """The definition, one multiply-add at a time (tiny shapes only)."""
    xp = pad(x.astype(np.float64), p, padding_mode)
    n_img, n_ch, hp, wp = xp.shape
    n_out, _, kh, kw = w.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    y = np.zeros((n_img, n_out, ho, wo))
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                y[n, o, i, j] += w[o, c, a, b] * xp[n, c, i * stride + a, j * stride + b]
    return y


def conv2d_fwd(x, w, stride=1, p=0, padding_mode="zeros"):
    """Gather every window (a view, no copy), then one tensordot over (c, kh, kw)."""
    kh, kw = w.shape[2:]
    win = sliding_window_view(pad(x.astype(np.float64), p, padding_mode), (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]                              # (N, C, Ho, Wo, kh, kw)
    return np.einsum("ncijab,ocab->noij", win, w.astype(np.float64), optimize=True)


def winograd_magnitude(x, w, p=0, padding_mode="zeros"):
    """The error scale of conv2d_fwd v7 (Winograd), in float64: the same computation with
    every matrix and input made nonnegative,
        |A^T| (sum_c (|G| |w| |G^T|) (.) (|B^T| |d| |B|)) |A|      per output tile,
    where d are the (padded, zero-extended) input tiles. Rounding analysis bounds each
    step's error by gamma_n times this computation on absolute values, so
        |y - ref| <= (n + 2) * u * winograd_magnitude,   n = winograd_error_terms(C, r).
    It is >= conv2d_fwd(|x|, |w|) (the direct bound's scale): it sums the same products
    plus the transforms' cross terms. Stride 1, square filters of a size v7 handles."""
    from .winograd_matrices import matrices
    xp = pad(np.abs(x).astype(np.float64), p, padding_mode)
    w = np.abs(w).astype(np.float64)
    n_img, n_ch, hp, wp = xp.shape
    n_out, _, r, _ = w.shape
    m, at, g, bt = matrices(r)
    at, g, bt = np.abs(at), np.abs(g), np.abs(bt)
    alpha = m + r - 1
    ho, wo = hp - r + 1, wp - r + 1
    nth, ntw = -(-ho // m), -(-wo // m)
    xq = np.zeros((n_img, n_ch, nth * m + r - 1, ntw * m + r - 1))
    xq[:, :, :hp, :wp] = xp
    tiles = sliding_window_view(xq, (alpha, alpha), axis=(2, 3))[:, :, ::m, ::m]
    v = np.einsum("ik,ncstkl,jl->ncstij", bt, tiles, bt)
    u = np.einsum("ik,ockl,jl->ocij", g, w, g)
    mm = np.einsum("ocij,ncstij->nostij", u, v)
    y = np.einsum("ik,nostkl,jl->nositj", at, mm, at)
    return y.reshape(n_img, n_out, nth * m, ntw * m)[:, :, :ho, :wo]
