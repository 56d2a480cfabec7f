"""Speed of the federated simulation: rounds per second, and the cost of each aggregator.

    python benchmarks/federated.py                         # reduced preset (MNIST + ARDIS, LeNet), CPU
    python benchmarks/federated.py --preset southwest --rounds 5 --device cuda   # paper-size CIFAR-10 task

Part 1 runs ``--rounds`` rounds of the preset (no warm start: the round's cost
does not depend on it) with one black-box attacker every round under FedAvg,
twice side by side: the honest clients trained one after another, and trained
together as one vectorised model (``oracle/federated/cohort.py``; the default on
CUDA); it prints seconds per round of each and their ratio. Part 2 times every
aggregator on the stacked updates of one round at the task model's size
(m clients × P parameters), side by side in one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import torch

from oracle.federated.aggregators import aggregate
from oracle.federated.attacks import FederatedAttacker
from oracle.federated.config import federated_preset
from oracle.federated.simulator import new_model, run_federated
from oracle.federated.tasks import load_task
from oracle.victims.train import device_info, resolve_device
from strategies import AGGREGATORS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="reduced", help="reduced, ardis, southwest")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    dev = resolve_device(args.device)
    config = dataclasses.replace(federated_preset(args.preset), rounds=args.rounds, eval_every=args.rounds)
    task = load_task(config.task)
    model = new_model(task, config.seed)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    n_params = sum(p.numel() for p in model.parameters())
    info = device_info(dev)
    print(f"{config.task}: {task.model}, {n_params:,} parameters, {config.n_clients} clients, "
          f"{config.clients_per_round} per round, {config.local_epochs} local epochs; device {info.get('name', dev)}")
    per_round = {}
    for together in (False, True):
        label = "clients together" if together else "clients one by one"
        t0 = time.perf_counter()
        run = run_federated(task, config, [FederatedAttacker(mode="black-box", every=1)], "fedavg",
                            initial_state=state, device=dev, batch_clients=together)
        seconds = time.perf_counter() - t0
        per_round[together] = seconds / args.rounds
        print(f"{label:<19} {args.rounds} rounds in {seconds:.1f} s: {seconds / args.rounds:.2f} s per round, "
              f"{args.rounds / seconds:.3f} rounds/s (main acc {run.main_acc()[-1] * 100:.1f}%)")
    print(f"together / one by one: {per_round[False] / per_round[True]:.2f}x the speed")

    m = config.clients_per_round
    gen = torch.Generator(device=dev).manual_seed(0)
    updates = torch.randn(m, n_params, generator=gen, device=dev) * 0.01
    weights = torch.ones(m, device=dev)
    print(f"aggregators on ({m}, {n_params:,}) updates:")
    for name in AGGREGATORS:
        params = {"f": 1} if name in ("krum", "multi-krum") else None
        aggregate(name, updates, weights, params, generator=gen)  # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(3):
            aggregate(name, updates, weights, params, generator=gen)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        print(f"  {name:<14} {(time.perf_counter() - t) / 3 * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
