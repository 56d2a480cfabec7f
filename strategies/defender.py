"""Defender strategies and the registries of names (architectures, defenses,
federated aggregators).

The names and their parameters live here; the implementations live in
``oracle/``. A strategy with an unknown name, an unknown parameter, or a
parameter out of range is rejected when it is built, with a ``ValueError``
that lists what exists — never silently replaced by a default (the original
federated code ran with no defense when it did not recognise the name).

Datta & Shadbolt §4.1 / App. 6.2.3 (E2, architectures) and §6.2.6 (E5,
defenses: CutMix, backdoor adversarial training, spectral signatures,
activation clustering); Wang et al., *Attack of the Tails*, §4 (norm-difference
clipping, Krum, Multi-Krum, RFA, weak differential privacy).

Parameters are stored as a sorted tuple of ``(name, value)`` pairs with every
default filled in, so that ``DefenderStrategy("resnet18", "cutmix")`` and
``DefenderStrategy("resnet18", "cutmix", {"alpha": 1.0})`` are equal and have
the same key. ``params_map`` exposes them as a read-only mapping.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Iterable, Mapping

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
    format_range,
    round_half_up,
)
from .keys import content_key, plain
from .registry import Registry
from .triggers import trigger_key

__all__ = [
    "AGGREGATORS",
    "ARCHITECTURES",
    "DEFENSES",
    "AggregatorStrategy",
    "ArchitectureSpec",
    "ComponentSpec",
    "DefenderStrategy",
    "ParamSpec",
    "spectral_removal_count",
    "validate_params",
]


# --------------------------------------------------------------------------- #
# specs
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a defense or aggregator.

    ``kind`` is ``"real"``, ``"int"``, ``"bool"`` or ``"choice"``. ``default``
    is filled in when the parameter is not given; ``None`` makes it optional
    (left out unless given). Real and int parameters have a range
    (``low``/``high``, open ends with ``low_open``/``high_open``); choice
    parameters a tuple of ``choices``.
    """

    name: str
    kind: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    def check(self, field: str, value: Any) -> Any:
        """Validate and normalise one value (``field`` names it in errors)."""
        if self.kind == "real":
            return check_real(
                field, value, self.low, self.high,
                low_open=self.low_open, high_open=self.high_open,
            )
        if self.kind == "int":
            v = check_int(field, value)
            low = self.low
            if low is not None and self.low_open:
                low = low + 1
            high = self.high
            if high is not None and self.high_open:
                high = high - 1
            return check_int(field, v, None if low is None else int(low),
                             None if high is None else int(high))
        if self.kind == "bool":
            return check_bool(field, value)
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise ValueError(
                f"{field}={value!r} is not allowed: allowed values are "
                f"{', '.join(map(repr, self.choices))}"
            )
        raise AssertionError(f"unknown parameter kind {self.kind!r}")

    def describe(self) -> str:
        """One line, e.g. ``alpha: real in (0, inf), default 1.0``."""
        if self.kind == "choice":
            what = "one of " + ", ".join(map(repr, self.choices))
        elif self.kind == "bool":
            what = "true or false"
        else:
            what = f"{self.kind} in {format_range(self.low, self.high, self.low_open, self.high_open)}"
        tail = "optional" if self.default is None else f"default {self.default!r}"
        return f"{self.name}: {what}, {tail}" + (f" ({self.doc})" if self.doc else "")


@dataclass(frozen=True)
class ComponentSpec:
    """A defense or aggregator name: what it is, its parameters, an optional
    cross-parameter rule ``rule(params) -> None`` (raises ``ValueError``) and,
    for defenses, whether it is augmentative (spends part of the defender's
    data on augmentation; E5)."""

    name: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    rule: Callable[[Mapping[str, Any]], None] | None = None
    augmentative: bool = False
    #: A plug-in's implementation (a defense class, an aggregation function); None for backfire's own,
    #: which the oracle implements (oracle.defenses, oracle.federated.aggregators).
    implementation: Any = None

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if p.default is not None}


@dataclass(frozen=True)
class ArchitectureSpec:
    """A victim architecture name. backfire's own are built by ``oracle.victims.models``; a plug-in's
    ``implementation(in_channels, num_classes, image_size)`` returns a torch module with
    ``features(x)`` (penultimate representations), ``feature_dim`` and a forward pass to logits;
    ``min_image_size`` is the smallest side it accepts."""

    name: str
    description: str
    implementation: Any = None
    min_image_size: int = 1


def _real(name, default, low=None, high=None, low_open=False, high_open=False, doc=""):
    return ParamSpec(name, "real", default, low, high, low_open, high_open, (), doc)


