"""Import the SRCNN authors' released MATLAB models (x2.mat / x3.mat / x4.mat).

The .mat files hold (MATLAB shapes, column-major):
    weights_conv1 (f1*f1, n1)      biases_conv1 (n1, 1)
    weights_conv2 (n1, f2*f2, n2)  biases_conv2 (n2, 1)
    weights_conv3 (n2, f3*f3)      biases_conv3 (1, 1)
Their forward pass reshapes each column to an f x f filter (``reshape(w(:, i), f, f)``,
MATLAB's column-major order, hence ``order="F"``) and applies it with
``imfilter(..., 'same', 'replicate')``, a correlation: the same operation as our
``conv2d`` with edge-replicate padding, so the filters go in unflipped.
"""
import math

import numpy as np
import scipy.io

from tinysr.models.srcnn import SRCNN


def _square(vec, path, name):
    f = math.isqrt(vec.size)
    if f * f != vec.size:
        raise ValueError(f"{path}: {name} has {vec.size} taps per filter, not a square")
    return np.asarray(vec, dtype=np.float64).reshape(f, f, order="F")


def srcnn_from_mat(path, dtype="float32"):
    """An SRCNN whose weights are those of the authors' MATLAB model file ``path``."""
    try:
        mat = scipy.io.loadmat(path)
    except Exception as err:   # scipy raises several types for non-.mat input
        raise ValueError(f"{path}: not a readable MATLAB .mat file ({err})") from err
    needed = [f"{kind}_conv{i}" for i in (1, 2, 3) for kind in ("weights", "biases")]
    missing = [k for k in needed if k not in mat]
    if missing:
        raise ValueError(f"{path}: not an SRCNN model file, missing {missing}")
    w1, w2, w3 = (np.asarray(mat[f"weights_conv{i}"], dtype=np.float64) for i in (1, 2, 3))
    if w2.ndim == 2:          # MATLAB drops a trailing singleton: n2 == 1 never happens, but f2*f2 == 1 does
        w2 = w2[:, None, :] if w2.shape[1] != 1 else w2[:, :, None]
    n1, n2 = w1.shape[1], w2.shape[2]
    f1, f2, f3 = (math.isqrt(n) for n in (w1.shape[0], w2.shape[1], w3.shape[1]))
    model = SRCNN(f1=f1, f2=f2, f3=f3, n1=n1, n2=n2).to(dtype=dtype)
    k1 = np.stack([_square(w1[:, o], path, "weights_conv1") for o in range(n1)])[:, None]
    k2 = np.stack([np.stack([_square(w2[i, :, o], path, "weights_conv2") for i in range(n1)])
                   for o in range(n2)])
    k3 = np.stack([_square(w3[i, :], path, "weights_conv3") for i in range(n2)])[None]
    state = {"conv1.weight": k1, "conv1.bias": mat["biases_conv1"].ravel(),
             "conv2.weight": k2, "conv2.bias": mat["biases_conv2"].ravel(),
             "conv3.weight": k3, "conv3.bias": mat["biases_conv3"].ravel()}
    return model.load_state_dict(state)
