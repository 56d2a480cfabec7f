"""Poisoning: the joint dataset of one attacker profile.

Datta & Shadbolt, "Backdoors Stuck at the Frontdoor"
(shared/papers/multi_agent_backdoor.txt), §4, §6.2.1 and Figure 4.  Given a
dataset and the ``N`` actions of an attacker profile, build

* the defender's clean share,
* each attacker ``i``'s train-time set, a fraction ``p_i`` of it stamped with
  attacker ``i``'s trigger and relabelled to its target (dirty-label BadNet,
  Gu et al. 2019: ``x_poison = x ⊙ (1 − z_i) + m_i ⊙ z_i``, ``y = target_i``),
* the pooled joint dataset (defender share + train-time sets) split into the
  defender's train and validation sets -- the validation set holds poisoned
  inputs too, as the paper says of E2 --
* each attacker's run-time set, fully triggered, for measuring ①/② (and,
  untriggered, ③),

as arrays (:class:`JointDataset`), vectorised over attackers: one allocation
(:func:`oracle.data.allocation.allocate`), one :func:`strategies.make_triggers`
call, one :func:`strategies.apply_triggers` call for the poisoned train-time
images of all attackers and one for all run-time images.  No Python loop runs
over images or attackers (only over fixed-size chunks of images when gathering
them from the dataset).

Decisions
---------
*Held-out clean test set.*  The paper allocates the whole dataset (train +
test, §6.2.3) and measures clean accuracy ③ on the attackers' run-time inputs
without their trigger (``runtime_x_clean``).  By default
(``test_fraction=0.0``) we do the same and carve out nothing, so Table 5's
counts are reproduced at ``n_total = 60,000``; ``x_test`` / ``y_test`` are
then empty.  With ``test_fraction > 0`` a (by default class-stratified)
``floor(test_fraction · n_total)`` images of the whole dataset are first set
aside as a clean test set (for the defender's clean test accuracy), drawn from
``numpy.random.default_rng([TEST_SPLIT_STREAM, seed])``; the rest, in its
original order, is allocated as above (so shares and counts shrink
accordingly).

*Which images are poisoned.*  Exactly those of ``Allocation.poison_mask(p)``
with ``p_i = actions[i].p`` (per attacker, so escalation of ``p`` is
supported): the first ``round_half_up(p_i · train_time_size)`` images of
attacker ``i``'s train-time set, which is a block of the allocation's seeded
random permutation.  Hence the poisoned subset is determined by ``seed`` (the
project's 3407 by default; a different seed gives a different subset), is the
same for every ``N ≤ N_max`` for a given attacker slot, and is nested in
``p`` (the images poisoned at ``p = 0.15`` are among those poisoned at
``0.55``).  An image whose clean label already is the target is poisoned all
the same (BadNet does not skip them); ``y_*_clean`` keeps the clean labels.

*Seeds.*  ``seed`` drives the allocation (permutation and train/validation
split) and the test carve-out; the triggers are seeded per attacker by each
action's ``trigger_seed`` (the attacker's index, or 0 for a shared trigger),
as the paper does (§6.2.2).  Same inputs ⇒ same arrays, bit for bit.

*Owners.*  Attacker ``i`` is ``actions[i]``; ``actions[i].index`` must be
``i`` (as :meth:`strategies.AttackerStrategy.expand` makes them), so that slot
``i`` of the allocation, row ``i`` of the triggers and attacker index ``i``
agree.  Owner codes in the pooled sets: ``i ≥ 0`` an attacker's train-time
image, :data:`~oracle.data.allocation.DEFENDER` (−1) the defender's share,
:data:`~oracle.data.allocation.UNUSED` (−2) the clean train-time blocks of attacker
slots no attacker holds when ``N < N_max``.

*Triggers.*  ``random-badnet``, ``orthogonal-badnet``, ``patch-badnet`` and
shared triggers go through :func:`strategies.make_triggers` (which honours
each action's ``eps``, e.g. under escalation).  ``edge-case`` needs the
edge-case inputs themselves (the federated simulation, :mod:`oracle.federated`)
and raises ``NotImplementedError`` here.

*Clean-label attackers* (Turner et al., 2019, as E5 of the paper uses it).  A
clean-label attacker may only poison inputs whose clean label already is its
target, and keeps their labels.  Attacker ``i`` with ``trigger =
"clean-label"`` poisons the first ``round(p_i · c_i)`` of the ``c_i``
target-class images of its train-time set (``p`` is the share of *those* it
poisons: the others' labels would have to change).  Each poisoned image is
first made hard to learn by ``perturb(i, x, y, private_x, private_y)`` — the
oracle passes a PGD perturbation computed on a surrogate trained on the
attacker's own private share (:mod:`oracle.attacks.clean_label`) — and then stamped
with the attacker's Random-BadNet trigger.  Run-time inputs are triggered as
for BadNet, without a perturbation.  ``perturb`` is a plain callable, so this
module stays free of torch.

Memory: images are gathered from ``dataset.x_train`` / ``x_test`` directly,
in chunks, without concatenating the whole dataset first; each output array
is written once (CIFAR-10, 60,000 images, ``V_d = 0.1``: about 150 MB for
train + validation and 65 MB for the two run-time arrays).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from strategies import TRIGGERS, AttackerAction, Triggers, apply_triggers, make_triggers
from strategies.validate import check_name

from oracle.data.allocation import (
    DEFAULT_SEED,
    DEFENDER,
    UNUSED,
    Allocation,
    UnusedPolicy,
    allocate,
    poisoned_count,
    split_size,
    stratified_permutation,
)
from oracle.data.dataset import Dataset

__all__ = [
    "DEFENDER",
    "TEST_SPLIT_STREAM",
    "UNUSED",
    "VALIDATION_SETS",
    "JointDataset",
    "Perturbation",
    "PoisonSummary",
    "build_joint_dataset",
]

log = logging.getLogger("backfire.poison")

#: Trigger names this module can poison with (pixel triggers; dirty labels, or
#: clean labels plus a caller-supplied perturbation for ``clean-label``).

#: ``perturb(attacker_index, x, y, private_x, private_y) -> x'``: the
#: clean-label attacker's perturbation of its poisoned images ``x`` (uint8
#: NHWC, clean labels ``y``), computed from its private share.
Perturbation = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: Second word of the seed of the held-out test carve-out,
#: ``default_rng([TEST_SPLIT_STREAM, seed])``, so that it draws a stream
#: independent of the allocation's ``default_rng(seed)``.
TEST_SPLIT_STREAM = 1

#: Images gathered per step from the dataset (32×32×3: 12 MB).
_GATHER_CHUNK = 4096


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


#: What the defender's validation set holds (:meth:`JointDataset.validation_set`,
#: ``TrainPreset.validation``): ``"poisoned"``, the validation split of the
#: pooled data as the attackers contributed it, poisoned inputs with their
#: poisoned labels (the paper's, §6.2.2: 20% of the joint dataset);
#: ``"clean"``, the same split without its poisoned inputs.
VALIDATION_SETS: tuple[str, ...] = ("poisoned", "clean")


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


# --------------------------------------------------------------------------
# helpers


def _check_actions(actions: Sequence[AttackerAction], num_classes: int) -> tuple[AttackerAction, ...]:
    if isinstance(actions, AttackerAction) or not isinstance(actions, Sequence):
        raise ValueError(f"actions = {actions!r} must be a sequence of AttackerAction")
    actions = tuple(actions)
    if not actions:
        raise ValueError("actions = () is empty; allowed: at least one AttackerAction (N ≥ 1)")
    for k, a in enumerate(actions):
        if not isinstance(a, AttackerAction):
            raise ValueError(f"actions[{k}] = {a!r} is not an AttackerAction")
        if a.index != k:
            raise ValueError(
                f"actions[{k}].index = {a.index}; allowed: {k} (attacker i must be actions[i], "
                f"as AttackerStrategy.expand makes them)"
            )
        a.check_classes(num_classes)
    for a in actions:
        if not TRIGGERS[a.trigger].pixel:
            pixel = ", ".join(name for name, spec in TRIGGERS.items() if spec.pixel)
            raise NotImplementedError(
                f"trigger {a.trigger!r} has no pixel trigger, so it cannot poison a joint dataset "
                f"(oracle/data/poison.py); allowed: {pixel}, or a plug-in TriggerSpec"
            )
    return actions


def _gather(dataset: Dataset, idx: np.ndarray) -> np.ndarray:
    """``dataset.whole()[0][idx]`` without building ``whole()``: images
    ``< n_train`` come from ``x_train``, the rest from ``x_test``; chunked so
    that temporaries stay small.  Returns a new C-contiguous array."""
    n_tr = dataset.n_train
    out = np.empty((idx.size, *dataset.shape), dtype=np.uint8)
    for start in range(0, idx.size, _GATHER_CHUNK):
        i = idx[start : start + _GATHER_CHUNK]
        dst = out[start : start + i.size]
        from_train = i < n_tr
        if from_train.all():
            np.take(dataset.x_train, i, axis=0, out=dst)
        elif not from_train.any():
            np.take(dataset.x_test, i - n_tr, axis=0, out=dst)
        else:
            dst[from_train] = dataset.x_train[i[from_train]]
            dst[~from_train] = dataset.x_test[i[~from_train] - n_tr]
    return out


def _clean_label_mask(mask: np.ndarray, alloc: Allocation, train_time_labels: np.ndarray, targets: np.ndarray,
                      actions: Sequence[AttackerAction], clean_label: np.ndarray) -> np.ndarray:
    """``mask`` with each clean-label attacker's rows replaced: the first
    ``round(p_i · c_i)`` of its ``c_i`` train-time images labelled with its
    target (train-time blocks are contiguous, ``train_time_size`` each)."""
    owner = alloc.train_time_owner
    candidate = train_time_labels == targets[owner]
    size = max(alloc.train_time_size, 1)
    # rank of each candidate among its owner's candidates
    csum = np.cumsum(candidate.reshape(-1, size), axis=1).reshape(-1) if candidate.size else candidate.astype(int)
    rank = csum - 1
    n_candidates = csum.reshape(-1, size)[:, -1] if candidate.size else np.zeros(len(actions), int)
    k = np.array([poisoned_count(a.p, int(c)) for a, c in zip(actions, n_candidates)], dtype=np.int64)
    clean_rows = clean_label[owner]
    out = mask.copy()
    out[clean_rows] = candidate[clean_rows] & (rank[clean_rows] < k[owner[clean_rows]])
    return out


def _checked_perturbation(x: np.ndarray, shape: tuple[int, ...], attacker: int) -> np.ndarray:
    x = np.asarray(x)
    if x.shape != shape or x.dtype != np.uint8:
        raise ValueError(f"perturb(...) for attacker {attacker} returned {x.dtype} {x.shape}; "
                         f"allowed: uint8 {shape}")
    return x


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _check_test_fraction(test_fraction: object) -> float:
    try:
        value = float(test_fraction)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"test_fraction = {test_fraction!r} must be a number") from None
    if not (0.0 <= value < 1.0):
        raise ValueError(f"test_fraction = {test_fraction!r} is out of range; allowed: test_fraction in [0, 1)")
    return value


def _split_test(
    labels: np.ndarray, test_fraction: float, seed: int, stratified: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(allocated, test) indices into ``whole()`` order, both sorted."""
    n = labels.size
    n_test = split_size(n, test_fraction) if test_fraction > 0 else 0
    if n_test == 0:
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng([TEST_SPLIT_STREAM, seed])
    order = stratified_permutation(labels, rng) if stratified else rng.permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


