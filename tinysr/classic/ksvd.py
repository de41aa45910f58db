"""K-SVD dictionary learning (Aharon, Elad & Bruckstein 2006) with batch OMP, as in
Rubinstein's ksvdbox, which A+ (via Zeyde's learn_dict.m) calls with its defaults:
approximate K-SVD atom updates, random training signals as the initial dictionary,
and replacement of unused or near-duplicate atoms by badly represented signals.

Signals are rows: X is (N, d), the dictionary D is (K, d) with unit-norm rows, and a
code is stored sparsely as T (index, coefficient) pairs per signal.
"""
import numpy as np
from numba import njit
from tqdm.auto import tqdm


@njit(cache=True)
def _omp_rows(G, DtX, T, idx, coef):
    """Batch OMP (Rubinstein, Zibulevsky & Elad 2008): greedy T-sparse codes from the
    Gram matrix G = DD' and the correlations DtX, with a growing Cholesky factor."""
    N, K = DtX.shape
    Lc = np.zeros((T, T))
    for n in range(N):
        alpha0 = DtX[n]
        alpha = alpha0.copy()
        for k in range(T):
            j = np.argmax(np.abs(alpha))
            if abs(alpha[j]) < 1e-12:
                break
            if k > 0:  # extend the Cholesky factor of G[I, I]
                w = np.empty(k)
                for r in range(k):
                    s = G[idx[n, r], j]
                    for c in range(r):
                        s -= Lc[r, c] * w[c]
                    w[r] = s / Lc[r, r]
                diag = 1.0 - w @ w
                if diag <= 1e-12:  # the new atom is (numerically) in the span already
                    break
                Lc[k, :k] = w
                Lc[k, k] = np.sqrt(diag)
            else:
                Lc[0, 0] = 1.0
            idx[n, k] = j
            # gamma = (L L')^-1 alpha0[I]
            y = np.empty(k + 1)
            for r in range(k + 1):
                s = alpha0[idx[n, r]]
                for c in range(r):
                    s -= Lc[r, c] * y[c]
                y[r] = s / Lc[r, r]
            g = np.empty(k + 1)
            for r in range(k, -1, -1):
                s = y[r]
                for c in range(r + 1, k + 1):
                    s -= Lc[c, r] * g[c]
                g[r] = s / Lc[r, r]
            alpha[:] = alpha0
            for r in range(k + 1):
                coef[n, r] = g[r]
                alpha -= g[r] * G[idx[n, r]]
    return idx, coef


def omp(D, X, T, chunk=8192):
    """T-sparse OMP codes of the rows of X over the unit-norm rows of D.
    Returns (idx, coef), both (N, T); unused slots have idx -1 and coef 0."""
    G = D @ D.T
    N = X.shape[0]
    idx = np.full((N, T), -1, np.int64)
    coef = np.zeros((N, T))
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        _omp_rows(G, np.ascontiguousarray(X[s:e] @ D.T), T, idx[s:e], coef[s:e])
    return idx, coef


@njit(cache=True)
def _residual_row(X, D, idx, coef, n, out):
    out[:] = X[n]
    for t in range(idx.shape[1]):
        if idx[n, t] >= 0:
            out -= coef[n, t] * D[idx[n, t]]


@njit(cache=True)
def _update_atoms(X, D, idx, coef, order, ptr, members, slots, unused):
    """Approximate K-SVD: for each atom, one power-iteration step on the residual of
    the signals that use it (the atom's own contribution added back)."""
    d = X.shape[1]
    r = np.empty(d)
    for j in order:
        s, e = ptr[j], ptr[j + 1]
        if e == s:
            unused[j] = True
            continue
        E = np.empty((e - s, d))
        g = np.empty(e - s)
        for m in range(s, e):
            n, t = members[m], slots[m]
            _residual_row(X, D, idx, coef, n, r)
            g[m - s] = coef[n, t]
            E[m - s] = r + coef[n, t] * D[j]
        atom = g @ E
        nrm = np.sqrt(atom @ atom)
        if nrm < 1e-12:
            unused[j] = True
            continue
        D[j] = atom / nrm
        gn = E @ D[j]
        for m in range(s, e):
            coef[members[m], slots[m]] = gn[m - s]


def _usage(idx, K):
    """Inverse index: for each atom, the (signal, slot) pairs that use it (CSR)."""
    flat = idx.ravel()
    valid = np.nonzero(flat >= 0)[0]
    atoms = flat[valid]
    order = np.argsort(atoms, kind="stable")
    ptr = np.zeros(K + 1, np.int64)
    np.cumsum(np.bincount(atoms, minlength=K), out=ptr[1:])
    pos = valid[order]
    return ptr, pos // idx.shape[1], pos % idx.shape[1]


def _replace_atoms(X, D, idx, coef, unused, ptr, rng, mu_thresh=0.99, use_thresh=4):
    """ksvdbox's cleardict: atoms that are unused, used by fewer than `use_thresh`
    signals, or nearly equal to another atom become the worst-represented signals."""
    counts = np.diff(ptr)
    replace = unused | (counts < use_thresh)
    Gd = np.abs(D @ D.T)
    np.fill_diagonal(Gd, 0)
    for j in range(D.shape[0]):
        if not replace[j] and np.any(Gd[j, :j][~replace[:j]] > mu_thresh):
            replace[j] = True
    bad = np.nonzero(replace)[0]
    if bad.size == 0:
        return 0
    err = np.zeros(X.shape[0])
    for s in range(0, X.shape[0], 65536):
        e = min(X.shape[0], s + 65536)
        rec = np.einsum("nt,ntd->nd", coef[s:e], D[np.maximum(idx[s:e], 0)])
        err[s:e] = np.sum((X[s:e] - rec) ** 2, axis=1)
    worst = np.argsort(-err, kind="stable")[: bad.size]
    for j, n in zip(bad, worst):
        nrm = np.linalg.norm(X[n])
        D[j] = X[n] / nrm if nrm > 0 else rng.standard_normal(D.shape[1])
        D[j] /= np.linalg.norm(D[j])
    return bad.size


def ksvd(X, n_atoms, sparsity, n_iter=20, seed=0, progress=True):
    """Learn a (n_atoms, d) dictionary for the rows of X. Returns (D, idx, coef)."""
    X = np.ascontiguousarray(X, np.float64)
    rng = np.random.default_rng(seed)
    norms = np.linalg.norm(X, axis=1)
    candidates = np.nonzero(norms > 1e-6)[0]
    pick = rng.choice(candidates, n_atoms, replace=False)
    D = X[pick] / norms[pick, None]
    it = tqdm(range(n_iter), desc=f"K-SVD {n_atoms} atoms", disable=not progress)
    for _ in it:
        idx, coef = omp(D, X, sparsity)
        ptr, members, slots = _usage(idx, n_atoms)
        unused = np.zeros(n_atoms, np.bool_)
        _update_atoms(X, D, idx, coef, rng.permutation(n_atoms), ptr, members, slots, unused)
        n_new = _replace_atoms(X, D, idx, coef, unused, ptr, rng)
        it.set_postfix(replaced=n_new)
    idx, coef = omp(D, X, sparsity)
    return D, idx, coef