def _int(name, default, low=None, high=None, doc=""):
    return ParamSpec(name, "int", default, low, high, doc=doc)


def _choice(name, default, choices, doc=""):
    return ParamSpec(name, "choice", default, choices=tuple(choices), doc=doc)


# --------------------------------------------------------------------------- #
# registries
# --------------------------------------------------------------------------- #

#: Victim architectures (paper E2; Attack of the Tails for vgg9 and lenet).
ARCHITECTURES: Registry[ArchitectureSpec] = Registry(
    "architecture", ArchitectureSpec,
    (
        ArchitectureSpec("smallcnn", "SmallCNN, channels 16/32/32 (Fort et al., 2020), E6"),
        ArchitectureSpec("resnet9", "ResNet-9 (DAWNBench, myrtle.ai)"),
        ArchitectureSpec("resnet18", "ResNet-18 (He et al., 2015), the paper's default"),
        ArchitectureSpec("resnet34", "ResNet-34"),
        ArchitectureSpec("resnet50", "ResNet-50"),
        ArchitectureSpec("resnet101", "ResNet-101"),
        ArchitectureSpec("resnet152", "ResNet-152"),
        ArchitectureSpec("wide-resnet50-2", "Wide ResNet-50-2 (Zagoruyko & Komodakis, 2016)"),
        ArchitectureSpec("wide-resnet101-2", "Wide ResNet-101-2"),
        ArchitectureSpec("vgg11-bn", "VGG-11 with batch norm (Simonyan & Zisserman, 2015)"),
        ArchitectureSpec("vgg9", "VGG-9 without batch norm (Attack of the Tails, CIFAR-10 task)"),
        ArchitectureSpec("lenet", "LeNet (Attack of the Tails, digit task)"),
    ),
)

_SPECTRAL_REMOVALS = ("per-attacker", "fixed", "fraction")


def _spectral_rule(params: Mapping[str, Any]) -> None:
    has_fraction = "remove_fraction" in params
    if params["removal"] == "fraction" and not has_fraction:
        raise ValueError(
            "defense 'spectral-signatures': removal='fraction' needs remove_fraction "
            "in (0, 1)"
        )
    if params["removal"] != "fraction" and has_fraction:
        raise ValueError(
            f"defense 'spectral-signatures': remove_fraction is only used with "
            f"removal='fraction', not removal={params['removal']!r}"
        )


#: Defenses (paper E5). Names only; ``oracle`` implements them.
DEFENSES: Registry[ComponentSpec] = Registry(
    "defense", ComponentSpec,
    (
        ComponentSpec("none", "no defense: train on the pooled data as is"),
        ComponentSpec(
            "cutmix",
            "CutMix per batch (Yun et al., 2019) on part of the defender's data",
            (
                _real("alpha", 1.0, 0.0, None, low_open=True,
                      doc="Beta(alpha, alpha) of the mixing ratio"),
                _real("augment_fraction", 0.5, 0.0, 1.0, low_open=True,
                      doc="share of the defender's data used for augmentation"),
            ),
            augmentative=True,
        ),
        ComponentSpec(
            "adversarial-training",
            "backdoor adversarial training: the defender adds its own BadNet-"
            "triggered inputs with their clean labels",
            (
                _real("eps", 0.4, 0.0, 1.0, low_open=True, doc="perturbation rate of its triggers"),
                _real("p", 0.4, 0.0, 1.0, low_open=True, doc="poison rate of its augmentation"),
                _int("n_triggers", 20, 1, doc="number of different triggers"),
                _choice("trigger", "random-badnet",
                        ("random-badnet", "orthogonal-badnet", "rotated-badnet", "patch-badnet"),
                        doc="generator of its triggers"),
                _real("augment_fraction", 0.5, 0.0, 1.0, low_open=True,
                      doc="share of the defender's data used for augmentation"),
                _int("seed", DEFAULT_SEED, 0, SEED_MAX, doc="seed of the defender's own triggers"),
            ),
            augmentative=True,
        ),
        ComponentSpec(
            "spectral-signatures",
            "spectral signatures (Tran et al., 2018): per class, remove the inputs "
            "with the largest projection on the top singular vector of the centred "
            "penultimate features, then retrain",
            (
                _int("k_per_class", 5, 1, doc="inputs removed per class (per attacker with "
                     "removal='per-attacker')"),
                _choice("removal", "per-attacker", _SPECTRAL_REMOVALS,
                        doc="per-attacker: k_per_class * N per class (paper: 5 for N=1, "
                        "500 for N=100); fixed: k_per_class; fraction: remove_fraction "
                        "of each class"),
                _real("remove_fraction", None, 0.0, 1.0, low_open=True, high_open=True,
                      doc="share of each class removed, with removal='fraction'"),
            ),
            rule=_spectral_rule,
        ),
        ComponentSpec(
            "activation-clustering",
            "activation clustering (Chen et al., 2018): per class, ICA of the "
            "penultimate activations, k-means, then exclusionary reclassification",
            (
                _int("n_components", 10, 1, doc="ICA components"),
                _int("n_clusters", 2, 2, doc="k-means clusters per class"),
                _real("reclassification_threshold", 1.0, 0.0, None, low_open=True,
                      doc="a cluster is kept when l/p > threshold, l = its inputs "
                      "classified as their label by a model trained without it, p = the "
                      "largest count of any other class (Chen et al.'s T)"),
            ),
        ),
    ),
)

