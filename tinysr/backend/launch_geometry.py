"""Launch plans for the CUDA kernels: buffers, grid and block, the order of launches.

Each plan takes an array namespace ``xp`` and a ``launch`` function

    launch(kernel, version, entry, dtype, grid, block, *args)

and does everything a backend primitive needs: validate shapes, allocate outputs and
scratch buffers, pick the grid and block of each kernel, launch. The CuPy backend calls
these plans with (cupy, cuda_loader.launch); the CPU emulator calls the SAME plans with
(numpy, harness.launch). So every CPU emulation test also checks the grids, the scratch
buffers, the split-K reduction and the replicate-padding fold that the GPU will run.

Tile sizes here must match the kernels: BM x BN = 64 x 128 for every "v3" (TileConfig
Tile64x128 in kernels/common.cuh), 64 x 256 with 256 threads for the "v4" forward and
backward-input (WarpTileConfig Tile64x256; entries *_v4) or 64 x 128 with 128 threads
(Tile64x128w; entries *_v4_n128, picked per launch by v4_fwd_tile), 64 x 192 with 192
threads for the "v4" backward-weight (Tile64x192), 64 x 256 with 256 threads for every
"v5" (tensor-core, 3xTF32: forward, backward-input, backward-weight), 64 x 256 with 256
threads for the GEMMs of the "v6" Winograd forward / backward-input (winograd.cu), 64 x 64
with 256 threads for those of the "v6" weight gradient, and 16 x 16 for every "v2"
convolution. A mismatch fails every emulation test of that version.

The SM count comes from ``launch.sm_count()`` where the launcher has it (cuda_loader:
the current device's MultiProcessorCount) and is DEFAULT_SMS otherwise (the emulator).
"""
import contextlib
import math

import numpy as np

from ..kernels.conv2d_fwd.winograd_matrices import matrices as winograd_matrices

THREADS = 256                 # 1-D kernels
V2_TILE = 16                  # v2 convolutions: 16 x 16 threads, 16 x 16 outputs
V3_BM, V3_BN, V3_BK = 64, 128, 8
V4_BM, V4_BN, V4_THREADS = 64, 256, 256           # v4 forward / backward-input
V4W_BM, V4W_BN, V4W_THREADS = 64, 192, 192        # v4 backward-weight
V5_BM, V5_BN, V5_THREADS = 64, 256, 256           # every v5 (mma needs the 256-thread tile)
V4N_BN, V4N_THREADS = 128, 128          # v4 forward / backward-input, small tile
# Resident warps per SM of the v4 forward engine: float needs 128 registers a thread
# (__launch_bounds__(..., 2 or 4)), so 16 warps whatever the block; double ~2x that.
V4_SM_WARPS = {np.dtype(np.float32): 16, np.dtype(np.float64): 8}
V4_SATURATING_WARPS = 8       # assumed: 8 resident warps of 8 x 8 tiles keep an SM's FMA
                              # pipes about as busy as 16 (v4_fwd_tile)
DEFAULT_SMS = 132             # launchers without sm_count (the emulator): an H100 SXM / H200
V4_MAX_SIDE = 32767           # v4 packs tap coordinates into 16-bit halves (common.cuh);
                              # larger images run v3
SPLIT_TARGET_BLOCKS = 264     # backward-weight split-K: aim for ~2 blocks per SM of an H100
SPLIT_MIN_K = 128             # ... but give each split at least this much reduction work
MAX_GRID_Y = 65535
WINOGRAD_M, WINOGRAD_R = 4, 3  # v6: F(4x4, 3x3), as common.cuh's WG_M, WG_R
WINOGRAD_XI = (WINOGRAD_M + WINOGRAD_R - 1) ** 2   # 36 transformed planes (GEMMs)
WINOGRAD_BN, WINOGRAD_BM, WINOGRAD_THREADS = 256, 64, 256      # its GEMMs: Tile64x256
WINOGRAD_W_TILE, WINOGRAD_W_BK = 64, 16   # v6 weight gradient: 64 x 64 tiles, k slices of 16
WINOGRAD_W_TARGET_BLOCKS = 528            # split-K: ~4 of its small blocks per SM of an H100
BIAS_BLOCKS_PER_SM = 8        # bias_act v3 backward: 8 blocks of 256 = a full H100 SM
BIAS_MIN_CHUNK = 2048         # ... each summing at least 8 elements a thread
MODES = {"zeros": 0, "replicate": 1}


