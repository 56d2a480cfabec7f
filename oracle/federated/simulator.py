"""Federated averaging under edge-case backdoors: the simulation loop.

The setting of "Attack of the Tails" (Wang et al., 2020, §4 and App. A; the
authors' ``fl_trainer.py``), in the project's airbench style: every client's
images live in one uint8 tensor on the device, each client is a list of
indices into it, batches are gathered, augmented and normalised there; no
DataLoader.

One round t = 1, …, R:

1. lr_t = lr · lr_decay^(t−1) (authors: γ = 0.998).
2. The server samples m clients without replacement. Fixed-frequency
   attackers due in round t take one slot each (m − a honest clients are
   sampled, as the authors sample m − 1 and add the attacker); a sampled
   member of a fixed-pool attacker's pool trains as that attacker.
3. Every participant starts from the global weights w_g and runs E local
   epochs of SGD (momentum 0.9, weight decay 1e-4, a fresh optimiser, batches
   of the client's data in a seeded random order, the last one partial).
   Attackers train on their own set (:mod:`.attacks`): PGD projects onto
   ‖w − w_g‖ ≤ eps_t, PGD with replacement then scales its update by
   n_S / n_a. With ``batch_clients`` (default on CUDA) the honest clients
   of the round train together as one vectorised model
   (:mod:`.cohort`: the same batches and SGD steps, other dropout masks).
4. The server flattens the updates Δ_i = w_i − w_g
   (``torch.nn.utils.parameters_to_vector`` order) into an (m, P) matrix and
   calls :func:`oracle.federated.aggregators.aggregate` with the chosen rule
   and the data counts n_i as weights; w_g ← w_g + update.
5. Measured (every ``eval_every`` rounds and in the last): main-task
   accuracy on the test set; backdoor accuracy (share of an edge-case test
   set predicted as the target) for the task's edge case and for every
   attacker's own; per attacking slot its norm difference ‖Δ‖; which clients
   and attackers the aggregator kept; with ``fairness_client`` the AP ratio
   min_k acc_k / max_k acc_k over all K clients' own data (§4, after
   accuracy parity) and client 0's accuracy on its almost-edge-case images.

Where the parts live: the run's data on the device in
:mod:`.run_data`, local training (the victims' loop,
:func:`oracle.victims.loop.train_epoch`) and the seed streams in
:mod:`.local`, its batched form in :mod:`.cohort`, what is measured in
:mod:`.evaluation`, the warm start (App. A: the FL process starts from a
model trained centrally for 10 epochs) in :mod:`.warm_start`; its public
names (:func:`warm_start`, :func:`new_model`, :func:`save_state`,
:func:`load_state`, :func:`warm_start_key`) are importable from here too.

Reproducibility: everything is seeded from ``config.seed`` (default 3407):
the partition, the client sampling, each client's batch order, augmentation
and dropout (a seed derived from (seed, round, client)), the aggregator's
noise. Sampling draws a full permutation per round, so a run with attackers
and one without see the same honest clients in the same order. Attacker i
draws its data and its pool with seed i. Same inputs on the CPU give
identical results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector

from strategies.defender import AggregatorStrategy
from strategies.validate import out_of_range, require

from oracle.progress import progress as progress_bar
from oracle.victims.device import device_info, resolve_device
from oracle.federated.aggregators import aggregate
from oracle.federated.attacks import FederatedAttacker, draw_pools, model_replacement
from oracle.federated.cohort import CohortTrainer
from oracle.federated.config import FederatedConfig
from oracle.federated.evaluation import Evaluation, evaluate_global
from oracle.federated.local import PGD, LocalTrainer, SeedStream, assign, derive_seed, rng_scope
from oracle.federated.records import FederatedRun, RoundRecord
from oracle.federated.run_data import RunData, prepare_data, subset_task
from oracle.federated.tasks import FederatedTask
from oracle.federated.warm_start import load_state, new_model, save_state, warm_start, warm_start_key

__all__ = [
    "load_state",
    "new_model",
    "run_federated",
    "save_state",
    "warm_start",
    "warm_start_key",
]


@dataclass(frozen=True)
class _Slot:
    """One participant of a round: an honest client, or attacker ``attacker``
    (standing for pool client ``client``, or −1 if fixed-frequency)."""

    client: int
    attacker: int | None = None


def _check_attackers(attackers: Sequence[FederatedAttacker], config: FederatedConfig) -> tuple[FederatedAttacker, ...]:
    attackers = tuple(attackers)
    for i, a in enumerate(attackers):
        require(isinstance(a, FederatedAttacker), f"attackers[{i}]={a!r} is not a FederatedAttacker")
    n_ff = sum(a.schedule == "fixed-frequency" for a in attackers)
    if n_ff > config.clients_per_round:
        out_of_range("fixed-frequency attackers", n_ff,
                     f"[0, {config.clients_per_round}] (clients_per_round: they may all attack in one round)")
    return attackers


def _round_slots(
    round_: int,
    attackers: Sequence[FederatedAttacker],
    pool_owner: Mapping[int, int],
    sampler: np.random.Generator,
    config: FederatedConfig,
) -> list[_Slot]:
    """Fixed-frequency attackers due this round, then the sampled clients
    (pool members as their attacker). One full permutation is drawn every
    round, whatever the attackers, so runs with and without attackers
    sample the same clients."""
    due = [_Slot(-1, i) for i, a in enumerate(attackers) if a.attacks_in(round_)]
    order = sampler.permutation(config.n_clients)[: config.clients_per_round - len(due)]
    return due + [_Slot(int(c), pool_owner.get(int(c))) for c in order]


def _train_slot(
    slot: _Slot,
    index: int,
    round_: int,
    w_global: torch.Tensor,
    n_round: int,
    trainer: LocalTrainer,
    data: RunData,
    attackers: Sequence[FederatedAttacker],
    config: FederatedConfig,
) -> torch.Tensor:
    """The update Δ = w − w_g this participant submits."""
    lr = config.lr_at(round_)
    if slot.attacker is None:
        w = trainer.train(
            w_global, data.x, data.y, data.clients[slot.client], epochs=config.local_epochs, lr=lr,
            seed=derive_seed(config.seed, SeedStream.HONEST, round_, slot.client),
        )  # fmt: skip
        return w - w_global
    a = attackers[slot.attacker]
    x, y = data.attacker_xy[slot.attacker]
    pgd = PGD(a.eps_at(round_), a.project_every) if a.is_pgd else None
    attacker_lr = lr if a.lr is None else a.lr * config.lr_decay ** (round_ - 1)
    w = trainer.train(
        w_global, x, y, None, epochs=a.local_epochs or config.local_epochs, lr=attacker_lr,
        seed=derive_seed(config.seed, SeedStream.ATTACKER, round_, slot.attacker, index), pgd=pgd,
    )  # fmt: skip
    if a.replaces:
        w = model_replacement(w, w_global, n_round, len(y))
    return w - w_global


def _train_cohort(
    cohort: CohortTrainer, slots: Sequence[_Slot], round_: int, w_global: torch.Tensor, data: RunData,
    config: FederatedConfig,
) -> dict[int, torch.Tensor]:
    """The updates of the round's honest slots (slot index -> Δ), trained together."""
    honest = [j for j, s in enumerate(slots) if s.attacker is None]
    w = cohort.train(
        w_global, data.x, data.y, [data.clients[slots[j].client] for j in honest],
        [derive_seed(config.seed, SeedStream.HONEST, round_, slots[j].client) for j in honest],
        epochs=config.local_epochs, lr=config.lr_at(round_), dropout_seed=derive_seed(config.seed, SeedStream.COHORT, round_),
    )  # fmt: skip
    return {j: row - w_global for j, row in zip(honest, w)}


