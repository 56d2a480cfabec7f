"""Timings of the role-symmetric game: filling, regret, equilibrium search, pure equilibria, lazy DPR.

Run: ``PYTHONPATH=. python benchmarks/symmetric.py [--quick]``. CPU only; numpy/scipy.
The payoffs are a synthetic "backfiring" model: an attacker's success falls with the
fraction of attackers that share its strategy, and the defender's payoff is 1 − mean success.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gametheory.sources import Payoffs
from gametheory.count_profiles import num_profiles
from gametheory.symmetric import RoleSymmetricGame

SEED = 3407


class BackfireModel:
    """A payoff source computed from a formula; counts how often it is asked."""

    def __init__(self, attackers, defenders, n, seed=SEED):
        rng = np.random.default_rng(seed)
        self.attackers, self.defenders, self.n = list(attackers), list(defenders), n
        self.base = rng.uniform(0.6, 1.0, size=(len(defenders), len(attackers)))
        self.crowding = rng.uniform(0.2, 0.8, size=len(attackers))
        self.calls = 0

    def payoffs(self, profile):
        self.calls += 1
        counts, d = profile
        c = np.asarray(counts, dtype=float)
        success = self.base[self.defenders.index(d)] * (1 - self.crowding * c / self.n)
        roles = {s: float(success[i]) for i, s in enumerate(self.attackers) if counts[i] > 0}
        roles["defender"] = float(1 - (c @ success) / self.n)
        return Payoffs(roles=roles)


def timed(label, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<58s} {time.perf_counter() - start:8.3f} s")
    return out


def main(quick: bool) -> None:
    attackers = ["random", "coordinate", "escalate", "quiet"]
    defenders = ["none", "spectral", "clip"]
    n = 12 if quick else 30
    model = BackfireModel(attackers, defenders, n)
    game = RoleSymmetricGame(attackers, defenders, n, source=model)
    print(f"N={n}, K={len(attackers)}, D={len(defenders)}: {game.num_profiles} profiles")
    timed("fill every profile from the source", game.fill)
    sigma, tau = np.full(4, 0.25), np.full(3, 1 / 3)
    timed("regret at uniform (first, gathers payoffs)", lambda: game.regret(sigma, tau))
    timed("regret at uniform x100 (cached gather)", lambda: [game.regret(sigma, tau) for _ in range(100)])
    eqs = timed("find_equilibria replicator (default starts)", lambda: game.find_equilibria(method="replicator"))
    print("   ", eqs[:2])
    eqs = timed("find_equilibria regret-min (default starts)", lambda: game.find_equilibria(method="regret-min"))
    print("   ", eqs[:2])
    pure = timed("pure_equilibria", game.pure_equilibria)
    print(f"    {len(pure)} pure equilibria")

    big_n = 101 if quick else 1001
    big = BackfireModel(attackers, defenders, big_n)
    full = RoleSymmetricGame(attackers, defenders, big_n, source=big)
    print(f"N={big_n}: {num_profiles(big_n, 4) * 3} full profiles; reduce to k=5 lazily")
    reduced = full.reduce(5)
    eqs = timed("reduced game: find_equilibria regret-min", lambda: reduced.find_equilibria(method="regret-min"))
    print(f"    {big.calls} full-game profiles computed; {eqs[:1]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    main(parser.parse_args().quick)
