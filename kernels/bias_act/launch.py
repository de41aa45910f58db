"""bias + activation on the GPU: the CUDA program, each entry's signature, the default
version, and the launch plans (forward; backward with its split reduction).

    bias_act_forward(xp, launch, x, b, act, slope, version) -> y
    bias_act_backward(xp, launch, gy, y, act, slope, version) -> (gx, gb)

run on CuPy arrays (tinysr.backend.cuda_loader.launch) and on NumPy arrays through the CPU
emulator (kernels/launch_common.py says how). Which version runs is
versions.TABLE.plan("cuda", ...).
"""
import math

from ..launch_common import (MAX_GRID_Y, THREADS, cdiv, check_int32, float_dtype, grid_1d,
                             sm_count)
from . import versions

KERNEL = "bias_act"
FILES = ("bias_act/bias_act.cu",)
DEFAULT_VERSION = versions.DEFAULT["cuda"]
ENTRIES = versions.TABLE.cuda_entries()     # version -> the entries compiled for it
HELPERS = {}

SIGNATURES = {
    # x, b, y, has_bias, act, slope, C, inner, total
    **{f"bias_act_fwd_v{v}": ("const T*", "const T*", "T*", "int", "int", "T",
                              "int", "int", "int") for v in (1, 2)},
    # gy, y, gx, gb, act, slope, N, C, inner
    **{f"bias_act_bwd_v{v}": ("const T*", "const T*", "T*", "T*", "int", "T",
                              "int", "int", "int") for v in (1, 2)},
    # ... + chunk (elements per split; splits = gridDim.y), then the partials' reduce
    "bias_act_bwd_v3": ("const T*", "const T*", "T*", "T*", "int", "T") + ("int",) * 4,
    "bias_act_bwd_v3_reduce": ("const T*", "T*", "int", "int"),            # part gb C splits
}
FORWARD = {"per_element": "bias_act_fwd_v1", "per_channel": "bias_act_fwd_v2"}
BACKWARD = {"per_element": "bias_act_bwd_v1", "per_channel": "bias_act_bwd_v2",
            "split_channel": "bias_act_bwd_v3"}

BIAS_BLOCKS_PER_SM = 8        # split_channel backward: 8 blocks of 256 = a full H100 SM
BIAS_MIN_CHUNK = 2048         # ... each summing at least 8 elements a thread
ACTS = {"none": 0, "relu": 1, "leaky_relu": 2}


def plan(direction, version=DEFAULT_VERSION):
    """What the forward or backward runs for ``version``, and why (versions.TABLE)."""
    return versions.TABLE.plan("cuda", version, versions.BiasActCall(direction))


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
    dt = float_dtype(x) if b is None else float_dtype(x, b)
    N, C, inner = _nc_inner(x.shape)
    if b is not None and b.shape != (C,):
        raise ValueError(f"bias shape {b.shape} does not match {C} channels")
    check_int32(x.size)
    y = xp.empty(x.shape, dtype=dt)
    bb = xp.ascontiguousarray(b) if b is not None else y      # any array: not read
    if y.size == 0:
        return y
    runs = plan("forward", version).runs
    if runs == "per_element":
        grid, block = grid_1d(x.size)
    else:
        grid, block = (N * C, min(cdiv(inner, THREADS), MAX_GRID_Y), 1), (THREADS, 1, 1)
    launch(KERNEL, runs, FORWARD[runs], dt, grid, block,
           x, bb, y, int(b is not None), _act(act), slope, C, inner, x.size)
    return y


def bias_act_backward(xp, launch, gy, y, act, slope, version):
    gy, y = xp.ascontiguousarray(gy), xp.ascontiguousarray(y)
    dt = float_dtype(gy, y)
    N, C, inner = _nc_inner(gy.shape)
    check_int32(gy.size)
    gx = xp.empty(gy.shape, dtype=dt)
    gb = xp.empty((C,), dtype=dt)
    runs = plan("backward", version).runs
    if runs == "split_channel":
        splits, chunk = bias_grad_splits(C, N * inner, sm_count(launch))
        part = gb if splits == 1 else xp.empty((splits, C), dtype=dt)
        launch(KERNEL, runs, "bias_act_bwd_v3", dt, (C, splits, 1), (THREADS, 1, 1),
               gy, y, gx, part, _act(act), slope, N, C, inner, chunk)
        if splits > 1:
            launch(KERNEL, runs, "bias_act_bwd_v3_reduce", dt, *grid_1d(C), part, gb, C, splits)
        return gx, gb
    if runs == "per_element":
        grid, block = grid_1d(max(gy.size, C))
    else:
        grid, block = (C, 1, 1), (THREADS, 1, 1)
    launch(KERNEL, runs, BACKWARD[runs], dt, grid, block,
           gy, y, gx, gb, _act(act), slope, N, C, inner)
    return gx, gb


def bias_grad_splits(C, per_channel, sms):
    """(splits, chunk) of the split_channel backward: about BIAS_BLOCKS_PER_SM blocks an SM
    in all (C x splits), each block at least BIAS_MIN_CHUNK elements, at most MAX_GRID_Y
    splits. VDSR (C 64, 64 x 41 x 41 per channel) on 132 SMs: 17 splits of 6329."""
    per_channel = max(1, per_channel)               # N = 0: one empty split, gb = 0
    splits = min(cdiv(BIAS_BLOCKS_PER_SM * sms, C), cdiv(per_channel, BIAS_MIN_CHUNK),
                 MAX_GRID_Y)
    chunk = cdiv(per_channel, splits)
    return cdiv(per_channel, chunk), chunk
