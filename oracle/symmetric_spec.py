"""Game specs where each of the N attackers chooses its own strategy (a role-symmetric game).

The same TOML as :mod:`oracle.specs`, with one field more in ``[game]`` and
an optional ``[analysis]`` table::

    [game]
    name = "escalation"
    n_attackers = 10
    attackers_choose = "each"   # each attacker picks one [[attackers]] strategy ("together": all play one)
    seeds = [3407, 3408, 3409]  # the seeds a profile may be measured with, in order

    [analysis]                  # what `backfire fill` and `backfire solve` do (command-line options override)
    method = "search"           # "full" (every profile), "dpr" (the k-player reduction) or "search"
    dpr = 4                     # k for method "dpr" (and, optionally, a search on the DPR game)
    max_profiles = 12           # search budget: distinct full-game profiles …
    max_samples = 40            # … and samples (one sample = one training run with one seed)
    samples = 2                 # seeds a newly measured profile starts with (the search adds more where needed)
    confidence = 0.95           # 1 − δ of the search's confidence intervals
    interval = "t"              # "t" (default) or "hoeffding"
    tol = 0.0                   # a deviation gaining more than this refutes a candidate equilibrium

The game has K = len(attackers) attacker strategies (each a *pure*
:class:`strategies.AttackerStrategy`) and D = len(defenders) defender
strategies; a profile is ``(counts, defender)``, how many attackers play
each attacker strategy, and the defender's choice. Attackers are assigned to
strategies in index order: in the profile ``(c_1, …, c_K)`` attackers
``0 … c_1−1`` play the first ``[[attackers]]`` table, the next ``c_2`` the
second, and so on (:class:`oracle.jobs.Job`). Whatever it plays, attacker
``i`` keeps its own trigger seed (``i``), its own share of the data and the
``i``-th target label of its strategy's label rule; only the strategy's
parameters (ε, p, label rule, trigger generator) change. See the README
("Games where each attacker chooses") for why this is fair.

This module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from gametheory.symmetric import dpr_valid_sizes, num_profiles
from oracle.specs import GameSpec, SpecError, read_spec_file, spec_from_dict, spec_to_toml
from strategies import AttackerStrategy
from strategies.validate import check_int, check_name, check_real

__all__ = ["ANALYSES", "FULL_GAME_LIMIT", "Analysis", "SymmetricGameSpec", "load_game_spec", "game_spec_from_dict",
           "symmetric_spec_to_toml"]

#: What ``[analysis] method`` may name.
ANALYSES = ("full", "dpr", "search")
#: Above this many profiles a spec without ``[analysis]`` is searched, not measured whole.
FULL_GAME_LIMIT = 60
CHOICES = ("together", "each")
INTERVALS = ("t", "hoeffding")


def _fail(message: str) -> None:
    raise SpecError(message)


@dataclass(frozen=True)
class Analysis:
    """What ``fill`` and ``solve`` do with a role-symmetric game (module docstring).

    ``method`` ``None`` means: the full game when it has at most
    :data:`FULL_GAME_LIMIT` profiles, else the search.
    """

    method: str | None = None
    dpr: int | None = None
    max_profiles: int | None = None
    max_samples: int | None = None
    samples: int | None = None
    confidence: float = 0.95
    interval: str = "t"
    tol: float = 0.0

    def __post_init__(self) -> None:
        if self.method is not None:
            check_name("method", self.method, ANALYSES)
        for name in ("dpr", "max_profiles", "max_samples", "samples"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1)
        if self.method == "dpr" and self.dpr is None:
            _fail("method = \"dpr\" needs dpr = k, the number of players of the reduced game")
        check_real("confidence", self.confidence, 0, 1, low_open=True, high_open=True)
        check_name("interval", self.interval, INTERVALS)
        check_real("tol", self.tol, 0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Analysis":
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            _fail(f"unknown field(s) {', '.join(unknown)}: allowed {', '.join(allowed)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def resolved(self, spec: "SymmetricGameSpec") -> str:
        """The method a fill uses: the spec's, else full when the game is small enough, else search."""
        if self.method is not None:
            return self.method
        return "full" if spec.num_profiles <= FULL_GAME_LIMIT else "search"


