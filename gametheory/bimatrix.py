"""Bimatrix games on arrays: checking, rescaling, regret, and the regret check every solver's candidates pass.

``A`` is the row player's payoff matrix, ``B`` the column player's, both
(m, n); a strategy pair is ``(x, y)`` with ``x`` in the simplex Δ_m and ``y``
in Δ_n. The regrets are::

    row regret = max_i (A y)_i − xᵀ A y,   column regret = max_j (xᵀ B)_j − xᵀ B y

and ``(x, y)`` is a Nash equilibrium iff both are 0. Every solver of
:mod:`gametheory.equilibria` passes its candidates through
:func:`checked_equilibria`: cleaned (``-0.0``, 1e-17 noise, renormalised),
regret-checked with a tolerance relative to each player's payoff range (on
payoffs mapped onto [0, 1], so any payoff scale gives the same answer) and
deduplicated; the result is a :class:`Solutions` list.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

__all__ = [
    "DEFAULT_TOL",
    "Solutions",
    "as_game",
    "checked_equilibria",
    "clean_strategy",
    "is_equilibrium",
    "normalised",
    "one_sided_equilibria",
    "payoff_scale",
    "pure_equilibria",
    "regret",
    "unit_scaled",
]

DEFAULT_TOL = 1e-8
"""Regret tolerance, relative to the range of each player's payoffs."""


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


def unit_scaled(M: np.ndarray) -> np.ndarray:
    """Affine map of M onto [0, 1] (constant matrices map to 0): equilibria and regret
    relative to the payoff range are unchanged, at any payoff scale (1e-12 or 1e15)."""
    lo, hi = M.min(), M.max()
    if not hi - lo > 0:
        return np.zeros_like(M)
    return (M - lo) / (hi - lo)


def normalised(M: np.ndarray) -> np.ndarray:
    """Affine map of M onto [1, 2] (constant matrices map to 1): equilibria are unchanged."""
    return 1.0 + unit_scaled(M)


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

    Computed on the payoffs mapped onto [0, 1] (:func:`unit_scaled`), which is the same
    test without the rounding error of large offsets (payoffs like 1e15 + k).
    """
    A, B = as_game(A, B)
    r_row, r_col = regret(unit_scaled(A), unit_scaled(B), x, y)
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


def one_sided_equilibria(A, B, tol) -> list[tuple[np.ndarray, np.ndarray]]:
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
