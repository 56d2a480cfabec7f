"""The backfiring effect: one attacker succeeds, many attackers fall towards 1/|Y|.

    python examples/backfiring.py                        # MNIST, SmallCNN, N = 1, 5, 20, 100, 3 seeds (CPU: ~30 min)
    python examples/backfiring.py --ns 1 100 --preset fast --device cuda
    python examples/backfiring.py --ns 1 5 20 --n-max 20 --n-images 2000 --v-d 0.5 --preset tiny --lr 0.05 \
        --figure backfiring.png                          # what `make demo` runs (~1 min on two CPU cores)
    python examples/backfiring.py --dataset cifar10 --n-images 6000 --preset paper-cpu --ns 1 2 5 10 20 50 100 \
        --figure docs/figures/backfiring_paper_cpu_cifar10.png   # E1 with the paper-cpu victim (docs/reproduction.md)

Datta & Shadbolt, Table 1 (E2): accuracy w.r.t. poisoned labels at N = 1
and N = 100, e.g. MNIST 100.0 and 27.5 ± 22.2, CIFAR-10 89.8 and 12.1 ± 14.0
(:data:`PAPER`; printed beside ours and drawn in the figure). Here each N is a one-cell game
(attackers with independent random triggers and random target labels,
ε = p = 0.55; the defender trains SmallCNN) measured by the payoff oracle
for every seed, so every run is cached: run it again and nothing is
retrained. Attacker shares are sized on N_max (by default V_d = 0.2, E2's setting), so
each attacker's real poison rate is the same for every N. For each N the
table gives the collective attack success (the mean over attackers of each
one's success) averaged over seeds, ± its standard deviation over seeds, and
each seed's value; --figure draws the same with the 1/|Y| line.
"""

from __future__ import annotations

import argparse

import numpy as np

from oracle.cli.solve import MIN_SEEDS
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import Environment, GameSpec
from oracle.store.cache import ResultCache
from strategies import AttackerStrategy, DefenderStrategy

#: Datta & Shadbolt, Table 1: accuracy w.r.t. poisoned labels at N = 1 and N = 100 (mean, std over attackers;
#: ResNet-18, the whole dataset, V_d = 0.2).
PAPER: dict[str, dict[int, tuple[float, float]]] = {
    "mnist": {1: (100.0, 0.0), 100: (27.5, 22.2)},
    "svhn": {1: (98.1, 0.0), 100: (12.3, 19.1)},
    "cifar10": {1: (89.8, 0.0), 100: (12.1, 14.0)},
    "stl10": {1: (100.0, 0.0), 100: (12.6, 15.4)},
}
BAR = 40  # characters for 100 %


