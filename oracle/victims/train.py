"""Training the victim: a preset, data on the device, early stopping.

Style: airbench (Keller Jordan's CIFAR-10 speed runs). The whole training set
is uploaded once to the device as one ``uint8`` NHWC tensor; every epoch draws
a permutation there, and every batch is gathered, augmented (flip, translate),
normalised and fed to the model on the device. No DataLoader, no host round
trip per batch: the loop synchronises with the host once per epoch (for the
epoch's loss and the validation numbers). The epoch itself is
:func:`oracle.victims.loop.train_epoch`, the one loop that federated clients
train with too; this module adds what is particular to a victim: the
preset's optimiser and schedule, validation after every epoch and early
stopping on it. Where the rest lives: :mod:`oracle.victims.device` (device
choice, autocast), :mod:`oracle.victims.inputs` (images on the device,
normalisation, augmentation), :mod:`oracle.victims.inference`
(:func:`predict`, :func:`features`); their public names are importable from
here as well.

Presets (:data:`PRESETS`, :class:`TrainPreset`)
-----------------------------------------------
``paper``
    The multi-agent backdoor paper's recipe (App. 6.2.3): SGD, lr 0.001,
    momentum 0.9, batch 128, cross-entropy, no schedule, no weight decay, no
    data augmentation (the paper names none, and treats augmentation as a
    *defense*, E5), early stopping on validation loss ("approximately 30
    epochs"; "early-stopping for a large number of epochs": up to 200 here,
    patience 5 epochs, min_delta 0 — any decrease counts, because at lr 0.001
    a network without batch norm (SmallCNN) leaves its initial plateau at
    ln 10 by less than 1e-3 per epoch, and a positive min_delta stops it
    there: on the 8×8 digits, min_delta 1e-3 stopped SmallCNN after 33
    epochs at 9.5% validation accuracy), best weights restored. fp32 (no autocast),
    as the recipe does not say otherwise.
``fast`` (the default)
    airbench-style: batch 256, SGD with Nesterov momentum 0.9, lr 0.1 with a
    one-cycle schedule (linear warm-up from 0.2·lr over the first 20% of
    steps, then linear decay to 0), weight decay 5e-4, label smoothing 0.2,
    random translate by up to 2 pixels (zero padding) and random horizontal
    flips where the dataset allows them, 10 epochs, no early stopping (the
    schedule ends at lr 0; the final weights are kept), bf16 autocast and
    channels_last on CUDA, partial last batch dropped. Batch 256 rather than
    airbench's 1024 or the common 512: ResNet-18 at 32×32 should keep a GPU
    busy at 256 already (not yet benchmarked), and the networks without batch norm (SmallCNN, LeNet) need
    the steps: SmallCNN sits on a loss plateau at ln 10 for a few hundred
    SGD steps, and on 40k MNIST images batch 512 at lr 0.1 left it there
    (32% after 10 epochs) where batch 256 at lr 0.1 reached 98%. Even so,
    SmallCNN on small training sets (≲ 10k images) stays well short of
    convergence in 10 epochs; raise ``max_epochs`` or lower ``batch_size``
    for it. VGG-9 (no batch norm) is tuned for lr 0.02 by its authors:
    use ``get_preset("fast", lr=0.02)`` or its own federated recipe.
``tiny``
    For tests and quick starts on a few CPU cores: the ``fast`` recipe
    shrunk to batch 32, lr 0.1, 12 epochs, label smoothing 0.1, no
    translate (a 1-pixel shift of an 8×8 digit is an eighth of the image: it
    costs SmallCNN most of its accuracy on a 12-epoch budget).

``paper-cpu``
    The paper's recipe with the changes the victim ablation (issue 14;
    ``examples/victim_ablation.py``, ``docs/reproduction.md``) and its first
    E1 victims show a CPU victim needs, for reproducing the paper's *behaviour* (a victim that has
    learned its task, and what it then does with many backdoors) with
    SmallCNN on a subset. Setting by setting:

    * optimiser SGD with Nesterov momentum 0.9, one-cycle lr peaking at 0.1,
      weight decay 5e-4 (``fast``'s optimiser) instead of the paper's
      constant lr 0.001: with lr 0.001, SmallCNN on 6,000 CIFAR-10 images
      stays at 15–18% validation accuracy after 12 or 40 epochs (the
      ablation's ``paper`` and ``ours+paper-opt`` rows), a victim that has
      learned nothing, while the paper's reached 92–93%; with this optimiser
      and otherwise the paper's recipe it reaches 56% (``paper+our-opt``).
      Constant lr 0.01 reached only 42% in 40 epochs (``paper-lr0.01``).
      Nesterov and weight decay come with that optimiser as measured; the
      study did not vary them apart from the lr.
    * batch 128, momentum 0.9, plain cross-entropy (no label smoothing), no
      augmentation (no flips, no translation), fp32: the paper's, kept
      because the study gives no reason to change them (flips and smoothing
      are ``tiny``'s; without them the 0%-overlap backdoors were learned
      more, not less, so keeping the paper's choice is not a tuning towards
      its numbers).
    * no early stopping (the final weights after 30 epochs), where the paper
      stops on its validation loss: the ablation saw the paper's rule
      (patience 5) act once in eight 40-epoch victims, and with the one-cycle
      peak lr it does harm on small training sets: in the first E1 victims
      with patience 5 (MNIST, 4,000- and 6,000-image subsets, N = 1 and 2,
      seed 3408) the validation loss rose around the lr peak, training
      stopped at epoch 10–19 of 30 and restored weights at 28–65% validation
      accuracy, before the victim had learned its task (without early
      stopping the same seeds reach 78–79%). That is an artefact of our schedule (the paper's lr
      0.001 has no peak), not the paper's "stop at convergence"; the
      schedule ends at lr 0, so the final weights are the converged ones.
      Whether stopping on a poisoned validation set keeps backdoors out
      stays untested by this preset.
    * 30 epochs (the one-cycle schedule spans them): the paper's "about 30
      epochs" to convergence. More epochs or data make SmallCNN learn more
      of the five 0%-overlap backdoors (ablation: 30 epochs of ``tiny``
      86.7, 12,000 images 78.2, three seeds each), fewer make it learn less of the task; 30
      is the paper's length, not a value chosen for the attack success.
    * drop_last off, as in ``paper``.

    What it does not reproduce: the architecture (SmallCNN, not ResNet-18)
    and the data size (CPU subsets), the two differences left between this
    victim and the paper's (``docs/reproduction.md``, "paper-cpu: the games
    again").

Note on backdoors: augmentation applies to every training image, poisoned
ones included, so under ``fast`` a trigger is also learnt mirrored and
shifted by up to 2 pixels. That is what a defender's real pipeline does, but
it is not the paper's recipe; attack success rates under ``fast`` and
``paper`` need not agree, and results quoted against the paper's tables
should use ``paper``.

Flip default (``flip=None``): on for natural-image datasets
(:data:`FLIP_DATASETS`: CIFAR-10, STL-10), off for everything else (MNIST,
Fashion-MNIST, the 8×8 digits, SVHN house numbers, ARDIS): a mirrored digit
is not a digit of the same class. Set ``flip=True``/``False`` to override.

Reproducibility
---------------
``train_victim`` calls ``torch.manual_seed(seed)`` (dropout, anything drawn
from torch's default generators), builds the model with
``build_model(..., seed=seed)``, and draws batch orders and augmentations
from its own ``torch.Generator`` on the device seeded with ``seed``. On the
CPU the same inputs give bit-identical weights. On CUDA they do not quite:
cuDNN's convolution algorithms (chosen by benchmarking, which the loop turns
on for the fast presets' speed), atomics in index/scatter backward kernels
and bf16 reductions make runs differ in the last bits, and these differences
grow over training; accuracies agree to within run-to-run noise. The CPU
and CUDA generators produce different streams, so CPU and CUDA runs differ
in batch order as well. ``torch.use_deterministic_algorithms`` is not
switched on: it would slow down CUDA training and make some kernels raise.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from oracle.progress import progress as progress_bar
from strategies.validate import DEFAULT_SEED
from oracle.victims.device import cudnn_benchmark, device_info, resolve_device, use_amp, use_channels_last
from oracle.victims.inference import EVAL_BATCH_SIZE, evaluate, features, predict
from oracle.victims.inputs import (
    Normalizer, check_images, check_labels, random_flip, random_translate, to_device_images,
)  # fmt: skip
from oracle.victims.loop import BatchTransform, augmenter, batch_bounds, preset_optimizer, seed_run, train_epoch
from oracle.victims.models import build_model
from oracle.victims.presets import TrainPreset, flip_default, get_preset
from strategies.validate import check_int, require

__all__ = [
    "EVAL_BATCH_SIZE",
    "Normalizer",
    "TrainedVictim",
    "device_info",
    "features",
    "predict",
    "random_flip",
    "random_translate",
    "resolve_device",
    "train_victim",
]


@dataclass
class TrainedVictim:
    """A trained model and how its training went.

    ``history`` holds one entry per epoch run: ``train_loss`` (mean training
    objective over the epoch's samples: smoothed / soft-target cross-entropy
    on augmented batches), ``val_loss`` (plain cross-entropy on the
    validation set), ``val_acc`` and ``seconds`` (wall time of the epoch,
    validation included); validation entries are NaN without validation
    data. ``best_epoch`` (1-based) is the epoch whose weights ``model`` holds:
    the best one under early stopping, else the last. ``val_acc`` is that
    epoch's validation accuracy.
    """

    model: nn.Module
    device: str
    epochs_run: int
    best_epoch: int
    stopped_early: bool
    history: dict[str, list[float]]
    val_acc: float
    seconds: float
    preset: dict[str, Any]
    seed: int


@dataclass
class _EarlyStopping:
    """Early stopping on validation loss: a decrease by more than ``min_delta``
    keeps a copy of the weights; ``patience`` epochs without one stop."""

    min_delta: float
    patience: int
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    bad_epochs: int = 0

    def stop(self, epoch: int, val_loss: float, model: nn.Module) -> bool:
        """Record ``epoch``'s validation loss; True when training should stop."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: nn.Module, epochs_run: int) -> int:
        """Load the best weights into ``model``; the epoch they are from (the
        last one run when the validation loss was never finite)."""
        if self.best_state is None:
            return epochs_run
        model.load_state_dict(self.best_state)
        return self.best_epoch


