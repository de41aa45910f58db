"""A short sweep for VDSR's fast recipe: which change buys the most Set5 x3 per CPU minute?

Every variant is the sweep's base, the fast recipe as it was before this sweep chose its loss
and batch (VDSR-10, width 48, Adam 1e-3 halved every quarter of the run, weight average 0.999,
x2/x3/x4 mixed, the MSE loss, batches of 32), with one thing changed, trained on the same number
of patch pixels (``--epochs`` x 500 batches of 32 41x41 patches: a variant with smaller batches
or larger patches gets more or fewer epochs), so the schedule is compressed the same way for
each and the comparison is at (about) equal compute:

    baseline    the base as it is
    l1          the mean absolute error as the loss (the MSE is still reported)
    batch16     batches of 16 (twice the steps, each half the work)
    patch64     64x64 patches, batches of 13 (the padded border is a smaller share of each patch)
    lr2e-3      twice the rate
    l1+batch16  the two that helped, together (is the gain additive?)

    python examples/vdsr_sweep.py                       # 5 epochs' worth each (~15 min a variant here)
    python examples/vdsr_sweep.py --only baseline l1

Each variant is a train_vdsr.py run in OUT/<name>/ (a finished one is reused, a stopped one
resumed). Writes OUT/sweep.md (Set5 at x2/x3/x4, iterations and minutes of each),
OUT/sweep.png (Set5 x3 against patch pixels seen) and prints the table.
"""
import argparse
import json
import sys
from pathlib import Path

from tinysr import validate
from tinysr.command import Parser, arg, run
from tinysr.training.loop import CHECKPOINT, HISTORY
from tinysr.training.vdsr import RECIPES, train

RESULT = "result.json"      # written when a variant's run has finished
BASE = dict(RECIPES["fast"], loss="mse", batch=32, schedule="step")   # what the sweep compared against
VARIANTS = {
    "baseline": {},
    "l1": dict(loss="l1"),
    "batch16": dict(batch=16),
    "patch64": dict(patch=64, batch=13),
    "lr2e-3": dict(lr=2e-3),
    "l1+batch16": dict(loss="l1", batch=16),
}


def epochs_for(change, epochs):
    """The epochs (of 500 batches) that give ``change`` the baseline's patch pixels in ``epochs``."""
    batch, patch = change.get("batch", BASE["batch"]), change.get("patch", BASE["patch"])
    return max(1, round(epochs * BASE["batch"] * BASE["patch"] ** 2 / (batch * patch ** 2)))


def run_variant(folder, change, epochs, data, max_steps=None, max_images=None):
    """The variant's summary: read back if it finished, else trained (or resumed)."""
    done = folder / RESULT
    if done.is_file():
        return json.loads(done.read_text())
    settings = dict(BASE, **change, epochs=epochs_for(change, epochs))   # every setting named: the recipe may move on
    settings["ema_decay"] = settings.pop("ema")                          # the recipe's key, train()'s argument
    summary = train(recipe="fast", data=data, out=str(folder), resume=(folder / CHECKPOINT).is_file(),
                    max_steps=max_steps, max_images=max_images, **settings)
    done.write_text(json.dumps(summary, indent=1))
    return summary


def pixels_per_step(change):
    return change.get("batch", BASE["batch"]) * change.get("patch", BASE["patch"]) ** 2


def main(argv=None):
    p = Parser(prog="vdsr_sweep.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=arg(validate.positive), default=5,
                   help="the baseline's epochs of 500 batches; the others get the same patch pixels (default 5)")
    p.add_argument("--only", nargs="+", choices=list(VARIANTS), default=None, help="run only these variants")
    p.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--out", default="runs/vdsr_sweep", help="where the runs go")
    p.add_argument("--max-steps", type=arg(validate.positive), default=None, help="stop each run after N steps (tests)")
    p.add_argument("--max-images", type=arg(validate.positive), default=None, help="train on the first N images (tests)")
    args = p.parse_args(argv)
    out = Path(args.out)
    rows = [(name, VARIANTS[name], run_variant(out / name, VARIANTS[name], args.epochs, args.data,
                                               args.max_steps, args.max_images))
            for name in args.only or VARIANTS]
    bicubic = rows[0][2]["bicubic"]
    table = ["| variant | change | iterations | minutes | Set5 x2 | Set5 x3 | Set5 x4 |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, change, s in rows:
        changed = ", ".join(f"{k} {v}" for k, v in change.items()) or "-"
        scores = " | ".join(f"{s['eval'][f'x{k}']:.2f}" for k in (2, 3, 4))
        table.append(f"| {name} | {changed} | {s['iterations']:,} | {s['seconds'] / 60:.1f} | {scores} |")
    text = (f"VDSR fast-recipe sweep: {args.epochs} epochs' worth of patch pixels each "
            f"({args.epochs * 500 * pixels_per_step({}):,}); Set5 bicubic "
            + " / ".join(f"{bicubic[k]:.2f}" for k in sorted(bicubic, key=int)) + " dB\n\n" + "\n".join(table) + "\n")
    (out / "sweep.md").write_text(text)
    _figure(out, rows)
    print(text)
    return 0


def _figure(out, rows):
    from tinysr.training.figures import psnr_runs
    curves = {}
    for name, change, _ in rows:
        history = json.loads((out / name / HISTORY).read_text())
        curves[name] = ([i * pixels_per_step(change) / 1e6 for i in history["eval_iteration"]],
                        [e["x3"] for e in history["eval"]])
    psnr_runs(curves, out / "sweep.png", "VDSR sweep: the base and its variants", xlabel="patch pixels seen (millions)")


if __name__ == "__main__":
    sys.exit(run(main, prog="vdsr_sweep.py"))
