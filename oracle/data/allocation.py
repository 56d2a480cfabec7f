"""Allocation of a joint dataset between one defender and N attackers.

Implements the allocation of Datta & Shadbolt, "Backdoors Stuck at the
Frontdoor" (shared/papers/multi_agent_backdoor.txt), §6.2.1 and Figure 4:

* the defender owns a share ``V_d`` of the data;
* every attacker owns a share of ``(1 - V_d) / N_max`` of the data, sized on
  the *largest* number of attackers ``N_max`` of an experiment, so that an
  attacker's real poison rate stays the same as ``N`` varies::

      rho = (1 - V_d) * p / N_max                                    (§6.2.1)

* each attacker's share is split 80/20 into a *train-time* set (contributed
  to the joint dataset, poisoned at rate ``p``) and a *run-time* set (kept
  back to measure the attack at test time);
* the joint dataset -- the defender's share plus every attacker's train-time
  set -- is pooled and split 80/20 into the defender's *train* and
  *validation* sets (§6.2.2: "80% of the attacker's private dataset is
  contributed to the joint dataset, 20% reserved for evaluating in run-time
  ... 80% of joint dataset used for training, 20% for validation"; Fig. 4:
  train-time covers "the defender's train set, defender's validation set,
  and attacker's train-time set").  The validation set therefore holds some
  poisoned inputs, as the paper says of E2.

Everything is pure numpy and vectorised: one permutation of the data, cut
into contiguous blocks, so allocating 1,000 attackers costs the same array
operations as allocating one.

The sizes and the paper's formulas (share sizes, real poison rates, poisoned
counts, Table 5) are :mod:`oracle.data.budget`.

Attackers beyond ``N`` (when ``N < N_max``): the paper fixes the share size on
``N_max`` but does not say what becomes of the slots no attacker holds.  The
default here, ``unused="clean"``, lets the unused slots' train-time blocks
enter the joint dataset *clean* (as if honest contributors supplied them) and
leaves their run-time blocks out.  Then the joint dataset, its train /
validation split and hence ``rho = |X_i^poison| / |D|`` are identical for
every ``N``; only who owns (and poisons) each block changes.  ``unused="drop"``
leaves the unused slots out of the joint dataset altogether (the joint set
then shrinks with ``N``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from oracle.data.budget import (TABLE5_SETTINGS, PoisonBudget, max_attackers, poison_budget, poisoned_count,
                                real_poison_rate, share_size, split_size)
from strategies.validate import DEFAULT_SEED, check_int, check_real, out_of_range

__all__ = [
    "DEFAULT_SEED",
    "DEFENDER",
    "UNUSED",
    "TABLE5_SETTINGS",
    "Allocation",
    "PoisonBudget",
    "allocate",
    "check_allocation",
    "max_attackers",
    "poison_budget",
    "poisoned_count",
    "real_poison_rate",
    "share_size",
    "split_size",
    "stratified_permutation",
]  # the budget names are oracle.data.budget's, re-exported: the allocation's arithmetic

#: The paper's seed for every procedure that is not per attacker (§6.2.2).
#: Owner code of the defender's own (clean) images in the pooled sets.
DEFENDER = -1
#: Owner code of the clean train-time blocks of unused attacker slots.
UNUSED = -2

UnusedPolicy = Literal["clean", "drop"]
_UNUSED_POLICIES = ("clean", "drop")



def check_allocation(
    n_total: int,
    v_d: float,
    n_max: int,
    n_attackers: int | None = None,
    attacker_split: float = 0.8,
    defender_split: float = 0.8,
    *,
    unused: UnusedPolicy = "clean",
) -> None:
    """Raise ``ValueError`` unless :func:`allocate` can split ``n_total`` images
    with these sizes: every one of the ``N_max`` shares one train-time and one
    run-time image (``N_max ≤`` :func:`max_attackers`), and the pooled set one
    train and one validation image. Pure arithmetic, no arrays: a game spec
    checks its N with it when it is read. ``n_attackers`` defaults to N_max.
    """
    share = share_size(n_total, v_d, n_max)
    train_size = split_size(share, attacker_split)
    run_size = share - train_size
    if train_size < 1 or run_size < 1:
        most = max_attackers(n_total, v_d, attacker_split)
        fix = f"lower n_max to at most {most}" if most else "raise n_total"
        raise ValueError(
            f"share_size = floor((1 - v_d) * n_total / n_max) = {share} with attacker_split = "
            f"{attacker_split:g} leaves {train_size} train-time and {run_size} run-time images; "
            f"allowed: at least 1 of each ({fix}, or lower v_d; n_total = {n_total}, v_d = {v_d:g}, n_max = {n_max})"
        )
    n = n_max if n_attackers is None else n_attackers
    defender_share = n_total - n_max * share
    pool = defender_share + n * train_size + ((n_max - n) * train_size if unused == "clean" else 0)
    n_train = split_size(pool, defender_split)
    if n_train < 1 or n_train >= pool:
        raise ValueError(
            f"the pooled set of {pool} images with defender_split = {defender_split:g} "
            f"gives {n_train} train and {pool - n_train} validation images; "
            f"allowed: at least 1 of each (raise n_total or v_d)"
        )


# --------------------------------------------------------------------------
# permutations


def stratified_permutation(labels: np.ndarray, seed: int | np.random.Generator = DEFAULT_SEED) -> np.ndarray:
    """A random permutation of ``range(len(labels))`` whose every contiguous
    block holds the classes in (nearly) the proportions of the whole.

    Within each class the order is random; the k-th of the ``c`` members of a
    class gets the key ``(k + u) / c`` with ``u ~ U[0, 1)``, and the
    permutation sorts by key.  Any prefix then holds each class within one
    image of its proportional count, so any contiguous block holds it within
    two.  Vectorised: two argsorts.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels has shape {labels.shape}; allowed: 1-D (N,)")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = labels.shape[0]
    perm = rng.permutation(n)
    _, inverse, counts = np.unique(labels[perm], return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    by_class = np.argsort(inverse, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, dtype=np.int64)
    rank[by_class] = np.arange(n) - np.repeat(starts, counts)
    key = (rank + rng.random(n)) / counts[inverse]
    return perm[np.argsort(key, kind="stable")]


def _permutation(n: int, labels: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    if labels is None:
        return rng.permutation(n)
    return stratified_permutation(labels, rng)


# --------------------------------------------------------------------------
# the allocation


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.int64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Allocation:
    """Index arrays into the joint dataset (all int64, read-only).

    Attacker arrays are flat and grouped by attacker, each with an ``owner``
    vector of the same length (attacker ``i`` in ``0 .. N-1``); since every
    attacker holds the same number of images, ``array.reshape(N, -1)`` gives
    one row per attacker (see ``share_of`` and friends).  The pooled
    ``defender_train`` / ``defender_val`` owners are ``i >= 0`` for attacker
    ``i``'s train-time images, ``DEFENDER`` (-1) for the defender's share and
    ``UNUSED`` (-2) for clean train-time blocks of unused slots.

    Slot ``i`` of the permutation is the same for every ``N <= N_max`` (same
    seed, ``n_total``, ``N_max``, ``V_d``): attacker ``i`` holds the same
    images whether there are 1 or 1,000 attackers.
    """

    n_total: int
    n_attackers: int
    n_max: int
    v_d: float
    seed: int
    attacker_split: float
    defender_split: float
    unused: UnusedPolicy
    stratified: bool
    share_size: int
    train_time_size: int
    run_time_size: int
    defender_share: np.ndarray
    attacker_share: np.ndarray
    attacker_owner: np.ndarray
    train_time: np.ndarray
    train_time_owner: np.ndarray
    run_time: np.ndarray
    run_time_owner: np.ndarray
    unused_share: np.ndarray
    defender_train: np.ndarray
    defender_train_owner: np.ndarray
    defender_val: np.ndarray
    defender_val_owner: np.ndarray

    def __repr__(self) -> str:
        return (
            f"Allocation(n_total={self.n_total}, n_attackers={self.n_attackers}, "
            f"n_max={self.n_max}, v_d={self.v_d}, share={self.share_size} "
            f"({self.train_time_size} train-time + {self.run_time_size} run-time), "
            f"defender_share={self.defender_share.size}, train={self.defender_train.size}, "
            f"val={self.defender_val.size}, unused={self.unused!r}, seed={self.seed})"
        )

    # -- per-attacker views -------------------------------------------------
    def _attacker(self, i: int) -> int:
        return check_int("attacker", i, 0, self.n_attackers - 1)

    def share_of(self, i: int) -> np.ndarray:
        """Attacker ``i``'s whole share (train-time then run-time)."""
        i = self._attacker(i)
        return self.attacker_share[i * self.share_size : (i + 1) * self.share_size]

    def train_time_of(self, i: int) -> np.ndarray:
        i = self._attacker(i)
        return self.train_time[i * self.train_time_size : (i + 1) * self.train_time_size]

    def run_time_of(self, i: int) -> np.ndarray:
        i = self._attacker(i)
        return self.run_time[i * self.run_time_size : (i + 1) * self.run_time_size]

    @property
    def joint(self) -> np.ndarray:
        """The joint (pooled) dataset: defender train then validation indices."""
        return np.concatenate((self.defender_train, self.defender_val))

    # -- poisoning budget ---------------------------------------------------
    def budget(self, p: float) -> PoisonBudget:
        """Real poison rate and poisoned counts per attacker at poison rate ``p``."""
        return poison_budget(self.n_total, self.v_d, self.n_max, p, self.attacker_split)

    def table5_row(self, ps: float | Sequence[float]) -> tuple[PoisonBudget, ...]:
        """One Table 5 cell per poison rate; ``str()`` of each reads ``0.00009 (5)``."""
        ps = (ps,) if np.isscalar(ps) else tuple(ps)  # type: ignore[arg-type]
        return tuple(self.budget(p) for p in ps)

    def poison_mask(self, p: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Boolean mask over ``train_time``: the images each attacker poisons.

        ``p`` is one poison rate for all attackers or one per attacker (shape
        ``(N,)``, e.g. escalation strategies).  Attacker ``i`` poisons the
        first ``round(p_i * train_time_size)`` images of its train-time set,
        which is already in random order.  Vectorised over attackers.
        """
        p_arr = np.asarray(p, dtype=float)
        if p_arr.ndim == 0:
            p_arr = np.full(self.n_attackers, float(p_arr))
        if p_arr.shape != (self.n_attackers,):
            raise ValueError(
                f"p has shape {p_arr.shape}; allowed: a scalar or shape ({self.n_attackers},)"
            )
        bad = ~((p_arr >= 0) & (p_arr <= 1))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            check_real(f"p[{i}]", float(p_arr[i]), 0.0, 1.0)
        if np.unique(p_arr).size == 1:
            k = np.full(self.n_attackers, poisoned_count(float(p_arr[0]), self.train_time_size))
        else:
            k = np.array([poisoned_count(float(q), self.train_time_size) for q in p_arr])
        position = np.arange(self.train_time.size) % max(self.train_time_size, 1)
        return position < k[self.train_time_owner]

    # -- reporting ------------------------------------------------------------
    def report(self, ps: float | Sequence[float] | None = None) -> str:
        """Human-readable summary; with ``ps``, also the Table 5 figures."""
        lines = [
            f"joint dataset of {self.n_total} images, N = {self.n_attackers} of "
            f"N_max = {self.n_max} attackers, V_d = {self.v_d:g}, seed {self.seed}",
            f"defender share {self.defender_share.size}; per attacker {self.share_size} = "
            f"{self.train_time_size} train-time + {self.run_time_size} run-time",
            f"pooled: {self.defender_train.size} train + {self.defender_val.size} validation"
            f" (unused slots: {self.unused}, {self.n_max - self.n_attackers} slots,"
            f" {self.unused_share.size} images)",
        ]
        if ps is not None:
            for b in self.table5_row(ps):
                lines.append(
                    f"p = {b.p:g}: real poison rate {b.real_poison_rate:.6g}, "
                    f"{b.n_poisoned} poisoned per attacker (Table 5 convention), "
                    f"{b.n_poisoned_train_time} of {b.train_time_size} train-time images"
                )
        return "\n".join(lines)


def allocate(
    n_total: int,
    labels: np.ndarray | None,
    n_attackers: int,
    n_max: int,
    v_d: float,
    seed: int = DEFAULT_SEED,
    attacker_split: float = 0.8,
    defender_split: float = 0.8,
    *,
    unused: UnusedPolicy = "clean",
) -> Allocation:
    """Split ``n_total`` images between a defender and ``n_attackers`` attackers.

    Parameters
    ----------
    n_total:
        Size of the whole dataset (the paper uses all of it, train + test).
    labels:
        Class labels, shape ``(n_total,)``, or ``None``.  With labels, every
        share and the train / validation split hold the classes in the
        proportions of the whole (``stratified_permutation``); without, the
        permutation is uniform.
    n_attackers, n_max:
        ``1 <= N <= N_max``; shares are sized on ``N_max``.
    v_d:
        The defender's share, in ``[0, 1)``.
    seed:
        Seeds the one permutation of the data and the pooled split.
    attacker_split, defender_split:
        Train-time fraction of each attacker share and train fraction of the
        pooled set, both in ``(0, 1)``.
    unused:
        ``"clean"`` (default): the train-time blocks of the ``N_max - N``
        unused slots join the pool clean; ``"drop"``: unused slots are left
        out.  See the module docstring.

    Layout: one permutation ``order``; ``order[j*s:(j+1)*s]`` is slot ``j``'s
    share (``s = share_size``), its first ``train_time_size`` entries the
    train-time set; ``order[N_max*s:]`` is the defender's share.
    """
    n_total = check_int("n_total", n_total, 1)
    n_max = check_int("n_max", n_max, 1)
    n_attackers = check_int("n_attackers", n_attackers, 1, n_max)
    v_d = check_real("v_d", v_d, 0.0, 1.0, high_open=True)
    attacker_split = check_real("attacker_split", attacker_split, 0.0, 1.0, low_open=True, high_open=True)
    defender_split = check_real("defender_split", defender_split, 0.0, 1.0, low_open=True, high_open=True)
    seed = check_int("seed", seed, 0)
    if unused not in _UNUSED_POLICIES:
        out_of_range("unused", unused, ", ".join(map(repr, _UNUSED_POLICIES)))
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n_total,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"labels has shape {labels.shape} and dtype {labels.dtype}; "
                f"allowed: integer labels of shape ({n_total},) or None"
            )

    check_allocation(n_total, v_d, n_max, n_attackers, attacker_split, defender_split, unused=unused)
    share = share_size(n_total, v_d, n_max)
    train_size = split_size(share, attacker_split)
    run_size = share - train_size

    rng = np.random.default_rng(seed)
    order = _permutation(n_total, labels, rng)
    n_slots = n_max * share
    slots = order[:n_slots].reshape(n_max, share)
    defender_share = order[n_slots:]

    active = slots[:n_attackers]
    owner_share = np.repeat(np.arange(n_attackers), share)
    train_time = active[:, :train_size].reshape(-1)
    run_time = active[:, train_size:].reshape(-1)
    unused_slots = slots[n_attackers:]

    pool_parts = [defender_share, train_time]
    owner_parts = [
        np.full(defender_share.size, DEFENDER),
        np.repeat(np.arange(n_attackers), train_size),
    ]
    if unused == "clean" and unused_slots.size:
        unused_train = unused_slots[:, :train_size].reshape(-1)
        pool_parts.append(unused_train)
        owner_parts.append(np.full(unused_train.size, UNUSED))
    pool = np.concatenate(pool_parts)
    pool_owner = np.concatenate(owner_parts)
    n_train = split_size(pool.size, defender_split)
    # Same pool (as a set and in this canonical order) for every N under
    # unused="clean", so the train / validation split does not depend on N.
    pool_order = _permutation(pool.size, None if labels is None else labels[pool], rng)
    train_idx, val_idx = pool_order[:n_train], pool_order[n_train:]

    return Allocation(
        n_total=n_total,
        n_attackers=n_attackers,
        n_max=n_max,
        v_d=v_d,
        seed=seed,
        attacker_split=attacker_split,
        defender_split=defender_split,
        unused=unused,
        stratified=labels is not None,
        share_size=share,
        train_time_size=train_size,
        run_time_size=run_size,
        defender_share=_ro(defender_share),
        attacker_share=_ro(active.reshape(-1)),
        attacker_owner=_ro(owner_share),
        train_time=_ro(train_time),
        train_time_owner=_ro(np.repeat(np.arange(n_attackers), train_size)),
        run_time=_ro(run_time),
        run_time_owner=_ro(np.repeat(np.arange(n_attackers), run_size)),
        unused_share=_ro(unused_slots.reshape(-1)),
        defender_train=_ro(pool[train_idx]),
        defender_train_owner=_ro(pool_owner[train_idx]),
        defender_val=_ro(pool[val_idx]),
        defender_val_owner=_ro(pool_owner[val_idx]),
    )
