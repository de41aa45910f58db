"""conv2d forward "shifted_rows": the flattened, padded image read in shifted runs (stride 1).

With stride 1, output pixel (i, j) reads xpad[c, i + p, j + q]. Flatten the padded image
(width Wp) and call r = i*Wp + j the "wide" output index: tap (c, p, q) then reads
xflat[c, p*Wp + q + r], ONE contiguous run for all r at once:

    acc[r] += w[o,c,p,q] * xflat[c, p*Wp + q + r]      r = 0 .. (Ho-1)*Wp + Wo - 1

The wide row has Wp columns, of which the last Wp - Wo are junk (they wrap around to the
next image row) and are dropped when acc is copied out. The cost is Wp/Wo more
multiply-adds than needed; the gain is an inner loop LLVM turns into AVX-512 FMAs, with no
column buffer at all.

Numba detail that matters 10x here: index a *slice* with the bare loop counter
(xs = xrow[off:off+span]; xs[r]). Writing xrow[off + r] makes Numba emit a
negative-index wraparound check on every access, and the loop is no longer vectorised.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, fastmath={"contract"})
def conv_shift(xp, w, y):
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
