"""The bicubic baseline: MATLAB imresize of the LR Y back to the HR size."""
from ..data.imresize import imresize


def bicubic(lr, scale):
    """HR float Y from LR float Y (any value range; the resize is linear)."""
    return imresize(lr, scale=scale)


def bicubic_upscaler(scale, **opts):
    """Factory for tinysr.evaluate: an upscaler f(lr, ilr, scale) -> sr."""
    return lambda lr, ilr, s: bicubic(lr, s)
