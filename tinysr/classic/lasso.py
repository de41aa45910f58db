"""Lasso solvers for sparse coding:  min_w  1/2 ||y - D w||^2 + lam ||w||_1.

Written, as in Yang's code, in the quadratic form  1/2 w'A w + b'w + lam ||w||_1
with A = D'D and b = -D'y, so one Gram matrix serves every signal.

- `feature_sign`: Lee et al.'s feature-sign search (NIPS 2007), a port of
  L1QP_FeatureSign_yang.m. Exact: it stops when the optimality conditions hold to 1e-9.
- `feature_sign_batch`: the same search, one signal per row, rows solved in parallel, with
  cheaper steps (only the active set is stored; its small Gram system is solved by
  Cholesky). Same codes as `feature_sign` up to float rounding; ScSR's inference uses it.
- `fista`: Beck & Teboulle's accelerated proximal gradient, batched as matrix products.
  Exact only in the limit; with a fixed iteration count it returns denser, biased codes.
"""
import numpy as np
from numba import get_num_threads, njit, prange

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


@njit(cache=True, parallel=True)
def _feature_sign_rows(A, B, lam, W, rank):
    for n in prange(B.shape[0]):     # rows are independent problems: one per thread
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


# --- the batched solver ---------------------------------------------------------------------
# `_feature_sign_into` follows the MATLAB code line by line: every step it lists the
# nonzeros of a dense K-vector, copies the active Gram block and calls LAPACK, which
# allocates a dozen small arrays. In ScSR a code has ~7 nonzeros out of K = 1024, so
# that overhead, not arithmetic, dominated. `_feature_sign_active` takes the same
# steps on the active set alone: indices `act` (kept sorted, so the gradient sums in the
# same order as above) and values `xa`, in preallocated work buffers. What remains
# O(K) per step is the gradient b + A x and the search for the most violating atom.


@njit(cache=True)
def _cholesky_solve(M, v, L, out, m):
    """Solve M[:m, :m] out = v by Cholesky (M is a Gram block, so symmetric positive
    definite unless its atoms are dependent). Returns False if a pivot is not positive."""
    for j in range(m):
        d = M[j, j]
        for k in range(j):
            d -= L[j, k] * L[j, k]
        if not d > 0.0:  # also catches NaN
            return False
        d = np.sqrt(d)
        L[j, j] = d
        for i in range(j + 1, m):
            e = M[i, j]
            for k in range(j):
                e -= L[i, k] * L[j, k]
            L[i, j] = e / d
    for i in range(m):  # forward: L z = v
        e = v[i]
        for k in range(i):
            e -= L[i, k] * out[k]
        out[i] = e / L[i, i]
    for i in range(m - 1, -1, -1):  # back: L' out = z
        e = out[i]
        for k in range(i + 1, m):
            e -= L[k, i] * out[k]
        out[i] = e / L[i, i]
    return True


@njit(cache=True)
def _objective_m(Aa, ba, xa, lam, m):
    # The objective on the first m active coordinates (as `_objective`, without slicing).
    q, lin, l1 = 0.0, 0.0, 0.0
    for i in range(m):
        r = 0.0
        for j in range(m):
            r += Aa[i, j] * xa[j]
        q += xa[i] * r
        lin += ba[i] * xa[i]
        l1 += abs(xa[i])
    return 0.5 * q + lin + lam * l1


@njit(cache=True)
def _gradient_argmax(A, b, lam, act, xa, m, is_act, grad):
    """grad = b + A x with x given by its m nonzeros, then the inactive atom with the
    largest |grad|. Returns (its index or -1, whether it violates optimality)."""
    K = b.shape[0]
    grad[:] = b
    for i in range(m):
        r, v = act[i], xa[i]
        for k in range(K):  # a written-out loop: `grad += A[r] * v` would allocate
            grad[k] += A[r, k] * v  # A is symmetric; rows are contiguous
    mi, ma = -1, 0.0
    for k in range(K):
        if abs(grad[k]) > ma and not is_act[k]:  # the first test is rarely true: cheap
            ma, mi = abs(grad[k]), k
    return mi, ma > lam + EPS


