"""What the commands share: one-line usage errors, and the oracle and payoff
table a spec file names."""

from __future__ import annotations

import argparse
import math
import shlex
import statistics
import time

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse prints usage too)
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def fix_for(exc: BaseException) -> str:
    """The fix to add to an error's line where its message names none ('' otherwise)."""
    from oracle.store.cache import CacheError

    if isinstance(exc, CacheError) and "not a backfire result cache" in str(exc):
        return "; point --cache (or $BACKFIRE_CACHE) at a backfire result cache, or at a new file"
    return ""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def oracle_from_args(args: argparse.Namespace, train: bool):
    from oracle.store.cache import ResultCache
    from oracle.fill import make_oracle
    from oracle.symmetric_spec import load_game_spec

    spec = load_game_spec(args.spec if hasattr(args, "spec") else args.file)
    if args.seeds:
        try:
            spec = spec.with_seeds(args.seeds)
        except ValueError as exc:
            raise UsageError(f"backfire: --seeds: {one_line(exc)}") from None
    cache = ResultCache(args.cache)
    progress = train and not getattr(args, "quiet", False)
    return make_oracle(spec, cache=cache, device=getattr(args, "device", None), data_dir=args.data_dir,
                       train=train, progress=progress)


def data_measured(oracle) -> dict:
    """Which data a spec's cached cells were measured on, from the cache alone (JSON-ready):
    the latest fill's data (description, fingerprint, source, when) and the other versions recorded."""
    versions = oracle.data_versions()
    if not versions:
        return {"fingerprint": None, "description": None, "other_fingerprints": []}
    latest = versions[0]
    return {"fingerprint": latest.fingerprint, "description": latest.description, "source": latest.source,
            "recorded_at": time.strftime("%Y-%m-%d %H:%M", time.localtime(latest.recorded_at)),
            "other_fingerprints": [v.fingerprint for v in versions[1:]]}


def describe_data(data: dict) -> str:
    """One line for :func:`data_measured`."""
    if data["fingerprint"] is None:
        return "data: none recorded in this cache for this environment (no cell of it has been filled)"
    where = f" from {data['source']}" if data.get("source") else ""
    line = (f"data: {data['description']}{where}, content fingerprint {data['fingerprint'][:12]}… "
            f"(recorded by a fill, {data['recorded_at']})")
    others = data["other_fingerprints"]
    if others:
        line += (f"; {len(others)} other version(s) of this environment's data also have cells here, not used: "
                 + ", ".join(f"{fp[:12]}…" for fp in others))
    return line


def table_from_cache(args: argparse.Namespace, on_missing=None):
    """The payoff table of a spec's cached cells, and which data they were measured on
    (:func:`data_measured`); missing cells: ``on_missing(table)`` if given, then a one-line error naming them."""
    oracle = oracle_from_args(args, train=False)
    table = oracle.table()
    missing = table.missing()
    if missing:
        if on_missing is not None:
            on_missing(table)
        jobs = oracle.missing()
        cells = "; ".join(f"({a!r}, {d!r})" for a, d in missing[:6]) + (" …" if len(missing) > 6 else "")
        raise UsageError(
            f"backfire: {args.file}: {len(missing)} of {table.shape[0] * table.shape[1]} cells have no cached result "
            f"({len(jobs)} job(s) to train): {cells}; run '{command(args, 'fill')}' first"
        )
    return table, data_measured(oracle)


def command(args: argparse.Namespace, verb: str) -> str:
    """The ``backfire VERB SPEC`` command for the spec of ``args``, with the
    options given that change which jobs, which cache and which data
    (``--seeds``, ``--cache``, ``--data-dir``; for ``fill`` also ``--device``)."""
    parts = ["backfire", verb, getattr(args, "spec", None) or args.file]
    if getattr(args, "seeds", None):
        parts += ["--seeds", *map(str, args.seeds)]
    for option in ("cache", "data_dir") + (("device",) if verb == "fill" else ()):
        value = getattr(args, option, None)
        if value:
            parts += [f"--{option.replace('_', '-')}", str(value)]
    return " ".join(shlex.quote(p) for p in parts)

def outcome_seconds(outcome) -> float | None:
    """Seconds one job took: ``timings['total']``, else the sum of its timings; None without timings."""
    t = outcome.timings
    if not t:
        return None
    seconds = float(t["total"]) if "total" in t else float(sum(t.values()))
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def estimate_seconds(oracle, jobs) -> tuple[float, str] | None:
    """How long ``jobs`` (not yet cached) will take, from the timings of cached jobs, and where the figure came from.

    Each job counts the median seconds of this game's cached jobs with the
    same defender strategy, else of all this game's cached jobs; with none of
    this game cached, of every cached job with the same environment (dataset
    and its fingerprint, subset, V_d, N_max, ...) and training preset.
    None when the cache holds no such job.
    """
    if not jobs:
        return 0.0, "nothing to train"
    own: dict[str, list[float]] = {}
    devices = set()
    for job in oracle.jobs():
        outcome = oracle.cached(job)
        seconds = outcome_seconds(outcome) if outcome is not None else None
        if seconds is not None:
            own.setdefault(job.defender.label, []).append(seconds)
            devices.add(str(outcome.environment.get("device", "?")))
    everything = [s for v in own.values() for s in v]
    if everything:
        total = sum(statistics.median(own.get(j.defender.label, everything)) for j in jobs)
        where = f"{len(everything)} cached job(s) of this game"
    else:
        alike = _alike_seconds(oracle, devices)
        if not alike:
            return None
        total = len(jobs) * statistics.median(alike)
        where = f"{len(alike)} cached job(s) with the same environment and preset"
    return total, f"from the timings of {where}, on {', '.join(sorted(devices)) or '?'}"


def _alike_seconds(oracle, devices: set) -> list[float]:
    ref = oracle.profile(oracle.jobs()[0])  # the environment and (poisoning games) the preset, as keyed
    out = []
    for cell in oracle.cache.cells():
        if cell.profile.get("environment") == ref["environment"] and cell.profile.get("preset") == ref.get("preset"):
            for outcome in oracle.cache.outcomes(cell.cell_key):
                seconds = outcome_seconds(outcome)
                if seconds is not None:
                    out.append(seconds)
                    devices.add(str(outcome.environment.get("device", "?")))
    return out


def duration(seconds: float) -> str:
    """``40 s``, ``3 min``, ``1.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

