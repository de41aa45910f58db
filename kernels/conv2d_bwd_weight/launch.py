"""conv2d backward-weight (and the bias gradient) on the GPU: the CUDA program, each entry's
signature, the default version, and the launch plan (split-K partial buffers, the reduce).

    conv2d_backward_weight(xp, launch, gy, x, w_shape, stride, padding, padding_mode,
                           version) -> (gw, gb)

runs on CuPy arrays (tinysr.backend.cuda_loader.launch) and on NumPy arrays through the CPU
emulator (kernels/launch_common.py says how). Which version runs is
versions.TABLE.plan("cuda", ...). winograd reuses the forward's input transform
(conv2d_fwd/launch.py: winograd_input_transform, winograd_mats).
"""
from ..conv_common import ConvShape, conv_out, padding_code
from ..conv2d_fwd.launch import winograd_input_transform, winograd_mats, winograd_tiles
from ..launch_common import (REG_TILE, SMEM_TILE, WARP_TILE, WARP_TILE_W, WG_R,
                             WG_XI, WINOGRAD_W_BK, WINOGRAD_W_THREADS, WINOGRAD_W_TILE, cdiv,
                             check_int32, float_dtype, grid_1d, implicit_gemm_grid)
from . import versions

KERNEL = "conv2d_bwd_weight"
FILES = ("conv2d_bwd_weight/conv2d_bwd_weight.cu", "conv2d_bwd_weight/winograd_bwd_weight.cu")
DEFAULT_VERSION = versions.DEFAULT["cuda"]
ENTRIES = versions.TABLE.cuda_entries()     # version -> the entries compiled for it
HELPERS = {"reduce": ("conv2d_bwd_weight_reduce",)}   # adds the split-K partials in order

# gy, x, part_gw, part_gb, N C H W O KH KW Ho Wo stride pad rep, splits, kchunk
BWD_WEIGHT_ARGS = ("const T*", "const T*", "T*", "T*") + ("int",) * 14
SIGNATURES = {
    **{f"conv2d_bwd_weight_v{v}": BWD_WEIGHT_ARGS for v in (1, 2, 3, 4, 5)},
    "conv2d_bwd_weight_reduce": ("const T*", "const T*", "T*", "T*", "int", "int", "int"),
    # winograd (winograd_bwd_weight.cu)
    "conv2d_bwd_weight_v6_gy": ("const T*", "const double*", "T*") + ("int",) * 6,  # N R Ho Wo th tw
    "conv2d_bwd_weight_v6_gemm": ("const T*", "const T*", "T*") + ("int",) * 4,   # R S P kchunk
    "conv2d_bwd_weight_v6_filter": ("const T*", "const double*", "T*", "int", "int", "int"),
}

SPLIT_TARGET_BLOCKS = 264     # split-K: aim for ~2 blocks per SM of an H100
SPLIT_MIN_K = 128             # ... but give each split at least this much reduction work
WINOGRAD_W_TARGET_BLOCKS = 528    # winograd split-K: ~4 of its small blocks per SM of an H100


