"""Filling and solving a game where each attacker chooses: the full game, its DPR reduction, or the search.

A :class:`~oracle.symmetric_spec.SymmetricGameSpec` names its analysis
(``[analysis] method``); :func:`fill_symmetric` measures what that analysis
reads and :func:`solve_symmetric` solves it from the cache alone:

* ``"full"``: every profile ``(counts, defender)`` of the game, with every seed;
* ``"dpr"``: the full-game profiles that the ``k``-player deviation-preserving
  reduction reads (:meth:`gametheory.RoleSymmetricGame.dpr_required_profiles`),
  with every seed; the equilibria are those of the reduced game;
* ``"search"``: the adaptive equilibrium search of :mod:`gametheory.search`
  (subgames and deviations; adaptive seeds: a profile starts with the first
  ``samples`` seeds and gets more, in the spec's order, where an equilibrium
  still depends on its noise), optionally on the DPR game.

The oracle is the search's sample source (:class:`OracleSampler`): a batch of
requests ``(profile, n)`` — one search step — becomes the jobs of the first
``n`` seeds of each profile; those not cached are trained together by the
fill executors (:func:`oracle.fill.run_local`, or
:func:`~oracle.fill.run_with_ray`, which runs a step's jobs in parallel).
Every finished job is stored as it finishes, so an interrupted fill keeps it;
a second fill re-runs the search, whose decisions depend only on the samples
it asked for, so it replays from the cache and trains only what is missing.
Solving re-runs the same search on the cache (no training). This module
imports no torch.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping, Sequence

from gametheory import MappingSource, MissingPayoff, Payoffs, RoleSymmetricGame
from gametheory.search import SearchConfig, SearchResult, equilibrium_search
from gametheory.symmetric import Profile
from gametheory.symmetric_report import SolveSummary, summarize_search, summarize_symmetric
from oracle.fill import FillReport, ray_session, run_local, run_with_ray
from oracle.jobs import Job
from oracle.payoff_oracle import PayoffOracle, SymmetricSource
from oracle.symmetric_spec import Analysis, SymmetricGameSpec

__all__ = ["IncompleteGame", "OracleSampler", "SymmetricFillReport", "analysis_profiles", "cached_game",
           "fill_symmetric", "game_of", "override", "search_config", "solve_measured", "solve_symmetric"]


class IncompleteGame(LookupError):
    """The cache lacks profiles the analysis needs (run ``backfire fill`` first)."""


@dataclass
class SymmetricFillReport:
    """What a fill of a role-symmetric game did: the method, the profiles it measured, the jobs, the search."""

    method: str
    profiles: list[Profile]
    jobs: FillReport
    seconds: float
    search: SearchResult | None = None
    notes: list[str] = field(default_factory=list)


class OracleSampler:
    """The payoff oracle as a :class:`gametheory.sampling.SampleSource` for a role-symmetric spec.

    ``sample(requests)``: the jobs of the first ``n`` spec seeds of every
    requested ``(profile, n)`` (``n`` capped at the number of seeds) are
    trained when missing (``train=True``; one executor call per batch), then
    each profile's payoffs are read (:class:`~oracle.payoff_oracle.SymmetricSource`
    over those seeds). A profile whose jobs are not all cached is left out
    and its reason kept in :attr:`missing`.
    """

    def __init__(self, oracle: PayoffOracle, *, train: bool = True, executor: str = "local",
                 ray_address: str | None = None, on_done: Callable[[Job, Any, str], None] | None = None):
        self.oracle = oracle
        self.labels = tuple(oracle.spec.attackers)
        self.seeds = tuple(oracle.spec.seeds)
        self.train = train
        self.executor = executor
        self.ray_address = ray_address
        self.on_done = on_done
        self.report = FillReport([], [], [], [], 0.0)
        self.missing: dict[Hashable, str] = {}
        self._sources: dict[int, SymmetricSource] = {}

    def source(self, n: int) -> SymmetricSource:
        n = max(1, min(n, len(self.seeds)))
        if n not in self._sources:
            self._sources[n] = SymmetricSource(self.oracle, self.labels, train=False, seeds=self.seeds[:n])
        return self._sources[n]

    def jobs(self, requests: Sequence[tuple[Profile, int]]) -> list[Job]:
        """The distinct jobs behind a batch of requests, in request order."""
        out: dict[str, Job] = {}
        for (counts, defender), n in requests:
            for seed in self.source(n).seeds:
                job = self.source(n).job(counts, defender, seed)
                out.setdefault(self.oracle.key(job), job)
        return list(out.values())

    def sample(self, requests: Sequence[tuple[Profile, int]]) -> dict[Hashable, Payoffs]:
        if self.train:
            self.run(self.jobs(requests))
        out: dict[Hashable, Payoffs] = {}
        for profile, n in requests:
            try:
                out[profile] = self.source(n).payoffs(profile)
            except MissingPayoff as err:
                self.missing[profile] = err.reason
        return out

    def run(self, jobs: list[Job]) -> None:
        """Train the jobs that are not cached (in parallel with the Ray executor), keeping each as it finishes."""
        todo = []
        for job in jobs:
            found = self.oracle.cached(job)
            if found is None:
                todo.append(job)
                continue
            if job not in self.report.cached:
                self.report.cached.append(job)
                if self.on_done:
                    self.on_done(job, found, "cached")
        if not todo:
            return
        if self.executor == "ray":
            run_with_ray(self.oracle, todo, self.report, ray_address=self.ray_address, on_done=self.on_done)
        else:
            run_local(self.oracle, todo, self.report, self.on_done)


def game_of(spec: SymmetricGameSpec, source: Any = None) -> RoleSymmetricGame:
    """The spec's full N-attacker game (payoffs from ``source``, if given)."""
    return RoleSymmetricGame(list(spec.attackers), list(spec.defenders), spec.n_attackers, source=source)


