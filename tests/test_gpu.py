"""The CUDA backend on a real GPU: every kernel version, the whole contract, a training step.

All tests carry the ``gpu`` marker; conftest.py skips them with a reason when CuPy or a
GPU is missing. CuPy is imported inside the tests, never at collection time. The kernel
checks reuse the emulator tests' cases and error bounds (tests/test_cuda_emulation.py),
so the CPU emulation and the GPU check exactly the same claims.
"""
import os

import numpy as np
import pytest

from tinysr.backend import cuda_loader
from tinysr.backend import numpy_ref as ref
from tinysr.kernels.bias_act import launch as bias_act
from tinysr.kernels.conv2d_bwd_input import launch as bwd_input
from tinysr.kernels.conv2d_bwd_weight import launch as bwd_weight
from tinysr.kernels.conv2d_fwd import launch as fwd
from tinysr.kernels.optim_update import launch as optim
from tinysr.testing import conv_error_bound

pytestmark = pytest.mark.gpu

EPS = {np.float32: 2.0 ** -24, np.float64: 2.0 ** -53}
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
# N, C, H, W, O, K, stride, pad, mode: odd sizes, tile edges, stride 2, both paddings, and
# one VDSR-sized layer so that the big-grid paths (many tiles, many splits) run too.
CASES = [
    (2, 3, 7, 9, 5, 3, 1, 1, "zeros"),
    (1, 3, 11, 10, 2, 5, 2, 2, "replicate"),
    (2, 17, 9, 9, 66, 3, 1, 1, "replicate"),
    (1, 2, 14, 12, 3, 11, 2, 0, "replicate"),
    (3, 5, 8, 7, 9, 4, 2, 1, "zeros"),
    (4, 64, 41, 41, 64, 3, 1, 1, "zeros"),
    (8, 1, 33, 33, 64, 9, 1, 0, "zeros"),
]
IDS = ["x".join(map(str, c[:8])) + "-" + c[8] for c in CASES]


@pytest.fixture(scope="module")
def cp():
    import cupy
    if os.environ.get("TINYSR_CUPY_NO_POOL"):
        # every array its own cudaMalloc, so compute-sanitizer's memcheck sees an access
        # past an array's end (inside CuPy's pool it lands in a neighbour: no report)
        cupy.cuda.set_allocator(None)
    return cupy


class _Poisoned:
    """CuPy, except that new arrays are full of NaN (an unwritten output shows up)."""

    def __init__(self, cupy):
        self._cp = cupy

    def __getattr__(self, name):
        return getattr(self._cp, name)

    def empty(self, shape, dtype=float):
        return self._cp.full(shape, np.nan, dtype=dtype)


def _check(name, got, want, bound):
    got = np.asarray(got, dtype=np.float64)
    err = np.abs(got - want)
    bad = ~(err <= bound)
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        pytest.fail(f"{name}: {int(bad.sum())} of {bad.size} outside the bound; first at {i}: "
                    f"{got[i]:.9g} vs {want[i]:.9g} (bound {bound[i]:.3g})")


def _inputs(case, dtype):
    N, C, H, W, O, K, s, p, mode = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C, K, K)).astype(dtype)
    Ho, Wo = (H + 2 * p - K) // s + 1, (W + 2 * p - K) // s + 1
    gy = rng.standard_normal((N, O, Ho, Wo)).astype(dtype)
    return x, w, gy


@DTYPES
@pytest.mark.parametrize("version", cuda_loader.versions("conv2d_fwd"))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_versions(cp, case, version, dtype):
    """Every pass of every version against numpy_ref (winograd: Winograd where it applies)."""
    N, C, H, W, O, K, s, p, mode = case
    x, w, gy = _inputs(case, dtype)
    xp = _Poisoned(cp)
    L = cuda_loader.launch
    X, Wt, GY = cp.asarray(x), cp.asarray(w), cp.asarray(gy)
    x64, w64, gy64 = (a.astype(np.float64) for a in (x, w, gy))
    ax, agy = np.abs(x64), np.abs(gy64)
    eps = EPS[dtype]

    y = fwd.conv2d_forward(xp, L, X, Wt, s, p, mode, version)
    _check(f"fwd {version}", cp.asnumpy(y), ref.conv2d_forward(x64, w64, s, p, mode),
           conv_error_bound("conv2d_fwd", version, x, w, x.shape, s, p, mode) + 1e-300)

    gx = bwd_input.conv2d_backward_input(xp, L, GY, Wt, x.shape, s, p, mode, version)
    _check(f"bwd_input {version}", cp.asnumpy(gx),
           ref.conv2d_backward_input(gy64, w64, x.shape, s, p, mode),
           conv_error_bound("conv2d_bwd_input", version, gy, w, x.shape, s, p, mode) + 1e-300)

    gw, gb = bwd_weight.conv2d_backward_weight(xp, L, GY, X, w.shape, s, p, mode, version)
    want_w, want_b = ref.conv2d_backward_weight(gy64, x64, w.shape, s, p, mode)
    _, sb = ref.conv2d_backward_weight(agy, ax, w.shape, s, p, mode)
    terms = gy.size // O + 512                  # pixels, plus the split-K partial sums
    _check(f"bwd_weight {version} gw", cp.asnumpy(gw), want_w,
           conv_error_bound("conv2d_bwd_weight", version, gy, x, w.shape, s, p, mode) + 1e-300)
    _check(f"bwd_weight {version} gb", cp.asnumpy(gb), want_b, 2 * terms * eps * sb + 1e-300)


