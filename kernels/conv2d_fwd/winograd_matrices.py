"""The Winograd transform matrices, F(m x m, r x r): A^T, G, B^T built exactly from
interpolation points, and the rounding-error term count of a Winograd convolution.

Shared by the Numba twin (winograd_numba.py, conv2d_fwd v7 on the CPU) and the CUDA
version (winograd.cu, conv2d_fwd v6 on the GPU, which receives them as an argument), so
both run the very same transforms. Pure Python and NumPy: no Numba, no CuPy.
"""
from fractions import Fraction

import numpy as np

# Interpolation points by alpha (all but the point at infinity). Small integers and 1/2
# keep the transforms well conditioned; float32 errors measured ~1e-6 x conv(|x|, |w|).
POINTS = {4: (0, 1, -1), 5: (0, 1, -1, 2), 6: (0, 1, -1, 2, -2),
          7: (0, 1, -1, 2, -2, Fraction(1, 2))}
# Output tile m for each filter size r that v7 handles (alpha = m + r - 1).
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
    weight gradient (CUDA and Numba v6) with gy of shape gy_shape: the sum over the T
    tiles (split-K or per-thread partials: at most T + T / 64 additions on any path),
    two alpha-long sums of the input transform, two m-long sums of the gy transform, one
    rounding of gw (the G transforms run in float64)."""
    m, tiles = TILE[r], winograd_tile_count(gy_shape, r)
    return tiles + tiles // 64 + 1 + 2 * (m + r - 1) + 2 * m + 1
