"""Score 4x face super-resolvers on the held-out CelebA faces (the GAN issue's table).

    python examples/evaluate_faces.py --model GAN=runs/gan/gan_generator.npz \\
                                      --model L1-only=runs/gan_l1/gan_generator.npz

For bicubic and each generator, over the 1,000 faces train_gan.py never trains on (the
same seeded split, centre 64x64 crops, their 16x16 box averages as input):
- RGB PSNR: per face, of the uint8-rounded output against the truth, over all three
  channels (no border shaved: the generator pads its own edges); then the mean;
- SSIM: Wang et al.'s (tinysr.metrics.ssim, 11x11 Gaussian window) on each channel, the
  mean over channels and faces;
- sharpness: the mean gradient magnitude (central differences, all channels) of the output
  over that of the truth; 1 is as sharp as the truth, bicubic is far below it.
Prints a markdown table and writes it to --table when given.
"""
import argparse
import sys

import numpy as np

from tinysr import validate
from tinysr.command import Parser, arg, run
from tinysr.data.faces import Faces
from tinysr.device import DEVICES, select
from tinysr.errors import ArgumentError
from tinysr.metrics import psnr, ssim
from tinysr.models.registry import load_model
from tinysr.training.gan import bicubic_faces, upscale_faces


def to_uint8(images):
    return np.clip(np.round(np.asarray(images, np.float64) * 255.0), 0, 255).astype(np.uint8)


def gradient_magnitude(images):
    """Mean |grad| of (N, 3, H, W) images, central differences inside the border."""
    x = np.asarray(images, np.float64)
    gy = (x[..., 2:, 1:-1] - x[..., :-2, 1:-1]) / 2.0
    gx = (x[..., 1:-1, 2:] - x[..., 1:-1, :-2]) / 2.0
    return float(np.mean(np.sqrt(gx * gx + gy * gy)))


def scores(out, truth):
    """{"psnr", "ssim", "sharpness"} of (N, 3, H, W) outputs in [0, 1] against the truth."""
    a, b = to_uint8(out), to_uint8(truth)
    return {"psnr": float(np.mean([psnr(x, y, 0) for x, y in zip(a, b)])),
            "ssim": float(np.mean([ssim(x[c], y[c]) for x, y in zip(a, b) for c in range(3)])),
            "sharpness": gradient_magnitude(a) / gradient_magnitude(b)}


def labelled(text, flag=""):
    label, sep, path = text.partition("=")
    if not sep or not label or not path:
        raise ArgumentError(f"{flag + ': ' if flag else ''}LABEL=FILE, got {text!r}")
    return label, validate.checkpoint_file(path)


def main(argv=None):
    p = Parser(prog="evaluate_faces.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=arg(labelled), action="append", default=[], metavar="LABEL=FILE",
                   help="a generator file (train_gan.py's gan_generator.npz), repeatable")
    p.add_argument("--data", default=None, help="data root holding CelebA10k/ (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--max-faces", type=arg(validate.positive), default=None,
                   help="load only N faces (tests; the held-out part is then at most half)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--batch", type=arg(validate.positive), default=100, help="faces per forward pass")
    p.add_argument("--table", default=None, help="also write the markdown table here")
    args = p.parse_args(argv)
    device = select(args.device)
    generators = []
    for label, path in args.model:
        model, meta = load_model(path)
        if meta.get("model") != "srez_generator":
            raise ArgumentError(f"--model: {path} holds a {meta.get('model')!r} model, not a face generator")
        generators.append((label, model.to(device), meta))
    faces = Faces(root=args.data, limit=args.max_faces)
    if faces.is_sample:
        raise ArgumentError("the CelebA10k faces were not found (give them with --data or TINYSR_DATA)")
    hr, lr = faces.batch(faces.held_out)
    chunks = range(0, len(lr), args.batch)
    rows = [("bicubic", "", scores(np.concatenate([bicubic_faces(lr[i:i + args.batch]) for i in chunks]), hr))]
    for label, model, meta in generators:
        out = np.concatenate([upscale_faces(model, lr[i:i + args.batch], device) for i in chunks])
        rows.append((label, f"l1 {meta.get('l1')}, adversarial {meta.get('adversarial')}", scores(out, hr)))
    table = [f"{len(hr)} held-out faces, 16x16 -> 64x64 (x4)", "",
             "| method | losses | RGB PSNR (dB) | SSIM | sharpness (output / truth) |", "| --- | --- | --- | --- | --- |"]
    table += [f"| {label} | {losses} | {s['psnr']:.2f} | {s['ssim']:.4f} | {s['sharpness']:.3f} |"
              for label, losses, s in rows]
    text = "\n".join(table) + "\n"
    print(text)
    if args.table:
        from tinysr.atomic import atomic_write
        with atomic_write(args.table, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="evaluate_faces.py"))
