"""The joint dataset of one attacker profile (:class:`JointDataset`) and its poisoning counts
(:class:`PoisonSummary`, cf. Table 5 of Datta & Shadbolt); built by
:func:`oracle.data.poison.build_joint_dataset`, whose docstring says how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies import AttackerAction, Triggers
from strategies.validate import check_name

from oracle.data.allocation import Allocation

__all__ = ["VALIDATION_SETS", "JointDataset", "PoisonSummary"]

#: What the defender's validation set holds (:meth:`JointDataset.validation_set`,
#: ``TrainPreset.validation``): ``"poisoned"``, the validation split of the
#: pooled data as the attackers contributed it, poisoned inputs with their
#: poisoned labels (the paper's, §6.2.2: 20% of the joint dataset);
#: ``"clean"``, the same split without its poisoned inputs.
VALIDATION_SETS: tuple[str, ...] = ("poisoned", "clean")


# --------------------------------------------------------------------------
# summary


@dataclass(frozen=True, eq=False)
class PoisonSummary:
    """Per-attacker poisoning counts and real poison rates (cf. Table 5).

    Arrays have one entry per attacker (shape ``(N,)``):

    * ``target``, ``eps``, ``p``: the attacker's action;
    * ``n_train_time``: its train-time images (all in the joint dataset);
    * ``n_poisoned``: how many of them are poisoned,
      ``round(p · train_time_size)``; ``n_poisoned_train`` /
      ``n_poisoned_val``: how many of those landed in the defender's train /
      validation split;
    * ``n_runtime``: its run-time images (all triggered);
    * ``real_poison_rate``: ``n_poisoned / |D|``, ``|D|`` the joint dataset
      (train + validation), the paper's ``ρ = |X_i^poison| / |D|``;
    * ``nominal_rate``: the paper's formula ``(1 − V_d) · p / N_max``;
    * ``table5_count``: the paper's "(#)" figure, ``round(p · share_size)``;
    * ``table5``: the nominal rate and count as Table 5 prints them,
      e.g. ``"0.0005 (30)"`` (:class:`oracle.data.allocation.PoisonBudget`).
    """

    dataset_name: str
    n_attackers: int
    n_max: int
    v_d: float
    n_train: int
    n_val: int
    n_test: int
    target: np.ndarray
    eps: np.ndarray
    p: np.ndarray
    n_train_time: np.ndarray
    n_poisoned: np.ndarray
    n_poisoned_train: np.ndarray
    n_poisoned_val: np.ndarray
    n_runtime: np.ndarray
    real_poison_rate: np.ndarray
    nominal_rate: np.ndarray
    table5_count: np.ndarray
    table5: tuple[str, ...]

    @property
    def n_joint(self) -> int:
        """``|D|``: images in the joint dataset (train + validation)."""
        return self.n_train + self.n_val

    @property
    def total_poisoned(self) -> int:
        return int(self.n_poisoned.sum())

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-compatible)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            out[name] = v.tolist() if isinstance(v, np.ndarray) else list(v) if isinstance(v, tuple) else v
        out["n_joint"] = self.n_joint
        return out

    def __str__(self) -> str:
        head = (
            f"{self.dataset_name}: N = {self.n_attackers} of N_max = {self.n_max}, V_d = {self.v_d:g}; "
            f"joint dataset {self.n_joint} = {self.n_train} train + {self.n_val} validation, "
            f"test {self.n_test}; {self.total_poisoned} poisoned "
            f"({self.total_poisoned / max(self.n_joint, 1):.4%} of the joint dataset)"
        )
        cols = f"{'attacker':>8} {'target':>6} {'eps':>6} {'p':>6} {'train-time':>10} " \
               f"{'poisoned':>8} {'(train/val)':>11} {'run-time':>8} {'rho':>10} {'rho (paper, #)':>16}"  # fmt: skip
        rows = []
        n = self.n_attackers
        shown = range(n) if n <= 20 else [*range(10), -1, *range(n - 10, n)]
        for i in shown:
            if i < 0:
                rows.append(f"{'...':>8}")
                continue
            rows.append(
                f"{i:>8} {int(self.target[i]):>6} {float(self.eps[i]):>6.3g} {float(self.p[i]):>6.3g} "
                f"{int(self.n_train_time[i]):>10} {int(self.n_poisoned[i]):>8} "
                f"{f'{int(self.n_poisoned_train[i])}/{int(self.n_poisoned_val[i])}':>11} "
                f"{int(self.n_runtime[i]):>8} {float(self.real_poison_rate[i]):>10.3g} "
                f"{self.table5[i]:>16}"
            )
        return "\n".join([head, cols, *rows])


# --------------------------------------------------------------------------
# the joint dataset


@dataclass(frozen=True, eq=False)
class JointDataset:
    """The joint dataset of one profile, ready to train and evaluate on.

    Images are NHWC ``uint8``, labels ``int64``; every array is read-only.

    Defender's train split (likewise ``*_val`` for the validation split):

    * ``x_train``, ``y_train``: images and training labels (the target label
      for poisoned inputs, the clean label otherwise);
    * ``y_train_clean``: clean labels;
    * ``poisoned_train``: bool, the input carries a trigger;
    * ``owner_train``: attacker ``i ≥ 0``, ``DEFENDER`` (−1) or ``UNUSED`` (−2);
    * ``index_train``: index of the image in ``dataset.whole()`` order.

    Attackers' run-time sets (grouped by attacker, ``run_time_size`` each):
    ``runtime_x`` (triggered with the owner's trigger), ``runtime_x_clean``
    (the same inputs untriggered), ``runtime_y`` (clean labels),
    ``runtime_target`` (the owner's target), ``runtime_owner``,
    ``index_runtime``.

    ``x_test``, ``y_test``, ``index_test``: the clean held-out test set
    (empty unless ``test_fraction > 0``).

    ``allocation``: the :class:`~oracle.data.allocation.Allocation` used; its
    indices point into the allocated images, ``dataset.whole()`` order
    without the test set (``index_allocated`` maps them to ``whole()``
    order; the identity when there is no test set).
    """

    dataset_name: str
    num_classes: int
    class_names: tuple[str, ...]
    seed: int
    test_fraction: float
    actions: tuple[AttackerAction, ...]
    triggers: Triggers
    allocation: Allocation
    index_allocated: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    y_train_clean: np.ndarray
    poisoned_train: np.ndarray
    owner_train: np.ndarray
    index_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    y_val_clean: np.ndarray
    poisoned_val: np.ndarray
    owner_val: np.ndarray
    index_val: np.ndarray
    runtime_x: np.ndarray
    runtime_x_clean: np.ndarray
    runtime_y: np.ndarray
    runtime_target: np.ndarray
    runtime_owner: np.ndarray
    index_runtime: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    index_test: np.ndarray

    def __repr__(self) -> str:
        return (
            f"JointDataset({self.dataset_name!r}, N={self.n_attackers}, train={self.y_train.size} "
            f"({int(self.poisoned_train.sum())} poisoned), val={self.y_val.size} "
            f"({int(self.poisoned_val.sum())} poisoned), runtime={self.runtime_y.size}, "
            f"test={self.y_test.size}, seed={self.seed})"
        )

    @property
    def n_attackers(self) -> int:
        return len(self.actions)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def targets(self) -> np.ndarray:
        """Each attacker's target label, shape ``(N,)``."""
        return np.array([a.target for a in self.actions], dtype=np.int64)

    @property
    def has_test(self) -> bool:
        return self.y_test.size > 0

    def private_share(self, attacker: int) -> tuple[np.ndarray, np.ndarray]:
        """Attacker ``attacker``'s train-time set as it contributed it to the joint dataset: its images
        (the poisoned ones triggered) and its labels (the poisoned ones relabelled to its target), from
        the defender's train split then the validation split."""
        rows_tr = np.flatnonzero(self.owner_train == attacker)
        rows_va = np.flatnonzero(self.owner_val == attacker)
        return (np.concatenate((self.x_train[rows_tr], self.x_val[rows_va])),
                np.concatenate((self.y_train[rows_tr], self.y_val[rows_va])))

    def validation_set(self, holds: str = "poisoned") -> tuple[np.ndarray, np.ndarray]:
        """The defender's validation images and labels, holding what ``holds`` (one of
        :data:`VALIDATION_SETS`) says: ``"poisoned"``: ``(x_val, y_val)``, the split as pooled;
        ``"clean"``: the rows of that split with ``poisoned_val`` false (their labels are clean)."""
        check_name("validation", holds, VALIDATION_SETS, plural="validation sets")
        if holds == "poisoned":
            return self.x_val, self.y_val
        keep = ~self.poisoned_val
        return self.x_val[keep], self.y_val[keep]

    def summary(self) -> PoisonSummary:
        """Per-attacker counts and real poison rates (cf. Table 5)."""
        n = self.n_attackers
        a = self.allocation
        p = np.array([x.p for x in self.actions], dtype=np.float64)
        by_p = {q: a.budget(q) for q in set(p.tolist())}
        n_train = int(self.y_train.size)
        n_val = int(self.y_val.size)
        pt = np.bincount(self.owner_train[self.poisoned_train], minlength=n)
        pv = np.bincount(self.owner_val[self.poisoned_val], minlength=n)
        total = pt + pv
        return PoisonSummary(
            dataset_name=self.dataset_name,
            n_attackers=n,
            n_max=a.n_max,
            v_d=a.v_d,
            n_train=n_train,
            n_val=n_val,
            n_test=int(self.y_test.size),
            target=self.targets,
            eps=np.array([x.eps for x in self.actions], dtype=np.float64),
            p=p,
            n_train_time=np.full(n, a.train_time_size, dtype=np.int64),
            n_poisoned=total,
            n_poisoned_train=pt,
            n_poisoned_val=pv,
            n_runtime=np.bincount(self.runtime_owner, minlength=n),
            real_poison_rate=total / max(n_train + n_val, 1),
            nominal_rate=np.array([by_p[q].real_poison_rate for q in p.tolist()], dtype=np.float64),
            table5_count=np.array([by_p[q].n_poisoned for q in p.tolist()], dtype=np.int64),
            table5=tuple(str(by_p[q]) for q in p.tolist()),
        )
