"""``backfire fill``: train what a game spec's cache lacks."""

from __future__ import annotations

import argparse
import json

import numpy as np

from oracle.progress import write

from . import symmetric
from .common import UsageError, command, oracle_from_args
from .status import time_left

#: What the per-job lines' figures mean, printed once before them.
LEGEND = ("per job: ASR = the attackers' attack success, mean ± sd over the attackers; clean acc = accuracy on their "
          "run-time inputs without triggers; val acc = the defender's clean validation accuracy")
LEGEND_FEDERATED = ("per job: ASR = the attackers' backdoor accuracy at the last round, mean ± sd over the attackers; "
                    "clean acc and val acc = the global model's main-task accuracy")


def run(args: argparse.Namespace) -> int:
    from oracle.fill import check_device, fill

    if args.max_cells is not None and args.max_cells < 0:
        raise UsageError(f"backfire: --max-cells={args.max_cells} is out of range: allowed [0, inf)")
    args.quiet = args.quiet or args.json
    check_device(args.device, args.executor)  # before any data is read, and even when every cell is cached
    oracle = oracle_from_args(args, train=True)
    spec = oracle.spec
    if symmetric.is_symmetric(spec):
        return symmetric.fill(args, oracle)
    quiet = args.quiet
    total = len(oracle.jobs())
    done = {"n": 0}

    def on_done(job, outcome, how):
        done["n"] += 1
        if quiet or how == "cached":
            return
        secs = outcome.seconds or 0.0
        line = (f"[{done['n']}/{total}] {job.describe()}: ASR {outcome.attacker_payoff * 100:.1f} ± "
                f"{outcome.attacker_payoff_std * 100:.1f}, clean acc {np.nanmean(outcome.clean_acc) * 100:.1f}, "
                f"val acc {outcome.defender_val_acc * 100:.1f} ({how}, {secs:.1f} s)")
        write(line)

    if not quiet:
        print(f"game {spec.name!r}: {len(spec.attackers)} attacker × {len(spec.defenders)} defender strategies, "
              f"N = {spec.n_attackers}, seeds {list(spec.seeds)}; {total} job(s); cache {oracle.cache.path}", flush=True)
        if len(oracle.missing()):
            print(LEGEND_FEDERATED if getattr(spec.environment, "kind", "") == "federated" else LEGEND, flush=True)
    report = fill(oracle, max_jobs=args.max_cells, executor=args.executor, ray_address=args.ray_address, on_done=on_done)
    if args.json:
        counts = {k: len(getattr(report, k)) for k in ("trained", "cached", "waited", "remaining")}
        print(json.dumps({**counts, "seconds": round(report.seconds, 3)}))
    if not quiet:
        print(f"trained {len(report.trained)}, from cache {len(report.cached)}, by another process {len(report.waited)}, "
              f"left {len(report.remaining)}; {report.seconds:.1f} s", flush=True)
        if report.remaining:
            print(f"stopped after --max-cells {args.max_cells}: {len(report.remaining)} job(s) left, "
                  f"{time_left(oracle, report.remaining)}; go on with: {command(args, 'fill')}")
        else:
            print(f"solve it: {command(args, 'solve')}")
    return 0

