"""Layers, each a thin Module around one functional op."""
import math

import numpy as np

from tinysr import ops
from tinysr.nn import init
from tinysr.nn.module import Module, Parameter
from tinysr.tensor import Tensor


def _param(*shape):
    return Parameter(np.zeros(shape, dtype=np.float32))


class Sequential(Module):
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)


class Conv2d(Module):
    """2-D convolution; weights start He-normal, biases zero (models re-init as they need)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 padding_mode="zeros", bias=True, rng=None):
        self.stride, self.padding, self.padding_mode = stride, padding, padding_mode
        self.weight = init.kaiming_normal_(_param(out_channels, in_channels, kernel_size, kernel_size), rng=rng)
        self.bias = _param(out_channels) if bias else None

    def forward(self, x):
        return ops.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.padding_mode)

    def __repr__(self):
        o, i, k, _ = self.weight.shape
        return (f"Conv2d({i}, {o}, kernel_size={k}, stride={self.stride}, padding={self.padding}, "
                f"padding_mode={self.padding_mode!r}, bias={self.bias is not None})")


class ConvTranspose2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, rng=None):
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        bound = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.weight = init.uniform_(_param(in_channels, out_channels, kernel_size, kernel_size),
                                    -bound, bound, rng=rng)
        self.bias = _param(out_channels) if bias else None

    def forward(self, x):
        return ops.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                    self.output_padding)


class BatchNorm2d(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        self.eps, self.momentum = eps, momentum
        self.weight = init.constant_(_param(num_features), 1.0) if affine else None
        self.bias = _param(num_features) if affine else None
        self.running_mean = Tensor(np.zeros(num_features, dtype=np.float32))
        self.running_var = Tensor(np.ones(num_features, dtype=np.float32))

    def forward(self, x):
        return ops.batch_norm(x, self.running_mean.data, self.running_var.data, self.weight,
                              self.bias, self.training, self.momentum, self.eps)


class ReLU(Module):
    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)


class Sigmoid(Module):
    def forward(self, x):
        return ops.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return ops.tanh(x)


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer factor."""

    def __init__(self, scale_factor=2, mode="nearest"):
        if mode != "nearest":
            raise ValueError(f"Upsample supports mode='nearest' only, got {mode!r}")
        self.scale_factor = int(scale_factor)

    def forward(self, x):
        return ops.upsample_nearest(x, self.scale_factor)
