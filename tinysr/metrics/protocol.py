"""The evaluation settings that travel with every number we report."""
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Protocol:
    name: str = "matlab-y"   # MATLAB rgb2ycbcr Y, MATLAB bicubic degradation
    scale: int = 2
    shave: int = 2           # pixels removed from each border before scoring
    y_only: bool = True
    rounding: str = "uint8"  # SR output rounded to uint8 (MATLAB uint8()) before scoring

    @classmethod
    def matlab(cls, scale):
        """The SRCNN/VDSR/DRCN/A+ protocol at `scale` (shave = scale)."""
        return cls(scale=int(scale), shave=int(scale))

    def as_dict(self):
        return asdict(self)

    def __str__(self):
        chans = "Y (BT.601 studio)" if self.y_only else "RGB"
        return (f"protocol {self.name}: x{self.scale}, {chans}, shave {self.shave}, "
                f"{self.rounding} rounding, PSNR/SSIM per image then mean")
