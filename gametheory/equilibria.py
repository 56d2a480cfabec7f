"""Nash equilibria of two-player normal-form games (bimatrix games).

Pure functions on arrays: ``A`` is the row player's payoff matrix, ``B`` the
column player's, both (m, n); a strategy pair is ``(x, y)`` with ``x`` in the
simplex Δ_m and ``y`` in Δ_n. nashpy supplies the polytope vertices (qhull),
the Lemke–Howson tableaux and the minimax LP; this module adds what it lacks
for measured payoff tables, one module per method, and :func:`solve` picks one by name
(:data:`METHODS`):

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

Where things are: the regret check and what every method shares,
:mod:`gametheory.bimatrix`; the best-response polytopes (degeneracy,
vertices, Lemke–Howson paths), :mod:`gametheory.polytopes`; the methods,
:mod:`gametheory.support_enumeration`, :mod:`gametheory.vertex_enumeration`,
:mod:`gametheory.lemke_howson` and :mod:`gametheory.zero_sum`. This module
is the entry: its ``__all__`` names them all.

The references (von Stengel's chapter of [NRTV07], Avis et al. 2010, von
Neumann 1928) are given in the modules that use them.
"""

from __future__ import annotations

import itertools
from typing import Callable

from .bimatrix import (
    DEFAULT_TOL,
    Solutions,
    as_game,
    checked_equilibria,
    clean_strategy,
    is_equilibrium,
    payoff_scale,
    pure_equilibria,
    regret,
)
from .lemke_howson import lemke_howson
from .polytopes import is_degenerate
from .support_enumeration import SUPPORT_TOL, support_enumeration
from .vertex_enumeration import vertex_enumeration
from .zero_sum import ZeroSumSolution, is_constant_sum, zero_sum_lp

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
    "is_degenerate",
    "SUPPORT_TOL",
]

#: Above this many (m+n) total strategies, auto uses Lemke–Howson, not vertex enumeration.
AUTO_VERTEX_LIMIT = 24


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
