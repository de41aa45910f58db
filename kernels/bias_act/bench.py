"""Fused bias+ReLU vs NumPy's unfused passes, SRCNN conv1 activation (128x64x25x25 float32),
then the CUDA versions (on a GPU: a VDSR activation, CUDA events; without one, through the
emulator on a small one, which shows they run, not how fast).
python -m tinysr.kernels.bias_act.bench"""
import numpy as np

from ..cpu_tools import time_versions
from ..cuda_tools import device, no_device_note, time_cuda
from . import bias_act_numba as K
from . import launch as L


def bench_cuda(rng):
    dev = device()
    if dev is None:
        print(no_device_note())
        return
    shape = (64, 64, 41, 41) if dev.name == "gpu" else (2, 8, 12, 12)
    x = dev.put(rng.standard_normal(shape, dtype=np.float32))
    b = dev.put(rng.standard_normal(shape[1], dtype=np.float32))
    print(f"\nCUDA versions ({dev.name}), {'x'.join(map(str, shape))}")
    y = L.bias_act_forward(dev.xp, dev.launch, x, b, "relu", 0.0, L.DEFAULT_VERSION)
    fns = {}
    for v in L.ENTRIES:
        fns[f"{v} fwd"] = lambda v=v: L.bias_act_forward(dev.xp, dev.launch, x, b, "relu", 0.0, v)
        fns[f"{v} bwd"] = lambda v=v: L.bias_act_backward(dev.xp, dev.launch, x, y, "relu", 0.0, v)
    nbytes = 4 * int(np.prod(shape))
    for k, ms in time_cuda(dev, fns).items():
        moved = (2 if k.endswith("fwd") else 3) * nbytes   # fwd: x, y; bwd: gy, y, gx
        print(f"{k:20s} {ms:8.3f} ms" + (f"  {moved / ms / 1e6:7.1f} GB/s" if dev.name == "gpu" else ""))


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 64, 25, 25), dtype=np.float32)
    b = rng.standard_normal(64, dtype=np.float32)
    y = K.bias_act_forward(x, b, "relu")
    ms = time_versions({
        "numba fwd": lambda: K.bias_act_forward(x, b, "relu"),
        "numpy fwd": lambda: np.maximum(x + b[:, None, None], 0),
        "numba bwd": lambda: K.bias_act_backward(x, y, "relu"),
        "numpy bwd": lambda: (lambda g: (g, g.sum(axis=(0, 2, 3))))(x * (y > 0)),
    })
    for k, v in ms.items():
        print(f"{k:10s} {v:6.2f} ms  {2 * x.nbytes / v / 1e6:5.1f} GB/s (one read + one write)")
    bench_cuda(rng)


if __name__ == "__main__":
    main()
