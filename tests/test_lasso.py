"""Lasso solvers against problems with known solutions and against each other."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinysr.classic.lasso import feature_sign, fista, lasso_optimality_gap, soft_threshold


def random_problem(seed, L=20, K=40):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((L, K))
    D /= np.linalg.norm(D, axis=0)
    y = rng.standard_normal(L)
    return D, y


def test_orthonormal_dictionary_gives_soft_threshold():
    # With D'D = I the Lasso decouples: w = soft(D'y, lam).
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    y = rng.standard_normal(12)
    lam = 0.3
    w = feature_sign(Q.T @ Q, -Q.T @ y, lam)
    np.testing.assert_allclose(w, soft_threshold(Q.T @ y, lam), atol=1e-12)


def test_one_atom_closed_form():
    # min 1/2 a w^2 - c w + lam |w|  ->  w = sign(c) max(|c| - lam, 0) / a
    A, lam = np.array([[2.0]]), 0.5
    for c, expect in [(3.0, 1.25), (-3.0, -1.25), (0.4, 0.0)]:
        assert feature_sign(A, np.array([-c]), lam)[0] == pytest.approx(expect, abs=1e-14)


def test_large_lambda_gives_zero():
    D, y = random_problem(1)
    lam = np.max(np.abs(D.T @ y)) * 1.01
    assert not np.any(feature_sign(D.T @ D, -D.T @ y, lam))


@given(seed=st.integers(0, 10_000), lam=st.floats(0.01, 1.0))
def test_feature_sign_meets_optimality_conditions(seed, lam):
    D, y = random_problem(seed)
    A, b = D.T @ D, -D.T @ y
    w = feature_sign(A, b, lam)
    assert lasso_optimality_gap(A, b, w, lam) < 1e-8


@given(seed=st.integers(0, 10_000))
def test_fista_agrees_with_feature_sign(seed):
    # Over-complete but well-posed (L > sparsity): the Lasso solution is unique.
    D, y = random_problem(seed, L=30, K=50)
    lam = 0.2
    w_fs = feature_sign(D.T @ D, -D.T @ y, lam)
    w_fi = fista(D, y[None], lam, n_iter=20_000, tol=1e-13)[0]
    obj = lambda w: 0.5 * np.sum((y - D @ w) ** 2) + lam * np.abs(w).sum()  # noqa: E731
    assert obj(w_fi) >= obj(w_fs) - 1e-10  # feature-sign is exact: nothing beats it
    np.testing.assert_allclose(w_fi, w_fs, atol=1e-6)
    assert lasso_optimality_gap(D.T @ D, -D.T @ y, w_fi, lam) < 1e-5


def test_batch_equals_single_rows():
    rng = np.random.default_rng(3)
    D = rng.standard_normal((16, 48))
    D /= np.linalg.norm(D, axis=0)
    Y = rng.standard_normal((7, 16))
    A, B = D.T @ D, -Y @ D
    W = feature_sign(A, B, 0.1)
    for i in range(7):
        np.testing.assert_array_equal(W[i], feature_sign(A, B[i], 0.1))


def test_truncated_fista_is_not_exact():
    # The documented caveat: a handful of iterations leaves a measurable gap.
    D, y = random_problem(5, L=30, K=60)
    A, b = D.T @ D, -D.T @ y
    w = fista(D, y[None], 0.1, n_iter=5)[0]
    assert lasso_optimality_gap(A, b, w, 0.1) > 1e-3


def test_warm_start_reaches_the_same_solution():
    D, y = random_problem(7, L=30, K=60)
    A, b = D.T @ D, -D.T @ y
    cold = feature_sign(A, b, 0.1)
    rng = np.random.default_rng(0)
    for start in (cold, cold + 0.3 * rng.standard_normal(60) * (cold != 0), rng.standard_normal(60)):
        warm = feature_sign(A, b, 0.1, x0=start)
        np.testing.assert_allclose(warm, cold, atol=1e-10)
