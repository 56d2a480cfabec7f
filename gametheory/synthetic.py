"""Synthetic role-symmetric games with known payoff means and seeded noisy samples.

For testing and benchmarking the adaptive search (:mod:`gametheory.search`)
without training anything: a :class:`SyntheticGame` holds exact mean payoffs
``u_s(c, d)``, ``v(c, d)`` in ``[0, 1]`` as a function of the count profile,
so the true regret of any mixture is computable (:meth:`SyntheticGame.true_game`);
a :class:`SyntheticSource` draws noisy samples around those means. Sample
``i`` of a profile is drawn from ``Beta(κμ, κ(1−μ))`` (mean ``μ``, variance
``μ(1−μ)/(κ+1)``, always in ``[0, 1]``) by a generator seeded with
``(seed, counts, defender index, i)``, so the same sample is drawn whatever
the order of requests: a source that restarts from the same cache continues
exactly where it stopped.

Families (fractions ``f = c / N``):

* :func:`escalation_game`: "keep" or "escalate" (a prisoner's dilemma in
  counts): escalating adds ``gain`` to one's own success, each escalating
  attacker lowers everyone's by ``harm / N``; with ``harm > gain > harm / N``
  escalating is dominant yet all-escalate is worse than all-keep. The
  defender's "filter" scales every success by 0.8 at a cost of 0.02
  (dominant while success ≥ 0.1). Equilibrium: (escalate, filter).
* :func:`coordination_game`: two targets; success grows with the fraction on
  one's own target: ``u_A = 0.2 + 0.6 f_A``, ``u_B = 0.3 + 0.5 f_B``; two
  pure symmetric equilibria (all A, all B) and an unstable mixed one.
* :func:`random_game`: ``u_s(c, d) = logistic(a_{sd} + Σ_t B_{std} f_t)``
  with ``a ~ N(0, 1)``, ``B ~ N(0, 2²)``; the defender's payoff is
  ``(1 − Σ_s f_s u_s(c, d)) (1 − cost_d)``, ``cost ~ U(0, 0.2)``.

The defender's payoff is one minus the mean success, as in the project.
numpy only; never torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

import numpy as np
from scipy.special import expit

from .sources import MissingPayoff, Payoffs
from .symmetric import RoleSymmetricGame
from .symmetric_dynamics import DEFAULT_SEED
from .symmetric_table import DEFENDER_ROLE

__all__ = ["SyntheticGame", "SyntheticSource", "escalation_game", "coordination_game", "random_game"]

MeanFn = Callable[[np.ndarray, int], tuple[np.ndarray, float]]


@dataclass(frozen=True)
class SyntheticGame:
    """Exact means: ``mean(counts, d) -> (u per attacker strategy (K,), v)``, all in ``[0, 1]``."""

    attacker_strategies: tuple[str, ...]
    defender_strategies: tuple[str, ...]
    n_attackers: int
    mean: MeanFn
    name: str = "synthetic"

    def payoffs(self, profile: Hashable) -> Payoffs:
        """The exact mean payoffs of ``profile`` (a :class:`~gametheory.sources.PayoffSource`)."""
        counts, d = profile  # type: ignore[misc]
        c = np.asarray(counts, dtype=np.int64)
        u, v = self.mean(c, self.defender_strategies.index(d))
        roles = {s: float(u[i]) for i, s in enumerate(self.attacker_strategies) if c[i] > 0}
        roles[DEFENDER_ROLE] = float(v)
        return Payoffs(roles=roles)

    def true_game(self) -> RoleSymmetricGame:
        """The noise-free game, filled lazily from :meth:`payoffs` (for true regrets)."""
        return RoleSymmetricGame(self.attacker_strategies, self.defender_strategies, self.n_attackers, source=self)


class SyntheticSource:
    """Noisy samples of a :class:`SyntheticGame`; a :class:`~gametheory.sampling.SampleSource` with a cache.

    ``concentration`` κ of the Beta noise (``None``: no noise, every sample is
    the mean). ``cache`` (profile -> {role: [samples]}) may be shared with a
    later source to resume; :attr:`draws` counts the samples drawn by this
    source (not served from the cache).
    """

    def __init__(self, game: SyntheticGame, concentration: float | None = 50.0, seed: int = DEFAULT_SEED,
                 cache: dict | None = None):
        if concentration is not None and not concentration > 0:
            raise ValueError(f"concentration must be > 0 or None, got {concentration!r}")
        self.game = game
        self.concentration = concentration
        self.seed = int(seed)
        self.cache: dict[Hashable, dict[str, list[float]]] = {} if cache is None else cache
        self.draws = 0

    def _draw(self, profile: Hashable, i: int) -> dict[str, float]:
        counts, d = profile  # type: ignore[misc]
        means = self.game.payoffs(profile).roles
        if self.concentration is None:
            return dict(means)
        d_index = self.game.defender_strategies.index(d)
        rng = np.random.default_rng([self.seed, *map(int, counts), d_index, i])
        k = self.concentration
        out = {}
        for role, mu in means.items():
            mu = min(max(mu, 1e-3), 1 - 1e-3)
            out[role] = float(rng.beta(k * mu, k * (1 - mu)))
        return out

    def _record(self, profile: Hashable) -> Payoffs:
        held = self.cache[profile]
        return Payoffs(roles={r: float(np.mean(v)) for r, v in held.items()},
                       samples={r: tuple(v) for r, v in held.items()},
                       seeds=tuple(range(len(next(iter(held.values()))))))

    def sample(self, requests: Sequence[tuple[Hashable, int]]) -> dict[Hashable, Payoffs]:
        out = {}
        for profile, n in requests:
            held = self.cache.setdefault(profile, {})
            have = len(next(iter(held.values()))) if held else 0
            for i in range(have, int(n)):
                for role, value in self._draw(profile, i).items():
                    held.setdefault(role, []).append(value)
                self.draws += 1
            out[profile] = self._record(profile)
        return out

    def payoffs(self, profile: Hashable) -> Payoffs:
        """What the cache holds for ``profile``, else ``MissingPayoff``."""
        if not self.cache.get(profile):
            raise MissingPayoff(profile, "not sampled yet")
        return self._record(profile)


def escalation_game(n_attackers: int, gain: float = 0.1, harm: float = 0.3) -> SyntheticGame:
    """Keep or escalate: escalating is dominant, mutual escalation worse for all (module docstring)."""
    n = n_attackers

    def mean(c: np.ndarray, d: int) -> tuple[np.ndarray, float]:
        f_esc = c[1] / n
        u = np.array([0.6, 0.6 + gain]) - harm * f_esc
        if d == 1:
            u = 0.8 * u
        v = 1.0 - float(c @ u) / n - (0.02 if d == 1 else 0.0)
        return np.clip(u, 0, 1), float(np.clip(v, 0, 1))

    return SyntheticGame(("keep", "escalate"), ("none", "filter"), n, mean, "escalation")


def coordination_game(n_attackers: int) -> SyntheticGame:
    """Two targets, success grows with the fraction on one's own: two pure symmetric equilibria."""
    n = n_attackers

    def mean(c: np.ndarray, d: int) -> tuple[np.ndarray, float]:
        f = c / n
        u = np.array([0.2 + 0.6 * f[0], 0.3 + 0.5 * f[1]])
        return u, float(1.0 - (c @ u) / n)

    return SyntheticGame(("target A", "target B"), ("none",), n, mean, "coordination")


def random_game(n_attackers: int, n_strategies: int, n_defenders: int, seed: int) -> SyntheticGame:
    """Smooth random payoffs in fractions (module docstring), drawn with ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    K, D, n = n_strategies, n_defenders, n_attackers
    a = rng.normal(0.0, 1.0, size=(K, D))
    B = rng.normal(0.0, 2.0, size=(K, K, D))
    cost = rng.uniform(0.0, 0.2, size=D)

    def mean(c: np.ndarray, d: int) -> tuple[np.ndarray, float]:
        f = c / n
        u = expit(a[:, d] + B[:, :, d] @ f)
        return u, float((1.0 - f @ u) * (1.0 - cost[d]))

    return SyntheticGame(tuple(f"s{i}" for i in range(K)), tuple(f"d{j}" for j in range(D)), n, mean,
                         f"random-{seed}")
