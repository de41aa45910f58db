"""MATLAB `rgb2ycbcr` / `ycbcr2rgb`: ITU-R BT.601, studio swing (Y in [16, 235]).

Every SR paper of the SRCNN/VDSR era scores the Y channel of this transform. It is not
the full-range JPEG/PIL YCbCr: using that shifts PSNR by up to 1.3 dB.

Conventions follow MATLAB: uint8 in -> uint8 out (rounded half away from zero, saturated);
float in is taken as [0, 1] and float64 comes out, unrounded and unclipped.
"""
import numpy as np

# Rows give Y, Cb, Cr for R, G, B in [0, 255]; offsets are on the 0..255 scale.
_T = np.array([[65.481, 128.553, 24.966],
               [-37.797, -74.203, 112.0],
               [112.0, -93.786, -18.214]])
_OFFSET = np.array([16.0, 128.0, 128.0])


def _check_rgb(img):
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {img.shape}")
    return img


def round_uint8(x):
    """MATLAB's conversion to uint8: round half away from zero, then saturate."""
    return np.clip(np.floor(np.asarray(x, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)


def rgb2ycbcr(img):
    img = _check_rgb(img)
    if img.dtype == np.uint8:
        return round_uint8(img.astype(np.float64) @ (_T / 255.0).T + _OFFSET)
    return img.astype(np.float64) @ (_T / 255.0).T + _OFFSET / 255.0


def ycbcr2rgb(img):
    img = _check_rgb(img)
    tinv = np.linalg.inv(_T)
    if img.dtype == np.uint8:
        return round_uint8((img.astype(np.float64) - _OFFSET) @ (255.0 * tinv).T)
    return (img.astype(np.float64) - _OFFSET / 255.0) @ (255.0 * tinv).T


def y_channel(img):
    """The luminance the official SR code scores, as float64 in [0, 1].

    A 3-channel uint8 image goes through uint8 `rgb2ycbcr` (so Y is rounded, as in SRCNN's
    demo_SR.m); a single-channel image *is* Y, unconverted (Set14 `bridge`).
    """
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise TypeError(f"y_channel expects a uint8 image from read_image, got {img.dtype}")
    if img.ndim == 2:
        return img.astype(np.float64) / 255.0
    return rgb2ycbcr(img)[:, :, 0].astype(np.float64) / 255.0


__all__ = ["rgb2ycbcr", "ycbcr2rgb", "y_channel", "round_uint8"]
