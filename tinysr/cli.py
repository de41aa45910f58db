"""`tinysr` command line. Each subcommand is one `add_<name>` function plus its handler.

Handlers check everything they can before the work starts (tinysr.validate) and raise
tinysr.errors exceptions; tinysr.command.run prints those as one line and sets the exit
status. Outputs are written atomically, so a failed command leaves existing files as they
were.
"""
import sys

from . import distributed, validate
from .command import Parser, arg, run
from .device import DEVICES
from .device import select as select_device
from .errors import ArgumentError, InputFileError


def _methods():
    from .evaluate import METHODS
    return sorted(METHODS)


def add_eval(sub):
    p = sub.add_parser("eval", help="PSNR/SSIM of a method or checkpoint on SR test sets",
                       description="Score a classical method or a saved model under the papers' protocol "
                                   "(Y channel, MATLAB bicubic degradation, border shave = scale).")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--method", default=None, choices=_methods(),
                     help="a classical method (default: bicubic)")
    who.add_argument("--model", metavar="CHECKPOINT",
                     help="a saved model (.npz from training or `tinysr import-weights`)")
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14"], metavar="SET",
                   help="set names (Set5, Set14, BSD100/B100, Urban100, ...) or image folders "
                        "(default: Set5 Set14)")
    p.add_argument("--scales", nargs="+", type=arg(validate.scale), default=[2, 3, 4], metavar="S",
                   help="zoom factors, integers 2..8 (default: 2 3 4)")
    p.add_argument("--data", metavar="ROOT", help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--download", action="store_true", help="fetch missing sets (Set5, Set14, T91) first")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="where a --model network runs: auto (the GPU when CuPy finds one; default), cpu, cuda")
    p.add_argument("--per-image", action="store_true", help="print a row per image, not only set means")
    p.add_argument("--csv", metavar="FILE", help="also write one row per image and per set mean to FILE")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args):
    from . import evaluate as ev
    from .data import load_dataset

    lead = distributed.world().lead     # under mpiexec: each rank its own GPU first, rank 0 reports
    if args.csv:
        validate.output_file(args.csv, (".csv",))
    datasets = {s: load_dataset(s, root=args.data, download=args.download) for s in args.sets}
    if args.model:
        from .inference import load_upscaler
        upscaler = load_upscaler(args.model, select_device(args.device))
        if upscaler.rgb is not None:
            upscaler.y(None, None, None)        # an RGB face model: says why it cannot be scored here
        for scale in args.scales:
            upscaler.scale_for(scale)       # a dictionary at another scale fails here, a network warns
        name, upscaler = args.model, upscaler.y
    else:
        name = args.method or "bicubic"
        upscaler = ev.per_scale(ev.METHODS[name])
    results = ev.evaluate(upscaler, args.sets, args.scales, root=args.data, per_image=args.per_image,
                          method=name, datasets=datasets)   # the ranks share the images
    if not lead:
        return 0
    print(results.table())
    if args.csv:
        results.to_csv(args.csv)
        print(f"wrote {args.csv}")
    return 0


def add_upscale(sub):
    from .data.image_io import WRITE_SUFFIXES
    p = sub.add_parser("upscale", help="super-resolve an image file with a model or a method",
                       description="Upscale one image: Y through the model or method, Cb/Cr bicubic "
                                   "(as the papers do). Grey images stay grey; alpha is dropped.")
    p.add_argument("input", help="the low-resolution image (PNG, JPEG, BMP, TIFF, GIF, WebP, PPM/PGM; "
                                 "RGB or grey, 8 or 16 bit)")
    p.add_argument("output", help=f"the file to write; its suffix picks the format "
                                  f"({', '.join(WRITE_SUFFIXES)})")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", metavar="CHECKPOINT", help="a trained or imported model (.npz)")
    who.add_argument("--method", choices=_methods(), help="a classical method instead of a model")
    p.add_argument("--scale", type=arg(validate.scale), default=None,
                   help="zoom factor 2..8 (default: the scale the model was trained for; "
                        "needed with --method)")
    p.add_argument("--tile", type=arg(validate.tile), default=256,
                   help=f"run the network on tiles of this size to bound memory (>= {validate.MIN_TILE}; "
                        "0: whole image at once; default 256); the result is the same")
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="auto: the GPU when CuPy finds one, else the CPU (default); cpu: the Numba "
                        "kernels; cuda: CuPy and a CUDA GPU")
    p.add_argument("--max-megapixels", type=arg(validate.positive, kind=float),
                   default=validate.MAX_OUTPUT_MEGAPIXELS,
                   help=f"refuse outputs larger than this (default {validate.MAX_OUTPUT_MEGAPIXELS})")
    p.set_defaults(func=cmd_upscale)


