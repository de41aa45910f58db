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


def build_parser():
    parser = argparse.ArgumentParser(prog="tinysr", description="tiny deep image super-resolution")
    sub = parser.add_subparsers(dest="command", required=True)
    add_eval(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
