"""The driver: python -m benchmarks.gpu --out OUTDIR [--budget S] [--jobs ...] [--dry-run]
(see benchmarks/gpu/__init__.py)."""
import argparse
import os
import time
import traceback

from ..run_info import commit
from . import bench, env, step, train, verify
from .context import Context, Deadline
from .report import write_summary

# job: (module, budget: seconds if > 1, else a share of --budget)
JOBS = {"env": (env, 20), "verify": (verify, 0.22), "train": (train, 0.30), "step": (step, 0.12),
        "bench": (bench, 0.33)}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu",
                                 description="GPU checks and benchmarks of tinysr's CUDA kernels")
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=330.0, help="total seconds")
    ap.add_argument("--dry-run", action="store_true", help="no GPU: emulator + CPU only")
    ap.add_argument("--jobs", "--stages", default=",".join(JOBS), help="comma-separated, in order")
    args = ap.parse_args(argv)
    jobs = args.jobs.split(",")
    unknown = [j for j in jobs if j not in JOBS]
    if unknown:
        ap.error(f"unknown jobs {unknown}; choose from {', '.join(JOBS)}")
    os.makedirs(args.out, exist_ok=True)
    ctx = Context(out=args.out, dry_run=args.dry_run, deadline=Deadline(time.monotonic() + args.budget))
    ctx.results.update(started=time.strftime("%Y-%m-%d %H:%M:%S"), budget_s=args.budget, commit=commit())
    for name in jobs:
        module, share = JOBS[name]
        ctx.run_stage(name, module.run, share if share > 1 else share * args.budget)
    try:
        print(write_summary(ctx))
    except Exception:               # noqa: BLE001 - the results are saved either way
        traceback.print_exc()
    ctx.save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
