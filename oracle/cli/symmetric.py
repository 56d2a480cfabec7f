"""``backfire fill/solve/status`` on a spec where each attacker chooses (``attackers_choose = "each"``).

The spec's ``[analysis]`` says what to measure and solve (the full game, its
DPR reduction, or the adaptive search); the options added by
:func:`add_options` override it. ``solve`` reads the cache only and imports
no torch.
"""

from __future__ import annotations

import argparse
import json

from .common import UsageError, oracle_from_args


def add_options(p: argparse.ArgumentParser) -> None:
    """The analysis options of ``fill`` and ``solve`` (used only by specs where each attacker chooses)."""
    g = p.add_argument_group("games where each attacker chooses (override the spec's [analysis])")
    how = g.add_mutually_exclusive_group()
    how.add_argument("--full", action="store_const", const="full", dest="analysis_method",
                     help="measure (or solve) every profile of the game")
    how.add_argument("--dpr", type=int, default=None, metavar="K",
                     help="the K-player deviation-preserving reduction ((N-1) divisible by (K-1))")
    how.add_argument("--search", action="store_const", const="search", dest="analysis_method",
                     help="the adaptive equilibrium search (subgames, deviations, adaptive seeds)")
    g.add_argument("--budget", type=int, default=None, metavar="P", help="search budget: at most P distinct profiles")
    g.add_argument("--max-samples", type=int, default=None, metavar="S", help="search budget: at most S samples")
    g.add_argument("--confidence", type=float, default=None, metavar="C",
                   help="confidence of the search's intervals, in (0, 1) (default 0.95)")


def is_symmetric(spec) -> bool:
    from oracle.symmetric_spec import SymmetricGameSpec

    return isinstance(spec, SymmetricGameSpec)


def is_symmetric_file(path) -> bool:
    """Whether a spec file says each attacker chooses, or a payoff file (.csv/.json) holds such a game
    (:func:`gametheory.symmetric_file.is_symmetric_table`); an unreadable file is left to the usual reader."""
    from pathlib import Path

    from gametheory.symmetric_file import is_symmetric_table
    from oracle.specs import SpecError, read_spec_file

    if Path(path).suffix.lower() in (".csv", ".json"):
        return is_symmetric_table(path)

    try:
        game = read_spec_file(path).get("game", {})
    except SpecError:
        return False
    return isinstance(game, dict) and game.get("attackers_choose") == "each"


def analysis_from_args(args: argparse.Namespace, spec, base=None):
    """The spec's ``[analysis]`` (or ``base``) with the command-line options over it."""
    from dataclasses import is_dataclass, replace

    from gametheory.symmetric import dpr_valid_sizes
    from oracle.specs import SpecError
    from oracle.symmetric_fill import override

    method = getattr(args, "analysis_method", None)
    if getattr(args, "dpr", None) is not None:
        method = "dpr"
    options = {"method": method, "dpr": getattr(args, "dpr", None), "max_profiles": getattr(args, "budget", None),
               "max_samples": getattr(args, "max_samples", None), "confidence": getattr(args, "confidence", None)}
    try:
        analysis = override(spec.analysis if base is None else base, options)
        if is_dataclass(spec):
            replace(spec, analysis=analysis)  # validates dpr against N
        elif analysis.dpr is not None and analysis.dpr not in dpr_valid_sizes(spec.n_attackers):
            raise SpecError(f"--dpr={analysis.dpr} is not a valid reduction of N={spec.n_attackers}: allowed "
                            f"{', '.join(map(str, dpr_valid_sizes(spec.n_attackers)))} ((N−1) divisible by (k−1))")
    except ValueError as exc:  # a SpecError, or a strategies.validate check of an option
        raise UsageError(f"backfire: {exc}") from None
    return analysis


def _describe(spec, analysis) -> str:
    from gametheory.symmetric import num_profiles

    method = analysis.resolved(spec)
    k_strats, d_strats = len(spec.attackers), len(spec.defenders)
    head = (f"game {spec.name!r}: each of N = {spec.n_attackers} attackers chooses one of {k_strats} strategies, "
            f"the defender one of {d_strats}; the full game has {spec.num_profiles} profiles; seeds {list(spec.seeds)}")
    if method == "full":
        how = f"measuring the full game: {spec.num_profiles} profiles × {len(spec.seeds)} seed(s)"
    elif method == "dpr":
        k = analysis.dpr
        how = (f"measuring the DPR game (k = {k}: {num_profiles(k, k_strats) * d_strats} reduced profiles) "
               f"with every seed")
    else:
        budget = ", ".join(f"{n} {v}" for n, v in (("profiles", analysis.max_profiles),
                                                   ("samples", analysis.max_samples)) if v) or "no budget"
        on = f"the DPR game (k = {analysis.dpr})" if analysis.dpr else "the full game"
        how = (f"adaptive equilibrium search on {on} ({budget}; confidence {analysis.confidence}, "
               f"{analysis.interval} intervals; samples per profile up to {len(spec.seeds)})")
    return f"{head}\n{how}"


