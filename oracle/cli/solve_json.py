"""``backfire solve --json``: the one JSON object it prints.

Keys: ``file``, ``method``, ``scale`` (the factor every payoff below is
multiplied by), ``attackers``, ``defenders``, ``complete``, ``missing`` (the
cells without a payoff, ``[{"attacker", "defender"}]``), ``table`` (the payoff
table solved: per cell the mean, std (ddof = 1, 0 with one seed) and n of
each role's payoff, and its seeds), ``elimination`` (iterated elimination of
strictly dominated strategies, pure or mixed dominators: the removals in
order and the survivors), ``constant_sum`` (and ``value``,
``optimal_strategies_unique`` when it is), and ``equilibria`` (each role's
mixture, payoffs, regret, ``pure``; ``bootstrap`` with ``--bootstrap``).

A table with missing cells cannot be solved: in JSON mode ``solve`` still
prints this object, with ``complete: false``, the ``missing`` cells, the
known part of ``table`` and no ``equilibria``, then the one-line error on
stderr, exit status 2.
"""

from __future__ import annotations

import json
from typing import Any


def table_json(table, scale: float) -> dict[str, Any]:
    """Per known cell: attacker/defender payoff mean, std, n (× scale) and the seeds, in table order."""
    seeds: dict[tuple[str, str], list[int]] = {}
    for r in table.to_records():
        if "seed" in r:
            seeds.setdefault((r["attacker"], r["defender"]), []).append(r["seed"])
    stats = {role: (table.mean(role), table.std(role)) for role in ("attacker", "defender")}
    count = table.count()
    cells = []
    for i, a in enumerate(table.attackers):
        for j, d in enumerate(table.defenders):
            if count[i, j] == 0:
                continue
            cell: dict[str, Any] = {"attacker": a, "defender": d}
            for role, (mean, std) in stats.items():
                cell[f"{role}_payoff"] = {"mean": float(mean[i, j]) * scale, "std": float(std[i, j]) * scale,
                                          "n": int(count[i, j])}
            cell["seeds"] = sorted(seeds.get((a, d), []))
            cells.append(cell)
    return {"cells": cells}


def missing_json(table) -> list[dict[str, str]]:
    return [{"attacker": a, "defender": d} for a, d in table.missing()]


def print_partial(path, method: str, scale_choice: str, table) -> None:
    """Print the report of a table that cannot be solved because cells are missing."""
    from gametheory.plots import display_scale

    scale = display_scale(scale_choice, table.mean("attacker"), table.mean("defender"))
    print(json.dumps({"file": str(path), "method": method, "scale": scale, "attackers": list(table.attackers),
            "defenders": list(table.defenders), "complete": False, "missing": missing_json(table),
            "table": table_json(table, scale), "equilibria": []}, indent=2))


def elimination_json(game) -> dict[str, Any]:
    elim = game.iterated_elimination()
    return {"strict": True, "mixed": True,
            "steps": [{"step": k, "role": role, "strategy": s} for k, (role, s) in enumerate(elim["removed"], start=1)],
            "surviving": {"attacker": list(elim["attacker"]), "defender": list(elim["defender"])}}


def as_json(path, method, game, eqs, scale, zs, boots) -> dict[str, Any]:
    s = lambda v: v * scale  # noqa: E731
    out: dict[str, Any] = {
        "file": str(path),
        "method": method,
        "scale": scale,
        "attackers": list(game.attackers),
        "defenders": list(game.defenders),
        "complete": True,
        "missing": [],
        "table": table_json(game.table, scale) if game.table is not None else None,
        "elimination": elimination_json(game),
        "constant_sum": zs is not None,
        "equilibria": [],
        # which method produced the list, any fallback to another one (and why), and why it may be empty
        "fallback": getattr(eqs, "fallback", None),
        "note": getattr(eqs, "note", None),
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
