"""Many small bimatrix games at once: what a bootstrap needs.

``solve_many(As, Bs, method)`` returns, for every game ``(As[g], Bs[g])``,
what :func:`gametheory.equilibria.solve` returns for it (the same equilibria
with the same supports, method, fallback and note; probabilities equal to
one step of the 12-digit rounding, not bit for bit: the batched linear algebra is other arithmetic, and a
value such as 5/13 may round to 12 digits either way), but

* identical games (common when few seeds are resampled) are solved once;
* small nondegenerate games are solved together, by support enumeration on
  stacks of linear systems: in a nondegenerate game every equilibrium is
  extreme and isolated and has supports of equal size [NRTV07, Thm 3.3], and
  for each support pair (I, J), |I| = |J| = k, it is the unique solution of
  the indifference equations  (xᵀB)_j = w (j ∈ J), Σx = 1  and
  (A y)_i = v (i ∈ I), Σy = 1, if that solution is a probability vector and
  the other strategies do no better. So for these games the set is what
  ``auto``, ``vertex-enumeration`` and ``support-enumeration`` promise;
* every other game (degenerate, larger, or another method) goes through
  :func:`~gametheory.equilibria.solve`, one at a time.

Degeneracy is ruled out with a certificate computed for all games at once: a
game is degenerate iff some x with support I (|I| = k) has k + 1 pure best
responses J′, i.e. iff for some (I, J′) the k + 2 equations (xᵀB)_j = w
(j ∈ J′), Σx = 1 in the k + 1 unknowns (x_I, w) are consistent, which needs
the (k + 2) × (k + 2) augmented matrix to be singular; and the same for y with
Aᵀ. A game whose augmented matrices are all far from singular is certified
nondegenerate; the rest (ties, as saturated payoffs make) are solved one by one.
"""

from __future__ import annotations

import itertools

import numpy as np

from .bimatrix import DEFAULT_TOL, Solutions, as_game, checked_equilibria
from .equilibria import METHODS, solve
from .support_enumeration import SUPPORT_TOL

__all__ = ["solve_many", "BATCH_LIMIT"]

#: Games with at most this many strategies in all (m + n) are solved together when nondegenerate.
BATCH_LIMIT = 10
#: An augmented matrix with |det| below this (payoffs on [1, 2]) may be singular: no certificate.
SINGULAR_BELOW = 1e-9
#: Candidates with a larger regret (payoffs on [1, 2]) are not passed on to the exact test.
PREFILTER = 1e-6
#: Methods whose answer on a nondegenerate game is the set of all its equilibria.
_ALL_EQUILIBRIA = ("auto", "vertex-enumeration", "support-enumeration")


def _stack_unit(M: np.ndarray) -> np.ndarray:
    """Each game's matrix mapped onto [1, 2] (constant matrices onto 1), as in :func:`~gametheory.bimatrix.normalised`."""
    lo = M.min(axis=(1, 2), keepdims=True)
    span = M.max(axis=(1, 2), keepdims=True) - lo
    return 1.0 + np.divide(M - lo, span, out=np.zeros_like(M), where=span > 0)


def _nondegenerate(An: np.ndarray, Bn: np.ndarray) -> np.ndarray:
    """(G,) booleans: True where the game is certified nondegenerate (see the module docstring)."""
    ok = np.ones(len(An), dtype=bool)
    for M in (Bn, An.transpose(0, 2, 1)):  # x against the column player's payoffs; y against the row player's
        m, n = M.shape[1:]
        for k in range(1, min(m, n - 1) + 1):
            for I in itertools.combinations(range(m), k):
                for J in itertools.combinations(range(n), k + 1):
                    aug = np.zeros((len(M), k + 2, k + 2))
                    aug[:, : k + 1, :k] = M[:, I][:, :, J].transpose(0, 2, 1)
                    aug[:, : k + 1, k] = -1.0
                    aug[:, k + 1, :k] = 1.0
                    aug[:, k + 1, k + 1] = 1.0
                    ok &= np.abs(np.linalg.det(aug)) >= SINGULAR_BELOW
    return ok


