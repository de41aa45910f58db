"""ScSR "path B": Yang, Wright, Huang & Ma's CVPR-08 code (L1SR.m, rnd_smp_dictionary.m,
coupled_dic_train.m), as A+'s evaluation harness runs it through yima.m. This is the
program behind the "SC / Yang et al." entries of the SRCNN and A+ tables (Set5 x3 31.42,
Set14 x3 28.31); tinysr.classic.scsr is the TIP-2010 package ("path A").

Test (L1SR.m, regres 'L1', no back-projection):
- the LR image is bicubic-upscaled by 2, whatever the zoom (mIm, float, not rounded);
  four gradient maps of it ([-1 0 1], its transpose, [1 0 -2 0 1], its transpose);
- 3x3 LR patches with overlap 2 (step 1) on the LR grid 2 : 1 : w-3 (1-based), the last
  start appended again (so the last column and row of patches count twice); each is a
  6x6 block of mIm and its four maps (144-D feature, MATLAB column-major) and a 9x9 HR
  patch at x3;
- a feature with norm > 1 is normalised; its code w is the NON-NEGATIVE Lasso solution
  (SparseLab SolveLasso 'nnlasso', lambda 0.1, see tinysr.classic.nnlasso);
- HR patch = Dh w (times the feature norm if it was normalised) + mean of the 6x6 mIm
  patch; overlaps are averaged; the s-pixel frame no patch reaches is the bicubic
  upscaling. The result is returned as float (the A+ harness scores it).

Scale: the harness (A+'s load_images: rgb2ycbcr on uint8, then im2single) hands L1SR the
LR Y channel in [0, 1], while the dictionary was trained on 0..255 images. The coupled
dictionary is scale-free but the test is not: "norm > 1" and lambda 0.1 are absolute. On
[0, 1] data almost no feature is normalised and most codes are small or zero, so most
patches fall back to their (flat) mean. ``input_range="unit"`` (default) reproduces the
harness, ``input_range=255`` runs L1SR on 0..255 data as the CVPR-08 demo does.

Training (yima.m for scales without a shipped dictionary; x3 had one, which we retrain
with the same recipe): 50,000 positions over the 91 T91 images (rgb2gray), allocated by
pixel count; per image, two random permutations of the LR rows and columns are combined
with meshgrid and the first n taken, so the positions cluster on a few rows; each gives
(9x9 HR patch minus its mean, 144-D feature of the LR image (imresize 1/3, uint8)
upscaled x2 (uint8)), then the same pair transposed. X = [Xh/9; Xl/12], first 80,000
columns, zero columns dropped, unit-normalised; 1024 atoms initialised from random
columns; Lee et al.'s sparse_coding: 50 epochs, each over a random permutation in
mini-batches of 5,000: exact Lasso codes (feature-sign, 1/2||x - Bs||^2 + 0.05|s|_1 --
l1ls_featuresign's convention, with beta = lambda/2) then the Lagrange-dual least-squares
basis update (||b_j|| <= 1) on that batch. Dh and Dl are then unit-normalised per column.

Differences from the MATLAB code, all deliberate:
- NumPy's random generator replaces MATLAB's randperm streams;
- atoms no code uses keep their previous value in the basis update (scsr.dictionary_update;
  the dual is singular there) instead of the zero column Lee's code would produce;
- the bicubic frame is the pixels no patch reaches (s pixels wide); L1SR.m hard-codes 3
  pixels and copies them before dividing by the patch counts, the same at x3 but broken
  at x2 (a bicubic row divided by its count) and x4 (an uncovered row left at 0).
"""
import time
from dataclasses import dataclass, replace

import numpy as np
from numba import njit
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve, lapack
from tqdm.auto import tqdm

from ..seeding import generator
from ..data import imresize, load_dataset
from .features import scsr_feature_maps
from .lasso import feature_sign
from .model_cache import cache_path, cached_model, config_file_name
from .nnlasso import nn_lasso
from .scsr import ScSRModel, rgb2gray, sample_positions

LZ = 2  # the LR image is always upscaled by 2 for features


@dataclass(frozen=True)
class ScSRCVPR08Config:
    scale: int = 3
    patch: int = 3            # LR patch size
    overlap: int = 2          # test-time overlap (LR pixels)
    lam: float = 0.1          # test lambda; training uses lam / 2 in Lee's convention
    n_patches: int = 50_000   # sampled positions (each gives two columns)
    n_atoms: int = 1024
    n_iter: int = 50
    batch: int = 5000
    max_columns: int = 80_000  # coupled_dic_train.m keeps X(:, 1:80000)
    seed: int = 0

    def file_name(self):
        return config_file_name("scsr_cvpr08", self)


