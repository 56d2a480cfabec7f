"""Defender strategies: the defender's choice of architecture and defense
(:class:`DefenderStrategy`), and its choice of federated aggregation rule
(:class:`AggregatorStrategy`).

The names they may use are registered in :mod:`strategies.catalog`
(:data:`ARCHITECTURES`, :data:`DEFENSES`, :data:`AGGREGATORS`); the
implementations live in ``oracle/``. A strategy with an unknown name, an
unknown parameter, or a parameter out of range is rejected when it is built,
with a ``ValueError`` that lists what exists — never silently replaced by a
default (the original federated code ran with no defense when it did not
recognise the name).

Parameters are stored as a sorted tuple of ``(name, value)`` pairs with every
default filled in, so that ``DefenderStrategy("resnet18", "cutmix")`` and
``DefenderStrategy("resnet18", "cutmix", {"alpha": 1.0})`` are equal and have
the same key. ``params_map`` exposes them as a read-only mapping.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import tomli_w

from .catalog import AGGREGATORS, ARCHITECTURES, DEFENSES
from .components import ComponentSpec, validate_params
from .keys import content_key, plain
from .triggers import trigger_key
from .validate import check_keys, check_name, check_str

__all__ = ["AggregatorStrategy", "DefenderStrategy"]


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"invalid TOML: {exc}") from exc


# --------------------------------------------------------------------------- #
# defender strategy
# --------------------------------------------------------------------------- #


class _ComponentStrategy:
    """What :class:`DefenderStrategy` and :class:`AggregatorStrategy` share: a
    component name plus validated ``params`` and an optional ``name`` label;
    plain-data and TOML round trips; a content key without the label."""

    FIELDS: ClassVar[tuple[str, ...]]
    KEY_KIND: ClassVar[str]
    params: tuple[tuple[str, Any], ...]
    name: str | None

    def _check(self, what: str, value: str, registry: Mapping[str, ComponentSpec]) -> None:
        check_name(what, value, registry)
        object.__setattr__(self, "params", validate_params(what, registry[value], self.params))
        if self.name is not None:
            check_str("name", self.name)

    @property
    def params_map(self) -> Mapping[str, Any]:
        """The parameters as a read-only mapping."""
        return MappingProxyType(dict(self.params))

    def to_dict(self, *, keyed: bool = False) -> dict[str, Any]:
        """Plain data; ``params`` omitted when empty, ``name`` when None.
        ``keyed=True``: a ``trigger`` parameter under its
        :func:`~strategies.triggers.trigger_key` (its version), as content
        keys must see it."""
        d: dict[str, Any] = {f: getattr(self, f) for f in self.FIELDS if f not in ("params", "name")}
        if self.params:
            d["params"] = dict(self.params)
            if keyed and "trigger" in d["params"]:
                d["params"]["trigger"] = trigger_key(d["params"]["trigger"])
        if self.name is not None:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):
        check_keys(cls.KEY_KIND.replace("-", " "), data, (), cls.FIELDS)
        return cls(**dict(data))

    def to_toml(self) -> str:
        return tomli_w.dumps(plain(self.to_dict()))

    @classmethod
    def from_toml(cls, text: str):
        return cls.from_dict(_toml_loads(text))

    def key_data(self) -> dict[str, Any]:
        """Everything but ``name``, with ``params`` always present and
        trigger versions (``to_dict(keyed=True)``)."""
        d = self.to_dict(keyed=True)
        d.pop("name", None)
        d.setdefault("params", {})
        return d

    def key(self) -> str:
        """SHA-256 hex of the canonical JSON of :meth:`key_data` (``name`` left out)."""
        return content_key(self.KEY_KIND, self.key_data())


@dataclass(frozen=True)
class DefenderStrategy(_ComponentStrategy):
    """The defender's choice: an architecture, a defense and its parameters.

    >>> DefenderStrategy("resnet18", "spectral-signatures").params_map["k_per_class"]
    5
    >>> DefenderStrategy("resnet18", "foo")
    Traceback (most recent call last):
    ...
    ValueError: unknown defense 'foo': known defenses are none, cutmix, adversarial-training, spectral-signatures, activation-clustering

    Attributes
    ----------
    architecture : str, default "resnet18"
        A name in :data:`ARCHITECTURES`.
    defense : str, default "none"
        A name in :data:`DEFENSES`.
    params : mapping or pairs
        The defense's parameters; stored as a sorted tuple of ``(name,
        value)`` pairs with defaults filled in.
    name : str or None
        A label (e.g. "No Defense"); not part of :meth:`key`. :attr:`label`
        falls back to ``"<architecture>/<defense>"``.
    """

    architecture: str = "resnet18"
    defense: str = "none"
    params: tuple[tuple[str, Any], ...] = ()
    name: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("architecture", "defense", "params", "name")
    KEY_KIND: ClassVar[str] = "defender-strategy"

    def __post_init__(self) -> None:
        check_name("architecture", self.architecture, ARCHITECTURES)
        self._check("defense", self.defense, DEFENSES)

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"{self.architecture}/{self.defense}"

    @property
    def spec(self) -> ComponentSpec:
        return DEFENSES[self.defense]


@dataclass(frozen=True)
class AggregatorStrategy(_ComponentStrategy):
    """A federated aggregation rule and its parameters (see
    :data:`AGGREGATORS`): the defender's strategy in the federated game; same
    conventions as :class:`DefenderStrategy` (``name`` is a label, not part of
    the key)."""

    aggregator: str = "fedavg"
    params: tuple[tuple[str, Any], ...] = ()
    name: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("aggregator", "params", "name")
    KEY_KIND: ClassVar[str] = "aggregator-strategy"

    def __post_init__(self) -> None:
        self._check("aggregator", self.aggregator, AGGREGATORS)

    @property
    def label(self) -> str:
        return self.name if self.name is not None else self.aggregator
