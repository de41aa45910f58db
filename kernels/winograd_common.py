"""Winograd F(m x m, r x r), shared by every side: the transform matrices A^T, G, B^T built
exactly from interpolation points, the rounding-error term counts, and the error scales
(the computation on absolute values) that bound a Winograd convolution's error.

Used by the Numba versions (conv2d_fwd/winograd_numba.py, the forward and, on the flipped
filters, the input gradient; conv2d_bwd_weight/winograd_bwd_weight_numba.py), the CUDA
plans (conv2d_fwd/launch.py hands the matrices to winograd.cu and winograd_bwd_weight.cu),
the check scripts and the tests, so both sides run the very same transforms and are held
to the same bounds. Pure Python and NumPy: no Numba, no CuPy.
"""
from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..backend.numpy_ref import pad_nchw

# Interpolation points by alpha (all but the point at infinity). Small integers and 1/2
# keep the transforms well conditioned; float32 errors measured ~1e-6 x conv(|x|, |w|).
POINTS = {4: (0, 1, -1), 5: (0, 1, -1, 2), 6: (0, 1, -1, 2, -2),
          7: (0, 1, -1, 2, -2, Fraction(1, 2))}
# Output tile m for each filter size r the Numba versions handle (alpha = m + r - 1). The
# CUDA version handles r = 3 only (common.cuh: WG_M, WG_R).
TILE = {3: 4, 5: 3}


def _polymul(a, b):
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, u in enumerate(a):
        for j, v in enumerate(b):
            out[i + j] += u * v
    return out


def toom_cook(m, r):
    """(A^T (m, alpha), G (alpha, r), B^T (alpha, alpha)) in float64, built exactly with
    fractions from the points (plus the point at infinity, the last row/column), so that
    y_i = sum_k g_k d_{i+k} = (A^T [(G g) (.) (B^T d)])_i for every d, g."""
    alpha = m + r - 1
    pts = [Fraction(p) for p in POINTS[alpha]]
    at, g, bt = np.zeros((m, alpha)), np.zeros((alpha, r)), np.zeros((alpha, alpha))
    for j, p in enumerate(pts):
        others = [q for l, q in enumerate(pts) if l != j]
        f = Fraction(1)
        poly = [Fraction(1)]
        for q in others:
            f *= p - q
            poly = _polymul(poly, [-q, Fraction(1)])
        at[:, j] = [float(p ** i) for i in range(m)]
        g[j] = [float(p ** k / f) for k in range(r)]
        bt[j, :len(poly)] = [float(c) for c in poly]
    full = [Fraction(1)]
    for q in pts:
        full = _polymul(full, [-q, Fraction(1)])
    at[m - 1, alpha - 1] = 1.0
    g[alpha - 1, r - 1] = 1.0
    bt[alpha - 1] = [float(c) for c in full]
    return at, g, bt


_MATS = {}


def matrices(r):
    """Cached (m, A^T, G, B^T) for filter size r."""
    if r not in _MATS:
        m = TILE[r]
        _MATS[r] = (m,) + toom_cook(m, r)
    return _MATS[r]


# ---------------------------------------------------------------- error bounds
def winograd_error_terms(n_ch, r):
    """The n of the gamma_n = n*u bound: |y - ref| <= (n + 2) u |A^T| (sum_c (|G||w||G^T|)
    (.) (|B^T||d||B|)) |A|. Two alpha-long sums for each of the input and output
    transforms, C for the channel sum, one rounding of the transformed filter."""
    m = TILE[r]
    return n_ch + 4 * (m + r - 1) + 1


