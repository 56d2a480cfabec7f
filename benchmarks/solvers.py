"""Time each equilibrium method on random games, side by side with calling nashpy directly.

    python benchmarks/solvers.py            # sizes 5, 10, 20, 40
    python benchmarks/solvers.py --sizes 5 10 --repeats 3
    python benchmarks/solvers.py --bootstrap 1000  # NormalFormGame.bootstrap on small tables instead

For each size n (n × n games, seeded), three kinds of game:
  general   payoffs uniform in [0, 1] (nondegenerate with probability 1)
  ties      payoffs in {0, 0.5, 1} (degenerate: what saturated attack success looks like)
  zero-sum  B = 1 − A, A uniform

Columns: ours = gametheory.solve(A, B, method) (regret-checked, deduplicated);
nashpy = the corresponding nashpy call on the same matrices (generator
exhausted, no checks). "found" counts equilibria returned; for nashpy on tie
games it may be fewer than ours (it drops equilibria with unequal supports
or float-equal best responses) or include non-equilibria. Enumeration
methods are exponential: each run is stopped after --budget seconds
("> budget") and that method is not tried on larger sizes ("skipped").
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import time
import warnings

import nashpy
import numpy as np

from gametheory import solve
from gametheory.equilibria import regret


def _games(n: int, seed: int):
    rng = np.random.default_rng(seed)
    yield "general", rng.random((n, n)), rng.random((n, n))
    yield "ties", rng.choice([0.0, 0.5, 1.0], (n, n)), rng.choice([0.0, 0.5, 1.0], (n, n))
    A = rng.random((n, n))
    yield "zero-sum", A, 1.0 - A


def _nashpy(method: str, A, B):
    if method == "lp":  # nashpy's LP wants an exactly zero-sum game: shift B by the constant
        B = -A if np.allclose(A + B, (A + B)[0, 0]) else B
    g = nashpy.Game(A, B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "support-enumeration":
            return list(g.support_enumeration())
        if method == "vertex-enumeration":
            return list(g.vertex_enumeration())
        if method == "lemke-howson":
            return list(g.lemke_howson_enumeration())
        if method == "lp":
            return [g.linear_program()]
    return []


def _child(fn, repeats, queue):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    queue.put((best, [(np.asarray(x), np.asarray(y)) for x, y in out]))


def _time(fn, repeats, limit):
    """Best of ``repeats`` runs in a forked child; (None, []) when it runs past ``limit`` seconds."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, repeats, queue))
    proc.start()
    try:
        return queue.get(timeout=limit * repeats)
    except Exception:
        return None, []
    finally:
        proc.kill()
        proc.join()


def _fmt(t) -> str:
    return f"{t:9.4f}" if t is not None else f"{'> budget':>9}"


def _bootstrap_tables():
    """Small payoff tables with per-seed samples: (name, PayoffTable)."""
    from gametheory import PayoffTable

    rng = np.random.default_rng(3407)
    pennies = []
    for s, eps in enumerate([0.0, 0.02, -0.02]):  # the 2 × 2 game of tests/test_cli.py, 3 seeds
        for a, d, v in (("heads", "heads", 1 + eps), ("heads", "tails", -1), ("tails", "heads", -1), ("tails", "tails", 1 + eps)):
            pennies.append({"attacker": a, "defender": d, "attacker_payoff": v, "defender_payoff": -v, "seed": s})
    yield "2x2 constant-sum, 3 seeds", PayoffTable.from_records(pennies)
    general = []
    base_a, base_d = rng.random((3, 3)), rng.random((3, 3))
    for i in range(3):
        for j in range(3):
            for s in range(5):
                general.append({"attacker": f"a{i}", "defender": f"d{j}", "seed": s,
                                "attacker_payoff": float(base_a[i, j] + rng.normal(0, 0.05)),
                                "defender_payoff": float(base_d[i, j] + rng.normal(0, 0.05))})
    yield "3x3 general-sum, 5 seeds", PayoffTable.from_records(general)


def _bootstrap(replicates: int) -> None:
    from gametheory import NormalFormGame

    print(f"{'table':28} {'replicates':>10} {'first call s':>12} {'warm s':>8} {'same support':>12}")
    for name, table in _bootstrap_tables():
        game = NormalFormGame.from_table(table)
        times = []
        for _ in range(2):  # the first call also pays for lazy imports (nashpy, scipy.optimize)
            t = time.perf_counter()
            result = game.bootstrap(replicates=replicates)
            times.append(time.perf_counter() - t)
        print(f"{name:28} {replicates:>10} {times[0]:12.3f} {times[1]:8.3f} {result.support_share:12.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20, 40])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds per run before it is stopped; a method stopped at one size is not tried on larger ones")
    ap.add_argument("--seed", type=int, default=3407)
    ap.add_argument("--bootstrap", type=int, default=0, metavar="B", help="time NormalFormGame.bootstrap(replicates=B) on small tables instead")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, nashpy {nashpy.__version__}")
    if args.bootstrap:
        _bootstrap(args.bootstrap)
        return
    header = f"{'n':>3} {'game':9} {'method':20} {'ours s':>9} {'found':>5} {'nashpy s':>9} {'found':>5} {'nashpy bad':>10}"
    print(header)
    print("-" * len(header))
    over_budget: set[tuple[str, str]] = set()
    methods = ["auto", "pure", "lp", "lemke-howson", "vertex-enumeration", "support-enumeration"]
    for n in args.sizes:
        for kind, A, B in _games(n, args.seed + n):
            for method in methods:
                if method == "lp" and kind != "zero-sum":
                    continue
                if (method, kind) in over_budget:
                    print(f"{n:>3} {kind:9} {method:20} {'skipped (over budget at a smaller size)':>40}")
                    continue
                t_ours, eqs = _time(lambda: solve(A, B, method), args.repeats, args.budget)
                nash = "-"
                if (method + ":nashpy", kind) in over_budget:
                    nash = f"{'skipped':>9}"
                elif method in ("support-enumeration", "vertex-enumeration", "lemke-howson", "lp"):
                    t_np, np_eqs = _time(lambda: _nashpy(method, A, B), args.repeats, args.budget)
                    bad = sum(1 for x, y in np_eqs if max(regret(A, B, x, y)) > 1e-8 * max(np.ptp(A), np.ptp(B)))
                    nash = f"{_fmt(t_np)} {len(np_eqs):>5} {bad:>10}" if t_np is not None else f"{_fmt(None)}"
                    if t_np is None:
                        over_budget.add((method + ":nashpy", kind))
                print(f"{n:>3} {kind:9} {method:20} {_fmt(t_ours)} {len(eqs) if t_ours is not None else '':>5} {nash}")
                if t_ours is None:
                    over_budget.add((method, kind))


if __name__ == "__main__":
    main()
