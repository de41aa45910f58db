"""Every version of every CUDA kernel, run on the CPU by the emulator, against numpy_ref.

The .cu text is compiled as C++ (kernels/emulator/cuda_shim.h: a block's threads are
OpenMP threads, __syncthreads() a barrier, __shared__ per block) and launched through the
SAME launch plans (kernels/<name>/launch.py) that the CuPy backend uses, so the grids,
split-K partial buffers, reduction and replicate fold are checked too. Outputs are
poisoned with NaN before each launch. Tolerances come from the error bound of a sum of K
products: |y - ref| <= c * K * eps * (|w| conv |x|), with the reference in float64 on the
same (rounded) inputs. Shapes are tiny but cross every tile edge: 1, 3, 17, 23, 66 channels;
66 and 70 output channels (> one 64-row tile); 162 pixels (> one 128-column tile), 270
and 396 (> one warp_tiles 256-column tile); 207 and 242 weight columns (> one warp_tiles
backward-weight 192-column tile); kernels 1 to 11; stride 2; padding wider than the image.
The warp_tiles 64 x 128 tile (forward and backward-input) is forced on the stride-1 cases
past 128 pixels (test_conv_warp_tiles_n128_tile) and must match the 64 x 256 tile bit for
bit.
test_conv_random_shapes, test_bias_act_random_shapes and test_optim_update_random_sizes
add hypothesis-drawn shapes and data for every version (12 examples each in CI; the
convolutions passed 400 when tf32x3 backward-weight was added).
"""
import importlib.util
import pathlib
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinysr.backend import cuda_loader
from tinysr.backend import numpy_ref as ref
from tinysr.kernels import launch_common as tiles
from tinysr.kernels.bias_act import launch as bias_act
from tinysr.kernels.conv2d_bwd_input import launch as bwd_input
from tinysr.kernels.conv2d_bwd_weight import launch as bwd_weight
from tinysr.kernels.conv2d_fwd import launch as fwd
from tinysr.kernels.optim_update import launch as optim
from tinysr.kernels.winograd_common import winograd_tile_count
from tinysr.testing import conv_error_bound

HARNESS = pathlib.Path(str(cuda_loader.kernel_dir())) / "emulator" / "harness.py"


