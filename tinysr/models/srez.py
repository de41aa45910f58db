"""The srez DCGAN super-resolver (david-gpu/srez, 2016): 4x faces, 16x16 -> 64x64 RGB.

Generator, an "upside-down all-convolutional ResNet" (input: the LR face in [0, 1]):
    2 residual blocks at 256 channels (the first with a 1x1 projection 3 -> 256), nearest x2,
    BN -> ReLU -> 3x3 conv; 2 residual blocks at 128 (projection 256 -> 128), nearest x2,
    BN -> ReLU -> 3x3 conv; head 3x3 conv 96 -> ReLU -> 1x1 96 -> ReLU -> 1x1 3 -> sigmoid.
    A residual block is pre-activation: bypass + [BN -> ReLU -> 3x3 conv] x 2.
Discriminator (input: 2x - 1): 4 x [3x3 stride-2 conv -> BN -> ReLU] at 64, 128, 256, 512
    channels (64 -> 4 pixels), 3x3 conv 512 -> BN -> ReLU, 1x1 512 -> BN -> ReLU, 1x1 -> 1,
    the spatial mean: one logit per image.

As srez: batch norm has no scale (a shift only, eps 1e-3) and always normalises with the
batch's own statistics, in training and at test time alike; the stride-2 convolutions pad
as TensorFlow's SAME does on even sizes (0 rows/columns before, 1 after); every weight is
drawn from a truncated normal with std sqrt(f / (sqrt(c_in c_out) k^2)), f = 1 for linear
layers, 2 for ReLU-followed ones and 1e-3 inside the residual branches (each block starts
near the identity); biases 0.
"""
import math

import numpy as np

from tinysr import functional as F
from tinysr.nn import Conv2d, Module, Parameter, init

BN_EPS = 1e-3


def _conv(c_in, c_out, k, factor, rng, stride=1):
    conv = Conv2d(c_in, c_out, k, stride=stride, padding=0, rng=rng)
    init.truncated_normal_(conv.weight, math.sqrt(factor / (math.sqrt(c_in * c_out) * k * k)), rng=rng)
    return conv


def _apply(conv, x, pad=None):
    """``pad``: (left, right, top, bottom) zeros first; default 'same' for odd kernels."""
    k = conv.weight.shape[-1]
    x = F.pad(x, pad if pad is not None else ((k - 1) // 2,) * 4) if (pad or k > 1) else x
    return F.conv2d(x, conv.weight, conv.bias, conv.stride, 0)


class ShiftNorm(Module):
    """srez's batch norm: batch statistics always, then a learned shift (no scale)."""

    def __init__(self, channels):
        self.shift = Parameter(np.zeros(channels, dtype=np.float32))

    def forward(self, x):
        return F.batch_norm(x, None, None, None, self.shift, True, 0.0, BN_EPS)


class ResidualBlock(Module):
    def __init__(self, c_in, c_out, rng):
        self.project = _conv(c_in, c_out, 1, 1.0, rng) if c_in != c_out else None
        self.norm1, self.norm2 = ShiftNorm(c_out), ShiftNorm(c_out)
        self.conv1, self.conv2 = _conv(c_out, c_out, 3, 1e-3, rng), _conv(c_out, c_out, 3, 1e-3, rng)

    def forward(self, x):
        if self.project is not None:
            x = _apply(self.project, x)
        h = _apply(self.conv1, F.relu(self.norm1(x)))
        return x + _apply(self.conv2, F.relu(self.norm2(h)))


class UpStage(Module):
    """Two residual blocks, nearest x2, BN -> ReLU -> 3x3 conv."""

    def __init__(self, c_in, c_out, rng):
        self.block1, self.block2 = ResidualBlock(c_in, c_out, rng), ResidualBlock(c_out, c_out, rng)
        self.norm, self.conv = ShiftNorm(c_out), _conv(c_out, c_out, 3, 1.0, rng)

    def forward(self, x):
        h = F.upsample_nearest(self.block2(self.block1(x)), 2)
        return _apply(self.conv, F.relu(self.norm(h)))


class Generator(Module):
    name = "srez_generator"

    def __init__(self, channels=(256, 128), head=96, seed=0):
        self.config = dict(channels=list(channels), head=head, seed=seed)
        rng = np.random.default_rng(seed)
        self.stages = [UpStage(c_in, c, rng) for c_in, c in zip((3, *channels[:-1]), channels)]
        self.head = [_conv(channels[-1], head, 3, 2.0, rng), _conv(head, head, 1, 2.0, rng),
                     _conv(head, 3, 1, 1.0, rng)]
        self.scale = 2 ** len(channels)

    def forward(self, lr):
        h = lr
        for stage in self.stages:
            h = stage(h)
        h = F.relu(_apply(self.head[0], h))
        h = F.relu(_apply(self.head[1], h))
        return F.sigmoid(_apply(self.head[2], h))

    def infer(self, lr):
        return self.forward(lr)


class ConvNormReLU(Module):
    def __init__(self, c_in, c_out, k, rng, stride=1):
        self.conv, self.norm = _conv(c_in, c_out, k, 2.0, rng, stride=stride), ShiftNorm(c_out)
        # TensorFlow SAME: a stride-2 3x3 conv on an even size pads 0 before and 1 after
        self.pad = (0, 1, 0, 1) if stride == 2 else None

    def forward(self, x):
        return F.relu(self.norm(_apply(self.conv, x, self.pad)))


class Discriminator(Module):
    name = "srez_discriminator"

    def __init__(self, channels=(64, 128, 256, 512), seed=1):
        self.config = dict(channels=list(channels), seed=seed)
        rng = np.random.default_rng(seed)
        self.down = [ConvNormReLU(c_in, c, 3, rng, stride=2) for c_in, c in zip((3, *channels[:-1]), channels)]
        c = channels[-1]
        self.top = [ConvNormReLU(c, c, 3, rng), ConvNormReLU(c, c, 1, rng)]
        self.logit = _conv(c, 1, 1, 2.0, rng)

    def forward(self, images):
        h = images * 2.0 - 1.0
        for layer in (*self.down, *self.top):
            h = layer(h)
        return F.mean(_apply(self.logit, h), axis=(1, 2, 3))
