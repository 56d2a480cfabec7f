"""Deviation-preserving reduction (DPR) of a role-symmetric game with many attackers [WW12]_.

DPR approximates the ``N``-attacker game by a ``k``-attacker game whose
payoffs are read from ``N``-attacker profiles in which each reduced player's
``k-1`` opponents are scaled up to ``N-1``: for reduced counts ``c`` (``Σ c =
k``) the payoff of a played strategy ``s`` is read at
``e_s + (c − e_s)·(N-1)/(k-1)`` (:func:`dpr_attacker_profile`). Only sizes
with ``(N-1)`` divisible by ``(k-1)`` are accepted (no rounding,
:func:`dpr_valid_sizes`); the defender's reduced payoff is read at ``c·N/k``
when ``k | N`` and is otherwise the ``c_s/k``-weighted mean over the
attackers' DPR profiles (:func:`dpr_defender_profiles`). :class:`DPRSource`
serves the reduced game's payoffs from the full game's
(:meth:`~gametheory.symmetric.RoleSymmetricGame.reduce`).

References
----------
.. [WW12] B. Wiedenbeck and M. P. Wellman, "Scaling simulation-based game
   analysis through deviation-preserving reduction", AAMAS 2012.
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from .arguments import check_int
from .count_profiles import multinomial_profiles
from .sources import MissingPayoff, Payoffs
from .symmetric_table import DEFENDER_ROLE, Profile, RoleSymmetricTable

__all__ = [
    "DPRSource", "check_dpr", "dpr_attacker_profile", "dpr_defender_profiles", "dpr_required_profiles", "dpr_valid_sizes",
]


def dpr_valid_sizes(n_attackers: int) -> list[int]:
    """Reduced sizes ``k`` with ``2 ≤ k ≤ N`` and ``(N-1)`` divisible by ``(k-1)`` (exact DPR)."""
    n = check_int("n_attackers", n_attackers, 1)
    return [k for k in range(2, n + 1) if (n - 1) % (k - 1) == 0]


def check_dpr(n_attackers: int, k: int) -> int:
    """``k`` as an ``int`` if it is in :func:`dpr_valid_sizes` of ``n_attackers``, else ``ValueError`` listing them."""
    valid = dpr_valid_sizes(n_attackers)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) not in valid:
        raise ValueError(
            f"k must be an integer in [2, n_attackers={n_attackers}] with (n_attackers-1) divisible by (k-1) "
            f"for deviation-preserving reduction; got {k!r}; allowed: {valid}"
        )
    return int(k)


def dpr_attacker_profile(reduced_counts: Sequence[int], strategy: int, n_attackers: int) -> tuple[int, ...]:
    """Full-game counts that DPR reads the payoff of ``strategy`` in a reduced profile from [WW12]_.

    One attacker plays ``s``; the other ``k-1`` reduced players ``c - e_s``
    are scaled to ``N-1``: ``e_s + (c - e_s)·(N-1)/(k-1)``, ``k = Σ c``.
    Requires ``c_s ≥ 1`` and ``(N-1)`` divisible by ``(k-1)``.
    """
    c = np.asarray(reduced_counts, dtype=np.int64)
    k = check_int("sum(reduced_counts)", int(c.sum()), 2)
    s = check_int("strategy", strategy, 0, len(c) - 1)
    if (c < 0).any() or c[s] < 1:
        raise ValueError(f"reduced_counts must be non-negative with a player on strategy {s}, got {c.tolist()}")
    check_dpr(n_attackers, k)
    others = c.copy()
    others[s] -= 1
    full = others * ((n_attackers - 1) // (k - 1))
    full[s] += 1
    return tuple(int(x) for x in full)


def dpr_defender_profiles(reduced_counts: Sequence[int], n_attackers: int) -> list[tuple[tuple[int, ...], float]]:
    """Full-game counts (with weights) whose defender payoffs make a DPR reduced defender payoff.

    The defender is a lone player who sees all ``N`` attackers, so DPR proper
    [WW12]_ reads its payoff where the ``k`` reduced attackers are scaled by
    ``N/k``. That needs ``k | N``; then the list is ``[(c·N/k, 1.0)]``.
    Otherwise (the usual case: ``k-1 | N-1`` and ``k | N`` rarely both hold)
    it is the mean over the attackers' DPR profiles ``F(c, s)``
    (:func:`dpr_attacker_profile`) weighted by ``c_s / k``, i.e. the
    defender's payoff as seen from a uniformly drawn reduced attacker. No
    extra profile is measured, and the weighted mean of the fractions
    ``F(c, s)/N`` is exactly ``c/k``, so the rule is exact for defender
    payoffs that are affine in the fractions of attackers per strategy.
    """
    c = np.asarray(reduced_counts, dtype=np.int64)
    k = check_int("sum(reduced_counts)", int(c.sum()), 2)
    if (c < 0).any():
        raise ValueError(f"reduced_counts must be non-negative, got {c.tolist()}")
    check_dpr(n_attackers, k)
    if n_attackers % k == 0:
        return [(tuple(int(x) for x in c * (n_attackers // k)), 1.0)]
    merged: dict[tuple[int, ...], float] = {}
    for s in np.flatnonzero(c):
        full = dpr_attacker_profile(c, int(s), n_attackers)
        merged[full] = merged.get(full, 0.0) + float(c[s]) / k
    return list(merged.items())


def dpr_required_profiles(full: RoleSymmetricTable, k: int) -> dict[Profile, list[Profile]]:
    """For each profile of the ``k``-attacker DPR reduction of ``full``, the full-game profiles it is read from.

    For reduced counts ``c`` and defender ``d``: first
    :func:`dpr_attacker_profile` for each played strategy (in strategy
    order), then any further profile :func:`dpr_defender_profiles` needs
    (only when ``k | N``: ``c·N/k``), without repeats. Requires
    ``k`` in :func:`dpr_valid_sizes` (``(N-1)`` divisible by ``(k-1)``);
    no rounding is done. Enumerates the reduced game only.
    """
    n = full.n_attackers
    k = check_dpr(n, k)
    out: dict[Profile, list[Profile]] = {}
    for row in multinomial_profiles(k, len(full.attacker_strategies)):
        needed: list[tuple[int, ...]] = [dpr_attacker_profile(row, int(s), n) for s in np.flatnonzero(row)]
        needed += [p for p, _ in dpr_defender_profiles(row, n) if p not in needed]
        counts = tuple(int(x) for x in row)
        for d in full.defender_strategies:
            out[(counts, d)] = [(p, d) for p in needed]
    return out


class DPRSource:
    """Payoff source of the ``k``-attacker deviation-preserving reduction of ``full`` [WW12]_.

    ``payoffs((c, d))`` reads, for each played strategy ``s``, the payoff of
    ``s`` in ``(dpr_attacker_profile(c, s, N), d)`` of ``full``, and the
    defender's payoff as :func:`dpr_defender_profiles` prescribes. A profile
    ``full`` cannot supply raises ``MissingPayoff`` naming that full profile.
    """

    def __init__(self, full: RoleSymmetricTable, k: int):
        self.full = full
        self.k = check_dpr(full.n_attackers, k)
        self._reduced = RoleSymmetricTable(full.attacker_strategies, full.defender_strategies, self.k)

    def _read(self, profile: Profile, role: str, reduced: Profile) -> float:
        try:
            return self.full.payoffs(profile)[role]
        except MissingPayoff as err:
            raise MissingPayoff(err.profile, f"{err.reason}; DPR needs it for reduced profile {reduced!r}") from err

    def payoffs(self, profile: Hashable) -> Payoffs:
        counts, d = self._reduced.check_profile(profile)
        names = self.full.attacker_strategies
        N = self.full.n_attackers
        roles: dict[str, float] = {}
        for s in np.flatnonzero(counts):
            full = dpr_attacker_profile(counts, int(s), N)
            roles[names[s]] = self._read((full, d), names[s], (counts, d))
        roles[DEFENDER_ROLE] = float(
            sum(w * self._read((full, d), DEFENDER_ROLE, (counts, d)) for full, w in dpr_defender_profiles(counts, N))
        )
        return Payoffs(roles=roles)

