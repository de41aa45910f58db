"""One default random generator for everything that is not handed one.

Layers initialise their weights, and samplers draw their patches, from the generator they
are given (``rng=`` / ``seed=``); without one they draw from this default, which
``tinysr.manual_seed(n)`` reseeds, as ``torch.manual_seed`` does. Without a call it is
seeded from the OS once per process, so such runs differ.
"""
import numpy as np

_default = None


def manual_seed(seed):
    """Reseed the default generator: the same seed gives the same default initialisations
    and draws from here on. Returns the generator."""
    global _default
    _default = np.random.default_rng(seed)
    return _default


def generator(rng=None):
    """``rng`` as a Generator (an int or a Generator), or the default one when None."""
    global _default
    if rng is not None:
        return np.random.default_rng(rng)
    if _default is None:
        _default = np.random.default_rng()
    return _default


__all__ = ["manual_seed", "generator"]
