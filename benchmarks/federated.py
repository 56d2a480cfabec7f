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
from typing import Callable

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import torch

from oracle.federated.aggregators import aggregate
from oracle.federated.attacks import FederatedAttacker
from oracle.federated.config import FederatedConfig, federated_preset
from oracle.federated.simulator import run_federated
from oracle.federated.warm_start import new_model
from oracle.federated.tasks import load_task
from oracle.victims.device import device_info, resolve_device
from strategies import AGGREGATORS


def bench_config(preset: str, rounds: int, **overrides) -> FederatedConfig:
    """The preset with ``rounds`` rounds, evaluated once at the end (``overrides``: other fields)."""
    return dataclasses.replace(federated_preset(preset, **overrides), rounds=rounds, eval_every=rounds)


def rounds_per_second(config: FederatedConfig, device: torch.device, modes: tuple[bool, ...] = (False, True),
                      on_mode: Callable[[dict], None] | None = None) -> list[dict]:
    """Seconds per round of ``config`` (one black-box attacker every round, FedAvg, no warm start) with the honest
    clients trained one by one (``batch_clients=False``) and together (True), from the same initial model; one
    dict per mode (``on_mode`` is called as each finishes)."""
    task = load_task(config.task)
    state = {k: v.clone() for k, v in new_model(task, config.seed).state_dict().items()}
    rows = []
    for together in modes:
        t0 = time.perf_counter()
        run = run_federated(task, config, [FederatedAttacker(mode="black-box", every=1)], "fedavg",
                            initial_state=state, device=device, batch_clients=together)
        seconds = time.perf_counter() - t0
        rows.append({"batch_clients": together, "rounds": config.rounds, "seconds": seconds,
                     "seconds_per_round": seconds / config.rounds, "rounds_per_second": config.rounds / seconds,
                     "main_acc": float(run.main_acc()[-1])})
        if on_mode:
            on_mode(rows[-1])
    return rows


def aggregator_ms(config: FederatedConfig, device: torch.device, repeats: int = 3) -> dict[str, float]:
    """Milliseconds per call of every aggregator on one round's stacked updates (m clients × the task model's P
    parameters, random), after one warm-up call."""
    n_params = sum(p.numel() for p in new_model(load_task(config.task), config.seed).parameters())
    m = config.clients_per_round
    gen = torch.Generator(device=device).manual_seed(0)
    updates = torch.randn(m, n_params, generator=gen, device=device) * 0.01
    weights = torch.ones(m, device=device)
    out = {}
    for name in AGGREGATORS:
        params = {"f": 1} if name in ("krum", "multi-krum") else None
        aggregate(name, updates, weights, params, generator=gen)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(repeats):
            aggregate(name, updates, weights, params, generator=gen)
        if device.type == "cuda":
            torch.cuda.synchronize()
        out[name] = (time.perf_counter() - t) / repeats * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="reduced", help="reduced, ardis, southwest")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    dev = resolve_device(args.device)
    config = bench_config(args.preset, args.rounds)
    task = load_task(config.task)
    n_params = sum(p.numel() for p in new_model(task, config.seed).parameters())
    info = device_info(dev)
    print(f"{config.task}: {task.model}, {n_params:,} parameters, {config.n_clients} clients, "
          f"{config.clients_per_round} per round, {config.local_epochs} local epochs; device {info.get('name', dev)}")
    rows = rounds_per_second(config, dev, on_mode=lambda r: print(
        f"{'clients together' if r['batch_clients'] else 'clients one by one':<19} {r['rounds']} rounds in "
        f"{r['seconds']:.1f} s: {r['seconds_per_round']:.2f} s per round, {r['rounds_per_second']:.3f} rounds/s "
        f"(main acc {r['main_acc'] * 100:.1f}%)"))
    print(f"together / one by one: {rows[0]['seconds_per_round'] / rows[1]['seconds_per_round']:.2f}x the speed")
    print(f"aggregators on ({config.clients_per_round}, {n_params:,}) updates:")
    for name, ms in aggregator_ms(config, dev).items():
        print(f"  {name:<14} {ms:9.1f} ms")


if __name__ == "__main__":
    main()
