"""ScSR: image super-resolution via sparse representation (Yang, Wright, Huang & Ma,
TIP 2010), following the released TIP code (Demo_SR.m, ScSR.m, backprojection.m,
Demo_Dictionary_Training.m, train_coupled_dict.m, reg_sparse_coding.m).

Pixels are on the 0..255 scale inside this module, as in the MATLAB code, because two
thresholds are absolute (feature norm > 1 is normalised; HR patch variance > 10 is kept).

Test: the LR image is bicubic-upscaled (rounded, as imresize on uint8 does); four
gradient maps of it give a 100-D feature per 5x5 patch on a step-1 grid (overlap 4).
Each feature (normalised if its norm exceeds 1) is sparse-coded over Dl with lambda 0.2;
Dh times the code, rescaled to 1.2x the norm of the mean-removed bicubic patch (the
code's lin_scale) plus that patch's mean, is averaged over overlaps; uncovered border
pixels keep the bicubic value. Then 20 iterations of back-projection.
Speed: a 512x512 input at x3 means 2.3 M patches, each an exact Lasso over 1024 atoms.
`upscale` runs them in parallel blocks, each block with its own GEMM for Dl'f and work
buffers, solving on the active set only and skipping zero features (see
`_hr_patches_fast`); `upscale(..., reference=True)` runs the plain loop it must equal.

Training: 100,000 random 5x5 positions over the T91 grey images (rgb2gray), in
proportion to image size, taken as sample_patches.m does: the first n points of a
meshgrid of two random permutations, which clusters them on a few rows of each image
(``positions="uniform"`` draws them uniformly instead: Set5 x3 +0.04 dB after 10
rounds, docs/results.md); pairs whose HR patch variance is <= 10 are dropped. HR vectors
(mean-removed patches) and LR features are each l2-normalised, stacked as
[sqrt(25) Xh; sqrt(100) Xl] and renormalised, as train_coupled_dict.m does. Note this
weighs the LR block 2:1 over the HR block, the opposite of the paper's 1/sqrt(N),
1/sqrt(M) weighting; we follow the code that produced the released dictionaries.
A joint dictionary is learnt by alternating exact Lasso codes (feature-sign search,
lambda 0.15) and the constrained least-squares dictionary update (||d_j|| <= 1) solved
through its Lagrange dual, 40 rounds, full batch.

Differences from the released code, all deliberate:
- the test LR is the float Y of the evaluation protocol, not a uint8 image;
- atoms no signal uses keep their previous value in the dictionary update (the dual is
  singular in their coordinates; MATLAB's fmincon returns an arbitrary value there).
"""
import time
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit, prange
from scipy import optimize, sparse
from tqdm.auto import tqdm

from .. import checkpoint
from ..seeding import generator
from ..data import imresize, load_dataset, round_uint8
from ..kernels.blas_numba import gemm
from ..kernels.cpu_common import one_blas_thread, thread_count
from .model_cache import cached_model, config_file_name
from .features import conv2_same, extract_patches, overlap_add, scsr_feature_maps, scsr_grid
from .lasso import _feature_sign_active, feature_sign, fista


@dataclass(frozen=True)
class ScSRConfig:
    scale: int = 3
    n_atoms: int = 1024
    patch: int = 5
    n_samples: int = 100_000
    var_threshold: float = 10.0
    lam: float = 0.15          # training lambda (the test default is 0.2, see `upscale`)
    n_iter: int = 40
    solver: str = "feature_sign"  # training code solver: "feature_sign" or "fista"
    seed: int = 0
    positions: str = "meshgrid"  # training positions: "meshgrid" (sample_patches.m) or "uniform"

    def file_name(self):
        return config_file_name("scsr", self)


