"""A federated run's data on the device: the clients, the attackers, the test sets.

airbench's shape, as for victims: every honest client's images are one uint8
tensor on the device (:class:`RunData`), each client a tensor of indices into
it (the partition: IID or Dirichlet, seeded with the run's seed); each
attacker's own training set (:func:`oracle.federated.attacks.attacker_dataset`,
seeded with its index), the main test set and the distinct edge-case test
sets the backdoors are measured on. With ``fairness_client`` client 0 also
holds the task's almost-edge-case images (Attack of the Tails, §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from oracle.data.datasets import subset
from oracle.federated.attacks import FederatedAttacker, attacker_dataset
from oracle.federated.config import FederatedConfig
from oracle.federated.partition import dirichlet_partition, iid_partition
from oracle.federated.tasks import FederatedTask
from strategies.validate import format_range, out_of_range

__all__ = ["RunData", "prepare_data", "subset_task", "to_device"]


@dataclass
class RunData:
    """The run's tensors, all on one device."""

    x: torch.Tensor  # (N, H, W, C) uint8: every honest client's images
    y: torch.Tensor  # (N,) int64
    owner: torch.Tensor  # (N,) client of each image
    clients: list[torch.Tensor]  # per client: indices into x
    sizes: np.ndarray  # (K,) data counts
    x_test: torch.Tensor
    y_test: torch.Tensor
    attacker_xy: list[tuple[torch.Tensor, torch.Tensor]]
    backdoor_sets: list[tuple[torch.Tensor, int]]  # (edge test images, target), 0 = the task's
    attacker_backdoor: list[int]  # attacker i -> its entry in backdoor_sets
    honest_edge: tuple[torch.Tensor, torch.Tensor] | None


def subset_task(task: FederatedTask, config: FederatedConfig) -> FederatedTask:
    """The task on the config's stratified subset (seed ``config.seed``), if any."""
    if config.task != task.name:
        raise ValueError(f"config.task={config.task!r} but the task given is {task.name!r}")
    ds = task.dataset
    if config.n_train is None and config.n_test is None:
        return task
    n_train = ds.n_train if config.n_train is None else config.n_train
    n_test = ds.n_test if config.n_test is None else config.n_test
    return task.with_dataset(subset(ds, n_train, n_test, seed=config.seed))


def _partition(task: FederatedTask, config: FederatedConfig) -> tuple[np.ndarray, ...]:
    y = task.dataset.y_train
    if config.n_clients > len(y):
        out_of_range("n_clients", config.n_clients, f"{format_range(1, len(y))} (training images)")
    if config.partition == "iid":
        return iid_partition(len(y), config.n_clients, config.seed)
    return dirichlet_partition(y, config.n_clients, config.alpha, config.seed)


def to_device(x: np.ndarray, device: torch.device) -> torch.Tensor:
    """A copy of the array ``x`` on ``device``."""
    return torch.tensor(np.ascontiguousarray(x), device=device)


def _backdoor_sets(task: FederatedTask, attackers: Sequence[FederatedAttacker], dev: torch.device):
    """Distinct (edge-case test set, target) pairs: the task's first, then
    each attacker's when it differs; and each attacker's entry."""
    keys: list[tuple[int, int]] = [(id(task.edge), task.edge.target)]
    sets = [(to_device(task.edge.x_test, dev), task.edge.target)]
    which = []
    for a in attackers:
        key = (id(a.edge_set(task)), a.target_label(task))
        if key not in keys:
            keys.append(key)
            sets.append((to_device(a.edge_set(task).x_test, dev), key[1]))
        which.append(keys.index(key))
    return sets, which


def prepare_data(
    task: FederatedTask, config: FederatedConfig, attackers: Sequence[FederatedAttacker], dev: torch.device
) -> RunData:
    """The run's data on ``dev``: the partition of ``task``'s training set, the attackers' sets, the test sets."""
    parts = _partition(task, config)
    ds = task.dataset
    x, y = ds.x_train, ds.y_train
    owner = np.empty(len(y), np.int64)
    for k, p in enumerate(parts):
        owner[p] = k
    clients = [np.asarray(p, np.int64) for p in parts]
    honest_edge = None
    if config.fairness_client:
        extra = task.honest_edge_x
        extra_y = np.full(len(extra), task.honest_edge_label, np.int64)
        clients[0] = np.concatenate((clients[0], np.arange(len(y), len(y) + len(extra))))
        x, y = np.concatenate((x, extra)), np.concatenate((y, extra_y))
        owner = np.concatenate((owner, np.zeros(len(extra), np.int64)))
        honest_edge = (to_device(extra, dev), to_device(extra_y, dev))
    sets, which = _backdoor_sets(task, attackers, dev)
    attacker_xy = []
    for i, a in enumerate(attackers):
        ax, ay = attacker_dataset(task, a, i)
        attacker_xy.append((to_device(ax, dev), to_device(ay, dev)))
    return RunData(
        x=to_device(x, dev),
        y=to_device(y, dev),
        owner=to_device(owner, dev),
        clients=[to_device(c, dev) for c in clients],
        sizes=np.array([len(c) for c in clients], np.int64),
        x_test=to_device(ds.x_test, dev),
        y_test=to_device(ds.y_test, dev),
        attacker_xy=attacker_xy,
        backdoor_sets=sets,
        attacker_backdoor=which,
        honest_edge=honest_edge,
    )
