"""float64 NumPy reference for conv2d backward-weight (+ bias): loops first, then vectorised."""
import numpy as np

from ..im2col.reference import im2col, pad


def conv2d_bwd_weight_loops(gy, x, w_shape, stride=1, p=0, padding_mode="zeros"):
    xp = pad(x.astype(np.float64), p, padding_mode)
    n_out, n_ch, kh, kw = w_shape
    n_img, _, ho, wo = gy.shape
    gw = np.zeros(w_shape)
    gb = np.zeros(n_out)
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    gb[o] += gy[n, o, i, j]
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                gw[o, c, a, b] += gy[n, o, i, j] * xp[n, c, i * stride + a, j * stride + b]
    return gw, gb


def conv2d_bwd_weight(gy, x, w_shape, stride=1, p=0, padding_mode="zeros"):
    """gw = sum over images of gy[n] (O, P) @ cols[n]^T (P, K): one einsum."""
    kh, kw = w_shape[2:]
    cols = im2col(x.astype(np.float64), kh, kw, stride, p, padding_mode)
    g = gy.reshape(gy.shape[0], gy.shape[1], -1).astype(np.float64)
    gw = np.einsum("nop,nkp->ok", g, cols).reshape(w_shape)
    return gw, g.sum(axis=(0, 2))