@dataclass
class ScSRModel:
    config: ScSRConfig
    Dh: np.ndarray  # (patch^2, K)
    Dl: np.ndarray  # (4 patch^2, K)
    train_seconds: float = 0.0
    history: np.ndarray = None  # training objective per round
    source: str = ""            # the authors' .mat file, for an imported dictionary

    # A coupled dictionary checkpoint; scsr_cvpr08's model reuses it with its own tag and config.
    METHOD, DESCRIPTION = "scsr", "an ScSR model"
    # Config fields added after checkpoints were written, with the value those files used.
    LEGACY_CONFIG = {"positions": "uniform"}

    @classmethod
    def config_class(cls):
        return ScSRConfig

    def save(self, path):
        return checkpoint.save({"method": self.METHOD, "config": asdict(self.config), "Dh": self.Dh,
                                "Dl": self.Dl, "train_seconds": self.train_seconds,
                                "history": np.asarray(self.history if self.history is not None else []),
                                "source": self.source},
                               path)

    @classmethod
    def load(cls, path):
        return cls.from_state(checkpoint.load(path), path)

    @classmethod
    def from_state(cls, st, path):
        """The model from a loaded checkpoint dict (``path`` names it in errors)."""
        if st.get("method") != cls.METHOD:
            raise checkpoint.CheckpointError(
                f"{path}: not {cls.DESCRIPTION} (method {st.get('method')!r})")
        config = {**cls.LEGACY_CONFIG, **st["config"]}
        return cls(cls.config_class()(**config), st["Dh"], st["Dl"], float(st["train_seconds"]),
                   st["history"], str(st.get("source", "")))


# --- training data ------------------------------------------------------------------------

def rgb2gray(img):
    """MATLAB rgb2gray on uint8 (rounded uint8 out); a single-channel image passes through."""
    img = np.asarray(img)
    if img.ndim == 2:
        return img
    return round_uint8(img.astype(np.float64) @ np.array([0.298936021293775, 0.587043074451121,
                                                          0.114020904255103]))


