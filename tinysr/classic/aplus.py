"""A+: Adjusted Anchored Neighbourhood Regression (Timofte, De Smet & Van Gool, ACCV 2014).

Follows the official MATLAB code (learn_dict.m from Zeyde et al., go_run_*.m,
collectSamplesScales.m, scaleup_ANR.m); images are Y in [0, 1] as there.

Features: four dilated gradient/Laplacian maps of the mid-resolution (bicubic) image,
sampled in windows of 3x3 LR pixels (3s x 3s on the HR grid), 1 LR pixel of border
skipped. Windows step 2 LR pixels for dictionary learning (learn_dict.m) and 1 LR pixel
(full overlap) for the regression samples and at test.
Targets are the HR-minus-bicubic residual in the same windows.

Training: uncentred PCA (99.9% energy) of the features of T91; K-SVD (1024 atoms,
sparsity 3, 20 iterations) on them; then, from T91 at 12 scales 0.98^k (at most
5,000,000 windows, in scale order, as go_run_*.m collects them), the 2048
samples nearest to each atom (features l2-normalised) give a ridge regressor
P_j = N_h (N_l'N_l + lam I)^-1 N_l' with lam = 0.1 (computed in the equivalent, much
smaller "dual" form N_h N_l' (N_l N_l' + lam I)^-1).

Test: each window's PCA feature picks the atom of largest |correlation|; its regressor
maps the feature to the residual patch; overlapping patches are averaged and added to
the bicubic image. The s-pixel border the grid cannot reach keeps the bicubic value
(the MATLAB code leaves it 0; the protocol shaves exactly that band).
"""
import time
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit
from tqdm.auto import tqdm

from .. import checkpoint
from ..data import imresize, load_dataset, modcrop, y_channel
from .model_cache import cached_model, config_file_name
from .features import aplus_feature_maps, extract_patches, grid
from .ksvd import ksvd


@dataclass(frozen=True)
class APlusConfig:
    scale: int = 3
    n_atoms: int = 1024
    sparsity: int = 3
    ksvd_iter: int = 20
    n_scales: int = 12
    scale_step: float = 0.98
    max_samples: int = 5_000_000
    n_neighbors: int = 2048
    lam: float = 0.1
    pca_energy: float = 0.999
    seed: int = 0

    def file_name(self):
        return config_file_name("aplus", self)


@dataclass
class APlusModel:
    config: APlusConfig
    pca: np.ndarray         # (feature dim, d): projection onto the kept eigenvectors
    anchors: np.ndarray     # (K, d): the K-SVD atoms, unit norm
    regressors: np.ndarray  # (K, (3s)^2, d): residual patch = regressors[j] @ feature
    train_seconds: float = 0.0

    def save(self, path):
        return checkpoint.save({"method": "aplus", "config": asdict(self.config), "pca": self.pca,
                                "anchors": self.anchors, "regressors": self.regressors,
                                "train_seconds": self.train_seconds}, path)

    @classmethod
    def load(cls, path):
        return cls.from_state(checkpoint.load(path), path)

    @classmethod
    def from_state(cls, st, path):
        """The model from a loaded checkpoint dict (``path`` names it in errors)."""
        if st.get("method") != "aplus":
            raise checkpoint.CheckpointError(f"{path}: not an A+ model (method {st.get('method')!r})")
        return cls(APlusConfig(**st["config"]), st["pca"], st["anchors"], st["regressors"],
                   float(st["train_seconds"]))


# --- features and targets ----------------------------------------------------------------

def window_grid(shape, scale, step_lr):
    """Window starts on the HR grid: 3s windows, border s, step `step_lr` LR pixels."""
    w = 3 * scale
    return (grid(shape[0], w, step_lr * scale, scale), grid(shape[1], w, step_lr * scale, scale))


def training_pairs(hr, scale, step_lr=2):
    """(features, residual patches) of one HR Y image, as learn_dict.m collects them."""
    hr = modcrop(np.asarray(hr, np.float64), scale)
    mid = imresize(imresize(hr, scale=1.0 / scale), scale=scale)
    ys, xs = window_grid(hr.shape, scale, step_lr)
    w = 3 * scale
    return (extract_patches(aplus_feature_maps(mid, scale), w, ys, xs),
            extract_patches(hr - mid, w, ys, xs))


