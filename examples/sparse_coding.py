"""ScSR (Yang et al. 2010) end to end: learn the coupled dictionary on T91 (or load the
cached one), score Set5 against bicubic with the exact Lasso (feature-sign) and with
FISTA, and time one upscale.

    python examples/sparse_coding.py                          # x3, Set5, the paper recipe
    python examples/sparse_coding.py --atoms 512 --iters 10   # a quicker dictionary
    python examples/sparse_coding.py --positions uniform      # training positions drawn uniformly
    python examples/sparse_coding.py --variant cvpr08         # the CVPR-08 L1SR code (path B)
    python examples/sparse_coding.py --dict-scale 2 --scale 4 # the x2 dictionary at x4

--dict-scale runs a dictionary trained for another scale, as the TIP package's Demo_SR.m
does when only its up_scale is changed (the package ships one dictionary, for x2);
--model FILE runs a saved or imported dictionary instead of the cached one (Yang's
D_1024_0.15_5.mat after `tinysr import-weights scsr D_1024_0.15_5.mat yang.npz --scale 2`).

Dictionary training with the full recipe (1024 atoms, 100k pairs, 40 rounds) takes tens
of minutes on two cores; the result is cached under $TINYSR_CACHE/models.

--variant cvpr08 runs tinysr.classic.scsr_cvpr08 instead (the program behind the 31.42 /
28.31 "SC" entries of the SRCNN and A+ tables): it scores L1SR with the LR Y in [0, 1], as
A+'s harness feeds it, and on 0..255 data, as the CVPR-08 demo does (--input-ranges),
with SparseLab's stopping rule or the exact non-negative Lasso (--nn-solvers). Its
defaults: 1024 atoms, 50,000 positions, 50 epochs (--atoms, --samples, --iters, --seed);
--iters 0 keeps the random initialisation: a dictionary of raw sampled patch pairs, as
the CVPR-08 paper used.
"""
import argparse
import sys
import time

import numpy as np

from tinysr import validate
from tinysr.classic import scsr
from tinysr.command import Parser, arg, run
from tinysr.data import load_dataset, make_pair, y_channel
from tinysr.evaluate import METHODS, evaluate


def main(argv=None):
    ap = Parser(prog="sparse_coding.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=["tip", "cvpr08"], default="tip",
                    help="tip: the TIP-2010 ScSR package (default); cvpr08: the CVPR-08 L1SR code")
    ap.add_argument("--input-ranges", nargs="+", default=["unit", "255"], choices=["unit", "255"],
                    help="cvpr08: the LR range L1SR sees (unit: A+'s harness; 255: the demo)")
    ap.add_argument("--nn-solvers", nargs="+", default=["solvelasso"], choices=["solvelasso", "exact"],
                    help="cvpr08: SparseLab's stopping rule, or the exact non-negative Lasso")
    ap.add_argument("--scale", type=arg(validate.scale), default=3, help="zoom factor 2..8 (default 3)")
    ap.add_argument("--sets", nargs="+", default=["Set5"], help="test set names or image folders (default Set5)")
    ap.add_argument("--atoms", type=arg(validate.positive), default=None, help="dictionary atoms (default 1024)")
    ap.add_argument("--samples", type=arg(validate.positive), default=None,
                    help="training patch pairs: default 100,000 (tip) / 50,000 (cvpr08)")
    ap.add_argument("--iters", type=arg(validate.positive), default=None,
                    help="dictionary-learning iterations: default 40 (tip) / 50 (cvpr08)")
    ap.add_argument("--seed", type=int, default=None, help="the sampling and training seed (default 0)")
    ap.add_argument("--positions", choices=["meshgrid", "uniform"], default=None,
                    help="tip: training positions as sample_patches.m takes them (clustered "
                         "on a few rows; the default), or drawn uniformly")
    ap.add_argument("--dict-scale", type=arg(validate.scale), default=None,
                    help="tip: use the dictionary trained for this scale (default: --scale)")
    ap.add_argument("--model", default=None,
                    help="tip: a saved or imported ScSR dictionary (.npz) instead of the cache")
    ap.add_argument("--solvers", nargs="*", default=["feature_sign", "fista"],
                    choices=["feature_sign", "fista"],
                    help="tip: the sparse-coding solvers to compare (default: both)")
    ap.add_argument("--fista-iters", type=arg(validate.positive), default=100,
                    help="tip: FISTA iterations per patch (default 100)")
    ap.add_argument("--bp-iters", type=int, default=20, help="back-projection iterations (ablation: 0)")
    ap.add_argument("--uint8-lr", action="store_true",
                    help="round the LR Y to 1/255 steps first (SelfExSR's uint8 LR images)")
    ap.add_argument("--data", default=None, help="data root (default $TINYSR_DATA)")
    ap.add_argument("--time-full", action="store_true",
                    help="also time the first image itself as input (512x512 -> 1536x1536 at x3)")
    args = ap.parse_args(argv)
    reject_flags_that_do_not_apply(ap, args)
    if args.variant == "cvpr08":
        return main_cvpr08(args)
    args.samples = 100_000 if args.samples is None else args.samples
    args.iters = 40 if args.iters is None else args.iters
    args.atoms = 1024 if args.atoms is None else args.atoms
    args.seed = 0 if args.seed is None else args.seed
    args.positions = args.positions or "meshgrid"

    opts = {"n_atoms": args.atoms, "n_samples": args.samples, "n_iter": args.iters, "seed": args.seed,
            "positions": args.positions}
    if args.model:
        model = scsr.ScSRModel.load(args.model)
    else:
        model = scsr.get_model(args.scale if args.dict_scale is None else args.dict_scale, **opts)
    print(f"dictionary: x{model.config.scale}, Dh {model.Dh.shape}, Dl {model.Dl.shape}; "
          f"training took {model.train_seconds:.0f} s; run at x{args.scale}")

    print(evaluate(METHODS["bicubic"](args.scale), args.sets, [args.scale], root=args.data,
                   method="bicubic").table())
    for solver in args.solvers:
        t = time.perf_counter()
        def up(lr, ilr, s, solver=solver):
            lr = np.floor(lr * 255 + 0.5) / 255 if args.uint8_lr else lr
            return scsr.upscale(model, lr, solver=solver, fista_iter=args.fista_iters, bp_iter=args.bp_iters,
                                scale=args.scale)
        res = evaluate(up, args.sets, [args.scale], root=args.data, per_image=True,
                       method=f"scsr-{solver}" + (f"-{args.fista_iters}it" if solver == "fista" else ""))
        print(res.table())
        print(f"  ({time.perf_counter() - t:.1f} s for the whole evaluation)", flush=True)

    name, img = next(iter(load_dataset(args.sets[0], root=args.data)))  # Set5: baby, 512x512
    y = y_channel(img)
    lr, _, _ = make_pair(y, args.scale)
    sources = [("protocol LR", lr)] + ([("the full image as input", y)] if args.time_full else [])
    for what, src in sources:
        t, c = time.perf_counter(), time.process_time()
        sr = scsr.upscale(model, src, scale=args.scale)
        print(f"{name} ({what}): {src.shape} -> {sr.shape} in {time.perf_counter() - t:.1f} s wall, "
              f"{time.process_time() - c:.1f} s CPU (feature-sign)")


