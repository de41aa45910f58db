"""Train SRCNN on T91 and evaluate on Set5, as in Dong et al. (ECCV 2014).

    python examples/train_srcnn.py                       # 9-1-5, x3, fast recipe
    python examples/train_srcnn.py --recipe paper        # the paper's SGD recipe
    python examples/train_srcnn.py --variant 9-5-5 --epochs 100 --out runs/srcnn955

Writes into --out: checkpoint.npz (each epoch; --resume continues from it), the trained
model srcnn_<variant>_x<scale>.npz (for `tinysr eval --model` / `tinysr upscale`),
loss.png, psnr.png and crop.png.
"""
import argparse

from tinysr.training.srcnn import RECIPES, train


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=3, choices=[2, 3, 4])
    p.add_argument("--variant", default="9-1-5", help="f1-f2-f3 filter sizes: 9-1-5, 9-3-5, 9-5-5")
    p.add_argument("--recipe", default="fast", choices=RECIPES)
    p.add_argument("--epochs", type=int, default=None, help="default: 300 (fast) or 1000 (paper)")
    p.add_argument("--batch", type=int, default=None, help="default: 32 (fast) or 128 (paper)")
    p.add_argument("--lr", type=float, default=None, help="base learning rate (default per recipe)")
    p.add_argument("--backend", default="auto", choices=["auto", "cuda", "numba", "numpy"])
    p.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--out", default="runs/srcnn")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-images", type=int, default=None, help="use only the first N T91 images")
    p.add_argument("--ema", type=float, default=None, metavar="DECAY",
                   help="decay of the weight average that is evaluated and saved "
                        "(default: 0.9999 for fast, off for paper; 0 turns it off)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N iterations")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop at the first epoch end after N minutes of wall time (training and "
                        "evaluation; counts resumed segments), e.g. to compare recipes at equal time")
    args = p.parse_args(argv)
    train(scale=args.scale, variant=args.variant, recipe=args.recipe, epochs=args.epochs,
          batch=args.batch, backend=args.backend, data=args.data, out=args.out, resume=args.resume,
          seed=args.seed, lr=args.lr, max_images=args.max_images, max_steps=args.max_steps,
          ema_decay=args.ema, max_minutes=args.max_minutes)


if __name__ == "__main__":
    main()
