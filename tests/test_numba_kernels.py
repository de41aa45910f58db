"""Every Numba kernel version against the float64 NumPy reference, on hypothesis shapes.

Tolerance from the error bound (STYLE.md): a float32 sum of K products satisfies
|y - ref| <= K * 2^-24 * conv(|x|, |w|), so we compare against that, with the reference
computed in float64 from the same (float32) inputs. Outputs and work buffers are poisoned
(NaN-filled) before each call, so a kernel that skips an element cannot pass.
"""
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinysr.backend import CONTRACT, numpy_ref as R
from tinysr.kernels import cpu_common
from tinysr.kernels.bias_act import bias_act_numba as BA
from tinysr.kernels.conv2d_bwd_input import conv2d_bwd_input_numba as BI
from tinysr.kernels.conv2d_bwd_weight import conv2d_bwd_weight_numba as BW
from tinysr.kernels.conv2d_fwd import conv2d_fwd_numba as F
from tinysr.kernels import winograd_common as WG
from tinysr.kernels.optim_update import optim_update_numba as OPT
from tinysr.kernels.winograd_common import winograd_magnitude, winograd_weight_magnitude
from tinysr.kernels.winograd_common import winograd_weight_error_terms as WG_W_TERMS

UNIT = {np.float32: 2.0 ** -24, np.float64: 2.0 ** -53}
SIZES = st.sampled_from([1, 2, 3, 5, 7, 15, 16, 17])


def _nan_empty(shape, dtype):
    return np.full(shape, np.nan, dtype=dtype)


@pytest.fixture(autouse=True)
def poison(monkeypatch):
    """Every output and work buffer the kernels allocate starts as NaN."""
    monkeypatch.setattr(cpu_common, "empty", _nan_empty)
    cpu_common.WORKSPACE.clear()       # work buffers are re-made, NaN-filled, on next use
    yield
    cpu_common.WORKSPACE.clear()


