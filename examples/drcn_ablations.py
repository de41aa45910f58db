"""DRCN's two ablations at one reduced budget (the fast recipe's model and optimiser, x3):

1. recursive supervision on (alpha from 1 to 0 over the first quarter of the epochs) versus
   off (alpha = 0 from the start: only the ensemble's loss trains the network);
2. the number of recursions D = 1, 3, 6 and the chosen D (supervision on).

    python examples/drcn_ablations.py                        # 4 epochs of 500 batches each
    python examples/drcn_ablations.py --epochs 8 --chosen 9

Each variant is a train_drcn.py run in OUT/<name>/ (a finished one is reused, a stopped one
resumed), so the script can be stopped and started again. Writes OUT/ablations.md (Set5 x3
of each, with its time and parameters), OUT/ablations.png (Set5 x3 against iterations) and
prints the table.
"""
import argparse
import json
import math
import sys
from pathlib import Path

from tinysr import validate
from tinysr.command import Parser, arg, run
from tinysr.training.drcn import RECIPES, train
from tinysr.training.loop import CHECKPOINT, HISTORY

RESULT = "result.json"      # written when a variant's run has finished


def variants(chosen, depths):
    """[(name, recursions, supervised)]: the chosen D with and without supervision, then
    each D of ``depths`` not already there."""
    out = [(f"D{chosen}_supervised", chosen, True), (f"D{chosen}_unsupervised", chosen, False)]
    out += [(f"D{d}_supervised", d, True) for d in depths if d != chosen]
    return out


def run_variant(folder, recursions, supervised, epochs, data, width, max_steps=None, max_images=None):
    """The variant's summary: read back if it finished, else trained (or resumed)."""
    done = folder / RESULT
    if done.is_file():
        return json.loads(done.read_text())
    summary = train(scale=3, recipe="fast", width=width, recursions=recursions, epochs=epochs,
                    alpha_epochs=max(1, math.ceil(epochs / 4)) if supervised else 0, data=data,
                    out=str(folder), resume=(folder / CHECKPOINT).is_file(), max_steps=max_steps,
                    max_images=max_images)
    from tinysr.models.registry import load_model
    model, _ = load_model(summary["model_path"])
    summary["parameters"] = int(sum(p.numpy().size for p in model.parameters()))
    done.write_text(json.dumps(summary, indent=1))
    return summary


def main(argv=None):
    p = Parser(prog="drcn_ablations.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=arg(validate.positive), default=4,
                   help="epochs of 500 batches for every variant (default 4)")
    p.add_argument("--chosen", type=arg(validate.positive), default=RECIPES["fast"]["recursions"],
                   help=f"the chosen D (default the fast recipe's {RECIPES['fast']['recursions']})")
    p.add_argument("--depths", type=arg(validate.positive), nargs="+", default=[1, 3, 6],
                   help="the other D to compare (default 1 3 6)")
    p.add_argument("--width", type=arg(validate.positive), default=RECIPES["fast"]["width"],
                   help=f"channels (default the fast recipe's {RECIPES['fast']['width']})")
    p.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--out", default="runs/drcn_ablations", help="where the runs go")
    p.add_argument("--max-steps", type=arg(validate.positive), default=None, help="stop each run after N steps (tests)")
    p.add_argument("--max-images", type=arg(validate.positive), default=None, help="train on the first N images (tests)")
    args = p.parse_args(argv)
    out = Path(args.out)
    rows = []
    for name, d, supervised in variants(args.chosen, args.depths):
        s = run_variant(out / name, d, supervised, args.epochs, args.data, args.width, args.max_steps, args.max_images)
        rows.append((name, d, supervised, s))
    table = ["| variant | D | recursive supervision | parameters | Set5 x3 (dB) | vs bicubic | minutes |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, d, supervised, s in rows:
        table.append(f"| {name} | {d} | {'on' if supervised else 'off'} | {s['parameters']:,} | {s['psnr']:.2f} | "
                     f"{s['psnr'] - s['bicubic']:+.2f} | {s['seconds'] / 60:.1f} |")
    text = (f"DRCN ablations: width {args.width}, {args.epochs} epochs of 500 batches each, x3, "
            f"Set5 bicubic {rows[0][3]['bicubic']:.2f} dB\n\n" + "\n".join(table) + "\n")
    (out / "ablations.md").write_text(text)
    _figure(out, rows)
    print(text)
    return 0


def _figure(out, rows):
    from tinysr.training.figures import psnr_runs
    curves = {}
    for name, _, _, _ in rows:
        history = json.loads((out / name / HISTORY).read_text())
        curves[name] = (history["eval_iteration"], [e["psnr"] for e in history["eval"]])
    psnr_runs(curves, out / "ablations.png", "DRCN ablations", bicubic=rows[0][3]["bicubic"])


if __name__ == "__main__":
    sys.exit(run(main, prog="drcn_ablations.py"))
