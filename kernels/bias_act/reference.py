"""float64 reference for bias + activation: plain loops first, then vectorised. Both compute
in float64 whatever they are given (inputs are converted first), so a float32 input is
checked against its exact float64 image and not against float32 arithmetic."""
import numpy as np


def act(v, kind, slope):
    return v if kind == "none" or v > 0 else (0.0 if kind == "relu" else v * slope)


def forward_loops(x, b, kind, slope):
    x = np.asarray(x, np.float64)
    b = None if b is None else np.asarray(b, np.float64)
    slope = float(slope)
    y = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        y[idx] = act(x[idx] + (b[idx[1]] if b is not None else 0.0), kind, slope)
    return y


def backward_loops(gy, y, kind, slope):
    gy, y = np.asarray(gy, np.float64), np.asarray(y, np.float64)
    slope = float(slope)
    gx = np.zeros(gy.shape)
    gb = np.zeros(gy.shape[1])
    for idx in np.ndindex(gy.shape):
        d = 1.0 if kind == "none" or y[idx] > 0 else (0.0 if kind == "relu" else slope)
        gx[idx] = gy[idx] * d
        gb[idx[1]] += gx[idx]
    return gx, gb


def forward(x, b, kind, slope):
    z = np.asarray(x, np.float64)
    if b is not None:
        z = z + np.asarray(b, np.float64).reshape((1, -1) + (1,) * (z.ndim - 2))
    return z if kind == "none" else np.where(z > 0, z, 0.0 if kind == "relu" else z * slope)


def backward(gy, y, kind, slope):
    d = 1.0 if kind == "none" else np.where(np.asarray(y) > 0, 1.0,
                                            0.0 if kind == "relu" else float(slope))
    gx = np.asarray(gy, np.float64) * d
    return gx, gx.sum(axis=(0,) + tuple(range(2, gx.ndim)))
