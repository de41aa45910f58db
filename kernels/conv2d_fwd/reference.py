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
