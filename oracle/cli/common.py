"""What the commands share: one-line usage errors, and the oracle and payoff
table a spec file names."""

from __future__ import annotations

import argparse
import time

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse prints usage too)
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def oracle_from_args(args: argparse.Namespace, train: bool):
    from oracle.store.cache import ResultCache
    from oracle.fill import make_oracle
    from oracle.specs import load_spec

    spec = load_spec(args.spec if hasattr(args, "spec") else args.file)
    if args.seeds:
        spec = spec.with_seeds(args.seeds)
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


def table_from_cache(args: argparse.Namespace):
    """The payoff table of a spec's cached cells, and which data they were measured on
    (:func:`data_measured`); a one-line error naming the missing cells."""
    oracle = oracle_from_args(args, train=False)
    table = oracle.table()
    missing = table.missing()
    if missing:
        jobs = oracle.missing()
        cells = "; ".join(f"({a!r}, {d!r})" for a, d in missing[:6]) + (" …" if len(missing) > 6 else "")
        raise UsageError(
            f"backfire: {args.file}: {len(missing)} of {table.shape[0] * table.shape[1]} cells have no cached result "
            f"({len(jobs)} job(s) to train): {cells}; run 'backfire fill {args.file}{fill_options(args)}' first"
        )
    return table, data_measured(oracle)


def fill_options(args: argparse.Namespace) -> str:
    """The options a suggested ``backfire fill`` command must repeat (seeds, cache, data folder)."""
    out = " --seeds " + " ".join(map(str, args.seeds)) if args.seeds else ""
    out += f" --cache {args.cache}" if args.cache else ""
    return out + (f" --data-dir {args.data_dir}" if args.data_dir else "")
