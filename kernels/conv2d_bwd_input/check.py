"""Check every version of conv2d backward-input against the float64 reference (loops checked
against the vectorised reference first). python -m tinysr.kernels.conv2d_bwd_input.check

Tolerance, elementwise: |gx - ref| <= (K + 2) * u * bwd_input(|gy|, |w|), K = O*k*k*(2p+1)^2
(the most terms a replicate-padded edge pixel sums), u = 2^-24 (float32) or 2^-53
(float64); Winograd (v6) uses its own K and magnitude. Exits with status 1 on any failure."""
import numpy as np

from ..cpu_tools import check_bound, finish
from . import conv2d_bwd_input_numba as K
from . import reference as R
from ..conv2d_fwd.reference import winograd_magnitude
from ..conv2d_fwd.winograd_numba import winograd_error_terms

CASES = [(2, 3, 7, 9, 4, 3, 1, 1, "zeros"), (2, 3, 8, 9, 5, 3, 2, 2, "replicate"),
         (1, 17, 16, 15, 18, 3, 1, 1, "replicate"), (2, 32, 17, 17, 1, 5, 1, 0, "zeros"),
         (3, 2, 33, 17, 3, 11, 2, 3, "zeros"), (2, 64, 9, 9, 32, 1, 1, 0, "zeros")]


def main():
    rng = np.random.default_rng(0)
    ok = True
    gy, w = rng.standard_normal((1, 3, 3, 3)), rng.standard_normal((3, 2, 3, 3))
    ok &= check_bound("reference: loops vs vectorised",
                      R.conv2d_bwd_input_loops(gy, w, (1, 2, 5, 6), 2, 1, "replicate"),
                      R.conv2d_bwd_input(gy, w, (1, 2, 5, 6), 2, 1, "replicate"),
                      R.conv2d_bwd_input(np.abs(gy), np.abs(w), (1, 2, 5, 6), 2, 1, "replicate"),
                      2 * 3 * 3 * 3 * 3 ** 2)                                # both round
    for n, c, h, wd, o, k, s, p, mode in CASES:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((n, c, h, wd)).astype(dtype)
            w = rng.standard_normal((o, c, k, k)).astype(dtype)
            ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
            gy = rng.standard_normal((n, o, ho, wo)).astype(dtype)
            ref = R.conv2d_bwd_input(gy, w, x.shape, s, p, mode)
            mag = R.conv2d_bwd_input(np.abs(gy), np.abs(w), x.shape, s, p, mode)
            for v in K.VERSIONS:
                y = K.conv2d_bwd_input(gy, w, x.shape, s, p, mode, version=v)
                if K.uses_winograd(v, w.shape, s, p, mode):     # v6: Winograd error bound
                    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
                    vmag, terms = winograd_magnitude(gy, w_flip, k - 1 - p), winograd_error_terms(o, k)
                else:
                    vmag, terms = mag, o * k * k * (2 * p + 1) ** 2
                ok &= check_bound(f"{v} {np.dtype(dtype).name} {(n, c, h, wd, o, k, s, p, mode)}",
                                  y, ref, vmag, terms)
    finish(ok)


if __name__ == "__main__":
    main()
