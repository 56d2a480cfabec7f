"""Analysis of bimatrix games: best responses, expected payoffs, dominance.

Pure functions on arrays, as in :mod:`gametheory.equilibria`: ``A`` is the
row player's (m, n) payoff matrix, ``B`` the column player's. ``player`` is
``0`` (row, the attacker in this project) or ``1`` (column, the defender).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from .bimatrix import DEFAULT_TOL, as_game, payoff_scale

__all__ = [
    "expected_payoffs",
    "best_responses",
    "dominated",
    "iterated_elimination",
    "Elimination",
]


def _player_matrix(A, B, player: int) -> np.ndarray:
    """The payoffs of ``player`` with its own strategies as rows."""
    if player not in (0, 1):
        raise ValueError(f"player={player!r} is out of range: allowed 0 (row/attacker) or 1 (column/defender)")
    A, B = as_game(A, B)
    return A if player == 0 else B.T


def expected_payoffs(A, B, player: int, opponent_mixture) -> np.ndarray:
    """Each pure strategy's expected payoff for ``player`` against the opponent's mixture.

    Row player: A y; column player: Bᵀ x.
    """
    M = _player_matrix(A, B, player)
    q = np.asarray(opponent_mixture, dtype=float)
    if q.shape != (M.shape[1],):
        raise ValueError(f"opponent mixture has shape {q.shape}, expected ({M.shape[1]},)")
    if np.any(q < -1e-12) or abs(q.sum() - 1.0) > 1e-9:
        raise ValueError("opponent mixture must be non-negative and sum to 1")
    return M @ q


def best_responses(A, B, player: int, opponent_mixture, tol: float = DEFAULT_TOL) -> np.ndarray:
    """Indices of ``player``'s pure best responses to the opponent's mixture (ties within tol × payoff range)."""
    M = _player_matrix(A, B, player)
    u = expected_payoffs(A, B, player, opponent_mixture)
    return np.flatnonzero(u >= u.max() - tol * payoff_scale(M))


def _dominated_by_mixture(M: np.ndarray, k: int, alive_rows: list[int], alive_cols: list[int], strict: bool, tol: float) -> bool:
    """Is row k of M dominated by a mixture of the other alive rows (on the alive columns)?

    Strict: max ε s.t. Σ_i σ_i M[i, j] ≥ M[k, j] + ε ∀j, σ ∈ Δ; dominated iff ε > tol.
    Weak: additionally the total gain Σ_j (σM − M_k)_j must be > tol with every gain ≥ 0.
    """
    others = [i for i in alive_rows if i != k]
    if not others:
        return False
    sub = M[np.ix_(others, alive_cols)]
    target = M[k, alive_cols]
    r = len(others)
    if strict:
        # variables σ (r), ε ; maximise ε
        c = np.zeros(r + 1)
        c[-1] = -1.0
        A_ub = np.hstack([-sub.T, np.ones((len(alive_cols), 1))])
        b_ub = -target
        A_eq = np.concatenate([np.ones(r), [0.0]])[None, :]
        res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * r + [(None, None)], method="highs")
        return res.status == 0 and -res.fun > tol
    # weak: maximise Σ_j (σ sub)_j − Σ target subject to σ sub ≥ target
    c = -sub.sum(axis=1)
    res = linprog(c, A_ub=-sub.T, b_ub=-target + tol, A_eq=np.ones((1, r)), b_eq=[1.0], bounds=[(0, None)] * r, method="highs")
    return res.status == 0 and (-res.fun - target.sum()) > tol


def dominated(A, B, player: int, strict: bool = True, mixed: bool = True, tol: float = DEFAULT_TOL,
              rows: list[int] | None = None, cols: list[int] | None = None) -> list[int]:
    """``player``'s strategies that are (strictly or weakly) dominated.

    Pure domination: another pure strategy is at least as good everywhere
    (strictly better everywhere for strict; better somewhere for weak).
    With ``mixed=True`` domination by a mixture of pure strategies is tested
    too, by LP (a strategy never a best response to any belief is strictly
    dominated by a mixture; Pearce 1984). ``rows``/``cols`` restrict the game
    to the surviving strategies (own strategies, opponent's strategies).
    """
    M = _player_matrix(A, B, player)
    own = list(range(M.shape[0])) if rows is None else list(rows)
    opp = list(range(M.shape[1])) if cols is None else list(cols)
    eps = tol * payoff_scale(M)
    out = []
    for k in own:
        hit = False
        for i in own:
            if i == k:
                continue
            diff = M[i, opp] - M[k, opp]
            if strict and np.all(diff > eps):
                hit = True
            elif not strict and np.all(diff >= -eps) and np.any(diff > eps):
                hit = True
            if hit:
                break
        if not hit and mixed:
            hit = _dominated_by_mixture(M, k, own, opp, strict, eps)
        if hit:
            out.append(k)
    return out


@dataclass(frozen=True)
class Elimination:
    """Result of iterated elimination: surviving strategies and the order of removal."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    removed: tuple[tuple[int, int], ...]  # (player, strategy) in the order removed


def iterated_elimination(A, B, strict: bool = True, mixed: bool = True, tol: float = DEFAULT_TOL) -> Elimination:
    """Iterated elimination of dominated strategies, one strategy at a time.

    Strict domination gives the same survivors in any order; weak domination
    can depend on the order (here: lowest player, then lowest index first),
    and may remove equilibria, so use it knowingly.
    """
    A, B = as_game(A, B)
    rows = list(range(A.shape[0]))
    cols = list(range(A.shape[1]))
    removed: list[tuple[int, int]] = []
    changed = True
    while changed:
        changed = False
        for player in (0, 1):
            own, opp = (rows, cols) if player == 0 else (cols, rows)
            if len(own) <= 1:
                continue
            hits = dominated(A, B, player, strict=strict, mixed=mixed, tol=tol, rows=own, cols=opp)
            if hits:
                own.remove(hits[0])
                removed.append((player, hits[0]))
                changed = True
                break
    return Elimination(tuple(rows), tuple(cols), tuple(removed))
