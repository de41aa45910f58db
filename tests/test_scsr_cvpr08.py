"""ScSR path B (CVPR-08 L1SR.m): the non-negative Lasso homotopy against a slow reference,
SolveLasso's stopping rule, the training sampler, the basis update, the L1SR grid and
border, a literal per-patch replica of L1SR, the model round trip and a tiny end to end."""
from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

from tinysr import checkpoint
from tinysr.classic import scsr_cvpr08 as cv
from tinysr.classic.features import scsr_feature_maps
from tinysr.classic.nnlasso import nn_lasso, nn_lasso_objective, nn_lasso_optimality_gap
from tinysr.classic.scsr import dictionary_update
from tinysr.data import imresize


# --- the non-negative Lasso -------------------------------------------------------------

def projected_cd(A, b, lam, tol=1e-15, max_sweeps=100_000):
    """Slow reference: projected coordinate descent to a 1e-15 step."""
    w = np.zeros(len(b))
    for _ in range(max_sweeps):
        change = 0.0
        for i in range(len(b)):
            new = max(0.0, w[i] - (A[i] @ w + b[i] + lam) / A[i, i])
            change, w[i] = max(change, abs(new - w[i])), new
        if change < tol:
            break
    return w


def random_problem(seed, L, K):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((L, K))
    D /= np.linalg.norm(D, axis=0)
    y = rng.standard_normal(L)
    return D.T @ D, -D.T @ y, rng.uniform(0.02, 0.5)


@pytest.mark.parametrize("seed", range(12))
def test_nn_lasso_matches_reference_and_kkt(seed):
    L, K = (12, 8) if seed % 3 == 0 else (10, 24)  # full column rank, and over-complete
    A, b, lam = random_problem(seed, L, K)
    w = nn_lasso(A, b, lam)
    ref = projected_cd(A, b, lam)
    assert np.all(w >= 0)
    assert nn_lasso_optimality_gap(A, b, w, lam) < 1e-10
    assert nn_lasso_objective(A, b, w, lam) <= nn_lasso_objective(A, b, ref, lam) + 1e-12
    np.testing.assert_allclose(w, ref, atol=1e-8)


def test_nn_lasso_batch_equals_rows_and_lambda_per_row():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((10, 30))
    A, B, lam = D.T @ D, -rng.standard_normal((7, 10)) @ D, 0.3  # b in the range of A
    W = nn_lasso(A, B, lam)
    for r in range(7):
        np.testing.assert_array_equal(W[r], nn_lasso(A, B[r], lam))
    assert nn_lasso_optimality_gap(A, B, W, lam) < 1e-10


def test_orthonormal_path_and_solvelasso_overshoot():
    # A = I: w(lam) = max(c - lam, 0); breakpoints at the positive c, sorted.
    c = np.array([0.5, 0.3, 0.08, 0.05, -0.2])
    A, b = np.eye(5), -c
    np.testing.assert_allclose(nn_lasso(A, b, 0.1), np.maximum(c - 0.1, 0), atol=1e-14)
    # SolveLasso tests lambda <= 0.1 with the lambda at the START of a step: the first
    # step starting at or below 0.1 starts at 0.08 and runs on to the next breakpoint, 0.05.
    w, lam = nn_lasso(A, b, 0.1, stop="solvelasso", return_lambda=True)
    assert lam == pytest.approx(0.05, abs=1e-12)
    np.testing.assert_allclose(w, np.maximum(c - 0.05, 0), atol=1e-12)
    # lam0 = max(c) below lambda: SolveLasso returns [] (-> zeros in L1SR.m)
    w, lam = nn_lasso(A, b, 0.6, stop="solvelasso", return_lambda=True)
    assert not w.any() and lam == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(6))
