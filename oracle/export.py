"""A game's cached outcomes as one long table: one row per cell, seed, component and attacker.

The format (:mod:`gametheory.per_attacker`) is what ``backfire table SPEC``
writes (CSV or JSON); ``backfire solve`` and ``backfire plot`` read it back
and aggregate it into cell payoffs by the payoff rule, and pandas reads it as
it is (``pd.read_csv``; the JSON's ``rows`` with ``pd.DataFrame``). It is read
from the result cache alone: nothing is trained.

Columns (:data:`COLUMNS`), for a data-poisoning game (``kind`` = poisoning):

========================  ==================================================
game, kind                the spec's name; ``poisoning`` or ``federated``
attacker, defender        the cell: attacker and defender strategy labels
seed                      the seed of the victim's training
component, weight         the mixed attacker strategy's component (index from
                          0, and its normalised weight); 0 and 1 when pure
strategy                  the pure strategy attacker i plays (its name)
attacker_index            i = 0 … N-1 (its trigger seed, by the convention)
target                    attacker i's target label
attack_success            ① accuracy w.r.t. its poisoned labels on its
                          triggered run-time inputs (its payoff)
attack_success_excluding_target
                          ① over the inputs whose clean label is not the
                          target already (empty when none)
clean_label_acc           ② accuracy w.r.t. clean labels on the same inputs
clean_acc                 ③ accuracy w.r.t. clean labels without the trigger
defender_val_acc          the victim's validation accuracy
defender_test_acc         its clean test accuracy (empty without a test set)
defender_payoff           the defender's payoff from this outcome: 1 − mean ①
n_attackers, n_max        N, and the N_max the shares were sized on
dataset, preset           the environment's dataset and training preset
oracle_version            the oracle's version (part of every cache key)
versions                  ``python=…;numpy=…;torch=…`` of the run
device                    where it ran (``cpu``, ``cuda:0``, …)
key                       the outcome's cache key
========================  ==================================================

For a federated game (``kind`` = federated: Wang et al.'s edge-case
backdoor) the same columns mean: ``attack_success`` and
``attack_success_excluding_target`` = attacker i's backdoor accuracy on its
edge-case test set; ``clean_label_acc`` = empty (not measured); ``clean_acc``
and ``defender_val_acc`` = the global model's main-task accuracy at the last
round; ``defender_payoff`` = main-task accuracy − mean backdoor accuracy;
``dataset`` = the federated task (``ardis``: MNIST + ARDIS sevens,
``southwest``: CIFAR-10 + Southwest planes); ``preset`` = the federated
preset; ``n_max`` = N.

For a game where each attacker chooses (a role-symmetric spec,
``attackers_choose = "each"``; :func:`export_symmetric_game`) a row is one
profile, seed and attacker: ``attacker`` names the profile (``"2 keep,
1 escalate"``), ``count:<strategy>`` columns (one per attacker strategy,
after ``defender``) hold its counts, ``strategy`` is the one attacker i plays
in it (attackers ``0 … c_1−1`` the first, and so on), ``component`` is 0 and
``weight`` 1. ``backfire solve`` and ``backfire plot`` recognise the
``count:`` columns and read the rows back as the measured game
(:func:`gametheory.symmetric_file.read_symmetric_table`).

This module imports no torch.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from oracle.jobs import Job, components
from oracle.payoff_oracle import ORACLE_VERSION, PayoffOracle
from oracle.store.outcome import Outcome

__all__ = ["COLUMNS", "Export", "export_game", "export_symmetric_game", "outcome_rows", "to_csv", "to_json"]

COLUMNS = (
    "game", "kind", "attacker", "defender", "seed", "component", "weight", "strategy", "attacker_index", "target",
    "attack_success", "attack_success_excluding_target", "clean_label_acc", "clean_acc",
    "defender_val_acc", "defender_test_acc", "defender_payoff",
    "n_attackers", "n_max", "dataset", "preset", "oracle_version", "versions", "device", "key",
)
_VERSION_KEYS = ("python", "numpy", "scipy", "torch", "torchvision")


@dataclass(frozen=True)
class Export:
    """The rows of a game's cached outcomes, and the cells and seeds that have none."""

    rows: list[dict[str, Any]]
    missing: list[dict[str, Any]]  # {"attacker", "defender", "seed", "component"} per uncached outcome
    meta: dict[str, Any]


def outcome_rows(outcome: Outcome, base: dict[str, Any], strategies: list[str], defender_payoff: float) -> list[dict]:
    """One row per attacker of ``outcome``: ``base`` (the cell's columns) plus attacker i's metrics.

    ``strategies[i]`` is the pure strategy attacker i plays; ``defender_payoff``
    is the outcome's defender payoff by the game's rule.
    """
    env = outcome.environment
    versions = ";".join(f"{k}={env[k]}" for k in _VERSION_KEYS if k in env)
    out = []
    for i in range(outcome.n_attackers):
        out.append({
            **base, "strategy": strategies[i], "attacker_index": i, "target": outcome.targets[i],
            "attack_success": outcome.asr[i], "attack_success_excluding_target": outcome.asr_excluding_target[i],
            "clean_label_acc": outcome.clean_label_acc[i], "clean_acc": outcome.clean_acc[i],
            "defender_val_acc": outcome.defender_val_acc, "defender_test_acc": outcome.defender_test_acc,
            "defender_payoff": defender_payoff, "versions": versions, "device": env.get("device", ""),
        })
    return out


