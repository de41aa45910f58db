"""conv2d backward-weight (and the bias gradient) on the CPU, by algorithm (see README.md;
the names, each one's CUDA twin and every fallback are in versions.py).

    gw[o,c,p,q] = sum_{n,i,j} gy[n,o,i,j] * xpad[n, c, i*s+p, j*s+q]
    gb[o]       = sum_{n,i,j} gy[n,o,i,j]

Both are reductions over the batch. Every algorithm gives each thread its own partial sums
(over its share of the images) and adds the partials at the end: no locks, no races, and
the same result for any thread count up to rounding.

direct        loops, one parallel iteration per (o, c) pair. Obviously right, slow.
im2col_gemm   part[t] += gy[n] (O, Ho*Wo) @ cols^T (Ho*Wo, C*kh*kw). Any stride.
shifted_rows  for tiny O (stride 1): with gy laid out in wide rows (padded width, junk
              columns zero), each tap is ONE long dot product with a shifted run of the
              flat padded image, vectorised (fastmath "reassoc" lets LLVM split the sum
              into lanes).
window_gemm   shifted-window GEMM (stride 1): per tap, part[t, tap] (O, C) += gy_wide @
              xwindow^T.
row_gemm      row im2col (stride 1): rows_image copies the padded image kw times (one shift
              per column tap q); per row tap p, part[t, p] (O, kw*C) += gy[n] (O, Ho*Wo) @
              window^T, K = Ho*Wo exact, gy read in place (no wide copy). kh sgemms instead
              of kh*kw. The partial is accumulated transposed, (kw*C, O), which SciPy's
              OpenBLAS runs ~25% faster for O = 32 (see conv2d_fwd row_gemm). 1x1 unpadded
              layers read x[n] directly.
winograd      Winograd F(m x m, r x r) (stride 1, square 3x3 or 5x5 filters;
              winograd_bwd_weight_numba.py): the adjoint of conv2d_fwd's winograd, alpha^2
              GEMMs per image over its tiles, gw = G^T dU G in float64 at the end.
auto          (DEFAULT_VERSION) picks by the shape: versions.auto_rule.

Each conv2d_bwd_weight_<name> below runs its algorithm as asked; conv2d_bwd_weight(...,
version) first asks versions.TABLE what runs for this shape.

The bias gradient (bias_grad) sums each (n, o) plane into float64 in one pass with no
temporary array (it used to convert every plane to a float64 copy first).
"""
import numpy as np
from numba import njit, prange

from .. import cpu_common
from ..blas_numba import gemm
from ..conv_common import ConvShape
from ..conv2d_fwd.conv2d_fwd_numba import GEMM_COLUMNS
from ..cpu_common import (REPLICATE, WORKSPACE, items_group, one_blas_thread, padding_code,
                          thread_count, work_items)
from ..im2col.im2col_numba import im2col_rows, rows_image
from ..im2col.pad_numba import pad_image, padded
from ..winograd_common import matrices as winograd_matrices
from . import versions
from .winograd_bwd_weight_numba import bwd_weight_winograd, weight_from_du

DEFAULT_VERSION = versions.DEFAULT["numba"]
VERSIONS = versions.TABLE.names("numba")      # direct, im2col_gemm, ..., winograd, auto


@njit(parallel=True, cache=True)
def bias_grad(gy):
    """gb[o] = sum of gy over N, H, W, accumulated in float64 per (n, o) plane."""
    n_img, n_out = gy.shape[0], gy.shape[1]
    planes = np.empty((n_img, n_out))
    for n in prange(n_img):
        plane_sums(gy[n], planes[n])
    return planes.sum(axis=0).astype(gy.dtype)


