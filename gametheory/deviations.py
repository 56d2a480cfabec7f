"""Deviation gains of a role-symmetric game as weights on profile payoffs, and what DPR profiles read.

The adaptive search (:mod:`gametheory.search`) needs every unilateral
deviation's gain at a candidate ``(σ, τ)`` not as a number but as a linear
combination of (profile, role) means, so that a confidence interval on the
gain follows from those of the means (``ĝ ± Σ |w_p| ε_p``) and the profiles
that widen it most can be sampled again. numpy only; never torch.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .count_profiles import multinomial_profiles, multinomial_weights
from .dpr import dpr_attacker_profile, dpr_defender_profiles
from .symmetric_table import DEFENDER_ROLE, Profile

__all__ = ["Key", "deviation_gains", "dpr_reads", "subgame_profiles"]

Key = tuple[Profile, str]
"""``(profile, role)``: one payoff mean."""


def dpr_reads(profile: Profile, n_attackers: int, attackers: Sequence[str]) -> dict[str, list[tuple[Profile, float]]]:
    """Per role, the full-game ``(profile, weight)`` pairs a ``k``-player DPR profile's payoff is read from.

    Attacker strategy ``s``: ``[(dpr_attacker_profile(c, s, N), 1)]``; the
    defender: :func:`~gametheory.dpr.dpr_defender_profiles`. With
    ``sum(c) = N`` (no reduction) every role reads the profile itself.
    """
    counts, d = profile
    if sum(counts) == n_attackers:
        return {r: [(profile, 1.0)] for r in [s for s, c in zip(attackers, counts) if c > 0] + [DEFENDER_ROLE]}
    out = {attackers[s]: [((dpr_attacker_profile(counts, s, n_attackers), d), 1.0)]
           for s in range(len(counts)) if counts[s] > 0}
    out[DEFENDER_ROLE] = [((full, d), w) for full, w in dpr_defender_profiles(counts, n_attackers)]
    return out


def _embed(rows: np.ndarray, support: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(rows), k), dtype=np.int64)
    out[:, support] = rows
    return out


def deviation_gains(
    n: int, sigma: np.ndarray, tau: np.ndarray, attackers: Sequence[str], defenders: Sequence[str]
) -> dict[str, dict[Key, float]]:
    """Each unilateral deviation's gain at ``(σ, τ)`` as weights on (profile, role) means.

    With ``P`` the multinomial over the support of ``σ``:
    ``g_t = Σ_d τ_d Σ_c P_{n-1,σ}(c) [u_t(c+e_t, d) − Σ_s σ_s u_s(c+e_s, d)]``
    for attacker strategy ``t`` (``"attacker:<t>"``), and
    ``h_e = Σ_c P_{n,σ}(c) [v(c, e) − Σ_d τ_d v(c, d)]`` for defender
    strategy ``e`` (``"defender:<e>"``); the role-symmetric regret is
    ``max(0, max g, max h)`` (:mod:`gametheory.symmetric`). Returns, per
    gain, ``{((counts, d), role): weight}``.
    """
    K, S = len(attackers), np.flatnonzero(sigma > 0)
    gains: dict[str, dict[Key, float]] = {}
    others = _embed(multinomial_profiles(n - 1, len(S)), S, K)
    p_others = multinomial_weights(n - 1, sigma[S], others[:, S])
    for t in range(K):
        w: dict[Key, float] = {}
        for di in np.flatnonzero(tau > 0):
            d = defenders[di]
            for c, p in zip(others, p_others * tau[di]):
                for s in set(S.tolist()) | {t}:
                    c2 = c.copy()
                    c2[s] += 1
                    key = ((tuple(int(x) for x in c2), d), attackers[s])
                    w[key] = w.get(key, 0.0) + p * ((s == t) - sigma[s])
        gains[f"attacker:{attackers[t]}"] = w
    full = _embed(multinomial_profiles(n, len(S)), S, K)
    p_full = multinomial_weights(n, sigma[S], full[:, S])
    for ei, e in enumerate(defenders):
        w = {}
        for c, p in zip(full, p_full):
            counts = tuple(int(x) for x in c)
            for di, d in enumerate(defenders):
                coef = p * ((di == ei) - tau[di])
                if coef:
                    key = ((counts, d), DEFENDER_ROLE)
                    w[key] = w.get(key, 0.0) + coef
        gains[f"defender:{e}"] = w
    return gains


def subgame_profiles(n: int, S: tuple[int, ...], T: Sequence[str], k: int) -> list[Profile]:
    """Profiles of the subgame: ``n`` players over the strategy indices ``S`` (embedded in ``k``), defenders ``T``."""
    rows = _embed(multinomial_profiles(n, len(S)), np.array(S, dtype=np.int64), k)
    return [(tuple(int(x) for x in r), d) for r in rows for d in T]
