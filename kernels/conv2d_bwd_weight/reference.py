"""float64 references for conv2d backward-weight (+ bias): the definition in plain loops, and
the vectorised one, which is the library's NumPy reference backend (tinysr.backend.numpy_ref)
run in float64, checked here against the loops."""
import numpy as np

from ...backend import numpy_ref


def conv2d_bwd_weight_loops(gy, x, w_shape, stride=1, p=0, padding_mode="zeros"):
    gy = np.asarray(gy, np.float64)
    xp = numpy_ref.pad_nchw(np.asarray(x, np.float64), p, padding_mode)
    n_out, n_ch, kh, kw = w_shape
    n_img, _, ho, wo = gy.shape
    gw = np.zeros(w_shape)
    gb = np.zeros(n_out)
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    gb[o] += gy[n, o, i, j]
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                gw[o, c, a, b] += gy[n, o, i, j] * xp[n, c, i * stride + a, j * stride + b]
    return gw, gb


def conv2d_bwd_weight(gy, x, w_shape, stride=1, p=0, padding_mode="zeros"):
    """numpy_ref.conv2d_backward_weight in float64: (gw, gb), gw one tensordot of gy with
    every window over (n, i, j)."""
    return numpy_ref.conv2d_backward_weight(np.asarray(gy, np.float64),
                                            np.asarray(x, np.float64), tuple(w_shape), stride,
                                            p, padding_mode)
