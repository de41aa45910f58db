"""Time every version of conv2d forward on the issue-4 layers (float32), interleaved.
python -m tinysr.kernels.conv2d_fwd.bench"""
import numpy as np

from ..cpu_tools import LAYERS, time_versions
from . import conv2d_fwd_numba as K


def main():
    rng = np.random.default_rng(0)
    print(f"{'layer':28s} " + " ".join(f"{v:>14s}" for v in K.VERSIONS if v != "v1"))
    for name, (n, c, h, o, k, p) in LAYERS.items():
        x = rng.standard_normal((n, c, h, h), dtype=np.float32)
        w = rng.standard_normal((o, c, k, k), dtype=np.float32)
        ho = h + 2 * p - k + 1
        flops = 2.0 * n * o * c * k * k * ho * ho
        fns = {v: (lambda v=v: K.conv2d_fwd(x, w, 1, p, version=v)) for v in K.VERSIONS if v != "v1"}
        ms = time_versions(fns)
        print(f"{name:28s} " + " ".join(f"{ms[v]:7.1f}ms {flops / ms[v] / 1e6:3.0f}GF" for v in fns))


if __name__ == "__main__":
    main()
