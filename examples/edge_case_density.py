"""Attack of the Tails, Figure 2 as numbers: ARDIS sevens are edge cases of MNIST.

    OMP_NUM_THREADS=1 python examples/edge_case_density.py            # ~30 s on a CPU core
    python examples/edge_case_density.py --n-train 60000 --epochs 10 --device cuda

Trains LeNet on MNIST, fits a Gaussian mixture (one component per class) to
its penultimate-layer features of the training digits, and prints the
log-density ln P(x) of MNIST test digits and of the ARDIS sevens, with the
share of each set that are p-edge cases (log-density below the p-quantile of
the benign digits', §2 of the paper).
"""

from __future__ import annotations

import argparse

from oracle.data.datasets import load_dataset, subset
from oracle.federated.edge_cases import log_density_report
from oracle.federated.tasks import load_task
from oracle.victims.presets import get_preset
from oracle.victims.train import train_victim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-train", type=int, default=3000, help="MNIST training digits (stratified subset)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--p", type=float, default=0.05, help="edge-case quantile")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    mnist = load_dataset("mnist")
    small = subset(mnist, args.n_train, 1000, seed=3407)
    victim = train_victim("lenet", small.x_train, small.y_train, small.x_test, small.y_test, num_classes=10,
                          dataset="mnist", preset=get_preset("tiny", max_epochs=args.epochs, batch_size=64),
                          seed=3407, device=args.device)
    ardis = load_task("ardis").edge
    report = log_density_report(victim.model, small.x_train, {"MNIST test": small.x_test, "ARDIS sevens": ardis.x_train},
                                "mnist", benign_y=small.y_train, p=args.p, device=args.device)
    print(f"LeNet on {args.n_train} MNIST digits, validation accuracy {victim.val_acc * 100:.1f}%; "
          f"p = {args.p}")
    print("| set | n | mean ln P(x) | median | share of p-edge cases |")
    print("|---|---|---|---|---|")
    for name, r in report.items():
        print(f"| {name} | {r['n']} | {r['mean']:.1f} | {r['median']:.1f} | {r['edge_share']:.2f} |")


if __name__ == "__main__":
    main()
