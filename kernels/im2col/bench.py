"""im2col bandwidth on the SRCNN/VDSR layers. python -m tinysr.kernels.im2col.bench"""
import numpy as np

from ..cpu_tools import LAYERS, time_versions
from .im2col_numba import im2col


def main():
    rng = np.random.default_rng(0)
    for name, (n, c, h, o, k, p) in LAYERS.items():
        x = rng.standard_normal((n, c, h, h), dtype=np.float32)
        ho = h + 2 * p - k + 1
        cols = np.empty((n, c * k * k, ho * ho), np.float32)
        ms = time_versions({"im2col": lambda: im2col(x, k, k, 1, p, 0, cols)})["im2col"]
        print(f"{name:28s} {ms:7.1f} ms  {(cols.nbytes + x.nbytes) / ms / 1e6:5.1f} GB/s")


if __name__ == "__main__":
    main()
