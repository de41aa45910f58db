"""Regenerate the seed talk's experiments, each beside the talk's own numbers, into docs/seed.md.

    python examples/reproduce_seed.py --budget quick              # every experiment: 15.7 min on 2 cores
    python examples/reproduce_seed.py --budget full --only depth  # one experiment at the full budget

Experiments (all at x3, trained on T91, tested on Set5, as the talk):
  srcnn_vs_vdsr  training MSE and Set5 PSNR of SRCNN 9-1-5 and VDSR against iterations and wall time
  depth          SRCNN 9-5-5 with 0/5/10/15 added layers, from the authors' x3 model when
                 TINYSR_WEIGHTS has it: the paper's init and rates (N(0, 0.001), SGD) beside the
                 fix (identity-initialised layers, Adam); PSNR on bird and on Set5
  filters        SRCNN n1 = 32/64/128 and f2 = 1/3/5 from scratch, the same budget each
  drcn           one DRCN run (the bird crops and the table use it)
  bird           bicubic | SRCNN | VDSR | DRCN | truth on Set5's bird, PSNR in the labels
  dcgan          the GAN's loss curve and sample sheets (from --gan RUN, or a budgeted run)
  table          Set5 and Set14 at x2/x3/x4: bicubic, ScSR (Yang's dictionaries), A+, SRCNN
                 (the authors' models imported, and ours), VDSR, DRCN; ours beside the papers'

Every training run lives in OUT/<experiment>/<run>; a finished run is reused (its
summary.json), an interrupted one resumed from its checkpoint. Each experiment writes its
section to docs/seed/<name>.md and its figures to docs/figures/seed/; docs/seed.md is remade
from every section present. The sections live with the docs, not the runs, so a budget split
with --only across sessions (or machines) keeps the sections already written.
"""
import argparse
import json
import os
import re
import shutil
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from tinysr.command import Parser, run
from tinysr.distributed import world

EXPERIMENTS = ("srcnn_vs_vdsr", "depth", "filters", "drcn", "bird", "dcgan", "table")
BUDGETS = {   # minutes per training run, and images / steps caps for the smoke budget; the scales at which
    # the table trains (once, then cached) and scores A+ (~5 min a scale here) and our ScSR (~7 min, and slow to run)
    "smoke": dict(minutes=0.3, max_images=3, max_steps=20, gan_iterations=10, aplus_scales=(3,), scsr_scales=(3,)),
    "quick": dict(minutes=0.5, max_images=None, max_steps=None, gan_iterations=30, aplus_scales=(3,), scsr_scales=()),
    "full": dict(minutes=6.0, max_images=None, max_steps=None, gan_iterations=200, aplus_scales=(2, 3, 4),
                 scsr_scales=(2, 3, 4)),
}
# The papers' Set5 / Set14 PSNR (REFERENCE.md section 8): (set, scale) -> method -> dB
PAPERS = {
    ("Set5", 2): {"Bicubic": 33.66, "A+": 36.54, "SRCNN 9-1-5 (91 images)": 36.34, "SRCNN 9-5-5 (ImageNet)": 36.66,
                  "VDSR": 37.53, "DRCN": 37.63},
    ("Set5", 3): {"Bicubic": 30.39, "ScSR": 31.42, "A+": 32.58, "SRCNN 9-1-5 (91 images)": 32.39,
                  "SRCNN 9-5-5 (ImageNet)": 32.75, "VDSR": 33.66, "DRCN": 33.82},
    ("Set5", 4): {"Bicubic": 28.42, "A+": 30.28, "SRCNN 9-1-5 (91 images)": 30.09, "SRCNN 9-5-5 (ImageNet)": 30.48,
                  "VDSR": 31.35, "DRCN": 31.53},
    ("Set14", 2): {"Bicubic": 30.24, "A+": 32.28, "SRCNN 9-1-5 (91 images)": 32.18, "SRCNN 9-5-5 (ImageNet)": 32.42,
                   "VDSR": 33.03, "DRCN": 33.04},
    ("Set14", 3): {"Bicubic": 27.55, "ScSR": 28.31, "A+": 29.13, "SRCNN 9-1-5 (91 images)": 29.00,
                   "SRCNN 9-5-5 (ImageNet)": 29.28, "VDSR": 29.77, "DRCN": 29.76},
    ("Set14", 4): {"Bicubic": 26.00, "A+": 27.32, "SRCNN 9-1-5 (91 images)": 27.20, "SRCNN 9-5-5 (ImageNet)": 27.49,
                   "VDSR": 28.01, "DRCN": 28.02},
}
TALK = {"bird": {"Bicubic": 32.58, "SRCNN": 35.47, "VDSR": 36.23},
        "depth": {0: 35.47, 5: 35.51, 10: 35.46, 15: 35.44},
        "set5": {"Bicubic": 30.39, "A+": 32.58, "SRCNN": 32.75, "VDSR": 33.66}}


