"""Losses, fused so one op holds the whole graph of a loss (and its gradient is exact)."""
from tinysr.ops.core import as_tensor, result


def _reduce(values, reduction, op):
    if reduction == "mean":
        return values.mean(), 1.0 / values.size
    if reduction == "sum":
        return values.sum(), 1.0
    raise ValueError(f"{op}: reduction must be 'mean' or 'sum', got {reduction!r}")


def _check(pred, target, op):
    target = as_tensor(target, pred)
    if pred.shape != target.shape:
        raise ValueError(f"{op}: prediction {pred.shape} and target {target.shape} differ in shape")
    return target


def mse_loss(pred, target, reduction="mean"):
    target = _check(pred, target, "mse_loss")
    diff = pred.data - target.data
    xp = pred.backend.xp
    value, scale = _reduce(diff * diff, reduction, "mse_loss")

    def backward(g, needs):
        gp = (2 * scale) * g * diff
        return gp, -gp
    return result("mse_loss", xp.asarray(value), (pred, target), backward)


def l1_loss(pred, target, reduction="mean"):
    target = _check(pred, target, "l1_loss")
    diff = pred.data - target.data
    xp = pred.backend.xp
    value, scale = _reduce(xp.abs(diff), reduction, "l1_loss")

    def backward(g, needs):
        gp = scale * g * xp.sign(diff)
        return gp, -gp
    return result("l1_loss", xp.asarray(value), (pred, target), backward)


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """-[t log s(x) + (1-t) log(1-s(x))], written as max(x,0) - x t + log(1 + e^-|x|)."""
    target = _check(logits, target, "binary_cross_entropy_with_logits")
    xp = logits.backend.xp
    x, t = logits.data, target.data
    per_item = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
    value, scale = _reduce(per_item, reduction, "binary_cross_entropy_with_logits")

    def backward(g, needs):
        s = 0.5 * (1 + xp.tanh(0.5 * x))
        return scale * g * (s - t), -scale * g * x
    return result("binary_cross_entropy_with_logits", xp.asarray(value), (logits, target), backward)
