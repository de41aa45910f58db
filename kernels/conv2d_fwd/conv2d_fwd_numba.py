"""conv2d forward on the CPU, by algorithm (see README.md for the math and the numbers; the
names, what each one's CUDA twin is, and every fallback are in versions.py).

    y[n,o,i,j] = sum_{c,p,q} w[o,c,p,q] * xpad[n, c, i*stride + p, j*stride + q]

direct        loops, one parallel iteration per (image, output channel): the same mapping
              as the CUDA "direct" kernel (one thread per output pixel). Obviously right, slow.
im2col_gemm   copy each receptive field into a column, then one BLAS sgemm per image
              does all the multiply-adds at ~200 GFLOP/s. Wins whenever O and C*kh*kw are
              both large enough to feed the GEMM (most layers). Any stride.
shifted_rows  "wide output", stride 1: for each tap (c,p,q) the input pixels it reads form
              ONE contiguous run of the flattened image, so the inner loop is a long
              vectorised axpy with no im2col buffer. Wins when O is tiny (SRCNN's last
              layer, O=1), where a GEMM would stream a huge column buffer to do very few
              multiply-adds per element.
window_gemm   shifted-window GEMM (stride 1): one sgemm per tap (p, q) on a window of the
              flat padded image, read in place. Pays for (Wp - Wo) junk columns per row
              and a copy-out.
row_gemm      row im2col + GEMM (stride 1): copy the padded image kw times, shifted by each
              column tap q (im2col_numba.rows_image), so row tap p is ONE contiguous window
              with exactly Ho*Wo columns. kh sgemms with K = kw*C write y[n] in place: no
              junk columns (window_gemm did 18% junk multiply-adds on SRCNN's 25x25 ->
              21x21 5x5 layer), no copy-out, a third (3x3) or a fifth (5x5) as many BLAS
              calls, and a buffer kw (not kh*kw) times the image.
row_gemm_t    row_gemm turned pixel-major (stride 1): the rows buffer is built as
              (Hp*Wo, kw*C) through a channels-last copy of the image, and each row tap is
              yt (Ho*Wo, O) += window @ W_p, transposed back into y[n] at the end. Same
              multiply-adds, but SciPy's OpenBLAS runs this orientation at ~90 instead of
              ~70 GFLOP/s per core when O = 32; it pays ~10% for the transposes, so it only
              wins when C is large enough (C >= 16).
winograd      Winograd F(m x m, r x r) (stride 1, square 3x3 or 5x5 filters;
              winograd_numba.py): transform 3x3 (5x5 filters) or 4x4 (3x3 filters) output
              tiles so that the channel sum becomes alpha^2 small GEMMs, (tiles, C) @ (C, O),
              with alpha = m + r - 1. A 5x5 layer does 49 multiplies per 9 outputs instead
              of 225 (4.6x fewer); a 3x3 layer 36 per 16 instead of 144 (4x). Costs a
              rounding error a few times larger than direct summation (bounded by
              winograd_common.winograd_error_terms; ~1e-6 x conv(|x|, |w|) in float32). On
              SRCNN's 64->32 5x5 layer the forward took 35-40 ms of one core's time vs
              row_gemm_t's 72.
auto          (DEFAULT_VERSION) picks by the shape: versions.auto_rule.

Each conv2d_fwd_<name> below runs its algorithm as asked; conv2d_fwd(..., version) first
asks versions.TABLE what runs for this shape (the stride-1 versions run im2col_gemm at
other strides, winograd runs the auto GEMM rule where it does not fit), so no fallback
hides in the kernels.
"""
import numpy as np
from numba import njit, prange

from .. import cpu_common
from ..blas_numba import gemm
from ..conv_common import ConvShape
from ..cpu_common import (REPLICATE, WORKSPACE, conv_out, items_group, one_blas_thread,
                          padding_code, thread_count, work_items)
from ..im2col.im2col_numba import im2col_rows, rows_image, rows_t_image
from ..im2col.pad_numba import pad_image, padded
from ..winograd_common import matrices as winograd_matrices
from . import shift_numba, versions, winograd_numba

