"""Training the victim: presets, on-device augmentation, one training loop.

Style: airbench (Keller Jordan's CIFAR-10 speed runs). The whole training set
is uploaded once to the device as one ``uint8`` NHWC tensor; every epoch draws
a permutation there, and every batch is gathered, augmented (flip, translate),
normalised and fed to the model on the device. No DataLoader, no host round
trip per batch: the loop synchronises with the host once per epoch (for the
epoch's loss and the validation numbers).

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
      86.4, 12,000 images 78.2), fewer make it learn less of the task; 30
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

import contextlib
import copy
import math
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from oracle.progress import progress as progress_bar
from strategies.validate import DEFAULT_SEED
from oracle.victims.models import build_model, normalization
from oracle.victims.presets import TrainPreset, flip_default, get_preset, is_int, lr_factor, out_of_range

__all__ = [
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

#: Default batch size for inference (:func:`predict`, :func:`features`, and
#: the validation pass inside training).
EVAL_BATCH_SIZE = 1024

_PIXEL_MAX = 255.0


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` picks cuda if available, else
    mps (Apple), else cpu. Asking for an unavailable device raises ValueError."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device={device!r} is not a torch device ({err}); e.g. 'cpu', 'cuda', 'cuda:1'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}: CUDA is not available here; allowed: cpu" + (", mps" if _mps_available() else ""))
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: allowed CUDA indices 0..{torch.cuda.device_count() - 1}")
    elif dev.type == "mps" and not _mps_available():
        raise ValueError(f"device={device!r}: MPS is not available here")
    return dev


def device_info(device: str | torch.device | None = None) -> dict[str, Any]:
    """The environment's fingerprint for outcome records: device, library
    versions, GPU name. JSON-serialisable."""
    dev = resolve_device(device)
    info: dict[str, Any] = {
        "device": str(dev),
        "device_type": dev.type,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "gpu": None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_threads": torch.get_num_threads(),
    }
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        info["gpu"] = props.name
        info["gpu_capability"] = f"{props.major}.{props.minor}"
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
    elif dev.type == "mps":
        info["gpu"] = "Apple MPS"
    return info


def _use_amp(amp: bool, device: torch.device) -> bool:
    return bool(amp and device.type == "cuda" and torch.cuda.is_bf16_supported())


def _use_channels_last(channels_last: bool, device: torch.device) -> bool:
    return bool(channels_last and device.type == "cuda")


def _autocast(enabled: bool, device: torch.device):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


# --------------------------------------------------------------------------
# Data on the device
# --------------------------------------------------------------------------
def _as_images(x: Any, field: str) -> np.ndarray | torch.Tensor:
    """Check an image batch: uint8 (N, H, W, C) or (N, H, W); returns 4-D."""
    if isinstance(x, torch.Tensor):
        arr: np.ndarray | torch.Tensor = x
        dtype_ok = x.dtype == torch.uint8
    else:
        arr = np.asarray(x)
        dtype_ok = arr.dtype == np.uint8
    if not dtype_ok or arr.ndim not in (3, 4):
        raise ValueError(
            f"{field} has dtype {arr.dtype} and shape {tuple(arr.shape)}; allowed: uint8 (N, H, W, C) or (N, H, W)"
        )
    if arr.ndim == 3:
        arr = arr[..., None]
    return arr


def _to_device_images(x: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(device).contiguous()
    return torch.tensor(x, device=device)  # copies (numpy arrays may be read-only)


def _labels(y: Any, n: int, num_classes: int, field: str) -> np.ndarray:
    arr = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if arr.shape != (n,) or not (np.issubdtype(arr.dtype, np.integer) or (n == 0 and arr.dtype == float)):
        raise ValueError(f"{field} has dtype {arr.dtype} and shape {arr.shape}; allowed: integer ({n},)")
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{field} holds labels {int(arr.min())}..{int(arr.max())}; allowed: 0..{num_classes - 1}")
    return arr.astype(np.int64)


class Normalizer:
    """``to_input`` with the constants already on the device.

    Computes exactly what :func:`oracle.victims.models.to_input` computes (same
    operations in the same order, so the same bits), without building the
    mean/std tensors from Python lists on every batch, which on CUDA would be
    a blocking host-to-device copy per batch.
    """

    def __init__(self, dataset: str, channels: int, device: torch.device, channels_last: bool) -> None:
        mean, std = normalization(dataset)
        if len(mean) != channels:
            raise ValueError(
                f"dataset={dataset!r} has {len(mean)}-channel normalization; the images have {channels} channel(s)"
            )
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, channels, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, channels, 1, 1)
        self.channels_last = channels_last

    def __call__(self, x_uint8_nhwc: torch.Tensor) -> torch.Tensor:
        x = (x_uint8_nhwc.permute(0, 3, 1, 2).float() / _PIXEL_MAX - self.mean) / self.std
        # the permuted NHWC storage already is channels_last; make it contiguous
        # in the layout the model runs in
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return x.contiguous(memory_format=fmt)


# --------------------------------------------------------------------------
# Augmentation (vectorised, on the device, seeded)
# --------------------------------------------------------------------------
def random_flip(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image of ``x`` (B, H, W, C), any dtype, left–right with
    probability ``p``; a new tensor of the same shape and dtype. The draws
    come from ``generator`` (on ``x``'s device)."""
    if x.ndim != 4:
        raise ValueError(f"x.shape={tuple(x.shape)}; allowed: (B, H, W, C)")
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < p
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(2), x)