@dataclass
class ScSRCVPR08Model(ScSRModel):
    """Dh (scale^2 patch^2, K) and Dl (16 patch^2, K), unit columns; history is Lee's
    fobj_avg per epoch. Saved and loaded as ScSRModel does, under its own method tag."""
    config: ScSRCVPR08Config
    METHOD, DESCRIPTION = "scsr-cvpr08", "a CVPR-08 ScSR model"
    LEGACY_CONFIG = {}

    @classmethod
    def config_class(cls):
        return ScSRCVPR08Config


# --- training data ------------------------------------------------------------------------

def _colmajor(blocks):
    """Flatten the last two axes (rows, cols) MATLAB-style: rows fastest."""
    return np.swapaxes(blocks, -1, -2).reshape(*blocks.shape[:-2], -1)


def sample_image_pairs(gray, scale, n, patch=3, rng=None):
    """(Xh, Xl) rows from one uint8 grey image, as sample_patches.m: for each position the
    pair, then the transposed pair (Hpatch', each Lpatch_k' in place; the horizontal and
    vertical maps are not swapped). Returns (2n, (scale patch)^2), (2n, 16 patch^2)."""
    rng = generator(rng)
    h = np.asarray(gray, np.uint8)
    h = h[:h.shape[0] - h.shape[0] % scale, :h.shape[1] - h.shape[1] % scale]
    lr = imresize(h, scale=1.0 / scale)                 # uint8 in, rounded uint8 out
    nr, nc = lr.shape
    xs, ys = sample_positions(nr - patch - LZ - 1, nc - patch - LZ - 1, n, rng)
    mid = imresize(lr, scale=LZ).astype(np.float64)     # uint8 -> uint8, then double
    maps = scsr_feature_maps(mid)
    hs, ms = scale * patch, LZ * patch
    hwin = np.lib.stride_tricks.sliding_window_view(h.astype(np.float64), (hs, hs))
    mwin = np.lib.stride_tricks.sliding_window_view(maps, (ms, ms), axis=(1, 2))
    H = hwin[xs * scale, ys * scale]                    # (n, hs, hs) [row, col]
    L = mwin[:, xs * LZ, ys * LZ].transpose(1, 0, 2, 3)  # (n, 4, ms, ms)
    Xh = np.empty((2 * len(xs), hs * hs))
    Xl = np.empty((2 * len(xs), 4 * ms * ms))
    hv, ht = _colmajor(H), H.reshape(len(xs), -1)       # Hpatch(:) and Hpatch'(:)
    Xh[0::2] = hv - hv.mean(axis=1, keepdims=True)
    Xh[1::2] = ht - ht.mean(axis=1, keepdims=True)
    Xl[0::2] = _colmajor(L).reshape(len(xs), -1)
    Xl[1::2] = L.reshape(len(xs), -1)
    return Xh, Xl


def sample_patch_pairs(images, scale, n_patches, patch=3, rng=None):
    """rnd_smp_dictionary.m: floor(n_pixels_i * n_patches / sum n_pixels) positions per
    image (n_pixels counts colour channels, as prod(size(im)) does); images are converted
    with rgb2gray. Rows of (Xh, Xl) are in image order, two per position."""
    rng = generator(rng)
    sizes = np.array([np.asarray(im).size for im in images], np.float64)
    per_image = np.floor(sizes * n_patches / sizes.sum()).astype(int)
    pairs = [sample_image_pairs(rgb2gray(im), scale, n, patch, rng) for im, n in zip(images, per_image)]
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def coupled_training_set(Xh, Xl, max_columns=80_000):
    """coupled_dic_train.m: rows [xh / sqrt(dim h), xl / sqrt(dim l)], the first
    `max_columns`, those of norm > 1e-5, each scaled to unit norm."""
    X = np.hstack([Xh / np.sqrt(Xh.shape[1]), Xl / np.sqrt(Xl.shape[1])])[:max_columns]
    X = X[np.linalg.norm(X, axis=1) > 1e-5]
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# --- dictionary learning (Lee et al.'s sparse_coding.m, mini-batch) -----------------------

def lasso_codes(X, B, beta, S0=None):
    """Exact Lasso codes (rows) of the rows of X over the columns of B for
    1/2 ||x - Bs||^2 + beta |s|_1; S0 warm-starts (same solution, fewer steps)."""
    A = np.ascontiguousarray(B.T @ B)
    rank = min(B.shape)
    Bt = np.ascontiguousarray(-X @ B)
    W = np.zeros_like(Bt) if S0 is None else np.array(S0, np.float64, order="C")
    return feature_sign(A, Bt, beta, rank, W)      # rows solved in parallel