@DTYPES
@pytest.mark.parametrize("version", cuda_loader.versions("bias_act"))
@pytest.mark.parametrize("act,slope", [("none", 0.0), ("relu", 0.0), ("leaky_relu", 0.2)])
@pytest.mark.parametrize("shape", [(5, 70, 9, 11), (16, 64, 41, 41)], ids=["small", "vdsr16"])
def test_bias_act_versions(cp, shape, act, slope, version, dtype):
    """16 VDSR activations split split_channel's backward (14 ways on 114 or 132 SMs)."""
    rng = np.random.default_rng(1)
    C = shape[1]
    x = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(C).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    xp, L, eps = _Poisoned(cp), cuda_loader.launch, EPS[dtype]
    y = bias_act.bias_act_forward(xp, L, cp.asarray(x), cp.asarray(b), act, slope, version)
    want = ref.bias_act_forward(x.astype(np.float64), b.astype(np.float64), act, slope)
    _check(f"bias_act_fwd {version}", cp.asnumpy(y), want,
           4 * eps * (np.abs(want) + np.abs(x)) + 1e-300)
    yr = ref.bias_act_forward(x, b, act, slope)
    gx, gb = bias_act.bias_act_backward(xp, L, cp.asarray(gy), cp.asarray(yr), act, slope,
                                        version)
    wx, wb = ref.bias_act_backward(gy.astype(np.float64), yr.astype(np.float64), act, slope)
    _check(f"bias_act_bwd {version} gx", cp.asnumpy(gx), wx, 2 * eps * np.abs(wx) + 1e-300)
    n = gy.size // C
    _check(f"bias_act_bwd {version} gb", cp.asnumpy(gb), wb,
           2 * n * eps * np.abs(gy.astype(np.float64)).sum(axis=(0, 2, 3)) + 1e-300)


@DTYPES
@pytest.mark.parametrize("version", cuda_loader.versions("optim_update"))
def test_optim_versions(cp, version, dtype):
    rng = np.random.default_rng(2)
    n = 100_003
    p0, g, buf0 = (rng.standard_normal(n).astype(dtype) for _ in range(3))
    m0, v0 = rng.random(n).astype(dtype), rng.random(n).astype(dtype)
    L, tol = cuda_loader.launch, 64 * EPS[dtype]
    P, B = cp.asarray(p0), cp.asarray(buf0)
    optim.sgd_step(cp, L, P, cp.asarray(g), B, 0.1, 0.9, 0.01, version)
    p1, b1 = p0.copy(), buf0.copy()
    ref.sgd_step(p1, g, b1, 0.1, 0.9, 0.01)
    np.testing.assert_allclose(cp.asnumpy(P), p1, rtol=tol, atol=tol)
    np.testing.assert_allclose(cp.asnumpy(B), b1, rtol=tol, atol=tol)
    P, M, V = cp.asarray(p0), cp.asarray(m0), cp.asarray(v0)
    optim.adam_step(cp, L, P, cp.asarray(g), M, V, 5, 1e-2, 0.9, 0.999, 1e-8, 0.01, version)
    p2, m2, v2 = p0.copy(), m0.copy(), v0.copy()
    ref.adam_step(p2, g, m2, v2, 5, 1e-2, 0.9, 0.999, 1e-8, 0.01)
    for a, b in [(P, p2), (M, m2), (V, v2)]:
        np.testing.assert_allclose(cp.asnumpy(a), b, rtol=tol, atol=tol)