def search_config(spec: SymmetricGameSpec, analysis: Analysis) -> SearchConfig:
    """The :class:`~gametheory.search.SearchConfig` of a spec's ``[analysis]`` (seeds cap the samples per profile)."""
    n_seeds = len(spec.seeds)
    return SearchConfig(
        max_profiles=analysis.max_profiles, max_samples=analysis.max_samples, tol=float(analysis.tol),
        delta=1.0 - float(analysis.confidence), interval=analysis.interval,
        initial_samples=min(analysis.samples or 2, n_seeds), max_samples_per_profile=n_seeds, dpr=analysis.dpr,
    )


def analysis_profiles(spec: SymmetricGameSpec, method: str, k: int | None = None) -> list[Profile]:
    """The full-game profiles the full game (``"full"``) or its ``k``-player DPR reduction (``"dpr"``) reads."""
    game = game_of(spec)
    if method == "full":
        return game.all_profiles()
    if method == "dpr":
        needed = game.dpr_required_profiles(k)  # type: ignore[arg-type]
        return list(dict.fromkeys(p for profiles in needed.values() for p in profiles))
    raise ValueError(f"method={method!r}: the profiles of a search are known only by running it")


def fill_symmetric(oracle: PayoffOracle, analysis: Analysis, *, executor: str = "local",
                   ray_address: str | None = None, on_done: Callable | None = None) -> SymmetricFillReport:
    """Measure what ``analysis`` reads of ``oracle``'s role-symmetric game (module docstring)."""
    spec: SymmetricGameSpec = oracle.spec  # type: ignore[assignment]
    method = analysis.resolved(spec)
    start = time.perf_counter()
    sampler = OracleSampler(oracle, executor=executor, ray_address=ray_address, on_done=on_done)
    with ray_session(ray_address) if executor == "ray" else nullcontext():  # one Ray instance for every step
        if method == "search":
            result = equilibrium_search(sampler, list(spec.attackers), list(spec.defenders), spec.n_attackers,
                                        search_config(spec, analysis))
            profiles, notes = list(result.measured), _search_notes(result)
        else:
            profiles = analysis_profiles(spec, method, analysis.dpr)
            sampler.sample([(p, len(spec.seeds)) for p in profiles])
            result, notes = None, []
    sampler.report.seconds = time.perf_counter() - start
    return SymmetricFillReport(method, profiles, sampler.report, sampler.report.seconds, result, notes)


