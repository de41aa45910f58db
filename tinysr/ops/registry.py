"""The table of every differentiable op, written out by hand so grep finds each one.

tests/test_gradcheck.py has one gradient check per entry and fails when an op here has
none; adding an op means adding it here and giving it a check.
"""
from tinysr import ops

DIFFERENTIABLE_OPS = {
    "add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div, "neg": ops.neg,
    "pow": ops.pow, "exp": ops.exp, "log": ops.log, "abs": ops.abs, "clamp": ops.clamp,
    "matmul": ops.matmul,
    "sum": ops.sum, "mean": ops.mean,
    "reshape": ops.reshape, "transpose": ops.transpose, "getitem": ops.getitem,
    "concat": ops.concat, "pad": ops.pad,
    "conv2d": ops.conv2d, "conv_transpose2d": ops.conv_transpose2d,
    "bias_act": ops.bias_act, "relu": ops.relu, "leaky_relu": ops.leaky_relu,
    "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    "batch_norm": ops.batch_norm,
    "avg_pool2d": ops.avg_pool2d, "upsample_nearest": ops.upsample_nearest,
    "mse_loss": ops.mse_loss, "l1_loss": ops.l1_loss,
    "binary_cross_entropy_with_logits": ops.binary_cross_entropy_with_logits,
}

# Functions of tensors that are deliberately not differentiable (no graph node).
NON_DIFFERENTIABLE = ("Tensor.detach", "Tensor.numpy", "Tensor.item", "no_grad")
