"""Every .cu compiles for the H100 (sm_90), on every CI run, without a GPU.

Each kernel file is compiled exactly as the loader sends it (common.cuh + the .cu text),
plus explicit instantiations of every entry for float and double, by
    nvcc -arch=sm_90 -cubin -Xptxas -v -std=c++17
and the ptxas report (registers, spills, shared memory per kernel) is printed into the
test output. Without nvcc it falls back to NVRTC from the nvidia-cuda-nvrtc wheel (no
register report), and without either it skips with the reason. Builds are cached in
$TINYSR_CACHE/nvcc by the hash of the source and the compiler version.

test_launches_fit_sm90 then runs every launch plan (kernels/<name>/launch.py) on the
library's real shapes with a recording launcher and holds each grid and block against
sm_90's limits, the compiled registers and shared memory, and the PTX launch bounds.
test_tile_constants_match_the_cuda_sources holds the tile sizes the plans use
(kernels/launch_common.py, read from common.cuh) against the .cu text.
"""
import ctypes
import glob
import hashlib
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
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
    for names in cuda_loader.programs(kernel).values():
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
    return {(e, t) for names in cuda_loader.programs(kernel).values()
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


def _files(kernel):
    return tuple(cuda_loader.KERNELS[kernel]["file"])


def test_compile_summary(capsys):
    """The summary line, asserted: every kernel program compiled, together holding every .cu
    file under kernels/; every entry of every version compiled for float and double; and,
    with nvcc's report, no instantiation spills registers. Run alone (-k summary), it
    compiles what test_cu_compiles has not (cached by source hash, so cheap)."""
    nvcc = find_nvcc()
    if nvcc is not None:
        for kernel in sorted(set(cuda_loader.KERNELS) - set(COMPILED)):
            rc, log = compile_nvcc(nvcc, kernel)
            assert rc == 0, f"nvcc failed on {kernel}:\n{log[-4000:]}"
            COMPILED[kernel] = parse_ptxas(log)
    if not COMPILED:
        pytest.skip("nothing was compiled (see the skips above)")
    assert set(COMPILED) == set(cuda_loader.KERNELS), \
        f"programs not compiled: {sorted(set(cuda_loader.KERNELS) - set(COMPILED))}"

    root = pathlib.Path(str(cuda_loader.kernel_dir()))
    on_disk = {p.relative_to(root).as_posix() for p in root.glob("**/*.cu")}
    files = [f for k in COMPILED for f in _files(k)]
    assert len(files) == len(set(files)), f"a .cu file is in two programs: {sorted(files)}"
    assert set(files) == on_disk, (f".cu files no program compiles: {sorted(on_disk - set(files))}; "
                                   f"listed but absent: {sorted(set(files) - on_disk)}")

    expected = {k: _expected(k) for k in COMPILED}
    missing = {k: sorted(expected[k] - set(r)) for k, r in COMPILED.items() if expected[k] - set(r)}
    assert not missing, f"instantiations not compiled: {missing}"
    inst = sum(len(e) for e in expected.values())
    n_entries = len({e for k in COMPILED for names in cuda_loader.programs(k).values()
                     for e in names})
    assert inst == 2 * n_entries, "an entry name is shared by two programs"
    versions = {(k, v) for k in COMPILED for v in cuda_loader.programs(k)}

    reports = {(e, t): r for k in COMPILED for (e, t), r in COMPILED[k].items() if (e, t) in expected[k]}
    with_nvcc = all(r is not None for r in reports.values())
    if with_nvcc:
        spilled = {f"{e}<{t}>": r for (e, t), r in reports.items()
                   if r["registers"] is None or r["spill_stores"] or r["spill_loads"]}
        assert not spilled, f"register spills (or no register report): {spilled}"
    with capsys.disabled():
        print(f"\n[cuda compile] {len(files)} .cu files in {len(COMPILED)} programs, "
              f"{len(versions)} kernel versions "
              f"(helpers included), {inst} instantiations compiled for {ARCH}"
              + (", none spills registers" if with_nvcc else " (NVRTC: no register report)"))


# ------------------------------------------------------------------ launches fit sm_90
# Compiling proves the code is valid; it does not prove the launch plans' grids and blocks
# fit the kernels as compiled. "too many resources requested for launch" and "invalid
# configuration argument" only show on a GPU. So: run every launch plan with a recorder
# instead of a GPU, on the shapes the library meets (SRCNN and VDSR training, a large
# replicate-padded upscale, an HD VDSR layer, a 4096 x 4096 activation), and hold each
# launch against the ptxas report (registers, static shared memory) and the PTX launch
# bounds (.maxntid, .minnctapersm) of the entry it launches.
SM90 = {                          # compute capability 9.0 (CUDA C++ Programming Guide)
    "regs_per_sm": 65536, "reg_unit": 256,      # registers are allocated per warp, in 256s
    "max_warps_sm": 64, "max_blocks_sm": 32, "max_threads_block": 1024,
    "smem_sm": 228 * 1024, "smem_reserved_block": 1024, "smem_static_max": 48 * 1024,
    "grid_x_max": 2**31 - 1, "grid_yz_max": 65535,
}


def compile_ptx(nvcc, kernel):
    """The PTX of the instantiated source (cached like compile_nvcc): it carries each
    entry's __launch_bounds__ as .maxntid / .minnctapersm."""
    text = instantiated_source(kernel)
    version = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256((text + version + "ptx").encode()).hexdigest()[:16]
    d = _cache()
    ptx = d / f"{kernel}-{key}.ptx"
    if not ptx.exists():
        src = d / f"{kernel}-{key}-ptx.cu"
        src.write_text(text)
        tmp = d / f"{kernel}-{key}.ptx.tmp"
        proc = subprocess.run([nvcc, f"-arch={ARCH}", "-ptx", "-std=c++17", str(src), "-o",
                               str(tmp)], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"nvcc -ptx failed on {kernel}:\n{proc.stderr[-4000:]}"
        os.replace(tmp, ptx)
    return ptx.read_text()


def _demangle(mangled):
    n = re.match(r"_Z(\d+)", mangled)
    length = int(n.group(1))
    name = mangled[n.end():n.end() + length]
    tail = mangled[n.end() + length:]
    return name, {"If": "float", "Id": "double"}.get(tail[:2], "?")


def parse_ptx_bounds(ptx):
    """{(entry, ctype): {"maxntid": threads or None, "minctas": blocks per SM or None}}."""
    out, current = {}, None
    for line in ptx.splitlines():
        m = re.match(r"\.visible \.entry (_Z\w+)\(", line)
        if m:
            current = out.setdefault(_demangle(m.group(1)), {"maxntid": None, "minctas": None})
            continue
        if current is None:
            continue
        m = re.match(r"\.maxntid (\d+), (\d+), (\d+)", line)
        if m:
            current["maxntid"] = int(m.group(1)) * int(m.group(2)) * int(m.group(3))
        m = re.match(r"\.minnctapersm (\d+)", line)
        if m:
            current["minctas"] = int(m.group(1))
        if line.startswith("{"):
            current = None            # the body: directives come before it
    return out


def blocks_per_sm(threads, registers, smem):
    """Resident blocks of one kernel on an sm_90 SM (registers, warps, shared memory)."""
    warps = -(-threads // 32)
    per_warp = -(-registers * 32 // SM90["reg_unit"]) * SM90["reg_unit"]
    by_regs = SM90["regs_per_sm"] // (per_warp * warps)
    by_warps = SM90["max_warps_sm"] // warps
    by_smem = SM90["smem_sm"] // (smem + SM90["smem_reserved_block"])
    return min(by_regs, by_warps, by_smem, SM90["max_blocks_sm"])


class RecordingLauncher:
    """cuda_loader.launch's signature; checks the arguments like it, records, runs nothing."""

    def __init__(self, sms):
        self.calls = []
        self.sm_count = lambda: sms

    def __call__(self, kernel, version, entry, dtype, grid, block, *args):
        cuda_loader.check_args(entry, np.dtype(dtype), args,
                               lambda a: isinstance(a, np.ndarray),
                               lambda a: a.flags.c_contiguous)
        self.calls.append((kernel, version, entry, np.dtype(dtype), tuple(int(g) for g in grid),
                           tuple(int(b) for b in block)))


# (name, x shape, w shape, stride, padding, padding_mode, dtypes)
LAUNCH_CONVS = [
    ("vdsr layer", (64, 64, 41, 41), (64, 64, 3, 3), 1, 1, "zeros", "fd"),
    ("vdsr first", (64, 1, 41, 41), (64, 1, 3, 3), 1, 1, "zeros", "fd"),
    ("vdsr last", (64, 64, 41, 41), (1, 64, 3, 3), 1, 1, "zeros", "fd"),
    ("srcnn 9", (128, 1, 33, 33), (64, 1, 9, 9), 1, 0, "zeros", "fd"),
    ("srcnn 5", (128, 64, 25, 25), (32, 64, 5, 5), 1, 0, "zeros", "fd"),
    ("srcnn out", (128, 32, 21, 21), (1, 32, 5, 5), 1, 0, "zeros", "fd"),
    ("upscale 1024^2 replicate", (1, 1, 1024, 1024), (64, 1, 9, 9), 1, 4, "replicate", "fd"),
    ("upscale 1024^2 5x5", (1, 64, 1024, 1024), (32, 64, 5, 5), 1, 2, "replicate", "f"),
    ("vdsr HD layer", (1, 64, 1080, 1920), (64, 64, 3, 3), 1, 1, "zeros", "f"),
    ("stride 2", (4, 3, 17, 19), (8, 3, 5, 5), 2, 2, "zeros", "fd"),
]
LAUNCH_ACTS = [(64, 64, 41, 41), (1, 64, 1080, 1920), (1, 1, 4096, 4096), (3, 5)]
LAUNCH_OPTIM = [1, 1_000_003, 2**27]
_DT = {"f": np.float32, "d": np.float64}


def record_launches(sms):
    from tinysr.kernels import launch_common as tiles
    from tinysr.kernels.bias_act import launch as bias_act
    from tinysr.kernels.conv2d_bwd_input import launch as bwd_input
    from tinysr.kernels.conv2d_bwd_weight import launch as bwd_weight
    from tinysr.kernels.conv2d_fwd import launch as fwd
    from tinysr.kernels.optim_update import launch as optim
    rec = RecordingLauncher(sms)
    warp_tiles = (None, tiles.WARP_TILE.BN, tiles.WARP_TILE_SMALL.BN)
    for name, xs, ws, s, p, mode, dts in LAUNCH_CONVS:
        for dt in (_DT[c] for c in dts):
            x, w = np.zeros(xs, dt), np.zeros(ws, dt)   # calloc: pages stay untouched
            Ho, Wo = ((xs[i] + 2 * p - ws[i]) // s + 1 for i in (2, 3))
            gy = np.zeros((xs[0], ws[0], Ho, Wo), dt)
            for v in cuda_loader.versions("conv2d_fwd"):
                for tile in (warp_tiles if v == "warp_tiles" else (None,)):
                    with fwd.force_warp_tile(tile):
                        fwd.conv2d_forward(np, rec, x, w, s, p, mode, v)
                        bwd_input.conv2d_backward_input(np, rec, gy, w, xs, s, p, mode, v)
                        bwd_weight.conv2d_backward_weight(np, rec, gy, x, ws, s, p, mode, v)
    for shape in LAUNCH_ACTS:
        for dt in (np.float32, np.float64):
            x, b = np.zeros(shape, dt), np.zeros(shape[1], dt)
            for v in cuda_loader.versions("bias_act"):
                bias_act.bias_act_forward(np, rec, x, b, "relu", 0.0, v)
                bias_act.bias_act_backward(np, rec, x, x, "relu", 0.0, v)
    for n in LAUNCH_OPTIM:
        for dt in (np.float32, np.float64):
            a = np.zeros(n, dt)
            for v in cuda_loader.versions("optim_update"):
                optim.sgd_step(np, rec, a, a, a, 0.1, 0.9, 0.0, v)
                optim.adam_step(np, rec, a, a, a, a, 3, 1e-3, 0.9, 0.999, 1e-8, 0.0, v)
    return rec.calls


@pytest.mark.parametrize("sms", [132, 114], ids=["132 SMs (H100 SXM, H200)", "114 SMs (H100 PCIe)"])
def test_launches_fit_sm90(sms, capsys):
    """Every launch of every plan fits sm_90 and the compiled kernel; every entry is
    launched somewhere; each entry reaches the blocks per SM its __launch_bounds__ asks
    for; and the warp_tiles forward engine holds the resident warps its tile cost model
    assumes (kernels/conv2d_fwd/launch.py: WARP_SM_WARPS)."""
    from tinysr.kernels import launch_common as tiles
    from tinysr.kernels.conv2d_fwd import launch as fwd
    nvcc = find_nvcc()
    if nvcc is None:
        pytest.skip("needs nvcc for the register report and the PTX launch bounds")
    report, bounds = {}, {}
    for kernel in cuda_loader.KERNELS:
        rc, log = compile_nvcc(nvcc, kernel)
        assert rc == 0, f"nvcc failed on {kernel}:\n{log[-4000:]}"
        report.update(parse_ptxas(log))
        bounds.update(parse_ptx_bounds(compile_ptx(nvcc, kernel)))
    calls = record_launches(sms)
    problems, seen = [], set()
    for kernel, version, entry, dtype, grid, block in calls:
        ctype = cuda_loader.CTYPES[dtype]
        seen.add((entry, ctype))
        r, bd = report[(entry, ctype)], bounds[(entry, ctype)]
        threads = block[0] * block[1] * block[2]
        where = f"{entry}<{ctype}> grid {grid} block {block}"
        if threads > (bd["maxntid"] or SM90["max_threads_block"]):
            problems.append(f"{where}: {threads} threads > maxntid {bd['maxntid']}")
        if grid[0] > SM90["grid_x_max"] or max(grid[1:]) > SM90["grid_yz_max"]:
            problems.append(f"{where}: grid past the sm_90 limits")
        if r["smem"] > SM90["smem_static_max"]:
            problems.append(f"{where}: {r['smem']} B static shared memory > 48 KiB")
        if blocks_per_sm(threads, r["registers"], r["smem"]) < 1:
            problems.append(f"{where}: {r['registers']} registers x {threads} threads do "
                            "not fit one SM")
    assert not problems, "\n".join(sorted(set(problems)))
    expected = {(e, t) for k in cuda_loader.KERNELS for names in cuda_loader.programs(k).values()
                for e in names for t in ("float", "double")}
    assert expected - seen == set(), f"never launched by a plan: {sorted(expected - seen)}"
    for (entry, ctype), bd in sorted(bounds.items()):
        if bd["minctas"] and bd["maxntid"]:
            r = report[(entry, ctype)]
            got = blocks_per_sm(bd["maxntid"], r["registers"], r["smem"])
            assert got >= bd["minctas"], (f"{entry}<{ctype}>: __launch_bounds__ asks for "
                                          f"{bd['minctas']} blocks per SM, fits {got}")
    for entry, threads in (("conv2d_fwd_v4", tiles.WARP_TILE.THREADS),
                           ("conv2d_fwd_v4_n128", tiles.WARP_TILE_SMALL.THREADS),
                           ("conv2d_bwd_input_v4", tiles.WARP_TILE.THREADS),
                           ("conv2d_bwd_input_v4_n128", tiles.WARP_TILE_SMALL.THREADS)):
        for dtype, ctype in cuda_loader.CTYPES.items():
            r = report[(entry, ctype)]
            warps = blocks_per_sm(threads, r["registers"], r["smem"]) * threads // 32
            assert warps == fwd.WARP_SM_WARPS[dtype], (
                f"{entry}<{ctype}> holds {warps} warps per SM as compiled "
                f"({r['registers']} registers); WARP_SM_WARPS says {fwd.WARP_SM_WARPS[dtype]}")
    with capsys.disabled():
        print(f"\n[launch limits, {sms} SMs] {len(calls)} launches of {len(seen)} "
              f"instantiations from {len(LAUNCH_CONVS)} conv shapes, {len(LAUNCH_ACTS)} "
              f"activations, {len(LAUNCH_OPTIM)} optimiser sizes: all fit sm_90")


# ------------------------------------------------------------------ tiles: one source
def test_tile_constants_match_the_cuda_sources():
    """The launch plans' tile sizes (kernels/launch_common.py) are read from common.cuh's
    typedefs with the structs' own formulas; the two tiles written inside .cu files are
    defined once in Python and held here against the source text. No compiler needed."""
    import re

    from tinysr.kernels import launch_common as tiles
    common = cuda_loader.read_text("common.cuh")
    # the formulas parse_tiles applies are the structs' (a changed struct fails here)
    assert "static constexpr int THREADS = (BM / TM) * (BN / TN);" in common
    assert "static constexpr int BM = 32 * WM, BN = 64 * WN, TM = 8, TN = 8;" in common
    assert "static constexpr int THREADS = 32 * WM * WN;" in common
    assert common.count("static constexpr int BK = THREADS / 32;") == 2
    assert tiles.REG_TILE == (64, 128, 256, 8)
    assert tiles.WARP_TILE == (64, 256, 256, 8)
    assert tiles.WARP_TILE_SMALL == (64, 128, 128, 4)
    assert tiles.WARP_TILE_W == (64, 192, 192, 6)
    assert (tiles.WG_M, tiles.WG_R, tiles.WG_XI) == (4, 3, 36)
    # smem_tiles: the v2 kernels' 16 x 16 shared tiles (and 16 x 16 blocks)
    t = tiles.SMEM_TILE
    for kernel in ("conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_weight"):
        text = cuda_loader.read_text(f"{kernel}/{kernel}.cu")
        assert re.search(rf"__shared__ T As\[{t}\]\[{t + 1}\];", text), kernel
        assert re.search(rf"__shared__ T Bs\[{t}\]\[{t + 1}\];", text), kernel
    # the winograd weight-gradient GEMM: 64 x 64 tiles, k slices of 16, 256 threads
    text = cuda_loader.read_text("conv2d_bwd_weight/winograd_bwd_weight.cu")
    assert (f"constexpr int BM = {tiles.WINOGRAD_W_TILE}, BN = {tiles.WINOGRAD_W_TILE}, "
            f"BK = {tiles.WINOGRAD_W_BK}," in text)
    assert re.search(rf"__launch_bounds__\({tiles.WINOGRAD_W_THREADS}\)\s*"
                     r"conv2d_bwd_weight_v6_gemm", text)
