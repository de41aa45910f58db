"""Lasso solvers against problems with known solutions and against each other."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinysr.classic.lasso import (feature_sign, feature_sign_batch, feature_sign_sparse, fista,
                                  lasso_optimality_gap, soft_threshold)


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


@pytest.mark.parametrize("L, K, lam", [(20, 40, 0.1), (16, 48, 0.02), (30, 20, 0.05), (6, 40, 0.001)])
def test_parallel_batch_matches_single_rows(L, K, lam):
    # The parallel active-set solver against the row-by-row reference, including rows
    # that are all zero, rows for which w = 0 is optimal (|D'y|_inf <= lam), and (6, 40)
    # with a tiny lambda, where supports grow past rank(A) = 6 and need the null step.
    rng = np.random.default_rng(L * K)
    D = rng.standard_normal((L, K))
    D /= np.linalg.norm(D, axis=0)
    Y = rng.standard_normal((60, L))
    Y[:4] = 0.0
    Y[4:8] *= 0.9 * lam / np.max(np.abs(Y[4:8] @ D), axis=1, keepdims=True)
    A, B = D.T @ D, -Y @ D
    W = feature_sign_batch(A, B, lam)
    assert not np.any(W[:8])
    for i in range(len(Y)):
        w = feature_sign(A, B[i], lam)
        assert lasso_optimality_gap(A, B[i], W[i], lam) < 1e-8
        if L >= K or np.count_nonzero(w) < L:  # unique solution: the same codes
            np.testing.assert_array_equal(W[i] != 0, w != 0)
            np.testing.assert_allclose(W[i], w, rtol=1e-9, atol=1e-11)


def test_sparse_codes_are_sorted_and_match_the_dense_ones():
    D, _ = random_problem(11, L=20, K=64)
    Y = np.random.default_rng(1).standard_normal((9, 20))
    A, B = D.T @ D, -Y @ D
    idx, val, nnz = feature_sign_sparse(A, B, 0.05)
    W = feature_sign_batch(A, B, 0.05)
    for i in range(9):
        k = idx[i, :nnz[i]]
        assert np.all(np.diff(k) > 0)
        np.testing.assert_array_equal(np.flatnonzero(W[i]), k)
        np.testing.assert_array_equal(W[i, k], val[i, :nnz[i]])
