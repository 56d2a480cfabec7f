"""What the adaptive equilibrium search returns: candidate equilibria and the search's account.

A :class:`Candidate` is an equilibrium ``(σ, τ)`` of an explored subgame,
embedded in the searched game, with the estimated gain and confidence radius
of every unilateral deviation and its status (:data:`STATUSES`); a
:class:`SearchResult` lists them with what was measured, what was missing and
the batches asked (:func:`gametheory.search.equilibrium_search`). Both
serialise to plain JSON types (``to_dict``; infinite bounds become ``None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .search_config import SearchConfig
from .symmetric import RoleSymmetricGame
from .symmetric_dynamics import Regret
from .symmetric_table import Profile

__all__ = ["STATUSES", "Candidate", "SearchResult"]

#: Candidate statuses, from best to worst.
STATUSES = ("confirmed", "accepted", "unconfirmed", "refuted")


@dataclass(frozen=True, eq=False)
class Candidate:
    """A candidate equilibrium ``(σ, τ)`` of the searched game and what the search knows of it.

    ``gains``: per deviation (``"attacker:<s>"``, ``"defender:<d>"``), the
    estimated gain and its confidence radius. ``regret``: point estimate;
    ``regret_bound``: its upper confidence bound (``inf`` if a profile is missing).
    """

    sigma: np.ndarray
    tau: np.ndarray
    attacker_strategies: tuple[str, ...]
    defender_strategies: tuple[str, ...]
    subgame: tuple[tuple[str, ...], tuple[str, ...]]
    status: str
    regret: Regret
    regret_bound: float
    gains: dict[str, tuple[float, float]] = field(default_factory=dict)

    def attacker_mixture(self) -> dict[str, float]:
        return {s: float(p) for s, p in zip(self.attacker_strategies, self.sigma) if p > 0}

    def defender_mixture(self) -> dict[str, float]:
        return {d: float(p) for d, p in zip(self.defender_strategies, self.tau) if p > 0}

    def to_dict(self) -> dict[str, Any]:
        return {
            "attacker_mixture": self.attacker_mixture(),
            "defender_mixture": self.defender_mixture(),
            "status": self.status,
            "subgame": {"attacker": list(self.subgame[0]), "defender": list(self.subgame[1])},
            "regret": {"attacker": self.regret.attacker, "defender": self.regret.defender},
            "regret_bound": _finite(self.regret_bound),
            "gains": {k: {"estimate": g, "radius": _finite(r)} for k, (g, r) in self.gains.items()},
        }


@dataclass(frozen=True, eq=False)
class SearchResult:
    """What :func:`~gametheory.search.equilibrium_search` found and spent.

    ``equilibria``: confirmed then accepted candidates, lowest ``regret_bound``
    first; ``candidates``: all of the last round (refuted ones too).
    ``measured``: full-game profile -> samples held; ``missing``: profile ->
    why the source could not serve it; ``steps``: the batches requested, in
    order (each a list of ``(profile, n)``); ``game``: the searched game (``N``
    or ``dpr`` players) holding the mean payoffs of every profile it could read.
    """

    equilibria: list[Candidate]
    candidates: list[Candidate]
    explored: list[tuple[tuple[str, ...], tuple[str, ...]]]
    measured: dict[Profile, int]
    missing: dict[Profile, str]
    steps: list[list[tuple[Profile, int]]]
    budget_exhausted: bool
    config: SearchConfig
    game: RoleSymmetricGame

    @property
    def n_profiles(self) -> int:
        return len(self.measured)

    @property
    def n_samples(self) -> int:
        return int(sum(self.measured.values()))

    def to_dict(self) -> dict[str, Any]:
        cfg = {k: getattr(self.config, k) for k in self.config.__dataclass_fields__}
        cfg["payoff_range"] = list(cfg["payoff_range"])
        return {
            "equilibria": [c.to_dict() for c in self.equilibria],
            "candidates": [c.to_dict() for c in self.candidates],
            "explored": [{"attacker": list(s), "defender": list(t)} for s, t in self.explored],
            "measured": [{"counts": list(p[0]), "defender": p[1], "samples": n} for p, n in self.measured.items()],
            "missing": [{"counts": list(p[0]), "defender": p[1], "reason": r} for p, r in self.missing.items()],
            "n_profiles": self.n_profiles,
            "n_samples": self.n_samples,
            "n_steps": len(self.steps),
            "budget_exhausted": self.budget_exhausted,
            "config": cfg,
        }


def _finite(x: float) -> float | None:
    """``x``, or ``None`` where it is infinite or NaN (JSON has neither)."""
    return float(x) if math.isfinite(x) else None