def fill(args: argparse.Namespace, oracle) -> int:
    from oracle.symmetric_fill import fill_symmetric

    spec, quiet = oracle.spec, args.quiet
    analysis = analysis_from_args(args, spec)
    if args.max_cells is not None:
        raise UsageError("backfire: --max-cells is not available for games where each attacker chooses "
                         "(use --budget/--max-samples for the search; interrupt at any time, finished jobs are kept)")
    count = {"n": 0}

    def on_done(job, outcome, how):
        count["n"] += 1
        if quiet or how == "cached":
            return
        secs = sum(outcome.timings.values())
        print(f"[{count['n']}] {job.describe()}: ASR {outcome.attacker_payoff * 100:.1f}, "
              f"val acc {outcome.defender_val_acc * 100:.1f} ({how}, {secs:.1f} s)", flush=True)

    if not quiet:
        print(_describe(spec, analysis) + f"; cache {oracle.cache.path}", flush=True)
    report = fill_symmetric(oracle, analysis, executor=args.executor, ray_address=args.ray_address, on_done=on_done)
    jobs = report.jobs
    if args.json:
        out = {"method": report.method, "profiles": len(report.profiles), "trained": len(jobs.trained),
               "cached": len(jobs.cached), "waited": len(jobs.waited), "seconds": round(report.seconds, 3),
               "notes": report.notes}
        if report.search is not None:
            out.update(samples=report.search.n_samples, steps=len(report.search.steps),
                       equilibria=len(report.search.equilibria))
        print(json.dumps(out))
    else:
        print(f"{report.method}: {len(report.profiles)} profiles; jobs trained {len(jobs.trained)}, from cache "
              f"{len(jobs.cached)}, by another process {len(jobs.waited)}; {report.seconds:.1f} s", flush=True)
        for note in report.notes:
            print(f"note: {note}")
        print(f"solve it: backfire solve {args.spec}" + (f" --cache {args.cache}" if args.cache else ""))
    return 0


def solution(args: argparse.Namespace):
    """``(game, spec, summary, search, equilibria)`` of a role-symmetric spec (from the cache) or payoff file.

    ``game`` is the full game holding every measured profile; a file is
    solved as its spec is (:func:`oracle.symmetric_fill.solve_measured`), with
    the analysis its JSON export carries (``meta.analysis``), else the
    default (the full game when it has at most 60 profiles, else the search),
    the command-line options over it.
    """
    from pathlib import Path

    from gametheory.sources import MappingSource
    from oracle.symmetric_fill import IncompleteGame, OracleSampler, cached_game, solve_measured
    from oracle.payoff_oracle import SymmetricSource

    path = Path(args.file)
    if path.suffix.lower() == ".toml":
        args.spec = args.file
        oracle = oracle_from_args(args, train=False)
        spec, analysis = oracle.spec, analysis_from_args(args, oracle.spec)
        sampler, source = OracleSampler(oracle, train=False), SymmetricSource(oracle, list(spec.attackers), train=False)
        game = cached_game(oracle)
    else:
        game, spec, analysis, sampler = measured_file(args, path)
        source = MappingSource(sampler.records)
    try:
        summary, search, equilibria = solve_measured(spec, analysis, sampler, source)
    except IncompleteGame as exc:
        fix = f"run 'backfire fill {args.file}' first" if path.suffix.lower() == ".toml" else "measure them first"
        raise UsageError(f"backfire: {args.file}: {exc}; {fix}") from None
    return game, spec, summary, search, equilibria


def measured_file(args: argparse.Namespace, path):
    """A role-symmetric payoff file as ``(game, spec-like namespace, analysis, sampler)``."""
    from types import SimpleNamespace

    from gametheory.symmetric_file import RecordSampler, read_symmetric_table
    from oracle.specs import SpecError
    from oracle.symmetric_spec import Analysis

    from .common import one_line

    try:
        measured = read_symmetric_table(path)
        base = Analysis.from_dict(measured.meta.get("analysis") or {})
    except (ValueError, KeyError, SpecError) as exc:
        raise UsageError(f"backfire: {path}: {one_line(exc)}") from None
    game = measured.game
    spec = SimpleNamespace(name=measured.meta.get("game", path.stem), attackers=list(game.attacker_strategies),
                           defenders=list(game.defender_strategies), n_attackers=game.n_attackers,
                           seeds=measured.seeds or (0,), num_profiles=game.num_profiles)
    sampler = RecordSampler(measured.records, measured.seeds)
    return game, spec, analysis_from_args(args, spec, base), sampler


