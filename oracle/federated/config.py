"""Configuration of a federated run, and the federated environment of a game spec (torch-free).

:class:`FederatedConfig` holds everything that defines a federated run besides
the attackers and the aggregator; :data:`FEDERATED_PRESETS` the paper's two
settings and a reduced one for two CPU cores. :class:`FederatedEnvironment` is
the ``[environment]`` table of a federated game spec (``kind = "federated"``):
a preset plus overrides. This module imports no torch, so specs load and
``backfire solve`` runs without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from strategies.validate import DEFAULT_SEED
from strategies.validate import SEED_MAX, check_bool, check_int, check_keys, check_name, check_real
from strategies.keys import content_key

from oracle.federated.tasks import TASK_NAMES

__all__ = ["FEDERATED_PRESETS", "PARTITIONS", "SIMULATOR_VERSION", "FederatedConfig", "FederatedEnvironment",
           "federated_preset"]

#: Bump when the loop changes in a way that changes results (cache keys).
SIMULATOR_VERSION = 1

PARTITIONS: tuple[str, ...] = ("dirichlet", "iid")


@dataclass(frozen=True)
class FederatedConfig:
    """Everything that defines a federated run besides the attackers and the
    aggregator. The defaults are the ``reduced`` preset.

    Attributes
    ----------
    task : ``"southwest"`` or ``"ardis"``.
    n_clients : K ≥ 1 clients (paper: 200 / 3383).
    clients_per_round : m in [1, K] (paper: 10 / 30).
    rounds : R ≥ 1 (paper: 500-1500 / 500).
    local_epochs : E ≥ 1 (paper: 2 / 5).
    lr, lr_decay : round t uses lr · lr_decay^(t−1) (paper: 0.02 / 0.1, 0.998).
    batch_size, momentum, weight_decay : the local SGD (paper: 0.9, 1e-4).
    alpha : Dirichlet concentration of the label partition (paper: 0.5).
    partition : ``"dirichlet"`` or ``"iid"`` (the paper's fairness run).
    warm_start_epochs : epochs of central training before FL (paper: 10).
    seed : in [0, 2³²−1] (project convention: 3407).
    n_train, n_test : optional stratified subset sizes (reduced runs).
    eval_every : evaluate every this many rounds (and in the last).
    augment : the task's augmentation (CIFAR-10: crop with 4-pixel padding
        and flip, as the authors' loaders; MNIST: none).
    fairness_client : client 0 also holds the task's almost-edge-case images
        (correctly labelled) and the AP ratio is measured (§4, Fig. 8).
    """

    task: str = "ardis"
    n_clients: int = 20
    clients_per_round: int = 5
    rounds: int = 10
    local_epochs: int = 2
    lr: float = 0.05
    lr_decay: float = 0.998
    batch_size: int = 32
    momentum: float = 0.9
    weight_decay: float = 1e-4
    alpha: float = 0.5
    partition: str = "dirichlet"
    warm_start_epochs: int = 2
    seed: int = DEFAULT_SEED
    n_train: int | None = 2000
    n_test: int | None = 1000
    eval_every: int = 1
    augment: bool = True
    fairness_client: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_name("task", self.task, TASK_NAMES)
        check_name("partition", self.partition, PARTITIONS)
        set_(self, "n_clients", check_int("n_clients", self.n_clients, 1))
        set_(self, "clients_per_round", check_int("clients_per_round", self.clients_per_round, 1, self.n_clients))
        for name in ("rounds", "local_epochs", "batch_size", "eval_every"):
            set_(self, name, check_int(name, getattr(self, name), 1))
        set_(self, "warm_start_epochs", check_int("warm_start_epochs", self.warm_start_epochs, 0))
        set_(self, "seed", check_int("seed", self.seed, 0, SEED_MAX))
        set_(self, "lr", check_real("lr", self.lr, 0.0, None, low_open=True))
        set_(self, "lr_decay", check_real("lr_decay", self.lr_decay, 0.0, 1.0, low_open=True))
        set_(self, "momentum", check_real("momentum", self.momentum, 0.0, 1.0, high_open=True))
        set_(self, "weight_decay", check_real("weight_decay", self.weight_decay, 0.0, None))
        set_(self, "alpha", check_real("alpha", self.alpha, 0.0, None, low_open=True))
        if self.n_train is not None:
            set_(self, "n_train", check_int("n_train", self.n_train, self.n_clients))
        if self.n_test is not None:
            set_(self, "n_test", check_int("n_test", self.n_test, 1))
        set_(self, "augment", check_bool("augment", self.augment))
        set_(self, "fairness_client", check_bool("fairness_client", self.fairness_client))

    def lr_at(self, round_: int) -> float:
        """lr · lr_decay^(round − 1)."""
        return self.lr * self.lr_decay ** (round_ - 1)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (every field)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FederatedConfig:
        names = [f.name for f in dataclasses.fields(cls)]
        check_keys("federated config", data, (), names)
        return cls(**dict(data))

    def key(self) -> str:
        """SHA-256 content key of :meth:`to_dict` and :data:`SIMULATOR_VERSION`."""
        return content_key("federated-config", {"simulator": SIMULATOR_VERSION, **self.to_dict()})


#: The paper's two settings (NOTES.md, App. A; batch 32 is the authors'
#: default for CIFAR-10, 512 the digit task's) and a reduced run for two CPU
#: cores (MNIST + ARDIS, LeNet, 2,000 images, 20 clients, 5 a round, 10 rounds).
FEDERATED_PRESETS: dict[str, FederatedConfig] = {
    "southwest": FederatedConfig(
        task="southwest", n_clients=200, clients_per_round=10, rounds=500, local_epochs=2,
        lr=0.02, batch_size=32, warm_start_epochs=10, n_train=None, n_test=None,
    ),
    "ardis": FederatedConfig(
        task="ardis", n_clients=3383, clients_per_round=30, rounds=500, local_epochs=5,
        lr=0.1, batch_size=512, warm_start_epochs=10, n_train=None, n_test=None,
    ),
    "reduced": FederatedConfig(),
}  # fmt: skip


def federated_preset(name: str, **overrides: Any) -> FederatedConfig:
    """A preset of :data:`FEDERATED_PRESETS`, with ``overrides`` applied (and validated)."""
    check_name("federated preset", name, FEDERATED_PRESETS)
    check_keys("federated config overrides", overrides, (), [f.name for f in dataclasses.fields(FederatedConfig)])
    return dataclasses.replace(FEDERATED_PRESETS[name], **overrides)



@dataclass(frozen=True)
class FederatedEnvironment:
    """The ``[environment]`` of a federated game spec: a preset of
    :data:`FEDERATED_PRESETS` with ``overrides`` of its fields (the seed comes
    from the game's seeds). Validated when built.

    >>> FederatedEnvironment("reduced", {"rounds": 20}).config().rounds
    20
    """

    preset: str = "reduced"
    overrides: tuple[tuple[str, Any], ...] = ()

    kind: ClassVar[str] = "federated"
    n_max: ClassVar[None] = None

    def __post_init__(self) -> None:
        check_name("federated preset", self.preset, FEDERATED_PRESETS)
        overrides = self.overrides
        if isinstance(overrides, Mapping):
            overrides = tuple(overrides.items())
        overrides = tuple(sorted((str(k), v) for k, v in overrides))
        if "seed" in dict(overrides):
            raise ValueError("overrides.seed: the seed comes from [game] seeds, not from the environment")
        object.__setattr__(self, "overrides", overrides)
        self.config()  # validates the overrides

    def config(self) -> FederatedConfig:
        return federated_preset(self.preset, **dict(self.overrides))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "preset": self.preset}
        if self.overrides:
            d["overrides"] = dict(self.overrides)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FederatedEnvironment":
        check_keys("environment", data, ("kind",), ("preset", "overrides"))
        if data["kind"] != cls.kind:
            raise ValueError(f"kind={data['kind']!r}: allowed 'federated' here")
        overrides = data.get("overrides", {})
        if not isinstance(overrides, Mapping):
            raise ValueError(f"overrides={overrides!r} is not a table of federated config fields")
        return cls(preset=data.get("preset", "reduced"), overrides=overrides)
