"""Fused bias + activation, forward and backward, on the CPU (see README.md).

    forward   y  = act(x + b[c])                   act: none, relu, leaky_relu(slope)
    backward  gx = gy * act'(y),  gb[c] = sum of gx over everything but the channel axis

Fusing saves whole passes over the activation: unfused, "add the bias", "apply ReLU",
"mask the gradient" and "sum for the bias" each read (and most write) the full tensor.
The derivative is taken from the OUTPUT y (y > 0 exactly when x + b > 0, as slope >= 0),
so the forward input never has to be kept for the backward pass.

per_plane (the only CPU version, DEFAULT_VERSION; versions.py lists the CUDA ones): one
parallel iteration per (image, channel) plane, a flat vectorised loop over the plane's
pixels. Memory-bound: it runs at the speed of reading and writing the tensor once.
"""
import numpy as np
from numba import njit, prange

from .. import cpu_common
from . import versions

DEFAULT_VERSION = versions.DEFAULT["numba"]
VERSIONS = versions.TABLE.names("numba")        # ("per_plane",)
ACTS = {"none": 0, "relu": 1, "leaky_relu": 2}


def _act_code(act):
    if act not in ACTS:
        raise ValueError(f"unknown activation {act!r}: choose one of {sorted(ACTS)}")
    return ACTS[act]


@njit(parallel=True, cache=True)
def _forward(x, b, has_bias, act, slope, y):
    n_img, n_ch, npix = x.shape
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc - n * n_ch
        bias = b[c if has_bias else 0]          # without a bias, b is a single zero
        src = x[n, c]
        dst = y[n, c]
        for k in range(npix):
            v = src[k] + bias
            if act == 1 and v < 0:
                v = v * 0
            elif act == 2 and v <= 0:
                v = v * slope
            dst[k] = v


@njit(parallel=True, cache=True)
def _backward(gy, y, act, slope, gx, planes):
    n_img, n_ch, npix = gy.shape
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc - n * n_ch
        g = gy[n, c]
        out = y[n, c]
        dst = gx[n, c]
        s = 0.0
        for k in range(npix):
            v = g[k]
            if act == 1 and out[k] <= 0:
                v = v * 0
            elif act == 2 and out[k] <= 0:
                v = v * slope
            dst[k] = v
            s += v
        planes[n, c] = s


def bias_act_forward(x, b=None, act="none", slope=0.0):
    code = _act_code(act)
    x3 = x.reshape(x.shape[0], x.shape[1], -1)
    y = cpu_common.empty(x.shape, x.dtype)
    bias = b if b is not None else np.zeros(1, dtype=x.dtype)
    _forward(x3, bias, b is not None, code, x.dtype.type(slope), y.reshape(x3.shape))
    return y


def bias_act_backward(gy, y, act="none", slope=0.0):
    code = _act_code(act)
    g3 = gy.reshape(gy.shape[0], gy.shape[1], -1)
    gx = cpu_common.empty(gy.shape, gy.dtype)
    planes = cpu_common.empty(g3.shape[:2], np.float64)        # float64 per-plane bias-gradient partial sums
    _backward(g3, y.reshape(g3.shape), code, gy.dtype.type(slope), gx.reshape(g3.shape),
              planes)
    return gx, planes.sum(axis=0).astype(gy.dtype)