def winograd_tile_count(gy_shape, r):
    """Output tiles of a Winograd F(m x m, r x r) pass over gy (N, O, Ho, Wo): N x
    ceil(Ho / m) x ceil(Wo / m), the length of the weight gradient's tile sum."""
    m = TILE[r]
    n, _, ho, wo = gy_shape
    return n * -(-ho // m) * -(-wo // m)


def winograd_weight_error_terms(gy_shape, r):
    """The n of the bound |gw - ref| <= (n + 2) u winograd_weight_magnitude for a Winograd
    weight gradient (CUDA and Numba "winograd") with gy of shape gy_shape: the sum over the
    T tiles (split-K or per-thread partials: at most T + T / 64 additions on any path),
    two alpha-long sums of the input transform, two m-long sums of the gy transform, one
    rounding of gw (the G transforms run in float64)."""
    m, tiles = TILE[r], winograd_tile_count(gy_shape, r)
    return tiles + tiles // 64 + 1 + 2 * (m + r - 1) + 2 * m + 1


def _input_tiles(x, p, padding_mode, r, ho, wo):
    """|x| padded, zero-extended to whole tiles, as (N, C, nth, ntw, alpha, alpha) windows."""
    m = TILE[r]
    alpha = m + r - 1
    xp = pad_nchw(np.abs(x).astype(np.float64), p, padding_mode)
    n_img, n_ch, hp, wp = xp.shape
    nth, ntw = -(-ho // m), -(-wo // m)
    xq = np.zeros((n_img, n_ch, nth * m + r - 1, ntw * m + r - 1))
    xq[:, :, :hp, :wp] = xp
    return sliding_window_view(xq, (alpha, alpha), axis=(2, 3))[:, :, ::m, ::m]


def winograd_magnitude(x, w, p=0, padding_mode="zeros"):
    """The error scale of a Winograd convolution (stride 1, square filters of a size in
    TILE), in float64: the same computation with every matrix and input made nonnegative,
        |A^T| (sum_c (|G| |w| |G^T|) (.) (|B^T| |d| |B|)) |A|      per output tile,
    where d are the (padded, zero-extended) input tiles. Rounding analysis bounds each
    step's error by gamma_n times this computation on absolute values, so
        |y - ref| <= (n + 2) * u * winograd_magnitude,   n = winograd_error_terms(C, r).
    It is >= conv(|x|, |w|) (the direct bound's scale): it sums the same products plus
    the transforms' cross terms."""
    w = np.abs(w).astype(np.float64)
    n_out, _, r, _ = w.shape
    m, at, g, bt = matrices(r)
    at, g, bt = np.abs(at), np.abs(g), np.abs(bt)
    ho, wo = x.shape[2] + 2 * p - r + 1, x.shape[3] + 2 * p - r + 1
    tiles = _input_tiles(x, p, padding_mode, r, ho, wo)
    n_img, nth, ntw = tiles.shape[0], tiles.shape[2], tiles.shape[3]
    v = np.einsum("ik,ncstkl,jl->ncstij", bt, tiles, bt)
    u = np.einsum("ik,ockl,jl->ocij", g, w, g)
    mm = np.einsum("ocij,ncstij->nostij", u, v)
    y = np.einsum("ik,nostkl,jl->nositj", at, mm, at)
    return y.reshape(n_img, n_out, nth * m, ntw * m)[:, :, :ho, :wo]


def winograd_weight_magnitude(gy, x, p=0, padding_mode="zeros", r=3):
    """The error scale of a Winograd F(m x m, r x r) weight gradient (CUDA: r = 3; Numba:
    r = 3 or 5), in float64: its computation on absolute values,
        |G^T| (sum over tiles t of (|A| |dY_t| |A^T|) (.) (|B^T| |d_t| |B|)) |G|
    for every (o, c), with d_t the padded, zero-extended input tiles (as in
    winograd_magnitude) and dY_t the m x m tiles of gy, zero past its edge. Stride 1."""
    m, at, g, bt = matrices(r)
    at, g, bt = np.abs(at), np.abs(g), np.abs(bt)
    n_img, n_out, ho, wo = gy.shape
    nth, ntw = -(-ho // m), -(-wo // m)
    tiles = _input_tiles(x, p, padding_mode, r, ho, wo)
    v = np.einsum("ik,ncstkl,jl->ncstij", bt, tiles, bt)
    gq = np.zeros((n_img, n_out, nth * m, ntw * m))
    gq[:, :, :ho, :wo] = np.abs(gy)
    dy = gq.reshape(n_img, n_out, nth, m, ntw, m).transpose(0, 1, 2, 4, 3, 5)
    yh = np.einsum("ki,nostkl,lj->nostij", at, dy, at)
    du = np.einsum("nostij,ncstij->ocij", yh, v)
    return np.einsum("ip,ocij,jq->ocpq", g, du, g)
