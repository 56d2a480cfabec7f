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


def e5_specs(ns: list[int], dataset: str = "mnist", n_images: int | None = 3000, architecture: str = "smallcnn",
             preset: str = "tiny", overrides: dict | None = None, defenses: tuple[str, ...] = DEFENSES,
             seed: int = 3407) -> list[GameSpec]:
    """One game per N in ``ns``: both attacks against every defense in ``defenses``, shares sized on
    N_max = max(ns), V_d = 0.8, ε = p = 0.55 (``n_images`` None or 0: the whole dataset)."""
    env = Environment(dataset=dataset, n_images=n_images or None, v_d=0.8, n_max=max(ns), preset=preset,
                      preset_overrides=overrides or {})
    attackers = {name: AttackerStrategy(name=name, trigger=trigger, eps=0.55, p=0.55) for name, trigger in ATTACKS.items()}
    defenders = {d: DefenderStrategy(architecture, d, name=d) for d in defenses}
    return [GameSpec(name=f"e5-N{n}", environment=env, n_attackers=n, attackers=attackers, defenders=defenders,
                     seeds=(seed,)) for n in ns]


def e5_row(job, outcome) -> dict:
    """One table row: the attack success (acc. w.r.t. poisoned labels) and acc. w.r.t. clean labels, mean and std
    over attackers in %, the victim's val. acc. and, for the removal defenses, what the filter caught."""
    asr = np.asarray(outcome.asr) * 100
    cl = np.asarray(outcome.clean_label_acc) * 100
    removal = outcome.extra.get("removal")
    return {"attack": job.attacker.name, "defense": job.defender.defense, "n": outcome.n_attackers,
            "asr": float(asr.mean()), "asr_std": float(asr.std()), "clean_label_acc": float(cl.mean()),
            "clean_label_acc_std": float(cl.std()), "val_acc": outcome.defender_val_acc * 100,
            "recall": None if not removal else removal["recall"],
            "flagged": None if not removal else removal["n_flagged"],
            "flagged_poisoned": None if not removal else removal["true_positives"]}


def format_row(r: dict) -> str:
    recall = "" if r["recall"] is None else f"{r['recall']:.2f}"
    flagged = "" if r["flagged"] is None else f"{r['flagged']} ({r['flagged_poisoned']} poisoned)"
    return (f"| {r['attack']} | {r['defense']} | {r['n']} | {r['asr']:.1f} ± {r['asr_std']:.1f} | "
            f"{r['clean_label_acc']:.1f} ± {r['clean_label_acc_std']:.1f} | {r['val_acc']:.1f} | {recall} | {flagged} |")


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
    overrides = {"lr": args.lr} if args.lr else {}
    specs = e5_specs(args.ns, args.dataset, args.n_images, args.architecture, args.preset, overrides,
                     tuple(args.defenses), args.seed)
    cache = ResultCache(args.cache)
    print(f"{args.dataset} ({args.n_images or 'all'} images), {args.architecture}, preset {args.preset} "
          f"{overrides or ''}, V_d = 0.8, "
          f"N_max = {max(args.ns)}, eps = p = 0.55, seed {args.seed}")
    print("| attack | defense | N | acc. w.r.t. poisoned labels | acc. w.r.t. clean labels | val. acc. | "
          "filter recall | filtered out |")
    print("|---|---|---|---|---|---|---|---|")
    for spec in specs:
        oracle = PayoffOracle(spec, cache=cache, device=args.device, progress=True)
        for job in oracle.jobs():
            print(format_row(e5_row(job, oracle.run(job))), flush=True)


if __name__ == "__main__":
    main()
