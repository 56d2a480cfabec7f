"""One training step and one loop: victims, surrogates and federated clients.

airbench's shape (Keller Jordan's CIFAR-10 speed runs): the training images
are one ``uint8`` NHWC tensor on the device; a run draws everything random
from its own seeded device generator. :func:`train_epoch` is the loop every
single model trains with, one epoch at a time:

1. draw a permutation of the run's images (``idx`` picks a client's subset);
2. for each batch (:func:`batch_bounds`) gather its images and labels,
   augment them (``augment(x, generator)``), normalise them to float NCHW,
   then apply the optional ``extra(x, y, generator) -> (x, targets)`` (e.g.
   CutMix);
3. the step: forward (under bf16 autocast if ``amp``), cross-entropy
   (:func:`cross_entropy`: int labels or soft targets, label smoothing),
   zero the gradients, backward, clip the gradient norm if asked, the
   optimiser's step, the schedule's step, then ``after_step(b)`` (the
   federated PGD attacker's projection);
4. return the epoch's summed loss as a device scalar: the caller synchronises
   with the host once per epoch, if at all.

Who uses it: :func:`oracle.victims.train.train_victim` (victims, and the
FGSM and clean-label attackers' surrogates, which are victims trained by the
attacker) with the preset's optimiser and schedule (:func:`preset_optimizer`),
and :class:`oracle.federated.local.LocalTrainer` (honest clients, attackers,
the warm start) with plain SGD and no schedule.

The batched form: :class:`oracle.federated.cohort.CohortTrainer` trains a
round's clients as one vectorised model, step for step the same as calling
:func:`train_epoch` for each client: the same permutations and batches
(:func:`epoch_order`, :func:`batch_bounds`), the same augmentation from each
client's own generator (:func:`device_generator`), the same loss (mean
cross-entropy per client), and the same optimiser rule — :func:`sgd_update`
calls ``torch.optim.SGD``'s own functional update on parameters stacked
along a client axis (the update is elementwise, so stacking changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.sgd import sgd as functional_sgd

from oracle.victims.device import autocast
from oracle.victims.inputs import random_flip, random_translate
from oracle.victims.presets import TrainPreset, lr_factor

__all__ = [
    "Augment",
    "BatchTransform",
    "augmenter",
    "batch_bounds",
    "cross_entropy",
    "device_generator",
    "epoch_order",
    "preset_optimizer",
    "seed_run",
    "sgd_update",
    "train_epoch",
]

#: ``augment(x_uint8_nhwc, generator) -> x_uint8_nhwc``: a batch's augmentation.
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
#: ``extra(x_float_nchw, y, generator) -> (x, targets)``: a transform of the normalised batch.
BatchTransform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def device_generator(seed: int, device: torch.device) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``: batch orders and augmentation."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def seed_run(seed: int, device: torch.device) -> torch.Generator:
    """Seed torch's global generators with ``seed`` (dropout, anything drawn
    from them) and return the run's :func:`device_generator`."""
    torch.manual_seed(seed)
    return device_generator(seed, device)


