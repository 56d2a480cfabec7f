"""Attacker actions, attacker population strategies and mixed strategies.

Datta & Shadbolt, *Backdoors Stuck at the Frontdoor*, §4 (attacker's
parameters), App. 6.1.8 (trigger algorithms) and §6.2.5 (E4, cooperation of
agents: label coordination, escalation, orthogonal triggers; Tables 3, 4, 6,
Figure 6).

* :class:`AttackerAction` — one attacker's choice: ``eps``, ``p``, target
  label, trigger generator, and its index (the seed of its trigger draw).
* :class:`AttackerStrategy` — what a population of attackers plays. It does
  not know N: :meth:`AttackerStrategy.expand` turns it into N actions,
  deterministically. Composable fields: a trigger name, base ``eps``/``p``,
  a *label policy* (:class:`RandomLabels`, :class:`FixedLabels`,
  :class:`CoordinatedLabels`), an optional :class:`Escalation`, a
  ``shared_trigger`` switch and a ``seed`` for the random labels.
* :class:`MixedAttackerStrategy` — a weighted set of attacker strategies whose
  payoff is the weighted mean of its components' payoffs (how Table 6's rows
  are built from Tables 3 and 4).

Conventions (all deterministic; see each class for details):

* attacker ``i`` (0-based) has ``index = i`` and, unless the trigger is
  shared, ``trigger_seed = i``: the paper's per-attacker seed;
* random target labels: ``numpy.random.RandomState(seed).randint(0, K,
  size=N, dtype=numpy.int64)`` in one call, attacker ``i`` takes element
  ``i``; ``seed`` defaults to the project's 3407. The legacy generator's
  stream is frozen by numpy (NEP 19) and draws element by element, so
  attacker ``i``'s random label does not depend on N;
* counts (coordinated attackers, escalated attackers) are
  ``round_half_up(fraction · N)``; remainders go to the first labels in the
  order given; counts always sum to N.

Every object is immutable, validated on construction (``ValueError`` naming
the field, the value and the allowed range), compares and hashes by value,
round-trips through :meth:`to_dict`/:meth:`from_dict` and
:meth:`to_toml`/:meth:`from_toml`, and has a content :meth:`key` (SHA-256 of
canonical JSON; the ``name`` of a strategy is a label and is left out).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import reduce
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Mapping, Sequence, Union

import numpy as np
import tomli_w

from .validate import (
    DEFAULT_SEED,
    SEED_MAX,
    check_bool,
    check_int,
    check_keys,
    check_name,
    check_real,
    check_str,
    round_half_up,
)
from .keys import content_key, plain
from .triggers import TRIGGERS, trigger_key

__all__ = [
    "DEFAULT_SEED",
    "PAPER_LABELS",
    "SHIFTS",
    "AttackerAction",
    "AttackerStrategy",
    "CoordinatedLabels",
    "Escalation",
    "FixedLabels",
    "LabelPolicy",
    "MixedAttackerStrategy",
    "RandomLabels",
    "attacker_strategy_from_dict",
    "label_policy_from_dict",
]


#: The five target classes of the paper's E4 (airplane, bird, deer, frog, ship).
PAPER_LABELS = (0, 2, 4, 6, 8)

_EPS_DEFAULT = 0.55
_P_DEFAULT = 0.55

#: Run-time shifts an attacker may add to its run-time inputs (paper E3):
#: ``"none"``, or ``"fgsm"``: the fast gradient sign method on the attacker's
#: own surrogate, at ``ε'_a = 0.1 · shift_eps`` (App. 6.2.4).
SHIFTS = ("none", "fgsm")


def _check_shift(shift: Any, shift_eps: Any) -> tuple[str, float]:
    shift = check_name("shift", shift, SHIFTS)
    shift_eps = check_real("shift_eps", shift_eps, 0.0, 1.0)
    if shift == "none" and shift_eps != 0.0:
        raise ValueError(f"shift_eps={shift_eps!r} needs a shift: allowed shift_eps = 0 with shift = 'none', "
                         f"or shift in {', '.join(SHIFTS[1:])}")
    return shift, shift_eps


def _with_shift(d: dict[str, Any], shift: str, shift_eps: float) -> dict[str, Any]:
    """``d`` plus the shift fields, left out when there is no shift (keys of older strategies stay as they were)."""
    if shift != "none":
        d["shift"] = shift
        d["shift_eps"] = shift_eps
    return d


def _toml_dumps(data: Mapping[str, Any]) -> str:
    return tomli_w.dumps(plain(data))


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"invalid TOML: {exc}") from exc


def _label_tuple(field: str, labels: Any) -> tuple[int, ...]:
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise ValueError(f"{field}={labels!r} is not a list of class labels")
    out = tuple(check_int(f"{field}[{k}]", v, 0) for k, v in enumerate(labels))
    if not out:
        raise ValueError(f"{field}=() is empty: give at least one class label")
    return out


def _check_labels_below(field: str, labels: int | Iterable[int], num_classes: int) -> None:
    items = [(field, labels)] if isinstance(labels, int) else [
        (f"{field}[{k}]", v) for k, v in enumerate(labels)
    ]
    for name, v in items:
        if v >= num_classes:
            raise ValueError(
                f"{name}={v} is out of range for num_classes={num_classes}: "
                f"allowed [0, {num_classes - 1}]"
            )


def _random_labels(n: int, num_classes: int, seed: int) -> np.ndarray:
    """``RandomState(seed).randint(0, num_classes, size=n, dtype=int64)``.

    The dtype is fixed so that the stream is the same on every platform
    (the default integer type differs on Windows)."""
    return np.random.RandomState(seed).randint(0, num_classes, size=n, dtype=np.int64)


def _layout(counts: Sequence[tuple[Any, int]]) -> list[Any]:
    """Lay out items with the given counts over attacker indices in
    ``g = gcd(counts)`` identical rounds; within a round the items come in
    the given order, each ``count / g`` times.

    ``[(2, 1), (4, 2), (6, 1), (8, 1)]`` → ``[2, 4, 4, 6, 8]``;
    ``[(2, 20), (4, 40), (6, 20), (8, 20)]`` → ``[2, 4, 4, 6, 8] × 20``.
    """
    counts = [(item, c) for item, c in counts if c > 0]
    if not counts:
        return []
    g = reduce(math.gcd, (c for _, c in counts))
    one_round = [item for item, c in counts for _ in range(c // g)]
    return one_round * g


# --------------------------------------------------------------------------- #
# attacker action
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class AttackerAction:
    """One attacker's choice (paper §4: ``b_i(X_i, Y_i^poison, ε_i, p_i)``).

    Attributes
    ----------
    index : int ≥ 0
        The attacker's position in the population (0-based).
    target : int ≥ 0
        Target (poison) label; checked against the number of classes by
        :meth:`AttackerStrategy.expand` and :meth:`check_classes`.
    eps : float in [0, 1]
        Perturbation rate ε: the share of the image the trigger perturbs.
    p : float in [0, 1]
        Poison rate: the share of the attacker's private data it backdoors.
    trigger : str
        A name in :data:`strategies.triggers.TRIGGERS`.
    trigger_seed : int in [0, 2**32 − 1], default ``index``
        Seed of the attacker's trigger draw (``RandomState(trigger_seed)``
        for Random-BadNet, ``ortho_group.rvs(H, random_state=trigger_seed)``
        for Orthogonal-BadNet). Equal to ``index`` by the paper's convention;
        0 for every attacker when the population shares one trigger.
    shift : str, default "none"
        Run-time shift (:data:`SHIFTS`): ``"fgsm"`` perturbs the attacker's
        run-time inputs with FGSM on its own surrogate (paper E3).
    shift_eps : float in [0, 1], default 0
        The shift's strength ε_a (FGSM: L∞ radius ``0.1 · ε_a`` of the
        [0, 1] pixel range); 0 unless there is a shift.
    """

    index: int
    target: int
    eps: float = _EPS_DEFAULT
    p: float = _P_DEFAULT
    trigger: str = "random-badnet"
    trigger_seed: int | None = None
    shift: str = "none"
    shift_eps: float = 0.0

    FIELDS: ClassVar[tuple[str, ...]] = ("index", "target", "eps", "p", "trigger", "trigger_seed", "shift",
                                         "shift_eps")

    def __post_init__(self) -> None:
        index = check_int("index", self.index, 0, SEED_MAX)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "target", check_int("target", self.target, 0))
        object.__setattr__(self, "eps", check_real("eps", self.eps, 0.0, 1.0))
        object.__setattr__(self, "p", check_real("p", self.p, 0.0, 1.0))
        object.__setattr__(self, "trigger", check_name("trigger", self.trigger, TRIGGERS))
        seed = index if self.trigger_seed is None else self.trigger_seed
        object.__setattr__(self, "trigger_seed", check_int("trigger_seed", seed, 0, SEED_MAX))
        shift, shift_eps = _check_shift(self.shift, self.shift_eps)
        object.__setattr__(self, "shift", shift)
        object.__setattr__(self, "shift_eps", shift_eps)

    def check_classes(self, num_classes: int) -> "AttackerAction":
        """Raise unless ``target < num_classes``; return ``self``."""
        num_classes = check_int("num_classes", num_classes, 1)
        if self.target >= num_classes:
            raise ValueError(
                f"target={self.target} is out of range for num_classes={num_classes}: "
                f"allowed [0, {num_classes - 1}]"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data; the shift fields only when there is a shift."""
        d = {f: getattr(self, f) for f in self.FIELDS if f not in ("shift", "shift_eps")}
        return _with_shift(d, self.shift, self.shift_eps)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AttackerAction":
        check_keys("attacker action", data, ("index", "target"), cls.FIELDS)
        return cls(**dict(data))

    def to_toml(self) -> str:
        return _toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "AttackerAction":
        return cls.from_dict(_toml_loads(text))

    def key(self) -> str:
        """Content key of :meth:`to_dict`, the trigger under its
        :func:`~strategies.triggers.trigger_key` (its version)."""
        return content_key("attacker-action", {**self.to_dict(), "trigger": trigger_key(self.trigger)})