def sample_positions(n_rows, n_cols, n, rng):
    """sample_patches.m's positions (0-based row, col indices into ranges of n_rows, n_cols):
    x = randperm(n_rows), y = randperm(n_cols), [X, Y] = meshgrid(x, y), the first n of
    X(:), Y(:). Column-major order keeps x fixed while y runs, so consecutive positions
    share a row: n positions fall on only about n / n_cols rows of the image."""
    x = rng.permutation(n_rows)
    y = rng.permutation(n_cols)
    k = np.arange(min(n, n_rows * n_cols))
    return x[k // n_cols], y[k % n_cols]


def sample_patch_pairs(images, scale, n_samples, patch=5, rng=None, positions="meshgrid"):
    """(Xh, Xl): mean-removed HR patches (n, patch^2) and LR features (n, 4 patch^2)
    from uint8 grey images, as rnd_smp_patch.m / sample_patches.m. ``positions``:
    "meshgrid" takes sample_patches.m's row-clustered positions (`sample_positions`),
    "uniform" draws them uniformly without replacement over the same range."""
    if positions not in ("uniform", "meshgrid"):
        raise ValueError(f"positions must be 'uniform' or 'meshgrid', not {positions!r}")
    rng = generator(rng)
    sizes = np.array([im.size for im in images], np.float64)
    per_image = np.floor(sizes * n_samples / sizes.sum()).astype(int)
    Xh, Xl = [], []
    for im, n in zip(images, per_image):
        hr = np.asarray(im, np.uint8)
        mid = imresize(imresize(hr, scale=1.0 / scale), shape=hr.shape)  # uint8 in, rounded
        rows = np.arange(patch, hr.shape[0] - patch - 1)  # MATLAB randperm(n-2p-1) + p, 0-based
        cols = np.arange(patch, hr.shape[1] - patch - 1)
        n = min(n, rows.size * cols.size)
        if positions == "meshgrid":
            r, c = sample_positions(rows.size, cols.size, n, rng)
            ys, xs = rows[r], cols[c]
        else:
            pick = rng.choice(rows.size * cols.size, n, replace=False)
            ys, xs = rows[pick // cols.size], cols[pick % cols.size]
        hwin = np.lib.stride_tricks.sliding_window_view(hr.astype(np.float64), (patch, patch))
        h = hwin[ys, xs].reshape(n, -1)
        fwin = np.lib.stride_tricks.sliding_window_view(scsr_feature_maps(mid.astype(np.float64)),
                                                        (patch, patch), axis=(1, 2))
        Xh.append(h - h.mean(axis=1, keepdims=True))
        Xl.append(fwin[:, ys, xs].transpose(1, 0, 2, 3).reshape(n, -1))
    return np.concatenate(Xh), np.concatenate(Xl)


def coupled_training_set(Xh, Xl, var_threshold=10.0):
    """Prune flat pairs, normalise and stack as train_coupled_dict.m: rows of the result
    are unit vectors [sqrt(hd) xh/|xh|, sqrt(ld) xl/|xl|] / sqrt(hd + ld)."""
    keep = Xh.var(axis=1, ddof=1) > var_threshold
    Xh, Xl = Xh[keep], Xl[keep]
    hn, ln = np.linalg.norm(Xh, axis=1), np.linalg.norm(Xl, axis=1)
    keep = (hn > 0) & (ln > 0)
    Xh, Xl = Xh[keep] / hn[keep, None], Xl[keep] / ln[keep, None]
    X = np.hstack([np.sqrt(Xh.shape[1]) * Xh, np.sqrt(Xl.shape[1]) * Xl])
    n = np.linalg.norm(X, axis=1)
    X = X[n > 1e-5]
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# --- dictionary learning -------------------------------------------------------------------

def sparse_codes(X, B, lam, solver="feature_sign", S0=None, chunk=2048, fista_iter=200):
    """Sparse codes S (scipy CSR, (n, K)) of the rows of X over the columns of B.
    Feature-sign can warm-start from the previous round's codes S0: same solution,
    found in fewer steps because the supports change little between rounds."""
    A = B.T @ B
    rank = np.linalg.matrix_rank(A, hermitian=True)
    parts = []
    for s in range(0, X.shape[0], chunk):
        x = X[s:s + chunk]
        if solver == "feature_sign":
            W = feature_sign(A, -x @ B, lam, rank, None if S0 is None else S0[s:s + chunk].toarray())
        else:
            W = fista(B, x, lam, fista_iter)
        parts.append(sparse.csr_matrix(W))
    return sparse.vstack(parts).tocsr()


def dictionary_update(X, S, B_prev, c=1.0):
    """argmin_B ||X' - B S'||_F^2 s.t. ||b_j||^2 <= c, via the Lagrange dual (Lee et al.
    2007, l2ls_learn_basis_dual.m): maximise over lambda >= 0
        tr(X'X) - tr(XSt (SSt + diag lambda)^-1 XSt') - c sum(lambda),
    then B = XSt (SSt + diag lambda)^-1. Rows of X and S are signals and codes."""
    B = B_prev.copy()
    SSt = (S.T @ S).toarray()
    used = np.diag(SSt) > 0
    SSt = SSt[np.ix_(used, used)]
    XSt = np.asarray((S.T @ X).T)[:, used]  # (L, M)
    trXX = float(np.sum(X * X))

    def negdual(lam):
        Minv = np.linalg.inv(SSt + np.diag(lam))
        T = XSt @ Minv
        f = trXX - np.sum(T * XSt) - c * lam.sum()
        g = np.sum(T * T, axis=0) - c
        return -f, -g

    M = SSt.shape[0]
    res = optimize.minimize(negdual, np.full(M, 10.0 * 0.5), jac=True, method="L-BFGS-B",
                            bounds=[(0, None)] * M, options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-8})
    B[:, used] = np.linalg.solve(SSt + np.diag(res.x), XSt.T).T
    return B


def objective(X, B, S, lam):
    R = X - S @ B.T
    return 0.5 * float(np.sum(R * R)) + lam * float(abs(S).sum())


def train_dictionary(X, n_atoms, lam, n_iter, solver="feature_sign", seed=0, progress=True):
    """reg_sparse_coding.m: random centred unit-norm init, then alternate codes and the
    dual dictionary update over the full batch. Returns (B (L, K), objective history)."""
    rng = np.random.default_rng(seed)
    B = rng.uniform(-0.5, 0.5, (X.shape[1], n_atoms))
    B -= B.mean(axis=0)
    B /= np.linalg.norm(B, axis=0)
    hist, S = [], None
    it = tqdm(range(n_iter), desc=f"ScSR dictionary ({solver})", disable=not progress)
    for _ in it:
        S = sparse_codes(X, B, lam, solver, S)
        hist.append(objective(X, B, S, lam))
        B = dictionary_update(X, S, B)
        it.set_postfix(obj=f"{hist[-1]:.1f}", nnz=f"{S.nnz / X.shape[0]:.1f}")
    return B, np.array(hist)


def load_training_images(root=None):
    """T91 as uint8 grey images (Demo_Dictionary_Training.m uses rgb2gray, not Y)."""
    return [rgb2gray(img) for _, img in load_dataset("T91", root=root)]


def train(config=ScSRConfig(), images=None, progress=True, log=print):
    t0 = time.perf_counter()
    images = load_training_images() if images is None else images
    Xh, Xl = sample_patch_pairs(images, config.scale, config.n_samples, config.patch, config.seed,
                                config.positions)
    X = coupled_training_set(Xh, Xl, config.var_threshold)
    log(f"ScSR x{config.scale}: {Xh.shape[0]} sampled pairs, {X.shape[0]} after pruning")
    D, hist = train_dictionary(X, config.n_atoms, config.lam, config.n_iter, config.solver,
                               config.seed, progress)
    hd = config.patch ** 2
    model = ScSRModel(config, D[:hd], D[hd:], time.perf_counter() - t0, hist)
    log(f"ScSR x{config.scale}: trained in {model.train_seconds:.0f} s")
    return model


# --- inference ------------------------------------------------------------------------------

def backprojection(hr, lr, n_iter=20):
    """backprojection.m: hr += p * imresize(lr - imresize(hr, lr size), hr size), with p
    the normalised square of a 5x5 sigma-1 Gaussian (separable), conv2 'same'."""
    g = np.exp(-np.arange(-2, 3) ** 2 / 2.0)
    p = g ** 2 / np.sum(g ** 2)  # 2-D kernel = outer(p, p), since fspecial's is separable
    hr = np.asarray(hr, np.float64).copy()
    for _ in range(n_iter):
        diff = imresize(lr - imresize(hr, shape=lr.shape), shape=hr.shape)
        hr += conv2_same(conv2_same(diff, p, 0), p, 1)
    return hr


def _patch_features(mid, maps, p, yc, xs):
    """Per patch of the rows yc: the mid patch's mean and the norm of its mean-removed
    pixels, and the feature vector, normalised when its norm exceeds 1."""
    m = extract_patches(mid, p, yc, xs)
    mean = m.mean(axis=1, keepdims=True)
    mnorm = np.linalg.norm(m - mean, axis=1)
    f = extract_patches(maps, p, yc, xs)
    fn = np.linalg.norm(f, axis=1)
    f[fn > 1] /= fn[fn > 1, None]
    return f, fn, mean, mnorm


def _lin_scale(h, mnorm, mean):
    # lin_scale: the HR patch gets 1.2x the norm of the mean-removed bicubic patch.
    hn = np.linalg.norm(h, axis=1)
    gain = np.where(hn > 0, 1.2 * mnorm / np.where(hn > 0, hn, 1.0), 1.0)
    return h * gain[:, None] + mean


def _hr_patches_reference(model, mid, maps, lam, solver, fista_iter, rows_per_chunk):
    """The straightforward loop: dense codes, one Lasso after the other (or FISTA)."""
    p = model.config.patch
    Dl = model.Dl / np.linalg.norm(model.Dl, axis=0)
    A = Dl.T @ Dl
    rank = np.linalg.matrix_rank(A, hermitian=True)
    ys, xs = scsr_grid(mid.shape[0], p), scsr_grid(mid.shape[1], p)
    acc, cnt = np.zeros_like(mid), np.zeros_like(mid)
    for r in range(0, len(ys), rows_per_chunk):
        yc = ys[r:r + rows_per_chunk]
        f, _, mean, mnorm = _patch_features(mid, maps, p, yc, xs)
        w = feature_sign(A, -f @ Dl, lam, rank) if solver == "feature_sign" else fista(Dl, f, lam, fista_iter)
        overlap_add(acc, cnt, _lin_scale(w @ model.Dh.T, mnorm, mean), yc, xs, p)
    return acc, cnt


@njit(cache=True, parallel=True)
def _hr_patch_rows(mid, maps, ys, xs, p, neg_Dl, A, Dh, lam, rank, n_parts, block, out):
    """The HR patch (flattened row-major) at every (y, x) in ys x xs, into out[r * nx + j].
    Work is split in blocks of `block` patches along a row, dealt round-robin to n_parts
    threads; each thread builds its block's features, computes b = -Dl'f for the block
    with one single-threaded GEMM (the block's b fits in L2), then solves its Lassos."""
    nx, ld = xs.shape[0], p * p
    L, K = neg_Dl.shape
    per_row = (nx + block - 1) // block
    cap = min(K, rank + 1)
    for t in prange(n_parts):
        f, b = np.empty((block, L)), np.empty((block, K))
        live, mean, mnorm = np.empty(block, np.int64), np.empty(block), np.empty(block)
        act, xa, h = np.empty(cap, np.int64), np.empty(cap), np.empty(ld)
        is_act, grad = np.zeros(K, np.bool_), np.empty(K)
        Aa, Lc = np.empty((cap, cap)), np.empty((cap, cap))
        ba, x_new, x_s, x_min = np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap)
        for q in range(t, ys.shape[0] * per_row, n_parts):
            r, j0 = q // per_row, (q % per_row) * block
            y, n, n_live = ys[r], min(block, nx - j0), 0
            for i in range(n):
                x = xs[j0 + i]
                s = 0.0
                for u in range(p):
                    for v in range(p):
                        s += mid[y + u, x + v]
                mu, ss = s / ld, 0.0
                for u in range(p):
                    for v in range(p):
                        ss += (mid[y + u, x + v] - mu) ** 2
                mean[i], mnorm[i] = mu, np.sqrt(ss)
                k, ss = 0, 0.0
                for c in range(maps.shape[0]):
                    for u in range(p):
                        for v in range(p):
                            f[n_live, k] = maps[c, y + u, x + v]
                            ss += f[n_live, k] ** 2
                            k += 1
                fn = np.sqrt(ss)
                if fn > 1:  # Yang's code normalises only features with norm above 1
                    for k in range(L):
                        f[n_live, k] /= fn
                if fn > 0:  # a zero feature has b = 0, so w = 0: no GEMM row, no solve
                    live[n_live] = i
                    n_live += 1
                for k in range(ld):
                    out[r * nx + j0 + i, k] = mu  # the patch when w = 0 (no HR detail)
            if n_live > 0:
                gemm(False, False, n_live, K, L, 1.0, f, L, neg_Dl, K, 0.0, b, K)
            for l in range(n_live):
                m = _feature_sign_active(A, b[l], lam, rank, act, xa, is_act, grad, Aa, ba, Lc,
                                         x_new, x_s, x_min)
                h[:] = 0.0
                for a in range(m):  # Dh w over the code's few atoms, not all K
                    for k in range(ld):
                        h[k] += Dh[k, act[a]] * xa[a]
                ss = 0.0
                for k in range(ld):
                    ss += h[k] * h[k]
                hn = np.sqrt(ss)
                if hn > 0:  # lin_scale: 1.2x the norm of the mean-removed bicubic patch
                    i = live[l]
                    gain = 1.2 * mnorm[i] / hn
                    for k in range(ld):
                        out[r * nx + j0 + i, k] = h[k] * gain + mean[i]


