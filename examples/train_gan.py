"""Train the srez DCGAN super-resolver: 4x faces (16x16 -> 64x64) from CelebA, with an
adversarial loss and an L1 consistency term (the downscaled output against the input).

    python examples/train_gan.py                          # 1,500 iterations, as the seed's figures
    python examples/train_gan.py --l1 0 --out runs/gan_nol1        # the "without L1 term" run
    python examples/train_gan.py --adversarial 0 --out runs/gan_l1  # an L1-only generator

Writes into --out: checkpoint.npz (both networks and both optimisers, every 100 batches;
--resume continues from it), gan_generator.npz (for `tinysr upscale face.png out.png
--model ...`), losses.png (disc_real, disc_fake and gene with the ln 2 line) and sample
sheets of the 16 test faces (nearest | bicubic | output | truth) after 10, 50, 200, 500 and
1500 iterations. A log line every 10 batches; errors print one line.
"""
import argparse
import sys

from tinysr import validate
from tinysr.command import Parser, arg, run
from tinysr.device import DEVICES
from tinysr.training.gan import EPOCH_BATCHES, train


def fraction(text, flag=""):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise validate.ArgumentError(f"{flag + ': ' if flag else ''}a weight in [0, 1], got {text}")
    return value


def non_negative(text, flag=""):
    value = float(text)
    if value < 0:
        raise validate.ArgumentError(f"{flag + ': ' if flag else ''}must be >= 0, got {text}")
    return value


def main(argv=None):
    p = Parser(prog="train_gan.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=arg(validate.positive), default=1500,
                   help=f"training batches (default 1500; checkpoints every {EPOCH_BATCHES})")
    p.add_argument("--batch", type=arg(validate.positive), default=16, help="faces per batch (default 16)")
    p.add_argument("--l1", type=arg(fraction), default=0.9,
                   help="the L1 term's weight, srez's gene_l1_factor (default 0.9; 0: no L1 term)")
    p.add_argument("--adversarial", type=arg(non_negative), default=1.0,
                   help="multiplies the adversarial term (default 1; 0: an L1-only generator, no discriminator)")
    p.add_argument("--lr", type=arg(validate.positive, kind=float), default=2e-4, help="Adam's lr (2e-4)")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto: the GPU when CuPy finds one, else the CPU (default); cpu; cuda")
    p.add_argument("--data", default=None, help="data root holding CelebA10k/ (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--max-faces", type=arg(validate.positive), default=None, help="use only N faces (smoke runs)")
    p.add_argument("--out", default="runs/gan", help="the run's folder (default runs/gan)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--overwrite", action="store_true", help="start a new run in OUT even though it holds one")
    p.add_argument("--seed", type=int, default=0, help="initialisation, batch and noise seed (default 0)")
    p.add_argument("--max-minutes", type=arg(validate.positive, kind=float), default=None,
                   help="stop at the first checkpoint after N minutes of wall time")
    args = p.parse_args(argv)
    epochs = -(-args.iterations // EPOCH_BATCHES)
    train(epochs=epochs, batch=args.batch, l1_factor=args.l1, adversarial=args.adversarial, lr=args.lr,
          device=args.device, data=args.data, out=args.out, resume=args.resume, overwrite=args.overwrite,
          seed=args.seed, max_faces=args.max_faces, max_steps=args.iterations, max_minutes=args.max_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="train_gan.py", resumable=True))
