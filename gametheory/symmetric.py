"""Role-symmetric games: N interchangeable attackers against one defender.

Many attackers poisoning one model are interchangeable: an attacker's payoff
depends on its own strategy, on *how many* of the others play each strategy,
and on the defender's choice, never on which attacker is which. Such a game
is *role-symmetric* with two roles [WW12]_:

* the **attacker** role: ``N`` players, each choosing one of ``K`` attacker
  strategies ``S = (s_0, …, s_{K-1})``;
* the **defender** role: one player choosing one of ``D`` defender strategies.

Its profiles ``(counts, defender)`` and their payoffs are those of
:class:`~gametheory.symmetric_table.RoleSymmetricTable`, which
:class:`RoleSymmetricGame` extends (payoffs kept in a table, asked lazily
of a :class:`~gametheory.sources.PayoffSource`).

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
(:mod:`gametheory.count_profiles`), vectorised over all count vectors. Only
profiles whose counts lie in the support of ``σ`` (plus the deviator) have
non-zero weight, so only those are needed (:meth:`RoleSymmetricGame.required_for`).

For ``N = 2`` and a single defender strategy the game is the symmetric
two-player game ``(A, Aᵀ)`` with ``A[i, j] = u_i(e_i + e_j)``: ``dev(σ) = Aσ``,
and its symmetric equilibria are those of the bimatrix game.

Large N: deviation-preserving reduction (:mod:`gametheory.dpr`,
:meth:`RoleSymmetricGame.reduce`) approximates the game by one with fewer
attackers.

Equilibrium search (:meth:`RoleSymmetricGame.find_equilibria`) runs
replicator dynamics or SLSQP regret minimisation
(:mod:`gametheory.symmetric_dynamics`) from several starts; both find
equilibria, neither promises all of them. Pure equilibria over count
profiles are enumerated exhaustively (:meth:`RoleSymmetricGame.pure_equilibria`).

This module is the concept's entry: the names of the modules it builds on
that users import from here are listed in ``__all__``. It uses numpy, scipy
and pandas only; it never imports torch.

References
----------
.. [WW12] B. Wiedenbeck and M. P. Wellman, "Scaling simulation-based game
   analysis through deviation-preserving reduction", AAMAS 2012.
.. [CRVW04] S.-F. Cheng, D. M. Reeves, Y. Vorobeychik and M. P. Wellman,
   "Notes on equilibria in symmetric games", GTDT workshop 2004: every finite
   symmetric game has a symmetric equilibrium.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Mapping

import numpy as np

from .arguments import check_int, check_tol
from .count_profiles import (
    MAX_PROFILES,
    as_probability,
    log_multinomial,
    multinomial_profiles,
    multinomial_weights,
    num_profiles,
    profile_index,
)
from .dpr import (
    DPRSource,
    check_dpr,
    dpr_attacker_profile,
    dpr_defender_profiles,
    dpr_required_profiles,
    dpr_valid_sizes,
)
from .equilibria import Solutions
from .symmetric_dynamics import (
    DEFAULT_SEED,
    DynamicsResult,
    Regret,
    default_starts,
    best_reply_gain,
    minimize_regret,
    regret_objective,
    replicator_dynamics,
    replicator_step,
)
from .symmetric_table import COUNT_PREFIX, DEFENDER_ROLE, PAYOFF_PREFIX, Profile, RoleSymmetricTable

__all__ = [
    "COUNT_PREFIX", "DEFENDER_ROLE", "DEFAULT_SEED", "MAX_PROFILES", "METHODS", "PAYOFF_PREFIX", "Profile",
    "Regret", "DynamicsResult", "Equilibrium", "RoleSymmetricGame", "DPRSource", "num_profiles",
    "multinomial_profiles", "multinomial_weights", "dpr_valid_sizes", "check_dpr", "dpr_attacker_profile",
    "dpr_defender_profiles", "replicator_step",
]

#: Methods accepted by :meth:`RoleSymmetricGame.find_equilibria`.
METHODS = ("replicator", "regret-min")
#: Entries of a candidate equilibrium below this are tried at zero (purification).
PURIFY_BELOW = 1e-6


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


class RoleSymmetricGame(RoleSymmetricTable):
    """N interchangeable attackers (K strategies) against one defender (D strategies).

    Constructed as :class:`~gametheory.symmetric_table.RoleSymmetricTable`
    (strategy names, ``N ≥ 1``, an optional payoff source asked lazily), and
    like it a payoff source itself (:meth:`payoffs`). Methods that need
    payoffs fetch exactly the profiles they need and raise
    :class:`~gametheory.sources.MissingPayoff` naming a profile that neither
    the table nor the source has; :meth:`missing_for` lists them all first.
    Tolerances are absolute, in payoff units (the project's payoffs lie in
    [0, 1]).
    """

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
        return as_probability(name, x, len(names))

    def required_for(self, sigma: Any, tau: Any = None) -> list[Profile]:
        """Profiles :meth:`regret` needs at (σ, τ): deviators vs supp σ under supp τ, and supp σ under every d."""
        sigma, tau = self.check_mixtures(sigma, tau)
        pairs = self._required_pairs(sigma, tau)
        return [self._profile_at(int(m), int(d)) for m, d in pairs]

    def missing_for(self, sigma: Any, tau: Any = None) -> list[Profile]:
        """Profiles in :meth:`required_for` that are not in the table (the source is not asked)."""
        sigma, tau = self.check_mixtures(sigma, tau)
        _, _, known = self._dense()
        pairs = self._required_pairs(sigma, tau)
        lack = ~known[pairs[:, 0], pairs[:, 1]]
        return [self._profile_at(int(m), int(d)) for m, d in pairs[lack]]

    def _deviation(self, sigma: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, float]:
        """``dev_s(σ, τ)`` for every s, and the range (max − min) of the payoffs it used."""
        counts, coef, vals, ds, spread = self._gather_attacker(sigma > 0, np.flatnonzero(tau > 0))
        w = np.exp(log_multinomial(self._n - 1, sigma, counts, coef))
        return np.einsum("r,rkd,d->k", w / w.sum(), vals, tau[ds]), spread

    def _defender(self, sigma: np.ndarray) -> tuple[np.ndarray, float]:
        """``v_d(σ)`` for every d, and the range of the payoffs it used."""
        counts, coef, vals, _, spread = self._gather_defender(sigma > 0)
        w = np.exp(log_multinomial(self._n, sigma, counts, coef))
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
        dev, v = self._deviation(sigma, tau)[0], self._defender(sigma)[0]
        return Regret(best_reply_gain(sigma, dev), best_reply_gain(tau, v))

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
        best = max(self.payoffs((counts, e))[DEFENDER_ROLE] for e in self._defenders)
        defender = max(0.0, best - record[DEFENDER_ROLE])
        return Regret(attacker, defender)

    def pure_equilibria(self, tol: float = 1e-9) -> list[Profile]:
        """All profiles where no single attacker and not the defender gains more than ``tol`` by deviating.

        A count profile need not be symmetric: ``(2, 1)`` means two attackers
        play the first strategy and one the second. Symmetric pure equilibria
        are those with a single non-zero count. Needs every profile (asks the
        source for the missing ones; ``MissingPayoff`` if it cannot).
        """
        tol = check_tol(tol)
        self._ensure_all()
        U, V, _ = self._dense()
        K = len(self._attackers)
        index = profile_index(self._n, K)
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
        (:func:`~gametheory.symmetric_dynamics.replicator_dynamics`) of size
        ``dt / range``, where ``range`` is the largest spread of that role's
        payoffs seen so far: scale-free, and with ``0 < dt ≤ 1`` no probability
        turns negative. Strategies outside the start's support never enter, so
        pure starts are rest points.

        Every Nash equilibrium is a rest point, and a converged run is an
        equilibrium, but only stable equilibria attract: unstable ones (the
        mixed equilibrium of a coordination game) are found only from starts
        on them, and attacker/defender play may cycle (matching pennies)
        [HS98]_: with one attacker (a bimatrix game) an equilibrium where the
        defender mixes is never asymptotically stable. It finds equilibria,
        not necessarily all of them; :meth:`regret_minimize` complements it.
        """
        sigma, tau = self.check_mixtures(sigma0, tau0)
        return replicator_dynamics(self._deviation, self._defender, sigma, tau, steps=steps, dt=dt, tol=tol)

    def regret_minimize(
        self, sigma0: Any, tau0: Any = None, *, steps: int = 500
    ) -> tuple[np.ndarray, np.ndarray, Regret]:
        """Local minimisation of the sum of squared gains from (σ0, τ0), by SLSQP [Kra88]_.

        Minimises ``Φ(σ, τ) = Σ_s (g_s / R_a)² + Σ_d (h_d / R_b)²`` over
        ``Δ_K × Δ_D``, with gains ``g_s = max(0, dev_s − σ·dev)``,
        ``h_d = max(0, v_d − τ·v)`` and ``R_a, R_b`` each role's payoff range;
        ``Φ = 0`` exactly at equilibria, which it can reach whether stable or
        not (:func:`~gametheory.symmetric_dynamics.regret_objective`, exact
        gradients). It may stop at a local minimum with Φ > 0; check the
        returned regret. Needs every profile (asks the source for the missing
        ones).
        """
        sigma, tau = self.check_mixtures(sigma0, tau0)
        steps = check_int("steps", steps, 1)
        sigma, tau = minimize_regret(self._regret_objective(), sigma, tau, steps)
        return sigma, tau, self._regret(sigma, tau)

    def _regret_objective(self):
        """:func:`~gametheory.symmetric_dynamics.regret_objective` of this game, memoised until the table changes."""
        if ("objective",) not in self._memo:
            self._ensure_all()
            U, V, _ = self._dense()
            self._memo[("objective",)] = regret_objective(U, V, self._n)
        return self._memo[("objective",)]

    def default_starts(self, n_random: int = 8, seed: int = DEFAULT_SEED) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Starts for :meth:`find_equilibria`: ``(label, σ, τ)``.

        Uniform σ and τ; each pure attacker strategy with uniform τ; uniform σ
        with each pure defender strategy (when D > 1); each pure pair; then
        ``n_random`` draws of σ ~ Dirichlet(1_K), τ ~ Dirichlet(1_D) from
        ``numpy.random.default_rng(seed)``
        (:func:`~gametheory.symmetric_dynamics.default_starts`).
        """
        return default_starts(self._attackers, self._defenders, n_random, seed)

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
        tol = check_tol(tol)
        dedup_tol = check_tol(dedup_tol, "dedup_tol")
        steps = check_int("steps", steps, 1)
        runs = self._runs(starts, n_random, seed)
        found: list[Equilibrium] = []
        closest = math.inf
        for label, s0, t0 in runs:
            sigma, tau, regret = self._end_point(method, s0, t0, steps=steps, dt=dt, tol=tol)
            closest = min(closest, regret.max)
            if regret.max <= tol:
                _keep(found, Equilibrium(sigma, tau, regret, self._attackers, self._defenders, label), dedup_tol)
        note = None
        if not found:
            hint = "the dynamics may cycle; try method='regret-min'" if method == "replicator" else "try more starts"
            note = (f"{method} found no equilibrium: none of the {len(runs)} runs ended with regret ≤ {tol:g} "
                    f"(smallest {closest:.3g}); {hint}")
        return Solutions(sorted(found, key=lambda e: e.regret.max), method, note=note)

    def _runs(
        self, starts: Iterable[tuple[Any, Any]] | None, n_random: int, seed: int
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(label, σ, τ)`` per run of :meth:`find_equilibria`: the given starts, checked, then the random ones."""
        if starts is None:
            return self.default_starts(n_random, seed)
        runs = []
        for i, start in enumerate(starts):
            try:
                s0, t0 = start
            except (TypeError, ValueError):
                raise ValueError(f"starts[{i}] must be a pair (sigma, tau), got {start!r}") from None
            runs.append((f"start:{i}", *self.check_mixtures(s0, t0)))
        return runs + [r for r in self.default_starts(n_random, seed) if r[0].startswith("random:")]

    def _end_point(
        self, method: str, sigma: np.ndarray, tau: np.ndarray, *, steps: int, dt: float, tol: float
    ) -> tuple[np.ndarray, np.ndarray, Regret]:
        """Where ``method`` ends from (σ, τ), purified when that stays within ``tol``, with its regret."""
        if method == "replicator":
            res = self.replicator_dynamics(sigma, tau, steps=steps, dt=dt, tol=tol)
            sigma, tau, regret = res.sigma, res.tau, res.regret
        else:
            sigma, tau, regret = self.regret_minimize(sigma, tau, steps=min(steps, 500))
        return self._purify(sigma, tau, regret, tol)

    def _purify(
        self, sigma: np.ndarray, tau: np.ndarray, regret: Regret, tol: float
    ) -> tuple[np.ndarray, np.ndarray, Regret]:
        """(σ, τ) with entries below :data:`PURIFY_BELOW` set to 0, if its regret is at most ``max(tol, regret)``."""
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

        See :func:`~gametheory.dpr.dpr_required_profiles`: the attackers' DPR
        profiles, then the defender's; ``k`` in :func:`dpr_valid_sizes`.
        Enumerates the reduced game only.
        """
        return dpr_required_profiles(self, k)

    def reduce(self, k: int) -> RoleSymmetricGame:
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


def _close(a: Equilibrium, b: Equilibrium, tol: float) -> bool:
    return bool(np.abs(a.sigma - b.sigma).max() <= tol and np.abs(a.tau - b.tau).max() <= tol)


def _keep(found: list[Equilibrium], candidate: Equilibrium, tol: float) -> None:
    """Add ``candidate`` to ``found``, or let it replace one within ``tol`` (max-norm) whose regret is higher."""
    for i, other in enumerate(found):
        if _close(other, candidate, tol):
            if candidate.regret.max < other.regret.max:
                found[i] = candidate
            return
    found.append(candidate)
