"""``backfire plot``: a payoff table as a heat map with the equilibrium support marked, or a
role-symmetric game's deviation-payoff curves; PNG or SVG (:mod:`gametheory.plots`). Imports no torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import symmetric
from .common import UsageError, oracle_from_args


def add_parser(sub, oracle_options) -> None:
    from gametheory.equilibria import METHODS

    p = sub.add_parser(
        "plot", help="draw a payoff table as a heat map with the equilibria marked (PNG or SVG)",
        description="Draw the attacker's payoff per cell (attacker × defender strategies) as an annotated heat map "
        "with each equilibrium's support outlined, from a game spec's cache or a payoff file (.csv/.json, also "
        "the output of 'backfire table'). A role-symmetric payoff file (count:<strategy> columns) is drawn as "
        "deviation-payoff curves instead: each attacker strategy's payoff against how many of the others play "
        "a focal strategy, per defender strategy; so is a spec where each attacker chooses (from its cache), "
        "with the equilibria its solve finds marked.")
    p.add_argument("file", help="game spec (.toml) or payoff table (.csv, .json)")
    p.add_argument("--out", required=True, metavar="FILE", help="the figure: .png or .svg")
    p.add_argument("--method", default="auto", choices=list(METHODS), metavar="NAME",
                   help=f"equilibrium method: {', '.join(METHODS)} (default: auto)")
    p.add_argument("--scale", default="auto", choices=["auto", "1", "100"],
                   help="multiply payoffs for display (auto = 100 when all payoffs lie in [-1, 1])")
    p.add_argument("--size", type=float, nargs=2, default=None, metavar=("W", "H"),
                   help="figure size in inches (default: from the table's shape)")
    p.add_argument("--dpi", type=int, default=150, help="dots per inch of a PNG (default 150)")
    p.add_argument("--title", default=None, help="title (default: the game's name)")
    oracle_options(p, training=False)
    symmetric.add_options(p)


def run(args: argparse.Namespace) -> int:
    from gametheory.plots import FORMATS

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"backfire: --out={args.out}: unknown figure type '{out.suffix}' (allowed: {', '.join(FORMATS)})")
    if args.dpi < 1:
        raise UsageError(f"backfire: --dpi={args.dpi} is out of range: allowed [1, inf)")
    if args.size is not None and min(args.size) <= 0:
        raise UsageError(f"backfire: --size={args.size} is out of range: allowed two numbers > 0 (width, height)")
    if not out.parent.is_dir():
        raise UsageError(f"backfire: --out={args.out}: folder {out.parent} does not exist")
    path = Path(args.file)
    if symmetric.is_symmetric_file(path):
        return _deviation_figure(args, path, out)
    return _heatmap_figure(args, path, out)


def _heatmap_figure(args: argparse.Namespace, path: Path, out: Path) -> int:
    from gametheory import DEFAULT_TOL, NormalFormGame, PayoffTable
    from gametheory.plots import display_scale, plot_payoff_heatmap

    if path.suffix.lower() == ".toml":
        oracle = oracle_from_args(args, train=False)
        table, name = oracle.table(), oracle.spec.name
    else:
        table, name = PayoffTable.read(path), path.stem
    eqs = []
    if table.is_complete():
        eqs = list(NormalFormGame.from_table(table).equilibria(args.method, DEFAULT_TOL))
    else:
        missing = table.missing()
        print(f"backfire: note: {len(missing)} cell(s) have no payoff (drawn grey, no equilibria marked): "
              + "; ".join(f"({a!r}, {d!r})" for a, d in missing[:4]) + (" …" if len(missing) > 4 else ""), file=sys.stderr)
    scale = display_scale(args.scale, table.mean("attacker"), table.mean("defender"))
    plot_payoff_heatmap(table, out, equilibria=eqs, scale=scale, size=tuple(args.size) if args.size else None,
                        dpi=args.dpi, title=args.title or f"{name}: attacker payoff")
    print(f"wrote {out} ({len(eqs)} equilibri{'um' if len(eqs) == 1 else 'a'} marked)")
    return 0


def _deviation_figure(args: argparse.Namespace, path: Path, out: Path) -> int:
    """Deviation-payoff curves of a role-symmetric spec's cached profiles or payoff file, with the
    equilibria its solve finds (:func:`oracle.cli.symmetric.solution`) marked when it can solve."""
    from gametheory.plots import display_scale, plot_deviation_payoffs

    try:
        game, spec, summary, _, eqs = symmetric.solution(args)
        notes = summary.notes
    except UsageError as exc:
        if path.suffix.lower() != ".toml":
            raise
        from oracle.symmetric_fill import cached_game

        game, spec, eqs, notes = cached_game(oracle_from_args(args, train=False)), None, [], [str(exc)]
        if not game.known_profiles():
            raise
    for note in notes:
        print(f"backfire: note: {note.removeprefix('backfire: ')}" + ("" if eqs else " (no equilibria marked)"),
              file=sys.stderr)
    frame = game.to_dataframe()
    scale = display_scale(args.scale, frame.filter(like="payoff:").to_numpy(float))
    name = spec.name if spec is not None else path.stem
    plot_deviation_payoffs(game, out, equilibria=eqs, scale=scale, size=tuple(args.size) if args.size else None,
                           dpi=args.dpi, title=args.title or f"{name}: deviation payoffs (N = {game.n_attackers})")
    print(f"wrote {out} ({len(eqs)} symmetric equilibri{'um' if len(eqs) == 1 else 'a'} marked)")
    return 0
