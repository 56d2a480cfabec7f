"""``backfire solve``: equilibria of a payoff table (a CSV/JSON file, or a
spec's cached cells), as text or JSON. Imports no torch."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .common import UsageError, describe_data, table_from_cache


def run(args: argparse.Namespace) -> int:
    from gametheory import DEFAULT_TOL, NormalFormGame, PayoffTable

    path = Path(args.file)
    tol = DEFAULT_TOL if args.tol is None else args.tol
    if not (tol > 0 and math.isfinite(tol)):
        raise UsageError(f"backfire: --tol={args.tol} is out of range: allowed a positive number")
    if args.bootstrap < 0:
        raise UsageError(f"backfire: --bootstrap={args.bootstrap} is out of range: allowed ≥ 0")
    data = None  # which data a spec's cells were measured on
    if path.suffix.lower() == ".toml":
        table, data = table_from_cache(args)
    else:
        table = PayoffTable.read(path)
    game = NormalFormGame.from_table(table)
    eqs = game.equilibria(args.method, tol)
    scale = _display_scale(args.scale, game)
    constant_sum = game.is_constant_sum()
    zs = game.zero_sum_solution(tol) if constant_sum else None
    boots = []
    if args.bootstrap:
        if not table.has_samples():
            raise UsageError(f"backfire: {path}: --bootstrap needs per-seed samples (a 'seed' column), this table has one value per cell")
        boots = [game.bootstrap(e, replicates=args.bootstrap, method=args.method, seed=args.seed, tol=tol) for e in eqs]
    if args.json:
        print(json.dumps({**_as_json(path, args.method, game, eqs, scale, zs, boots),
                          **({"data": data} if data else {})}, indent=2))
    else:
        print(_as_text(path, args.method, game, eqs, scale, zs, boots, data))
    return 0


def _display_scale(choice: str, game) -> float:
    if choice != "auto":
        return float(choice)
    # fractions (accuracies, and differences of them such as the federated defender's main - backdoor)
    inside = all(((M >= -1) & (M <= 1)).all() for M in (game.A, game.B))
    return 100.0 if inside else 1.0


def _fmt(v: float, scale: float) -> str:
    v = v * scale
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.4e}"


def _as_text(path, method, game, eqs, scale, zs, boots, data=None) -> str:
    table = game.table
    unit = " (payoffs ×100)" if scale == 100 else ""
    m, n = game.shape
    lines = [f"Payoff table {path}: {m} attacker × {n} defender strategies{unit}", ""]
    if data:
        lines[-1:] = [f"Measured on {describe_data(data)[len('data: '):]}", ""]
    lines.append(table.format(scale=scale, digits=4))
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
    lines.append(f"{len(eqs)} {kind} (method {method}){extra}:")
    for k, e in enumerate(eqs, start=1):
        lines.append("")
        lines.append(f"  #{k} ({'pure' if e.is_pure else 'mixed'})")
        for role in ("attacker", "defender"):
            mix = ", ".join(f"{s} {p:.4g}" for s, p in e.mixture(role).items())
            lines.append(f"     {role + ':':10s}{mix}")
        lines.append(f"     payoffs:  attacker {_fmt(e.attacker_payoff, scale)}, defender {_fmt(e.defender_payoff, scale)}")
        lines.append(f"     regret:   attacker {_fmt(e.attacker_regret, scale)}, defender {_fmt(e.defender_regret, scale)}")
        if boots:
            b = boots[k - 1]
            lines.append(
                f"     bootstrap ({b.replicates} resamples): same support in {b.support_share:.1%}; "
                f"{b.confidence:.0%} CI attacker [{_fmt(b.attacker_ci[0], scale)}, {_fmt(b.attacker_ci[1], scale)}], "
                f"defender [{_fmt(b.defender_ci[0], scale)}, {_fmt(b.defender_ci[1], scale)}]"
            )
    return "\n".join(lines)


def _as_json(path, method, game, eqs, scale, zs, boots) -> dict:
    s = lambda v: v * scale  # noqa: E731
    out = {
        "file": str(path),
        "method": method,
        "scale": scale,
        "attackers": list(game.attackers),
        "defenders": list(game.defenders),
        "constant_sum": zs is not None,
        "equilibria": [],
    }
    if zs is not None:
        out["value"] = s(zs.value)
        out["optimal_strategies_unique"] = zs.unique
    for k, e in enumerate(eqs):
        d = e.to_dict()
        d["payoffs"] = {r: s(v) for r, v in d["payoffs"].items()}
        d["regret"] = {r: s(v) for r, v in d["regret"].items()}
        if boots:
            b = boots[k]
            d["bootstrap"] = {
                "replicates": b.replicates,
                "support_share": b.support_share,
                "confidence": b.confidence,
                "attacker_ci": [s(v) for v in b.attacker_ci],
                "defender_ci": [s(v) for v in b.defender_ci],
            }
        out["equilibria"].append(d)
    return out
