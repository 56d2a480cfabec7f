"""Best-response polytopes of a bimatrix game: degeneracy, vertices, Lemke–Howson paths.

For payoffs rescaled to [1, 2] (:func:`~gametheory.bimatrix.normalised`) the
best-response polytopes ``P = {x ≥ 0 : Bᵀx ≤ 1}`` and
``Q = {y ≥ 0 : A y ≤ 1}`` are bounded; each facet carries a label (a pure
strategy that is a best response there, or one played with probability 0),
and the equilibria are the completely labelled pairs of points [NRTV07]_.
This module holds the machinery the solvers share: whether the game is
degenerate (:func:`is_degenerate`), the vertices of a polytope with their
labels (:func:`polytope_vertices`, via nashpy and qhull), and the
complementary pivoting paths of Lemke–Howson (:func:`lemke_howson_path`,
:func:`lemke_howson_candidates`), with the move of an end point to an extreme
equilibrium in degenerate games (:func:`extreme_equilibrium`).

References
----------
.. [NRTV07] Nisan, Roughgarden, Tardos, Vazirani (eds.), *Algorithmic Game
   Theory*, CUP 2007, ch. 3 (von Stengel): support enumeration (Alg. 3.4),
   vertex enumeration (Alg. 3.5), Lemke–Howson (Alg. 3.6).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import QhullError

from .bimatrix import as_game, normalised

__all__ = [
    "MAX_PIVOTS",
    "extreme_equilibrium",
    "is_degenerate",
    "lemke_howson_candidates",
    "lemke_howson_path",
    "polytope_vertices",
]

#: Lemke–Howson pivots allowed per starting label before that path is abandoned.
MAX_PIVOTS = 5_000


def is_degenerate(A, B) -> bool:
    """True when some mixed strategy with support size k has more than k pure best responses.

    Tested on the best-response polytopes [NRTV07, Def. 3.2]: the game is
    degenerate iff some vertex of either polytope lies on more facets than
    its dimension. Ties between payoffs (saturated attack success) make
    measured games degenerate more often than not.
    """
    from nashpy.polytope import build_halfspaces, non_trivial_vertices

    A, B = as_game(A, B)
    if min(A.shape) == 1:  # degenerate iff the other player's best response to the lone strategy is tied
        u = B[0] if A.shape[0] == 1 else A[:, 0]
        return bool(np.sum(np.isclose(u, u.max())) > 1)
    An, Bn = normalised(A), normalised(B)
    for halfspaces, dim in ((build_halfspaces(Bn.T), A.shape[0]), (build_halfspaces(An), A.shape[1])):
        try:
            for _vertex, labels in non_trivial_vertices(halfspaces):
                if len(labels) > dim:
                    return True
        except (QhullError, ValueError):  # qhull refuses some degenerate inputs: that is an answer too
            return True
    return False


def polytope_vertices(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (other than 0) of {z ≥ 0 : M z ≤ 1} and their labels, via nashpy/qhull.

    Returns ``(V, L)``: V (k, d) distinct vertices, L (k, rows + d) booleans,
    L[v, r] True when vertex v lies on facet r (rows of M first, then z_i = 0).
    """
    from nashpy.polytope import build_halfspaces, non_trivial_vertices

    halfspaces = build_halfspaces(M)
    points = np.array([v for v, _labels in non_trivial_vertices(halfspaces)])
    if points.size == 0:
        return np.zeros((0, M.shape[1])), np.zeros((0, halfspaces.shape[0]), dtype=bool)
    points = np.unique(np.round(points, 12), axis=0)
    slack = points @ halfspaces[:, :-1].T + halfspaces[:, -1]
    return points, np.abs(slack) <= 1e-9


def lemke_howson_path(An: np.ndarray, Bn: np.ndarray, label: int) -> tuple[np.ndarray, np.ndarray] | None:
    """One Lemke–Howson path [NRTV07, Alg. 3.6] from ``label``, on nashpy's tableaux
    with lexicographic pivoting, stopped after ``MAX_PIVOTS`` pivots (nashpy's
    own driver has no bound and can cycle on degenerate games)."""
    from nashpy.linalg import create_col_tableau, create_row_tableau

    col_tableau = create_col_tableau(An, True)
    row_tableau = create_row_tableau(Bn, True)
    tableaux = itertools.cycle(
        (row_tableau, col_tableau) if label in row_tableau.non_basic_variables else (col_tableau, row_tableau)
    )
    full = col_tableau.labels
    entering = label
    for _ in range(MAX_PIVOTS):
        tableau = next(tableaux)
        entering = tableau.pivot_and_drop_label(entering)
        if not np.isfinite(tableau._tableau).all():  # nashpy's tableau overflowed: this path is lost
            return None
        if col_tableau.non_basic_variables | row_tableau.non_basic_variables == full:
            return (
                row_tableau.to_strategy(col_tableau.non_basic_variables),
                col_tableau.to_strategy(row_tableau.non_basic_variables),
            )
    return None


def lemke_howson_candidates(An: np.ndarray, Bn: np.ndarray) -> list[tuple]:
    if min(An.shape) == 1:  # a one-strategy player: the path degenerates; one_sided_equilibria solves it
        return []
    out = []
    for label in range(sum(An.shape)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                found = lemke_howson_path(An, Bn, label)
            except (ValueError, IndexError, ZeroDivisionError, np.linalg.LinAlgError):
                continue  # nashpy can fail to pivot on degenerate games; other labels may still work
        if found is not None:
            out.append(found)
    return out


def _section_vertex(M: np.ndarray, allowed: np.ndarray, tight: np.ndarray) -> np.ndarray | None:
    """A vertex of {z ∈ Δ : z_i = 0 unless allowed_i, (zᵀM)_j = max_k (zᵀM)_k for every tight j},
    by dual simplex (which ends on a basic solution), or None if it is empty.

    In the lifted form {(z, w) : zᵀM ≤ w, (zᵀM)_j = w (j tight), z ∈ Δ} this is a
    face of the best-response polytope, so its vertices are vertices of that polytope.
    """
    k, n = M.shape
    A_ub = np.hstack([M.T, -np.ones((n, 1))])
    A_eq = np.vstack([A_ub[tight], np.r_[np.ones(k), 0.0]])
    b_eq = np.r_[np.zeros(int(tight.sum())), 1.0]
    bounds = [(0, None if ok else 0) for ok in allowed] + [(None, None)]
    c = np.r_[np.arange(1.0, k + 1.0), 0.0]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs-ds")
    return res.x[:k] if res.status == 0 else None


def extreme_equilibrium(An: np.ndarray, Bn: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An extreme equilibrium in the same face as the equilibrium (x, y).

    In a degenerate game Lemke–Howson with nashpy's pivoting can end at a point
    of a face of equilibria that is not a vertex. x′ := a vertex of
    {x : supp x ⊆ BR(y), supp y ⊆ BR(x)}, then y′ := a vertex of
    {y : supp y ⊆ BR(x′), supp x′ ⊆ BR(y)}: both sections are faces of the
    best-response polytopes, so (x′, y′) is a completely labelled vertex pair.
    """
    best = lambda u: u >= u.max() - 1e-9  # noqa: E731
    x2 = _section_vertex(Bn, best(An @ y), y > 1e-10)
    if x2 is None:
        return x, y
    y2 = _section_vertex(An.T, best(x2 @ Bn), x2 > 1e-10)
    return (x2, y2) if y2 is not None else (x, y)
