"""The Numba CPU backend: the primitive contract on the kernels in tinysr.kernels.

Each primitive calls one kernel folder's entry point, which runs that kernel's
DEFAULT_VERSION (kernels/README.md lists the versions and why each default won).
Array creation, elementwise math and reductions stay on NumPy (`xp`). Anything not listed
here falls back to the NumPy reference, visibly: `FALLBACKS` names it.
"""
import numpy as np

from . import numpy_ref
from ..kernels.bias_act import bias_act_numba
from ..kernels.conv2d_bwd_input import conv2d_bwd_input_numba
from ..kernels.conv2d_bwd_weight import conv2d_bwd_weight_numba
from ..kernels.conv2d_fwd import conv2d_fwd_numba
from ..kernels.optim_update import optim_update_numba

NAME = "numba"
xp = np
asarray = numpy_ref.asarray
to_numpy = numpy_ref.to_numpy
FALLBACKS = ("asarray", "to_numpy")   # no kernel needed: they are NumPy calls either way

_FLOATS = (np.float32, np.float64)


def _ready(*arrays):
    """The kernels take C-contiguous float32/float64 arrays of one dtype."""
    dtype = arrays[0].dtype
    if dtype not in _FLOATS:
        raise TypeError(f"numba backend: expected float32 or float64 arrays, got {dtype}")
    out = []
    for a in arrays:
        if a.dtype != dtype:
            raise TypeError(f"numba backend: mixed dtypes {dtype} and {a.dtype}")
        out.append(np.ascontiguousarray(a))
    return out


def conv2d_forward(x, w, stride=1, padding=0, padding_mode="zeros"):
    x, w = _ready(x, w)
    return conv2d_fwd_numba.conv2d_fwd(x, w, stride, padding, padding_mode)


def conv2d_backward_input(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    gy, w = _ready(gy, w)
    return conv2d_bwd_input_numba.conv2d_bwd_input(gy, w, x_shape, stride, padding,
                                                   padding_mode)


def conv2d_backward_weight(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    gy, x = _ready(gy, x)
    return conv2d_bwd_weight_numba.conv2d_bwd_weight(gy, x, w_shape, stride, padding,
                                                     padding_mode)


def bias_act_forward(x, b, act="none", slope=0.0):
    x, = _ready(x)
    if b is not None:
        b, = _ready(b.astype(x.dtype, copy=False))
    return bias_act_numba.bias_act_forward(x, b, act, slope)


def bias_act_backward(gy, y, act="none", slope=0.0):
    gy, y = _ready(gy, y)
    return bias_act_numba.bias_act_backward(gy, y, act, slope)


def sgd_step(p, g, buf, lr, momentum=0.0, weight_decay=0.0):
    optim_update_numba.sgd_step(p, g, buf, lr, momentum, weight_decay)


def adam_step(p, g, m, v, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    optim_update_numba.adam_step(p, g, m, v, step, lr, beta1, beta2, eps, weight_decay)
