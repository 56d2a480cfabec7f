"""Content keys: the SHA-256 of everything that changes a result.

A result is stored under ``content_key(profile, seed)`` and its payoff-table
cell under ``content_key(profile)``, where ``profile`` describes the
environment, each role's strategy, N, the training preset and the oracle
version (:meth:`oracle.payoff_oracle.PayoffOracle.profile`). The JSON is
canonical (:func:`strategies.keys.canonical_json`), so equal descriptions hash
alike on every machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from strategies.keys import canonical_json as strategies_canonical_json

__all__ = ["as_seed", "canonical_json", "content_key"]


def canonical_json(obj: Any) -> str:
    """The canonical JSON text of ``obj`` (:func:`strategies.keys.canonical_json`: keys sorted,
    no spaces, tuples as lists, numpy scalars as plain numbers). NaN and infinities are
    refused (not JSON, and NaN != NaN would make equal descriptions hash apart)."""
    try:
        return strategies_canonical_json(obj)
    except ValueError as e:
        raise ValueError(f"cannot describe {obj!r} as canonical JSON: {e}") from e


def content_key(profile: Mapping[str, Any], seed: int | None = None) -> str:
    """SHA-256 (hex) of the canonical JSON of ``profile`` and, if given, ``seed``.

    ``content_key(profile)`` is the cell key; ``content_key(profile, seed)`` the
    key of one run. ``profile`` must describe everything that changes the result
    (environment, strategies, N, training preset, oracle version)."""
    if not isinstance(profile, Mapping):
        raise TypeError(f"profile must be a mapping, got {type(profile).__name__}")
    payload = dict(profile) if seed is None else {"profile": dict(profile), "seed": as_seed(seed)}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def as_seed(seed: Any) -> int:
    """``seed`` as a plain int (an integer of any kind, not a bool)."""
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return int(seed.__index__())