@njit(cache=True)
def _feature_sign_active(A, b, lam, rank, act, xa, is_act, grad, Aa, ba, L, x_new, x_s, x_min):
    """Feature-sign search from zero (the steps of `_feature_sign_into`) on the active set
    only. On exit act[:m], xa[:m] are the nonzeros of the solution, act sorted; returns m.
    The other arguments are work buffers (is_act, grad: K; the rest: cap = act's size),
    is_act all False on entry and on exit."""
    mi, violated = _gradient_argmax(A, b, lam, act, xa, 0, is_act, grad)
    if not violated:
        return 0  # |D'y|_inf <= lam: zero satisfies the optimality conditions
    cap = act.shape[0]
    m = 0
    max_steps = 10 * b.shape[0] + 100  # guards against cycling on degenerate inputs
    for _ in range(max_steps):
        if m == cap:
            raise ValueError("feature_sign_batch: more active atoms than the buffer holds")
        # Activate atom mi at the minimiser along its coordinate, keeping act sorted.
        g = grad[mi]
        v = ((lam - g) if g > 0 else (-lam - g)) / A[mi, mi]
        pos = m
        while pos > 0 and act[pos - 1] > mi:
            act[pos], xa[pos] = act[pos - 1], xa[pos - 1]
            pos -= 1
        act[pos], xa[pos], is_act[mi] = mi, v, True
        m += 1
        # Line search over the active set until the signs are consistent.
        for _ in range(max_steps):
            for i in range(m):
                ba[i] = b[act[i]]
                for j in range(m):
                    Aa[i, j] = A[act[i], act[j]]
            if m > rank:  # singular system: the rare null-space step (allocates; fine)
                xs = _null_step(Aa[:m, :m].copy(), ba[:m].copy(), xa[:m].copy(), lam)
                xa[:m] = xs
                n_flip = 1  # not done: solve again on the smaller set
            else:
                for i in range(m):
                    x_s[i] = -lam * np.sign(xa[i]) - ba[i]
                if not _cholesky_solve(Aa, x_s, L, x_new, m):
                    x_new[:m] = _solve(Aa[:m, :m].copy(), x_s[:m].copy())
                n_flip = 0
                for i in range(m):
                    if xa[i] * x_new[i] <= 0:
                        n_flip += 1
                if n_flip == 0:
                    xa[:m] = x_new[:m]
                else:
                    # Signs changed: the best of x_new and the points on the segment
                    # xa -> x_new where a coordinate crosses zero.
                    o_min = _objective_m(Aa, ba, x_new, lam, m)
                    x_min[:m] = x_new[:m]
                    for zd in range(m):
                        if xa[zd] * x_new[zd] > 0:
                            continue
                        t = xa[zd] / (x_new[zd] - xa[zd])
                        for i in range(m):
                            x_s[i] = xa[i] - (x_new[i] - xa[i]) * t
                        x_s[zd] = 0.0
                        o_s = _objective_m(Aa, ba, x_s, lam, m)
                        if o_s < o_min:
                            x_min[:m] = x_s[:m]
                            o_min = o_s
                    xa[:m] = x_min[:m]
            # Drop the coefficients that reached zero, keeping the order.
            k = 0
            for i in range(m):
                if xa[i] != 0:
                    act[k], xa[k] = act[i], xa[i]
                    k += 1
                else:
                    is_act[act[i]] = False
            m = k
            if n_flip == 0:
                break
        mi, violated = _gradient_argmax(A, b, lam, act, xa, m, is_act, grad)
        if not violated:
            break
    for i in range(m):
        is_act[act[i]] = False
    return m


@njit(cache=True, parallel=True)
def _feature_sign_batch(A, B, lam, rank, idx, val, nnz, T):
    """Row n of B -> nnz[n] nonzeros idx[n, :nnz[n]], val[n, :nnz[n]]. With T threads,
    thread t takes rows t, t + T, t + 2T, ...: interleaving balances easy and hard image
    regions, and each thread allocates its work buffers once."""
    N, K = B.shape
    cap = idx.shape[1]
    for t in prange(T):
        is_act = np.zeros(K, np.bool_)
        grad = np.empty(K)
        Aa, L = np.empty((cap, cap)), np.empty((cap, cap))
        ba, x_new, x_s, x_min = np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap)
        for n in range(t, N, T):
            nnz[n] = _feature_sign_active(A, B[n], lam, rank, idx[n], val[n], is_act, grad,
                                          Aa, ba, L, x_new, x_s, x_min)


def feature_sign_sparse(A, B, lam, rank=None):
    """Exact Lasso codes of the rows of B (N, K), as `feature_sign`, solved in parallel and
    returned sparse: (idx, val, nnz) with row n's nonzeros at idx[n, :nnz[n]] (ascending)
    and val[n, :nnz[n]]. Cold start only."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = np.ascontiguousarray(np.atleast_2d(B), dtype=np.float64)
    rank = int(np.linalg.matrix_rank(A, hermitian=True)) if rank is None else int(rank)
    cap = min(B.shape[1], rank + 1)  # more than rank + 1 active atoms never happens
    idx = np.zeros((B.shape[0], cap), np.int64)
    val = np.zeros((B.shape[0], cap))
    nnz = np.zeros(B.shape[0], np.int64)
    _feature_sign_batch(A, B, float(lam), rank, idx, val, nnz, get_num_threads())
    return idx, val, nnz


def feature_sign_batch(A, B, lam, rank=None):
    """`feature_sign` for an (N, K) batch of rows, solved in parallel: dense (N, K) codes."""
    idx, val, nnz = feature_sign_sparse(A, B, lam, rank)
    W = np.zeros(np.shape(np.atleast_2d(B)))
    rows = np.repeat(np.arange(W.shape[0]), nnz)
    keep = np.arange(idx.shape[1]) < nnz[:, None]
    W[rows, idx[keep]] = val[keep]
    return W


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
