"""Field validation (public: the one place backfire's checks and their wording live), the default
seed and the rounding rule.

Every check raises :class:`ValueError` with a message that names the field,
the value and the allowed range or names, e.g.::

    eps=1.5 is out of range: allowed [0, 1]
    unknown defense 'foo': known defenses are none, cutmix, ...

Values are normalised on the way in (``int``-valued floats stay errors, numpy
scalars become Python scalars, ``1`` becomes ``1.0`` for a real-valued field)
so that equal values compare, hash and serialise identically.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Mapping, NoReturn

from .registry import Registry, is_reference

__all__ = [
    "DEFAULT_SEED",
    "SEED_MAX",
    "check_real",
    "check_int",
    "check_bool",
    "check_name",
    "check_str",
    "check_keys",
    "format_range",
    "is_int",
    "out_of_range",
    "require",
    "round_half_up",
]

#: Largest seed accepted by ``numpy.random.RandomState`` (seeds are 32-bit).
SEED_MAX = 2**32 - 1

#: The project's seed (the paper uses 3407 for everything except the per-attacker trigger draws,
#: seeded by the attacker's index): the one default seed of backfire.
DEFAULT_SEED = 3407


def _fmt(x: float | int | None, inf: str) -> str:
    if x is None:
        return inf
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return repr(x)


def format_range(
    low: float | None,
    high: float | None,
    low_open: bool = False,
    high_open: bool = False,
) -> str:
    """Interval notation for an error message, e.g. ``[0, 1]`` or ``(0, inf)``; an unbounded or
    infinite end is open."""
    low = None if low is not None and low == -math.inf else low
    high = None if high is not None and high == math.inf else high
    left = "(" if (low_open or low is None) else "["
    right = ")" if (high_open or high is None) else "]"
    return f"{left}{_fmt(low, '-inf')}, {_fmt(high, 'inf')}{right}"


def out_of_range(field: str, value: Any, allowed: str) -> NoReturn:
    """Raise the one-line error for a field outside what is allowed (``allowed`` in words or
    interval notation), in the wording of every check here::

        lr=0 is out of range: allowed (0, inf)
    """
    raise ValueError(f"{field}={value!r} is out of range: allowed {allowed}")


def _out_of_range(field: str, value: Any, low, high, low_open, high_open) -> NoReturn:
    out_of_range(field, value, format_range(low, high, low_open, high_open))


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a ``bool``."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral)


def require(condition: bool, message: str, error: type[ValueError] = ValueError) -> None:
    """Raise ``error(message)`` unless ``condition`` holds (a check whose wording is its own)."""
    if not condition:
        raise error(message)


def check_real(
    field: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the interval, or raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{field}={value!r} is not a number: allowed "
            f"{format_range(low, high, low_open, high_open)}"
        )
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        _out_of_range(field, value, low, high, low_open, high_open)
    if low is not None and (v < low or (low_open and v == low)):
        _out_of_range(field, value, low, high, low_open, high_open)
    if high is not None and (v > high or (high_open and v == high)):
        _out_of_range(field, value, low, high, low_open, high_open)
    return v


def check_int(
    field: str,
    value: Any,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Return ``value`` as an ``int`` inside ``[low, high]``, or raise.

    ``bool`` and floats (even integral ones such as ``5.0``) are rejected: a
    count or an index written as a float is usually a mistake.
    """
    if not is_int(value):
        raise ValueError(
            f"{field}={value!r} is not an integer: allowed "
            f"{format_range(low, high)}"
        )
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        _out_of_range(field, v, low, high, False, False)
    return v


def check_bool(field: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool`` (numpy bools accepted), or raise."""
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":  # numpy.bool_
        return bool(value)
    raise ValueError(f"{field}={value!r} is not a boolean: allowed true, false")


def check_str(field: str, value: Any) -> str:
    """Return ``value`` if it is a non-empty string, or raise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}={value!r} is not a non-empty string")
    return value


def check_name(what: str, value: Any, known: Iterable[str], plural: str | None = None) -> str:
    """Return ``value`` if it is one of ``known``, else raise listing them. With a
    :class:`~strategies.registry.Registry`, a plug-in reference ``package.module:Name`` is loaded.

    >>> check_name("defense", "foo", ["none", "cutmix"])
    Traceback (most recent call last):
    ...
    ValueError: unknown defense 'foo': known defenses are none, cutmix
    """
    if isinstance(known, Registry) and is_reference(value):
        known[value]  # a plug-in: loaded and registered, or a one-line ValueError saying why not
        return value
    known = list(known)
    if isinstance(value, str) and value in known:
        return value
    plural = plural or what + "s"
    raise ValueError(f"unknown {what} {value!r}: known {plural} are {', '.join(known)}")


def check_keys(
    where: str,
    data: Any,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> Mapping[str, Any]:
    """Check that ``data`` is a mapping with exactly the allowed keys."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a table (mapping), got {type(data).__name__}")
    required = list(required)
    allowed = required + [k for k in optional if k not in required]
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}: "
            f"allowed fields are {', '.join(allowed)}"
        )
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
    return data


def round_half_up(x: float) -> int:
    """Round ``x >= 0`` to the nearest integer, halves up: 0.5 → 1, 2.5 → 3.

    A tolerance of 1e-9 absorbs binary floating point, so that ``0.35 * 10``
    (which is 3.4999999999999996) rounds like the exact 3.5, to 4. Python's
    ``round`` is not used because it rounds halves to even (``round(2.5) == 2``).
    This is backfire's rounding rule for counts (attackers per label, poisoned
    images, removed inputs, patch sides).
    """
    return int(math.floor(x + 0.5 + 1e-9))
