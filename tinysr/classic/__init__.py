"""Non-neural SR baselines; each module exports a factory used by tinysr.evaluate.METHODS."""
from .aplus import aplus_upscaler
from .bicubic import bicubic, bicubic_upscaler
from .scsr import scsr_upscaler
from .scsr_cvpr08 import scsr_cvpr08_upscaler  # ScSR's second program: the CVPR-08 L1SR code

__all__ = ["bicubic", "bicubic_upscaler", "aplus_upscaler", "scsr_upscaler", "scsr_cvpr08_upscaler"]
