"""``tinysr.functional`` (import as F): the ops under the names PyTorch users expect."""
from tinysr.ops import (  # noqa: F401
    abs, avg_pool2d, batch_norm, bias_act, binary_cross_entropy_with_logits, clamp, concat,
    conv2d, conv_transpose2d, exp, l1_loss, leaky_relu, log, matmul, mean, mse_loss, pad,
    relu, reshape, sigmoid, sum, tanh, transpose, upsample_nearest,
)
