"""float64 reference for bias + activation: plain loops first, then vectorised."""
import numpy as np


def act(v, kind, slope):
    return v if kind == "none" or v > 0 else (0.0 if kind == "relu" else v * slope)


def forward_loops(x, b, kind, slope):
    y = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        y[idx] = act(x[idx] + (b[idx[1]] if b is not None else 0.0), kind, slope)
    return y


def backward_loops(gy, y, kind, slope):
    gx = np.zeros(gy.shape)
    gb = np.zeros(gy.shape[1])
    for idx in np.ndindex(gy.shape):
        d = 1.0 if kind == "none" or y[idx] > 0 else (0.0 if kind == "relu" else slope)
        gx[idx] = gy[idx] * d
        gb[idx[1]] += gx[idx]
    return gx, gb


def forward(x, b, kind, slope):
    z = x.astype(np.float64)
    if b is not None:
        z = z + b.reshape((1, -1) + (1,) * (x.ndim - 2))
    return z if kind == "none" else np.where(z > 0, z, 0.0 if kind == "relu" else z * slope)


def backward(gy, y, kind, slope):
    d = 1.0 if kind == "none" else np.where(y > 0, 1.0, 0.0 if kind == "relu" else slope)
    gx = gy.astype(np.float64) * d
    return gx, gx.sum(axis=(0,) + tuple(range(2, gy.ndim)))
