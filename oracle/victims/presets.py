"""Training presets: every hyper-parameter of victim training, without torch.

The presets are plain data so that result-cache keys (which include a
preset's :meth:`TrainPreset.to_dict`) can be computed by ``backfire status``
and ``backfire solve`` without importing torch. :mod:`oracle.victims.train` runs them;
see its docstring for what each preset is and why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from strategies.validate import check_bool, check_int, check_name, check_real, check_str, out_of_range

from oracle.data.joint import VALIDATION_SETS

__all__ = [
    "FLIP_DATASETS",
    "ONECYCLE_START_FACTOR",
    "OPTIMIZERS",
    "PRESETS",
    "SCHEDULES",
    "TRAINER_VERSION",
    "TrainPreset",
    "flip_default",
    "get_preset",
    "lr_factor",
]

#: Bump when the training loop changes in a way that changes results, so
#: that result caches keyed on ``(TRAINER_VERSION, preset.to_dict(), ...)``
#: never silently reuse an old computation.
TRAINER_VERSION = 1

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
SCHEDULES: tuple[str, ...] = ("constant", "linear", "onecycle")

#: Datasets whose classes survive a horizontal mirror (``flip=None`` → on).
FLIP_DATASETS: frozenset[str] = frozenset({"cifar10", "stl10"})

#: One-cycle schedule: the lr starts at this fraction of the peak and rises
#: linearly to the peak over ``warmup_fraction`` of the steps (airbench94's
#: schedule: 0.2 → 1 → 0).
ONECYCLE_START_FACTOR = 0.2


# --------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainPreset:
    """Every hyper-parameter of one training run. Fields are checked when built.

    Fields
    ------
    name: label for reports (the preset it came from).
    optimizer: ``"sgd"`` or ``"adam"`` (Adam ignores ``momentum``/``nesterov``).
    lr: peak learning rate, > 0.
    momentum: SGD momentum in [0, 1).
    nesterov: Nesterov momentum (SGD; needs ``momentum > 0``).
    weight_decay: L2 penalty (coupled, as ``torch.optim.SGD`` applies it), ≥ 0.
    batch_size: training batch size, ≥ 1.
    max_epochs: epochs to train (the exact number without early stopping), ≥ 1.
    schedule: per-step lr factor (:func:`lr_factor`): ``"constant"``;
        ``"linear"`` decay from lr to 0; ``"onecycle"``: linear warm-up from
        ``ONECYCLE_START_FACTOR``·lr over ``warmup_fraction`` of the steps,
        then linear decay to 0. The schedule spans ``max_epochs``.
    warmup_fraction: in [0, 1), used by ``"onecycle"``.
    label_smoothing: in [0, 1), as ``F.cross_entropy``'s.
    flip: random horizontal flips (p = 0.5); ``None`` = by dataset
        (:func:`flip_default`).
    translate: random translation by up to this many pixels in each
        direction (zero-padded random crop), ≥ 0; 0 = off.
    patience: early stopping: stop once validation loss has not improved by
        more than ``min_delta`` for this many epochs, then restore the best
        weights; ``None`` = no early stopping (final weights kept).
    min_delta: ≥ 0, see ``patience``.
    amp: bf16 autocast on CUDA (ignored elsewhere).
    channels_last: NHWC memory format for model and inputs on CUDA.
    drop_last: drop the last incomplete batch of an epoch (a fresh random
        subset is dropped each epoch). When kept, a trailing batch of a single
        image is merged into the batch before it (batch norm cannot train on
        one sample).
    grad_clip: clip the gradients' global L2 norm to this value; ``None`` = off.
    validation: what the validation set (early stopping, ``val_acc``) holds,
        one of :data:`VALIDATION_SETS`; applied where the split is built
        (:meth:`oracle.data.joint.JointDataset.validation_set`). Left out of
        :meth:`to_dict` at its default, ``"poisoned"``, so that the keys of
        results computed before the field existed stay valid.
    """

    name: str = "custom"
    optimizer: str = "sgd"
    lr: float = 0.2
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 512
    max_epochs: int = 10
    schedule: str = "onecycle"
    warmup_fraction: float = 0.2
    label_smoothing: float = 0.2
    flip: bool | None = None
    translate: int = 2
    patience: int | None = None
    min_delta: float = 0.0
    amp: bool = True
    channels_last: bool = True
    drop_last: bool = True
    grad_clip: float | None = None
    validation: str = "poisoned"

    def __post_init__(self) -> None:
        check_str("name", self.name)
        check_name("optimizer", self.optimizer, OPTIMIZERS)
        reals = {"lr": (0.0, None, True, False), "momentum": (0.0, 1.0, False, True),
                 "weight_decay": (0.0, None, False, False), "warmup_fraction": (0.0, 1.0, False, True),
                 "label_smoothing": (0.0, 1.0, False, True), "min_delta": (0.0, None, False, False),
                 "grad_clip": (0.0, None, True, False)}
        ints = {"batch_size": 1, "max_epochs": 1, "translate": 0, "patience": 1}
        optional = ("grad_clip", "patience", "flip")  # None = off / by dataset
        # canonical Python types (the checks' return values), so that to_dict() is JSON-stable
        for f, (low, high, low_open, high_open) in reals.items():
            if getattr(self, f) is not None or f not in optional:
                v = check_real(f, getattr(self, f), low, high, low_open=low_open, high_open=high_open)
                object.__setattr__(self, f, v)
        for f, low in ints.items():
            if getattr(self, f) is not None or f not in optional:
                object.__setattr__(self, f, check_int(f, getattr(self, f), low))
        for f in ("nesterov", "amp", "channels_last", "drop_last", "flip"):
            if getattr(self, f) is not None or f not in optional:
                object.__setattr__(self, f, check_bool(f, getattr(self, f)))
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            out_of_range("nesterov", self.nesterov, "False when momentum = 0 (Nesterov needs momentum > 0)")
        check_name("schedule", self.schedule, SCHEDULES)
        check_name("validation", self.validation, VALIDATION_SETS, plural="validation sets")

    @property
    def early_stopping(self) -> bool:
        return self.patience is not None

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-serialisable dict (``TrainPreset(**d)`` rebuilds it).

        For result-cache keys, combine it with :data:`TRAINER_VERSION`.
        ``validation`` is left out at its default (the dict, and so every
        key, is the one from before the field existed).
        """
        d = dataclasses.asdict(self)
        if d["validation"] == VALIDATION_SETS[0]:
            del d["validation"]
        return d

    def replace(self, **overrides: Any) -> "TrainPreset":
        """A copy with some fields changed (validated; unknown fields raise ValueError)."""
        known = [f.name for f in dataclasses.fields(self)]
        for field in overrides:
            check_name("preset field", field, known)
        return dataclasses.replace(self, **overrides)