@dataclass(frozen=True)
class SymmetricGameSpec(GameSpec):
    """A :class:`~oracle.specs.GameSpec` whose N attackers each choose one of its attacker strategies."""

    analysis: Analysis = Analysis()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.environment.kind != "poisoning":
            _fail("attackers_choose = \"each\" needs a poisoning environment (federated games are normal-form)")
        for label, s in self.attackers.items():
            if not isinstance(s, AttackerStrategy):
                _fail(f"attacker strategy {label!r} is a mixture: when each attacker chooses, every [[attackers]] "
                      "table must be a pure strategy (the attackers mix among them)")
            if s.escalation is not None:
                _fail(f"attacker strategy {label!r} has an escalation: when each attacker chooses, make the "
                      "escalated rate its own strategy instead (e.g. eps = 0.55)")
        if self.n_attackers < 2:
            _fail(f"n_attackers={self.n_attackers} is out of range: a game where each attacker chooses needs N ≥ 2")
        a = self.analysis
        if a.dpr is not None and a.dpr not in dpr_valid_sizes(self.n_attackers):
            _fail(f"[analysis] dpr={a.dpr} is not a valid reduction of N={self.n_attackers}: allowed "
                  f"{', '.join(map(str, dpr_valid_sizes(self.n_attackers)))} ((N−1) divisible by (k−1))")
        if a.samples is not None and a.samples > len(self.seeds):
            _fail(f"[analysis] samples={a.samples} exceeds the {len(self.seeds)} seed(s) of [game] seeds: "
                  "list at least as many seeds as samples")

    @property
    def num_profiles(self) -> int:
        """Profiles of the full game: ``C(N+K−1, K−1) · D``."""
        return num_profiles(self.n_attackers, len(self.attackers)) * len(self.defenders)


def load_game_spec(path: str | Path) -> GameSpec:
    """A spec file: a :class:`SymmetricGameSpec` when ``attackers_choose = "each"``, else a plain GameSpec."""
    return game_spec_from_dict(read_spec_file(path), where=str(path))


def game_spec_from_dict(data: Mapping[str, Any], where: str = "<spec>") -> GameSpec:
    """:func:`oracle.specs.spec_from_dict`, or the role-symmetric spec when ``[game]`` says each attacker chooses."""
    game = data.get("game", {})
    choice = game.get("attackers_choose", "together") if isinstance(game, Mapping) else "together"
    try:
        check_name("attackers_choose", choice, CHOICES, plural="choices")
    except ValueError as exc:
        raise SpecError(f"{where}: [game]: {exc} (together: all N attackers play one strategy; "
                        "each: each attacker chooses)") from None
    if choice == "together" and "analysis" in data:
        raise SpecError(f"{where}: [analysis] is for games where each attacker chooses: "
                        "add attackers_choose = \"each\" to [game]")
    plain = {k: v for k, v in data.items() if k != "analysis"}
    if isinstance(game, Mapping):
        plain["game"] = {k: v for k, v in game.items() if k != "attackers_choose"}
    base = spec_from_dict(plain, where)
    if choice == "together":
        return base
    table = data.get("analysis", {})
    if not isinstance(table, Mapping):
        raise SpecError(f"{where}: [analysis] must be a table")
    try:
        analysis = Analysis.from_dict(table)
    except (ValueError, TypeError) as exc:  # SpecError, or a strategies.validate check
        raise SpecError(f"{where}: [analysis]: {exc}") from None
    try:
        return SymmetricGameSpec(**{f.name: getattr(base, f.name) for f in fields(GameSpec)}, analysis=analysis)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None


def symmetric_spec_to_toml(spec: GameSpec) -> str:
    """The TOML text of a spec (a role-symmetric one keeps ``attackers_choose`` and ``[analysis]``)."""
    import tomllib

    import tomli_w

    if not isinstance(spec, SymmetricGameSpec):
        return spec_to_toml(spec)
    data = tomllib.loads(spec_to_toml(spec))
    data["game"]["attackers_choose"] = "each"
    if spec.analysis.to_dict():
        data["analysis"] = spec.analysis.to_dict()
    return tomli_w.dumps(data)
