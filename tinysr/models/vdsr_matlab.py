"""Import the VDSR authors' released MatConvNet model (``VDSR_Official.mat``).

The file holds a struct ``model`` with fields ``weight`` and ``bias``, each a 1 x D cell
array in forward order (D = 20). ``weight{i}`` is a filter F(row, col, in, out) for
``vl_nnconv``, a correlation with zero padding 1: the same operation as our ``conv2d``, so
our OIHW weight is F transposed to (out, in, row, col), unflipped. MATLAB drops trailing
singleton dimensions: the first filter is 3x3x1x64 but the last, 64 -> 1, is stored 3x3x64.
``bias{i}`` holds ``out`` values, as a row or a column.
"""
import numpy as np
import scipy.io

from tinysr.models.vdsr import VDSR


def _cells(model, field, path):
    try:
        cells = np.asarray(model[field][0, 0] if model.dtype.names else model[field]).ravel()
    except (KeyError, ValueError, IndexError, TypeError):
        raise ValueError(f"{path}: the struct 'model' has no field {field!r}") from None
    return [np.asarray(c, dtype=np.float64) for c in cells]


def vdsr_from_mat(path, dtype="float32"):
    """A VDSR whose weights are those of the MatConvNet model file ``path``."""
    try:
        mat = scipy.io.loadmat(path, squeeze_me=False)
    except Exception as err:   # scipy raises several types for non-.mat input
        raise ValueError(f"{path}: not a readable MATLAB .mat file ({err})") from err
    if "model" not in mat or not getattr(mat["model"].dtype, "names", None):
        raise ValueError(f"{path}: not a VDSR model file (no struct 'model' with 'weight' and 'bias')")
    weights, biases = _cells(mat["model"], "weight", path), _cells(mat["model"], "bias", path)
    if len(weights) != len(biases) or len(weights) < 3:
        raise ValueError(f"{path}: {len(weights)} weights and {len(biases)} biases; expected one of "
                         "each per layer, at least 3 layers")
    kernels = []
    for i, w in enumerate(weights):
        if w.ndim == 3:                       # the trailing singleton (out = 1) MATLAB dropped
            w = w[..., None]
        if w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[0] % 2 == 0:
            raise ValueError(f"{path}: weight{{{i + 1}}} has shape {w.shape}; expected k x k x in x out, k odd")
        kernels.append(np.transpose(w, (3, 2, 0, 1)))
    width, depth = kernels[0].shape[0], len(kernels)
    expected = [(width, 1)] + [(width, width)] * (depth - 2) + [(1, width)]
    for i, (k, b, (out, inp)) in enumerate(zip(kernels, biases, expected)):
        if k.shape[:2] != (out, inp) or k.shape[2:] != (3, 3):
            raise ValueError(f"{path}: weight{{{i + 1}}} is {k.shape[2]}x{k.shape[3]}x{k.shape[1]}x{k.shape[0]}; "
                             f"VDSR's layer {i + 1} is 3x3x{inp}x{out}")
        if b.size != out:
            raise ValueError(f"{path}: bias{{{i + 1}}} has {b.size} values; layer {i + 1} has {out} outputs")
    model = VDSR(depth=depth, width=width).to(dtype=dtype)
    state = {}
    for i, (k, b) in enumerate(zip(kernels, biases)):
        state[f"convs.{i}.weight"], state[f"convs.{i}.bias"] = k, b.ravel()
    return model.load_state_dict(state)
