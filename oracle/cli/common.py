"""What the commands share: one-line usage errors, and the oracle and payoff
table a spec file names."""

from __future__ import annotations

import argparse

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
    from oracle.symmetric_spec import load_game_spec

    spec = load_game_spec(args.spec if hasattr(args, "spec") else args.file)
    if args.seeds:
        spec = spec.with_seeds(args.seeds)
    cache = ResultCache(args.cache)
    progress = train and not getattr(args, "quiet", False)
    return make_oracle(spec, cache=cache, device=getattr(args, "device", None), data_dir=args.data_dir,
                       train=train, progress=progress)


def table_from_cache(args: argparse.Namespace):
    oracle = oracle_from_args(args, train=False)
    table = oracle.table()
    missing = table.missing()
    if missing:
        jobs = oracle.missing()
        cells = "; ".join(f"({a!r}, {d!r})" for a, d in missing[:6]) + (" …" if len(missing) > 6 else "")
        raise UsageError(
            f"backfire: {args.file}: {len(missing)} of {table.shape[0] * table.shape[1]} cells have no cached result "
            f"({len(jobs)} job(s) to train): {cells}; run 'backfire fill {args.file}' first"
        )
    return table