class Context:
    def __init__(self, args):
        self.out, self.docs, self.data = Path(args.out), Path(args.docs), args.data
        self.budget_name, self.budget = args.budget, BUDGETS[args.budget]
        self.weights = Path(os.environ["TINYSR_WEIGHTS"]) if os.environ.get("TINYSR_WEIGHTS") else None
        self.figures = self.docs / "figures" / "seed"
        self.gan_run = args.gan
        self.models = args.model        # [(label, file)], parsed and checked in main

    def weight(self, relpath):
        path = self.weights / relpath if self.weights else None
        return path if path is not None and path.is_file() else None

    def train(self, experiment, name, fn, **kwargs):
        """A run of ``fn`` (a tinysr.training recipe) in OUT/experiment/name, reused or resumed."""
        folder = self.out / experiment / name
        done = folder / "summary.json"
        if done.is_file():
            return json.loads(done.read_text())
        resume = (folder / "checkpoint.npz").is_file()
        kwargs.setdefault("max_minutes", self.budget["minutes"])
        kwargs.setdefault("stop_mid_epoch", True)    # a deep SRCNN's epoch outlasts a quick budget
        if self.budget["max_steps"]:
            kwargs.setdefault("max_steps", self.budget["max_steps"])
        print(f"== {experiment}/{name}: {'resuming' if resume else 'training'} ({self.budget_name} budget)")
        t0 = time.perf_counter()
        summary = fn(out=str(folder), resume=resume, overwrite=not resume, progress=False, data=self.data, **kwargs)
        keep = {k: v for k, v in summary.items() if k != "history"}
        keep.update(seconds_this_call=time.perf_counter() - t0, settings=_jsonable(kwargs), folder=str(folder))
        if world().lead:          # rank 0 alone writes (each rank trained the same run)
            done.write_text(json.dumps(_jsonable(keep), indent=1))
        return keep

    def figure(self, source, name):
        if world().lead:
            self.figures.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, self.figures / name)
        return f"figures/seed/{name}"


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _wall(folder):
    from tinysr import checkpoint
    history = json.loads(checkpoint.load(Path(folder) / "checkpoint.npz")["train"]["history"])
    return history


def _curves(runs, path, ylabel, key, against="iteration", log=True, factors=None):
    """One figure: ``key`` of each run's history against iterations or wall seconds, each run's
    values times its ``factors[label]`` (default 1)."""
    from tinysr.training.figures import _pyplot, _save
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, folder in runs.items():
        h = _wall(folder)
        if key in ("psnr",):
            xs = h["eval_iteration"] if against == "iteration" else h["wall_seconds"]
            ys = [e["psnr"] for e in h["eval"]]
        else:
            its = h["iteration"]
            if against == "iteration":
                xs = its
            else:     # spread each epoch's wall time over its logged iterations
                ends = dict(zip(h["eval_iteration"], h["wall_seconds"]))
                marks = sorted(ends)
                xs = np.interp(its, [0] + marks, [0.0] + [ends[m] for m in marks])
            ys = np.asarray(h[key]) * (factors or {}).get(label, 1.0)
        ax.plot(xs, ys, lw=1, marker="o" if key == "psnr" else None, ms=3, label=label)
    ax.set_xlabel("iterations" if against == "iteration" else "wall seconds (training + evaluation)")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(plt, fig, str(path), dpi=110)


