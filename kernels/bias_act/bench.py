"""Fused bias+ReLU vs NumPy's unfused passes, SRCNN conv1 activation (128x64x25x25 float32).
python -m tinysr.kernels.bias_act.bench"""
import numpy as np

from ..cpu_tools import time_versions
from . import bias_act_numba as K


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


if __name__ == "__main__":
    main()
