"""Convolution geometry every side shares: the output size, the padding codes, and the shape
the version rules read. Pure Python (no Numba, no CuPy): the NumPy reference, the Numba
kernels, the CUDA launch plans and the version tables all import it.

    Ho = (H + 2*padding - KH) // stride + 1          (conv_out; an empty output is an error)
"""
from typing import NamedTuple

# Padding modes travel into Numba kernels and CUDA kernels as small ints (Numba compiles
# one version per argument type, and an int keeps the signature the same for both modes).
ZEROS, REPLICATE = 0, 1
MODES = {"zeros": ZEROS, "replicate": REPLICATE}


def padding_code(padding_mode):
    if padding_mode not in MODES:
        raise ValueError(f"padding_mode must be 'zeros' or 'replicate', got {padding_mode!r}")
    return MODES[padding_mode]


def conv_out(size, kernel, stride, padding):
    """Output length of a convolution: floor((size + 2*padding - kernel) / stride) + 1."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"convolution output would be empty: input {size}, kernel {kernel}, "
                         f"stride {stride}, padding {padding}")
    return out


class ConvShape(NamedTuple):
    """One convolution, as the version rules (each folder's versions.py) see it: x is
    (N, C, H, W), w is (O, C, KH, KW). The same shape describes all three passes."""
    N: int
    C: int
    H: int
    W: int
    O: int
    KH: int
    KW: int
    stride: int
    padding: int
    mode: str

    @classmethod
    def of(cls, x_shape, w_shape, stride, padding, padding_mode):
        N, C, H, W = (int(s) for s in x_shape)
        O, _, KH, KW = (int(s) for s in w_shape)
        padding_code(padding_mode)                    # reject an unknown mode early
        return cls(N, C, H, W, O, KH, KW, int(stride), int(padding), padding_mode)

    def describe(self):
        return (f"{self.KH}x{self.KW} filter, stride {self.stride}, padding {self.padding} "
                f"({self.mode}), C {self.C}, O {self.O}, image {self.H}x{self.W}")
