"""Non-negative Lasso by homotopy (LARS with the Lasso modification):

    min_w  1/2 w'Aw + b'w + lam * sum(w)   subject to  w >= 0

with A = D'D (so b = -D'y gives 1/2 ||y - Dw||^2 + lam 1'w + const). This is the problem
SparseLab's ``SolveLasso(D, y, K, 'nnlasso', [], lam)`` solves for Yang et al.'s CVPR-08
super-resolution code (L1SR.m); its header states exactly this objective.

The homotopy follows the solution path from lam0 = max(D'y) (w = 0) down to lam. Along
the path every active atom has the same correlation c_i = [D'(y - Dw)]_i = current lam;
the direction d solves A_II d_I = 1, and the step ends at the next breakpoint: an inactive
atom's correlation catching up (it enters) or an active coefficient reaching 0 (it leaves).
The active set's Cholesky factor is updated when an atom enters and refactored when one
leaves (rare). One signal costs O(steps * K * |I|), |I| being the final support size.

Two ways to stop:
- ``stop="exact"``: stop exactly at lam (the last step is cut short), then re-solve the
  final active system once to remove drift. The result meets the KKT conditions to ~1e-12
  (see `nn_lasso_optimality_gap`).
- ``stop="solvelasso"``: SparseLab's rule, replicated with its tolerances. SolveLasso
  tests ``lambda <= lambdaStop`` with the lambda from the START of a step, after taking
  the step; so it only stops at the end of the first full step that starts at or below
  lam, i.e. it returns the exact non-negative Lasso solution at the SECOND breakpoint at
  or below lam (or the first one, lam0, when lam0 == lam; and w = 0, SolveLasso's empty
  result, when lam0 < lam). The solution is slightly less regularised than at lam; the
  lambda it actually solved for is returned too. Its other tolerances: ties within
  zeroTol = 1e-5 enter together, a step shorter than 1e-5 is ignored, an atom whose
  Cholesky pivot is <= 1e-5 is set aside as collinear until the next removal, and the
  path stops when lam drops below OptTol = 1e-5.

Rows are solved in parallel (numba prange); each row is independent.
"""
import numpy as np
from numba import njit, prange

SOLVELASSO_TOL = 1e-5   # SparseLab's zeroTol and OptTol
EXACT_TOL = 1e-12


@njit(cache=True)
def _chol_solve_ones(R, n, rhs, out):
    """Solve (R'R) out = rhs for the leading n x n block of the upper-triangular R."""
    z = np.empty(n)
    for i in range(n):            # R' z = rhs (forward)
        s = rhs[i]
        for k in range(i):
            s -= R[k, i] * z[k]
        z[i] = s / R[i, i]
    for i in range(n - 1, -1, -1):  # R out = z (backward)
        s = z[i]
        for k in range(i + 1, n):
            s -= R[i, k] * out[k]
        out[i] = s / R[i, i]


@njit(cache=True)
def _chol_append(G, R, act, n, j, tol):
    """Grow the factor of G[act[:n], act[:n]] by atom j; False if j is (near) collinear."""
    if n == 0:
        R[0, 0] = np.sqrt(G[j, j])
        return G[j, j] > tol
    p = np.empty(n)
    for i in range(n):
        s = G[act[i], j]
        for k in range(i):
            s -= R[k, i] * p[k]
        p[i] = s / R[i, i]
    q = G[j, j] - np.sum(p * p)
    if q <= tol:
        return False
    for i in range(n):
        R[i, n] = p[i]
        R[n, i] = 0.0
    R[n, n] = np.sqrt(q)
    return True


@njit(cache=True)
def _chol_rebuild(G, R, act, n):
    for c in range(n):
        for r in range(c + 1):
            s = G[act[r], act[c]]
            for k in range(r):
                s -= R[k, r] * R[k, c]
            if r == c:
                R[r, r] = np.sqrt(max(s, 1e-300))
            else:
                R[r, c] = s / R[r, r]


