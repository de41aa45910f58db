"""conv2d forward on the GPU: the CUDA program, each entry's signature, the default version,
and the launch plan (outputs, grid and block, the order of launches).

    conv2d_forward(xp, launch, x, w, stride, padding, padding_mode, version) -> y

runs on CuPy arrays through tinysr.backend.cuda_loader.launch and on NumPy arrays through
the CPU emulator (kernels/emulator/harness.launch): kernels/launch_common.py says how. Which
version runs is versions.TABLE.plan("cuda", ...): the plan asks, it never decides.

Also here, because conv2d_bwd_input runs the same engines: the warp_tiles forward engine's
choice between its two tiles (``warp_tile_for``), and the Winograd pipeline of winograd.cu
(``winograd_conv``; ``winograd_input_transform`` and ``winograd_mats`` are shared with the
weight gradient).
"""
import contextlib

import numpy as np

from ..conv_common import ConvShape, conv_out, padding_code
from ..launch_common import (WARP_TILE, WARP_TILE_SMALL, WG_M, WG_R, WG_XI, cdiv, check_int32,
                             float_dtype, grid_1d, implicit_gemm_grid, sm_count)
from ..winograd_common import matrices as winograd_matrices
from . import versions

KERNEL = "conv2d_fwd"
FILES = ("conv2d_fwd/conv2d_fwd.cu", "conv2d_fwd/winograd.cu")   # compiled together, in order
DEFAULT_VERSION = versions.DEFAULT["cuda"]
ENTRIES = versions.TABLE.cuda_entries()     # version -> the entries compiled for it
HELPERS = {}                                # helper programs every version shares: none

CONV_ARGS = ("const T*", "const T*", "T*") + ("int",) * 12   # N C H W O KH KW Ho Wo stride pad rep
SIGNATURES = {
    **{f"conv2d_fwd_v{v}": CONV_ARGS for v in (1, 2, 3, 4, 5)},
    "conv2d_fwd_v4_n128": CONV_ARGS,         # warp_tiles on the 64 x 128 tile (warp_tile_for)
    # winograd (winograd.cu), F(4x4, 3x3); mats: B^T, G, A^T in float64
    "conv2d_fwd_v6_filter": ("const T*", "const double*", "T*", "int", "int", "int"),   # R S flip
    "conv2d_fwd_v6_input": ("const T*", "const double*", "T*") + ("int",) * 8,  # N S H W pad rep th tw
    "conv2d_fwd_v6_gemm": ("const T*", "const T*", "T*", "int", "int", "int"),     # R K P
    "conv2d_fwd_v6_output": ("const T*", "const double*", "T*") + ("int",) * 6,  # N R Ho Wo th tw
}


