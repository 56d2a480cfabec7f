"""Support enumeration for bimatrix games [NRTV07]_ (Alg. 3.4), tolerant of rounding and degeneracy.

For each support pair ``(I, J)`` the indifference equations of each side
are solved; nashpy's own support enumeration rejects probabilities like
−1e-17 and drops equilibria whose supports differ in size, which degenerate
games have. Here noise is tolerated (:data:`SUPPORT_TOL`), a continuum of
solutions is settled by LP, and in degenerate games supports of unequal size
are searched too.

References
----------
.. [NRTV07] Nisan, Roughgarden, Tardos, Vazirani (eds.), *Algorithmic Game
   Theory*, CUP 2007, ch. 3 (von Stengel): support enumeration (Alg. 3.4),
   vertex enumeration (Alg. 3.5), Lemke–Howson (Alg. 3.6).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import linprog

from .bimatrix import DEFAULT_TOL, Solutions, as_game, checked_equilibria, normalised
from .polytopes import is_degenerate, lemke_howson_candidates

__all__ = ["SUPPORT_TOL", "UNEQUAL_SUPPORT_LIMIT", "support_enumeration"]

#: In degenerate games support enumeration searches every support pair by LP up to this many pairs.
UNEQUAL_SUPPORT_LIMIT = 1 << 16
#: A probability above −SUPPORT_TOL counts as non-negative when solving the indifference equations.
SUPPORT_TOL = 1e-9


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
    An, Bn = normalised(A), normalised(B)
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
        return Solutions(checked_equilibria(A, B, lemke_howson_candidates(An, Bn), tol), "support-enumeration",
                         fallback=f"lemke-howson: {note}, and they hold no equilibrium")
    return Solutions(checked_equilibria(A, B, [*found, *_support_candidates(An, Bn, equal_only=False)], tol), "support-enumeration")
