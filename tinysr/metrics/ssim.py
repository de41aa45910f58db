"""SSIM exactly as Wang et al.'s `ssim_index.m` (2004).

11x11 Gaussian window (sigma 1.5, normalised), K1 = 0.01, K2 = 0.03, L = 255, 'valid'
filtering, mean of the SSIM map, no automatic downsampling. skimage's defaults (7x7
uniform window, inferred data range) give different numbers.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .psnr import shave_border


def gaussian_window(size=11, sigma=1.5):
    """1-D factor of MATLAB's fspecial('gaussian', size, sigma); the 2-D window is its outer product."""
    x = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(img, g):
    """'valid' 2-D correlation with the separable window g x g (symmetric, so = filter2)."""
    n = len(g)
    rows = sliding_window_view(img, n, axis=0) @ g
    return sliding_window_view(rows, n, axis=1) @ g


def ssim(a, b, shave=0, k1=0.01, k2=0.03, peak=255.0, size=11, sigma=1.5):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two single-channel images of one shape, got {a.shape}, {b.shape}")
    a, b = shave_border(a, shave), shave_border(b, shave)
    if min(a.shape) < size:
        raise ValueError(f"image {a.shape} smaller than the {size}x{size} SSIM window")
    g = gaussian_window(size, sigma)
    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a * mu_a
    var_b = _filter_valid(b * b, g) - mu_b * mu_b
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
                / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)))
    return float(ssim_map.mean())