DEFAULT_VERSION = versions.DEFAULT["numba"]
VERSIONS = versions.TABLE.names("numba")      # direct, im2col_gemm, ..., winograd, auto
WINOGRAD_TILES = 128          # tiles an item should reach when U is large (images grouped)


# ---------------------------------------------------------------- direct: loops
@njit(parallel=True, cache=True)
def _conv_direct(x, w, stride, pad, mode, y):
    n_img, n_ch, h, wd = x.shape
    n_out, _, kh, kw = w.shape
    _, _, ho, wo = y.shape
    for no in prange(n_img * n_out):
        n = no // n_out
        o = no - n * n_out
        for i in range(ho):
            for j in range(wo):
                acc = 0.0
                for c in range(n_ch):
                    for p in range(kh):
                        hi = i * stride + p - pad
                        for q in range(kw):
                            wj = j * stride + q - pad
                            if 0 <= hi < h and 0 <= wj < wd:
                                acc += w[o, c, p, q] * x[n, c, hi, wj]
                            elif mode == REPLICATE:
                                acc += w[o, c, p, q] * x[n, c, min(max(hi, 0), h - 1),
                                                         min(max(wj, 0), wd - 1)]
                y[n, o, i, j] = acc


def conv2d_fwd_direct(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    _conv_direct(x, w, stride, padding, padding_code(padding_mode), y)
    return y


# ---------------------------------------------------------------- im2col_gemm
@njit(parallel=True, cache=True)
def _conv_gemm(x, wmat, kh, kw, stride, pad, mode, items, cols, ybuf, y):
    """Work item (n0, n1, i0, i1) (cpu_common.work_items): output rows i0 .. i1-1 of image
    n0 (a whole image for training batches, a band of one large image), or images n0 ..
    n1-1 whole (a batch of tiny maps). Thread t takes items [t*per, (t+1)*per): im2col of
    the item into its own buffer cols[t] (K, columns), then one single-threaded sgemm
    wmat (O, K) @ cols[t]: straight into y[n0]'s rows for one image, into ybuf[t] and
    copied out image by image for a group (one GEMM reads the weights once for the group
    instead of once per image)."""
    n_ch, h, w = x.shape[1], x.shape[2], x.shape[3]
    n_out, npix = y.shape[1], y.shape[2]
    wo = (w + 2 * pad - kw) // stride + 1
    k = wmat.shape[1]
    n_parts = cols.shape[0]
    n_items = items.shape[0]
    per = (n_items + n_parts - 1) // n_parts
    one_by_one = kh == 1 and kw == 1 and stride == 1 and pad == 0
    for t in prange(n_parts):
        for it in range(t * per, min(n_items, (t + 1) * per)):
            n0, n1, i0, i1 = items[it, 0], items[it, 1], items[it, 2], items[it, 3]
            span = (i1 - i0) * wo
            if n1 - n0 > 1:
                for n in range(n0, n1):
                    c = cols[t, :, (n - n0) * npix:(n - n0 + 1) * npix]
                    if one_by_one:
                        c[:] = x[n].reshape(n_ch, npix)
                    else:
                        im2col_rows(x[n], kh, kw, stride, pad, mode, 0, i1, c)
                gemm(False, False, n_out, (n1 - n0) * npix, k, 1.0, wmat, k, cols[t],
                     cols.shape[2], 0.0, ybuf[t], ybuf.shape[2])
                for n in range(n0, n1):
                    y[n] = ybuf[t, :, (n - n0) * npix:(n - n0 + 1) * npix]
            elif one_by_one:    # a 1x1 convolution already is a matrix product
                gemm(False, False, n_out, span, n_ch, 1.0, wmat, k,
                     x[n0].reshape(n_ch, h * w)[:, i0 * wo:], h * w, 0.0, y[n0, :, i0 * wo:],
                     npix)
            else:
                im2col_rows(x[n0], kh, kw, stride, pad, mode, i0, i1, cols[t])
                gemm(False, False, n_out, span, k, 1.0, wmat, k, cols[t], cols.shape[2], 0.0,
                     y[n0, :, i0 * wo:], npix)


GEMM_COLUMNS = 256      # columns an im2col_gemm item should reach (tiny images grouped)


def conv2d_fwd_im2col_gemm(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img = x.shape[0]
    n_out, n_ch, kh, kw = w.shape
    ho, wo = y.shape[2:]
    k = n_ch * kh * kw
    wmat = np.ascontiguousarray(w).reshape(n_out, k)
    one_by_one = kh == kw == 1 and stride == 1 and padding == 0
    # an item's bytes per output row: its im2col rows (x itself for 1x1) and its rows of y
    items, band = work_items(n_img, ho, x.itemsize * wo * (k + n_out), thread_count(),
                             want_rows=-(-GEMM_COLUMNS // wo))
    group = items_group(items)
    parts = min(thread_count(), len(items))
    cols = WORKSPACE.get("cols", (parts, 1, 1) if one_by_one and group == 1 else
                         (parts, k, group * band * wo), x.dtype)
    ybuf = WORKSPACE.get("ybuf", (parts, n_out, group * ho * wo) if group > 1 else (1, 1, 1),
                         x.dtype)
    with one_blas_thread():
        _conv_gemm(x, wmat, kh, kw, stride, padding, padding_code(padding_mode), items, cols,
                   ybuf, y.reshape(n_img, n_out, ho * wo))
    return y


# ---------------------------------------------------------------- shifted_rows (stride 1)
def conv2d_fwd_shifted_rows(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img, n_ch, h, wd = x.shape
    n_out, _, kh, _ = w.shape
    ho, wo = y.shape[2:]
    wp = wd + 2 * padding
    items, band = work_items(n_img, ho, x.itemsize * wp * (n_ch + 1), thread_count())
    if band == ho:          # whole images: the training batches
        shift_numba.conv_shift(padded(x, padding, padding_mode), w, y)
        return y
    parts = min(thread_count(), len(items))
    xb = WORKSPACE.get("xpad", (parts, n_ch, band + kh - 1, wp), x.dtype)
    acc = WORKSPACE.get("wide", (parts, band * wp), x.dtype)
    shift_numba.conv_shift_bands(x, np.ascontiguousarray(w), padding,
                                 padding_code(padding_mode), items, xb, acc, y)
    return y


# ---------------------------------------------------------------- window_gemm (stride 1)
@njit(parallel=True, cache=True)
def _conv_taps_gemm(x, w_taps, kh, kw, pad, mode, xpad, wide, y):
    """Per image: pad into xpad[t] (C, Hp*Wp), then for every tap (p, q) one sgemm
        wide[t] (O, span) += w_taps[p*kw+q] (O, C) @ xpad[t][:, p*Wp+q : p*Wp+q+span]
    where the right operand is a window of the padded image read in place (leading
    dimension Hp*Wp): the im2col buffer is never built. Then copy out the Wo valid
    columns of each wide row."""
    n_img, n_ch, h, w = x.shape
    n_out = y.shape[1]
    ho, wo = y.shape[2], y.shape[3]
    hp, wp = h + 2 * pad, w + 2 * pad
    span = (ho - 1) * wp + wo
    n_parts = wide.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
        acc = wide[t]
        for n in range(t * per, min(n_img, (t + 1) * per)):
            if pad > 0:
                pad_image(x[n], pad, mode, xpad[t])
                xf = xpad[t].reshape(n_ch, hp * wp)
            else:
                xf = x[n].reshape(n_ch, hp * wp)
            for tap in range(kh * kw):
                off = (tap // kw) * wp + tap % kw
                gemm(False, False, n_out, span, n_ch, 1.0, w_taps[tap], n_ch,
                     xf[:, off:], hp * wp, 0.0 if tap == 0 else 1.0, acc, span)
            for i in range(ho):
                y[n, :, i, :] = acc[:, i * wp:i * wp + wo]


def conv2d_fwd_window_gemm(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img, n_ch, h, wd = x.shape
    n_out, _, kh, kw = w.shape
    ho, wo = y.shape[2:]
    hp, wp = h + 2 * padding, wd + 2 * padding
    # weights regrouped tap-major: w_taps[p*kw + q] is the (O, C) matrix of tap (p, q)
    w_taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, n_out, n_ch)
    parts = min(thread_count(), n_img)
    xpad = WORKSPACE.get("xpad", (parts, n_ch, hp, wp) if padding else (1, 1, 1, 1), x.dtype)
    wide = WORKSPACE.get("wide", (parts, n_out, (ho - 1) * wp + wo), x.dtype)
    with one_blas_thread():
        _conv_taps_gemm(x, w_taps, kh, kw, padding, padding_code(padding_mode), xpad, wide, y)
    return y


# ---------------------------------------------------------------- row_gemm (stride 1)
@njit(parallel=True, cache=True)
def _conv_rows_gemm(x, w_rows, kh, kw, pad, mode, xpad, rows, y):
    """Per image: pad into xpad[t], rows_image into rows[t] (kw*C, Hp*Wo), then
        y[n] (O, Ho*Wo) (+)= w_rows[p] (O, kw*C) @ rows[t][:, p*Wo : p*Wo + Ho*Wo]
    for p = 0 .. kh-1 (the window is read in place, leading dimension Hp*Wo). A 1x1
    unpadded layer needs no rows buffer: x[n] itself is the window.
    (Tried: computing y[n]^T instead, which SciPy's OpenBLAS runs faster for O = 32 when
    the right operand is pixel-major; with this channel-major rows buffer it was no faster,
    and the transpose back cost more than it saved.)"""
    n_img, n_ch, h, w = x.shape
    n_out, ho, wo = y.shape[1], y.shape[2], y.shape[3]
    hp = h + 2 * pad
    kc = kw * n_ch
    npix = ho * wo
    plain = kh == 1 and kw == 1 and pad == 0
    n_parts = rows.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
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
            yn = y[n].reshape(n_out, npix)
            for p in range(kh):
                gemm(False, False, n_out, npix, kc, 1.0, w_rows[p], kc, r[:, p * wo:],
                     hp * wo, 0.0 if p == 0 else 1.0, yn, npix)


def w_rows_of(w):
    """OIHW weights regrouped per row tap: w_rows[p][o, q*C + c] = w[o, c, p, q]."""
    n_out, n_ch, kh, kw = w.shape
    return np.ascontiguousarray(w.transpose(2, 0, 3, 1)).reshape(kh, n_out, kw * n_ch)


def conv2d_fwd_row_gemm(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img, n_ch, h, wd = x.shape
    n_out, _, kh, kw = w.shape
    wo = y.shape[3]
    hp, wp = h + 2 * padding, wd + 2 * padding
    parts = min(thread_count(), n_img)
    xpad = WORKSPACE.get("xpad", (parts, n_ch, hp, wp) if padding else (1, 1, 1, 1), x.dtype)
    plain = kh == kw == 1 and padding == 0
    rows = WORKSPACE.get("rows", (parts, 1, 1) if plain else (parts, kw * n_ch, hp * wo),
                         x.dtype)
    with one_blas_thread():
        _conv_rows_gemm(x, w_rows_of(w), kh, kw, padding, padding_code(padding_mode), xpad,
                        rows, y)
    return y


# ---------------------------------------------------------------- row_gemm_t (stride 1)
@njit(parallel=True, cache=True)
def _conv_rows_t_gemm(x, w_cols, kh, kw, pad, mode, xpad, xt, rows_t, yt, y):
    """row_gemm with the product turned around: rows_t[t] (Hp*Wo, kw*C) is pixel-major, and
        yt[t] (Ho*Wo, O) (+)= rows_t[t][p*Wo : p*Wo + Ho*Wo, :] @ w_cols[p] (kw*C, O)
    then y[n] = yt[t]^T. Both operands are then "N" for the column-major BLAS with
    M = O and N = Ho*Wo, the orientation SciPy's OpenBLAS runs at ~90 GFLOP/s per core
    for O = 32 (row_gemm's is ~70: there the short O = 32 side is the column-major N)."""
    n_img, n_ch, h, w = x.shape
    n_out, ho, wo = y.shape[1], y.shape[2], y.shape[3]
    kc = kw * n_ch
    npix = ho * wo
    n_parts = rows_t.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
        acc = yt[t]
        r = rows_t[t]
        for n in range(t * per, min(n_img, (t + 1) * per)):
            if pad > 0:
                pad_image(x[n], pad, mode, xpad[t])
                rows_t_image(xpad[t], kw, wo, xt[t], r)
            else:
                rows_t_image(x[n], kw, wo, xt[t], r)
            for p in range(kh):
                gemm(False, False, npix, n_out, kc, 1.0, r[p * wo:], kc, w_cols[p], n_out,
                     0.0 if p == 0 else 1.0, acc, n_out)
            yn = y[n].reshape(n_out, npix)
            for k0 in range(0, npix, 64):      # transpose back in 64-pixel blocks
                k1 = min(npix, k0 + 64)
                for o in range(n_out):
                    dst = yn[o, k0:k1]
                    for k in range(k1 - k0):
                        dst[k] = acc[k0 + k, o]


def conv2d_fwd_row_gemm_t(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img, n_ch, h, wd = x.shape
    n_out, _, kh, kw = w.shape
    ho, wo = y.shape[2:]
    hp, wp = h + 2 * padding, wd + 2 * padding
    # w_cols[p][q*C + c, o] = w[o, c, p, q]
    w_cols = np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(kh, kw * n_ch, n_out)
    parts = min(thread_count(), n_img)
    xpad = WORKSPACE.get("xpad", (parts, n_ch, hp, wp) if padding else (1, 1, 1, 1), x.dtype)
    xt = WORKSPACE.get("xt", (parts, hp, wp, n_ch), x.dtype)
    rows_t = WORKSPACE.get("rows", (parts, hp * wo, kw * n_ch), x.dtype)
    yt = WORKSPACE.get("yt", (parts, ho * wo, n_out), x.dtype)
    with one_blas_thread():
        _conv_rows_t_gemm(x, w_cols, kh, kw, padding, padding_code(padding_mode), xpad, xt,
                          rows_t, yt, y)
    return y


# ---------------------------------------------------------------- winograd F(m, r) (stride 1)
def conv2d_fwd_winograd(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img, n_ch = x.shape[:2]
    n_out, _, r, _ = w.shape
    ho, wo = y.shape[2:]
    m, at, _, bt = winograd_matrices(r)
    alpha = m + r - 1
    nth, ntw = -(-ho // m), -(-wo // m)
    u = winograd_numba.filter_transform(w, r)
    parts = thread_count()
    # one tile's buffers: xt, xs, V (input side), M, so, out (output side)
    tile_bytes = x.itemsize * (m * m * n_ch + alpha * m * n_ch + alpha * alpha * n_ch
                               + alpha * alpha * n_out + m * alpha * n_out + m * m * n_out)
    # Group small images only when U is too big to stay in cache across items (256 -> 256
    # channels: 9.4 MB); on VDSR's 64 channels (0.6 MB) groups only made the buffers bigger.
    big_u = alpha * alpha * n_ch * n_out * x.itemsize > 2 * cpu_common.BAND_BYTES
    items, nb = work_items(n_img, nth, ntw * tile_bytes, parts, cpu_common.BAND_BYTES,
                           -(-WINOGRAD_TILES // ntw) if big_u else 1)
    # a band wider than the budget (a 512-wide map: 128 tiles, 5 MB a tile row) is cut
    # into column blocks too, each kept within it
    ncb = 1
    if items_group(items) == 1 and nb * ntw * tile_bytes > 2 * cpu_common.BAND_BYTES:
        ncb = -(-(nb * ntw * tile_bytes) // cpu_common.BAND_BYTES)
    ntb = -(-ntw // ncb)                        # tile columns per block
    ncb = -(-ntw // ntb)
    s0 = np.tile(np.arange(ncb, dtype=np.int64) * ntb, len(items))
    items = np.concatenate([np.repeat(items, ncb, axis=0), s0[:, None],
                            np.minimum(s0 + ntb, ntw)[:, None]], axis=1)
    parts = min(parts, len(items))
    hq, wq, n_tiles = nb * m + r - 1, ntb * m + r - 1, items_group(items) * nb * ntb
    get = WORKSPACE.get
    xt = get("xt", (parts, hq, wq, n_ch), x.dtype)
    xs = get("wino_xs", (parts, alpha, hq, ntb, n_ch), x.dtype)
    zv = get("wino_zv", (parts, alpha * alpha, ntb * n_ch), x.dtype)
    v = get("wino_v", (parts, alpha * alpha, n_tiles, n_ch), x.dtype)
    mb = get("wino_m", (parts, alpha * alpha, n_tiles, n_out), x.dtype)
    so = get("wino_so", (parts, m * alpha, n_tiles * n_out), x.dtype)
    out = get("wino_out", (parts, m * m, n_tiles * n_out), x.dtype)
    tp_in = get("wino_tp_in", (parts, n_ch, winograd_numba.CL_BLOCK), x.dtype)
    tp_out = get("wino_tp_out", (parts, n_out, 16 * m), x.dtype)
    with one_blas_thread():
        winograd_numba.conv_winograd(np.ascontiguousarray(x), u, at.astype(x.dtype),
                                     bt.astype(x.dtype), padding, padding_code(padding_mode),
                                     items, tp_in, tp_out, xt, xs, zv, v, mb, so, out, y)
    return y


def _alloc_out(x, w, stride, padding):
    ho = conv_out(x.shape[2], w.shape[2], stride, padding)
    wo = conv_out(x.shape[3], w.shape[3], stride, padding)
    return cpu_common.empty((x.shape[0], w.shape[0], ho, wo), x.dtype)


# ---------------------------------------------------------------- choosing a version
_RUN = {"direct": conv2d_fwd_direct, "im2col_gemm": conv2d_fwd_im2col_gemm,
        "shifted_rows": conv2d_fwd_shifted_rows, "window_gemm": conv2d_fwd_window_gemm,
        "row_gemm": conv2d_fwd_row_gemm, "row_gemm_t": conv2d_fwd_row_gemm_t,
        "winograd": conv2d_fwd_winograd}


def plan(x_shape, w_shape, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """What conv2d_fwd runs for this call, and why (versions.TABLE)."""
    shape = ConvShape.of(x_shape, w_shape, stride, padding, padding_mode)
    return versions.TABLE.plan("numba", version, shape)


def _planned(version):
    def run(x, w, stride=1, padding=0, padding_mode="zeros"):
        runs = plan(x.shape, w.shape, stride, padding, padding_mode, version).runs
        return _RUN[runs](x, w, stride, padding, padding_mode)
    run.__name__ = run.__qualname__ = f"conv2d_fwd_{version}_planned"
    return run


conv2d_fwd_auto = _planned("auto")


def conv2d_fwd_gemm_auto(x, w, stride=1, padding=0, padding_mode="zeros"):
    """The auto rule without Winograd (versions.gemm_rule; benchmarks/bench_conv.py
    --gemm-auto runs it in place of auto)."""
    shape = ConvShape.of(x.shape, w.shape, stride, padding, padding_mode)
    return _RUN[versions.gemm_rule(shape)[0]](x, w, stride, padding, padding_mode)


# version -> what conv2d_fwd calls: the version's plan, then the algorithm that runs
_IMPL = {name: _planned(name) for name in VERSIONS}
_IMPL["auto"] = conv2d_fwd_auto


def conv2d_fwd(x, w, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """The entry point the library calls: x (N,C,H,W), w (O,C,kh,kw), same dtype."""
    return _IMPL[version](x, w, stride, padding, padding_mode)
