"""E5 at a reduced size: BadNet and clean-label attackers against the four single-agent defenses.

    python examples/e5_defenses.py                                    # MNIST 3,000 images, SmallCNN (CPU: ~10 min)
    python examples/e5_defenses.py --dataset cifar10 --n-images 0 --architecture resnet18 --preset fast --device cuda

Datta & Shadbolt, E5 (App. 6.2.6, Figure 3): V_d = 0.8; 50% of the defender's
share goes to augmentation for the augmentative defenses; eps = p = 0.55;
attackers pick random target labels. Every (attack, defense, N) is a one-cell
game measured by the payoff oracle and cached, so a second run trains
nothing. Printed: accuracy w.r.t. poisoned labels (mean ± std over attackers,
the collective attack success; lower is a better defense) and, for the removal
defenses, the filter's recall of the poisoned training inputs.

Attacker shares are sized on N_max = max(--ns) (the paper sizes E5 on
N_max = 100: real poison rate 0.0011; at 3,000 images that would leave each
attacker 6 images, so the reduced run keeps N_max small).
"""

from __future__ import annotations

import argparse

import numpy as np

from oracle.store.cache import ResultCache
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import Environment, GameSpec
from strategies import AttackerStrategy, DefenderStrategy

DEFENSES = ("none", "cutmix", "adversarial-training", "spectral-signatures", "activation-clustering")
ATTACKS = {"BadNet": "random-badnet", "clean-label": "clean-label"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 5], help="numbers of attackers N")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--n-images", type=int, default=3000, help="stratified subset size (0: the whole dataset)")
    ap.add_argument("--architecture", default="smallcnn")
    ap.add_argument("--preset", default="tiny", help="training preset: tiny, fast, paper")
    ap.add_argument("--lr", type=float, default=0.05,
                    help="override the preset's learning rate (default 0.05: SmallCNN at the tiny preset's 0.1 "
                         "sometimes collapses to chance when a removal defense retrains it on 3,000 images); "
                         "0 keeps the preset's")
    ap.add_argument("--defenses", nargs="+", default=list(DEFENSES), choices=DEFENSES)
    ap.add_argument("--device", default=None)
    ap.add_argument("--cache", default=None, help="result cache file (default: the user's cache)")
    ap.add_argument("--seed", type=int, default=3407)
    args = ap.parse_args()
    if min(args.ns) < 1 or args.n_images < 0:
        ap.error("--ns must be ≥ 1 and --n-images ≥ 0")
    n_max = max(args.ns)
    overrides = {"lr": args.lr} if args.lr else {}
    env = Environment(dataset=args.dataset, n_images=args.n_images or None, v_d=0.8, n_max=n_max, preset=args.preset,
                      preset_overrides=overrides)
    cache = ResultCache(args.cache)
    attackers = {name: AttackerStrategy(name=name, trigger=trigger, eps=0.55, p=0.55) for name, trigger in ATTACKS.items()}
    defenders = {d: DefenderStrategy(args.architecture, d, name=d) for d in args.defenses}
    print(f"{args.dataset} ({args.n_images or 'all'} images), {args.architecture}, preset {args.preset} "
          f"{overrides or ''}, V_d = 0.8, "
          f"N_max = {n_max}, eps = p = 0.55, seed {args.seed}")
    print("| attack | defense | N | acc. w.r.t. poisoned labels | acc. w.r.t. clean labels | val. acc. | "
          "filter recall | filtered out |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.ns:
        spec = GameSpec(name=f"e5-N{n}", environment=env, n_attackers=n, attackers=attackers,
                        defenders=defenders, seeds=(args.seed,))
        oracle = PayoffOracle(spec, cache=cache, device=args.device, progress=True)
        for job in oracle.jobs():
            o = oracle.run(job)
            asr = np.asarray(o.asr) * 100
            cl = np.asarray(o.clean_label_acc) * 100
            removal = o.extra.get("removal")
            recall = "" if not removal or removal["recall"] is None else f"{removal['recall']:.2f}"
            flagged = "" if not removal else f"{removal['n_flagged']} ({removal['true_positives']} poisoned)"
            print(f"| {job.attacker.name} | {job.defender.defense} | {n} | {asr.mean():.1f} ± {asr.std():.1f} | "
                  f"{cl.mean():.1f} ± {cl.std():.1f} | {o.defender_val_acc * 100:.1f} | {recall} | {flagged} |",
                  flush=True)


if __name__ == "__main__":
    main()
