"""The CUDA backend: every primitive of the contract on CuPy arrays, through tinysr's kernels.

Convolutions, bias + activation and the optimiser steps run the hand-written kernels in
``kernels/``: each primitive calls its kernel folder's launch plan (``kernels/<name>/
launch.py``, the very plan the CPU emulator tests run) with CuPy and ``cuda_loader.launch``,
which compiles and launches. Everything else (elementwise math, reductions, creation) is
CuPy's own, through ``xp``. Nothing here copies to the host except ``to_numpy``: a
training step on "cuda" stays on the device.

Which version of each kernel runs is ``VERSION`` (initialised from
``cuda_loader.DEFAULT_VERSION``, i.e. each folder's ``versions.DEFAULT["cuda"]``; version
names are listed in ``kernels/<name>/versions.py``); ``use_versions`` switches it
temporarily, for tests and benchmarks. This module imports CuPy, so it is imported only
when a tensor goes to "cuda".
"""
import contextlib

import cupy

from tinysr.backend import cuda_loader
from tinysr.kernels.bias_act import launch as bias_act
from tinysr.kernels.conv2d_bwd_input import launch as conv2d_bwd_input
from tinysr.kernels.conv2d_bwd_weight import launch as conv2d_bwd_weight
from tinysr.kernels.conv2d_fwd import launch as conv2d_fwd
from tinysr.kernels.optim_update import launch as optim_update

NAME = "cupy"
xp = cupy
VERSION = dict(cuda_loader.DEFAULT_VERSION)
_launch = cuda_loader.launch


@contextlib.contextmanager
def use_versions(**versions):
    """with use_versions(conv2d_fwd="winograd"): ... runs the Winograd forward convolution."""
    unknown = set(versions) - set(VERSION)
    if unknown:
        raise KeyError(f"unknown kernels {sorted(unknown)}")
    for kernel, version in versions.items():
        if version not in cuda_loader.versions(kernel):
            raise ValueError(f"{kernel} has no CUDA version {version!r}; choose one of "
                             f"{', '.join(cuda_loader.versions(kernel))}")
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
    return conv2d_fwd.conv2d_forward(cupy, _launch, x, w, stride, padding, padding_mode,
                                     VERSION["conv2d_fwd"])


def conv2d_backward_input(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    return conv2d_bwd_input.conv2d_backward_input(cupy, _launch, gy, w, x_shape, stride,
                                                  padding, padding_mode,
                                                  VERSION["conv2d_bwd_input"])


def conv2d_backward_weight(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    return conv2d_bwd_weight.conv2d_backward_weight(cupy, _launch, gy, x, w_shape, stride,
                                                    padding, padding_mode,
                                                    VERSION["conv2d_bwd_weight"])


def bias_act_forward(x, b, act="none", slope=0.0):
    return bias_act.bias_act_forward(cupy, _launch, x, b, act, slope, VERSION["bias_act"])


def bias_act_backward(gy, y, act="none", slope=0.0):
    return bias_act.bias_act_backward(cupy, _launch, gy, y, act, slope, VERSION["bias_act"])


def sgd_step(p, g, buf, lr, momentum=0.0, weight_decay=0.0):
    optim_update.sgd_step(cupy, _launch, p, g, buf, lr, momentum, weight_decay,
                          VERSION["optim_update"])


def adam_step(p, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    optim_update.adam_step(cupy, _launch, p, g, m, v, step, lr, beta1, beta2, eps,
                           weight_decay, VERSION["optim_update"])
