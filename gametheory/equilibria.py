"""Nash equilibria of two-player normal-form games (bimatrix games).

Pure functions on arrays: ``A`` is the row player's payoff matrix, ``B`` the
column player's, both (m, n); a strategy pair is ``(x, y)`` with ``x`` in the
simplex Δ_m and ``y`` in Δ_n. nashpy supplies the polytope vertices (qhull),
the Lemke–Howson tableaux and the minimax LP; this module adds what it lacks
for measured payoff tables:

* every candidate is re-checked with a regret test with a tolerance relative
  to each player's payoff range (nashpy's own check compares floats with
  ``==``, and its support enumeration rejects probabilities like −1e-17 and
  drops equilibria whose supports differ in size, which degenerate games have);
* payoffs are rescaled (to [1, 2] for the polytopes, [0, 1] for the LP and the
  regret test) before anything is computed, so every payoff scale, 1e-12 or
  1e15, gives the same equilibria, reported in the user's units;
* outputs are cleaned (``-0.0``, 1e-17 noise, renormalised) and deduplicated;
* each method keeps the promise stated in :data:`METHODS` on every finite
  game, degenerate or not, rectangular or not (tested against Gambit); the
  result is a :class:`Solutions` list whose ``fallback`` says when another
  method took over, and ``note`` when the list is empty or may be incomplete.

References
----------
.. [NRTV07] Nisan, Roughgarden, Tardos, Vazirani (eds.), *Algorithmic Game
   Theory*, CUP 2007, ch. 3 (von Stengel): support enumeration (Alg. 3.4),
   vertex enumeration (Alg. 3.5), Lemke–Howson (Alg. 3.6).
.. [AvRvSvS10] Avis, Rosenberg, Savani, von Stengel, "Enumeration of Nash
   equilibria for two-player games", Economic Theory 42 (2010): in a
   degenerate game the extreme equilibria are the completely labelled vertex
   pairs of the best-response polytopes.
.. [vN28] von Neumann, "Zur Theorie der Gesellschaftsspiele" (1928): minimax;
   in a constant-sum game the equilibria are the products of the two
   players' sets of optimal (maximin) strategies.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import QhullError

__all__ = [
    "METHODS",
    "Solutions",
    "as_game",
    "payoff_scale",
    "checked_equilibria",
    "DEFAULT_TOL",
    "ZeroSumSolution",
    "regret",
    "is_equilibrium",
    "clean_strategy",
    "pure_equilibria",
    "support_enumeration",
    "vertex_enumeration",
    "lemke_howson",
    "zero_sum_lp",
    "is_constant_sum",
    "solve",
]

DEFAULT_TOL = 1e-8
"""Regret tolerance, relative to the range of each player's payoffs."""

#: Above this many (m+n) total strategies, auto uses Lemke–Howson, not vertex enumeration.
AUTO_VERTEX_LIMIT = 24
#: In degenerate games support enumeration searches every support pair by LP up to this many pairs.
UNEQUAL_SUPPORT_LIMIT = 1 << 16
#: The optimal-strategy set of a zero-sum game is enumerated exactly up to this many bases.
ZERO_SUM_ENUMERATION_LIMIT = 20_000


# --------------------------------------------------------------------------- basics
class Solutions(list):
    """The equilibria a method found (a list of ``(x, y)`` pairs, or of records),
    with how it went.

    ``method``: the method asked for. ``fallback``: ``None`` when that method
    produced the list itself; otherwise one line saying which method took over
    and why (e.g. qhull refused the polytope). ``note``: ``None``, or one line
    saying why the list is empty or may be incomplete.
    """

    def __init__(self, items: Iterable = (), method: str = "", fallback: str | None = None, note: str | None = None):
        super().__init__(items)
        self.method = method
        self.fallback = fallback
        self.note = note

    def with_items(self, items: Iterable) -> "Solutions":
        """The same report around other items (e.g. labelled records of these pairs)."""
        return Solutions(items, self.method, self.fallback, self.note)

    def report(self) -> dict[str, str | None]:
        """``{"method", "fallback", "note"}`` for JSON output."""
        return {"method": self.method, "fallback": self.fallback, "note": self.note}


