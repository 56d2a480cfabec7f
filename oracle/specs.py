"""Game specs: the environment, the attacker strategies with N, the defender strategies, the seeds.

A spec is a TOML file (or the same objects built in Python)::

    [game]
    name = "quickstart"
    n_attackers = 5            # N
    seeds = [3407]             # one victim per seed and cell

    [environment]
    dataset = "mnist"          # cifar10, mnist, fashion-mnist, digits, or a plug-in "package.module:NAME"
    n_images = 6000            # a class-stratified subset of the whole dataset (optional)
    v_d = 0.5                  # the defender's share
    n_max = 5                  # attacker shares are sized on N_max (default: N)
    preset = "tiny"            # training preset: paper, fast, tiny

    [[attackers]]              # one table per attacker strategy (a row of the payoff table)
    name = "independent"
    eps = 0.55
    p = 0.55
    labels = { kind = "random" }

    [[defenders]]              # one table per defender strategy (a column)
    name = "SmallCNN"
    architecture = "smallcnn"
    defense = "none"

A federated game (Wang et al., *Attack of the Tails*) has ``kind =
"federated"`` in ``[environment]`` with a ``preset`` of
:data:`oracle.federated.config.FEDERATED_PRESETS` and ``overrides``; its
attacker tables are :class:`strategies.federated.FederatedAttackStrategy`
tables (``mode``, ``eps``, ``every``, …) and its defender tables
:class:`strategies.AggregatorStrategy` tables (``aggregator``, ``params``);
see ``examples/games/federated.toml``.

Attacker tables are :meth:`strategies.AttackerStrategy.from_dict` tables; a
table with ``components = [{weight = 1, strategy = {...}}, ...]`` is a mixed
strategy (:class:`strategies.MixedAttackerStrategy`), whose payoff is the
weighted mean of its components'. Defender tables are
:meth:`strategies.DefenderStrategy.from_dict` tables. Every name is checked
when the spec is read: a misspelt dataset, architecture or defense is an
error naming the file, the table and the allowed values, never a silent
default. This module imports no torch.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from strategies.validate import DEFAULT_SEED
from oracle.data.catalog import DATASETS, trainable_datasets
from oracle.federated.config import FederatedEnvironment
from oracle.victims.presets import PRESETS
from strategies.registry import is_reference
from strategies import (AggregatorStrategy, AttackerStrategy, DefenderStrategy, MixedAttackerStrategy,
                        attacker_strategy_from_dict)
from strategies.federated import FederatedAttackStrategy
from strategies.keys import content_key

__all__ = ["Environment", "GameSpec", "SpecError", "load_spec"]

AttackerStrategyLike = AttackerStrategy | MixedAttackerStrategy


class SpecError(ValueError):
    """A game spec that cannot be used, naming the file and the field at fault."""


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise SpecError(message)


@dataclass(frozen=True)
class Environment:
    """Everything besides the strategies that changes a measured outcome.

    ``dataset``: a trainable dataset of :data:`oracle.data.catalog.DATASETS`. ``n_images``: use a
    class-stratified subset of this many images of the whole dataset (train +
    test, as the paper pools them; seeded with 3407), or all when None.
    ``v_d``: the defender's share. ``n_max``: attacker shares are sized on
    N_max so the real poison rate per attacker stays fixed as N varies
    (default: the game's N). ``test_fraction``: a clean held-out test set
    carved out first (0: none, as in the paper). ``preset``: the training
    preset, with ``preset_overrides`` of its fields. ``resize``: resize images
    to this side (e.g. STL-10 to 32).
    """

    kind: ClassVar[str] = "poisoning"  # a federated spec's environment is oracle.federated.config.FederatedEnvironment

    dataset: str = "cifar10"
    n_images: int | None = None
    v_d: float = 0.1
    n_max: int | None = None
    test_fraction: float = 0.0
    preset: str = "fast"
    preset_overrides: tuple[tuple[str, Any], ...] = ()
    resize: int | None = None

    def __post_init__(self) -> None:
        if is_reference(self.dataset):
            DATASETS[self.dataset]  # a plug-in: loaded, or a one-line ValueError saying why not
        _check(isinstance(self.dataset, str) and self.dataset in DATASETS,
               f"dataset={self.dataset!r} is unknown: allowed {', '.join(trainable_datasets())} "
               "(or a plug-in 'package.module:NAME')")
        _check(DATASETS[self.dataset].normalization is not None,
               f"dataset={self.dataset!r} can be read but not trained on (no normalisation statistics): "
               f"allowed {', '.join(trainable_datasets())}")
        _check(self.n_images is None or (isinstance(self.n_images, int) and self.n_images >= 10),
               f"n_images={self.n_images!r} is out of range: allowed an integer ≥ 10, or leave it out for the whole dataset")
        _check(isinstance(self.v_d, (int, float)) and 0 <= self.v_d < 1, f"v_d={self.v_d!r} is out of range: allowed [0, 1)")
        _check(self.n_max is None or (isinstance(self.n_max, int) and self.n_max >= 1),
               f"n_max={self.n_max!r} is out of range: allowed an integer ≥ 1")
        _check(isinstance(self.test_fraction, (int, float)) and 0 <= self.test_fraction < 1,
               f"test_fraction={self.test_fraction!r} is out of range: allowed [0, 1)")
        _check(self.preset in PRESETS, f"preset={self.preset!r} is unknown: allowed {', '.join(PRESETS)}")
        _check(self.resize is None or (isinstance(self.resize, int) and self.resize >= 8),
               f"resize={self.resize!r} is out of range: allowed an integer ≥ 8")
        overrides = self.preset_overrides
        if isinstance(overrides, Mapping):
            overrides = tuple(overrides.items())
        object.__setattr__(self, "preset_overrides", tuple(sorted((str(k), v) for k, v in overrides)))
        object.__setattr__(self, "v_d", float(self.v_d))
        object.__setattr__(self, "test_fraction", float(self.test_fraction))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "dataset": self.dataset,
            "v_d": self.v_d,
            "test_fraction": self.test_fraction,
            "preset": self.preset,
        }
        for name in ("n_images", "n_max", "resize"):
            if getattr(self, name) is not None:
                d[name] = getattr(self, name)
        if self.preset_overrides:
            d["preset_overrides"] = dict(self.preset_overrides)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Environment":
        allowed = {"dataset", "n_images", "v_d", "n_max", "test_fraction", "preset", "preset_overrides", "resize"}
        unknown = sorted(set(data) - allowed)
        _check(not unknown, f"unknown field(s) {', '.join(unknown)}: allowed {', '.join(sorted(allowed))}")
        return cls(**dict(data))


@dataclass(frozen=True)
class GameSpec:
    """A normal-form game to measure: attacker strategies (rows) × defender strategies (columns)."""

    name: str
    environment: Environment  # or oracle.federated.config.FederatedEnvironment (kind = "federated")
    n_attackers: int
    attackers: Mapping[str, AttackerStrategyLike]  # FederatedAttackStrategy in a federated game
    defenders: Mapping[str, DefenderStrategy]  # AggregatorStrategy in a federated game
    seeds: tuple[int, ...] = (DEFAULT_SEED,)
    source: str = field(default="<python>", compare=False)

    def __post_init__(self) -> None:
        _check(isinstance(self.n_attackers, int) and self.n_attackers >= 1,
               f"n_attackers={self.n_attackers!r} is out of range: allowed an integer ≥ 1")
        n_max = self.environment.n_max
        _check(n_max is None or self.n_attackers <= n_max,
               f"n_attackers={self.n_attackers} exceeds environment.n_max={n_max}: allowed 1 … n_max")
        _check(len(self.attackers) >= 1, "attackers: none given; a game needs at least one attacker strategy")
        _check(len(self.defenders) >= 1, "defenders: none given; a game needs at least one defender strategy")
        seeds = tuple(self.seeds)
        _check(len(seeds) >= 1 and all(isinstance(s, int) and s >= 0 for s in seeds) and len(set(seeds)) == len(seeds),
               f"seeds={list(seeds)!r}: allowed a non-empty list of distinct non-negative integers")
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "attackers", dict(self.attackers))
        object.__setattr__(self, "defenders", dict(self.defenders))

    @property
    def n_max(self) -> int:
        return self.environment.n_max or self.n_attackers

    def with_seeds(self, seeds: Sequence[int]) -> "GameSpec":
        return replace(self, seeds=tuple(seeds))

    def key(self) -> str:
        """Content key of the whole spec (strategy labels excluded)."""
        return content_key("game-spec", {
            "environment": self.environment.to_dict(),
            "n_attackers": self.n_attackers,
            "attackers": [_strategy_key_data(s) for s in self.attackers.values()],
            "defenders": [d.key() for d in self.defenders.values()],
        })


def _strategy_key_data(s: AttackerStrategyLike) -> Any:
    if isinstance(s, MixedAttackerStrategy):
        return {"mixed": [(w, c.key_data()) for w, c in s.components]}
    return s.key_data()


def load_spec(path: str | Path) -> GameSpec:
    """Read and validate a TOML game spec; errors name the file and the table at fault."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".csv", ".json") or text.lstrip().startswith("attacker,defender"):
        raise SpecError(f"{path}: this is a payoff table, not a game spec (.toml); solve it with "
                        f"'backfire solve {path}'")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML ({exc})") from None
    return spec_from_dict(data, where=str(path))


def spec_from_dict(data: Mapping[str, Any], where: str = "<spec>") -> GameSpec:
    """A :class:`GameSpec` from the parsed TOML tables (see the module docstring)."""
    unknown = sorted(set(data) - {"game", "environment", "attackers", "defenders"})
    if unknown:
        raise SpecError(f"{where}: unknown table(s) {', '.join(unknown)}: allowed game, environment, attackers, defenders")
    game = dict(data.get("game", {}))
    bad = sorted(set(game) - {"name", "n_attackers", "seeds"})
    if bad:
        raise SpecError(f"{where}: [game]: unknown field(s) {', '.join(bad)}: allowed name, n_attackers, seeds")
    if "n_attackers" not in game:
        raise SpecError(f"{where}: [game]: n_attackers is missing (the number of attackers N)")
    env_table = data.get("environment", {})
    federated = isinstance(env_table, Mapping) and env_table.get("kind", "poisoning") == "federated"
    try:
        if federated:
            env = FederatedEnvironment.from_dict(env_table)
        else:
            env_table = dict(env_table)
            if env_table.pop("kind", "poisoning") != "poisoning":
                raise SpecError(f"kind={data['environment']['kind']!r} is unknown: allowed poisoning (default), federated")
            env = Environment.from_dict(env_table)
    except (SpecError, ValueError, TypeError) as exc:
        raise SpecError(f"{where}: [environment]: {exc}") from None
    # a federated game's attackers play attack modes and its defender aggregation rules
    read_attacker = FederatedAttackStrategy.from_dict if federated else attacker_strategy_from_dict
    read_defender = AggregatorStrategy.from_dict if federated else DefenderStrategy.from_dict
    attackers = _read_strategies(where, "attackers", data.get("attackers", []), read_attacker,
                                 lambda s: s.label if federated else s.name)
    defenders = _read_strategies(where, "defenders", data.get("defenders", []), read_defender, lambda s: s.label)
    try:
        return GameSpec(
            name=str(game.get("name", Path(where).stem)),
            environment=env,
            n_attackers=game["n_attackers"],
            attackers=attackers,
            defenders=defenders,
            seeds=tuple(game.get("seeds", (DEFAULT_SEED,))),
            source=where,
        )
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None


def _read_strategies(where: str, section: str, tables: Sequence[Any], read: Any, label_of: Any) -> dict[str, Any]:
    """``[[section]]`` tables read with ``read``, keyed by ``label_of(strategy)``; errors name the table."""
    out: dict[str, Any] = {}
    for k, table in enumerate(tables):
        try:
            strategy = read(table)
        except (ValueError, TypeError, KeyError) as exc:
            raise SpecError(f"{where}: [[{section}]] #{k + 1}: {exc}") from None
        label = label_of(strategy)
        if label in out:
            raise SpecError(f"{where}: [[{section}]] #{k + 1}: name {label!r} is used twice")
        out[label] = strategy
    return out


def spec_to_toml(spec: GameSpec) -> str:
    """The TOML text of a spec (round-trips through :func:`load_spec`)."""
    import tomli_w

    data = {
        "game": {"name": spec.name, "n_attackers": spec.n_attackers, "seeds": list(spec.seeds)},
        "environment": spec.environment.to_dict(),
        "attackers": [s.to_dict() for s in spec.attackers.values()],
        "defenders": [d.to_dict() for d in spec.defenders.values()],
    }
    return tomli_w.dumps(data)

