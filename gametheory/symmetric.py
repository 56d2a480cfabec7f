"""Role-symmetric games: N interchangeable attackers against one defender.

Many attackers poisoning one model are interchangeable: an attacker's payoff
depends on its own strategy, on *how many* of the others play each strategy,
and on the defender's choice, never on which attacker is which. Such a game
is *role-symmetric* with two roles [WW12]_:

* the **attacker** role: ``N`` players, each choosing one of ``K`` attacker
  strategies ``S = (s_0, …, s_{K-1})``;
* the **defender** role: one player choosing one of ``D`` defender strategies.

A **profile** is ``(counts, defender)``: ``counts`` is a tuple of ``K``
non-negative integers summing to ``N`` (how many attackers play each
strategy) and ``defender`` the defender's strategy name; it is the
role-symmetric profile form of :mod:`gametheory.sources`. There are
``C(N+K-1, K-1) · D`` profiles. Its payoffs are a
:class:`~gametheory.sources.Payoffs` whose ``roles`` map every attacker
strategy *played* in it (count > 0) to the payoff of **one** attacker playing
it, and ``"defender"`` to the defender's payoff. Payoffs may be missing for
profiles not yet measured: a game keeps its own table and, when given a
:class:`~gametheory.sources.PayoffSource`, asks it lazily for the profiles a
computation needs, memoising what it returns.

Mixed strategies. Attackers play a *symmetric* mixture ``σ ∈ Δ_K`` (each
attacker independently), the defender ``τ ∈ Δ_D``. With ``u_s(c, d)`` the
payoff of an attacker playing ``s`` in profile ``(c, d)`` and ``v(c, d)`` the
defender's:

* deviation payoff of attacker strategy ``s`` (one attacker plays ``s``, the
  other ``N-1`` draw counts ``c ~ Multinomial(N-1, σ)``)::

      dev_s(σ, τ) = Σ_d τ_d Σ_c P_{N-1,σ}(c) · u_s(c + e_s, d)

* attacker payoff ``a(σ, τ) = Σ_s σ_s dev_s(σ, τ)``;
* defender payoff of pure ``d`` against ``σ``:
  ``v_d(σ) = Σ_c P_{N,σ}(c) · v(c, d)``, and ``b(σ, τ) = Σ_d τ_d v_d(σ)``;
* regret: attacker ``max_s dev_s − a``, defender ``max_d v_d − b``; ``(σ, τ)``
  is a role-symmetric Nash equilibrium iff both are 0 [WW12]_ §2, [CRVW04]_.

Here ``P_{n,σ}(c) = n! / Π_i c_i! · Π_i σ_i^{c_i}`` is evaluated in log space
(:func:`multinomial_weights`), vectorised over all count vectors. Only
profiles whose counts lie in the support of ``σ`` (plus the deviator) have
non-zero weight, so only those are needed (:meth:`RoleSymmetricGame.required_for`).

For ``N = 2`` and a single defender strategy the game is the symmetric
two-player game ``(A, Aᵀ)`` with ``A[i, j] = u_i(e_i + e_j)``: ``dev(σ) = Aσ``,
and its symmetric equilibria are those of the bimatrix game.

Large N: deviation-preserving reduction (DPR) [WW12]_ approximates the
``N``-attacker game by a ``k``-attacker game whose payoffs are read from
``N``-attacker profiles in which each reduced player's ``k-1`` opponents are
scaled up to ``N-1``; see :meth:`RoleSymmetricGame.reduce`. Only sizes with
``(N-1)`` divisible by ``(k-1)`` are accepted (no rounding,
:func:`dpr_valid_sizes`); the defender's reduced payoff is read at ``c·N/k``
when ``k | N`` and is otherwise the ``c_s/k``-weighted mean over the
attackers' DPR profiles (:func:`dpr_defender_profiles`).

Equilibrium search (:meth:`RoleSymmetricGame.find_equilibria`) runs
replicator dynamics or SLSQP regret minimisation from several starts; both
find equilibria, neither promises all of them. Pure equilibria over count
profiles are enumerated exhaustively (:meth:`RoleSymmetricGame.pure_equilibria`).

This module uses numpy, scipy and pandas only; it never imports torch.

References
----------
.. [WW12] B. Wiedenbeck and M. P. Wellman, "Scaling simulation-based game
   analysis through deviation-preserving reduction", AAMAS 2012.
.. [CRVW04] S.-F. Cheng, D. M. Reeves, Y. Vorobeychik and M. P. Wellman,
   "Notes on equilibria in symmetric games", GTDT workshop 2004: every finite
   symmetric game has a symmetric equilibrium.
.. [TJ78] P. D. Taylor and L. B. Jonker, "Evolutionarily stable strategies
   and game dynamics", Mathematical Biosciences 40 (1978): replicator dynamics.
.. [HS98] J. Hofbauer and K. Sigmund, *Evolutionary Games and Population
   Dynamics*, CUP 1998, ch. 7 and 10: rest points of the replicator include
   every Nash equilibrium, but only stable ones attract; it may cycle.
.. [Kra88] D. Kraft, "A software package for sequential quadratic
   programming", DFVLR-FB 88-28 (1988): SLSQP, used by ``regret-min``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Hashable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln

from .equilibria import Solutions
from .sources import MissingPayoff, Payoffs, PayoffSource

__all__ = [
    "DEFENDER_ROLE",
    "DEFAULT_SEED",
    "MAX_PROFILES",
    "METHODS",
    "Profile",
    "Regret",
    "DynamicsResult",
    "Equilibrium",
    "RoleSymmetricGame",
    "DPRSource",
    "num_profiles",
    "multinomial_profiles",
    "multinomial_weights",
    "dpr_valid_sizes",
    "check_dpr",
    "dpr_attacker_profile",
    "dpr_defender_profiles",
    "replicator_step",
]

Profile = tuple[tuple[int, ...], str]
"""``(counts, defender)``: attackers per attacker strategy, and the defender's strategy."""

#: Role name of the defender's payoff in a :class:`Payoffs` record.
DEFENDER_ROLE = "defender"
#: The project's seed convention (DESIGN.md).
DEFAULT_SEED = 3407
#: Methods accepted by :meth:`RoleSymmetricGame.find_equilibria`.
METHODS = ("replicator", "regret-min")
#: Vectorised methods enumerate every count vector; above this many they refuse (use :meth:`~RoleSymmetricGame.reduce`).
MAX_PROFILES = 5_000_000
#: A mixture's entries may sum to 1 within this tolerance (it is then renormalised).
MIXTURE_SUM_TOL = 1e-6
#: Entries of a candidate equilibrium below this are tried at zero (purification).
PURIFY_BELOW = 1e-6
#: Prefix of the per-strategy count columns in :meth:`RoleSymmetricGame.to_dataframe`.
COUNT_PREFIX = "count:"
#: Prefix of the payoff columns in :meth:`RoleSymmetricGame.to_dataframe`.
PAYOFF_PREFIX = "payoff:"
#: SLSQP's ``ftol`` in :meth:`RoleSymmetricGame.regret_minimize`: its objective is a sum of
#: squared range-scaled gains, so regrets of ~1e-12 need it to reach ~1e-24.
_SLSQP_FTOL = 1e-24


