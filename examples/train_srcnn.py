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
from tinysr.command import Parser, arg, run
from tinysr.device import DEVICES
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
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto: the GPU when CuPy finds one, else the CPU (default); cpu: the Numba "
                        "kernels (TINYSR_BACKEND=numpy: the NumPy reference); cuda: insist on the GPU")
    p.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--out", default="runs/srcnn", help="the run's folder (default runs/srcnn)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in OUT even though it holds one (its checkpoint is replaced)")
    p.add_argument("--seed", type=int, default=0, help="initialisation and batch-order seed (default 0)")
    p.add_argument("--max-images", type=arg(validate.positive), default=None,
                   help="use only the first N T91 images")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="decay of the weight average that is evaluated and saved "
                        "(default: 0.9999 for fast, off for paper; 0 turns it off)")
    p.add_argument("--max-steps", type=arg(validate.positive), default=None, help="stop after N iterations")
    p.add_argument("--max-minutes", type=arg(validate.positive, kind=float), default=None,
                   help="stop at the first epoch end after N minutes of wall time (training and "
                        "evaluation; counts resumed segments), e.g. to compare recipes at equal time")
    args = p.parse_args(argv)
    train(scale=args.scale, variant=args.variant, recipe=args.recipe, epochs=args.epochs,
          batch=args.batch, device=args.device, data=args.data, out=args.out, resume=args.resume,
          seed=args.seed, lr=args.lr, max_images=args.max_images, max_steps=args.max_steps,
          ema_decay=args.ema, max_minutes=args.max_minutes, overwrite=args.overwrite)
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="train_srcnn.py", resumable=True))
