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

*Stylised attackers* (E3, App. 6.2.4).  An attacker with ``style != "none"``
stylises its whole train-time set -- the clean and the to-be-poisoned images
-- with ``stylize(x, style, style_alpha)`` (AdaIN,
:mod:`oracle.attacks.adain`) *before* its trigger is stamped: "stylizing each
attacker's sub-dataset before the insertion of backdoor or adversarial
perturbations".  Its run-time inputs are not stylised (the paper introduces
stylisation at train time only); the defender's share never is.

Memory: images are gathered from ``dataset.x_train`` / ``x_test`` directly,
in chunks, without concatenating the whole dataset first; each output array
is written once (CIFAR-10, 60,000 images, ``V_d = 0.1``: about 150 MB for
train + validation and 65 MB for the two run-time arrays).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
import numpy as np

from strategies import TRIGGERS, AttackerAction, apply_triggers, make_triggers
from strategies.validate import check_int, check_real, out_of_range, require

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
from oracle.data.joint import JointDataset, PoisonSummary

__all__ = [
    "DEFENDER",
    "TEST_SPLIT_STREAM",
    "UNUSED",
    "JointDataset",
    "Perturbation",
    "PoisonSummary",
    "Stylization",
    "build_joint_dataset",
]

log = logging.getLogger("backfire.poison")

#: Trigger names this module can poison with (pixel triggers; dirty labels, or
#: clean labels plus a caller-supplied perturbation for ``clean-label``).

#: ``perturb(attacker_index, x, y, private_x, private_y) -> x'``: the
#: clean-label attacker's perturbation of its poisoned images ``x`` (uint8
#: NHWC, clean labels ``y``), computed from its private share.
Perturbation = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: ``stylize(x, style, alpha) -> x'``: AdaIN stylisation of uint8 NHWC images with the named style
#: image at strength α (the oracle passes :func:`oracle.attacks.adain.stylize`).
Stylization = Callable[[np.ndarray, str, float], np.ndarray]

#: Second word of the seed of the held-out test carve-out,
#: ``default_rng([TEST_SPLIT_STREAM, seed])``, so that it draws a stream
#: independent of the allocation's ``default_rng(seed)``.
TEST_SPLIT_STREAM = 1

#: Images gathered per step from the dataset (32×32×3: 12 MB).
_GATHER_CHUNK = 4096


# --------------------------------------------------------------------------
# helpers


def _check_actions(actions: Sequence[AttackerAction], num_classes: int) -> tuple[AttackerAction, ...]:
    require(not isinstance(actions, AttackerAction) and isinstance(actions, Sequence),
            f"actions={actions!r} is not a sequence: allowed a sequence of AttackerAction")
    actions = tuple(actions)
    if not actions:
        out_of_range("actions", actions, "at least one AttackerAction (N >= 1)")
    for k, a in enumerate(actions):
        require(isinstance(a, AttackerAction), f"actions[{k}]={a!r} is not an AttackerAction")
        if a.index != k:
            out_of_range(f"actions[{k}].index", a.index,
                         f"{k} (attacker i is actions[i], as AttackerStrategy.expand makes them)")
        a.check_classes(num_classes)
    for a in actions:
        if not TRIGGERS[a.trigger].pixel:
            pixel = ", ".join(name for name, spec in TRIGGERS.items() if spec.pixel)
            raise NotImplementedError(
                f"trigger {a.trigger!r} has no pixel trigger, so it cannot poison a joint dataset "
                f"(oracle/data/poison.py): allowed {pixel}, or a plug-in TriggerSpec"
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


def _styled_train_time(dataset: Dataset, alloc: Allocation, allocated: np.ndarray,
                        actions: Sequence[AttackerAction], stylize: Stylization | None) -> tuple[np.ndarray, np.ndarray]:
    """``(idx, x)``: whole()-order indices of the stylised attackers' train-time images and those
    images stylised (each attacker with its own style and α), empty when nobody stylises."""
    styled = [i for i, a in enumerate(actions) if a.style != "none"]
    if not styled:
        return np.zeros(0, dtype=np.int64), np.zeros((0, *dataset.shape), dtype=np.uint8)
    if stylize is None:
        raise ValueError("stylised attackers need stylize= (the oracle passes oracle.attacks.adain.stylize); "
                         "got stylize=None")
    idx = [allocated[alloc.train_time_of(i)] for i in styled]
    x = [_checked_perturbation(stylize(_gather(dataset, j), actions[i].style, actions[i].style_alpha),
                               (j.size, *dataset.shape), i) for i, j in zip(styled, idx)]
    return np.concatenate(idx), np.concatenate(x)


def _checked_perturbation(x: np.ndarray, shape: tuple[int, ...], attacker: int) -> np.ndarray:
    x = np.asarray(x)
    if x.shape != shape or x.dtype != np.uint8:
        raise ValueError(f"the perturbation of attacker {attacker} returned {x.dtype} {x.shape}; "
                         f"allowed: uint8 {shape}")
    return x


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


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
    stylize: Stylization | None = None,
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
    stylize:
        Needed when an attacker plays a style: its AdaIN stylisation of its
        train-time images before the trigger (module docstring).

    Raises ``ValueError`` for invalid arguments (naming the field) and
    ``NotImplementedError`` for trigger methods this module cannot poison
    with (``edge-case``).
    """
    t0 = time.perf_counter()
    if not isinstance(dataset, Dataset):
        raise ValueError(f"dataset={dataset!r} is not an oracle.data.dataset.Dataset")
    actions = _check_actions(actions, dataset.num_classes)
    test_fraction = check_real("test_fraction", test_fraction, 0, 1, high_open=True)
    n = len(actions)

    seed = check_int("seed", seed, 0)

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
    style_idx, style_x = _styled_train_time(dataset, alloc, allocated, actions, stylize)
    style_row = np.full(labels.size, -1, dtype=np.int64)
    style_row[style_idx] = np.arange(style_idx.size)

    def gather(idx: np.ndarray) -> np.ndarray:
        """The images ``idx`` as the attackers contribute them (stylised where they stylise)."""
        x, row = _gather(dataset, idx), style_row[idx]
        x[row >= 0] = style_x[row[row >= 0]]
        return x

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
    x_poison = gather(idx_poison)
    for i in np.flatnonzero(clean_label):
        rows = np.flatnonzero(owner_poison == i)
        if rows.size:
            private = allocated[alloc.train_time_of(int(i))]
            x_poison[rows] = _checked_perturbation(
                perturb(int(i), x_poison[rows], labels[idx_poison[rows]], gather(private), labels[private]),
                x_poison[rows].shape, int(i))
    x_poison = apply_triggers(x_poison, owner_poison, triggers)
    row_of = np.full(labels.size, -1, dtype=np.int64)
    row_of[idx_poison] = np.arange(idx_poison.size)

    def pooled(idx: np.ndarray, owner: np.ndarray, x_poisoned: np.ndarray) -> tuple[np.ndarray, ...]:
        x = gather(idx)
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
