"""Lemke–Howson for bimatrix games [NRTV07]_ (Alg. 3.6): at least one extreme equilibrium.

The paths themselves (nashpy's tableaux, lexicographic pivoting, a bound on
the pivots) are :func:`~gametheory.polytopes.lemke_howson_path`; this
module runs them from every label and falls back where none succeeds.

References
----------
.. [NRTV07] Nisan, Roughgarden, Tardos, Vazirani (eds.), *Algorithmic Game
   Theory*, CUP 2007, ch. 3 (von Stengel): support enumeration (Alg. 3.4),
   vertex enumeration (Alg. 3.5), Lemke–Howson (Alg. 3.6).
"""

from __future__ import annotations

from .bimatrix import (
    DEFAULT_TOL,
    Solutions,
    as_game,
    checked_equilibria,
    normalised,
    one_sided_equilibria,
    pure_equilibria,
)
from .polytopes import extreme_equilibrium, is_degenerate, lemke_howson_candidates
from .vertex_enumeration import vertex_enumeration

__all__ = ["lemke_howson"]


def lemke_howson(A, B, tol: float = DEFAULT_TOL) -> Solutions:
    """Lemke–Howson [NRTV07, Alg. 3.6] from every initial dropped label (m + n runs),
    with lexicographic pivoting for degenerate games, deduplicated and
    regret-checked. Finds at least one equilibrium, each an extreme one (in
    degenerate games, where a path can end inside a face of equilibria, the
    end point is moved to a vertex of that face: :func:`extreme_equilibrium`); not
    necessarily all. nashpy's tableaux keep growing during integer pivoting, so
    on larger games (about 20 × 20 and up) some paths overflow; they are
    abandoned, and where none succeeds, pure equilibria or vertex enumeration
    take over (``fallback`` on the result says so).
    """
    A, B = as_game(A, B)
    if min(A.shape) == 1:
        return Solutions(one_sided_equilibria(A, B, tol), "lemke-howson")
    An, Bn = normalised(A), normalised(B)
    candidates = lemke_howson_candidates(An, Bn)
    if is_degenerate(A, B):
        candidates = [extreme_equilibrium(An, Bn, x, y) for x, y in candidates]
    found = checked_equilibria(A, B, candidates, tol)
    if found:
        return Solutions(found, "lemke-howson")
    why = "every Lemke–Howson path overflowed, cycled or failed the regret check"
    pure = pure_equilibria(A, B, tol)
    if pure:
        return Solutions(pure, "lemke-howson", fallback=f"pure: {why}")
    return Solutions(vertex_enumeration(A, B, tol), "lemke-howson", fallback=f"vertex-enumeration: {why}")
