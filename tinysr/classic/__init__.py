"""Non-neural SR baselines; each module exports a factory used by tinysr.evaluate.METHODS."""
from .bicubic import bicubic, bicubic_upscaler

__all__ = ["bicubic", "bicubic_upscaler"]
