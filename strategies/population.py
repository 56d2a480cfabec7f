"""Attacker population strategies and mixed strategies.

Datta & Shadbolt, *Backdoors Stuck at the Frontdoor*, §4 (attacker's
parameters), App. 6.1.8 (trigger algorithms) and §6.2.5 (E4, cooperation of
agents: label coordination, escalation, orthogonal triggers; Tables 3, 4, 6,
Figure 6).

* :class:`~strategies.actions.AttackerAction` (in :mod:`strategies.actions`)
  — one attacker's choice; what a strategy expands into.
* :class:`AttackerStrategy` — what a population of attackers plays. It does
  not know N: :meth:`AttackerStrategy.expand` turns it into N actions,
  deterministically. Composable fields: a trigger name, base ``eps``/``p``,
  a *label policy* (:class:`RandomLabels`, :class:`FixedLabels`,
  :class:`CoordinatedLabels`), an optional :class:`Escalation`, a
  ``shared_trigger`` switch and a ``seed`` for the random labels.
* :class:`MixedAttackerStrategy` — a weighted set of attacker strategies whose
  payoff is the weighted mean of its components' payoffs (how Table 6's rows
  are built from Tables 3 and 4).

Conventions (attacker indices and trigger seeds, the random labels' stream, counts): see
:mod:`strategies.policies`.

Every object is immutable, validated on construction (``ValueError`` naming
the field, the value and the allowed range), compares and hashes by value,
round-trips through :meth:`to_dict`/:meth:`from_dict` and
:meth:`to_toml`/:meth:`from_toml`, and has a content :meth:`key` (SHA-256 of
canonical JSON; the ``name`` of a strategy is a label and is left out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import numpy as np

from .actions import EPS_DEFAULT, P_DEFAULT, SHIFT_FIELDS, AttackerAction
from .keys import content_key, toml_dumps, toml_loads
from .policies import (PAPER_LABELS, CoordinatedLabels, Escalation, FixedLabels, LabelPolicy, RandomLabels,
                       label_policy_from_dict)
from .shifts import check_shift, check_style, style_of, with_shifts
from .triggers import TRIGGERS, trigger_key
from .validate import DEFAULT_SEED, SEED_MAX, check_bool, check_int, check_keys, check_name, check_real, check_str

__all__ = ["AttackerStrategy", "MixedAttackerStrategy", "attacker_strategy_from_dict"]


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
    style, style_alpha : default "none", 0
        Every attacker's train-time stylisation (see :class:`AttackerAction`;
        paper E3: AdaIN at strength α = ``style_alpha``): a name in
        :data:`strategies.shifts.STYLES`, or ``"distinct"`` (attacker ``i``
        takes ``STYLES[i mod 10]``, a distinct style per attacker up to 10).
        Part of :meth:`key` only when α > 0.

    One-line constructors for the paper's strategies:
    :meth:`independent`, :meth:`fixed_labels`, :meth:`coordinate_label`,
    :meth:`escalate`, :meth:`orthogonal`, :meth:`shared`.

    >>> s = AttackerStrategy.coordinate_label(label=4, fraction=0.4, others=(2, 6, 8))
    >>> [a.target for a in s.expand(5, num_classes=10)]
    [2, 4, 4, 6, 8]
    """

    name: str
    trigger: str = "random-badnet"
    eps: float = EPS_DEFAULT
    p: float = P_DEFAULT
    labels: LabelPolicy = RandomLabels()
    escalation: Escalation | None = None
    shared_trigger: bool = False
    seed: int = DEFAULT_SEED
    shift: str = "none"
    shift_eps: float = 0.0
    style: str = "none"
    style_alpha: float = 0.0

    FIELDS: ClassVar[tuple[str, ...]] = (
        "name", "trigger", "eps", "p", "labels", "escalation", "shared_trigger", "seed", *SHIFT_FIELDS,
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
        shift, shift_eps = check_shift(self.shift, self.shift_eps)
        style, style_alpha = check_style(self.style, self.style_alpha)
        for name, value in zip(SHIFT_FIELDS, (shift, shift_eps, style, style_alpha)):
            object.__setattr__(self, name, value)

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
                style=style_of(self.style, i),
                style_alpha=self.style_alpha,
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
        eps: float = EPS_DEFAULT,
        p: float = P_DEFAULT,
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
        eps: float = EPS_DEFAULT,
        p: float = P_DEFAULT,
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
        eps: float = EPS_DEFAULT,
        p: float = P_DEFAULT,
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
        eps: float = EPS_DEFAULT,
        p: float = P_DEFAULT,
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
        eps: float = EPS_DEFAULT,
        p: float = P_DEFAULT,
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
        eps: float = EPS_DEFAULT,
        p: float = P_DEFAULT,
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
        return with_shifts(d, self.shift, self.shift_eps, self.style, self.style_alpha)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AttackerStrategy":
        """Build and validate from :meth:`to_dict`'s form; fields other than
        ``name`` may be left out (defaults apply); unknown fields are errors."""
        check_keys("attacker strategy", data, ("name",), cls.FIELDS)
        return cls(**dict(data))

    def to_toml(self) -> str:
        return toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "AttackerStrategy":
        return cls.from_dict(toml_loads(text))

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
            raise ValueError(f"components={raw!r} is not a list: allowed a list of (weight, AttackerStrategy) pairs")
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
            raise ValueError(f"components: strategy name(s) {', '.join(map(repr, dup))} repeated: allowed one component per name")
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
        return toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "MixedAttackerStrategy":
        return cls.from_dict(toml_loads(text))

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
