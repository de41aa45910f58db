"""VDSR's clipping study: the paper recipe's first iterations at lr 0.1 (SGD, momentum 0.9,
weight decay 1e-4, the loss 1/2 sum of squares per sample) with adjustable clipping (each
gradient element within +-theta/lr), with plain clipping (within +-theta), and with none.
Which trains, and which diverges?

    python examples/vdsr_clipping_study.py                       # VDSR-20, 100 steps of 16 each
    python examples/vdsr_clipping_study.py --steps 300 --batch 64

Writes OUT/<clip>/ (each a train_vdsr.py run), OUT/clipping.png (the training MSE of the
three against iterations) and prints a table: the last MSE, Set5 x3, or where it diverged.
"""
import argparse
import json
import sys
from pathlib import Path

from tinysr import validate
from tinysr.command import Parser, arg, run
from tinysr.training.loop import TrainingDiverged
from tinysr.training.vdsr import CLIPS, train


def main(argv=None):
    p = Parser(prog="vdsr_clipping_study.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=arg(validate.positive), default=100, help="iterations per run (default 100)")
    p.add_argument("--batch", type=arg(validate.positive), default=16, help="batch (default 16; the paper 64)")
    p.add_argument("--depth", type=arg(validate.positive), default=20, help="VDSR depth (default 20)")
    p.add_argument("--theta", type=arg(validate.positive, kind=float), default=0.01, help="clipping theta (0.01)")
    p.add_argument("--max-images", type=arg(validate.positive), default=20, help="training images (default 20)")
    p.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--out", default="runs/vdsr_clipping", help="where the three runs go")
    args = p.parse_args(argv)
    out, results = Path(args.out), {}
    for clip in CLIPS:
        folder = out / clip
        try:
            summary = train(recipe="paper", depth=args.depth, batch=args.batch, clip=clip, theta=args.theta,
                            epochs=1, max_steps=args.steps, max_images=args.max_images, data=args.data,
                            out=str(folder), overwrite=True, scales=(2, 3, 4))
            results[clip] = f"trains: Set5 x3 {summary['eval']['x3']:.2f} dB after {summary['iterations']} iterations"
        except TrainingDiverged as err:
            results[clip] = f"diverges: {err}".split("; ")[0]
    _figure(out, results)
    for clip, text in results.items():
        print(f"{clip:>10}: {text}")
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return 0


def _figure(out, results):
    from tinysr.training.figures import _pyplot, _save
    from tinysr.training.loop import HISTORY
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for clip, text in results.items():
        log = out / clip / HISTORY          # written however the run ended, divergence included
        if log.is_file():
            history = json.loads(log.read_text())
            ax.plot(history["iteration"], history["mse"], lw=1,
                    label=clip + (" (diverged)" if text.startswith("diverges") else ""))
    ax.set_xlabel("iterations")
    ax.set_ylabel("training MSE (per pixel)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(plt, fig, str(out / "clipping.png"), dpi=110)


if __name__ == "__main__":
    sys.exit(run(main, prog="vdsr_clipping_study.py"))
