"""A client's local training: one model reused by every client, and the seeds.

Every participant of a round, honest client or attacker, and the central
warm start train with :class:`LocalTrainer`: load the global weights into
one shared model, run E epochs of :func:`oracle.victims.loop.train_epoch`
(the loop victims train with) with a fresh SGD optimiser (momentum, weight
decay, no schedule; the round's lr), batches of the client's data in a
seeded random order, the last one partial, and read the weights back.
A PGD attacker projects onto its ball after every ``every``-th step and
after each epoch's last (:class:`PGD`). The honest clients of a round may
instead train together, as the batched form of the same steps
(:mod:`oracle.federated.cohort`).

Seeds: every stream (a client's local training in a round, an attacker's,
the warm start, the client sampler, the aggregator's noise, the cohort's
dropout) is :func:`derive_seed` of the run's seed, a :class:`SeedStream`
and the round / client / attacker indices.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from oracle.victims.inputs import Normalizer
from oracle.victims.loop import Augment, augmenter, batch_bounds, seed_run, train_epoch
from oracle.federated.attacks import project_l2
from oracle.federated.config import FederatedConfig

__all__ = ["CIFAR_TRANSLATE", "PGD", "LocalTrainer", "SeedStream", "assign", "derive_seed", "rng_scope", "task_augment"]

#: CIFAR-10 augmentation of the authors' loaders: RandomCrop(32, padding=4)
#: (a zero-padded shift by up to 4 pixels) and a horizontal flip.
CIFAR_TRANSLATE = 4


class SeedStream(enum.IntEnum):
    """Stream ids for :func:`derive_seed` (their values are part of every cached run)."""

    HONEST = 0
    ATTACKER = 1
    WARM = 2
    SAMPLER = 3
    AGGREGATOR = 4
    COHORT = 5


def derive_seed(*parts: int) -> int:
    """A 32-bit seed for one stream, from ``numpy.random.SeedSequence(parts)``."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def rng_scope(dev: torch.device):
    """Restore torch's global generators afterwards: local training seeds
    them (dropout) for every client."""
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    return torch.random.fork_rng(devices=cuda)


def assign(params: Sequence[nn.Parameter], vec: torch.Tensor) -> None:
    """Copy the flat ``vec`` into ``params`` (``vector_to_parameters`` would
    make the parameters views of ``vec``, and training would then write into it)."""
    with torch.no_grad():
        start = 0
        for p in params:
            n = p.numel()
            p.copy_(vec[start : start + n].view_as(p))
            start += n


def task_augment(dataset: str, on: bool) -> Augment:
    """CIFAR-10 (with ``on``): random 4-pixel translate, then flip; else identity."""
    if on and dataset == "cifar10":
        return augmenter(True, CIFAR_TRANSLATE, translate_first=True)
    return augmenter(False, 0)


@dataclass(frozen=True)
class PGD:
    """Projection onto ‖w − w_g‖ ≤ eps every ``every`` batches and after
    each epoch's last batch."""

    eps: float
    every: int


class LocalTrainer:
    """One model reused by every client: load w, train, read w back."""

    def __init__(self, model: nn.Module, config: FederatedConfig, dataset: str, channels: int, dev: torch.device):
        self.model = model
        self.params = list(model.parameters())
        self.config = config
        self.dev = dev
        self.normalize = Normalizer(dataset, channels, dev, channels_last=False)
        self.augment = task_augment(dataset, config.augment)

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
        pgd: PGD | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
    ) -> torch.Tensor:
        """Weights (flat) after ``epochs`` epochs of SGD from ``w_start`` on
        ``x[idx]`` (all of ``x`` when ``idx`` is None); ``on_epoch(epoch,
        mean loss)`` after each epoch, if given."""
        cfg = self.config
        gen = seed_run(seed, self.dev)  # dropout, batch order, augmentation
        assign(self.params, w_start)
        opt = torch.optim.SGD(self.params, lr=lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self.model.train()
        n = len(x) if idx is None else idx.numel()
        bounds = batch_bounds(n, cfg.batch_size)

        def project(b: int) -> None:
            if pgd is not None and (b % pgd.every == 0 or b == len(bounds) - 1):
                assign(self.params, project_l2(parameters_to_vector(self.params).detach(), w_start, pgd.eps))

        for epoch in range(epochs):
            loss_sum = train_epoch(self.model, opt, x, y, idx, bounds, gen, augment=self.augment,
                                   normalize=self.normalize, after_step=project if pgd is not None else None)  # fmt: skip
            if on_epoch is not None:
                on_epoch(epoch + 1, loss_sum.item() / n)
        return parameters_to_vector(self.params).detach().clone()
