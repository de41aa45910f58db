"""conv2d forward on the CPU, three versions (see README.md for the math and the numbers).

    y[n,o,i,j] = sum_{c,p,q} w[o,c,p,q] * xpad[n, c, i*stride + p, j*stride + q]

v1  direct loops, one parallel iteration per (image, output channel): the same mapping as
    the naive CUDA kernel (one thread per output pixel). Obviously right, slow.
v2  im2col + GEMM: copy each receptive field into a column, then one BLAS sgemm per image
    does all the multiply-adds at ~200 GFLOP/s. Wins whenever O and C*kh*kw are both
    large enough to feed the GEMM (most layers).
v3  shifted rows ("wide output"), stride 1: for each tap (c,p,q) the input pixels it reads
    form ONE contiguous run of the flattened image, so the inner loop is a long vectorised
    axpy with no im2col buffer. Wins when O is tiny (SRCNN's last layer, O=1), where a GEMM
    would stream a huge column buffer to do very few multiply-adds per element.
auto  (DEFAULT_VERSION) picks v3 for stride 1 and O <= 4, else v2.
"""
import numpy as np
from numba import njit, prange

from .. import cpu_common
from ..cpu_common import (REPLICATE, WORKSPACE, conv_out, one_blas_thread, padding_code,
                          thread_count)
from ..im2col.im2col_numba import im2col_image
from ..im2col.pad_numba import pad_image, padded
from ..blas_numba import gemm
from . import shift_numba

DEFAULT_VERSION = "auto"
VERSIONS = ("v1", "v2", "v3", "v4", "auto")


# ---------------------------------------------------------------- v1: direct loops
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


def conv2d_fwd_v1(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    _conv_direct(x, w, stride, padding, padding_code(padding_mode), y)
    return y


# ---------------------------------------------------------------- v2: im2col + GEMM
@njit(parallel=True, cache=True)
def _conv_gemm(x, wmat, kh, kw, stride, pad, mode, cols, y):
    """Thread t takes images [t*per, (t+1)*per): im2col into its own buffer cols[t], then
    one single-threaded sgemm y[n] (O, Ho*Wo) = wmat (O, K) @ cols[t] (K, Ho*Wo)."""
    n_img, n_ch, h, w = x.shape
    n_parts = cols.shape[0]
    per = (n_img + n_parts - 1) // n_parts
    one_by_one = kh == 1 and kw == 1 and stride == 1 and pad == 0
    for t in prange(n_parts):
        for n in range(t * per, min(n_img, (t + 1) * per)):
            if one_by_one:      # a 1x1 convolution already is a matrix product
                np.dot(wmat, x[n].reshape(n_ch, h * w), y[n])
            else:
                im2col_image(x[n], kh, kw, stride, pad, mode, cols[t])
                np.dot(wmat, cols[t], y[n])


def conv2d_fwd_v2(x, w, stride=1, padding=0, padding_mode="zeros"):
    y = _alloc_out(x, w, stride, padding)
    n_img = x.shape[0]
    n_out, n_ch, kh, kw = w.shape
    ho, wo = y.shape[2:]
    wmat = np.ascontiguousarray(w).reshape(n_out, n_ch * kh * kw)
    parts = min(thread_count(), n_img)
    one_by_one = kh == kw == 1 and stride == 1 and padding == 0
    cols = WORKSPACE.get("cols", (parts, 1 if one_by_one else n_ch * kh * kw, ho * wo), x.dtype)
    with one_blas_thread():
        _conv_gemm(x, wmat, kh, kw, stride, padding, padding_code(padding_mode), cols,
                   y.reshape(n_img, n_out, ho * wo))
    return y


# ---------------------------------------------------------------- v3: shifted rows
def conv2d_fwd_v3(x, w, stride=1, padding=0, padding_mode="zeros"):
    if stride != 1:
        return conv2d_fwd_v2(x, w, stride, padding, padding_mode)
    y = _alloc_out(x, w, stride, padding)
    xp = padded(x, padding, padding_mode)
    shift_numba.conv_shift(xp, w, y)
    return y


# ---------------------------------------------------------------- v4: shifted-window GEMM
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


def conv2d_fwd_v4(x, w, stride=1, padding=0, padding_mode="zeros"):
    if stride != 1:
        return conv2d_fwd_v2(x, w, stride, padding, padding_mode)
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


def conv2d_fwd_auto(x, w, stride=1, padding=0, padding_mode="zeros"):
    n_out, n_ch = w.shape[:2]
    if stride == 1 and n_out <= 4:
        return conv2d_fwd_v3(x, w, stride, padding, padding_mode)
    if stride == 1 and n_ch >= 16:
        return conv2d_fwd_v4(x, w, stride, padding, padding_mode)
    return conv2d_fwd_v2(x, w, stride, padding, padding_mode)


def _alloc_out(x, w, stride, padding):
    ho = conv_out(x.shape[2], w.shape[2], stride, padding)
    wo = conv_out(x.shape[3], w.shape[3], stride, padding)
    return cpu_common.empty((x.shape[0], w.shape[0], ho, wo), x.dtype)


def conv2d_fwd(x, w, stride=1, padding=0, padding_mode="zeros", version=DEFAULT_VERSION):
    """The entry point the library calls: x (N,C,H,W), w (O,C,kh,kw), same dtype."""
    return _IMPL[version](x, w, stride, padding, padding_mode)


_IMPL = {"v1": conv2d_fwd_v1, "v2": conv2d_fwd_v2, "v3": conv2d_fwd_v3, "v4": conv2d_fwd_v4,
         "auto": conv2d_fwd_auto}
