"""Constant-sum bimatrix games by linear programming (minimax [vN28]_), with every extreme optimal strategy.

With ``B = c − A`` the row player's optimal strategies maximise
``min_j (xᵀA)_j`` and the column player's minimise ``max_i (A y)_i``; the
equilibria are the products of the two sets of optimal strategies, which are
polytopes whose vertices :func:`zero_sum_lp` enumerates.

References
----------
.. [vN28] von Neumann, "Zur Theorie der Gesellschaftsspiele" (1928): minimax;
   in a constant-sum game the equilibria are the products of the two
   players' sets of optimal (maximin) strategies.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from .bimatrix import DEFAULT_TOL, as_game, clean_strategy, payoff_scale

__all__ = ["ZERO_SUM_ENUMERATION_LIMIT", "ZeroSumSolution", "is_constant_sum", "zero_sum_lp"]

#: The optimal-strategy set of a zero-sum game is enumerated exactly up to this many bases.
ZERO_SUM_ENUMERATION_LIMIT = 20_000


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
