"""``backfire table``: a game's cached outcomes, one row per cell (or profile), seed, component and attacker (CSV or JSON).

The columns are documented in :mod:`oracle.export`; ``backfire solve`` and
``backfire plot`` read the file back, pandas reads it as it is. Nothing is
trained: outcomes not in the cache are named on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import UsageError, oracle_from_args


def add_parser(sub, oracle_options) -> None:
    p = sub.add_parser(
        "table", help="export a game's cached outcomes: one row per cell, seed and attacker (CSV or JSON)",
        description="Write every cached outcome of a game spec as a long table: one row per (attacker strategy, "
        "defender strategy, seed, mixture component, attacker), with each attacker's target, attack success, "
        "accuracies, the defender's validation accuracy, N, preset, dataset, seed and versions. "
        "For a spec where each attacker chooses: one row per cached profile, seed and attacker, with the profile's "
        "counts as count:<strategy> columns. "
        "'backfire solve' and 'backfire plot' read it back; so does pandas (pd.read_csv). Trains nothing.")
    p.add_argument("spec", help="game spec (.toml)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV (the default)")
    fmt.add_argument("--json", action="store_true", help='JSON: {"meta": ..., "missing": [...], "rows": [...]}')
    p.add_argument("--out", default=None, metavar="FILE", help="write here (.csv or .json) instead of stdout")
    oracle_options(p, training=False)


def run(args: argparse.Namespace) -> int:
    from oracle.export import export_game, export_symmetric_game, to_csv, to_json

    from .symmetric import is_symmetric

    as_json = args.json
    if args.out is not None:
        suffix = Path(args.out).suffix.lower()
        if suffix not in (".csv", ".json"):
            raise UsageError(f"backfire: --out={args.out}: unknown file type '{Path(args.out).suffix}' (allowed: .csv, .json)")
        if (suffix == ".json") != as_json and (args.csv or args.json):
            raise UsageError(f"backfire: --out={args.out} does not match --{'json' if as_json else 'csv'}")
        as_json = suffix == ".json"
    oracle = oracle_from_args(args, train=False)
    export = export_symmetric_game(oracle) if is_symmetric(oracle.spec) else export_game(oracle)
    if not export.rows:
        raise UsageError(f"backfire: {args.spec}: no cached outcome in {oracle.cache.path}; run 'backfire fill {args.spec}' first")
    text = to_json(export) + "\n" if as_json else to_csv(export)
    if args.out is None:
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
    if export.missing:
        first = "; ".join(f"({m['attacker']!r}, {m['defender']!r}, seed {m['seed']})" for m in export.missing[:4])
        more = " …" if len(export.missing) > 4 else ""
        print(f"backfire: note: {len(export.missing)} outcome(s) not cached and left out: {first}{more}; "
              f"'backfire fill {args.spec}' trains them", file=sys.stderr)
    return 0
