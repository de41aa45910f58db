"""Feature filters and patch grids shared by ScSR and A+.

Both methods read features from the bicubic-upscaled ("mid-resolution") image with
MATLAB ``conv2(img, k, 'same')`` semantics: true convolution (kernel flipped), zero
padding, output the size of the input. For even kernels MATLAB's centre differs from
NumPy/SciPy's 'same' (MATLAB: conv([1 2 3], [1 1], 'same') = [3 5 3]), which matters
for A+'s gradient [1 0 0 -1] at x3, so the convolution is written out here.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numba import njit


def conv2_same(img, kernel, axis):
    """MATLAB conv2(img, k, 'same') for a 1-D kernel along `axis` (1: a row kernel such
    as [-1 0 1], 0: its transpose). 'same' keeps full-convolution samples
    floor(m/2) .. floor(m/2)+n-1, so out[i] = sum_j k[j] * img[i + floor(m/2) - j] with
    zeros outside; this also fixes the centre of even kernels (A+'s [1 0 0 -1] at x3)."""
    img = np.moveaxis(np.asarray(img, np.float64), axis, 0)
    out = np.zeros_like(img)
    n, c = img.shape[0], len(kernel) // 2
    for j, h in enumerate(kernel):
        o = c - j  # out[i] += h * img[i + o]
        if h != 0 and abs(o) < n:
            if o >= 0:
                out[:n - o] += h * img[o:]
            else:
                out[-o:] += h * img[:n + o]
    return np.moveaxis(out, 0, axis)


def scsr_feature_maps(mid):
    """Yang et al.'s four maps: first and second derivatives, horizontal and vertical
    (extr_lIm_fea.m). Returns (4, H, W)."""
    f1 = [-1.0, 0.0, 1.0]
    f2 = [1.0, 0.0, -2.0, 0.0, 1.0]
    return np.stack([conv2_same(mid, f1, 1), conv2_same(mid, f1, 0),
                     conv2_same(mid, f2, 1), conv2_same(mid, f2, 0)])


def aplus_filters(scale):
    """Zeyde/A+ filters with scale-1 zeros between taps: gradient [1 O -1] and
    Laplacian [1 O -2 O 1]/2, each used as a row and as a column kernel."""
    o = [0.0] * (scale - 1)
    g = np.array([1.0] + o + [-1.0])
    lap = np.array([1.0] + o + [-2.0] + o + [1.0]) / 2
    return [(g, 1), (g, 0), (lap, 1), (lap, 0)]


def aplus_feature_maps(mid, scale):
    """The four dilated-filter maps of the mid-resolution image, (4, H, W)."""
    return np.stack([conv2_same(mid, k, axis) for k, axis in aplus_filters(scale)])


def grid(n, window, step, border):
    """0-based patch start positions along one axis, as Zeyde's sampling_grid.m:
    MATLAB 1+border : step : n-window+1-border."""
    return np.arange(border, n - window - border + 1, step)


def scsr_grid(n, patch=5, step=1):
    """ScSR.m's grid along one axis: 1-based 3 : step : n-patch-2, then n-patch-2
    appended unconditionally. With step 1 that last patch appears twice, so it weighs
    double in the overlap average; we keep that quirk to match the released code."""
    last = n - patch - 2  # 1-based
    g = list(range(3, last + 1, step)) + [last]
    return np.array(g, dtype=np.int64) - 1


def extract_patches(img, size, ys, xs):
    """Patches img[..., y:y+size, x:x+size] for every (y, x) in ys x xs, flattened
    row-major per channel: returns (len(ys) * len(xs), C * size * size) where C is
    1 for a 2-D image or img.shape[0] for a stack of maps."""
    img = np.asarray(img, np.float64)
    if img.ndim == 2:
        img = img[None]
    win = sliding_window_view(img, (size, size), axis=(1, 2))  # (C, H', W', s, s)
    p = win[:, ys][:, :, xs]                                   # (C, ny, nx, s, s)
    return np.ascontiguousarray(p.transpose(1, 2, 0, 3, 4)).reshape(len(ys) * len(xs), -1)


@njit(cache=True)
def _overlap_add(acc, cnt, patches, ys, xs, size):
    n = 0
    for y in ys:
        for x in xs:
            k = 0
            for i in range(size):
                for j in range(size):
                    acc[y + i, x + j] += patches[n, k]
                    cnt[y + i, x + j] += 1.0
                    k += 1
            n += 1


def overlap_add(acc, cnt, patches, ys, xs, size):
    """Add row-major `size` x `size` patches (one row of `patches` per (y, x) in
    ys x xs, y slowest) into the accumulator `acc`, counting coverage in `cnt`."""
    _overlap_add(acc, cnt, np.ascontiguousarray(patches, np.float64),
                 np.asarray(ys, np.int64), np.asarray(xs, np.int64), int(size))
