"""E3 (adversarial): backdoored at train time, FGSM at run time, against ε_a, for N = 1 and a larger N.

    python examples/e3_adversarial.py                     # MNIST 8k subset, N = 1, 5, 3 seeds (CPU: ~20 min)
    python examples/e3_adversarial.py --ns 1 10 --seeds 3407 --eps-a 0 0.5 1
    python examples/e3_adversarial.py --ns 1 10 50 100 --n-max 100 --n-images 10000 --batch-size 128 \
        --epochs 12 --json e3.json --resume        # backfiring sizes (docs/reproduction.md, "FGSM at larger N")

Datta & Shadbolt, E3, App. 6.2.4, Figures 7 and 9, Observations 1 and 3:
every attacker backdoors its share (independent random triggers and target
labels, ε_b = p = 0.55) and at run time perturbs its run-time inputs with
FGSM at ε'_a = 0.1 · ε_a on its own surrogate (the defender's architecture
and training scheme, trained on its own train-time share with its backdoored
inputs, never on the joint data). Run-time poison rate 1: the inputs carry
the attacker's trigger; 0: they do not. Reported per (N, ε_a): accuracy
w.r.t. poisoned labels (rate 1: the backdoor's success) and w.r.t. clean
labels (rate 1 and rate 0; at rate 0 poisoned labels are the clean labels),
mean ± std over attackers and seeds.

The victim does not depend on ε_a, so it is trained once per (N, seed) and
measured for every ε_a; each attacker's surrogate is trained once per seed
and kept as safetensors under ``$BACKFIRE_CACHE/surrogates`` (it does not
depend on N either: an attacker slot's share is the same for every N). A
game offers the same thing as an attacker strategy
(``AttackerStrategy(..., shift="fgsm", shift_eps=ε_a)``), measured by the
payoff oracle.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from oracle.attacks.fgsm import SurrogateCache, shifted_runtime
from oracle.data.datasets import load_dataset, subset_of_whole
from oracle.data.poison import build_joint_dataset
from oracle.victims.metrics import attacker_metrics
from oracle.victims.presets import get_preset
from oracle.victims.inference import predict
from oracle.victims.train import train_victim
from strategies import AttackerStrategy

METRICS = (("asr", "acc w.r.t. poisoned labels, run-time poison rate 1"),
           ("clean_label_acc", "acc w.r.t. clean labels, run-time poison rate 1"),
           ("clean_acc", "acc w.r.t. clean (= poisoned) labels, run-time poison rate 0"))


def measure(ds, n: int, seed: int, args, preset) -> list[dict]:
    """One victim for (N, seed), measured at every ε_a: one record per ε_a with per-attacker metrics."""
    strategy = AttackerStrategy.independent(eps=args.eps_b, p=args.eps_b, shift="fgsm", shift_eps=1.0)
    joint = build_joint_dataset(ds, strategy.expand(n, ds.num_classes), n_max=args.n_max, v_d=args.v_d,
                                seed=seed)
    t0, c0 = time.perf_counter(), time.process_time()
    victim = train_victim(args.architecture, joint.x_train, joint.y_train, joint.x_val, joint.y_val,
                          num_classes=ds.num_classes, dataset=ds.name, preset=preset, seed=seed, device="cpu")
    root = Path(os.environ.get("BACKFIRE_CACHE") or Path.home() / ".cache" / "backfire")
    surrogates = SurrogateCache(root / "surrogates", args.architecture, ds.name, ds.num_classes, preset,
                                seed=seed, device="cpu")
    out = []
    for eps_a in args.eps_a:
        rt_x, rt_clean = shifted_runtime(joint, surrogates, shift_eps=eps_a)
        m = attacker_metrics(predict(victim.model, rt_x, dataset=ds.name),
                             predict(victim.model, rt_clean, dataset=ds.name),
                             joint.runtime_y, joint.runtime_target, joint.runtime_owner, n)
        out.append({"n": n, "seed": seed, "eps_a": eps_a, "val_acc": victim.val_acc,
                    **{k: np.asarray(m[k], float).tolist() for k, _ in METRICS}})
    # the surrogates' own accuracy on their attackers' untriggered run-time inputs (how good a proxy they are)
    surrogate_acc = []
    for i in range(n):
        rows = np.flatnonzero(joint.runtime_owner == i)
        model = surrogates.model(*joint.private_share(i))
        surrogate_acc.append(float(np.mean(predict(model, joint.runtime_x_clean[rows], dataset=ds.name)
                                           == joint.runtime_y[rows])))
    for r in out:
        r["surrogate_clean_acc"] = surrogate_acc
        r["seconds"] = time.perf_counter() - t0
        r["cpu_seconds"] = time.process_time() - c0
    return out


def summarise(records: list[dict], ns: list[int], xs: list[float], x_key: str = "eps_a") -> dict:
    """Per metric, N and x (``records[x_key]``): mean and std over attackers and seeds (pooled), and
    each seed's mean over attackers."""
    out: dict = {}
    for key, _ in METRICS:
        for n in ns:
            for x in xs:
                rs = [r for r in records if r["n"] == n and r[x_key] == x]
                vals = [v for r in rs for v in r[key]]
                out.setdefault(key, {}).setdefault(n, {})[x] = (float(np.nanmean(vals)), float(np.nanstd(vals)),
                                                               [float(np.nanmean(r[key])) for r in rs])
    return out