def basis_update(X, S, B_prev, dual0=None, c=1.0, tol=1e-9, max_iter=100):
    """argmin_B ||X' - B S'||_F^2 s.t. ||b_j||^2 <= c (rows of X and S are signals and
    codes): the problem of scsr.dictionary_update / l2ls_learn_basis_dual.m, solved the
    way Lee's code does, by Newton's method on the Lagrange dual (fmincon with the
    analytic Hessian), here a projected Newton method with backtracking:
        D(l) = tr(X'X) - tr(XSt (SSt + diag l)^-1 XSt') - c sum(l),  l >= 0,
        dD/dl_j = ||b_j||^2 - c with B = XSt (SSt + diag l)^-1,
        d2D/dl dl' = -2 (B'B) o (SSt + diag l)^-1.
    scsr.dictionary_update (L-BFGS-B, cold start) takes ~50 s per 5000 x 1024 batch on our
    CPU, too slow for 800 updates; this one warm-starts from the previous batch's
    multipliers `dual0` and stops when the dual KKT conditions hold to `tol`.
    Atoms no code uses keep their previous value. Returns (B, multipliers)."""
    S = S.toarray() if sparse.issparse(S) else np.asarray(S, np.float64)
    B = np.array(B_prev, np.float64)
    K = S.shape[1]
    dual = np.full(K, 5.0) if dual0 is None else np.array(dual0, np.float64)
    SSt_all = S.T @ S
    used = np.diag(SSt_all) > 0
    SSt = SSt_all[np.ix_(used, used)]
    XSt = (X.T @ S)[:, used]
    lam = np.maximum(dual[used], 0.0)
    eye = np.eye(SSt.shape[0])

    def solve(lam):
        M = SSt + np.diag(lam)
        try:
            cho = cho_factor(M)
        except np.linalg.LinAlgError:
            cho = cho_factor(M + 1e-10 * np.trace(SSt) / len(lam) * eye)
        T = cho_solve(cho, XSt.T).T                     # B = XSt M^-1, (L, m)
        return cho, T, -float(np.sum(T * XSt)) - c * lam.sum()

    cho, T, f = solve(lam)
    for _ in range(max_iter):
        g = np.sum(T * T, axis=0) - c
        viol = np.where(lam > 0, np.abs(g), np.maximum(g, 0.0))
        if viol.max() <= tol:
            break
        free = (lam > 0) | (g > 0)
        Minv, _ = lapack.dpotri(cho[0], lower=cho[1])  # (SSt + diag l)^-1 from its factor
        Minv = np.triu(Minv) + np.triu(Minv, 1).T if not cho[1] else np.tril(Minv) + np.tril(Minv, -1).T
        H = 2.0 * (T.T @ T) * Minv                      # minus the Hessian, PSD
        Hf = H[np.ix_(free, free)]
        try:
            step = cho_solve(cho_factor(Hf), g[free])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(Hf, g[free], rcond=None)[0]
        d = np.zeros_like(lam)
        d[free] = step
        t = 1.0
        while True:
            new = np.maximum(lam + t * d, 0.0)
            cho_n, T_n, f_n = solve(new)
            if f_n >= f + 1e-4 * g @ (new - lam) or t < 1e-12:
                break
            t *= 0.5
        if f_n < f:  # no ascent possible within rounding: at the optimum
            break
        lam, cho, T, f = new, cho_n, T_n, f_n
    B[:, used] = T
    dual[used] = lam
    return B, dual


def lee_objective(X, B, S, beta):
    """getObjective2.m for 'L1': 1/2 ||X - BS||^2 + beta |S|_1 (summed over the batch)."""
    R = X - S @ B.T
    return 0.5 * float(np.sum(R * R)) + beta * float(np.abs(S).sum())