#: Federated aggregators (Attack of the Tails). Names and parameters only,
#: for the federated simulation.
AGGREGATORS: Registry[ComponentSpec] = Registry(
    "aggregator", ComponentSpec,
    (
        ComponentSpec("fedavg", "federated averaging, weighted by data count"),
        ComponentSpec(
            "norm-clipping",
            "norm-difference clipping: clip ||w_client - w_global|| to bound",
            (_real("bound", 2.0, 0.0, None, low_open=True, doc="CIFAR-10 2, digits 1.5"),),
        ),
        ComponentSpec(
            "krum",
            "Krum: the update with the least sum of squared distances to its n - f - 2 nearest",
            (_int("f", 1, 0, doc="assumed number of attackers"),),
        ),
        ComponentSpec(
            "multi-krum",
            "Multi-Krum: average of the m best Krum scores, weighted by data count",
            (
                _int("f", 1, 0, doc="assumed number of attackers"),
                _int("m", None, 1, doc="updates kept; default n - f"),
            ),
        ),
        ComponentSpec(
            "rfa",
            "RFA: smoothed Weiszfeld geometric median",
            (
                _int("max_iter", 500, 1),
                _real("eps", 1e-5, 0.0, None, low_open=True, doc="smoothing"),
                _real("ftol", 1e-7, 0.0, None, low_open=True, doc="stopping tolerance"),
            ),
        ),
        ComponentSpec(
            "weak-dp",
            "weak differential privacy: norm clipping, then Gaussian noise on the aggregate",
            (
                _real("bound", 2.0, 0.0, None, low_open=True),
                _real("noise_std", 0.025, 0.0, None),
            ),
        ),
        ComponentSpec("median", "coordinate-wise median"),
        ComponentSpec(
            "trimmed-mean",
            "coordinate-wise trimmed mean",
            (_real("beta", 0.1, 0.0, 0.5, high_open=True,
                   doc="share trimmed at each end"),),
        ),
    ),
)


def validate_params(
    what: str,
    spec: ComponentSpec,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
) -> tuple[tuple[str, Any], ...]:
    """Check ``params`` against ``spec``; return them with defaults filled
    in, as a tuple of ``(name, value)`` pairs sorted by name.

    Unknown parameters raise, naming the allowed ones.
    """
    if params is None:
        given: dict[str, Any] = {}
    elif isinstance(params, Mapping):
        given = dict(params)
    else:
        try:
            given = dict(params)
        except (TypeError, ValueError):
            raise ValueError(f"params={params!r} is not a table of name = value") from None
    allowed = spec.param_names
    unknown = [k for k in given if k not in allowed]
    if unknown:
        names = ", ".join(allowed) if allowed else "none"
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {what} "
            f"{spec.name!r}: allowed parameters are {names}"
        )
    out = spec.defaults()
    for p in spec.params:
        if p.name in given:
            out[p.name] = p.check(f"{spec.name}.{p.name}", given[p.name])
    if spec.rule is not None:
        spec.rule(out)
    return tuple(sorted(out.items()))


def spectral_removal_count(
    params: Mapping[str, Any], n_attackers: int, class_size: int
) -> int:
    """Inputs the spectral-signatures defense removes from one class.

    * ``per-attacker``: ``k_per_class · N`` (the paper: top 5 for N = 1,
      scaled to top 500 for N = 100);
    * ``fixed``: ``k_per_class``;
    * ``fraction``: ``round_half_up(remove_fraction · class_size)``;

    never more than ``class_size``.
    """
    n_attackers = check_int("n_attackers", n_attackers, 1)
    class_size = check_int("class_size", class_size, 0)
    removal = params["removal"]
    if removal == "per-attacker":
        k = params["k_per_class"] * n_attackers
    elif removal == "fixed":
        k = params["k_per_class"]
    else:
        k = round_half_up(params["remove_fraction"] * class_size)
    return min(k, class_size)


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