def random_translate(x: torch.Tensor, pixels: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image of ``x`` (B, H, W, C), any dtype, by an independent
    random offset in {−pixels, …, pixels}² (uniform), filling with zeros.

    Equivalently: zero-pad by ``pixels`` on every side, then cut a random
    H × W crop — done for the whole batch as one gather. ``pixels = 0``
    returns ``x`` unchanged.
    """
    if x.ndim != 4:
        raise ValueError(f"x.shape={tuple(x.shape)}; allowed: (B, H, W, C)")
    if not is_int(pixels) or pixels < 0:
        raise ValueError(f"pixels={pixels!r} is out of range; allowed: an integer >= 0")
    if pixels == 0:
        return x
    b, h, w, _ = x.shape
    padded = F.pad(x, (0, 0, pixels, pixels, pixels, pixels))  # (B, H+2p, W+2p, C), zeros
    offsets = torch.randint(0, 2 * pixels + 1, (b, 2), generator=generator, device=x.device)
    rows = offsets[:, 0:1] + torch.arange(h, device=x.device)  # (B, H)
    cols = offsets[:, 1:2] + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows.view(b, h, 1), cols.view(b, 1, w)]


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------
BatchTransform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def _batch_bounds(n: int, batch_size: int, drop_last: bool) -> list[tuple[int, int]]:
    """(start, stop) of each batch in a permutation of n samples."""
    if n <= batch_size:
        return [(0, n)]
    if drop_last:
        return [(i, i + batch_size) for i in range(0, n - batch_size + 1, batch_size)]
    bounds = [(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    if bounds[-1][1] - bounds[-1][0] == 1:  # one lone image: merge into the previous batch
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def _loss(logits: torch.Tensor, target: torch.Tensor, num_classes: int, label_smoothing: float) -> torch.Tensor:
    """Cross-entropy against int labels (B,) or soft targets (B, num_classes)."""
    if target.ndim == 2:
        if target.shape != (logits.shape[0], num_classes):
            raise ValueError(
                f"soft targets have shape {tuple(target.shape)}; allowed: ({logits.shape[0]}, {num_classes})"
            )
        target = target.float()
    elif target.ndim != 1 or target.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise ValueError(
            f"targets have dtype {target.dtype} and shape {tuple(target.shape)}; "
            f"allowed: integer ({logits.shape[0]},) or float ({logits.shape[0]}, {num_classes})"
        )
    else:
        target = target.long()
    return F.cross_entropy(logits.float(), target, label_smoothing=label_smoothing)


@contextlib.contextmanager
def _cudnn_benchmark(on: bool) -> Iterator[None]:
    """Let cuDNN benchmark convolution algorithms (batch shapes are fixed) while
    training on CUDA; restores the previous setting."""
    old = torch.backends.cudnn.benchmark
    if on:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old


def _evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, normalize: Normalizer, amp: bool, batch_size: int
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on device tensors; one host sync."""
    n = x.shape[0]
    if n == 0:
        return math.nan, math.nan
    was_training = model.training
    model.eval()
    sums = torch.zeros(2, device=x.device, dtype=torch.float32)  # (loss sum, correct); no float64 on MPS
    with torch.no_grad(), _autocast(amp, x.device):
        for i in range(0, n, batch_size):
            logits = model(normalize(x[i : i + batch_size])).float()
            yb = y[i : i + batch_size]
            sums[0] += F.cross_entropy(logits, yb, reduction="sum")
            sums[1] += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    loss_sum, correct = sums.tolist()
    return loss_sum / n, correct / n


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

    Each step: gather a batch of the on-device uint8 training tensor, flip and
    translate it (per the preset), normalise it to float NCHW, then, if given,
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
    if not is_int(seed) or seed < 0:
        out_of_range("seed", seed, "an integer >= 0")
    if not is_int(num_classes) or num_classes < 2:
        out_of_range("num_classes", num_classes, "an integer >= 2")
    if extra_batch_transform is not None and not callable(extra_batch_transform):
        raise ValueError(f"extra_batch_transform={extra_batch_transform!r}; allowed: a callable or None")
    if init_model is not None and not callable(init_model):
        raise ValueError(f"init_model={init_model!r}; allowed: a callable or None")
    xtr = _as_images(x_train, "x_train")
    n, h, w, c = (int(s) for s in xtr.shape)
    if n == 0:
        raise ValueError("x_train is empty; allowed: at least 1 image")
    if h != w:
        raise ValueError(f"x_train images are {h}×{w}; allowed: square images")
    ytr = _labels(y_train, n, num_classes, "y_train")
    if x_val is None:
        xva: np.ndarray | torch.Tensor = np.zeros((0, h, w, c), np.uint8)
        yva = np.zeros(0, np.int64)
    else:
        xva = _as_images(x_val, "x_val")
        if tuple(xva.shape[1:]) != (h, w, c):
            raise ValueError(f"x_val images have shape {tuple(xva.shape[1:])}; allowed: {(h, w, c)} as x_train")
        yva = _labels(y_val, int(xva.shape[0]), num_classes, "y_val")
    n_val = int(xva.shape[0])
    if cfg.early_stopping and n_val == 0:
        raise ValueError(f"preset {cfg.name!r} stops early (patience={cfg.patience}) and needs validation data; x_val is empty")
    flip = flip_default(dataset) if cfg.flip is None else cfg.flip

    dev = resolve_device(device)
    amp = _use_amp(cfg.amp, dev)
    channels_last = _use_channels_last(cfg.channels_last, dev)
    normalize = Normalizer(dataset, c, dev, channels_last)

    torch.manual_seed(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    model = build_model(model_name, c, num_classes, h, seed=seed)
    if init_model is not None:
        init_model(model)
    model = model.to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)

    x_tr = _to_device_images(xtr, dev)
    y_tr = torch.tensor(ytr, device=dev)
    x_va = _to_device_images(xva, dev)
    y_va = torch.tensor(yva, device=dev)

    if cfg.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
    else:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    bounds = _batch_bounds(n, cfg.batch_size, cfg.drop_last)
    total_steps = len(bounds) * cfg.max_epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: lr_factor(cfg.schedule, min(t, total_steps - 1), total_steps, cfg.warmup_fraction)
    )

    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_acc": [], "seconds": []}
    best_loss, best_epoch, best_state, bad_epochs = math.inf, 0, None, 0
    stopped_early = False
    bar = progress_bar(range(1, cfg.max_epochs + 1), desc=f"train {model_name} ({cfg.name})", unit="epoch",
                     enabled=progress, leave=False)
    model.train()
    with _cudnn_benchmark(dev.type == "cuda"):
        for epoch in bar:
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen, device=dev)
            loss_sum = torch.zeros((), device=dev)
            seen = 0
            for start, stop in bounds:
                idx = perm[start:stop]
                xb = x_tr[idx]
                if flip:
                    xb = random_flip(xb, gen)
                if cfg.translate:
                    xb = random_translate(xb, cfg.translate, gen)
                xin = normalize(xb)
                target = y_tr[idx]
                if extra_batch_transform is not None:
                    xin, target = extra_batch_transform(xin, target, gen)
                with _autocast(amp, dev):
                    logits = model(xin)
                loss = _loss(logits, target, num_classes, cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                sched.step()
                loss_sum += loss.detach() * (stop - start)
                seen += stop - start
            train_loss = loss_sum.item() / seen  # the epoch's one host sync
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training diverged: train loss is {train_loss} in epoch {epoch} "
                    f"(model {model_name}, preset {cfg.name}, lr={cfg.lr}); try a lower lr or grad_clip"
                )
            val_loss, val_acc = _evaluate(model, x_va, y_va, normalize, amp, EVAL_BATCH_SIZE)
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
            history["seconds"].append(time.perf_counter() - t0)
            if progress:
                bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_acc:.3f}")
            if cfg.early_stopping:
                if val_loss < best_loss - cfg.min_delta:
                    best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    bad_epochs += 1
                    if bad_epochs >= cfg.patience:  # type: ignore[operator]
                        stopped_early = epoch < cfg.max_epochs
                        break
            else:
                best_epoch = epoch
    bar.close()
    if cfg.early_stopping and best_state is not None:
        model.load_state_dict(best_state)
    elif cfg.early_stopping:  # validation loss never finite: keep the final weights
        best_epoch = len(history["train_loss"])
    model.eval()
    return TrainedVictim(
        model=model,
        device=str(dev),
        epochs_run=len(history["train_loss"]),
        best_epoch=best_epoch,
        stopped_early=stopped_early,
        history=history,
        val_acc=history["val_acc"][best_epoch - 1],
        seconds=time.perf_counter() - started,
        preset=cfg.to_dict(),
        seed=int(seed),
    )


