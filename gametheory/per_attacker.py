"""The per-attacker long format: one row per cell, seed, component and attacker.

``backfire table SPEC`` writes every cached outcome of a game in this format
(:mod:`oracle.export`); :meth:`gametheory.PayoffTable.read` recognises it (by
its ``attack_success`` column) and aggregates it into cell payoffs, so the
file can be solved, plotted, or read by pandas (``pd.read_csv``) as it is.

Columns the aggregation reads (:data:`AGGREGATED_COLUMNS`):

``attacker``, ``defender``
    the cell: attacker strategy (row) and defender strategy (column) labels.
``seed``
    the seed of the outcome (optional: one outcome per cell without it).
``component``, ``weight``
    a mixed attacker strategy's cell is one outcome per component;
    ``component`` is its index (0 for a pure strategy), ``weight`` its
    normalised weight (1 for a pure strategy). Both optional (0 and 1).
``attacker_index``
    i = 0 … N-1, the attacker within the outcome.
``attack_success``
    attacker i's payoff ①: its accuracy w.r.t. its poisoned labels on its
    triggered run-time inputs (a federated game: its backdoor accuracy).
``defender_payoff``
    the defender's payoff from that outcome, by the game's rule (1 − mean ①;
    a federated game: main-task accuracy − mean backdoor accuracy), the same
    on every row of one outcome.

Every other column (target, accuracies, N, preset, versions, …) is carried
for the reader and ignored here.

The payoff rule (DESIGN.md, "payoff"; :meth:`oracle.payoff_oracle.PayoffOracle.payoffs`),
per cell (a, d) and seed s, with components c of weight w_c and N attackers::

    attacker payoff = Σ_c w_c · (1/N) Σ_i attack_success[c, i]
    defender payoff = Σ_c w_c · defender_payoff[c]

A cell seen with several seeds keeps one sample per seed, as the short
format's ``seed`` column does. This module imports numpy only.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["MARKER", "AGGREGATED_COLUMNS", "is_per_attacker", "cell_records"]

MARKER = "attack_success"
"""The column that marks a file as per-attacker rather than one row per cell (and seed)."""

AGGREGATED_COLUMNS = ("attacker", "defender", "seed", "component", "weight", "attacker_index",
                      "attack_success", "defender_payoff")
_REQUIRED = ("attacker", "defender", "attacker_index", "attack_success", "defender_payoff")
_WEIGHT_TOL = 1e-6


class _Bad(ValueError):
    pass


def is_per_attacker(columns: Iterable[str]) -> bool:
    """Whether a header (or a record's keys) is of the per-attacker format."""
    return MARKER in set(columns)


_REQUIRED_VALUE = object()


def _number(row: Mapping[str, Any], column: str, place: str, *, integer: bool = False,
            default: Any = _REQUIRED_VALUE):
    value = row.get(column)
    if value is None or (isinstance(value, str) and value.strip() in ("", "nan", "None")) or (
            isinstance(value, float) and math.isnan(value)):
        if default is not _REQUIRED_VALUE:
            return default
        raise _Bad(f"{place}, column '{column}': empty (a number is required)")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _Bad(f"{place}, column '{column}': {value!r} is not a number") from None
    if not math.isfinite(out):
        raise _Bad(f"{place}, column '{column}': {value!r} is not a finite number")
    if integer:
        if out != int(out):
            raise _Bad(f"{place}, column '{column}': {value!r} is not an integer")
        return int(out)
    return out


def _outcomes(records: list[Mapping[str, Any]], where: str) -> dict[tuple, dict[str, Any]]:
    """Rows grouped by outcome: (attacker, defender, seed, component) -> weight, attackers, defender payoff."""
    out: dict[tuple, dict[str, Any]] = {}
    for k, row in enumerate(records):
        place = str(row.get("__line__", f"row {k}"))
        place = f"line {place}" if place.isdigit() else place
        missing = [c for c in _REQUIRED if c not in row]
        if missing:
            raise _Bad(f"{place} lacks column(s) {', '.join(missing)} "
                       f"(the per-attacker format needs {', '.join(_REQUIRED)}; optional: seed, component, weight)")
        a, d = str(row["attacker"]).strip(), str(row["defender"]).strip()
        if not a or not d or "nan" in (a.lower(), d.lower()):
            raise _Bad(f"{place}: empty strategy label in column 'attacker' or 'defender'")
        seed = _number(row, "seed", place, integer=True, default=None)
        component = _number(row, "component", place, integer=True, default=0)
        weight = _number(row, "weight", place, default=1.0)
        index = _number(row, "attacker_index", place, integer=True)
        asr = _number(row, "attack_success", place)
        dpay = _number(row, "defender_payoff", place)
        key = (a, d, seed, component)
        group = out.setdefault(key, {"weight": weight, "asr": {}, "defender": dpay, "place": place})
        if index in group["asr"]:
            raise _Bad(f"{place}: attacker_index {index} repeated in cell ({a!r}, {d!r}), seed {key[2]}, "
                       f"component {component}")
        if abs(group["weight"] - weight) > _WEIGHT_TOL or abs(group["defender"] - dpay) > 1e-12:
            raise _Bad(f"{place}: 'weight' and 'defender_payoff' must be equal on every row of one outcome "
                       f"(cell ({a!r}, {d!r}), seed {key[2]}, component {component})")
        group["asr"][index] = asr
    return out


def cell_records(records: Iterable[Mapping[str, Any]], where: str = "records") -> list[dict[str, Any]]:
    """Per-attacker rows -> short records (attacker, defender, attacker_payoff, defender_payoff[, seed]).

    Applies the payoff rule of the module docstring; one record per cell and
    seed, in order of first appearance. Raises ``ValueError`` naming the
    place at fault: a missing column, a non-number, a repeated attacker, an
    outcome whose attacker indices are not 0 … N-1, or a cell and seed whose
    component weights do not sum to 1 (a component's outcome is missing).
    """
    rows = list(records)
    if not rows:
        raise ValueError(f"{where}: no payoff rows")
    try:
        groups = _outcomes(rows, where)
    except _Bad as exc:
        raise ValueError(f"{where}: {exc}") from None
    cells: dict[tuple, list[tuple[int, float, float, float]]] = {}
    for (a, d, seed, component), g in groups.items():
        idx = sorted(g["asr"])
        if idx != list(range(len(idx))):
            raise ValueError(f"{where}: cell ({a!r}, {d!r}), seed {seed}, component {component}: attacker_index "
                             f"values {idx} are not 0 … N-1 (an attacker's row is missing)")
        mean_asr = float(np.mean([g["asr"][i] for i in idx]))
        cells.setdefault((a, d, seed), []).append((component, g["weight"], mean_asr, g["defender"]))
    out = []
    for (a, d, seed), parts in cells.items():
        parts.sort()
        total = sum(w for _, w, _, _ in parts)
        if abs(total - 1.0) > _WEIGHT_TOL:
            raise ValueError(f"{where}: cell ({a!r}, {d!r}), seed {seed}: component weights sum to {total:.6g}, "
                             f"not 1 (components present: {[c for c, *_ in parts]}; one is missing)")
        a_value = d_value = 0.0
        for _, w, asr, dpay in parts:
            a_value += w * asr
            d_value += w * dpay
        rec = {"attacker": a, "defender": d, "attacker_payoff": a_value, "defender_payoff": d_value}
        if seed is not None:
            rec["seed"] = seed
        out.append(rec)
    return out
