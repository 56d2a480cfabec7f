"""The solve summary of a role-symmetric game: equilibria, payoffs, the attackers' best outcome, price of anarchy.

For each symmetric equilibrium ``(σ*, τ*)`` (attackers' mixture over K
strategies, defender's over D) of a :class:`~gametheory.symmetric.RoleSymmetricGame`
(full, DPR-reduced, or the game an adaptive search measured), the summary
holds:

* its regret in the game it was found in (and, from a search, its status and
  upper confidence bound);
* the **collective attack success**
  ``a(σ, τ) = Σ_d τ_d E_{c ~ Mult(N, σ)} [Σ_s (c_s / N) u_s(c, d)]``, the
  expected mean payoff over the N attackers (equal, by symmetry, to one
  attacker's expected payoff), and the defender's
  ``b(σ, τ) = Σ_d τ_d E_{c ~ Mult(N, σ)} v(c, d)``;
* the **attackers' best symmetric outcome**: the largest ``a(σ, τ)`` over
  symmetric attacker mixtures ``σ`` (what N attackers who agreed on one
  mixture would get), in two senses:

  - ``"equilibrium defender"``: ``max_σ a(σ, τ*)``, the defender keeping its
    equilibrium mixture;
  - ``"defender best-responds"``: ``max_σ a(σ, e_{β(σ)})``, where
    ``β(σ) ∈ argmax_d v_d(σ)`` is the defender's best pure reply to ``σ``,
    ties broken against the attackers (the defender sees the agreed mixture
    and reacts);

  each maximised over the simplex grid ``{c / r : c ∈ ℕ^K, Σ c = r}`` (step
  ``1/r``, every pure strategy included) restricted to the mixtures whose
  profiles are all known, so it is a lower bound on the true maximum;
* the **price of anarchy** of the attackers' non-cooperation,
  ``best / a(σ*, τ*)`` (≥ 1 up to the grid in the first sense, since ``σ*``
  itself is a candidate; ``None`` when ``a(σ*, τ*) = 0``).

:meth:`SolveSummary.to_dict` is JSON-serialisable (``backfire solve --json``).
numpy only; never torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from .sources import MissingPayoff
from .count_profiles import multinomial_profiles, multinomial_weights, num_profiles
from .symmetric import RoleSymmetricGame
from .symmetric_table import DEFENDER_ROLE

__all__ = ["BestOutcome", "EquilibriumReport", "SolveSummary", "collective_payoffs", "best_symmetric_outcome",
           "summarize_symmetric", "summarize_search"]

#: Grid points the best-outcome search evaluates at most (its step is the finest that fits).
MAX_GRID = 2000
#: The two senses of the attackers' best symmetric outcome (module docstring).
BEST_MODES = ("equilibrium defender", "defender best-responds")


@dataclass(frozen=True)
class BestOutcome:
    """The attackers' best symmetric outcome in one sense of :data:`BEST_MODES`."""

    mode: str
    attacker_mixture: dict[str, float]
    defender_mixture: dict[str, float]
    attacker_payoff: float
    defender_payoff: float
    grid_step: float


@dataclass(frozen=True)
class EquilibriumReport:
    """One equilibrium with its payoffs and the attackers' best outcomes beside it (module docstring)."""

    attacker_mixture: dict[str, float]
    defender_mixture: dict[str, float]
    regret: dict[str, float]
    found_in: str
    attacker_payoff: float | None
    defender_payoff: float | None
    best: list[BestOutcome] = field(default_factory=list)
    price_of_anarchy: dict[str, float | None] = field(default_factory=dict)
    status: str | None = None
    regret_bound: float | None = None


