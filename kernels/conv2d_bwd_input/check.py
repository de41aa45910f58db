"""Check every version of conv2d backward-input against the float64 reference (loops checked
against the vectorised reference first): the CPU (Numba) versions, then the CUDA versions on
the GPU, or through the CPU emulator without one.
python -m tinysr.kernels.conv2d_bwd_input.check

Tolerance, elementwise: |gx - ref| <= (K + 2) * u * bwd_input(|gy|, |w|), K = O*k*k*(2p+1)^2
(the most terms a replicate-padded edge pixel sums), u = 2^-24 (float32) or 2^-53
(float64); Winograd uses its own K and magnitude (winograd_common). The CUDA versions are
held to tinysr.testing.conv_error_bound. Exits with status 1 on any failure."""
import numpy as np

from ..conv2d_fwd.check import CUDA_CASES
from ..cpu_tools import check_bound, check_within, finish
from ..cuda_tools import device, no_device_note
from ..winograd_common import winograd_error_terms, winograd_magnitude
from . import conv2d_bwd_input_numba as K
from . import launch as L
from . import reference as R

CASES = [(2, 3, 7, 9, 4, 3, 1, 1, "zeros"), (2, 3, 8, 9, 5, 3, 2, 2, "replicate"),
         (1, 17, 16, 15, 18, 3, 1, 1, "replicate"), (2, 32, 17, 17, 1, 5, 1, 0, "zeros"),
         (3, 2, 33, 17, 3, 11, 2, 3, "zeros"), (2, 64, 9, 9, 32, 1, 1, 0, "zeros")]


def _inputs(rng, case, dtype):
    n, c, h, wd, o, k, s, p, mode = case
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)     # only its shape is used
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
    gy = rng.standard_normal((n, o, ho, wo)).astype(dtype)
    return x.shape, w, gy


def check_cuda():
    from tinysr.testing import conv_error_bound
    dev = device()
    if dev is None:
        print(no_device_note())
        return True
    ok = True
    rng = np.random.default_rng(1)
    for case in CUDA_CASES + [(2, 66, 5, 6, 3, 3, 1, 1, "replicate")]:     # 66: > one tile
        n, c, h, wd, o, k, s, p, mode = case
        for dtype in (np.float32, np.float64):
            x_shape, w, gy = _inputs(rng, case, dtype)
            ref = R.conv2d_bwd_input(gy, w, x_shape, s, p, mode)
            for v in L.ENTRIES:
                gx = L.conv2d_backward_input(dev.xp, dev.launch, dev.put(gy), dev.put(w),
                                             x_shape, s, p, mode, v)
                bound = conv_error_bound("conv2d_bwd_input", v, gy, w, x_shape, s, p, mode)
                ok &= check_within(f"{dev.name} {v} {np.dtype(dtype).name} {case}",
                                   dev.get(gx), ref, bound)
    return ok


def main():
    rng = np.random.default_rng(0)
    ok = True
    gy, w = rng.standard_normal((1, 3, 3, 3)), rng.standard_normal((3, 2, 3, 3))
    ok &= check_bound("reference: loops vs vectorised",
                      R.conv2d_bwd_input_loops(gy, w, (1, 2, 5, 6), 2, 1, "replicate"),
                      R.conv2d_bwd_input(gy, w, (1, 2, 5, 6), 2, 1, "replicate"),
                      R.conv2d_bwd_input(np.abs(gy), np.abs(w), (1, 2, 5, 6), 2, 1, "replicate"),
                      2 * 3 * 3 * 3 * 3 ** 2)                                # both round
    for case in CASES:
        n, c, h, wd, o, k, s, p, mode = case
        for dtype in (np.float32, np.float64):
            x_shape, w, gy = _inputs(rng, case, dtype)
            ref = R.conv2d_bwd_input(gy, w, x_shape, s, p, mode)
            mag = R.conv2d_bwd_input(np.abs(gy), np.abs(w), x_shape, s, p, mode)
            for v in K.VERSIONS:
                y = K.conv2d_bwd_input(gy, w, x_shape, s, p, mode, version=v)
                if K.plan(x_shape, w.shape, s, p, mode, v).runs == "winograd":   # own bound
                    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
                    vmag, terms = winograd_magnitude(gy, w_flip, k - 1 - p), winograd_error_terms(o, k)
                else:
                    vmag, terms = mag, o * k * k * (2 * p + 1) ** 2
                ok &= check_bound(f"{v} {np.dtype(dtype).name} {case}", y, ref, vmag, terms)
    ok &= check_cuda()
    finish(ok)


if __name__ == "__main__":
    main()
