"""VDSR (Kim, Lee, Lee; CVPR 2016): 20 3x3 convolutions of 64 channels with zero padding,
ReLU after all but the last, predicting the residual that is added to the bicubic input."""
import numpy as np

from tinysr import functional as F
from tinysr.nn import Conv2d, Module, init


class VDSR(Module):
    name = "vdsr"

    def __init__(self, depth=20, width=64, seed=0):
        self.config = dict(depth=depth, width=width)
        rng = np.random.default_rng(seed)
        self.convs = [Conv2d(1, width, 3, padding=1, rng=rng)]
        self.convs += [Conv2d(width, width, 3, padding=1, rng=rng) for _ in range(depth - 2)]
        self.convs.append(Conv2d(width, 1, 3, padding=1, rng=rng))
        for conv in self.convs:
            init.kaiming_normal_(conv.weight, rng=rng)      # He init, as the paper

    @property
    def receptive_radius(self):
        """Each 3x3 convolution sees one pixel further: the radius is the depth."""
        return self.config["depth"]

    def infer(self, x):
        """Inference is the forward pass: zero padding keeps every layer full size."""
        return self.forward(x)

    def forward(self, x):
        h = x
        for conv in self.convs[:-1]:
            h = F.bias_act(F.conv2d(h, conv.weight, None, 1, 1), conv.bias, "relu")
        last = self.convs[-1]
        return x + F.conv2d(h, last.weight, last.bias, 1, 1)
