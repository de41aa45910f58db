"""Weight initialisers; each fills a Parameter in place from a NumPy Generator.

Pass ``rng`` (a ``numpy.random.Generator``) for reproducible runs; without one they draw
from tinysr's default generator, which ``tinysr.manual_seed(n)`` seeds.
"""
import math

import numpy as np

from tinysr.seeding import generator


def _fill(param, values):
    param.data = param.backend.asarray(values, dtype=param.dtype)
    return param


def _rng(rng):
    return generator(rng)


def fan_in(param):
    """Inputs feeding one output unit: C_in * kh * kw for a conv weight."""
    return int(np.prod(param.shape[1:])) if param.ndim > 1 else param.shape[0]


def normal_(param, std=0.01, mean=0.0, rng=None):
    return _fill(param, _rng(rng).normal(mean, std, size=param.shape))


def zeros_(param):
    return _fill(param, np.zeros(param.shape))


def constant_(param, value):
    return _fill(param, np.full(param.shape, value))


def kaiming_normal_(param, negative_slope=0.0, rng=None):
    """He/MSRA: N(0, 2 / ((1 + a^2) fan_in)), keeping activation variance through ReLUs."""
    std = math.sqrt(2.0 / ((1 + negative_slope ** 2) * fan_in(param)))
    return normal_(param, std=std, rng=rng)


def truncated_normal_(param, std, rng=None):
    """N(0, std^2) redrawn beyond two standard deviations (TensorFlow's truncated_normal)."""
    gen = _rng(rng)
    values = gen.normal(0.0, 1.0, size=param.shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = gen.normal(0.0, 1.0, size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return _fill(param, values * std)


def uniform_(param, low, high, rng=None):
    return _fill(param, _rng(rng).uniform(low, high, size=param.shape))


def identity_(param, noise_std=0.0, rng=None):
    """A conv weight that passes each channel through unchanged (DRCN's recursive conv):
    w[o, o, centre, centre] = 1, everything else 0 (plus optional small noise)."""
    out_c, in_c, kh, kw = param.shape
    w = np.zeros(param.shape)
    for c in range(min(out_c, in_c)):
        w[c, c, kh // 2, kw // 2] = 1.0
    if noise_std:
        w += _rng(rng).normal(0, noise_std, size=param.shape)
    return _fill(param, w)
