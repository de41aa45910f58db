"""PSNR as the SR papers compute it: float64, per image, on a 0..255 scale."""
import numpy as np


def shave_border(img, shave):
    return img[shave:img.shape[0] - shave, shave:img.shape[1] - shave] if shave else img


def psnr(a, b, shave=0, peak=255.0):
    """20 log10(peak / RMSE) after removing `shave` pixels from each border.

    Inputs are on the 0..255 scale (uint8, or float already rounded by the caller:
    the protocol rounds to uint8 first). Identical images give `inf`.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    a, b = shave_border(a, shave), shave_border(b, shave)
    if a.size == 0:
        raise ValueError(f"shave={shave} leaves no pixels")
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(20.0 * np.log10(peak / np.sqrt(mse)))
