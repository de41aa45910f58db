"""The SR degradation shared by training and testing: modcrop, HR -> LR -> ILR.

As in SRCNN's demo_SR.m / generate_train.m: the LR image is MATLAB bicubic of the
*float* Y (never re-quantised to uint8) and the network input (ILR) is the LR image
bicubic-upscaled back to the HR size.
"""
import numpy as np

from .imresize import imresize


def modcrop(img, scale):
    """Crop bottom/right so height and width are multiples of `scale`."""
    img = np.asarray(img)
    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    return img[:h, :w]


def make_lr_ilr(y, scale):
    """Return (lr, ilr) float64 from a modcropped float Y image."""
    y = np.asarray(y, dtype=np.float64)
    if y.shape[0] % scale or y.shape[1] % scale:
        raise ValueError(f"image {y.shape[:2]} is not modcropped to scale {scale}")
    lr = imresize(y, scale=1.0 / scale)
    ilr = imresize(lr, scale=scale)
    return lr, ilr


def make_pair(y, scale):
    """(lr, ilr, hr) for a float Y image: modcrop, then degrade."""
    hr = modcrop(y, scale).astype(np.float64)
    lr, ilr = make_lr_ilr(hr, scale)
    return lr, ilr, hr


__all__ = ["modcrop", "make_lr_ilr", "make_pair"]