@DTYPES
def test_backend_contract(cp, dtype):
    """The cupy backend module (default versions) against numpy_ref, primitive by primitive."""
    from tinysr import backend as backends
    be = backends.get("cuda")
    assert be.NAME == "cupy" and be.xp is cp
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 13, 12)).astype(dtype)
    w = rng.standard_normal((7, 6, 3, 3)).astype(dtype)
    X, Wt = be.asarray(x), be.asarray(w)
    assert isinstance(X, cp.ndarray) and X.dtype == dtype
    rtol = 1e-4 if dtype == np.float32 else 1e-11
    for mode in ("zeros", "replicate"):
        y = be.conv2d_forward(X, Wt, 2, 1, mode)
        np.testing.assert_allclose(be.to_numpy(y), ref.conv2d_forward(x, w, 2, 1, mode),
                                   rtol=rtol, atol=rtol * 10)
        gy = rng.standard_normal(y.shape).astype(dtype)
        gx = be.conv2d_backward_input(be.asarray(gy), Wt, x.shape, 2, 1, mode)
        np.testing.assert_allclose(be.to_numpy(gx),
                                   ref.conv2d_backward_input(gy, w, x.shape, 2, 1, mode),
                                   rtol=rtol, atol=rtol * 10)
        gw, gb = be.conv2d_backward_weight(be.asarray(gy), X, w.shape, 2, 1, mode)
        rw, rb = ref.conv2d_backward_weight(gy, x, w.shape, 2, 1, mode)
        np.testing.assert_allclose(be.to_numpy(gw), rw, rtol=rtol, atol=rtol * 10)
        np.testing.assert_allclose(be.to_numpy(gb), rb, rtol=rtol, atol=rtol * 10)
    b = rng.standard_normal(6).astype(dtype)
    y = be.bias_act_forward(X, be.asarray(b), "leaky_relu", 0.1)
    np.testing.assert_allclose(be.to_numpy(y), ref.bias_act_forward(x, b, "leaky_relu", 0.1),
                               rtol=rtol)
    gx, gb = be.bias_act_backward(X, y, "relu", 0.0)
    rx, rb = ref.bias_act_backward(x, be.to_numpy(y), "relu", 0.0)
    np.testing.assert_allclose(be.to_numpy(gx), rx, rtol=rtol)
    np.testing.assert_allclose(be.to_numpy(gb), rb, rtol=rtol, atol=rtol * 10)


def test_launch_rejects_bad_arguments(cp):
    x = cp.zeros((1, 1, 4, 4), cp.float32)
    w = cp.zeros((1, 1, 3, 3), cp.float64)
    with pytest.raises(TypeError):
        fwd.conv2d_forward(cp, cuda_loader.launch, x, w, 1, 1, "zeros", "reg_tiles")
    with pytest.raises(TypeError):
        cuda_loader.launch("conv2d_fwd", "direct", "conv2d_fwd_v1", np.float32, (1, 1, 1),
                           (256, 1, 1), np.zeros((1, 1, 4, 4), np.float32), x, x, *([1] * 12))
    with pytest.raises(ValueError):
        cuda_loader.launch("conv2d_fwd", "direct", "conv2d_fwd_v1", np.float32, (1, 1, 1),
                           (256, 1, 1), x, x, cp.zeros((1, 1, 4, 8), cp.float32)[..., ::2],
                           *([1] * 12))


@pytest.mark.parametrize("conv_version", [None, "winograd"], ids=["default", "winograd"])
def test_training_step_stays_on_device(cp, conv_version):
    """A VDSR forward + backward + SGD step on "cuda" never synchronises with the host
    (no device -> host copy), checked with cupyx.allow_synchronize(False); with the
    default convolutions and with winograd in all three passes."""
    import contextlib
    import cupyx
    if not hasattr(cupyx, "allow_synchronize"):
        pytest.skip("this CuPy has no cupyx.allow_synchronize")
    import tinysr
    from tinysr import functional as F
    from tinysr.backend import cupy_gpu
    from tinysr.models import VDSR
    versions = (cupy_gpu.use_versions(conv2d_fwd=conv_version, conv2d_bwd_input=conv_version,
                                      conv2d_bwd_weight=conv_version)
                if conv_version else contextlib.nullcontext())
    model = VDSR(depth=4).to("cuda")
    opt = tinysr.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    rng = np.random.default_rng(4)
    x = tinysr.tensor(rng.random((2, 1, 20, 20), dtype=np.float32)).to("cuda")
    t = tinysr.tensor(rng.random((2, 1, 20, 20), dtype=np.float32)).to("cuda")

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), t)
        loss.backward()
        opt.step()
        return loss

    with versions:
        step()                               # compiles every kernel first
        cp.cuda.Device().synchronize()
        with cupyx.allow_synchronize(False):
            loss = step()
    assert isinstance(loss.data, cp.ndarray)
    assert all(isinstance(p.data, cp.ndarray) for p in model.parameters())
    assert np.isfinite(loss.item())
