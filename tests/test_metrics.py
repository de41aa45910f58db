import math

import numpy as np
import pytest
from scipy.signal import correlate2d

from tinysr.metrics import Protocol, psnr, ssim


def test_psnr_identical_is_inf_and_known_value():
    a = np.full((10, 10), 100, np.uint8)
    assert psnr(a, a) == math.inf
    b = a.copy()
    b[:] = 101
    assert psnr(a, b) == pytest.approx(20 * math.log10(255))


def test_psnr_uint8_does_not_wrap_and_shave_removes_border():
    a = np.zeros((8, 8), np.uint8)
    b = np.full((8, 8), 255, np.uint8)
    assert psnr(a, b) == pytest.approx(0.0)
    c = a.copy()
    c[0, :] = c[:, -1] = 200
    assert psnr(a, c, shave=1) == math.inf and psnr(a, c) < 20
    with pytest.raises(ValueError):
        psnr(a, b[:4])
    with pytest.raises(ValueError):
        psnr(a, b, shave=4)


def _ssim_reference(a, b):
    """Direct transcription of ssim_index.m with a 2-D fspecial window and filter2 'valid'."""
    x = np.arange(11) - 5.0
    win = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * 1.5 ** 2))
    win /= win.sum()
    f = lambda z: correlate2d(z, win, mode="valid")  # noqa: E731
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = f(a), f(b)
    s1, s2, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
    return np.mean(((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2)))


def test_ssim_matches_wang_reference_and_skimage_gaussian():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 33)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).round()
    assert ssim(a, b) == pytest.approx(_ssim_reference(a, b), abs=1e-12)
    sk = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False)
    assert ssim(a, b) == pytest.approx(sk, abs=1e-10)
    assert ssim(a, b, shave=3) == pytest.approx(_ssim_reference(a[3:-3, 3:-3], b[3:-3, 3:-3]), abs=1e-12)


def test_ssim_identical_is_one_and_bad_input():
    a = np.random.default_rng(1).integers(0, 256, (16, 16)).astype(np.uint8)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError):
        ssim(a, a, shave=3)  # 10x10 left: smaller than the window
    with pytest.raises(ValueError):
        ssim(np.zeros((16, 16, 3)), np.zeros((16, 16, 3)))


def test_protocol_prints_and_stores_its_settings():
    p = Protocol.matlab(3)
    assert (p.scale, p.shave, p.y_only, p.rounding) == (3, 3, True, "uint8")
    text = str(p)
    assert "x3" in text and "shave 3" in text and "uint8" in text and p.name in text
    assert p.as_dict()["shave"] == 3
