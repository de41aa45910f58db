"""Backends: the short list of array primitives every differentiable op is built on.

A backend is a plain module that provides exactly the names in ``CONTRACT`` below.
The ops in ``tinysr/ops`` call these primitives and nothing device-specific, so a new
backend slots in without touching a single gradient.

    numpy_ref  float64-capable NumPy reference; the oracle for every test
    numba_cpu  the fast CPU backend (default on the CPU when Numba imports)
    cupy_gpu   CUDA kernels through CuPy (only imported when a tensor goes to "cuda")

The CPU backend is chosen by ``TINYSR_BACKEND`` (``numba`` or ``numpy``) or by
``use_cpu_backend``. ``import tinysr`` never imports CuPy.

The contract (arrays are C-contiguous NCHW activations and OIHW weights; every primitive
works for float32 and float64 and returns new arrays unless it says "in place"):

    xp                           the array namespace (numpy or cupy) for elementwise
                                 math, reductions and creation
    asarray(a, dtype)            host array or scalar -> this backend's array
    to_numpy(a)                  this backend's array -> numpy.ndarray
    conv2d_forward(x, w, stride, padding, padding_mode) -> y
        y[n,o,i,j] = sum_{c,p,q} w[o,c,p,q] * xpad[n,c,i*stride+p, j*stride+q]
        xpad = x padded by `padding` on every side with zeros ("zeros") or edge
        copies ("replicate"); Ho = (H + 2*padding - kh) // stride + 1
    conv2d_backward_input(gy, w, x_shape, stride, padding, padding_mode) -> gx
    conv2d_backward_weight(gy, x, w_shape, stride, padding, padding_mode) -> (gw, gb)
        gb = gy summed over N, H, W (the bias gradient comes for free here)
    bias_act_forward(x, b, act, slope) -> y
        y = act(x + b[c]) with act in {"none", "relu", "leaky_relu"}; b may be None;
        the channel axis is axis 1, any number of trailing axes
    bias_act_backward(gy, y, act, slope) -> (gx, gb)
        gradient through act(x + b) written in terms of the OUTPUT y (y > 0 exactly
        when x + b > 0 because slope >= 0), so the forward input need not be kept
    sgd_step(p, g, buf, lr, momentum, weight_decay)              in place on p and buf
        d = g + wd * p;  buf = momentum * buf + d;  p -= lr * buf   (buf None: p -= lr*d)
    adam_step(p, g, m, v, step, lr, beta1, beta2, eps, weight_decay)  in place on p, m, v
        d = g + wd * p;  m = b1 m + (1-b1) d;  v = b2 v + (1-b2) d^2;
        p -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps)
"""
import contextlib
import importlib
import os
import warnings

CONTRACT = (
    "NAME", "xp", "asarray", "to_numpy",
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
    "bias_act_forward", "bias_act_backward", "sgd_step", "adam_step",
)

_CPU_MODULES = {"numpy": "tinysr.backend.numpy_ref", "numba": "tinysr.backend.numba_cpu"}
_GPU_MODULE = "tinysr.backend.cupy_gpu"
_cpu_choice = None


def _load(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in CONTRACT if not hasattr(module, name)]
    if missing:
        raise RuntimeError(f"backend {module_name} lacks primitives {missing}")
    return module


def cpu_backend():
    """The backend that runs tensors on "cpu": TINYSR_BACKEND, else numba, else numpy."""
    global _cpu_choice
    if _cpu_choice is None:
        wanted = os.environ.get("TINYSR_BACKEND", "numba").lower()
        if wanted not in _CPU_MODULES:
            raise ValueError(f"TINYSR_BACKEND={wanted!r}: choose one of {sorted(_CPU_MODULES)}")
        try:
            _cpu_choice = _load(_CPU_MODULES[wanted])
        except ImportError as err:
            if wanted == "numpy":
                raise
            warnings.warn(f"the numba backend is unavailable ({err}); using the NumPy reference")
            _cpu_choice = _load(_CPU_MODULES["numpy"])
    return _cpu_choice


def get(device):
    """The backend module that owns arrays on ``device`` ("cpu" or "cuda")."""
    if device == "cpu":
        return cpu_backend()
    if device == "cuda":
        return _load(_GPU_MODULE)
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


@contextlib.contextmanager
def use_cpu_backend(name):
    """Temporarily run CPU tensors on the named backend ("numpy" or "numba")."""
    global _cpu_choice
    previous = _cpu_choice
    _cpu_choice = _load(_CPU_MODULES[name])
    try:
        yield _cpu_choice
    finally:
        _cpu_choice = previous


def cuda_available():
    """True when CuPy imports and sees a GPU. Never called at import time."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or a CUDA driver error on a machine without a GPU
        return False