@st.composite
def conv_case(draw, versions):
    """A valid conv geometry (never an empty output), sizes crossing block boundaries."""
    k = draw(st.sampled_from([1, 2, 3, 5, 11]))
    stride = draw(st.sampled_from([1, 2]))
    padding = draw(st.integers(0, min(k // 2 + 1, 3)))
    h = draw(SIZES.filter(lambda s: s + 2 * padding >= k))
    w = draw(SIZES.filter(lambda s: s + 2 * padding >= k))
    n = draw(st.integers(1, 3))
    c = draw(st.sampled_from([1, 2, 3, 17]))
    o = draw(st.sampled_from([1, 2, 5, 18]))
    mode = draw(st.sampled_from(["zeros", "replicate"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    version = draw(st.sampled_from(versions))
    return n, c, h, w, o, k, stride, padding, mode, dtype, version


def _arrays(case, seed=0):
    n, c, h, w, o, k, stride, padding, mode, dtype, _ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, k, k)).astype(dtype)
    ho = (h + 2 * padding - k) // stride + 1
    wo = (w + 2 * padding - k) // stride + 1
    gy = rng.standard_normal((n, o, ho, wo)).astype(dtype)
    return x, wt, gy


def assert_within_bound(got, ref, magnitude, terms, dtype, what):
    bound = (terms + 2) * UNIT[dtype] * magnitude + 1e-300
    err = np.abs(got.astype(np.float64) - ref)
    assert np.all(np.isfinite(got)), f"{what}: non-finite output (poisoned element not written)"
    worst = np.unravel_index(np.argmax(err / bound), err.shape)
    assert np.all(err <= bound), (f"{what}: worst at {worst}: got {got[worst]}, ref {ref[worst]}, "
                                  f"bound {bound[worst]}; {np.sum(err > bound)} mismatches")


def check_forward(case):
    x, wt, _ = _arrays(case)
    _, c, _, _, _, k, s, p, mode, dtype, version = case
    y = F.conv2d_fwd(x, wt, s, p, mode, version=version)
    ref = R.conv2d_forward(x.astype(np.float64), wt.astype(np.float64), s, p, mode)
    if F.plan(x.shape, wt.shape, s, p, mode, version).runs == "winograd":   # its own bound
        mag = winograd_magnitude(x, wt, p, mode)
        terms = WG.winograd_error_terms(c, k)
    else:
        mag = R.conv2d_forward(np.abs(x).astype(np.float64), np.abs(wt).astype(np.float64),
                               s, p, mode)
        terms = c * k * k
    assert y.dtype == dtype and y.shape == ref.shape
    assert_within_bound(y, ref, mag, terms, dtype, f"conv2d_fwd {version} {case}")


@settings(max_examples=40)
@given(conv_case(F.VERSIONS))
def test_conv2d_forward(case):
    check_forward(case)


@settings(max_examples=40)
@given(conv_case(("winograd",)))
def test_conv2d_forward_winograd(case):
    """winograd on its own (it falls back for other strides and filter sizes, so draws of
    3x3 / 5x5 stride 1 are the ones that exercise it)."""
    check_forward(case)


def check_backward_input(case):
    x, wt, gy = _arrays(case)
    _, c, _, _, o, k, s, p, mode, dtype, version = case
    gx = BI.conv2d_bwd_input(gy, wt, x.shape, s, p, mode, version=version)
    ref = R.conv2d_backward_input(gy.astype(np.float64), wt.astype(np.float64), x.shape, s, p, mode)
    if BI.plan(x.shape, wt.shape, s, p, mode, version).runs == "winograd":
        # conv2d_fwd's winograd on gy padded by k-1-p, with the flipped, transposed filters
        mag = winograd_magnitude(gy, wt[:, :, ::-1, ::-1].transpose(1, 0, 2, 3), k - 1 - p)
        terms = WG.winograd_error_terms(o, k)
    else:
        mag = R.conv2d_backward_input(np.abs(gy).astype(np.float64),
                                      np.abs(wt).astype(np.float64), x.shape, s, p, mode)
        terms = o * k * k * (2 * p + 1) ** 2     # replicate folds up to (2p+1)^2 pixels onto one
    assert gx.dtype == dtype and gx.shape == x.shape
    assert_within_bound(gx, ref, mag, terms, dtype, f"conv2d_bwd_input {version} {case}")


@settings(max_examples=40)
@given(conv_case(BI.VERSIONS))
def test_conv2d_backward_input(case):
    check_backward_input(case)


@settings(max_examples=40)
@given(conv_case(("winograd",)))
def test_conv2d_backward_input_winograd(case):
    check_backward_input(case)


@st.composite
def large_case(draw, versions):
    """Work-item geometry: one large image (row bands, winograd column blocks, the
    large-plane copy-out: planes of 64x64 and more) or a few small ones (groups), drawn
    with the default work budget or a tiny one (cpu_common.BAND_BYTES) that cuts even
    these images into many bands and blocks and groups small ones."""
    k = draw(st.sampled_from([1, 3, 5, 9]))
    stride = draw(st.sampled_from([1, 1, 2]))
    padding = draw(st.integers(0, k // 2))
    n = draw(st.sampled_from([1, 1, 2, 3]))
    side = st.sampled_from([5, 16, 33, 64, 70]) if n > 1 else st.sampled_from([33, 64, 70, 131])
    h = draw(side.filter(lambda s: s + 2 * padding >= k))
    w = draw(side.filter(lambda s: s + 2 * padding >= k))
    c = draw(st.sampled_from([1, 3, 17]))
    o = draw(st.sampled_from([1, 5, 18]))
    mode = draw(st.sampled_from(["zeros", "replicate"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    version = draw(st.sampled_from(versions))
    budget = draw(st.sampled_from([None, 1 << 12, 1 << 15]))
    return (n, c, h, w, o, k, stride, padding, mode, dtype, version), budget


@contextlib.contextmanager
def work_budget(case, budget):
    """Run case with cpu_common.BAND_BYTES = budget (None: the default); direct, too slow
    for these sizes, runs auto instead."""
    if case[-1] == "direct" and case[2] * case[3] > 64 * 64:
        case = case[:-1] + ("auto",)
    saved = cpu_common.BAND_BYTES
    cpu_common.BAND_BYTES = saved if budget is None else budget
    try:
        yield case
    finally:
        cpu_common.BAND_BYTES = saved


@settings(max_examples=30, deadline=None)
@given(large_case(F.VERSIONS))
def test_conv2d_forward_work_items(case_budget):
    """Every forward version on N = 1 large images (bands of rows; Winograd also in column
    blocks; the transposing copy-out of large planes) and on batches of small images
    (groups sharing one GEMM), odd sizes and stride 2 included."""
    with work_budget(*case_budget) as case:
        check_forward(case)


@settings(max_examples=20, deadline=None)
@given(large_case(BI.VERSIONS))
def test_conv2d_backward_input_work_items(case_budget):
    with work_budget(*case_budget) as case:
        check_backward_input(case)


@settings(max_examples=20, deadline=None)
@given(large_case(BW.VERSIONS))
def test_conv2d_backward_weight_work_items(case_budget):
    with work_budget(*case_budget) as case:
        check_backward_weight(case)


@pytest.mark.parametrize("mode", ["zeros", "replicate"])
def test_one_large_image_runs_in_bands_on_every_thread(mode):
    """The inference shapes: one image, auto picks a banded version (im2col_gemm for a
    small-C layer on a large image, winograd for 3x3 C, O >= 16, shifted_rows for O = 1),
    and the bands cover every output row exactly once."""
    assert F.plan((1, 1, 1536, 1536), (64, 1, 9, 9), 1, 4, mode).runs == "im2col_gemm"
    assert F.plan((128, 1, 33, 33), (64, 1, 9, 9), 1, 0, mode).runs == "row_gemm"   # training
    assert F.plan((1, 64, 512, 512), (64, 64, 3, 3), 1, 1, mode).runs == "winograd"
    assert F.plan((1, 32, 1536, 1536), (1, 32, 5, 5), 1, 2, mode).runs == "shifted_rows"
    for rows, row_bytes in ((1536, 1 << 20), (128, 5 << 20), (7, 100), (1, 10)):
        items, band = cpu_common.work_items(1, rows, row_bytes, 2)
        assert len(items) >= 2 or rows == 1
        covered = np.concatenate([np.arange(r0, r1) for _, _, r0, r1 in items])
        np.testing.assert_array_equal(covered, np.arange(rows))
        assert (items[:, 3] - items[:, 2]).max() == band
    items, _ = cpu_common.work_items(16, 4, 1000, 2, want_rows=32)      # tiny maps: groups
    assert len(items) == 2 and list(items[:, 1] - items[:, 0]) == [8, 8]
    check_forward((1, 17, 131, 129, 18, 3, 1, 1, mode, np.float32, "auto"))
    check_forward((1, 3, 131, 70, 18, 9, 1, 4, mode, np.float32, "auto"))
    check_forward((1, 17, 130, 131, 1, 5, 1, 2, mode, np.float32, "auto"))


def test_winograd_filter_transform_is_g_w_gt():
    from tinysr.kernels.conv2d_fwd import winograd_numba
    rng = np.random.default_rng(7)
    for r in sorted(WG.TILE):
        _, _, g, _ = WG.matrices(r)
        w = rng.standard_normal((7, 5, r, r))
        want = np.einsum("ik,ockl,jl->ijco", g, w, g).reshape(-1, 5, 7)
        np.testing.assert_allclose(winograd_numba.filter_transform(w, r), want, rtol=0,
                                   atol=1e-13)
        u32 = winograd_numba.filter_transform(w.astype(np.float32), r)
        assert u32.dtype == np.float32
        np.testing.assert_allclose(u32, want, rtol=2 ** -23, atol=2 ** -23 * np.abs(want).max())


def test_recycler_reuses_a_buffer_only_when_nothing_refers_to_it():
    rec = cpu_common.Recycler(min_bytes=1024, keep_free=2)
    a = rec.empty((16, 32), np.float32)
    addr = a.ctypes.data
    view = a[3:].reshape(-1)[::2]                  # a view of a view: refers to the buffer
    del a
    b = rec.empty((16, 32), np.float32)
    assert b.ctypes.data != addr                   # the view still holds the first buffer
    del view
    c = rec.empty((8, 64), np.float32)
    assert c.ctypes.data == addr and c.shape == (8, 64)
    d = rec.empty((4, 4), np.float64)              # small: plain np.empty, not pooled
    assert d.base is None
    e = rec.empty((2, 16, 32), np.float64)         # no free buffer of 1x to 2x its size
    assert e.nbytes == 8192 and e.ctypes.data not in (b.ctypes.data, c.ctypes.data)
    del b, c, e
    rec.empty((64, 64), np.float64)                # keeps at most 2 unused buffers
    assert len(rec._bufs) <= 3


@pytest.mark.parametrize("r", sorted(WG.TILE))
def test_winograd_matrices_compute_a_correlation(r):
    """y_i = sum_k g_k d_{i+k} == (A^T [(G g) (.) (B^T d)])_i, exactly up to float64
    rounding, for the tile sizes winograd uses; and the 2-D magnitude bound is at least the
    direct one (it sums the same products, plus transform cross terms)."""
    m, at, g, bt = WG.matrices(r)
    rng = np.random.default_rng(5)
    for _ in range(5):
        d = rng.standard_normal(m + r - 1)
        gg = rng.standard_normal(r)
        want = np.array([gg @ d[i:i + r] for i in range(m)])
        np.testing.assert_allclose(at @ ((g @ gg) * (bt @ d)), want, rtol=0, atol=1e-12)
    x = np.abs(rng.standard_normal((1, 2, 2 * r + 1, 2 * r + 3)))
    w = np.abs(rng.standard_normal((3, 2, r, r)))
    assert np.all(winograd_magnitude(x, w) >= R.conv2d_forward(x, w) * (1 - 1e-12))
    assert WG.winograd_error_terms(64, r) < 64 + 4 * (m + r)


def check_backward_weight(case):
    x, wt, gy = _arrays(case)
    n, _, _, _, _, k, s, p, mode, dtype, version = case
    gw, gb = BW.conv2d_bwd_weight(gy, x, wt.shape, s, p, mode, version=version)
    ref, refb = R.conv2d_backward_weight(gy.astype(np.float64), x.astype(np.float64), wt.shape,
                                         s, p, mode)
    mag, magb = R.conv2d_backward_weight(np.abs(gy).astype(np.float64),
                                         np.abs(x).astype(np.float64), wt.shape, s, p, mode)
    assert gw.dtype == dtype and gw.shape == wt.shape and gb.shape == (wt.shape[0],)
    terms = gy[0, 0].size * n
    assert_within_bound(gb, refb, magb, terms, dtype, f"bias grad {version} {case}")
    if BW.plan(x.shape, wt.shape, s, p, mode, version).runs == "winograd":   # its own bound
        mag, terms = winograd_weight_magnitude(gy, x, p, mode, r=k), WG_W_TERMS(gy.shape, k)
    assert_within_bound(gw, ref, mag, terms, dtype, f"conv2d_bwd_weight {version} {case}")


@settings(max_examples=40)
@given(conv_case(BW.VERSIONS))
def test_conv2d_backward_weight(case):
    check_backward_weight(case)


@settings(max_examples=40)
@given(conv_case(("winograd",)))
def test_conv2d_backward_weight_winograd(case):
    """winograd on its own: draws of 3x3 / 5x5 stride 1 exercise it, the rest fall back."""
    check_backward_weight(case)


@pytest.mark.parametrize("mode", ["zeros", "replicate"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_backward_weight_auto_takes_winograd_for_5x5(mode, dtype):
    """auto runs winograd on 3x3 and 5x5 stride-1 layers with C, O >= 16 (row_gemm for one
    large image, im2col_gemm at stride 2: see the rule)."""
    x_shape = (2, 17, 13, 12)
    assert BW.plan(x_shape, (18, 17, 5, 5), 1, 2, mode, "auto").runs == "winograd"
    assert BW.plan(x_shape, (18, 17, 3, 3), 1, 1, mode, "auto").runs == "winograd"
    assert BW.plan((1, 17, 130, 130), (18, 17, 3, 3), 1, 1, mode, "auto").runs == "row_gemm"
    assert BW.plan(x_shape, (18, 17, 3, 3), 2, 1, mode, "auto").runs == "im2col_gemm"
    assert BW.plan(x_shape, (1, 17, 5, 5), 1, 2, mode, "auto").runs == "window_gemm"
    check_backward_weight((2, 17, 13, 12, 18, 5, 1, 2, mode, dtype, "auto"))


@settings(max_examples=25)
@given(st.sampled_from(["none", "relu", "leaky_relu"]), st.booleans(),
       st.sampled_from([np.float32, np.float64]), st.lists(SIZES, min_size=1, max_size=3))
def test_bias_act(act, with_bias, dtype, trailing):
    rng = np.random.default_rng(1)
    x = rng.standard_normal([3, 4] + trailing).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if with_bias else None
    y = BA.bias_act_forward(x, b, act, 0.2)
    ref = R.bias_act_forward(x.astype(np.float64), None if b is None else b.astype(np.float64),
                             act, 0.2)
    np.testing.assert_allclose(y, ref, rtol=4 * UNIT[dtype], atol=4 * UNIT[dtype])
    gy = rng.standard_normal(x.shape).astype(dtype)
    gx, gb = BA.bias_act_backward(gy, y, act, 0.2)
    rgx, rgb = R.bias_act_backward(gy.astype(np.float64), y.astype(np.float64), act, 0.2)
    np.testing.assert_allclose(gx, rgx, rtol=2 * UNIT[dtype], atol=0)
    terms = gy.size // 4
    bound = (terms + 2) * UNIT[dtype] * np.abs(gy.astype(np.float64)).sum(axis=(0,) + tuple(range(2, gy.ndim)))
    assert np.all(np.abs(gb - rgb) <= bound)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimiser_updates(dtype):
    rng = np.random.default_rng(2)
    p = rng.standard_normal((7, 3, 3)).astype(dtype)
    g = rng.standard_normal(p.shape).astype(dtype)
    ref = [p.astype(np.float64), np.zeros(p.shape), np.zeros(p.shape)]
    got = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    for step in (1, 2, 3):
        R.adam_step(ref[0], g, ref[1], ref[2], step, 1e-2, weight_decay=0.1)
        OPT.adam_step(got[0], g, got[1], got[2], step, 1e-2, weight_decay=0.1)
        R.sgd_step(ref[0], g, ref[1], 0.1, 0.9, 1e-3)
        OPT.sgd_step(got[0], g, got[1], 0.1, 0.9, 1e-3)
        R.sgd_step(ref[0], g, None, 0.1)
        OPT.sgd_step(got[0], g, None, 0.1)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=64 * UNIT[dtype], atol=64 * UNIT[dtype])


def test_numba_backend_has_the_whole_contract():
    from tinysr.backend import numba_cpu
    assert [name for name in CONTRACT if not hasattr(numba_cpu, name)] == []


def test_non_contiguous_and_stride2_through_backend():
    from tinysr.backend import numba_cpu
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 17, 16))[:, ::2]          # a non-contiguous view
    wt = rng.standard_normal((18, 3, 3, 3))
    for mode in ("zeros", "replicate"):
        y = numba_cpu.conv2d_forward(x, wt, 2, 1, mode)
        np.testing.assert_allclose(y, R.conv2d_forward(x, wt, 2, 1, mode), rtol=1e-12, atol=1e-12)


@settings(max_examples=15)
@given(st.sampled_from([1, 2, 3, 17]), SIZES, SIZES, st.sampled_from([1, 2, 3, 5]),
       st.sampled_from([np.float32, np.float64]))
def test_row_im2col_and_its_adjoint(n_ch, hp, wp, kw, dtype):
    """rows_image / rows_t_image match their definition, and rows_adjoint_image is the exact
    adjoint: <rows(x), r> == <x, rows^T(r)> (the identity the row_gemm input gradient relies on)."""
    from tinysr.kernels.im2col.im2col_numba import rows_adjoint_image, rows_image, rows_t_image
    if wp < kw:
        wp = kw
    wo = wp - kw + 1
    rng = np.random.default_rng(4)
    xp = rng.standard_normal((n_ch, hp, wp)).astype(dtype)
    want = np.stack([xp[:, :, q:q + wo].reshape(n_ch, hp * wo) for q in range(kw)])
    want = want.reshape(kw * n_ch, hp * wo)
    rows = _nan_empty((kw * n_ch, hp * wo), dtype)
    rows_image(xp, kw, wo, rows)
    np.testing.assert_array_equal(rows, want)
    rows_t = _nan_empty((hp * wo, kw * n_ch), dtype)
    rows_t_image(xp, kw, wo, _nan_empty((hp, wp, n_ch), dtype), rows_t)
    np.testing.assert_array_equal(rows_t, want.T)
    r = rng.standard_normal(rows.shape).astype(np.float64)
    back = _nan_empty(xp.shape, np.float64)
    rows_adjoint_image(r, kw, wo, back)
    lhs = float(np.sum(want.astype(np.float64) * r))
    rhs = float(np.sum(xp.astype(np.float64) * back))
    assert abs(lhs - rhs) <= 1e-9 * (np.abs(want).sum() * np.abs(r).max() + 1)


@pytest.mark.parametrize("module", [F, BI, BW], ids=["conv2d_fwd", "conv2d_bwd_input",
                                                      "conv2d_bwd_weight"])
def test_version_table_names_the_numba_functions(module):
    """Each CPU version of the table (versions.py) is a function of the Numba module, is
    selectable, and its fallbacks report why: a stride-1 version at stride 2 runs
    im2col_gemm, winograd on a 9x9 filter runs what the auto GEMM rule picks."""
    table = module.versions.TABLE
    for name in table.names("numba"):
        assert callable(getattr(module, table.version(name).numba)), name
        assert name in module._IMPL
    plan = module.plan((2, 17, 13, 12), (18, 17, 3, 3), 2, 1, "zeros", "row_gemm")
    assert plan.runs == "im2col_gemm" and "stride 2" in plan.reason, plan
    plan = module.plan((2, 1, 13, 12), (18, 1, 9, 9), 1, 4, "zeros", "winograd")
    assert plan.runs == "row_gemm" and "auto GEMM rule" in plan.reason, plan
    assert module.plan((2, 17, 13, 12), (18, 17, 3, 3), 1, 1, "zeros", "direct") == (
        "direct", "direct", "")
    with pytest.raises(ValueError, match="other side only"):
        module.plan((2, 17, 13, 12), (18, 17, 3, 3), 1, 1, "zeros", "warp_tiles")


@pytest.mark.parametrize("kernel", ["conv2d_fwd", "conv2d_bwd_input", "conv2d_bwd_weight",
                                    "bias_act", "optim_update"])
def test_readme_tables_list_every_version(kernel):
    """Each folder README's table of versions has a row for every name of versions.py, on
    either side, and names each default."""
    import importlib
    import pathlib
    table = importlib.import_module(f"tinysr.kernels.{kernel}.versions").TABLE
    folder = pathlib.Path(importlib.import_module(f"tinysr.kernels.{kernel}").__file__).parent
    readme = (folder / "README.md").read_text()
    for name in table.versions:
        assert f"\n| `{name}`" in readme, f"{kernel}/README.md has no row for {name}"
    for side, name in table.default.items():
        label = {"cuda": "CUDA default", "numba": "Numba default"}[side]
        assert f"| `{name}` ({label})" in readme, f"{kernel}/README.md: {label} {name}"
