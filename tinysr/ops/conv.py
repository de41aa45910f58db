"""Convolutions, built on the backend's three conv primitives.

conv2d             y = conv_forward(x, w) (+ b)
  dL/dx  = conv_backward_input(g, w)     dL/dw, dL/db = conv_backward_weight(g, x)
conv_transpose2d   the adjoint of conv2d: its forward IS conv_backward_input, so its
                   input gradient is conv_forward and its weight gradient is
                   conv_backward_weight with the roles of input and output swapped.
"""
from tinysr.ops.core import result


def _contiguous(t):
    return t.backend.xp.ascontiguousarray(t.data)


def conv2d(x, w, b=None, stride=1, padding=0, padding_mode="zeros"):
    """Cross-correlation of NCHW ``x`` with OIHW ``w`` (as ``torch.nn.functional.conv2d``)."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d expects NCHW input and OIHW weight, got {x.shape} and {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels, weight expects {w.shape[1]}")
    if x.dtype != w.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but weight is {w.dtype}; convert one with .to(dtype=...)")
    if padding_mode not in ("zeros", "replicate"):
        raise ValueError(f"padding_mode must be 'zeros' or 'replicate', got {padding_mode!r}")
    be = x.backend
    xd, wd = _contiguous(x), _contiguous(w)
    y = be.conv2d_forward(xd, wd, stride, padding, padding_mode)
    if b is not None:
        y = be.bias_act_forward(y, b.data, "none", 0.0)
    parents = (x, w) if b is None else (x, w, b)

    def backward(g, needs):
        g = be.xp.ascontiguousarray(g)
        gx = be.conv2d_backward_input(g, wd, x.shape, stride, padding, padding_mode) if needs[0] else None
        gw = gb = None
        if needs[1] or (b is not None and needs[2]):
            gw, gb = be.conv2d_backward_weight(g, xd, w.shape, stride, padding, padding_mode)
        return (gx, gw) if b is None else (gx, gw, gb)
    return result("conv2d", y, parents, backward)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution; ``w`` is (C_in, C_out, kh, kw) as in PyTorch."""
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[0]:
        raise ValueError(f"conv_transpose2d: input {x.shape} does not fit weight {w.shape}")
    n, _, h, wdt = x.shape
    kh, kw = w.shape[2:]
    out_shape = (n, w.shape[1],
                 (h - 1) * stride - 2 * padding + kh + output_padding,
                 (wdt - 1) * stride - 2 * padding + kw + output_padding)
    be = x.backend
    xd, wd = _contiguous(x), _contiguous(w)
    y = be.conv2d_backward_input(xd, wd, out_shape, stride, padding, "zeros")
    if b is not None:
        y = be.bias_act_forward(y, b.data, "none", 0.0)
    parents = (x, w) if b is None else (x, w, b)

    def backward(g, needs):
        g = be.xp.ascontiguousarray(g)
        gx = be.conv2d_forward(g, wd, stride, padding, "zeros") if needs[0] else None
        gw = be.conv2d_backward_weight(xd, g, w.shape, stride, padding, "zeros")[0] if needs[1] else None
        if b is None:
            return gx, gw
        gb = g.sum(axis=(0, 2, 3)) if needs[2] else None
        return gx, gw, gb
    return result("conv_transpose2d", y, parents, backward)
