import functools
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinysr.data import ChecksumError, DatasetNotFound, data_roots, load_dataset
from tinysr.data.datasets import manifest_text, sha256_file
from tinysr.data.download import SOURCES, DownloadError, Source, download_set

DATA = os.environ.get("TINYSR_DATA")
needs_data = pytest.mark.skipif(not (DATA and Path(DATA, "Set5").is_dir()),
                                reason="TINYSR_DATA does not point at the SR data (Set5 missing)")


def _make_set(folder, n=3, size=(12, 10)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def _write_sums(folder, prefix=""):
    sums = {prefix + p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.suffix == ".png"}
    (folder.parent if prefix else folder).joinpath("SHA256SUMS").write_text(manifest_text(sums))


def test_any_folder_of_images(tmp_path):
    folder = _make_set(tmp_path / "mine")
    (folder / "readme.txt").write_text("ignored")
    ds = load_dataset(str(folder))
    assert len(ds) == 3 and ds.names == ["im0", "im1", "im2"]
    name, img = next(iter(ds))
    assert name == "im0" and img.shape == (12, 10, 3)


def test_named_set_under_root_with_root_level_sums(tmp_path):
    _make_set(tmp_path / "Set5")
    _write_sums(tmp_path / "Set5", prefix="Set5/")
    ds = load_dataset("Set5", root=tmp_path)
    assert ds.name == "Set5" and len(ds) == 3


def test_checksum_mismatch_is_a_clear_error_and_overwrites_nothing(tmp_path):
    folder = _make_set(tmp_path / "Set14")
    _write_sums(folder)
    (folder / "im1.png").write_bytes((folder / "im1.png").read_bytes() + b"x")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ChecksumError, match=r"checksum mismatch: im1\.png"):
        load_dataset("Set14", root=tmp_path)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_missing_and_extra_files_are_reported(tmp_path):
    folder = _make_set(tmp_path / "T91")
    _write_sums(folder)
    (folder / "im0.png").unlink()
    _make_set(tmp_path / "extra", n=1)
    os.replace(tmp_path / "extra" / "im0.png", folder / "new.png")
    with pytest.raises(ChecksumError, match=r"missing: im0\.png.*not in SHA256SUMS: new\.png"):
        load_dataset("T91", root=tmp_path)
    assert len(load_dataset("T91", root=tmp_path, verify=False)) == 3


def test_291_is_t91_plus_bsd200(tmp_path):
    _make_set(tmp_path / "T91", n=2)
    _make_set(tmp_path / "BSD200", n=3)
    assert len(load_dataset("291", root=tmp_path)) == 5


def test_data_root_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYSR_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("TINYSR_CACHE", str(tmp_path / "cache"))
    assert data_roots() == [tmp_path / "env", tmp_path / "cache" / "data"]
    assert data_roots(tmp_path / "x") == [tmp_path / "x"]
    monkeypatch.delenv("TINYSR_DATA")
    _make_set(tmp_path / "cache" / "data" / "Set5", n=2)
    assert len(load_dataset("Set5")) == 2


def test_missing_set_falls_back_to_sample_photos(tmp_path):
    with pytest.warns(UserWarning, match="NOT comparable"):
        ds = load_dataset("Set5", root=tmp_path)
    assert ds.is_sample and ds.name == "skimage-samples" and len(ds) == 5
    shapes = {name: img.shape for name, img in ds}
    assert shapes["camera"] == (512, 512) and shapes["astronaut"] == (512, 512, 3)
    with pytest.raises(DatasetNotFound, match="Set5 not found"):
        load_dataset("Set5", root=tmp_path, fallback=False)
    with pytest.raises(DatasetNotFound):
        load_dataset(str(tmp_path / "no-such-folder"))


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www (no real network is used)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _source(www, url):
    _make_set(www / "Set5", n=3)
    files = ("im0.png", "im1.png", "im2.png")
    text = manifest_text({f: sha256_file(www / "Set5" / f) for f in files})
    return Source(url + "Set5/", files, hashlib.sha256(text.encode()).hexdigest())


def test_download_verifies_and_installs(http_root, tmp_path):
    www, url = http_root
    source = _source(www, url)
    dest = download_set("Set5", tmp_path / "data", source=source)
    assert sorted(p.name for p in dest.iterdir()) == ["SHA256SUMS", "im0.png", "im1.png", "im2.png"]
    assert len(load_dataset("Set5", root=tmp_path / "data")) == 3  # verified against its SHA256SUMS
    before = (dest / "im0.png").read_bytes()
    with pytest.raises(FileExistsError):
        download_set("Set5", tmp_path / "data", source=source)
    assert (dest / "im0.png").read_bytes() == before


def test_download_checksum_mismatch_installs_nothing(http_root, tmp_path):
    www, url = http_root
    source = _source(www, url)
    bad = Source(source.base_url, source.files, "0" * 64)
    with pytest.raises(ChecksumError, match="nothing installed"):
        download_set("Set5", tmp_path / "data", source=bad)
    assert list((tmp_path / "data").iterdir()) == []
    with pytest.raises(DownloadError, match="missing.png"):
        download_set("Set5", tmp_path / "data", source=Source(source.base_url, ("missing.png",)))
    assert list((tmp_path / "data").iterdir()) == []


def test_load_dataset_downloads_into_the_root(http_root, tmp_path, monkeypatch):
    www, url = http_root
    monkeypatch.setitem(SOURCES, "Set5", _source(www, url))
    ds = load_dataset("Set5", root=tmp_path / "data", download=True)
    assert not ds.is_sample and len(ds) == 3 and (tmp_path / "data" / "Set5" / "SHA256SUMS").is_file()


@needs_data
def test_shared_data_matches_download_digests():
    for name in ("Set5", "Set14", "T91"):
        folder = Path(DATA) / name
        text = manifest_text({p.name: sha256_file(p) for p in sorted(folder.iterdir())})
        assert hashlib.sha256(text.encode()).hexdigest() == SOURCES[name].digest, name
        assert sorted(SOURCES[name].files) == sorted(p.name for p in folder.iterdir())


@needs_data
def test_shared_sets_load_and_verify():
    ds = load_dataset("Set14", root=DATA)
    imgs = dict(ds)
    assert len(ds) == 14 and imgs["bridge"].ndim == 2 and imgs["man"].ndim == 3
