"""Non-neural SR baselines; each module exports a factory used by tinysr.evaluate.METHODS."""
from .bicubic import bicubic, bicubic_upscaler
from .scsr import aplus_upscaler, scsr_upscaler, upscale_image_y  # A+ and ScSR (issue 7)

__all__ = ["bicubic", "bicubic_upscaler"]
