"""Check every version of conv2d backward-weight against the float64 reference (loops checked
against the vectorised reference first): the CPU (Numba) versions, then the CUDA versions on
the GPU, or through the CPU emulator without one.
python -m tinysr.kernels.conv2d_bwd_weight.check

Tolerance, elementwise: |gw - ref| <= (K + 2) * u * bwd_weight(|gy|, |x|), K = N*Ho*Wo
products summed per weight (and per bias), u = 2^-24 (float32) or 2^-53 (float64);
Winograd uses its own K and magnitude (winograd_common). The CUDA versions are held to
tinysr.testing.conv_error_bound (gw) and 2 (K + 64) u sum|gy| (gb, split-K partials
included). Exits with status 1 on any failure."""
import numpy as np

from ..conv2d_fwd.check import CUDA_CASES
from ..cpu_tools import UNIT, check_bound, check_within, finish
from ..cuda_tools import device, no_device_note
from ..winograd_common import winograd_weight_error_terms, winograd_weight_magnitude
from . import conv2d_bwd_weight_numba as K
from . import launch as L
from . import reference as R

CASES = [(2, 3, 7, 9, 4, 3, 1, 1, "zeros"), (2, 3, 8, 9, 5, 3, 2, 2, "replicate"),
         (1, 17, 16, 15, 18, 3, 1, 1, "replicate"), (2, 32, 17, 17, 1, 5, 1, 0, "zeros"),
         (3, 2, 33, 17, 3, 11, 2, 3, "zeros"), (2, 64, 9, 9, 32, 1, 1, 0, "zeros"),
         (2, 17, 13, 12, 18, 5, 1, 2, "replicate")]    # auto: winograd


def _inputs(rng, case, dtype):
    n, c, h, wd, o, k, s, p, mode = case
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)     # only its shape is used
    ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
    gy = rng.standard_normal((n, o, ho, wo)).astype(dtype)
    return x, w.shape, gy


def check_cuda():
    from tinysr.testing import conv_error_bound
    dev = device()
    if dev is None:
        print(no_device_note())
        return True
    ok = True
    rng = np.random.default_rng(1)
    for case in CUDA_CASES:
        s, p, mode = case[6:]
        for dtype in (np.float32, np.float64):
            x, w_shape, gy = _inputs(rng, case, dtype)
            ref, refb = R.conv2d_bwd_weight(gy, x, w_shape, s, p, mode)
            magb = np.abs(gy.astype(np.float64)).sum(axis=(0, 2, 3))
            terms = gy.size // w_shape[0] + 64              # pixels, plus split-K partials
            for v in L.ENTRIES:
                gw, gb = L.conv2d_backward_weight(dev.xp, dev.launch, dev.put(gy), dev.put(x),
                                                  w_shape, s, p, mode, v)
                name = f"{dev.name} {v} {np.dtype(dtype).name} {case}"
                ok &= check_within(name, dev.get(gw), ref, conv_error_bound(
                    "conv2d_bwd_weight", v, gy, x, w_shape, s, p, mode))
                ok &= check_within(f"{name} bias", dev.get(gb), refb,
                                   2 * terms * UNIT[np.dtype(dtype)] * magb)
    return ok


def main():
    rng = np.random.default_rng(0)
    ok = True
    gy, x = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((2, 2, 5, 6))
    for a, b, m in zip(R.conv2d_bwd_weight_loops(gy, x, (3, 2, 3, 3), 2, 1, "replicate"),
                       R.conv2d_bwd_weight(gy, x, (3, 2, 3, 3), 2, 1, "replicate"),
                       R.conv2d_bwd_weight(np.abs(gy), np.abs(x), (3, 2, 3, 3), 2, 1, "replicate")):
        ok &= check_bound("reference: loops vs vectorised", a, b, m, 2 * 2 * 3 * 3)  # both round
    for case in CASES:
        n, c, h, wd, o, k, s, p, mode = case
        for dtype in (np.float32, np.float64):
            x, w_shape, gy = _inputs(rng, case, dtype)
            ho, wo = gy.shape[2:]
            ref, refb = R.conv2d_bwd_weight(gy, x, w_shape, s, p, mode)
            mag, magb = R.conv2d_bwd_weight(np.abs(gy), np.abs(x), w_shape, s, p, mode)
            for v in K.VERSIONS:
                y, yb = K.conv2d_bwd_weight(gy, x, w_shape, s, p, mode, version=v)
                ok &= check_bound(f"{v} bias {np.dtype(dtype).name}", yb, refb, magb, n * ho * wo)
                vmag, terms = mag, n * ho * wo
                if K.plan(x.shape, w_shape, s, p, mode, v).runs == "winograd":   # own bound
                    vmag = winograd_weight_magnitude(gy, x, p, mode, r=k)
                    terms = winograd_weight_error_terms(gy.shape, k)
                ok &= check_bound(f"{v} {np.dtype(dtype).name} {case}", y, ref, vmag, terms)
    ok &= check_cuda()
    finish(ok)


if __name__ == "__main__":
    main()
