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

Warm start (App. A: the FL process starts from a model trained centrally
for 10 epochs, e.g. VGG-9 at 77.68%, LeNet at 88%): :func:`warm_start`
trains the task's model on the whole (possibly subset) training set with the
local-training recipe for ``warm_start_epochs`` epochs and returns its state
dict; :func:`save_state` / :func:`load_state` keep it as safetensors, and
:func:`warm_start_key` names what it depends on, for a cache.

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
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parameters_to_vector

from strategies.defender import AggregatorStrategy

from oracle.data.datasets import subset
from oracle.progress import progress as progress_bar
from oracle.victims.models import build_model
from oracle.victims.train import Normalizer, device_info, random_flip, random_translate, resolve_device
from oracle.federated.aggregators import aggregate
from oracle.federated.config import SIMULATOR_VERSION, FederatedConfig
from oracle.federated.attacks import FederatedAttacker, attacker_dataset, draw_pools, model_replacement, project_l2
from oracle.federated.cohort import Augment, CohortTrainer
from oracle.federated.partition import dirichlet_partition, iid_partition
from oracle.federated.records import FederatedRun, RoundRecord
from oracle.federated.tasks import FederatedTask

__all__ = [
    "load_state",
    "new_model",
    "run_federated",
    "save_state",
    "warm_start",
    "warm_start_key",
]


#: CIFAR-10 augmentation of the authors' loaders: RandomCrop(32, padding=4)
#: (a zero-padded shift by up to 4 pixels) and a horizontal flip.
_CIFAR_TRANSLATE = 4
_EVAL_BATCH = 1024
# stream ids for derived seeds
_SEED_HONEST, _SEED_ATTACKER, _SEED_WARM, _SEED_SAMPLER, _SEED_AGGREGATOR, _SEED_COHORT = range(6)


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------
def _rng_scope(dev: torch.device):
    """Restore torch's global generators afterwards: local training seeds
    them (dropout) for every client."""
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    return torch.random.fork_rng(devices=cuda)


def _derive_seed(*parts: int) -> int:
    """A 32-bit seed for one stream, from ``numpy.random.SeedSequence(parts)``."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


# --------------------------------------------------------------------------
# data on the device
# --------------------------------------------------------------------------
@dataclass
class _Data:
    """The run's tensors, all on one device."""

    x: torch.Tensor  # (N, H, W, C) uint8: every honest client's images
    y: torch.Tensor  # (N,) int64
    owner: torch.Tensor  # (N,) client of each image
    clients: list[torch.Tensor]  # per client: indices into x
    sizes: np.ndarray  # (K,) data counts
    x_test: torch.Tensor
    y_test: torch.Tensor
    attacker_xy: list[tuple[torch.Tensor, torch.Tensor]]
    backdoor_sets: list[tuple[torch.Tensor, int]]  # (edge test images, target), 0 = the task's
    attacker_backdoor: list[int]  # attacker i -> its entry in backdoor_sets
    honest_edge: tuple[torch.Tensor, torch.Tensor] | None


def _subset_task(task: FederatedTask, config: FederatedConfig) -> FederatedTask:
    """The task on the config's stratified subset (seed ``config.seed``), if any."""
    if config.task != task.name:
        raise ValueError(f"config.task={config.task!r} but the task given is {task.name!r}")
    ds = task.dataset
    if config.n_train is None and config.n_test is None:
        return task
    n_train = ds.n_train if config.n_train is None else config.n_train
    n_test = ds.n_test if config.n_test is None else config.n_test
    return task.with_dataset(subset(ds, n_train, n_test, seed=config.seed))


def _partition(task: FederatedTask, config: FederatedConfig) -> tuple[np.ndarray, ...]:
    y = task.dataset.y_train
    if config.n_clients > len(y):
        raise ValueError(f"n_clients={config.n_clients} is out of range: allowed 1..{len(y)} (training images)")
    if config.partition == "iid":
        return iid_partition(len(y), config.n_clients, config.seed)
    return dirichlet_partition(y, config.n_clients, config.alpha, config.seed)


