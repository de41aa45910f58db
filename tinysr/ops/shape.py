"""Ops that move values without arithmetic: reshape, transpose, slicing, concat, pad."""
import numpy as np

from tinysr.ops.core import result


def reshape(a, shape):
    return result("reshape", a.data.reshape(shape), (a,),
                  lambda g, needs: (g.reshape(a.shape),))


def transpose(a, axes=None):
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
    inverse = tuple(int(i) for i in np.argsort(axes))
    return result("transpose", a.data.transpose(axes), (a,),
                  lambda g, needs: (g.transpose(inverse),))


def _is_basic_index(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


def getitem(a, index):
    """``a[index]``; basic indexing writes the gradient back, fancy indexing adds it."""
    xp = a.backend.xp
    def backward(g, needs):
        full = xp.zeros(a.shape, dtype=g.dtype)
        if _is_basic_index(index):
            full[index] = g
        else:                                   # repeated indices must accumulate
            xp.add.at(full, index, g)
        return (full,)
    return result("getitem", a.data[index], (a,), backward)


def concat(tensors, axis=0):
    tensors = tuple(tensors)
    xp = tensors[0].backend.xp
    axis = axis % tensors[0].ndim
    bounds = [0]
    for t in tensors:
        bounds.append(bounds[-1] + t.shape[axis])
    def backward(g, needs):
        return tuple(g[(slice(None),) * axis + (slice(lo, hi),)]
                     for lo, hi in zip(bounds[:-1], bounds[1:]))
    return result("concat", xp.concatenate([t.data for t in tensors], axis=axis), tensors, backward)


def pad(a, widths, mode="constant"):
    """Pad the last two axes by ``widths = (left, right, top, bottom)`` (PyTorch order).

    mode "constant" pads with zeros, "replicate" with copies of the edge pixels.
    """
    xp = a.backend.xp
    left, right, top, bottom = widths
    if min(widths) < 0:
        raise ValueError(f"pad widths must be >= 0, got {widths}")
    np_mode = {"constant": "constant", "zeros": "constant", "replicate": "edge"}.get(mode)
    if np_mode is None:
        raise ValueError(f"pad mode must be 'constant' or 'replicate', got {mode!r}")
    full = ((0, 0),) * (a.ndim - 2) + ((top, bottom), (left, right))
    out = xp.pad(a.data, full, mode=np_mode)
    h, w = a.shape[-2:]

    def backward(g, needs):
        if np_mode == "edge":                   # fold the copies back onto the edge pixels
            g = g.copy()
            g[..., top, :] += g[..., :top, :].sum(axis=-2)
            g[..., top + h - 1, :] += g[..., top + h:, :].sum(axis=-2)
            g[..., :, left] += g[..., :, :left].sum(axis=-1)
            g[..., :, left + w - 1] += g[..., :, left + w:].sum(axis=-1)
        return (xp.ascontiguousarray(g[..., top:top + h, left:left + w]),)
    return result("pad", out, (a,), backward)
