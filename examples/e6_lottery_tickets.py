"""E6: lottery tickets of SmallCNN victims for several N, and how far apart their parameters are.

    python examples/e6_lottery_tickets.py                     # MNIST 10k subset, N = 1, 10, 100, 1000 (CPU: ~1 h)
    python examples/e6_lottery_tickets.py --ns 1 10 100 --rounds 3 --epochs 4 --n-images 4000   # quicker

Datta & Shadbolt, App. 6.2.7 and Figure 8: SmallCNNs trained from one shared
random initialisation on the joint datasets of N = 1, 10, 100, 1000
independent attackers (ε = p = 0.55, V_d = 0.1, shares sized on N_max = 1000:
real poison rate 0.0005 per attacker), each pruned by iterative magnitude
pruning (Frankle & Carbin) to a lottery ticket of 0.8 % of its parameters;
then the per-layer cosine distance between N's of (i) the dense network's
parameters, (ii) the ticket's mask (0/1) and the mask applied to the dense
network ("mask against the DNN"), (iii) the ticket's trained parameters.
Observation 4: the weights for N = 1 are far from those for N > 1, and those
for N > 1 close to each other.

Every N uses the same seed: the same θ_0, the same allocation, the same batch
order; only the attackers differ. Tickets are kept as safetensors under
``$BACKFIRE_CACHE/e6/`` (keyed by everything that changes them), so a rerun
only redraws the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from oracle.data.datasets import load_dataset, subset_of_whole
from oracle.data.poison import build_joint_dataset
from oracle.store.keys import content_key
from oracle.victims.metrics import attacker_metrics
from oracle.victims.models import build_model
from oracle.victims.presets import TRAINER_VERSION, get_preset
from oracle.victims.pruning import (
    LotteryTicket,
    distance_matrices,
    half_up_changes,
    iterative_magnitude_pruning,
    mean_offdiagonal,
)
from oracle.victims.inference import predict
from oracle.victims.train import train_victim
from strategies import AttackerStrategy

KINDS = ("full", "mask", "masked_full", "ticket")
TITLES = {"full": "(i) full network", "mask": "(ii) ticket mask (0/1)",
          "masked_full": "(ii') mask ⊙ full network", "ticket": "(iii) ticket parameters"}


def _cache_dir() -> Path:
    root = os.environ.get("BACKFIRE_CACHE") or Path.home() / ".cache" / "backfire"
    return Path(root) / "e6"


def ticket_for(ds, n: int, args, preset) -> tuple[dict[str, dict[str, torch.Tensor]], dict]:
    """The IMP result for N = ``n`` (from the cache, or trained and stored), as tensors plus a JSON record."""
    from safetensors.torch import load_file, save_file

    config = {"experiment": "e6", "dataset": ds.description, "fingerprint": ds.fingerprint(), "n": n,
              "n_max": max(args.ns), "v_d": args.v_d, "eps": args.eps, "p": args.p, "seed": args.seed,
              "preset": preset.to_dict(), "trainer_version": TRAINER_VERSION, "target": args.target,
              "rounds": args.rounds, "architecture": "smallcnn"}
    model = build_model("smallcnn", ds.shape[2], ds.num_classes, ds.shape[0], seed=args.seed)
    if half_up_changes(model, args.target, args.rounds):
        config["kept_count"] = "half-up"  # a tie that banker's rounding (before) kept differently: a new key
    path = _cache_dir() / f"{content_key(config)[:32]}.safetensors"
    if path.exists():
        flat = load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), "pt") as f:
            record = json.loads(f.metadata()["record"])
        return {k: {n_[len(k) + 1:]: v for n_, v in flat.items() if n_.startswith(k + "/")}
                for k in ("init", "full", "mask", "ticket")}, record
    actions = AttackerStrategy.independent(eps=args.eps, p=args.p).expand(n, ds.num_classes)
    joint = build_joint_dataset(ds, actions, n_max=max(args.ns), v_d=args.v_d, seed=args.seed)
    h, c = joint.image_shape[0], joint.image_shape[2]
    init = build_model("smallcnn", c, ds.num_classes, h, seed=args.seed).state_dict()

    def train(init_model):
        return train_victim("smallcnn", joint.x_train, joint.y_train, joint.x_val, joint.y_val,
                            num_classes=ds.num_classes, dataset=ds.name, preset=preset, seed=args.seed,
                            device="cpu", init_model=init_model)

    t0 = time.perf_counter()
    t: LotteryTicket = iterative_magnitude_pruning(train, init, target=args.target, rounds=args.rounds)
    record = {"n": n, "survivors": t.survivors, "total": t.total, "sparsity": t.sparsity, "rounds": t.rounds,
              "seconds": time.perf_counter() - t0, "poisoned_train": int(joint.poisoned_train.sum()),
              "n_train": int(joint.y_train.size)}
    for label, model in zip(("dense", "ticket"), t.models):
        m = attacker_metrics(predict(model, joint.runtime_x, dataset=ds.name),
                             predict(model, joint.runtime_x_clean, dataset=ds.name),
                             joint.runtime_y, joint.runtime_target, joint.runtime_owner, n)
        record[label] = {"asr": float(np.mean(m["asr"])), "clean_label_acc": float(np.mean(m["clean_label_acc"])),
                         "clean_acc": float(np.nanmean(m["clean_acc"]))}
    parts = {"init": t.init, "full": t.full, "mask": t.mask, "ticket": t.ticket}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({f"{k}/{name}": v.contiguous() for k, d in parts.items() for name, v in d.items()}, str(path),
              {"record": json.dumps(record)})
    return parts, record


def noise_floor(ds, args, preset, full_n1: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per tensor, the cosine distance between the dense N = 1 network and a rerun of it from the same θ_0 on
    the same data with another batch order (training seed + 1): what training noise alone moves."""
    from oracle.victims.pruning import cosine_distance, effective_parameters

    actions = AttackerStrategy.independent(eps=args.eps, p=args.p).expand(1, ds.num_classes)
    joint = build_joint_dataset(ds, actions, n_max=max(args.ns), v_d=args.v_d, seed=args.seed)
    h, c = joint.image_shape[0], joint.image_shape[2]
    init = build_model("smallcnn", c, ds.num_classes, h, seed=args.seed).state_dict()
    rerun = train_victim("smallcnn", joint.x_train, joint.y_train, joint.x_val, joint.y_val,
                         num_classes=ds.num_classes, dataset=ds.name, preset=preset, seed=args.seed + 1,
                         device="cpu", init_model=lambda m: m.load_state_dict(init))
    other = effective_parameters(rerun.model)
    return {name: cosine_distance(full_n1[name], other[name]) for name in full_n1}