# --------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------
def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _batched(
    model: nn.Module,
    x: Any,
    fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    dataset: str,
    device: str | torch.device | None,
    batch_size: int,
    amp: bool,
    field: str = "x",
) -> Iterator[torch.Tensor]:
    images = _as_images(x, field)
    if not is_int(batch_size) or batch_size < 1:
        out_of_range("batch_size", batch_size, "an integer >= 1")
    if device is None:
        dev = _model_device(model)
    else:
        dev = resolve_device(device)
        model.to(dev)
    use_amp = _use_amp(amp, dev)
    channels_last = _use_channels_last(True, dev) and _model_device(model).type == "cuda"
    normalize = Normalizer(dataset, int(images.shape[-1]), dev, channels_last)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _autocast(use_amp, dev):
            for i in range(0, int(images.shape[0]), batch_size):
                yield fn(normalize(_to_device_images(images[i : i + batch_size], dev)))
    finally:
        model.train(was_training)


def predict(
    model: nn.Module,
    x_uint8_nhwc: np.ndarray | torch.Tensor,
    *,
    dataset: str,
    device: str | torch.device | None = None,
    batch_size: int = EVAL_BATCH_SIZE,
    amp: bool = True,
) -> np.ndarray:
    """Predicted labels (n,) int64 of ``model`` on uint8 images (n, H, W, C).

    Runs in eval mode without gradients (the model's mode is restored),
    batch by batch, with bf16 autocast on CUDA if ``amp``. ``device``: None =
    where the model's parameters are; otherwise the model is moved there.
    """
    out = [
        logits.argmax(1).cpu()
        for logits in _batched(model, x_uint8_nhwc, model, dataset=dataset, device=device, batch_size=batch_size, amp=amp)
    ]
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, np.int64)


def features(
    model: nn.Module,
    x_uint8_nhwc: np.ndarray | torch.Tensor,
    *,
    dataset: str,
    device: str | torch.device | None = None,
    batch_size: int = EVAL_BATCH_SIZE,
    amp: bool = False,
) -> np.ndarray:
    """Penultimate representations ``model.features(x)``, float32 (n, D).

    As :func:`predict`; autocast is off by default here, because defenses
    (spectral signatures' SVD, activation clustering's ICA) want float32
    precision.
    """
    fn = model.features  # type: ignore[attr-defined]
    out = [
        f.float().cpu()
        for f in _batched(model, x_uint8_nhwc, fn, dataset=dataset, device=device, batch_size=batch_size, amp=amp)
    ]
    if not out:
        dim = getattr(model, "feature_dim", 0)
        return np.zeros((0, dim), np.float32)
    return torch.cat(out).numpy()
