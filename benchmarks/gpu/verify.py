"""Job verify: every CUDA version of every kernel against its folder's float64 reference, in
float32 and float64, on the GPU (through the CPU emulator without one), outputs poisoned
with NaN. The comparisons are the kernel folders' own (kernels/<kernel>/check.py and
kernels/cpu_tools.py: check_within, check_one, check_steps), under tinysr.testing's error
bounds (conv_error_bound), on their CUDA cases plus GPU-sized ones.

rec["verdict"]["<kernel> <version> <dtype>"] = {"pass", "worst_err_over_bound"} (at most
1 passes), rec["summary"]; every comparison's line (worst index, first mismatches) goes to
OUT/verify.txt. "warp_tiles_n128" is warp_tiles with its forward engine forced onto the
64 x 128 tile (conv2d_fwd/launch.py: force_warp_tile).
"""
import contextlib
import io
import math
import re

import numpy as np

from .context import log

# GPU-sized cases on top of the emulator's (conv2d_fwd/check.py: CUDA_CASES); N, C, H, W, O,
# K, stride, pad, mode. SMALL also run in the emulator: past one 64-row tile with
# replicate padding, an even filter at stride 2.
SMALL = [(2, 17, 9, 9, 66, 3, 1, 1, "replicate"), (3, 5, 8, 7, 9, 4, 2, 1, "zeros")]
BIG = [(4, 64, 41, 41, 64, 3, 1, 1, "zeros"),        # a VDSR layer, batch 4
       (8, 1, 33, 33, 64, 9, 1, 0, "zeros"),         # SRCNN's first layer
       (8, 32, 25, 25, 1, 5, 1, 0, "zeros")]         # SRCNN's last layer
BIAS_BIG = [(16, 64, 41, 41)]                        # split_channel splits this 14 ways
CONV = ("conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_weight")
_LINE = re.compile(r"^(ok  |FAIL) .*?worst err/bound (\S+)")
_DTYPE = re.compile(r"float(?:32|64)")


def cuda_versions(kernel):
    """The CUDA versions of ``kernel``, from its folder's version table."""
    import importlib
    return importlib.import_module(f"tinysr.kernels.{kernel}.versions").TABLE.names("cuda")


class Tally:
    """Runs the folders' check helpers (each prints one line per comparison and returns
    whether all passed), keeps their lines, and one verdict per (kernel, version, dtype)."""

    def __init__(self):
        self.lines, self.verdict = [], {}

    def check(self, kernel, version, fn, dtype=None):
        """Run ``fn()``; its lines count for ``dtype``, or (None) for the dtype each names."""
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                ok = bool(fn())
            error = None
        except Exception as e:      # noqa: BLE001 - a launch that fails is a failed check
            ok, error = False, f"{type(e).__name__}: {e}"
        lines = buf.getvalue().splitlines()
        for line in lines:
            m = _LINE.match(line)
            if m:
                named = _DTYPE.search(line)
                dt = dtype or (named.group(0) if named else "float32")
                self._count(kernel, version, dt, m.group(1) == "ok  ", float(m.group(2)))
        if error is not None:
            lines.append(f"FAIL {kernel} {version} {dtype or ''}: {error}")
            for dt in [dtype] if dtype else ["float32", "float64"]:
                self._count(kernel, version, dt, False, math.inf)
        elif not ok:                # a failure without a line of its own
            self._count(kernel, version, dtype or "float32", False, math.nan)
        self.lines += lines

    def _count(self, kernel, version, dtype, ok, ratio):
        key = f"{kernel} {version} {dtype}"
        prev_ok, prev = self.verdict.get(key, (True, 0.0))
        self.verdict[key] = (prev_ok and ok, max(prev, ratio) if not math.isnan(ratio) else prev)


