"""Helpers shared by the CPU (Numba) kernels: work buffers, BLAS thread pinning, and (from
conv_common.py) conv geometry and padding codes.

Every kernel folder imports from here, so the index math is written once.
"""
import contextlib
import os

# Numba's OpenMP threads spin after each parallel loop by default; on a 2-core machine the
# spinning thread steals the core that the next NumPy call or a BLAS thread needs. Passive
# waiting costs ~microseconds per launch. Must be set before Numba starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402  (after the environment setting above)
import numpy as np

# Conv geometry (output size, padding codes) is shared with the CUDA plans and the NumPy
# reference: conv_common.py. Re-exported here for the Numba kernels.
from .conv_common import REPLICATE, ZEROS, conv_out, padding_code  # noqa: E402,F401


def empty(shape, dtype):
    """Every output and work buffer of the Python-side wrappers comes from here, so the tests
    can swap in a NaN-filled allocator ("poison") and catch elements a kernel never wrote."""
    return np.empty(shape, dtype=dtype)


class Workspace:
    """Scratch buffers kept between calls, one per name.

    A training step asks for the same im2col buffer every iteration. Allocating it afresh
    each time costs page faults (the kernel hands out zeroed pages one 4 KiB fault at a
    time, and faults are slow on a VM); reusing it costs nothing. A buffer only grows.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype):
        size = int(np.prod(shape))
        dtype = np.dtype(dtype)
        buf = self._buffers.get((name, dtype))
        if buf is None or buf.size < size:
            buf = empty(size, dtype)
            self._buffers[(name, dtype)] = buf
        return buf[:size].reshape(shape)

    def clear(self):
        self._buffers.clear()


WORKSPACE = Workspace()


# ---------------------------------------------------------------- threads and BLAS
# The conv kernels parallelise over images with Numba threads and call a single-threaded
# sgemm per image from inside that loop (Numba's np.dot calls SciPy's OpenBLAS). If that
# OpenBLAS also started its own threads we would run 2 x 2 threads on 2 cores, and a
# threaded OpenBLAS degrades badly when a core is busy: on this machine a 64-channel conv
# fell from ~120 to ~6 GFLOP/s. So SciPy's OpenBLAS is held at one thread while our
# kernels run, and restored afterwards. NumPy's own BLAS (a separate library) is untouched.
_openblas_setters = None


def _scipy_openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS bundled with SciPy, or None."""
    global _openblas_setters
    if _openblas_setters is None:
        _openblas_setters = ()
        try:
            import ctypes
            import glob
            import os
            import scipy
            libdir = os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs")
            for path in glob.glob(os.path.join(libdir, "libscipy_openblas*")):
                lib = ctypes.CDLL(path)
                if hasattr(lib, "scipy_openblas_set_num_threads"):
                    _openblas_setters = (lib.scipy_openblas_get_num_threads,
                                         lib.scipy_openblas_set_num_threads)
                    break
        except (ImportError, OSError):   # no SciPy wheel OpenBLAS: nothing to pin
            pass
    return _openblas_setters or None


@contextlib.contextmanager
def one_blas_thread():
    setters = _scipy_openblas()
    if setters is None:
        yield
        return
    get, set_ = setters
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


def thread_count():
    """How many parallel parts a kernel splits the batch into (one per Numba thread)."""
    return numba.get_num_threads()
