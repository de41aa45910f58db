"""Running a trained model on whole images, and turning any model file into an upscaler.

``predict`` runs a network's ``infer`` (its full-size, test-time forward) without a graph.
``super_resolve_y`` tiles a large Y image: tiles overlap by the model's receptive radius
and only each tile's centre is kept, so the tiled result equals the untiled one (to float
rounding) while memory stays bounded by the tile size.

``load_upscaler(path)`` reads a checkpoint once and returns an ``Upscaler`` whatever it
holds, a network (tinysr.models.registry) or a classical dictionary (tinysr.classic.saved):
``tinysr eval`` scores its ``y`` and ``tinysr upscale`` runs its ``image``.
"""
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinysr import checkpoint
from tinysr.data import imresize, rgb2ycbcr, ycbcr2rgb
from tinysr.errors import ArgumentError
from tinysr.tensor import no_grad, tensor


def predict(model, x, device="cpu"):
    """Full-size model output for an (N, 1, H, W) float array, without a graph."""
    with no_grad():
        out = model.infer(tensor(np.ascontiguousarray(x, dtype=np.float32), device=device))
    return out.numpy()


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


def upscale_image_with(upscaler, img, scale):
    """Super-resolve a uint8 RGB (H, W, 3) or grey (H, W) image by ``scale`` with an
    evaluation upscaler ``f(lr, ilr, scale) -> sr``: Y through it, Cb and Cr bicubic (as
    the papers do). Returns uint8 of the same kind, ``scale`` times larger."""
    img = np.asarray(img)
    grey = img.ndim == 2
    ycc = img.astype(np.float64)[..., None] / 255.0 if grey else rgb2ycbcr(img.astype(np.float64) / 255.0)
    up = imresize(ycc, scale=scale)
    if up.ndim == 2:
        up = up[..., None]
    up[..., 0] = upscaler(ycc[..., 0], up[..., 0], scale)
    out = up[..., 0] if grey else ycbcr2rgb(up)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def network_upscaler(model, device="cpu", tile=None):
    """The evaluation upscaler of a network that refines the bicubic image ``ilr``."""
    return lambda lr, ilr, scale: super_resolve_y(model, ilr, device, tile)


def upscale_image(model, img, scale, device="cpu", tile=256):
    """``upscale_image_with`` for a network."""
    return upscale_image_with(network_upscaler(model, device, tile), img, scale)


@dataclass
class Upscaler:
    """Any model file, ready to run. ``trained_scale`` is an int, a list of ints (a
    multi-scale network) or None; ``fixed_scale``: it cannot run at another (a dictionary)."""
    path: str
    method: str
    trained_scale: object
    fixed_scale: bool
    y: Callable                      # f(lr, ilr, scale) -> sr, float64 Y in [0, 1]; None: RGB only
    mismatch_hint: str = ""
    rgb: Callable = None             # f(uint8 image) -> uint8 image, for models of RGB (faces)

    def scale_for(self, requested=None):
        """The scale to run: ``requested``, else the trained one. A dictionary refuses another
        scale; a network warns (it runs, worse)."""
        trained = self.trained_scale
        if requested is None:
            if not isinstance(trained, int):
                raise ArgumentError(f"{self.path} does not say which one scale it was trained for; "
                                    "pass --scale")
            return trained
        fits = trained is None or requested == trained or (isinstance(trained, list) and requested in trained)
        if not fits:
            if self.fixed_scale:
                raise ArgumentError(f"{self.path} is a x{trained} {self.method} model; it cannot "
                                    f"upscale x{requested}{self.mismatch_hint.format(scale=requested)}")
            warnings.warn(f"{self.path} was trained for x{trained}; running it at x{requested} will be worse")
        return requested

    def image(self, img, scale):
        if self.rgb is not None:
            return self.rgb(img)
        return upscale_image_with(self.y, img, scale)


def load_upscaler(path, device="cpu", tile=None):
    """An Upscaler from any tinysr model file; the file is read once."""
    from tinysr.classic.saved import load_classic, mismatch_hint
    from tinysr.models.registry import load_model

    state = checkpoint.load(path)
    classic = load_classic(path, state)
    if classic is not None:           # an ScSR / A+ file: a dictionary, not a network
        method, model, run = classic
        return Upscaler(str(path), method, model.config.scale, True,
                        lambda lr, ilr, scale: run(model, lr, ilr), mismatch_hint(path, method))
    model, meta = load_model(path, state)
    model.to(device)
    if meta["model"] == "srez_generator":       # RGB in, RGB out: no Y channel to score
        def no_y(lr, ilr, scale):
            raise ArgumentError(f"{path} is a face model of RGB images; `tinysr eval` scores the Y channel "
                                "of SR sets; use `tinysr upscale`, or examples/train_gan.py's evaluation")
        return Upscaler(str(path), meta["model"], model.scale, True, no_y, rgb=lambda img: face_upscale(model, img, device))
    return Upscaler(str(path), meta["model"], meta.get("scale"), False, network_upscaler(model, device, tile))


def face_upscale(generator, img, device="cpu"):
    """A uint8 RGB (or grey) image through an RGB generator (srez): 4x larger, uint8 RGB."""
    img = np.asarray(img)
    rgb = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
    x = np.moveaxis(rgb.astype(np.float32) / 255.0, -1, 0)[None]
    generator.eval()
    with no_grad():
        out = generator.infer(tensor(x, device=device)).numpy()[0]
    return np.clip(np.round(np.moveaxis(out, 0, -1) * 255.0), 0, 255).astype(np.uint8)


__all__ = ["predict", "super_resolve_y", "upscale_image", "upscale_image_with", "network_upscaler",
           "Upscaler", "load_upscaler"]