def as_game(A, B) -> tuple[np.ndarray, np.ndarray]:
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    if A.ndim != 2 or A.shape != B.shape or 0 in A.shape:
        raise ValueError(f"payoff matrices must be non-empty, 2-D and of one shape; got {A.shape} and {B.shape}")
    if not (np.isfinite(A).all() and np.isfinite(B).all()):
        raise ValueError("payoff matrices contain NaN or infinite values (missing cells?)")
    return A, B


def _unit(M: np.ndarray) -> np.ndarray:
    """Affine map of M onto [0, 1] (constant matrices map to 0): equilibria and regret
    relative to the payoff range are unchanged, at any payoff scale (1e-12 or 1e15)."""
    lo, hi = M.min(), M.max()
    if not hi - lo > 0:
        return np.zeros_like(M)
    return (M - lo) / (hi - lo)


def _normalise(M: np.ndarray) -> np.ndarray:
    """Affine map of M onto [1, 2] (constant matrices map to 1): equilibria are unchanged."""
    return 1.0 + _unit(M)


def payoff_scale(M: np.ndarray) -> float:
    """The payoff range used to make tolerances relative (1 for constant matrices)."""
    span = float(M.max() - M.min())
    return span if span > 0 else 1.0


def regret(A, B, x, y) -> tuple[float, float]:
    """Regrets of a strategy pair: how much each player gains by its best deviation.

    row regret = max_i (A y)_i − xᵀ A y,   column regret = max_j (xᵀ B)_j − xᵀ B y.
    Both are ≥ 0; (x, y) is a Nash equilibrium iff both are 0.
    """
    A, B = as_game(A, B)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    Ay = A @ y
    xB = x @ B
    return float(max(Ay.max() - x @ Ay, 0.0)), float(max(xB.max() - xB @ y, 0.0))


def is_equilibrium(A, B, x, y, tol: float = DEFAULT_TOL) -> bool:
    """True when both regrets are within ``tol`` times each player's payoff range.

    Computed on the payoffs mapped onto [0, 1] (:func:`_unit`), which is the same
    test without the rounding error of large offsets (payoffs like 1e15 + k).
    """
    A, B = as_game(A, B)
    r_row, r_col = regret(_unit(A), _unit(B), x, y)
    return r_row <= tol and r_col <= tol


def clean_strategy(x, zero: float = 1e-10) -> np.ndarray:
    """Clip tiny and negative noise to 0, turn -0.0 into 0.0, renormalise, round off float dust."""
    x = np.asarray(x, dtype=float).copy()
    x[~np.isfinite(x)] = 0.0
    x[x < zero] = 0.0
    total = x.sum()
    if total <= 0:
        raise ValueError("strategy has no positive mass")
    x = np.round(x / total, 12)
    x = x / x.sum()
    x[x < zero] = 0.0
    return x + 0.0  # -0.0 → 0.0


