"""What one oracle run measured for one profile and one seed.

An :class:`Outcome` is plain data (numbers, strings, lists), serialisable to
JSON without pickle, so it can be stored in the SQLite cache and shared.

For every attacker i (DESIGN.md, vocabulary):

① ``asr[i]``: accuracy w.r.t. its target label on its triggered run-time
  inputs (its attack success rate), raw, as the paper reports it;
  ``asr_excluding_target[i]``: the same over the inputs whose clean label is
  not already the target (NaN when there are none);
② ``clean_label_acc[i]``: accuracy w.r.t. the clean labels on the same
  triggered inputs;
③ ``clean_acc[i]``: accuracy w.r.t. clean labels on its run-time inputs
  without the trigger.

Plus the defender's validation accuracy and clean test accuracy, timings,
and the environment's fingerprint (device, library versions).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from strategies.validate import DEFAULT_SEED
from oracle.store.payoff_rules import attack_rate, attack_spread, collective

__all__ = ["Outcome", "collective"]


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=float).ravel())


@dataclass(frozen=True)
class Outcome:
    """Per-attacker metrics of one trained victim (one profile, one seed)."""

    asr: tuple[float, ...]
    asr_excluding_target: tuple[float, ...]
    clean_label_acc: tuple[float, ...]
    clean_acc: tuple[float, ...]
    targets: tuple[int, ...]
    defender_val_acc: float
    defender_test_acc: float = float("nan")
    seed: int = DEFAULT_SEED
    timings: Mapping[str, float] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("asr", "asr_excluding_target", "clean_label_acc", "clean_acc"):
            object.__setattr__(self, name, _floats(getattr(self, name)))
        object.__setattr__(self, "targets", tuple(int(t) for t in self.targets))
        n = len(self.asr)
        for name in ("asr_excluding_target", "clean_label_acc", "clean_acc", "targets"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"outcome field {name} has {len(getattr(self, name))} entries, expected {n} (one per attacker)")
        object.__setattr__(self, "timings", dict(self.timings))
        object.__setattr__(self, "environment", dict(self.environment))
        object.__setattr__(self, "extra", dict(self.extra))

    @property
    def n_attackers(self) -> int:
        return len(self.asr)

    @property
    def seconds(self) -> float | None:
        """Total run time in seconds: ``timings["total"]`` if there is one, else the sum of the
        durations in ``timings`` (entries named ``*_per_second`` are rates, not durations: federated
        outcomes stored before the rate moved to ``extra`` carry ``rounds_per_second``); None when
        there are none or they are not finite numbers."""
        timings = self.timings
        try:
            if "total" in timings:
                total = float(timings["total"])
            else:
                total = float(sum(float(v) for k, v in timings.items() if not str(k).endswith("_per_second")))
        except (TypeError, ValueError):
            return None
        return total if timings and math.isfinite(total) else None

    @property
    def attacker_payoff(self) -> float:
        """Collective attacker payoff: mean ① over the measured attackers (:mod:`oracle.store.payoff_rules`;
        the defender's payoff depends on the environment: ``rule_for(kind).defender(outcome)``)."""
        return attack_rate(self.asr)

    @property
    def attacker_payoff_std(self) -> float:
        return attack_spread(self.asr)

    def to_json(self) -> str:
        return json.dumps(_jsonable(asdict(self)), sort_keys=True, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> "Outcome":
        data = json.loads(text)
        for name in ("defender_val_acc", "defender_test_acc"):
            if data.get(name) is None:
                data[name] = float("nan")
        return cls(**data)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else (None if math.isnan(float(x)) else float(x))
    if isinstance(x, np.integer):
        return int(x)
    return x
