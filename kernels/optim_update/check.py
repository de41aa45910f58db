"""Optimiser updates against the float64 reference: the CPU (Numba) version, then the CUDA
versions on the GPU, or through the CPU emulator without one.
python -m tinysr.kernels.optim_update.check

Three steps of SGD (momentum, weight decay) and, separately, three of Adam, in float32 and
float64, from the same (rounded) start as the reference. Tolerance, elementwise:
|p - ref| <= (R * steps + 2) * u * M, u = 2^-24 or 2^-53, where R counts the roundings in one
step (SGD 6: d, buf, p; Adam 20: d, m, v, the bias corrections, sqrt, eps, the quotient, p)
and M is the magnitude of p's history: |p0| plus every step's |update| computed with
absolute values (|g| + wd |p|, momentum and first moment of those), so cancellation cannot
hide an error. The loop reference is checked against the vectorised one first. Exits with
status 1 on any failure."""
import numpy as np

from ..cpu_tools import check_bound, finish
from ..cuda_tools import device, no_device_note
from . import launch as L
from . import optim_update_numba as K
from . import reference as R

LR, MOMENTUM, WD, STEPS = 0.1, 0.9, 1e-3, 3
A_LR, B1, B2, EPS, A_WD = 1e-3, 0.9, 0.999, 1e-8, 1e-2


def sgd_magnitude(p0, g):
    mag, buf = np.abs(p0), np.zeros_like(p0)
    for _ in range(STEPS):
        buf = MOMENTUM * buf + np.abs(g) + WD * mag
        mag = mag + LR * buf
    return mag


def adam_magnitude(p0, g, v_hats):
    """v_hat (positive sums, accurate to a few u) is taken from the reference run."""
    mag, m = np.abs(p0), np.zeros_like(p0)
    for step, v_hat in enumerate(v_hats, start=1):
        m = B1 * m + (1 - B1) * (np.abs(g) + A_WD * mag)
        mag = mag + A_LR * (m / (1 - B1 ** step)) / (np.sqrt(v_hat) + EPS)
    return mag


def check_steps(name, p0, g, sgd_step, adam_step, put=np.asarray, get=np.asarray):
    """STEPS of sgd_step(p, g, buf) and of adam_step(p, g, m, v, step), in float32 and
    float64, against the reference from the same rounded start."""
    ok = True
    for dtype in (np.float32, np.float64):
        label = f"{name} {np.dtype(dtype).name}"
        p_in, g_in = p0.astype(dtype), g.astype(dtype)
        start, grad = p_in.astype(np.float64), g_in.astype(np.float64)   # the same numbers

        p, buf, gd = put(p_in.copy()), put(np.zeros(p0.shape, dtype)), put(g_in)
        q, qbuf = start.copy(), np.zeros(p0.shape)
        for _ in range(STEPS):
            sgd_step(p, gd, buf)
            R.sgd(q, grad, qbuf, LR, MOMENTUM, WD)
        ok &= check_bound(f"sgd  {label}, {STEPS} steps", get(p), q, sgd_magnitude(start, grad),
                          6 * STEPS)

        p, m, v = put(p_in.copy()), put(np.zeros(p0.shape, dtype)), put(np.zeros(p0.shape, dtype))
        q, qm, qv, v_hats = start.copy(), np.zeros(p0.shape), np.zeros(p0.shape), []
        for step in range(1, STEPS + 1):
            adam_step(p, gd, m, v, step)
            R.adam(q, grad, qm, qv, step, A_LR, B1, B2, EPS, A_WD)
            v_hats.append(qv / (1 - B2 ** step))
        ok &= check_bound(f"adam {label}, {STEPS} steps", get(p), q,
                          adam_magnitude(start, grad, v_hats), 20 * STEPS)
    return ok


def check_cuda(p0, g):
    dev = device()
    if dev is None:
        print(no_device_note())
        return True
    ok = True
    for v in L.ENTRIES:
        ok &= check_steps(
            f"{dev.name} {v}", p0, g,
            lambda p, g, buf: L.sgd_step(dev.xp, dev.launch, p, g, buf, LR, MOMENTUM, WD, v),
            lambda p, g, m, w, step: L.adam_step(dev.xp, dev.launch, p, g, m, w, step, A_LR,
                                                 B1, B2, EPS, A_WD, v),
            dev.put, dev.get)
    return ok


def main():
    rng = np.random.default_rng(0)
    ok = True
    p0, g = rng.standard_normal((64, 32, 3, 3)), rng.standard_normal((64, 32, 3, 3))
    a, b = p0.copy(), p0.copy()
    ba, bb = np.zeros_like(a), np.zeros_like(a)
    R.sgd_loops(a, g, ba, LR, MOMENTUM, WD)
    R.sgd(b, g, bb, LR, MOMENTUM, WD)
    ok &= check_bound("reference: sgd loops vs vectorised", a, b, sgd_magnitude(p0, g), 2 * 6)
    ok &= check_steps(K.DEFAULT_VERSION, p0, g,
                      lambda p, g, buf: K.sgd_step(p, g, buf, LR, MOMENTUM, WD),
                      lambda p, g, m, v, step: K.adam_step(p, g, m, v, step, A_LR, B1, B2, EPS,
                                                           A_WD))
    ok &= check_cuda(p0, g)
    finish(ok)


if __name__ == "__main__":
    main()
