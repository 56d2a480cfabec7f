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
    preset = "tiny"            # training preset: paper, paper-cpu, fast, tiny

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

The reader is strict, and checks everything when the file is read, not when
training starts: types exactly (a boolean is not a number, an integer field
takes no 5.0, a fractional or out-of-range seed is an error), the preset's
overrides, every target label within the dataset's classes, and N (or
``n_max``) within what the allocation can give each attacker: one train-time
and one run-time image at least, i.e. ``N_max ≤ floor((1 − v_d) · n / 2)`` for
the ``n`` images allocated (:func:`oracle.data.allocation.max_attackers`);
dataset sizes and classes come from :data:`oracle.data.catalog.DATASETS`
without loading any data. A file is UTF-8, or UTF-8/16/32 with a byte-order
mark; any other encoding is an error naming the file. Every error is one
line: the file, the table or key, the value, what is allowed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from gametheory.parsing import decode, show
from oracle.data.allocation import check_allocation, max_attackers, split_size
from oracle.data.catalog import DATASETS, trainable_datasets
from oracle.federated.config import FederatedEnvironment
from oracle.federated.tasks import EDGE_CASE_TRAIN_IMAGES, TASK_DATASETS
from oracle.victims.presets import PRESETS, get_preset
from strategies.validate import DEFAULT_SEED
from strategies import (AggregatorStrategy, AttackerStrategy, DefenderStrategy, MixedAttackerStrategy,
                        attacker_strategy_from_dict)
from strategies.federated import FederatedAttackStrategy
from strategies.keys import content_key
from strategies.validate import SEED_MAX, check_int, check_name, check_real, check_str, require

__all__ = ["Environment", "GameSpec", "SpecError", "load_spec"]

AttackerStrategyLike = AttackerStrategy | MixedAttackerStrategy


class SpecError(ValueError):
    """A game spec that cannot be used, naming the file and the field at fault."""


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
        check_name("dataset", self.dataset, DATASETS)  # a plug-in 'package.module:NAME' is loaded
        require(DATASETS[self.dataset].normalization is not None,
                f"dataset={self.dataset!r} can be read but not trained on (no normalisation statistics): "
                f"allowed {', '.join(trainable_datasets())}", SpecError)
        for name in ("n_images", "n_max", "resize"):  # integers (not booleans, not 5.0), or left out
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_int(name, getattr(self, name), {"n_images": 10, "n_max": 1, "resize": 8}[name]))
        object.__setattr__(self, "v_d", check_real("v_d", self.v_d, 0, 1, high_open=True))
        object.__setattr__(self, "test_fraction", check_real("test_fraction", self.test_fraction, 0, 1, high_open=True))
        check_name("preset", self.preset, PRESETS)
        overrides = self.preset_overrides
        if isinstance(overrides, Mapping):
            overrides = tuple(overrides.items())
        require(isinstance(overrides, (tuple, list)) and all(isinstance(kv, (tuple, list)) and len(kv) == 2 for kv in overrides),
                f"preset_overrides={overrides!r} is not a table of preset fields", SpecError)
        object.__setattr__(self, "preset_overrides", tuple(sorted((str(k), v) for k, v in overrides)))
        get_preset(self.preset, **dict(self.preset_overrides))  # checks every override now, not when training starts

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
        require(not unknown, f"unknown field(s) {', '.join(unknown)}: allowed {', '.join(sorted(allowed))}", SpecError)
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
        object.__setattr__(self, "n_attackers", check_int("n_attackers", self.n_attackers, 1))
        n_max = self.environment.n_max
        require(n_max is None or self.n_attackers <= n_max,
                f"n_attackers={self.n_attackers} is out of range: allowed [1, {n_max}] (environment.n_max)", SpecError)
        require(len(self.attackers) >= 1, "attackers: none given; a game needs at least one attacker strategy", SpecError)
        require(len(self.defenders) >= 1, "defenders: none given; a game needs at least one defender strategy", SpecError)
        require(isinstance(self.seeds, (tuple, list)), f"seeds={self.seeds!r}: allowed a non-empty list of distinct integers", SpecError)
        seeds = tuple(check_int(f"seeds[{k}]", s, 0, SEED_MAX) for k, s in enumerate(self.seeds))
        require(len(seeds) >= 1 and len(set(seeds)) == len(seeds),
                f"seeds={list(seeds)!r}: allowed a non-empty list of distinct integers in [0, {SEED_MAX}]", SpecError)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "attackers", dict(self.attackers))
        object.__setattr__(self, "defenders", dict(self.defenders))
        _check_feasible(self)

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


def _check_feasible(spec: GameSpec) -> None:
    """The rules that join fields, checked when the spec is built (so when a
    file is read), not when training starts: every target label within the
    classes of the data, and N within what the allocation (or the federated
    round) can give the attackers. Dataset sizes and classes come from
    :data:`oracle.data.catalog.DATASETS`, without loading any data."""
    if spec.environment.kind == "federated":
        _check_federated(spec)
        return
    env = spec.environment
    facts = DATASETS[env.dataset]
    if facts.num_classes is None or facts.n_images is None:  # a plug-in registered without them: checked when loaded
        return
    require(env.n_images is None or env.n_images <= facts.n_images,
            f"environment.n_images={env.n_images} is out of range: allowed [1, {facts.n_images}] (the images of {env.dataset})", SpecError)
    for label, s in spec.attackers.items():
        for component in (s.strategies if isinstance(s, MixedAttackerStrategy) else (s,)):
            try:
                component.labels.check_classes(facts.num_classes)
            except ValueError as exc:
                raise SpecError(f"attackers {label!r}: {exc}, the classes of {env.dataset}") from None
            require(component.style == "none" or facts.normalization is None or len(facts.normalization[0]) == 3,
                    f"attackers {label!r}: style={component.style!r} needs colour images (AdaIN's VGG encoder); "
                    f"{env.dataset} is greyscale: allowed style = 'none' or a colour dataset such as cifar10", SpecError)
    n_total = env.n_images or facts.n_images
    n_alloc = n_total - split_size(n_total, env.test_fraction)  # the held-out test set is carved out first
    most = max_attackers(n_alloc, env.v_d)
    field = "environment.n_max" if env.n_max is not None else "n_attackers"
    require(spec.n_max <= most,
            f"{field}={spec.n_max} is out of range: allowed [1, {most}]; shares are floor((1 - v_d) · n / N_max) images of "
            f"the n = {n_alloc} allocated ({env.dataset}, v_d = {env.v_d:g}), and each attacker needs one train-time and "
            f"one run-time image", SpecError)
    check_allocation(n_alloc, env.v_d, spec.n_max, spec.n_attackers)


