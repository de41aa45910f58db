"""GPU checks and benchmarks for tinysr's CUDA kernels; run by benchmarks/gpu_check.sh.

    PYTHONPATH=. python benchmarks/gpu_bench.py --out OUTDIR [--budget 330] [--dry-run]

Stages, each guarded (a failure is recorded and the next stage runs) and each under a
time budget inside one hard total budget:
  env      the card, CuPy / CUDA / PyTorch / cuDNN versions
  verify   every version of every kernel against numpy_ref (float64) in float32 and
           float64, outputs poisoned with NaN, error-bound tolerances
  train    SRCNN and VDSR for a few hundred steps on "cuda" and on the CPU (NumPy
           reference backend), same seed and data: the loss curves side by side
  step     one VDSR training step at batch 64 of 41x41 (SGD, momentum): ms per step, and a
           per-primitive profile (CUDA events around each backend call) of VDSR and SRCNN
  bench    conv forward and forward+backward on the SRCNN and VDSR layer shapes against
           cuDNN through PyTorch, strict fp32 and TF32: ms, TFLOP/s, ratio to cuDNN
Results go to OUTDIR/results.json (rewritten after every stage), OUTDIR/bench.csv and
OUTDIR/summary.md. ``--dry-run`` runs verify (through the CPU emulator) and train (CPU vs
CPU) on tiny sizes without CuPy, to test this script itself.
"""
import argparse
import contextlib
import json
import os
import platform
import sys
import time
import traceback

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

RESULTS = {"stages": {}}
OUT = "."
DEADLINE = [0.0]          # monotonic time at which everything must stop
DRY = [False]


class OutOfTime(Exception):
    pass


def left():
    return DEADLINE[0] - time.monotonic()


def check_time(stage_deadline):
    if time.monotonic() > min(stage_deadline, DEADLINE[0]):
        raise OutOfTime("stage budget spent")


def save():
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(RESULTS, f, indent=1, default=str)


def log(*a):
    print(*a, flush=True)


def run_stage(name, fn, budget):
    t0 = time.monotonic()
    if left() < 5:
        RESULTS["stages"][name] = {"status": "skipped", "reason": "total budget spent"}
        log(f"== {name}: skipped (total budget spent)")
        save()
        return
    log(f"== {name} (budget {min(budget, left()):.0f} s)")
    rec = {"status": "ok"}
    RESULTS["stages"][name] = rec
    try:
        fn(rec, t0 + budget)
    except OutOfTime as e:
        rec["status"] = "partial"
        rec["reason"] = str(e)
    except Exception:
        rec["status"] = "error"
        rec["error"] = traceback.format_exc()[-3000:]
        log(rec["error"])
    rec["seconds"] = round(time.monotonic() - t0, 1)
    log(f"   {name}: {rec['status']} in {rec['seconds']} s")
    save()