def cdiv(a, b):
    return -(-a // b)


def _mode(padding_mode):
    if padding_mode not in MODES:
        raise ValueError(f"padding_mode must be 'zeros' or 'replicate', got {padding_mode!r}")
    return MODES[padding_mode]


def _out_size(size, kernel, stride, padding):
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"convolution output would be empty: input {size}, kernel {kernel}, "
                         f"stride {stride}, padding {padding}")
    return out


def _float_dtype(*arrays):
    dt = np.dtype(arrays[0].dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"CUDA kernels take float32 or float64, got {dt}")
    for a in arrays[1:]:
        if np.dtype(a.dtype) != dt:
            raise TypeError(f"mixed dtypes {dt} and {a.dtype}")
    return dt


def _check_int32(*counts):
    for n in counts:
        if n >= 2**31:
            raise OverflowError("tensor too large for the int32 index math of the kernels")


def _1d(total):
    return (max(1, cdiv(total, THREADS)), 1, 1), (THREADS, 1, 1)


# ---------------------------------------------------------------------------- geometry
def gemm_geometry(version, rows, cols, total_outputs):
    """Grid and block of a conv kernel computing a rows x cols implicit-GEMM output."""
    if version == 1:
        return _1d(total_outputs)
    if version == 2:
        return (cdiv(cols, V2_TILE), cdiv(rows, V2_TILE), 1), (V2_TILE, V2_TILE, 1)
    if version == 3:
        return (cdiv(cols, V3_BN), cdiv(rows, V3_BM), 1), (THREADS, 1, 1)
    if version in (4, 5):
        return (cdiv(cols, V4_BN), cdiv(rows, V4_BM), 1), (V4_THREADS, 1, 1)
    raise ValueError(f"no conv version {version}")


_V4_TILE_OVERRIDE = [None]


@contextlib.contextmanager
def force_v4_tile(bn):
    """with force_v4_tile(128): every v4 forward / backward-input launch uses the 64 x 128
    tile (256: the 64 x 256 one; None: the model's choice). For tests and benchmarks."""
    if bn not in (None, V4_BN, V4N_BN):
        raise ValueError(f"v4 forward tiles are {V4_BN} and {V4N_BN} columns, not {bn}")
    saved = _V4_TILE_OVERRIDE[0]
    _V4_TILE_OVERRIDE[0] = bn
    try:
        yield
    finally:
        _V4_TILE_OVERRIDE[0] = saved


def _sms(launch):
    f = getattr(launch, "sm_count", None)
    return int(f()) if f is not None else DEFAULT_SMS


