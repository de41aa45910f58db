"""Train SRCNN on T91 and evaluate on Set5, as in Dong et al. (ECCV 2014).

    python examples/train_srcnn.py                       # 9-1-5, x3, fast recipe
    python examples/train_srcnn.py --recipe paper        # the paper's SGD recipe
    python examples/train_srcnn.py --variant 9-5-5 --epochs 100 --out runs/srcnn955

Writes into --out: checkpoint.npz (each epoch; --resume continues from it), the trained
model srcnn_<variant>_x<scale>.npz (for `tinysr eval --model` / `tinysr upscale`),
loss.png, psnr.png and crop.png (the figures also whenever the run stops).

Errors (missing data, an existing run without --resume, Ctrl-C...) print one line; a
stopped run says which checkpoint it kept and the command that continues it.
"""
import argparse
import sys

from tinysr import validate
from tinysr.command import Parser, add_run_flags, arg, run, run_kwargs
from tinysr.training.srcnn import RECIPES, train


def main(argv=None):
    p = Parser(prog="train_srcnn.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=3, choices=[2, 3, 4], help="zoom factor (default 3)")
    p.add_argument("--variant", default="9-1-5", help="f1-f2-f3 filter sizes: 9-1-5 (default), 9-3-5, 9-5-5")
    p.add_argument("--recipe", default="fast", choices=RECIPES,
                   help="fast: Adam + He init + weight average (default); paper: the paper's SGD")
    p.add_argument("--epochs", type=arg(validate.positive), default=None,
                   help="default: 300 (fast) or 1000 (paper)")
    p.add_argument("--batch", type=arg(validate.positive), default=None,
                   help="default: 32 (fast) or 128 (paper)")
    p.add_argument("--lr", type=arg(validate.positive, kind=float), default=None,
                   help="base learning rate (default per recipe)")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="decay of the weight average that is evaluated and saved "
                        "(default: 0.9999 for fast, off for paper; 0 turns it off)")
    add_run_flags(p, out="runs/srcnn")
    args = p.parse_args(argv)
    train(scale=args.scale, variant=args.variant, recipe=args.recipe, epochs=args.epochs, batch=args.batch,
          lr=args.lr, ema_decay=args.ema, **run_kwargs(args))
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="train_srcnn.py", resumable=True))
