"""The one way tinysr writes a file: to a temporary name beside the target, flushed to
disk, then renamed over it. A crash, Ctrl-C or a full disk mid-write leaves the previous
file (or no file) in place, never a truncated one with a valid-looking header.

The new file gets the permissions an ``open()`` would give it (0666 less the umask), or
the old file's mode when it replaces one; ``tempfile`` alone would leave it 0600.
"""
import contextlib
import os
import tempfile

from .errors import OutputError


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """``with atomic_write(path) as f: f.write(...)``; the target appears only on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    except OSError as err:
        raise OutputError(f"{path}: cannot write into {folder} ({err.strerror})") from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            perms = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            perms = 0o666 & ~_umask()
        os.chmod(tmp, perms)
        os.replace(tmp, path)
    except OSError as err:
        _remove(tmp)
        if isinstance(err, OutputError):
            raise
        raise OutputError(f"{path}: could not be written ({err.strerror or err}); "
                          "nothing was changed") from err
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


__all__ = ["atomic_write"]
