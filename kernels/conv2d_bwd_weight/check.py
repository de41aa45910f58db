"""Check every version of conv2d backward-weight against the float64 reference (loops checked
against the vectorised reference first). python -m tinysr.kernels.conv2d_bwd_weight.check

Tolerance, elementwise: |gw - ref| <= (K + 2) * u * bwd_weight(|gy|, |x|), K = N*Ho*Wo
products summed per weight (and per bias), u = 2^-24 (float32) or 2^-53 (float64);
Winograd (v6) uses its own K and magnitude. Exits with status 1 on any failure."""
import numpy as np

from ..conv2d_fwd.winograd_matrices import winograd_weight_error_terms
from ..cpu_tools import check_bound, finish
from . import conv2d_bwd_weight_numba as K
from . import reference as R

CASES = [(2, 3, 7, 9, 4, 3, 1, 1, "zeros"), (2, 3, 8, 9, 5, 3, 2, 2, "replicate"),
         (1, 17, 16, 15, 18, 3, 1, 1, "replicate"), (2, 32, 17, 17, 1, 5, 1, 0, "zeros"),
         (3, 2, 33, 17, 3, 11, 2, 3, "zeros"), (2, 64, 9, 9, 32, 1, 1, 0, "zeros"),
         (2, 17, 13, 12, 18, 5, 1, 2, "replicate")]    # auto: v6 (Winograd)


def main():
    rng = np.random.default_rng(0)
    ok = True
    gy, x = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((2, 2, 5, 6))
    for a, b, m in zip(R.conv2d_bwd_weight_loops(gy, x, (3, 2, 3, 3), 2, 1, "replicate"),
                       R.conv2d_bwd_weight(gy, x, (3, 2, 3, 3), 2, 1, "replicate"),
                       R.conv2d_bwd_weight(np.abs(gy), np.abs(x), (3, 2, 3, 3), 2, 1, "replicate")):
        ok &= check_bound("reference: loops vs vectorised", a, b, m, 2 * 2 * 3 * 3)  # both round
    for n, c, h, wd, o, k, s, p, mode in CASES:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((n, c, h, wd)).astype(dtype)
            w = rng.standard_normal((o, c, k, k)).astype(dtype)
            ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
            gy = rng.standard_normal((n, o, ho, wo)).astype(dtype)
            ref, refb = R.conv2d_bwd_weight(gy, x, w.shape, s, p, mode)
            mag, magb = R.conv2d_bwd_weight(np.abs(gy), np.abs(x), w.shape, s, p, mode)
            for v in K.VERSIONS:
                y, yb = K.conv2d_bwd_weight(gy, x, w.shape, s, p, mode, version=v)
                ok &= check_bound(f"{v} bias {np.dtype(dtype).name}", yb, refb, magb, n * ho * wo)
                vmag, terms = mag, n * ho * wo
                if K.uses_winograd(v, w.shape, s):           # v6: Winograd error bound
                    vmag = R.winograd_weight_magnitude(gy, x, p, mode, r=k)
                    terms = winograd_weight_error_terms(gy.shape, k)
                ok &= check_bound(f"{v} {np.dtype(dtype).name} {(n, c, h, wd, o, k, s, p, mode)}",
                                  y, ref, vmag, terms)
    finish(ok)


if __name__ == "__main__":
    main()
