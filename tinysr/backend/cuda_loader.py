"""Compile tinysr's hand-written CUDA kernels through CuPy, and launch them safely.

The kernels live as ``.cu`` text in the ``tinysr.kernels`` package (the repository's
``kernels/`` folder). To run one:

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

``KERNELS``, ``SIGNATURES`` and ``DEFAULT_VERSION`` are plain data that the CPU emulator
(kernels/emulator/harness.py) and the compile test read too, so the GPU path, the
emulator and the tests can never disagree about what a kernel is called or takes.
This module imports CuPy only inside the functions that need it.
"""
import hashlib
import importlib
import importlib.resources
import pathlib

import numpy as np

# kernel -> {version: entry points compiled together}. Integer versions are the numbered
# v1..vN of the .cu file; string keys are helper kernels every version shares.
KERNELS = {
    "conv2d_fwd": {
        "file": ("conv2d_fwd/conv2d_fwd.cu", "conv2d_fwd/winograd.cu"),
        "versions": {1: ("conv2d_fwd_v1",), 2: ("conv2d_fwd_v2",), 3: ("conv2d_fwd_v3",),
                     4: ("conv2d_fwd_v4", "conv2d_fwd_v4_n128"), 5: ("conv2d_fwd_v5",),
                     6: ("conv2d_fwd_v6_filter", "conv2d_fwd_v6_input", "conv2d_fwd_v6_gemm",
                         "conv2d_fwd_v6_output")},
    },
    "conv2d_bwd_input": {
        "file": "conv2d_bwd_input/conv2d_bwd_input.cu",
        "versions": {1: ("conv2d_bwd_input_v1",), 2: ("conv2d_bwd_input_v2",),
                     3: ("conv2d_bwd_input_v3",),
                     4: ("conv2d_bwd_input_v4", "conv2d_bwd_input_v4_n128"),
                     5: ("conv2d_bwd_input_v5",),
                     6: (),    # the forward's v6 (Winograd) on gy: launch_geometry
                     "fold": ("conv2d_bwd_input_fold",)},
    },
    "conv2d_bwd_weight": {
        "file": ("conv2d_bwd_weight/conv2d_bwd_weight.cu",
                 "conv2d_bwd_weight/winograd_bwd_weight.cu"),
        "versions": {1: ("conv2d_bwd_weight_v1",), 2: ("conv2d_bwd_weight_v2",),
                     3: ("conv2d_bwd_weight_v3",), 4: ("conv2d_bwd_weight_v4",),
                     5: ("conv2d_bwd_weight_v5",),
                     # with the forward's input transform (conv2d_fwd v6): launch_geometry
                     6: ("conv2d_bwd_weight_v6_gy", "conv2d_bwd_weight_v6_gemm",
                         "conv2d_bwd_weight_v6_filter"),
                     "reduce": ("conv2d_bwd_weight_reduce",)},
    },
    "bias_act": {
        "file": "bias_act/bias_act.cu",
        "versions": {1: ("bias_act_fwd_v1", "bias_act_bwd_v1"),
                     2: ("bias_act_fwd_v2", "bias_act_bwd_v2"),
                     # v3 changes the backward only; its forward runs v2 (launch_geometry)
                     3: ("bias_act_bwd_v3", "bias_act_bwd_v3_reduce")},
    },
    "optim_update": {
        "file": "optim_update/optim_update.cu",
        "versions": {1: ("sgd_step_v1", "adam_step_v1"), 2: ("sgd_step_v2", "adam_step_v2")},
    },
}

# What the library runs. Change a number here (and nowhere else) to switch versions.
DEFAULT_VERSION = {"conv2d_fwd": 4, "conv2d_bwd_input": 4, "conv2d_bwd_weight": 4,
                   "bias_act": 2, "optim_update": 2}

# Versions whose float instantiations multiply on tensor cores with the 3xTF32 split
# (common.cuh section 7). Their float results carry a larger rounding bound.
TF32X3_VERSIONS = {"conv2d_fwd": {5}, "conv2d_bwd_input": {5}, "conv2d_bwd_weight": {5}}


