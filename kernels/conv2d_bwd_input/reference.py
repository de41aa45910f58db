"""float64 references for conv2d backward-input: the definition in plain loops, and the
vectorised one, which is the library's NumPy reference backend (tinysr.backend.numpy_ref)
run in float64, checked here against the loops."""
import numpy as np

from ...backend import numpy_ref


def conv2d_bwd_input_loops(gy, w, x_shape, stride=1, p=0, padding_mode="zeros"):
    """Scatter every gy element back through every tap onto the padded input, then fold the
    padding (numpy_ref.unpad_grad_nchw: replicate border entries belong to the edge pixel
    they copied)."""
    gy, w = np.asarray(gy, np.float64), np.asarray(w, np.float64)
    n_img, n_ch, h, wd = x_shape
    n_out, _, kh, kw = w.shape
    ho, wo = gy.shape[2:]
    gp = np.zeros((n_img, n_ch, h + 2 * p, wd + 2 * p))
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                gp[n, c, i * stride + a, j * stride + b] += w[o, c, a, b] * gy[n, o, i, j]
    return numpy_ref.unpad_grad_nchw(gp, p, padding_mode)


def conv2d_bwd_input(gy, w, x_shape, stride=1, p=0, padding_mode="zeros"):
    """numpy_ref.conv2d_backward_input in float64: each tap sends gy back (tensordot), then
    the padding is folded."""
    return numpy_ref.conv2d_backward_input(np.asarray(gy, np.float64),
                                           np.asarray(w, np.float64), tuple(x_shape), stride,
                                           p, padding_mode)