def plan(x_shape, w_shape, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """What conv2d_forward runs for this call, and why (versions.TABLE)."""
    shape = ConvShape.of(x_shape, w_shape, stride, padding, padding_mode)
    return versions.TABLE.plan("cuda", version, shape)


def conv2d_forward(xp, launch, x, w, stride, padding, padding_mode, version):
    x, w = xp.ascontiguousarray(x), xp.ascontiguousarray(w)
    dt = float_dtype(x, w)
    N, C, H, W = x.shape
    O, Cw, KH, KW = w.shape
    if C != Cw:
        raise ValueError(f"input has {C} channels, weight expects {Cw}")
    Ho, Wo = conv_out(H, KH, stride, padding), conv_out(W, KW, stride, padding)
    rep = padding_code(padding_mode)
    check_int32(x.size, N * O * Ho * Wo, C * KH * KW)
    runs = plan(x.shape, w.shape, stride, padding, padding_mode, version).runs
    if runs == "winograd":
        return winograd_conv(xp, launch, x, w, padding, rep, flip=False)
    y = xp.empty((N, O, Ho, Wo), dtype=dt)
    grid, block = implicit_gemm_grid(runs, O, N * Ho * Wo, y.size)
    entry = ENTRIES[runs][0]
    if runs == "warp_tiles":             # one engine, two tiles: warp_tile_for picks
        tile = warp_tile_for(O, N * Ho * Wo, sm_count(launch), dt)
        entry = "conv2d_fwd_v4_n128" if tile == WARP_TILE_SMALL else "conv2d_fwd_v4"
        grid, block = (cdiv(N * Ho * Wo, tile.BN), cdiv(O, tile.BM), 1), (tile.THREADS, 1, 1)
    launch(KERNEL, runs, entry, dt, grid, block,
           x, w, y, N, C, H, W, O, KH, KW, Ho, Wo, stride, padding, rep)
    return y


# ------------------------------------------------------- warp_tiles: the engine's two tiles
# Resident warps per SM of the warp_tiles forward engine: float needs 128 registers a thread
# (__launch_bounds__(..., 2 or 4)), so 16 warps whatever the block; double ~2x that.
# tests/test_cuda_compile.py checks these against the compiled kernels.
WARP_SM_WARPS = {np.dtype(np.float32): 16, np.dtype(np.float64): 8}
WARP_SATURATING_WARPS = 8     # assumed: 8 resident warps of 8 x 8 tiles keep an SM's FMA
                              # pipes about as busy as 16 (warp_tile_for)
_TILE_OVERRIDE = [None]


@contextlib.contextmanager
def force_warp_tile(bn):
    """with force_warp_tile(128): every warp_tiles forward / backward-input launch uses the
    64 x 128 tile (256: the 64 x 256 one; None: the model's choice). For tests, benchmarks."""
    if bn not in (None, WARP_TILE.BN, WARP_TILE_SMALL.BN):
        raise ValueError(f"warp_tiles forward tiles are {WARP_TILE.BN} and "
                         f"{WARP_TILE_SMALL.BN} columns, not {bn}")
    saved = _TILE_OVERRIDE[0]
    _TILE_OVERRIDE[0] = bn
    try:
        yield
    finally:
        _TILE_OVERRIDE[0] = saved


def warp_tile_cost(rows, cols, tile, sms, dtype=np.float32):
    """Time of a warp_tiles forward-engine launch, in columns of SM work at full throughput,
    on the busiest SM. Blocks go to SMs as slots free up, so the busiest SM runs
    b = ceil(blocks / sms) of them, `slots` at a time. An SM is taken to run at full speed
    while it holds at least WARP_SATURATING_WARPS warps and proportionally slower below
    (only the last, partial round can be that thin). Every block costs BN columns.
    Why not ceil(blocks / (sms * slots)) waves: with 16 warps an SM whatever the block
    shape, both tiles give the same wave count (VDSR: 2), which says nothing about the
    tail. This model does: VDSR 64 x 107584 on 132 SMs: 256-tile 4 blocks = 1024,
    128-tile 7 blocks = 896 (the last 3 on an SM that is still 12 warps full)."""
    blocks = cdiv(cols, tile.BN) * cdiv(rows, tile.BM)
    slots = max(1, WARP_SM_WARPS[np.dtype(dtype)] // (tile.THREADS // 32))
    full, r = divmod(cdiv(blocks, sms), slots)
    cost = full * slots * tile.BN
    if r:
        cost += r * tile.BN * max(1.0, WARP_SATURATING_WARPS / (r * tile.THREADS // 32))
    return cost


def warp_tile_for(rows, cols, sms, dtype=np.float32):
    """The warp_tiles forward-engine tile (launch_common.WARP_TILE, 64 x 256, or
    WARP_TILE_SMALL, 64 x 128) for a rows x cols output: the cheaper under warp_tile_cost,
    the 64 x 256 tile on a tie (BK 8: half the barriers)."""
    bn = _TILE_OVERRIDE[0]
    if bn is None:
        big = warp_tile_cost(rows, cols, WARP_TILE, sms, dtype)
        small = warp_tile_cost(rows, cols, WARP_TILE_SMALL, sms, dtype)
        bn = WARP_TILE_SMALL.BN if small < big else WARP_TILE.BN
    return WARP_TILE_SMALL if bn == WARP_TILE_SMALL.BN else WARP_TILE


# ------------------------------------------------------------------- winograd (winograd.cu)
_WINOGRAD_MATS = {}


def winograd_mats(xp):
    """B^T (6x6), G (6x3), A^T (4x6), row-major, flattened, float64: winograd.cu's `mats`,
    copied to each device once (a training step then never copies to or from the host)."""
    key = (xp.__name__, xp.cuda.Device().id if hasattr(xp, "cuda") else 0)
    if key not in _WINOGRAD_MATS:
        m, at, g, bt = winograd_matrices(WG_R)
        assert m == WG_M, "winograd.cu is written for F(4x4, 3x3)"
        _WINOGRAD_MATS[key] = xp.asarray(np.concatenate([bt.ravel(), g.ravel(), at.ravel()]))
    return _WINOGRAD_MATS[key]


def winograd_tiles(Ho, Wo):
    """(th, tw): the 4x4 output tiles down and across."""
    return cdiv(Ho, WG_M), cdiv(Wo, WG_M)


def winograd_input_transform(xp, launch, x, pad, rep, th, tw):
    """V (36, S, P) = B^T d B for every channel and 6x6 input tile (conv2d_fwd_v6_input)."""
    N, S, H, W = x.shape
    P = N * th * tw
    V = xp.empty((WG_XI, S, P), dtype=x.dtype)
    launch(KERNEL, "winograd", "conv2d_fwd_v6_input", x.dtype, *grid_1d(S * P),
           x, winograd_mats(xp), V, N, S, H, W, pad, rep, th, tw)
    return V


def winograd_conv(xp, launch, x, w, pad, rep, flip):
    """The winograd pipeline (winograd.cu): filter, input transform, 36 GEMMs, output
    transform. flip = False: y = conv(x, w), w (R, S, 3, 3). flip = True: w is (S, R, 3, 3)
    and the filter is w rotated by 180 degrees and transposed (the backward-input pass)."""
    dt = x.dtype
    N, S, H, W = x.shape
    R = w.shape[1] if flip else w.shape[0]
    Ho, Wo = H + 2 * pad - WG_R + 1, W + 2 * pad - WG_R + 1
    th, tw = winograd_tiles(Ho, Wo)
    P = N * th * tw
    check_int32(WG_XI * S * P, WG_XI * R * P, WG_XI * R * S, N * R * Ho * Wo)
    mats = winograd_mats(xp)
    U = xp.empty((WG_XI, R, S), dtype=dt)
    launch(KERNEL, "winograd", "conv2d_fwd_v6_filter", dt, *grid_1d(R * S), w, mats, U, R, S,
           int(flip))
    V = winograd_input_transform(xp, launch, x, pad, rep, th, tw)
    M = xp.empty((WG_XI, R, P), dtype=dt)
    launch(KERNEL, "winograd", "conv2d_fwd_v6_gemm", dt,
           (cdiv(P, WARP_TILE.BN), cdiv(R, WARP_TILE.BM), WG_XI), (WARP_TILE.THREADS, 1, 1),
           U, V, M, R, S, P)
    y = xp.empty((N, R, Ho, Wo), dtype=dt)
    launch(KERNEL, "winograd", "conv2d_fwd_v6_output", dt, *grid_1d(R * P),
           M, mats, y, N, R, Ho, Wo, th, tw)
    return y
