"""Batch normalisation over (N, H, W) per channel, with its closed-form gradient."""
from tinysr.ops.core import result


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training=True, momentum=0.1, eps=1e-5):
    """As ``torch.nn.functional.batch_norm``; running stats (plain arrays) update in place.

    In training the batch statistics are used (biased variance for normalising, unbiased
    for the running estimate); in evaluation the running statistics are.
    """
    xp = x.backend.xp
    axes = (0,) + tuple(range(2, x.ndim))
    view = (1, -1) + (1,) * (x.ndim - 2)
    count = x.data.size // x.shape[1]
    if training:
        mean = x.data.mean(axis=axes)
        var = x.data.var(axis=axes)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * count / max(count - 1, 1)
    else:
        mean, var = running_mean, running_var
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat = (x.data - mean.reshape(view)) * inv_std.reshape(view)
    y = x_hat
    if weight is not None:
        y = y * weight.data.reshape(view)
    if bias is not None:
        y = y + bias.data.reshape(view)
    parents = tuple(t for t in (x, weight, bias) if t is not None)

    def backward(g, needs):
        gxh = g * weight.data.reshape(view) if weight is not None else g
        if training:   # the batch statistics depend on x too
            gx = inv_std.reshape(view) * (
                gxh - gxh.mean(axis=axes, keepdims=True)
                - x_hat * (gxh * x_hat).mean(axis=axes, keepdims=True))
        else:
            gx = gxh * inv_std.reshape(view)
        grads = [gx]
        if weight is not None:
            grads.append((g * x_hat).sum(axis=axes))
        if bias is not None:
            grads.append(g.sum(axis=axes))
        return tuple(grads)
    return result("batch_norm", y, parents, backward)