# --------------------------------------------------------------------------
# entry point


def build_joint_dataset(
    dataset: Dataset,
    actions: Sequence[AttackerAction],
    *,
    n_max: int,
    v_d: float,
    seed: int = DEFAULT_SEED,
    test_fraction: float = 0.0,
    attacker_split: float = 0.8,
    defender_split: float = 0.8,
    unused: UnusedPolicy = "clean",
    stratified: bool = True,
    perturb: Perturbation | None = None,
) -> JointDataset:
    """The joint dataset of the attacker profile ``actions`` on ``dataset``.

    Parameters
    ----------
    dataset:
        The whole dataset is used, train then test (``Dataset.whole()``
        order), as the paper does (§6.2.3).
    actions:
        The ``N`` attackers' actions, attacker ``i`` at position ``i`` with
        ``index = i`` (e.g. ``AttackerStrategy.expand(N, num_classes)``).
        Each action's ``p`` is its own poison rate, ``eps`` and
        ``trigger_seed`` define its trigger, ``target`` its poison label.
    n_max, v_d:
        Shares are ``floor((1 − V_d) · n / N_max)`` images per attacker
        (§6.2.1); ``1 ≤ N ≤ N_max``, ``V_d ∈ [0, 1)``.
    seed:
        Seeds the allocation and the test carve-out (paper: 3407).
    test_fraction:
        Fraction of the whole dataset set aside (stratified by class if
        ``stratified``) as a clean test set before allocating the rest; 0 (default, the paper's setup) sets
        nothing aside.  In ``[0, 1)``.
    attacker_split, defender_split, unused, stratified:
        Passed to :func:`oracle.data.allocation.allocate` (80/20 splits; unused
        slots' train-time blocks join the pool clean; class-stratified
        shares and test set).
    perturb:
        Needed when an attacker plays ``clean-label``: its perturbation of
        the poisoned images before the trigger (module docstring).

    Raises ``ValueError`` for invalid arguments (naming the field) and
    ``NotImplementedError`` for trigger methods this module cannot poison
    with (``edge-case``).
    """
    t0 = time.perf_counter()
    if not isinstance(dataset, Dataset):
        raise ValueError(f"dataset = {dataset!r} is not an oracle.data.dataset.Dataset")
    actions = _check_actions(actions, dataset.num_classes)
    test_fraction = _check_test_fraction(test_fraction)
    n = len(actions)

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} is out of range; allowed: an integer ≥ 0")
    seed = int(seed)

    labels = np.concatenate((dataset.y_train, dataset.y_test))
    allocated, test_idx = _split_test(labels, test_fraction, seed, stratified)
    alloc = allocate(
        allocated.size,
        labels[allocated] if stratified else None,
        n,
        n_max,
        v_d,
        seed,
        attacker_split,
        defender_split,
        unused=unused,
    )

    # global (whole()-order) indices
    idx_train = allocated[alloc.defender_train]
    idx_val = allocated[alloc.defender_val]
    idx_runtime = allocated[alloc.run_time]

    triggers = make_triggers(actions, dataset.shape)
    targets = np.array([a.target for a in actions], dtype=np.int64)

    # poisoned train-time images of all attackers: one apply_triggers call
    clean_label = np.array([a.trigger == "clean-label" for a in actions])
    mask = alloc.poison_mask(np.array([a.p for a in actions], dtype=np.float64))
    if clean_label.any():
        if perturb is None:
            raise ValueError("clean-label attackers need perturb= (the oracle passes a PGD perturbation "
                             "from oracle.attacks.clean_label); got perturb=None")
        mask = _clean_label_mask(mask, alloc, labels[allocated[alloc.train_time]], targets, actions, clean_label)
    idx_poison = allocated[alloc.train_time[mask]]
    owner_poison = alloc.train_time_owner[mask]
    x_poison = _gather(dataset, idx_poison)
    for i in np.flatnonzero(clean_label):
        rows = np.flatnonzero(owner_poison == i)
        if rows.size:
            private = allocated[alloc.train_time_of(int(i))]
            x_poison[rows] = _checked_perturbation(
                perturb(int(i), x_poison[rows], labels[idx_poison[rows]], _gather(dataset, private), labels[private]),
                x_poison[rows].shape, int(i))
    x_poison = apply_triggers(x_poison, owner_poison, triggers)
    row_of = np.full(labels.size, -1, dtype=np.int64)
    row_of[idx_poison] = np.arange(idx_poison.size)

    def pooled(idx: np.ndarray, owner: np.ndarray, x_poisoned: np.ndarray) -> tuple[np.ndarray, ...]:
        x = _gather(dataset, idx)
        row = row_of[idx]
        poisoned = row >= 0
        x[poisoned] = x_poisoned[row[poisoned]]
        y_clean = labels[idx]
        y = y_clean.copy()
        y[poisoned] = targets[owner[poisoned]]
        return x, y, y_clean, poisoned

    x_tr, y_tr, yc_tr, p_tr = pooled(idx_train, alloc.defender_train_owner, x_poison)
    x_va, y_va, yc_va, p_va = pooled(idx_val, alloc.defender_val_owner, x_poison)
    del x_poison  # no closure holds it (pyflakes flagged the old closure as an undefined name after del)

    # run-time sets: every input triggered with its owner's trigger
    rt_owner = alloc.run_time_owner
    rt_clean = _gather(dataset, idx_runtime)
    rt_x = apply_triggers(rt_clean, rt_owner, triggers)

    x_test = _gather(dataset, test_idx)

    out = JointDataset(
        dataset_name=dataset.name,
        num_classes=dataset.num_classes,
        class_names=dataset.class_names,
        seed=alloc.seed,
        test_fraction=test_fraction,
        actions=actions,
        triggers=triggers,
        allocation=alloc,
        index_allocated=_ro(allocated),
        x_train=_ro(x_tr),
        y_train=_ro(y_tr),
        y_train_clean=_ro(yc_tr),
        poisoned_train=_ro(p_tr),
        owner_train=alloc.defender_train_owner,
        index_train=_ro(idx_train),
        x_val=_ro(x_va),
        y_val=_ro(y_va),
        y_val_clean=_ro(yc_va),
        poisoned_val=_ro(p_va),
        owner_val=alloc.defender_val_owner,
        index_val=_ro(idx_val),
        runtime_x=_ro(rt_x),
        runtime_x_clean=_ro(rt_clean),
        runtime_y=_ro(labels[idx_runtime]),
        runtime_target=_ro(targets[rt_owner]),
        runtime_owner=rt_owner,
        index_runtime=_ro(idx_runtime),
        x_test=_ro(x_test),
        y_test=_ro(labels[test_idx]),
        index_test=_ro(test_idx),
    )
    log.info("built %r in %.2f s", out, time.perf_counter() - t0)
    return out
