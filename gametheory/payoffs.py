"""Payoff tables: labelled attacker × defender strategies with measured payoffs.

A :class:`PayoffTable` holds, for every pair (attacker strategy, defender
strategy), the attacker's payoff and the defender's payoff. Where the payoffs
were measured over several seeds it keeps the per-seed samples, so every cell
has a mean, a standard deviation (ddof = 1) and a count. Cells may be missing
(not yet measured); a game can only be solved once none are.

Files use one *long* format, in CSV or JSON, one record per cell or per
(cell, seed), read and written by :mod:`gametheory.payoff_files`::

    attacker,defender,attacker_payoff,defender_payoff[,seed]

CSV files may start with ``#`` comment lines (provenance, units). JSON files
are ``{"meta": {...}, "rows": [{...}, ...]}`` with the same fields per row.
Payoffs are floats; the project keeps rates in [0, 1] internally and prints
them ×100 where the paper does.

The per-attacker format of ``backfire table`` (one row per cell, seed,
component and attacker; :mod:`gametheory.per_attacker`) is read too, by its
``attack_success`` column, and aggregated into cell payoffs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import per_attacker
from .payoff_files import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    PayoffFileError,
    cell_samples,
    csv_records,
    csv_text,
    json_records,
    json_text,
    read_text,
)
from .sources import MissingPayoff, Payoffs

__all__ = ["PayoffTable", "PayoffFileError", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS"]

_ROLES = ("attacker", "defender")


@dataclass(frozen=True)
class _Cell:
    """Samples of one cell: an (S, 2) array of (attacker, defender) payoffs and their seeds."""

    values: np.ndarray  # shape (S, 2)
    seeds: tuple[int | None, ...]


@dataclass
class PayoffTable:
    """Attacker strategies (rows) × defender strategies (columns) with payoffs.

    Build one with :meth:`from_records`, :meth:`from_dataframe`,
    :meth:`read` (CSV or JSON), :meth:`from_matrices`, or :meth:`from_source`.
    """

    attackers: tuple[str, ...]
    defenders: tuple[str, ...]
    _cells: dict[tuple[int, int], _Cell] = field(default_factory=dict, repr=False)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.attackers = tuple(str(a) for a in self.attackers)
        self.defenders = tuple(str(d) for d in self.defenders)
        for role, labels in (("attacker", self.attackers), ("defender", self.defenders)):
            if not labels:
                raise ValueError(f"{role} strategies: none given; a table needs at least one")
            dupes = sorted({x for x in labels if labels.count(x) > 1})
            if dupes:
                raise ValueError(f"{role} strategies: duplicate labels {dupes}")

    # ------------------------------------------------------------------ building
    @classmethod
    def from_matrices(
        cls,
        attacker: Any,
        defender: Any,
        attackers: Sequence[str] | None = None,
        defenders: Sequence[str] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> "PayoffTable":
        """A table from two (m, n) payoff matrices; NaN marks a missing cell."""
        a = np.asarray(attacker, dtype=float)
        d = np.asarray(defender, dtype=float)
        if a.ndim != 2 or a.shape != d.shape:
            raise ValueError(
                f"payoff matrices must be 2-D and of equal shape, got {a.shape} and {d.shape}"
            )
        m, n = a.shape
        attackers = tuple(attackers) if attackers is not None else tuple(f"a{i}" for i in range(m))
        defenders = tuple(defenders) if defenders is not None else tuple(f"d{j}" for j in range(n))
        if len(attackers) != m or len(defenders) != n:
            raise ValueError(
                f"labels ({len(attackers)} attackers, {len(defenders)} defenders) do not match "
                f"the matrices' shape {a.shape}"
            )
        table = cls(attackers, defenders, meta=dict(meta or {}))
        for i in range(m):
            for j in range(n):
                if not (math.isnan(a[i, j]) or math.isnan(d[i, j])):
                    table._cells[(i, j)] = _Cell(np.array([[a[i, j], d[i, j]]]), (None,))
        return table

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        meta: Mapping[str, Any] | None = None,
        where: str = "records",
        first_line: int = 1,
    ) -> "PayoffTable":
        """A table from long records (dicts with :data:`REQUIRED_COLUMNS`, optional ``seed``).

        Strategy order is the order of first appearance. ``where`` names the
        source in error messages; ``first_line`` is the line number of the
        first record (for files with a header).
        """
        attackers, defenders, cells = cell_samples(records, where, first_line)
        table = cls(tuple(attackers), tuple(defenders), meta=dict(meta or {}))
        for key, (values, seeds) in cells.items():
            table._cells[key] = _Cell(values, seeds)
        return table

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, meta: Mapping[str, Any] | None = None) -> "PayoffTable":
        """A table from a long DataFrame (see :meth:`to_dataframe`)."""
        if per_attacker.is_per_attacker(df.columns):
            return cls._from_per_attacker(df.to_dict("records"), meta or df.attrs.get("meta"), "DataFrame")
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise PayoffFileError(
                f"DataFrame lacks column(s) {', '.join(missing)} "
                f"(required: {', '.join(REQUIRED_COLUMNS)}; optional: seed)"
            )
        records = [{**{c: _from_frame(v) for c, v in r.items()}, "__line__": f"row {k}"}
                   for k, r in zip(df.index, df.to_dict("records"))]
        return cls.from_records(records, meta=meta or df.attrs.get("meta"), where="DataFrame")

    @classmethod
    def from_source(
        cls,
        attackers: Sequence[str],
        defenders: Sequence[str],
        source: Any,
        meta: Mapping[str, Any] | None = None,
    ) -> "PayoffTable":
        """Ask a payoff source for every cell; cells it lacks stay missing.

        ``source`` follows :class:`gametheory.sources.PayoffSource`: its
        ``payoffs((attacker, defender))`` returns :class:`Payoffs` or raises
        :class:`MissingPayoff`.
        """
        table = cls(tuple(attackers), tuple(defenders), meta=dict(meta or {}))
        for i, a_label in enumerate(table.attackers):
            for j, d_label in enumerate(table.defenders):
                try:
                    p = source.payoffs((a_label, d_label))
                except MissingPayoff:
                    continue
                table._cells[(i, j)] = _cell_from_payoffs(p)
        return table

    # ------------------------------------------------------------------ reading / writing
    @classmethod
    def read(cls, path: str | Path) -> "PayoffTable":
        """Read a table from a ``.csv`` or ``.json`` file.

        The file must be UTF-8, or UTF-8/16/32 with a byte-order mark
        (:func:`gametheory.parsing.decode`). Whatever the bytes, the only error
        is :class:`PayoffFileError`, one line naming the file and, where there
        is one, the line (CSV; JSON syntax: line and column) or key (JSON).
        """
        text, suffix = read_text(path)
        if suffix == ".csv":
            return cls.read_csv_text(text, where=str(path))
        return cls.read_json_text(text, where=str(path))

    @classmethod
    def read_csv_text(cls, text: str, where: str = "CSV") -> "PayoffTable":
        """A table from CSV text: ``#`` comment lines, a header, one record per line."""
        records, meta, per_row = csv_records(text, where)
        if per_row:
            return cls._from_per_attacker(records, meta, where)
        return cls.from_records(records, meta=meta, where=where)

    @classmethod
    def read_json_text(cls, text: str, where: str = "JSON") -> "PayoffTable":
        """A table from JSON text: ``{"meta": {...}, "rows": [...]}`` or just the list of rows."""
        records, meta, per_row = json_records(text, where)
        if per_row:
            return cls._from_per_attacker(records, meta, where)
        return cls.from_records(records, meta=meta, where=where)

    @classmethod
    def _from_per_attacker(cls, records: list[dict[str, Any]], meta: Mapping[str, Any] | None, where: str) -> "PayoffTable":
        """A table from per-attacker rows, aggregated by the payoff rule (:mod:`gametheory.per_attacker`)."""
        try:
            cells = per_attacker.cell_records(records, where=where)
        except ValueError as exc:
            raise PayoffFileError(str(exc)) from None
        return cls.from_records(cells, meta={**dict(meta or {}), "format": "per-attacker"}, where=where)

    def to_records(self) -> list[dict[str, Any]]:
        """Long records: one per cell, or one per (cell, seed) where cells have seeds."""
        out = []
        for (i, j), cell in sorted(self._cells.items()):
            for (a, d), s in zip(cell.values, cell.seeds):
                rec: dict[str, Any] = {
                    "attacker": self.attackers[i],
                    "defender": self.defenders[j],
                    "attacker_payoff": float(a),
                    "defender_payoff": float(d),
                }
                if s is not None:
                    rec["seed"] = int(s)
                out.append(rec)
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """The long DataFrame: columns attacker, defender, attacker_payoff, defender_payoff[, seed]."""
        df = pd.DataFrame.from_records(self.to_records())
        cols = list(REQUIRED_COLUMNS) + (["seed"] if "seed" in df.columns else [])
        df = df.reindex(columns=cols)
        if "seed" in df.columns:
            df["seed"] = df["seed"].astype("Int64")
        df.attrs["meta"] = dict(self.meta)
        return df

    def write(self, path: str | Path) -> None:
        """Write to ``.csv`` (with ``#`` comment lines for ``meta['comments']``) or ``.json``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            path.write_text(json_text(self.to_records(), self.meta))
        elif suffix == ".csv":
            path.write_text(csv_text(self.to_records(), self.meta.get("comments", [])))
        else:
            raise PayoffFileError(f"{path}: unknown payoff file type '{path.suffix}' (allowed: .csv, .json)")

    # ------------------------------------------------------------------ access
    @property
    def shape(self) -> tuple[int, int]:
        return len(self.attackers), len(self.defenders)

    def _stat(self, fn, role: int) -> np.ndarray:
        out = np.full(self.shape, np.nan)
        for (i, j), cell in self._cells.items():
            out[i, j] = fn(cell.values[:, role])
        return out

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(attacker, defender) mean payoff matrices; raises if any cell is missing."""
        missing = self.missing()
        if missing:
            listed = "; ".join(f"({a!r}, {d!r})" for a, d in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise MissingPayoff(missing[0], f"{len(missing)} cell(s) missing: {listed}{more}")
        return self.mean("attacker"), self.mean("defender")

    def mean(self, role: str = "attacker") -> np.ndarray:
        return self._stat(np.mean, _role_index(role))

    def std(self, role: str = "attacker") -> np.ndarray:
        """Sample standard deviation (ddof = 1) per cell; 0 for single-sample cells."""
        return self._stat(lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, _role_index(role))

    def count(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=int)
        for (i, j), cell in self._cells.items():
            out[i, j] = len(cell.values)
        return out

    def samples(self, attacker: str, defender: str) -> np.ndarray:
        """The (S, 2) array of per-seed (attacker, defender) payoffs of one cell."""
        key = (self._index(self.attackers, attacker, "attacker"), self._index(self.defenders, defender, "defender"))
        if key not in self._cells:
            raise MissingPayoff((attacker, defender))
        return self._cells[key].values.copy()

    def has_samples(self) -> bool:
        """True when at least one cell has more than one sample."""
        return any(len(c.values) > 1 for c in self._cells.values())

    def missing(self) -> list[tuple[str, str]]:
        return [
            (a, d)
            for i, a in enumerate(self.attackers)
            for j, d in enumerate(self.defenders)
            if (i, j) not in self._cells
        ]

    def is_complete(self) -> bool:
        return not self.missing()

    def payoffs(self, profile: Hashable) -> Payoffs:
        """The payoff-source protocol: ``profile = (attacker_label, defender_label)``."""
        try:
            attacker, defender = profile  # type: ignore[misc]
            values = self.samples(attacker, defender)
        except (ValueError, TypeError):
            raise MissingPayoff(profile, "not an (attacker, defender) pair of this table") from None
        return Payoffs(
            roles={"attacker": float(values[:, 0].mean()), "defender": float(values[:, 1].mean())},
            samples={"attacker": tuple(values[:, 0]), "defender": tuple(values[:, 1])},
        )

    def resample(self, rng: np.random.Generator) -> "PayoffTable":
        """A bootstrap replicate: every cell's samples resampled with replacement."""
        table = PayoffTable(self.attackers, self.defenders, meta=dict(self.meta))
        for key, cell in self._cells.items():
            idx = rng.integers(0, len(cell.values), size=len(cell.values))
            table._cells[key] = _Cell(cell.values[idx], tuple(cell.seeds[t] for t in idx))
        return table

    def resample_means(self, rng: np.random.Generator, replicates: int) -> np.ndarray:
        """``replicates`` bootstrap replicates of the mean payoff matrices at once.

        Every cell's S samples are drawn S times with replacement, per replicate,
        all replicates in one draw per cell. Returns an array of shape
        (replicates, m, n, 2): [..., 0] the attacker's means, [..., 1] the
        defender's. Missing cells are NaN.
        """
        out = np.full((replicates, *self.shape, 2), np.nan)
        for (i, j), cell in self._cells.items():
            s = len(cell.values)
            idx = rng.integers(0, s, size=(replicates, s))
            out[:, i, j, :] = cell.values[idx].mean(axis=1)
        return out

    def _index(self, labels: tuple[str, ...], label: str, role: str) -> int:
        try:
            return labels.index(label)
        except ValueError:
            raise ValueError(f"unknown {role} strategy {label!r}: known are {', '.join(labels)}") from None

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.format()

    def format(self, scale: float = 1.0, digits: int = 3) -> str:
        """A readable grid: each cell '(attacker, defender)', with ± std and n where sampled."""
        a, d, s, n = self.mean("attacker"), self.mean("defender"), self.std("attacker"), self.count()
        cells = []
        for i in range(self.shape[0]):
            row = []
            for j in range(self.shape[1]):
                if n[i, j] == 0:
                    row.append("missing")
                    continue
                text = f"({a[i, j] * scale:.{digits}g}, {d[i, j] * scale:.{digits}g})"
                if n[i, j] > 1:
                    text += f" ±{s[i, j] * scale:.2g} n={n[i, j]}"
                row.append(text)
            cells.append(row)
        width0 = max(len(x) for x in ("attacker \\ defender",) + self.attackers)
        widths = [max(len(self.defenders[j]), *(len(r[j]) for r in cells)) for j in range(self.shape[1])]
        lines = ["  ".join(["attacker \\ defender".ljust(width0)] + [d_.rjust(w) for d_, w in zip(self.defenders, widths)])]
        for label, row in zip(self.attackers, cells):
            lines.append("  ".join([label.ljust(width0)] + [c.rjust(w) for c, w in zip(row, widths)]))
        return "\n".join(lines)


def _role_index(role: str) -> int:
    if role not in _ROLES:
        raise ValueError(f"role {role!r} is unknown: allowed {', '.join(_ROLES)}")
    return _ROLES.index(role)


def _from_frame(value: Any) -> Any:
    """A DataFrame cell as a record value: missing (NaN, NA) → None; an integral float
    (a seed column with gaps is stored as floats) → int; anything else unchanged."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _cell_from_payoffs(p: Payoffs) -> _Cell:
    sa, sd = p.samples.get("attacker"), p.samples.get("defender")
    if sa and sd and len(sa) == len(sd):
        values = np.column_stack([np.asarray(sa, float), np.asarray(sd, float)])
        seeds = tuple(int(s) for s in p.seeds) if len(p.seeds) == len(sa) else tuple(range(len(sa)))
        return _Cell(values, seeds)
    return _Cell(np.array([[float(p["attacker"]), float(p["defender"])]]), (None,))
