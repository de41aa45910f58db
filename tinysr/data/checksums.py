"""SHA256 checks of image sets, and where tinysr keeps what it downloads or caches.

A set folder (or a data root) may hold a SHA256SUMS file in `sha256sum` format, paths
relative to its folder; `verify_folder` then requires the set to match it exactly. Both
`datasets` (loading) and `download` (fetching) use these; neither imports the other's
internals.
"""
import hashlib
import os
from pathlib import Path

from ..errors import InputFileError

SUMS_FILE = "SHA256SUMS"


class ChecksumError(InputFileError):
    """A set's files disagree with its SHA256SUMS."""


def cache_dir():
    """tinysr's own cache: $TINYSR_CACHE, else ~/.cache/tinysr (data/ holds downloaded sets)."""
    return Path(os.environ.get("TINYSR_CACHE") or Path.home() / ".cache" / "tinysr")


_HASH_CACHE = {}  # (path, size, mtime) -> sha256: each file is hashed once per process


def sha256_file(path):
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


def read_sums(sums_path):
    """{absolute path: sha256} from a sha256sum-format file."""
    sums_path = Path(sums_path)
    out = {}
    for line in sums_path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, rel = line.split(None, 1)
            out[(sums_path.parent / rel.strip().lstrip("*")).resolve()] = digest.lower()
    return out


def manifest_text(entries):
    """Canonical SHA256SUMS text for {file name: sha256}, sorted by name."""
    return "".join(f"{entries[n]}  {n}\n" for n in sorted(entries))


def verify_folder(folder, files, extra_sums=()):
    """Check `files` of `folder` against SHA256SUMS in the folder and any `extra_sums`."""
    folder = Path(folder).resolve()
    expected = {}
    for sums in [folder / SUMS_FILE, *extra_sums]:
        if Path(sums).is_file():
            expected.update({p: d for p, d in read_sums(sums).items() if p.parent == folder})
    if not expected:
        return False
    present = {Path(f).resolve() for f in files}
    bad = sorted(p.name for p in present & expected.keys() if sha256_file(p) != expected[p])
    missing = sorted(p.name for p in expected.keys() - present)
    extra = sorted(p.name for p in present - expected.keys())
    if bad or missing or extra:
        parts = [f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
                 for label, names in (("checksum mismatch", bad), ("missing", missing),
                                      ("not in SHA256SUMS", extra)) if names]
        raise ChecksumError(f"{folder} does not match its SHA256SUMS ({'; '.join(parts)})")
    return True


__all__ = ["SUMS_FILE", "ChecksumError", "cache_dir", "sha256_file", "read_sums", "manifest_text",
           "verify_folder"]