def _weight(slot: _Slot, data: RunData) -> int:
    if slot.attacker is None:
        return int(data.sizes[slot.client])
    return len(data.attacker_xy[slot.attacker][1])


def _record(
    round_: int,
    lr: float,
    slots: Sequence[_Slot],
    norms: torch.Tensor,
    kept: Sequence[int],
    ev: Evaluation | None,
    data: RunData,
    n_attackers: int,
    seconds: float,
) -> RoundRecord:
    norms_ = norms.tolist()
    honest = [n for s, n in zip(slots, norms_) if s.attacker is None]
    kept_slots = [slots[k] for k in kept]
    nan = math.nan
    return RoundRecord(
        round=round_,
        lr=lr,
        clients=tuple(s.client for s in slots if s.attacker is None),
        attackers=tuple(s.attacker for s in slots if s.attacker is not None),
        attacker_clients=tuple(s.client for s in slots if s.attacker is not None),
        attacker_norms=tuple(n for s, n in zip(slots, norms_) if s.attacker is not None),
        kept_clients=tuple(s.client for s in kept_slots if s.attacker is None),
        kept_attackers=tuple(s.attacker for s in kept_slots if s.attacker is not None),
        honest_norm_mean=float(np.mean(honest)) if honest else nan,
        honest_norm_max=float(np.max(honest)) if honest else nan,
        main_acc=ev.main_acc if ev else nan,
        backdoor_acc=ev.backdoor[0] if ev else nan,
        attacker_backdoor_acc=tuple(ev.backdoor[data.attacker_backdoor[i]] if ev else nan for i in range(n_attackers)),
        ap_ratio=ev.ap_ratio if ev else nan,
        honest_edge_acc=ev.honest_edge_acc if ev else nan,
        seconds=seconds,
    )