def v4_tile_cost(rows, cols, bn, threads, sms, dtype=np.float32):
    """Time of a v4 forward-engine launch, in columns of SM work at full throughput, on
    the busiest SM. Blocks go to SMs as slots free up, so the busiest SM runs
    b = ceil(blocks / sms) of them, `slots` at a time. An SM is taken to run at full speed
    while it holds at least V4_SATURATING_WARPS warps and proportionally slower below
    (only the last, partial round can be that thin). Every block costs bn columns.
    Why not ceil(blocks / (sms * slots)) waves: with 16 warps an SM whatever the block
    shape, both tiles give the same wave count (VDSR: 2), which says nothing about the
    tail. This model does: VDSR 64 x 107584 on 132 SMs: 256-tile 4 blocks = 1024,
    128-tile 7 blocks = 896 (the last 3 on an SM that is still 12 warps full)."""
    blocks = cdiv(cols, bn) * cdiv(rows, V4_BM)
    slots = max(1, V4_SM_WARPS[np.dtype(dtype)] // (threads // 32))
    full, r = divmod(cdiv(blocks, sms), slots)
    cost = full * slots * bn
    if r:
        cost += r * bn * max(1.0, V4_SATURATING_WARPS / (r * threads // 32))
    return cost


def v4_fwd_tile(rows, cols, sms, dtype=np.float32):
    """(entry suffix, BN, threads) of the v4 forward-engine tile for a rows x cols output:
    the cheaper under v4_tile_cost, the 64 x 256 tile on a tie (BK 8: half the barriers)."""
    bn = _V4_TILE_OVERRIDE[0]
    if bn is None:
        big = v4_tile_cost(rows, cols, V4_BN, V4_THREADS, sms, dtype)
        small = v4_tile_cost(rows, cols, V4N_BN, V4N_THREADS, sms, dtype)
        bn = V4N_BN if small < big else V4_BN
    return ("_n128", V4N_BN, V4N_THREADS) if bn == V4N_BN else ("", V4_BN, V4_THREADS)


def _v4_or_v3(version, *sides):
    """v4 (and v5, its gather) packs tap coordinates into 16 bits; beyond V4_MAX_SIDE
    pixels a side run v3."""
    return 3 if version in (4, 5) and max(sides) > V4_MAX_SIDE else version


def winograd_applies(KH, KW, stride):
    """v6 (Winograd F(4x4, 3x3)) serves stride-1 3x3 convolutions; others run v4."""
    return stride == 1 and KH == KW == WINOGRAD_R


_WINOGRAD_MATS = {}


def _winograd_mats(xp):
    """B^T (6x6), G (6x3), A^T (4x6), row-major, flattened, float64: winograd.cu's `mats`,
    copied to each device once (a training step then never copies to or from the host)."""
    key = (xp.__name__, xp.cuda.Device().id if hasattr(xp, "cuda") else 0)
    if key not in _WINOGRAD_MATS:
        m, at, g, bt = winograd_matrices(WINOGRAD_R)
        assert m == WINOGRAD_M, "winograd.cu is written for F(4x4, 3x3)"
        _WINOGRAD_MATS[key] = xp.asarray(np.concatenate([bt.ravel(), g.ravel(), at.ravel()]))
    return _WINOGRAD_MATS[key]


def winograd_conv(xp, launch, x, w, pad, rep, flip):
    """The v6 pipeline (winograd.cu): filter, input transform, 36 GEMMs, output transform.
    flip = False: y = conv(x, w), w (R, S, 3, 3). flip = True: w is (S, R, 3, 3) and the
    filter is w rotated by 180 degrees and transposed (the backward-input pass)."""
    dt = x.dtype
    N, S, H, W = x.shape
    R = w.shape[1] if flip else w.shape[0]
    Ho, Wo = H + 2 * pad - WINOGRAD_R + 1, W + 2 * pad - WINOGRAD_R + 1
    th, tw = cdiv(Ho, WINOGRAD_M), cdiv(Wo, WINOGRAD_M)
    P = N * th * tw
    alpha2 = WINOGRAD_XI
    _check_int32(alpha2 * S * P, alpha2 * R * P, alpha2 * R * S, N * R * Ho * Wo)
    mats = _winograd_mats(xp)
    U = xp.empty((alpha2, R, S), dtype=dt)
    launch("conv2d_fwd", 6, "conv2d_fwd_v6_filter", dt, *_1d(R * S), w, mats, U, R, S, int(flip))
    V = xp.empty((alpha2, S, P), dtype=dt)
    launch("conv2d_fwd", 6, "conv2d_fwd_v6_input", dt, *_1d(S * P),
           x, mats, V, N, S, H, W, pad, rep, th, tw)
    M = xp.empty((alpha2, R, P), dtype=dt)
    launch("conv2d_fwd", 6, "conv2d_fwd_v6_gemm", dt,
           (cdiv(P, WINOGRAD_BN), cdiv(R, WINOGRAD_BM), alpha2), (WINOGRAD_THREADS, 1, 1),
           U, V, M, R, S, P)
    y = xp.empty((N, R, Ho, Wo), dtype=dt)
    launch("conv2d_fwd", 6, "conv2d_fwd_v6_output", dt, *_1d(R * P),
           M, mats, y, N, R, Ho, Wo, th, tw)
    return y


def winograd_weight_splits(R, S, P):
    """(splits, kchunk) of the v6 weight-gradient GEMMs: 36 x tiles x splits blocks near
    WINOGRAD_W_TARGET_BLOCKS, each split at least 4 slices of tiles (kchunk % 16 == 0)."""
    tiles = WINOGRAD_XI * cdiv(R, WINOGRAD_W_TILE) * cdiv(S, WINOGRAD_W_TILE)
    splits = max(1, min(cdiv(WINOGRAD_W_TARGET_BLOCKS, tiles), cdiv(P, 4 * WINOGRAD_W_BK)))
    kchunk = cdiv(cdiv(P, splits), WINOGRAD_W_BK) * WINOGRAD_W_BK
    return cdiv(P, kchunk), kchunk


def winograd_weight_grad(xp, launch, gy, x, pad, rep):
    """The v6 weight gradient (winograd_bwd_weight.cu): the forward's input transform V,
    the gy transform Yh = A dY A^T, 36 split-K GEMMs dU = Yh V^T, and gw = G^T dU G."""
    dt = x.dtype
    N, S, H, W = x.shape
    R, Ho, Wo = gy.shape[1:]
    th, tw = cdiv(Ho, WINOGRAD_M), cdiv(Wo, WINOGRAD_M)
    P = N * th * tw
    alpha2 = WINOGRAD_XI
    splits, kchunk = winograd_weight_splits(R, S, P)
    _check_int32(alpha2 * S * P, alpha2 * R * P, splits * alpha2 * R * S)
    mats = _winograd_mats(xp)
    V = xp.empty((alpha2, S, P), dtype=dt)
    launch("conv2d_fwd", 6, "conv2d_fwd_v6_input", dt, *_1d(S * P),
           x, mats, V, N, S, H, W, pad, rep, th, tw)
    Yh = xp.empty((alpha2, R, P), dtype=dt)
    launch("conv2d_bwd_weight", 6, "conv2d_bwd_weight_v6_gy", dt, *_1d(R * P),
           gy, mats, Yh, N, R, Ho, Wo, th, tw)
    part = xp.empty((splits, alpha2, R, S), dtype=dt)
    launch("conv2d_bwd_weight", 6, "conv2d_bwd_weight_v6_gemm", dt,
           (cdiv(S, WINOGRAD_W_TILE), cdiv(R, WINOGRAD_W_TILE), alpha2 * splits), (THREADS, 1, 1),
           Yh, V, part, R, S, P, kchunk)
    gw = xp.empty((R, S, WINOGRAD_R, WINOGRAD_R), dtype=dt)
    launch("conv2d_bwd_weight", 6, "conv2d_bwd_weight_v6_filter", dt, *_1d(R * S),
           part, mats, gw, R, S, splits)
    return gw


def bwd_weight_geometry(version, O, CKK, K):
    """(grid, block, splits, kchunk): backward-weight reduces over K = N*Ho*Wo in `splits`
    chunks of `kchunk` (a multiple of 16, so every tile's k-slices line up)."""
    if version == 1:
        grid, block = _1d(O * CKK + O)
        return grid, block, 1, K
    tm, tn = {2: (V2_TILE, V2_TILE), 3: (V3_BM, V3_BN), 4: (V4W_BM, V4W_BN),
              5: (V5_BM, V5_BN)}[version]
    tiles = cdiv(O, tm) * cdiv(CKK, tn)
    splits = max(1, min(cdiv(SPLIT_TARGET_BLOCKS, tiles), cdiv(K, SPLIT_MIN_K)))
    kchunk = cdiv(cdiv(K, splits), 16) * 16
    splits = cdiv(K, kchunk)
    if version in (4, 5):
        threads = V4W_THREADS if version == 4 else V5_THREADS
        return ((cdiv(CKK, tn), cdiv(O, tm), splits), (threads, 1, 1), splits, kchunk)
    grid, block = gemm_geometry(version, O, CKK, 0)
    return (grid[0], grid[1], splits), block, splits, kchunk


# ---------------------------------------------------------------------------- plans
def conv2d_forward(xp, launch, x, w, stride, padding, padding_mode, version):
    x, w = xp.ascontiguousarray(x), xp.ascontiguousarray(w)
    dt = _float_dtype(x, w)
    N, C, H, W = x.shape
    O, Cw, KH, KW = w.shape
    if C != Cw:
        raise ValueError(f"input has {C} channels, weight expects {Cw}")
    Ho, Wo = _out_size(H, KH, stride, padding), _out_size(W, KW, stride, padding)
    rep = _mode(padding_mode)
    _check_int32(x.size, N * O * Ho * Wo, C * KH * KW)
    if version == 6:
        if winograd_applies(KH, KW, stride):
            return winograd_conv(xp, launch, x, w, padding, rep, flip=False)
        version = 4                      # v6 is Winograd for stride-1 3x3 only
    version = _v4_or_v3(version, H + padding, W + padding)
    y = xp.empty((N, O, Ho, Wo), dtype=dt)
    grid, block = gemm_geometry(version, O, N * Ho * Wo, y.size)
    entry = f"conv2d_fwd_v{version}"
    if version == 4:
        suffix, bn, threads = v4_fwd_tile(O, N * Ho * Wo, _sms(launch), dt)
        entry += suffix
        grid, block = (cdiv(N * Ho * Wo, bn), cdiv(O, V4_BM), 1), (threads, 1, 1)
    launch("conv2d_fwd", version, entry, dt, grid, block,
           x, w, y, N, C, H, W, O, KH, KW, Ho, Wo, stride, padding, rep)
    return y


def conv2d_backward_input(xp, launch, gy, w, x_shape, stride, padding, padding_mode, version):
    """gx = the adjoint of the forward. The kernel gathers, for each pixel of an output grid
    (Hg, Wg) placed at offset `off` inside the padded input, every (o, p, q) that read it.
    zeros:     the grid is the image itself (Hg = H, off = padding): padded pixels are dropped.
    replicate: the grid is the whole padded image (off = 0), then a fold kernel adds each
               border pixel's gradient onto the edge pixel it was copied from.
    v4 is written for stride 1 (a forward convolution of gy with the flipped weight); for
    other strides this plan runs v3 instead."""
    gy, w = xp.ascontiguousarray(gy), xp.ascontiguousarray(w)
    dt = _float_dtype(gy, w)
    N, C, H, W = (int(s) for s in x_shape)
    O, Cw, KH, KW = w.shape
    Ho, Wo = _out_size(H, KH, stride, padding), _out_size(W, KW, stride, padding)
    if C != Cw or gy.shape != (N, O, Ho, Wo):
        raise ValueError(f"gy {gy.shape} / w {w.shape} do not match x_shape {tuple(x_shape)}")
    rep = _mode(padding_mode)
    fold = rep == 1 and padding > 0
    Hg, Wg, off = (H + 2 * padding, W + 2 * padding, 0) if fold else (H, W, padding)
    _check_int32(N * C * Hg * Wg, gy.size, O * KH * KW)
    if version == 6:
        # zeros padding (or none): gx is the forward convolution of gy, zero-padded by
        # KH - 1 - padding, with w rotated 180 degrees and transposed; replicate padding
        # needs the fold below, so it runs v4
        if winograd_applies(KH, KW, stride) and not fold and padding <= KH - 1:
            return winograd_conv(xp, launch, gy, w, KH - 1 - padding, 0, flip=True)
        version = 4
    if version in (4, 5) and stride != 1:
        version = 3                      # v4 and v5 gather gy taps for stride 1 only
    version = _v4_or_v3(version, Hg + padding, Wg + padding)
    out = xp.empty((N, C, Hg, Wg), dtype=dt)
    grid, block = gemm_geometry(version, C, N * Hg * Wg, out.size)
    entry = f"conv2d_bwd_input_v{version}"
    if version == 4:                     # the forward's engine: the forward's tile choice
        suffix, bn, threads = v4_fwd_tile(C, N * Hg * Wg, _sms(launch), dt)
        entry += suffix
        grid, block = (cdiv(N * Hg * Wg, bn), cdiv(C, V4_BM), 1), (threads, 1, 1)
    launch("conv2d_bwd_input", version, entry, dt, grid, block,
           gy, w, out, N, C, H, W, O, KH, KW, Ho, Wo, stride, padding, rep, Hg, Wg, off)
    if not fold:
        return out
    gx = xp.empty((N, C, H, W), dtype=dt)
    grid, block = _1d(gx.size)
    launch("conv2d_bwd_input", "fold", "conv2d_bwd_input_fold", dt, grid, block,
           out, gx, N, C, H, W, padding)
    return gx


def conv2d_backward_weight(xp, launch, gy, x, w_shape, stride, padding, padding_mode, version):
    """(gw, gb). A GEMM gw[o][(c,p,q)] = sum_k gy[o][k] * xtap[k][(c,p,q)] whose reduction
    index k = (n, i, j) is long (N*Ho*Wo) while the output is small, so the reduction is
    split over blocks (split-K); each split writes its own partial sums, and a second
    kernel adds them in a fixed order: deterministic, no atomics."""
    gy, x = xp.ascontiguousarray(gy), xp.ascontiguousarray(x)
    dt = _float_dtype(gy, x)
    N, C, H, W = x.shape
    O, Cw, KH, KW = (int(s) for s in w_shape)
    Ho, Wo = _out_size(H, KH, stride, padding), _out_size(W, KW, stride, padding)
    if C != Cw or gy.shape != (N, O, Ho, Wo):
        raise ValueError(f"gy {gy.shape} / x {x.shape} do not match w_shape {tuple(w_shape)}")
    rep = _mode(padding_mode)
    CKK, K = C * KH * KW, N * Ho * Wo
    _check_int32(x.size, gy.size, K)
    if version == 6:
        if winograd_applies(KH, KW, stride):
            # the bias gradient is a plain sum of gy: the array library's reduction
            gb = gy.sum(axis=(0, 2, 3))     # gy is already contiguous and of type dt
            return winograd_weight_grad(xp, launch, gy, x, padding, rep), gb
        version = 4                      # v6 is Winograd for stride-1 3x3 only
    version = _v4_or_v3(version, KH + padding, KW + padding)
    grid, block, splits, kchunk = bwd_weight_geometry(version, O, CKK, K)
    _check_int32(splits * O * CKK)
    gw = xp.empty((O, C, KH, KW), dtype=dt)
    gb = xp.empty((O,), dtype=dt)
    if splits == 1:
        part_gw, part_gb = gw, gb
    else:
        part_gw = xp.empty((splits, O, CKK), dtype=dt)
        part_gb = xp.empty((splits, O), dtype=dt)
    launch("conv2d_bwd_weight", version, f"conv2d_bwd_weight_v{version}", dt, grid, block,
           gy, x, part_gw, part_gb, N, C, H, W, O, KH, KW, Ho, Wo, stride, padding, rep,
           splits, kchunk)
    if splits > 1:
        grid, block = _1d(O * CKK + O)
        launch("conv2d_bwd_weight", "reduce", "conv2d_bwd_weight_reduce", dt, grid, block,
               part_gw, part_gb, gw, gb, splits, O * CKK, O)
    return gw, gb


ACTS = {"none": 0, "relu": 1, "leaky_relu": 2}


def _act(act):
    if act not in ACTS:
        raise ValueError(f"unknown activation {act!r}")
    return ACTS[act]


def _nc_inner(shape):
    if len(shape) < 2:
        raise ValueError(f"bias_act needs a channel axis (axis 1), got shape {shape}")
    return shape[0], shape[1], int(math.prod(shape[2:]))


def bias_act_forward(xp, launch, x, b, act, slope, version):
    x = xp.ascontiguousarray(x)
    dt = _float_dtype(x) if b is None else _float_dtype(x, b)
    N, C, inner = _nc_inner(x.shape)
    if b is not None and b.shape != (C,):
        raise ValueError(f"bias shape {b.shape} does not match {C} channels")
    _check_int32(x.size)
    y = xp.empty(x.shape, dtype=dt)
    bb = xp.ascontiguousarray(b) if b is not None else y      # any array: not read
    if y.size == 0:
        return y
    version = 2 if version == 3 else version      # v3 changes the backward only
    if version == 1:
        grid, block = _1d(x.size)
    else:
        grid, block = (N * C, min(cdiv(inner, THREADS), MAX_GRID_Y), 1), (THREADS, 1, 1)
    launch("bias_act", version, f"bias_act_fwd_v{version}", dt, grid, block,
           x, bb, y, int(b is not None), _act(act), slope, C, inner, x.size)
    return y


def bias_act_backward(xp, launch, gy, y, act, slope, version):
    gy, y = xp.ascontiguousarray(gy), xp.ascontiguousarray(y)
    dt = _float_dtype(gy, y)
    N, C, inner = _nc_inner(gy.shape)
    _check_int32(gy.size)
    gx = xp.empty(gy.shape, dtype=dt)
    gb = xp.empty((C,), dtype=dt)
    if version == 3:
        splits, chunk = bias_grad_splits(C, N * inner, _sms(launch))
        part = gb if splits == 1 else xp.empty((splits, C), dtype=dt)
        launch("bias_act", 3, "bias_act_bwd_v3", dt, (C, splits, 1), (THREADS, 1, 1),
               gy, y, gx, part, _act(act), slope, N, C, inner, chunk)
        if splits > 1:
            launch("bias_act", 3, "bias_act_bwd_v3_reduce", dt, *_1d(C), part, gb, C, splits)
        return gx, gb
    if version == 1:
        grid, block = _1d(max(gy.size, C))
    else:
        grid, block = (C, 1, 1), (THREADS, 1, 1)
    launch("bias_act", version, f"bias_act_bwd_v{version}", dt, grid, block,
           gy, y, gx, gb, _act(act), slope, N, C, inner)
    return gx, gb


def bias_grad_splits(C, per_channel, sms):
    """(splits, chunk) of the v3 bias_act backward: about BIAS_BLOCKS_PER_SM blocks an SM
    in all (C x splits), each block at least BIAS_MIN_CHUNK elements, at most MAX_GRID_Y
    splits. VDSR (C 64, 64 x 41 x 41 per channel) on 132 SMs: 17 splits of 6329."""
    per_channel = max(1, per_channel)               # N = 0: one empty split, gb = 0
    splits = min(cdiv(BIAS_BLOCKS_PER_SM * sms, C), cdiv(per_channel, BIAS_MIN_CHUNK),
                 MAX_GRID_Y)
    chunk = cdiv(per_channel, splits)
    return cdiv(per_channel, chunk), chunk


def _optim_grid(n, version):
    if version == 1:
        return _1d(n)
    return (max(1, min(cdiv(n, THREADS * 4), 4096)), 1, 1), (THREADS, 1, 1)


def sgd_step(xp, launch, p, g, buf, lr, momentum, weight_decay, version):
    dt = _float_dtype(p, g) if buf is None else _float_dtype(p, g, buf)
    if p.shape != g.shape or (buf is not None and buf.shape != p.shape):
        raise ValueError("sgd_step: p, g and buf must have one shape")
    if p.size == 0:
        return
    _check_int32(p.size)
    grid, block = _optim_grid(p.size, version)
    launch("optim_update", version, f"sgd_step_v{version}", dt, grid, block,
           p, g, buf if buf is not None else p, p.size, int(buf is not None),
           lr, momentum, weight_decay)


def adam_step(xp, launch, p, g, m, v, step, lr, beta1, beta2, eps, weight_decay, version):
    dt = _float_dtype(p, g, m, v)
    if not p.shape == g.shape == m.shape == v.shape:
        raise ValueError("adam_step: p, g, m and v must have one shape")
    if p.size == 0:
        return
    _check_int32(p.size)
    grid, block = _optim_grid(p.size, version)
    launch("optim_update", version, f"adam_step_v{version}", dt, grid, block,
           p, g, m, v, p.size, lr, beta1, 1 - beta1, beta2, 1 - beta2, eps, weight_decay,
           1 - beta1 ** step, 1 - beta2 ** step)
