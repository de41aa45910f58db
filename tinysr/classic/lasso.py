"""Lasso solvers for sparse coding:  min_w  1/2 ||y - D w||^2 + lam ||w||_1.

Written, as in Yang's code, in the quadratic form  1/2 w'A w + b'w + lam ||w||_1
with A = D'D and b = -D'y, so one Gram matrix serves every signal.

- `feature_sign`: Lee et al.'s feature-sign search (NIPS 2007), a port of
  L1QP_FeatureSign_yang.m. Exact: it stops when the optimality conditions hold to 1e-9.
- `fista`: Beck & Teboulle's accelerated proximal gradient, batched as matrix products.
  Exact only in the limit; with a fixed iteration count it returns denser, biased codes.
"""
import numpy as np
from numba import njit

EPS = 1e-9  # L1QP_FeatureSign_yang's optimality tolerance


@njit(cache=True)
def _solve(M, v):
    # Active-set systems are tiny; fall back to least squares if one is singular.
    try:
        return np.linalg.solve(M, v)
    except Exception:  # noqa: BLE001 - numba only supports catching everything
        return np.linalg.lstsq(M, v)[0]


@njit(cache=True)
def _objective(Aa, ba, xa, lam):
    return 0.5 * xa @ (Aa @ xa) + ba @ xa + lam * np.sum(np.abs(xa))


@njit(cache=True)
def _null_step(Aa, ba, xa, lam):
    """More active atoms than rank(A): the active system is singular. Move along a null
    direction z of Aa (the quadratic term is flat there) downhill until the first
    coefficient reaches zero, which drops it. Returns the new active coefficients."""
    z = np.linalg.svd(Aa)[2][-1].copy()
    if (ba + lam * np.sign(xa)) @ z > 0:
        z = -z
    t_min, i_min = np.inf, -1
    for i in range(xa.size):
        if xa[i] * z[i] < 0 and -xa[i] / z[i] < t_min:
            t_min, i_min = -xa[i] / z[i], i
    if i_min < 0:  # flat direction with no crossing: go the other way
        z = -z
        for i in range(xa.size):
            if xa[i] * z[i] < 0 and -xa[i] / z[i] < t_min:
                t_min, i_min = -xa[i] / z[i], i
    out = xa + t_min * z
    out[i_min] = 0.0
    return out


@njit(cache=True)
def _feature_sign_into(A, b, lam, x, rank):
    """Feature-sign search; `x` is the starting point (zero in Lee et al.; a previous
    solution warm-starts it) and holds the solution on exit. `rank` is rank(A): an
    active set larger than it cannot be solved directly."""
    K = b.shape[0]
    grad = b.copy()
    for k in range(K):
        if x[k] != 0:
            grad += A[k] * x[k]
    mi, ma = -1, 0.0
    for k in range(K):
        if x[k] == 0 and abs(grad[k]) > ma:
            ma, mi = abs(grad[k]), k
    if ma <= lam + EPS and not np.any(x != 0):
        return x
    max_steps = 10 * K + 100  # guards against cycling on degenerate inputs
    for _ in range(max_steps):
        if mi < 0:
            pass  # every coordinate is active (warm start): only re-solve
        elif grad[mi] > lam + EPS:
            x[mi] = (lam - grad[mi]) / A[mi, mi]
        elif grad[mi] < -lam - EPS:
            x[mi] = (-lam - grad[mi]) / A[mi, mi]
        elif not np.any(x != 0):
            break
        # Line search over the active set until the signs are consistent.
        for _ in range(max_steps):
            act = np.nonzero(x)[0]
            Aa = np.empty((act.size, act.size))
            for i in range(act.size):
                for j in range(act.size):
                    Aa[i, j] = A[act[i], act[j]]
            ba = b[act]
            xa = x[act]
            if act.size > rank:
                xs = _null_step(Aa, ba, xa, lam)
                for i in range(act.size):
                    x[act[i]] = xs[i]
                continue
            vect = -lam * np.sign(xa) - ba
            x_new = _solve(Aa, vect)
            o_min = _objective(Aa, ba, x_new, lam)
            x_min = x_new
            flips = np.nonzero(xa * x_new <= 0)[0]
            if flips.size == 0:
                for i in range(act.size):
                    x[act[i]] = x_new[i]
                break
            d = x_new - xa
            for zd in flips:
                x_s = xa - d * (xa[zd] / d[zd])  # the point where coordinate zd hits 0
                x_s[zd] = 0.0
                o_s = _objective(Aa, ba, x_s, lam)
                if o_s < o_min:
                    x_min, o_min = x_s, o_s
            for i in range(act.size):
                x[act[i]] = x_min[i]
        grad[:] = b
        for k in range(K):
            if x[k] != 0:
                grad += A[k] * x[k]  # A is symmetric; rows are contiguous
        mi, ma = -1, 0.0
        for k in range(K):
            if x[k] == 0 and abs(grad[k]) > ma:
                ma, mi = abs(grad[k]), k
        if ma <= lam + EPS:
            break
    return x


