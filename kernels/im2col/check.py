"""im2col/col2im (Numba) against the float64 reference, and col2im as the exact adjoint:
<im2col(x), c> == <x, col2im(c)>; then the padding kernels (pad_numba) against the one
NumPy padding and replicate-padding adjoint (tinysr.backend.numpy_ref.pad_nchw,
unpad_grad_nchw), and that adjoint against the definition <pad(x), g> == <x, unpad(g)>.
python -m tinysr.kernels.im2col.check

Tolerances (float64, u = 2^-53): im2col only copies, so it must match exactly (the output
is NaN-poisoned first, so an element never written fails). col2im sums at most k*k*(2p+1)^2
values per pixel (replicate padding folds the border copies back): check_bound's
(K + 2) * u * col2im(|c|). The adjoint identity: both inner products are sums of
cols.size products, |<im2col(x), c> - <x, col2im(c)>| <= 2 (cols.size + K + 2) u <|cols|, |c|>.
Exits with status 1 on any failure."""
import numpy as np

from ...backend.numpy_ref import pad_nchw, unpad_grad_nchw
from ..cpu_common import padding_code
from ..cpu_tools import UNIT, check_bound, check_equal, finish
from . import reference as R
from .im2col_numba import col2im, im2col
from .pad_numba import pad_into, unpad_grad_into


def check_padding(rng):
    """pad_into / unpad_grad_into (Numba) against numpy_ref; the adjoint identity for the
    latter: both inner products sum the padded image's entries, |err| <= 2 (size + K + 2) u
    <|pad(x)|, |g|>, K = (2p+1)^2 (the most border entries folded onto one pixel)."""
    ok = True
    for n, c, h, w, p, mode in [(2, 3, 5, 7, 2, "replicate"), (1, 2, 4, 3, 3, "zeros"),
                                (1, 1, 1, 2, 3, "replicate")]:
        name = f"{(n, c, h, w, p, mode)}"
        x = rng.standard_normal((n, c, h, w))
        ref = pad_nchw(x, p, mode)
        xp = np.full(ref.shape, np.nan)
        pad_into(x, p, padding_code(mode), xp)
        ok &= check_equal(f"pad {name}", xp, ref)
        g = rng.standard_normal(ref.shape)
        gx = np.full(x.shape, np.nan)
        unpad_grad_into(g, p, padding_code(mode), gx)
        terms = (2 * p + 1) ** 2
        ok &= check_bound(f"unpad_grad {name}", gx, unpad_grad_nchw(g, p, mode),
                          unpad_grad_nchw(np.abs(g), p, mode), terms)
        err = abs(np.vdot(ref, g) - np.vdot(x, unpad_grad_nchw(g, p, mode)))
        bound = 2 * (g.size + terms + 2) * UNIT[np.dtype(np.float64)] * np.vdot(np.abs(ref), np.abs(g))
        adjoint_ok = bool(err <= bound)
        print(f"{'ok  ' if adjoint_ok else 'FAIL'} {'adjoint unpad_grad ' + name:48s} |err| {err:.1e}, bound {bound:.1e}")
        ok &= adjoint_ok
    return ok


def main():
    rng = np.random.default_rng(0)
    ok = True
    for n, c, h, w, k, s, p, mode in [(2, 3, 7, 9, 3, 1, 1, "zeros"), (1, 2, 8, 5, 5, 2, 3, "replicate"),
                                      (2, 1, 33, 33, 9, 1, 0, "zeros")]:
        name = f"{(n, c, h, w, k, s, p, mode)}"
        x = rng.standard_normal((n, c, h, w))
        ref = R.im2col(x, k, k, s, p, mode)
        if x.size < 300:
            ok &= check_equal(f"reference loops im2col {name}", R.im2col_loops(x, k, k, s, p, mode), ref)
        cols = np.full(ref.shape, np.nan)
        im2col(x, k, k, s, p, padding_code(mode), cols)
        ok &= check_equal(f"im2col {name}", cols, ref)
        g = rng.standard_normal(ref.shape)
        gx = np.full(x.shape, np.nan)
        col2im(g, k, k, s, p, padding_code(mode), gx)
        terms = k * k * (2 * p + 1) ** 2
        ok &= check_bound(f"col2im {name}", gx, R.col2im(g, x.shape, k, k, s, p, mode),
                          R.col2im(np.abs(g), x.shape, k, k, s, p, mode), terms)
        err = abs(np.vdot(cols, g) - np.vdot(x, gx))
        bound = 2 * (cols.size + terms + 2) * UNIT[np.dtype(np.float64)] * np.vdot(np.abs(ref), np.abs(g))
        adjoint_ok = bool(err <= bound)
        print(f"{'ok  ' if adjoint_ok else 'FAIL'} {'adjoint ' + name:48s} |err| {err:.1e}, bound {bound:.1e}")
        ok &= adjoint_ok
    ok &= check_padding(rng)
    finish(ok)


if __name__ == "__main__":
    main()
