"""Non-neural SR baselines; each module exports a factory used by tinysr.evaluate.METHODS."""
from .bicubic import bicubic, bicubic_upscaler
from .scsr import aplus_upscaler, scsr_upscaler, upscale_image_y  # A+ and ScSR (issue 7)
from .scsr_cvpr08 import scsr_cvpr08_upscaler  # ScSR path B: the CVPR-08 L1SR code

__all__ = ["bicubic", "bicubic_upscaler"]
