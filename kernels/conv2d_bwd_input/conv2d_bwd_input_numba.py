"""conv2d backward-input on the CPU: gx = dL/dx given gy = dL/dy, by algorithm (see
README.md; the names, each one's CUDA twin and every fallback are in versions.py).

    gx[n,c,h,w] = sum_{o,p,q,i,j : i*s+p-pad -> h, j*s+q-pad -> w} w[o,c,p,q] * gy[n,o,i,j]

(with "replicate" padding, every padded pixel that copied the edge sends its gradient back
to that edge pixel). The algorithms mirror conv2d_fwd's:

direct        scatter, one parallel iteration per (image, input channel) plane, so no two
              threads ever add into the same pixel. Obviously right, slow.
im2col_gemm   cols (C*kh*kw, Ho*Wo) = W^T @ gy[n], then col2im adds every column entry
              back onto the pixel it came from. Any stride.
shifted_rows  for tiny O (stride 1): gxpad[c, i+p, q:q+Wo] += w[o,c,p,q] * gy[n,o,i,:],
              vectorised over the row. No column buffer.
window_gemm   shifted-window GEMM (stride 1): per tap, gxpad_flat[:, off:off+span] +=
              W_pq^T @ gy_wide, where gy_wide is gy laid out with the padded row width
              (junk columns zero).
row_gemm      row im2col adjoint (stride 1): grows (kw*C, Hp*Wo) gets, for each row tap p,
              w_rows[p]^T @ gy[n] added into the window grows[:, p*Wo : p*Wo + Ho*Wo]
              (kh sgemms, exact Ho*Wo columns, gy read in place: no wide copy of gy), then
              rows_adjoint_image adds each shifted copy back onto the padded gradient.
              Faster than window_gemm for the reasons given in conv2d_fwd's row_gemm.
winograd      (stride 1, zero padding): the input gradient of a stride-1 convolution IS a
              stride-1 convolution, of gy padded by kh-1-pad with the filters flipped and
              transposed, w'[c, o, p, q] = w[o, c, kh-1-p, kw-1-q]. So it runs conv2d_fwd's
              winograd (kernels/conv2d_fwd/winograd_numba.py) on it: for a 5x5 filter 4.6x
              fewer multiplies than row_gemm's GEMMs, no rows buffer, no adjoint scatter.
auto          (DEFAULT_VERSION) picks by the shape: versions.auto_rule.

Each conv2d_bwd_input_<name> below runs its algorithm as asked; conv2d_bwd_input(...,
version) first asks versions.TABLE what runs for this shape.
"""
import numpy as np
from numba import njit, prange

from .. import cpu_common
from ..blas_numba import gemm
from ..conv_common import ConvShape
from ..conv2d_fwd.conv2d_fwd_numba import GEMM_COLUMNS, conv2d_fwd_winograd
from ..cpu_common import (REPLICATE, WORKSPACE, items_group, one_blas_thread, padding_code,
                          thread_count, work_items)
from ..im2col.im2col_numba import col2im_image, rows_adjoint_image
from ..im2col.pad_numba import unpad_grad_image
from . import versions

DEFAULT_VERSION = versions.DEFAULT["numba"]
VERSIONS = versions.TABLE.names("numba")      # direct, im2col_gemm, ..., winograd, auto


# ---------------------------------------------------------------- direct: scatter
@njit(parallel=True, cache=True)
def _bwd_input_direct(gy, w, stride, pad, mode, gx):
    n_img, n_ch, h, wd = gx.shape
    n_out, _, kh, kw = w.shape
    ho, wo = gy.shape[2], gy.shape[3]
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc - n * n_ch
        gx[n, c] = 0
        for o in range(n_out):
            for i in range(ho):
                for j in range(wo):
                    g = gy[n, o, i, j]
                    for p in range(kh):
                        for q in range(kw):
                            hi = i * stride + p - pad
                            wj = j * stride + q - pad
                            if mode == REPLICATE:
                                hi = min(max(hi, 0), h - 1)
                                wj = min(max(wj, 0), wd - 1)
                            elif hi < 0 or hi >= h or wj < 0 or wj >= wd:
                                continue
                            gx[n, c, hi, wj] += w[o, c, p, q] * g