def test_solvelasso_result_is_the_exact_solution_at_its_lambda(seed):
    A, b, lam = random_problem(seed, 10, 24)
    lam = min(lam, 0.8 * np.max(-b))
    w, lam_sl = nn_lasso(A, b, lam, stop="solvelasso", return_lambda=True)
    assert lam_sl < lam
    if lam_sl > 0:
        np.testing.assert_allclose(w, nn_lasso(A, b, lam_sl), atol=1e-9)
        assert nn_lasso_optimality_gap(A, b, w, lam_sl) < 1e-9


def test_optimality_gap_flags_wrong_points():
    A, b, lam = random_problem(1, 10, 20)
    w = nn_lasso(A, b, lam)
    assert nn_lasso_optimality_gap(A, b, w, lam) < 1e-10
    assert nn_lasso_optimality_gap(A, b, w + 0.01 * (w > 0), lam) > 1e-3
    assert nn_lasso_optimality_gap(A, b, w - 0.1, lam) >= 0.1  # negative entries


# --- training -----------------------------------------------------------------------------

def test_sample_image_pairs_match_a_literal_replica():
    rng = np.random.default_rng(0)
    img = (rng.random((40, 47)) * 255).round().astype(np.uint8)
    Xh, Xl = cv.sample_image_pairs(img, 3, 15, 3, rng=5)
    assert Xh.shape == (30, 81) and Xl.shape == (30, 144)
    r = np.random.default_rng(5)
    h = img[:39, :45]                                     # cropped to multiples of 3
    lr = imresize(h, scale=1 / 3)
    x = r.permutation(lr.shape[0] - 6) + 1                # randperm(nrow - 3 - 2 - 1)
    y = r.permutation(lr.shape[1] - 6) + 1
    X, Y = np.meshgrid(x, y)
    maps = scsr_feature_maps(imresize(lr, scale=2).astype(np.float64))
    for k, (a, c) in enumerate(zip(X.flatten(order="F")[:15], Y.flatten(order="F")[:15])):
        H = h[(a - 1) * 3:(a - 1) * 3 + 9, (c - 1) * 3:(c - 1) * 3 + 9].astype(np.float64)
        Ls = [m[(a - 1) * 2:(a - 1) * 2 + 6, (c - 1) * 2:(c - 1) * 2 + 6] for m in maps]
        np.testing.assert_array_equal(Xh[2 * k], H.flatten(order="F") - H.mean())
        np.testing.assert_array_equal(Xl[2 * k], np.concatenate([m.flatten(order="F") for m in Ls]))
        # the transposed duplicate: each map transposed in place, maps not swapped
        np.testing.assert_array_equal(Xh[2 * k + 1], H.T.flatten(order="F") - H.mean())
        np.testing.assert_array_equal(Xl[2 * k + 1], np.concatenate([m.T.flatten(order="F") for m in Ls]))


def test_patch_allocation_and_coupled_set():
    rng = np.random.default_rng(1)
    a = (rng.random((60, 60, 3)) * 255).astype(np.uint8)
    b = (rng.random((30, 60)) * 255).astype(np.uint8)    # grey: a third of the "pixels" per area
    Xh, Xl = cv.sample_patch_pairs([a, b], 3, 100, rng=0)
    n_a, n_b = np.floor(np.array([a.size, b.size]) * 100 / (a.size + b.size)).astype(int)
    assert Xh.shape[0] == 2 * (n_a + n_b)
    X = cv.coupled_training_set(Xh, Xl, max_columns=50)
    assert X.shape == (50, 225)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)
    v = np.hstack([Xh[7] / 9, Xl[7] / 12])
    np.testing.assert_allclose(X[7], v / np.linalg.norm(v))


def test_basis_update_matches_scsr_dual_update():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 15))
    S = rng.standard_normal((300, 25)) * (rng.random((300, 25)) < 0.2)
    S[:, 3] = 0  # an unused atom keeps its previous value
    B0 = rng.standard_normal((15, 25))
    B, dual = cv.basis_update(X, S, B0)
    ref = dictionary_update(X, sparse.csr_matrix(S), B0)
    np.testing.assert_allclose(B, ref, atol=1e-7)
    np.testing.assert_array_equal(B[:, 3], B0[:, 3])
    assert np.linalg.norm(np.delete(B, 3, axis=1), axis=0).max() <= 1 + 1e-8 and np.all(dual >= 0)


