"""Which parts of the victim recipe decide whether five backdoors are learned?

    OMP_NUM_THREADS=1 python examples/victim_ablation.py --until 09:10        # as much as fits, resumes
    python examples/victim_ablation.py --report-only --markdown               # the table from the cache

Datta & Shadbolt, Table 3 (CIFAR-10, N = 5 attackers, Random-BadNet triggers,
ε = p = 0.55, real poison rate 0.005): the paper's ResNet-18 learns almost
none of the five backdoors when the attackers' target labels differ (0%
label overlap: 6.4) and most of them when all five pick label 4 (100%
overlap: 91.9). The games measured with our CPU victim (SmallCNN, the
``tiny`` preset) learn far more at 0% overlap. This study varies one factor
of the victim recipe at a time, from two starting points, and measures the
collective attack success (accuracy w.r.t. poisoned labels, mean over the
five attackers) at 0% and at 100% label overlap:

* ``ours``: the ``tiny`` preset (SGD, Nesterov, one-cycle lr 0.1, batch 32,
  12 epochs, label smoothing 0.1, random flips, no early stopping) and
  SmallCNN;
* ``paper``: the ``paper`` preset (SGD lr 0.001 constant, momentum 0.9,
  batch 128, no augmentation, early stopping on the validation loss with
  patience 5, best weights restored; the validation set is 20% of the pooled
  data, so it holds poisoned inputs with their poisoned labels, as in the
  paper) with SmallCNN instead of ResNet-18 (a ResNet-18 epoch on this
  subset costs about 3 CPU minutes) and at most 40 epochs instead of 200.

The preset field ``validation`` says what the validation set holds: the
paper's ``"poisoned"`` (the default) or ``"clean"`` (the same split without
its poisoned inputs); the ``*-clean-val`` settings early-stop on the latter.

Every setting is a one-cell game per overlap measured by the payoff oracle
(``oracle.PayoffOracle``), so every victim is cached and the study resumes
where it stopped. Settings run seed by seed (all settings at seed 3407, then
3408, ...) so that an interrupted study has the same seeds for every setting
it reached; ``--until HH:MM`` stops starting new victims at that wall-clock
time.

Environment: CIFAR-10 (the JPEG re-encoding), a class-stratified subset of
``n_images`` (6,000 unless the setting varies it), V_d = 0.5, N_max = 55,
so each attacker's real poison rate is 0.5 · 0.55 / 55 = 0.005
(``examples/games/table6_cpu.toml``). Labels: 0% overlap = targets 0, 2, 4,
6, 8; 100% overlap = all target 4 (Table 3's blocks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from oracle.store.cache import ResultCache
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import Environment, GameSpec
from strategies import AttackerStrategy, DefenderStrategy

#: The attacker strategies: Table 3's ε = p = 0.55 blocks.
OVERLAPS = {
    "0%": AttackerStrategy.fixed_labels([0, 2, 4, 6, 8], eps=0.55, p=0.55, name="0% overlap"),
    "100%": AttackerStrategy.coordinate_label(label=4, fraction=1.0, eps=0.55, p=0.55, name="100% overlap"),
}

#: Table 3, ε = p = 0.55, No Defense: collective accuracy w.r.t. poisoned labels.
PAPER = {"0%": 6.4, "100%": 91.9}

#: The paper's recipe as far as the CPU allows: SmallCNN, at most 40 epochs.
PAPER_CPU = {"max_epochs": 40}


@dataclass(frozen=True)
class Setting:
    """One victim recipe: a base preset with overrides, an architecture, a data size."""

    name: str
    base: str  # "ours" or "paper"
    factor: str
    overrides: dict[str, Any] = field(default_factory=dict)
    architecture: str = "smallcnn"
    n_images: int = 6000

    def environment(self) -> Environment:
        preset = "tiny" if self.base == "ours" else "paper"
        over = {**(PAPER_CPU if self.base == "paper" else {}), **self.overrides}
        return Environment(dataset="cifar10", n_images=self.n_images, v_d=0.5, n_max=55, preset=preset,
                           preset_overrides=over)


PAPER_OPTIMISER = {"lr": 0.001, "schedule": "constant", "nesterov": False, "weight_decay": 0.0, "warmup_fraction": 0.0}
OUR_OPTIMISER = {"lr": 0.1, "schedule": "onecycle", "nesterov": True, "weight_decay": 5e-4, "warmup_fraction": 0.2}

#: In priority order (``--until`` cuts the tail): the two baselines and the
#: optimiser/early-stopping swaps first, then the other factors, then the
#: batch-norm architectures, which cost most: a training step of batch 32 on
#: one core takes about 4.5 (ResNet-20), 15.6 (VGG-11-BN) and 32 (ResNet-9)
#: CPU-ms per image (SmallCNN: 0.5), about 4, 13 and 28 CPU-minutes per victim
#: with the ``tiny`` preset (1,608 steps). ResNet-18 is left out (68 ms per image).
SETTINGS: tuple[Setting, ...] = (
    Setting("ours", "ours", "baseline (tiny preset, SmallCNN)"),
    Setting("paper", "paper", "baseline (paper preset, SmallCNN, <= 40 epochs)"),
    Setting("ours+paper-opt", "ours", "optimiser: SGD lr 0.001 constant, no Nesterov, no weight decay",
            PAPER_OPTIMISER),
    Setting("paper+our-opt", "paper", "optimiser: SGD Nesterov one-cycle lr 0.1, weight decay 5e-4",
            OUR_OPTIMISER),
    Setting("ours+early-stop", "ours", "early stopping: patience 2 on the (poisoned) validation loss",
            {"patience": 2}),
    Setting("paper-clean-val", "paper", "validation set: the split without its poisoned inputs",
            {"validation": "clean"}),
    Setting("ours+early-stop-clean-val", "ours", "early stopping: patience 2 on a clean validation loss",
            {"patience": 2, "validation": "clean"}),
    Setting("paper-lr0.01", "paper", "learning rate: 0.01 constant (10x the paper's)", {"lr": 0.01}),
    Setting("paper-batch32", "paper", "batch size 32: 4x the steps per epoch", {"batch_size": 32}),
    Setting("ours-30-epochs", "ours", "epochs: 30", {"max_epochs": 30}),
    Setting("ours-lenet", "ours", "architecture: LeNet", architecture="lenet"),
    Setting("ours-12k", "ours", "data size: 12,000 images", n_images=12000),
    Setting("ours-4-epochs", "ours", "epochs: 4", {"max_epochs": 4}),
    Setting("ours-no-flip", "ours", "augmentation: no flips", {"flip": False}),
    Setting("ours-lr0.01", "ours", "learning rate: one-cycle peak 0.01", {"lr": 0.01}),
    Setting("ours-constant-lr", "ours", "schedule: constant lr 0.1", {"schedule": "constant"}),
    Setting("ours-no-smoothing", "ours", "label smoothing 0", {"label_smoothing": 0.0}),
    Setting("paper-no-early-stop", "paper", "early stopping off: 30 epochs, the final weights",
            {"patience": None, "max_epochs": 30}),
    Setting("paper+flip", "paper", "augmentation: random flips", {"flip": True}),
    Setting("ours-resnet20", "ours", "architecture: ResNet-20 (He et al., CIFAR; batch norm, residual)",
            architecture="resnet20"),
    Setting("paper-resnet20", "paper", "architecture: ResNet-20 (batch norm, residual)", architecture="resnet20"),
    Setting("ours-vgg11bn", "ours", "architecture: VGG-11 with batch norm", architecture="vgg11-bn"),
    Setting("ours-resnet9", "ours", "architecture: ResNet-9 (batch norm, residual)", architecture="resnet9"),
)


def spec_for(setting: Setting, overlap: str, seeds: tuple[int, ...]) -> GameSpec:
    arch = setting.architecture
    return GameSpec(name=f"ablation-{setting.name}-{overlap}", environment=setting.environment(), n_attackers=5,
                    attackers={overlap: OVERLAPS[overlap]},
                    defenders={arch: DefenderStrategy(arch, "none", name=arch)}, seeds=seeds)


def run(settings: list[Setting], seeds: list[int], cache: ResultCache, until: dt.datetime | None,
        overlaps: list[str]) -> None:
    """Train every missing victim, seed by seed, until the deadline."""
    for seed in seeds:
        for s in settings:
            for overlap in overlaps:
                oracle = PayoffOracle(spec_for(s, overlap, (seed,)), cache=cache, progress=False)
                (job,) = oracle.jobs()
                if oracle.cached(job) is not None:
                    continue
                if until is not None and dt.datetime.now() >= until:
                    print(f"--until {until:%H:%M} reached; stopping (rerun to resume)", flush=True)
                    return
                t0 = time.perf_counter()
                o = oracle.run(job)
                print(f"{s.name:<22} {overlap:>4} seed {seed}: collective ASR {100 * np.mean(o.asr):5.1f}, "
                      f"val acc {100 * o.defender_val_acc:4.1f}, {o.extra.get('epochs')} epochs, "
                      f"{time.perf_counter() - t0:5.0f} s", flush=True)


def interval(values: np.ndarray) -> tuple[float, float]:
    """95% Student-t interval of the mean; NaN bounds for fewer than two values
    (the table clips it to [0, 100], the range of an attack success)."""
    if len(values) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def _cached(setting: Setting, overlap: str, seeds: list[int], cache: ResultCache) -> list:
    """The cached outcomes of one setting and overlap, over the given seeds."""
    oracle = PayoffOracle(spec_for(setting, overlap, tuple(seeds)), cache=cache, progress=False)
    return [o for o in (oracle.cached(j) for j in oracle.jobs()) if o is not None]


def summarise(setting: Setting, overlap: str, seeds: list[int], cache: ResultCache) -> dict[str, Any] | None:
    """The cached victims of one setting and overlap, over the given seeds."""
    outs = _cached(setting, overlap, seeds, cache)
    if not outs:
        return None
    coll = np.array([100 * np.mean(o.asr) for o in outs])
    lo, hi = interval(coll)
    return {
        "n": len(outs), "seeds": sorted(o.seed for o in outs), "mean": coll.mean(),
        "std": coll.std(ddof=1) if len(coll) > 1 else float("nan"), "lo": lo, "hi": hi,
        "spread": np.mean([100 * np.std(o.asr) for o in outs]),
        "learned": np.mean([np.sum(np.asarray(o.asr) >= 0.5) for o in outs]),
        "clean": np.mean([100 * np.mean(o.clean_acc) for o in outs]),
        "val": np.mean([100 * o.defender_val_acc for o in outs]),
        "epochs": np.mean([o.extra.get("epochs", np.nan) for o in outs]),
        "minutes": np.mean([sum(o.timings.values()) / 60 for o in outs]),
    }


def fmt(x: float, digits: int = 1) -> str:
    return "–" if not np.isfinite(x) else f"{x:.{digits}f}"


def report(settings: list[Setting], seeds: list[int], cache: ResultCache, markdown: bool) -> None:
    head = ["setting", "factor", "overlap", "seeds", "collective ASR, mean ± std", "95% interval",
            "spread over attackers", "backdoors ≥ 50%", "clean acc", "val acc", "epochs", "min/victim", "paper"]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    for s in settings:
        for overlap in OVERLAPS:
            r = summarise(s, overlap, seeds, cache)
            if r is None:
                continue
            row = [s.name, s.factor, overlap, str(r["n"]), f"{fmt(r['mean'])} ± {fmt(r['std'])}",
                   f"[{fmt(max(r['lo'], 0.0))}, {fmt(min(r['hi'], 100.0))}]", fmt(r["spread"]), fmt(r["learned"]), fmt(r["clean"]),
                   fmt(r["val"]),
                   fmt(r["epochs"]), fmt(r["minutes"], 2), f"{PAPER[overlap]} (ResNet-18)"]
            print(("| " + " | ".join(row) + " |") if markdown else "  ".join(row), flush=True)


def figure(settings: list[Setting], seeds: list[int], cache: ResultCache, path: str) -> None:
    """Collective ASR per setting at 0% and 100% overlap: seeds as dots, the mean
    as a bar, the 95% interval as a line; Table 3's ResNet-18 values dashed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [(s, {ov: summarise(s, ov, seeds, cache) for ov in OVERLAPS}) for s in settings]
    rows = [(s, r) for s, r in rows if any(v is not None for v in r.values())]
    fig = Figure(figsize=(7.0, 0.45 * len(rows) + 1.4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = {"0%": "tab:blue", "100%": "tab:orange"}
    labelled: set[str] = set()
    for k, (s, r) in enumerate(rows):
        for j, ov in enumerate(OVERLAPS):
            y, v = k + (j - 0.5) * 0.38, r[ov]
            if v is None:  # this overlap not measured yet
                continue
            ax.barh(y, v["mean"], height=0.36, color=colours[ov], alpha=0.45,
                    label=f"{ov} label overlap" if ov not in labelled else None)
            labelled.add(ov)
            if np.isfinite(v["lo"]):
                ax.plot([max(v["lo"], 0), min(v["hi"], 100)], [y, y], color="black", lw=1)
            per_seed = _collective(s, ov, seeds, cache)
            ax.plot(per_seed, np.full(len(per_seed), y), "k.", ms=3)
    for ov, x in PAPER.items():
        ax.axvline(x, color=colours[ov], ls="--", lw=1, label=f"paper, {ov} (ResNet-18, Table 3)")
    ax.set_yticks(range(len(rows)), [s.name for s, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 102)
    ax.set_xlabel("collective attack success (%), N = 5, CIFAR-10 6,000-image subset")
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    fig.tight_layout()
    fig.savefig(path)


def scatter(settings: list[Setting], seeds: list[int], cache: ResultCache, path: str) -> None:
    """Every cached victim at 0% label overlap as a dot: its validation accuracy against its collective ASR,
    coloured by architecture, hollow for the ``paper`` base recipe; Table 3's ResNet-18 as a star (its
    validation accuracy is the clean accuracy Table 1 reports for CIFAR-10, about 92%)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = dict(zip(dict.fromkeys(s.architecture for s in settings), ("tab:blue", "tab:green", "tab:red",
                                                                        "tab:purple", "tab:brown", "tab:olive")))
    labelled: set[tuple[str, str]] = set()
    for s in settings:
        outs = _cached(s, "0%", seeds, cache)
        for o in outs:
            key = (s.architecture, s.base)
            ax.plot(100 * o.defender_val_acc, 100 * float(np.mean(o.asr)), "o", ms=5, alpha=0.8,
                    color=colours[s.architecture], mfc="none" if s.base == "paper" else colours[s.architecture],
                    label=f"{s.architecture}, {s.base} recipe" if key not in labelled else None)
            labelled.add(key)
    ax.plot(92.0, PAPER["0%"], "k*", ms=12, label="paper, ResNet-18 (Table 3)")
    ax.axhline(10, color="grey", ls=":", lw=1, label="1/|Y|")
    ax.set_xlabel("validation accuracy (%)")
    ax.set_ylabel("collective attack success (%)")
    ax.set_title("N = 5 random backdoors, 0% label overlap: one dot a victim", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_ylim(-3, 103)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)


def _collective(setting: Setting, overlap: str, seeds: list[int], cache: ResultCache) -> list[float]:
    return [100 * float(np.mean(o.asr)) for o in _cached(setting, overlap, seeds, cache)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", nargs="+", default=None, help="names of settings (default: all, in order)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[3407, 3408, 3409])
    ap.add_argument("--overlaps", nargs="+", choices=list(OVERLAPS), default=list(OVERLAPS),
                    help="train only these label overlaps (default: both)")
    ap.add_argument("--until", default=None, help="HH:MM: start no new victim after this wall-clock time")
    ap.add_argument("--cache", default=None, help="result cache file (default: the user's cache)")
    ap.add_argument("--report-only", action="store_true", help="train nothing; print the table from the cache")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--figure", default=None, help="also write the figure to this file (e.g. a .png)")
    ap.add_argument("--scatter", default=None, help="also draw every 0%%-overlap victim's validation accuracy "
                                                     "against its attack success to this file")
    args = ap.parse_args()
    known = {s.name: s for s in SETTINGS}
    unknown = sorted(set(args.settings or ()) - set(known))
    if unknown:
        ap.error(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    settings = [known[n] for n in args.settings] if args.settings else list(SETTINGS)
    until = None
    if args.until:
        try:
            hh, mm = (int(v) for v in args.until.split(":"))
            until = dt.datetime.now().replace(hour=hh, minute=mm, second=0, microsecond=0)
        except ValueError:
            ap.error(f"--until {args.until!r} is not a time HH:MM (e.g. 09:10)")
    cache = ResultCache(args.cache)
    if not args.report_only:
        run(settings, args.seeds, cache, until, args.overlaps)
    report(settings, args.seeds, cache, args.markdown)
    if args.figure:
        figure(settings, args.seeds, cache, args.figure)
    if args.scatter:
        scatter(settings, args.seeds, cache, args.scatter)


if __name__ == "__main__":
    main()
