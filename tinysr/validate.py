"""One place that checks what a user hands to tinysr, before any work is done.

Each check either returns quietly or raises a ``tinysr.errors`` exception whose message
names the file or flag and says what is wrong in one line. Files are judged by their
first bytes (their signature), not by their names: a PNG renamed to ``.npz`` is "a PNG
image, not a checkpoint", and a text file renamed to ``.png`` is "not an image".
"""
import os
import tempfile
import warnings
from pathlib import Path

from .errors import ArgumentError, InputFileError, MissingFileError, OutputError

# Beyond this many pixels an image is refused before it is decoded: a float64 YCbCr copy
# of a 16384 x 16384 image already takes 6 GiB, and a corrupt or hostile header can claim
# 100000 x 100000.
MAX_INPUT_PIXELS = 16384 * 16384
# The default output limit of `tinysr upscale` (8192 x 8192); --max-megapixels raises it.
MAX_OUTPUT_MEGAPIXELS = 64
SCALES = range(2, 9)            # the zooms SR methods are trained and published for: x2..x8
MIN_TILE = 8

# First bytes -> what the file is. Images first, then the other files people pass by mistake.
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"BM", "BMP image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"P2", "PGM image"), (b"P5", "PGM image"), (b"P3", "PPM image"), (b"P6", "PPM image"),
    (b"PK\x03\x04", "zip/npz archive"),
    (b"PK\x05\x06", "zip/npz archive"),
    (b"\x93NUMPY", "bare .npy array"),
    (b"MATLAB 5.0 MAT-file", "MATLAB .mat file"),
    (b"\x89HDF\r\n\x1a\n", "HDF5 file (MATLAB -v7.3?)"),
) + tuple((b"\x80" + bytes([protocol]), "Python pickle") for protocol in range(2, 6))
IMAGE_KINDS = {kind for _, kind in SIGNATURES if kind.endswith(" image")}


def file_kind(path):
    """What the first bytes of ``path`` say it is, e.g. "PNG image"; None if unknown."""
    with open(path, "rb") as f:
        head = f.read(32)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP image"
    for magic, kind in SIGNATURES:
        if head.startswith(magic):
            return kind
    return None


def existing_file(path, what="file"):
    """``path`` as a Path; it must be a non-empty regular file."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"{path}: no such {what}")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not {_a(what)}")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputFileError(f"{path}: permission denied (cannot read the {what})") from None
    if size == 0:
        raise InputFileError(f"{path}: empty file (0 bytes), not {_a(what)}")
    return path


def image_file(path, max_pixels=MAX_INPUT_PIXELS):
    """Check an image file before decoding it: it exists, its signature is an image's, and
    its header's size is sane. Returns (kind, width, height)."""
    from PIL import Image   # imageio's own decoder; opening reads the header only

    path = existing_file(path, "image")
    kind = file_kind(path)
    if kind not in IMAGE_KINDS:
        found = f"a {kind}" if kind else "not an image file of a known type"
        raise InputFileError(f"{path}: {found} (tinysr reads PNG, JPEG, BMP, TIFF, GIF, WebP, PPM/PGM)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
    except Image.DecompressionBombError as err:
        raise InputFileError(f"{path}: the header claims a huge image ({err})") from None
    except Exception as err:    # Pillow raises OSError, SyntaxError, ValueError... per format
        raise InputFileError(f"{path}: corrupt {kind} header ({err})") from None
    if width * height > max_pixels:
        raise InputFileError(f"{path}: the header says {width}x{height} pixels, more than the "
                             f"{max_pixels:,} tinysr reads (corrupt, or split the image)")
    if width == 0 or height == 0:
        raise InputFileError(f"{path}: the header says {width}x{height} pixels")
    return kind, width, height


def checkpoint_file(path):
    """Check a checkpoint file before opening it: it must be an npz (zip) archive."""
    path = existing_file(path, "checkpoint")
    kind = file_kind(path)
    if kind == "zip/npz archive":
        return path
    if kind == "MATLAB .mat file":
        raise InputFileError(f"{path}: a MATLAB .mat file, not a tinysr checkpoint; convert "
                             "published weights with `tinysr import-weights`")
    if kind == "Python pickle":
        raise InputFileError(f"{path}: a Python pickle, not a tinysr checkpoint; tinysr never "
                             "unpickles (it could run arbitrary code)")
    found = f"a {kind}" if kind else "not an .npz archive"
    raise InputFileError(f"{path}: {found}, not a tinysr checkpoint")


def output_file(path, suffixes):
    """Check before the work that ``path`` can be written: not a folder, a known type, in a
    folder where a file can be created (tried for real: permissions, read-only disks)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name")
    if path.suffix.lower() not in suffixes:
        raise OutputError(f"{path}: unsupported output type {path.suffix or '(none)'!r}; "
                          f"use one of {', '.join(suffixes)}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: exists and is read-only")
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists():        # the folders to be made must go into a writable one
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{path}: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".tinysr-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"{path}: cannot write into {existing} ({err.strerror})") from None
    return path


def scale(value, flag="--scale"):
    """An integer zoom factor in 2..8."""
    try:
        s = int(value)
        if isinstance(value, float) and s != value:
            raise ValueError(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{_prefix(flag)}{value!r} is not an integer") from None
    if s not in SCALES:
        raise ArgumentError(f"{_prefix(flag)}the scale must be an integer from {SCALES[0]} to "
                            f"{SCALES[-1]}, got {value}")
    return s


def tile(value, flag="--tile"):
    """0 (no tiling) or a tile side of at least MIN_TILE pixels."""
    try:
        t = int(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{_prefix(flag)}{value!r} is not an integer") from None
    if t != 0 and t < MIN_TILE:
        raise ArgumentError(f"{_prefix(flag)}0 (no tiling) or a tile of at least {MIN_TILE} pixels, got {value}")
    return t


def positive(value, flag="", kind=int):
    """A number > 0 (epochs, batch, minutes...)."""
    try:
        v = kind(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"{_prefix(flag)}{value!r} is not a{'n integer' if kind is int else ' number'}") from None
    if not v > 0:   # also refuses NaN
        raise ArgumentError(f"{_prefix(flag)}must be > 0, got {value}")
    return v


def _a(noun):
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _prefix(flag):
    return f"{flag}: " if flag else ""


__all__ = ["file_kind", "existing_file", "image_file", "checkpoint_file", "output_file", "scale", "tile",
           "positive", "MAX_INPUT_PIXELS", "MAX_OUTPUT_MEGAPIXELS", "SCALES"]