def matrices(parts_by_n: list[dict[str, dict[str, torch.Tensor]]]) -> dict[str, dict[str, np.ndarray]]:
    """Per kind (:data:`KINDS`), per parameter, the N × N cosine distances."""
    states = {
        "full": [p["full"] for p in parts_by_n],
        "mask": [p["mask"] for p in parts_by_n],
        "masked_full": [{k: p["full"][k] * p["mask"][k] for k in p["full"]} for p in parts_by_n],
        "ticket": [p["ticket"] for p in parts_by_n],
    }
    return {kind: distance_matrices(s) for kind, s in states.items()}


def plot(d: dict[str, dict[str, np.ndarray]], ns: list[int], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(d["full"])
    fig, axes = plt.subplots(len(KINDS), len(names), figsize=(1.9 * len(names), 2.0 * len(KINDS)), squeeze=False)
    vmax = max(float(m.max()) for per in d.values() for m in per.values()) or 1.0
    for r, kind in enumerate(KINDS):
        for c, name in enumerate(names):
            ax = axes[r][c]
            m = d[kind][name]
            ax.imshow(m, vmin=0, vmax=vmax, cmap="viridis")
            for i in range(len(ns)):
                for j in range(len(ns)):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if m[i, j] < 0.6 * vmax else "black")
            ax.set_xticks(range(len(ns)), [str(n) for n in ns], fontsize=6)
            ax.set_yticks(range(len(ns)), [str(n) for n in ns], fontsize=6)
            if r == 0:
                ax.set_title(name, fontsize=7)
            if c == 0:
                ax.set_ylabel(TITLES[kind], fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def observation4(d: dict[str, dict[str, np.ndarray]], ns: list[int]) -> dict[str, dict[str, list[float]]]:
    """Per kind and parameter: [mean d(N = 1, N > 1), mean d(N > 1, N' > 1)]."""
    one = [i for i, n in enumerate(ns) if n == 1]
    many = [i for i, n in enumerate(ns) if n > 1]
    return {kind: {name: [mean_offdiagonal(m, one, many), mean_offdiagonal(m, many, many)]
                   for name, m in per.items()} for kind, per in d.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 10, 100, 1000])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--n-images", type=int, default=10000, help="stratified subset of the whole dataset")
    ap.add_argument("--v-d", type=float, default=0.1)
    ap.add_argument("--eps", type=float, default=0.55)
    ap.add_argument("--p", type=float, default=0.55)
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--epochs", type=int, default=5, help="epochs per training (the preset's max_epochs)")
    ap.add_argument("--batch-size", type=int, default=64, help="the preset's batch size")
    ap.add_argument("--target", type=float, default=0.008, help="fraction of parameters the ticket keeps")
    ap.add_argument("--rounds", type=int, default=4, help="IMP rounds (pruning geometric over them)")
    ap.add_argument("--seed", type=int, default=3407)
    ap.add_argument("--figure", default="docs/figures/e6_lottery_tickets.png")
    ap.add_argument("--json", default=None, help="write distances and records here")
    ap.add_argument("--noise-floor", action="store_true",
                    help="also retrain the dense N = 1 network with another batch order from the same θ_0")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ds = subset_of_whole(load_dataset(args.dataset), args.n_images)
    preset = get_preset(args.preset, max_epochs=args.epochs, batch_size=args.batch_size)
    ns = sorted(set(args.ns))
    parts, records = [], []
    for n in ns:
        p, rec = ticket_for(ds, n, args, preset)
        parts.append(p)
        records.append(rec)
        print(f"N = {n:>4}: ticket {rec['survivors']}/{rec['total']} ({rec['sparsity']:.2%} sparse); "
              f"val acc dense {rec['rounds'][0]['val_acc']:.3f}, ticket {rec['rounds'][-1]['val_acc']:.3f}; "
              f"ASR dense {rec['dense']['asr']:.3f}, ticket {rec['ticket']['asr']:.3f}; "
              f"{rec['seconds']:.0f} s", flush=True)
    d = matrices(parts)
    obs = observation4(d, ns)
    print(f"\n{'kind':>12} {'parameter':>14} {'d(1, N>1)':>10} {'d(N>1, N>1)':>12}")
    for kind in KINDS:
        for name, (a, b) in obs[kind].items():
            print(f"{kind:>12} {name:>14} {a:>10.3f} {b:>12.3f}")
    floor = None
    if args.noise_floor and 1 in ns:
        floor = noise_floor(ds, args, preset, parts[ns.index(1)]["full"])
        print("\nnoise floor (N = 1 vs N = 1 with another batch order), dense network:")
        for name, v in floor.items():
            print(f"{name:>14} {v:.3f}")
        print(f"mean over weight tensors {np.mean([v for k, v in floor.items() if k.endswith('weight')]):.3f}")
    title = (f"E6: cosine distance per layer across N ({ds.description}, SmallCNN, {preset.name} preset, "
             f"{args.epochs} epochs, batch {args.batch_size}, IMP {args.rounds} rounds to {records[0]['survivors']} of "
             f"{records[0]['total']} parameters, seed {args.seed})")
    plot(d, ns, Path(args.figure), title)
    print(f"figure: {args.figure}")
    if args.json:
        Path(args.json).write_text(json.dumps({"ns": ns, "records": records, "observation4": obs, "noise_floor": floor,
                                               "distances": {k: {n: m.tolist() for n, m in v.items()}
                                                             for k, v in d.items()}}, indent=1))


if __name__ == "__main__":
    main()
