"""Fused Adam vs NumPy's line-by-line update on VDSR's 665k parameters.
python -m tinysr.kernels.optim_update.bench"""
import numpy as np

from ..cpu_tools import time_versions
from . import optim_update_numba as K
from ...backend import numpy_ref


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


if __name__ == "__main__":
    main()