def train_dictionary(X, n_atoms, beta, n_iter, batch, seed=0, progress=True, log=print,
                     on_epoch=None):
    """sparse_coding(X, n_atoms, beta, 'L1', [], n_iter, batch, [], [], Binit) with Binit
    random columns of X. Returns (B (L, K), fobj_avg per epoch). ``on_epoch(t, B, hist)``
    is called after each epoch t (1-based)."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    B = X[rng.permutation(n)[:n_atoms]].T.copy()
    S_all = np.zeros((n, n_atoms))
    dual = None
    hist = []
    it = tqdm(range(n_iter), desc="ScSR-CVPR08 dictionary", disable=not progress)
    for t in it:
        t0 = time.perf_counter()
        perm = rng.permutation(n)
        fobj = 0.0
        for b in range(n // batch):  # MATLAB 1:(n/batch): a partial last batch is skipped
            idx = perm[b * batch:(b + 1) * batch]
            S = lasso_codes(X[idx], B, beta, None if t == 0 else S_all[idx])
            S_all[idx] = S
            fobj += lee_objective(X[idx], B, S, beta)
            B, dual = basis_update(X[idx], S, B, dual)
        hist.append(fobj / n)
        nnz = np.count_nonzero(S_all) / n
        it.set_postfix(fobj=f"{hist[-1]:.5f}", nnz=f"{nnz:.1f}")
        log(f"epoch {t + 1}/{n_iter}: fobj_avg {hist[-1]:.6f}, mean nnz {nnz:.1f}, "
            f"{time.perf_counter() - t0:.0f} s")
        if on_epoch is not None:
            on_epoch(t + 1, B, np.array(hist))
    return B, np.array(hist)


def load_training_images(root=None):
    """T91 as loaded (RGB uint8): rnd_smp_dictionary counts channels in its allocation."""
    return [img for _, img in load_dataset("T91", root=root)]


def _unit_columns(M):
    """Columns scaled to unit norm; an all-zero column stays zero (MATLAB's division would
    give NaN: a raw sampled pair whose HR patch is flat has a zero Dh part)."""
    n = np.linalg.norm(M, axis=0)
    return M / np.where(n > 0, n, 1.0)


def _split(config, D, hd, seconds, hist):
    return ScSRCVPR08Model(config, _unit_columns(D[:hd]), _unit_columns(D[hd:]), seconds, hist)


SNAPSHOT_EPOCHS = (10, 20, 30, 40)  # where a long run hands out its intermediate dictionaries


def train(config=ScSRCVPR08Config(), images=None, progress=True, log=print, snapshot=None,
          snapshot_at=SNAPSHOT_EPOCHS):
    """The coupled dictionary by the full recipe. ``snapshot(model)``, if given, receives
    the model after each epoch in ``snapshot_at``, with config.n_iter set to that count:
    the same dictionary a run with that n_iter would produce (same random stream)."""
    t0 = time.perf_counter()
    images = load_training_images() if images is None else images
    Xh, Xl = sample_patch_pairs(images, config.scale, config.n_patches, config.patch, config.seed)
    X = coupled_training_set(Xh, Xl, config.max_columns)
    log(f"ScSR-CVPR08 x{config.scale}: {Xh.shape[0]} sampled pairs, {X.shape[0]} used")
    hd = Xh.shape[1]

    def on_epoch(t, B, hist):
        if snapshot is not None and t in snapshot_at and t < config.n_iter:
            snapshot(_split(replace(config, n_iter=t), B, hd, time.perf_counter() - t0, hist))

    D, hist = train_dictionary(X, config.n_atoms, config.lam / 2, config.n_iter, config.batch,
                               config.seed, progress, log, on_epoch)
    model = _split(config, D, hd, time.perf_counter() - t0, hist)
    log(f"ScSR-CVPR08 x{config.scale}: trained in {model.train_seconds:.0f} s")
    return model


# --- inference (L1SR.m) ---------------------------------------------------------------------

def lr_grid(n, patch=3, overlap=2):
    """L1SR.m's LR patch starts along one axis, 0-based: MATLAB 2 : patch-overlap : n-patch,
    then n-patch appended again (with step 1 the last start appears twice)."""
    g = list(range(2, n - patch + 1, patch - overlap)) + [n - patch]
    return np.array(g, dtype=np.int64) - 1


@njit(cache=True)
def _accumulate(acc, cnt, patches, rows, cols):
    s = patches.shape[1]
    for n in range(patches.shape[0]):
        r, c = rows[n], cols[n]
        for i in range(s):
            for j in range(s):
                acc[r + i, c + j] += patches[n, i, j]
                cnt[r + i, c + j] += 1.0


def _range_factor(input_range):
    if input_range in ("unit", 1, 1.0):
        return 1.0
    if input_range in (255, 255.0, "255"):
        return 255.0
    raise ValueError(f"input_range must be 'unit' or 255, not {input_range!r}")


def upscale(model, lr, input_range="unit", solver="solvelasso", lam=None, cols_per_chunk=16,
            return_stats=False):
    """HR Y from LR Y (float in [0, 1]) by L1SR.m. ``input_range="unit"`` feeds L1SR the
    [0, 1] image as A+'s harness does; ``255`` feeds it 0..255 values (the CVPR-08 demo)
    and scales the result back. ``solver``: "solvelasso" (SparseLab's stopping rule) or
    "exact" (the non-negative Lasso at exactly ``lam``, default the config's 0.1)."""
    c = model.config
    s, p = c.scale, c.patch
    lam = c.lam if lam is None else lam
    k = _range_factor(input_range)
    lim = np.asarray(lr, np.float64) * k
    lh, lw = lim.shape
    mid = imresize(lim, scale=LZ)
    maps = scsr_feature_maps(mid)
    ms, hs = LZ * p, s * p
    mwin = np.lib.stride_tricks.sliding_window_view(mid, (ms, ms))
    fwin = np.lib.stride_tricks.sliding_window_view(maps, (ms, ms), axis=(1, 2))
    Dl, Dh = np.asarray(model.Dl, np.float64), np.asarray(model.Dh, np.float64)
    A = np.ascontiguousarray(Dl.T @ Dl)
    max_active = min(Dl.shape)
    gx, gy = lr_grid(lw, p, c.overlap), lr_grid(lh, p, c.overlap)
    acc, cnt = np.zeros((lh * s, lw * s)), np.zeros((lh * s, lw * s))
    n_zero = n_norm = 0
    for i in range(0, len(gx), cols_per_chunk):  # MATLAB loops x (columns) outer, y inner
        xs = np.repeat(gx[i:i + cols_per_chunk], len(gy))
        ys = np.tile(gy, len(gx[i:i + cols_per_chunk]))
        mmean = mwin[LZ * ys, LZ * xs].reshape(len(xs), -1).mean(axis=1)
        fea = _colmajor(fwin[:, LZ * ys, LZ * xs].transpose(1, 0, 2, 3)).reshape(len(xs), -1)
        mnorm = np.linalg.norm(fea, axis=1)
        big = mnorm > 1
        y = np.where(big[:, None], fea / np.where(big, mnorm, 1.0)[:, None], fea)
        w = nn_lasso(A, -(y @ Dl), lam, stop=solver, max_active=max_active)
        hp = (w @ Dh.T) * np.where(big, mnorm, 1.0)[:, None]
        hp = np.swapaxes(hp.reshape(len(xs), hs, hs), 1, 2) + mmean[:, None, None]  # column-major
        _accumulate(acc, cnt, np.ascontiguousarray(hp), s * ys, s * xs)
        n_zero += int(np.sum(~w.any(axis=1)))
        n_norm += int(big.sum())
    # L1SR.m copies a 3-pixel bicubic frame into hIm BEFORE dividing by the patch counts.
    # At x3 that frame is exactly the pixels no patch reaches (an s-pixel frame), so this,
    # which fills the uncovered pixels, is the same; at x2 L1SR.m would divide the bicubic
    # row 3 by its patch count, and at x4 leave row 4 at 0 (about -7 dB on Set5).
    bh = imresize(lim, scale=s)
    empty = cnt < 1
    acc[empty], cnt[empty] = bh[empty], 1.0
    out = acc / cnt / k
    if return_stats:
        n = len(gx) * len(gy)
        return out, {"patches": n, "zero_codes": n_zero / n, "normalised": n_norm / n}
    return out


# --- cache, evaluation hook ------------------------------------------------------------------

def get_model(scale, retrain=False, progress=True, **opts):
    """The cached dictionary for these settings, training (and caching) it if absent.
    A training run also caches its dictionary after each of SNAPSHOT_EPOCHS epochs, under
    that epoch count's own name: the full recipe takes hours on two cores, and an
    interrupted run still leaves the shorter recipes it passed through."""
    def save_snapshot(model):
        path = cache_path(model.config)
        model.save(path)
        print(f"ScSR-CVPR08 x{scale}: epoch {model.config.n_iter} snapshot saved as {path}")

    def train_with_snapshots(config, progress=True):
        return train(config, progress=progress, snapshot=save_snapshot, snapshot_at=SNAPSHOT_EPOCHS)

    return cached_model("ScSR-CVPR08", ScSRCVPR08Config(scale=scale, **opts), ScSRCVPR08Model,
                        train_with_snapshots, retrain, progress)


def scsr_cvpr08_upscaler(scale, input_range="unit", solver="solvelasso", lam=None, **opts):
    """Factory for tinysr.evaluate.METHODS: f(lr, ilr, scale) -> sr."""
    model = get_model(scale, **opts)
    return lambda lr, ilr, s: upscale(model, lr, input_range=input_range, solver=solver, lam=lam)


__all__ = ["ScSRCVPR08Config", "ScSRCVPR08Model", "sample_image_pairs",
           "sample_patch_pairs", "coupled_training_set", "lasso_codes", "basis_update", "train_dictionary",
           "train",
           "lr_grid", "upscale", "get_model", "scsr_cvpr08_upscaler"]
