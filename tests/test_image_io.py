import warnings

import numpy as np
import pytest
from PIL import Image

from tinysr.data import ImageReadError, read_image, write_image


def _save(tmp_path, name, arr, mode=None):
    path = tmp_path / name
    img = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    img.save(path)
    return path


def test_rgb_png_roundtrip(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = write_image(tmp_path / "a.png", rgb)
    out = read_image(path)
    assert out.dtype == np.uint8 and np.array_equal(out, rgb)


def test_write_image_float_is_rounded_from_unit_range(tmp_path):
    out = read_image(write_image(tmp_path / "f.png", np.array([[0.0, 0.5, 1.0, 1.2]])))
    assert out.tolist() == [[0, 128, 255, 255]]


def test_grayscale_is_single_channel(tmp_path):
    g = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    for name in ("g.png", "g.bmp"):
        out = read_image(_save(tmp_path, name, g))
        assert out.shape == (8, 8) and np.array_equal(out, g)


def test_grey_palette_is_single_channel_colour_palette_is_rgb(tmp_path):
    g = np.arange(64, dtype=np.uint8).reshape(8, 8)
    out = read_image(_save(tmp_path, "p.png", g, mode="P"))
    assert out.shape == (8, 8) and np.array_equal(out, g)
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:4, :, 0] = 204  # web-palette colours survive convert("P")
    rgb[4:, :, 2] = 102
    out = read_image(_save(tmp_path, "pc.png", rgb, mode="P"))
    assert out.shape == (8, 8, 3) and np.array_equal(out, rgb)


def test_alpha_dropped_with_warning(tmp_path):
    rgba = np.random.default_rng(1).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    with pytest.warns(UserWarning, match="alpha"):
        out = read_image(_save(tmp_path, "a.png", rgba))
    assert np.array_equal(out, rgba[:, :, :3])
    la = np.stack([rgba[:, :, 0], rgba[:, :, 3]], axis=-1)
    with pytest.warns(UserWarning, match="alpha"):
        out = read_image(_save(tmp_path, "la.png", la))
    assert np.array_equal(out, la[:, :, 0])


def test_16bit_is_scaled_to_8bit(tmp_path):
    g16 = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 257 * 17)
    g16[0, 0], g16[0, 1] = 65535, 128  # 128 / 257 rounds to 0
    out = read_image(_save(tmp_path, "g16.png", g16))
    assert out.dtype == np.uint8
    expect = np.round(g16 / 257.0).astype(np.uint8)
    assert np.array_equal(out, expect) and out[0, 0] == 255 and out[0, 1] == 0


def test_jpeg_reads_as_rgb(tmp_path):
    rgb = np.full((16, 16, 3), 120, np.uint8)
    out = read_image(_save(tmp_path, "a.jpg", rgb))
    assert out.shape == (16, 16, 3) and abs(int(out.mean()) - 120) <= 2


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_truncated_and_non_image_files_name_them(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = _save(tmp_path, "full.bmp", rgb).read_bytes()
    bad = tmp_path / "cut.bmp"
    bad.write_bytes(full[: len(full) // 2])
    with pytest.raises(ImageReadError, match="cut.bmp"):
        read_image(bad)
    txt = tmp_path / "notes.png"
    txt.write_text("not an image")
    with pytest.raises(ImageReadError, match="notes.png"):
        read_image(txt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(tmp_path / "full.bmp").shape == (64, 64, 3)
