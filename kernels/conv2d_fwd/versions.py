"""conv2d forward: every version, on the GPU (CUDA) and the CPU (Numba), by algorithm name;
what the library runs on each; and, in ONE table, when a version runs another instead.

A name means one algorithm wherever it exists: "direct" and "winograd" exist on both
sides, the rest on one. The CUDA entries keep the .cu file's ladder numbers (v1..v6, as
llm.c numbers its kernels); README.md has the table with the twins side by side.

    from tinysr.kernels.conv2d_fwd.versions import TABLE
    TABLE.plan("cuda", "winograd", ConvShape.of(x.shape, w.shape, 1, 1, "zeros"))
"""
from ..conv_common import ConvShape  # noqa: F401  (the call record the rules read)
from ..launch_common import WARP_MAX_SIDE, WG_R
from ..version_table import Fallback, Table, Version
from ..winograd_common import TILE as WINOGRAD_TILES


def cpu_winograd_fits(s):
    """Numba winograd: stride 1, square 3x3 (F(4x4, 3x3)) or 5x5 (F(3x3, 5x5)) filters."""
    return s.stride == 1 and s.KH == s.KW and s.KH in WINOGRAD_TILES


def cuda_winograd_fits(s):
    """winograd.cu: F(4x4, 3x3), stride-1 3x3 filters only."""
    return s.stride == 1 and s.KH == s.KW == WG_R


LARGE_IMAGE = 128 * 128   # input pixels from which a stride-1 GEMM layer runs im2col_gemm


def large_image(s):
    """An image too large for the whole-image buffers of row_gemm / row_gemm_t (their rows
    buffer is kw times the image, and y is swept kh times): `tinysr upscale` sizes."""
    return s.H * s.W >= LARGE_IMAGE


def gemm_rule(s):
    """The CPU auto rule without Winograd (what winograd runs where it does not fit)."""
    if s.stride != 1:
        return "im2col_gemm", f"stride {s.stride} != 1"
    if s.KH == s.KW == 1 and s.padding == 0:
        return "im2col_gemm", "an unpadded 1x1 layer is one GEMM per image"
    if s.O <= 4:
        return "shifted_rows", f"O = {s.O} <= 4"
    if large_image(s):
        return "im2col_gemm", (f"a {s.H}x{s.W} image: im2col_gemm cuts it into bands that stay "
                               f"in cache, with K = C*kh*kw = {s.C * s.KH * s.KW}")
    if s.C >= 16:
        return "row_gemm_t", f"C = {s.C} >= 16, O = {s.O} > 4"
    return "row_gemm", f"C = {s.C} < 16, O = {s.O} > 4"


def auto_rule(s):
    """The CPU default (measured, docs/kernels.md Part 1): Winograd for stride-1 3x3 / 5x5
    layers with C, O >= 16 (fewer channels: the transforms outweigh the GEMMs), else the
    GEMM rule."""
    if cpu_winograd_fits(s) and s.C >= 16 and s.O >= 16:
        return "winograd", f"stride 1, {s.KH}x{s.KW}, C = {s.C} and O = {s.O} >= 16"
    return gemm_rule(s)


def _big_side(s):
    return max(s.H, s.W) + s.padding > WARP_MAX_SIDE


VERSIONS = (
    Version("direct", "the definition: each output summed over its C*KH*KW taps (CUDA: a "
            "thread per output; Numba: a parallel iteration per (n, o))",
            cuda=("conv2d_fwd_v1",), numba="conv2d_fwd_direct"),
    Version("smem_tiles", "16x16 output tiles, K in slices of 16 through shared memory",
            cuda=("conv2d_fwd_v2",)),
    Version("reg_tiles", "64x128 tiles, 8x4 outputs a thread in registers, double-buffered "
            "shared memory, taps decoded by addition", cuda=("conv2d_fwd_v3",)),
    Version("warp_tiles", "64x256 (or 64x128) tiles of 32x64 warp tiles, 8x8 outputs a "
            "thread, cp.async copies, a shared column table",
            cuda=("conv2d_fwd_v4", "conv2d_fwd_v4_n128")),
    Version("tf32x3", "warp_tiles' slices on tensor cores, mma.sync TF32 three passes a "
            "product (float32 accuracy); double runs warp_tiles' engine",
            cuda=("conv2d_fwd_v5",), tf32x3=True),
    Version("im2col_gemm", "im2col into a column buffer, one single-threaded sgemm per image",
            numba="conv2d_fwd_im2col_gemm"),
    Version("shifted_rows", "each tap reads one contiguous run of the flat padded image: a "
            "long vectorised axpy, no buffer", numba="conv2d_fwd_shifted_rows"),
    Version("window_gemm", "one sgemm per tap on a window of the padded image, read in place",
            numba="conv2d_fwd_window_gemm"),
    Version("row_gemm", "row im2col (kw shifted copies): kh sgemms with exactly Ho*Wo columns",
            numba="conv2d_fwd_row_gemm"),
    Version("row_gemm_t", "row_gemm turned pixel-major (channels-last rows), the orientation "
            "OpenBLAS runs faster for small O", numba="conv2d_fwd_row_gemm_t"),
    Version("winograd", "Winograd: the channel sum as alpha^2 GEMMs of transformed tiles "
            "(CUDA: F(4x4, 3x3); Numba: F(4x4, 3x3) and F(3x3, 5x5))",
            cuda=("conv2d_fwd_v6_filter", "conv2d_fwd_v6_input", "conv2d_fwd_v6_gemm",
                  "conv2d_fwd_v6_output"),
            numba="conv2d_fwd_winograd"),
    Version("auto", "picks by the shape (auto_rule)", numba="conv2d_fwd_auto", rule=auto_rule),
)

# What the library runs. Change a name here (and nowhere else) to switch.
DEFAULT = {"cuda": "warp_tiles", "numba": "auto"}

_STRIDE1 = "it is written for stride 1 (here stride {stride})"
_PACKED = ("it packs tap coordinates into 16 bits: sides up to 32767 (here {H}x{W}, "
           "padding {padding})")

# Every fallback of this kernel, on both sides: (side, version, when, runs instead, why).
FALLBACKS = (
    *(Fallback("numba", v, lambda s: s.stride != 1, "im2col_gemm", _STRIDE1)
      for v in ("shifted_rows", "window_gemm", "row_gemm", "row_gemm_t")),
    Fallback("numba", "winograd", lambda s: not cpu_winograd_fits(s), gemm_rule,
             "it takes stride-1 square 3x3 or 5x5 filters (here {KH}x{KW}, stride {stride}), "
             "so the auto GEMM rule picks it"),
    Fallback("cuda", "winograd", lambda s: not cuda_winograd_fits(s), "warp_tiles",
             "winograd.cu is F(4x4, 3x3): stride-1 3x3 only (here {KH}x{KW}, stride {stride})"),
    *(Fallback("cuda", v, _big_side, "reg_tiles", _PACKED) for v in ("warp_tiles", "tf32x3")),
)

TABLE = Table("conv2d_fwd", VERSIONS, DEFAULT, FALLBACKS)
