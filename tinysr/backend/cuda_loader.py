"""Compile tinysr's hand-written CUDA kernels through CuPy, and launch them safely.

The kernels live as ``.cu`` text in the ``tinysr.kernels`` package (the repository's
``kernels/`` folder). Everything about ONE kernel (its files, its versions and their
entries, each entry's signature, its default version, its launch plan) lives in its folder:
``kernels/<name>/launch.py`` (and ``versions.py``, which names the versions on both sides).
This module only loads and launches:

1. read the kernel's ``.cu`` text and prepend ``common.cuh`` (so editing the shared header
   changes the source CuPy hashes, and its compile cache never goes stale);
2. compile it with ``cupy.RawModule(code=..., name_expressions=[...])``, asking only for
   the template instantiations of ONE version at ONE float type (compiling is lazy: a
   version nobody launches is never compiled);
3. cache the module per (kernel, version, dtype, device);
4. before every launch, check each argument against the entry's declared signature:
   arrays must be CuPy arrays of the right dtype and C-contiguous, ints become np.int32,
   float scalars become the kernel's float type. CuPy itself checks nothing: a float64
   array handed to a float kernel would silently read garbage.

``KERNELS``, ``SIGNATURES`` and ``DEFAULT_VERSION`` gather the folders' declarations into
plain data that the CPU emulator (kernels/emulator/harness.py) and the compile test read
too, so the GPU path, the emulator and the tests can never disagree about what a kernel is
called or takes. This module imports CuPy only inside the functions that need it.
"""
import hashlib
import importlib
import importlib.resources
import pathlib

import numpy as np

# The kernel folders with CUDA code, in the order their programs are listed.
KERNEL_NAMES = ("conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_weight", "bias_act",
                "optim_update")
LAUNCH = {k: importlib.import_module(f"tinysr.kernels.{k}.launch") for k in KERNEL_NAMES}

# kernel -> {"file": its .cu files, compiled together in order,
#            "versions": {version name: entry points compiled together},
#            "helpers": {helper program: entry points}}: the helpers ("fold", "reduce") are
# small kernels every version of a pass may launch, compiled as programs of their own.
KERNELS = {k: {"file": tuple(m.FILES), "versions": dict(m.ENTRIES), "helpers": dict(m.HELPERS)}
           for k, m in LAUNCH.items()}
SIGNATURES = {e: sig for m in LAUNCH.values() for e, sig in m.SIGNATURES.items()}
# What the library runs: each folder's versions.DEFAULT["cuda"] (change it there).
DEFAULT_VERSION = {k: m.DEFAULT_VERSION for k, m in LAUNCH.items()}


def versions(kernel):
    """The CUDA versions of a kernel, in the .cu ladder's order (helpers excluded)."""
    return tuple(KERNELS[kernel]["versions"])


def programs(kernel):
    """{version or helper: entries}: every program of a kernel, helpers included."""
    return {**KERNELS[kernel]["versions"], **KERNELS[kernel]["helpers"]}


CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def kernel_dir():
    """The folder holding common.cuh and the kernel folders (the tinysr.kernels package)."""
    try:
        return importlib.resources.files("tinysr.kernels")
    except (ModuleNotFoundError, TypeError):
        # A development tree where tinysr.kernels is not (yet) mapped: ../../kernels
        here = pathlib.Path(__file__).resolve().parents[2] / "kernels"
        if (here / "common.cuh").is_file():
            return here
        raise


def read_text(relative):
    node = kernel_dir()
    for part in relative.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


def source(kernel):
    """common.cuh followed by the kernel's .cu text (its files in order): what NVRTC (and
    the emulator) compile."""
    files = KERNELS[kernel]["file"]
    return "\n".join([read_text("common.cuh")] + [read_text(f) for f in files])


def entries(kernel, version):
    """The entries compiled together for one version (or helper program) of a kernel."""
    progs = programs(kernel)
    if version not in progs:
        raise ValueError(f"{kernel} has no CUDA version {version!r}; choose one of "
                         f"{', '.join(versions(kernel))}")
    return progs[version]


