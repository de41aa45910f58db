"""The errors a user can act on, as opposed to bugs.

Everything raised for bad input or a bad environment (a missing or corrupt file, a wrong
scale, an unwritable output, a diverged or interrupted run) derives from ``UserError``.
Its message names the file or flag and the problem in one line; the command-line layer
(``tinysr.command``) prints exactly that line and exits with status 1, with no traceback.
Any other exception is a bug and keeps its traceback.

The subclasses also derive from the built-in exception a caller would expect
(``FileNotFoundError``, ``ValueError``...), so library code can catch either.
This module imports nothing: every layer may raise these.
"""


class UserError(Exception):
    """Bad input or environment; the message is one line naming the file or flag."""
    exit_code = 1


class MissingFileError(UserError, FileNotFoundError):
    """An input file or folder that does not exist."""


class InputFileError(UserError, ValueError):
    """An input file that exists but cannot be used (empty, not an image, corrupt...)."""


class OutputError(UserError, OSError):
    """An output that cannot be written (a folder, read-only, disk full, wrong type)."""


class ArgumentError(UserError, ValueError):
    """A flag or argument value out of range (a scale of 0, a negative tile...)."""
    exit_code = 2       # as argparse's usage errors


class DeviceError(UserError, RuntimeError):
    """A device that was asked for but is not available (CUDA without CuPy or a GPU)."""


class RunStopped(UserError, RuntimeError):
    """A training run that stopped before its end: the message says where, and which
    checkpoint holds the last good state; the command layer adds how to resume."""
    resumable = True


class TrainingInterrupted(RunStopped):
    """Ctrl-C during training."""
    exit_code = 130     # the shell's convention for SIGINT


__all__ = ["UserError", "MissingFileError", "InputFileError", "OutputError", "ArgumentError",
           "DeviceError", "RunStopped", "TrainingInterrupted"]