# --- L1SR --------------------------------------------------------------------------------

def test_lr_grid_repeats_the_last_start():
    # MATLAB, lwd = 8: 2:1:5 then [.., 5] -> 1-based [2 3 4 5 5]
    np.testing.assert_array_equal(cv.lr_grid(8), [1, 2, 3, 4, 4])
    np.testing.assert_array_equal(cv.lr_grid(9, 3, 1), [1, 3, 5, 5])  # 2:2:6 -> [2 4 6 6]


def tiny_model(seed=0, K=12):
    rng = np.random.default_rng(seed)
    Dh, Dl = rng.standard_normal((81, K)), rng.standard_normal((144, K))
    return cv.ScSRCVPR08Model(cv.ScSRCVPR08Config(n_atoms=K), Dh / np.linalg.norm(Dh, axis=0),
                              Dl / np.linalg.norm(Dl, axis=0))


def literal_l1sr(model, lim, solver):
    """L1SR.m transcribed patch by patch (1-based indices as in the MATLAB code)."""
    Dh, Dl = model.Dh, model.Dl
    lhg, lwd = lim.shape
    mim = imresize(lim, scale=2)
    fea = scsr_feature_maps(mim).transpose(1, 2, 0)      # lImfea(:, :, 1..4)
    lgx = list(range(2, lwd - 3 + 1)) + [lwd - 3]
    lgy = list(range(2, lhg - 3 + 1)) + [lhg - 3]
    him, cnt = np.zeros((3 * lhg, 3 * lwd)), np.zeros((3 * lhg, 3 * lwd))
    for lx in lgx:
        for ly in lgy:
            mx, my, hx, hy = (lx - 1) * 2 + 1, (ly - 1) * 2 + 1, (lx - 1) * 3 + 1, (ly - 1) * 3 + 1
            mpatch = mim[my - 1:my + 5, mx - 1:mx + 5]
            f = fea[my - 1:my + 5, mx - 1:mx + 5, :].flatten(order="F")
            mnorm = np.linalg.norm(f)
            yv = f / mnorm if mnorm > 1 else f
            w = nn_lasso(Dl.T @ Dl, -Dl.T @ yv, 0.1, stop=solver)
            hp = Dh @ w * (mnorm if mnorm > 1 else 1.0)
            him[hy - 1:hy + 8, hx - 1:hx + 8] += hp.reshape(9, 9, order="F") + mpatch.mean()
            cnt[hy - 1:hy + 8, hx - 1:hx + 8] += 1
    bh = imresize(lim, scale=3)
    him[:3], him[:, :3], him[-3:], him[:, -3:] = bh[:3], bh[:, :3], bh[-3:], bh[:, -3:]
    cnt[cnt < 1] = 1
    return him / cnt


@pytest.mark.parametrize("solver", ["exact", "solvelasso"])
def test_upscale_matches_literal_l1sr(solver):
    rng = np.random.default_rng(4)
    lr = imresize(rng.random((5, 6)), shape=(9, 11))   # smooth-ish, in ~[0, 1]
    model = tiny_model()
    got = cv.upscale(model, lr, input_range=255, solver=solver, cols_per_chunk=3)
    np.testing.assert_allclose(got, literal_l1sr(model, lr * 255, solver) / 255, atol=1e-9)
    np.testing.assert_allclose(cv.upscale(model, lr, solver=solver), literal_l1sr(model, lr, solver),
                               atol=1e-12)


