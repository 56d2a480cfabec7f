"""E3 (stylistic): attackers AdaIN-stylise their shares at train time, against α, for N = 1 and larger N.

    python examples/e3_stylistic.py --cache e3s.sqlite --json e3s.json       # CIFAR-10 3k, N = 1, 5, 20; 3 seeds
    python examples/e3_stylistic.py --ns 1 10 --seeds 3407 --alphas 0 1    # a smaller run

Datta & Shadbolt, E3, App. 6.2.4, Figure 9, Observations 1 and 2 ([E3:
{backdoor, stylized}]): every attacker backdoors its share (independent random
triggers and target labels, ε_b = p = 0.55) after stylising its whole
train-time share with AdaIN at strength α with its own style ("a distinct
(non-repeating) style for each attacker": ``style = "distinct"``, attacker i
the i-th of the ten shipped styles). Measured on its run-time inputs (not
stylised): run-time poison rate 1 (triggered) w.r.t. poisoned and clean
labels, and rate 0 (untriggered) w.r.t. clean labels; mean ± std over
attackers and seeds.

Every (N, α, seed) is one job of the payoff oracle (the game spec's
``AttackerStrategy(style="distinct", style_alpha=α)``), kept in the SQLite
cache ``--cache``, so a killed run resumes where it stopped. α = 0 has the
key of the plain backdoor (no stylisation).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from e3_adversarial import METRICS, plot, summarise  # this folder: the same metrics, table and figure
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import spec_from_dict
from oracle.store.cache import ResultCache



def game(n: int, args) -> dict:
    """The game of N = ``n`` attackers: one attacker strategy per α, one defender."""
    attackers = [{"name": f"alpha={a:g}", "eps": args.eps_b, "p": args.eps_b, "labels": {"kind": "random"},
                  **({"style": args.style, "style_alpha": a} if a > 0 else {})} for a in args.alphas]
    return {"game": {"name": f"e3-stylistic-n{n}", "n_attackers": n, "seeds": args.seeds},
            "environment": {"dataset": args.dataset, "n_images": args.n_images, "v_d": args.v_d, "n_max": args.n_max,
                            "preset": args.preset,
                            "preset_overrides": {"max_epochs": args.epochs, "batch_size": args.batch_size}},
            "attackers": attackers, "defenders": [{"name": "victim", "architecture": args.architecture}]}


def measure(args) -> list[dict]:
    """Every (seed, N, α) job, from the cache or trained here; one record each."""
    cache = ResultCache(args.cache)
    records = []
    for seed in args.seeds:
        for n in sorted(set(args.ns)):
            oracle = PayoffOracle(spec_from_dict(game(n, args), where=f"N = {n}"), cache=cache)
            for alpha, job in zip(args.alphas, oracle.jobs(seeds=[seed])):
                t0 = time.perf_counter()
                out = oracle.run(job)
                rec = {"n": n, "seed": seed, "alpha": alpha, "val_acc": out.defender_val_acc,
                       "seconds": sum(out.timings.values()), **{k: list(getattr(out, k)) for k, _ in METRICS}}
                records.append(rec)
                print(f"seed {seed}, N = {n}, α = {alpha:g}: val acc {out.defender_val_acc:.3f}, "
                      f"ASR {np.mean(rec['asr']):.3f}, clean-label {np.mean(rec['clean_label_acc']):.3f}, "
                      f"rate-0 {np.nanmean(rec['clean_acc']):.3f} ({out.timings.get('poison', 0):.0f} s poison + "
                      f"{out.timings.get('train', 0):.0f} s train; {time.perf_counter() - t0:.0f} s here)", flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(records))
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--n-max", type=int, default=20)
    ap.add_argument("--seeds", type=int, nargs="+", default=[3407, 3408, 3409])
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--style", default="distinct", help="a style of strategies.STYLES, or 'distinct'")
    ap.add_argument("--eps-b", type=float, default=0.55, help="the backdoor's ε and p (ε_b = p)")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--n-images", type=int, default=3000)
    ap.add_argument("--v-d", type=float, default=0.1)
    ap.add_argument("--architecture", default="smallcnn")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--cache", default="e3_stylistic.sqlite")
    ap.add_argument("--figure", default="docs/figures/e3_stylistic.png")
    ap.add_argument("--json", default=None, help="write every record here (rewritten as jobs finish)")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    records = measure(args)
    ns, alphas = sorted(set(args.ns)), list(args.alphas)
    summary = summarise(records, ns, alphas, x_key="alpha")
    for key, label in METRICS:
        print(f"\n{label}")
        print(f"{'N':>5} " + " ".join(f"{'α=' + format(a, 'g'):>14}" for a in alphas))
        for n in ns:
            print(f"{n:>5} " + " ".join(f"{summary[key][n][a][0]:>7.3f} ± {summary[key][n][a][1]:<4.2f}"
                                        for a in alphas))
    title = (f"E3 stylistic (AdaIN, adain-cifar-substitute, style {args.style}): {args.dataset} {args.n_images} images, "
             f"{args.architecture}, {args.preset} preset ({args.epochs} epochs, batch {args.batch_size}), "
             f"V_d = {args.v_d}, N_max = {args.n_max}, ε_b = p = {args.eps_b}, seeds {', '.join(map(str, args.seeds))}")
    plot(summary, ns, alphas, Path(args.figure), title, xlabel="α  (AdaIN stylisation strength)")
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
