"""conv2d backward-input on the GPU: the CUDA program, each entry's signature, the default
version, and the launch plan (outputs, grid and block, the replicate fold).

    conv2d_backward_input(xp, launch, gy, w, x_shape, stride, padding, padding_mode, version)

runs on CuPy arrays (tinysr.backend.cuda_loader.launch) and on NumPy arrays through the CPU
emulator (kernels/launch_common.py says how). Which version runs is
versions.TABLE.plan("cuda", ...). warp_tiles uses the forward engine's tile choice and
winograd runs the forward's kernels (conv2d_fwd/launch.py: warp_tile_for, winograd_conv).
"""
from ..conv_common import ConvShape, conv_out, padding_code
from ..conv2d_fwd.launch import warp_tile_for, winograd_conv
from ..launch_common import (WARP_TILE_SMALL, cdiv, check_int32, float_dtype, grid_1d,
                             implicit_gemm_grid, sm_count)
from . import versions

KERNEL = "conv2d_bwd_input"
FILES = ("conv2d_bwd_input/conv2d_bwd_input.cu",)
DEFAULT_VERSION = versions.DEFAULT["cuda"]
ENTRIES = versions.TABLE.cuda_entries()     # version -> entries; winograd: () (the forward's)
HELPERS = {"fold": ("conv2d_bwd_input_fold",)}      # replicate padding: border -> edge pixel

# gy, w, out, N C H W O KH KW Ho Wo stride pad rep, Hg, Wg, off (see conv2d_bwd_input.cu)
BWD_INPUT_ARGS = ("const T*", "const T*", "T*") + ("int",) * 15
SIGNATURES = {
    **{f"conv2d_bwd_input_v{v}": BWD_INPUT_ARGS for v in (1, 2, 3, 4, 5)},
    "conv2d_bwd_input_v4_n128": BWD_INPUT_ARGS,
    "conv2d_bwd_input_fold": ("const T*", "T*") + ("int",) * 5,     # N C H W pad
}


def plan(x_shape, w_shape, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """What conv2d_backward_input runs for this call, and why (versions.TABLE)."""
    shape = ConvShape.of(x_shape, w_shape, stride, padding, padding_mode)
    return versions.TABLE.plan("cuda", version, shape)


def conv2d_backward_input(xp, launch, gy, w, x_shape, stride, padding, padding_mode, version):
    """gx = the adjoint of the forward. The kernel gathers, for each pixel of an output grid
    (Hg, Wg) placed at offset `off` inside the padded input, every (o, p, q) that read it.
    zeros:     the grid is the image itself (Hg = H, off = padding): padded pixels are dropped.
    replicate: the grid is the whole padded image (off = 0), then a fold kernel adds each
               border pixel's gradient onto the edge pixel it was copied from."""
    gy, w = xp.ascontiguousarray(gy), xp.ascontiguousarray(w)
    dt = float_dtype(gy, w)
    N, C, H, W = (int(s) for s in x_shape)
    O, Cw, KH, KW = w.shape
    Ho, Wo = conv_out(H, KH, stride, padding), conv_out(W, KW, stride, padding)
    if C != Cw or gy.shape != (N, O, Ho, Wo):
        raise ValueError(f"gy {gy.shape} / w {w.shape} do not match x_shape {tuple(x_shape)}")
    rep = padding_code(padding_mode)
    shape = ConvShape.of(x_shape, w.shape, stride, padding, padding_mode)
    fold = versions.folds(shape)             # replicate padding > 0
    Hg, Wg, off = (H + 2 * padding, W + 2 * padding, 0) if fold else (H, W, padding)
    check_int32(N * C * Hg * Wg, gy.size, O * KH * KW)
    runs = versions.TABLE.plan("cuda", version, shape).runs
    if runs == "winograd":
        # zeros padding (or none): gx is the forward convolution of gy, zero-padded by
        # KH - 1 - padding, with w rotated 180 degrees and transposed
        return winograd_conv(xp, launch, gy, w, KH - 1 - padding, 0, flip=True)
    out = xp.empty((N, C, Hg, Wg), dtype=dt)
    grid, block = implicit_gemm_grid(runs, C, N * Hg * Wg, out.size)
    entry = ENTRIES[runs][0]
    if runs == "warp_tiles":             # the forward's engine: the forward's tile choice
        tile = warp_tile_for(C, N * Hg * Wg, sm_count(launch), dt)
        entry = ("conv2d_bwd_input_v4_n128" if tile == WARP_TILE_SMALL
                 else "conv2d_bwd_input_v4")
        grid, block = (cdiv(N * Hg * Wg, tile.BN), cdiv(C, tile.BM), 1), (tile.THREADS, 1, 1)
    launch(KERNEL, runs, entry, dt, grid, block,
           gy, w, out, N, C, H, W, O, KH, KW, Ho, Wo, stride, padding, rep, Hg, Wg, off)
    if not fold:
        return out
    gx = xp.empty((N, C, H, W), dtype=dt)
    grid, block = grid_1d(gx.size)
    launch(KERNEL, "fold", "conv2d_bwd_input_fold", dt, grid, block,
           out, gx, N, C, H, W, padding)
    return gx
