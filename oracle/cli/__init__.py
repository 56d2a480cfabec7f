"""The ``backfire`` command: the composition root.

``backfire table SPEC`` exports a game's cached outcomes per attacker and
``backfire plot FILE --out F.png`` draws a payoff table as a heat map.
``backfire solve FILE`` solves a payoff table (CSV or JSON) and prints every
equilibrium, each role's mixture, payoff and regret. It imports only
:mod:`gametheory` (numpy, scipy, nashpy, pandas), never torch, so it starts
in about a second.

Bad input (a missing file, a malformed table, an unknown method) is reported
in one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from strategies.validate import DEFAULT_SEED
from . import fill, solve, status, symmetric
from . import plot as plot_command
from . import table as table_command
from .common import EXIT_BAD_INPUT, Parser, UsageError, fix_for, one_line

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from gametheory.equilibria import METHODS

    parser = Parser(prog="backfire", description="Game-theoretic analysis of multi-agent backdoor attacks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    solve = sub.add_parser(
        "solve",
        help="solve a payoff table for its equilibria",
        description="Solve the attacker/defender game of a payoff table (CSV or JSON) and print every equilibrium.",
    )
    solve.add_argument("file", help="payoff table: .csv or .json (columns attacker, defender, attacker_payoff, defender_payoff[, seed], "
                       "or the per-attacker rows of 'backfire table', also of a game where each attacker chooses: count:<strategy> "
                       "columns), or a game spec (.toml) to solve from the cache")
    solve.add_argument("--method", default="auto", choices=list(METHODS), metavar="NAME",
                       help=f"equilibrium method: {', '.join(METHODS)} (default: auto)")
    solve.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    solve.add_argument("--tol", type=float, default=None, help="regret tolerance relative to each player's payoff range (default 1e-8)")
    solve.add_argument("--scale", default="auto", choices=["auto", "1", "100"],
                       help="multiply payoffs for display: 100 shows rates as percent, as the paper does; auto = 100 when all payoffs lie in [-1, 1]")
    solve.add_argument("--bootstrap", type=int, default=0, metavar="B",
                       help="with per-seed samples: resample each cell B times and report how stable each equilibrium is")
    solve.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the bootstrap (default {DEFAULT_SEED})")
    _oracle_options(solve, training=False)
    symmetric.add_options(solve)

    fill = sub.add_parser(
        "fill",
        help="train the victims of a game spec's missing cells, caching each result",
        description="Fill a game spec's payoff table: train every (attacker strategy, defender strategy, seed) "
        "job that is not in the result cache. Interrupt at any time: finished jobs are kept.",
    )
    fill.add_argument("spec", help="game spec (.toml)")
    _oracle_options(fill, training=True)
    fill.add_argument("--executor", default="local", choices=["local", "ray"], help="local (default) or ray")
    fill.add_argument("--ray-address", default=None, help="address of an existing Ray cluster (default: start a local one)")
    fill.add_argument("--max-cells", type=int, default=None, metavar="K", help="train at most K jobs, then stop")
    fill.add_argument("--quiet", action="store_true", help="no progress bar, no per-job lines")
    fill.add_argument("--json", action="store_true", help="quiet, then print one JSON line: jobs trained, cached, waited for, left")
    symmetric.add_options(fill)

    status = sub.add_parser("status", help="which cells of a game spec are cached, with how many seeds",
                            description="Show which cells of a game spec have cached results and which are missing.")
    status.add_argument("spec", help="game spec (.toml)")
    _oracle_options(status, training=False)
    table_command.add_parser(sub, _oracle_options)
    plot_command.add_parser(sub, _oracle_options)
    return parser


def _oracle_options(p: argparse.ArgumentParser, training: bool) -> None:
    p.add_argument("--cache", default=None, metavar="PATH", help="result cache file (default: $BACKFIRE_CACHE/results.sqlite or ~/.cache/backfire/results.sqlite)")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="where the datasets are (default: $BACKFIRE_DATA, then ../shared/data)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, metavar="S", help="seeds to use instead of the spec's")
    if training:
        p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: automatic)")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "solve":
            return solve.run(args)
        if args.command == "fill":
            return fill.run(args)
        if args.command == "status":
            return status.run(args)
        if args.command == "table":
            return table_command.run(args)
        if args.command == "plot":
            return plot_command.run(args)
        raise UsageError(f"backfire: unknown command {args.command!r}")  # pragma: no cover - argparse rejects first
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, LookupError, OSError, NotImplementedError) as exc:
        print(f"backfire: error: {one_line(exc)}{fix_for(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("backfire: interrupted; every finished cell is kept in the cache", file=sys.stderr)
        return 130
