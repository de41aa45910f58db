"""Run tinysr's CUDA kernels on the CPU: the same .cu text, compiled as C++ with OpenMP.

    lib = build("conv2d_fwd")                 # g++ -fopenmp, cached by source hash
    launch("conv2d_fwd", "reg_tiles", "conv2d_fwd_v3", np.float32, grid, block, *args)

``launch`` has the signature of ``tinysr.backend.cuda_loader.launch`` and checks its
arguments against the same SIGNATURES, so the launch plans of the kernel folders
(``kernels/<name>/launch.py``) run unchanged on NumPy arrays:

    from tinysr.kernels.conv2d_fwd import launch as conv2d_fwd
    y = conv2d_fwd.conv2d_forward(numpy, launch, x, w, 1, 1, "zeros", "reg_tiles")

How a block runs (cuda_shim.h): its threads are the threads of one OpenMP parallel region,
__syncthreads() is an OpenMP barrier, __shared__ is one function-local static per team,
blocks run one after another. What this cannot show: README.md in this folder.

The build cache is $TINYSR_CACHE/emu (default ~/.cache/tinysr/emu). OpenMP reads its
settings when the library loads, so this module sets OMP_WAIT_POLICY=passive first
(256 spinning threads on 2 cores would crawl) unless the caller chose otherwise.
"""
import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess
import threading

import numpy as np

from tinysr.backend import cuda_loader

HERE = pathlib.Path(__file__).resolve().parent
CXX = os.environ.get("CXX", "g++")
CXXFLAGS = ["-O1", "-fopenmp", "-std=c++17", "-shared", "-fPIC", "-Wno-unknown-pragmas",
            "-ffp-contract=off"]
# TINYSR_EMU_SANITIZE=1: build with AddressSanitizer and UndefinedBehaviorSanitizer, so a
# kernel that reads or writes outside its arrays (NumPy's buffers, __shared__ tiles,
# register arrays) or loads a 16-byte vector from a misaligned address stops with a
# report. The Python process must preload libasan (tests/test_cuda_sanitized.py does).
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                  "-fno-omit-frame-pointer", "-g"]
if os.environ.get("TINYSR_EMU_SANITIZE"):
    CXXFLAGS = CXXFLAGS + SANITIZE_FLAGS
_CTYPE_OF = {"int": ctypes.c_int32}
_libs = {}
_lock = threading.Lock()


def cache_dir():
    root = os.environ.get("TINYSR_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "tinysr")
    d = pathlib.Path(root) / "emu"
    d.mkdir(parents=True, exist_ok=True)
    return d


def compiler_available():
    return shutil.which(CXX) is not None


def _c_type(kind, ctype):
    return kind.replace("T", ctype)


def wrapper_name(entry, ctype):
    return f"emu_{entry}_{ctype}"


def translation_unit(kernel):
    """cuda_shim.h + common.cuh + the kernel's .cu + one extern "C" launcher per entry
    and float type. The .cu text is exactly what the GPU compiles."""
    parts = [(HERE / "cuda_shim.h").read_text(), cuda_loader.source(kernel), "\n"]
    for names in cuda_loader.programs(kernel).values():
        for entry in names:
            sig = cuda_loader.SIGNATURES[entry]
            for ctype in ("float", "double"):
                params = ", ".join(f"{_c_type(k, ctype)} a{i}" for i, k in enumerate(sig))
                call = ", ".join(f"a{i}" for i in range(len(sig)))
                parts.append(
                    f'extern "C" int {wrapper_name(entry, ctype)}(unsigned gx, unsigned gy, '
                    f"unsigned gz, unsigned bx, unsigned by, unsigned bz, {params}) {{\n"
                    f"  return tinysr_emu::launch(dim3{{gx, gy, gz}}, dim3{{bx, by, bz}}, "
                    f"[&]() {{ {entry}<{ctype}>({call}); }});\n}}\n")
    return "".join(parts)


def build(kernel):
    """Compile (or reuse) the emulation library of one kernel file; returns the CDLL."""
    with _lock:
        if kernel in _libs:
            return _libs[kernel]
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        text = translation_unit(kernel)
        digest = hashlib.sha256((text + " ".join(CXXFLAGS)).encode()).hexdigest()[:16]
        d = cache_dir()
        lib_path = d / f"{kernel}-{digest}.so"
        if not lib_path.exists():
            src = d / f"{kernel}-{digest}.cpp"
            src.write_text(text)
            tmp = d / f"{kernel}-{digest}.{os.getpid()}.so"
            proc = subprocess.run([CXX, *CXXFLAGS, str(src), "-o", str(tmp)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"emulator build of {kernel} failed:\n{proc.stderr[-4000:]}")
            os.replace(tmp, lib_path)
        lib = ctypes.CDLL(str(lib_path))
        _libs[kernel] = lib
        return lib


def _is_numpy_array(a):
    return isinstance(a, np.ndarray)


def _is_c_contiguous(a):
    return a.flags.c_contiguous


def launch(kernel, version, entry, dtype, grid, block, *args):
    """Run one kernel launch on the CPU; same arguments as cuda_loader.launch."""
    dtype = np.dtype(dtype)
    ctype = cuda_loader.CTYPES[dtype]
    checked = cuda_loader.check_args(entry, dtype, args, _is_numpy_array, _is_c_contiguous)
    sig = cuda_loader.SIGNATURES[entry]
    lib = build(kernel)
    fn = getattr(lib, wrapper_name(entry, ctype))
    scalar = ctypes.c_float if ctype == "float" else ctypes.c_double
    cargs = []
    for kind, a in zip(sig, checked):
        if kind.endswith("*"):
            cargs.append(ctypes.c_void_p(a.ctypes.data))
        elif kind == "int":
            cargs.append(ctypes.c_int32(int(a)))
        else:
            cargs.append(scalar(float(a)))
    dims = [int(g) for g in tuple(grid) + tuple(block)]
    if len(dims) != 6 or min(dims) < 1:
        raise ValueError(f"{entry}: bad launch grid {grid} block {block}")
    if dims[3] * dims[4] * dims[5] > 1024:
        raise ValueError(f"{entry}: {dims[3:]} is more than 1024 threads per block")
    fn.restype = ctypes.c_int
    rc = fn(*(ctypes.c_uint(g) for g in dims), *cargs)
    if rc != 0:
        raise RuntimeError(f"{entry}: OpenMP did not provide {dims[3] * dims[4] * dims[5]} "
                           "threads for one block (check OMP_THREAD_LIMIT)")
