"""A+: features, grid, PCA, neighbours, regressors, K-SVD/OMP, and a tiny end-to-end run."""
import numpy as np
import pytest

from tinysr.classic import aplus
from tinysr.classic.features import aplus_feature_maps, aplus_filters, conv2_same, extract_patches, grid
from tinysr.classic.ksvd import ksvd, omp
from tinysr.data import imresize


def test_filters_are_dilated():
    f = {i: k for i, (k, _) in enumerate(aplus_filters(3))}
    np.testing.assert_array_equal(f[0], [1, 0, 0, -1])
    np.testing.assert_array_equal(f[2], [0.5, 0, 0, -1, 0, 0, 0.5])
    assert [axis for _, axis in aplus_filters(2)] == [1, 0, 1, 0]


def test_conv2_same_matches_matlab_for_even_and_odd_kernels():
    # MATLAB: conv([1 2 3], [1 1], 'same') = [3 5 3]; conv([1 2 3 4], [1 0 -1], 'same') = [2 2 2 -3]
    np.testing.assert_array_equal(conv2_same(np.array([[1.0, 2, 3]]), [1, 1], 1), [[3, 5, 3]])
    np.testing.assert_array_equal(conv2_same(np.array([[1.0, 2, 3, 4]]), [1, 0, -1], 1), [[2, 2, 2, -3]])
    np.testing.assert_array_equal(conv2_same(np.array([[1.0], [2], [3]]), [1, 1], 0), [[3], [5], [3]])


def test_feature_maps_of_a_ramp_by_hand():
    # img[r, c] = c at x2, gradient k = [1 0 -1] (centre 1): out[c] = k0 img[c+1] + k2 img[c-1]
    # = img[c+1] - img[c-1] = 2 inside, zero padding at the edges; a ramp's Laplacian is 0.
    img = np.tile(np.arange(8.0), (6, 1))
    m = aplus_feature_maps(img, 2)
    np.testing.assert_array_equal(m[0][:, 1:-1], 2.0)
    np.testing.assert_array_equal(m[0][:, 0], 1.0)    # img[1] - 0
    np.testing.assert_array_equal(m[0][:, -1], -6.0)  # 0 - img[6]
    np.testing.assert_array_equal(m[1][1:-1], 0.0)
    np.testing.assert_array_equal(m[2][:, 2:-2], 0.0)


def test_window_grid_covers_all_but_the_border():
    # 3s windows at step s from s: exactly rows s .. H-s-1 are covered.
    for s, h in [(2, 20), (3, 27), (4, 40)]:
        ys, _ = aplus.window_grid((h, h), s, 1)
        assert ys[0] == s and ys[-1] + 3 * s == h - s
        assert np.all(np.diff(ys) == s)
        ys2, _ = aplus.window_grid((h, h), s, 2)
        assert np.all(np.diff(ys2) == 2 * s)
    np.testing.assert_array_equal(grid(12, 6, 2, 2), [2, 4])


def test_extract_patches_row_major_per_channel():
    img = np.arange(2 * 5 * 6, dtype=float).reshape(2, 5, 6)
    p = extract_patches(img, 2, np.array([1]), np.array([0, 3]))
    np.testing.assert_array_equal(p[0], [6, 7, 12, 13, 36, 37, 42, 43])
    np.testing.assert_array_equal(p[1], [9, 10, 15, 16, 39, 40, 45, 46])


def test_pca_keeps_energy_and_is_uncentred():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((2000, 6)) * np.array([10, 5, 1, 0.1, 0.01, 0.001]) + 3.0
    V = aplus.pca_projection(F, 0.999)
    vals = np.linalg.eigvalsh(F.T @ F)
    assert V.shape[1] == np.sum(np.cumsum(vals) / vals.sum() >= 1e-3)
    kept = np.sum((F @ V) ** 2) / np.sum(F ** 2)
    assert 0.999 <= kept <= 1.0


def test_nearest_samples_brute_force():
    rng = np.random.default_rng(1)
    lo = rng.standard_normal((500, 4)).astype(np.float32)
    anchors = rng.standard_normal((7, 4))
    got = aplus.nearest_samples(lo, anchors, 20, chunk=3, progress=False)
    for j in range(7):
        d = np.sum((lo.astype(np.float64) - anchors[j]) ** 2, axis=1)
        assert set(got[j]) == set(np.argsort(d)[:20])


def test_ridge_dual_equals_primal():
    rng = np.random.default_rng(2)
    lo, hi = rng.standard_normal((50, 6)), rng.standard_normal((50, 9))
    primal = hi.T @ np.linalg.inv(lo @ lo.T + 0.1 * np.eye(50)) @ lo  # A+'s Hi (Lo'Lo + lam I)^-1 Lo'
    np.testing.assert_allclose(aplus.ridge_regressor(lo, hi, 0.1), primal, atol=1e-10)


