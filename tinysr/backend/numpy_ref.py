"""The NumPy reference backend: every primitive of the contract, short and obviously right.

It is the oracle the tests compare the Numba and CUDA kernels against (run it in float64),
and the fallback for anything a faster backend lacks. Convolutions are written as
"gather windows, then one tensordot" so they stay readable and still use BLAS.

These are also THE float64 references of the kernel folders: kernels/<name>/reference.py
keeps its plain-loop definition and calls these for the vectorised one, and `pad_nchw` /
`unpad_grad_nchw` are the one NumPy padding and replicate-padding adjoint.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..kernels.conv_common import conv_out

NAME = "numpy"
xp = np


def asarray(a, dtype=None):
    return np.asarray(a, dtype=dtype, order="C")


def to_numpy(a):
    return np.asarray(a)


def pad_nchw(x, padding, padding_mode):
    """Pad H and W by ``padding`` with zeros or with copies of the edge pixels."""
    if padding == 0:
        return x
    widths = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    if padding_mode == "zeros":
        return np.pad(x, widths, mode="constant")
    if padding_mode == "replicate":
        return np.pad(x, widths, mode="edge")
    raise ValueError(f"padding_mode must be 'zeros' or 'replicate', got {padding_mode!r}")


def unpad_grad_nchw(gpad, padding, padding_mode):
    """Adjoint of ``pad_nchw``: crop, and for "replicate" fold the border back onto the edge."""
    if padding == 0:
        return gpad
    p = padding
    if padding_mode == "replicate":
        g = gpad.copy()
        g[:, :, p, :] += g[:, :, :p, :].sum(axis=2)
        g[:, :, -p - 1, :] += g[:, :, -p:, :].sum(axis=2)
        g[:, :, :, p] += g[:, :, :, :p].sum(axis=3)
        g[:, :, :, -p - 1] += g[:, :, :, -p:].sum(axis=3)
        gpad = g
    elif padding_mode != "zeros":
        raise ValueError(f"padding_mode must be 'zeros' or 'replicate', got {padding_mode!r}")
    return np.ascontiguousarray(gpad[:, :, p:-p, p:-p])


def _windows(x, kh, kw, stride, padding, padding_mode):
    """View of shape (N, C, Ho, Wo, kh, kw): the input patch under each output pixel."""
    xpad = pad_nchw(x, padding, padding_mode)
    win = sliding_window_view(xpad, (kh, kw), axis=(2, 3))
    return win[:, :, ::stride, ::stride]


def conv2d_forward(x, w, stride=1, padding=0, padding_mode="zeros"):
    kh, kw = w.shape[2:]
    conv_out(x.shape[2], kh, stride, padding)
    conv_out(x.shape[3], kw, stride, padding)
    win = _windows(x, kh, kw, stride, padding, padding_mode)
    y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))   # (N, Ho, Wo, O)
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def conv2d_backward_input(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    n, c, h, wd = x_shape
    kh, kw = w.shape[2:]
    ho, wo = gy.shape[2:]
    gpad = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), dtype=gy.dtype)
    # Each kernel tap (p, q) sends gy back to the input pixels it read in the forward pass.
    for p in range(kh):
        for q in range(kw):
            contrib = np.tensordot(gy, w[:, :, p, q], axes=([1], [0]))  # (N, Ho, Wo, C)
            gpad[:, :, p:p + stride * ho:stride, q:q + stride * wo:stride] += \
                contrib.transpose(0, 3, 1, 2)
    return unpad_grad_nchw(gpad, padding, padding_mode)


def conv2d_backward_weight(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    kh, kw = w_shape[2:]
    win = _windows(x, kh, kw, stride, padding, padding_mode)
    gw = np.tensordot(gy, win, axes=([0, 2, 3], [0, 2, 3]))      # (O, C, kh, kw)
    return np.ascontiguousarray(gw), gy.sum(axis=(0, 2, 3))


def _channel_view(b, ndim):
    return b.reshape((1, -1) + (1,) * (ndim - 2))


def bias_act_forward(x, b, act="none", slope=0.0):
    y = x + _channel_view(b, x.ndim) if b is not None else x.copy()
    if act == "relu":
        np.maximum(y, 0, out=y)
    elif act == "leaky_relu":
        y = np.where(y > 0, y, y * y.dtype.type(slope))
    elif act != "none":
        raise ValueError(f"unknown activation {act!r}")
    return y


def bias_act_backward(gy, y, act="none", slope=0.0):
    if act == "relu":
        gx = gy * (y > 0)
    elif act == "leaky_relu":
        gx = gy * np.where(y > 0, 1, slope).astype(gy.dtype)
    elif act == "none":
        gx = gy.copy()
    else:
        raise ValueError(f"unknown activation {act!r}")
    axes = (0,) + tuple(range(2, gy.ndim))
    return gx, gx.sum(axis=axes)


def sgd_step(p, g, buf, lr, momentum=0.0, weight_decay=0.0):
    d = g + weight_decay * p if weight_decay else g
    if buf is None:
        p -= lr * d
        return
    buf *= momentum
    buf += d
    p -= lr * buf


def adam_step(p, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    d = g + weight_decay * p if weight_decay else g
    m *= beta1
    m += (1 - beta1) * d
    v *= beta2
    v += (1 - beta2) * d * d
    m_hat = m / (1 - beta1 ** step)
    v_hat = v / (1 - beta2 ** step)
    p -= lr * m_hat / (np.sqrt(v_hat) + eps)