def pca_projection(features, energy=0.999):
    """Eigenvectors of the uncentred F'F, dropping the smallest directions that hold
    less than 1 - energy of the total (learn_dict.m: k = find(cumsum >= 1e-3, 1))."""
    vals, vecs = np.linalg.eigh(features.T @ features)  # ascending
    cum = np.cumsum(vals) / np.sum(vals)
    k = int(np.argmax(cum >= 1.0 - energy))
    return vecs[:, k:]


def nearest_samples(lo, anchors, k, chunk=16, progress=True):
    """Indices (K, k) of the k rows of `lo` nearest each anchor in Euclidean distance."""
    sq = np.einsum("nd,nd->n", lo, lo)
    out = np.empty((anchors.shape[0], k), np.int64)
    it = tqdm(range(0, anchors.shape[0], chunk), desc="A+ neighbours", disable=not progress)
    for s in it:
        a = anchors[s:s + chunk].astype(lo.dtype)
        dist = sq[:, None] - 2.0 * (lo @ a.T) + np.einsum("kd,kd->k", a, a)[None, :]
        for j in range(a.shape[0]):
            out[s + j] = np.argpartition(dist[:, j], k - 1)[:k]
    return out


def ridge_regressor(lo, hi, lam):
    """hi'(lo) mapping, P = Hi Lo'(Lo Lo' + lam I)^-1 for sample rows lo (n, d), hi (n, p);
    equal to A+'s Hi (Lo'Lo + lam I)^-1 Lo' by the push-through identity."""
    d = lo.shape[1]
    return np.linalg.solve(lo.T @ lo + lam * np.eye(d), lo.T @ hi).T


# --- training ---------------------------------------------------------------------------

def load_training_images(root=None):
    """T91 as float Y in [0, 1] from uint8 rgb2ycbcr (A+'s load_images.m)."""
    return [y_channel(img) for _, img in load_dataset("T91", root=root)]


def train(config=APlusConfig(), images=None, progress=True, log=print):
    """Train an A+ model for `config.scale`; `images` defaults to T91 Y."""
    t0 = time.perf_counter()
    s = config.scale
    images = load_training_images() if images is None else images
    feats = np.concatenate([training_pairs(im, s)[0] for im in images])
    pca = pca_projection(feats, config.pca_energy)
    log(f"A+ x{s}: {feats.shape[0]} dictionary samples, PCA {feats.shape[1]} -> {pca.shape[1]} dims")
    anchors, _, _ = ksvd(feats @ pca, config.n_atoms, config.sparsity, config.ksvd_iter,
                         seed=config.seed, progress=progress)
    del feats
    # Samples for the regressors: T91 at 12 scales, windows at full overlap (go_run_*.m
    # sets conf.overlap = window - 1 before collectSamplesScales), kept in order until
    # max_samples. float32 as the official code (single) keeps the pool near 2 GB.
    d, p = pca.shape[1], (3 * s) ** 2
    lo = np.empty((config.max_samples, d), np.float32)
    hi = np.empty((config.max_samples, p), np.float32)
    n = 0
    for k in tqdm(range(config.n_scales), desc="A+ samples (scales)", disable=not progress):
        for im in images:
            im_k = im if k == 0 else imresize(im, scale=config.scale_step ** k)
            if min(im_k.shape) < 5 * s or n == config.max_samples:
                continue
            fe, pa = training_pairs(im_k, s, step_lr=1)
            m = min(fe.shape[0], config.max_samples - n)
            lo[n:n + m], hi[n:n + m] = fe[:m] @ pca, pa[:m]
            n += m
    lo, hi = lo[:n], hi[:n]
    log(f"A+ x{s}: {n} regression samples")
    norms = np.sqrt(np.einsum("nd,nd->n", lo, lo)) + np.finfo(np.float64).eps
    lo /= norms[:, None].astype(np.float32)
    norms[norms < 0.1] = 1.0  # the official code leaves HR patches of weak features unscaled
    hi /= norms[:, None].astype(np.float32)
    nbrs = nearest_samples(lo, anchors, config.n_neighbors, progress=progress)
    regs = np.stack([ridge_regressor(lo[i].astype(np.float64), hi[i].astype(np.float64), config.lam)
                     for i in nbrs])
    model = APlusModel(config, pca, anchors, regs, time.perf_counter() - t0)
    log(f"A+ x{s}: trained in {model.train_seconds:.0f} s")
    return model


# --- inference --------------------------------------------------------------------------