@njit(cache=True, fastmath={"reassoc"})
def plane_sums(g, out):
    """out[o] = sum of the plane g[o], in float64. "reassoc" lets LLVM split the float64 sum
    into vector lanes: in strict order every add waited on the one before (4 cycles each),
    and this pass took as long as the GEMM of the GAN discriminator's first layer."""
    n_out = g.shape[0]
    npix = g.shape[1] * g.shape[2]
    gf = g.reshape(n_out, npix)
    for o in range(n_out):
        row = gf[o]
        s = 0.0
        for k in range(npix):
            s += row[k]
        out[o] = s


# ---------------------------------------------------------------- direct: loops
@njit(parallel=True, cache=True)
def _bwd_weight_direct(gy, x, stride, pad, mode, gw):
    n_img, n_ch, h, wd = x.shape
    n_out, _, kh, kw = gw.shape
    ho, wo = gy.shape[2], gy.shape[3]
    for oc in prange(n_out * n_ch):
        o = oc // n_ch
        c = oc - o * n_ch
        for p in range(kh):
            for q in range(kw):
                acc = 0.0
                for n in range(n_img):
                    for i in range(ho):
                        for j in range(wo):
                            hi = i * stride + p - pad
                            wj = j * stride + q - pad
                            if mode == REPLICATE:
                                hi = min(max(hi, 0), h - 1)
                                wj = min(max(wj, 0), wd - 1)
                            elif hi < 0 or hi >= h or wj < 0 or wj >= wd:
                                continue
                            acc += gy[n, o, i, j] * x[n, c, hi, wj]
                gw[o, c, p, q] = acc


