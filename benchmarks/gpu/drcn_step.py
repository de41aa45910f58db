"""One full-size DRCN training step, timed, and its peak GPU memory (gpu_check.sh --drcn-step).

    python -m benchmarks.gpu.drcn_step --device cuda                  # DRCN(256, 16), batch 64 of 41x41
    python -m benchmarks.gpu.drcn_step --device cpu --width 16 --recursions 3 --batch 2   # a quick CPU check

The step is the library's (tinysr.training.drcn.drcn_step: recursive supervision, forward
and backward through the 16 recursions, every prediction's loss and the ensemble's) with
the paper's optimiser (SGD, momentum 0.9, weight decay 2 beta), at alpha = 0.5, on random
patches; its lr is 1e-6, not 0.01, so that the weights stay finite over the timed steps on
random data (the time does not depend on it).
Prints the step's median ms and the memory it needs (on the GPU, CuPy's pool; on the CPU,
the process's peak resident set before and after the first step, from getrusage, so run
it alone in its own process); ``--json`` also writes them. On the CPU a full-size step
takes minutes: ``--reps 1 --warmup 0`` times the step after the first.
"""
import resource
import argparse
import json

import numpy as np

from .step import device_batch, peak_memory, synchronize, time_step


def drcn_paper_step(width, recursions, device):
    from tinysr import optim
    from tinysr.models import DRCN
    from tinysr.training.drcn import BETA, drcn_step
    model = DRCN(width=width, recursions=recursions, seed=0).to(device)
    opt = optim.SGD(model.parameters(), lr=1e-6, momentum=0.9, weight_decay=2 * BETA)
    return drcn_step(model, opt, device)


def _peak_rss_gib():
    """The process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--recursions", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=41)
    p.add_argument("--reps", type=int, default=5, help="timed steps after the first and --warmup more")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps after the first (default 1)")
    p.add_argument("--json", default=None, help="also write the result here")
    args = p.parse_args(argv)
    step = drcn_paper_step(args.width, args.recursions, args.device)
    x, y = device_batch(args.device, args.batch, args.size)
    batch = (x, y, 0.5)
    rss_before = _peak_rss_gib()
    values = step(batch)                   # the first step compiles the kernels: not timed
    synchronize(args.device)
    rss_after = _peak_rss_gib()
    times = time_step(step, batch, args.device, args.reps, warmup=args.warmup)
    out = {"model": f"DRCN({args.width}, {args.recursions})", "batch": args.batch, "size": args.size,
           "device": args.device, "ms_median": float(np.median(times)), "ms_all": [round(t, 2) for t in times],
           "loss": float(values["loss"].item() if hasattr(values["loss"], "item") else values["loss"])}
    if args.device == "cuda":
        out["memory"] = peak_memory(step, batch)
    else:
        out["cpu_peak_rss_gib"] = {"before_first_step": rss_before, "after_first_step": rss_after,
                                   "after_all": _peak_rss_gib()}
    line = (f"{out['model']} step, batch {args.batch} of {args.size}x{args.size} on {args.device}: "
            f"{out['ms_median']:.1f} ms (median of {len(times)})")
    if "memory" in out:
        m = out["memory"]
        line += (f"; peak GPU memory {m['peak_in_use_gib']:.2f} GiB in use (CuPy pool, "
                 f"{m['in_use_before_gib']:.2f} before the step; device {m['device_used_gib']:.1f} of "
                 f"{m['device_total_gib']:.1f} GiB used)")
    if "cpu_peak_rss_gib" in out:
        m = out["cpu_peak_rss_gib"]
        line += (f"; peak resident memory {m['after_all']:.2f} GiB ({m['before_first_step']:.2f} with the "
                 f"model and batch built, {m['after_first_step']:.2f} after the first step)")
    print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
