"""The ``backfire`` command: the composition root.

``backfire solve FILE`` solves a payoff table (CSV or JSON) and prints every
equilibrium, each role's mixture, payoff and regret. It imports only
:mod:`gametheory` (numpy, scipy, nashpy, pandas), never torch, so it starts
in about a second.

Bad input (a missing file, a malformed table, an unknown method) is reported
in one line on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2 (argparse prints usage too)
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from gametheory.equilibria import METHODS

    parser = _Parser(prog="backfire", description="Game-theoretic analysis of multi-agent backdoor attacks.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    solve = sub.add_parser(
        "solve",
        help="solve a payoff table for its equilibria",
        description="Solve the attacker/defender game of a payoff table (CSV or JSON) and print every equilibrium.",
    )
    solve.add_argument("file", help="payoff table: .csv or .json (columns attacker, defender, attacker_payoff, defender_payoff[, seed])")
    solve.add_argument("--method", default="auto", choices=list(METHODS), metavar="NAME",
                       help=f"equilibrium method: {', '.join(METHODS)} (default: auto)")
    solve.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    solve.add_argument("--tol", type=float, default=None, help="regret tolerance relative to each player's payoff range (default 1e-8)")
    solve.add_argument("--scale", default="auto", choices=["auto", "1", "100"],
                       help="multiply payoffs for display: 100 shows rates as percent, as the paper does; auto = 100 when all payoffs lie in [-1, 1]")
    solve.add_argument("--bootstrap", type=int, default=0, metavar="B",
                       help="with per-seed samples: resample each cell B times and report how stable each equilibrium is")
    solve.add_argument("--seed", type=int, default=3407, help="seed of the bootstrap (default 3407)")
    _oracle_options(solve, training=False)

    fill = sub.add_parser(
        "fill",
        help="train the victims of a game spec's missing cells, caching each result",
        description="Fill a game spec's payoff table: train every (attacker strategy, defender strategy, seed) "
        "job that is not in the result cache. Interrupt at any time: finished jobs are kept.",
    )
    fill.add_argument("spec", help="game spec (.toml)")
    _oracle_options(fill, training=True)
    fill.add_argument("--executor", default="local", choices=["local", "ray"], help="local (default) or ray")
    fill.add_argument("--ray-address", default=None, help="address of an existing Ray cluster (default: start a local one)")
    fill.add_argument("--max-cells", type=int, default=None, metavar="K", help="train at most K jobs, then stop")
    fill.add_argument("--quiet", action="store_true", help="no progress bar, no per-job lines")
    fill.add_argument("--json", action="store_true", help="quiet, then print one JSON line: jobs trained, cached, waited for, left")

    status = sub.add_parser("status", help="which cells of a game spec are cached, with how many seeds",
                            description="Show which cells of a game spec have cached results and which are missing.")
    status.add_argument("spec", help="game spec (.toml)")
    _oracle_options(status, training=False)
    return parser


def _oracle_options(p: argparse.ArgumentParser, training: bool) -> None:
    p.add_argument("--cache", default=None, metavar="PATH", help="result cache file (default: $BACKFIRE_CACHE/results.sqlite or ~/.cache/backfire/results.sqlite)")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="where the datasets are (default: $BACKFIRE_DATA, then ../shared/data)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, metavar="S", help="seeds to use instead of the spec's")
    if training:
        p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: automatic)")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "solve":
            return _solve(args)
        if args.command == "fill":
            return _fill(args)
        if args.command == "status":
            return _status(args)
        raise UsageError(f"backfire: unknown command {args.command!r}")  # pragma: no cover - argparse rejects first
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ValueError, LookupError, OSError, NotImplementedError) as exc:
        print(f"backfire: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("backfire: interrupted; every finished cell is kept in the cache", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


# --------------------------------------------------------------------------- game specs
def _oracle(args: argparse.Namespace, train: bool):
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


def _table_from_cache(args: argparse.Namespace):
    oracle = _oracle(args, train=False)
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


def _fill(args: argparse.Namespace) -> int:
    from oracle.fill import fill

    if args.max_cells is not None and args.max_cells < 0:
        raise UsageError(f"backfire: --max-cells={args.max_cells} is out of range: allowed ≥ 0")
    args.quiet = args.quiet or args.json
    oracle = _oracle(args, train=True)
    spec = oracle.spec
    quiet = args.quiet
    total = len(oracle.jobs())
    done = {"n": 0}

    def on_done(job, outcome, how):
        done["n"] += 1
        if quiet or how == "cached":
            return
        secs = sum(outcome.timings.values())
        line = (f"[{done['n']}/{total}] {job.describe()}: ASR {outcome.attacker_payoff * 100:.1f} ± "
                f"{outcome.attacker_payoff_std * 100:.1f}, clean acc {np.nanmean(outcome.clean_acc) * 100:.1f}, "
                f"val acc {outcome.defender_val_acc * 100:.1f} ({how}, {secs:.1f} s)")
        _print_above_bar(line)

    if not quiet:
        print(f"game {spec.name!r}: {len(spec.attackers)} attacker × {len(spec.defenders)} defender strategies, "
              f"N = {spec.n_attackers}, seeds {list(spec.seeds)}; {total} job(s); cache {oracle.cache.path}", flush=True)
    report = fill(oracle, max_jobs=args.max_cells, executor=args.executor, ray_address=args.ray_address, on_done=on_done)
    if args.json:
        counts = {k: len(getattr(report, k)) for k in ("trained", "cached", "waited", "remaining")}
        print(json.dumps({**counts, "seconds": round(report.seconds, 3)}))
    if not quiet:
        print(f"trained {len(report.trained)}, from cache {len(report.cached)}, by another process {len(report.waited)}, "
              f"left {len(report.remaining)}; {report.seconds:.1f} s", flush=True)
        if not report.remaining:
            print(f"solve it: backfire solve {args.spec}" + (f" --cache {args.cache}" if args.cache else ""))
    return 0


def _print_above_bar(line: str) -> None:
    try:
        from tqdm.auto import tqdm

        tqdm.write(line)
    except ImportError:  # pragma: no cover
        print(line, flush=True)


def _status(args: argparse.Namespace) -> int:
    oracle = _oracle(args, train=False)
    spec = oracle.spec
    print(f"game {spec.name!r}: N = {spec.n_attackers}, seeds {list(spec.seeds)}; cache {oracle.cache.path}")
    rows = []
    header = ("attacker", "defender", "seeds cached", "jobs cached", "state")
    for a_label in spec.attackers:
        for d_label in spec.defenders:
            jobs = oracle.jobs([a_label], [d_label])
            cached = {oracle.key(j) for j in jobs if oracle.key(j) in oracle.cache}
            seeds_done = [s for s in spec.seeds
                          if all(oracle.key(j) in cached for j in oracle.jobs([a_label], [d_label], seeds=[s]))]
            state = "complete" if len(cached) == len(jobs) else ("missing" if not cached else "partial")
            rows.append((a_label, d_label, f"{len(seeds_done)}/{len(spec.seeds)}", f"{len(cached)}/{len(jobs)}", state))
    widths = [max(len(r[k]) for r in rows + [header]) for k in range(len(header))]
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    extra = (" --seeds " + " ".join(map(str, args.seeds)) if args.seeds else "") + (f" --cache {args.cache}" if args.cache else "")
    n_jobs = len(oracle.jobs())  # distinct: cells that share a pure component share its jobs
    n_missing = len(oracle.missing())
    print(f"{n_missing} of {n_jobs} distinct job(s) missing" + (f"; run 'backfire fill {args.spec}{extra}'" if n_missing else "; ready to solve"))
    return 0


# --------------------------------------------------------------------------- solve
def _solve(args: argparse.Namespace) -> int:
    from gametheory import DEFAULT_TOL, NormalFormGame, PayoffTable

    path = Path(args.file)
    tol = DEFAULT_TOL if args.tol is None else args.tol
    if not (tol > 0 and math.isfinite(tol)):
        raise UsageError(f"backfire: --tol={args.tol} is out of range: allowed a positive number")
    if args.bootstrap < 0:
        raise UsageError(f"backfire: --bootstrap={args.bootstrap} is out of range: allowed ≥ 0")
    if path.suffix.lower() == ".toml":
        table = _table_from_cache(args)
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
        print(json.dumps(_as_json(path, args.method, game, eqs, scale, zs, boots), indent=2))
    else:
        print(_as_text(path, args.method, game, eqs, scale, zs, boots))
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


def _as_text(path, method, game, eqs, scale, zs, boots) -> str:
    table = game.table
    unit = " (payoffs ×100)" if scale == 100 else ""
    m, n = game.shape
    lines = [f"Payoff table {path}: {m} attacker × {n} defender strategies{unit}", ""]
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
