"""``backfire status``: which cells of a game spec are cached."""

from __future__ import annotations

import argparse

from .common import data_measured, describe_data, fill_options, oracle_from_args


def run(args: argparse.Namespace) -> int:
    oracle = oracle_from_args(args, train=False)
    spec = oracle.spec
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
    extra = fill_options(args)
    n_jobs = len(oracle.jobs())  # distinct: cells that share a pure component share its jobs
    n_missing = len(oracle.missing())
    print(f"{n_missing} of {n_jobs} distinct job(s) missing" + (f"; run 'backfire fill {args.spec}{extra}'" if n_missing else "; ready to solve"))
    return 0
