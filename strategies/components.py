"""What a registry entry of the defender's side is: a parameter with its range
(:class:`ParamSpec`), a defense or aggregator with its parameters
(:class:`ComponentSpec`), a victim architecture (:class:`ArchitectureSpec`),
and the check of given parameters against an entry (:func:`validate_params`).

The entries themselves are registered in :mod:`strategies.catalog`; the
strategies that name them are in :mod:`strategies.defender`. A parameter
that is unknown or out of range is rejected with a ``ValueError`` that lists
what is allowed, never silently replaced by a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from .validate import check_bool, check_int, check_real, format_range

__all__ = ["ArchitectureSpec", "ComponentSpec", "ParamSpec", "validate_params"]


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