def e1_specs(ns, dataset: str, n_images: int | None, architecture: str, preset: str, v_d: float, n_max: int,
             seeds, overrides: dict | None = None) -> list[GameSpec]:
    """One one-cell game per N: N attackers with independent random triggers and target labels (ε = p = 0.55)
    against ``architecture`` without a defense; shares sized on ``n_max`` (also used by benchmarks/gpu_suite.py)."""
    env = Environment(dataset=dataset, n_images=n_images, v_d=v_d, n_max=n_max, preset=preset,
                      preset_overrides=dict(overrides or {}))
    attackers = {"independent": AttackerStrategy.independent(eps=0.55, p=0.55)}
    defenders = {architecture: DefenderStrategy(architecture, "none", name=architecture)}
    return [GameSpec(name=f"backfiring-N{n}", environment=env, n_attackers=n, attackers=attackers,
                     defenders=defenders, seeds=tuple(seeds)) for n in ns]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 5, 20, 100], help="numbers of attackers N")
    ap.add_argument("--n-max", type=int, default=None, help="N_max, on which attacker shares are sized (default: max(100, largest N))")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--n-images", type=int, default=None, help="use a stratified subset of this many images")
    ap.add_argument("--architecture", default="smallcnn")
    ap.add_argument("--preset", default="fast", help="training preset: tiny, fast, paper, paper-cpu")
    ap.add_argument("--lr", type=float, default=None, help="the preset's peak learning rate instead of its own")
    ap.add_argument("--v-d", type=float, default=0.2, help="the defender's share V_d (default 0.2, E2's setting)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--cache", default=None, help="result cache file (default: the user's cache)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[3407, 3408, 3409])
    ap.add_argument("--figure", default=None, metavar="PNG", help="also draw attack success against N to this file")
    args = ap.parse_args()
    n_max = args.n_max or max(100, *args.ns)
    overrides = {"lr": args.lr} if args.lr is not None else {}
    cache = ResultCache(args.cache)
    specs = e1_specs(args.ns, args.dataset, args.n_images, args.architecture, args.preset, args.v_d, n_max,
                     args.seeds, overrides)
    subset = f"{args.n_images:,}-image subset" if args.n_images else "all images"
    lr = f" (lr {args.lr:g})" if args.lr is not None else ""
    print(f"Backfiring: {args.dataset} ({subset}), {args.architecture}, preset {args.preset}{lr}; V_d = {args.v_d:g}, N_max = {n_max}, "
          f"eps = p = 0.55, seeds {', '.join(map(str, args.seeds))}")
    print("Each of N attackers poisons its own share with its own random trigger and random target label.")
    floor = 100 / PayoffOracle(specs[0], cache=cache, device=args.device).dataset.num_classes
    paper = PAPER.get(args.dataset) if args.n_images is None else None  # the figure shows them for subsets too
    print()
    print(_header(len(args.seeds), paper), flush=True)
    rows = []
    for spec in specs:
        oracle = PayoffOracle(spec, cache=cache, device=args.device, progress=True)
        outcomes = [oracle.run(job) for job in oracle.jobs()]
        rows.append((spec.n_attackers, outcomes))
        print(_row(spec.n_attackers, outcomes, floor, paper), flush=True)
    print(_legend(len(args.seeds), floor, paper))
    if args.figure:
        _figure(rows, floor, args, args.figure)
        print(f"figure: {args.figure}")


def _header(seeds: int, paper: dict | None) -> str:
    return (f"{'N':>5}  {'attack success %':>16}  {'per seed':<{6 * seeds}} {'clean acc %':>11}  "
            f"{'0 %':<{BAR // 2}}{'100 %':>{BAR // 2}}" + ("  paper" if paper else ""))


def _row(n: int, outcomes, floor: float, paper: dict | None) -> str:
    """One N: attack success (mean ± sd over seeds, each seed, a bar), clean accuracy."""
    asr = np.array([o.attacker_payoff for o in outcomes]) * 100
    clean = np.mean([np.nanmean(o.clean_acc) for o in outcomes]) * 100
    sd = asr.std(ddof=1) if len(asr) > 1 else 0.0
    per_seed = " ".join(f"{v:5.1f}" for v in asr)
    return (f"{n:>5}  {asr.mean():>7.1f} ± {sd:>5.1f}   {per_seed:<{6 * len(asr)}} {clean:>11.1f}  {_bar(asr.mean(), floor)}"
            + (f"  {_paper_value(paper, n)}" if paper else ""))


def _paper_value(paper: dict, n: int) -> str:
    if n not in paper:
        return ""
    mean, sd = paper[n]
    return f"{mean:.1f}" + (f" ± {sd:.1f}" if sd else "")


def _legend(seeds: int, floor: float, paper: dict | None) -> str:
    lines = [f"1/|Y| = {floor:.1f} % (the '|' in the bars): the success of attackers whose triggers the model ignores.",
             "attack success: the mean over attackers of each one's accuracy w.r.t. its poisoned labels on its "
             f"triggered inputs; ±: standard deviation over the {seeds} seeds; clean acc: on clean inputs."]
    if paper:
        lines.append("paper: Datta & Shadbolt, Table 1 (ResNet-18 on the whole dataset; ± over attackers, one run).")
    if seeds < MIN_SEEDS:
        lines.append(f"({seeds} seeds, fewer than {MIN_SEEDS}: the spread is a rough one.)")
    return "\n".join(lines)


def _bar(value: float, floor: float) -> str:
    """A text bar of ``value`` percent, ``BAR`` characters for 100, with '|' at ``floor``."""
    cells = ["█" if k < round(value / 100 * BAR) else "·" for k in range(BAR)]
    cells[min(BAR - 1, round(floor / 100 * BAR))] = "|"
    return "".join(cells)


def _figure(rows, floor: float, args, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [n for n, _ in rows]
    asr = [np.array([o.attacker_payoff for o in outcomes]) * 100 for _, outcomes in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for n, values in zip(ns, asr):
        ax.scatter([n] * len(values), values, color="tab:blue", alpha=0.35, s=14)
    ax.errorbar(ns, [v.mean() for v in asr], yerr=[v.std(ddof=1) if len(v) > 1 else 0 for v in asr],
                color="tab:blue", marker="o", capsize=3, label=f"mean ± sd over {len(asr[0])} seeds")
    paper = PAPER.get(args.dataset, {})
    if paper:
        pn = sorted(paper)
        ax.errorbar(pn, [paper[n][0] for n in pn], yerr=[paper[n][1] for n in pn], color="black", marker="s",
                    linestyle="none", capsize=3, label="paper, Table 1 (± over attackers)")
    ax.axhline(floor, color="tab:red", linestyle="--", label="1/|Y|")
    ax.set_xscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_ylim(0, 105)
    ax.set_xlabel("number of attackers N")
    ax.set_ylabel("collective attack success (%)")
    size = f"{args.n_images:,} images" if args.n_images else "all images"
    ax.set_title(f"Backfiring: {args.dataset} ({size}), {args.architecture}, preset {args.preset}", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