@njit(cache=True)
def _nn_homotopy_into(G, c, lam, x, solvelasso, tol, max_active):
    """Solve one signal with correlations c = D'y; writes x (zeroed first) and returns
    the lambda of the returned solution."""
    K = c.shape[0]
    x[:] = 0.0
    corr = c.copy()
    lam0 = corr.max()
    if lam0 < lam or (not solvelasso and lam0 <= lam):
        return lam0
    state = np.zeros(K, np.int8)  # 0 inactive, 1 active, 2 collinear (skipped until a removal)
    act = np.empty(max_active + 1, np.int64)
    R = np.zeros((max_active + 1, max_active + 1))
    n = 0
    for j in range(K):  # all atoms tied with the maximum enter together
        if abs(corr[j] - lam0) < tol and n < max_active:
            if _chol_append(G, R, act, n, j, tol):
                act[n] = j
                state[j] = 1
                n += 1
            else:
                state[j] = 2
    ones = np.ones(max_active + 1)
    d = np.empty(max_active + 1)
    zc = np.empty(max_active + 1)
    a = np.empty(K)
    gam = np.empty(K)
    lam_cur, step = lam0, 0.0
    for _ in range(50 * max_active + 100):
        lam_cur = corr[act[0]]
        _chol_solve_ones(R, n, ones, d)
        a[:] = 0.0
        for i in range(n):
            gi = G[act[i]]
            di = d[i]
            for k in range(K):
                a[k] += gi[k] * di
        g_drop = np.inf  # first active coefficient to reach zero
        for i in range(n):
            zc[i] = -x[act[i]] / d[i] if abs(d[i]) > tol else np.inf
            if tol < zc[i] < g_drop:
                g_drop = zc[i]
        g_enter = np.inf  # first inactive correlation to reach the active ones
        n_inactive = 0
        for k in range(K):
            gam[k] = np.inf
            if state[k] == 0:
                n_inactive += 1
                g = (lam_cur - corr[k]) / (1.0 - a[k] + 1e-12)
                if g >= tol:
                    gam[k] = g
                    if g < g_enter:
                        g_enter = g
        if n_inactive == 0:
            g_enter = 1.0  # SolveLasso's value when every atom is active
        step = min(g_enter, g_drop)
        done = False
        if not solvelasso and lam_cur - step <= lam:
            step = lam_cur - lam
            done = True
        elif step == np.inf:  # nothing enters or leaves: the path runs to lam = 0
            step = lam_cur
            done = True
        for i in range(n):
            x[act[i]] += step * d[i]
        for k in range(K):
            corr[k] -= step * a[k]
        if solvelasso and (lam_cur - step < SOLVELASSO_TOL or lam_cur <= lam):
            done = True
        if done:
            break
        if g_enter <= g_drop:
            for k in range(K):
                if state[k] == 0 and abs(gam[k] - g_enter) < tol and n < max_active:
                    if _chol_append(G, R, act, n, k, tol):
                        act[n] = k
                        zc[n] = np.inf
                        state[k] = 1
                        n += 1
                    else:
                        state[k] = 2
        if g_drop <= g_enter:
            m = 0
            for i in range(n):
                j = act[i]
                if zc[i] == g_drop:
                    x[j] = 0.0
                    state[j] = 0
                else:
                    act[m] = j
                    m += 1
            if m < n:
                n = m
                for k in range(K):
                    if state[k] == 2:
                        state[k] = 0
                _chol_rebuild(G, R, act, n)
        if n == 0:
            break
    if not solvelasso and n > 0:  # polish: the exact solution on the final support
        rhs = np.empty(n)
        for i in range(n):
            rhs[i] = c[act[i]] - lam
        _chol_solve_ones(R, n, rhs, d)
        for i in range(n):
            x[act[i]] = max(d[i], 0.0)
        return lam
    return lam_cur - step


@njit(parallel=True, cache=True)
def _nn_rows(G, C, lam, X, lam_out, solvelasso, tol, max_active):
    for r in prange(C.shape[0]):
        lam_out[r] = _nn_homotopy_into(G, C[r], lam, X[r], solvelasso, tol, max_active)


def nn_lasso(A, b, lam, stop="exact", max_active=None, return_lambda=False):
    """Non-negative Lasso 1/2 w'Aw + b'w + lam*sum(w), w >= 0, for a vector b or an (N, K)
    batch of rows. ``stop`` is "exact" or "solvelasso" (SparseLab's stopping rule, see the
    module docstring). ``max_active`` bounds the support (default: rank of A, at most K).
    With ``return_lambda`` also returns the lambda each solution is exact for."""
    if stop not in ("exact", "solvelasso"):
        raise ValueError(f"stop must be 'exact' or 'solvelasso', not {stop!r}")
    A = np.ascontiguousarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    C = np.ascontiguousarray(-np.atleast_2d(b))
    K = A.shape[0]
    if max_active is None:
        max_active = int(np.linalg.matrix_rank(A, hermitian=True))
    max_active = max(1, min(int(max_active), K))
    solvelasso = stop == "solvelasso"
    tol = SOLVELASSO_TOL if solvelasso else EXACT_TOL
    X = np.zeros_like(C)
    lam_out = np.empty(C.shape[0])
    _nn_rows(A, C, float(lam), X, lam_out, solvelasso, tol, max_active)
    if b.ndim == 1:
        X, lam_out = X[0], lam_out[0]
    return (X, lam_out) if return_lambda else X


def nn_lasso_optimality_gap(A, b, w, lam):
    """Largest violation of the KKT conditions of 1/2 w'Aw + b'w + lam*sum(w), w >= 0:
    w_i >= 0; grad_i = A w + b + lam = 0 where w_i > 0; grad_i >= 0 where w_i = 0.
    For a batch (rows of b and w) the worst row counts; ``lam`` may be one per row."""
    A = np.asarray(A, np.float64)
    W = np.atleast_2d(np.asarray(w, np.float64))
    B = np.atleast_2d(np.asarray(b, np.float64))
    lam = np.broadcast_to(np.asarray(lam, np.float64).reshape(-1, 1), (W.shape[0], 1))
    grad = W @ A + B + lam
    pos = W > 0
    gap = np.where(pos, np.abs(grad), np.maximum(-grad, 0.0))
    return float(max(gap.max(initial=0.0), np.maximum(-W, 0.0).max(initial=0.0)))


def nn_lasso_objective(A, b, w, lam):
    w = np.asarray(w, np.float64)
    return 0.5 * w @ A @ w + b @ w + lam * w.sum()


__all__ = ["nn_lasso", "nn_lasso_optimality_gap", "nn_lasso_objective"]
