"""Where tensors live, chosen in one place: the word is *device* everywhere.

    auto   the GPU when CuPy finds one, else the CPU
    cpu    NumPy arrays, run by the Numba kernels (TINYSR_BACKEND=numpy picks the float64
           NumPy reference instead, for checking; tinysr.backend.use_cpu_backend in code)
    cuda   CuPy arrays on the GPU, run by the hand-written CUDA kernels

Every command takes ``--device auto|cpu|cuda`` and calls ``select``; nothing else reads
or writes the choice.
"""
from tinysr import backend
from tinysr.errors import DeviceError

DEVICES = ("auto", "cpu", "cuda")


def select(device="auto"):
    """The tensor device ("cpu" or "cuda") for a requested one; a clear error if impossible."""
    if device not in DEVICES:
        raise DeviceError(f"--device: one of {', '.join(DEVICES)}, got {device!r}")
    if device == "auto":
        return "cuda" if backend.cuda_available() else "cpu"
    if device == "cuda" and not backend.cuda_available():
        raise DeviceError("--device cuda: CuPy with a CUDA GPU is not available here "
                          "(install CuPy: pip install -e \".[gpu]\"), or use --device cpu")
    return device


def describe(device):
    """"cpu (numba)", "cuda (cupy)": the device and the backend that runs it."""
    return f"{device} ({backend.get(device).NAME})"


__all__ = ["DEVICES", "select", "describe"]