def checked_equilibria(A, B, candidates: Iterable[tuple], tol: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Clean, regret-check and deduplicate candidate pairs; sorted deterministically."""
    seen: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    for x, y in candidates:
        try:
            x, y = clean_strategy(x), clean_strategy(y)
        except ValueError:
            continue
        if x.shape != (A.shape[0],) or y.shape != (A.shape[1],):
            continue
        if not is_equilibrium(A, B, x, y, tol):
            continue
        key = tuple(np.round(np.concatenate([x, y]), 7))
        seen.setdefault(key, (x, y))
    return [seen[k] for k in sorted(seen, key=lambda k: tuple(-v for v in k))]


# --------------------------------------------------------------------------- pure
def pure_equilibria(A, B, tol: float = DEFAULT_TOL) -> list[tuple[np.ndarray, np.ndarray]]:
    """All pure equilibria: cells (i, j) where i is a best response to j and j to i (within tol)."""
    A, B = as_game(A, B)
    ta, tb = tol * payoff_scale(A), tol * payoff_scale(B)
    row_best = A >= A.max(axis=0, keepdims=True) - ta
    col_best = B >= B.max(axis=1, keepdims=True) - tb
    out = []
    for i, j in zip(*np.nonzero(row_best & col_best)):
        x = np.zeros(A.shape[0])
        y = np.zeros(A.shape[1])
        x[i] = 1.0
        y[j] = 1.0
        out.append((x, y))
    return checked_equilibria(A, B, out, tol)


# --------------------------------------------------------------------------- support enumeration
def _support_lp(M: np.ndarray, own: tuple[int, ...], other: tuple[int, ...]) -> np.ndarray | None:
    """A strategy z on support ``own`` making every strategy in ``other`` a best response
    of the opponent, whose payoffs are ``zᵀM`` (M is (len(z), n_opponent)).

    Solves  max t  s.t.  (zᵀM)_j = w (j ∈ other),  (zᵀM)_j ≤ w (j ∉ other),
    z_i ≥ t (i ∈ own), z_i = 0 (i ∉ own), Σz = 1.  Feasible with t > 0 ⇔ such a z
    exists with exactly that support.
    """
    k, n = M.shape
    nv = k + 2  # z, w, t
    c = np.zeros(nv)
    c[-1] = -1.0
    A_eq, b_eq, A_ub, b_ub = [], [], [], []
    for j in range(n):
        row = np.zeros(nv)
        row[:k] = M[:, j]
        row[k] = -1.0
        (A_eq if j in other else A_ub).append(row)
        (b_eq if j in other else b_ub).append(0.0)
    for i in range(k):
        row = np.zeros(nv)
        if i in own:
            row[i] = -1.0
            row[-1] = 1.0
            A_ub.append(row)
            b_ub.append(0.0)
        else:
            row[i] = 1.0
            A_eq.append(row)
            b_eq.append(0.0)
    row = np.zeros(nv)
    row[:k] = 1.0
    A_eq.append(row)
    b_eq.append(1.0)
    bounds = [(0, None)] * k + [(None, None), (None, 1.0)]
    res = linprog(c, A_ub=np.array(A_ub) if A_ub else None, b_ub=b_ub or None, A_eq=np.array(A_eq), b_eq=b_eq,
                  bounds=bounds, method="highs")
    if res.status != 0 or res.x[-1] <= 1e-9:
        return None
    return res.x[:k]


#: A probability above −SUPPORT_TOL counts as non-negative when solving the indifference equations.
SUPPORT_TOL = 1e-9


_CONTINUUM = object()


def _support_strategy(M: np.ndarray, own: tuple[int, ...], other: tuple[int, ...]):
    """The strategy z on ``own`` that makes the opponent indifferent among ``other``:
    an array, None (there is none), or ``_CONTINUUM`` (there may be many).

    The opponent's payoffs are zᵀM (M is (len(z), n_opponent)). The equations
    (zᵀM)_j = w (j ∈ other), Σ z = 1 in the unknowns (z_own, w) are solved by
    least squares: inconsistent (an overdetermined system, |other| > |own|,
    without the ties that would make it consistent) → None; a unique solution
    → it, unless some z_i < −``SUPPORT_TOL`` (noise such as −1e-17, which
    nashpy's own test rejects, is accepted and cleaned later); rank-deficient
    (degenerate games) → ``_CONTINUUM``, for :func:`_support_lp` to settle.
    """
    k, r = len(own), len(other)
    lhs = np.zeros((r + 1, k + 1))
    lhs[:r, :k] = M[np.ix_(own, other)].T
    lhs[:r, k] = -1.0
    lhs[r, :k] = 1.0
    rhs = np.zeros(r + 1)
    rhs[r] = 1.0
    sol, _res, rank, _sv = np.linalg.lstsq(lhs, rhs, rcond=None)
    if not np.allclose(lhs @ sol, rhs, atol=1e-10):
        return None
    if rank < k + 1:
        return _CONTINUUM
    if sol[:k].min() < -SUPPORT_TOL:
        return None
    z = np.zeros(M.shape[0])
    z[list(own)] = sol[:k]
    return z


def _support_candidates(An: np.ndarray, Bn: np.ndarray, equal_only: bool):
    """For every support pair (I, J) (only |I| = |J| when ``equal_only``), the
    strategies that make each player indifferent on the other's support, where
    they exist: solved directly (:func:`_support_strategy`), and by LP
    (:func:`_support_lp`, one point with exactly those supports) where the
    solutions form a continuum."""
    m, n = An.shape
    for a in range(1, m + 1):
        for I in itertools.combinations(range(m), a):
            for b in (a,) if equal_only else range(1, n + 1):
                for J in itertools.combinations(range(n), b):
                    x = _support_strategy(Bn, I, J)
                    y = None if x is None else _support_strategy(An.T, J, I)
                    if y is None:
                        continue
                    x = _support_lp(Bn, I, J) if x is _CONTINUUM else x
                    y = _support_lp(An.T, J, I) if y is _CONTINUUM and x is not None else y
                    if x is not None and y is not None:
                        yield x, y


def support_enumeration(A, B, tol: float = DEFAULT_TOL) -> Solutions:
    """Equilibria by support enumeration [NRTV07, Alg. 3.4]: one for every support
    pair (I, J) that has an equilibrium.

    For each pair the indifference equations of each side are solved
    (:func:`_support_strategy`), tolerating rounding noise in the
    probabilities, with an LP (:func:`_support_lp`) where they have a
    continuum of solutions. In
    degenerate games, supports of unequal size are searched too, as long as there are at
    most ``UNEQUAL_SUPPORT_LIMIT`` support pairs in all (beyond that, ``note`` says the
    search was partial). Every candidate is regret-checked (``tol`` relative to
    each player's payoff range), on payoffs rescaled to [1, 2]. A nondegenerate
    game has only equal-size supports [NRTV07, Thm 3.3], so there this returns
    every equilibrium. Degenerate games can have a continuum of equilibria per
    support pair; this returns one point of each (vertex enumeration returns
    the extreme ones).
    """
    A, B = as_game(A, B)
    An, Bn = _normalise(A), _normalise(B)
    found = checked_equilibria(A, B, _support_candidates(An, Bn, equal_only=True), tol)
    m, n = A.shape
    if not is_degenerate(A, B):
        return Solutions(found, "support-enumeration")
    n_pairs = sum(math.comb(m, a) * math.comb(n, b) for a in range(1, m + 1) for b in range(1, n + 1))
    if n_pairs > UNEQUAL_SUPPORT_LIMIT:
        note = (f"degenerate game with {n_pairs} support pairs: only equal-size supports were searched "
                f"(the limit for the LP search is {UNEQUAL_SUPPORT_LIMIT})")
        if found:
            return Solutions(found, "support-enumeration", note=note)
        return Solutions(checked_equilibria(A, B, _lemke_howson_candidates(An, Bn), tol), "support-enumeration",
                         fallback=f"lemke-howson: {note}, and they hold no equilibrium")
    return Solutions(checked_equilibria(A, B, [*found, *_support_candidates(An, Bn, equal_only=False)], tol), "support-enumeration")


# --------------------------------------------------------------------------- vertex enumeration
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
    An, Bn = _normalise(A), _normalise(B)
    for halfspaces, dim in ((build_halfspaces(Bn.T), A.shape[0]), (build_halfspaces(An), A.shape[1])):
        try:
            for _vertex, labels in non_trivial_vertices(halfspaces):
                if len(labels) > dim:
                    return True
        except (QhullError, ValueError):  # qhull refuses some degenerate inputs: that is an answer too
            return True
    return False


def _polytope_vertices(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
        return Solutions(_one_sided(A, B, tol), "vertex-enumeration")
    An, Bn = _normalise(A), _normalise(B)
    m, n = A.shape
    try:
        # Row polytope P = {x ≥ 0 : Bᵀx ≤ 1}: facets are the column player's strategies (labels m..m+n−1),
        # then x_i = 0 (labels 0..m−1). Column polytope Q = {y ≥ 0 : A y ≤ 1}: rows (0..m−1), then y_j = 0 (m..m+n−1).
        X, LX = _polytope_vertices(Bn.T)
        Y, LY = _polytope_vertices(An)
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


def _one_sided(A, B, tol) -> list[tuple[np.ndarray, np.ndarray]]:
    """Games where one player has a single strategy: the other's extreme equilibria are its pure best responses."""
    m, n = A.shape
    out = []
    if m == 1:
        for j in np.flatnonzero(B[0] >= B[0].max() - tol * payoff_scale(B)):
            y = np.zeros(n)
            y[j] = 1.0
            out.append((np.ones(1), y))
    else:
        for i in np.flatnonzero(A[:, 0] >= A[:, 0].max() - tol * payoff_scale(A)):
            x = np.zeros(m)
            x[i] = 1.0
            out.append((x, np.ones(1)))
    return checked_equilibria(A, B, out, tol)


# --------------------------------------------------------------------------- Lemke–Howson
#: Lemke–Howson pivots allowed per starting label before that path is abandoned.
MAX_PIVOTS = 5_000


def _lemke_howson_path(An: np.ndarray, Bn: np.ndarray, label: int) -> tuple[np.ndarray, np.ndarray] | None:
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


def _lemke_howson_candidates(An: np.ndarray, Bn: np.ndarray) -> list[tuple]:
    if min(An.shape) == 1:  # a one-strategy player: the path degenerates; _one_sided solves it
        return []
    out = []
    for label in range(sum(An.shape)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                found = _lemke_howson_path(An, Bn, label)
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


def _extreme(An: np.ndarray, Bn: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def lemke_howson(A, B, tol: float = DEFAULT_TOL) -> Solutions:
    """Lemke–Howson [NRTV07, Alg. 3.6] from every initial dropped label (m + n runs),
    with lexicographic pivoting for degenerate games, deduplicated and
    regret-checked. Finds at least one equilibrium, each an extreme one (in
    degenerate games, where a path can end inside a face of equilibria, the
    end point is moved to a vertex of that face: :func:`_extreme`); not
    necessarily all. nashpy's tableaux keep growing during integer pivoting, so
    on larger games (about 20 × 20 and up) some paths overflow; they are
    abandoned, and where none succeeds, pure equilibria or vertex enumeration
    take over (``fallback`` on the result says so).
    """
    A, B = as_game(A, B)
    if min(A.shape) == 1:
        return Solutions(_one_sided(A, B, tol), "lemke-howson")
    An, Bn = _normalise(A), _normalise(B)
    candidates = _lemke_howson_candidates(An, Bn)
    if is_degenerate(A, B):
        candidates = [_extreme(An, Bn, x, y) for x, y in candidates]
    found = checked_equilibria(A, B, candidates, tol)
    if found:
        return Solutions(found, "lemke-howson")
    why = "every Lemke–Howson path overflowed, cycled or failed the regret check"
    pure = pure_equilibria(A, B, tol)
    if pure:
        return Solutions(pure, "lemke-howson", fallback=f"pure: {why}")
    return Solutions(vertex_enumeration(A, B, tol), "lemke-howson", fallback=f"vertex-enumeration: {why}")


# --------------------------------------------------------------------------- zero-sum / constant-sum
def is_constant_sum(A, B, tol: float = 1e-9) -> bool:
    """True when A + B is the same constant in every cell: its spread is within
    ``tol`` of the larger payoff range (scale-free), or within float rounding of
    the payoffs' magnitude."""
    A, B = as_game(A, B)
    S = A + B
    spread = float(np.ptp(S))
    if spread == 0.0:
        return True
    rounding = 8 * np.finfo(float).eps * float(max(np.abs(A).max(), np.abs(B).max()))
    return spread <= max(tol * max(float(np.ptp(A)), float(np.ptp(B))), rounding)


@dataclass(frozen=True)
class ZeroSumSolution:
    """The solution of a constant-sum game.

    ``value``: the row player's equilibrium payoff. ``row_vertices`` and
    ``col_vertices``: extreme points of each player's set of optimal
    strategies (every pair is an equilibrium). ``row_range`` / ``col_range``:
    per strategy, the least and greatest probability it has in any optimal
    strategy. ``exhaustive``: whether the vertex lists are complete (exact
    enumeration) or sampled by LP probing for large degenerate games.
    """

    value: float
    row_vertices: tuple[np.ndarray, ...]
    col_vertices: tuple[np.ndarray, ...]
    row_range: np.ndarray
    col_range: np.ndarray
    exhaustive: bool

    @property
    def unique(self) -> bool:
        return len(self.row_vertices) == 1 and len(self.col_vertices) == 1


def _maximin(M: np.ndarray) -> tuple[np.ndarray, float]:
    """The row player's maximin strategy of the zero-sum game M, and its value (nashpy's LP)."""
    from nashpy.linalg.minimax import linear_program

    x = linear_program(row_player_payoff_matrix=M)
    x = np.clip(np.asarray(x, dtype=float), 0, None)
    x = x / x.sum()
    return x, float((x @ M).min())


def _polish(M: np.ndarray, x: np.ndarray, value: float, eps: float) -> np.ndarray | None:
    """Solve exactly for the optimal strategy with the support and tight columns of ``x``.

    Unknowns (x_S, v): (xᵀM)_j = v for the columns j that ``x`` makes tight,
    Σ x_S = 1. Removes the 1e-9 noise of an LP solver's answer.
    """
    S = np.flatnonzero(x > eps)
    T = np.flatnonzero(x @ M <= value + eps * max(1.0, abs(value)))
    lhs = np.zeros((len(T) + 1, len(S) + 1))
    lhs[: len(T), : len(S)] = M[np.ix_(S, T)].T
    lhs[: len(T), -1] = -1.0
    lhs[-1, : len(S)] = 1.0
    rhs = np.zeros(len(T) + 1)
    rhs[-1] = 1.0
    sol, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    if not np.allclose(lhs @ sol, rhs, atol=1e-9):
        return None
    z = np.zeros(M.shape[0])
    z[S] = sol[:-1]
    return z


def _optimal_set(M: np.ndarray, value: float, tol: float, x0: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, bool]:
    """Vertices of the optimal set X* = {x ∈ Δ : xᵀM ≥ value} and per-coordinate [min, max].

    First every coordinate is minimised and maximised over X* (2m LPs, with
    ``tol`` of slack so that X* is not empty through rounding): this gives the
    ranges and shows which coordinates are 0 in every optimum. Then, with k
    coordinates free, X* × {value} is the optimal face of the LP
    max {v : xᵀM ≥ v, x ∈ Δ}, so its vertices are the basic feasible solutions
    (x, v) of that LP with v maximal: exact solutions of k + 1 linear equations,
    Σx = 1 and k of {x_i = 0, (xᵀM)_j = v}, with x ≥ 0 and xᵀM ≥ v. A basic
    solution with v above the value (e.g. both columns tight at a point where a
    third column is smaller) is not feasible, so it is not returned: only
    extreme points are. The combinations are enumerated when there are at most
    ``ZERO_SUM_ENUMERATION_LIMIT`` of them. Otherwise the LP optima are polished
    (:func:`_polish`) and returned: genuine vertices, but maybe not all
    (``exhaustive`` is False).
    """
    m, n = M.shape
    G = np.vstack([-M.T, -np.eye(m)])
    h = np.concatenate([-(value - tol) * np.ones(n), np.zeros(m)])
    ranges = np.zeros((m, 2))
    probed = []
    for i in range(m):
        for sense, col in ((1.0, 0), (-1.0, 1)):
            c = np.zeros(m)
            c[i] = sense
            res = linprog(c, A_ub=G, b_ub=h, A_eq=np.ones((1, m)), b_eq=[1.0], bounds=[(0, None)] * m, method="highs")
            if res.status == 0:
                ranges[i, col] = res.x[i]
                probed.append(res.x)
    free = [i for i in range(m) if ranges[i, 1] > 1e-6]
    k = len(free)
    feasible = lambda x: bool(np.all(x >= -1e-9) and np.all(x @ M >= value - tol))  # noqa: E731
    if np.all(ranges[:, 1] - ranges[:, 0] <= 1e-6):  # a single optimal strategy (x0): polish it
        single = _polish(M, x0, value, 1e-7)
        if single is not None and feasible(single):
            return [single], _clean_ranges(ranges), True
    if math.comb(n + k, k) > ZERO_SUM_ENUMERATION_LIMIT:
        polished = [p for p in (_polish(M, x, value, 1e-7) for x in probed) if p is not None and feasible(p)]
        return polished or probed, _clean_ranges(ranges), False
    vertices = _optimal_vertices(M, free, tol)
    if vertices:
        exact = np.array(vertices)
        ranges = np.column_stack([exact.min(axis=0), exact.max(axis=0)])
    return vertices, _clean_ranges(ranges), True


def _optimal_vertices(M: np.ndarray, free: list[int], tol: float) -> list[np.ndarray]:
    """The basic feasible solutions (x, v) of max {v : xᵀM ≥ v, x ∈ Δ, x_i = 0 for i ∉ free}
    whose v is within ``tol`` of the largest: the vertices of the optimal set."""
    m, n = M.shape
    k = len(free)
    Mf = M[free]
    basic = []
    for active in itertools.combinations(range(n + k), k):
        lhs = np.zeros((k + 1, k + 1))
        for r, a in enumerate(active):
            if a < n:  # column a tight: (xᵀM)_a − v = 0
                lhs[r, :k] = Mf[:, a]
                lhs[r, k] = -1.0
            else:  # coordinate free[a − n] is zero
                lhs[r, a - n] = 1.0
        lhs[k, :k] = 1.0
        rhs = np.zeros(k + 1)
        rhs[k] = 1.0
        with np.errstate(all="ignore"):  # singular bases are skipped, not errors
            singular = not abs(np.linalg.det(lhs)) >= 1e-12
        if singular:
            continue
        z = np.linalg.solve(lhs, rhs)
        if z[:k].min() >= -1e-9 and (z[:k] @ Mf).min() >= z[k] - tol:
            basic.append(z)
    if not basic:
        return []
    best = max(z[k] for z in basic)
    out = []
    for z in basic:
        if z[k] >= best - tol:
            x = np.zeros(m)
            x[free] = z[:k]
            out.append(x)
    return out


def _clean_ranges(ranges: np.ndarray) -> np.ndarray:
    r = np.clip(ranges, 0.0, 1.0)
    r[r < 1e-10] = 0.0
    return np.round(r, 12) + 0.0


def zero_sum_lp(A, B, tol: float = DEFAULT_TOL) -> ZeroSumSolution:
    """Solve a constant-sum game by linear programming (minimax [vN28]).

    With B = c − A, the row player's optimal strategies maximise min_j (xᵀA)_j
    and the column player's minimise max_i (A y)_i; both LPs come from
    nashpy, on A mapped onto [0, 1] (B onto 1 − A), so any payoff scale works;
    the value is mapped back to the user's units. The sets of optimal
    strategies are polytopes; where either is not a single point (degenerate
    games: ties are the norm when attack success saturates) their vertices are
    enumerated exactly (:func:`_optimal_set`), so the caller gets every extreme
    equilibrium and no other point, unless ``exhaustive`` is False (more than
    ``ZERO_SUM_ENUMERATION_LIMIT`` bases: then the vertices are sampled).
    """
    A, B = as_game(A, B)
    if not is_constant_sum(A, B):
        raise ValueError("the LP method needs a constant-sum game (attacker + defender payoff equal in every cell)")
    lo, span = float(A.min()), payoff_scale(A)
    Au = (A - lo) / span  # B = c − A maps onto 1 − Au
    x, v_row = _maximin(Au)
    y, v_col = _maximin((1.0 - Au).T)
    row_vertices, row_range, ex_r = _optimal_set(Au, v_row, tol, x)
    col_vertices, col_range, ex_c = _optimal_set((1.0 - Au).T, v_col, tol, y)
    clean = lambda vs: tuple(_dedupe([clean_strategy(v) for v in vs]))  # noqa: E731
    return ZeroSumSolution(
        value=float(lo + span * (x @ Au @ y)),
        row_vertices=clean(row_vertices) or (clean_strategy(x),),
        col_vertices=clean(col_vertices) or (clean_strategy(y),),
        row_range=row_range,
        col_range=col_range,
        exhaustive=ex_r and ex_c,
    )


def _dedupe(vs: list[np.ndarray]) -> list[np.ndarray]:
    out: dict[tuple, np.ndarray] = {}
    for v in vs:
        out.setdefault(tuple(np.round(v, 7)), v)
    return [out[k] for k in sorted(out, reverse=True)]


def _lp_equilibria(A, B, tol) -> Solutions:
    sol = zero_sum_lp(A, B, tol)
    note = None if sol.exhaustive else "optimal-strategy sets too large to enumerate: their vertices were sampled by LP"
    return Solutions(checked_equilibria(A, B, itertools.product(sol.row_vertices, sol.col_vertices), tol), "lp", note=note)


def _pure(A, B, tol) -> Solutions:
    found = pure_equilibria(A, B, tol)
    return Solutions(found, "pure", note=None if found else "the game has no pure equilibrium")


# --------------------------------------------------------------------------- dispatch
def _auto(A, B, tol) -> Solutions:
    if is_constant_sum(A, B):
        out = _lp_equilibria(A, B, tol)
    elif sum(A.shape) <= AUTO_VERTEX_LIMIT:
        out = vertex_enumeration(A, B, tol)
    else:
        # Large games: Lemke–Howson finds some equilibria; every pure one is cheap to add.
        lh = lemke_howson(A, B, tol)
        note = f"{A.shape[0]} × {A.shape[1]} is above the vertex-enumeration limit: Lemke–Howson and pure equilibria, maybe not all"
        out = Solutions(checked_equilibria(A, B, [*lh, *pure_equilibria(A, B, tol)], tol), "lemke-howson", lh.fallback, note)
    return Solutions(out, "auto", out.fallback, out.note)


METHODS: dict[str, Callable] = {
    "auto": _auto,
    "support-enumeration": support_enumeration,
    "vertex-enumeration": vertex_enumeration,
    "lemke-howson": lemke_howson,
    "lp": _lp_equilibria,
    "pure": _pure,
}
"""Equilibrium methods by name, each with the promise it keeps on every finite game:

* ``auto``: constant-sum → ``lp``; at most ``AUTO_VERTEX_LIMIT`` strategies in
  all → ``vertex-enumeration``; in both cases every extreme equilibrium and
  nothing else. Larger games → Lemke–Howson from every label plus every pure
  equilibrium: extreme equilibria, at least one, not necessarily all (``note``
  says so).
* ``vertex-enumeration``: every extreme equilibrium, and only those.
* ``support-enumeration``: one equilibrium for every support pair that has one
  (in a nondegenerate game, every equilibrium); in degenerate games the point
  it returns for a support pair need not be extreme.
* ``lemke-howson``: at least one extreme equilibrium.
* ``lp``: constant-sum games only: every pair of extreme optimal strategies.
* ``pure``: every pure equilibrium; may be empty (``note`` says why).
"""


def solve(A, B, method: str = "auto", tol: float = DEFAULT_TOL) -> Solutions:
    """Equilibria of the bimatrix game (A, B) by ``method`` (see :data:`METHODS`).

    Every returned pair has both regrets ≤ ``tol`` × that player's payoff
    range. The result is a :class:`Solutions` list: ``fallback`` says when
    another method took over (and why), ``note`` when the list is empty or may
    be incomplete. ``pure`` may legitimately return an empty list (no pure
    equilibrium); every other method returns at least one equilibrium.
    Payoffs may have any finite scale; equilibria do not depend on it.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: allowed {', '.join(METHODS)}")
    if not (tol > 0):
        raise ValueError(f"tol={tol!r} is out of range: allowed > 0")
    A, B = as_game(A, B)
    out = METHODS[method](A, B, tol)
    return Solutions(out, method, out.fallback, out.note)
