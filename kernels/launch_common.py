"""What every CUDA launch plan (``kernels/<name>/launch.py``) shares: the tile sizes, read from
common.cuh; 1-D grids; dtype and int32 checks; the SM count. Pure Python and NumPy.

A launch plan takes an array namespace ``xp`` and a ``launch`` function

    launch(kernel, version, entry, dtype, grid, block, *args)

and does everything a backend primitive needs: validate shapes, allocate outputs and
scratch buffers, pick the grid and block of each kernel, launch. The CuPy backend calls
the plans with (cupy, tinysr.backend.cuda_loader.launch); the CPU emulator calls the SAME
plans with (numpy, kernels/emulator/harness.launch). So every CPU emulation test also
checks the grids, the scratch buffers, the split-K reduction and the replicate-padding
fold that the GPU will run. Which version runs (and what runs instead where a version does
not apply) is each folder's ``versions.py``; a plan only asks it.

Tile sizes. Every tile a plan needs is read here from the ``typedef``s of common.cuh
(``TileConfig`` / ``WarpTileConfig``) and its Winograd constants, so a plan cannot disagree
with the kernels. Two tiles are written inside a .cu file instead, and are defined once
below (tests/test_cuda_compile.py::test_tile_constants_match_the_cuda_sources checks them
against the source text): the 16 x 16 "smem_tiles" blocks (``As[16][17]`` in each conv
.cu) and the 64 x 64 tile, k slices of 16, of the Winograd weight-gradient GEMM
(``winograd_bwd_weight.cu``).
"""
import importlib.resources
import re
from typing import NamedTuple

import numpy as np


def read_source(relative):
    """The text of a file of the tinysr.kernels package (common.cuh, conv2d_fwd/..., ...)."""
    node = importlib.resources.files(__package__)
    for part in relative.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


class Tile(NamedTuple):
    BM: int           # rows of the output tile a block computes
    BN: int           # its columns
    THREADS: int      # threads a block
    BK: int           # k slice (one B row per warp)


def parse_tiles(text):
    """{typedef name: Tile} of common.cuh, with the struct's own formulas:
    TileConfig<BM, BN, TM, TN>: THREADS = (BM / TM) * (BN / TN), BK = THREADS / 32;
    WarpTileConfig<WM, WN>: BM = 32 WM, BN = 64 WN, THREADS = 32 WM WN, BK = THREADS / 32."""
    tiles = {}
    for m in re.finditer(r"typedef\s+TileConfig<\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*>"
                         r"\s+(\w+)\s*;", text):
        bm, bn, tm, tn = (int(g) for g in m.groups()[:4])
        threads = (bm // tm) * (bn // tn)
        tiles[m.group(5)] = Tile(bm, bn, threads, threads // 32)
    for m in re.finditer(r"typedef\s+WarpTileConfig<\s*(\d+)\s*,\s*(\d+)\s*>\s+(\w+)\s*;", text):
        wm, wn = int(m.group(1)), int(m.group(2))
        threads = 32 * wm * wn
        tiles[m.group(3)] = Tile(32 * wm, 64 * wn, threads, threads // 32)
    return tiles


def parse_int_constants(text):
    """{name: value} of the ``constexpr int A = 1, B = 2;`` lines with literal values."""
    out = {}
    for line in re.findall(r"constexpr\s+int\s+([^;]+);", text):
        for name, value in re.findall(r"(\w+)\s*=\s*(\d+)\s*(?:,|$)", line):
            out[name] = int(value)
    return out


COMMON_CUH = read_source("common.cuh")
TILES = parse_tiles(COMMON_CUH)
_CONST = parse_int_constants(COMMON_CUH)

REG_TILE = TILES["Tile64x128"]          # reg_tiles (the .cu files' v3): 64 x 128, 256 threads
WARP_TILE = TILES["Tile64x256"]         # warp_tiles forward / backward-input, every tf32x3,
                                        # the Winograd GEMMs: 64 x 256, 256 threads
WARP_TILE_SMALL = TILES["Tile64x128w"]  # warp_tiles forward / backward-input, small: 128 threads
WARP_TILE_W = TILES["Tile64x192"]       # warp_tiles backward-weight: 64 x 192, 192 threads
WG_M, WG_R = _CONST["WG_M"], _CONST["WG_R"]    # Winograd F(WG_M x WG_M, WG_R x WG_R)
WG_XI = (WG_M + WG_R - 1) ** 2                  # transformed planes (GEMMs): 36

# Not in common.cuh (see the module docstring); checked against the .cu text by a test.
SMEM_TILE = 16                    # smem_tiles (v2): 16 x 16 threads, 16 x 16 outputs, k slices of 16
WINOGRAD_W_TILE, WINOGRAD_W_BK, WINOGRAD_W_THREADS = 64, 16, 256   # conv2d_bwd_weight_v6_gemm

THREADS = 256                     # 1-D kernels
MAX_GRID_Y = 65535
DEFAULT_SMS = 132                 # launchers without sm_count (the emulator): an H100 SXM / H200
WARP_MAX_SIDE = 2 ** 15 - 1       # warp_tiles / tf32x3 pack tap coordinates into 16-bit halves
                                  # (common.cuh, TapColumn): larger images run reg_tiles


def cdiv(a, b):
    return -(-a // b)


def float_dtype(*arrays):
    dt = np.dtype(arrays[0].dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"CUDA kernels take float32 or float64, got {dt}")
    for a in arrays[1:]:
        if np.dtype(a.dtype) != dt:
            raise TypeError(f"mixed dtypes {dt} and {a.dtype}")
    return dt


def check_int32(*counts):
    for n in counts:
        if n >= 2**31:
            raise OverflowError("tensor too large for the int32 index math of the kernels")


def grid_1d(total):
    """(grid, block) of a 1-D kernel over ``total`` elements, THREADS a block."""
    return (max(1, cdiv(total, THREADS)), 1, 1), (THREADS, 1, 1)


def sm_count(launch):
    """The launcher's SM count (cuda_loader.launch.sm_count: the current device's), or
    DEFAULT_SMS for a launcher without one (the emulator)."""
    f = getattr(launch, "sm_count", None)
    return int(f()) if f is not None else DEFAULT_SMS


def implicit_gemm_grid(version, rows, cols, total_outputs):
    """(grid, block) of a conv kernel computing a rows x cols implicit-GEMM output, one block
    per output tile (total_outputs: for "direct", one thread per output element)."""
    if version == "direct":
        return grid_1d(total_outputs)
    if version == "smem_tiles":
        return (cdiv(cols, SMEM_TILE), cdiv(rows, SMEM_TILE), 1), (SMEM_TILE, SMEM_TILE, 1)
    if version == "reg_tiles":
        return (cdiv(cols, REG_TILE.BN), cdiv(rows, REG_TILE.BM), 1), (REG_TILE.THREADS, 1, 1)
    if version in ("warp_tiles", "tf32x3"):
        return ((cdiv(cols, WARP_TILE.BN), cdiv(rows, WARP_TILE.BM), 1),
                (WARP_TILE.THREADS, 1, 1))
    raise ValueError(f"no implicit-GEMM conv version {version!r}")