def run_federated(
    task: FederatedTask,
    config: FederatedConfig,
    attackers: Sequence[FederatedAttacker] = (),
    aggregator: AggregatorStrategy | str = "fedavg",
    *,
    initial_state: Mapping[str, torch.Tensor] | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    batch_clients: bool | None = None,
) -> FederatedRun:
    """Simulate ``config.rounds`` rounds of federated learning on ``task``
    with ``attackers`` against ``aggregator`` (a name or an
    :class:`~strategies.defender.AggregatorStrategy`); see the module
    docstring for the round. ``initial_state``: the warm-started global model
    (default: :func:`warm_start` is run first). ``device``: None = automatic.
    ``batch_clients``: train each round's honest clients together
    (:class:`~oracle.federated.cohort.CohortTrainer`: same batches, same SGD,
    different dropout masks); None = on CUDA only, where it is the faster
    mode. torch's global generators are left as they were.
    """
    started = time.perf_counter()
    strategy = aggregator if isinstance(aggregator, AggregatorStrategy) else AggregatorStrategy(aggregator)
    attackers = _check_attackers(attackers, config)
    dev = resolve_device(device)
    if batch_clients is None:
        batch_clients = dev.type == "cuda"
    if initial_state is None:
        initial_state = warm_start(task, config, device=dev, progress=progress)
    task = subset_task(task, config)
    with rng_scope(dev):
        return _run(task, config, attackers, strategy, initial_state, dev, progress, started, bool(batch_clients))


def _run(
    task: FederatedTask,
    config: FederatedConfig,
    attackers: tuple[FederatedAttacker, ...],
    strategy: AggregatorStrategy,
    initial_state: Mapping[str, torch.Tensor],
    dev: torch.device,
    progress: bool,
    started: float,
    batch_clients: bool,
) -> FederatedRun:
    model = new_model(task, config.seed).to(dev)
    try:
        model.load_state_dict(initial_state)
    except RuntimeError as err:
        raise ValueError(f"initial_state does not fit model {task.model!r}: {err}") from None

    data = prepare_data(task, config, attackers, dev)
    pools = draw_pools(attackers, config.n_clients)
    pool_owner = {c: i for i, pool in enumerate(pools) for c in pool}
    trainer = LocalTrainer(model, config, task.dataset.name, task.shape[2], dev)
    cohort = None
    if batch_clients:
        cohort = CohortTrainer(model, trainer.normalize, trainer.augment, batch_size=config.batch_size,
                               momentum=config.momentum, weight_decay=config.weight_decay, dev=dev)
    sampler = np.random.default_rng(derive_seed(config.seed, SeedStream.SAMPLER))
    agg_gen = torch.Generator(device=dev)
    agg_gen.manual_seed(derive_seed(config.seed, SeedStream.AGGREGATOR))
    params = dict(strategy.params)

    w = parameters_to_vector(trainer.params).detach().clone()
    ev = evaluate_global(trainer, data, w, config.fairness_client)
    empty = torch.zeros(0)
    records = [_record(0, math.nan, [], empty, [], ev, data, len(attackers), time.perf_counter() - started)]
    desc = f"federated {task.name}/{strategy.aggregator}"
    bar = progress_bar(range(1, config.rounds + 1), desc=desc, unit="round", enabled=progress)
    for r in bar:
        t0 = time.perf_counter()
        slots = _round_slots(r, attackers, pool_owner, sampler, config)
        weights = [_weight(s, data) for s in slots]
        together = _train_cohort(cohort, slots, r, w, data, config) if cohort is not None else {}
        updates = torch.stack([
            together[j] if j in together else _train_slot(s, j, r, w, sum(weights), trainer, data, attackers, config)
            for j, s in enumerate(slots)
        ])  # fmt: skip
        result = aggregate(strategy.aggregator, updates, weights, params, generator=agg_gen)
        w = w + result.update.to(w.dtype)
        evaluate = r % config.eval_every == 0 or r == config.rounds
        ev = evaluate_global(trainer, data, w, config.fairness_client) if evaluate else None
        norms = torch.linalg.vector_norm(updates, dim=1).cpu()
        seconds = time.perf_counter() - t0
        records.append(_record(r, config.lr_at(r), slots, norms, result.kept, ev, data, len(attackers), seconds))
        if progress and ev is not None:
            bar.set_postfix(main=f"{ev.main_acc:.3f}", backdoor=f"{ev.backdoor[0]:.3f}")
    bar.close()
    assign(trainer.params, w)
    return FederatedRun(
        config=config,
        aggregator=strategy,
        attackers=attackers,
        records=tuple(records),
        client_sizes=tuple(int(s) for s in data.sizes),
        attacker_sizes=tuple(len(y) for _, y in data.attacker_xy),
        pools=pools,
        seconds=time.perf_counter() - started,
        device=device_info(dev),
        final_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        batch_clients=batch_clients,
    )
