"""Check every version of conv2d forward against the float64 reference (loops checked
against the vectorised reference first): the CPU (Numba) versions, then the CUDA versions on
the GPU, or through the CPU emulator without one. python -m tinysr.kernels.conv2d_fwd.check

Tolerance, elementwise: |y - ref| <= (K + 2) * u * conv(|x|, |w|), K = C*k*k products
summed, u = 2^-24 (float32) or 2^-53 (float64); Winograd uses its own K and magnitude
(winograd_common). The CUDA versions are held to tinysr.testing.conv_error_bound, the bound
of the emulation and GPU tests. Exits with status 1 if any comparison fails."""
import numpy as np

from ..cpu_tools import check_bound, check_within, finish
from ..cuda_tools import device, no_device_note
from ..winograd_common import winograd_error_terms, winograd_magnitude
from . import conv2d_fwd_numba as K
from . import launch as L
from . import reference as R

CASES = [(2, 3, 7, 9, 4, 3, 1, 1, "zeros"), (2, 3, 8, 9, 5, 3, 2, 2, "replicate"),
         (1, 17, 16, 15, 18, 3, 1, 1, "replicate"), (2, 32, 17, 17, 1, 5, 1, 0, "zeros"),
         (3, 2, 33, 17, 3, 11, 2, 3, "zeros"), (2, 64, 9, 9, 32, 1, 1, 0, "zeros")]
# CUDA: few and small (the emulator runs a block's threads as OpenMP threads): Winograd
# and the warp tiles, stride 2 with replicate padding (winograd falls back), 65 rows
CUDA_CASES = [(2, 3, 7, 9, 5, 3, 1, 1, "zeros"), (1, 3, 11, 10, 2, 5, 2, 2, "replicate"),
              (1, 9, 10, 9, 65, 3, 1, 1, "zeros")]


def check_cuda():
    from tinysr.testing import conv_error_bound
    dev = device()
    if dev is None:
        print(no_device_note())
        return True
    ok = True
    rng = np.random.default_rng(1)
    for case in CUDA_CASES:
        n, c, h, wd, o, k, s, p, mode = case
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((n, c, h, wd)).astype(dtype)
            w = rng.standard_normal((o, c, k, k)).astype(dtype)
            ref = R.conv2d_fwd(x, w, s, p, mode)
            for v in L.ENTRIES:
                y = L.conv2d_forward(dev.xp, dev.launch, dev.put(x), dev.put(w), s, p, mode, v)
                ok &= check_within(f"{dev.name} {v} {np.dtype(dtype).name} {case}", dev.get(y),
                                   ref, conv_error_bound("conv2d_fwd", v, x, w, x.shape, s, p, mode))
    return ok


def main():
    rng = np.random.default_rng(0)
    ok = True
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    ok &= check_bound("reference: loops vs vectorised", R.conv2d_fwd_loops(x, w, 2, 1, "replicate"),
                      R.conv2d_fwd(x, w, 2, 1, "replicate"),
                      R.conv2d_fwd(np.abs(x), np.abs(w), 2, 1, "replicate"), 2 * 2 * 3 * 3)  # both round
    for n, c, h, wd, o, k, s, p, mode in CASES:
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((n, c, h, wd)).astype(dtype)
            w = rng.standard_normal((o, c, k, k)).astype(dtype)
            ref = R.conv2d_fwd(x, w, s, p, mode)
            mag = R.conv2d_fwd(np.abs(x), np.abs(w), s, p, mode)
            for v in K.VERSIONS:
                y = K.conv2d_fwd(x, w, s, p, mode, version=v)
                wino = K.plan(x.shape, w.shape, s, p, mode, v).runs == "winograd"   # own bound
                ok &= check_bound(f"{v} {np.dtype(dtype).name} {(n, c, h, wd, o, k, s, p, mode)}",
                                  y, ref, winograd_magnitude(x, w, p, mode) if wino else mag,
                                  winograd_error_terms(c, k) if wino else c * k * k)
    ok &= check_cuda()
    finish(ok)


if __name__ == "__main__":
    main()
