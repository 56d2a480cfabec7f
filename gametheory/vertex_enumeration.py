"""Vertex enumeration for bimatrix games [NRTV07]_ (Alg. 3.5): every extreme equilibrium.

The extreme equilibria are the completely labelled vertex pairs of the two
best-response polytopes, also in degenerate games [AvRvSvS10]_; the
vertices come from :func:`~gametheory.polytopes.polytope_vertices`.

References
----------
.. [NRTV07] Nisan, Roughgarden, Tardos, Vazirani (eds.), *Algorithmic Game
   Theory*, CUP 2007, ch. 3 (von Stengel): support enumeration (Alg. 3.4),
   vertex enumeration (Alg. 3.5), Lemke–Howson (Alg. 3.6).
.. [AvRvSvS10] Avis, Rosenberg, Savani, von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010): in a
   degenerate game the extreme equilibria are the completely labelled vertex
   pairs of the best-response polytopes.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import QhullError

from .bimatrix import DEFAULT_TOL, Solutions, as_game, checked_equilibria, normalised, one_sided_equilibria
from .polytopes import polytope_vertices
from .support_enumeration import support_enumeration

__all__ = ["vertex_enumeration"]


def vertex_enumeration(A, B, tol: float = DEFAULT_TOL) -> Solutions:
    """All extreme equilibria: the completely labelled vertex pairs of the
    best-response polytopes [NRTV07, Alg. 3.5], on payoffs rescaled to [1, 2]
    so both polytopes are bounded.

    nashpy (with qhull) finds each polytope's vertices once; the pairs are
    then tested all at once as boolean label arrays rather than one pair at a
    time, which is what makes 10 × 10 games take milliseconds instead of
    minutes. In degenerate games this returns every extreme equilibrium
    [AvRvSvS10]; convex combinations of extreme equilibria that share a
    maximal clique are equilibria too. Where qhull refuses a polytope, support
    enumeration takes over and ``fallback`` on the result says so and why.
    """
    A, B = as_game(A, B)
    if min(A.shape) == 1:
        # A one-strategy player makes a polytope of dimension 1; qhull needs ≥ 2. Solve directly:
        return Solutions(one_sided_equilibria(A, B, tol), "vertex-enumeration")
    An, Bn = normalised(A), normalised(B)
    m, n = A.shape
    try:
        # Row polytope P = {x ≥ 0 : Bᵀx ≤ 1}: facets are the column player's strategies (labels m..m+n−1),
        # then x_i = 0 (labels 0..m−1). Column polytope Q = {y ≥ 0 : A y ≤ 1}: rows (0..m−1), then y_j = 0 (m..m+n−1).
        X, LX = polytope_vertices(Bn.T)
        Y, LY = polytope_vertices(An)
    except (QhullError, ValueError, np.linalg.LinAlgError) as exc:
        reason = " ".join(str(exc).split())[:200]
        return Solutions(support_enumeration(A, B, tol), "vertex-enumeration",
                         fallback=f"support-enumeration: qhull could not enumerate a best-response polytope ({reason})")
    LX = np.concatenate([LX[:, n:], LX[:, :n]], axis=1)  # reorder to labels 0..m+n−1
    candidates = []
    chunk = max(1, 2_000_000 // max(1, len(Y) * (m + n)))
    for start in range(0, len(X), chunk):
        complete = (LX[start:start + chunk, None, :] | LY[None, :, :]).all(axis=2)
        for a, b in zip(*np.nonzero(complete)):
            x, y = X[start + a], Y[b]
            candidates.append((x / x.sum(), y / y.sum()))
    found = checked_equilibria(A, B, candidates, tol)
    if not found:  # cannot happen for a finite game (Nash 1951), but say so if rounding loses every vertex pair
        return Solutions(support_enumeration(A, B, tol), "vertex-enumeration",
                         fallback="support-enumeration: no completely labelled vertex pair passed the regret check")
    return Solutions(found, "vertex-enumeration")