def _to_device(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.tensor(np.ascontiguousarray(x), device=device)


def _backdoor_sets(task: FederatedTask, attackers: Sequence[FederatedAttacker], dev: torch.device):
    """Distinct (edge-case test set, target) pairs: the task's first, then
    each attacker's when it differs; and each attacker's entry."""
    keys: list[tuple[int, int]] = [(id(task.edge), task.edge.target)]
    sets = [(_to_device(task.edge.x_test, dev), task.edge.target)]
    which = []
    for a in attackers:
        key = (id(a.edge_set(task)), a.target_label(task))
        if key not in keys:
            keys.append(key)
            sets.append((_to_device(a.edge_set(task).x_test, dev), key[1]))
        which.append(keys.index(key))
    return sets, which


def _prepare(
    task: FederatedTask, config: FederatedConfig, attackers: Sequence[FederatedAttacker], dev: torch.device
) -> _Data:
    parts = _partition(task, config)
    ds = task.dataset
    x, y = ds.x_train, ds.y_train
    owner = np.empty(len(y), np.int64)
    for k, p in enumerate(parts):
        owner[p] = k
    clients = [np.asarray(p, np.int64) for p in parts]
    honest_edge = None
    if config.fairness_client:
        extra = task.honest_edge_x
        extra_y = np.full(len(extra), task.honest_edge_label, np.int64)
        clients[0] = np.concatenate((clients[0], np.arange(len(y), len(y) + len(extra))))
        x, y = np.concatenate((x, extra)), np.concatenate((y, extra_y))
        owner = np.concatenate((owner, np.zeros(len(extra), np.int64)))
        honest_edge = (_to_device(extra, dev), _to_device(extra_y, dev))
    sets, which = _backdoor_sets(task, attackers, dev)
    attacker_xy = []
    for i, a in enumerate(attackers):
        ax, ay = attacker_dataset(task, a, i)
        attacker_xy.append((_to_device(ax, dev), _to_device(ay, dev)))
    return _Data(
        x=_to_device(x, dev),
        y=_to_device(y, dev),
        owner=_to_device(owner, dev),
        clients=[_to_device(c, dev) for c in clients],
        sizes=np.array([len(c) for c in clients], np.int64),
        x_test=_to_device(ds.x_test, dev),
        y_test=_to_device(ds.y_test, dev),
        attacker_xy=attacker_xy,
        backdoor_sets=sets,
        attacker_backdoor=which,
        honest_edge=honest_edge,
    )


# --------------------------------------------------------------------------
# local training
# --------------------------------------------------------------------------
def _assign(params: Sequence[nn.Parameter], vec: torch.Tensor) -> None:
    """Copy the flat ``vec`` into ``params`` (``vector_to_parameters`` would
    make the parameters views of ``vec``, and training would then write into it)."""
    with torch.no_grad():
        start = 0
        for p in params:
            n = p.numel()
            p.copy_(vec[start : start + n].view_as(p))
            start += n



def _augmenter(dataset: str, on: bool) -> Augment:
    """CIFAR-10 (with ``on``): random 4-pixel translate + flip; else identity."""
    if on and dataset == "cifar10":
        return lambda xb, gen: random_flip(random_translate(xb, _CIFAR_TRANSLATE, gen), gen)
    return lambda xb, gen: xb


@dataclass(frozen=True)
class _PGD:
    """Projection onto ‖w − w_g‖ ≤ eps every ``every`` batches and after
    each epoch's last batch."""

    eps: float
    every: int


class _LocalTrainer:
    """One model reused by every client: load w, train, read w back."""

    def __init__(self, model: nn.Module, config: FederatedConfig, dataset: str, channels: int, dev: torch.device):
        self.model = model
        self.params = list(model.parameters())
        self.config = config
        self.dev = dev
        self.normalize = Normalizer(dataset, channels, dev, channels_last=False)
        self.augment = _augmenter(dataset, config.augment)

    def train(
        self,
        w_start: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        idx: torch.Tensor | None,
        *,
        epochs: int,
        lr: float,
        seed: int,
        pgd: _PGD | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> torch.Tensor:
        """Weights (flat) after ``epochs`` epochs of SGD from ``w_start`` on
        ``x[idx]`` (all of ``x`` when ``idx`` is None)."""
        cfg = self.config
        torch.manual_seed(seed)  # dropout
        gen = torch.Generator(device=self.dev)
        gen.manual_seed(seed)
        _assign(self.params, w_start)
        opt = torch.optim.SGD(self.params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self.model.train()
        n = len(x) if idx is None else idx.numel()
        starts = range(0, n, cfg.batch_size)
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=gen, device=self.dev)
            order = perm if idx is None else idx[perm]
            loss_sum = torch.zeros((), device=self.dev)
            for b, start in enumerate(starts):
                sel = order[start : start + cfg.batch_size]
                loss = F.cross_entropy(self.model(self.normalize(self.augment(x[sel], gen))), y[sel])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if pgd is not None and (b % pgd.every == 0 or b == len(starts) - 1):
                    _assign(self.params, project_l2(parameters_to_vector(self.params).detach(), w_start, pgd.eps))
                if on_epoch is not None:
                    loss_sum += loss.detach() * len(sel)
            if on_epoch is not None:
                on_epoch(epoch + 1, loss_sum.item() / n)
        return parameters_to_vector(self.params).detach().clone()


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------
@torch.no_grad()
def _predict(model: nn.Module, normalize: Normalizer, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    out = [model(normalize(x[i : i + _EVAL_BATCH])).argmax(1) for i in range(0, len(x), _EVAL_BATCH)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64, device=x.device)


def _share(mask: torch.Tensor) -> float:
    return float(mask.float().mean().item()) if mask.numel() else math.nan


@dataclass(frozen=True)
class _Evaluation:
    main_acc: float
    backdoor: tuple[float, ...]  # per entry of _Data.backdoor_sets
    ap_ratio: float = math.nan
    honest_edge_acc: float = math.nan


def _evaluate(trainer: _LocalTrainer, data: _Data, w: torch.Tensor, fairness: bool) -> _Evaluation:
    _assign(trainer.params, w)
    model, norm = trainer.model, trainer.normalize
    main = _share(_predict(model, norm, data.x_test) == data.y_test)
    backdoor = tuple(_share(_predict(model, norm, xs) == target) for xs, target in data.backdoor_sets)
    if not fairness:
        return _Evaluation(main, backdoor)
    correct = (_predict(model, norm, data.x) == data.y).double()
    per_client = torch.bincount(data.owner, weights=correct, minlength=len(data.sizes)).cpu().numpy() / data.sizes
    ap = float(per_client.min() / per_client.max()) if per_client.max() > 0 else math.nan
    assert data.honest_edge is not None
    hx, hy = data.honest_edge
    return _Evaluation(main, backdoor, ap, _share(_predict(model, norm, hx) == hy))


# --------------------------------------------------------------------------
# warm start and its storage
# --------------------------------------------------------------------------
def new_model(task: FederatedTask, seed: int) -> nn.Module:
    """The task's model, seeded; refused when it has buffers (the simulation averages parameters only)."""
    h, _, c = task.shape
    model = build_model(task.model, c, task.num_classes, h, seed=seed)
    if any(True for _ in model.buffers()):
        raise ValueError(
            f"model {task.model!r} has buffers (batch norm); the simulation averages parameters only: "
            "use a model without buffers (vgg9, lenet)"
        )
    return model


def warm_start_key(config: FederatedConfig) -> dict[str, Any]:
    """The fields a warm start depends on, as plain data (with
    :data:`SIMULATOR_VERSION`); combine with the task's fingerprint for a
    cache key."""
    fields = ("task", "n_train", "n_test", "seed", "warm_start_epochs", "lr", "batch_size",
              "momentum", "weight_decay", "augment")  # fmt: skip
    return {"simulator": SIMULATOR_VERSION, **{f: getattr(config, f) for f in fields}}


def warm_start(
    task: FederatedTask,
    config: FederatedConfig,
    *,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict[str, torch.Tensor]:
    """The global model FL starts from: the task's model (weights drawn with
    ``config.seed``) trained centrally on the whole (subset) training set for
    ``config.warm_start_epochs`` epochs with the local recipe at the initial
    lr (paper: 10 epochs). Returns its state dict, CPU tensors (cache it with
    :func:`save_state`)."""
    dev = resolve_device(device)
    task = _subset_task(task, config)
    with _rng_scope(dev):
        return _warm_start(task, config, dev, progress)


def _warm_start(
    task: FederatedTask, config: FederatedConfig, dev: torch.device, progress: bool
) -> dict[str, torch.Tensor]:
    model = new_model(task, config.seed).to(dev)
    if config.warm_start_epochs:
        trainer = _LocalTrainer(model, config, task.dataset.name, task.shape[2], dev)
        x, y = _to_device(task.dataset.x_train, dev), _to_device(task.dataset.y_train, dev)
        bar = progress_bar(total=config.warm_start_epochs, desc=f"warm start {task.model}", unit="epoch", enabled=progress)

        def tick(epoch: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")

        w0 = parameters_to_vector(model.parameters()).detach().clone()
        w = trainer.train(
            w0, x, y, None, epochs=config.warm_start_epochs, lr=config.lr,
            seed=_derive_seed(config.seed, _SEED_WARM), on_epoch=tick if progress else None,
        )  # fmt: skip
        bar.close()
        _assign(trainer.params, w)
    return {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}


def save_state(
    path: str | os.PathLike[str], state: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> None:
    """Write a state dict as safetensors (no pickle)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, os.fspath(path), dict(metadata or {}))


def load_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict written by :func:`save_state`."""
    from safetensors.torch import load_file

    return load_file(os.fspath(path))


# --------------------------------------------------------------------------
# the loop
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Slot:
    """One participant of a round: an honest client, or attacker ``attacker``
    (standing for pool client ``client``, or −1 if fixed-frequency)."""

    client: int
    attacker: int | None = None


def _check_attackers(attackers: Sequence[FederatedAttacker], config: FederatedConfig) -> tuple[FederatedAttacker, ...]:
    attackers = tuple(attackers)
    for i, a in enumerate(attackers):
        if not isinstance(a, FederatedAttacker):
            raise ValueError(f"attackers[{i}]={a!r}; allowed: FederatedAttacker objects")
    n_ff = sum(a.schedule == "fixed-frequency" for a in attackers)
    if n_ff > config.clients_per_round:
        raise ValueError(
            f"{n_ff} fixed-frequency attackers may all attack in one round; allowed: at most "
            f"clients_per_round={config.clients_per_round}"
        )
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
    trainer: _LocalTrainer,
    data: _Data,
    attackers: Sequence[FederatedAttacker],
    config: FederatedConfig,
) -> torch.Tensor:
    """The update Δ = w − w_g this participant submits."""
    lr = config.lr_at(round_)
    if slot.attacker is None:
        w = trainer.train(
            w_global, data.x, data.y, data.clients[slot.client], epochs=config.local_epochs, lr=lr,
            seed=_derive_seed(config.seed, _SEED_HONEST, round_, slot.client),
        )  # fmt: skip
        return w - w_global
    a = attackers[slot.attacker]
    x, y = data.attacker_xy[slot.attacker]
    pgd = _PGD(a.eps_at(round_), a.project_every) if a.is_pgd else None
    attacker_lr = lr if a.lr is None else a.lr * config.lr_decay ** (round_ - 1)
    w = trainer.train(
        w_global, x, y, None, epochs=a.local_epochs or config.local_epochs, lr=attacker_lr,
        seed=_derive_seed(config.seed, _SEED_ATTACKER, round_, slot.attacker, index), pgd=pgd,
    )  # fmt: skip
    if a.replaces:
        w = model_replacement(w, w_global, n_round, len(y))
    return w - w_global


def _train_cohort(
    cohort: CohortTrainer, slots: Sequence[_Slot], round_: int, w_global: torch.Tensor, data: _Data,
    config: FederatedConfig,
) -> dict[int, torch.Tensor]:
    """The updates of the round's honest slots (slot index -> Δ), trained together."""
    honest = [j for j, s in enumerate(slots) if s.attacker is None]
    w = cohort.train(
        w_global, data.x, data.y, [data.clients[slots[j].client] for j in honest],
        [_derive_seed(config.seed, _SEED_HONEST, round_, slots[j].client) for j in honest],
        epochs=config.local_epochs, lr=config.lr_at(round_), dropout_seed=_derive_seed(config.seed, _SEED_COHORT, round_),
    )  # fmt: skip
    return {j: row - w_global for j, row in zip(honest, w)}


def _weight(slot: _Slot, data: _Data) -> int:
    if slot.attacker is None:
        return int(data.sizes[slot.client])
    return len(data.attacker_xy[slot.attacker][1])


def _record(
    round_: int,
    lr: float,
    slots: Sequence[_Slot],
    norms: torch.Tensor,
    kept: Sequence[int],
    ev: _Evaluation | None,
    data: _Data,
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
    task = _subset_task(task, config)
    with _rng_scope(dev):
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

    data = _prepare(task, config, attackers, dev)
    pools = draw_pools(attackers, config.n_clients)
    pool_owner = {c: i for i, pool in enumerate(pools) for c in pool}
    trainer = _LocalTrainer(model, config, task.dataset.name, task.shape[2], dev)
    cohort = None
    if batch_clients:
        cohort = CohortTrainer(model, trainer.normalize, trainer.augment, batch_size=config.batch_size,
                               momentum=config.momentum, weight_decay=config.weight_decay, dev=dev)
    sampler = np.random.default_rng(_derive_seed(config.seed, _SEED_SAMPLER))
    agg_gen = torch.Generator(device=dev)
    agg_gen.manual_seed(_derive_seed(config.seed, _SEED_AGGREGATOR))
    params = dict(strategy.params)

    w = parameters_to_vector(trainer.params).detach().clone()
    ev = _evaluate(trainer, data, w, config.fairness_client)
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
        ev = _evaluate(trainer, data, w, config.fairness_client) if evaluate else None
        norms = torch.linalg.vector_norm(updates, dim=1).cpu()
        seconds = time.perf_counter() - t0
        records.append(_record(r, config.lr_at(r), slots, norms, result.kept, ev, data, len(attackers), seconds))
        if progress and ev is not None:
            bar.set_postfix(main=f"{ev.main_acc:.3f}", backdoor=f"{ev.backdoor[0]:.3f}")
    bar.close()
    _assign(trainer.params, w)
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