def cmd_upscale(args):
    from .data import read_image, write_image
    from .data.image_io import WRITE_SUFFIXES

    validate.output_file(args.output, WRITE_SUFFIXES)
    _, width, height = validate.image_file(args.input)
    if args.model:
        validate.checkpoint_file(args.model)
    device = select_device(args.device)
    if args.model:
        from .inference import load_upscaler
        upscaler = load_upscaler(args.model, device, tile=args.tile or None)
        scale = upscaler.scale_for(args.scale)
        upscale = upscaler.image
    else:
        from . import evaluate as ev
        from .inference import upscale_image_with
        if not args.scale:
            raise ArgumentError("--scale is needed with --method")
        scale = args.scale
        method = ev.METHODS[args.method](scale)
        upscale = lambda img, s: upscale_image_with(method, img, s)   # noqa: E731
    megapixels = width * height * scale * scale / 1e6
    if megapixels > args.max_megapixels:
        raise ArgumentError(f"x{scale} of {args.input} ({width}x{height}) would be {width * scale}x"
                            f"{height * scale} = {megapixels:.0f} megapixels, over --max-megapixels "
                            f"{args.max_megapixels:g}; raise it if you mean it")
    img = read_image(args.input)
    out = upscale(img, scale)
    write_image(args.output, out)
    print(f"wrote {args.output}: {img.shape[1]}x{img.shape[0]} -> {out.shape[1]}x{out.shape[0]} (x{scale})")
    return 0


def add_import_weights(sub):
    p = sub.add_parser("import-weights", help="convert published weights or dictionaries to a tinysr checkpoint",
                       description="Convert the authors' MATLAB files into tinysr .npz checkpoints.")
    p.add_argument("model", choices=["srcnn", "vdsr", "scsr", "scsr-cvpr08"],
                   help="the file's format: srcnn (Dong et al.'s x2/x3/x4.mat), vdsr (Kim et al.'s "
                        "MatConvNet VDSR_Official.mat, one model for x2-x4), scsr (Yang et al.'s TIP "
                        "dictionaries), scsr-cvpr08 (Yang et al.'s CVPR-08 Dictionary.mat)")
    p.add_argument("source", help="the authors' file (SRCNN: x2.mat / x3.mat / x4.mat; VDSR: "
                                  "VDSR_Official.mat; ScSR TIP: D_1024_0.15_5.mat, the x2 dictionary; "
                                  "ScSR CVPR-08: Dictionary.mat, x3)")
    p.add_argument("output", help="the .npz checkpoint to write")
    p.add_argument("--scale", type=arg(validate.scale), default=None,
                   help="default: read from a name like x3.mat (SRCNN), from Dh's shape (scsr-cvpr08), "
                        "2 3 4 for VDSR; scsr dictionaries do not say it")
    p.set_defaults(func=cmd_import_weights)


def _scale_from_name(source):
    import re
    found = re.search(r"x([234])", source)
    return int(found.group(1)) if found else None


def cmd_import_weights(args):
    from . import checkpoint

    validate.output_file(args.output, (".npz",))
    validate.existing_file(args.source, "MATLAB file")
    scale = args.scale
    if args.model in ("scsr", "scsr-cvpr08"):
        from .classic.scsr_matlab import scsr_cvpr08_from_mat, scsr_from_mat
        if args.model == "scsr" and scale is None:
            scale = _scale_from_name(args.source)
            if scale is None:
                raise ArgumentError("an ScSR dictionary file does not say its scale "
                                    "(Yang's D_1024_0.15_5.mat is x2); pass --scale")
        try:
            model = (scsr_from_mat(args.source, scale) if args.model == "scsr"
                     else scsr_cvpr08_from_mat(args.source, scale))
        except ValueError as err:
            raise InputFileError(str(err)) from None
        model.save(args.output)
        print(f"wrote {args.output}: {args.model} dictionary, {model.Dh.shape[1]} atoms, "
              f"x{model.config.scale}")
        return 0

    from .models.registry import model_state
    from .models.srcnn_matlab import srcnn_from_mat

    if args.model == "vdsr":
        from .models.vdsr_matlab import vdsr_from_mat
        try:
            model = vdsr_from_mat(args.source)
        except ValueError as err:
            raise InputFileError(str(err)) from None
        scales = scale if scale is not None else [2, 3, 4]     # one network for every scale
        checkpoint.save(model_state(model, scales, source=args.source), args.output)
        print(f"wrote {args.output}: VDSR depth {model.config['depth']}, width {model.config['width']}, "
              f"for x{scales}")
        return 0
    if scale is None:
        scale = _scale_from_name(args.source)
        if scale is None:
            raise ArgumentError(f"cannot tell the scale of {args.source}; pass --scale")
    try:
        model = srcnn_from_mat(args.source)
    except ValueError as err:
        raise InputFileError(str(err)) from None
    checkpoint.save(model_state(model, scale, source=args.source), args.output)
    c = model.config
    print(f"wrote {args.output}: SRCNN {c['f1']}-{c['f2']}-{c['f3']} ({c['n1']}/{c['n2']}) for x{scale}")
    return 0


def build_parser():
    parser = Parser(prog="tinysr", description="tiny deep image super-resolution")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_eval(sub)
    add_upscale(sub)
    add_import_weights(sub)
    return parser


def _main(argv):
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv=None):
    """Entry point: ``tinysr ...``; returns the exit status (errors as one line, no traceback)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = "tinysr" + (f" {argv[0]}" if argv and argv[0] in ("eval", "upscale", "import-weights") else "")
    return run(_main, argv, prog=prog)


if __name__ == "__main__":
    sys.exit(main())
