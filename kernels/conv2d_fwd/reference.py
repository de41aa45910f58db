"""float64 references for conv2d forward: the definition in plain loops, and the vectorised
one, which is the library's NumPy reference backend (tinysr.backend.numpy_ref) run in
float64: one reference for the whole project, checked here against the loops."""
import numpy as np

from ...backend import numpy_ref


def conv2d_fwd_loops(x, w, stride=1, p=0, padding_mode="zeros"):
    """The definition, one multiply-add at a time (tiny shapes only)."""
    xp = numpy_ref.pad_nchw(np.asarray(x, np.float64), p, padding_mode)
    w = np.asarray(w, np.float64)
    n_img, n_ch, hp, wp = xp.shape
    n_out, _, kh, kw = w.shape
    ho, wo = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    y = np.zeros((n_img, n_out, ho, wo))
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                y[n, o, i, j] += w[o, c, a, b] * xp[n, c, i * stride + a, j * stride + b]
    return y


def conv2d_fwd(x, w, stride=1, p=0, padding_mode="zeros"):
    """numpy_ref.conv2d_forward in float64: gather every window (a view), one tensordot."""
    return numpy_ref.conv2d_forward(np.asarray(x, np.float64), np.asarray(w, np.float64),
                                    stride, p, padding_mode)
