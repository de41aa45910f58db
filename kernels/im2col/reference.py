"""float64 NumPy reference for im2col / col2im: plain loops first, then vectorised. Padding
and its adjoint (the replicate fold) are the library's one NumPy version:
tinysr.backend.numpy_ref.pad_nchw / unpad_grad_nchw."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...backend.numpy_ref import pad_nchw, unpad_grad_nchw


def im2col_loops(x, kh, kw, stride, p, padding_mode):
    xp = pad_nchw(x, p, padding_mode)
    n_img, n_ch, hp, wp = xp.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    cols = np.zeros((n_img, n_ch * kh * kw, ho * wo))
    for n in range(n_img):
        for c in range(n_ch):
            for a in range(kh):
                for b in range(kw):
                    for i in range(ho):
                        for j in range(wo):
                            cols[n, (c * kh + a) * kw + b, i * wo + j] = \
                                xp[n, c, i * stride + a, j * stride + b]
    return cols


def im2col(x, kh, kw, stride, p, padding_mode):
    win = sliding_window_view(pad_nchw(x, p, padding_mode), (kh, kw), axis=(2, 3))
    win = win[:, :, ::stride, ::stride]                       # (N, C, Ho, Wo, kh, kw)
    n_img, n_ch, ho, wo = win.shape[:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n_img, n_ch * kh * kw, ho * wo)


def col2im(cols, x_shape, kh, kw, stride, p, padding_mode):
    """The adjoint, built from the definition <im2col(x), cols> = <x, col2im(cols)>:
    scatter-add into the padded image, then fold the padding back (unpad_grad_nchw)."""
    n_img, n_ch, h, w = x_shape
    hp, wp = h + 2 * p, w + 2 * p
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    c6 = cols.reshape(n_img, n_ch, kh, kw, ho, wo)
    gp = np.zeros((n_img, n_ch, hp, wp))
    for a in range(kh):
        for b in range(kw):
            gp[:, :, a:a + stride * ho:stride, b:b + stride * wo:stride] += c6[:, :, a, b]
    return unpad_grad_nchw(gp, p, padding_mode)
