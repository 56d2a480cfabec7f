"""Count profiles of N interchangeable players, their row index, and multinomial probabilities.

A *count vector* ``c ∈ ℕ^K`` with ``Σ c = n`` says how many of ``n``
interchangeable players play each of ``K`` strategies; there are
``C(n+K-1, K-1)`` of them (stars and bars, :func:`num_profiles`), enumerated
in descending lexicographic order by :func:`multinomial_profiles`.

When each player independently draws a strategy from ``σ ∈ Δ_K`` the counts
are multinomial::

    P_{n,σ}(c) = n! / Π_i c_i! · Π_i σ_i^{c_i}

evaluated in log space (:func:`log_multinomial`, :func:`multinomial_weights`),
vectorised over all count vectors. Only count vectors inside the support of
``σ`` have non-zero probability. :class:`ProfileIndex` finds the row of any
count vector, vectorised (:func:`profile_index`, :func:`plus_index`).

This module uses numpy and scipy only.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from scipy.special import gammaln

from .arguments import check_int

__all__ = [
    "MAX_PROFILES",
    "MIXTURE_SUM_TOL",
    "ProfileIndex",
    "as_probability",
    "log_coefficients",
    "log_multinomial",
    "multinomial_profiles",
    "multinomial_weights",
    "num_profiles",
    "plus_index",
    "profile_index",
]

#: Vectorised methods enumerate every count vector; above this many they refuse (use :meth:`~RoleSymmetricGame.reduce`).
MAX_PROFILES = 5_000_000
#: A mixture's entries may sum to 1 within this tolerance (it is then renormalised).
MIXTURE_SUM_TOL = 1e-6


def num_profiles(n: int, k: int) -> int:
    """Number of count vectors of ``n`` players over ``k`` strategies: ``C(n+k-1, k-1)`` (stars and bars)."""
    n = check_int("n", n, 0)
    k = check_int("k", k, 1)
    return math.comb(n + k - 1, k - 1)


@lru_cache(maxsize=32)
def _profiles(n: int, k: int) -> np.ndarray:
    counts = np.zeros((1, 0), dtype=np.int64)
    remaining = np.array([n], dtype=np.int64)
    for _ in range(k - 1):
        reps = remaining + 1
        parent = np.repeat(np.arange(len(remaining)), reps)
        first = np.cumsum(reps) - reps
        offset = np.arange(int(reps.sum())) - np.repeat(first, reps)
        ci = remaining[parent] - offset  # from `remaining` down to 0
        counts = np.column_stack([counts[parent], ci])
        remaining = remaining[parent] - ci
    counts = np.column_stack([counts, remaining]).astype(np.int64)
    counts.setflags(write=False)
    return counts


def multinomial_profiles(n: int, k: int) -> np.ndarray:
    """All count vectors ``c ∈ ℕ^k`` with ``Σ c = n``, one per row.

    Rows are in descending lexicographic order (``(n, 0, …)`` first,
    ``(…, 0, n)`` last); there are ``C(n+k-1, k-1)`` of them. The array is
    cached and read-only. Raises ``ValueError`` above :data:`MAX_PROFILES` rows.
    """
    m = num_profiles(n, k)
    if m > MAX_PROFILES:
        raise ValueError(
            f"n_attackers={n} over {k} strategies has {m} count profiles, more than MAX_PROFILES="
            f"{MAX_PROFILES}; reduce the game first (RoleSymmetricGame.reduce)"
        )
    return _profiles(int(n), int(k))


def log_coefficients(n: int, counts: np.ndarray) -> np.ndarray:
    """``log(n! / Π_i c_i!)`` per row of ``counts``."""
    return gammaln(n + 1) - gammaln(np.asarray(counts) + 1).sum(axis=-1)


def log_multinomial(n: int, sigma: np.ndarray, counts: np.ndarray, log_coef: np.ndarray | None = None) -> np.ndarray:
    """``log P_{n,σ}(c)`` per row of ``counts`` (``-inf`` where ``c_i > 0 = σ_i``); σ is not checked."""
    counts = np.asarray(counts)
    if log_coef is None:
        log_coef = log_coefficients(n, counts)
    sigma = np.clip(np.asarray(sigma, dtype=float), 0.0, None)
    positive = sigma > 0
    log_sigma = np.log(np.where(positive, sigma, 1.0))  # 0 · log 0 = 0; handled below
    out = log_coef + counts @ log_sigma
    if not positive.all():
        out = np.where(counts[..., ~positive].sum(axis=-1) > 0, -np.inf, out)
    return out


def as_probability(name: str, x: Any, size: int) -> np.ndarray:
    """``x`` as a probability vector of length ``size``: finite, ≥ 0, Σ = 1 within MIXTURE_SUM_TOL; renormalised."""
    arr = np.asarray(x, dtype=float)
    if arr.shape != (size,):
        raise ValueError(f"{name} must be a vector of {size} probabilities, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    if (arr < -MIXTURE_SUM_TOL).any():
        raise ValueError(f"{name} entries must be in [0, 1], got {arr.tolist()}")
    total = arr.sum()
    if abs(total - 1.0) > MIXTURE_SUM_TOL:
        raise ValueError(f"{name} must sum to 1 (within {MIXTURE_SUM_TOL}), got sum {total!r}")
    arr = np.clip(arr, 0.0, None)
    return arr / arr.sum()


def multinomial_weights(n: int, sigma: Sequence[float], profiles: np.ndarray | None = None) -> np.ndarray:
    """Multinomial probabilities ``P_{n,σ}(c) = n!/Π c_i! · Π σ_i^{c_i}`` of count vectors.

    Computed in log space with ``scipy.special.gammaln`` (no overflow for
    large ``n``), vectorised over the rows of ``profiles`` (default: all of
    :func:`multinomial_profiles(n, len(σ))`, over which they sum to 1). Rows
    with ``c_i > 0`` on a strategy with ``σ_i = 0`` get exactly 0.
    """
    n = check_int("n", n, 0)
    sigma = np.asarray(sigma, dtype=float)
    if sigma.ndim != 1 or sigma.size == 0:
        raise ValueError(f"sigma must be a non-empty vector, got shape {sigma.shape}")
    sigma = as_probability("sigma", sigma, sigma.size)
    if profiles is None:
        profiles = multinomial_profiles(n, sigma.size)
    profiles = np.asarray(profiles)
    if profiles.ndim != 2 or profiles.shape[1] != sigma.size:
        raise ValueError(f"profiles must have shape (m, {sigma.size}), got {profiles.shape}")
    if profiles.size and ((profiles < 0).any() or (profiles.sum(axis=1) != n).any()):
        raise ValueError(f"profiles must be non-negative count vectors summing to n={n}")
    return np.exp(log_multinomial(n, sigma, profiles))


class ProfileIndex:
    """Row numbers of the count vectors of :func:`multinomial_profiles(n, k)`, vectorised.

    Rows are in descending lexicographic order, so the base-(n+1) key with the
    first strategy most significant is strictly decreasing along them and
    ``searchsorted`` finds a row (a dict is the fallback where keys overflow).
    """

    def __init__(self, n: int, k: int):
        self.n, self.k = n, k
        self.counts = multinomial_profiles(n, k)
        self._dict: dict[tuple[int, ...], int] | None = None
        if (n + 1) ** k < 2**62:
            self._weights = (n + 1) ** np.arange(k - 1, -1, -1, dtype=np.int64)
            self._keys = (self.counts @ self._weights)[::-1].copy()  # ascending
        else:  # pragma: no cover - only for absurdly many strategies
            self._dict = {tuple(int(x) for x in row): i for i, row in enumerate(self.counts)}

    def __len__(self) -> int:
        return len(self.counts)

    def find(self, rows: np.ndarray) -> np.ndarray:
        """Row numbers of count vectors ``rows`` (``(..., k)``, each non-negative and summing to n)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._dict is not None:  # pragma: no cover
            flat = rows.reshape(-1, self.k)
            out = np.array([self._dict[tuple(int(x) for x in r)] for r in flat], dtype=np.int64)
            return out.reshape(rows.shape[:-1])
        pos = np.searchsorted(self._keys, rows @ self._weights)
        return len(self._keys) - 1 - pos

    def support_rows(self, support: np.ndarray) -> np.ndarray:
        """Rows whose strategies outside the boolean mask ``support`` are all 0."""
        if support.all():
            return np.arange(len(self.counts))
        return np.flatnonzero(self.counts[:, ~support].sum(axis=1) == 0)


@lru_cache(maxsize=32)
def profile_index(n: int, k: int) -> ProfileIndex:
    """The (cached) :class:`ProfileIndex` of the count vectors of ``n`` players over ``k`` strategies."""
    return ProfileIndex(n, k)


@lru_cache(maxsize=32)
def plus_index(n: int, k: int) -> np.ndarray:
    """``(M_n, k)``: row of ``c + e_s`` among profiles of ``n+1``, for every row ``c`` of profiles of ``n``."""
    base = profile_index(n, k).counts
    out = profile_index(n + 1, k).find(base[:, None, :] + np.eye(k, dtype=np.int64)[None, :, :])
    out.setflags(write=False)
    return out

