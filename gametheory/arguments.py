"""Checks of the arguments the role-symmetric modules take: each returns the value or raises one line.

Every check raises ``ValueError`` naming the argument, what it got and what
is allowed; a boolean is never an integer or a number.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["check_int", "check_names", "check_tol", "is_integral"]


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` as an ``int`` in ``[lo, hi]``, else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def check_names(field: str, names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple of unique non-empty strings (a single string is refused)."""
    if isinstance(names, str):
        raise ValueError(f"{field} must be a sequence of names, not the single string {names!r}")
    out = tuple(names)
    if not out:
        raise ValueError(f"{field} must not be empty")
    bad = [n for n in out if not isinstance(n, str) or not n]
    if bad:
        raise ValueError(f"{field} must be non-empty strings, got {bad}")
    dupes = sorted({n for n in out if out.count(n) > 1})
    if dupes:
        raise ValueError(f"{field} must be unique, got duplicates {dupes}")
    return out


def check_tol(tol: Any, field: str = "tol") -> float:
    """A tolerance: a finite number ``>= 0``."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not (0 <= tol < math.inf):
        raise ValueError(f"{field} must be a finite number >= 0, got {tol!r}")
    return float(tol)


def is_integral(arr: np.ndarray) -> bool:
    """Whether every entry of ``arr`` is a finite whole number (``2.0`` is, ``2.5`` and NaN are not)."""
    try:
        a = np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(a).all() and (a == np.round(a)).all())
