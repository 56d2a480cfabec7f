"""The attacker/defender game as a labelled two-player normal-form game.

The attacker population is the row player, the defender the column player.
A :class:`NormalFormGame` wraps the two payoff matrices with strategy labels
and offers the equilibrium methods of :mod:`gametheory.equilibria` and the
analyses of :mod:`gametheory.analysis` by label. Built from a
:class:`~gametheory.payoffs.PayoffTable` it also keeps the per-seed samples,
which :meth:`NormalFormGame.bootstrap` uses to measure how stable an
equilibrium is under measurement noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from . import analysis, equilibria
from .batched import solve_many
from .equilibria import DEFAULT_TOL
from .payoffs import PayoffTable

__all__ = ["NormalFormGame", "Equilibrium", "BootstrapResult", "ROLES"]

ROLES = ("attacker", "defender")


def _played(labels: Sequence[str], probs: np.ndarray) -> tuple[str, ...]:
    return tuple(l for l, p in zip(labels, probs) if p > 0)


@dataclass(frozen=True)
class Equilibrium:
    """One equilibrium: each role's mixture, payoff and regret."""

    attacker: np.ndarray
    defender: np.ndarray
    attacker_payoff: float
    defender_payoff: float
    attacker_regret: float
    defender_regret: float
    attacker_labels: tuple[str, ...]
    defender_labels: tuple[str, ...]

    @property
    def support(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(attacker strategies played, defender strategies played)."""
        return _played(self.attacker_labels, self.attacker), _played(self.defender_labels, self.defender)

    @property
    def is_pure(self) -> bool:
        return len(self.support[0]) == 1 and len(self.support[1]) == 1

    def mixture(self, role: str) -> dict[str, float]:
        """``{strategy: probability}`` of one role, strategies with positive probability only."""
        if role not in ROLES:
            raise ValueError(f"role {role!r} is unknown: allowed {', '.join(ROLES)}")
        probs, labels = (self.attacker, self.attacker_labels) if role == "attacker" else (self.defender, self.defender_labels)
        return {l: float(p) for l, p in zip(labels, probs) if p > 0}

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategies": {r: self.mixture(r) for r in ROLES},
            "payoffs": {"attacker": self.attacker_payoff, "defender": self.defender_payoff},
            "regret": {"attacker": self.attacker_regret, "defender": self.defender_regret},
            "pure": self.is_pure,
        }


@dataclass(frozen=True)
class BootstrapResult:
    """How stable an equilibrium is when every cell's seeds are resampled.

    ``support_share``: the share of resampled games that have an equilibrium
    with the same support as the original's. ``attacker_ci`` /
    ``defender_ci``: percentile confidence intervals on the payoff of the
    resampled equilibrium with that support (the first equilibrium where the
    support changed). ``supports``: how often each support occurred as a
    resampled game's first equilibrium.
    """

    equilibrium: Equilibrium
    replicates: int
    support_share: float
    attacker_ci: tuple[float, float]
    defender_ci: tuple[float, float]
    confidence: float
    supports: dict[tuple[tuple[str, ...], tuple[str, ...]], int]


class NormalFormGame:
    """A two-player game: attacker strategies (rows) × defender strategies (columns)."""

    def __init__(
        self,
        attacker_payoffs: Any,
        defender_payoffs: Any,
        attackers: Sequence[str] | None = None,
        defenders: Sequence[str] | None = None,
        table: PayoffTable | None = None,
    ):
        A, B = equilibria.as_game(attacker_payoffs, defender_payoffs)
        self.A, self.B = A, B
        m, n = A.shape
        self.attackers = tuple(attackers) if attackers is not None else tuple(f"a{i}" for i in range(m))
        self.defenders = tuple(defenders) if defenders is not None else tuple(f"d{j}" for j in range(n))
        if len(self.attackers) != m or len(self.defenders) != n:
            raise ValueError(f"labels ({len(self.attackers)}, {len(self.defenders)}) do not match the game's shape {A.shape}")
        self.table = table

    @classmethod
    def from_table(cls, table: PayoffTable) -> "NormalFormGame":
        """The game of a complete payoff table (raises ``MissingPayoff`` listing missing cells)."""
        A, B = table.matrices()
        return cls(A, B, table.attackers, table.defenders, table=table)

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def is_constant_sum(self) -> bool:
        return equilibria.is_constant_sum(self.A, self.B)

    # ------------------------------------------------------------------ equilibria
    def equilibria(self, method: str = "auto", tol: float = DEFAULT_TOL) -> equilibria.Solutions:
        """Every equilibrium that ``method`` finds (see :data:`gametheory.equilibria.METHODS`
        for what each promises), regret-checked and deduplicated, as a
        :class:`~gametheory.equilibria.Solutions` list of :class:`Equilibrium`
        records whose ``fallback`` and ``note`` say whether another method took
        over and why the list may be empty or incomplete."""
        found = equilibria.solve(self.A, self.B, method, tol)
        return found.with_items(self._record(x, y) for x, y in found)

    def zero_sum_solution(self, tol: float = DEFAULT_TOL) -> equilibria.ZeroSumSolution:
        """Value and all optimal strategies of a constant-sum game."""
        return equilibria.zero_sum_lp(self.A, self.B, tol)

    def _support(self, x: np.ndarray, y: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The labels played with positive probability, as :attr:`Equilibrium.support`."""
        return _played(self.attackers, x), _played(self.defenders, y)

    def _record(self, x: np.ndarray, y: np.ndarray) -> Equilibrium:
        r_a, r_d = equilibria.regret(self.A, self.B, x, y)
        return Equilibrium(
            attacker=x,
            defender=y,
            attacker_payoff=float(x @ self.A @ y),
            defender_payoff=float(x @ self.B @ y),
            attacker_regret=r_a,
            defender_regret=r_d,
            attacker_labels=self.attackers,
            defender_labels=self.defenders,
        )

    # ------------------------------------------------------------------ mixtures by label
    def mixture(self, role: str, spec: dict[str, float] | Sequence[float] | str) -> np.ndarray:
        """A probability vector from a ``{label: probability}`` map, a vector, or one label."""
        labels = self._labels(role)
        if isinstance(spec, str):
            spec = {spec: 1.0}
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in labels]
            if unknown:
                raise ValueError(f"unknown {role} strategy {unknown[0]!r}: known are {', '.join(labels)}")
            v = np.array([float(spec.get(l, 0.0)) for l in labels])
        else:
            v = np.asarray(spec, dtype=float)
        if v.shape != (len(labels),) or np.any(v < 0) or abs(v.sum() - 1) > 1e-9:
            raise ValueError(f"{role} mixture must be {len(labels)} non-negative probabilities summing to 1, got {v.tolist()}")
        return v

    @staticmethod
    def _player(role: str) -> int:
        if role not in ROLES:
            raise ValueError(f"role {role!r} is unknown: allowed {', '.join(ROLES)}")
        return ROLES.index(role)

    def _labels(self, role: str) -> tuple[str, ...]:
        return (self.attackers, self.defenders)[self._player(role)]

    def regret(self, attacker, defender) -> tuple[float, float]:
        """(attacker regret, defender regret) of a mixed profile given by label maps or vectors."""
        return equilibria.regret(self.A, self.B, self.mixture("attacker", attacker), self.mixture("defender", defender))

    def expected_payoffs(self, role: str, opponent) -> dict[str, float]:
        """Each of ``role``'s strategies' expected payoff against the opponent's mixture."""
        player = self._player(role)
        other = ROLES[1 - player]
        u = analysis.expected_payoffs(self.A, self.B, player, self.mixture(other, opponent))
        return dict(zip(self._labels(role), map(float, u)))

    def best_responses(self, role: str, opponent, tol: float = DEFAULT_TOL) -> tuple[str, ...]:
        """``role``'s pure best responses to the opponent's mixture."""
        player = self._player(role)
        other = ROLES[1 - player]
        idx = analysis.best_responses(self.A, self.B, player, self.mixture(other, opponent), tol)
        return tuple(self._labels(role)[i] for i in idx)

    def dominated(self, role: str, strict: bool = True, mixed: bool = True, tol: float = DEFAULT_TOL) -> tuple[str, ...]:
        """``role``'s dominated strategies (by a pure strategy, or a mixture when ``mixed``)."""
        player = self._player(role)
        idx = analysis.dominated(self.A, self.B, player, strict=strict, mixed=mixed, tol=tol)
        return tuple(self._labels(role)[i] for i in idx)

    def iterated_elimination(self, strict: bool = True, mixed: bool = True, tol: float = DEFAULT_TOL) -> dict[str, Any]:
        """Survivors of iterated elimination and the removals in order, by label."""
        res = analysis.iterated_elimination(self.A, self.B, strict=strict, mixed=mixed, tol=tol)
        return {
            "attacker": tuple(self.attackers[i] for i in res.rows),
            "defender": tuple(self.defenders[j] for j in res.cols),
            "removed": tuple((ROLES[p], (self.attackers if p == 0 else self.defenders)[k]) for p, k in res.removed),
        }

    # ------------------------------------------------------------------ bootstrap
    def bootstrap(
        self,
        equilibrium: Equilibrium | None = None,
        replicates: int = 1000,
        method: str = "auto",
        confidence: float = 0.95,
        seed: int = 3407,
        tol: float = DEFAULT_TOL,
    ) -> BootstrapResult:
        """Resample every cell's per-seed payoffs and re-solve, ``replicates`` times.

        Needs a game built from a payoff table with per-seed samples. The
        replicates are drawn all at once (:meth:`PayoffTable.resample_means`)
        and solved together (:func:`gametheory.batched.solve_many`: identical
        replicates once, small nondegenerate ones as stacks of linear systems),
        with the same answers as solving each. For each
        replicate, the game's equilibria are recomputed with ``method``; the
        replicate *keeps the support* when one of them has the same support
        as ``equilibrium`` (default: the first equilibrium of the original
        game), and that equilibrium's payoffs feed the confidence intervals
        (percentile method).
        """
        if self.table is None or not self.table.has_samples():
            raise ValueError("bootstrap needs per-seed samples: build the game from a PayoffTable with a 'seed' column")
        if replicates < 1:
            raise ValueError(f"replicates={replicates} is out of range: allowed ≥ 1")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence={confidence} is out of range: allowed (0, 1)")
        if equilibrium is None:
            equilibrium = self.equilibria(method, tol)[0]
        target = equilibrium.support
        means = self.table.resample_means(np.random.default_rng(seed), replicates)
        As, Bs = means[..., 0], means[..., 1]
        kept, pay_a, pay_d = 0, [], []
        supports: dict[tuple, int] = {}
        for A, B, found in zip(As, Bs, solve_many(As, Bs, method, tol)):
            if not found:  # only ``pure`` can find nothing
                continue
            first = self._support(*found[0])
            supports[first] = supports.get(first, 0) + 1
            match = next(((x, y) for x, y in found if self._support(x, y) == target), None)
            if match is not None:
                x, y = match
                kept += 1
                pay_a.append(float(x @ A @ y))
                pay_d.append(float(x @ B @ y))
        lo, hi = (1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100
        ci = lambda v: (float(np.percentile(v, lo)), float(np.percentile(v, hi))) if v else (float("nan"), float("nan"))  # noqa: E731
        return BootstrapResult(
            equilibrium=equilibrium,
            replicates=replicates,
            support_share=kept / replicates,
            attacker_ci=ci(pay_a),
            defender_ci=ci(pay_d),
            confidence=confidence,
            supports=dict(sorted(supports.items(), key=lambda kv: -kv[1])),
        )