def _environment_columns(oracle: PayoffOracle) -> dict[str, Any]:
    spec, env = oracle.spec, oracle.spec.environment
    if env.kind == "federated":
        dataset = env.config().task
    else:
        dataset = env.dataset
    return {"game": spec.name, "kind": env.kind, "n_attackers": spec.n_attackers, "n_max": spec.n_max,
            "dataset": dataset, "preset": env.preset, "oracle_version": ORACLE_VERSION}


def export_game(oracle: PayoffOracle) -> Export:
    """Every cached outcome of ``oracle``'s normal-form game, per attacker, in table order; nothing is trained.

    Order: attacker strategy, defender strategy, seed, component, attacker.
    Outcomes not in the cache are listed in ``missing``.
    """
    spec = oracle.spec
    env_cols = _environment_columns(oracle)
    rows: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for a_label, strategy in spec.attackers.items():
        parts = components(strategy)
        for d_label, defender in spec.defenders.items():
            for seed in spec.seeds:
                for c, (weight, component) in enumerate(parts):
                    job = Job(component, defender, seed)
                    key = oracle.key(job)
                    outcome = oracle.cache.get(key)
                    if outcome is None:
                        missing.append({"attacker": a_label, "defender": d_label, "seed": seed, "component": c})
                        continue
                    name = getattr(component, "name", None) or (a_label if len(parts) == 1 else f"{a_label} #{c}")
                    base = {**env_cols, "attacker": a_label, "defender": d_label, "seed": seed, "component": c,
                            "weight": float(weight), "key": key}
                    rows.extend(outcome_rows(outcome, base, [name] * outcome.n_attackers,
                                             oracle.defender_payoff(outcome)))
    meta = {"game": spec.name, "kind": spec.environment.kind, "spec": spec.source, "n_attackers": spec.n_attackers,
            "seeds": list(spec.seeds), "attackers": list(spec.attackers), "defenders": list(spec.defenders),
            "columns": list(COLUMNS)}
    return Export([{c: r.get(c) for c in COLUMNS} for r in rows], missing, meta)


def export_symmetric_game(oracle: PayoffOracle) -> Export:
    """Every cached outcome of ``oracle``'s role-symmetric game, per attacker (module docstring); nothing is trained.

    Order: profile (:meth:`gametheory.RoleSymmetricGame.all_profiles`), seed,
    attacker. Profiles cached with some seeds only list the others in
    ``missing``; profiles with no cached seed are left out (a search or DPR
    analysis measures only some).
    """
    from gametheory.symmetric import COUNT_PREFIX
    from oracle.payoff_oracle import SymmetricSource
    from oracle.symmetric_fill import game_of

    spec = oracle.spec
    labels = list(spec.attackers)
    source = SymmetricSource(oracle, labels, train=False)
    env_cols = _environment_columns(oracle)
    counts_cols = [f"{COUNT_PREFIX}{s}" for s in labels]
    columns = [*COLUMNS[:4], *counts_cols, *COLUMNS[4:]]
    rows: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for counts, d_label in game_of(spec).all_profiles():
        name = ", ".join(f"{c} {s}" for s, c in zip(labels, counts) if c)
        found = [(seed, key, oracle.cache.get(key)) for seed in spec.seeds
                 for key in [oracle.key(source.job(counts, d_label, seed))]]
        if all(outcome is None for _, _, outcome in found):
            continue
        plays = [s for s, c in zip(labels, counts) for _ in range(c)]
        for seed, key, outcome in found:
            if outcome is None:
                missing.append({"attacker": name, "defender": d_label, "seed": seed, "component": 0})
                continue
            base = {**env_cols, **dict(zip(counts_cols, counts)), "attacker": name, "defender": d_label,
                    "seed": seed, "component": 0, "weight": 1.0, "key": key}
            rows.extend(outcome_rows(outcome, base, plays, oracle.defender_payoff(outcome)))
    meta = {"game": spec.name, "kind": spec.environment.kind, "spec": spec.source, "n_attackers": spec.n_attackers,
            "seeds": list(spec.seeds), "attackers_choose": "each", "attacker_strategies": labels,
            "defenders": list(spec.defenders), "analysis": spec.analysis.to_dict(), "columns": columns}
    return Export([{c: r.get(c) for c in columns} for r in rows], missing, meta)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return "" if value is None else value


def to_csv(export: Export) -> str:
    """The rows as CSV: a header of the export's columns (:data:`COLUMNS`, plus ``count:`` ones), floats at full precision, NaN as an empty field."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = export.meta.get("columns", COLUMNS)
    writer.writerow(columns)
    for r in export.rows:
        writer.writerow([_cell(r[c]) for c in columns])
    return buf.getvalue()


def to_json(export: Export) -> str:
    """``{"meta": {...}, "missing": [...], "rows": [...]}``; NaN as null."""
    def clean(r: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}

    return json.dumps({"meta": export.meta, "missing": export.missing, "rows": [clean(r) for r in export.rows]},
                      indent=1, allow_nan=False)
