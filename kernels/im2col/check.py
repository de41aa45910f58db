"""im2col/col2im (Numba) against the float64 reference, and col2im as the exact adjoint:
<im2col(x), c> == <x, col2im(c)>.  python -m tinysr.kernels.im2col.check"""
import numpy as np

from ..cpu_common import padding_code
from . import reference as R
from .im2col_numba import col2im, im2col


def main():
    rng = np.random.default_rng(0)
    for n, c, h, w, k, s, p, mode in [(2, 3, 7, 9, 3, 1, 1, "zeros"), (1, 2, 8, 5, 5, 2, 3, "replicate"),
                                      (2, 1, 33, 33, 9, 1, 0, "zeros")]:
        x = rng.standard_normal((n, c, h, w))
        ref = R.im2col(x, k, k, s, p, mode)
        if x.size < 300:
            assert np.array_equal(ref, R.im2col_loops(x, k, k, s, p, mode))
        cols = np.full(ref.shape, np.nan)
        im2col(x, k, k, s, p, padding_code(mode), cols)
        g = rng.standard_normal(ref.shape)
        gx = np.full(x.shape, np.nan)
        col2im(g, k, k, s, p, padding_code(mode), gx)
        print(f"{(n, c, h, w, k, s, p, mode)}: im2col max err {np.abs(cols - ref).max():.1e}, col2im "
              f"{np.abs(gx - R.col2im(g, x.shape, k, k, s, p, mode)).max():.1e}, adjoint "
              f"{abs(np.vdot(cols, g) - np.vdot(x, gx)):.1e}")


if __name__ == "__main__":
    main()