def _check_data(
    x_train: Any, y_train: Any, x_val: Any, y_val: Any, num_classes: int
) -> tuple[np.ndarray | torch.Tensor, np.ndarray, np.ndarray | torch.Tensor, np.ndarray]:
    """The training and validation sets, checked: 4-D uint8 square images, labels in range."""
    xtr = check_images(x_train, "x_train")
    n, h, w, c = (int(s) for s in xtr.shape)
    if n == 0:
        raise ValueError("x_train is empty; allowed: at least 1 image")
    if h != w:
        raise ValueError(f"x_train images are {h}×{w}; allowed: square images")
    ytr = check_labels(y_train, n, num_classes, "y_train")
    if x_val is None:
        return xtr, ytr, np.zeros((0, h, w, c), np.uint8), np.zeros(0, np.int64)
    xva = check_images(x_val, "x_val")
    if tuple(xva.shape[1:]) != (h, w, c):
        raise ValueError(f"x_val images have shape {tuple(xva.shape[1:])}; allowed: {(h, w, c)} as x_train")
    return xtr, ytr, xva, check_labels(y_val, int(xva.shape[0]), num_classes, "y_val")


def _check_arguments(seed: Any, num_classes: Any, extra: Any, init_model: Any) -> None:
    check_int("seed", seed, 0)
    check_int("num_classes", num_classes, 2)
    for name, value in (("extra_batch_transform", extra), ("init_model", init_model)):
        require(value is None or callable(value), f"{name}={value!r} is not callable: allowed a callable or None")


