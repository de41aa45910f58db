"""Running a trained model on whole images: Y through the network, tiled with overlap.

Tiles overlap by the model's receptive radius, and only each tile's centre is kept, so
the tiled result equals the untiled one (to float rounding) while memory stays bounded
by the tile size.
"""
import numpy as np

from tinysr.data import imresize, rgb2ycbcr, ycbcr2rgb
from tinysr.models.registry import predict


def _spans(n, tile, margin):
    """(read_start, read_end, keep_start, keep_end) per tile along one axis."""
    if tile < 1 or margin < 0:
        raise ValueError(f"tile must be >= 1 and margin >= 0, got tile {tile}, margin {margin}")
    spans, start = [], 0
    while start < n:
        end = min(start + tile, n)
        spans.append((max(start - margin, 0), min(end + margin, n), start, end))
        start = end
    return spans


def super_resolve_y(model, ilr, device="cpu", tile=None):
    """Model output for one float Y image (H, W) in [0, 1]; ``tile`` bounds memory."""
    ilr = np.asarray(ilr, dtype=np.float32)
    h, w = ilr.shape
    if tile is None or (h <= tile and w <= tile):
        return predict(model, ilr[None, None], device)[0, 0].astype(np.float64)
    margin = int(model.receptive_radius)
    out = np.empty((h, w), dtype=np.float64)
    for r0, r1, k0, k1 in _spans(h, tile, margin):
        for c0, c1, j0, j1 in _spans(w, tile, margin):
            piece = predict(model, ilr[None, None, r0:r1, c0:c1], device)[0, 0]
            out[k0:k1, j0:j1] = piece[k0 - r0:k1 - r0, j0 - c0:j1 - c0]
    return out


def upscale_image(model, img, scale, device="cpu", tile=256):
    """Super-resolve a uint8 RGB (H, W, 3) or grey (H, W) image by ``scale``.

    Y goes through the network (on its bicubic upscaling); Cb and Cr are bicubic.
    Returns uint8 of the same kind, ``scale`` times larger.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        ilr = imresize(img.astype(np.float64) / 255.0, scale=scale)
        y = super_resolve_y(model, ilr, device, tile)
        return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)
    ycc = rgb2ycbcr(img.astype(np.float64) / 255.0)
    up = imresize(ycc, scale=scale)
    up[..., 0] = super_resolve_y(model, up[..., 0], device, tile)
    rgb = ycbcr2rgb(up)
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def upscale_image_with(upscaler, img, scale):
    """As ``upscale_image`` for an evaluation upscaler ``f(lr, ilr, scale)`` (a classical
    method): Y through the method, Cb and Cr bicubic."""
    img = np.asarray(img)
    grey = img.ndim == 2
    ycc = img.astype(np.float64)[..., None] / 255.0 if grey else rgb2ycbcr(img.astype(np.float64) / 255.0)
    up = imresize(ycc, scale=scale)
    if up.ndim == 2:
        up = up[..., None]
    up[..., 0] = upscaler(ycc[..., 0], up[..., 0], scale)
    out = up[..., 0] if grey else ycbcr2rgb(up)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