# =========================================================================== pure functions
def _check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``[lo, hi]``, else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def num_profiles(n: int, k: int) -> int:
    """Number of count vectors of ``n`` players over ``k`` strategies: ``C(n+k-1, k-1)`` (stars and bars)."""
    n = _check_int("n", n, 0)
    k = _check_int("k", k, 1)
    return math.comb(n + k - 1, k - 1)


@lru_cache(maxsize=32)
def _profiles(n: int, k: int) -> np.ndarray:
    counts = np.zeros((1, 0), dtype=np.int64)
    remaining = np.array([n], dtype=np.int64)
    for _ in range(k - 1):
        reps = remaining + 1
        parent = np.repeat(np.arange(len(remaining)), reps)
        first = np.cumsum(reps) - reps
        offset = np.arange(int(reps.sum())) - np.repeat(first, reps)
        ci = remaining[parent] - offset  # from `remaining` down to 0
        counts = np.column_stack([counts[parent], ci])
        remaining = remaining[parent] - ci
    counts = np.column_stack([counts, remaining]).astype(np.int64)
    counts.setflags(write=False)
    return counts


def multinomial_profiles(n: int, k: int) -> np.ndarray:
    """All count vectors ``c ∈ ℕ^k`` with ``Σ c = n``, one per row.

    Rows are in descending lexicographic order (``(n, 0, …)`` first,
    ``(…, 0, n)`` last); there are ``C(n+k-1, k-1)`` of them. The array is
    cached and read-only. Raises ``ValueError`` above :data:`MAX_PROFILES` rows.
    """
    m = num_profiles(n, k)
    if m > MAX_PROFILES:
        raise ValueError(
            f"n_attackers={n} over {k} strategies has {m} count profiles, more than MAX_PROFILES="
            f"{MAX_PROFILES}; reduce the game first (RoleSymmetricGame.reduce)"
        )
    return _profiles(int(n), int(k))


def _log_coefficients(n: int, counts: np.ndarray) -> np.ndarray:
    """``log(n! / Π_i c_i!)`` per row of ``counts``."""
    return gammaln(n + 1) - gammaln(np.asarray(counts) + 1).sum(axis=-1)


def _log_multinomial(n: int, sigma: np.ndarray, counts: np.ndarray, log_coef: np.ndarray | None = None) -> np.ndarray:
    """``log P_{n,σ}(c)`` per row of ``counts`` (``-inf`` where ``c_i > 0 = σ_i``); σ is not checked."""
    counts = np.asarray(counts)
    if log_coef is None:
        log_coef = _log_coefficients(n, counts)
    sigma = np.clip(np.asarray(sigma, dtype=float), 0.0, None)
    positive = sigma > 0
    log_sigma = np.log(np.where(positive, sigma, 1.0))  # 0 · log 0 = 0; handled below
    out = log_coef + counts @ log_sigma
    if not positive.all():
        out = np.where(counts[..., ~positive].sum(axis=-1) > 0, -np.inf, out)
    return out