def train_victim(
    model_name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    num_classes: int,
    dataset: str,
    preset: str | TrainPreset = "fast",
    seed: int = DEFAULT_SEED,
    device: str | torch.device | None = None,
    progress: bool = False,
    extra_batch_transform: BatchTransform | None = None,
    init_model: Callable[[nn.Module], None] | None = None,
) -> TrainedVictim:
    """Train ``model_name`` from the model zoo on ``(x_train, y_train)``.

    ``x_*``: uint8 images (N, H, W, C) (or (N, H, W)), square; ``y_*``: int
    labels in ``[0, num_classes)``. ``x_val``/``y_val`` may be ``None`` or
    empty (then no early stopping is possible and validation numbers are
    NaN). ``dataset`` picks the normalisation constants
    (:func:`oracle.victims.models.normalization`) and the flip default.
    ``preset``: a name in :data:`PRESETS` or a :class:`TrainPreset`
    (:func:`get_preset` makes variants). ``device``: None = automatic
    (:func:`resolve_device`).

    Each step (:func:`oracle.victims.loop.train_epoch`): gather a batch of the
    on-device uint8 training tensor, flip and translate it (per the preset),
    normalise it to float NCHW, then, if given,
    ``extra_batch_transform(x, y, generator) -> (x, targets)`` (e.g. CutMix;
    ``x`` float (B, C, H, W) normalised, ``y`` int64 (B,), ``generator`` the
    run's seeded device generator); ``targets`` may be int labels (B,) or
    soft targets (B, num_classes), and the loss (cross-entropy with the
    preset's label smoothing) accepts either.

    ``init_model(model)``, if given, is called on the freshly built model
    (on the CPU, before the optimiser sees its parameters): e.g. to load a
    shared initialisation and apply pruning masks
    (:mod:`oracle.victims.pruning`).

    Returns a :class:`TrainedVictim` whose model is in eval mode on ``device``.
    Raises ``FloatingPointError`` if the training loss becomes non-finite.
    """
    started = time.perf_counter()
    cfg = get_preset(preset)
    _check_arguments(seed, num_classes, extra_batch_transform, init_model)
    xtr, ytr, xva, yva = _check_data(x_train, y_train, x_val, y_val, num_classes)
    n, h, _, c = (int(s) for s in xtr.shape)
    if cfg.early_stopping and int(xva.shape[0]) == 0:
        raise ValueError(f"preset {cfg.name!r} stops early (patience={cfg.patience}) and needs validation data; x_val is empty")

    dev = resolve_device(device)
    amp = use_amp(cfg.amp, dev)
    channels_last = use_channels_last(cfg.channels_last, dev)
    normalize = Normalizer(dataset, c, dev, channels_last)
    gen = seed_run(seed, dev)
    model = build_model(model_name, c, num_classes, h, seed=seed)
    if init_model is not None:
        init_model(model)
    model = model.to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    x_tr, y_tr = to_device_images(xtr, dev), torch.tensor(ytr, device=dev)
    x_va, y_va = to_device_images(xva, dev), torch.tensor(yva, device=dev)

    bounds = batch_bounds(n, cfg.batch_size, drop_last=cfg.drop_last, merge_lone=True)
    seen = sum(stop - start for start, stop in bounds)
    opt, sched = preset_optimizer(list(model.parameters()), cfg, len(bounds) * cfg.max_epochs)
    augment = augmenter(flip_default(dataset) if cfg.flip is None else cfg.flip, cfg.translate)
    stopping = _EarlyStopping(cfg.min_delta, cfg.patience) if cfg.early_stopping else None  # type: ignore[arg-type]
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_acc": [], "seconds": []}
    stopped_early = False
    bar = progress_bar(range(1, cfg.max_epochs + 1), desc=f"train {model_name} ({cfg.name})", unit="epoch",
                       enabled=progress, leave=False)  # fmt: skip
    model.train()
    with cudnn_benchmark(dev.type == "cuda"):
        for epoch in bar:
            t0 = time.perf_counter()
            loss_sum = train_epoch(model, opt, x_tr, y_tr, None, bounds, gen, augment=augment, normalize=normalize,
                                   extra=extra_batch_transform, amp=amp, label_smoothing=cfg.label_smoothing,
                                   grad_clip=cfg.grad_clip, schedule=sched)  # fmt: skip
            train_loss = loss_sum.item() / seen  # the epoch's one host sync
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training diverged: train loss is {train_loss} in epoch {epoch} "
                    f"(model {model_name}, preset {cfg.name}, lr={cfg.lr}); try a lower lr or grad_clip"
                )
            val_loss, val_acc = evaluate(model, x_va, y_va, normalize, amp, EVAL_BATCH_SIZE)
            for key, value in zip(history, (train_loss, val_loss, val_acc, time.perf_counter() - t0)):
                history[key].append(value)
            if progress:
                bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.3f}")
            if stopping is not None and stopping.stop(epoch, val_loss, model):
                stopped_early = epoch < cfg.max_epochs
                break
    bar.close()
    epochs_run = len(history["train_loss"])
    best_epoch = stopping.restore(model, epochs_run) if stopping is not None else epochs_run
    model.eval()
    return TrainedVictim(
        model=model,
        device=str(dev),
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        stopped_early=stopped_early,
        history=history,
        val_acc=history["val_acc"][best_epoch - 1],
        seconds=time.perf_counter() - started,
        preset=cfg.to_dict(),
        seed=int(seed),
    )
