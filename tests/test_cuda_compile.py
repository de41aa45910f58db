"""Every .cu compiles for the H100 (sm_90), on every CI run, without a GPU.

Each kernel file is compiled exactly as the loader sends it (common.cuh + the .cu text),
plus explicit instantiations of every entry for float and double, by
    nvcc -arch=sm_90 -cubin -Xptxas -v -std=c++17
and the ptxas report (registers, spills, shared memory per kernel) is printed into the
test output. Without nvcc it falls back to NVRTC from the nvidia-cuda-nvrtc wheel (no
register report), and without either it skips with the reason. Builds are cached in
$TINYSR_CACHE/nvcc by the hash of the source and the compiler version.
"""
import ctypes
import glob
import hashlib
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from tinysr.backend import cuda_loader

ARCH = "sm_90"
NVCC_FLAGS = [f"-arch={ARCH}", "-cubin", "-Xptxas", "-v", "-std=c++17"]
COMPILED = {}


def _cache():
    root = os.environ.get("TINYSR_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                           "tinysr")
    d = pathlib.Path(root) / "nvcc"
    d.mkdir(parents=True, exist_ok=True)
    return d


def find_nvcc():
    for cand in (shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"):
        if cand and os.path.exists(cand):
            return cand
    return None


def find_nvrtc():
    """libnvrtc from the nvidia-cuda-nvrtc-cu12 (or -cu13) wheel, if installed."""
    try:
        import nvidia.cuda_nvrtc as pkg   # the wheel's namespace package
    except ImportError:
        return None
    for base in list(getattr(pkg, "__path__", [])):
        hits = sorted(glob.glob(os.path.join(base, "lib", "libnvrtc.so*")))
        hits = [h for h in hits if "builtins" not in h]
        if hits:
            return hits[0]
    return None


def instantiated_source(kernel):
    """What the loader compiles, plus explicit instantiations of every entry and type."""
    lines = [cuda_loader.source(kernel), "", "// explicit instantiations for the compile test"]
    for names in cuda_loader.KERNELS[kernel]["versions"].values():
        for entry in names:
            for ctype in ("float", "double"):
                params = ", ".join(k.replace("T", ctype) for k in cuda_loader.SIGNATURES[entry])
                lines.append(f"template __global__ void {entry}<{ctype}>({params});")
    return "\n".join(lines) + "\n"


def parse_ptxas(log):
    """{(entry, ctype): {"registers", "spill_stores", "spill_loads", "smem"}} from -Xptxas -v."""
    out, current = {}, None
    for line in log.splitlines():
        m = re.search(r"Function properties for (_Z\w+)", line)
        if m:
            mangled = m.group(1)
            n = re.match(r"_Z(\d+)", mangled)
            length = int(n.group(1))
            name = mangled[n.end():n.end() + length]
            tail = mangled[n.end() + length:]
            ctype = {"If": "float", "Id": "double"}.get(tail[:2], "?")
            current = out.setdefault((name, ctype), {"registers": None, "spill_stores": 0,
                                                      "spill_loads": 0, "smem": 0})
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            current["spill_stores"], current["spill_loads"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["registers"] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            current["smem"] = int(s.group(1)) if s else 0
    return out


def compile_nvcc(nvcc, kernel):
    text = instantiated_source(kernel)
    version = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256((text + version + " ".join(NVCC_FLAGS)).encode()).hexdigest()[:16]
    d = _cache()
    log_path = d / f"{kernel}-{key}.log"
    if log_path.exists():
        return 0, log_path.read_text()
    src = d / f"{kernel}-{key}.cu"
    src.write_text(text)
    proc = subprocess.run([nvcc, *NVCC_FLAGS, str(src), "-o", str(d / f"{kernel}-{key}.cubin")],
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    if proc.returncode == 0:
        log_path.write_text(log)
    return proc.returncode, log


def compile_nvrtc(lib_path, kernel):
    """Compile with libnvrtc through ctypes; returns (status, log)."""
    lib = ctypes.CDLL(lib_path)
    prog = ctypes.c_void_p()
    src = instantiated_source(kernel).encode()
    rc = lib.nvrtcCreateProgram(ctypes.byref(prog), src, f"{kernel}.cu".encode(), 0, None,
                                None)
    if rc != 0:
        return rc, "nvrtcCreateProgram failed"
    opts = [f"--gpu-architecture={ARCH}".encode(), b"-std=c++17"]
    arr = (ctypes.c_char_p * len(opts))(*opts)
    status = lib.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    buf = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, buf)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return status, buf.value.decode(errors="replace")


def _expected(kernel):
    return {(e, t) for names in cuda_loader.KERNELS[kernel]["versions"].values()
            for e in names for t in ("float", "double")}


@pytest.mark.parametrize("kernel", sorted(cuda_loader.KERNELS))
def test_cu_compiles(kernel, capsys, record_property):
    nvcc = find_nvcc()
    if nvcc is None:
        nvrtc = find_nvrtc()
        if nvrtc is None:
            pytest.skip("neither nvcc nor the nvidia-cuda-nvrtc wheel is available")
        status, log = compile_nvrtc(nvrtc, kernel)
        assert status == 0, f"NVRTC failed on {kernel}:\n{log[-4000:]}"
        COMPILED[kernel] = {k: None for k in _expected(kernel)}
        with capsys.disabled():
            print(f"\n[nvrtc {ARCH}] {kernel}: {len(_expected(kernel))} instantiations "
                  "compiled (NVRTC gives no register report)")
        return
    rc, log = compile_nvcc(nvcc, kernel)
    assert rc == 0, f"nvcc failed on {kernel}:\n{log[-4000:]}"
    report = parse_ptxas(log)
    missing = _expected(kernel) - set(report)
    assert not missing, f"ptxas reported no {sorted(missing)}"
    COMPILED[kernel] = report
    record_property("ptxas", {f"{e}<{t}>": r for (e, t), r in sorted(report.items())})
    with capsys.disabled():
        print(f"\n[nvcc {ARCH}] {kernel}:")
        for (entry, ctype), r in sorted(report.items()):
            print(f"    {entry + '<' + ctype + '>':34s} {r['registers']:4d} registers  "
                  f"{r['spill_stores']:3d}/{r['spill_loads']:<3d} B spill st/ld  "
                  f"{r['smem']:6d} B smem")
    # float is the training type: its kernels must not spill (a spill in v3 costs ~2x)
    spilled = {f"{e}<{t}>": r for (e, t), r in report.items()
               if t == "float" and (r["spill_stores"] or r["spill_loads"])}
    assert not spilled, f"float kernels spill registers: {spilled}"


def test_compile_summary(capsys):
    if not COMPILED:
        pytest.skip("nothing was compiled (see the skips above)")
    versions = {(k, v) for k in COMPILED for v in cuda_loader.KERNELS[k]["versions"]}
    inst = sum(len(r) for r in COMPILED.values())
    files = [cuda_loader.KERNELS[k]["file"] for k in COMPILED]
    n_files = sum(1 if isinstance(f, str) else len(f) for f in files)
    with capsys.disabled():
        print(f"\n[cuda compile] {n_files} .cu files in {len(COMPILED)} programs, "
              f"{len(versions)} kernel versions "
              f"(helpers included), {inst} instantiations compiled for {ARCH}")
