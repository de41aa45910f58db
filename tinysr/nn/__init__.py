"""``tinysr.nn``: Module, Parameter, the layers, and ``tinysr.nn.init``."""
from tinysr.nn import init  # noqa: F401
from tinysr.nn.layers import (  # noqa: F401
    BatchNorm2d, Conv2d, ConvTranspose2d, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh, Upsample,
)
from tinysr.nn.module import Module, Parameter  # noqa: F401
