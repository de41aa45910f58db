"""Optimiser updates (Numba) against the float64 reference. python -m tinysr.kernels.optim_update.check"""
import numpy as np

from . import optim_update_numba as K
from . import reference as R


def main():
    rng = np.random.default_rng(0)
    p0, g = rng.standard_normal((64, 32, 3, 3)), rng.standard_normal((64, 32, 3, 3))
    a, b = p0.copy(), p0.copy()
    ba, bb = np.zeros_like(a), np.zeros_like(a)
    R.sgd_loops(a, g, ba, 0.1, 0.9, 1e-3)
    R.sgd(b, g, bb, 0.1, 0.9, 1e-3)
    assert np.allclose(a, b)
    for dtype in (np.float32, np.float64):
        p, st = p0.astype(dtype), [np.zeros(p0.shape, dtype) for _ in range(2)]
        q, sr = p0.copy(), [np.zeros(p0.shape) for _ in range(2)]
        for step in (1, 2, 3):
            K.sgd_step(p, g.astype(dtype), st[0], 0.1, 0.9, 1e-3)
            R.sgd(q, g, sr[0], 0.1, 0.9, 1e-3)
            K.adam_step(p, g.astype(dtype), st[0], st[1], step, 1e-3, 0.9, 0.999, 1e-8, 1e-2)
            R.adam(q, g, sr[0], sr[1], step, 1e-3, 0.9, 0.999, 1e-8, 1e-2)
        print(f"{np.dtype(dtype).name}: max |p - ref| = {np.abs(p - q).max():.1e}")


if __name__ == "__main__":
    main()
