"""Fetch a named set over HTTP into the data cache, verified before it is installed.

Files are fetched one by one from a pinned public commit (so the bytes never change),
hashed, and the sorted SHA256SUMS text they make is checked against one digest per set
stored here. Only then is the temporary folder renamed into place, with its SHA256SUMS
written beside the images; a failed or mismatching download leaves nothing behind and
never overwrites an existing folder.
"""
import hashlib
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .checksums import SUMS_FILE, ChecksumError, cache_dir, manifest_text, sha256_file

_TEGG = ("https://raw.githubusercontent.com/tegg89/SRCNN-Tensorflow/"
         "78be1a24697935fc39a3a8cf59a6632264afade7/")
_SET14 = ("baboon", "barbara", "bridge", "coastguard", "comic", "face", "flowers", "foreman",
          "lenna", "man", "monarch", "pepper", "ppt3", "zebra")
_T91 = ([f"t{i}.bmp" for i in range(1, 67) if i != 41] + [f"tt{i}.bmp" for i in range(1, 28) if i != 11])


class DownloadError(OSError):
    pass


@dataclass(frozen=True)
class Source:
    base_url: str          # each file is fetched from base_url + file name
    files: tuple
    digest: str = None     # sha256 of manifest_text() of the files; None = not checked


SOURCES = {
    "Set5": Source(_TEGG + "Test/Set5/",
                   tuple(f"{n}_GT.bmp" for n in ("baby", "bird", "butterfly", "head", "woman")),
                   "182f07f3f06e1d9f50e6d72946b0fee603769f37cfe4eae50715db3e0fd01ee0"),
    "Set14": Source(_TEGG + "Test/Set14/", tuple(f"{n}.bmp" for n in _SET14),
                    "aea0dbd782c591bf314023025cc165b16cd59a21d2ff5777eb5a21da36631d12"),
    "T91": Source(_TEGG + "Train/", tuple(_T91),
                  "a0650b24564bf5928a18eae0f33bdd0132bd4d69b918e09ae3e3954943a5e917"),
}


def download_set(name, dest_root=None, source=None, timeout=30.0):
    """Download set `name` into dest_root/name (default: the user cache) and return that folder."""
    source = source or SOURCES.get(name)
    if source is None:
        raise DownloadError(f"no public source known for {name!r} (known: {', '.join(SOURCES)}); "
                            "put its images under <data root>/{name}/ yourself")
    dest_root = Path(dest_root) if dest_root is not None else cache_dir() / "data"
    dest = dest_root / name
    if dest.exists():
        raise FileExistsError(f"{dest} already exists; not overwriting it")
    tmp = dest_root / f".{name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for fname in source.files:
            _fetch(source.base_url + urllib.parse.quote(fname), tmp / fname, timeout)
        text = manifest_text({f: sha256_file(tmp / f) for f in source.files})
        got = hashlib.sha256(text.encode()).hexdigest()
        if source.digest is not None and got != source.digest:
            raise ChecksumError(f"downloaded {name} does not match its known checksums "
                                f"(manifest sha256 {got}, expected {source.digest}); nothing installed")
        (tmp / SUMS_FILE).write_text(text)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _fetch(url, path, timeout):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(path, "wb") as out:
            shutil.copyfileobj(resp, out)
    except (urllib.error.URLError, OSError) as err:
        raise DownloadError(f"cannot fetch {url}: {err}") from err


__all__ = ["download_set", "Source", "SOURCES", "DownloadError"]