PRESETS: dict[str, TrainPreset] = {
    "paper": TrainPreset(
        name="paper",
        optimizer="sgd",
        lr=0.001,
        momentum=0.9,
        nesterov=False,
        weight_decay=0.0,
        batch_size=128,
        max_epochs=200,
        schedule="constant",
        warmup_fraction=0.0,
        label_smoothing=0.0,
        flip=False,
        translate=0,
        patience=5,
        min_delta=0.0,
        amp=False,
        channels_last=False,
        drop_last=False,
        grad_clip=None,
    ),
    "fast": TrainPreset(
        name="fast",
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        batch_size=256,
        max_epochs=10,
        schedule="onecycle",
        warmup_fraction=0.2,
        label_smoothing=0.2,
        flip=None,
        translate=2,
        patience=None,
        min_delta=0.0,
        amp=True,
        channels_last=True,
        drop_last=True,
        grad_clip=None,
    ),
    "tiny": TrainPreset(
        name="tiny",
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        batch_size=32,
        max_epochs=12,
        schedule="onecycle",
        warmup_fraction=0.2,
        label_smoothing=0.1,
        flip=None,
        translate=0,
        patience=None,
        min_delta=0.0,
        amp=True,
        channels_last=True,
        drop_last=True,
        grad_clip=None,
    ),
}
# The paper's recipe with only the changes the victim ablation (issue 14,
# docs/reproduction.md) shows the CPU needs: the optimiser SmallCNN learns
# with on a subset, 30 epochs, no early stopping. The reasons, setting by
# setting, are in oracle.victims.train's docstring.
PRESETS["paper-cpu"] = dataclasses.replace(
    PRESETS["paper"], name="paper-cpu", lr=0.1, nesterov=True, weight_decay=5e-4, max_epochs=30,
    schedule="onecycle", warmup_fraction=0.2, patience=None,
)


def get_preset(name: str | TrainPreset, **overrides: Any) -> TrainPreset:
    """The preset ``name`` (a key of :data:`PRESETS`, or a TrainPreset), with
    ``overrides`` applied and validated. Unknown names and fields raise
    ``ValueError`` listing the known ones."""
    if isinstance(name, TrainPreset):
        base = name
    else:
        base = PRESETS[check_name("preset", name, PRESETS)]
    return base.replace(**overrides) if overrides else base


def flip_default(dataset: str) -> bool:
    """Whether random horizontal flips are on for ``flip=None``: True for
    :data:`FLIP_DATASETS` (natural images), False otherwise (digits)."""
    return dataset in FLIP_DATASETS


def lr_factor(schedule: str, step: int, total_steps: int, warmup_fraction: float = 0.0) -> float:
    """Multiplier of the peak lr at optimiser step ``step`` (0-based) of ``total_steps``.

    constant: 1. linear: (T − t)/T. onecycle: with W = ⌊warmup_fraction·T⌋,
    s + (1 − s)·t/W for t < W (s = ONECYCLE_START_FACTOR), then (T − t)/(T − W).
    """
    check_name("schedule", schedule, SCHEDULES)
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return (total_steps - step) / total_steps
    if schedule == "onecycle":
        warm = int(warmup_fraction * total_steps)
        if step < warm:
            return ONECYCLE_START_FACTOR + (1.0 - ONECYCLE_START_FACTOR) * step / warm
        return (total_steps - step) / (total_steps - warm)
    raise AssertionError(f"schedule {schedule!r} has no factor")


# --------------------------------------------------------------------------
# Device
# --------------------------------------------------------------------------