def test_omp_recovers_sparse_codes_over_an_orthonormal_dictionary():
    rng = np.random.default_rng(3)
    D = np.linalg.qr(rng.standard_normal((16, 16)))[0].T  # rows are atoms
    idx = np.array([rng.choice(16, 3, replace=False) for _ in range(50)])
    coef = rng.uniform(1, 2, (50, 3)) * rng.choice([-1, 1], (50, 3))
    X = np.einsum("nt,ntd->nd", coef, D[idx])
    gi, gc = omp(D, X, 3)
    rec = np.einsum("nt,ntd->nd", gc, D[np.maximum(gi, 0)])
    np.testing.assert_allclose(rec, X, atol=1e-12)
    np.testing.assert_array_equal(np.sort(gi, 1), np.sort(idx, 1))


def test_omp_coefficients_are_least_squares_on_the_support():
    rng = np.random.default_rng(4)
    D = rng.standard_normal((30, 10))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((20, 10))
    gi, gc = omp(D, X, 3)
    for n in range(20):
        sub = D[gi[n]].T
        np.testing.assert_allclose(gc[n], np.linalg.lstsq(sub, X[n], rcond=None)[0], atol=1e-10)


def test_ksvd_fits_synthetic_sparse_data():
    rng = np.random.default_rng(5)
    Dt = rng.standard_normal((24, 12))
    Dt /= np.linalg.norm(Dt, axis=1, keepdims=True)
    idx = np.array([rng.choice(24, 2, replace=False) for _ in range(3000)])
    X = np.einsum("nt,ntd->nd", rng.standard_normal((3000, 2)), Dt[idx])
    D, gi, gc = ksvd(X, 24, 2, n_iter=15, seed=0, progress=False)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0)
    err = np.linalg.norm(X - np.einsum("nt,ntd->nd", gc, D[np.maximum(gi, 0)])) / np.linalg.norm(X)
    assert err < 0.2
    assert np.mean(np.abs(D @ Dt.T).max(axis=0) > 0.95) > 0.7


@pytest.fixture(scope="module")
def tiny_model():
    rng = np.random.default_rng(6)
    imgs = []
    for _ in range(3):  # smooth random images with edges
        z = imresize(rng.uniform(0, 1, (12, 12)), scale=6)
        imgs.append(np.clip(z + (np.arange(72)[:, None] > 36) * 0.3, 0, 1))
    cfg = aplus.APlusConfig(scale=2, n_atoms=16, ksvd_iter=3, n_scales=2, n_neighbors=64)
    return aplus.train(cfg, imgs, progress=False, log=lambda *_: None), imgs


def test_tiny_model_upscales_and_keeps_bicubic_border(tiny_model):
    model, imgs = tiny_model
    hr = imgs[0][:40, :40]
    lr = imresize(hr, scale=0.5)
    mid = imresize(lr, scale=2)
    sr = aplus.upscale(model, lr)
    assert sr.shape == hr.shape
    np.testing.assert_array_equal(sr[:2], mid[:2])       # the unpredicted s-pixel band
    np.testing.assert_array_equal(sr[:, -2:], mid[:, -2:])
    inner = (slice(2, -2), slice(2, -2))
    assert np.mean((sr - hr)[inner] ** 2) < np.mean((mid - hr)[inner] ** 2)  # training image


def test_model_round_trip(tiny_model, tmp_path):
    model, _ = tiny_model
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as z:  # plain arrays, nothing pickled
        assert "regressors" in z.files
    back = aplus.APlusModel.load(path)
    assert back.config == model.config
    np.testing.assert_array_equal(back.regressors, model.regressors)
    np.testing.assert_array_equal(back.pca, model.pca)
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically, no temp file left


def test_saved_model_evaluates_with_eval_model(tiny_model, tmp_path):
    # `tinysr eval --model FILE` on an A+ file runs aplus.upscale (tinysr.classic.saved)
    from tinysr import evaluate as ev
    model, imgs = tiny_model
    path = tmp_path / "aplus_x2.npz"
    model.save(path)
    lr = imresize(imgs[1][:40, :40], scale=0.5)
    mid = imresize(lr, scale=2)
    up = ev.upscaler_from_checkpoint(str(path), 2)
    np.testing.assert_array_equal(up(lr, mid, 2), aplus.upscale(model, lr, mid=mid))
    with pytest.raises(ValueError, match="x2 aplus model"):
        ev.upscaler_from_checkpoint(str(path), 4)


def test_fast_upscale_equals_per_window_reference(tiny_model):
    # upscale() projects blocks and fuses regression with the overlap average; recompute
    # it the slow way: gather each window, project, pick the anchor, regress, average.
    from tinysr.classic.features import overlap_add
    model, imgs = tiny_model
    s, w = 2, 6
    lr = imresize(imgs[1][:38, :46], scale=0.5)
    mid = imresize(lr, scale=s)
    ys, xs = aplus.window_grid(mid.shape, s, 1)
    f = extract_patches(aplus_feature_maps(mid, s), w, ys, xs) @ model.pca
    atom = np.argmax(np.abs(f @ model.anchors.T), axis=1)
    res = np.einsum("npd,nd->np", model.regressors[atom], f)
    acc, cnt = np.zeros_like(mid), np.zeros_like(mid)
    overlap_add(acc, cnt, res, ys, xs, w)
    ref = mid.copy()
    ref[cnt > 0] += acc[cnt > 0] / cnt[cnt > 0]
    np.testing.assert_allclose(aplus.upscale(model, lr), ref, atol=1e-12)