def batch_bounds(n: int, batch_size: int, *, drop_last: bool = False, merge_lone: bool = False) -> list[tuple[int, int]]:
    """(start, stop) of each batch in a permutation of ``n`` samples.

    Batches of ``batch_size``; ``n <= batch_size`` is one batch of all. Else
    a partial last batch is dropped (``drop_last``), merged into the batch
    before it when it holds a single image (``merge_lone``), or kept.
    """
    if n == 0:
        return []
    if n <= batch_size:
        return [(0, n)]
    if drop_last:
        return [(i, i + batch_size) for i in range(0, n - batch_size + 1, batch_size)]
    bounds = [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    if merge_lone and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def epoch_order(n: int, idx: torch.Tensor | None, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """One epoch's order: a permutation of ``range(n)``, or of ``idx`` (n indices) when given."""
    perm = torch.randperm(n, generator=generator, device=device)
    return perm if idx is None else idx[perm]


def augmenter(flip: bool, translate: int, *, translate_first: bool = False) -> Augment:
    """The augmentation of a uint8 batch: random horizontal flips (``flip``)
    and random shifts by up to ``translate`` pixels, drawn from the run's
    generator; flip first (the victims' presets), or shift first
    (``translate_first``: the federated CIFAR-10 recipe, RandomCrop then
    RandomHorizontalFlip as its authors' loaders). The order fixes which
    draw feeds which transform, so it is part of a run's results."""

    def augment(xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if translate_first and translate:
            xb = random_translate(xb, translate, gen)
        if flip:
            xb = random_flip(xb, gen)
        if not translate_first and translate:
            xb = random_translate(xb, translate, gen)
        return xb

    return augment


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy (fp32) against int labels (B,) or soft targets (B, classes)."""
    b, classes = logits.shape
    if target.ndim == 2:
        if target.shape != (b, classes):
            raise ValueError(f"soft targets have shape {tuple(target.shape)}; allowed: ({b}, {classes})")
        target = target.float()
    elif target.ndim != 1 or target.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise ValueError(
            f"targets have dtype {target.dtype} and shape {tuple(target.shape)}; "
            f"allowed: integer ({b},) or float ({b}, {classes})"
        )
    else:
        target = target.long()
    return F.cross_entropy(logits.float(), target, label_smoothing=label_smoothing)


def preset_optimizer(
    params: Sequence[nn.Parameter], cfg: TrainPreset, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """A preset's optimiser (SGD, optionally Nesterov, or Adam) and its per-step
    lr schedule over ``steps`` steps (:func:`oracle.victims.presets.lr_factor`)."""
    if cfg.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    else:
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: lr_factor(cfg.schedule, min(t, steps - 1), steps, cfg.warmup_fraction)
    )
    return opt, sched


def sgd_update(
    params: list[torch.Tensor], grads: list[torch.Tensor], bufs: list[torch.Tensor], *,
    lr: float, momentum: float, weight_decay: float,
) -> None:  # fmt: skip
    """``torch.optim.SGD``'s step (dampening 0, no Nesterov), in place, by its
    own functional form: d = g + λw; b ← μb + d; w ← w − lr·b.

    ``bufs`` (the momentum buffers) start at zero, so b = d at the first
    step, as SGD's. The update is elementwise, so tensors may carry a leading
    client axis (:class:`oracle.federated.cohort.CohortTrainer`)."""
    functional_sgd(params, grads, bufs, foreach=True, weight_decay=weight_decay, momentum=momentum, lr=lr,
                   dampening=0.0, nesterov=False, maximize=False)  # fmt: skip


def train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    idx: torch.Tensor | None,
    bounds: Sequence[tuple[int, int]],
    gen: torch.Generator,
    *,
    augment: Augment,
    normalize: Callable[[torch.Tensor], torch.Tensor],
    extra: BatchTransform | None = None,
    amp: bool = False,
    label_smoothing: float = 0.0,
    grad_clip: float | None = None,
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
    after_step: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """One epoch of training ``model`` on ``x[idx]`` (all of ``x`` when ``idx``
    is None; uint8 NHWC on the device, labels ``y``) in the batches ``bounds``
    of a fresh :func:`epoch_order`; see the module docstring for the step.
    Returns the sum over the epoch's samples of the batch losses (a device
    scalar, not synchronised)."""
    dev = x.device
    n = len(x) if idx is None else idx.numel()
    order = epoch_order(n, idx, gen, dev)
    loss_sum = torch.zeros((), device=dev)
    for b, (start, stop) in enumerate(bounds):
        sel = order[start:stop]
        xin, target = normalize(augment(x[sel], gen)), y[sel]
        if extra is not None:
            xin, target = extra(xin, target, gen)
        with autocast(amp, dev):
            logits = model(xin)
        loss = cross_entropy(logits, target, label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        if schedule is not None:
            schedule.step()
        if after_step is not None:
            after_step(b)
        loss_sum += loss.detach() * (stop - start)
    return loss_sum