def test_border_frame_is_bicubic_and_flat_input_stays_flat():
    model = tiny_model()
    rng = np.random.default_rng(5)
    lr = rng.random((10, 12))
    sr = cv.upscale(model, lr, input_range=255)
    bh = imresize(lr, scale=3)
    assert sr.shape == (30, 36)
    for sl in [np.s_[:3], np.s_[-3:], np.s_[:, :3], np.s_[:, -3:]]:
        np.testing.assert_allclose(sr[sl], bh[sl], atol=1e-12)
    assert not np.allclose(sr[3:-3, 3:-3], bh[3:-3, 3:-3])
    flat = cv.upscale(model, np.full((8, 9), 0.4))      # no features: codes 0, patch means
    np.testing.assert_allclose(flat, 0.4, atol=1e-12)


@pytest.mark.parametrize("scale", [2, 4])
def test_frame_at_other_scales_is_the_uncovered_band(scale):
    # L1SR.m's hard-coded 3-pixel frame, copied before the division by patch counts, would
    # divide a bicubic row by its count at x2 and leave a row at 0 at x4; ours fills
    # exactly the s-pixel band no patch reaches.
    rng = np.random.default_rng(scale)
    K = 10
    Dh, Dl = rng.standard_normal(((3 * scale) ** 2, K)), rng.standard_normal((144, K))
    model = cv.ScSRCVPR08Model(cv.ScSRCVPR08Config(scale=scale, n_atoms=K),
                               Dh / np.linalg.norm(Dh, axis=0), Dl / np.linalg.norm(Dl, axis=0))
    lr = imresize(rng.random((5, 6)), shape=(10, 12))
    sr = cv.upscale(model, lr, input_range=255)
    bh = imresize(lr, scale=scale)
    b = scale
    for sl in [np.s_[:b], np.s_[-b:], np.s_[:, :b], np.s_[:, -b:]]:
        np.testing.assert_allclose(sr[sl], bh[sl], atol=1e-12)
    assert not np.allclose(sr[b:-b, b:-b], bh[b:-b, b:-b])
    # with Dh = 0 every patch is its flat 6x6 mean of the x2 image, so every covered pixel
    # lies within that image's range: a row left at 0 or divided by a count would not
    zero = cv.ScSRCVPR08Model(model.config, np.zeros_like(model.Dh), model.Dl)
    mid = imresize(lr, scale=2)
    inner = cv.upscale(zero, lr)[b:-b, b:-b]
    assert inner.min() >= mid.min() - 1e-12 and inner.max() <= mid.max() + 1e-12
    flat = cv.upscale(model, np.full((8, 9), 0.4))
    np.testing.assert_allclose(flat, 0.4, atol=1e-12)


def test_model_round_trip(tmp_path):
    m = tiny_model(K=6)
    m.history, m.train_seconds = np.array([0.3, 0.2]), 1.5
    path = m.save(tmp_path / m.config.file_name())
    assert m.config.file_name() == "scsr_cvpr08_x3_n_atoms6.npz"
    back = cv.ScSRCVPR08Model.load(path)
    assert back.config == m.config and back.train_seconds == 1.5
    np.testing.assert_array_equal(back.Dh, m.Dh)
    np.testing.assert_array_equal(back.Dl, m.Dl)
    np.testing.assert_array_equal(back.history, m.history)
    checkpoint.save({"method": "scsr"}, tmp_path / "other.npz")
    with pytest.raises(checkpoint.CheckpointError):
        cv.ScSRCVPR08Model.load(tmp_path / "other.npz")


