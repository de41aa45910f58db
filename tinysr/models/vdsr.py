"""VDSR (Kim, Lee, Lee; CVPR 2016): ``depth`` 3x3 convolutions of ``width`` channels with
zero padding, ReLU after all but the last, predicting the residual that is added to the
bicubic input (the global residual). One network serves x2, x3 and x4.

At test time (``infer``) the input is clamped to Y's studio range [16, 235] / 255 first,
as the authors' VDSR.m does before its network.
"""
import numpy as np

from tinysr import functional as F
from tinysr.nn import Conv2d, Module, init

STUDIO_Y = (16.0 / 255.0, 235.0 / 255.0)


class VDSR(Module):
    name = "vdsr"

    def __init__(self, depth=20, width=64, seed=0):
        if depth < 2 or width < 1:
            raise ValueError(f"VDSR needs depth >= 2 and width >= 1, got depth {depth}, width {width}")
        self.config = dict(depth=depth, width=width)
        rng = np.random.default_rng(seed)
        self.convs = [Conv2d(1, width, 3, padding=1, rng=rng)]
        self.convs += [Conv2d(width, width, 3, padding=1, rng=rng) for _ in range(depth - 2)]
        self.convs.append(Conv2d(width, 1, 3, padding=1, rng=rng))
        for conv in self.convs:
            init.kaiming_normal_(conv.weight, rng=rng)      # He init, biases 0, as the paper

    @property
    def receptive_radius(self):
        """Each 3x3 convolution sees one pixel further: the radius is the depth."""
        return self.config["depth"]

    def forward(self, x):
        h = x
        for conv in self.convs[:-1]:
            h = F.bias_act(F.conv2d(h, conv.weight, None, 1, 1), conv.bias, "relu")
        last = self.convs[-1]
        return x + F.conv2d(h, last.weight, last.bias, 1, 1)

    def infer(self, x):
        """The test-time output: the input clamped to the studio range, then forward."""
        return self.forward(F.clamp(x, *STUDIO_Y))