# ---------------------------------------------------------------------------------- env
def stage_env(rec, deadline):
    rec["python"] = sys.version.split()[0]
    rec["platform"] = platform.platform()
    rec["numpy"] = np.__version__
    if DRY[0]:
        rec["device"] = "dry run (no GPU)"
        return
    import cupy
    dev = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    rec["device"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    rec["sm_count"] = props.get("multiProcessorCount")
    rec["cc"] = f"{props.get('major')}.{props.get('minor')}"
    rec["mem_gib"] = round(props.get("totalGlobalMem", 0) / 2**30, 1)
    rec["cupy"] = cupy.__version__
    rec["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
    rec["cuda_driver"] = cupy.cuda.runtime.driverGetVersion()
    try:
        import torch
        rec["torch"] = torch.__version__
        rec["cudnn"] = torch.backends.cudnn.version()
    except Exception as e:          # noqa: BLE001 - recorded, not fatal
        rec["torch"] = f"unavailable: {e}"
    log(f"   {rec['device']} (sm_{rec['cc'].replace('.', '')}, {rec['sm_count']} SMs, "
        f"{rec['mem_gib']} GiB), CuPy {rec['cupy']}, torch {rec.get('torch')}, "
        f"cuDNN {rec.get('cudnn')}")


# ---------------------------------------------------------------------------------- verify
EPS = {np.dtype(np.float32): 2.0 ** -24, np.dtype(np.float64): 2.0 ** -53}
VERIFY_CASES = [   # N, C, H, W, O, K, stride, pad, mode
    (2, 3, 7, 9, 5, 3, 1, 1, "zeros"),
    (1, 3, 11, 10, 2, 5, 2, 2, "replicate"),
    (2, 17, 9, 9, 66, 3, 1, 1, "replicate"),
    (3, 5, 8, 7, 9, 4, 2, 1, "zeros"),
    (4, 64, 41, 41, 64, 3, 1, 1, "zeros"),        # a VDSR layer, batch 4
    (8, 1, 33, 33, 64, 9, 1, 0, "zeros"),         # SRCNN's first layer
    (8, 32, 25, 25, 1, 5, 1, 0, "zeros"),         # SRCNN's last layer
]


def _backend_for_verify():
    """(xp with NaN-poisoned empty, launch, to_host) for the GPU, or the CPU emulator."""
    from tinysr.backend import cuda_loader
    if DRY[0]:
        import importlib.util
        path = os.path.join(REPO, "kernels", "emulator", "harness.py")
        spec = importlib.util.spec_from_file_location("tinysr_emu_harness", path)
        emu = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(emu)

        class XP:
            def __getattr__(self, n):
                return getattr(np, n)

            @staticmethod
            def empty(shape, dtype=float):
                return np.full(shape, np.nan, dtype=dtype)
        return XP(), emu.launch, np.asarray, np.asarray
    import cupy

    class XP:
        def __getattr__(self, n):
            return getattr(cupy, n)

        @staticmethod
        def empty(shape, dtype=float):
            return cupy.full(shape, np.nan, dtype=dtype)
    return XP(), cuda_loader.launch, cupy.asarray, cupy.asnumpy


def _ratio(got, want, bound):
    """max |got - want| / bound (<= 1 passes); inf when an output is NaN (unwritten)."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - want) / bound)) if got.size else 0.0


def _versions(kernel):
    """The CUDA versions of a kernel (not its helper programs: 'reduce', 'fold')."""
    from tinysr.backend import cuda_loader
    return cuda_loader.versions(kernel)


def stage_verify(rec, deadline):
    from tinysr.backend import numpy_ref as ref
    from tinysr.kernels.bias_act import launch as bias_act
    from tinysr.kernels.conv2d_bwd_input import launch as bwd_input
    from tinysr.kernels.conv2d_bwd_weight import launch as bwd_weight
    from tinysr.kernels.conv2d_fwd import launch as fwd
    from tinysr.kernels.optim_update import launch as optim
    from tinysr.testing import conv_error_bound
    xp, launch, dev, host = _backend_for_verify()
    rows = rec["rows"] = []
    cases = VERIFY_CASES[:4] if DRY[0] else VERIFY_CASES
    for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        eps = EPS[dtype]
        for case in cases:
            N, C, H, W, O, K, s, p, mode = case
            rng = np.random.default_rng(0)
            x = rng.standard_normal((N, C, H, W)).astype(dtype)
            w = rng.standard_normal((O, C, K, K)).astype(dtype)
            Ho, Wo = (H + 2 * p - K) // s + 1, (W + 2 * p - K) // s + 1
            gy = rng.standard_normal((N, O, Ho, Wo)).astype(dtype)
            x64, w64, gy64 = (a.astype(np.float64) for a in (x, w, gy))
            want_y = ref.conv2d_forward(x64, w64, s, p, mode)
            want_gx = ref.conv2d_backward_input(gy64, w64, x.shape, s, p, mode)

            def bnd_y(v):        # tf32x3 (3xTF32) and winograd have their own bounds
                return conv_error_bound("conv2d_fwd", v, x, w, x.shape, s, p, mode)

            def bnd_gx(v):
                return conv_error_bound("conv2d_bwd_input", v, gy, w, x.shape, s, p, mode)
            want_gw, want_gb = ref.conv2d_backward_weight(gy64, x64, w.shape, s, p, mode)
            _, sb = ref.conv2d_backward_weight(abs(gy64), abs(x64), w.shape, s, p, mode)
            terms = gy.size // O + 512
            X, Wd, GY = dev(x), dev(w), dev(gy)
            # "warp_tiles_n128": warp_tiles with its forward engine forced onto the 64 x 128 tile
            for label in _versions("conv2d_fwd") + ("warp_tiles_n128",):
                check_time(deadline)
                version, tile = (("warp_tiles", 128) if label == "warp_tiles_n128"
                                 else (label, None))
                r = {"dtype": dtype.name, "case": "x".join(map(str, case)), "version": label}
                try:
                    with fwd.force_warp_tile(tile):
                        y = fwd.conv2d_forward(xp, launch, X, Wd, s, p, mode, version)
                    r["conv2d_fwd"] = _ratio(host(y), want_y, bnd_y(version) + 1e-300)
                except Exception as e:   # noqa: BLE001
                    r["conv2d_fwd"] = f"error: {e}"
                try:
                    with fwd.force_warp_tile(tile):
                        gx = bwd_input.conv2d_backward_input(xp, launch, GY, Wd, x.shape, s, p,
                                                             mode, version)
                    r["conv2d_bwd_input"] = _ratio(host(gx), want_gx, bnd_gx(version) + 1e-300)
                except Exception as e:   # noqa: BLE001
                    r["conv2d_bwd_input"] = f"error: {e}"
                try:
                    gw, gb = bwd_weight.conv2d_backward_weight(xp, launch, GY, X, w.shape, s, p,
                                                               mode, version)
                    bnd_w = conv_error_bound("conv2d_bwd_weight", version, gy, x, w.shape, s, p,
                                             mode)
                    r["conv2d_bwd_weight"] = max(
                        _ratio(host(gw), want_gw, bnd_w + 1e-300),
                        _ratio(host(gb), want_gb, 2 * terms * eps * sb + 1e-300))
                except Exception as e:   # noqa: BLE001
                    r["conv2d_bwd_weight"] = f"error: {e}"
                rows.append(r)
        # bias_act (16x64x41x41: split_channel splits its backward 14 ways), the optimisers
        rng = np.random.default_rng(1)
        bias_shapes = [(5, 70, 9, 11)] + ([] if DRY[0] else [(16, 64, 41, 41)])
        for version in _versions("bias_act"):
            for shape in bias_shapes:
                check_time(deadline)
                C = shape[1]
                x = rng.standard_normal(shape).astype(dtype)
                b = rng.standard_normal(C).astype(dtype)
                gy = rng.standard_normal(x.shape).astype(dtype)
                r = {"dtype": dtype.name, "case": "x".join(map(str, shape)), "version": version}
                try:
                    worst = 0.0
                    for act, slope in [("none", 0.0), ("relu", 0.0), ("leaky_relu", 0.2)]:
                        y = bias_act.bias_act_forward(xp, launch, dev(x), dev(b), act, slope,
                                                      version)
                        want = ref.bias_act_forward(x.astype(np.float64), b.astype(np.float64),
                                                    act, slope)
                        worst = max(worst, _ratio(host(y), want,
                                                  4 * eps * (abs(want) + abs(x)) + 1e-300))
                        yr = ref.bias_act_forward(x, b, act, slope)
                        gx, gb = bias_act.bias_act_backward(xp, launch, dev(gy), dev(yr), act,
                                                            slope, version)
                        wx, wb = ref.bias_act_backward(gy.astype(np.float64),
                                                       yr.astype(np.float64), act, slope)
                        worst = max(worst, _ratio(host(gx), wx, 2 * eps * abs(wx) + 1e-300))
                        sb = np.abs(gy.astype(np.float64)).sum(axis=(0, 2, 3))
                        worst = max(worst, _ratio(host(gb), wb, 2 * (gy.size // C) * eps * sb
                                                  + 1e-300))
                    r["bias_act"] = worst
                except Exception as e:   # noqa: BLE001
                    r["bias_act"] = f"error: {e}"
                rows.append(r)
        n = 100_003 if not DRY[0] else 3001
        p0, g, buf0 = (rng.standard_normal(n).astype(dtype) for _ in range(3))
        m0, v0 = rng.random(n).astype(dtype), rng.random(n).astype(dtype)
        for version in _versions("optim_update"):
            check_time(deadline)
            r = {"dtype": dtype.name, "case": "n=%d" % n, "version": version}
            try:
                tol = 64 * eps
                P, B = dev(p0.copy()), dev(buf0.copy())
                optim.sgd_step(xp, launch, P, dev(g), B, 0.1, 0.9, 0.01,
                               version)
                p1, b1 = p0.copy(), buf0.copy()
                ref.sgd_step(p1, g, b1, 0.1, 0.9, 0.01)
                P2, M, V = dev(p0.copy()), dev(m0.copy()), dev(v0.copy())
                optim.adam_step(xp, launch, P2, dev(g), M, V, 5, 1e-2, 0.9, 0.999, 1e-8, 0.01,
                                version)
                p2, m2, v2 = p0.copy(), m0.copy(), v0.copy()
                ref.adam_step(p2, g, m2, v2, 5, 1e-2, 0.9, 0.999, 1e-8, 0.01)
                r["optim_update"] = max(
                    _ratio(host(a), want, tol * (1 + abs(want)))
                    for a, want in [(P, p1), (B, b1), (P2, p2), (M, m2), (V, v2)])
            except Exception as e:   # noqa: BLE001
                r["optim_update"] = f"error: {e}"
            rows.append(r)
    # one verdict per (kernel, version, dtype)
    verdict = {}
    for r in rows:
        for k, v in r.items():
            if k in ("dtype", "case", "version"):
                continue
            key = f"{k} {r['version']} {r['dtype']}"
            ok = isinstance(v, float) and v <= 1.0
            prev = verdict.get(key, (True, 0.0))
            verdict[key] = (prev[0] and ok, max(prev[1], v if isinstance(v, float) else np.inf))
    rec["verdict"] = {k: {"pass": ok, "worst_err_over_bound": w} for k, (ok, w) in
                      sorted(verdict.items())}
    npass = sum(ok for ok, _ in verdict.values())
    rec["summary"] = f"{npass} of {len(verdict)} (kernel, version, dtype) pass"
    log(f"   {rec['summary']}")
    for k, (ok, w) in sorted(verdict.items()):
        if not ok:
            log(f"   FAIL {k}: worst |err|/bound = {w}")


# ---------------------------------------------------------------------------------- train
def _task(batch, size, shrink, seed=0):
    """A fixed de-blurring task: input = 3x3 box blur of a smooth random image, target =
    the image (cropped by `shrink` on each side for valid-convolution models)."""
    rng = np.random.default_rng(seed)
    img = rng.random((batch, 1, size + 4, size + 4))
    box = lambda a: sum(a[:, :, i:i + a.shape[2] - 2, j:j + a.shape[3] - 2]  # noqa: E731
                        for i in range(3) for j in range(3)) / 9.0
    hr = box(img)                       # (size + 2)^2, smooth-ish
    lr = box(hr)                        # size^2
    hr = hr[:, :, 1:-1, 1:-1]
    if shrink:
        hr = hr[:, :, shrink:-shrink, shrink:-shrink]
    return lr.astype(np.float32), hr.astype(np.float32)


def _make_model(name, small):
    from tinysr.models import SRCNN, VDSR
    if name == "srcnn":
        return SRCNN(f1=9, f2=1, f3=5, seed=0)
    return VDSR(depth=6 if small else 20, seed=0)


def _shrink(model, name):
    """Pixels a valid-convolution model loses per side (SRCNN); 0 for VDSR."""
    if name != "srcnn":
        return 0
    s = model.shrink
    return int(s() if callable(s) else s)


def _train(name, device, steps, batch, size, deadline, small):
    import tinysr
    from tinysr import functional as F
    model = _make_model(name, small)
    lr_img, hr_img = _task(batch, size, _shrink(model, name))
    model.to(device)
    opt = (tinysr.optim.Adam(model.parameters(), lr=1e-3) if name == "srcnn"
           else tinysr.optim.Adam(model.parameters(), lr=1e-4))
    x = tinysr.tensor(lr_img).to(device)
    t = tinysr.tensor(hr_img).to(device)
    losses = []
    t0 = time.monotonic()
    for _ in range(steps):
        if time.monotonic() > deadline:
            break
        opt.zero_grad()
        loss = F.mse_loss(model(x), t)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses, time.monotonic() - t0


def stage_train(rec, deadline):
    from tinysr.backend import use_cpu_backend
    gpu = "cpu" if DRY[0] else "cuda"
    plan = [("srcnn", 300, 8, 33), ("vdsr", 100, 2, 20)]
    if DRY[0]:
        plan = [("srcnn", 20, 2, 21), ("vdsr", 10, 1, 12)]
    for name, steps, batch, size in plan:
        check_time(deadline)
        share = (min(deadline, DEADLINE[0]) - time.monotonic()) / (2 if name == "srcnn" else 1)
        r = rec[name] = {"steps": steps, "batch": batch, "size": size}
        try:
            g_loss, g_s = _train(name, gpu, steps, batch, size, time.monotonic() + share * 0.3,
                                 DRY[0])
            r["gpu_seconds"] = round(g_s, 2)
            with use_cpu_backend("numpy"):
                c_loss, c_s = _train(name, "cpu", len(g_loss), batch, size,
                                     time.monotonic() + share * 0.65, DRY[0])
            r["cpu_seconds"] = round(c_s, 2)
            n = min(len(g_loss), len(c_loss))
            g, c = np.array(g_loss[:n]), np.array(c_loss[:n])
            rel = np.abs(g - c) / np.maximum(np.abs(c), 1e-30)
            r.update(steps_compared=n, gpu_loss=g_loss[::max(1, n // 20)],
                     cpu_loss=c_loss[::max(1, n // 20)],
                     first_loss=(float(g[0]), float(c[0])), last_loss=(float(g[-1]), float(c[-1])),
                     rel_diff_step0=float(rel[0]), rel_diff_max_first10=float(rel[:10].max()),
                     rel_diff_last=float(rel[-1]),
                     decreased=bool(g[-1] < 0.5 * g[0] and c[-1] < 0.5 * c[0]))
            r["pass"] = bool(rel[0] < 1e-4 and rel[:10].max() < 1e-3 and rel[-1] < 0.05
                             and r["decreased"])
            log(f"   {name}: {n} steps; loss gpu {g[0]:.5g} -> {g[-1]:.5g}, cpu {c[0]:.5g} -> "
                f"{c[-1]:.5g}; rel diff step0 {rel[0]:.2e}, first10 {rel[:10].max():.2e}, "
                f"last {rel[-1]:.2e}; {'PASS' if r['pass'] else 'CHECK'}")
        except OutOfTime:
            raise
        except Exception:          # noqa: BLE001
            r["error"] = traceback.format_exc()[-2000:]
            log(r["error"])


# ---------------------------------------------------------------------------------- step
@contextlib.contextmanager
def _profiled(be, record):
    """Wrap every contract primitive of backend ``be`` in CUDA events."""
    import cupy
    names = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
             "bias_act_forward", "bias_act_backward", "sgd_step", "adam_step"]
    saved = {n: getattr(be, n) for n in names}

    def wrap(n, fn):
        def inner(*a, **k):
            s, e = cupy.cuda.Event(), cupy.cuda.Event()
            s.record()
            out = fn(*a, **k)
            e.record()
            record.append((n, s, e))
            return out
        return inner
    for n, fn in saved.items():
        setattr(be, n, wrap(n, fn))
    try:
        yield
    finally:
        for n, fn in saved.items():
            setattr(be, n, fn)


def _step_time(name, batch, size, reps, deadline):
    import cupy
    import tinysr
    from tinysr import backend as backends
    from tinysr import functional as F
    model = _make_model(name, False)
    lr_img, hr_img = _task(batch, size, _shrink(model, name))
    model.to("cuda")
    opt = tinysr.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = tinysr.tensor(lr_img).to("cuda")
    t = tinysr.tensor(hr_img).to("cuda")

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), t)
        loss.backward()
        opt.step()
        return loss
    for _ in range(3):
        step()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(reps):
        if time.monotonic() > deadline:
            break
        s, e = cupy.cuda.Event(), cupy.cuda.Event()
        s.record()
        step()
        e.record()
        e.synchronize()
        times.append(cupy.cuda.get_elapsed_time(s, e))
    # one profiled step
    be = backends.get("cuda")
    record = []
    s, e = cupy.cuda.Event(), cupy.cuda.Event()
    with _profiled(be, record):
        s.record()
        step()
        e.record()
        e.synchronize()
    total = cupy.cuda.get_elapsed_time(s, e)
    prof = {}
    for n, a, b in record:
        c, ms = prof.get(n, (0, 0.0))
        prof[n] = (c + 1, ms + cupy.cuda.get_elapsed_time(a, b))
    prof_rows = [{"primitive": n, "calls": c, "ms": round(ms, 3),
                  "share": round(ms / total, 3)} for n, (c, ms) in
                 sorted(prof.items(), key=lambda kv: -kv[1][1])]
    other = total - sum(ms for _, ms in prof.values())
    prof_rows.append({"primitive": "everything else (CuPy elementwise, loss, launch gaps)",
                      "calls": None, "ms": round(other, 3), "share": round(other / total, 3)})
    return {"batch": batch, "size": size, "ms_median": float(np.median(times)) if times else None,
            "ms_all": [round(v, 3) for v in times], "profiled_step_ms": round(total, 3),
            "profile": prof_rows}


def stage_step(rec, deadline):
    if DRY[0]:
        rec["status_note"] = "needs a GPU"
        return
    for name, batch, size in [("vdsr", 64, 41), ("srcnn", 128, 33)]:
        check_time(deadline)
        try:
            r = rec[name] = _step_time(name, batch, size, 10, deadline)
            log(f"   {name} step, batch {batch} of {size}x{size}: {r['ms_median']:.2f} ms "
                f"(median of {len(r['ms_all'])})" if r["ms_median"] else f"   {name}: no timing")
            for row in r["profile"]:
                log(f"      {row['primitive']:55s} {row['calls'] or '':>4} calls "
                    f"{row['ms']:9.3f} ms {100 * row['share']:5.1f} %")
        except OutOfTime:
            raise
        except Exception:          # noqa: BLE001
            rec[name] = {"error": traceback.format_exc()[-2000:]}
            log(rec[name]["error"])
    v = rec.get("vdsr", {}).get("ms_median")
    rec["vdsr_under_60ms"] = bool(v is not None and v < 60.0)


# ---------------------------------------------------------------------------------- bench
CONV_KERNELS = ("conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_weight")
# (forward, backward-input, backward-weight) mixes timed on the VDSR layer beside the default:
# the tensor-core engine on all three, and with warp_tiles' backward-weight (tf32x3's weight
# tile wastes a quarter of its columns on VDSR: which wins?); Winograd forward and
# backward-input with each weight pass
MIXES = (("tf32x3", "tf32x3", "tf32x3"), ("tf32x3", "tf32x3", "warp_tiles"),
         ("winograd", "winograd", "warp_tiles"), ("winograd", "winograd", "tf32x3"),
         ("winograd", "winograd", "winograd"))


def _mix_key(mix):
    """The results key of a mix: "tf32x3+tf32x3+warp_tiles"."""
    return "+".join(mix)

LAYERS = [  # name, N, C, H, W, O, K, pad
    ("srcnn conv1 9x9 1->64", 128, 1, 33, 33, 64, 9, 0),
    ("srcnn915 conv2 1x1 64->32", 128, 64, 25, 25, 32, 1, 0),
    ("srcnn915 conv3 5x5 32->1", 128, 32, 25, 25, 1, 5, 0),
    ("srcnn955 conv2 5x5 64->32", 128, 64, 25, 25, 32, 5, 0),
    ("srcnn955 conv3 5x5 32->1", 128, 32, 21, 21, 1, 5, 0),
    ("vdsr 3x3 64->64 pad1", 64, 64, 41, 41, 64, 3, 1),
]


def _time_cupy(fn, reps, warmup=3):
    from cupyx.profiler import benchmark
    r = benchmark(fn, n_repeat=reps, n_warmup=warmup)
    return float(np.median(r.gpu_times[0])) * 1e3


def _time_torch(torch, fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return float(np.median(times))


def stage_bench(rec, deadline):
    if DRY[0]:
        rec["status_note"] = "needs a GPU"
        return
    import cupy
    from tinysr.backend import cuda_loader
    from tinysr.backend import cupy_gpu as be
    from tinysr.kernels.conv2d_fwd import launch as fwd
    try:
        import torch
        import torch.nn.functional as tF
        torch.backends.cudnn.benchmark = True
    except Exception as e:          # noqa: BLE001
        torch = None
        rec["torch_error"] = str(e)
    rows = rec["rows"] = []
    for name, N, C, H, W, O, K, pad in LAYERS:
        check_time(deadline)
        Ho, Wo = H + 2 * pad - K + 1, W + 2 * pad - K + 1
        flop = 2.0 * N * O * Ho * Wo * C * K * K
        need_gx = C > 1                      # a first layer never needs its input gradient
        passes = 3 if need_gx else 2
        rng = cupy.random.default_rng(0)
        X = rng.standard_normal((N, C, H, W), dtype=cupy.float32)
        Wt = rng.standard_normal((O, C, K, K), dtype=cupy.float32) * (1.0 / np.sqrt(C * K * K))
        Wt = cupy.ascontiguousarray(Wt.astype(cupy.float32))
        GY = rng.standard_normal((N, O, Ho, Wo), dtype=cupy.float32)
        r = {"layer": name, "shape": [N, C, H, W, O, K, pad], "gflop_fwd": flop / 1e9,
             "passes_fwd_bwd": passes}

        def ours_fwd():
            return be.conv2d_forward(X, Wt, 1, pad, "zeros")

        def ours_fb():
            be.conv2d_forward(X, Wt, 1, pad, "zeros")
            if need_gx:
                be.conv2d_backward_input(GY, Wt, X.shape, 1, pad, "zeros")
            return be.conv2d_backward_weight(GY, X, Wt.shape, 1, pad, "zeros")
        # "ours" is what the library runs: the default CUDA version of each conv kernel
        default = {k: cuda_loader.DEFAULT_VERSION[k] for k in CONV_KERNELS}
        r["ours_versions"] = default
        try:
            with be.use_versions(**default):
                r["ours_fwd_ms"] = _time_cupy(ours_fwd, 20)
                r["ours_fwdbwd_ms"] = _time_cupy(ours_fb, 20)
        except Exception as e:      # noqa: BLE001
            r["ours_error"] = str(e)
        if name.startswith("vdsr"):  # the version ladder on the headline layer
            ladder = {}
            # a version: what its plan runs; "warp_tiles tile 64xBN": warp_tiles forward /
            # backward-input forced onto one of its two tiles (conv2d_fwd/launch.py:
            # warp_tile_for)
            rungs = ([(v, None) for v in _versions("conv2d_fwd")]
                     + [("warp_tiles", 256), ("warp_tiles", 128)])
            r["warp_tiles_auto_tile"] = fwd.warp_tile_for(O, N * Ho * Wo,
                                                          cuda_loader.sm_count()).BN
            r["sm_count"] = cuda_loader.sm_count()
            for v, tile in rungs:
                check_time(deadline)
                key = v if tile is None else f"{v} tile 64x{tile}"
                try:
                    with be.use_versions(conv2d_fwd=v, conv2d_bwd_input=v,
                                         conv2d_bwd_weight=v), fwd.force_warp_tile(tile):
                        reps = 3 if v == "direct" else 10
                        ladder[key] = {
                            "fwd_ms": _time_cupy(ours_fwd, reps, 1),
                            "bwd_input_ms": _time_cupy(lambda: be.conv2d_backward_input(
                                GY, Wt, X.shape, 1, pad, "zeros"), reps, 1),
                            "bwd_weight_ms": _time_cupy(lambda: be.conv2d_backward_weight(
                                GY, X, Wt.shape, 1, pad, "zeros"), reps, 1)}
                except Exception as e:   # noqa: BLE001
                    ladder[key] = {"error": str(e)}
            r["versions"] = ladder
            r["mix_fwdbwd_ms"] = mixes = {}
            for mix in MIXES:       # (forward, backward-input, backward-weight), see MIXES
                try:
                    with be.use_versions(**dict(zip(CONV_KERNELS, mix))):
                        mixes[_mix_key(mix)] = _time_cupy(ours_fb, 20)
                except Exception as e:   # noqa: BLE001
                    r[f"{_mix_key(mix)}_error"] = str(e)
        if torch is not None:
            try:
                xt = torch.as_tensor(X, device="cuda")
                wt = torch.as_tensor(Wt, device="cuda")
                bt = torch.zeros(O, device="cuda")
                gyt = torch.as_tensor(GY, device="cuda")
                xg = xt.clone().requires_grad_(need_gx)
                wg = wt.clone().requires_grad_(True)
                bg = bt.clone().requires_grad_(True)
                inputs = [t for t in (xg, wg, bg) if t.requires_grad]

                def t_fwd():
                    with torch.no_grad():
                        return tF.conv2d(xt, wt, bt, padding=pad)

                def t_fb():
                    y = tF.conv2d(xg, wg, bg, padding=pad)
                    return torch.autograd.grad(y, inputs, gyt)
                for mode, tf32 in (("fp32", False), ("tf32", True)):
                    torch.backends.cudnn.allow_tf32 = tf32
                    torch.backends.cuda.matmul.allow_tf32 = tf32
                    r[f"cudnn_{mode}_fwd_ms"] = _time_torch(torch, t_fwd, 20, 5)
                    r[f"cudnn_{mode}_fwdbwd_ms"] = _time_torch(torch, t_fb, 20, 5)
                torch.backends.cudnn.allow_tf32 = False
            except Exception as e:  # noqa: BLE001
                r["torch_error"] = traceback.format_exc()[-1500:]
        for key in ("fwd", "fwdbwd"):
            ms = r.get(f"ours_{key}_ms")
            f = flop * (1 if key == "fwd" else passes)
            if ms:
                r[f"ours_{key}_tflops"] = f / ms / 1e9
                for mode in ("fp32", "tf32"):
                    c = r.get(f"cudnn_{mode}_{key}_ms")
                    if c:
                        r[f"cudnn_{mode}_{key}_tflops"] = f / c / 1e9
                        r[f"ratio_{mode}_{key}"] = c / ms      # >1: ours faster
        rows.append(r)
        save()
    vd = [r for r in rows if r["layer"].startswith("vdsr")]
    if vd and vd[0].get("ratio_fp32_fwdbwd"):
        rec["vdsr_fwdbwd_fp32_ratio"] = vd[0]["ratio_fp32_fwdbwd"]
        rec["vdsr_fwdbwd_at_least_0.8x"] = vd[0]["ratio_fp32_fwdbwd"] >= 0.8
    if vd and vd[0].get("cudnn_fp32_fwdbwd_ms"):     # each mix against cuDNN strict fp32
        rec["vdsr_mixes_fwdbwd"] = {
            key: {"ms": ms, "x_cudnn_fp32": vd[0]["cudnn_fp32_fwdbwd_ms"] / ms}
            for key, ms in vd[0].get("mix_fwdbwd_ms", {}).items() if ms}
    if vd:
        rec["vdsr_fastest_verified_mix"] = fastest_verified_mix(vd[0])
    rec["bias_act_bwd"] = _bench_bias_act_backward(deadline)


def _bench_bias_act_backward(deadline, shape=(64, 64, 41, 41)):
    """bias + ReLU backward (gx and gb) on a VDSR activation, every version, against the
    same two ops in PyTorch (where + sum over the non-channel axes), and as GB/s of its
    compulsory traffic (read gy and y, write gx)."""
    import cupy
    from tinysr.backend import cupy_gpu as be
    out = {"shape": list(shape)}
    rng = cupy.random.default_rng(3)
    GY = rng.standard_normal(shape, dtype=cupy.float32)
    Y = cupy.maximum(rng.standard_normal(shape, dtype=cupy.float32), 0)
    nbytes = 3 * GY.size * 4
    verdict = RESULTS["stages"].get("verify", {}).get("verdict", {})
    for v in _versions("bias_act"):
        check_time(deadline)
        try:
            with be.use_versions(bias_act=v):
                ms = _time_cupy(lambda: be.bias_act_backward(GY, Y, "relu", 0.0), 20)
            out[v] = {"ms": ms, "GB_s": nbytes / ms / 1e6,
                      "verified": all(verdict.get(f"bias_act {v} {dt}", {}).get("pass")
                                      for dt in ("float32", "float64"))}
        except Exception as e:      # noqa: BLE001
            out[v] = {"error": str(e)}
    try:
        import torch
        gyt, yt = torch.as_tensor(GY, device="cuda"), torch.as_tensor(Y, device="cuda")

        def t_bwd():
            gx = torch.where(yt > 0, gyt, 0.0)
            return gx, gx.sum(dim=(0, 2, 3))
        out["torch_ms"] = _time_torch(torch, t_bwd, 20, 5)
    except Exception as e:          # noqa: BLE001
        out["torch_error"] = str(e)
    ok = {k: d["ms"] for k, d in out.items() if isinstance(d, dict) and d.get("verified")}
    if ok:
        out["fastest_verified"] = min(ok, key=ok.get)
    return out


def fastest_verified_mix(row):
    """Of the (forward, backward-input, backward-weight) version mixes timed on the VDSR
    layer, the fastest whose every version passed verify in float32 and float64: what
    default CUDA versions (kernels/<kernel>/versions.py: DEFAULT) should say on this card
    (None if nothing qualifies)."""
    verdict = RESULTS["stages"].get("verify", {}).get("verdict", {})
    default = tuple(row.get("ours_versions", {}).get(k) for k in CONV_KERNELS)
    timed = {mix: row.get("mix_fwdbwd_ms", {}).get(_mix_key(mix)) for mix in MIXES}
    timed[default] = row.get("ours_fwdbwd_ms")

    def verified(mix):
        return all(verdict.get(f"{k} {v} {dt}", {}).get("pass")
                   for k, v in zip(CONV_KERNELS, mix) for dt in ("float32", "float64"))
    ok = {mix: ms for mix, ms in timed.items() if ms and verified(mix)}
    if not ok:
        return None
    mix = min(ok, key=ok.get)
    cudnn = row.get("cudnn_fp32_fwdbwd_ms")
    return {"versions": dict(zip(CONV_KERNELS, mix)), "fwdbwd_ms": ok[mix],
            "x_cudnn_fp32": cudnn / ok[mix] if cudnn else None}


# ---------------------------------------------------------------------------------- report
def _fmt(v, spec=".3f"):
    return format(v, spec) if isinstance(v, (int, float)) and v is not None else "-"


def write_summary():
    st = RESULTS["stages"]
    lines = ["# tinysr CUDA kernels: device check", ""]
    env = st.get("env", {})
    lines.append(f"Device: {env.get('device')} | CuPy {env.get('cupy')} | CUDA runtime "
                 f"{env.get('cuda_runtime')} | torch {env.get('torch')} | cuDNN {env.get('cudnn')}")
    lines.append("")
    lines.append("Stages: " + ", ".join(f"{k} {v.get('status')} ({v.get('seconds')} s)"
                                         for k, v in st.items()))
    v = st.get("verify", {})
    if "summary" in v:
        lines += ["", f"## Kernel versions vs numpy_ref: {v['summary']}", "",
                  "| kernel version dtype | pass | worst err/bound |", "|---|---|---|"]
        lines += [f"| {k} | {'yes' if d['pass'] else 'NO'} | {_fmt(d['worst_err_over_bound'])} |"
                  for k, d in v.get("verdict", {}).items()]
    tr = st.get("train", {})
    if any(isinstance(tr.get(m), dict) for m in ("srcnn", "vdsr")):
        lines += ["", "## Training on cuda vs the CPU reference backend", "",
                  "| model | steps | loss gpu first -> last | loss cpu first -> last | "
                  "rel diff step 0 / first 10 / last | pass |", "|---|---|---|---|---|---|"]
        for m in ("srcnn", "vdsr"):
            r = tr.get(m)
            if not isinstance(r, dict) or "first_loss" not in r:
                lines.append(f"| {m} | - | error | | | |")
                continue
            lines.append(
                f"| {m} | {r['steps_compared']} | {r['first_loss'][0]:.4g} -> {r['last_loss'][0]:.4g}"
                f" | {r['first_loss'][1]:.4g} -> {r['last_loss'][1]:.4g} | {r['rel_diff_step0']:.1e}"
                f" / {r['rel_diff_max_first10']:.1e} / {r['rel_diff_last']:.1e} | "
                f"{'yes' if r['pass'] else 'check'} |")
    sp = st.get("step", {})
    for m in ("vdsr", "srcnn"):
        r = sp.get(m)
        if isinstance(r, dict) and r.get("ms_median"):
            lines += ["", f"## {m} training step, batch {r['batch']} of {r['size']}x{r['size']}: "
                      f"{r['ms_median']:.2f} ms", "", "| primitive | calls | ms | share |",
                      "|---|---|---|---|"]
            lines += [f"| {p['primitive']} | {p['calls'] or ''} | {p['ms']:.3f} | "
                      f"{100 * p['share']:.1f} % |" for p in r["profile"]]
    b = st.get("bench", {})
    if b.get("rows"):
        vers = next((r["ours_versions"] for r in b["rows"] if r.get("ours_versions")), {})
        lines += ["", "## Convolution vs cuDNN (float32 data; ours has no TF32 path, so its "
                  "numbers are the same in both columns)", "",
                  "ours = the default versions: " +
                  (", ".join(f"{k} {v}" for k, v in vers.items()) or "?"), "",
                  "| layer | pass | ours ms | ours TFLOP/s | cuDNN fp32 ms | x cuDNN fp32 | "
                  "cuDNN TF32 ms | x cuDNN TF32 |", "|---|---|---|---|---|---|---|---|"]
        for r in b["rows"]:
            for key, label in (("fwd", "fwd"), ("fwdbwd", "fwd+bwd")):
                lines.append(
                    f"| {r['layer']} | {label} | {_fmt(r.get(f'ours_{key}_ms'))} | "
                    f"{_fmt(r.get(f'ours_{key}_tflops'), '.2f')} | "
                    f"{_fmt(r.get(f'cudnn_fp32_{key}_ms'))} | "
                    f"{_fmt(r.get(f'ratio_fp32_{key}'), '.2f')} | "
                    f"{_fmt(r.get(f'cudnn_tf32_{key}_ms'))} | "
                    f"{_fmt(r.get(f'ratio_tf32_{key}'), '.2f')} |")
        for r in b["rows"]:
            if "versions" in r:
                lines += ["", f"Version ladder, {r['layer']} (ms; warp_tiles forward-engine "
                          f"tile picked: 64x{r.get('warp_tiles_auto_tile', '?')} on "
                          f"{r.get('sm_count', '?')} SMs):", "",
                          "| version | fwd | bwd input | bwd weight |", "|---|---|---|---|"]
                for ver, d in r["versions"].items():
                    lines.append(f"| {ver} | {_fmt(d.get('fwd_ms'))} | "
                                 f"{_fmt(d.get('bwd_input_ms'))} | {_fmt(d.get('bwd_weight_ms'))} |")
        lines.append("")
        lines.append("x cuDNN = cuDNN ms / ours ms (above 1: ours is faster). "
                     f"VDSR fwd+bwd >= 0.8x cuDNN fp32: {b.get('vdsr_fwdbwd_at_least_0.8x')}")
        for key, d in (b.get("vdsr_mixes_fwdbwd") or {}).items():
            f, bi, bw = key.split("+")
            lines.append(f"VDSR fwd+bwd with {f} forward, {bi} backward-input, {bw} "
                         f"backward-weight (tf32x3: 3xTF32 tensor cores, float32-accurate; "
                         f"winograd: F(4x4, 3x3)): {d['ms']:.3f} ms = "
                         f"{d['x_cudnn_fp32']:.2f}x cuDNN fp32")
        best = b.get("vdsr_fastest_verified_mix")
        if best:
            lines.append("Fastest verified mix on the VDSR layer (fwd, bwd-input, bwd-weight): "
                         + ", ".join(f"{k} {v}" for k, v in best["versions"].items())
                         + f": {best['fwdbwd_ms']:.3f} ms = "
                         + f"{_fmt(best['x_cudnn_fp32'], '.2f')}x cuDNN fp32 "
                         "(set DEFAULT[\"cuda\"] in kernels/<kernel>/versions.py to it)")
        ba = b.get("bias_act_bwd") or {}
        timed = [(k, d) for k, d in ba.items() if isinstance(d, dict) and "ms" in d]
        failed = [(k, d) for k, d in ba.items() if isinstance(d, dict) and "error" in d]
        if timed or failed:
            lines += ["", f"bias + ReLU backward (gx, gb) on {'x'.join(map(str, ba['shape']))} "
                      f"float32; PyTorch (where + sum): {_fmt(ba.get('torch_ms'))} ms", "",
                      "| version | ms | GB/s | x PyTorch | verified |", "|---|---|---|---|---|"]
            for k, d in timed:
                lines.append(f"| {k} | {d['ms']:.3f} | {d['GB_s']:.0f} | "
                             f"{_fmt(ba['torch_ms'] / d['ms'] if ba.get('torch_ms') else None, '.2f')}"
                             f" | {d['verified']} |")
            lines += [f"| {k} | error: {d['error'][:80]} | | | |" for k, d in failed]
            if ba.get("fastest_verified"):
                lines.append(f"Fastest verified bias_act: {ba['fastest_verified']} "
                             "(DEFAULT[\"cuda\"] in kernels/bias_act/versions.py)")
        with open(os.path.join(OUT, "bench.csv"), "w") as f:
            keys = sorted({k for r in b["rows"] for k in r
                           if k not in ("versions", "mix_fwdbwd_ms", "torch_error")})
            f.write(",".join(keys) + "\n")
            for r in b["rows"]:
                f.write(",".join(str(r.get(k, "")).replace(",", ";") for k in keys) + "\n")
    if sp.get("vdsr_under_60ms") is not None:
        lines.append(f"VDSR step < 60 ms at batch 64: {sp.get('vdsr_under_60ms')}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "summary.md"), "w") as f:
        f.write(text)
    return text


def main():
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=330.0, help="total seconds")
    ap.add_argument("--dry-run", action="store_true", help="no GPU: emulator + CPU only")
    ap.add_argument("--stages", default="env,verify,train,step,bench")
    args = ap.parse_args()
    OUT = args.out
    os.makedirs(OUT, exist_ok=True)
    DRY[0] = args.dry_run
    DEADLINE[0] = time.monotonic() + args.budget
    RESULTS["started"] = time.strftime("%Y-%m-%d %H:%M:%S")
    RESULTS["budget_s"] = args.budget
    try:
        import subprocess
        RESULTS["commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                           capture_output=True, text=True).stdout.strip()
    except Exception:               # noqa: BLE001
        pass
    budgets = {"env": 20, "verify": 0.22, "train": 0.30, "step": 0.12, "bench": 0.33}
    stages = {"env": stage_env, "verify": stage_verify, "train": stage_train,
              "step": stage_step, "bench": stage_bench}
    for name in args.stages.split(","):
        b = budgets[name]
        budget = b if b > 1 else b * args.budget
        run_stage(name, stages[name], budget)
    try:
        print(write_summary())
    except Exception:               # noqa: BLE001
        traceback.print_exc()
    save()


if __name__ == "__main__":
    main()
