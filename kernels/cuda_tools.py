"""What each kernel folder's check.py and bench.py use for the CUDA versions: a device to run
them on, outputs poisoned with NaN, and timing.

    dev = device()          # the GPU through CuPy when there is one, else the CPU emulator
    y = launch.conv2d_forward(dev.xp, dev.launch, dev.put(x), dev.put(w), 1, 1, "zeros",
                              "warp_tiles")
    dev.get(y)

Without a GPU the versions run through kernels/emulator (the same .cu text compiled as C++
with OpenMP, launched with the GPU's grids), so check.py validates every CUDA version on
any machine with g++. Emulated times say nothing about GPU speed: bench.py prints them
only to show the versions run, on a tiny layer, and times the real layers on a GPU.
"""
import time
from typing import Callable, NamedTuple

import numpy as np


class Poisoned:
    """An array namespace whose ``empty`` fills with NaN: an output element a kernel never
    writes shows up as a mismatch."""

    def __init__(self, xp):
        self._xp = xp

    def __getattr__(self, name):
        return getattr(self._xp, name)

    def empty(self, shape, dtype=float):
        return self._xp.full(shape, np.nan, dtype=dtype)


class Device(NamedTuple):
    name: str               # "gpu" or "emulator"
    xp: object              # Poisoned(cupy) or Poisoned(numpy)
    launch: Callable        # cuda_loader.launch or emulator.harness.launch
    put: Callable           # host array -> device array
    get: Callable           # device array -> host array


def device():
    """The GPU (CuPy) when one is there, else the CPU emulator when g++ is, else None."""
    from tinysr.backend import cuda_available
    if cuda_available():
        import cupy
        from tinysr.backend import cuda_loader
        return Device("gpu", Poisoned(cupy), cuda_loader.launch, cupy.asarray, cupy.asnumpy)
    from .emulator import harness
    if not harness.compiler_available():
        return None
    return Device("emulator", Poisoned(np), harness.launch, np.asarray, np.asarray)


def no_device_note():
    return "CUDA versions skipped: no GPU (CuPy) and no g++ for the emulator"


def time_cuda(dev, fns, repeats=10):
    """Median ms per callable. GPU: CUDA events (cupyx.profiler.benchmark) after warm-up.
    Emulator: one warm-up run (it compiles), then one timed run, wall clock."""
    out = {}
    for k, fn in fns.items():
        if dev.name == "gpu":
            from cupyx.profiler import benchmark
            r = benchmark(fn, n_repeat=repeats, n_warmup=3)
            out[k] = 1e3 * float(np.median(r.gpu_times[0]))
        else:
            fn()
            t0 = time.perf_counter()
            fn()
            out[k] = 1e3 * (time.perf_counter() - t0)
    return out


# bench.py's layers for the CUDA versions: the issue-4 layers on a GPU (cpu_tools.LAYERS);
# through the emulator, one tiny layer (N, C, H, O, k, padding) so the run stays short
EMULATED_LAYER = {"tiny 8->8 3x3 (emulated)": (2, 8, 12, 8, 3, 1)}