def _load_harness():
    spec = importlib.util.spec_from_file_location("tinysr_cuda_emulator", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def emu():
    if shutil.which("g++") is None:
        pytest.skip("the CUDA emulator needs g++ with OpenMP; none found")
    return _load_harness()


class Poisoned:
    """NumPy, except that new arrays are full of NaN: an output element a kernel forgets
    to write shows up as a mismatch."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(shape, dtype=float):
        return np.full(shape, np.nan, dtype=dtype)


XP = Poisoned()
EPS = {np.float32: 2.0 ** -24, np.float64: 2.0 ** -53}
EMULATED = set()          # (kernel, version) pairs that ran, for the summary line


def assert_close(name, got, want, bound):
    """|got - want| <= bound elementwise; on failure report the worst index and the first
    few mismatches, not just a max."""
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    err = np.abs(got - want)
    bad = ~(err <= bound)             # NaN counts as bad
    if bad.any():
        idx = [tuple(int(v) for v in i) for i in np.argwhere(bad)]
        ranked = np.where(bad, np.nan_to_num(err, nan=np.inf), -1.0)   # unwritten (NaN) first
        worst = tuple(int(v) for v in np.unravel_index(np.argmax(ranked), err.shape))
        first = ", ".join(f"{i}: {got[i]:.9g} vs {want[i]:.9g}" for i in idx[:5])
        pytest.fail(f"{name}: {len(idx)} of {bad.size} outside the bound; worst at "
                    f"{worst} ({got[worst]:.9g} vs {want[worst]:.9g}, bound "
                    f"{bound[worst]:.3g}); first: {first}")


# N, C, H, W, O, K, stride, pad, mode
CONV_CASES = [
    (2, 3, 7, 9, 5, 3, 1, 1, "zeros"),
    (1, 2, 17, 15, 3, 3, 2, 1, "replicate"),
    (2, 4, 6, 6, 70, 1, 1, 0, "zeros"),
    (1, 3, 11, 10, 2, 5, 2, 2, "replicate"),
    (2, 17, 9, 9, 66, 3, 1, 1, "replicate"),
    (1, 1, 1, 1, 1, 1, 1, 0, "zeros"),
    (1, 2, 1, 3, 2, 3, 1, 2, "replicate"),
    (1, 2, 12, 13, 3, 11, 1, 5, "zeros"),
    (1, 2, 14, 12, 3, 11, 2, 0, "replicate"),
    (3, 5, 8, 7, 9, 4, 2, 1, "zeros"),
    # past one warp_tiles tile (64 x 256; 64 x 192 for backward-weight) in every direction:
    # 396 pixels, 70 output channels, 23*9 = 207 weight columns; 270 pixels, 66 channels
    (3, 23, 11, 12, 70, 3, 1, 1, "replicate"),
    (3, 66, 9, 10, 5, 3, 1, 1, "zeros"),
]
CONV_IDS = ["x".join(map(str, c[:8])) + "-" + c[8] for c in CONV_CASES]


def _conv_inputs(case, dtype, seed=0):
    N, C, H, W, O, K, s, p, mode = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C, K, K)).astype(dtype)
    Ho, Wo = (H + 2 * p - K) // s + 1, (W + 2 * p - K) // s + 1
    gy = rng.standard_normal((N, O, Ho, Wo)).astype(dtype)
    return x, w, gy


def check_forward(emu, case, version, dtype, seed=0):
    N, C, H, W, O, K, s, p, mode = case
    x, w, _ = _conv_inputs(case, dtype, seed)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    y = fwd.conv2d_forward(XP, emu.launch, x, w, s, p, mode, version)
    want = ref.conv2d_forward(x64, w64, s, p, mode)
    bound = conv_error_bound("conv2d_fwd", version, x, w, x.shape, s, p, mode)  # winograd's own
    assert_close(f"conv2d_fwd {version} {case}", y, want, bound + 1e-300)
    EMULATED.add(("conv2d_fwd", version))


def check_backward_input(emu, case, version, dtype, seed=0):
    N, C, H, W, O, K, s, p, mode = case
    x, w, gy = _conv_inputs(case, dtype, seed)
    gy64, w64 = gy.astype(np.float64), w.astype(np.float64)
    gx = bwd_input.conv2d_backward_input(XP, emu.launch, gy, w, x.shape, s, p, mode, version)
    want = ref.conv2d_backward_input(gy64, w64, x.shape, s, p, mode)
    bound = conv_error_bound("conv2d_bwd_input", version, gy, w, x.shape, s, p, mode)
    assert_close(f"conv2d_bwd_input {version} {case}", gx, want, bound + 1e-300)
    EMULATED.add(("conv2d_bwd_input", version))


def check_backward_weight(emu, case, version, dtype, seed=0):
    N, C, H, W, O, K, s, p, mode = case
    x, w, gy = _conv_inputs(case, dtype, seed)
    gy64, x64 = gy.astype(np.float64), x.astype(np.float64)
    gw, gb = bwd_weight.conv2d_backward_weight(XP, emu.launch, gy, x, w.shape, s, p, mode,
                                               version)
    want_w, want_b = ref.conv2d_backward_weight(gy64, x64, w.shape, s, p, mode)
    scale_w, scale_b = ref.conv2d_backward_weight(np.abs(gy64), np.abs(x64), w.shape, s, p, mode)
    terms = gy.size // O + 64                   # pixels, plus the split-K partial sums
    # gw goes through the GEMM engine (3xTF32 for float tf32x3, Winograd for winograd); gb
    # is a plain float sum
    bound_w = conv_error_bound("conv2d_bwd_weight", version, gy, x, w.shape, s, p, mode)
    assert_close(f"conv2d_bwd_weight {version} gw {case}", gw, want_w, bound_w + 1e-300)
    assert_close(f"conv2d_bwd_weight {version} gb {case}", gb, want_b,
                 2 * terms * EPS[dtype] * scale_b + 1e-300)
    EMULATED.add(("conv2d_bwd_weight", version))


DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
CONV_VERSIONS = cuda_loader.versions("conv2d_fwd")    # direct .. winograd, the .cu ladder
assert CONV_VERSIONS == cuda_loader.versions("conv2d_bwd_input") == \
    cuda_loader.versions("conv2d_bwd_weight")
VERSIONS = pytest.mark.parametrize("version", CONV_VERSIONS)
CASES = pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)


@DTYPES
@VERSIONS
@CASES
def test_conv_forward(emu, case, version, dtype):
    check_forward(emu, case, version, dtype)


@DTYPES
@VERSIONS
@CASES
def test_conv_backward_input(emu, case, version, dtype):
    check_backward_input(emu, case, version, dtype)


# winograd past one GEMM tile in every direction: 4 * 9 * 9 = 324 tiles (> 256 columns),
# 65 output channels (> 64 rows), 9 and 65 input channels (more than one 8-deep slice,
# a partial last slice); odd sides whose last tile row and column are partial
WINOGRAD_CASES = [(4, 9, 33, 35, 65, 3, 1, 1, "zeros"), (2, 65, 13, 11, 9, 3, 1, 1, "zeros"),
                  (1, 3, 10, 7, 5, 3, 1, 2, "replicate"), (2, 4, 9, 6, 3, 3, 1, 0, "replicate")]


@DTYPES
@pytest.mark.parametrize("case", WINOGRAD_CASES,
                         ids=["x".join(map(str, c[:8])) + "-" + c[8] for c in WINOGRAD_CASES])
def test_conv_winograd(emu, case, dtype):
    N, C, H, W, O, K, s, p, mode = case
    assert fwd.plan((N, C, H, W), (O, C, K, K), s, p, mode, "winograd").runs == "winograd"
    check_forward(emu, case, "winograd", dtype)
    check_backward_input(emu, case, "winograd", dtype)
    check_backward_weight(emu, case, "winograd", dtype)


def test_winograd_weight_splits_exercised():
    """A winograd case above splits the weight gradient's tile sum over several blocks."""
    def splits(c):
        N, C, H, W, O, K, s, p, mode = c
        gy_shape = (N, O, H + 2 * p - K + 1, W + 2 * p - K + 1)
        return bwd_weight.winograd_weight_splits(O, C, winograd_tile_count(gy_shape, K))[0]
    assert max(splits(c) for c in WINOGRAD_CASES) > 1 and min(splits(c) for c in WINOGRAD_CASES) == 1


def test_winograd_runs_where_it_applies():
    """winograd launches the Winograd kernels for stride-1 3x3 (backward-input: zeros
    padding, or none) and falls back to warp_tiles elsewhere; the plans say why."""
    seen = []

    def launch(kernel, version, entry, *rest):
        seen.append(entry)
    x = np.zeros((1, 2, 8, 8), np.float32)
    fwd.conv2d_forward(np, launch, x, np.zeros((3, 2, 3, 3), np.float32), 1, 1, "zeros",
                       "winograd")
    assert seen == ["conv2d_fwd_v6_filter", "conv2d_fwd_v6_input", "conv2d_fwd_v6_gemm",
                    "conv2d_fwd_v6_output"]
    seen.clear()
    bwd_input.conv2d_backward_input(np, launch, np.zeros((1, 3, 8, 8), np.float32),
                                    np.zeros((3, 2, 3, 3), np.float32), x.shape, 1, 1,
                                    "zeros", "winograd")
    assert seen[0] == "conv2d_fwd_v6_filter"
    seen.clear()
    bwd_weight.conv2d_backward_weight(np, launch, np.zeros((1, 3, 8, 8), np.float32), x,
                                      (3, 2, 3, 3), 1, 1, "replicate", "winograd")
    assert seen == ["conv2d_fwd_v6_input", "conv2d_bwd_weight_v6_gy",
                    "conv2d_bwd_weight_v6_gemm", "conv2d_bwd_weight_v6_filter"]
    for k, s, mode in ((5, 1, "zeros"), (3, 2, "zeros"), (3, 1, "replicate")):
        seen.clear()
        w = np.zeros((3, 2, k, k), np.float32)
        Ho = (8 + 2 - k) // s + 1
        if mode == "zeros":
            fwd.conv2d_forward(np, launch, x, w, s, 1, mode, "winograd")
            assert fwd.plan(x.shape, w.shape, s, 1, mode, "winograd").runs == "warp_tiles"
        bwd_input.conv2d_backward_input(np, launch, np.zeros((1, 3, Ho, Ho), np.float32), w,
                                        x.shape, s, 1, mode, "winograd")
        reason = bwd_input.plan(x.shape, w.shape, s, 1, mode, "winograd").reason
        assert reason.startswith("winograd runs warp_tiles: winograd.cu"), reason
        if k != 3 or s != 1:
            bwd_weight.conv2d_backward_weight(np, launch, np.zeros((1, 3, Ho, Ho), np.float32),
                                              x, w.shape, s, 1, mode, "winograd")
        assert not any("v6" in e for e in seen), (k, s, mode, seen)


def test_fallbacks_are_planned_and_explained():
    """What runs instead, and why, comes from each folder's versions.py: warp_tiles and
    tf32x3 backward-input run reg_tiles at stride 2, and reg_tiles past 32767 pixels a side
    (16-bit tap coordinates); split_channel's forward is per_channel's."""
    p = bwd_input.plan((1, 2, 9, 9), (3, 2, 3, 3), 2, 1, "zeros", "warp_tiles")
    assert p.runs == "reg_tiles" and "stride 2" in p.reason, p
    p = fwd.plan((1, 1, 40000, 8), (3, 1, 3, 3), 1, 1, "zeros", "tf32x3")
    assert p.runs == "reg_tiles" and "16 bits" in p.reason, p
    p = fwd.plan((1, 1, 40000, 8), (3, 1, 5, 5), 1, 1, "zeros", "winograd")
    assert p.runs == "reg_tiles" and p.reason.count(" runs ") == 2, p      # two steps
    assert fwd.plan((1, 1, 9, 9), (3, 1, 3, 3), 1, 1, "zeros", "warp_tiles").reason == ""
    p = bias_act.plan("forward", "split_channel")
    assert p.runs == "per_channel" and "backward only" in p.reason, p
    assert bias_act.plan("backward", "split_channel").runs == "split_channel"
    with pytest.raises(ValueError, match="no cuda version 'row_gemm'"):
        fwd.plan((1, 1, 9, 9), (3, 1, 3, 3), 1, 1, "zeros", "row_gemm")


@DTYPES
@VERSIONS
@CASES
def test_conv_backward_weight(emu, case, version, dtype):
    check_backward_weight(emu, case, version, dtype)


@st.composite
def random_conv_case(draw):
    """A random small convolution: odd sizes, kernel up to 5, stride 1-2, padding up to
    the kernel size (wider than small images), either padding mode; channel counts cross
    a 64-row tile now and then."""
    K = draw(st.integers(1, 5))
    s = draw(st.integers(1, 2))
    p = draw(st.integers(0, K))
    H = draw(st.integers(max(1, K - 2 * p), 12))
    W = draw(st.integers(max(1, K - 2 * p), 12))
    N = draw(st.integers(1, 3))
    C = draw(st.sampled_from([1, 2, 3, 5, 7, 16, 33]))
    O = draw(st.sampled_from([1, 2, 3, 5, 9, 65]))
    mode = draw(st.sampled_from(["zeros", "replicate"]))
    return (N, C, H, W, O, K, s, p, mode)


@settings(deadline=None)
@given(case=random_conv_case(), version=st.sampled_from(CONV_VERSIONS),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_conv_random_shapes(emu, case, version, dtype, seed):
    """All three passes of one version on a hypothesis-drawn shape and data."""
    check_forward(emu, case, version, dtype, seed)
    check_backward_input(emu, case, version, dtype, seed)
    check_backward_weight(emu, case, version, dtype, seed)


# warp_tiles forward / backward-input on the 64 x 128 tile (entries *_v4_n128), which the
# launch plan picks by its wave model on the real SM count; forced here on the cases that cross
# a 128-column tile with a partial last tile (396, 270 pixels; 70 rows; C = 66), plus a
# replicate-padding case with one partial tile.
N128_CASES = [c for c in CONV_CASES if c[0] * c[2] * c[3] > 128 and c[6] == 1] + [
    (1, 2, 9, 13, 3, 3, 1, 1, "replicate")]
N128_IDS = ["x".join(map(str, c[:8])) + "-" + c[8] for c in N128_CASES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", N128_CASES, ids=N128_IDS)
def test_conv_warp_tiles_n128_tile(emu, case, dtype):
    N, C, H, W, O, K, s, p, mode = case
    x, w, gy = _conv_inputs(case, dtype)
    x64, w64, gy64 = (a.astype(np.float64) for a in (x, w, gy))
    entries = []

    def launch(kernel, version, entry, *rest):
        entries.append(entry)
        return emu.launch(kernel, version, entry, *rest)
    with fwd.force_warp_tile(128):
        y = fwd.conv2d_forward(XP, launch, x, w, s, p, mode, "warp_tiles")
        gx = bwd_input.conv2d_backward_input(XP, launch, gy, w, x.shape, s, p, mode,
                                             "warp_tiles")
    assert entries[:2] == ["conv2d_fwd_v4_n128", "conv2d_bwd_input_v4_n128"]
    want = ref.conv2d_forward(x64, w64, s, p, mode)
    scale = ref.conv2d_forward(np.abs(x64), np.abs(w64), s, p, mode)
    assert_close("conv2d_fwd v4_n128", y, want, 2 * C * K * K * EPS[dtype] * scale + 1e-300)
    want = ref.conv2d_backward_input(gy64, w64, x.shape, s, p, mode)
    scale = ref.conv2d_backward_input(np.abs(gy64), np.abs(w64), x.shape, s, p, mode)
    terms = O * K * K + (p + 1) ** 2
    assert_close("conv2d_bwd_input v4_n128", gx, want, 2 * terms * EPS[dtype] * scale + 1e-300)
    # same engine, same per-output summation order: bit-identical to the 64 x 256 tile
    with fwd.force_warp_tile(256):
        np.testing.assert_array_equal(y, fwd.conv2d_forward(XP, emu.launch, x, w, s, p,
                                                            mode, "warp_tiles"))
        np.testing.assert_array_equal(gx, bwd_input.conv2d_backward_input(
            XP, emu.launch, gy, w, x.shape, s, p, mode, "warp_tiles"))


def test_warp_tile_choice():
    """The wave model: VDSR (64 x 64*41*41) on 132 SMs takes the 64 x 128 tile, 256 on a
    tie; the SM count comes from launch.sm_count when the launcher has one."""
    assert fwd.warp_tile_for(64, 64 * 41 * 41, 132).BN == 128
    assert fwd.warp_tile_for(64, 64 * 41 * 41, 132, np.float64).BN == 256
    assert fwd.warp_tile_for(64, 1000, 132).BN == 256
    assert any(c[0] * c[2] * c[3] > 128 and c[0] * c[2] * c[3] % 128 for c in N128_CASES)
    assert any(c[4] > 64 and c[4] % 64 for c in N128_CASES)
    assert any(c[1] > 64 and c[1] % 64 for c in N128_CASES)
    seen = []

    def launch(kernel, version, entry, *rest):
        seen.append(entry)
    x = np.zeros((3, 23, 11, 12), np.float32)
    w = np.zeros((70, 23, 3, 3), np.float32)
    fwd.conv2d_forward(np, launch, x, w, 1, 1, "zeros", "warp_tiles")   # DEFAULT_SMS: 132
    launch.sm_count = lambda: 3        # 4 big blocks (2 on one SM) vs 8 small (3 on one)
    fwd.conv2d_forward(np, launch, x, w, 1, 1, "zeros", "warp_tiles")
    bwd_input.conv2d_backward_input(np, launch, np.zeros((3, 23, 11, 12), np.float32),  # C = 70
                                    w.transpose(1, 0, 2, 3).copy(), (3, 70, 11, 12), 1, 1,
                                    "zeros", "warp_tiles")
    assert seen == ["conv2d_fwd_v4", "conv2d_fwd_v4_n128", "conv2d_bwd_input_v4_n128"]
    with pytest.raises(ValueError):
        with fwd.force_warp_tile(64):
            pass


@pytest.mark.parametrize("version", ["reg_tiles", "warp_tiles", "tf32x3"])
def test_bwd_weight_splits_exercised(version):
    """The small cases above must include split-K (several partial buffers)."""
    splits = [bwd_weight.split_geometry(version, c[4], c[1] * c[5] ** 2,
                                        c[0] * ((c[2] + 2 * c[7] - c[5]) // c[6] + 1) *
                                        ((c[3] + 2 * c[7] - c[5]) // c[6] + 1))[2]
              for c in CONV_CASES]
    assert max(splits) > 1 and min(splits) == 1


def test_warp_tiles_crossed():
    """Some case crosses a warp_tiles / tf32x3 tile edge in each GEMM dimension, with a
    partial last tile."""
    fwd_rows = [c[4] for c in CONV_CASES]                                  # O
    pixels = [c[0] * ((c[2] + 2 * c[7] - c[5]) // c[6] + 1) *
              ((c[3] + 2 * c[7] - c[5]) // c[6] + 1) for c in CONV_CASES]  # N*Ho*Wo
    big, wtile = tiles.WARP_TILE, tiles.WARP_TILE_W
    assert any(r > big.BM and r % big.BM for r in fwd_rows)
    assert any(p > big.BN and p % big.BN for p in pixels)
    assert any(c[1] > big.BM and c[1] % big.BM for c in CONV_CASES)   # bwd-input C
    ckk = [c[1] * c[5] ** 2 for c in CONV_CASES]
    assert any(n > wtile.BN and n % wtile.BN for n in ckk)             # warp_tiles bwd-weight
    assert any(n > big.BN and n % big.BN for n in ckk)                 # tf32x3 backward-weight


# the last two split split_channel's backward: 4 chunks of 1538 inside and across the
# 3075-pixel planes; 3 chunks of 1367 spanning many 100-pixel planes
# (test_bias_split_channel_splits_exercised)
BIAS_SHAPES = [(3, 5, 4, 7), (2, 1, 1, 1), (1, 3, 300), (4, 6), (2, 70, 3, 3), (2, 3, 3075),
               (41, 2, 100)]
BIAS_VERSIONS = list(cuda_loader.versions("bias_act"))


def _bias_splits(shape):
    inner = int(np.prod(shape[2:]))
    return bias_act.bias_grad_splits(shape[1], shape[0] * inner, tiles.DEFAULT_SMS) + (inner,)


def test_bias_split_channel_splits_exercised():
    """The cases above include one split, chunks shorter than a plane and chunks spanning
    several planes, with boundaries that do not fall on plane edges."""
    cases = [_bias_splits(s) for s in BIAS_SHAPES]
    assert any(n == 1 for n, _, _ in cases)
    assert any(n > 1 and chunk < inner and chunk % inner for n, chunk, inner in cases)
    assert any(n > 1 and chunk > 2 * inner and chunk % inner for n, chunk, inner in cases)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("version", BIAS_VERSIONS)
@pytest.mark.parametrize("act,slope", [("none", 0.0), ("relu", 0.0), ("leaky_relu", 0.2)])
@pytest.mark.parametrize("shape", BIAS_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_bias_act(emu, shape, act, slope, version, dtype):
    check_bias_act(emu, shape, act, slope, version, dtype)


@settings(deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=2, max_size=4).map(tuple),
       act=st.sampled_from([("none", 0.0), ("relu", 0.0), ("leaky_relu", 0.2)]),
       version=st.sampled_from(BIAS_VERSIONS), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_bias_act_random_shapes(emu, shape, act, version, dtype, seed):
    check_bias_act(emu, shape, act[0], act[1], version, dtype, seed)


@settings(deadline=None)
@given(n=st.integers(1, 12), c=st.integers(1, 3), inner=st.integers(1, 4000),
       act=st.sampled_from([("none", 0.0), ("relu", 0.0), ("leaky_relu", 0.2)]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_bias_act_split_channel_random_splits(emu, n, c, inner, act, dtype, seed):
    """split_channel's backward on drawn (N, C, inner): up to 12 x 4000 elements a channel,
    so from one split up to 24 chunks of arbitrary alignment."""
    check_bias_act(emu, (n, c, inner), act[0], act[1], "split_channel", dtype, seed)


def check_bias_act(emu, shape, act, slope, version, dtype, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    for bias in (b, None):
        y = bias_act.bias_act_forward(XP, emu.launch, x, bias, act, slope, version)
        want = ref.bias_act_forward(x.astype(np.float64),
                                    None if bias is None else bias.astype(np.float64), act, slope)
        assert_close(f"bias_act_fwd {version}", y, want,
                     4 * EPS[dtype] * (np.abs(want) + np.abs(x)) + 1e-300)
    y = ref.bias_act_forward(x, b, act, slope)              # the same rounded y both sides
    gx, gb = bias_act.bias_act_backward(XP, emu.launch, gy, y, act, slope, version)
    want_x, want_b = ref.bias_act_backward(gy.astype(np.float64), y.astype(np.float64), act,
                                           slope)
    assert_close(f"bias_act_bwd {version} gx", gx, want_x, 2 * EPS[dtype] * np.abs(want_x) + 1e-300)
    n = gy.size // shape[1]
    scale = np.abs(gy.astype(np.float64)).sum(axis=(0,) + tuple(range(2, gy.ndim)))
    assert_close(f"bias_act_bwd {version} gb", gb, want_b, 2 * n * EPS[dtype] * scale + 1e-300)
    EMULATED.add(("bias_act", version))


OPTIM_VERSIONS = list(cuda_loader.versions("optim_update"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("version", OPTIM_VERSIONS)
@pytest.mark.parametrize("n", [1, 257, 5000])
def test_optim_update(emu, n, version, dtype):
    check_optim_update(emu, n, version, dtype)


@settings(deadline=None)
@given(n=st.integers(1, 3000), version=st.sampled_from(OPTIM_VERSIONS),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_optim_update_random_sizes(emu, n, version, dtype, seed):
    check_optim_update(emu, n, version, dtype, seed)


def check_optim_update(emu, n, version, dtype, seed=2):
    rng = np.random.default_rng(seed)
    p0, g, buf0 = (rng.standard_normal(n).astype(dtype) for _ in range(3))
    m0, v0 = rng.random(n).astype(dtype), rng.random(n).astype(dtype)
    tol = 64 * EPS[dtype]
    for momentum, wd, with_buf in [(0.9, 0.01, True), (0.0, 0.0, False)]:
        p1, b1 = p0.copy(), buf0.copy()
        optim.sgd_step(XP, emu.launch, p1, g, b1 if with_buf else None, 0.1, momentum, wd,
                       version)
        p2, b2 = p0.copy(), buf0.copy()
        ref.sgd_step(p2, g, b2 if with_buf else None, 0.1, momentum, wd)
        np.testing.assert_allclose(p1, p2, rtol=tol, atol=tol)
        np.testing.assert_allclose(b1, b2, rtol=tol, atol=tol)
    p1, m1, v1 = p0.copy(), m0.copy(), v0.copy()
    optim.adam_step(XP, emu.launch, p1, g, m1, v1, 7, 1e-2, 0.9, 0.999, 1e-8, 0.01, version)
    p2, m2, v2 = p0.copy(), m0.copy(), v0.copy()
    ref.adam_step(p2, g, m2, v2, 7, 1e-2, 0.9, 0.999, 1e-8, 0.01)
    for a, b in [(p1, p2), (m1, m2), (v1, v2)]:
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    EMULATED.add(("optim_update", version))


def test_launch_checks_arguments(emu):
    """The shared signature check rejects what CuPy would silently accept."""
    x = np.zeros((1, 1, 3, 3), np.float32)
    w = np.zeros((1, 1, 3, 3), np.float64)
    with pytest.raises(TypeError):
        fwd.conv2d_forward(np, emu.launch, x, w, 1, 1, "zeros", "reg_tiles")
    y = np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError):   # non-contiguous output
        emu.launch("conv2d_fwd", "direct", "conv2d_fwd_v1", np.float32, (1, 1, 1), (256, 1, 1),
                   x, x, np.zeros((1, 1, 3, 6), np.float32)[..., ::2],
                   *([1] * 12))
    with pytest.raises(TypeError):    # a float where an int belongs
        emu.launch("conv2d_fwd", "direct", "conv2d_fwd_v1", np.float32, (1, 1, 1), (256, 1, 1),
                   x, x, y, 1.0, *([1] * 11))


@pytest.mark.parametrize("model_name, versions", [
    ("srcnn", {}),                                          # the default versions
    ("vdsr", {"conv2d_fwd": "winograd", "conv2d_bwd_input": "winograd",   # in a training step
              "conv2d_bwd_weight": "winograd"}),
], ids=["srcnn-default", "vdsr-winograd"])
def test_cupy_backend_trains_like_numpy_ref(emu, monkeypatch, model_name, versions):
    """The whole "cuda" path without a GPU: tinysr.backend.cupy_gpu imported with NumPy
    standing in for CuPy and the emulator for the launcher; three training steps (SRCNN,
    or a small VDSR, all 3x3 convolutions, on v6) on device "cuda" must match the NumPy
    reference backend step for step."""
    import sys
    import types
    import tinysr
    from tinysr import functional as F
    from tinysr.backend import use_cpu_backend
    from tinysr.models import SRCNN, VDSR

    fake = types.ModuleType("cupy")
    fake.__dict__.update({k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    fake.asnumpy = np.asarray
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.delitem(sys.modules, "tinysr.backend.cupy_gpu", raising=False)
    # import_module, not "from tinysr.backend import cupy_gpu": after an earlier run the
    # package attribute still names that run's module, which the device lookup no longer sees
    cupy_gpu = importlib.import_module("tinysr.backend.cupy_gpu")
    launched = set()

    def launch(kernel, version, entry, *rest):
        launched.add(entry)
        return emu.launch(kernel, version, entry, *rest)
    monkeypatch.setattr(cupy_gpu, "_launch", launch)
    for kernel, version in versions.items():
        monkeypatch.setitem(cupy_gpu.VERSION, kernel, version)

    def run(device):
        rng = np.random.default_rng(5)
        if model_name == "srcnn":
            model, out = SRCNN(f1=9, f2=1, f3=5, seed=0), 5
        else:
            model, out = VDSR(depth=3, width=8, seed=0), 17
        model = model.to(device)
        # VDSR on winograd: SGD, whose step is linear in the gradient. Adam divides by the
        # gradient's running magnitude, which turns the last-bit differences of a
        # near-zero gradient element (Winograd rounds differently) into whole-step ones.
        opt = (tinysr.optim.Adam(model.parameters(), lr=1e-3) if model_name == "srcnn" else
               tinysr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
        x = tinysr.tensor(rng.random((2, 1, 17, 17), dtype=np.float32)).to(device)
        t = tinysr.tensor(rng.random((2, 1, out, out), dtype=np.float32)).to(device)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = F.mse_loss(model(x), t)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.numpy() for p in model.parameters()]

    try:
        got, got_p = run("cuda")
    finally:
        sys.modules.pop("tinysr.backend.cupy_gpu", None)
    with use_cpu_backend("numpy"):
        want, want_p = run("cpu")
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(got_p, want_p):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    if versions:    # winograd: every pass of every layer ran Winograd, none warp_tiles (v4)
        assert {"conv2d_fwd_v6_gemm", "conv2d_bwd_weight_v6_gemm"} <= launched
        assert not any("_v4" in e for e in launched), sorted(launched)
    else:
        assert not any("_v6_" in e for e in launched)


def test_every_version_was_emulated(request, capsys):
    """Summary: which (kernel, version) pairs this run emulated (all, in a full run)."""
    everything = {(k, v) for k in cuda_loader.KERNELS for v in cuda_loader.versions(k)}
    with capsys.disabled():
        print(f"\n[cuda emulation] {len(EMULATED)} of {len(everything)} kernel versions "
              f"emulated and matched numpy_ref: "
              + ", ".join(f"{k} {v}" for k, v in sorted(EMULATED)))
    selected = request.config.getoption("-k") or request.config.getoption("-m")
    if not selected:
        assert EMULATED == everything, f"not emulated: {sorted(everything - EMULATED)}"
