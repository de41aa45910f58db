"""Reductions: sum and mean over any axes."""
from tinysr.ops.core import result


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axis)


def _expand_back(g, shape, axes, keepdims, xp):
    """Undo the reduction: put the reduced axes back, then broadcast to the input shape."""
    if not keepdims:
        for a in sorted(axes):
            g = xp.expand_dims(g, a)
    return xp.broadcast_to(g, shape)


def sum(a, axis=None, keepdims=False):
    axes = _axes(axis, a.ndim)
    xp = a.backend.xp
    def backward(g, needs):
        return (xp.ascontiguousarray(_expand_back(g, a.shape, axes, keepdims, xp)),)
    return result("sum", xp.asarray(a.data.sum(axis=axes, keepdims=keepdims)), (a,), backward)


def mean(a, axis=None, keepdims=False):
    axes = _axes(axis, a.ndim)
    xp = a.backend.xp
    count = 1
    for ax in axes:
        count *= a.shape[ax]
    def backward(g, needs):
        return (_expand_back(g, a.shape, axes, keepdims, xp) / count,)
    return result("mean", xp.asarray(a.data.mean(axis=axes, keepdims=keepdims)), (a,), backward)
