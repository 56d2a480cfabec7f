"""Attack of the Tails §4, "Defending against edge-case attack raises fairness concerns", at a reduced size.

    OMP_NUM_THREADS=1 python examples/federated_fairness.py          # ~2 min on a CPU core
    python examples/federated_fairness.py --preset southwest --rounds 50 --device cuda

One honest client (client 0) also holds the task's almost-edge-case images
with their correct labels (ARDIS: the 33 sevens not in the attacker's pool,
labelled 7; Southwest: `honest_almost_edge_case`). A black-box attacker joins
every round. For FedAvg and Krum this prints, at the final round, the
backdoor accuracy, the main-task accuracy, client 0's accuracy on its own
edge-like images, and the AP ratio = min over clients of the accuracy on the
client's own data / max over clients (after accuracy parity): the paper's
point is that Krum stops the backdoor but also rejects the honest client with
unusual data, lowering its accuracy and the AP ratio.
"""

from __future__ import annotations

import argparse

from oracle.federated.attacks import FederatedAttacker
from oracle.federated.config import federated_preset
from oracle.federated.simulator import run_federated
from oracle.federated.warm_start import warm_start
from oracle.federated.tasks import load_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="reduced")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--aggregators", nargs="+", default=["fedavg", "krum"])
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    config = federated_preset(args.preset, rounds=args.rounds, fairness_client=True)
    task = load_task(config.task)
    state = warm_start(task, config, device=args.device)
    print(f"{config.task}, {config.n_clients} clients, {config.clients_per_round} per round, {args.rounds} rounds; "
          "client 0 holds the almost-edge-case images; a black-box attacker every round")
    print("| aggregator | attacker | backdoor acc. | main-task acc. | client 0 on its edge-like images | AP ratio |")
    print("|---|---|---|---|---|---|")
    for agg in args.aggregators:
        for attackers in ([], [FederatedAttacker(mode="black-box", every=1)]):
            run = run_federated(task, config, attackers, agg, initial_state=state, device=args.device)
            r = run.records[-1]
            print(f"| {agg} | {'yes' if attackers else 'no'} | {r.backdoor_acc * 100:.1f} | {r.main_acc * 100:.1f} | "
                  f"{r.honest_edge_acc * 100:.1f} | {r.ap_ratio:.3f} |", flush=True)


if __name__ == "__main__":
    main()