@dataclass(frozen=True)
class SolveSummary:
    """Everything ``backfire solve`` reports on a role-symmetric game."""

    attacker_strategies: tuple[str, ...]
    defender_strategies: tuple[str, ...]
    n_attackers: int
    game: str
    n_profiles: int
    measured: list[tuple[tuple[int, ...], str]]
    missing: list[tuple[tuple[int, ...], str]]
    equilibria: list[EquilibriumReport]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["attacker_strategies"] = list(self.attacker_strategies)
        out["defender_strategies"] = list(self.defender_strategies)
        out["measured"] = [{"counts": list(c), "defender": d} for c, d in self.measured]
        out["missing"] = [{"counts": list(c), "defender": d} for c, d in self.missing]
        return _json_safe(out)


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# =========================================================================== payoffs of mixtures
def _dense(game: RoleSymmetricGame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All count rows, attacker payoffs ``(M, K, D)`` (0 where unplayed, NaN where unknown), defender ``(M, D)``."""
    K, D, N = len(game.attacker_strategies), len(game.defender_strategies), game.n_attackers
    rows = multinomial_profiles(N, K)
    U, V = np.full((len(rows), K, D), np.nan), np.full((len(rows), D), np.nan)
    for m, row in enumerate(rows):
        counts = tuple(int(x) for x in row)
        for j, d in enumerate(game.defender_strategies):
            try:
                record = game.payoffs((counts, d))
            except MissingPayoff:
                continue
            U[m, :, j] = [record.roles.get(s, 0.0) for s in game.attacker_strategies]
            V[m, j] = record.roles[DEFENDER_ROLE]
    return rows, U, V


def collective_payoffs(game: RoleSymmetricGame, sigma: np.ndarray, dense=None) -> tuple[np.ndarray, np.ndarray]:
    """Per defender strategy d: ``E_{c~Mult(N,σ)} Σ_s (c_s/N) u_s(c, d)`` and ``E v(c, d)``; NaN if a profile is missing."""
    rows, U, V = dense if dense is not None else _dense(game)
    w = multinomial_weights(game.n_attackers, sigma, rows)
    live = w > 0
    mean_success = np.einsum("mk,mkd->md", rows[live] / game.n_attackers, U[live])
    return w[live] @ mean_success, w[live] @ V[live]


def _grid(k: int) -> tuple[np.ndarray, int]:
    r = 1
    while num_profiles(r + 1, k) <= MAX_GRID:
        r += 1
    return multinomial_profiles(r, k) / r, r


def best_symmetric_outcome(game: RoleSymmetricGame, tau: np.ndarray | None = None, dense=None) -> BestOutcome | None:
    """The attackers' best symmetric outcome (module docstring): against ``τ``, or, with ``tau=None``,
    against the defender's best pure reply. ``None`` if no grid mixture has all its profiles known."""
    dense = dense if dense is not None else _dense(game)
    grid, r = _grid(len(game.attacker_strategies))
    best: tuple[float, np.ndarray, np.ndarray, float] | None = None
    for sigma in grid:
        a, v = collective_payoffs(game, sigma, dense)
        if np.isnan(a).any() or np.isnan(v).any():
            continue
        if tau is None:
            replies = np.flatnonzero(v >= v.max() - 1e-12)
            d = int(replies[np.argmin(a[replies])])
            t = np.eye(len(v))[d]
        else:
            t = np.asarray(tau, dtype=float)
        value = float(t @ a)
        if best is None or value > best[0] + 1e-12:
            best = (value, sigma, t, float(t @ v))
    if best is None:
        return None
    value, sigma, t, b = best
    names_a, names_d = game.attacker_strategies, game.defender_strategies
    return BestOutcome(BEST_MODES[0] if tau is not None else BEST_MODES[1],
                       {s: float(p) for s, p in zip(names_a, sigma) if p > 0},
                       {d: float(p) for d, p in zip(names_d, t) if p > 0}, value, b, 1.0 / r)


# =========================================================================== summaries
def _report(game: RoleSymmetricGame, eq: Any, found_in: str, dense) -> EquilibriumReport:
    sigma, tau = np.asarray(eq.sigma, dtype=float), np.asarray(eq.tau, dtype=float)
    a, v = collective_payoffs(game, sigma, dense)
    attacker = float(tau @ a) if not np.isnan(a[tau > 0]).any() else None
    defender = float(tau @ v) if not np.isnan(v[tau > 0]).any() else None
    best = [b for b in (best_symmetric_outcome(game, tau, dense), best_symmetric_outcome(game, None, dense)) if b]
    poa = {b.mode: (b.attacker_payoff / attacker if attacker else None) for b in best}
    bound = getattr(eq, "regret_bound", None)
    return EquilibriumReport(
        attacker_mixture={s: float(p) for s, p in zip(game.attacker_strategies, sigma) if p > 0},
        defender_mixture={d: float(p) for d, p in zip(game.defender_strategies, tau) if p > 0},
        regret={"attacker": float(eq.regret.attacker), "defender": float(eq.regret.defender)},
        found_in=found_in, attacker_payoff=attacker, defender_payoff=defender, best=best,
        price_of_anarchy=poa, status=getattr(eq, "status", None),
        regret_bound=float(bound) if bound is not None and math.isfinite(bound) else None,
    )


def summarize_symmetric(game: RoleSymmetricGame, equilibria: Sequence[Any], *, found_in: str = "full game",
                        notes: Sequence[str] = ()) -> SolveSummary:
    """The summary of ``equilibria`` (each with ``sigma``, ``tau``, ``regret``) of ``game``.

    ``found_in`` names the game they were found in (``"full game"``,
    ``"DPR k=5"``, ``"adaptive search"``). Measured profiles are those the
    game holds or its source serves; the rest are listed as missing.
    """
    dense = _dense(game)
    rows, _, V = dense
    known = ~np.isnan(V)
    profiles = [((tuple(int(x) for x in rows[m]), game.defender_strategies[j]), bool(known[m, j]))
                for m in range(len(rows)) for j in range(len(game.defender_strategies))]
    return SolveSummary(
        attacker_strategies=game.attacker_strategies, defender_strategies=game.defender_strategies,
        n_attackers=game.n_attackers, game=found_in, n_profiles=game.num_profiles,
        measured=[p for p, k in profiles if k], missing=[p for p, k in profiles if not k],
        equilibria=[_report(game, eq, found_in, dense) for eq in equilibria], notes=list(notes),
    )


def summarize_search(result: Any) -> SolveSummary:
    """The summary of a :class:`~gametheory.search.SearchResult` (its equilibria, in the game it searched)."""
    cfg = result.config
    found_in = "adaptive search" + (f", DPR k={cfg.dpr}" if cfg.dpr else ", full game")
    notes = [f"{result.n_profiles} full-game profiles measured with {result.n_samples} samples"
             + ("; the budget was spent" if result.budget_exhausted else "")]
    return summarize_symmetric(result.game, result.equilibria, found_in=found_in, notes=notes)
