"""Image-quality metrics under the SR papers' protocol."""
from .protocol import Protocol
from .psnr import psnr, shave_border
from .ssim import ssim

__all__ = ["psnr", "ssim", "shave_border", "Protocol"]
