"""What every kernel folder's check.py and bench.py share: the error-bound check and
interleaved timing (cuda_tools.py adds the device for the CUDA versions). Run a folder's
scripts as modules, e.g.

    python -m tinysr.kernels.conv2d_fwd.check
    python -m tinysr.kernels.conv2d_fwd.bench

On a loaded machine wall-clock times say more about the other processes than about the
kernel. TINYSR_BENCH_CLOCK=cpu times with the process CPU clock instead; together with
NUMBA_NUM_THREADS=1 that is the CPU time one core spends per call, which hardly moves when
other processes compete for the cores (docs/kernels.md, Part 1, uses this):

    NUMBA_NUM_THREADS=1 TINYSR_BENCH_CLOCK=cpu python -m tinysr.kernels.conv2d_fwd.bench
"""
import os
import sys
import time

import numpy as np

UNIT = {np.dtype(np.float32): 2.0 ** -24, np.dtype(np.float64): 2.0 ** -53}


def check_bound(name, got, ref, magnitude, terms):
    """|got - ref| <= (terms + 2) * u * magnitude, elementwise; print the worst index."""
    return check_within(name, got, ref, (terms + 2) * UNIT[np.dtype(got.dtype)] * magnitude)


def check_within(name, got, ref, bound):
    """|got - ref| <= bound, elementwise (an unwritten NaN fails); print the worst index."""
    got64 = np.asarray(got).astype(np.float64)
    ratio = np.abs(got64 - ref) / (bound + 1e-300)
    ratio[~np.isfinite(got64)] = np.inf
    worst = np.unravel_index(np.argmax(ratio), ratio.shape)
    ok = bool(np.all(ratio <= 1))
    bad = np.argwhere(ratio > 1)[:3]
    print(f"{'ok  ' if ok else 'FAIL'} {name:48s} worst err/bound {ratio[worst]:.3f} at {worst}"
          + ("" if ok else f"; first mismatches {bad.tolist()}"))
    return ok


def check_equal(name, got, ref):
    """Exact agreement, for kernels that only move values (im2col): tolerance 0."""
    diff = np.abs(got.astype(np.float64) - ref)
    diff[~np.isfinite(got)] = np.inf
    ok = bool(np.all(diff == 0))
    print(f"{'ok  ' if ok else 'FAIL'} {name:48s} max |err| {diff.max():.1e} (tolerance 0)")
    return ok


def finish(ok):
    """Print the verdict; exit with status 1 on any failure, so scripts and CI can rely on it."""
    print("all ok" if ok else "FAILURES")
    if not ok:
        sys.exit(1)


def time_versions(fns, repeats=5, iters=3):
    """Median ms per callable, interleaved (a, b, c, a, b, c, ...) so load changes hit all."""
    for fn in fns.values():
        fn()                                                 # compile, warm caches
    clock = time.process_time if os.environ.get("TINYSR_BENCH_CLOCK") == "cpu" else time.perf_counter
    samples = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = clock()
            for _ in range(iters):
                fn()
            samples[k].append((clock() - t0) / iters)
    return {k: 1e3 * float(np.median(v)) for k, v in samples.items()}


LAYERS = {   # name: (N, C, H, O, k, padding), the benchmark layers of docs/benchmarks.md
    "SRCNN conv1 1->64 9x9": (128, 1, 33, 64, 9, 0),
    "SRCNN conv2 64->32 1x1": (128, 64, 25, 32, 1, 0),
    "SRCNN conv2 64->32 5x5": (128, 64, 25, 32, 5, 0),
    "SRCNN conv3 32->1 5x5": (128, 32, 25, 1, 5, 0),
    "VDSR 64->64 3x3 pad 1": (64, 64, 41, 64, 3, 1),
}
