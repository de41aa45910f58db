"""The error layer of every command (``tinysr ...`` and ``examples/*.py``).

A command's ``main(argv)`` raises; ``run`` turns what it raises into what a user should
see:

- a ``tinysr.errors.UserError`` (bad input, unwritable output, a stopped run): one line
  ``prog: error: <message>`` on stderr, exit status 1 (2 for a bad flag, 130 for Ctrl-C);
  a stopped training run also gets the command that resumes it;
- Ctrl-C anywhere else: ``prog: interrupted``, status 130;
- running out of memory or an OS error on a named file: one line, status 1;
- anything else is a bug and keeps its traceback.

``run`` returns the status rather than exiting, so tests call commands in-process.

``TINYSR_DEBUG=1`` shows the traceback for every error. Warnings print as one line too.
``Parser`` is argparse with one-line usage errors; ``arg(check)`` makes a
``tinysr.validate`` check an argparse ``type=``.
"""
import argparse
import os
import shlex
import sys
import warnings

from .errors import RunStopped, UserError


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points at --help (status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def arg(check, **options):
    """A ``tinysr.validate`` check as an argparse ``type=``: its message becomes argparse's."""
    def convert(text):
        try:
            return check(text, flag="", **options)
        except UserError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    convert.__name__ = check.__name__
    return convert


def add_run_flags(parser, out, images_help="use only the first N training images"):
    """The flags every training example shares: device, data, output folder, resume and
    overwrite, seed, image and step limits, time budget (each checked by tinysr.validate)."""
    from . import validate
    from .device import DEVICES
    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="auto: the GPU when CuPy finds one, else the CPU (default); cpu: the Numba kernels "
                             "(TINYSR_BACKEND=numpy: the NumPy reference); cuda: insist on the GPU")
    parser.add_argument("--data", default=None, help="data root (default: $TINYSR_DATA, then the cache)")
    parser.add_argument("--max-images", type=arg(validate.positive), default=None, help=images_help)
    parser.add_argument("--out", default=out, help=f"the run's folder (default {out})")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    parser.add_argument("--overwrite", action="store_true",
                        help="start a new run in OUT even though it holds one (its checkpoint is replaced)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and batch-order seed (default 0)")
    parser.add_argument("--max-steps", type=arg(validate.positive), default=None, help="stop after N iterations")
    parser.add_argument("--max-minutes", type=arg(validate.positive, kind=float), default=None,
                        help="stop at the first epoch end after N minutes of wall time (training and "
                             "evaluation; counts resumed segments), e.g. to compare recipes at equal time")


def run_kwargs(args):
    """The keyword arguments of a recipe's ``train`` for the flags of ``add_run_flags``."""
    return dict(device=args.device, data=args.data, max_images=args.max_images, out=args.out, resume=args.resume,
                overwrite=args.overwrite, seed=args.seed, max_steps=args.max_steps, max_minutes=args.max_minutes)


def resume_command(argv, flag="--resume", drop=("--overwrite",)):
    """The command line that continues this run: the same one, with ``--resume``."""
    words = [a for a in argv if a not in drop]
    if flag not in words:
        words.append(flag)
    return " ".join(shlex.quote(w) for w in [sys.executable.rsplit("/", 1)[-1], sys.argv[0], *words])


def _one_line(text):
    return " ".join(str(text).split())


def _format_warning(prog):
    def show(message, category, filename, lineno, file=None, line=None):
        return f"{prog}: warning: {_one_line(message)}\n"
    return show


def run(main, argv=None, prog=None, resumable=False):
    """Run ``main(argv)`` and return the process exit status (see the module docstring).
    ``resumable``: the command has ``--resume``; a stopped run says how to continue."""
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = prog or os.path.basename(sys.argv[0])
    debug = os.environ.get("TINYSR_DEBUG", "") not in ("", "0")
    old_format = warnings.formatwarning
    if not debug:
        warnings.formatwarning = _format_warning(prog)
    try:
        status = main(argv)
        return 0 if status is None else status
    except SystemExit as done:          # argparse's --help (0) and usage errors (2)
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(f"{prog}: error: {_one_line(done.code)}", file=sys.stderr)
        return 1
    except UserError as err:
        if debug:
            raise
        message = _one_line(err)
        if resumable and isinstance(err, RunStopped):
            message += f"; to continue: {resume_command(argv)}"
        print(f"{prog}: error: {message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        if debug:
            raise
        print(f"{prog}: error: out of memory (try a smaller --tile or --batch)", file=sys.stderr)
        return 1
    except OSError as err:
        if debug or not err.filename:
            raise
        print(f"{prog}: error: {err.filename}: {err.strerror}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = old_format


__all__ = ["Parser", "arg", "run", "resume_command", "add_run_flags", "run_kwargs"]