def conv2d_bwd_weight_direct(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    gw = cpu_common.empty(w_shape, gy.dtype)
    _bwd_weight_direct(gy, x, stride, padding, padding_code(padding_mode), gw)
    return gw, bias_grad(gy)


# ---------------------------------------------------------------- im2col_gemm
@njit(parallel=True, cache=True)
def _bwd_weight_gemm(gy, x, kh, kw, stride, pad, mode, items, gyb, cols, part, planes):
    """Work item (n0, n1) (cpu_common.work_items, whole images): part[t] (O, K) += gy[n]
    (O, Ho*Wo) @ cols^T, one image at a time; for a group of tiny images (the GAN
    discriminator's 8x8 and 4x4 maps) their columns and their gy side by side (cols[t],
    gyb[t]), so that one GEMM sums over the group's pixels: a rank-16 update of a
    512 x 2304 partial per image would stream the partial through memory each time.
    The bias gradient's plane sums are taken here too (planes[n]), while gy[n] is in
    cache, instead of in a second parallel pass (bias_grad)."""
    n_img, n_ch, h, w = x.shape
    n_out = gy.shape[1]
    npix = gy.shape[2] * gy.shape[3]
    k = n_ch * kh * kw
    n_parts = part.shape[0]
    n_items = items.shape[0]
    per = (n_items + n_parts - 1) // n_parts
    one_by_one = kh == 1 and kw == 1 and stride == 1 and pad == 0
    ho = gy.shape[2]
    for t in prange(n_parts):
        part[t] = 0
        for it in range(t * per, min(n_items, (t + 1) * per)):
            n0, n1 = items[it, 0], items[it, 1]
            for n in range(n0, n1):
                plane_sums(gy[n], planes[n])
            if n1 - n0 > 1:
                for n in range(n0, n1):
                    blk = slice((n - n0) * npix, (n - n0 + 1) * npix)
                    gyb[t, :, blk] = gy[n].reshape(n_out, npix)
                    if one_by_one:
                        cols[t, :, blk] = x[n].reshape(n_ch, npix)
                    else:
                        im2col_rows(x[n], kh, kw, stride, pad, mode, 0, ho, cols[t, :, blk])
                gemm(False, True, n_out, k, (n1 - n0) * npix, 1.0, gyb[t], gyb.shape[2],
                     cols[t], cols.shape[2], 1.0, part[t], k)
                continue
            if one_by_one:
                src = x[n0].reshape(n_ch, npix)
                lds = npix
            else:
                im2col_rows(x[n0], kh, kw, stride, pad, mode, 0, ho, cols[t])
                src = cols[t]
                lds = cols.shape[2]
            gemm(False, True, n_out, k, npix, 1.0, gy[n0].reshape(n_out, npix), npix,
                 src, lds, 1.0, part[t], k)


def conv2d_bwd_weight_im2col_gemm(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    n_out, n_ch, kh, kw = w_shape
    ho, wo = gy.shape[2:]
    k = n_ch * kh * kw
    one_by_one = kh == kw == 1 and stride == 1 and padding == 0
    items, _ = work_items(x.shape[0], ho, x.itemsize * wo * (k + n_out), thread_count(),
                          want_rows=-(-GEMM_COLUMNS // wo), bands=False)
    group = items_group(items)
    parts = min(thread_count(), len(items))
    cols = WORKSPACE.get("cols", (parts, 1, 1) if one_by_one and group == 1 else
                         (parts, k, group * ho * wo), x.dtype)
    gyb = WORKSPACE.get("gyb", (parts, n_out, group * ho * wo) if group > 1 else (1, 1, 1),
                        x.dtype)
    part = WORKSPACE.get("gw_part", (parts, n_out, k), x.dtype)
    planes = cpu_common.empty((x.shape[0], n_out), np.float64)
    with one_blas_thread():
        _bwd_weight_gemm(gy, x, kh, kw, stride, padding, padding_code(padding_mode), items,
                         gyb, cols, part, planes)
    return part.sum(axis=0).reshape(w_shape), planes.sum(axis=0).astype(gy.dtype)


# ---------------------------------------------------------------- shifted_rows (stride 1)
@njit(parallel=True, cache=True)
def _to_wide(gy, wp, gyw):
    """gy (N, O, Ho, Wo) -> gyw (N, O, span): rows laid out with the padded width Wp and
    zeros in the Wp - Wo junk columns, so a wide dot product ignores them."""
    n_img, n_out, ho, wo = gy.shape
    for n in prange(n_img):
        gyw[n] = 0
        for o in range(n_out):
            for i in range(ho):
                gyw[n, o, i * wp:i * wp + wo] = gy[n, o, i]


@njit(parallel=True, cache=True, fastmath={"contract", "reassoc"})
def _bwd_weight_shift(gyw, xp, gw):
    n_img, n_ch, hp, wp = xp.shape
    n_out, _, kh, kw = gw.shape
    span = gyw.shape[2]
    xf = xp.reshape(n_img, n_ch, hp * wp)
    for oc in prange(n_out * n_ch):
        o = oc // n_ch
        c = oc - o * n_ch
        acc = np.zeros(kh * kw)             # float64 partial sums, one per tap
        for n in range(n_img):
            g = gyw[n, o]
            for tap in range(kh * kw):
                off = (tap // kw) * wp + tap % kw
                xs = xf[n, c, off:off + span]
                s = g[0] * 0
                for r in range(span):       # one long dot product: vectorised with reassoc
                    s += g[r] * xs[r]
                acc[tap] += s
        for tap in range(kh * kw):
            gw[o, c, tap // kw, tap % kw] = acc[tap]


def conv2d_bwd_weight_shifted_rows(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    gw = cpu_common.empty(w_shape, gy.dtype)
    xp = padded(x, padding, padding_mode)
    ho, wo = gy.shape[2:]
    wp = xp.shape[3]
    gyw = WORKSPACE.get("wide", (gy.shape[0], gy.shape[1], (ho - 1) * wp + wo), gy.dtype)
    _to_wide(gy, wp, gyw)
    _bwd_weight_shift(gyw, xp, gw)
    return gw, bias_grad(gy)


# ---------------------------------------------------------------- window_gemm (stride 1)
@njit(parallel=True, cache=True)
def _bwd_weight_taps_gemm(gy, x, kh, kw, pad, mode, xpad, wide, part):
    n_img, n_ch, h, w = x.shape
    n_out, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    hp, wp = h + 2 * pad, w + 2 * pad
    span = (ho - 1) * wp + wo
    n_parts = part.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
        part[t] = 0
        gyw = wide[t]
        gyw[:] = 0                       # junk columns stay zero: they add nothing
        for n in range(t * per, min(n_img, (t + 1) * per)):
            if pad > 0:
                pad_image(x[n], pad, mode, xpad[t])
                xf = xpad[t].reshape(n_ch, hp * wp)
            else:
                xf = x[n].reshape(n_ch, hp * wp)
            for i in range(ho):
                gyw[:, i * wp:i * wp + wo] = gy[n, :, i, :]
            for tap in range(kh * kw):
                off = (tap // kw) * wp + tap % kw
                gemm(False, True, n_out, n_ch, span, 1.0, gyw, span, xf[:, off:], hp * wp,
                     1.0, part[t, tap], n_ch)


def conv2d_bwd_weight_window_gemm(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    n_out, n_ch, kh, kw = w_shape
    n_img, _, h, wd = x.shape
    ho, wo = gy.shape[2:]
    hp, wp = h + 2 * padding, wd + 2 * padding
    parts = min(thread_count(), n_img)
    xpad = WORKSPACE.get("xpad", (parts, n_ch, hp, wp) if padding else (1, 1, 1, 1), x.dtype)
    wide = WORKSPACE.get("wide", (parts, n_out, (ho - 1) * wp + wo), x.dtype)
    part = WORKSPACE.get("gw_part", (parts, kh * kw, n_out, n_ch), x.dtype)
    with one_blas_thread():
        _bwd_weight_taps_gemm(gy, x, kh, kw, padding, padding_code(padding_mode), xpad, wide,
                              part)
    gw = part.sum(axis=0).reshape(kh, kw, n_out, n_ch).transpose(2, 3, 0, 1)
    return np.ascontiguousarray(gw), bias_grad(gy)


# ---------------------------------------------------------------- row_gemm (stride 1)
@njit(parallel=True, cache=True)
def _bwd_weight_rows_gemm(gy, x, kh, kw, pad, mode, xpad, rows, part):
    n_img, n_ch, h, w = x.shape
    n_out, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    hp = h + 2 * pad
    kc = kw * n_ch
    npix = ho * wo
    plain = kh == 1 and kw == 1 and pad == 0
    n_parts = part.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
        part[t] = 0
        for n in range(t * per, min(n_img, (t + 1) * per)):
            if plain:
                r = x[n].reshape(n_ch, npix)
            elif pad > 0:
                r = rows[t]
                pad_image(x[n], pad, mode, xpad[t])
                rows_image(xpad[t], kw, wo, r)
            else:
                r = rows[t]
                rows_image(x[n], kw, wo, r)
            gyn = gy[n].reshape(n_out, npix)
            for p in range(kh):     # the transposed partial, (kw*C, O): see conv2d_fwd row_gemm
                gemm(False, True, kc, n_out, npix, 1.0, r[:, p * wo:], hp * wo, gyn, npix,
                     1.0, part[t, p], n_out)


def conv2d_bwd_weight_row_gemm(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    n_out, n_ch, kh, kw = w_shape
    n_img, _, h, wd = x.shape
    wo = gy.shape[3]
    hp, wp = h + 2 * padding, wd + 2 * padding
    parts = min(thread_count(), n_img)
    xpad = WORKSPACE.get("xpad", (parts, n_ch, hp, wp) if padding else (1, 1, 1, 1), x.dtype)
    plain = kh == kw == 1 and padding == 0
    rows = WORKSPACE.get("rows", (parts, 1, 1) if plain else (parts, kw * n_ch, hp * wo),
                         x.dtype)
    part = WORKSPACE.get("gw_part", (parts, kh, kw * n_ch, n_out), x.dtype)
    with one_blas_thread():
        _bwd_weight_rows_gemm(gy, x, kh, kw, padding, padding_code(padding_mode), xpad, rows,
                              part)
    gw = part.sum(axis=0).reshape(kh, kw, n_ch, n_out).transpose(3, 2, 0, 1)
    return np.ascontiguousarray(gw), bias_grad(gy)


# ---------------------------------------------------------------- winograd F(m, r) (stride 1)
def conv2d_bwd_weight_winograd(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    n_out, n_ch, r, _ = w_shape
    n_img = x.shape[0]
    ho, wo = gy.shape[2], gy.shape[3]
    m, at, g, bt = winograd_matrices(r)
    alpha = m + r - 1
    nth, ntw = -(-ho // m), -(-wo // m)
    hq, wq = nth * m + r - 1, ntw * m + r - 1
    n_tiles = nth * ntw
    parts = min(thread_count(), n_img)
    get, dt = WORKSPACE.get, x.dtype
    xt = get("xt", (parts, hq, wq, n_ch), dt)
    xs = get("wino_xs", (parts, alpha, hq, ntw, n_ch), dt)
    zv = get("wino_zv", (parts, alpha * alpha, ntw * n_ch), dt)
    v = get("wino_v", (parts, alpha * alpha, n_tiles, n_ch), dt)
    gt = get("wino_gt", (parts, m * m, n_tiles * n_out), dt)
    s1 = get("wino_s1", (parts, alpha * m, n_tiles * n_out), dt)
    yh = get("wino_yh", (parts, alpha * alpha, n_tiles, n_out), dt)
    part = get("gw_part", (parts, alpha * alpha, n_ch, n_out), dt)
    with one_blas_thread():
        bwd_weight_winograd(np.ascontiguousarray(gy), np.ascontiguousarray(x),
                            np.ascontiguousarray(at.T, dtype=dt), bt.astype(dt), padding,
                            padding_code(padding_mode), xt, xs, zv, v, gt, s1, yh, part)
    gw = cpu_common.empty(w_shape, dt)
    weight_from_du(part, np.kron(g, g), gw.reshape(n_out, n_ch, r * r))   # G^T dU G, float64
    return gw, bias_grad(gy)


# ---------------------------------------------------------------- choosing a version
_RUN = {"direct": conv2d_bwd_weight_direct, "im2col_gemm": conv2d_bwd_weight_im2col_gemm,
        "shifted_rows": conv2d_bwd_weight_shifted_rows,
        "window_gemm": conv2d_bwd_weight_window_gemm, "row_gemm": conv2d_bwd_weight_row_gemm,
        "winograd": conv2d_bwd_weight_winograd}


def plan(x_shape, w_shape, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """What conv2d_bwd_weight runs for this call, and why (versions.TABLE)."""
    shape = ConvShape.of(x_shape, w_shape, stride, padding, padding_mode)
    return versions.TABLE.plan("numba", version, shape)


def _planned(version):
    def run(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
        runs = plan(x.shape, w_shape, stride, padding, padding_mode, version).runs
        return _RUN[runs](gy, x, w_shape, stride, padding, padding_mode)
    run.__name__ = run.__qualname__ = f"conv2d_bwd_weight_{version}_planned"
    return run


conv2d_bwd_weight_auto = _planned("auto")


def conv2d_bwd_weight_gemm_auto(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros"):
    """The auto rule without Winograd (versions.gemm_rule)."""
    shape = ConvShape.of(x.shape, w_shape, stride, padding, padding_mode)
    return _RUN[versions.gemm_rule(shape)[0]](gy, x, w_shape, stride, padding, padding_mode)


# version -> what conv2d_bwd_weight calls: the version's plan, then the algorithm that runs
_IMPL = {name: _planned(name) for name in VERSIONS}
_IMPL["auto"] = conv2d_bwd_weight_auto


def conv2d_bwd_weight(gy, x, w_shape, stride=1, padding=0, padding_mode="zeros",
                      version=DEFAULT_VERSION):
    """The entry point the library calls: -> (gw (O,C,kh,kw), gb (O,))."""
    return _IMPL[version](gy, x, tuple(w_shape), stride, padding, padding_mode)