def reject_flags_that_do_not_apply(ap, args):
    """A flag that would be silently ignored is an error: say which and why."""
    training = [f"--{k.replace('_', '-')}" for k in ("dict_scale", "atoms", "samples", "iters",
                                                     "seed", "positions")
                if getattr(args, k) is not None]
    if args.model and training:
        ap.error(f"--model runs a saved dictionary; {', '.join(training)} only apply to a "
                 "dictionary from the cache or trained here: give one or the other")
    tip_only = [flag for flag, given in (("--model", args.model), ("--dict-scale", args.dict_scale),
                                         ("--positions", args.positions)) if given is not None]
    if args.variant == "cvpr08" and tip_only:
        ap.error(f"{', '.join(tip_only)} only apply to the TIP program (--variant tip)")


def time_upscale(label, fn, src):
    t, c = time.perf_counter(), time.process_time()
    sr = fn(src)
    print(f"{label}: {src.shape} -> {sr.shape} in {time.perf_counter() - t:.1f} s wall, "
          f"{time.process_time() - c:.1f} s CPU", flush=True)
    return sr


def main_cvpr08(args):
    from tinysr.classic import scsr_cvpr08

    d = scsr_cvpr08.ScSRCVPR08Config(scale=args.scale)
    opts = {k: v for k, v in (("n_atoms", args.atoms), ("n_patches", args.samples), ("n_iter", args.iters),
                              ("seed", args.seed))
            if v is not None and v != getattr(d, k)}
    model = scsr_cvpr08.get_model(args.scale, **opts)
    print(f"dictionary: Dh {model.Dh.shape}, Dl {model.Dl.shape}; training took {model.train_seconds:.0f} s")
    print(evaluate(METHODS["bicubic"](args.scale), args.sets, [args.scale], root=args.data,
                   method="bicubic").table())
    for solver in args.nn_solvers:
        for rng in args.input_ranges:
            rng = rng if rng == "unit" else 255
            t = time.perf_counter()
            res = evaluate(lambda lr, ilr, s: scsr_cvpr08.upscale(model, lr, input_range=rng, solver=solver),
                           args.sets, [args.scale], root=args.data, per_image=True,
                           method=f"scsr-cvpr08 ({solver}, input {rng})")
            print(res.table())
            print(f"  ({time.perf_counter() - t:.1f} s for the whole evaluation)", flush=True)

    name, img = next(iter(load_dataset(args.sets[0], root=args.data)))  # Set5: baby, 512x512
    y = y_channel(img)
    lr, _, _ = make_pair(y, args.scale)
    rng = "unit" if "unit" in args.input_ranges else 255
    sources = [("protocol LR", lr)] + ([("the full image as input", y)] if args.time_full else [])
    for what, src in sources:
        time_upscale(f"{name} ({what}, input {rng})",
                     lambda a: scsr_cvpr08.upscale(model, a, input_range=rng, solver=args.nn_solvers[0]), src)


if __name__ == "__main__":
    sys.exit(run(main, prog="sparse_coding.py"))