def _hr_patches_fast(model, mid, maps, lam, rows_per_chunk, block=64):
    """The same patches, computed in one parallel pass per chunk of rows (`_hr_patch_rows`)
    with three exact shortcuts: a patch whose feature is all zero gets w = 0 without a
    product or a solve (b = -Dl'0 = 0, and |b|_inf <= lam proves w = 0 optimal); each
    Lasso works on its active set only (`_feature_sign_active`); Dh w touches only the
    atoms the code uses."""
    p = model.config.patch
    Dl = model.Dl / np.linalg.norm(model.Dl, axis=0)
    A = Dl.T @ Dl
    rank = int(np.linalg.matrix_rank(A, hermitian=True))
    neg_Dl = np.ascontiguousarray(-Dl)  # b = -Dl'f as a single product
    Dh = np.ascontiguousarray(model.Dh, np.float64)
    mid, maps = np.ascontiguousarray(mid, np.float64), np.ascontiguousarray(maps, np.float64)
    ys, xs = scsr_grid(mid.shape[0], p), scsr_grid(mid.shape[1], p)
    acc, cnt = np.zeros_like(mid), np.zeros_like(mid)
    out = np.empty((rows_per_chunk * len(xs), p * p))
    with one_blas_thread():  # our threads each call a single-threaded GEMM
        for r in range(0, len(ys), rows_per_chunk):
            yc = ys[r:r + rows_per_chunk]
            o = out[:len(yc) * len(xs)]
            _hr_patch_rows(mid, maps, yc, xs, p, neg_Dl, A, Dh, float(lam), rank,
                           thread_count(), block, o)
            overlap_add(acc, cnt, o, yc, xs, p)
    return acc, cnt


