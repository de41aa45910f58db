"""Helpers shared by the CPU (Numba) kernels: work buffers, BLAS thread pinning, and (from
conv_common.py) conv geometry and padding codes.

Every kernel folder imports from here, so the index math is written once.
"""
import contextlib
import os
import sys
import threading

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
    can swap in a NaN-filled allocator ("poison") and catch elements a kernel never wrote.
    Large ones come from RECYCLER."""
    return RECYCLER.empty(shape, dtype)


class Recycler:
    """Large arrays whose memory is reused once nothing refers to them any more.

    glibc serves every allocation above 32 MiB with a fresh mmap and unmaps it on free, so
    each large output (a 64-channel 512x512 activation is 67 MB, a VDSR training batch's
    28 MB) came back as new zero pages, one 4 KiB page fault at a time (filling 600 MB:
    86 ms fresh against 37 ms reused, on this VM): a sixth of a VDSR inference. (PyTorch's
    "tuned" peer in benchmarks/bench_conv.py avoids the same cost with
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0.) So arrays of `min_bytes` or more are views of
    byte buffers this pool owns. A buffer is free when the pool's list holds the only
    reference to it: every NumPy view of an array refers to the array that owns the
    memory, so no view of a handed-out array, however derived, can outlive that test.
    A request takes the smallest free buffer of 1 to 2 times its size, else a new one;
    at most `keep_free` unused buffers are kept (the oldest go first)."""

    def __init__(self, min_bytes=1 << 22, keep_free=4):
        self.min_bytes = min_bytes
        self.keep_free = keep_free
        self._bufs = []                      # uint8 arrays that own their memory
        self._lock = threading.Lock()

    def _free(self):
        # references to a free buffer: the list's, and getrefcount's argument
        return [i for i in range(len(self._bufs)) if sys.getrefcount(self._bufs[i]) == 2]

    def empty(self, shape, dtype):
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(shape, dtype=dtype)
        with self._lock:
            free = self._free()
            fits = [i for i in free if nbytes <= self._bufs[i].nbytes <= 2 * nbytes]
            if fits:
                buf = self._bufs[min(fits, key=lambda i: self._bufs[i].nbytes)]
            else:
                for i in free[:max(0, len(free) - self.keep_free)][::-1]:
                    del self._bufs[i]
                buf = np.empty(nbytes, np.uint8)
                self._bufs.append(buf)
            return buf[:nbytes].view(dtype).reshape(shape)

    def clear(self):
        with self._lock:
            self._bufs.clear()


RECYCLER = Recycler()


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


# ---------------------------------------------------------------- work items
# The kernels used to give each thread whole images, one at a time. A training batch of
# 33x33 patches has plenty, but `tinysr upscale` runs ONE large image: one thread worked
# while the other idled, and the per-image buffers (a winograd V of 150 MB for a
# 64-channel 512x512 image) streamed through memory instead of staying in cache. And a
# batch of tiny images (the GAN discriminator's 4x4 maps) gave per-image GEMMs with 16
# columns that re-read the whole weight matrix for each image. So the parallel loops run
# over work items (first image, end image, first row, end row): a band of one image's
# rows when the image is large or the images too few for the threads, a group of whole
# images when they are small, one image otherwise (the training batches, as before).
BAND_BYTES = 1 << 21        # an item's working set, per thread: about one L2 (1-2 MiB)


def band_size(n_img, rows, row_bytes, parts, budget=None, min_rows=1):
    """Rows per band (bands of one image are equal but for the last): the whole image when
    it fits 4 * budget and the batch alone keeps `parts` threads busy; else the largest
    band within the budget (at least `min_rows`), cut further until the items are at least
    `parts` and split evenly. `budget`: BAND_BYTES when None (looked up at each call, so
    that tests can shrink it)."""
    budget = BAND_BYTES if budget is None else budget
    if rows * row_bytes <= 4 * budget and n_img >= parts:
        return rows
    band = max(min_rows, min(rows, budget // max(row_bytes, 1)))
    n_bands = -(-rows // band)
    n_bands = max(n_bands, -(-parts // n_img))          # enough items for every thread
    n_bands = min(n_bands, -(-rows // min_rows), rows)
    return -(-rows // n_bands)


def work_items(n_img, rows, row_bytes, parts, budget=None, want_rows=1, bands=True):
    """Work items as an (items, 4) int64 array of (first image, end image, first row, end
    row), and the rows per image the buffers need (`span`: the largest band, or `rows`).

    An image of more than 4 * `budget` bytes, or fewer images than `parts` threads: bands
    of one image (band_size, within `budget`). Otherwise whole images, in groups as large
    as it takes to reach `want_rows` rows per item (a GEMM wide enough to reuse its
    weights), within 16 * `budget` and leaving every thread an item. Bands and groups are
    split evenly. `bands=False` (the backward passes, whose bands would overlap): whole
    images always. `budget`: BAND_BYTES when None."""
    budget = BAND_BYTES if budget is None else budget
    image = rows * row_bytes
    if bands and (image > 4 * budget or n_img < parts):
        band = band_size(n_img, rows, row_bytes, parts, budget)
        per = -(-rows // band)
        n = np.repeat(np.arange(n_img, dtype=np.int64), per)
        r0 = np.tile(np.arange(per, dtype=np.int64) * band, n_img)
        return np.stack([n, n + 1, r0, np.minimum(r0 + band, rows)], axis=1), band
    group = min(-(-want_rows // rows), max(1, 16 * budget // max(image, 1)),
                -(-n_img // parts))
    n_groups = -(-n_img // max(group, 1))
    group = -(-n_img // n_groups)
    n0 = np.arange(n_groups, dtype=np.int64) * group
    return np.stack([n0, np.minimum(n0 + group, n_img), np.zeros_like(n0),
                     np.full_like(n0, rows)], axis=1), rows


def items_group(items):
    """The most images one item holds."""
    return int((items[:, 1] - items[:, 0]).max())