def _indifferent(M: np.ndarray, own: tuple[int, ...], other: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For each game, z on ``own`` with (zᵀM)_j equal for j ∈ ``other`` and Σz = 1.

    Returns (z (G, len(own)), valid (G,)): valid where the system is regular
    and z ≥ −``SUPPORT_TOL``.
    """
    k = len(own)
    lhs = np.zeros((len(M), k + 1, k + 1))
    lhs[:, :k, :k] = M[:, own][:, :, other].transpose(0, 2, 1)
    lhs[:, :k, k] = -1.0
    lhs[:, k, :k] = 1.0
    regular = np.abs(np.linalg.det(lhs)) >= SINGULAR_BELOW
    lhs[~regular] = np.eye(k + 1)
    rhs = np.zeros((len(M), k + 1))
    rhs[:, k] = 1.0
    z = np.linalg.solve(lhs, rhs[..., None])[..., 0][:, :k]
    return z, regular & (z.min(axis=1) >= -SUPPORT_TOL)


def _equal_support_candidates(An: np.ndarray, Bn: np.ndarray, tol: float) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per game, the solutions of the indifference equations of every equal-size support
    pair that are near-equilibria (regret ≤ max(``PREFILTER``, 10 tol) on payoffs in [1, 2]);
    :func:`~gametheory.equilibria.checked_equilibria` then applies the exact test."""
    G, m, n = An.shape
    out: list[list] = [[] for _ in range(G)]
    near = max(PREFILTER, 10 * tol)
    for k in range(1, min(m, n) + 1):
        for I in itertools.combinations(range(m), k):
            for J in itertools.combinations(range(n), k):
                x, x_ok = _indifferent(Bn, I, J)
                y, y_ok = _indifferent(An.transpose(0, 2, 1), J, I)
                xf, yf = np.zeros((G, m)), np.zeros((G, n))
                xf[:, list(I)], yf[:, list(J)] = x, y
                Ay = np.einsum("gmn,gn->gm", An, yf)
                xB = np.einsum("gm,gmn->gn", xf, Bn)
                row = Ay.max(axis=1) - np.einsum("gm,gm->g", xf, Ay)
                col = xB.max(axis=1) - np.einsum("gn,gn->g", xB, yf)
                for g in np.flatnonzero(x_ok & y_ok & (row <= near) & (col <= near)):
                    out[g].append((xf[g], yf[g]))
    return out


def solve_many(As, Bs, method: str = "auto", tol: float = DEFAULT_TOL) -> list[Solutions]:
    """``[solve(As[g], Bs[g], method, tol) for g in range(G)]`` (to one rounding step), faster (see the module docstring).

    ``As`` and ``Bs`` are (G, m, n) stacks of payoff matrices.
    """
    As, Bs = np.asarray(As, dtype=float), np.asarray(Bs, dtype=float)
    if As.ndim != 3 or As.shape != Bs.shape or len(As) == 0:
        raise ValueError(f"payoff stacks must be non-empty, 3-D and of one shape; got {As.shape} and {Bs.shape}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: allowed {', '.join(METHODS)}")
    for g in range(len(As)):  # the same checks and messages as solve's, before any work
        as_game(As[g], Bs[g])
    keys = [A.tobytes() + B.tobytes() for A, B in zip(As, Bs)]
    first = {key: g for g, key in reversed(list(enumerate(keys)))}
    unique = sorted(set(first.values()))
    done: dict[int, Solutions] = {}
    if method in _ALL_EQUILIBRIA and sum(As.shape[1:]) <= BATCH_LIMIT:
        U = np.array(unique)
        An, Bn = _stack_unit(As[U]), _stack_unit(Bs[U])
        certified = _nondegenerate(An, Bn)
        if certified.any():
            C = U[certified]
            candidates = _equal_support_candidates(An[certified], Bn[certified], tol)
            for g, cands in zip(C, candidates):
                found = checked_equilibria(As[g], Bs[g], cands, tol)
                if found:  # always, for a nondegenerate game; otherwise solve() below decides
                    done[int(g)] = Solutions(found, method)
    for g in unique:
        if g not in done:
            done[g] = solve(As[g], Bs[g], method, tol)
    return [done[first[key]] for key in keys]