def plot(summary: dict, ns: list[int], eps_a: list[float], path: Path, title: str,
         xlabel: str = "ε_a  (FGSM radius 0.1·ε_a)") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 3.4), sharey=True)
    for ax, (key, label) in zip(axes, METRICS):
        for n in ns:
            mean = np.array([summary[key][n][e][0] for e in eps_a])
            std = np.array([summary[key][n][e][1] for e in eps_a])
            ax.plot(eps_a, mean, marker="o", label=f"N = {n}")
            ax.fill_between(eps_a, mean - std, mean + std, alpha=0.2)
        ax.axhline(0.1, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(xlabel)
        ax.set_title(label, fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("accuracy (mean ± std over attackers and seeds)")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 5])
    ap.add_argument("--seeds", type=int, nargs="+", default=[3407, 3408, 3409])
    ap.add_argument("--eps-a", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--eps-b", type=float, default=0.55, help="the backdoor's ε and p (ε_b = p)")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--n-images", type=int, default=8000)
    ap.add_argument("--v-d", type=float, default=0.1)
    ap.add_argument("--n-max", type=int, default=None,
                    help="N_max, which sizes every attacker's share (default: the largest of --ns)")
    ap.add_argument("--architecture", default="smallcnn")
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--figure", default="docs/figures/e3_adversarial.png")
    ap.add_argument("--json", default=None, help="write every record here (appended to as runs finish)")
    ap.add_argument("--resume", action="store_true",
                    help="keep the records already in --json and skip their (N, seed) victims (a killed run resumes; "
                         "the file must come from the same settings)")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ds = subset_of_whole(load_dataset(args.dataset), args.n_images)
    preset = get_preset(args.preset, max_epochs=args.epochs, batch_size=args.batch_size)
    ns, eps_a = sorted(set(args.ns)), list(args.eps_a)
    args.n_max = max(ns) if args.n_max is None else args.n_max
    if args.n_max < max(ns):
        ap.error(f"--n-max {args.n_max} is below the largest N ({max(ns)}); allowed: N_max >= every N")
    records: list[dict] = []
    if args.resume:
        if not args.json:
            ap.error("--resume needs --json (the file of records to resume from)")
        if Path(args.json).exists():
            records = [r for r in json.loads(Path(args.json).read_text())
                       if r["n"] in ns and r["seed"] in args.seeds and r["eps_a"] in eps_a]
    done = {(r["n"], r["seed"]) for r in records}
    for seed in args.seeds:
        for n in ns:
            if (n, seed) in done:
                continue
            rs = measure(ds, n, seed, args, preset)
            records.extend(rs)
            print(f"seed {seed}, N = {n}: val acc {rs[0]['val_acc']:.3f}, surrogate acc "
                  f"{np.mean(rs[0]['surrogate_clean_acc']):.3f}, {rs[0]['seconds']:.0f} s; " + "; ".join(
                      f"ε_a={r['eps_a']:g}: ASR {np.mean(r['asr']):.3f} clean-label {np.mean(r['clean_label_acc']):.3f}"
                      f" rate-0 {np.nanmean(r['clean_acc']):.3f}" for r in rs), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(records))
    summary = summarise(records, ns, eps_a)
    for key, label in METRICS:
        print(f"\n{label}")
        print(f"{'N':>5} " + " ".join(f"{'ε_a=' + format(e, 'g'):>14}" for e in eps_a))
        for n in ns:
            print(f"{n:>5} " + " ".join(f"{summary[key][n][e][0]:>7.3f} ± {summary[key][n][e][1]:<4.2f}"
                                        for e in eps_a))
    title = (f"E3 adversarial: {ds.description}, {args.architecture}, {preset.name} preset ({args.epochs} epochs, "
             f"batch {args.batch_size}), V_d = {args.v_d}, N_max = {args.n_max}, ε_b = p = {args.eps_b}, "
             f"seeds {', '.join(map(str, args.seeds))}")
    plot(summary, ns, eps_a, Path(args.figure), title)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