def plan(x_shape, w_shape, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """What conv2d_backward_weight runs for this call, and why (versions.TABLE)."""
    shape = ConvShape.of(x_shape, w_shape, stride, padding, padding_mode)
    return versions.TABLE.plan("cuda", version, shape)


def split_geometry(version, O, CKK, K):
    """(grid, block, splits, kchunk): backward-weight reduces over K = N*Ho*Wo in `splits`
    chunks of `kchunk` (a multiple of 16, so every tile's k-slices line up)."""
    if version == "direct":
        grid, block = grid_1d(O * CKK + O)
        return grid, block, 1, K
    tile = {"smem_tiles": (SMEM_TILE, SMEM_TILE, None), "reg_tiles": REG_TILE[:3],
            "warp_tiles": WARP_TILE_W[:3], "tf32x3": WARP_TILE[:3]}[version]
    tm, tn, threads = tile
    tiles = cdiv(O, tm) * cdiv(CKK, tn)
    splits = max(1, min(cdiv(SPLIT_TARGET_BLOCKS, tiles), cdiv(K, SPLIT_MIN_K)))
    kchunk = cdiv(cdiv(K, splits), 16) * 16
    splits = cdiv(K, kchunk)
    if version in ("warp_tiles", "tf32x3"):
        return (cdiv(CKK, tn), cdiv(O, tm), splits), (threads, 1, 1), splits, kchunk
    grid, block = implicit_gemm_grid(version, O, CKK, 0)
    return (grid[0], grid[1], splits), block, splits, kchunk


def conv2d_backward_weight(xp, launch, gy, x, w_shape, stride, padding, padding_mode, version):
    """(gw, gb). A GEMM gw[o][(c,p,q)] = sum_k gy[o][k] * xtap[k][(c,p,q)] whose reduction
    index k = (n, i, j) is long (N*Ho*Wo) while the output is small, so the reduction is
    split over blocks (split-K); each split writes its own partial sums, and a second
    kernel adds them in a fixed order: deterministic, no atomics."""
    gy, x = xp.ascontiguousarray(gy), xp.ascontiguousarray(x)
    dt = float_dtype(gy, x)
    N, C, H, W = x.shape
    O, Cw, KH, KW = (int(s) for s in w_shape)
    Ho, Wo = conv_out(H, KH, stride, padding), conv_out(W, KW, stride, padding)
    if C != Cw or gy.shape != (N, O, Ho, Wo):
        raise ValueError(f"gy {gy.shape} / x {x.shape} do not match w_shape {tuple(w_shape)}")
    rep = padding_code(padding_mode)
    CKK, K = C * KH * KW, N * Ho * Wo
    check_int32(x.size, gy.size, K)
    runs = plan(x.shape, w_shape, stride, padding, padding_mode, version).runs
    if runs == "winograd":
        # the bias gradient is a plain sum of gy: the array library's reduction
        gb = gy.sum(axis=(0, 2, 3))     # gy is already contiguous and of type dt
        return winograd_weight_grad(xp, launch, gy, x, padding, rep), gb
    grid, block, splits, kchunk = split_geometry(runs, O, CKK, K)
    check_int32(splits * O * CKK)
    gw = xp.empty((O, C, KH, KW), dtype=dt)
    gb = xp.empty((O,), dtype=dt)
    if splits == 1:
        part_gw, part_gb = gw, gb
    else:
        part_gw = xp.empty((splits, O, CKK), dtype=dt)
        part_gb = xp.empty((splits, O), dtype=dt)
    launch(KERNEL, runs, ENTRIES[runs][0], dt, grid, block,
           gy, x, part_gw, part_gb, N, C, H, W, O, KH, KW, Ho, Wo, stride, padding, rep,
           splits, kchunk)
    if splits > 1:
        grid, block = grid_1d(O * CKK + O)
        launch(KERNEL, "reduce", "conv2d_bwd_weight_reduce", dt, grid, block,
               part_gw, part_gb, gw, gb, splits, O * CKK, O)
    return gw, gb


# ----------------------------------------------------- winograd (winograd_bwd_weight.cu)
def winograd_weight_splits(R, S, P):
    """(splits, kchunk) of the winograd weight-gradient GEMMs: 36 x tiles x splits blocks
    near WINOGRAD_W_TARGET_BLOCKS, each split at least 4 slices of tiles (kchunk % 16 == 0)."""
    tiles = WG_XI * cdiv(R, WINOGRAD_W_TILE) * cdiv(S, WINOGRAD_W_TILE)
    splits = max(1, min(cdiv(WINOGRAD_W_TARGET_BLOCKS, tiles), cdiv(P, 4 * WINOGRAD_W_BK)))
    kchunk = cdiv(cdiv(P, splits), WINOGRAD_W_BK) * WINOGRAD_W_BK
    return cdiv(P, kchunk), kchunk


def winograd_weight_grad(xp, launch, gy, x, pad, rep):
    """The winograd weight gradient (winograd_bwd_weight.cu): the forward's input transform
    V, the gy transform Yh = A dY A^T, 36 split-K GEMMs dU = Yh V^T, and gw = G^T dU G."""
    dt = x.dtype
    N, S, H, W = x.shape
    R, Ho, Wo = gy.shape[1:]
    th, tw = winograd_tiles(Ho, Wo)
    P = N * th * tw
    splits, kchunk = winograd_weight_splits(R, S, P)
    check_int32(WG_XI * S * P, WG_XI * R * P, splits * WG_XI * R * S)
    mats = winograd_mats(xp)
    V = winograd_input_transform(xp, launch, x, pad, rep, th, tw)
    Yh = xp.empty((WG_XI, R, P), dtype=dt)
    launch(KERNEL, "winograd", "conv2d_bwd_weight_v6_gy", dt, *grid_1d(R * P),
           gy, mats, Yh, N, R, Ho, Wo, th, tw)
    part = xp.empty((splits, WG_XI, R, S), dtype=dt)
    launch(KERNEL, "winograd", "conv2d_bwd_weight_v6_gemm", dt,
           (cdiv(S, WINOGRAD_W_TILE), cdiv(R, WINOGRAD_W_TILE), WG_XI * splits),
           (WINOGRAD_W_THREADS, 1, 1), Yh, V, part, R, S, P, kchunk)
    gw = xp.empty((R, S, WG_R, WG_R), dtype=dt)
    launch(KERNEL, "winograd", "conv2d_bwd_weight_v6_filter", dt, *grid_1d(R * S),
           part, mats, gw, R, S, splits)
    return gw
