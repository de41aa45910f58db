"""float64 reference for the optimiser updates: plain loops first, then vectorised."""
import numpy as np


def sgd_loops(p, g, buf, lr, momentum, wd):
    for k in range(p.size):
        d = g.flat[k] + wd * p.flat[k]
        if buf is not None:
            buf.flat[k] = momentum * buf.flat[k] + d
            d = buf.flat[k]
        p.flat[k] -= lr * d


def sgd(p, g, buf, lr, momentum, wd):
    d = g + wd * p
    if buf is not None:
        buf *= momentum
        buf += d
        d = buf
    p -= lr * d


def adam(p, g, m, v, step, lr, b1, b2, eps, wd):
    d = g + wd * p
    m[:] = b1 * m + (1 - b1) * d
    v[:] = b2 * v + (1 - b2) * d * d
    p -= lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