# --------------------------------------------------------------------------- #
# label policies
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class RandomLabels:
    """Each attacker's target label uniformly at random over all classes
    (the paper's default, Table 5 "Random").

    Attacker ``i`` gets element ``i`` of ``RandomState(seed).randint(0, K,
    size=N, dtype=int64)``, ``seed`` being the strategy's seed.
    """

    kind: ClassVar[str] = "random"

    def assign(self, n: int, num_classes: int, seed: int) -> np.ndarray:
        return _random_labels(n, num_classes, seed)

    def check_classes(self, num_classes: int) -> None:
        pass

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True)
class FixedLabels:
    """A fixed list of target labels, cycled over the attackers: attacker
    ``i`` targets ``labels[i % len(labels)]``.

    The paper's "0% label overlap" of E4 is ``FixedLabels((0, 2, 4, 6, 8))``:
    N = 5 gives 0, 2, 4, 6, 8 and N = 100 gives 20 attackers on each label
    (when N is not a multiple of the list's length, the first labels of the
    list get one attacker more).
    """

    labels: tuple[int, ...] = PAPER_LABELS

    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _label_tuple("labels.labels", self.labels))

    def assign(self, n: int, num_classes: int, seed: int) -> np.ndarray:
        self.check_classes(num_classes)
        return np.resize(np.asarray(self.labels, dtype=np.int64), n)

    def check_classes(self, num_classes: int) -> None:
        _check_labels_below("labels.labels", self.labels, num_classes)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "labels": list(self.labels)}


