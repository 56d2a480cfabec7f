"""Canonical JSON and content keys for strategy objects.

A *content key* identifies what a value computes, for the result cache: two
objects that lead to the same computation have the same key, and any field
that changes the computation changes the key.

The key is the SHA-256 of the value's *canonical JSON*:

* objects with their keys sorted, no whitespace (``separators=(",", ":")``),
  ASCII only;
* tuples written as arrays; integers as integers; floats by Python's
  ``repr`` (the shortest string that round-trips, e.g. ``0.55``), so
  ``1`` and ``1.0`` differ: the strategy classes normalise real-valued fields
  to ``float`` and integer fields to ``int`` before they get here;
* NaN and infinities are refused;
* the payload is wrapped as ``{"kind": ..., "schema": SCHEMA_VERSION,
  "value": ...}`` so that, e.g., an attacker action and a defender strategy
  never share a key, and so that a change of meaning of a field can be
  marked by bumping :data:`SCHEMA_VERSION`.

Labels that do not change the computation (a strategy's ``name``) are left
out of the key by the classes that call :func:`content_key`.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import tomllib
from typing import Any, Mapping

import tomli_w

__all__ = ["SCHEMA_VERSION", "canonical_json", "content_key", "plain", "toml_dumps", "toml_loads"]

#: Version of the meaning of the strategy fields. Bump it when a field's
#: interpretation changes (e.g. a different trigger draw), so old cache
#: entries are not reused for a different computation.
SCHEMA_VERSION = 1


def plain(value: Any) -> Any:
    """Convert ``value`` to JSON/TOML-compatible data: dicts, lists, str, int,
    float, bool. Tuples become lists and numpy scalars Python scalars."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"keys must be strings, got {k!r}")
            out[k] = plain(v)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if type(value).__name__ == "bool_":
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"value {value!r} of type {type(value).__name__} is not plain data")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (sorted keys, no whitespace).

    >>> canonical_json({"b": 1, "a": [0.55, (1, 2)]})
    '{"a":[0.55,[1,2]],"b":1}'
    """
    return json.dumps(
        plain(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )


def content_key(kind: str, value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``value`` tagged with
    ``kind`` and :data:`SCHEMA_VERSION`."""
    text = canonical_json({"kind": kind, "schema": SCHEMA_VERSION, "value": value})
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def toml_dumps(data: Mapping[str, Any]) -> str:
    """TOML text of :func:`plain` ``(data)``."""
    return tomli_w.dumps(plain(data))


def toml_loads(text: str) -> dict[str, Any]:
    """Parse TOML; a syntax error becomes a one-line ``ValueError``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"invalid TOML: {exc}") from exc
