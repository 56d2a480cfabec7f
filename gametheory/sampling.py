"""Sampled payoffs: the batch-sampling protocol, per-profile confidence radii, and adapters.

A simulation-based game is known only through noisy samples: one sample of a
profile is one measurement (one training run with one seed) that gives every
role of the profile one payoff. The adaptive search
(:mod:`gametheory.search`) asks for profiles in **batches**: a list of
``(profile, n)`` requests, "hold at least ``n`` samples of this profile", so
that an executor can run one step's cells in parallel. A
:class:`SampleSource` answers a batch with the :class:`~gametheory.sources.Payoffs`
(means, and per-seed ``samples``) of every profile it could serve; a profile
it could not serve is left out, and the search reports it missing. A source
whose cache already holds samples serves them without measuring again, which
is what makes a search resumable. :func:`as_sample_source` turns any plain
:class:`~gametheory.sources.PayoffSource` (the cache, the oracle's
``SymmetricSource``) into one that serves what it has.

Confidence radii (:func:`confidence_radius`), for the mean ``x̄_n`` of ``n``
samples of one (profile, role) payoff, each holding with probability
``≥ 1 - δ'``:

* ``"hoeffding"`` [Hoe63]_: payoffs in ``[lo, hi]``, i.i.d. samples:
  ``|x̄_n − μ| ≤ (hi − lo) · sqrt(log(2/δ') / (2n))``. Rigorous, distribution-free,
  and wide: with 10 samples and ``δ' = 10⁻⁴`` it is ±0.70 on ``[0, 1]``.
* ``"t"``: Student's t interval ``t_{n-1, 1-δ'/2} · s / sqrt(n)`` (``s`` the
  sample standard deviation); exact for Gaussian noise only, an approximation
  otherwise, infinite for ``n < 2``.

:func:`union_delta` splits a total ``δ`` over every (profile, role, sample
size) the search could ever test, fixed before sampling starts, so the radii
hold *simultaneously* with probability ``≥ 1 − δ`` however adaptively the
sample sizes were chosen (the union-bound argument of progressive sampling
[AV20]_, [CMAG23]_).

References
----------
.. [Hoe63] W. Hoeffding, "Probability inequalities for sums of bounded random
   variables", JASA 58 (1963).
.. [AV20] E. Areyan Viqueira, C. Cousins, E. Upfal and A. Greenwald,
   "Learning equilibria of simulation-based games", arXiv:1905.13379.
.. [CMAG23] C. Cousins, B. Mishra, E. Areyan Viqueira and A. Greenwald,
   "Learning properties in simulation-based games", AAMAS 2023, arXiv:2208.06400
   (progressive sampling with pruning, PSP).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Hashable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from .sources import MissingPayoff, Payoffs, PayoffSource

__all__ = [
    "INTERVALS",
    "Request",
    "SampleSource",
    "PayoffSourceSampler",
    "as_sample_source",
    "sample_values",
    "confidence_radius",
    "union_delta",
]

#: Confidence intervals :func:`confidence_radius` knows.
INTERVALS = ("hoeffding", "t")

Request = tuple[Hashable, int]
"""``(profile, n)``: hold at least ``n`` samples of ``profile``."""


@runtime_checkable
class SampleSource(Protocol):
    """Answers a batch of requests with the payoffs (and samples) of the profiles it could serve."""

    def sample(self, requests: Sequence[Request]) -> Mapping[Hashable, Payoffs]:  # pragma: no cover - protocol
        ...


class PayoffSourceSampler:
    """A :class:`SampleSource` over a plain :class:`PayoffSource`: serves what the source has.

    ``n`` is not acted on (a plain source decides its own seeds); a profile
    whose ``payoffs`` raises ``MissingPayoff`` is left out of the answer, and
    its reason kept in :attr:`missing`.
    """

    def __init__(self, source: PayoffSource):
        self.source = source
        self.missing: dict[Hashable, str] = {}

    def sample(self, requests: Sequence[Request]) -> dict[Hashable, Payoffs]:
        out: dict[Hashable, Payoffs] = {}
        for profile, _ in requests:
            try:
                out[profile] = self.source.payoffs(profile)
            except MissingPayoff as err:
                self.missing[profile] = err.reason
        return out


def as_sample_source(source: object) -> SampleSource:
    """``source`` itself if it has ``sample``, a :class:`PayoffSourceSampler` if it has ``payoffs``."""
    if isinstance(source, SampleSource):
        return source
    if isinstance(source, PayoffSource):
        return PayoffSourceSampler(source)
    raise ValueError(
        f"source must have sample(requests) or payoffs(profile), got {type(source).__name__}"
    )


def sample_values(record: Payoffs, role: str, cap: int | None = None) -> np.ndarray:
    """The per-seed samples of ``role`` (the mean alone, as one sample, when none are given), the first ``cap``."""
    values = record.samples.get(role) if record.samples else None
    arr = np.asarray(values if values else [record.roles[role]], dtype=float)
    return arr[:cap] if cap is not None else arr


def union_delta(delta: float, n_tests: int) -> float:
    """Bonferroni share ``δ / n_tests`` of a total failure probability ``δ ∈ (0, 1)``."""
    if not (isinstance(delta, (int, float)) and 0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    if n_tests < 1:
        raise ValueError(f"n_tests must be >= 1, got {n_tests}")
    return float(delta) / int(n_tests)


def confidence_radius(
    samples: np.ndarray, delta: float, interval: str = "hoeffding", payoff_range: tuple[float, float] = (0.0, 1.0)
) -> float:
    """Half-width of a ``1 − δ`` two-sided confidence interval on the mean of ``samples``.

    ``hoeffding``: ``(hi − lo) · sqrt(log(2/δ) / (2n))`` [Hoe63]_;
    ``t``: ``t_{n-1, 1-δ/2} · s / sqrt(n)`` (``inf`` for ``n < 2``).
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {list(INTERVALS)}, got {interval!r}")
    samples = np.asarray(samples, dtype=float)
    n = samples.size
    if n == 0:
        return math.inf
    if interval == "hoeffding":
        lo, hi = payoff_range
        return float((hi - lo) * math.sqrt(math.log(2.0 / delta) / (2.0 * n)))
    if n < 2:
        return math.inf
    return float(_t_quantile(1.0 - delta / 2.0, n - 1) * samples.std(ddof=1) / math.sqrt(n))


@lru_cache(maxsize=1024)
def _t_quantile(q: float, df: int) -> float:
    from scipy.stats import t as student_t  # deferred: scipy.stats costs ~0.5 s at start-up, and solve never needs it

    return float(student_t.ppf(q, df))
