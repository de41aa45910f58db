"""A+ (Timofte et al. 2014) end to end: train on T91 (or load the cached model), score
Set5 against bicubic under the paper protocol, then time two upscales of the first image
(baby, 512x512): its protocol LR (170x170 -> 510x510 at x3) and the image itself
(512x512 -> 1536x1536), and save the latter.

    python examples/aplus.py                 # x3, Set5
    python examples/aplus.py --scale 2 --sets Set5 Set14
Needs the T91/Set5 images: set TINYSR_DATA (or pass --data).
"""
import argparse
import sys
import time

from tinysr import validate
from tinysr.classic import aplus
from tinysr.command import Parser, arg, run
from tinysr.data import load_dataset, make_pair, round_uint8, write_image, y_channel
from tinysr.evaluate import METHODS, evaluate


def main(argv=None):
    ap = Parser(prog="aplus.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=arg(validate.scale), default=3, help="zoom factor 2..8 (default 3)")
    ap.add_argument("--sets", nargs="+", default=["Set5"], help="test set names or image folders (default Set5)")
    ap.add_argument("--data", default=None, help="data root (default $TINYSR_DATA)")
    ap.add_argument("--out", default="aplus_example.png", help="where to write one upscaled image (.png)")
    args = ap.parse_args(argv)
    validate.output_file(args.out, (".png", ".bmp", ".tif", ".tiff"))

    t0 = time.perf_counter()
    model = aplus.get_model(args.scale)  # trains (~2-5 min on 1-2 cores) on first use, then cached
    print(f"model ready in {time.perf_counter() - t0:.1f} s "
          f"(training took {model.train_seconds:.0f} s; {model.anchors.shape[0]} anchors, "
          f"PCA {model.pca.shape[0]} -> {model.pca.shape[1]} dims)")

    for name, factory in [("bicubic", METHODS["bicubic"]), ("aplus", None)]:
        up = factory(args.scale) if factory else (lambda lr, ilr, s: aplus.upscale(model, lr, mid=ilr))
        print(evaluate(up, args.sets, [args.scale], root=args.data, method=name).table())

    name, img = next(iter(load_dataset(args.sets[0], root=args.data)))  # Set5: baby, 512x512
    y = y_channel(img)
    lr, _, _ = make_pair(y, args.scale)
    for what, src in [("protocol LR", lr), ("the full image as input", y)]:
        aplus.upscale(model, src[:64, :64])  # warm-up (Numba compilation)
        t, c = time.perf_counter(), time.process_time()
        sr = aplus.upscale(model, src)
        print(f"{name} ({what}): {src.shape} -> {sr.shape} in {time.perf_counter() - t:.2f} s "
              f"wall, {time.process_time() - c:.2f} s CPU")
    write_image(args.out, round_uint8(sr * 255))
    print(f"wrote {args.out} (Y channel of the last upscale)")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, prog="aplus.py"))