def error_terms(kernel, version, dtype, terms):
    """The term count n of a test bound 2 n eps sum|a b| for a sum of `terms` products
    (eps = 2^-24 for float). Plain float: n = terms. 3xTF32 float: each product is off by
    up to about 3 * 2^-22 |ab| and the accumulators round three times a product, so
    n = 3 terms + 6."""
    tf32 = version in TF32X3_VERSIONS.get(kernel, ()) and np.dtype(dtype) == np.float32
    return 3 * terms + 6 if tf32 else terms


_CONV = ("const T*", "const T*", "T*") + ("int",) * 12   # N C H W O KH KW Ho Wo stride pad rep
_BWD_W = ("const T*", "const T*", "T*", "T*") + ("int",) * 14   # ... + splits, kchunk
SIGNATURES = {
    **{f"conv2d_fwd_v{v}": _CONV for v in (1, 2, 3, 4, 5)},
    "conv2d_fwd_v4_n128": _CONV,         # v4 on a 64 x 128 tile (launch_geometry.v4_fwd_tile)
    # v6, Winograd F(4x4, 3x3) (winograd.cu); mats: B^T, G, A^T in float64
    "conv2d_fwd_v6_filter": ("const T*", "const double*", "T*", "int", "int", "int"),   # R S flip
    "conv2d_fwd_v6_input": ("const T*", "const double*", "T*") + ("int",) * 8,  # N S H W pad rep th tw
    "conv2d_fwd_v6_gemm": ("const T*", "const T*", "T*", "int", "int", "int"),     # R K P
    "conv2d_fwd_v6_output": ("const T*", "const double*", "T*") + ("int",) * 6,  # N R Ho Wo th tw
    # gy, w, out, 12 conv ints, Hg, Wg, off (see conv2d_bwd_input.cu)
    **{f"conv2d_bwd_input_v{v}": _CONV + ("int",) * 3 for v in (1, 2, 3, 4, 5)},
    "conv2d_bwd_input_v4_n128": _CONV + ("int",) * 3,
    "conv2d_bwd_input_fold": ("const T*", "T*") + ("int",) * 5,     # N C H W pad
    **{f"conv2d_bwd_weight_v{v}": _BWD_W for v in (1, 2, 3, 4, 5)},
    "conv2d_bwd_weight_reduce": ("const T*", "const T*", "T*", "T*", "int", "int", "int"),
    # v6, the Winograd weight gradient (winograd_bwd_weight.cu)
    "conv2d_bwd_weight_v6_gy": ("const T*", "const double*", "T*") + ("int",) * 6,  # N R Ho Wo th tw
    "conv2d_bwd_weight_v6_gemm": ("const T*", "const T*", "T*") + ("int",) * 4,   # R S P kchunk
    "conv2d_bwd_weight_v6_filter": ("const T*", "const double*", "T*", "int", "int", "int"),
    # x, b, y, has_bias, act, slope, C, inner, total
    **{f"bias_act_fwd_v{v}": ("const T*", "const T*", "T*", "int", "int", "T",
                              "int", "int", "int") for v in (1, 2)},
    # gy, y, gx, gb, act, slope, N, C, inner
    **{f"bias_act_bwd_v{v}": ("const T*", "const T*", "T*", "T*", "int", "T",
                              "int", "int", "int") for v in (1, 2)},
    # ... + chunk (elements per split; splits = gridDim.y), then the partials' reduce
    "bias_act_bwd_v3": ("const T*", "const T*", "T*", "T*", "int", "T") + ("int",) * 4,
    "bias_act_bwd_v3_reduce": ("const T*", "T*", "int", "int"),            # part gb C splits
    # p, g, buf, n, has_buf, lr, momentum, weight_decay
    **{f"sgd_step_v{v}": ("T*", "const T*", "T*", "int", "int", "T", "T", "T") for v in (1, 2)},
    # p, g, m, v, n, lr, beta1, 1-beta1, beta2, 1-beta2, eps, weight_decay, 1-b1^t, 1-b2^t
    **{f"adam_step_v{v}": ("T*", "const T*", "T*", "T*", "int") + ("T",) * 9 for v in (1, 2)},
}

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
    files = (files,) if isinstance(files, str) else files
    return "\n".join([read_text("common.cuh")] + [read_text(f) for f in files])


def entries(kernel, version):
    return KERNELS[kernel]["versions"][version]


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
    without that attribute (the CPU emulator) gets launch_geometry.DEFAULT_SMS."""
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
