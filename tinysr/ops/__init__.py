"""Differentiable ops: each forward sits beside its gradient in one of these files.

    elementwise.py  add sub mul div neg pow exp log abs clamp matmul
    reduce.py       sum mean
    shape.py        reshape transpose getitem concat pad
    conv.py         conv2d conv_transpose2d
    activation.py   bias_act relu leaky_relu sigmoid tanh
    norm.py         batch_norm
    pool.py         avg_pool2d upsample_nearest
    loss.py         mse_loss l1_loss binary_cross_entropy_with_logits

``registry.DIFFERENTIABLE_OPS`` lists them all; a test fails if one lacks a gradient check.
"""
from tinysr.ops.activation import bias_act, leaky_relu, relu, sigmoid, tanh
from tinysr.ops.conv import conv2d, conv_transpose2d
from tinysr.ops.elementwise import abs, add, clamp, div, exp, log, matmul, mul, neg, pow, sub
from tinysr.ops.loss import binary_cross_entropy_with_logits, l1_loss, mse_loss
from tinysr.ops.norm import batch_norm
from tinysr.ops.pool import avg_pool2d, upsample_nearest
from tinysr.ops.reduce import mean, sum
from tinysr.ops.shape import concat, getitem, pad, reshape, transpose
