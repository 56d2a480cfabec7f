"""Edge-case attackers of federated learning ("Attack of the Tails", §3-4).

Modes (paper §3, "(a)-(c)"; the authors' ``fl_trainer.py``):

``black-box``
    Data poisoning only: the attacker trains like an honest client (same lr,
    schedule and optimiser) on its set D' = D_edge ∪ D_clean.
``pgd``
    Projected gradient descent: the attacker trains on D' with its own lr
    and, every ``project_every`` batches and after the last batch of each
    local epoch, projects its weights onto the L2 ball of radius eps around
    the global model w_g it received (:func:`project_l2`), so that
    ‖w − w_g‖ ≤ eps passes norm-based defenses.
``pgd-replacement``
    PGD, then model replacement (Bagdasaryan et al., 2020):
    submits (n_S / n_a)(w_a − w_g) + w_g (:func:`model_replacement`); eps is
    chosen smaller beforehand so that the scaled update still passes.

Schedules (§4 "attack frequency"; Sun et al., 2019):

``fixed-frequency``
    The attacker takes part in rounds 1, 1 + k, 1 + 2k, … (``every = k``;
    the paper's default is k = 10), in addition to the m − 1 honest clients
    sampled that round (the authors sample m − 1 honest clients and add the
    attacker).
``fixed-pool``
    A pool of ⌈pool_fraction · K⌉ clients is drawn once; whenever the server
    samples a pool member, it trains as this attacker instead of on its own
    data. Several members may attack in one round.

PGD radius: eps_t = eps · eps_decay^(t−1) in round t. The authors decay eps
with the lr factor 0.998 against Krum and Multi-Krum and keep it fixed
otherwise (:func:`paper_attacker`).

Several attackers can run at once (multi-agent); each has its own edge-case
set and target (``edge``/``target``; default: the task's) and draws its data
and pool with its own index as the seed (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from strategies.validate import check_int, check_name, check_real, format_range, out_of_range, require
from strategies.federated import ATTACK_MODES, ATTACK_SCHEDULES, FederatedAttackStrategy

from oracle.federated.tasks import EdgeCaseSet, FederatedTask, draw_poison_set

__all__ = [
    "ATTACK_MODES",
    "ATTACK_SCHEDULES",
    "PAPER_PGD",
    "FederatedAttacker",
    "attacker_dataset",
    "draw_pools",
    "model_replacement",
    "paper_attacker",
    "project_l2",
]


#: Largest seed accepted by numpy's generators here.
_SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class FederatedAttacker(FederatedAttackStrategy):
    """One attacker of a federated run: how it trains, when it attacks, with what.

    The fields of :class:`strategies.federated.FederatedAttackStrategy`
    (mode, schedule, every, pool_fraction, eps, eps_decay, project_every, lr,
    local_epochs, n_edge, n_clean, target, name; validated by the same rules),
    plus its own edge-case images:

    edge : EdgeCaseSet or None
        Its edge-case images; None = the task's. ``target`` None means
        ``edge.target`` (or the task's).
    """

    edge: EdgeCaseSet | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.targets is not None:
            raise ValueError(f"targets={list(self.targets)}: one simulator attacker has one target; "
                             f"use target (FederatedAttackStrategy.attacker_fields resolves targets)")
        require(self.edge is None or isinstance(self.edge, EdgeCaseSet),
                f"edge={self.edge!r} is not an EdgeCaseSet: allowed an EdgeCaseSet or None")
        if self.edge is not None and self.n_edge is not None and self.n_edge > len(self.edge.x_train):
            out_of_range("n_edge", self.n_edge, f"{format_range(0, len(self.edge.x_train))} (edge {self.edge.name!r})")

    # -- what it does, when -------------------------------------------------
    @property
    def is_pgd(self) -> bool:
        return self.mode in ("pgd", "pgd-replacement")

    @property
    def replaces(self) -> bool:
        return self.mode == "pgd-replacement"

    def eps_at(self, round_: int) -> float:
        """The PGD radius in round ``round_``: eps · eps_decay^(round − 1)."""
        if self.eps is None:
            raise ValueError(f"mode {self.mode!r} has no PGD radius")
        return self.eps * self.eps_decay ** (round_ - 1)

    def edge_set(self, task: FederatedTask) -> EdgeCaseSet:
        return self.edge if self.edge is not None else task.edge

    def target_label(self, task: FederatedTask) -> int:
        return self.target if self.target is not None else self.edge_set(task).target

    def label(self, index: int) -> str:
        return self.name if self.name is not None else f"attacker {index} ({self.mode})"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data of every field that changes a run (``name`` left
        out; ``edge`` as its name and SHA-256 fingerprint)."""
        d: dict[str, Any] = self.attack_fields()
        d.pop("targets")
        d["edge"] = None if self.edge is None else {"name": self.edge.name, "sha256": self.edge.fingerprint()}
        return d


# --------------------------------------------------------------------------
# pure helpers
# --------------------------------------------------------------------------
def project_l2(w: torch.Tensor, w_global: torch.Tensor, eps: float) -> torch.Tensor:
    """Euclidean projection of ``w`` onto the ball {v : ‖v − w_global‖₂ ≤ eps}.

    P(w) = w_g + (w − w_g) · min(1, eps / ‖w − w_g‖₂)  (Wang et al., 2020,
    §3 (b); the authors' ``train(..., pgd_attack=True)``). Returns a new
    tensor; ``w`` itself is returned unchanged (not copied) when it is inside.
    """
    if w.shape != w_global.shape:
        raise ValueError(f"w has shape {tuple(w.shape)}, w_global {tuple(w_global.shape)}; allowed: equal shapes")
    eps = check_real("eps", eps, 0.0, None)
    diff = w - w_global
    norm = torch.linalg.vector_norm(diff)
    if norm <= eps:
        return w
    return w_global + diff * (eps / norm)


def model_replacement(
    w_attacker: torch.Tensor, w_global: torch.Tensor, n_total: float, n_attacker: float
) -> torch.Tensor:
    """The model-replacement submission (n_S / n_a)(w_a − w_g) + w_g.

    Bagdasaryan et al. (2020), "How to backdoor federated learning"; Wang et
    al. (2020) §3 (c). With data-count weights, FedAvg returns
    w_g + Σ_i (n_i / n_S)(w_i − w_g); if every honest w_i = w_g, the
    attacker's term (n_a / n_S)(n_S / n_a)(w_a − w_g) makes the new global
    model exactly w_a. ``n_total`` = n_S, the data count of everyone taking
    part in the round, the attacker included.
    """
    n_attacker = check_real("n_attacker", n_attacker, 0.0, None, low_open=True)
    n_total = check_real("n_total", n_total, n_attacker, None)
    return w_global + (w_attacker - w_global) * (n_total / n_attacker)


def attacker_dataset(
    task: FederatedTask, attacker: FederatedAttacker, index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Attacker ``index``'s training set (x uint8 NHWC, y int64): ``n_edge``
    images of its edge-case set labelled with its target, plus ``n_clean``
    clean training images of the task, drawn with seed ``index``
    (:func:`oracle.federated.tasks.draw_poison_set`)."""
    edge = attacker.edge_set(task)
    if edge.shape != task.shape:
        raise ValueError(f"attacker {index}: edge-case images {edge.shape} do not match the task's {task.shape}")
    target = attacker.target_label(task)
    check_int(f"attackers[{index}].target", target, 0, task.num_classes - 1)
    # the task's default count, capped by the size of the attacker's own edge-case set
    n_edge = min(task.n_edge, len(edge.x_train)) if attacker.n_edge is None else attacker.n_edge
    n_clean = task.n_clean if attacker.n_clean is None else attacker.n_clean
    return draw_poison_set(
        edge.x_train, target, task.dataset.x_train, task.dataset.y_train, n_edge, n_clean, seed=index
    )


def draw_pools(attackers: Sequence[FederatedAttacker], n_clients: int) -> tuple[tuple[int, ...], ...]:
    """The client pool of every fixed-pool attacker (empty for the others).

    Attacker i draws its pool with ``numpy.random.default_rng(i)`` from the
    clients not already in an earlier attacker's pool, so pools are disjoint.
    Raises ValueError when the pools do not fit in ``n_clients`` clients.
    """
    taken: set[int] = set()
    pools: list[tuple[int, ...]] = []
    for i, attacker in enumerate(attackers):
        if attacker.schedule != "fixed-pool":
            pools.append(())
            continue
        free = np.array(sorted(set(range(n_clients)) - taken), np.int64)
        size = attacker.pool_size(n_clients)
        if size > len(free):
            raise ValueError(
                f"attacker {i}: pool of {size} clients (pool_fraction={attacker.pool_fraction}) does not fit: "
                f"{len(free)} of {n_clients} clients are left outside earlier pools"
            )
        pool = np.sort(np.random.default_rng(i).choice(free, size=size, replace=False))
        taken.update(int(c) for c in pool)
        pools.append(tuple(int(c) for c in pool))
    return tuple(pools)


# --------------------------------------------------------------------------
# the paper's attacker settings
# --------------------------------------------------------------------------
#: PGD radii of the paper (App. A, "Hyper-parameters used within the
#: attacking schemes") and attacker lr (NOTES.md): (task, mode) →
#: {"norm-clipping": eps, "other": eps, "lr": lr}. "other" is what the
#: authors used against Krum, Multi-Krum and RFA (and here for the
#: remaining aggregators too).
PAPER_PGD: dict[tuple[str, str], dict[str, float]] = {
    ("southwest", "pgd"): {"norm-clipping": 2.0, "other": 1.5, "lr": 0.02},
    ("southwest", "pgd-replacement"): {"norm-clipping": 0.1, "other": 0.083, "lr": 0.02},
    ("ardis", "pgd"): {"norm-clipping": 1.5, "other": 1.0, "lr": 0.1},
    ("ardis", "pgd-replacement"): {"norm-clipping": 0.3, "other": 0.25, "lr": 0.1},
}
#: The authors decay eps by this factor per round against Krum and Multi-Krum.
PAPER_EPS_DECAY = 0.998
_DECAYED = ("krum", "multi-krum")


def paper_attacker(task: str, mode: str, aggregator: str = "fedavg", **overrides: Any) -> FederatedAttacker:
    """The paper's attacker for ``task`` and ``mode`` against ``aggregator``:
    fixed-frequency every 10 rounds; for the PGD modes the radius of
    :data:`PAPER_PGD` (the norm-clipping value against ``norm-clipping`` and
    ``fedavg``, the "other" one otherwise), decayed by 0.998 per round
    against Krum and Multi-Krum, projection every 10 batches. ``overrides``
    replace any field."""
    check_name("attack mode", mode, ATTACK_MODES)
    fields: dict[str, Any] = {"mode": mode, "schedule": "fixed-frequency", "every": 10}
    if mode != "black-box":
        if (task, mode) not in PAPER_PGD:
            check_name("task", task, sorted({t for t, _ in PAPER_PGD}))
        table = PAPER_PGD[(task, mode)]
        key = "norm-clipping" if aggregator in ("norm-clipping", "fedavg") else "other"
        fields.update(
            eps=table[key],
            lr=table["lr"],
            project_every=10,
            eps_decay=PAPER_EPS_DECAY if aggregator in _DECAYED else 1.0,
        )
    fields.update(overrides)
    return FederatedAttacker(**fields)

