"""Image files in and out, through imageio.

`read_image` always returns uint8, either HxW (single channel) or HxWx3 (RGB), so the
rest of the pipeline sees exactly the two cases MATLAB's `imread` gives the official SR
code. Every other case is converted here, explicitly:

- palette images become RGB, or single channel when the palette is all grey;
- an alpha channel is dropped with a warning (SR papers score opaque images only);
- 16-bit images are scaled to 8 bits with rounding (x / 257), as MATLAB's im2uint8 does;
- a file is checked by `tinysr.validate.image_file` before it is decoded: a missing file
  raises MissingFileError (a FileNotFoundError), an empty, foreign, truncated or absurdly
  large one ImageReadError; each names the file and what is wrong.

`write_image` writes the format its suffix names, atomically (`tinysr.atomic`).
"""
import warnings
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..errors import InputFileError
from ..validate import image_file

IMAGE_SUFFIXES = (".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm")
# What `write_image` writes: lossless formats, and JPEG (at quality 95) when asked for by name.
WRITE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")


class ImageReadError(InputFileError):
    """A file exists but is not a readable image (truncated, corrupt, not an image)."""


def read_image(path):
    """Read `path` as a uint8 array, HxW or HxWx3."""
    import imageio.v3 as iio  # imported here: keeps `import tinysr.data` light

    path = Path(path)
    try:
        kind = image_file(path)[0]
    except InputFileError as err:
        raise ImageReadError(str(err)) from None
    try:
        with warnings.catch_warnings():  # imageio's legacy plugins warn when tried on junk
            warnings.simplefilter("ignore", DeprecationWarning)
            meta = iio.immeta(path)
            img = np.asarray(iio.imread(path, index=0 if _is_multiframe(path) else None))
    except Exception as err:  # imageio raises OSError, ValueError, SyntaxError... per plugin
        raise ImageReadError(f"{path}: truncated or corrupt {kind} ({err})") from None
    return _normalise(img, meta.get("mode"), path)


def _is_multiframe(path):
    return path.suffix.lower() in (".gif", ".tif", ".tiff")


def _normalise(img, mode, path):
    if img.ndim == 3 and img.shape[2] in (2, 4):
        warnings.warn(f"{path}: alpha channel dropped", stacklevel=3)
        img = img[:, :, :-1]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and mode == "P" and _is_grey(img):
        img = img[:, :, 0]  # a grey palette is a single-channel image (Set14 bridge)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise ImageReadError(f"{path}: unsupported image shape {img.shape}")
    return to_uint8_image(img, path)


def _is_grey(img):
    return bool(np.all(img[:, :, 0] == img[:, :, 1]) and np.all(img[:, :, 0] == img[:, :, 2]))


def to_uint8_image(img, path="array"):
    """Scale bool / 16-bit / float [0,1] pixel data to uint8 with rounding."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == bool:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.integer):  # 16-bit (Pillow may give uint16 or int32)
        return np.round(np.clip(img, 0, 65535) / 257.0).astype(np.uint8)
    if np.issubdtype(img.dtype, np.floating):
        return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ImageReadError(f"{path}: unsupported pixel type {img.dtype}")


def write_image(path, img):
    """Write an image in the format its suffix names (WRITE_SUFFIXES), atomically.
    uint8 is written as is; float is taken as [0,1] and rounded."""
    import imageio.v3 as iio

    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = to_uint8_image(img.astype(np.float64))
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise ValueError(f"{path}: cannot write {suffix or 'a file without suffix'}; use one of "
                         f"{', '.join(WRITE_SUFFIXES)}")
    options = {"quality": 95} if suffix in (".jpg", ".jpeg") else {}
    encoded = iio.imwrite("<bytes>", img, extension=suffix, **options)
    with atomic_write(path) as f:
        f.write(encoded)
    return path


def list_images(folder):
    """Image files directly inside `folder`, sorted by name (the order papers list them)."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                  and not p.name.startswith("."))


__all__ = ["ImageReadError", "read_image", "write_image", "WRITE_SUFFIXES", "list_images", "to_uint8_image", "IMAGE_SUFFIXES"]