def test_tiny_training_end_to_end():
    rng = np.random.default_rng(6)
    imgs = [np.clip(imresize(rng.uniform(0, 255, (12, 12)), scale=5), 0, 255).astype(np.uint8)
            for _ in range(2)]
    cfg = cv.ScSRCVPR08Config(n_patches=300, n_atoms=16, n_iter=2, batch=200, max_columns=600)
    snaps = []
    model = cv.train(cfg, images=imgs, progress=False, log=lambda s: None, snapshot=snaps.append,
                     snapshot_at=(1, 2))
    assert [s.config.n_iter for s in snaps] == [1]
    one = cv.train(replace(cfg, n_iter=1), images=imgs, progress=False, log=lambda s: None)
    np.testing.assert_array_equal(snaps[0].Dh, one.Dh)   # the snapshot is the 1-epoch recipe
    np.testing.assert_array_equal(snaps[0].Dl, one.Dl)
    assert model.Dh.shape == (81, 16) and model.Dl.shape == (144, 16)
    np.testing.assert_allclose(np.linalg.norm(model.Dl, axis=0), 1.0)
    assert len(model.history) == 2 and model.history[1] <= model.history[0] * 1.5
    hr = imgs[0][:57, :57].astype(np.float64) / 255
    lr = imresize(hr, scale=1 / 3)
    for rng_ in ["unit", 255]:
        sr = cv.upscale(model, lr, input_range=rng_)
        assert sr.shape == hr.shape and np.all(np.isfinite(sr))
        assert -0.2 < sr.min() and sr.max() < 1.2
        assert np.sqrt(np.mean((sr - hr) ** 2)) < 0.2


def test_training_through_the_cache_leaves_its_snapshots(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    imgs = [np.clip(imresize(rng.uniform(0, 255, (12, 12)), scale=5), 0, 255).astype(np.uint8)
            for _ in range(2)]
    monkeypatch.setenv("TINYSR_CACHE", str(tmp_path))
    monkeypatch.setattr(cv, "load_training_images", lambda root=None: imgs)
    monkeypatch.setattr(cv, "SNAPSHOT_EPOCHS", (1,))
    opts = dict(n_patches=300, n_atoms=16, batch=200, max_columns=600)
    full = cv.get_model(3, progress=False, n_iter=2, **opts)
    names = sorted(p.name for p in (tmp_path / "models").glob("*.npz"))
    assert names == [cv.ScSRCVPR08Config(n_iter=n, **opts).file_name() for n in (1, 2)]
    monkeypatch.setattr(cv, "train", lambda *a, **k: pytest.fail("the snapshot should load"))
    first = cv.get_model(3, progress=False, n_iter=1, **opts)
    assert first.config.n_iter == 1 and len(first.history) == 1
    np.testing.assert_array_equal(first.history, full.history[:1])


def test_zero_epochs_keeps_raw_pairs_and_flat_patches_give_zero_atoms():
    """n_iter = 0: the dictionary is the random initialisation (raw sampled pairs, the
    CVPR-08 paper's dictionary). A pair whose HR patch is flat has a zero Dh part: its
    atom stays zero instead of becoming NaN."""
    rng = np.random.default_rng(7)
    imgs = [np.clip(imresize(rng.uniform(0, 255, (12, 12)), scale=5), 0, 255).astype(np.uint8)]
    imgs[0][:30] = 128                                  # a flat band: flat HR patches
    cfg = cv.ScSRCVPR08Config(n_patches=200, n_atoms=300, n_iter=0, max_columns=400)
    model = cv.train(cfg, images=imgs, progress=False, log=lambda s: None)
    assert len(model.history) == 0 and np.all(np.isfinite(model.Dh)) and np.all(np.isfinite(model.Dl))
    norms = np.linalg.norm(model.Dh, axis=0)
    assert np.any(norms == 0) and np.allclose(norms[norms > 0], 1.0)
    Xh, Xl = cv.sample_patch_pairs(imgs, 3, cfg.n_patches, 3, cfg.seed)
    X = cv.coupled_training_set(Xh, Xl, cfg.max_columns)
    first = X[np.random.default_rng(cfg.seed).permutation(len(X))[:cfg.n_atoms]].T
    nz = norms > 0
    np.testing.assert_allclose(model.Dh[:, nz], first[:81, nz] / np.linalg.norm(first[:81, nz], axis=0))


def test_registered_as_an_evaluation_method():
    from tinysr.evaluate import METHODS
    assert METHODS["scsr-cvpr08"] is cv.scsr_cvpr08_upscaler
