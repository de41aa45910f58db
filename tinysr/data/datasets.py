"""Named SR image sets, where to find them, and their SHA256 checks.

A set is looked up under a data root: the explicit `root` (CLI `--data`) if given, else
`$TINYSR_DATA`, else the user cache `$TINYSR_CACHE/data` (default ~/.cache/tinysr/data).
Any folder of images can be used by passing its path as the name. When a SHA256SUMS file
(`sha256sum` format, paths relative to its folder) sits in the set folder or at the root,
the set must match it exactly: wrong bytes, missing or extra files raise ChecksumError.
If a named set is nowhere to be found, `load_dataset` can fall back to scikit-image's
sample photos, with a warning that those numbers are not the papers'.
"""
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import MissingFileError
from .checksums import SUMS_FILE, ChecksumError, cache_dir, manifest_text, sha256_file, verify_folder
from .image_io import list_images, read_image

# Set name -> folder names accepted under a root (first is the canonical one).
SET_FOLDERS = {
    "T91": ("T91",),
    "Set5": ("Set5",),
    "Set14": ("Set14",),
    "BSD100": ("BSD100", "B100"),
    "BSD200": ("BSD200",),
    "Urban100": ("Urban100",),
    "CelebA": ("CelebA10k", "CelebA"),
}
COMPOSITE_SETS = {"291": ("T91", "BSD200")}  # VDSR's training set
SAMPLE_SET = "skimage-samples"


class DatasetNotFound(MissingFileError):
    """A set name that is not known and not a folder, or a known set found nowhere."""


class Dataset:
    """An ordered list of images, read lazily; iterating yields (image name, uint8 array)."""

    def __init__(self, name, files=(), root=None, arrays=None):
        self.name, self.root = name, root
        self.files = [Path(f) for f in files]
        self._arrays = arrays  # (name, array) pairs for the embedded sample set
        self.is_sample = arrays is not None

    def __len__(self):
        return len(self._arrays) if self.is_sample else len(self.files)

    @property
    def names(self):
        return [n for n, _ in self._arrays] if self.is_sample else [f.stem for f in self.files]

    def read(self, i):
        return self._arrays[i][1] if self.is_sample else read_image(self.files[i])

    def __iter__(self):
        for i, name in enumerate(self.names):
            yield name, self.read(i)

    def __repr__(self):
        return f"Dataset({self.name!r}, {len(self)} images, root={self.root})"


def data_roots(root=None):
    """Roots searched, in order: only `root` if given, else $TINYSR_DATA then the cache."""
    if root is not None:
        return [Path(root).expanduser()]
    roots = [Path(os.environ["TINYSR_DATA"]).expanduser()] if os.environ.get("TINYSR_DATA") else []
    return roots + [cache_dir() / "data"]


def find_set(name, root=None):
    """(root, folder) of a named set, or None."""
    for r in data_roots(root):
        for folder in SET_FOLDERS[name]:
            if (r / folder).is_dir() and list_images(r / folder):
                return r, r / folder
    return None


# --- loading ---------------------------------------------------------------------------

def load_dataset(name, root=None, verify=True, download=False, fallback=True):
    """A named set ("Set5", "291", ...) or a folder path, as a Dataset."""
    if name in COMPOSITE_SETS:
        parts = [load_dataset(n, root, verify, download, fallback=False) for n in COMPOSITE_SETS[name]]
        return Dataset(name, [f for p in parts for f in p.files], parts[0].root)
    if name not in SET_FOLDERS:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise DatasetNotFound(f"{name!r} is neither a known set ({', '.join(known_sets())}) "
                                  "nor a folder of images")
        files = list_images(folder)
        if verify:
            verify_folder(folder, files)
        return Dataset(folder.name, files, folder.parent)
    found = find_set(name, root)
    if found is None and download:
        found = _try_download(name, root)
    if found is None:
        searched = ", ".join(str(r) for r in data_roots(root))
        if not fallback:
            raise DatasetNotFound(f"set {name} not found under {searched} (pass --data/root or set TINYSR_DATA)")
        warnings.warn(f"set {name} not found under {searched}; using the scikit-image sample photos "
                      f"instead ('{SAMPLE_SET}'). Their numbers are NOT comparable to the papers'.",
                      stacklevel=2)
        return sample_dataset()
    r, folder = found
    files = list_images(folder)
    if verify:
        verify_folder(folder, files, extra_sums=[r / SUMS_FILE])
    return Dataset(name, files, r)


def _try_download(name, root):
    from .download import DownloadError, download_set
    dest = Path(root) if root is not None else cache_dir() / "data"
    try:
        download_set(name, dest)
    except DownloadError as err:
        warnings.warn(f"download of {name} failed: {err}", stacklevel=3)
        return None
    return find_set(name, dest)


def known_sets():
    return list(SET_FOLDERS) + list(COMPOSITE_SETS)


def sample_dataset():
    """Natural photos bundled with scikit-image, as a stand-in when no SR data exists."""
    from skimage import data  # heavy: imported only when the fallback is needed

    photos = ("astronaut", "camera", "chelsea", "coffee", "rocket")
    arrays = [(n, np.ascontiguousarray(getattr(data, n)(), dtype=np.uint8)) for n in photos]
    return Dataset(SAMPLE_SET, root=None, arrays=arrays)


__all__ = ["Dataset", "ChecksumError", "DatasetNotFound", "load_dataset", "data_roots", "cache_dir",
           "find_set", "verify_folder", "sha256_file", "manifest_text", "sample_dataset", "known_sets",
           "SET_FOLDERS", "COMPOSITE_SETS"]
