"""Spatial resampling on NCHW tensors: average pooling and nearest-neighbour upsampling."""
from tinysr.ops.core import result


def avg_pool2d(x, kernel_size):
    """Mean over non-overlapping k x k blocks (stride = k); a ragged edge is dropped."""
    k = kernel_size
    n, c, h, w = x.shape
    ho, wo = h // k, w // k
    if ho == 0 or wo == 0:
        raise ValueError(f"avg_pool2d: kernel {k} is larger than the input {h}x{w}")
    xp = x.backend.xp
    blocks = x.data[:, :, :ho * k, :wo * k].reshape(n, c, ho, k, wo, k)

    def backward(g, needs):
        full = xp.zeros(x.shape, dtype=g.dtype)
        spread = xp.broadcast_to(g[:, :, :, None, :, None] / (k * k), (n, c, ho, k, wo, k))
        full[:, :, :ho * k, :wo * k] = spread.reshape(n, c, ho * k, wo * k)
        return (full,)
    return result("avg_pool2d", blocks.mean(axis=(3, 5)), (x,), backward)


def upsample_nearest(x, scale_factor):
    """Repeat every pixel into an s x s block."""
    s = int(scale_factor)
    n, c, h, w = x.shape
    xp = x.backend.xp
    y = xp.broadcast_to(x.data[:, :, :, None, :, None], (n, c, h, s, w, s)).reshape(n, c, h * s, w * s)

    def backward(g, needs):
        return (g.reshape(n, c, h, s, w, s).sum(axis=(3, 5)),)
    return result("upsample_nearest", xp.ascontiguousarray(y), (x,), backward)
