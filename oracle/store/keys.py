"""Content keys: the SHA-256 of everything that changes a result.

A result is stored under ``content_key(profile, seed)`` and its payoff-table
cell under ``content_key(profile)``, where ``profile`` describes the
environment, each role's strategy, N, the training preset and the oracle
version (:meth:`oracle.payoff_oracle.PayoffOracle.profile`). The JSON is
canonical (:func:`strategies.keys.canonical_json`), so equal descriptions hash
alike on every machine.

The environment part of a profile holds the content fingerprint of the data
(a SHA-256 over every image and label, under one of :data:`FINGERPRINT_FIELDS`),
so a changed dataset never reuses cells measured on another. Computing it
reads the data; the result cache therefore also records, per *data
description* (the environment without its fingerprint, keyed by
:func:`data_key`), the fingerprints fills have measured
(:meth:`oracle.store.cache.ResultCache.record_data`), so that reading cells
(``backfire solve``, ``status``) needs the cache file alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from strategies.keys import canonical_json as strategies_canonical_json

__all__ = ["FINGERPRINT_FIELDS", "as_seed", "canonical_json", "content_key", "data_key", "split_fingerprint"]

#: The fields of a profile's environment that hold its data's content fingerprint (normal-form, federated).
FINGERPRINT_FIELDS = ("dataset_fingerprint", "data_fingerprint")


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
        raise ValueError(f"seed={seed!r} is not an integer")
    return int(seed.__index__())


def data_key(description: Mapping[str, Any]) -> str:
    """The key of a *data description*: an environment's description without its content fingerprint
    (``split_fingerprint(environment)[0]``). Fingerprints measured for it are recorded under this key."""
    return content_key({"data_description": dict(description)})


def split_fingerprint(environment: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """``(description, fingerprint)``: a profile's environment without, and its data fingerprint (None if absent)."""
    description, fingerprint = dict(environment), None
    for name in FINGERPRINT_FIELDS:
        if name in description:
            fingerprint = description.pop(name)
    return description, fingerprint
