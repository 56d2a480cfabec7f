"""How often the adaptive equilibrium search finds a true equilibrium, and what it spends.

Run: ``PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/search.py [--games 200] [--n 21] [--quick]``.
CPU only; numpy/scipy; nothing is trained.

Each game is a synthetic role-symmetric game (:mod:`gametheory.synthetic`)
with known mean payoffs, sampled with Beta noise (concentration 50: a
standard deviation of about 0.07 at a payoff of 0.5, like seed-to-seed
spread of attack success): half the games are escalation games with random
``gain`` and ``harm`` (a pure equilibrium), half random smooth games with
K = 3 attacker and D = 2 defender strategies (often mixed equilibria).
Four analyses per game, side by side:

* ``full``: every profile of the N-attacker game measured with 4 samples, solved;
* ``dpr``: every full-game profile the k-player DPR game reads, 4 samples each, solved;
* ``search``: :func:`gametheory.search.equilibrium_search` on the full game, with its
  defaults (t intervals, δ = 0.05, tol = 0, 2 to 16 samples per profile) and
  ``stop_at_first=True`` (the question asked is "find an equilibrium");
* ``search-dpr``: the same search on the k-player DPR game.

A run *finds a true equilibrium* when its first returned equilibrium has
regret at most ``--eps`` (default 0.02) in the true (noise-free) full game.
Printed: the share of such runs, the median and 90th percentile of
full-game profiles and samples spent, the share of the full game's profiles
spent, and the seconds per game.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gametheory.search import equilibrium_search
from gametheory.symmetric import RoleSymmetricGame
from gametheory.synthetic import SyntheticSource, escalation_game, random_game

SEED = 3407
SAMPLES = 4  # samples per profile when a whole (full or DPR) game is measured
METHODS = ("full", "dpr", "search", "search-dpr")


def make_game(i: int, n: int):
    """Game ``i``: escalation with random gain/harm for even ``i``, a random K=3, D=2 game for odd ``i``."""
    if i % 2 == 0:
        rng = np.random.default_rng([SEED, i])
        gain = rng.uniform(0.05, 0.15)
        return escalation_game(n, gain=gain, harm=rng.uniform(gain + 0.05, 0.4))
    return random_game(n, 3, 2, SEED + i)


def solve_measured(game, source, profiles, k=None):
    """Measure ``profiles`` (full game) with SAMPLES each, then solve the full or k-player DPR game on the means."""
    data = source.sample([(p, SAMPLES) for p in profiles])
    full = RoleSymmetricGame(game.attacker_strategies, game.defender_strategies, game.n_attackers)
    for p, record in data.items():
        full.set_payoffs(p, {r: v for r, v in record.roles.items() if r != "defender"}, record.roles["defender"])
    solved = full if k is None else full.reduce(k)
    eqs = []
    for method in ("replicator", "regret-min"):
        eqs += solved.find_equilibria(method=method, n_random=0, steps=1000, tol=1e-6)
    return [(e.sigma, e.tau) for e in sorted(eqs, key=lambda e: e.regret.max)], len(data), len(data) * SAMPLES


def run_method(method: str, game, k: int, seed: int):
    source = SyntheticSource(game, 50.0, seed=seed)
    full = RoleSymmetricGame(game.attacker_strategies, game.defender_strategies, game.n_attackers)
    if method == "full":
        return solve_measured(game, source, full.all_profiles())
    if method == "dpr":
        reads = list(dict.fromkeys(p for ps in full.dpr_required_profiles(k).values() for p in ps))
        return solve_measured(game, source, reads, k)
    result = equilibrium_search(source, game.attacker_strategies, game.defender_strategies, game.n_attackers,
                                dpr=k if method == "search-dpr" else None, stop_at_first=True)
    return [(c.sigma, c.tau) for c in result.equilibria], result.n_profiles, result.n_samples


def benchmark(n_games: int, n: int, k: int, eps: float, methods=METHODS) -> dict:
    rows = {m: [] for m in methods}
    for i in range(n_games):
        game = make_game(i, n)
        true = game.true_game()
        for m in methods:
            start = time.perf_counter()
            eqs, profiles, samples = run_method(m, game, k, SEED + i)
            seconds = time.perf_counter() - start
            ok = bool(eqs) and true.regret(*eqs[0]).max <= eps
            rows[m].append((ok, profiles, samples, seconds))
    return rows


def report(rows: dict, n: int, k: int, eps: float, n_games: int) -> None:
    total = RoleSymmetricGame(["a", "b", "c"], ["x", "y"], n).num_profiles
    print(f"{n_games} games, N = {n}, DPR k = {k}, true equilibrium = regret <= {eps} in the noise-free full game")
    print(f"(the random K=3, D=2 game has {total} profiles; the escalation game {n + 1} x 2 = {2 * (n + 1)})")
    print("| analysis | finds a true equilibrium | profiles median (p90) | samples median (p90) "
          "| share of full game's profiles, median (p90) | s/game |")
    print("|---|---|---|---|---|---|")
    for m, r in rows.items():
        ok, prof, samp, secs = (np.array(x, dtype=float) for x in zip(*r))
        sizes = np.array([2 * (n + 1) if i % 2 == 0 else total for i in range(len(r))], dtype=float)
        share = prof / sizes
        print(f"| {m} | {ok.mean():.1%} ({int(ok.sum())}/{len(ok)}) | {np.median(prof):.0f} ({np.percentile(prof, 90):.0f}) "
              f"| {np.median(samp):.0f} ({np.percentile(samp, 90):.0f}) "
              f"| {np.median(share):.1%} ({np.percentile(share, 90):.1%}) | {secs.mean():.2f} |")
        for family, pick in (("escalation", 0), ("random K=3 D=2", 1)):
            sel = np.arange(len(r)) % 2 == pick
            if sel.any():
                print(f"|   {family} | {ok[sel].mean():.1%} | {np.median(prof[sel]):.0f} ({np.percentile(prof[sel], 90):.0f}) "
                      f"| {np.median(samp[sel]):.0f} | {np.median(share[sel]):.1%} ({np.percentile(share[sel], 90):.1%}) "
                      f"| {secs[sel].mean():.2f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--n", type=int, default=21, help="attackers N (N-1 must be divisible by k-1)")
    parser.add_argument("--k", type=int, default=3, help="DPR reduced size k")
    parser.add_argument("--eps", type=float, default=0.02)
    parser.add_argument("--quick", action="store_true", help="4 games, N = 9: a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.games, args.n = 4, 9
    start = time.perf_counter()
    rows = benchmark(args.games, args.n, args.k, args.eps)
    report(rows, args.n, args.k, args.eps, args.games)
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
