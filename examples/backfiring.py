"""The backfiring effect at small scale: one attacker succeeds, many attackers fall towards 1/|Y|.

    python examples/backfiring.py                        # MNIST, SmallCNN, N = 1, 5, 20, 100 (CPU: ~10 min)
    python examples/backfiring.py --ns 1 100 --preset fast --device cuda

Datta & Shadbolt, Table 1 (E2, MNIST): accuracy w.r.t. poisoned labels
100.0 at N = 1 and 27.5 ± 22.2 at N = 100. Here each N is a one-cell game
(attackers with independent random triggers and random target labels,
ε = p = 0.55; the defender trains SmallCNN) measured by the payoff oracle, so
every run is cached: run it again and nothing is retrained. Attacker shares
are sized on N_max = 100 (V_d = 0.2, E2's setting), so each attacker's real
poison rate is the same for every N.
"""

from __future__ import annotations

import argparse

import numpy as np

from oracle.store.cache import ResultCache
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import Environment, GameSpec
from strategies import AttackerStrategy, DefenderStrategy

PAPER = {1: "100.0", 100: "27.5 ± 22.2"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 5, 20, 100], help="numbers of attackers N")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--n-images", type=int, default=None, help="use a stratified subset of this many images")
    ap.add_argument("--architecture", default="smallcnn")
    ap.add_argument("--preset", default="fast", help="training preset: tiny, fast, paper")
    ap.add_argument("--device", default=None)
    ap.add_argument("--cache", default=None, help="result cache file (default: the user's cache)")
    ap.add_argument("--seed", type=int, default=3407)
    args = ap.parse_args()
    n_max = max(100, *args.ns)
    env = Environment(dataset=args.dataset, n_images=args.n_images, v_d=0.2, n_max=n_max, preset=args.preset)
    cache = ResultCache(args.cache)
    attackers = {"independent": AttackerStrategy.independent(eps=0.55, p=0.55)}
    defenders = {args.architecture: DefenderStrategy(args.architecture, "none", name=args.architecture)}
    print(f"{args.dataset}, {args.architecture}, preset {args.preset}, V_d = 0.2, N_max = {n_max}, eps = p = 0.55, seed {args.seed}")
    print(f"{'N':>5}  {'acc w.r.t. poisoned labels':>28}  {'acc w.r.t. clean labels':>24}  {'clean acc':>9}  {'val acc':>7}  {'paper':>12}")
    for n in args.ns:
        spec = GameSpec(name=f"backfiring-N{n}", environment=env, n_attackers=n, attackers=attackers,
                        defenders=defenders, seeds=(args.seed,))
        oracle = PayoffOracle(spec, cache=cache, device=args.device, progress=True)
        (job,) = oracle.jobs()
        o = oracle.run(job)
        asr = np.asarray(o.asr) * 100
        cl = np.asarray(o.clean_label_acc) * 100
        print(f"{n:>5}  {asr.mean():>19.1f} ± {asr.std():>5.1f}  {cl.mean():>15.1f} ± {cl.std():>5.1f}  "
              f"{np.nanmean(o.clean_acc) * 100:>9.1f}  {o.defender_val_acc * 100:>7.1f}  {PAPER.get(n, ''):>12}",
              flush=True)
    print(f"lower bound 1/|Y| = {100 / 10:.1f}")


if __name__ == "__main__":
    main()