def name_expression(entry, dtype):
    return f"{entry}<{CTYPES[np.dtype(dtype)]}>"


def check_args(entry, dtype, args, is_array, is_contiguous):
    """Match ``args`` to SIGNATURES[entry] for float type ``dtype``; return them converted.

    ``is_array``/``is_contiguous`` say what an acceptable array is for the caller
    (CuPy arrays on the GPU path, NumPy arrays in the emulator).
    """
    dtype = np.dtype(dtype)
    sig = SIGNATURES[entry]
    if len(args) != len(sig):
        raise TypeError(f"{entry}: expected {len(sig)} arguments, got {len(args)}")
    out = []
    for i, (kind, a) in enumerate(zip(sig, args)):
        if kind.endswith("T*"):
            if not is_array(a):
                raise TypeError(f"{entry} argument {i}: expected an array, got {type(a).__name__}")
            if a.dtype != dtype:
                raise TypeError(f"{entry} argument {i}: dtype {a.dtype}, kernel wants {dtype}")
            if not is_contiguous(a):
                raise ValueError(f"{entry} argument {i}: array is not C-contiguous")
            out.append(a)
        elif kind == "const double*":        # a float64 table whatever T is (v6's matrices)
            if not is_array(a) or a.dtype != np.float64 or not is_contiguous(a):
                raise TypeError(f"{entry} argument {i}: expected a C-contiguous float64 array")
            out.append(a)
        elif kind == "int":
            if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                raise TypeError(f"{entry} argument {i}: expected an int, got {a!r}")
            if not -2**31 <= int(a) < 2**31:
                raise OverflowError(f"{entry} argument {i}: {a} does not fit in int32")
            out.append(np.int32(a))
        elif kind == "T":
            out.append(dtype.type(a))
        else:
            raise AssertionError(f"unknown signature kind {kind!r}")
    return out


# ------------------------------------------------------------------ the CuPy side
_modules = {}


def compile_options():
    return ("-std=c++17",)


def get_module(kernel, version, dtype):
    """The compiled RawModule for one (kernel, version, dtype) on the current device."""
    import cupy
    dtype = np.dtype(dtype)
    key = (kernel, version, dtype.str, cupy.cuda.Device().id)
    mod = _modules.get(key)
    if mod is None:
        names = [name_expression(e, dtype) for e in entries(kernel, version)]
        mod = cupy.RawModule(code=source(kernel), options=compile_options(),
                             name_expressions=names)
        mod.compile()   # compile now, so errors name the kernel and not a later launch
        _modules[key] = mod
    return mod


def _is_cupy_array(a):
    import cupy
    return isinstance(a, cupy.ndarray)


def _is_c_contiguous(a):
    return a.flags.c_contiguous


def launch(kernel, version, entry, dtype, grid, block, *args):
    """Check ``args`` against the entry's signature and launch it on the current stream."""
    checked = check_args(entry, dtype, args, _is_cupy_array, _is_c_contiguous)
    for g in tuple(grid) + tuple(block):
        if g < 1:
            raise ValueError(f"{entry}: empty launch grid {grid} block {block}")
    fn = get_module(kernel, version, dtype).get_function(name_expression(entry, dtype))
    fn(tuple(int(g) for g in grid), tuple(int(b) for b in block), tuple(checked))


_sm_counts = {}


def sm_count():
    """Streaming multiprocessors of the current device (cached per device id). The launch
    plans read it through ``launch.sm_count`` to size grids to whole waves; a launcher
    without that attribute (the CPU emulator) gets launch_common.DEFAULT_SMS."""
    import cupy
    dev = cupy.cuda.Device()
    n = _sm_counts.get(dev.id)
    if n is None:
        props = cupy.cuda.runtime.getDeviceProperties(dev.id)
        n = _sm_counts[dev.id] = int(props["multiProcessorCount"])
    return n


launch.sm_count = sm_count


def source_digest(kernel):
    return hashlib.sha256(source(kernel).encode()).hexdigest()[:16]
