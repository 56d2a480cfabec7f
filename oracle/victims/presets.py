"""Training presets: every hyper-parameter of victim training, without torch.

The presets are plain data so that result-cache keys (which include a
preset's :meth:`TrainPreset.to_dict`) can be computed by ``backfire status``
and ``backfire solve`` without importing torch. :mod:`oracle.victims.train` runs them;
see its docstring for what each preset is and why.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

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
    "is_int",
    "lr_factor",
    "out_of_range",
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
def out_of_range(field: str, value: object, allowed: str) -> None:
    """Raise the one-line error for a field outside what is allowed."""
    raise ValueError(f"{field}={value!r} is out of range; allowed: {allowed}")


def is_int(value: object) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_real(field: str, value: object, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> None:
    if not _is_real(value) or not math.isfinite(float(value)):
        out_of_range(field, value, _interval(lo, hi, lo_open, hi_open))
    v = float(value)  # type: ignore[arg-type]
    if (v <= lo if lo_open else v < lo) or (v >= hi if hi_open else v > hi):
        out_of_range(field, value, _interval(lo, hi, lo_open, hi_open))


def _interval(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    left = "(" if lo_open else "["
    right = ")" if hi_open or math.isinf(hi) else "]"
    hi_s = "inf" if math.isinf(hi) else f"{hi:g}"
    return f"a number in {left}{lo:g}, {hi_s}{right}"


def _check_int(field: str, value: object, lo: int) -> None:
    if not is_int(value) or int(value) < lo:  # type: ignore[arg-type]
        out_of_range(field, value, f"an integer >= {lo}")


def _check_bool(field: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, bool):
        out_of_range(field, value, "True or False" + (" or None" if allow_none else ""))


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

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            out_of_range("name", self.name, "a non-empty string")
        if self.optimizer not in OPTIMIZERS:
            out_of_range("optimizer", self.optimizer, "one of " + ", ".join(OPTIMIZERS))
        _check_real("lr", self.lr, 0.0, math.inf, lo_open=True)
        _check_real("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        _check_bool("nesterov", self.nesterov)
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            out_of_range("nesterov", self.nesterov, "False when momentum = 0 (Nesterov needs momentum > 0)")
        _check_real("weight_decay", self.weight_decay, 0.0, math.inf)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("max_epochs", self.max_epochs, 1)
        if self.schedule not in SCHEDULES:
            out_of_range("schedule", self.schedule, "one of " + ", ".join(SCHEDULES))
        _check_real("warmup_fraction", self.warmup_fraction, 0.0, 1.0, hi_open=True)
        _check_real("label_smoothing", self.label_smoothing, 0.0, 1.0, hi_open=True)
        _check_bool("flip", self.flip, allow_none=True)
        _check_int("translate", self.translate, 0)
        if self.patience is not None:
            _check_int("patience", self.patience, 1)
        _check_real("min_delta", self.min_delta, 0.0, math.inf)
        _check_bool("amp", self.amp)
        _check_bool("channels_last", self.channels_last)
        _check_bool("drop_last", self.drop_last)
        if self.grad_clip is not None:
            _check_real("grad_clip", self.grad_clip, 0.0, math.inf, lo_open=True)
        # canonical Python types, so that to_dict() is JSON-stable
        for f in ("lr", "momentum", "weight_decay", "warmup_fraction", "label_smoothing", "min_delta"):
            object.__setattr__(self, f, float(getattr(self, f)))
        for f in ("batch_size", "max_epochs", "translate"):
            object.__setattr__(self, f, int(getattr(self, f)))
        if self.patience is not None:
            object.__setattr__(self, "patience", int(self.patience))
        if self.grad_clip is not None:
            object.__setattr__(self, "grad_clip", float(self.grad_clip))

    @property
    def early_stopping(self) -> bool:
        return self.patience is not None

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-serialisable dict (``TrainPreset(**d)`` rebuilds it).

        For result-cache keys, combine it with :data:`TRAINER_VERSION`.
        """
        return dataclasses.asdict(self)

    def replace(self, **overrides: Any) -> "TrainPreset":
        """A copy with some fields changed (validated; unknown fields raise ValueError)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"unknown preset field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
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
    # The paper's recipe with the changes the victim ablation (issue 14,
    # docs/reproduction.md) shows the CPU needs; the reasons, setting by
    # setting, are in oracle.victims.train's docstring.
    "paper-cpu": TrainPreset(
        name="paper-cpu",
        optimizer="sgd",
        lr=0.1,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        batch_size=128,
        max_epochs=30,
        schedule="onecycle",
        warmup_fraction=0.2,
        label_smoothing=0.0,
        flip=False,
        translate=0,
        patience=None,
        min_delta=0.0,
        amp=False,
        channels_last=False,
        drop_last=False,
        grad_clip=None,
    ),
}


def get_preset(name: str | TrainPreset, **overrides: Any) -> TrainPreset:
    """The preset ``name`` (a key of :data:`PRESETS`, or a TrainPreset), with
    ``overrides`` applied and validated. Unknown names and fields raise
    ``ValueError`` listing the known ones."""
    if isinstance(name, TrainPreset):
        base = name
    elif isinstance(name, str) and name in PRESETS:
        base = PRESETS[name]
    else:
        raise ValueError(f"preset={name!r} is not a known preset; known: {', '.join(PRESETS)}")
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
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return (total_steps - step) / total_steps
    if schedule == "onecycle":
        warm = int(warmup_fraction * total_steps)
        if step < warm:
            return ONECYCLE_START_FACTOR + (1.0 - ONECYCLE_START_FACTOR) * step / warm
        return (total_steps - step) / (total_steps - warm)
    raise ValueError(f"schedule={schedule!r} is not known; known: {', '.join(SCHEDULES)}")


# --------------------------------------------------------------------------
# Device
# --------------------------------------------------------------------------
