"""conv2d backward-weight (and the bias gradient): every version, on the GPU (CUDA) and the
CPU (Numba), by algorithm name; what the library runs on each; and, in ONE table, when a
version runs another instead. The names are conv2d_fwd's (versions.py there): the same
name is the same algorithm, here applied to the weight gradient. README.md has the table.
"""
from ..conv_common import ConvShape  # noqa: F401  (the call record the rules read)
from ..conv2d_fwd.versions import cpu_winograd_fits, cuda_winograd_fits, large_image
from ..launch_common import WARP_MAX_SIDE
from ..version_table import Fallback, Table, Version


def gemm_rule(s):
    """The CPU auto rule without Winograd (conv2d_bwd_input's)."""
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
    """The CPU default: Winograd for stride-1 3x3 and 5x5 layers with C, O >= 16, but for
    one large image (winograd here runs whole images, one per thread). Measured on a
    2-core Zen 4, docs/kernels.md: 1.4-1.5x row_gemm on SRCNN's 64->32 5x5; on 3x3 layers
    (VDSR's 64 channels, the GAN generator's 128 and 256) 1.3-1.45x since the work-item
    changes of 2026-12-07 (it used to be within noise, and 3x3 kept row_gemm's smaller
    rounding error)."""
    if cpu_winograd_fits(s) and s.C >= 16 and s.O >= 16 and not large_image(s):
        return "winograd", f"stride 1, {s.KH}x{s.KW}, C = {s.C} and O = {s.O} >= 16"
    return gemm_rule(s)


VERSIONS = (
    Version("direct", "the definition: each weight summed over all N*Ho*Wo pixels (CUDA: a "
            "thread per weight element; Numba: a parallel iteration per (o, c))",
            cuda=("conv2d_bwd_weight_v1",), numba="conv2d_bwd_weight_direct"),
    Version("smem_tiles", "16x16 tiles + split-K over blockIdx.z",
            cuda=("conv2d_bwd_weight_v2",)),
    Version("reg_tiles", "conv2d_fwd reg_tiles' engine + split-K", cuda=("conv2d_bwd_weight_v3",)),
    Version("warp_tiles", "conv2d_fwd warp_tiles' engine on a 64x192 tile + split-K",
            cuda=("conv2d_bwd_weight_v4",)),
    Version("tf32x3", "warp_tiles' gather on tensor cores (3xTF32) on the 64x256 tile + "
            "split-K", cuda=("conv2d_bwd_weight_v5",), tf32x3=True),
    Version("im2col_gemm", "im2col per image, part[t] += gy[n] @ cols^T",
            numba="conv2d_bwd_weight_im2col_gemm"),
    Version("shifted_rows", "gy in wide rows; each tap ONE long dot product with a shifted "
            "run of the flat padded image", numba="conv2d_bwd_weight_shifted_rows"),
    Version("window_gemm", "one sgemm per tap: gy_wide @ window^T",
            numba="conv2d_bwd_weight_window_gemm"),
    Version("row_gemm", "row im2col (conv2d_fwd row_gemm's buffer), kh sgemms, the partial "
            "kept transposed", numba="conv2d_bwd_weight_row_gemm"),
    Version("winograd", "the adjoint of the forward's Winograd: dU = sum_t (A dY_t A^T) (.) "
            "V_t, gw = G^T dU G (CUDA: F(4x4, 3x3) with the forward's input transform; "
            "Numba: F(4x4, 3x3) and F(3x3, 5x5))",
            cuda=("conv2d_bwd_weight_v6_gy", "conv2d_bwd_weight_v6_gemm",
                  "conv2d_bwd_weight_v6_filter"),
            numba="conv2d_bwd_weight_winograd"),
    Version("auto", "picks by the shape (auto_rule)", numba="conv2d_bwd_weight_auto",
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
             "it takes stride-1 square 3x3 or 5x5 filters (here {KH}x{KW}, stride {stride}), "
             "so the auto GEMM rule picks it"),
    Fallback("cuda", "winograd", lambda s: not cuda_winograd_fits(s), "warp_tiles",
             "winograd_bwd_weight.cu is F(4x4, 3x3): stride-1 3x3 only (here {KH}x{KW}, "
             "stride {stride})"),
    *(Fallback("cuda", v, lambda s: max(s.KH, s.KW) + s.padding > WARP_MAX_SIDE, "reg_tiles",
               "it packs tap coordinates into 16 bits: up to 32767 (here a {KH}x{KW} filter, "
               "padding {padding})") for v in ("warp_tiles", "tf32x3")),
)

TABLE = Table("conv2d_bwd_weight", VERSIONS, DEFAULT, FALLBACKS)
