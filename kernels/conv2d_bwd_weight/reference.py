"""float64 NumPy reference for conv2d backward-weight (+ bias): loops first, then vectorised."""
import numpy as np

from ..im2col.reference import im2col, pad


def conv2d_bwd_weight_loops(gy, x, w_shape, stride=1, p=0, padding_mode="zeros"):
    xp = pad(x.astype(np.float64), p, padding_mode)
    n_out, n_ch, kh, kw = w_shape
    n_img, _, ho, wo = gy.shape
    gw = np.zeros(w_shape)
    gb = np.zeros(n_out)
    for n in range(n_img):
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    gb[o] += gy[n, o, i, j]
                    for c in range(n_ch):
                        for a in range(kh):
                            for b in range(kw):
                                gw[o, c, a, b] += gy[n, o, i, j] * xp[n, c, i * stride + a, j * stride + b]
    return gw, gb


def conv2d_bwd_weight(gy, x, w_shape, stride=1, p=0, padding_mode="zeros"):
    """gw = sum over images of gy[n] (O, P) @ cols[n]^T (P, K): one einsum."""
    kh, kw = w_shape[2:]
    cols = im2col(x.astype(np.float64), kh, kw, stride, p, padding_mode)
    g = gy.reshape(gy.shape[0], gy.shape[1], -1).astype(np.float64)
    gw = np.einsum("nop,nkp->ok", g, cols).reshape(w_shape)
    return gw, g.sum(axis=(0, 2))


def winograd_weight_magnitude(gy, x, p=0, padding_mode="zeros", r=3):
    """The error scale of a Winograd F(m x m, r x r) weight gradient (CUDA v6: r = 3;
    Numba v6: r = 3 or 5), in float64: its computation on absolute values,
        |G^T| (sum over tiles t of (|A| |dY_t| |A^T|) (.) (|B^T| |d_t| |B|)) |G|
    for every (o, c), with d_t the padded, zero-extended input tiles (as the forward's
    winograd_magnitude) and dY_t the m x m tiles of gy, zero past its edge. Stride 1."""
    from ..conv2d_fwd.winograd_matrices import matrices
    m, at, g, bt = matrices(r)
    at, g, bt = np.abs(at), np.abs(g), np.abs(bt)
    alpha = m + r - 1
    xq_ = pad(np.abs(x).astype(np.float64), p, padding_mode)
    n_img, n_ch, hp, wp = xq_.shape
    _, n_out, ho, wo = gy.shape
    nth, ntw = -(-ho // m), -(-wo // m)
    xq = np.zeros((n_img, n_ch, nth * m + r - 1, ntw * m + r - 1))
    xq[:, :, :hp, :wp] = xq_
    tiles = np.lib.stride_tricks.sliding_window_view(xq, (alpha, alpha), axis=(2, 3))[:, :, ::m, ::m]
    v = np.einsum("ik,ncstkl,jl->ncstij", bt, tiles, bt)
    gq = np.zeros((n_img, n_out, nth * m, ntw * m))
    gq[:, :, :ho, :wo] = np.abs(gy)
    dy = gq.reshape(n_img, n_out, nth, m, ntw, m).transpose(0, 1, 2, 4, 3, 5)
    yh = np.einsum("ki,nostkl,lj->nostij", at, dy, at)
    du = np.einsum("nostij,ncstij->ocij", yh, v)
    return np.einsum("ip,ocij,jq->ocpq", g, du, g)
