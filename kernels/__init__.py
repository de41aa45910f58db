"""tinysr.kernels: one folder per kernel (CUDA source, Numba twin, reference, check, bench)."""
