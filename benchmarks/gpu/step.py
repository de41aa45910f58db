"""Job step: one training step of the paper's VDSR (VDSR-20, batch 64 of 41x41; target
under 60 ms) and of SRCNN 9-1-5 (batch 128 of 33x33), each the library's own step
function (tinysr.training.vdsr.vdsr_step, sr_task.supervised_step) with its paper
optimiser and loss (VDSR: SGD, momentum, weight decay, adjustable clipping; its lr 1e-6,
not 0.1, keeps the weights finite over the timed steps on random patches, and the time
does not depend on it), on a batch already on the device, timed with CUDA events; then
one step profiled per backend primitive (CUDA events around every call; the rest is
CuPy's elementwise work, the loss and launch gaps). The helpers time_step, profile_step
and peak_memory serve drcn_step.py too.

rec[model]: batch, size, step, ms_median, ms_all, profiled_step_ms, profile;
rec["vdsr_under_60ms"].
"""
import contextlib
import time
import traceback

import numpy as np

from .context import OutOfTime, log

PRIMITIVES = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
              "bias_act_forward", "bias_act_backward", "sgd_step", "adam_step")
PLAN = (("vdsr", 64, 41), ("srcnn", 128, 33))          # model, batch, patch size


def paper_step(model_name, device):
    """(step function, pixels the model loses per side) of the paper recipe of a model."""
    from tinysr import optim
    from tinysr.models import SRCNN, VDSR
    from tinysr.training import srcnn, vdsr
    from tinysr.training.sr_task import supervised_step
    if model_name == "vdsr":
        model = VDSR(depth=20, width=64, seed=0).to(device)
        opt = optim.SGD(model.parameters(), lr=1e-6, momentum=0.9, weight_decay=1e-4)
        return vdsr.vdsr_step(model, opt, "paper", device, "adjustable", 0.01), 0
    model = SRCNN(f1=9, f2=1, f3=5, seed=0, init_scheme="paper").to(device)
    opt = srcnn.build_optimizer(model, "paper", None)
    return supervised_step(model, opt, srcnn.loss_for("paper"), device), model.shrink


def device_batch(device, batch, size, shrink=0, seed=0):
    """A random (input, target) batch already on the device, so a step times no copy."""
    from tinysr import backend
    be = backend.get(device)
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, size, size), dtype=np.float32)
    return be.asarray(x), be.asarray(x[:, :, shrink:size - shrink, shrink:size - shrink].copy())


def synchronize(device):
    if device == "cuda":
        import cupy
        cupy.cuda.Device().synchronize()


def time_step(step, batch, device, reps, warmup=3, deadline=None):
    """ms of each of ``reps`` steps after ``warmup``: CUDA events on the GPU, else the clock."""
    for _ in range(warmup):
        step(batch)
    synchronize(device)
    times = []
    for _ in range(reps):
        if deadline is not None and deadline.left() < 0:
            break
        if device == "cuda":
            import cupy
            s, e = cupy.cuda.Event(), cupy.cuda.Event()
            s.record()
            step(batch)
            e.record()
            e.synchronize()
            times.append(cupy.cuda.get_elapsed_time(s, e))
        else:
            t0 = time.perf_counter()
            step(batch)
            times.append(1e3 * (time.perf_counter() - t0))
    return times


@contextlib.contextmanager
def profiled(be, record):
    """Every contract primitive of backend module ``be`` wrapped in CUDA events for the
    duration: (name, start, end) appended to ``record`` per call."""
    import cupy
    saved = {n: getattr(be, n) for n in PRIMITIVES}

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


def profile_step(step, batch):
    """(ms of one step, rows of {primitive, calls, ms, share}) on the GPU."""
    import cupy
    from tinysr import backend
    record = []
    s, e = cupy.cuda.Event(), cupy.cuda.Event()
    with profiled(backend.get("cuda"), record):
        s.record()
        step(batch)
        e.record()
        e.synchronize()
    total = cupy.cuda.get_elapsed_time(s, e)
    prof = {}
    for n, a, b in record:
        c, ms = prof.get(n, (0, 0.0))
        prof[n] = (c + 1, ms + cupy.cuda.get_elapsed_time(a, b))
    rows = [{"primitive": n, "calls": c, "ms": round(ms, 3), "share": round(ms / total, 3)}
            for n, (c, ms) in sorted(prof.items(), key=lambda kv: -kv[1][1])]
    other = total - sum(ms for _, ms in prof.values())
    rows.append({"primitive": "everything else (CuPy elementwise, loss, launch gaps)",
                 "calls": None, "ms": round(other, 3), "share": round(other / total, 3)})
    return total, rows


def peak_memory(step, batch):
    """GPU memory of one step through CuPy's pool: bytes in use before it, the most in use
    at any allocation during it, and the pool's reservation after it (GiB)."""
    import cupy
    pool = cupy.get_default_memory_pool()
    synchronize("cuda")
    before = pool.used_bytes()
    peak = [before]

    def tracking(size):
        mem = pool.malloc(size)
        peak[0] = max(peak[0], pool.used_bytes())
        return mem
    with cupy.cuda.using_allocator(tracking):
        step(batch)
        synchronize("cuda")
    free, total = cupy.cuda.runtime.memGetInfo()
    gib = 2.0 ** -30
    return {"in_use_before_gib": before * gib, "peak_in_use_gib": peak[0] * gib,
            "pool_reserved_gib": pool.total_bytes() * gib, "device_used_gib": (total - free) * gib,
            "device_total_gib": total * gib}


def run(ctx, rec, deadline):
    if ctx.dry_run:
        rec["status_note"] = "needs a GPU"
        return
    for name, batch, size in PLAN:
        deadline.check()
        try:
            step, shrink = paper_step(name, "cuda")
            data = device_batch("cuda", batch, size, shrink)
            times = time_step(step, data, "cuda", 10, deadline=deadline)
            total, rows = profile_step(step, data)
            r = rec[name] = {"batch": batch, "size": size, "step": f"{name} paper recipe",
                             "ms_median": float(np.median(times)) if times else None,
                             "ms_all": [round(v, 3) for v in times], "profiled_step_ms": round(total, 3),
                             "profile": rows}
            log(f"   {name} step, batch {batch} of {size}x{size}: {r['ms_median']:.2f} ms "
                f"(median of {len(times)})" if times else f"   {name}: no timing")
            for row in rows:
                log(f"      {row['primitive']:55s} {row['calls'] or '':>4} calls "
                    f"{row['ms']:9.3f} ms {100 * row['share']:5.1f} %")
        except OutOfTime:
            raise
        except Exception:           # noqa: BLE001 - recorded; the next model still runs
            rec[name] = {"error": traceback.format_exc()[-2000:]}
            log(rec[name]["error"])
    v = rec.get("vdsr", {}).get("ms_median")
    rec["vdsr_under_60ms"] = bool(v is not None and v < 60.0)