def solve(args: argparse.Namespace) -> int:
    _, spec, summary, search, _ = solution(args)
    if args.json:
        out = {"file": str(args.file), "name": spec.name, **summary.to_dict()}
        if search is not None:
            out["search"] = search.to_dict()
        print(json.dumps(out, indent=2))
    else:
        print(format_summary(summary, spec))
    return 0


#: Equilibria the text output shows (``--json`` has all).
SHOWN = 5


def _mix(m: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in m.items())


def _pct(v) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}"


def format_summary(summary, spec) -> str:
    """The solve summary as text (payoffs ×100)."""
    lines = [f"game {spec.name!r}: N = {summary.n_attackers} attackers, each choosing one of "
             f"{', '.join(summary.attacker_strategies)}; defender: {', '.join(summary.defender_strategies)}",
             f"solved in the {summary.game}: {len(summary.measured)} of {summary.n_profiles} profiles known "
             f"(payoffs ×100)"]
    lines += [f"note: {n}" for n in summary.notes]
    lines.append(f"{len(summary.equilibria)} symmetric equilibri{'um' if len(summary.equilibria) == 1 else 'a'}:")
    for i, eq in enumerate(summary.equilibria[:SHOWN], 1):
        status = f" [{eq.status}]" if eq.status else ""
        lines += ["", f"  #{i}{status}",
                  f"     attackers: {_mix(eq.attacker_mixture)}",
                  f"     defender:  {_mix(eq.defender_mixture)}",
                  f"     collective attack success {_pct(eq.attacker_payoff)}, defender {_pct(eq.defender_payoff)}",
                  f"     regret: attacker {eq.regret['attacker'] * 100:.3g}, defender {eq.regret['defender'] * 100:.3g}"
                  + ("" if eq.regret_bound is None
                     else f" (upper bound {eq.regret_bound * 100:.3g} at the search's confidence)")]
        for b in eq.best:
            poa = eq.price_of_anarchy.get(b.mode)
            lines.append(f"     attackers' best symmetric outcome ({b.mode}): {_mix(b.attacker_mixture)} vs "
                         f"{_mix(b.defender_mixture)}: success {_pct(b.attacker_payoff)}"
                         + (f", price of anarchy {poa:.3g}" if poa is not None else ""))
    if len(summary.equilibria) > SHOWN:  # e.g. a defender indifferent between its strategies: a continuum
        lines += ["", f"  … and {len(summary.equilibria) - SHOWN} more (--json lists them all)"]
    return "\n".join(lines)


def status(args: argparse.Namespace, oracle) -> int:
    """Which profiles of the game are cached, with how many seeds, and what the spec's analysis reads."""
    from oracle.symmetric_fill import OracleSampler, analysis_profiles

    spec = oracle.spec
    analysis = spec.analysis
    method = analysis.resolved(spec)
    print(_describe(spec, analysis) + f"; cache {oracle.cache.path}")
    sampler = OracleSampler(oracle, train=False)
    needed = set(analysis_profiles(spec, method, analysis.dpr)) if method != "search" else set()
    rows, n_done = [], 0
    for profile in _all_profiles(spec):
        jobs = sampler.jobs([(profile, len(spec.seeds))])
        cached = sum(oracle.key(j) in oracle.cache for j in jobs)
        n_done += cached == len(jobs)
        if cached or profile in needed:
            counts, d = profile
            rows.append((" ".join(map(str, counts)), d, f"{cached}/{len(jobs)}",
                         "needed" if profile in needed else ""))
    header = ("counts (" + ", ".join(spec.attackers) + ")", "defender", "seeds cached", "")
    widths = [max(len(r[k]) for r in rows + [header]) for k in range(4)]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if method == "search":
        print(f"{n_done} of {spec.num_profiles} profiles cached with every seed; the search decides what it needs: "
              f"'backfire fill {args.spec}' runs it (resuming from the cache)")
    else:
        left = sum(1 for p in needed if not all(oracle.key(j) in oracle.cache
                                                for j in sampler.jobs([(p, len(spec.seeds))])))
        print(f"{len(needed) - left} of {len(needed)} profiles the {method} analysis reads are complete"
              + (f"; run 'backfire fill {args.spec}'" if left else "; ready to solve"))
    return 0


def _all_profiles(spec):
    from oracle.symmetric_fill import game_of

    return game_of(spec).all_profiles()
