"""The configuration of the adaptive equilibrium search: budget, tolerance, confidence, solvers.

:class:`SearchConfig` is validated when built; :func:`gametheory.search.equilibrium_search`
describes what each setting does (its module docstring, and ``docs/search.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .sampling import INTERVALS

__all__ = ["SearchConfig"]


@dataclass(frozen=True)
class SearchConfig:
    """Budget, tolerance and confidence of :func:`~gametheory.search.equilibrium_search` (its module docstring).

    ``max_profiles``/``max_samples``: budget in distinct full-game profiles and
    in samples (``None``: unlimited). ``tol``: a deviation gaining more than
    this refutes a candidate. ``delta``: total failure probability of all
    confidence intervals. ``interval``: ``"t"`` or ``"hoeffding"``.
    ``initial_samples``: samples of a newly measured profile;
    ``max_samples_per_profile``: cap of adaptive seeds. ``dpr``: search the
    ``k``-player DPR reduction instead of the full game. ``stop_at_first``:
    stop exploring once one candidate is confirmed or accepted (sampling
    still settles the candidates at hand), instead of exploring until every
    candidate is settled. ``solvers``: the methods of
    :meth:`~gametheory.symmetric.RoleSymmetricGame.find_equilibria` run on
    each subgame (from its default starts: uniform and every pure profile),
    ``solver_steps`` each.
    """

    max_profiles: int | None = None
    max_samples: int | None = None
    tol: float = 0.0
    delta: float = 0.05
    interval: str = "t"
    initial_samples: int = 2
    max_samples_per_profile: int = 16
    payoff_range: tuple[float, float] = (0.0, 1.0)
    dpr: int | None = None
    stop_at_first: bool = False
    solvers: tuple[str, ...] = ("regret-min",)
    solver_steps: int = 500
    max_rounds: int = 500

    def __post_init__(self):
        if self.interval not in INTERVALS:
            raise ValueError(f"interval must be one of {list(INTERVALS)}, got {self.interval!r}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {self.delta!r}")
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")
        if not 1 <= self.initial_samples <= self.max_samples_per_profile:
            raise ValueError(f"initial_samples must be in [1, max_samples_per_profile={self.max_samples_per_profile}], "
                             f"got {self.initial_samples}")
        for name in ("max_profiles", "max_samples"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