def _as_probability(name: str, x: Any, size: int) -> np.ndarray:
    """``x`` as a probability vector of length ``size``: finite, ≥ 0, Σ = 1 within MIXTURE_SUM_TOL; renormalised."""
    arr = np.asarray(x, dtype=float)
    if arr.shape != (size,):
        raise ValueError(f"{name} must be a vector of {size} probabilities, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    if (arr < -MIXTURE_SUM_TOL).any():
        raise ValueError(f"{name} entries must be in [0, 1], got {arr.tolist()}")
    total = arr.sum()
    if abs(total - 1.0) > MIXTURE_SUM_TOL:
        raise ValueError(f"{name} must sum to 1 (within {MIXTURE_SUM_TOL}), got sum {total!r}")
    arr = np.clip(arr, 0.0, None)
    return arr / arr.sum()


def multinomial_weights(n: int, sigma: Sequence[float], profiles: np.ndarray | None = None) -> np.ndarray:
    """Multinomial probabilities ``P_{n,σ}(c) = n!/Π c_i! · Π σ_i^{c_i}`` of count vectors.

    Computed in log space with ``scipy.special.gammaln`` (no overflow for
    large ``n``), vectorised over the rows of ``profiles`` (default: all of
    :func:`multinomial_profiles(n, len(σ))`, over which they sum to 1). Rows
    with ``c_i > 0`` on a strategy with ``σ_i = 0`` get exactly 0.
    """
    n = _check_int("n", n, 0)
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim != 1 or sigma.size == 0:
        raise ValueError(f"sigma must be a non-empty vector, got shape {sigma.shape}")
    sigma = _as_probability("sigma", sigma, sigma.size)
    if profiles is None:
        profiles = multinomial_profiles(n, sigma.size)
    profiles = np.asarray(profiles)
    if profiles.ndim != 2 or profiles.shape[1] != sigma.size:
        raise ValueError(f"profiles must have shape (m, {sigma.size}), got {profiles.shape}")
    if profiles.size and ((profiles < 0).any() or (profiles.sum(axis=1) != n).any()):
        raise ValueError(f"profiles must be non-negative count vectors summing to n={n}")
    return np.exp(_log_multinomial(n, sigma, profiles))


def dpr_valid_sizes(n_attackers: int) -> list[int]:
    """Reduced sizes ``k`` with ``2 ≤ k ≤ N`` and ``(N-1)`` divisible by ``(k-1)`` (exact DPR)."""
    n = _check_int("n_attackers", n_attackers, 1)
    return [k for k in range(2, n + 1) if (n - 1) % (k - 1) == 0]


def check_dpr(n_attackers: int, k: int) -> int:
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
    k = _check_int("sum(reduced_counts)", int(c.sum()), 2)
    s = _check_int("strategy", strategy, 0, len(c) - 1)
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
    k = _check_int("sum(reduced_counts)", int(c.sum()), 2)
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


def replicator_step(x: np.ndarray, payoffs: np.ndarray, dt: float) -> np.ndarray:
    """One Euler step of the replicator equation ``ẋ_i = x_i (f_i − x·f)`` [TJ78]_.

    ``x + dt · x ⊙ (f − x·f)``, clipped at 0 and renormalised. With ``dt``
    at most ``1 / (max f − min f)`` every entry stays non-negative and the
    step is exact up to rounding (Σ x_i (f_i − x·f) = 0).
    """
    x = np.asarray(x, dtype=float)
    f = np.asarray(payoffs, dtype=float)
    x = x + dt * x * (f - x @ f)
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def _gain(x: np.ndarray, f: np.ndarray) -> float:
    """``max_i f_i − x·f``, clipped at 0 (ties give exactly 0, never −1e-17)."""
    return max(0.0, float(f.max() - x @ f))


# =========================================================================== results
class Regret(NamedTuple):
    """Regrets of the two roles (each ≥ 0): the most a role gains by deviating."""

    attacker: float
    defender: float

    @property
    def max(self) -> float:
        """The larger of the two; a profile or mixture is an ε-equilibrium iff ``max ≤ ε``."""
        return max(self.attacker, self.defender)


@dataclass(frozen=True, eq=False)
class DynamicsResult:
    """Where :meth:`RoleSymmetricGame.replicator_dynamics` stopped."""

    sigma: np.ndarray
    tau: np.ndarray
    regret: Regret
    steps: int
    converged: bool


@dataclass(frozen=True, eq=False)
class Equilibrium:
    """A role-symmetric (approximate) equilibrium: attackers' σ, defender's τ, and its regret."""

    sigma: np.ndarray
    tau: np.ndarray
    regret: Regret
    attacker_strategies: tuple[str, ...]
    defender_strategies: tuple[str, ...]
    start: str = ""

    def attacker_mixture(self) -> dict[str, float]:
        """σ by strategy name, strategies with probability 0 left out."""
        return {s: float(p) for s, p in zip(self.attacker_strategies, self.sigma) if p > 0}

    def defender_mixture(self) -> dict[str, float]:
        """τ by strategy name, strategies with probability 0 left out."""
        return {d: float(p) for d, p in zip(self.defender_strategies, self.tau) if p > 0}

    def __repr__(self) -> str:
        a = {k: round(v, 6) for k, v in self.attacker_mixture().items()}
        d = {k: round(v, 6) for k, v in self.defender_mixture().items()}
        return f"Equilibrium(attackers={a}, defender={d}, regret={self.regret.max:.3g}, start={self.start!r})"


# =========================================================================== profile index
class _ProfileIndex:
    """Row numbers of the count vectors of :func:`multinomial_profiles(n, k)`, vectorised.

    Rows are in descending lexicographic order, so the base-(n+1) key with the
    first strategy most significant is strictly decreasing along them and
    ``searchsorted`` finds a row (a dict is the fallback where keys overflow).
    """

    def __init__(self, n: int, k: int):
        self.n, self.k = n, k
        self.counts = multinomial_profiles(n, k)
        self._dict: dict[tuple[int, ...], int] | None = None
        if (n + 1) ** k < 2**62:
            self._weights = (n + 1) ** np.arange(k - 1, -1, -1, dtype=np.int64)
            self._keys = (self.counts @ self._weights)[::-1].copy()  # ascending
        else:  # pragma: no cover - only for absurdly many strategies
            self._dict = {tuple(int(x) for x in row): i for i, row in enumerate(self.counts)}

    def __len__(self) -> int:
        return len(self.counts)

    def find(self, rows: np.ndarray) -> np.ndarray:
        """Row numbers of count vectors ``rows`` (``(..., k)``, each non-negative and summing to n)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._dict is not None:  # pragma: no cover
            flat = rows.reshape(-1, self.k)
            out = np.array([self._dict[tuple(int(x) for x in r)] for r in flat], dtype=np.int64)
            return out.reshape(rows.shape[:-1])
        pos = np.searchsorted(self._keys, rows @ self._weights)
        return len(self._keys) - 1 - pos

    def support_rows(self, support: np.ndarray) -> np.ndarray:
        """Rows whose strategies outside the boolean mask ``support`` are all 0."""
        if support.all():
            return np.arange(len(self.counts))
        return np.flatnonzero(self.counts[:, ~support].sum(axis=1) == 0)


@lru_cache(maxsize=32)
def _index(n: int, k: int) -> _ProfileIndex:
    return _ProfileIndex(n, k)


@lru_cache(maxsize=32)
def _plus_index(n: int, k: int) -> np.ndarray:
    """``(M_n, k)``: row of ``c + e_s`` among profiles of ``n+1``, for every row ``c`` of profiles of ``n``."""
    base = _index(n, k).counts
    out = _index(n + 1, k).find(base[:, None, :] + np.eye(k, dtype=np.int64)[None, :, :])
    out.setflags(write=False)
    return out


# =========================================================================== the game
class RoleSymmetricGame:
    """N interchangeable attackers (K strategies) against one defender (D strategies).

    Parameters
    ----------
    attacker_strategies, defender_strategies:
        Unique, non-empty strategy names; an attacker strategy may not be
        called ``"defender"`` (the defender's role name in :class:`Payoffs`).
    n_attackers:
        ``N ≥ 1``.
    source:
        Optional :class:`~gametheory.sources.PayoffSource` (or a plain callable
        ``profile -> Payoffs``) asked, lazily, for profiles missing from the
        game's own table; what it returns is validated and memoised.

    The game is itself a payoff source (:meth:`payoffs`). Methods that need
    payoffs fetch exactly the profiles they need and raise
    :class:`~gametheory.sources.MissingPayoff` naming a profile that neither
    the table nor the source has; :meth:`missing_for` lists them all first.
    Tolerances are absolute, in payoff units (the project's payoffs lie in
    [0, 1]).
    """

    def __init__(
        self,
        attacker_strategies: Sequence[str],
        defender_strategies: Sequence[str],
        n_attackers: int,
        source: PayoffSource | None = None,
    ):
        self._attackers = _check_names("attacker_strategies", attacker_strategies)
        if DEFENDER_ROLE in self._attackers:
            raise ValueError(f"attacker_strategies may not contain {DEFENDER_ROLE!r} (the defender's role name)")
        self._defenders = _check_names("defender_strategies", defender_strategies)
        self._n = _check_int("n_attackers", n_attackers, 1)
        if source is not None and not isinstance(source, PayoffSource) and not callable(source):
            raise ValueError(f"source must have a payoffs(profile) method or be callable, got {type(source).__name__}")
        self._source = source
        self._a_pos = {s: i for i, s in enumerate(self._attackers)}
        self._d_pos = {d: i for i, d in enumerate(self._defenders)}
        self._table: dict[Profile, Payoffs] = {}
        # Dense mirrors of the table over all profiles, allocated on first vectorised use.
        self._U: np.ndarray | None = None  # (M, K, D) attacker payoff per strategy, NaN if unplayed/unknown
        self._V: np.ndarray | None = None  # (M, D) defender payoff
        self._known: np.ndarray | None = None  # (M, D) bool
        # Payoffs gathered per support pattern, for repeated evaluation (cleared when the table changes).
        self._memo: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]] = {}

    # ------------------------------------------------------------------ basics
    @property
    def attacker_strategies(self) -> tuple[str, ...]:
        return self._attackers

    @property
    def defender_strategies(self) -> tuple[str, ...]:
        return self._defenders

    @property
    def n_attackers(self) -> int:
        return self._n

    @property
    def source(self) -> PayoffSource | None:
        return self._source

    @property
    def num_profiles(self) -> int:
        """``C(N+K-1, K-1) · D``."""
        return num_profiles(self._n, len(self._attackers)) * len(self._defenders)

    def __repr__(self) -> str:
        return (
            f"RoleSymmetricGame(attackers={list(self._attackers)}, defender={list(self._defenders)}, "
            f"n_attackers={self._n}, known={len(self._table)}/{self.num_profiles})"
        )

    def check_profile(self, profile: Hashable) -> Profile:
        """``profile`` in normal form ``(tuple of int counts, defender name)``; ``ValueError`` if invalid."""
        try:
            counts, defender = profile  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"profile must be a pair (counts, defender), got {profile!r}") from None
        try:
            arr = np.asarray(counts)
        except Exception:  # pragma: no cover - defensive
            raise ValueError(f"profile counts must be integers, got {counts!r}") from None
        K = len(self._attackers)
        if arr.shape != (K,) or not (np.issubdtype(arr.dtype, np.integer) or _is_integral(arr)):
            raise ValueError(f"profile counts must be {K} integers (one per attacker strategy), got {counts!r}")
        arr = arr.astype(np.int64)
        if (arr < 0).any() or int(arr.sum()) != self._n:
            raise ValueError(
                f"profile counts must be non-negative and sum to n_attackers={self._n}, got {arr.tolist()}"
            )
        if defender not in self._d_pos:
            raise ValueError(f"profile defender must be one of {list(self._defenders)}, got {defender!r}")
        return tuple(int(x) for x in arr), str(defender)

    def all_profiles(self) -> list[Profile]:
        """Every profile: count vectors in :func:`multinomial_profiles` order, each with every defender strategy."""
        return [
            (tuple(int(x) for x in row), d)
            for row in multinomial_profiles(self._n, len(self._attackers))
            for d in self._defenders
        ]

    def known_profiles(self) -> list[Profile]:
        """Profiles with payoffs in the game's own table (measured, set or memoised), in :meth:`all_profiles` order."""
        return sorted(self._table, key=self._order_key)

    def missing_profiles(self) -> list[Profile]:
        """Profiles not in the game's own table (the source is not asked), in :meth:`all_profiles` order."""
        return [p for p in self.all_profiles() if p not in self._table]

    def __contains__(self, profile: Hashable) -> bool:
        try:
            return self.check_profile(profile) in self._table
        except ValueError:
            return False

    def _order_key(self, profile: Profile) -> tuple:
        return tuple(-c for c in profile[0]), self._d_pos[profile[1]]

    # ------------------------------------------------------------------ payoffs
    def set_payoffs(self, profile: Hashable, attacker: Mapping[str, float], defender: float) -> None:
        """Store a profile's payoffs (overwriting): ``attacker`` maps each played strategy to one attacker's payoff."""
        key = self.check_profile(profile)
        roles = dict(attacker)
        if DEFENDER_ROLE in roles:
            raise ValueError(f"attacker payoffs may not contain {DEFENDER_ROLE!r}; pass the defender's as `defender`")
        roles[DEFENDER_ROLE] = defender
        self._store(key, self._check_record(key, Payoffs(roles=roles)))

    def payoffs(self, profile: Hashable) -> Payoffs:
        """The :class:`PayoffSource` protocol: the table's record, else the source's (memoised), else ``MissingPayoff``."""
        key = self.check_profile(profile)
        record = self._table.get(key)
        if record is not None:
            return record
        if self._source is None:
            raise MissingPayoff(key, "not in the game's table and the game has no source")
        fetch = self._source.payoffs if hasattr(self._source, "payoffs") else self._source
        record = self._check_record(key, fetch(key))
        self._store(key, record)
        return record

    def fill(self) -> list[Profile]:
        """Ask the source for every profile not in the table; return those still missing."""
        missing = []
        for profile in self.missing_profiles():
            try:
                self.payoffs(profile)
            except MissingPayoff:
                missing.append(profile)
        return missing

    def _check_record(self, key: Profile, record: Any) -> Payoffs:
        if isinstance(record, Mapping):
            record = Payoffs(roles=dict(record))
        if not isinstance(record, Payoffs):
            raise ValueError(f"payoffs for {key!r} must be a Payoffs record, got {type(record).__name__}")
        counts = key[0]
        played = {s for s, c in zip(self._attackers, counts) if c > 0}
        expected = played | {DEFENDER_ROLE}
        got = set(record.roles)
        if got != expected:
            raise ValueError(
                f"payoffs for {key!r} must have exactly the roles {sorted(expected)} (played strategies and "
                f"{DEFENDER_ROLE!r}); missing {sorted(expected - got)}, unexpected {sorted(got - expected)}"
            )
        roles = {}
        for role in sorted(expected, key=lambda r: self._a_pos.get(r, len(self._attackers))):
            value = record.roles[role]
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"payoff of {role!r} in {key!r} must be a number, got {value!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"payoff of {role!r} in {key!r} must be finite, got {value!r}")
            roles[role] = value
        return Payoffs(roles=roles, samples=dict(record.samples), seeds=tuple(record.seeds))

    def _store(self, key: Profile, record: Payoffs) -> None:
        self._table[key] = record
        self._memo.clear()
        if self._U is not None:
            self._write_dense(key, record)

    def _write_dense(self, key: Profile, record: Payoffs) -> None:
        assert self._U is not None and self._V is not None and self._known is not None
        m = int(_index(self._n, len(self._attackers)).find(np.array(key[0])))
        d = self._d_pos[key[1]]
        self._U[m, :, d] = np.nan
        for role, value in record.roles.items():
            if role == DEFENDER_ROLE:
                self._V[m, d] = value
            else:
                self._U[m, self._a_pos[role], d] = value
        self._known[m, d] = True

    def _dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._U is None:
            M = len(_index(self._n, len(self._attackers)))
            K, D = len(self._attackers), len(self._defenders)
            self._U = np.full((M, K, D), np.nan)
            self._V = np.full((M, D), np.nan)
            self._known = np.zeros((M, D), dtype=bool)
            for key, record in self._table.items():
                self._write_dense(key, record)
        assert self._V is not None and self._known is not None
        return self._U, self._V, self._known

    def _profile_at(self, m: int, d: int) -> Profile:
        row = _index(self._n, len(self._attackers)).counts[m]
        return tuple(int(x) for x in row), self._defenders[d]

    def _ensure(self, m: np.ndarray, d: np.ndarray) -> None:
        """Make every (profile row, defender index) pair known, asking the source; else ``MissingPayoff``."""
        _, _, known = self._dense()
        m, d = np.broadcast_arrays(np.asarray(m), np.asarray(d))
        lack = ~known[m, d]
        if not lack.any():
            return
        pairs = np.unique(np.column_stack([m[lack], d[lack]]), axis=0)
        if self._source is None:
            first = self._profile_at(*pairs[0])
            raise MissingPayoff(
                first,
                f"not in the game's table and the game has no source; {len(pairs)} profile(s) needed here "
                f"are missing (list them with missing_for / missing_profiles)",
            )
        for mm, dd in pairs:
            self.payoffs(self._profile_at(int(mm), int(dd)))

    def _ensure_all(self) -> None:
        _, _, known = self._dense()
        m, d = np.nonzero(~known)
        self._ensure(m, d)

    # ------------------------------------------------------------------ mixtures
    def check_mixtures(self, sigma: Any, tau: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """σ and τ as probability vectors (arrays, or mappings by strategy name; ``tau=None`` only when D = 1)."""
        s = self._mixture("sigma", sigma, self._attackers, self._a_pos)
        if tau is None:
            if len(self._defenders) != 1:
                raise ValueError(f"tau must be given: the defender has {len(self._defenders)} strategies")
            tau = [1.0]
        t = self._mixture("tau", tau, self._defenders, self._d_pos)
        return s, t

    @staticmethod
    def _mixture(name: str, x: Any, names: tuple[str, ...], pos: Mapping[str, int]) -> np.ndarray:
        if isinstance(x, Mapping):
            unknown = [k for k in x if k not in pos]
            if unknown:
                raise ValueError(f"{name} names unknown strategies {unknown}; allowed: {list(names)}")
            vec = np.zeros(len(names))
            for k, v in x.items():
                vec[pos[k]] = v
            x = vec
        return _as_probability(name, x, len(names))

    def _needed_rows(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows of N-1 others in supp σ, their full rows + e_s (R, K), rows of N in supp σ)."""
        K = len(self._attackers)
        support = sigma > 0
        others = _index(self._n - 1, K).support_rows(support)
        plus = _plus_index(self._n - 1, K)[others]
        full = _index(self._n, K).support_rows(support)
        return others, plus, full

    def required_for(self, sigma: Any, tau: Any = None) -> list[Profile]:
        """Profiles :meth:`regret` needs at (σ, τ): deviators vs supp σ under supp τ, and supp σ under every d."""
        sigma, tau = self.check_mixtures(sigma, tau)
        pairs = self._required_pairs(sigma, tau)
        return [self._profile_at(int(m), int(d)) for m, d in pairs]

    def _required_pairs(self, sigma: np.ndarray, tau: np.ndarray) -> np.ndarray:
        _, plus, full = self._needed_rows(sigma)
        ds = np.flatnonzero(tau > 0)
        D = len(self._defenders)
        a = np.column_stack([np.repeat(plus.ravel(), len(ds)), np.tile(ds, plus.size)])
        b = np.column_stack([np.repeat(full, D), np.tile(np.arange(D), len(full))])
        return np.unique(np.concatenate([a, b]), axis=0)

    def missing_for(self, sigma: Any, tau: Any = None) -> list[Profile]:
        """Profiles in :meth:`required_for` that are not in the table (the source is not asked)."""
        sigma, tau = self.check_mixtures(sigma, tau)
        _, _, known = self._dense()
        pairs = self._required_pairs(sigma, tau)
        lack = ~known[pairs[:, 0], pairs[:, 1]]
        return [self._profile_at(int(m), int(d)) for m, d in pairs[lack]]

    def _gather_attacker(self, support: np.ndarray, ds: np.ndarray) -> tuple:
        """For others' counts c in supp σ (N-1 attackers): (c, log coefficients, u_s(c+e_s, d) as (R, K, |ds|), ds, range)."""
        key = ("attacker", support.tobytes(), ds.tobytes())
        if key not in self._memo:
            K = len(self._attackers)
            others = _index(self._n - 1, K).support_rows(support)
            plus = _plus_index(self._n - 1, K)[others]
            self._ensure(plus[:, :, None], ds[None, None, :])
            U, _, _ = self._dense()
            vals = U[plus[:, :, None], np.arange(K)[None, :, None], ds[None, None, :]]
            counts = _index(self._n - 1, K).counts[others]
            coef = _log_coefficients(self._n - 1, counts)
            self._memo[key] = (counts, coef, vals, ds, float(vals.max() - vals.min()))
        return self._memo[key]

    def _gather_defender(self, support: np.ndarray) -> tuple:
        """For counts c in supp σ (N attackers): (c, log coefficients, v(c, d) as (R, D), all d, range)."""
        key = ("defender", support.tobytes())
        if key not in self._memo:
            K, D = len(self._attackers), len(self._defenders)
            full = _index(self._n, K).support_rows(support)
            self._ensure(full[:, None], np.arange(D)[None, :])
            _, V, _ = self._dense()
            vals = V[full]
            counts = _index(self._n, K).counts[full]
            coef = _log_coefficients(self._n, counts)
            self._memo[key] = (counts, coef, vals, np.arange(D), float(vals.max() - vals.min()))
        return self._memo[key]

    def _deviation(self, sigma: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, float]:
        """``dev_s(σ, τ)`` for every s, and the range (max − min) of the payoffs it used."""
        counts, coef, vals, ds, spread = self._gather_attacker(sigma > 0, np.flatnonzero(tau > 0))
        w = np.exp(_log_multinomial(self._n - 1, sigma, counts, coef))
        return np.einsum("r,rkd,d->k", w / w.sum(), vals, tau[ds]), spread

    def _defender(self, sigma: np.ndarray) -> tuple[np.ndarray, float]:
        """``v_d(σ)`` for every d, and the range of the payoffs it used."""
        counts, coef, vals, _, spread = self._gather_defender(sigma > 0)
        w = np.exp(_log_multinomial(self._n, sigma, counts, coef))
        return (w / w.sum()) @ vals, spread

    def deviation_payoffs(self, sigma: Any, tau: Any = None) -> np.ndarray:
        """``dev_s(σ, τ) = Σ_d τ_d E_{c ~ Mult(N-1, σ)} u_s(c + e_s, d)`` for every attacker strategy s.

        Needs the profiles ``c + e_s`` (every s, c in the support of σ) under every d in supp τ.
        """
        sigma, tau = self.check_mixtures(sigma, tau)
        return self._deviation(sigma, tau)[0]

    def defender_payoffs(self, sigma: Any) -> np.ndarray:
        """``v_d(σ) = E_{c ~ Mult(N, σ)} v(c, d)`` for every defender strategy d."""
        sigma = self._mixture("sigma", sigma, self._attackers, self._a_pos)
        return self._defender(sigma)[0]

    def expected_payoffs(self, sigma: Any, tau: Any = None) -> tuple[float, float]:
        """``(a, b)``: one attacker's expected payoff ``σ·dev`` and the defender's ``τ·v``."""
        sigma, tau = self.check_mixtures(sigma, tau)
        return float(sigma @ self._deviation(sigma, tau)[0]), float(tau @ self._defender(sigma)[0])

    def regret(self, sigma: Any, tau: Any = None) -> Regret:
        """``Regret(max_s dev_s − σ·dev, max_d v_d − τ·v)``, each clipped at 0."""
        sigma, tau = self.check_mixtures(sigma, tau)
        return self._regret(sigma, tau)

    def _regret(self, sigma: np.ndarray, tau: np.ndarray) -> Regret:
        return Regret(_gain(sigma, self._deviation(sigma, tau)[0]), _gain(tau, self._defender(sigma)[0]))

    # ------------------------------------------------------------------ pure profiles
    def profile_regret(self, profile: Hashable) -> Regret:
        """Regret of a pure count profile: the most one attacker gains by switching strategy
        (``max_{s: c_s>0, t≠s} u_t(c − e_s + e_t, d) − u_s(c, d)``), and the defender by switching
        (``max_{d'} v(c, d') − v(c, d)``); each clipped at 0. Needs the neighbouring profiles."""
        counts, d = self.check_profile(profile)
        record = self.payoffs((counts, d))
        attacker = 0.0
        for s, cs in enumerate(counts):
            if cs == 0:
                continue
            for t in range(len(counts)):
                if t == s:
                    continue
                moved = list(counts)
                moved[s] -= 1
                moved[t] += 1
                gain = self.payoffs((tuple(moved), d))[self._attackers[t]] - record[self._attackers[s]]
                attacker = max(attacker, gain)
        defender = max(0.0, max(self.payoffs((counts, e))[DEFENDER_ROLE] for e in self._defenders) - record[DEFENDER_ROLE])
        return Regret(attacker, defender)

    def pure_equilibria(self, tol: float = 1e-9) -> list[Profile]:
        """All profiles where no single attacker and not the defender gains more than ``tol`` by deviating.

        A count profile need not be symmetric: ``(2, 1)`` means two attackers
        play the first strategy and one the second. Symmetric pure equilibria
        are those with a single non-zero count. Needs every profile (asks the
        source for the missing ones; ``MissingPayoff`` if it cannot).
        """
        tol = _check_tol(tol)
        self._ensure_all()
        U, V, _ = self._dense()
        K = len(self._attackers)
        index = _index(self._n, K)
        counts = index.counts
        attacker_gain = np.zeros(V.shape)
        for s in range(K):
            on_s = np.flatnonzero(counts[:, s] > 0)
            for t in range(K):
                if t == s:
                    continue
                moved = counts[on_s].copy()
                moved[:, s] -= 1
                moved[:, t] += 1
                gain = U[index.find(moved), t, :] - U[on_s, s, :]
                attacker_gain[on_s] = np.maximum(attacker_gain[on_s], gain)
        defender_gain = V.max(axis=1, keepdims=True) - V
        ok = (attacker_gain <= tol) & (defender_gain <= tol)
        return [self._profile_at(int(m), int(d)) for m, d in zip(*np.nonzero(ok))]

    # ------------------------------------------------------------------ dynamics and search
    def replicator_dynamics(
        self, sigma0: Any, tau0: Any = None, *, steps: int = 10_000, dt: float = 0.5, tol: float = 1e-9
    ) -> DynamicsResult:
        """Two-population replicator dynamics [TJ78]_ from (σ0, τ0), stopping once regret ≤ ``tol``.

        Attackers follow ``σ̇_s = σ_s (dev_s − σ·dev)``, the defender
        ``τ̇_d = τ_d (v_d − τ·v)``, integrated by simultaneous Euler steps
        (:func:`replicator_step`) of size ``dt / range``, where ``range`` is the
        largest spread of that role's payoffs seen so far: scale-free, and with
        ``0 < dt ≤ 1`` no probability turns negative. Strategies outside the
        start's support never enter, so pure starts are rest points.

        Every Nash equilibrium is a rest point, and a converged run is an
        equilibrium, but only stable equilibria attract: unstable ones (the
        mixed equilibrium of a coordination game) are found only from starts
        on them, and attacker/defender play may cycle (matching pennies)
        [HS98]_: with one attacker (a bimatrix game) an equilibrium where the
        defender mixes is never asymptotically stable. It finds equilibria,
        not necessarily all of them; :meth:`regret_minimize` complements it.
        """
        sigma, tau = self.check_mixtures(sigma0, tau0)
        steps = _check_int("steps", steps, 0)
        if not (isinstance(dt, (int, float)) and 0 < dt <= 1):
            raise ValueError(f"dt must be in (0, 1], got {dt!r}")
        tol = _check_tol(tol)
        a_range = b_range = 0.0
        step = 0
        while True:
            dev, a_spread = self._deviation(sigma, tau)
            v, b_spread = self._defender(sigma)
            regret = Regret(_gain(sigma, dev), _gain(tau, v))
            if regret.max <= tol or step >= steps:
                return DynamicsResult(sigma, tau, regret, step, regret.max <= tol)
            a_range, b_range = max(a_range, a_spread), max(b_range, b_spread)
            new_sigma = replicator_step(sigma, dev, dt / a_range) if a_range > 0 else sigma
            new_tau = replicator_step(tau, v, dt / b_range) if b_range > 0 else tau
            if np.array_equal(new_sigma, sigma) and np.array_equal(new_tau, tau):
                # A rest point that is not an equilibrium (e.g. a pure start with a better reply).
                return DynamicsResult(sigma, tau, regret, step, False)
            sigma, tau = new_sigma, new_tau
            step += 1

    def regret_minimize(self, sigma0: Any, tau0: Any = None, *, steps: int = 500) -> tuple[np.ndarray, np.ndarray, Regret]:
        """Local minimisation of the sum of squared gains from (σ0, τ0), by SLSQP [Kra88]_.

        Minimises ``Φ(σ, τ) = Σ_s (g_s / R_a)² + Σ_d (h_d / R_b)²`` over
        ``Δ_K × Δ_D``, with gains ``g_s = max(0, dev_s − σ·dev)``,
        ``h_d = max(0, v_d − τ·v)`` and ``R_a, R_b`` each role's payoff range;
        ``Φ = 0`` exactly at equilibria, which it can reach whether stable or
        not. Gradients are exact: on the polynomial extension of the
        multinomial, ``∂dev_s/∂σ_t = (N-1) E_{Mult(N-2, σ)} u_s(c+e_s+e_t)``
        and ``∂v_d/∂σ_t = N E_{Mult(N-1, σ)} v(c+e_t, d)``. It may stop at a
        local minimum with Φ > 0; check the returned regret. Needs every
        profile (asks the source for the missing ones).
        """
        sigma, tau = self.check_mixtures(sigma0, tau0)
        steps = _check_int("steps", steps, 1)
        phi = self._regret_objective()
        K, D = len(self._attackers), len(self._defenders)
        constraints = [
            {"type": "eq", "fun": lambda z: z[:K].sum() - 1.0, "jac": lambda z: np.r_[np.ones(K), np.zeros(D)]},
            {"type": "eq", "fun": lambda z: z[K:].sum() - 1.0, "jac": lambda z: np.r_[np.zeros(K), np.ones(D)]},
        ]
        result = minimize(
            phi,
            np.concatenate([sigma, tau]),
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * (K + D),
            constraints=constraints,
            options={"maxiter": steps, "ftol": _SLSQP_FTOL},
        )
        z = np.clip(result.x, 0.0, None)
        sigma = z[:K] / z[:K].sum() if z[:K].sum() > 0 else sigma
        tau = z[K:] / z[K:].sum() if z[K:].sum() > 0 else tau
        return sigma, tau, self._regret(sigma, tau)

    def _regret_objective(self):
        """``z = (σ, τ) ↦ (Φ(z), ∇Φ(z))`` for :meth:`regret_minimize`, on the polynomial extension of the multinomial."""
        if ("objective",) in self._memo:
            return self._memo[("objective",)]  # type: ignore[return-value]
        self._ensure_all()
        U, V, _ = self._dense()
        N, K, D = self._n, len(self._attackers), len(self._defenders)
        c1 = _index(N - 1, K).counts
        plus1 = _plus_index(N - 1, K)
        A1 = U[plus1, np.arange(K)[None, :], :]  # (M1, K, D): u_s(c + e_s, d)
        H1 = V[plus1]  # (M1, K, D): v(c + e_t, d)
        if N >= 2:
            c2 = _index(N - 2, K).counts
            plus2 = _plus_index(N - 2, K)  # (M2, K): c + e_t
            # A2[r, s, t, d] = u_s(c + e_t + e_s, d)
            A2 = U[plus1[plus2][:, :, :, None], np.arange(K)[None, None, :, None], np.arange(D)]
            A2 = A2.transpose(0, 2, 1, 3)
        a_scale = float(np.nanmax(U) - np.nanmin(U)) or 1.0
        b_scale = float(V.max() - V.min()) or 1.0

        def weights(n: int, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
            return np.exp(_log_multinomial(n, np.clip(x, 0.0, None), counts))

        def phi(z: np.ndarray) -> tuple[float, np.ndarray]:
            x, y = np.clip(z[:K], 0.0, None), np.clip(z[K:], 0.0, None)
            W = np.einsum("r,rsd->sd", weights(N - 1, x, c1), A1)  # dev_s = W @ y
            dev = W @ y
            J = np.zeros((K, K))
            if N >= 2:
                J = (N - 1) * np.einsum("r,rstd,d->st", weights(N - 2, x, c2), A2, y)
            Hd = N * np.einsum("r,rtd->dt", weights(N - 1, x, c1), H1)  # ∂v_d/∂σ_t
            v = weights(N, x, _index(N, K).counts) @ V
            a, b = x @ dev, y @ v
            g = np.clip(dev - a, 0.0, None) / a_scale
            h = np.clip(v - b, 0.0, None) / b_scale
            grad_a_x = dev + x @ J
            grad_a_y = x @ W
            gx = 2 * (g @ (J - grad_a_x[None, :])) / a_scale + 2 * (h @ (Hd - (y @ Hd)[None, :])) / b_scale
            gy = 2 * (g @ (W - grad_a_y[None, :])) / a_scale - 2 * h.sum() * v / b_scale
            return float(g @ g + h @ h), np.concatenate([gx, gy])

        self._memo[("objective",)] = phi  # type: ignore[assignment]
        return phi

    def default_starts(self, n_random: int = 8, seed: int = DEFAULT_SEED) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Starts for :meth:`find_equilibria`: ``(label, σ, τ)``.

        Uniform σ and τ; each pure attacker strategy with uniform τ; uniform σ
        with each pure defender strategy (when D > 1); each pure pair; then
        ``n_random`` draws of σ ~ Dirichlet(1_K), τ ~ Dirichlet(1_D) from
        ``numpy.random.default_rng(seed)``.
        """
        n_random = _check_int("n_random", n_random, 0)
        K, D = len(self._attackers), len(self._defenders)
        uk, ud = np.full(K, 1.0 / K), np.full(D, 1.0 / D)
        eye_k, eye_d = np.eye(K), np.eye(D)
        starts = [("uniform", uk, ud)]
        starts += [(f"attacker:{s}", eye_k[i], ud) for i, s in enumerate(self._attackers)]
        if D > 1:
            starts += [(f"defender:{d}", uk, eye_d[j]) for j, d in enumerate(self._defenders)]
            starts += [
                (f"pure:{s}/{d}", eye_k[i], eye_d[j])
                for i, s in enumerate(self._attackers)
                for j, d in enumerate(self._defenders)
            ]
        rng = np.random.default_rng(seed)
        for r in range(n_random):
            starts.append((f"random:{r}", rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(D))))
        return starts

    def find_equilibria(
        self,
        *,
        starts: Iterable[tuple[Any, Any]] | None = None,
        n_random: int = 8,
        seed: int = DEFAULT_SEED,
        method: str = "replicator",
        tol: float = 1e-7,
        steps: int = 10_000,
        dt: float = 0.5,
        dedup_tol: float = 1e-4,
    ) -> Solutions:
        """Role-symmetric equilibria found from several starts, deduplicated, each with its regret.

        ``starts``: ``(σ, τ)`` pairs, or ``None`` for :meth:`default_starts`
        (uniform, pure, and ``n_random`` seeded Dirichlet starts; with explicit
        starts only the ``n_random`` random ones are added). ``method``:

        * ``"replicator"``: :meth:`replicator_dynamics` (``steps``, ``dt``);
          only needs the profiles around each trajectory's support, but finds
          stable equilibria only (plus the ones a start lies on);
        * ``"regret-min"``: :meth:`regret_minimize` (``steps`` SLSQP
          iterations, capped at 500); also reaches unstable equilibria, needs
          every profile.

        Each end point, and the same point with entries below
        :data:`PURIFY_BELOW` set to 0 (preferred when still within ``tol``),
        is kept if its regret (``Regret.max``, absolute) is at most ``tol``.
        Points within ``dedup_tol`` (max-norm on σ and τ) of a kept one are
        merged, keeping the lower regret. Sorted by regret, as a
        :class:`~gametheory.equilibria.Solutions` list: when no run ends within
        ``tol`` (replicator dynamics cycling around a mixed equilibrium, as in
        an inspection game), the list is empty and its ``note`` says so, with
        the smallest regret reached. Neither method guarantees finding every
        equilibrium; :meth:`pure_equilibria` lists the pure ones exhaustively.
        """
        if method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
        tol = _check_tol(tol)
        dedup_tol = _check_tol(dedup_tol, "dedup_tol")
        steps = _check_int("steps", steps, 1)
        if starts is None:
            runs = self.default_starts(n_random, seed)
        else:
            runs = []
            for i, start in enumerate(starts):
                try:
                    s0, t0 = start
                except (TypeError, ValueError):
                    raise ValueError(f"starts[{i}] must be a pair (sigma, tau), got {start!r}") from None
                runs.append((f"start:{i}", *self.check_mixtures(s0, t0)))
            runs += [r for r in self.default_starts(n_random, seed) if r[0].startswith("random:")]
        found: list[Equilibrium] = []
        closest = math.inf
        for label, s0, t0 in runs:
            if method == "replicator":
                res = self.replicator_dynamics(s0, t0, steps=steps, dt=dt, tol=tol)
                sigma, tau, regret = res.sigma, res.tau, res.regret
            else:
                sigma, tau, regret = self.regret_minimize(s0, t0, steps=min(steps, 500))
            sigma, tau, regret = self._purify(sigma, tau, regret, tol)
            closest = min(closest, regret.max)
            if regret.max > tol:
                continue
            candidate = Equilibrium(sigma, tau, regret, self._attackers, self._defenders, label)
            for i, other in enumerate(found):
                if _close(other, candidate, dedup_tol):
                    if candidate.regret.max < other.regret.max:
                        found[i] = candidate
                    break
            else:
                found.append(candidate)
        note = None
        if not found:
            hint = "the dynamics may cycle; try method='regret-min'" if method == "replicator" else "try more starts"
            note = (f"{method} found no equilibrium: none of the {len(runs)} runs ended with regret ≤ {tol:g} "
                    f"(smallest {closest:.3g}); {hint}")
        return Solutions(sorted(found, key=lambda e: e.regret.max), method, note=note)

    def _purify(self, sigma: np.ndarray, tau: np.ndarray, regret: Regret, tol: float) -> tuple[np.ndarray, np.ndarray, Regret]:
        s = np.where(sigma < PURIFY_BELOW, 0.0, sigma)
        t = np.where(tau < PURIFY_BELOW, 0.0, tau)
        if (s == sigma).all() and (t == tau).all():
            return sigma, tau, regret
        s, t = s / s.sum(), t / t.sum()
        r = self._regret(s, t)
        return (s, t, r) if r.max <= max(tol, regret.max) else (sigma, tau, regret)

    # ------------------------------------------------------------------ DPR
    def dpr_required_profiles(self, k: int) -> dict[Profile, list[Profile]]:
        """For each profile of the ``k``-attacker DPR reduction, the full-game profiles it is read from.

        For reduced counts ``c`` and defender ``d``: first
        :func:`dpr_attacker_profile` for each played strategy (in strategy
        order), then any further profile :func:`dpr_defender_profiles` needs
        (only when ``k | N``: ``c·N/k``), without repeats. Requires
        ``k`` in :func:`dpr_valid_sizes` (``(N-1)`` divisible by ``(k-1)``);
        no rounding is done. Enumerates the reduced game only.
        """
        k = check_dpr(self._n, k)
        out: dict[Profile, list[Profile]] = {}
        for row in multinomial_profiles(k, len(self._attackers)):
            needed: list[tuple[int, ...]] = [dpr_attacker_profile(row, int(s), self._n) for s in np.flatnonzero(row)]
            needed += [p for p, _ in dpr_defender_profiles(row, self._n) if p not in needed]
            counts = tuple(int(x) for x in row)
            for d in self._defenders:
                out[(counts, d)] = [(p, d) for p in needed]
        return out

    def reduce(self, k: int) -> "RoleSymmetricGame":
        """The ``k``-attacker deviation-preserving reduction [WW12]_ of this game.

        Its payoffs are read lazily from this game through a :class:`DPRSource`
        (which asks this game, hence its source, only for the profiles in
        :meth:`dpr_required_profiles`): for reduced counts ``c`` the payoff of
        a played strategy ``s`` is ``u_s(e_s + (c − e_s)(N-1)/(k-1), d)``; the
        defender's follows :func:`dpr_defender_profiles`. Payoffs are
        memoised by the reduced game when first asked for. ``k = N`` gives
        back the same payoffs. Requires ``(N-1)`` divisible by ``(k-1)``.
        """
        k = check_dpr(self._n, k)
        return RoleSymmetricGame(self._attackers, self._defenders, k, source=DPRSource(self, k))

    # ------------------------------------------------------------------ pandas
    def to_dataframe(self) -> pd.DataFrame:
        """The known profiles, one row each, in :meth:`all_profiles` order.

        Columns: ``count:<s>`` per attacker strategy, ``defender``,
        ``payoff:<s>`` per attacker strategy (NaN where the count is 0), and
        ``payoff:defender``.
        """
        rows = []
        for counts, d in self.known_profiles():
            record = self._table[(counts, d)]
            row: dict[str, Any] = {f"{COUNT_PREFIX}{s}": c for s, c in zip(self._attackers, counts)}
            row[DEFENDER_ROLE] = d
            for s in self._attackers:
                row[f"{PAYOFF_PREFIX}{s}"] = record.roles.get(s, np.nan)
            row[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"] = record.roles[DEFENDER_ROLE]
            rows.append(row)
        columns = (
            [f"{COUNT_PREFIX}{s}" for s in self._attackers]
            + [DEFENDER_ROLE]
            + [f"{PAYOFF_PREFIX}{s}" for s in self._attackers]
            + [f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"]
        )
        df = pd.DataFrame(rows, columns=columns)
        for s in self._attackers:
            df[f"{COUNT_PREFIX}{s}"] = df[f"{COUNT_PREFIX}{s}"].astype("int64")
            df[f"{PAYOFF_PREFIX}{s}"] = df[f"{PAYOFF_PREFIX}{s}"].astype(float)
        df[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"] = df[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"].astype(float)
        return df

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        n_attackers: int | None = None,
        defender_strategies: Sequence[str] | None = None,
        source: PayoffSource | None = None,
    ) -> "RoleSymmetricGame":
        """A game from the long format of :meth:`to_dataframe`.

        Attacker strategies are the ``count:<s>`` columns, in column order.
        ``n_attackers`` defaults to the (common) row sum of the counts;
        ``defender_strategies`` to the ``defender`` values in order of first
        appearance. Each row must have a finite ``payoff:<s>`` for every
        strategy it plays (and may have NaN elsewhere).
        """
        attackers = [c[len(COUNT_PREFIX):] for c in df.columns if str(c).startswith(COUNT_PREFIX)]
        if not attackers:
            raise ValueError(f"dataframe must have {COUNT_PREFIX}<strategy> columns, got {list(df.columns)}")
        needed = [DEFENDER_ROLE, f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"] + [f"{PAYOFF_PREFIX}{s}" for s in attackers]
        absent = [c for c in needed if c not in df.columns]
        if absent:
            raise ValueError(f"dataframe lacks columns {absent}")
        extra = [
            c for c in df.columns
            if str(c).startswith(PAYOFF_PREFIX) and c[len(PAYOFF_PREFIX):] not in set(attackers) | {DEFENDER_ROLE}
        ]
        if extra:
            raise ValueError(f"dataframe has payoff columns {extra} with no matching {COUNT_PREFIX} column")
        count_cols = [f"{COUNT_PREFIX}{s}" for s in attackers]
        counts = df[count_cols].to_numpy()
        if counts.size and (not _is_integral(counts) or (counts < 0).any()):
            raise ValueError("dataframe count columns must hold non-negative integers")
        counts = counts.astype(np.int64)
        if n_attackers is None:
            sums = np.unique(counts.sum(axis=1))
            if len(sums) != 1:
                raise ValueError(
                    f"n_attackers must be given (the dataframe is empty or its rows sum to {sums.tolist()})"
                )
            n_attackers = int(sums[0])
        if defender_strategies is None:
            defender_strategies = list(dict.fromkeys(str(d) for d in df[DEFENDER_ROLE]))
        game = cls(attackers, defender_strategies, n_attackers, source=source)
        payoff_cols = [f"{PAYOFF_PREFIX}{s}" for s in attackers]
        values = df[payoff_cols].to_numpy(dtype=float)
        for i, (row, d, dv) in enumerate(zip(counts, df[DEFENDER_ROLE], df[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"])):
            attacker = {s: values[i, j] for j, s in enumerate(attackers) if row[j] > 0}
            game.set_payoffs((tuple(int(x) for x in row), str(d)), attacker, dv)
        return game


# =========================================================================== DPR source
class DPRSource:
    """Payoff source of the ``k``-attacker deviation-preserving reduction of ``full`` [WW12]_.

    ``payoffs((c, d))`` reads, for each played strategy ``s``, the payoff of
    ``s`` in ``(dpr_attacker_profile(c, s, N), d)`` of ``full``, and the
    defender's payoff as :func:`dpr_defender_profiles` prescribes. A profile
    ``full`` cannot supply raises ``MissingPayoff`` naming that full profile.
    """

    def __init__(self, full: RoleSymmetricGame, k: int):
        self.full = full
        self.k = check_dpr(full.n_attackers, k)
        self._reduced = RoleSymmetricGame(full.attacker_strategies, full.defender_strategies, self.k)

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


# =========================================================================== helpers
def _check_names(field: str, names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise ValueError(f"{field} must be a sequence of names, not the single string {names!r}")
    out = tuple(names)
    if not out:
        raise ValueError(f"{field} must not be empty")
    bad = [n for n in out if not isinstance(n, str) or not n]
    if bad:
        raise ValueError(f"{field} must be non-empty strings, got {bad}")
    dupes = sorted({n for n in out if out.count(n) > 1})
    if dupes:
        raise ValueError(f"{field} must be unique, got duplicates {dupes}")
    return out


def _check_tol(tol: Any, field: str = "tol") -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not (0 <= tol < math.inf):
        raise ValueError(f"{field} must be a finite number >= 0, got {tol!r}")
    return float(tol)


def _is_integral(arr: np.ndarray) -> bool:
    try:
        a = np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(a).all() and (a == np.round(a)).all())


def _close(a: Equilibrium, b: Equilibrium, tol: float) -> bool:
    return bool(np.abs(a.sigma - b.sigma).max() <= tol and np.abs(a.tau - b.tau).max() <= tol)
