"""One attacker's action (Datta & Shadbolt §4, attacker's parameters; App. 6.1.8, trigger algorithms;
E3, App. 6.2.4, shifts).

:class:`AttackerAction` — one attacker's choice: ``eps``, ``p``, target
label, trigger generator, its index (the seed of its trigger draw), and the
shifts it adds (:mod:`strategies.shifts`: a run-time FGSM shift, a
train-time AdaIN style). Population strategies that expand into N actions
are in :mod:`strategies.population`, their label and escalation policies in
:mod:`strategies.policies`.

Every object is immutable, validated on construction (``ValueError`` naming
the field, the value and the allowed range), compares and hashes by value,
round-trips through :meth:`to_dict`/:meth:`from_dict` and
:meth:`to_toml`/:meth:`from_toml`, and has a content :meth:`key` (SHA-256 of
canonical JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from .keys import content_key, toml_dumps, toml_loads
from .shifts import SHIFTS, STYLES, check_shift, check_style, with_shifts
from .triggers import TRIGGERS, trigger_key
from .validate import SEED_MAX, check_int, check_keys, check_name, check_real, out_of_range

__all__ = ["EPS_DEFAULT", "P_DEFAULT", "SHIFT_FIELDS", "SHIFTS", "AttackerAction"]

#: Default perturbation and poison rates (E2's 0.55).
EPS_DEFAULT = 0.55
P_DEFAULT = 0.55

#: The shift and style fields, written by ``to_dict`` only when present.
SHIFT_FIELDS = ("shift", "shift_eps", "style", "style_alpha")


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
    style : str, default "none"
        Train-time stylisation (:data:`strategies.shifts.STYLES`): the
        attacker's train-time share is AdaIN-stylised with this style image
        before its trigger is inserted (paper E3, App. 6.2.4).
    style_alpha : float in [0, 1], default 0
        The stylisation's strength α (1 = 100%); 0 unless there is a style.
        A style at α = 0 is stored as ``"none"``.
    """

    index: int
    target: int
    eps: float = EPS_DEFAULT
    p: float = P_DEFAULT
    trigger: str = "random-badnet"
    trigger_seed: int | None = None
    shift: str = "none"
    shift_eps: float = 0.0
    style: str = "none"
    style_alpha: float = 0.0

    FIELDS: ClassVar[tuple[str, ...]] = ("index", "target", "eps", "p", "trigger", "trigger_seed", *SHIFT_FIELDS)

    def __post_init__(self) -> None:
        index = check_int("index", self.index, 0, SEED_MAX)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "target", check_int("target", self.target, 0))
        object.__setattr__(self, "eps", check_real("eps", self.eps, 0.0, 1.0))
        object.__setattr__(self, "p", check_real("p", self.p, 0.0, 1.0))
        object.__setattr__(self, "trigger", check_name("trigger", self.trigger, TRIGGERS))
        seed = index if self.trigger_seed is None else self.trigger_seed
        object.__setattr__(self, "trigger_seed", check_int("trigger_seed", seed, 0, SEED_MAX))
        shift, shift_eps = check_shift(self.shift, self.shift_eps)
        style, style_alpha = check_style(self.style, self.style_alpha, ("none", *STYLES))
        for name, value in zip(SHIFT_FIELDS, (shift, shift_eps, style, style_alpha)):
            object.__setattr__(self, name, value)

    def check_classes(self, num_classes: int) -> "AttackerAction":
        """Raise unless ``target < num_classes``; return ``self``."""
        num_classes = check_int("num_classes", num_classes, 1)
        if self.target >= num_classes:
            out_of_range("target", self.target, f"[0, {num_classes - 1}] (num_classes={num_classes})")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain data; the shift and style fields only when there is a shift or a style."""
        d = {f: getattr(self, f) for f in self.FIELDS if f not in SHIFT_FIELDS}
        return with_shifts(d, self.shift, self.shift_eps, self.style, self.style_alpha)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AttackerAction":
        check_keys("attacker action", data, ("index", "target"), cls.FIELDS)
        return cls(**dict(data))

    def to_toml(self) -> str:
        return toml_dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> "AttackerAction":
        return cls.from_dict(toml_loads(text))

    def key(self) -> str:
        """Content key of :meth:`to_dict`, the trigger under its
        :func:`~strategies.triggers.trigger_key` (its version)."""
        return content_key("attacker-action", {**self.to_dict(), "trigger": trigger_key(self.trigger)})