def _search_notes(result: SearchResult) -> list[str]:
    notes = []
    if result.budget_exhausted:
        notes.append("the search's budget was spent before every candidate was settled")
    if result.missing:
        notes.append(f"{len(result.missing)} profile(s) could not be measured")
    return notes


def solve_symmetric(oracle: PayoffOracle, analysis: Analysis) -> tuple[SolveSummary, SearchResult | None]:
    """Solve the analysis of ``oracle``'s role-symmetric game from the cache alone (no training).

    ``"full"``/``"dpr"``: the symmetric equilibria of the full or reduced
    game (regret minimisation from the uniform, every pure and 8 random
    starts; :meth:`~gametheory.RoleSymmetricGame.find_equilibria`), raising
    :class:`IncompleteGame` if a profile it reads is not cached. ``"search"``:
    the same search as the fill, replayed on the cache.
    """
    summary, search, _ = solve_measured(oracle.spec, analysis, OracleSampler(oracle, train=False),
                                        SymmetricSource(oracle, list(oracle.spec.attackers), train=False))
    return summary, search


def solve_measured(spec: Any, analysis: Analysis, sampler: Any, source: Any,
                   method: str | None = None) -> tuple[SolveSummary, SearchResult | None, list]:
    """:func:`solve_symmetric` on any measurements: ``sampler`` serves the search, ``source`` the full game.

    ``spec`` needs ``name``, ``attackers``, ``defenders``, ``n_attackers``
    and ``seeds`` (the seeds a profile may have, in order); ``method``
    overrides ``analysis.resolved(spec)``. Also returns the equilibria
    themselves (``sigma``, ``tau``: what :func:`gametheory.plots.plot_deviation_payoffs` marks).
    """
    method = method or analysis.resolved(spec)
    if method == "search":
        result = equilibrium_search(sampler, list(spec.attackers), list(spec.defenders), spec.n_attackers,
                                    search_config(spec, analysis))
        if not result.measured:
            raise IncompleteGame(f"no profile of game {spec.name!r} is cached")
        summary = summarize_search(result)
        if result.missing:
            summary.notes.append(f"{len(result.missing)} profile(s) the search asks for are not cached: "
                                 "the search is not finished (run backfire fill)")
        return summary, result, list(result.equilibria)
    full = game_of(spec, source)
    game = full if method == "full" else full.reduce(analysis.dpr)  # type: ignore[arg-type]
    missing = game.fill()
    if missing:
        shown = "; ".join(f"{list(c)} × {d!r}" for c, d in missing[:4]) + (" …" if len(missing) > 4 else "")
        raise IncompleteGame(f"{len(missing)} of {game.num_profiles} profiles of the "
                             f"{'full' if method == 'full' else f'DPR k={analysis.dpr}'} game are not cached: {shown}")
    equilibria = game.find_equilibria(method="regret-min")
    found_in = "full game" if method == "full" else f"DPR k={analysis.dpr}"
    return summarize_symmetric(game, equilibria, found_in=found_in), None, list(equilibria)


def cached_game(oracle: PayoffOracle) -> RoleSymmetricGame:
    """The full game with every profile that has cached jobs, each read from the seeds cached (in spec order)."""
    spec: SymmetricGameSpec = oracle.spec  # type: ignore[assignment]
    labels = list(spec.attackers)
    probe = SymmetricSource(oracle, labels, train=False)
    records = {}
    for counts, d in game_of(spec).all_profiles():
        seeds = [s for s in spec.seeds if oracle.key(probe.job(counts, d, s)) in oracle.cache]
        if seeds:
            records[(counts, d)] = SymmetricSource(oracle, labels, train=False, seeds=seeds).payoffs((counts, d))
    game = game_of(spec, MappingSource(records))
    for profile in records:
        game.payoffs(profile)  # held in the game's table, per-seed samples kept
    return game


def override(analysis: Analysis, options: Mapping[str, Any]) -> Analysis:
    """``analysis`` with the given fields replaced (``None`` values ignored): command-line options over the spec."""
    from dataclasses import replace

    return replace(analysis, **{k: v for k, v in options.items() if v is not None})
