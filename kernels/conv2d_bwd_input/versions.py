"""conv2d backward-input: every version, on the GPU (CUDA) and the CPU (Numba), by algorithm
name; what the library runs on each; and, in ONE table, when a version runs another
instead. The names are conv2d_fwd's (versions.py there): the same name is the same
algorithm, here applied to the input gradient. README.md has the table.
"""
from ..conv_common import ConvShape  # noqa: F401  (the call record the rules read)
from ..conv2d_fwd.versions import cpu_winograd_fits as fwd_cpu_winograd_fits
from ..launch_common import WARP_MAX_SIDE, WG_R
from ..version_table import Fallback, Table, Version


def cpu_winograd_fits(s):
    """Numba winograd runs the forward's Winograd on gy padded by KH-1-padding with the
    flipped filters: the forward's shapes, zero padding, padding <= KH - 1."""
    return fwd_cpu_winograd_fits(s) and s.mode == "zeros" and s.padding <= s.KH - 1


def folds(s):
    """The CUDA plans compute replicate padding on the whole padded grid, then fold."""
    return s.mode == "replicate" and s.padding > 0


def cuda_winograd_fits(s):
    """winograd.cu (the forward's kernels on gy): stride-1 3x3, no fold, padding <= 2."""
    return (s.stride == 1 and s.KH == s.KW == WG_R and not folds(s)
            and s.padding <= s.KH - 1)


def gemm_rule(s):
    """The CPU auto rule without Winograd."""
    if s.stride != 1:
        return "im2col_gemm", f"stride {s.stride} != 1"
    if s.KH == s.KW == 1 and s.padding == 0:
        return "im2col_gemm", "an unpadded 1x1 layer is one GEMM per image"
    if s.O <= 4:
        if s.C >= 16:
            return "window_gemm", f"O = {s.O} <= 4, C = {s.C} >= 16"
        return "shifted_rows", f"O = {s.O} <= 4, C = {s.C} < 16"
    return "row_gemm", f"O = {s.O} > 4"


def auto_rule(s):
    """The CPU default: Winograd as conv2d_fwd's rule (C, O >= 16), zero padding only;
    else the GEMM rule."""
    if cpu_winograd_fits(s) and s.C >= 16 and s.O >= 16:
        return "winograd", (f"stride 1, {s.KH}x{s.KW}, zero padding, C = {s.C} and "
                            f"O = {s.O} >= 16")
    return gemm_rule(s)


def _big_grid(s):
    pad2 = 2 * s.padding if folds(s) else 0
    return max(s.H, s.W) + pad2 + s.padding > WARP_MAX_SIDE


VERSIONS = (
    Version("direct", "the definition (CUDA: a thread per grid pixel gathering its (o, p, q) "
            "taps; Numba: a parallel iteration per (n, c) plane scattering into it)",
            cuda=("conv2d_bwd_input_v1",), numba="conv2d_bwd_input_direct"),
    Version("smem_tiles", "16x16 tiles through shared memory, K slices of 16",
            cuda=("conv2d_bwd_input_v2",)),
    Version("reg_tiles", "conv2d_fwd reg_tiles' engine with a gy gather (any stride)",
            cuda=("conv2d_bwd_input_v3",)),
    Version("warp_tiles", "conv2d_fwd warp_tiles' engine on the forward convolution of gy "
            "with the flipped weight (stride 1)",
            cuda=("conv2d_bwd_input_v4", "conv2d_bwd_input_v4_n128")),
    Version("tf32x3", "warp_tiles' gather and tile on tensor cores, 3xTF32 (stride 1)",
            cuda=("conv2d_bwd_input_v5",), tf32x3=True),
    Version("im2col_gemm", "cols = W^T @ gy[n] (sgemm), then col2im",
            numba="conv2d_bwd_input_im2col_gemm"),
    Version("shifted_rows", "gxpad rows += w * gy rows, vectorised, no buffer",
            numba="conv2d_bwd_input_shifted_rows"),
    Version("window_gemm", "one sgemm per tap into a window of the flat padded gradient",
            numba="conv2d_bwd_input_window_gemm"),
    Version("row_gemm", "the adjoint of conv2d_fwd row_gemm: kh sgemms into the rows buffer, "
            "then its adjoint", numba="conv2d_bwd_input_row_gemm"),
    Version("winograd", "the forward's Winograd on gy zero-padded by KH-1-padding, with the "
            "filters flipped and transposed (CUDA: winograd.cu's kernels, no entries of its "
            "own)", cuda=(), numba="conv2d_bwd_input_winograd"),
    Version("auto", "picks by the shape (auto_rule)", numba="conv2d_bwd_input_auto",
            rule=auto_rule),
)

# What the library runs. Change a name here (and nowhere else) to switch.
DEFAULT = {"cuda": "warp_tiles", "numba": "auto"}

_STRIDE1 = "it is written for stride 1 (here stride {stride})"

# Every fallback of this kernel, on both sides: (side, version, when, runs instead, why).
FALLBACKS = (
    *(Fallback("numba", v, lambda s: s.stride != 1, "im2col_gemm", _STRIDE1)
      for v in ("shifted_rows", "window_gemm", "row_gemm")),
    Fallback("numba", "winograd", lambda s: not cpu_winograd_fits(s), gemm_rule,
             "it takes stride-1 square 3x3 or 5x5 filters, zero padding up to KH-1 (here "
             "{KH}x{KW}, stride {stride}, padding {padding} {mode}), so the auto GEMM rule "
             "picks it"),
    Fallback("cuda", "winograd", lambda s: not cuda_winograd_fits(s), "warp_tiles",
             "winograd.cu takes stride-1 3x3 with zero padding (or none) up to 2; replicate "
             "padding needs the fold (here {KH}x{KW}, stride {stride}, padding {padding} "
             "{mode})"),
    *(Fallback("cuda", v, lambda s: s.stride != 1, "reg_tiles",
               "it gathers gy taps for stride 1 only (here stride {stride})")
      for v in ("warp_tiles", "tf32x3")),
    *(Fallback("cuda", v, _big_grid, "reg_tiles",
               "it packs tap coordinates into 16 bits: sides up to 32767 (here {H}x{W}, "
               "padding {padding})") for v in ("warp_tiles", "tf32x3")),
)

TABLE = Table("conv2d_bwd_input", VERSIONS, DEFAULT, FALLBACKS)
