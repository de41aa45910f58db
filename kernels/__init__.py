"""tinysr.kernels: one folder per kernel (CUDA source, Numba twin, reference, check, bench).

Import it as ``tinysr.kernels`` (``python -m tinysr.kernels.conv2d_fwd.check``), never as a
top-level ``kernels`` package from the repository root: Numba keys its on-disk cache by
source file, so entries compiled under the module name ``kernels.*`` would later be loaded
by ``tinysr.kernels`` runs and fail there with "No module named 'kernels'".
"""
if __name__ != "tinysr.kernels":
    raise ImportError(
        f"the kernel folders were imported as {__name__!r}; import them as tinysr.kernels "
        "(e.g. python -m tinysr.kernels.conv2d_fwd.check), so that Numba's cache stays valid")
