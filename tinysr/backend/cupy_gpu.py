"""The CUDA backend: every primitive of the contract on CuPy arrays, through tinysr's kernels.

Convolutions, bias + activation and the optimiser steps run the hand-written kernels in
``kernels/`` (compiled by ``cuda_loader``, launched by the plans in ``launch_geometry``,
the very plans the CPU emulator tests run). Everything else (elementwise math, reductions,
creation) is CuPy's own, through ``xp``. Nothing here copies to the host except
``to_numpy``: a training step on "cuda" stays on the device.

Which version of each kernel runs is ``VERSION`` (initialised from
``cuda_loader.DEFAULT_VERSION``); ``use_versions`` switches it temporarily, for tests and
benchmarks. This module imports CuPy, so it is imported only when a tensor goes to "cuda".
"""
import contextlib

import cupy

from tinysr.backend import cuda_loader
from tinysr.backend import launch_geometry as plans

NAME = "cupy"
xp = cupy
VERSION = dict(cuda_loader.DEFAULT_VERSION)
_launch = cuda_loader.launch


@contextlib.contextmanager
def use_versions(**versions):
    """with use_versions(conv2d_fwd=2): ... runs version 2 of the forward convolution."""
    unknown = set(versions) - set(VERSION)
    if unknown:
        raise KeyError(f"unknown kernels {sorted(unknown)}")
    saved = dict(VERSION)
    VERSION.update(versions)
    try:
        yield
    finally:
        VERSION.clear()
        VERSION.update(saved)


def asarray(a, dtype=None):
    return cupy.ascontiguousarray(cupy.asarray(a, dtype=dtype))


def to_numpy(a):
    return cupy.asnumpy(a)


def conv2d_forward(x, w, stride=1, padding=0, padding_mode="zeros"):
    return plans.conv2d_forward(cupy, _launch, x, w, stride, padding, padding_mode,
                                VERSION["conv2d_fwd"])


def conv2d_backward_input(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    return plans.conv2d_backward_input(cupy, _launch, gy, w, x_shape, stride, padding,
                                       padding_mode, VERSION["conv2d_bwd_input"])


def conv2d_backward_weight(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    return plans.conv2d_backward_weight(cupy, _launch, gy, x, w_shape, stride, padding,
                                        padding_mode, VERSION["conv2d_bwd_weight"])


def bias_act_forward(x, b, act="none", slope=0.0):
    return plans.bias_act_forward(cupy, _launch, x, b, act, slope, VERSION["bias_act"])


def bias_act_backward(gy, y, act="none", slope=0.0):
    return plans.bias_act_backward(cupy, _launch, gy, y, act, slope, VERSION["bias_act"])


def sgd_step(p, g, buf, lr, momentum=0.0, weight_decay=0.0):
    plans.sgd_step(cupy, _launch, p, g, buf, lr, momentum, weight_decay,
                   VERSION["optim_update"])


def adam_step(p, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    plans.adam_step(cupy, _launch, p, g, m, v, step, lr, beta1, beta2, eps, weight_decay,
                    VERSION["optim_update"])