def _check_federated(spec: GameSpec) -> None:
    """Federated targets within the task's classes, n_edge within its edge-case
    set; fixed-frequency attackers
    no more than the clients of one round, fixed-pool attackers' disjoint
    pools within the clients (the simulator's rules)."""
    config = spec.environment.config()
    dataset = TASK_DATASETS[config.task]
    classes = DATASETS[dataset].num_classes
    for label, s in spec.attackers.items():
        target, targets = getattr(s, "target", None), getattr(s, "targets", None)
        named = ([("target", target)] if target is not None else []) + [
            (f"targets[{k}]", t) for k, t in enumerate(targets or ())]
        for field, t in named:
            require(t < classes, f"attackers {label!r}: {field}={t} is out of range for task {config.task!r} "
                                 f"({dataset}): allowed [0, {classes - 1}]", SpecError)
        n_edge, most = getattr(s, "n_edge", None), EDGE_CASE_TRAIN_IMAGES[config.task]
        require(n_edge is None or n_edge <= most, f"attackers {label!r}: n_edge={n_edge} is out of range for task "
                                                  f"{config.task!r}: allowed [0, {most}] (its edge-case training images)", SpecError)
        require(getattr(s, "schedule", None) != "fixed-frequency" or spec.n_attackers <= config.clients_per_round,
                f"attackers {label!r}: n_attackers={spec.n_attackers} is out of range: allowed [1, {config.clients_per_round}] "
                "(clients_per_round: on the fixed-frequency schedule they may all attack in one round)", SpecError)
        if getattr(s, "schedule", None) == "fixed-pool":  # disjoint pools of pool_size(K) clients each
            size = s.pool_size(config.n_clients)
            require(spec.n_attackers * size <= config.n_clients,
                    f"n_attackers={spec.n_attackers} with attackers {label!r} on the fixed-pool schedule: {spec.n_attackers} "
                    f"disjoint pools of {size} clients do not fit in n_clients = {config.n_clients}; "
                    f"allowed [1, {config.n_clients // size}]", SpecError)


def _strategy_key_data(s: AttackerStrategyLike) -> Any:
    if isinstance(s, MixedAttackerStrategy):
        return {"mixed": [(w, c.key_data()) for w, c in s.components]}
    return s.key_data()


def load_spec(path: str | Path) -> GameSpec:
    """Read and validate a TOML game spec; errors name the file and the table at fault.

    (A spec where each attacker chooses, ``attackers_choose = "each"``, is read by
    :func:`oracle.symmetric_spec.load_game_spec`, which reads both kinds.)
    """
    return spec_from_dict(read_spec_file(path), where=str(path))


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The parsed TOML tables of a spec file; a missing file or bad TOML is a one-line :class:`SpecError`."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    text = decode(raw, str(path), SpecError)  # UTF-8, or UTF-8/16/32 with a byte-order mark; else named
    if path.suffix.lower() in (".csv", ".json") or text.lstrip("\ufeff \t\r\n").startswith("attacker,defender"):
        raise SpecError(f"{path}: this is a payoff table, not a game spec (.toml); solve it with "
                        f"'backfire solve {path}'")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML ({exc})") from None
    except RecursionError:
        raise SpecError(f"{path}: invalid TOML (arrays or tables nested too deeply)") from None
    return data


def spec_from_dict(data: Mapping[str, Any], where: str = "<spec>") -> GameSpec:
    """A :class:`GameSpec` from the parsed TOML tables (see the module docstring)."""
    _check_shape(where, "the spec", data, Mapping, "a TOML document of tables")
    unknown = sorted(map(str, set(data) - {"game", "environment", "attackers", "defenders"}))
    if unknown:
        raise SpecError(f"{where}: unknown table(s) {', '.join(unknown)}: allowed game, environment, attackers, defenders")
    for section, kind, what in (("game", Mapping, "a table [game]"), ("environment", Mapping, "a table [environment]"),
                                ("attackers", (list, tuple), "an array of tables [[attackers]]"),
                                ("defenders", (list, tuple), "an array of tables [[defenders]]")):
        if section in data:
            _check_shape(where, section, data[section], kind, what)
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
                check_name("kind", data["environment"]["kind"], ("poisoning", "federated"))
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
            name=check_str("name", game.get("name", Path(where).stem)),
            environment=env,
            n_attackers=game["n_attackers"],
            attackers=attackers,
            defenders=defenders,
            seeds=game.get("seeds", (DEFAULT_SEED,)),
            source=where,
        )
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{where}: {exc}") from None


def _check_shape(where: str, section: str, value: Any, kind: Any, what: str) -> None:
    if not isinstance(value, kind):
        raise SpecError(f"{where}: {section}: {show(value)} is not {what}")


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

