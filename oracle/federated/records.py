"""What a federated run returns: one :class:`RoundRecord` per round and the :class:`FederatedRun`
(:func:`oracle.federated.simulator.run_federated`), with its per-round table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from oracle.federated.attacks import FederatedAttacker
from oracle.federated.config import FederatedConfig
from strategies.defender import AggregatorStrategy

if TYPE_CHECKING:  # the records themselves are torch-free; a run's final state holds tensors
    import torch

__all__ = ["FederatedRun", "RoundRecord"]


@dataclass(frozen=True)
class RoundRecord:
    """What one round did and measured (round 0: the warm-started model).

    ``attackers`` holds the attacker index of every attacking slot (a pool
    may send several members), ``attacker_clients`` the pool client each
    slot stands for (−1 for fixed-frequency attackers), ``attacker_norms``
    each slot's ‖Δ‖ as submitted. ``kept_*``: what the aggregator used.
    Accuracies are NaN in rounds that were not evaluated.
    """

    round: int
    lr: float
    clients: tuple[int, ...]
    attackers: tuple[int, ...]
    attacker_clients: tuple[int, ...]
    attacker_norms: tuple[float, ...]
    kept_clients: tuple[int, ...]
    kept_attackers: tuple[int, ...]
    honest_norm_mean: float
    honest_norm_max: float
    main_acc: float
    backdoor_acc: float
    attacker_backdoor_acc: tuple[float, ...]
    ap_ratio: float
    honest_edge_acc: float
    seconds: float


def _ids(values: Sequence[int]) -> str:
    return " ".join(str(v) for v in values)


@dataclass(frozen=True)
class FederatedRun:
    """The result of :func:`~oracle.federated.simulator.run_federated`: the inputs and one
    :class:`RoundRecord` per round (round 0 first). ``final_state``: the
    final global model's state dict (CPU tensors)."""

    config: FederatedConfig
    aggregator: AggregatorStrategy
    attackers: tuple[FederatedAttacker, ...]
    records: tuple[RoundRecord, ...]
    client_sizes: tuple[int, ...]
    attacker_sizes: tuple[int, ...]
    pools: tuple[tuple[int, ...], ...]
    seconds: float
    device: dict[str, Any] = field(compare=False)
    final_state: dict[str, torch.Tensor] = field(compare=False, repr=False)
    batch_clients: bool = field(default=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per round. Columns: round, lr, clients / attackers /
        kept_clients / kept_attackers (space-separated ids), n_participants,
        n_kept, main_acc, backdoor_acc (task's edge case), then per attacker i:
        backdoor_acc_i, attacked_i (slots), kept_i (slots kept), norm_diff_i
        (largest ‖Δ‖ of its slots; NaN when absent); honest_norm_mean,
        honest_norm_max, ap_ratio, honest_edge_acc, seconds."""
        rows = []
        for r in self.records:
            row: dict[str, Any] = {
                "round": r.round,
                "lr": r.lr,
                "clients": _ids(r.clients),
                "attackers": _ids(r.attackers),
                "kept_clients": _ids(r.kept_clients),
                "kept_attackers": _ids(r.kept_attackers),
                "n_participants": len(r.clients) + len(r.attackers),
                "n_kept": len(r.kept_clients) + len(r.kept_attackers),
                "main_acc": r.main_acc,
                "backdoor_acc": r.backdoor_acc,
            }
            for i in range(len(self.attackers)):
                norms = [n for a, n in zip(r.attackers, r.attacker_norms) if a == i]
                row[f"backdoor_acc_{i}"] = r.attacker_backdoor_acc[i]
                row[f"attacked_{i}"] = len(norms)
                row[f"kept_{i}"] = r.kept_attackers.count(i)
                row[f"norm_diff_{i}"] = max(norms) if norms else math.nan
            row.update(
                honest_norm_mean=r.honest_norm_mean,
                honest_norm_max=r.honest_norm_max,
                ap_ratio=r.ap_ratio,
                honest_edge_acc=r.honest_edge_acc,
                seconds=r.seconds,
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_frame` as CSV (no index)."""
        self.to_frame().to_csv(path, index=False)

    def main_acc(self) -> np.ndarray:
        """Main-task accuracy per round (round 0 first)."""
        return np.array([r.main_acc for r in self.records])

    def backdoor_acc(self, attacker: int | None = None) -> np.ndarray:
        """Backdoor accuracy per round: the task's edge case (``None``) or
        attacker ``attacker``'s own set and target."""
        if attacker is None:
            return np.array([r.backdoor_acc for r in self.records])
        return np.array([r.attacker_backdoor_acc[attacker] for r in self.records])
