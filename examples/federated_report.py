"""Per-round results of a federated game: one CSV per cell, accuracy-over-rounds plots, and a summary table.

    python examples/federated_report.py examples/games/federated.toml --out federated-report
    python examples/federated_report.py examples/games/federated_paper.toml --out paper-report --device cuda

Fills the game's missing cells first (each a federated run, cached like any
other result), then writes, for every (attack, aggregator) cell and seed,
``<out>/<attack>__<aggregator>__<seed>.csv`` (the per-round table: main-task
and backdoor accuracy, each attacker's norm difference, the clients the
aggregator kept), one plot per cell (main and backdoor accuracy over rounds,
like the paper's Figures 4–6), one plot per attack comparing the aggregators'
backdoor accuracy, and prints a markdown table of the final round.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from oracle.store.cache import ResultCache
from oracle.federated.plots import plot_accuracy, plot_runs
from oracle.fill import fill, make_oracle
from oracle.specs import load_spec


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


HEADER = ("| attack | aggregator | seed | backdoor acc. (mean over attackers) | main-task acc. | attacker kept "
          "(share of its attacking rounds) |\n|---|---|---|---|---|---|")


def write_report(oracle, out: str | Path, on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """For every cell and seed of ``oracle``'s (filled) federated game: the per-round CSV and accuracy plot in
    ``out``, and one summary row (final backdoor and main-task accuracy, the share of its attacking rounds in
    which the aggregator kept the attacker); one plot per attack comparing the aggregators. Returns the rows."""
    spec = oracle.spec
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for a_label in spec.attackers:
        frames = {}
        for d_label in spec.defenders:
            for seed in spec.seeds:
                job = next(j for j in oracle.jobs([a_label], [d_label], seeds=[seed]))
                outcome = oracle.run(job)
                frame = pd.DataFrame(outcome.extra["rounds"])
                stem = f"{_slug(a_label)}__{_slug(d_label)}__{seed}"
                frame.to_csv(out / f"{stem}.csv", index=False)
                plot_accuracy(frame, out / f"{stem}.png", title=f"{a_label} vs {d_label} (seed {seed})")
                frames[f"{d_label}"] = frame
                attacked = sum(frame[c].sum() for c in frame.columns if re.fullmatch(r"attacked_\d+", c))
                kept = sum(frame[c].sum() for c in frame.columns if re.fullmatch(r"kept_\d+", c))
                rows.append({"attack": a_label, "aggregator": d_label, "seed": seed,
                             "backdoor_acc": float(np.mean(outcome.asr)), "main_acc": outcome.defender_val_acc,
                             "kept_share": float(kept / attacked) if attacked else None, "rounds": len(frame)})
                if on_row:
                    on_row(rows[-1])
        plot_runs(frames, out / f"{_slug(a_label)}__backdoor.png", metric="backdoor_acc",
                  title=f"{a_label}: backdoor accuracy per aggregator")
    return rows


def format_row(r: dict) -> str:
    share = "" if r["kept_share"] is None else f"{r['kept_share']:.2f}"
    return (f"| {r['attack']} | {r['aggregator']} | {r['seed']} | {r['backdoor_acc'] * 100:.1f} | "
            f"{r['main_acc'] * 100:.1f} | {share} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="a federated game spec (environment kind = 'federated')")
    ap.add_argument("--out", default="federated-report", help="output folder")
    ap.add_argument("--device", default=None)
    ap.add_argument("--cache", default=None, help="result cache file (default: the user's cache)")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    spec = load_spec(args.spec)
    if spec.environment.kind != "federated":
        ap.error(f"{args.spec} is not a federated game (its [environment] has no kind = 'federated')")
    oracle = make_oracle(spec, cache=ResultCache(args.cache), device=args.device, data_dir=args.data_dir,
                         progress=True)
    fill(oracle)
    print(HEADER)
    write_report(oracle, args.out, on_row=lambda r: print(format_row(r), flush=True))
    print(f"wrote CSVs and plots to {args.out}/")


if __name__ == "__main__":
    main()
