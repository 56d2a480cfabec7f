"""Payoff files: the long CSV/JSON format of payoff tables, read strictly and written back.

One record per cell, or per (cell, seed)::

    attacker,defender,attacker_payoff,defender_payoff[,seed]

CSV files may start with ``#`` comment lines (provenance, units). JSON files
are ``{"meta": {...}, "rows": [{...}, ...]}`` (or just the list of rows)
with the same fields per row. Files are UTF-8, or UTF-8/16/32 with a
byte-order mark (:func:`gametheory.parsing.decode`). Whatever the bytes, the
only error is :class:`PayoffFileError`, one line naming the file and, where
there is one, the line (CSV; JSON syntax: line and column) or key (JSON).

The functions here turn text into records and records into per-cell samples
(:func:`cell_samples`); :class:`gametheory.payoffs.PayoffTable` builds the
table from them. Rows in the per-attacker format of ``backfire table``
(:mod:`gametheory.per_attacker`) are recognised and passed on as they are.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from . import per_attacker
from .parsing import as_integer, as_name, as_number, decode, show

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "PayoffFileError",
    "cell_samples",
    "csv_records",
    "csv_text",
    "json_records",
    "json_text",
    "read_text",
]

REQUIRED_COLUMNS = ("attacker", "defender", "attacker_payoff", "defender_payoff")
OPTIONAL_COLUMNS = ("seed",)

#: One cell's samples: the (S, 2) array of (attacker, defender) payoffs, and their seeds (None where unseeded).
CellSamples = tuple[np.ndarray, tuple[int | None, ...]]


class PayoffFileError(ValueError):
    """A payoff file (or records) that cannot be read, naming the place at fault."""


def read_text(path: str | Path) -> tuple[str, str]:
    """The decoded text of a ``.csv`` or ``.json`` payoff file, and its suffix (lower case)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise PayoffFileError(f"{path}: no such file")
    if path.is_dir():
        raise PayoffFileError(f"{path}: is a directory, expected a .csv or .json payoff file")
    if suffix not in (".csv", ".json"):
        raise PayoffFileError(f"{path}: unknown payoff file type '{path.suffix}' (allowed: .csv, .json)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PayoffFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return decode(data, str(path), PayoffFileError), suffix


def csv_records(text: str, where: str) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """``(records, meta, per_attacker)`` of CSV text: ``#`` comment lines, a header, one record per line.

    Each record carries its file line in ``"__line__"``; ``meta`` holds the
    comments (``{"comments": [...]}``, or nothing); ``per_attacker`` says
    whether the header is that of the per-attacker format.
    """
    lines = io.StringIO(text.removeprefix("\ufeff"), newline=None).read().split("\n")
    meta_lines, header_line = [], None
    for number, line in enumerate(lines, start=1):
        if line.startswith("#"):
            meta_lines.append(line[1:].strip())
        elif line.strip():
            header_line = number
            break
    if header_line is None:
        raise PayoffFileError(f"{where}: empty file (expected a header row: {','.join(REQUIRED_COLUMNS)})")
    reader = csv.reader(io.StringIO("\n".join(lines[header_line - 1:])))
    place = lambda: f"line {header_line - 1 + reader.line_num}"  # noqa: E731 (multi-line quoted fields count)
    try:
        header = [h.strip() for h in next(reader)]
        per_row = per_attacker.is_per_attacker(header)
        if not per_row:
            _check_header(header, where, header_line)
        records = []
        for fields in reader:
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise PayoffFileError(
                    f"{where}: {place()}: {len(fields)} fields, expected {len(header)} ({','.join(header)})"
                )
            records.append({**dict(zip(header, fields)), "__line__": header_line - 1 + reader.line_num})
    except csv.Error as exc:
        raise PayoffFileError(f"{where}: {place()}: not valid CSV ({' '.join(str(exc).split())})") from None
    return records, ({"comments": meta_lines} if meta_lines else {}), per_row


def json_records(text: str, where: str) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """``(records, meta, per_attacker)`` of JSON text: ``{"meta": {...}, "rows": [...]}`` or just the list of rows.

    Each record carries its place (``"rows[k]"``) in ``"__line__"``.
    """
    data = _load_json(text, where)
    if isinstance(data, list):
        data = {"rows": data}
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise PayoffFileError(f"{where}: expected an object with a list 'rows' (and optional 'meta'), or a list of rows")
    unknown = [k for k in data if k not in ("meta", "rows", "missing")]  # "missing": cells a `backfire table` export lacks
    if unknown:
        raise PayoffFileError(f"{where}: unknown key(s) {', '.join(map(show, unknown))} (allowed: meta, rows, missing)")
    if not isinstance(data.get("meta", {}), dict):
        raise PayoffFileError(f"{where}: key 'meta': {show(data['meta'])} is not an object")
    records = []
    per_row = bool(data["rows"]) and isinstance(data["rows"][0], dict) and per_attacker.is_per_attacker(data["rows"][0])
    for k, row in enumerate(data["rows"]):
        if not isinstance(row, dict):
            raise PayoffFileError(f"{where}: rows[{k}]: {show(row)} is not an object")
        unknown = [] if per_row else [c for c in row if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        if unknown:
            raise PayoffFileError(
                f"{where}: rows[{k}]: unknown field(s) {', '.join(map(str, map(show, unknown))).replace(chr(39), '')} "
                f"(allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})"
            )
        if row.get("seed", 0) is None:
            raise PayoffFileError(f"{where}: rows[{k}], column 'seed': None is not an integer (leave the key out)")
        records.append({**row, "__line__": f"rows[{k}]"})
    return records, data.get("meta") or {}, per_row


def _load_json(text: str, where: str) -> Any:
    """``json.loads`` with every failure as one :class:`PayoffFileError` line; a key twice in an object is one."""
    try:
        return json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise PayoffFileError(f"{where}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    except _DuplicateKey as exc:
        raise PayoffFileError(f"{where}: key {show(exc.args[0])} appears twice in one object") from None
    except RecursionError:
        raise PayoffFileError(f"{where}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise PayoffFileError(f"{where}: invalid JSON ({' '.join(str(exc).split())[:120]})") from None


def cell_samples(
    records: Iterable[Mapping[str, Any]], where: str = "records", first_line: int = 1
) -> tuple[list[str], list[str], dict[tuple[int, int], CellSamples]]:
    """``(attackers, defenders, cells)`` of long records: labels in order of first appearance, and per cell
    ``(row, column)`` its samples sorted by seed.

    Every record needs :data:`REQUIRED_COLUMNS` (names, finite numbers) and
    may have an integer ``seed``; a cell given more than once needs distinct
    seeds. ``where`` names the source in error messages; ``first_line`` is the
    line number of the first record (a record's ``"__line__"`` overrides it).
    """
    rows = list(records)
    if not rows:
        raise PayoffFileError(f"{where}: no payoff rows")
    attackers: list[str] = []
    defenders: list[str] = []
    samples: dict[tuple[str, str], list[tuple[float, float, int | None, str]]] = {}
    for k, row in enumerate(rows):
        line = _place(row.get("__line__", first_line + k))
        a_label, d_label, a_value, d_value, seed = _parse_record(row, where, line)
        if a_label not in attackers:
            attackers.append(a_label)
        if d_label not in defenders:
            defenders.append(d_label)
        samples.setdefault((a_label, d_label), []).append((a_value, d_value, seed, line))
    cells = {(attackers.index(a), defenders.index(d)): _sorted_cell(cell, a, d, where)
             for (a, d), cell in samples.items()}
    return attackers, defenders, cells


def _parse_record(row: Mapping[str, Any], where: str, line: str) -> tuple[str, str, float, float, int | None]:
    """``(attacker, defender, attacker_payoff, defender_payoff, seed)`` of one record, strictly read."""
    missing = [c for c in REQUIRED_COLUMNS if c not in row]
    if missing:
        raise PayoffFileError(
            f"{where}: {line} lacks column(s) {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED_COLUMNS)}; optional: seed)"
        )
    a_label = as_name(row["attacker"], f"{where}: {line}, column 'attacker'", PayoffFileError)
    d_label = as_name(row["defender"], f"{where}: {line}, column 'defender'", PayoffFileError)
    vals = [as_number(row[c], f"{where}: {line}, column '{c}'", PayoffFileError)
            for c in ("attacker_payoff", "defender_payoff")]
    seed = row.get("seed")
    if seed is not None and not (isinstance(seed, str) and not seed.strip()):
        seed = as_integer(seed, f"{where}: {line}, column 'seed'", PayoffFileError)
    else:
        seed = None
    return a_label, d_label, vals[0], vals[1], seed


def _sorted_cell(
    cell: list[tuple[float, float, int | None, str]], a_label: str, d_label: str, where: str
) -> CellSamples:
    """One cell's samples sorted by seed (unseeded last); repeated cells need distinct seeds."""
    seeds = [s for _, _, s, _ in cell]
    if len(cell) > 1:
        if any(s is None for s in seeds):
            lines = ", ".join(str(l) for *_, l in cell)
            raise PayoffFileError(
                f"{where}: cell (attacker={a_label!r}, defender={d_label!r}) appears at "
                f"{lines}; repeated cells need distinct values in column 'seed'"
            )
        if len(set(seeds)) != len(seeds):
            dup = next(l for (*_, s, l) in cell if seeds.count(s) > 1)
            raise PayoffFileError(
                f"{where}: {dup}: seed repeated for cell "
                f"(attacker={a_label!r}, defender={d_label!r})"
            )
    order = sorted(range(len(cell)), key=lambda t: (seeds[t] is None, seeds[t] or 0))
    values = np.array([[cell[t][0], cell[t][1]] for t in order], dtype=float)
    return values, tuple(seeds[t] for t in order)


def csv_text(records: list[dict[str, Any]], comments: Iterable[str] = ()) -> str:
    """Long records as CSV text: ``#`` comment lines, the header, one line per record (floats by ``repr``)."""
    buf = io.StringIO()
    for c in comments:
        buf.write(f"# {c}\n")
    header = list(REQUIRED_COLUMNS) + (["seed"] if any("seed" in r for r in records) else [])
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def json_text(records: list[dict[str, Any]], meta: Mapping[str, Any]) -> str:
    """Long records as JSON text: ``{"meta": meta, "rows": records}``, indented."""
    return json.dumps({"meta": meta, "rows": records}, indent=2) + "\n"


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' object hook: a key given twice is an error, not "the last one wins"."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _check_header(header: list[str], where: str, line: int) -> None:
    """The CSV header: every required column, no unknown ones, none twice."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise PayoffFileError(
            f"{where}: line {line}: header lacks column(s) {', '.join(missing)} "
            f"(required: {', '.join(REQUIRED_COLUMNS)}; optional: seed)"
        )
    unknown = [show(h) for h in header if h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise PayoffFileError(
            f"{where}: line {line}: unknown column(s) {', '.join(unknown).replace(chr(39), '')} "
            f"(allowed: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})"
        )
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise PayoffFileError(f"{where}: line {line}: column(s) {', '.join(twice)} appear more than once")


def _place(line: Any) -> str:
    """'line 7' for a file line number, the string itself (e.g. 'rows[3]') otherwise."""
    return f"line {line}" if isinstance(line, int) else str(line)
