"""``backfire status``: which cells of a game spec are cached."""

from __future__ import annotations

import argparse

from . import symmetric
from .common import command, data_measured, describe_data, duration, estimate_seconds, oracle_from_args


def run(args: argparse.Namespace) -> int:
    oracle = oracle_from_args(args, train=False)
    spec = oracle.spec
    if symmetric.is_symmetric(spec):
        return symmetric.status(args, oracle)
    print(f"game {spec.name!r}: N = {spec.n_attackers}, seeds {list(spec.seeds)}; cache {oracle.cache.path}")
    print(describe_data(data_measured(oracle)))
    rows = []
    header = ("attacker", "defender", "seeds cached", "jobs cached", "state")
    for a_label in spec.attackers:
        for d_label in spec.defenders:
            jobs = oracle.jobs([a_label], [d_label])
            cached = {oracle.key(j) for j in jobs if oracle.key(j) in oracle.cache}
            seeds_done = [s for s in spec.seeds
                          if all(oracle.key(j) in cached for j in oracle.jobs([a_label], [d_label], seeds=[s]))]
            state = "complete" if len(cached) == len(jobs) else ("missing" if not cached else "partial")
            rows.append((a_label, d_label, f"{len(seeds_done)}/{len(spec.seeds)}", f"{len(cached)}/{len(jobs)}", state))
    widths = [max(len(r[k]) for r in rows + [header]) for k in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    n_jobs = len(oracle.jobs())  # distinct: cells that share a pure component share its jobs
    missing = oracle.missing()
    if not missing:
        print(f"all {n_jobs} distinct job(s) cached; solve it: {command(args, 'solve')}")
        return 0
    print(f"{len(missing)} of {n_jobs} distinct job(s) missing; {time_left(oracle, missing)}")
    print(f"fill them: {command(args, 'fill')}")
    return 0


def time_left(oracle, missing) -> str:
    """``about 3 min to train (from the timings of ...)``, or why there is no estimate."""
    estimate = estimate_seconds(oracle, missing)
    if estimate is None:
        return "no cached job with this environment and preset to estimate their time from (fill one with --max-cells 1)"
    seconds, where = estimate
    return f"about {duration(seconds)} to train ({where})"
