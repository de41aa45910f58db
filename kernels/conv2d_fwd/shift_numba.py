"""conv2d forward "shifted_rows": the flattened, padded image read in shifted runs (stride 1).

With stride 1, output pixel (i, j) reads xpad[c, i + p, j + q]. Flatten the padded image
(width Wp) and call r = i*Wp + j the "wide" output index: tap (c, p, q) then reads
xflat[c, p*Wp + q + r], ONE contiguous run for all r at once:

    acc[r] += w[o,c,p,q] * xflat[c, p*Wp + q + r]      r = 0 .. (Ho-1)*Wp + Wo - 1

The wide row has Wp columns, of which the last Wp - Wo are junk (they wrap around to the
next image row) and are dropped when acc is copied out. The cost is Wp/Wo more
multiply-adds than needed; the gain is an inner loop LLVM turns into AVX-512 FMAs, with no
column buffer at all.

Training batches run conv_shift: one parallel iteration per (image, output channel), one
tap a pass. One large image (SRCNN's last layer on a 1536x1536 upscale, O = 1: ONE
iteration for conv_shift) runs conv_shift_bands over work items (cpu_common.work_items):
each thread pads its own band of rows (no padded copy of the whole image), then adds 3
column taps a pass into an accumulator chunk that stays in L1 (one load and store of it
per 3 taps). (Tried on training patches: bands and 3 taps a pass there too; on wide rows
of ~350 floats the 3-stream loop ran 1.7x slower, and the item loop cost another 20%.)

Numba detail that matters 10x here: index a *slice* with the bare loop counter
(xs = xrow[off:off+span]; xs[r]). Writing xrow[off + r] makes Numba emit a
negative-index wraparound check on every access, and the loop is no longer vectorised.
"""
import numpy as np
from numba import njit, prange

from ..im2col.pad_numba import pad_rows


CHUNK = 2048        # wide-output floats accumulated at a time (8 KiB in float32)


@njit(parallel=True, cache=True, fastmath={"contract"})
def conv_shift(xp, w, y):
    """Whole images (the training batches): one parallel iteration per (image, output
    channel) over the padded batch xp, one tap a pass."""
    n_img, n_ch, hp, wp = xp.shape
    n_out, _, kh, kw = w.shape
    _, _, ho, wo = y.shape
    span = (ho - 1) * wp + wo
    xf = xp.reshape(n_img, n_ch, hp * wp)
    for no in prange(n_img * n_out):
        n = no // n_out
        o = no - n * n_out
        acc = np.zeros(span, dtype=y.dtype)
        for c in range(n_ch):
            for p in range(kh):
                for q in range(kw):
                    wv = w[o, c, p, q]
                    xs = xf[n, c, p * wp + q:p * wp + q + span]
                    for r in range(span):
                        acc[r] += wv * xs[r]
        for i in range(ho):
            y[n, o, i, :] = acc[i * wp:i * wp + wo]


@njit(parallel=True, cache=True, fastmath={"contract"})
def conv_shift_bands(x, w, pad, mode, items, xb, acc, y):
    """Bands of one large image (items from cpu_common.work_items): xb[t] (C, band + kh - 1,
    Wp) is thread t's padded band, acc[t] its wide output row, accumulated CHUNK floats at
    a time with 3 column taps a pass (axpy_taps)."""
    n_out, n_ch, kh, kw = w.shape
    wo = y.shape[3]
    wp = xb.shape[3]
    n_parts = xb.shape[0]
    n_items = items.shape[0]
    per = (n_items + n_parts - 1) // n_parts
    for t in prange(n_parts):
        xf = xb[t].reshape(n_ch, -1)
        a = acc[t]
        for it in range(t * per, min(n_items, (t + 1) * per)):
            n, i0, i1 = items[it, 0], items[it, 2], items[it, 3]     # one image per item
            pad_rows(x[n], pad, mode, i0, xb[t])
            span = (i1 - i0 - 1) * wp + wo
            for o in range(n_out):
                for r0 in range(0, span, CHUNK):      # a[r0 : r0 + CHUNK] stays in L1
                    nr = min(CHUNK, span - r0)
                    ar = a[r0:r0 + nr]
                    ar[:] = 0
                    for c in range(n_ch):
                        row = xf[c]
                        for p in range(kh):
                            for q in range(0, kw, 3):
                                nq = min(3, kw - q)
                                axpy_taps(ar, row, p * wp + q + r0, nr, w[o, c, p, q],
                                          w[o, c, p, q + 1] if nq > 1 else 0.0,
                                          w[o, c, p, q + 2] if nq > 2 else 0.0, nq)
                for i in range(i1 - i0):
                    y[n, o, i0 + i, :] = a[i * wp:i * wp + wo]


@njit(cache=True, fastmath={"contract"}, inline="always")
def axpy_taps(a, row, off, span, w0, w1, w2, nq):
    """a[r] += w0 * row[off + r] + w1 * row[off + 1 + r] + w2 * row[off + 2 + r], r < span,
    for the first nq (1..3) of them: nq column taps in one pass, so a is loaded and stored
    once per 3 taps instead of once per tap. Each tap's run is its own slice indexed by
    the bare counter (see the module note)."""
    x0 = row[off:off + span]
    if nq == 1:
        for r in range(span):
            a[r] += w0 * x0[r]
        return
    x1 = row[off + 1:off + 1 + span]
    if nq == 2:
        for r in range(span):
            a[r] += w0 * x0[r] + w1 * x1[r]
        return
    x2 = row[off + 2:off + 2 + span]
    for r in range(span):
        a[r] += w0 * x0[r] + w1 * x1[r] + w2 * x2[r]
