"""`tinysr` command line. Each subcommand is one `add_<name>` function plus its handler."""
import argparse
import sys


def add_eval(sub):
    p = sub.add_parser("eval", help="PSNR/SSIM of a method or checkpoint on SR test sets")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--method", default=None, help="a name in tinysr.evaluate.METHODS (default bicubic)")
    who.add_argument("--model", metavar="CHECKPOINT", help="a saved model to evaluate")
    p.add_argument("--sets", nargs="+", default=["Set5", "Set14"], help="set names or image folders")
    p.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    p.add_argument("--data", metavar="ROOT", help="data root (default: $TINYSR_DATA, then the cache)")
    p.add_argument("--download", action="store_true", help="fetch missing sets (Set5, Set14, T91) first")
    p.add_argument("--per-image", action="store_true", help="print a row per image")
    p.add_argument("--csv", metavar="FILE", help="write one row per image and per set mean")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args):
    from . import evaluate as ev

    if args.model:
        name, factory = args.model, ev.upscaler_from_checkpoint
        upscaler = ev.per_scale(lambda scale: factory(args.model, scale))
    else:
        name = args.method or "bicubic"
        if name not in ev.METHODS:
            sys.exit(f"tinysr eval: unknown method {name!r}; known: {', '.join(sorted(ev.METHODS))}")
        upscaler = ev.per_scale(ev.METHODS[name])
    results = ev.evaluate(upscaler, args.sets, args.scales, root=args.data,
                          per_image=args.per_image, method=name, download=args.download)
    print(results.table())
    if args.csv:
        results.to_csv(args.csv)
        print(f"wrote {args.csv}")
    return 0


def add_upscale(sub):
    p = sub.add_parser("upscale", help="super-resolve an image file with a model or a method")
    p.add_argument("input", help="an RGB or grayscale image file (the low-resolution image)")
    p.add_argument("output", help="where to write the PNG")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--model", metavar="CHECKPOINT", help="a trained model checkpoint")
    who.add_argument("--method", help="a classical method (bicubic, or another in tinysr.evaluate.METHODS)")
    p.add_argument("--scale", type=int, default=None, help="default: the scale the model was trained for")
    p.add_argument("--tile", type=int, default=256, help="tile size bounding memory (0: no tiling)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.set_defaults(func=cmd_upscale)


def cmd_upscale(args):
    from .data import read_image, write_png
    from .inference import upscale_image, upscale_image_with

    img = read_image(args.input)
    classic = None
    if args.model:
        from .classic.saved import load_classic, scale_mismatch
        classic = load_classic(args.model)
    if classic is not None:                 # an ScSR / A+ file: a dictionary, not a network
        method, model, run = classic
        scale = model.config.scale
        if args.scale not in (None, scale):
            sys.exit("tinysr upscale: " + scale_mismatch(args.model, method, scale, args.scale))
        out = upscale_image_with(lambda lr, ilr, s: run(model, lr, ilr), img, scale)
    elif args.model:
        from .models.registry import load_model
        model, meta = load_model(args.model)
        scale = args.scale or meta.get("scale")
        if not isinstance(scale, int):
            sys.exit(f"tinysr upscale: {args.model} does not say its scale; pass --scale")
        model.to(args.device)
        out = upscale_image(model, img, scale, device=args.device, tile=args.tile or None)
    else:
        from . import evaluate as ev
        if args.method not in ev.METHODS:
            sys.exit(f"tinysr upscale: unknown method {args.method!r}; known: {', '.join(sorted(ev.METHODS))}")
        if not args.scale:
            sys.exit("tinysr upscale: --scale is needed with --method")
        scale = args.scale
        out = upscale_image_with(ev.METHODS[args.method](scale), img, scale)
    write_png(args.output, out)
    print(f"wrote {args.output}: {img.shape[1]}x{img.shape[0]} -> {out.shape[1]}x{out.shape[0]} (x{scale})")
    return 0


def add_import_weights(sub):
    p = sub.add_parser("import-weights", help="convert published weights or dictionaries to a tinysr checkpoint")
    p.add_argument("model", choices=["srcnn", "scsr", "scsr-cvpr08"], help="which published model format")
    p.add_argument("source", help="the authors' file (SRCNN: x2.mat / x3.mat / x4.mat; ScSR TIP: "
                                  "D_1024_0.15_5.mat, the x2 dictionary; ScSR CVPR-08: Dictionary.mat, x3)")
    p.add_argument("output", help="the .npz checkpoint to write")
    p.add_argument("--scale", type=int, default=None,
                   help="default: read from a name like x3.mat (SRCNN), from Dh's shape (scsr-cvpr08); "
                        "scsr dictionaries do not say it")
    p.set_defaults(func=cmd_import_weights)


def _scale_from_name(source):
    import re
    found = re.search(r"x([234])", source)
    return int(found.group(1)) if found else None


def cmd_import_weights(args):
    from . import checkpoint

    scale = args.scale
    if args.model in ("scsr", "scsr-cvpr08"):
        from .classic.scsr_matlab import scsr_cvpr08_from_mat, scsr_from_mat
        if args.model == "scsr" and scale is None:
            scale = _scale_from_name(args.source)
            if scale is None:
                sys.exit(f"tinysr import-weights: an ScSR dictionary file does not say its scale "
                         f"(Yang's D_1024_0.15_5.mat is x2); pass --scale")
        try:
            model = (scsr_from_mat(args.source, scale) if args.model == "scsr"
                     else scsr_cvpr08_from_mat(args.source, scale))
        except (ValueError, FileNotFoundError) as err:
            sys.exit(f"tinysr import-weights: {err}")
        model.save(args.output)
        print(f"wrote {args.output}: {args.model} dictionary, {model.Dh.shape[1]} atoms, "
              f"x{model.config.scale}")
        return 0

    from .models.registry import model_state
    from .models.srcnn_matlab import srcnn_from_mat

    if scale is None:
        scale = _scale_from_name(args.source)
        if scale is None:
            sys.exit(f"tinysr import-weights: cannot tell the scale of {args.source}; pass --scale")
    try:
        model = srcnn_from_mat(args.source)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"tinysr import-weights: {err}")
    checkpoint.save(model_state(model, scale, source=args.source), args.output)
    c = model.config
    print(f"wrote {args.output}: SRCNN {c['f1']}-{c['f2']}-{c['f3']} ({c['n1']}/{c['n2']}) for x{scale}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="tinysr", description="tiny deep image super-resolution")
    sub = parser.add_subparsers(dest="command", required=True)
    add_eval(sub)
    add_upscale(sub)
    add_import_weights(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