def conv_checks(tally, dev, case, dtype, rng):
    """Forward, backward-input and backward-weight (gw and gb) of every version on one case."""
    from tinysr.kernels.conv2d_bwd_input import launch as bwd_input
    from tinysr.kernels.conv2d_bwd_input.reference import conv2d_bwd_input
    from tinysr.kernels.conv2d_bwd_weight import launch as bwd_weight
    from tinysr.kernels.conv2d_bwd_weight.reference import conv2d_bwd_weight
    from tinysr.kernels.conv2d_fwd import launch as fwd
    from tinysr.kernels.conv2d_fwd.reference import conv2d_fwd
    from tinysr.kernels.cpu_tools import UNIT, check_within
    from tinysr.testing import conv_error_bound
    n, c, h, wd, o, k, s, p, mode = case
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    gy = rng.standard_normal((n, o, (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1)).astype(dtype)
    want_y, want_gx = conv2d_fwd(x, w, s, p, mode), conv2d_bwd_input(gy, w, x.shape, s, p, mode)
    want_gw, want_gb = conv2d_bwd_weight(gy, x, w.shape, s, p, mode)
    # conv2d_bwd_weight/check.py's bias bound: the pixels summed plus the split-K partials
    gb_bound = 2 * (gy.size // o + 64) * UNIT[np.dtype(dtype)] * np.abs(gy.astype(np.float64)).sum(axis=(0, 2, 3))
    X, W, GY = dev.put(x), dev.put(w), dev.put(gy)

    def forward(name, v):
        y = fwd.conv2d_forward(dev.xp, dev.launch, X, W, s, p, mode, v)
        return check_within(name, dev.get(y), want_y,
                            conv_error_bound("conv2d_fwd", v, x, w, x.shape, s, p, mode))

    def backward_input(name, v):
        gx = bwd_input.conv2d_backward_input(dev.xp, dev.launch, GY, W, x.shape, s, p, mode, v)
        return check_within(name, dev.get(gx), want_gx,
                            conv_error_bound("conv2d_bwd_input", v, gy, w, x.shape, s, p, mode))

    def backward_weight(name, v):
        gw, gb = bwd_weight.conv2d_backward_weight(dev.xp, dev.launch, GY, X, w.shape, s, p, mode, v)
        ok = check_within(name, dev.get(gw), want_gw,
                          conv_error_bound("conv2d_bwd_weight", v, gy, x, w.shape, s, p, mode))
        return check_within(name + " bias", dev.get(gb), want_gb, gb_bound) and ok

    for kernel, passes in zip(CONV, (forward, backward_input, backward_weight)):
        for label in cuda_versions(kernel) + ("warp_tiles_n128",):
            version, tile = ("warp_tiles", 128) if label == "warp_tiles_n128" else (label, None)
            name = f"{dev.name} {kernel} {label} {np.dtype(dtype).name} {case}"

            def one(passes=passes, name=name, version=version, tile=tile):
                with fwd.force_warp_tile(tile):
                    return passes(name, version)
            tally.check(kernel, label, one, np.dtype(dtype).name)


def bias_act_checks(tally, dev, big):
    """bias_act/check.py's check_one: forward, gx and gb, every activation, every version."""
    from tinysr.kernels.bias_act import check as C
    from tinysr.kernels.bias_act import launch as L
    rng = np.random.default_rng(1)
    for v in cuda_versions("bias_act"):
        for dtype in (np.float32, np.float64):
            def run(v=v, dtype=dtype):
                ok = True
                for shape in C.CUDA_SHAPES + (BIAS_BIG if big else []):
                    for kind in ("none", "relu", "leaky_relu"):
                        x, b, gy = (rng.standard_normal(n).astype(dtype) for n in (shape, shape[1], shape))
                        ok &= C.check_one(
                            f"{dev.name} bias_act {v} {shape} {kind} {np.dtype(dtype).name}", shape,
                            kind, x, b, gy,
                            lambda x, b: dev.get(L.bias_act_forward(dev.xp, dev.launch, dev.put(x),
                                                                    dev.put(b), kind, 0.2, v)),
                            lambda gy, y: tuple(dev.get(a) for a in L.bias_act_backward(
                                dev.xp, dev.launch, dev.put(gy), dev.put(y), kind, 0.2, v)))
                return ok
            tally.check("bias_act", v, run, np.dtype(dtype).name)


def optim_checks(tally, dev, big):
    """optim_update/check.py's check_steps: three SGD and three Adam steps, both dtypes; on
    a GPU past one grid-stride pass (MAX_BLOCKS blocks of THREADS)."""
    from tinysr.kernels.launch_common import THREADS
    from tinysr.kernels.optim_update import check as C
    from tinysr.kernels.optim_update import launch as L
    rng = np.random.default_rng(0)
    shape = (L.MAX_BLOCKS * THREADS * 4 + 3,) if big else (64, 32, 3, 3)
    p0, g = rng.standard_normal(shape), rng.standard_normal(shape)
    for v in cuda_versions("optim_update"):
        tally.check("optim_update", v, lambda v=v: C.check_steps(
            f"{dev.name} optim_update {v}", p0, g,
            lambda p, g, buf: L.sgd_step(dev.xp, dev.launch, p, g, buf, C.LR, C.MOMENTUM, C.WD, v),
            lambda p, g, m, w, step: L.adam_step(dev.xp, dev.launch, p, g, m, w, step, C.A_LR,
                                                 C.B1, C.B2, C.EPS, C.A_WD, v),
            dev.put, dev.get))


def run(ctx, rec, deadline):
    from tinysr.kernels.conv2d_fwd.check import CUDA_CASES
    from tinysr.kernels.cuda_tools import device, no_device_note
    dev = device()
    if dev is None:
        rec["status_note"] = no_device_note()
        return
    rec["ran_on"] = dev.name                     # "gpu", or "emulator"
    big = dev.name == "gpu"
    tally = Tally()
    try:
        for case in CUDA_CASES + SMALL + (BIG if big else []):
            for dtype in (np.float32, np.float64):
                deadline.check()
                conv_checks(tally, dev, case, dtype, np.random.default_rng(0))
        deadline.check()
        bias_act_checks(tally, dev, big)
        deadline.check()
        optim_checks(tally, dev, big)
    finally:
        with open(ctx.path("verify.txt"), "w") as f:
            f.write("\n".join(tally.lines) + "\n")
        rec["verdict"] = {k: {"pass": ok, "worst_err_over_bound": w}
                          for k, (ok, w) in sorted(tally.verdict.items())}
        npass = sum(ok for ok, _ in tally.verdict.values())
        rec["summary"] = f"{npass} of {len(tally.verdict)} (kernel, version, dtype) pass"
        rec["failures"] = [line for line in tally.lines if line.startswith("FAIL")][:50]
        log(f"   {rec['summary']} ({dev.name}; every comparison in verify.txt)")
        for k, (ok, w) in sorted(tally.verdict.items()):
            if not ok:
                log(f"   FAIL {k}: worst |err|/bound = {w}")
