"""Train VDSR (Kim, Lee, Lee; CVPR 2016): one network for x2, x3 and x4, scored on Set5.

    python examples/train_vdsr.py                          # the fast CPU recipe
    python examples/train_vdsr.py --recipe paper           # the paper's SGD + adjustable clipping
    python examples/train_vdsr.py --recipe paper --clip none --epochs 2 --out runs/vdsr_noclip

Writes into --out: checkpoint.npz (each epoch; --resume continues from it), the trained
model vdsr_d<depth>w<width>.npz (for `tinysr eval --model` / `tinysr upscale --scale S`),
loss.png, psnr.png and crop.png. Errors print one line; a stopped run says which
checkpoint it kept and the command that continues it.
"""
import argparse
import sys

from tinysr import validate
from tinysr.command import Parser, add_run_flags, arg, run, run_kwargs
from tinysr.training.vdsr import CLIPS, LOSSES, RECIPES, SCHEDULES, train


def main(argv=None):
    p = Parser(prog="train_vdsr.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="fast", choices=sorted(RECIPES),
                   help="fast: a smaller VDSR, Adam and a weight average for the CPU (default); "
                        "paper: VDSR-20, SGD 0.1 with adjustable clipping, 80 epochs")
    p.add_argument("--depth", type=arg(validate.positive), default=None, help="layers (paper 20, fast 10)")
    p.add_argument("--width", type=arg(validate.positive), default=None, help="channels (paper 64, fast 48)")
    p.add_argument("--epochs", type=arg(validate.positive), default=None,
                   help="paper: 80 passes over the patches; fast: 72 epochs of 500 batches")
    p.add_argument("--batch", type=arg(validate.positive), default=None, help="paper 64, fast 16")
    p.add_argument("--lr", type=arg(validate.positive, kind=float), default=None, help="paper 0.1, fast 1e-3")
    p.add_argument("--patch", type=arg(validate.positive), default=None,
                   help="patch side, also the grid's stride (paper and fast 41)")
    p.add_argument("--clip", choices=CLIPS, default=None,
                   help="adjustable: each gradient element within +-theta/lr (paper default); value: "
                        "within +-theta; none (fast default)")
    p.add_argument("--loss", choices=LOSSES, default=None,
                   help="mse: the per-pixel squared error (paper default; the paper's is its half sum); "
                        "l1: the mean absolute error (fast default)")
    p.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help="step: /10 every 20 epochs (paper default); cosine: half a cosine from --lr down "
                        "to 0 over the epochs (fast default); with --recipe fast, step halves every quarter")
    p.add_argument("--theta", type=arg(validate.positive, kind=float), default=0.01, help="clipping theta (0.01)")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="decay of the weight average evaluated and saved (fast 0.999, paper off; 0: off)")
    p.add_argument("--train-set", default="291", help="training images: 291 (T91 + BSD200; default), T91 or a folder")
    p.add_argument("--srcnn", metavar="RUN|MODEL", default=None,
                   help="an SRCNN run folder (train_srcnn.py --out): its training MSE on the same axes, "
                        "its model in the crop figure; or an SRCNN model file (tinysr import-weights srcnn): "
                        "the crop figure only")
    add_run_flags(p, out="runs/vdsr")
    args = p.parse_args(argv)
    train(recipe=args.recipe, depth=args.depth, width=args.width, epochs=args.epochs, batch=args.batch,
          lr=args.lr, ema_decay=args.ema, clip=args.clip, patch=args.patch, loss=args.loss, schedule=args.schedule, theta=args.theta, train_set=args.train_set,
          srcnn=args.srcnn, **run_kwargs(args))
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="train_vdsr.py", resumable=True))