@njit(cache=True)
def _feature_sign_rows(A, B, lam, W, rank):
    for n in range(B.shape[0]):
        _feature_sign_into(A, B[n], lam, W[n], rank)
    return W


def feature_sign(A, b, lam, rank=None, x0=None):
    """Exact Lasso solution of 1/2 w'Aw + b'w + lam|w|_1. `b` may be a vector or an
    (N, K) batch of rows (one signal per row); returns the same shape. Pass `rank`
    (rank of A, e.g. the signal dimension) to skip computing it, and `x0` (same shape
    as b) to warm-start from earlier codes; the solution does not depend on it."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    rank = int(np.linalg.matrix_rank(A, hermitian=True)) if rank is None else int(rank)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64, order="C")
    if b.ndim == 1:
        return _feature_sign_into(A, b.copy(), float(lam), x, rank)
    return _feature_sign_rows(A, np.ascontiguousarray(b), float(lam), x, rank)


def soft_threshold(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def fista(D, Y, lam, n_iter=100, tol=0.0):
    """FISTA for min 1/2||y - Dw||^2 + lam|w|_1 on every row y of Y (N, L); D is (L, K).
    Runs `n_iter` iterations or until the largest coefficient change is below `tol`.
    The gradient uses D'(Dw - y) or the Gram form, whichever is cheaper."""
    D = np.asarray(D, np.float64)
    Y = np.atleast_2d(np.asarray(Y, np.float64))
    L, K = D.shape
    lip = np.linalg.norm(D, 2) ** 2
    DtY = Y @ D
    G = D.T @ D if K * K < 2 * L * K else None
    W = np.zeros((Y.shape[0], K))
    Z = W.copy()
    t = 1.0
    for _ in range(n_iter):
        grad = (Z @ G if G is not None else (Z @ D.T) @ D) - DtY
        W_new = soft_threshold(Z - grad / lip, lam / lip)
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        Z = W_new + ((t - 1) / t_new) * (W_new - W)
        done = tol > 0 and np.max(np.abs(W_new - W)) < tol
        W, t = W_new, t_new
        if done:
            break
    return W


def lasso_optimality_gap(A, b, w, lam):
    """Largest violation of the Lasso KKT conditions for 1/2 w'Aw + b'w + lam|w|_1:
    grad_i = -lam sign(w_i) where w_i != 0 and |grad_i| <= lam where w_i = 0."""
    grad = A @ w + b
    nz = w != 0
    gap_nz = np.abs(grad[nz] + lam * np.sign(w[nz]))
    gap_z = np.maximum(np.abs(grad[~nz]) - lam, 0.0)
    return max(gap_nz.max(initial=0.0), gap_z.max(initial=0.0))
