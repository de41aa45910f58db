"""Optimiser updates, in place, one fused pass over the parameters (see README.md).

    SGD   d = g + wd*p;  buf = momentum*buf + d;  p -= lr*buf       (no buffer: p -= lr*d)
    Adam  d = g + wd*p;  m = b1*m + (1-b1)*d;  v = b2*v + (1-b2)*d^2;
          p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

NumPy needs 5-10 separate passes (and temporaries) for these lines; the fused loop reads
p, g and the state once and writes them once. Parameters of SR networks are small (VDSR:
665k), so the loop is serial: a parallel launch would cost more than it saves.
serial (the only CPU version, DEFAULT_VERSION; versions.py lists the CUDA ones).
"""
import math

from numba import njit

from . import versions

DEFAULT_VERSION = versions.DEFAULT["numba"]
VERSIONS = versions.TABLE.names("numba")        # ("serial",)


@njit(cache=True)
def _sgd(p, g, buf, has_buf, lr, momentum, wd):
    for k in range(p.size):
        d = g[k] + wd * p[k]
        if has_buf:
            b = momentum * buf[k] + d
            buf[k] = b
            d = b
        p[k] -= lr * d


@njit(cache=True)
def _adam(p, g, m, v, lr, beta1, beta2, eps, wd, corr1, corr2):
    for k in range(p.size):
        d = g[k] + wd * p[k]
        mk = beta1 * m[k] + (1 - beta1) * d
        vk = beta2 * v[k] + (1 - beta2) * d * d
        m[k] = mk
        v[k] = vk
        p[k] -= lr * (mk / corr1) / (math.sqrt(vk / corr2) + eps)


def sgd_step(p, g, buf, lr, momentum=0.0, weight_decay=0.0):
    flat = p.reshape(-1)          # a view: the contract's arrays are C-contiguous
    has_buf = buf is not None
    _sgd(flat, g.reshape(-1), buf.reshape(-1) if has_buf else flat, has_buf,
         float(lr), float(momentum), float(weight_decay))


def adam_step(p, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    _adam(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), float(lr),
          float(beta1), float(beta2), float(eps), float(weight_decay),
          1.0 - beta1 ** step, 1.0 - beta2 ** step)