def upscale(model, lr, lam=0.2, solver="feature_sign", fista_iter=100, bp_iter=20,
            rows_per_chunk=16, reference=False, scale=None):
    """HR Y from LR Y (floats in [0, 1]). `reference=True` runs the straightforward
    patch loop (sequential dense feature-sign) instead of the fast one; both give the
    same image up to float rounding.

    `scale` defaults to the scale the dictionary was trained for. Another zoom runs as
    Demo_SR.m does when only its `up_scale` is changed: the patches live on the upscaled
    grid, so nothing in the test ties the dictionary to its training scale, and the TIP
    package ships a single (x2) dictionary."""
    s, p = model.config.scale if scale is None else scale, model.config.patch
    if s != int(s) or s < 2:
        raise ValueError(f"ScSR upscales by an integer factor >= 2, got {scale}")
    s = int(s)
    lr255 = np.asarray(lr, np.float64) * 255.0
    mid = round_uint8(imresize(lr255, scale=s)).astype(np.float64)
    maps = scsr_feature_maps(mid)
    if solver == "feature_sign" and not reference:
        acc, cnt = _hr_patches_fast(model, mid, maps, lam, rows_per_chunk)
    else:
        acc, cnt = _hr_patches_reference(model, mid, maps, lam, solver, fista_iter, rows_per_chunk)
    empty = cnt < 1
    acc[empty], cnt[empty] = mid[empty], 1.0
    hr = round_uint8(acc / cnt).astype(np.float64)  # ScSR.m returns uint8
    return backprojection(hr, lr255, bp_iter) / 255.0


# --- cache, evaluation hook and the CLI entry point -----------------------------------------

def get_model(scale, retrain=False, progress=True, **opts):
    """The cached model for these settings, training (and caching) it if absent."""
    return cached_model("ScSR", ScSRConfig(scale=scale, **opts), ScSRModel, train, retrain, progress)


def scsr_upscaler(scale, lam=0.2, solver="feature_sign", fista_iter=100, **opts):
    """Factory for tinysr.evaluate.METHODS: f(lr, ilr, scale) -> sr."""
    model = get_model(scale, **opts)
    return lambda lr, ilr, s: upscale(model, lr, lam=lam, solver=solver, fista_iter=fista_iter)


__all__ = ["ScSRConfig", "ScSRModel", "train", "upscale", "backprojection", "get_model",
           "scsr_upscaler", "sample_patch_pairs",
           "coupled_training_set", "dictionary_update", "train_dictionary", "rgb2gray"]
