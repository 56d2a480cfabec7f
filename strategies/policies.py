"""How a population strategy lays its parameters out over N attackers: target-label policies and
escalation (Datta & Shadbolt §6.2.5, E4: label coordination, Tables 3, 4; selfish escalation, Figure 6).

* :class:`RandomLabels`, :class:`FixedLabels`, :class:`CoordinatedLabels` —
  the target label of each attacker (:func:`label_policy_from_dict` reads
  their dicts and shorthands);
* :class:`Escalation` — some attackers raise ``eps`` or ``p``.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from typing import Any, ClassVar, Iterable, Mapping, Sequence, Union

import numpy as np

from .validate import check_int, check_keys, check_name, check_real, out_of_range, round_half_up

__all__ = ["PAPER_LABELS", "CoordinatedLabels", "Escalation", "FixedLabels", "LabelPolicy", "RandomLabels",
           "label_policy_from_dict", "layout"]


#: The five target classes of the paper's E4 (airplane, bird, deer, frog, ship).
PAPER_LABELS = (0, 2, 4, 6, 8)


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
            out_of_range(name, v, f"[0, {num_classes - 1}] (num_classes={num_classes})")


def _random_labels(n: int, num_classes: int, seed: int) -> np.ndarray:
    """``RandomState(seed).randint(0, num_classes, size=n, dtype=int64)``.

    The dtype is fixed so that the stream is the same on every platform
    (the default integer type differs on Windows)."""
    return np.random.RandomState(seed).randint(0, num_classes, size=n, dtype=np.int64)


def layout(counts: Sequence[tuple[Any, int]]) -> list[Any]:
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
            return np.asarray(layout(counts), dtype=np.int64)
        slots = np.asarray(layout([(True, k), (False, rest)]), dtype=bool)
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