@dataclass(frozen=True)
class CoordinatedLabels:
    """A fraction of the attackers coordinate on one label; the rest are
    spread over other labels (paper §6.2.5, Tables 3–4 and Figure 6 left).

    * ``k = round_half_up(fraction · N)`` attackers target ``label``.
    * With ``others`` given (Tables 3–4: ``others = (2, 6, 8)``), the other
      ``N − k`` attackers are spread equally over ``others``: each gets
      ``(N − k) // len(others)``, and the first ``(N − k) % len(others)``
      labels of ``others`` one more.
    * With ``others=None`` (Figure 6: "we redistribute 10 labels out
      randomly"), each of the other attackers draws a label uniformly over
      all classes (``label`` included) from the strategy's seed: attacker
      ``i`` takes element ``i`` of the same draw :class:`RandomLabels` uses.

    Which attacker gets which label: the counts are laid out in ``g`` equal
    rounds, ``g`` the gcd of the counts. With ``others`` a round holds the
    labels in ascending order; with random others a round holds the
    coordinated slots first, then the random ones. This reproduces the
    paper's layout (40% on label 4 over (2, 6, 8): N = 5 → 2, 4, 4, 6, 8;
    N = 100 → that round 20 times: 40 on 4, 20 each on 2, 6, 8) and spreads
    the labels evenly over attacker indices, so an escalation of the first
    attackers by index does not pick one label's attackers.
    """

    label: int = 4
    fraction: float = 0.4
    others: tuple[int, ...] | None = None

    kind: ClassVar[str] = "coordinated"

    def __post_init__(self) -> None:
        label = check_int("labels.label", self.label, 0)
        object.__setattr__(self, "label", label)
        object.__setattr__(
            self, "fraction", check_real("labels.fraction", self.fraction, 0.0, 1.0)
        )
        if self.others is not None:
            others = _label_tuple("labels.others", self.others)
            if label in others:
                raise ValueError(
                    f"labels.others={others!r} contains the coordinated label {label}: "
                    f"give only the other labels"
                )
            if len(set(others)) != len(others):
                raise ValueError(f"labels.others={others!r} repeats a label")
            object.__setattr__(self, "others", others)

    def counts(self, n: int) -> tuple[int, int]:
        """``(coordinated, other)`` attacker counts for N = ``n``."""
        k = min(n, round_half_up(self.fraction * n))
        return k, n - k

    def assign(self, n: int, num_classes: int, seed: int) -> np.ndarray:
        self.check_classes(num_classes)
        k, rest = self.counts(n)
        if self.others is not None:
            m = len(self.others)
            per = [(o, rest // m + (1 if j < rest % m else 0)) for j, o in enumerate(self.others)]
            counts = sorted(per + [(self.label, k)])
            return np.asarray(_layout(counts), dtype=np.int64)
        slots = np.asarray(_layout([(True, k), (False, rest)]), dtype=bool)
        labels = _random_labels(n, num_classes, seed)
        labels[slots] = self.label
        return labels

    def check_classes(self, num_classes: int) -> None:
        _check_labels_below("labels.label", self.label, num_classes)
        if self.others is not None:
            _check_labels_below("labels.others", self.others, num_classes)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "label": self.label, "fraction": self.fraction}
        if self.others is not None:
            d["others"] = list(self.others)
        return d


LabelPolicy = Union[RandomLabels, FixedLabels, CoordinatedLabels]
_LABEL_POLICIES = {cls.kind: cls for cls in (RandomLabels, FixedLabels, CoordinatedLabels)}


def label_policy_from_dict(data: Any) -> LabelPolicy:
    """A label policy from its dict (``{"kind": "random"}``, ``{"kind":
    "fixed", "labels": [...]}``, ``{"kind": "coordinated", "label": 4,
    "fraction": 0.4, "others": [2, 6, 8]}``), or the shorthands ``"random"``
    and a list of labels (fixed)."""
    if isinstance(data, (RandomLabels, FixedLabels, CoordinatedLabels)):
        return data
    if data == "random":
        return RandomLabels()
    if isinstance(data, (list, tuple)):
        return FixedLabels(tuple(data))
    if not isinstance(data, Mapping):
        raise ValueError(
            f"labels={data!r} is not a label policy: give 'random', a list of labels, "
            f"or a table with kind = {', '.join(_LABEL_POLICIES)}"
        )
    kind = check_name("label policy", data.get("kind"), _LABEL_POLICIES, "label policies")
    if kind == "random":
        check_keys("labels", data, ("kind",))
        return RandomLabels()
    if kind == "fixed":
        check_keys("labels", data, ("kind", "labels"))
        return FixedLabels(data["labels"])  # __post_init__ checks it is a list of labels
    check_keys("labels", data, ("kind", "label", "fraction"), ("others",))
    return CoordinatedLabels(data["label"], data["fraction"], data.get("others"))


# --------------------------------------------------------------------------- #
# escalation
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Escalation:
    """Some attackers raise ``eps`` or ``p`` above the strategy's base value
    (paper §6.2.5, Figure 6 right: "selfish escalation").

    ``steps = ((f_1, v_1), (f_2, v_2), ...)`` with non-increasing fractions:
    step ``s`` sets the parameter of the first ``round_half_up(f_s · N)``
    attackers *by index* to ``v_s``; attackers outside every step keep the
    base value. Each step's attackers are a subset of the previous step's, so
    attacker ``i`` ends with the value of the last step that includes it.

    Figure 6's stages, with base 0.15: "80% escalate 0.15 → 0.55" is
    ``((0.8, 0.55),)``; "then 40% escalate 0.55 → 0.95 while the others keep
    their escalated 0.55" is ``((1.0, 0.55), (0.4, 0.95))``.
    """

    param: str = "eps"
    steps: tuple[tuple[float, float], ...] = ((0.8, 0.55),)

    PARAMS: ClassVar[tuple[str, ...]] = ("eps", "p")

    def __post_init__(self) -> None:
        check_name("escalation parameter", self.param, self.PARAMS)
        raw = self.steps
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
            raise ValueError(f"escalation.steps={raw!r} is not a list of (fraction, value)")
        steps = []
        for k, step in enumerate(raw):
            if isinstance(step, Mapping):
                check_keys(f"escalation.steps[{k}]", step, ("fraction", "value"))
                f, v = step["fraction"], step["value"]
            else:
                try:
                    f, v = step
                except (TypeError, ValueError):
                    raise ValueError(
                        f"escalation.steps[{k}]={step!r} is not a (fraction, value) pair"
                    ) from None
            f = check_real(f"escalation.steps[{k}].fraction", f, 0.0, 1.0)
            v = check_real(f"escalation.steps[{k}].value", v, 0.0, 1.0)
            if steps and f > steps[-1][0]:
                raise ValueError(
                    f"escalation.steps[{k}].fraction={f!r} is out of range: allowed "
                    f"[0, {steps[-1][0]!r}] (fractions must not increase, each step "
                    f"escalates a subset of the previous step's attackers)"
                )
            steps.append((f, v))
        if not steps:
            raise ValueError("escalation.steps=() is empty: give at least one step")
        object.__setattr__(self, "steps", tuple(steps))

    def counts(self, n: int) -> tuple[int, ...]:
        """Number of attackers each step covers for N = ``n``."""
        return tuple(min(n, round_half_up(f * n)) for f, _ in self.steps)

    def values(self, base: float, n: int) -> np.ndarray:
        """The parameter of each of ``n`` attackers, shape (n,)."""
        out = np.full(n, float(base))
        for (_, v), k in zip(self.steps, self.counts(n)):
            out[:k] = v
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "param": self.param,
            "steps": [{"fraction": f, "value": v} for f, v in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Escalation":
        check_keys("escalation", data, ("param", "steps"))
        return cls(data["param"], tuple(data["steps"]))


# --------------------------------------------------------------------------- #
# attacker population strategy
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class AttackerStrategy:
    """What a population of attackers plays; expands into N actions.

    Attributes
    ----------
    name : str
        A label (e.g. the row name in a payoff table). Not part of
        :meth:`key`.
    trigger : str, default "random-badnet"
        Trigger generator, a name in :data:`strategies.triggers.TRIGGERS`.
    eps, p : float in [0, 1], default 0.55
        Base perturbation and poison rates (E2's defaults).
    labels : label policy, default :class:`RandomLabels`
        Also accepts ``"random"``, a sequence of labels (→
        :class:`FixedLabels`) or a policy's dict.
    escalation : :class:`Escalation` or None
        Raises ``eps`` or ``p`` for a fraction of the attackers.
    shared_trigger : bool, default False
        Every attacker uses attacker 0's trigger draw (``trigger_seed = 0``):
        "one shared trigger for all". With equal ε the triggers are
        identical; with escalated ε they are nested (same seed).
    seed : int, default 3407
        Seed of the random target labels (not of the triggers, which are
        seeded by the attacker's index).
    shift, shift_eps : default "none", 0
        Every attacker's run-time shift (see :class:`AttackerAction`; paper
        E3: ``shift = "fgsm"``, ``shift_eps`` = ε_a in [0, 1]). Part of
        :meth:`key` only when there is a shift.

    One-line constructors for the paper's strategies:
    :meth:`independent`, :meth:`fixed_labels`, :meth:`coordinate_label`,
    :meth:`escalate`, :meth:`orthogonal`, :meth:`shared`.

    >>> s = AttackerStrategy.coordinate_label(label=4, fraction=0.4, others=(2, 6, 8))
    >>> [a.target for a in s.expand(5, num_classes=10)]
    [2, 4, 4, 6, 8]
    """

    name: str
    trigger: str = "random-badnet"
    eps: float = _EPS_DEFAULT
    p: float = _P_DEFAULT
    labels: LabelPolicy = RandomLabels()
    escalation: Escalation | None = None
    shared_trigger: bool = False
    seed: int = DEFAULT_SEED
    shift: str = "none"
    shift_eps: float = 0.0

    FIELDS: ClassVar[tuple[str, ...]] = (
        "name", "trigger", "eps", "p", "labels", "escalation", "shared_trigger", "seed", "shift", "shift_eps",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_str("name", self.name))
        object.__setattr__(self, "trigger", check_name("trigger", self.trigger, TRIGGERS))
        object.__setattr__(self, "eps", check_real("eps", self.eps, 0.0, 1.0))
        object.__setattr__(self, "p", check_real("p", self.p, 0.0, 1.0))
        object.__setattr__(self, "labels", label_policy_from_dict(self.labels))
        esc = self.escalation
        if esc is not None and not isinstance(esc, Escalation):
            if not isinstance(esc, Mapping):
                raise ValueError(f"escalation={esc!r} is not an Escalation or a table")
            esc = Escalation.from_dict(esc)
        object.__setattr__(self, "escalation", esc)
        object.__setattr__(
            self, "shared_trigger", check_bool("shared_trigger", self.shared_trigger)
        )
        object.__setattr__(self, "seed", check_int("seed", self.seed, 0, SEED_MAX))
        shift, shift_eps = _check_shift(self.shift, self.shift_eps)
        object.__setattr__(self, "shift", shift)
        object.__setattr__(self, "shift_eps", shift_eps)

    # -- expansion ---------------------------------------------------------- #

    def expand_arrays(self, n: int, num_classes: int) -> dict[str, np.ndarray]:
        """The N actions as arrays: ``index``, ``target``, ``eps``, ``p``,
        ``trigger_seed`` (each shape (n,)). See :meth:`expand`."""
        n = check_int("n", n, 1)
        num_classes = check_int("num_classes", num_classes, 1)
        index = np.arange(n, dtype=np.int64)
        target = self.labels.assign(n, num_classes, self.seed)
        eps = np.full(n, self.eps)
        p = np.full(n, self.p)
        if self.escalation is not None:
            if self.escalation.param == "eps":
                eps = self.escalation.values(self.eps, n)
            else:
                p = self.escalation.values(self.p, n)
        seeds = np.zeros(n, dtype=np.int64) if self.shared_trigger else index.copy()
        return {"index": index, "target": target, "eps": eps, "p": p, "trigger_seed": seeds}

    def expand(self, n: int, num_classes: int) -> tuple[AttackerAction, ...]:
        """The actions of N = ``n`` attackers, attacker ``i`` at position
        ``i`` with ``index = i``. Deterministic: the same strategy, ``n`` and
        ``num_classes`` always give the same actions.

        Raises ``ValueError`` for ``n < 1``, ``num_classes < 1`` and labels
        ``≥ num_classes`` (naming the field).
        """
        arr = self.expand_arrays(n, num_classes)
        return tuple(
            AttackerAction(
                index=i,
                target=t,
                eps=e,
                p=q,
                trigger=self.trigger,
                trigger_seed=s,
                shift=self.shift,
                shift_eps=self.shift_eps,
            )
            for i, t, e, q, s in zip(
                arr["index"].tolist(),
                arr["target"].tolist(),
                arr["eps"].tolist(),
                arr["p"].tolist(),
                arr["trigger_seed"].tolist(),
            )
        )

    # -- one-line constructors ---------------------------------------------- #

    @classmethod
    def independent(
        cls,
        eps: float = _EPS_DEFAULT,
        p: float = _P_DEFAULT,
        *,
        name: str = "independent",
        **fields: Any,
    ) -> "AttackerStrategy":
        """Each attacker its own random trigger and a random target label
        (the paper's default non-cooperative attackers)."""
        return cls(name=name, eps=eps, p=p, labels=fields.pop("labels", RandomLabels()), **fields)

    @classmethod
    def fixed_labels(
        cls,
        labels: Sequence[int] = PAPER_LABELS,
        eps: float = _EPS_DEFAULT,
        p: float = _P_DEFAULT,
        *,
        name: str | None = None,
        **fields: Any,
    ) -> "AttackerStrategy":
        """Target labels cycled from a fixed list: E4's "0% label overlap"
        over (0, 2, 4, 6, 8)."""
        policy = FixedLabels(tuple(labels))
        name = name or "labels-" + "-".join(map(str, policy.labels))
        return cls(name=name, eps=eps, p=p, labels=policy, **fields)

    @classmethod
    def coordinate_label(
        cls,
        label: int = 4,
        fraction: float = 0.4,
        others: Sequence[int] | None = None,
        eps: float = _EPS_DEFAULT,
        p: float = _P_DEFAULT,
        *,
        name: str | None = None,
        **fields: Any,
    ) -> "AttackerStrategy":
        """A fraction of the attackers share target ``label``; the rest are
        spread equally over ``others`` (Tables 3–4) or drawn at random over
        all classes (``others=None``, Figure 6). See
        :class:`CoordinatedLabels`."""
        policy = CoordinatedLabels(label, fraction, None if others is None else tuple(others))
        name = name or f"coordinate-label-{policy.label}-{policy.fraction!r}"
        return cls(name=name, eps=eps, p=p, labels=policy, **fields)

    @classmethod
    def escalate(
        cls,
        param: str = "eps",
        fraction: float | None = None,
        base: float = 0.15,
        raised: float | None = None,
        *,
        steps: Sequence[tuple[float, float]] | None = None,
        eps: float = _EPS_DEFAULT,
        p: float = _P_DEFAULT,
        name: str | None = None,
        **fields: Any,
    ) -> "AttackerStrategy":
        """A fraction of the attackers raise ``eps`` (or ``p``) from ``base``
        to ``raised``; the others keep ``base``. For several stages give
        ``steps`` instead of ``fraction``/``raised`` (see
        :class:`Escalation`). The other parameter keeps ``eps``/``p``.

        >>> s = AttackerStrategy.escalate("eps", fraction=0.8, base=0.15, raised=0.55)
        >>> sorted(set(a.eps for a in s.expand(5, 10)))
        [0.15, 0.55]
        """
        check_name("escalation parameter", param, Escalation.PARAMS)
        if steps is None:
            if fraction is None or raised is None:
                raise ValueError("escalate: give fraction and raised, or steps")
            steps = ((fraction, raised),)
        elif fraction is not None or raised is not None:
            raise ValueError("escalate: give fraction and raised, or steps, not both")
        esc = Escalation(param, tuple(steps))
        if param == "eps":
            eps = base
        else:
            p = base
        if name is None:
            stages = ",".join(f"{f!r}x{v!r}" for f, v in esc.steps)
            name = f"escalate-{param}-{float(base)!r}-{stages}"
        return cls(name=name, eps=eps, p=p, escalation=esc, **fields)

    @classmethod
    def orthogonal(
        cls,
        eps: float = _EPS_DEFAULT,
        p: float = _P_DEFAULT,
        *,
        name: str = "orthogonal",
        **fields: Any,
    ) -> "AttackerStrategy":
        """Orthogonal coordinated triggers (Orthogonal-BadNet, Table 4);
        labels random unless ``labels=`` says otherwise."""
        return cls(name=name, trigger="orthogonal-badnet", eps=eps, p=p, **fields)

    @classmethod
    def shared(
        cls,
        eps: float = _EPS_DEFAULT,
        p: float = _P_DEFAULT,
        *,
        name: str = "shared-trigger",
        **fields: Any,
    ) -> "AttackerStrategy":
        """One shared trigger for all attackers (attacker 0's draw); labels
        random unless ``labels=`` says otherwise (e.g. ``labels=(4,)`` for
        one shared label: an approximate single-agent attack)."""
        return cls(name=name, eps=eps, p=p, shared_trigger=True, **fields)

    # -- serialisation ------------------------------------------------------ #

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON/TOML-compatible); ``escalation`` omitted when None."""
        d = {
            "name": self.name,
            "trigger": self.trigger,
            "eps": self.eps,
            "p": self.p,
            "labels": self.labels.to_dict(),
            "shared_trigger": self.shared_trigger,
            "seed": self.seed,
        }
        if self.escalation is not None:
            d["escalation"] = self.escalation.to_dict()
        return _with_shift(d, self.shift, self.shift_eps)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AttackerStrategy":
        """Build and validate from :meth:`to_dict`'s form; fields other than
        ``name`` may be left out (defaults apply); unknown fields are errors."""
        check_keys("attacker strategy", data, ("name",), cls.FIELDS)
        return cls(**dict(data))

    def to_toml(self) -> str:
        return _toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "AttackerStrategy":
        return cls.from_dict(_toml_loads(text))

    def key_data(self) -> dict[str, Any]:
        """What :meth:`key` hashes: :meth:`to_dict` without ``name``, the
        trigger under its :func:`~strategies.triggers.trigger_key` (its
        version), so a changed trigger construction changes the key."""
        d = self.to_dict()
        del d["name"]
        d["trigger"] = trigger_key(d["trigger"])
        return d

    def key(self) -> str:
        """SHA-256 hex of the canonical JSON of :meth:`key_data`."""
        return content_key("attacker-strategy", self.key_data())


# --------------------------------------------------------------------------- #
# mixed strategy
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class MixedAttackerStrategy:
    """A weighted set of attacker strategies (configurations).

    ``components = ((w_1, s_1), (w_2, s_2), ...)`` with weights ``w_k > 0``.
    The weights are normalised to sum to 1 on construction (left as given
    when they already sum to 1 within 1e-12, so a round trip is exact). The
    components are stored sorted by name; names must be unique within a mix.
    The payoff of the mix is the weighted mean of its components' payoffs,

        u(mix) = Σ_k w_k · u(s_k),

    which is how Table 6's rows ("Random triggers", "100% label overlap", ...)
    are built from the configurations of Tables 3 and 4.
    """

    name: str
    components: tuple[tuple[float, AttackerStrategy], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_str("name", self.name))
        raw = self.components
        if isinstance(raw, Mapping) or not isinstance(raw, Iterable):
            raise ValueError("components must be a list of (weight, AttackerStrategy) pairs")
        comps = []
        for k, item in enumerate(raw):
            if isinstance(item, Mapping):
                check_keys(f"components[{k}]", item, ("weight", "strategy"))
                w, s = item["weight"], item["strategy"]
            else:
                try:
                    w, s = item
                except (TypeError, ValueError):
                    raise ValueError(
                        f"components[{k}]={item!r} is not a (weight, strategy) pair"
                    ) from None
            w = check_real(f"components[{k}].weight", w, 0.0, None, low_open=True)
            if isinstance(s, Mapping):
                s = AttackerStrategy.from_dict(s)
            if not isinstance(s, AttackerStrategy):
                raise ValueError(f"components[{k}].strategy={s!r} is not an AttackerStrategy")
            comps.append((w, s))
        if not comps:
            raise ValueError("components=() is empty: give at least one (weight, strategy)")
        names = [s.name for _, s in comps]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ValueError(f"components: strategy names must be unique, repeated: {', '.join(dup)}")
        total = math.fsum(w for w, _ in comps)
        if abs(total - 1.0) > 1e-12:
            comps = [(w / total, s) for w, s in comps]
        comps.sort(key=lambda ws: ws[1].name)
        object.__setattr__(self, "components", tuple(comps))

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(w for w, _ in self.components)

    @property
    def strategies(self) -> tuple[AttackerStrategy, ...]:
        return tuple(s for _, s in self.components)

    @property
    def weight_of(self) -> Mapping[str, float]:
        """Read-only mapping: component name → weight."""
        return MappingProxyType({s.name: w for w, s in self.components})

    def expected_payoff(
        self, payoffs: Mapping[Any, Any] | Sequence[Any]
    ) -> float | np.ndarray:
        """``Σ_k w_k · payoffs[k]``: the mix's payoff from its components'.

        ``payoffs`` maps each component's name (or the
        :class:`AttackerStrategy` itself) to its payoff, or is a sequence in
        the order of :attr:`components` (sorted by name). Payoffs may be
        numbers or equal-shaped arrays (e.g. (attacker, defender) pairs);
        the result has the same shape.
        """
        if isinstance(payoffs, Mapping):
            values = []
            for _, s in self.components:
                if s.name in payoffs:
                    values.append(payoffs[s.name])
                elif s in payoffs:
                    values.append(payoffs[s])
                else:
                    raise ValueError(f"payoffs: no payoff for component {s.name!r}")
            extra = [k for k in payoffs if not (k in self.weight_of or k in self.strategies)]
            if extra:
                raise ValueError(
                    f"payoffs: {', '.join(map(repr, extra))} is not a component of "
                    f"{self.name!r}: components are {', '.join(self.weight_of)}"
                )
        else:
            values = list(payoffs)
            if len(values) != len(self.components):
                raise ValueError(
                    f"payoffs has {len(values)} values for {len(self.components)} components"
                )
        arr = np.asarray(values, dtype=np.float64)
        mean = np.tensordot(np.asarray(self.weights), arr, axes=(0, 0))
        return float(mean) if np.ndim(mean) == 0 else mean

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "components": [{"weight": w, "strategy": s.to_dict()} for w, s in self.components],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MixedAttackerStrategy":
        check_keys("mixed attacker strategy", data, ("name", "components"))
        return cls(data["name"], data["components"])  # __post_init__ checks that it is a list of pairs

    def to_toml(self) -> str:
        return _toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "MixedAttackerStrategy":
        return cls.from_dict(_toml_loads(text))

    def key_data(self) -> dict[str, Any]:
        """What :meth:`key` hashes: weights and components' key data, sorted
        by content; names left out."""
        items = sorted(
            ({"weight": w, "strategy": s.key_data()} for w, s in self.components),
            key=lambda d: (content_key("attacker-strategy", d["strategy"]), d["weight"]),
        )
        return {"components": items}

    def key(self) -> str:
        return content_key("mixed-attacker-strategy", self.key_data())


def attacker_strategy_from_dict(
    data: Mapping[str, Any],
) -> AttackerStrategy | MixedAttackerStrategy:
    """A pure or mixed attacker strategy from its dict: a table with
    ``components`` is a :class:`MixedAttackerStrategy`."""
    if isinstance(data, Mapping) and "components" in data:
        return MixedAttackerStrategy.from_dict(data)
    return AttackerStrategy.from_dict(data)