def pca_features(model, mid):
    """PCA-projected features of every full-overlap window, (ny, nx, d).

    Windows are 3x3 LR blocks at a step of one block, so instead of gathering each
    4*(3s)^2 window we project every s x s block once per window offset (nine
    (4 s^2) x d products) and sum the nine shifted results."""
    s, d = model.config.scale, model.pca.shape[1]
    h, w = mid.shape[0] // s, mid.shape[1] // s
    maps = aplus_feature_maps(mid, s)[:, :h * s, :w * s]
    blocks = maps.reshape(4, h, s, w, s).transpose(1, 3, 0, 2, 4).reshape(h * w, 4 * s * s)
    # pca rows follow extract_patches' order: (map, row = bi*s + si, col = bj*s + sj)
    V = np.ascontiguousarray(model.pca.reshape(4, 3, s, 3, s, d).transpose(1, 3, 0, 2, 4, 5)
                             .reshape(9, 4 * s * s, d))
    ny, nx = h - 4, w - 4  # windows start at block 1 and stop one block before the end
    F = np.zeros((max(ny, 0), max(nx, 0), d))
    Z = np.empty((h * w, d))
    for k in range(9):
        bi, bj = divmod(k, 3)
        np.matmul(blocks, V[k], out=Z)
        F += Z.reshape(h, w, d)[1 + bi:1 + bi + ny, 1 + bj:1 + bj + nx]
    return F


@njit(cache=True)
def _regress_add(F, atoms, R, acc, s, nx):
    """acc[window n] += R[atoms[n]] @ F[n] for every window, in raster order."""
    w, d = 3 * s, F.shape[1]
    for n in range(F.shape[0]):
        y0, x0 = s * (1 + n // nx), s * (1 + n % nx)
        Rj = R[atoms[n]]
        k = 0
        for i in range(w):
            for j in range(w):
                v = 0.0
                for t in range(d):
                    v += Rj[k, t] * F[n, t]
                acc[y0 + i, x0 + j] += v
                k += 1


def upscale(model, lr, mid=None, chunk=1024):
    """HR Y from LR Y (floats in [0, 1]); `mid` is the bicubic upscaling if already known."""
    s = model.config.scale
    lr = np.asarray(lr, np.float64)
    mid = imresize(lr, scale=s) if mid is None else np.asarray(mid, np.float64)
    out = mid.copy()
    F = pca_features(model, mid)
    ny, nx, d = F.shape
    if ny <= 0 or nx <= 0:
        return out  # fewer than 5 LR pixels across: nothing to predict
    F = F.reshape(-1, d)
    # Anchor = max |correlation|, scored in float32 (it only matters for exact ties) and
    # in small chunks so the (chunk x 1024) score block stays in cache.
    F32, anchors32 = F.astype(np.float32), model.anchors.astype(np.float32).T.copy()
    atoms = np.empty(F.shape[0], np.int64)
    for c in range(0, F.shape[0], chunk):
        score = F32[c:c + chunk] @ anchors32
        atoms[c:c + chunk] = np.argmax(np.abs(score, out=score), axis=1)
    acc = np.zeros_like(mid)
    _regress_add(F, atoms, np.ascontiguousarray(model.regressors), acc, s, nx)
    # Coverage is separable: windows per row times windows per column.
    cy = np.convolve(np.isin(np.arange(mid.shape[0]), s * (1 + np.arange(ny))), np.ones(3 * s))[:mid.shape[0]]
    cx = np.convolve(np.isin(np.arange(mid.shape[1]), s * (1 + np.arange(nx))), np.ones(3 * s))[:mid.shape[1]]
    cnt = np.outer(cy, cx)
    covered = cnt > 0
    out[covered] += acc[covered] / cnt[covered]
    return out


# --- cache and evaluation hook ----------------------------------------------------------

def get_model(scale, retrain=False, progress=True, **opts):
    """The cached model for these settings, training (and caching) it if absent."""
    return cached_model("A+", APlusConfig(scale=scale, **opts), APlusModel, train, retrain, progress)


def aplus_upscaler(scale, **opts):
    """Factory for tinysr.evaluate.METHODS: f(lr, ilr, scale) -> sr."""
    model = get_model(scale, **opts)
    return lambda lr, ilr, s: upscale(model, lr, mid=ilr)


__all__ = ["APlusConfig", "APlusModel", "train", "upscale", "get_model", "aplus_upscaler",
           "training_pairs", "pca_projection", "nearest_samples", "ridge_regressor", "window_grid"]