def _model(path):
    from tinysr.models.registry import load_model
    return load_model(path)[0]


def _scales(path):
    """The zooms a saved network was trained for (VDSR: several)."""
    from tinysr.models.registry import load_model
    trained = load_model(path)[1]["scale"]
    return list(trained) if isinstance(trained, (list, tuple)) else [trained]


def _psnr_on(model, dataset_name, ctx, image=None):
    """Set (or one image's) x3 PSNR of a network under the protocol."""
    from tinysr.data import load_dataset
    from tinysr.training.sr_task import SRTest
    test = SRTest(load_dataset(dataset_name, root=ctx.data), 3)
    if image is not None:
        test.pairs = [p for p in test.pairs if p[0] == image]
    return test.psnr(model, "cpu")


def srcnn_vs_vdsr(ctx):
    from tinysr.training import srcnn, vdsr
    s = ctx.train("srcnn_vs_vdsr", "srcnn", srcnn.train, max_images=ctx.budget["max_images"])
    v = ctx.train("srcnn_vs_vdsr", "vdsr", vdsr.train, scales=(3,), train_set="T91", max_images=ctx.budget["max_images"],
                  batch=32)
    runs = {"SRCNN 9-1-5 (fast)": s["folder"], f"VDSR-{vdsr.RECIPES['fast']['depth']} (fast, x3)": v["folder"]}
    mse = {"SRCNN 9-1-5 (fast)": "loss", f"VDSR-{vdsr.RECIPES['fast']['depth']} (fast, x3)": "mse"}
    figs = []
    for against in ("iteration", "wall"):
        from tinysr.training.figures import _pyplot, _save
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, folder in runs.items():
            h = _wall(folder)
            if against == "iteration":
                xs = h["iteration"]
            else:
                marks = h["eval_iteration"]
                xs = np.interp(h["iteration"], [0] + marks, [0.0] + h["wall_seconds"])
            ax.plot(xs, h[mse[label]], lw=1, label=label)
        ax.set_xlabel("iterations" if against == "iteration" else "wall seconds")
        ax.set_ylabel("training MSE (per pixel)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = ctx.out / f"mse_vs_{against}.png"
        _save(plt, fig, str(path), dpi=110)
        figs.append(ctx.figure(path, f"srcnn_vs_vdsr_mse_{against}.png"))
        path = ctx.out / f"psnr_vs_{against}.png"
        _curves(runs, path, "Set5 x3 PSNR (dB)", "psnr", against, log=False)
        figs.append(ctx.figure(path, f"srcnn_vs_vdsr_psnr_{against}.png"))
    return (f"## Training MSE: SRCNN against VDSR (x3, T91)\n\nThe talk: VDSR \"converges quicker and more "
            f"accurate\". Ours, each stopped at the first step after {ctx.budget['minutes']} min: SRCNN 9-1-5 "
            f"Set5 x3 {s['psnr']:.2f} dB after {s['iterations']} iterations ({s['seconds_this_call'] / 60:.1f} min "
            f"with data and scoring); VDSR {v['eval'].get('x3', float('nan')):.2f} dB after {v['iterations']} "
            f"iterations ({v['seconds_this_call'] / 60:.1f} min) (bicubic {s['bicubic']:.2f}).\n\n"
            + "".join(f"![]({f})\n" for f in figs)
            + "\nCommand: `python examples/reproduce_seed.py --only srcnn_vs_vdsr`.\n")


def depth(ctx):
    from tinysr.training import srcnn
    start = ctx.weight("srcnn/srcnn_9-5-5_imagenet_x3.mat")
    rows, runs, factors = [], {}, {}
    for added in (0, 5, 10, 15):
        for recipe, init in (("paper", "paper"), ("fast", "identity")):
            name = f"added{added}_{recipe}"
            kwargs = dict(variant="9-5-5", recipe=recipe, extra_layers=added, added_init=init,
                          max_images=ctx.budget["max_images"])
            if start is not None:
                kwargs["init_from"] = str(start)
            if recipe == "fast" and start is not None:
                kwargs["lr"] = 1e-4            # fine-tuning a trained model: a small Adam step
            summary = ctx.train("depth", name, srcnn.train, **kwargs)
            model = _model(summary["model_path"])
            rows.append((added, recipe, init, _psnr_on(model, "Set5", ctx, "bird_GT"), summary["psnr"],
                         summary["iterations"]))
            runs[f"+{added} {recipe}"] = summary["folder"]
            if recipe == "paper":      # Caffe's loss is 1/2 the sum over a label's pixels: to per-pixel MSE
                side = srcnn.input_side(model.shrink) - 2 * model.shrink      # the label's side
                factors[f"+{added} {recipe}"] = 2.0 / side ** 2
    path = ctx.out / "depth_mse.png"
    _curves(runs, path, "training MSE (per pixel)", "loss", factors=factors)
    fig = ctx.figure(path, "depth_loss.png")
    table = "\n".join(f"| {a} | {r} ({i} init) | {b:.2f} | {TALK['depth'][a]:.2f} | {s:.2f} | {n} |"
                      for a, r, i, b, s, n in rows)
    where = f"the SRCNN authors' 9-5-5 x3 model ({start.name})" if start else "scratch (no TINYSR_WEIGHTS)"
    return ("## Layers added to SRCNN (x3)\n\nEach run starts from " + where + "; the added n2 -> n2 5x5 "
            "layers start as the paper initialises (N(0, 0.001)) under the paper's SGD rates, or as the "
            "identity under Adam (lr 1e-4 when fine-tuning). The figure draws the per-pixel training MSE "
            "(the paper recipe's Euclidean loss, half the sum over a label, divided accordingly). Same wall budget each "
            f"({ctx.budget['minutes']} min).\n\n| added | recipe | bird (ours) | bird (talk) | Set5 (ours) | iterations |\n"
            "| --- | --- | --- | --- | --- | --- |\n" + table + f"\n\n![]({fig})\n\n"
            "Command: `python examples/reproduce_seed.py --only depth`.\n")


def filters(ctx):
    from tinysr.training import srcnn
    rows, runs = [], {}
    for label, kwargs in [("n1=32", dict(n1=32)), ("n1=64", dict(n1=64)), ("n1=128", dict(n1=128)),
                          ("f2=3", dict(variant="9-3-5")), ("f2=5", dict(variant="9-5-5"))]:
        summary = ctx.train("filters", label.replace("=", ""), srcnn.train, max_images=ctx.budget["max_images"], **kwargs)
        rows.append((label, summary["psnr"], summary["iterations"]))
        runs[label] = summary["folder"]
    path = ctx.out / "filters_psnr.png"
    _curves(runs, path, "Set5 x3 PSNR (dB)", "psnr", log=False)
    fig = ctx.figure(path, "filters_psnr.png")
    table = "\n".join(f"| {label} | {p:.2f} | {n} |" for label, p, n in rows)
    return ("## More and larger filters (SRCNN, x3)\n\nSRCNN 9-1-5 with n1 = 32/64/128, and n1 = 64 with "
            f"f2 = 1/3/5 (n1=64 is f2=1), the fast recipe from scratch, {ctx.budget['minutes']} min each.\n\n"
            "| variant | Set5 x3 | iterations |\n| --- | --- | --- |\n" + table + f"\n\n![]({fig})\n\n"
            "Command: `python examples/reproduce_seed.py --only filters`.\n")


def drcn(ctx):
    from tinysr.training import drcn as recipe
    summary = ctx.train("drcn", "fast_x3", recipe.train, max_images=ctx.budget["max_images"])
    fig = ctx.figure(Path(summary["model_path"]).parent / "recursions.png", "drcn_recursions.png")
    return (f"## DRCN (fast recipe, x3)\n\nSet5 x3 {summary['psnr']:.2f} dB after {summary['iterations']} "
            f"iterations ({ctx.budget['minutes']} min; bicubic {summary['bicubic']:.2f}); per recursion "
            + " ".join(f"{p:.2f}" for p in summary["recursion_psnr"]) + f".\n\n![]({fig})\n\n"
            "Command: `python examples/reproduce_seed.py --only drcn`.\n")


def _network_rows(ctx):
    """(label, model file) of the networks this script has trained, for the bird and the table;
    the label says the budget and the minutes each trained, so that a quick run's rows are not
    read as the recipes' best."""
    found = []
    for name, summary in (("SRCNN 9-1-5", ctx.out / "srcnn_vs_vdsr/srcnn/summary.json"),
                          ("VDSR", ctx.out / "srcnn_vs_vdsr/vdsr/summary.json"),
                          ("DRCN", ctx.out / "drcn/fast_x3/summary.json")):
        if summary.is_file():
            run = json.loads(summary.read_text())
            label = f"{name} (ours, {ctx.budget_name} budget: {run['seconds'] / 60:.1f} min)"
            found.append((label, run["model_path"]))
    return found


def bird(ctx):
    from tinysr.data import load_dataset, round_uint8
    from tinysr.inference import super_resolve_y
    from tinysr.training import figures
    from tinysr.training.sr_task import SRTest
    test = SRTest(load_dataset("Set5", root=ctx.data), 3)
    _, ilr, hr = next(p for p in test.pairs if p[0] == "bird_GT")
    panels = [(f"bicubic {test.score(ilr, hr):.2f} dB", round_uint8(ilr * 255))]
    authors = ctx.weight("srcnn/srcnn_9-5-5_imagenet_x3.mat")
    models = ([("SRCNN 9-5-5 (authors')", str(authors))] if authors else []) + _network_rows(ctx) + [
        (label, path) for label, path in ctx.models if 3 in _scales(path)]      # --model rows that do x3
    for label, path in models:
        from tinysr.models.srcnn_matlab import srcnn_from_mat
        model = srcnn_from_mat(path) if path.endswith(".mat") else _model(path)
        sr = super_resolve_y(model.eval(), ilr)
        panels.append((f"{label} {test.score(sr, hr):.2f} dB", round_uint8(sr * 255)))
    panels.append(("ground truth", round_uint8(hr * 255)))
    path = ctx.out / "bird.png"
    size = 96
    figures.side_by_side([(textwrap.fill(label, 30), img) for label, img in panels], str(path),
                         crop=((hr.shape[0] - size) // 2, (hr.shape[1] - size) // 2, size))
    fig = ctx.figure(path, "bird.png")
    return ("## One image: Set5's bird at x3\n\nThe talk: bicubic 32.58, SRCNN 35.47, VDSR 36.23 (under the "
            "paper protocol bicubic is 32.57, and the SRCNN authors' 9-5-5 model gives 35.47).\n\n"
            + "\n".join(f"- {label}" for label, _ in panels[:-1]) + f"\n\n![]({fig})\n\n"
            "Command: `python examples/reproduce_seed.py --only bird" + _model_flags(ctx) + "`.\n")


def dcgan(ctx):
    from tinysr.training import gan
    folder = Path(ctx.gan_run) if ctx.gan_run else None
    if folder is None:
        iterations = ctx.budget["gan_iterations"]
        summary = ctx.train("dcgan", f"gan_{iterations}", gan.train, epochs=-(-iterations // gan.EPOCH_BATCHES),
                            max_steps=iterations, max_minutes=None,   # a step budget, not a time one
                            max_faces=2000 if ctx.budget_name != "full" else None)
        folder = Path(summary["folder"])
    figs = [ctx.figure(folder / "losses.png", "dcgan_losses.png")]
    figs += [ctx.figure(p, f"dcgan_{p.name}") for p in sorted(folder.glob("faces_*.png"))]
    h = _wall(folder)
    its = np.array(h["iteration"])
    late = its > its[-1] // 3          # the last two thirds: past the first meeting of the two losses
    means = {k: float(np.mean(np.array(h[k])[late])) for k in ("disc_real", "disc_fake", "gene") if h.get(k)}
    command = "python examples/reproduce_seed.py --only dcgan" + (f" --gan {ctx.gan_run}" if ctx.gan_run else "")
    return ("## DCGAN (srez, 4x faces)\n\nThe talk: disc_real and disc_fake settle near 0.6 (equilibrium: ln 2 = "
            f"0.693). Ours, {h['iteration'][-1]} iterations ({folder}), the mean over iterations "
            f"{its[late][0]}-{its[-1]}: " + ", ".join(f"{k} {v:.3f}" for k, v in means.items()) + ".\n\n"
            + "".join(f"![]({f})\n" for f in figs) + f"\nCommand: `{command}`.\n")


def table(ctx):
    from tinysr import evaluate as ev
    from tinysr.cli import main as tinysr_main
    models = ctx.out / "imported"
    models.mkdir(parents=True, exist_ok=True)
    rows = [("Bicubic", "Bicubic", {s: ev.per_scale(ev.METHODS["bicubic"]) for s in (2, 3, 4)})]
    rows.append(("A+ (ours, trained on T91)", "A+", {s: ev.per_scale(ev.METHODS["aplus"]) for s in ctx.budget["aplus_scales"]}))
    if ctx.budget["scsr_scales"]:
        rows.append(("ScSR (ours, dictionary retrained on T91)", "ScSR",
                     {s: ev.per_scale(ev.METHODS["scsr"]) for s in ctx.budget["scsr_scales"]}))
    for label, rel, kind, scale in (("ScSR (Yang's CVPR-08 dictionary)", "scsr/yang_cvpr08_x3_Dictionary.mat", "scsr-cvpr08", 3),
                                    ("ScSR (Yang's TIP D_1024 dictionary)", "scsr/yang_tip_x2_D_1024_0.15_5.mat", "scsr", 2)):
        source = ctx.weight(rel)
        if source is not None:
            target = models / f"{kind}_x{scale}.npz"
            if not target.is_file():
                tinysr_main(["import-weights", kind, str(source), str(target), "--scale", str(scale)])
            rows.append((label, "ScSR", {scale: ev.upscaler_from_checkpoint(str(target), scale)}))
    for label, paper, pattern in (("SRCNN 9-1-5, 91 images (authors' model, imported)", "SRCNN 9-1-5 (91 images)",
                                   "srcnn/srcnn_9-1-5_91images_x{s}.mat"),
                                  ("SRCNN 9-5-5, ImageNet (authors' model, imported)", "SRCNN 9-5-5 (ImageNet)",
                                   "srcnn/srcnn_9-5-5_imagenet_x{s}.mat")):
        ups = {}
        for s in (2, 3, 4):
            source = ctx.weight(pattern.format(s=s))
            if source is not None:
                target = models / Path(pattern.format(s=s)).with_suffix(".npz").name
                if not target.is_file():
                    tinysr_main(["import-weights", "srcnn", str(source), str(target), "--scale", str(s)])
                ups[s] = ev.upscaler_from_checkpoint(str(target), s)
        if ups:
            rows.append((label, paper, ups))
    for label, path in _network_rows(ctx) + ctx.models:
        rows.append((label, _paper_row(label), {s: ev.upscaler_from_checkpoint(path, s) for s in _scales(path)}))
    lines = ["## The table: Set5 and Set14, PSNR / SSIM (ours), the papers' PSNR in brackets\n"]
    for set_name in ("Set5", "Set14"):
        lines += [f"### {set_name}\n", "| method | x2 | x3 | x4 |", "| --- | --- | --- | --- |"]
        for label, paper, ups in rows:
            cells = []
            for s in (2, 3, 4):
                if s not in ups:
                    cells.append("-")
                    continue
                m = ev.evaluate(ups[s], [set_name], [s], root=ctx.data).mean(set_name, s)
                published = PAPERS[(set_name, s)].get(paper)
                cells.append(f"{m['psnr']:.2f} / {m['ssim']:.4f}" + (f" ({published:.2f})" if published else ""))
            print(f"{set_name:6} {label:52} " + "  ".join(f"{c:>24}" for c in cells))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Protocol: Y (BT.601 studio), MATLAB bicubic degradation, shave = scale, uint8 rounding, per-image "
                 "mean. Command: `python examples/reproduce_seed.py --only table"
                 + _model_flags(ctx) + "`.\n")
    return "\n".join(lines)


def _model_flags(ctx):
    return "".join(f' --model "{label}={path}"' for label, path in ctx.models)


def _paper_row(label):
    """Which published row a network of ours sits beside: its family, by the label's first word."""
    family = label.split(" ")[0]
    return "SRCNN 9-1-5 (91 images)" if family == "SRCNN" else family


TABLE_START, TABLE_END = "<!-- reproduce_seed table: start -->", "<!-- reproduce_seed table: end -->"


def _section_path(ctx, name):
    return ctx.docs / "seed" / f"{name}.md"


def write_docs(ctx):
    sections = [_section_path(ctx, name) for name in EXPERIMENTS]
    body = "\n".join(p.read_text() for p in sections if p.is_file())
    header = ("# The seed's experiments, regenerated\n\nEach section is written by `python examples/reproduce_seed.py` "
              "(its command and budget are in the section); the talk's numbers are beside ours. The sections are "
              "kept one per file in `docs/seed/` and joined here.\n\n")
    ctx.docs.mkdir(parents=True, exist_ok=True)
    (ctx.docs / "seed.md").write_text(header + body)
    table = _section_path(ctx, "table")
    results = ctx.docs / "results.md"
    if table.is_file() and results.is_file():   # the one table also lives in results.md, between two markers
        text = results.read_text()
        if TABLE_START in text and TABLE_END in text:
            before, rest = text.split(TABLE_START, 1)
            after = rest.split(TABLE_END, 1)[1]
            block = re.sub(r"^(#+) ", r"#\1 ", table.read_text(), flags=re.M)   # one level down there
            results.write_text(f"{before}{TABLE_START}\n{block.strip()}\n{TABLE_END}{after}")


def main(argv=None):
    p = Parser(prog="reproduce_seed.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", default="quick", choices=list(BUDGETS),
                   help="minutes per training run: smoke (tests), quick (0.5 min a run; 15.7 min in all here, "
                        "an empty model cache included), full (6 min a run)")
    p.add_argument("--only", nargs="+", choices=EXPERIMENTS, default=None, help="run only these experiments")
    p.add_argument("--out", default="runs/seed", help="the training runs (default runs/seed)")
    p.add_argument("--docs", default="docs", help="where seed.md and figures/seed/ go (default docs)")
    p.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--gan", metavar="RUN", default=None, help="an examples/train_gan.py run folder for the DCGAN figures")
    p.add_argument("--model", metavar="LABEL=FILE", action="append", default=[],
                   help="another trained network for the table and the bird crops (repeatable), e.g. "
                        "--model \"VDSR (ours, fast recipe)=runs/vdsr_fast/vdsr_d10w48.npz\"; the label's first "
                        "word (SRCNN, VDSR, DRCN) picks the published row it sits beside")
    args = p.parse_args(argv)
    specs, args.model = args.model, []
    for spec in specs:
        label, sep, path = spec.partition("=")
        if not sep or not label or not Path(path).is_file():
            p.error(f"--model wants LABEL=FILE naming an existing model file, got {spec!r}")
        args.model.append((label, path))
    lead = world().lead      # under mpiexec: the other ranks go quiet now, and rank 0 alone writes the docs
    ctx = Context(args)
    timings = {}
    for name in args.only or EXPERIMENTS:
        t0 = time.perf_counter()
        section = globals()[name](ctx)
        timings[name] = time.perf_counter() - t0
        section = section.replace("python examples/reproduce_seed.py --only",
                                  f"python examples/reproduce_seed.py --budget {ctx.budget_name} --only")
        section += f"\n*Budget {ctx.budget_name}; this section took {timings[name] / 60:.1f} min to write " \
                   f"({time.strftime('%Y-%m-%d')}).*\n"
        if lead:
            _section_path(ctx, name).parent.mkdir(parents=True, exist_ok=True)
            _section_path(ctx, name).write_text(section)
            write_docs(ctx)
        print(f"== {name}: {timings[name] / 60:.1f} min")
    print("times: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="reproduce_seed.py"))
