"""Fused Adam vs NumPy's line-by-line update on VDSR's 665k parameters, then the CUDA
versions (on a GPU, CUDA events; without one, through the emulator, which shows they run,
not how fast). python -m tinysr.kernels.optim_update.bench"""
import numpy as np

from ..cpu_tools import time_versions
from ..cuda_tools import device, no_device_note, time_cuda
from . import launch as L
from . import optim_update_numba as K
from ...backend import numpy_ref


def bench_cuda(p, g):
    dev = device()
    if dev is None:
        print(no_device_note())
        return
    if dev.name != "gpu":
        p, g = p[:5000], g[:5000]
    P, G, M, V = dev.put(p), dev.put(g), dev.put(np.zeros_like(p)), dev.put(np.zeros_like(p))
    print(f"\nCUDA versions ({dev.name}), {p.size} parameters")
    fns = {}
    for v in L.ENTRIES:
        fns[f"{v} adam"] = lambda v=v: L.adam_step(dev.xp, dev.launch, P, G, M, V, 3, 1e-4,
                                                   0.9, 0.999, 1e-8, 0.0, v)
        fns[f"{v} sgd"] = lambda v=v: L.sgd_step(dev.xp, dev.launch, P, G, M, 1e-4, 0.9, 1e-4, v)
    for k, t in time_cuda(dev, fns).items():
        print(f"{k:18s} {t:7.3f} ms")


def main():
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(665_000, dtype=np.float32), rng.standard_normal(665_000, dtype=np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    ms = time_versions({"numba adam": lambda: K.adam_step(p, g, m, v, 3, 1e-4),
                        "numpy adam": lambda: numpy_ref.adam_step(p, g, m, v, 3, 1e-4),
                        "numba sgd": lambda: K.sgd_step(p, g, m, 1e-4, 0.9, 1e-4),
                        "numpy sgd": lambda: numpy_ref.sgd_step(p, g, m, 1e-4, 0.9, 1e-4)})
    for k, t in ms.items():
        print(f"{k:11s} {t:6.3f} ms")
    bench_cuda(p, g)


if __name__ == "__main__":
    main()
