"""``backfire solve``: equilibria of a payoff table (a CSV/JSON file, or a
spec's cached cells), as text or JSON. Imports no torch."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from gametheory.plots import display_scale
from strategies.validate import DEFAULT_SEED

from . import symmetric
from .common import UsageError, command, describe_data, table_from_cache
from .solve_json import as_json, print_partial

#: Fewer seeds per cell than this and a bootstrap or interval is flagged as thin.
MIN_SEEDS = 5


def run(args: argparse.Namespace) -> int:
    from gametheory import DEFAULT_TOL, NormalFormGame, PayoffTable

    path = Path(args.file)
    tol = DEFAULT_TOL if args.tol is None else args.tol
    if not (tol > 0 and math.isfinite(tol)):
        raise UsageError(f"backfire: --tol={args.tol} is out of range: allowed (0, inf)")
    if args.bootstrap < 0:
        raise UsageError(f"backfire: --bootstrap={args.bootstrap} is out of range: allowed [0, inf)")
    if symmetric.is_symmetric_file(path):
        return symmetric.solve(args)
    # --json with missing cells: the report (missing cells, the known part) first, then the error (solve_json)
    on_missing = (lambda t: print_partial(path, args.method, args.scale, t)) if args.json else None
    data = None  # which data a spec's cells were measured on
    if path.suffix.lower() == ".toml":
        table, data = table_from_cache(args, on_missing=on_missing)
    else:
        table = PayoffTable.read(path)
        if on_missing and table.missing():
            on_missing(table)
    game = NormalFormGame.from_table(table)
    eqs = game.equilibria(args.method, tol)
    scale = _display_scale(args.scale, game)
    constant_sum = game.is_constant_sum()
    zs = game.zero_sum_solution(tol) if constant_sum else None
    boots = []
    if args.bootstrap:
        if not table.has_samples():
            fix = (more_seeds(args, path) if path.suffix.lower() == ".toml"
                   else "give a table with a 'seed' column and a row per cell and seed")
            raise UsageError(f"backfire: {path}: --bootstrap needs per-seed samples, this table has one value per cell; {fix}")
        boots = [game.bootstrap(e, replicates=args.bootstrap, method=args.method, seed=args.seed, tol=tol) for e in eqs]
    warnings = [w for w in [thin_statistics(table, more_seeds(args, path)) if boots else None] if w]
    if args.json:
        out = as_json(path, args.method, game, eqs, scale, zs, boots)
        out["warnings"] = warnings
        if data:
            out["data"] = data
        print(json.dumps(out, indent=2))
    else:
        print(_as_text(path, args.method, game, eqs, scale, zs, boots, warnings, data))
    return 0


def _display_scale(choice: str, game) -> float:
    # fractions (accuracies, and differences of them such as the federated defender's main - backdoor)
    return display_scale(choice, game.A, game.B)


def _fmt(v: float, scale: float) -> str:
    v = v * scale
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.4e}"


def _as_text(path, method, game, eqs, scale, zs, boots, warnings=(), data=None) -> str:
    table = game.table
    unit = " (payoffs ×100)" if scale == 100 else ""
    m, n = game.shape
    lines = [f"Payoff table {path}: {m} attacker × {n} defender strategies{unit}", ""]
    if data:
        lines[-1:] = [f"Measured on {describe_data(data)[len('data: '):]}", ""]
    lines.append(table.format(scale=scale, digits=4))
    lines.append("Each cell: (attacker payoff, defender payoff)"
                 + ("; ±: standard deviation of the attacker payoff over seeds, n: seeds." if table.has_samples() else "."))
    lines.append("")
    if zs is not None:
        total = _fmt(float(game.A[0, 0] + game.B[0, 0]), scale)
        lines.append(f"Constant-sum game (attacker + defender = {total} in every cell): value {_fmt(zs.value, scale)} to the attacker.")
        uniq = "unique" if zs.unique else ("not unique: a set of optimal strategies" + ("" if zs.exhaustive else ", vertices sampled"))
        lines.append(f"Optimal strategies: {uniq}.")
    elim = game.iterated_elimination()
    if elim["removed"]:
        removed = ", ".join(f"{r} '{s}'" for r, s in elim["removed"])
        lines.append(f"Iterated elimination of strictly dominated strategies removes: {removed}.")
    kind = "equilibrium" if len(eqs) == 1 else "equilibria"
    extra = "" if method != "pure" or eqs else " (the game has no pure equilibrium; try --method auto)"
    lines.append(f"{len(eqs)} {kind} (method {method}){extra}; each strategy with the probability it is played:")
    for label in ("fallback", "note"):
        if getattr(eqs, label, None):
            lines.append(f"  {label}: {getattr(eqs, label)}")
    for k, e in enumerate(eqs, start=1):
        lines.append("")
        lines.append(f"  #{k} ({'pure' if e.is_pure else 'mixed'})")
        for role in ("attacker", "defender"):
            lines.append(f"     {role + ' plays:':17s}{_mixture_text(e.mixture(role))}")
        lines.append(f"     {'expected payoff:':17s}attacker {_fmt(e.attacker_payoff, scale)}, defender {_fmt(e.defender_payoff, scale)}")
        lines.append(f"     {'regret:':17s}attacker {_fmt(e.attacker_regret, scale)}, defender {_fmt(e.defender_regret, scale)}"
                     + ("  (gain from the best deviation: 0 at an equilibrium)" if k == 1 else ""))
        if boots:
            b = boots[k - 1]
            lines.append(
                f"     {'bootstrap:':17s}{b.replicates} resamples of the seeds: same support in {b.support_share:.1%}; "
                f"{b.confidence:.0%} CI attacker [{_fmt(b.attacker_ci[0], scale)}, {_fmt(b.attacker_ci[1], scale)}], "
                f"defender [{_fmt(b.defender_ci[0], scale)}, {_fmt(b.defender_ci[1], scale)}]"
            )
    for w in warnings:
        lines.append("")
        lines.append(f"Warning: {w}")
    return "\n".join(lines)


def _mixture_text(mix: dict[str, float]) -> str:
    """``Random triggers: 1.00`` or ``A: 0.43, B: 0.57`` (probabilities, two decimals unless tiny)."""
    return ", ".join(f"{s}: {p:.2f}" if p >= 0.005 else f"{s}: {p:.1g}" for s, p in mix.items())


def thin_statistics(table, fix: str) -> str | None:
    """A warning when a table's per-cell seeds are too few for a bootstrap or
    an interval to say much (fewer than :data:`MIN_SEEDS` in some cell), else None."""
    counts = table.count()
    fewest = int(counts[counts > 0].min()) if (counts > 0).any() else 0
    if fewest >= MIN_SEEDS:
        return None
    return (f"some cells have only {fewest} seed(s) (fewer than {MIN_SEEDS}): resampling so few values says little, "
            f"so read the bootstrap's shares and intervals as rough; {fix}")


def more_seeds(args: argparse.Namespace, path: Path) -> str:
    """How to get more seeds: for a spec, the fill (and solve) commands with MIN_SEEDS of them."""
    if path.suffix.lower() != ".toml":
        return "measure more seeds a cell"
    seeds = list(dict.fromkeys([*(args.seeds or []), *range(DEFAULT_SEED, DEFAULT_SEED + MIN_SEEDS)]))[:max(MIN_SEEDS, len(args.seeds or []))]
    more = argparse.Namespace(**{**vars(args), "seeds": seeds})
    return f"measure more seeds: {command(more, 'fill')}, then solve with the same --seeds"
