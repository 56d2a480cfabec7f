"""Attacker strategies of the federated game (Wang et al., *Attack of the Tails*, §3–4).

In the federated game, N attackers control clients of a federated-learning
run; each tries to plant an edge-case backdoor (Southwest planes → "truck",
ARDIS sevens → "1"). A :class:`FederatedAttackStrategy` is what the whole
population of N attackers plays: the attack mode with its parameters and when
the attackers take part. The defender's strategies are aggregation rules
(:class:`strategies.AggregatorStrategy`).

Modes: ``black-box`` (honest training on the attacker's poisoned data),
``pgd`` (projected gradient descent: ‖w − w_global‖₂ ≤ eps every
``project_every`` batches) and ``pgd-replacement`` (PGD, then model
replacement: the update scaled by n_S / n_attacker). Schedules:
``fixed-frequency`` (attack in rounds 1, 1 + every, …) and ``fixed-pool`` (a
pool of ``pool_fraction`` of the clients drawn once; any member sampled in a
round attacks).

Torch-free: specs and keys are built without it; the simulator
(:mod:`oracle.federated`) turns a strategy into its attackers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping

from .validate import check_int, check_keys, check_name, check_real, check_str, out_of_range
from .keys import content_key

__all__ = ["ATTACK_MODES", "ATTACK_SCHEDULES", "FederatedAttackStrategy", "check_attack_fields"]

ATTACK_MODES: tuple[str, ...] = ("black-box", "pgd", "pgd-replacement")
ATTACK_SCHEDULES: tuple[str, ...] = ("fixed-frequency", "fixed-pool")


def check_attack_fields(obj: Any) -> dict[str, Any]:
    """Validate the attack fields of ``obj`` (a strategy or a simulator attacker) and return them normalised.

    Fields: ``mode``, ``schedule``, ``every`` ≥ 1, ``pool_fraction`` in
    (0, 1], ``eps`` > 0 (required by the PGD modes, not allowed for
    black-box), ``eps_decay`` in (0, 1], ``project_every`` ≥ 1, ``lr`` > 0 or
    None (PGD modes only), ``local_epochs`` ≥ 1 or None, ``n_edge`` /
    ``n_clean`` / ``target`` ≥ 0 or None. Raises ``ValueError`` naming the
    field, the value and the allowed range.
    """
    out: dict[str, Any] = {
        "mode": check_name("attack mode", obj.mode, ATTACK_MODES),
        "schedule": check_name("attack schedule", obj.schedule, ATTACK_SCHEDULES),
        "every": check_int("every", obj.every, 1),
        "pool_fraction": check_real("pool_fraction", obj.pool_fraction, 0.0, 1.0, low_open=True),
        "eps_decay": check_real("eps_decay", obj.eps_decay, 0.0, 1.0, low_open=True),
        "project_every": check_int("project_every", obj.project_every, 1),
        "eps": obj.eps,
        "lr": obj.lr,
    }
    if out["mode"] == "black-box":
        for name in ("eps", "lr"):
            if getattr(obj, name) is not None:
                out_of_range(name, getattr(obj, name), "None for mode 'black-box' (it trains like an honest client), "
                                                       "or mode 'pgd' / 'pgd-replacement'")
    elif obj.eps is None:
        out_of_range("eps", None, f"(0, inf) for mode {obj.mode!r} (its PGD radius)")
    else:
        out["eps"] = check_real("eps", obj.eps, 0.0, None, low_open=True)
    if obj.lr is not None:
        out["lr"] = check_real("lr", obj.lr, 0.0, None, low_open=True)
    out["local_epochs"] = None if obj.local_epochs is None else check_int("local_epochs", obj.local_epochs, 1)
    for name in ("n_edge", "n_clean", "target"):
        value = getattr(obj, name)
        out[name] = None if value is None else check_int(name, value, 0)
    targets = getattr(obj, "targets", None)
    if targets is not None:
        if isinstance(targets, (str, bytes)) or not hasattr(targets, "__iter__"):
            raise ValueError(f"targets={targets!r}: allowed a list of labels (attacker i targets targets[i mod len])")
        targets = tuple(check_int(f"targets[{k}]", t, 0) for k, t in enumerate(targets))
        if not targets:
            raise ValueError("targets=[] is empty: allowed a non-empty list of labels, or leave it out")
        if out["target"] is not None:
            raise ValueError(f"target={out['target']} and targets={list(targets)}: give one of them")
    out["targets"] = targets
    if out["n_edge"] == 0 and out["n_clean"] == 0:
        raise ValueError("n_edge=0 and n_clean=0: the attacker needs at least one image")
    return out


@dataclass(frozen=True)
class FederatedAttackStrategy:
    """What the N attackers of a federated game play (module docstring).

    >>> s = FederatedAttackStrategy(mode="pgd", eps=1.0, every=10)
    >>> s.attacks_in(11), s.attacks_in(12)
    (True, False)
    >>> FederatedAttackStrategy(mode="pgd")
    Traceback (most recent call last):
    ...
    ValueError: eps=None is out of range: allowed (0, inf) for mode 'pgd' (its PGD radius)

    ``name`` labels the strategy in tables and is not part of its key.
    ``n_edge`` / ``n_clean``: each attacker's edge-case and clean images
    (None: the task's, Southwest 100 + 400, ARDIS 66 + 100); ``target``:
    None for the task's edge-case label. ``targets``: competing attackers,
    attacker i relabelling its edge cases to ``targets[i mod len(targets)]``
    (e.g. ``[1, 2]``: the first paper's label question asked in federated
    learning); give ``target`` or ``targets``, not both.
    """

    mode: str = "black-box"
    schedule: str = "fixed-frequency"
    every: int = 10
    pool_fraction: float = 0.01
    eps: float | None = None
    eps_decay: float = 1.0
    project_every: int = 10
    lr: float | None = None
    local_epochs: int | None = None
    n_edge: int | None = None
    n_clean: int | None = None
    target: int | None = None
    targets: tuple[int, ...] | None = None
    name: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("mode", "schedule", "every", "pool_fraction", "eps", "eps_decay",
                                         "project_every", "lr", "local_epochs", "n_edge", "n_clean", "target",
                                         "targets")

    def __post_init__(self) -> None:
        for name, value in check_attack_fields(self).items():
            object.__setattr__(self, name, value)
        if self.name is not None:
            check_str("name", self.name)

    def attacks_in(self, round_: int) -> bool:
        """fixed-frequency: whether the attackers join round ``round_`` (1-based)."""
        return self.schedule == "fixed-frequency" and (round_ - 1) % self.every == 0

    def pool_size(self, n_clients: int) -> int:
        """fixed-pool: max(1, round(pool_fraction · K)) clients per attacker."""
        return max(1, int(math.floor(self.pool_fraction * n_clients + 0.5)))

    def attack_fields(self) -> dict[str, Any]:
        """Every field but ``name``."""
        return {f: getattr(self, f) for f in self.FIELDS}

    def attacker_fields(self, index: int) -> dict[str, Any]:
        """The fields of attacker ``index``'s simulator attacker: ``targets``
        resolved to its own ``target``."""
        d = self.attack_fields()
        targets = d.pop("targets")
        if targets is not None:
            d["target"] = targets[index % len(targets)]
        return d

    def to_dict(self) -> dict[str, Any]:
        """Plain data: fields that differ from the defaults, and ``name`` when set."""
        defaults = {f.name: f.default for f in fields(self)}
        d = {f: v for f, v in self.attack_fields().items() if v != defaults[f]}
        if self.targets is not None:
            d["targets"] = list(self.targets)
        d["mode"] = self.mode
        if self.name is not None:
            d = {"name": self.name, **d}
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FederatedAttackStrategy":
        check_keys("federated attacker strategy", data, (), ("name", *cls.FIELDS))
        return cls(**dict(data))

    def key_data(self) -> dict[str, Any]:
        """What changes a run: every field but ``name``."""
        return self.attack_fields()

    def key(self) -> str:
        return content_key("federated-attack-strategy", self.key_data())

    @property
    def label(self) -> str:
        return self.name or self.mode
