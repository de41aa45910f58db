"""Train DRCN (Kim, Lee, Lee; CVPR 2016): a recursive network with shared weights and
recursive supervision, one model per scale, trained on T91 and scored on Set5.

    python examples/train_drcn.py                        # the fast CPU recipe, x3
    python examples/train_drcn.py --recipe paper         # DRCN(256, 16), SGD, lr on plateau
    python examples/train_drcn.py --alpha-epochs 0 --out runs/drcn_nosup   # no recursive supervision

Writes into --out: checkpoint.npz (each epoch; --resume continues from it), the model
drcn_w<width>d<recursions>_x<scale>.npz, loss.png, l1_l2.png (the two losses and alpha),
psnr.png, crop.png and recursions.png (the learned ensemble weights, and the PSNR of each
recursion's own prediction). Errors print one line; a stopped run says how to resume.
"""
import argparse
import sys

from tinysr import validate
from tinysr.command import Parser, add_run_flags, arg, run, run_kwargs
from tinysr.training.drcn import LOSSES, RECIPES, SCHEDULES, train


def non_negative(text, flag=""):
    return 0 if text.strip() == "0" else validate.positive(text, flag)


def main(argv=None):
    p = Parser(prog="train_drcn.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=3, choices=[2, 3, 4], help="zoom factor; one model per scale (default 3)")
    p.add_argument("--recipe", default="fast", choices=sorted(RECIPES),
                   help="fast: a reduced DRCN (width 48, 6 recursions), Adam and a weight average for the "
                        "CPU (default); paper: DRCN(256, 16), SGD 0.01, /10 on a 5-epoch plateau")
    p.add_argument("--width", type=arg(validate.positive), default=None, help="channels (paper 256, fast 48)")
    p.add_argument("--recursions", type=arg(validate.positive), default=None, help="D (paper 16, fast 6)")
    p.add_argument("--epochs", type=arg(validate.positive), default=None,
                   help="paper: up to 200 passes (it stops when the lr falls below 1e-6); fast: 20 of 500 batches (~2 h on 2 CPU cores)")
    p.add_argument("--batch", type=arg(validate.positive), default=None, help="paper 64, fast 32")
    p.add_argument("--lr", type=arg(validate.positive, kind=float), default=None, help="paper 0.01, fast 1e-3")
    p.add_argument("--alpha-epochs", type=arg(non_negative), default=None,
                   help="epochs over which alpha falls from 1 to 0 (paper 25, fast 5; 0: no recursive supervision)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="also train on each patch's 8 flips/rotations (off in both recipes, as the paper)")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="decay of the weight average evaluated and saved (fast 0.999, paper off; 0: off)")
    p.add_argument("--loss", choices=LOSSES, default=None,
                   help="mse: each term the mean squared error, as the paper (default); l1: the mean absolute error")
    p.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help="plateau: /10 after 5 epochs without a better validation PSNR (paper); step: halved every "
                        "quarter of the epochs (fast); cosine: half a cosine from --lr down to 0")
    add_run_flags(p, out="runs/drcn")
    args = p.parse_args(argv)
    train(scale=args.scale, recipe=args.recipe, width=args.width, recursions=args.recursions, epochs=args.epochs,
          batch=args.batch, lr=args.lr, ema_decay=args.ema, alpha_epochs=args.alpha_epochs,
          augment=args.augment, loss=args.loss, schedule=args.schedule, **run_kwargs(args))
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="train_drcn.py", resumable=True))