def conv2d_bwd_input_direct(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    gx = cpu_common.empty(x_shape, gy.dtype)
    _bwd_input_direct(gy, w, stride, padding, padding_code(padding_mode), gx)
    return gx


# ---------------------------------------------------------------- im2col_gemm: GEMM + col2im
@njit(parallel=True, cache=True)
def _bwd_input_gemm(gy, wmat, kh, kw, stride, pad, mode, items, gyb, cols, gx):
    """Work item (n0, n1) (cpu_common.work_items, whole images): for one image cols[t]
    (K, Ho*Wo) = W^T @ gy[n], then col2im; for a group of tiny images (the GAN
    discriminator's 8x8 and 4x4 maps), their gy gathered side by side into gyb[t], ONE
    GEMM for the group (the weights read once, not once per image), then col2im of each
    image's columns."""
    n_img, n_ch, h, w = gx.shape
    n_out = gy.shape[1]
    npix = gy.shape[2] * gy.shape[3]
    k = wmat.shape[1]
    n_parts = cols.shape[0]
    n_items = items.shape[0]
    per = (n_items + n_parts - 1) // n_parts
    one_by_one = kh == 1 and kw == 1 and stride == 1 and pad == 0
    for t in prange(n_parts):
        for it in range(t * per, min(n_items, (t + 1) * per)):
            n0, n1 = items[it, 0], items[it, 1]
            if n1 - n0 > 1:
                for n in range(n0, n1):
                    gyb[t, :, (n - n0) * npix:(n - n0 + 1) * npix] = gy[n].reshape(n_out, npix)
                gemm(True, False, k, (n1 - n0) * npix, n_out, 1.0, wmat, k, gyb[t],
                     gyb.shape[2], 0.0, cols[t], cols.shape[2])
                for n in range(n0, n1):
                    c = cols[t, :, (n - n0) * npix:(n - n0 + 1) * npix]
                    if one_by_one:
                        gx[n].reshape(n_ch, npix)[:] = c
                    else:
                        col2im_image(c, kh, kw, stride, pad, mode, gx[n])
                continue
            gyn = gy[n0].reshape(n_out, npix)
            if one_by_one:      # gx[n] (C, H*W) = W^T @ gy[n] directly
                gemm(True, False, k, npix, n_out, 1.0, wmat, k, gyn, npix, 0.0, gx[n0], npix)
            else:
                gemm(True, False, k, npix, n_out, 1.0, wmat, k, gyn, npix, 0.0, cols[t],
                     cols.shape[2])
                col2im_image(cols[t, :, :npix], kh, kw, stride, pad, mode, gx[n0])


def conv2d_bwd_input_im2col_gemm(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    gx = cpu_common.empty(x_shape, gy.dtype)
    n_out, n_ch, kh, kw = w.shape
    ho, wo = gy.shape[2:]
    k = n_ch * kh * kw
    wmat = np.ascontiguousarray(w).reshape(n_out, k)
    items, _ = work_items(gy.shape[0], ho, gy.itemsize * wo * (k + n_out), thread_count(),
                          want_rows=-(-GEMM_COLUMNS // wo), bands=False)
    group = items_group(items)
    parts = min(thread_count(), len(items))
    cols = WORKSPACE.get("cols", (parts, k, group * ho * wo), gy.dtype)
    gyb = WORKSPACE.get("gyb", (parts, n_out, group * ho * wo) if group > 1 else (1, 1, 1),
                        gy.dtype)
    with one_blas_thread():
        _bwd_input_gemm(gy, wmat, kh, kw, stride, padding, padding_code(padding_mode), items,
                        gyb, cols, gx)
    return gx


# ---------------------------------------------------------------- shifted_rows (stride 1)
@njit(parallel=True, cache=True, fastmath={"contract"})
def _bwd_input_shift(gy, w, pad, mode, gpad, gx):
    n_img, n_ch, h, wd = gx.shape
    n_out, _, kh, kw = w.shape
    ho, wo = gy.shape[2], gy.shape[3]
    for nc in prange(n_img * n_ch):
        n = nc // n_ch
        c = nc - n * n_ch
        g = gpad[nc]                     # this plane's padded gradient, (Hp, Wp)
        g[:] = 0
        for o in range(n_out):
            for p in range(kh):
                for q in range(kw):
                    wv = w[o, c, p, q]
                    for i in range(ho):
                        src = gy[n, o, i]
                        dst = g[i + p, q:q + wo]
                        for j in range(wo):
                            dst[j] += wv * src[j]
        unpad_grad_image(gpad[nc:nc + 1], pad, mode, gx[n, c:c + 1])


def conv2d_bwd_input_shifted_rows(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    gx = cpu_common.empty(x_shape, gy.dtype)
    n_img, n_ch, h, wd = x_shape
    gpad = WORKSPACE.get("gpad", (n_img * n_ch, h + 2 * padding, wd + 2 * padding), gy.dtype)
    _bwd_input_shift(gy, w, padding, padding_code(padding_mode), gpad, gx)
    return gx


# ---------------------------------------------------------------- window_gemm (stride 1)
@njit(parallel=True, cache=True)
def _bwd_input_taps_gemm(gy, w_taps, kh, kw, pad, mode, gpad, wide, gx):
    n_img, n_ch, h, w = gx.shape
    n_out, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    hp, wp = h + 2 * pad, w + 2 * pad
    span = (ho - 1) * wp + wo
    n_parts = wide.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
        gyw = wide[t]
        gyw[:] = 0                       # the junk columns stay zero: they add nothing
        gp = gpad[t].reshape(n_ch, hp * wp)
        for n in range(t * per, min(n_img, (t + 1) * per)):
            for i in range(ho):
                gyw[:, i * wp:i * wp + wo] = gy[n, :, i, :]
            gp[:] = 0
            for tap in range(kh * kw):
                off = (tap // kw) * wp + tap % kw
                gemm(True, False, n_ch, span, n_out, 1.0, w_taps[tap], n_ch, gyw, span,
                     1.0, gp[:, off:], hp * wp)
            unpad_grad_image(gpad[t], pad, mode, gx[n])


def conv2d_bwd_input_window_gemm(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    gx = cpu_common.empty(x_shape, gy.dtype)
    n_img, n_ch, h, wd = x_shape
    n_out, _, kh, kw = w.shape
    ho, wo = gy.shape[2:]
    hp, wp = h + 2 * padding, wd + 2 * padding
    w_taps = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, n_out, n_ch)
    parts = min(thread_count(), n_img)
    gpad = WORKSPACE.get("gpad", (parts, n_ch, hp, wp), gy.dtype)
    wide = WORKSPACE.get("wide", (parts, n_out, (ho - 1) * wp + wo), gy.dtype)
    with one_blas_thread():
        _bwd_input_taps_gemm(gy, w_taps, kh, kw, padding, padding_code(padding_mode), gpad,
                             wide, gx)
    return gx


# ---------------------------------------------------------------- row_gemm (stride 1)
@njit(parallel=True, cache=True)
def _bwd_input_rows_gemm(gy, w_rows, kh, kw, pad, mode, grows, gpad, gx):
    n_img, n_ch, h, w = gx.shape
    n_out, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    hp = h + 2 * pad
    kc = kw * n_ch
    npix = ho * wo
    n_parts = grows.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    for t in prange(n_parts):
        g = grows[t]
        for n in range(t * per, min(n_img, (t + 1) * per)):
            g[:, npix:] = 0              # rows below the p = 0 window (beta = 0 writes it)
            gyn = gy[n].reshape(n_out, npix)
            for p in range(kh):
                gemm(True, False, kc, npix, n_out, 1.0, w_rows[p], kc, gyn, npix,
                     0.0 if p == 0 else 1.0, g[:, p * wo:], hp * wo)
            if pad > 0:
                rows_adjoint_image(g, kw, wo, gpad[t])
                unpad_grad_image(gpad[t], pad, mode, gx[n])
            else:
                rows_adjoint_image(g, kw, wo, gx[n])


def conv2d_bwd_input_row_gemm(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    gx = cpu_common.empty(x_shape, gy.dtype)
    n_img, n_ch, h, wd = x_shape
    n_out, _, kh, kw = w.shape
    wo = gy.shape[3]
    hp, wp = h + 2 * padding, wd + 2 * padding
    w_rows = np.ascontiguousarray(w.transpose(2, 0, 3, 1)).reshape(kh, n_out, kw * n_ch)
    parts = min(thread_count(), n_img)
    grows = WORKSPACE.get("rows", (parts, kw * n_ch, hp * wo), gy.dtype)
    gpad = WORKSPACE.get("gpad", (parts, n_ch, hp, wp) if padding else (1, 1, 1, 1), gy.dtype)
    with one_blas_thread():
        _bwd_input_rows_gemm(gy, w_rows, kh, kw, padding, padding_code(padding_mode), grows,
                             gpad, gx)
    return gx


# ---------------------------------------------------------------- winograd (stride 1, zeros)
def conv2d_bwd_input_winograd(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    kh = w.shape[2]
    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)       # (C, O, kh, kw)
    gx = conv2d_fwd_winograd(gy, w_flip, 1, kh - 1 - padding, "zeros")
    assert gx.shape == tuple(x_shape)
    return gx


# ---------------------------------------------------------------- choosing a version
_RUN = {"direct": conv2d_bwd_input_direct, "im2col_gemm": conv2d_bwd_input_im2col_gemm,
        "shifted_rows": conv2d_bwd_input_shifted_rows,
        "window_gemm": conv2d_bwd_input_window_gemm, "row_gemm": conv2d_bwd_input_row_gemm,
        "winograd": conv2d_bwd_input_winograd}


def plan(x_shape, w_shape, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """What conv2d_bwd_input runs for this call, and why (versions.TABLE)."""
    shape = ConvShape.of(x_shape, w_shape, stride, padding, padding_mode)
    return versions.TABLE.plan("numba", version, shape)


def _planned(version):
    def run(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
        runs = plan(x_shape, w.shape, stride, padding, padding_mode, version).runs
        return _RUN[runs](gy, w, x_shape, stride, padding, padding_mode)
    run.__name__ = run.__qualname__ = f"conv2d_bwd_input_{version}_planned"
    return run


conv2d_bwd_input_auto = _planned("auto")


def conv2d_bwd_input_gemm_auto(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros"):
    """The auto rule without Winograd (versions.gemm_rule; benchmarks/bench_conv.py
    --gemm-auto runs it in place of auto)."""
    shape = ConvShape.of(x_shape, w.shape, stride, padding, padding_mode)
    return _RUN[versions.gemm_rule(shape)[0]](gy, w, x_shape, stride, padding, padding_mode)


# version -> what conv2d_bwd_input calls: the version's plan, then the algorithm that runs
_IMPL = {name: _planned(name) for name in VERSIONS}
_IMPL["auto"] = conv2d_bwd_input_auto


def conv2d_bwd_input(gy, w, x_shape, stride=1, padding=0, padding_mode="zeros",
                     version=DEFAULT_VERSION):
    """The entry point the library calls: gy (N,O,Ho,Wo), w (O,C,kh,kw) -> gx (x_shape)."""
    return _IMPL[version](gy, w, tuple(x_shape), stride, padding, padding_mode)
