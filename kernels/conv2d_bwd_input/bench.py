"""Time every version of conv2d backward-input on the issue-4 layers (float32), interleaved:
the CPU (Numba) versions, then the CUDA versions (on a GPU: the same layers, CUDA events;
without one, through the emulator on a tiny layer, which shows they run, not how fast).
python -m tinysr.kernels.conv2d_bwd_input.bench"""
import numpy as np

from ..cpu_tools import LAYERS, time_versions
from ..cuda_tools import EMULATED_LAYER, device, no_device_note, time_cuda
from . import conv2d_bwd_input_numba as K
from . import launch as L


def bench_cuda(rng):
    dev = device()
    if dev is None:
        print(no_device_note())
        return
    layers = LAYERS if dev.name == "gpu" else EMULATED_LAYER
    print(f"\nCUDA versions ({dev.name})")
    width = 16 if dev.name == "gpu" else 10
    print(f"{'layer':28s} " + " ".join(f"{v:>{width}s}" for v in L.ENTRIES))
    for name, (n, c, h, o, k, p) in layers.items():
        ho = h + 2 * p - k + 1
        w = dev.put(rng.standard_normal((o, c, k, k), dtype=np.float32))
        gy = dev.put(rng.standard_normal((n, o, ho, ho), dtype=np.float32))
        flops = 2.0 * n * o * c * k * k * ho * ho
        ms = time_cuda(dev, {v: (lambda v=v: L.conv2d_backward_input(
            dev.xp, dev.launch, gy, w, (n, c, h, h), 1, p, "zeros", v)) for v in L.ENTRIES})
        rate = (lambda v: f" {flops / ms[v] / 1e6:4.0f}GF") if dev.name == "gpu" else (lambda v: "")
        print(f"{name:28s} " + " ".join(f"{ms[v]:8.2f}ms{rate(v)}" for v in L.ENTRIES))


def main():
    rng = np.random.default_rng(0)
    print(f"{'layer':28s} " + " ".join(f"{v:>14s}" for v in K.VERSIONS if v != "direct"))
    for name, (n, c, h, o, k, p) in LAYERS.items():
        x = rng.standard_normal((n, c, h, h), dtype=np.float32)
        w = rng.standard_normal((o, c, k, k), dtype=np.float32)
        ho = h + 2 * p - k + 1
        flops = 2.0 * n * o * c * k * k * ho * ho
        gy = rng.standard_normal((n, o, ho, ho), dtype=np.float32)
        fns = {v: (lambda v=v: K.conv2d_bwd_input(gy, w, x.shape, 1, p, version=v))
               for v in K.VERSIONS if v != "direct"}
        ms = time_versions(fns)
        print(f"{name:28s} " + " ".join(f"{ms[v]:7.1f}ms {flops / ms[v] / 1e6:3.0f}GF" for v in fns))
    bench_cuda(rng)


if __name__ == "__main__":
    main()
