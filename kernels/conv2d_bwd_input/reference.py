"""float64 NumPy reference for conv2d backward-input: plain loops first, then vectorised."""
import numpy as np

from ..im2col.reference import col2im


def conv2d_bwd_input_loops(gy, w, x_shape, stride=1, p=0, padding_mode="zeros"):
    """Scatter every gy element back through every tap onto the padded input, then fold the
    padding (replicate: border entries belong to the edge pixel they copied)."""
    n_img, n_ch, h, wd = x_shape
    n_out, _, kh, kw = w.shape
    ho, wo = gy.shape[2:]
    gp = np.zeros((n_img, n_ch, h + 2 * p, wd + 2 * p))
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                gp[n, c, i * stride + a, j * stride + b] += w[o, c, a, b] * gy[n, o, i, j]
    if p == 0:
        return gp
    gx = gp[:, :, p:-p, p:-p].copy()
    if padding_mode == "replicate":
        for i in range(h + 2 * p):
            for j in range(wd + 2 * p):
                if not (p <= i < h + p and p <= j < wd + p):
                    gx[:, :, min(max(i - p, 0), h - 1), min(max(j - p, 0), wd - 1)] += gp[:, :, i, j]
    return gx


def conv2d_bwd_input(gy, w, x_shape, stride=1, p=0, padding_mode="zeros"):
    """cols = W^T @ gy per image (one einsum), then the im2col adjoint."""
    n_out, n_ch, kh, kw = w.shape
    n_img = gy.shape[0]
    cols = np.einsum("ok,nop->nkp", w.reshape(n_out, -1).astype(np.float64),
                     gy.reshape(n_img, n_out, -1).astype(np.float64))
    return col2im(cols, x_shape, kh, kw, stride, p, padding_mode)
