"""The triggers of ``N`` attackers as arrays (:class:`Triggers`), and the
checks of the arguments every trigger generator takes.

Notation (the paper's, Datta & Shadbolt App. 6.1.8): an image ``x`` has
``H × W × C`` pixels (the paper's ``l × w × c``), values in [0, 255]. A
trigger is a binary *shape mask* ``z ∈ {0, 1}^{H×W}`` (repeated over the
channels) and a *colour pattern* ``m ∈ [0, 255]^{H×W×C}``, zero where
``z = 0``. The poisoned image is

    x_poison = x ⊙ (1 − z) + m ⊙ z.

Orthogonal-BadNet blends instead of replacing: with a weight map
``a = z ⊙ o`` (``o`` an orthogonal matrix, entries in [−1, 1]),

    x_poison = clip(x ⊙ (1 − a) + m ⊙ a, 0, 255),

which is the formula above when ``a = z``.

A :class:`Triggers` holds ``masks`` of shape ``(N, H, W)`` (uint8, 0/1),
``patterns`` of shape ``(N, H, W, C)`` (float64, in [0, 255], exactly the
paper's values) and, for blended triggers, ``alpha`` of shape ``(N, H, W)``.
The generators are in :mod:`strategies.trigger_generators`; applying and
measuring them in :mod:`strategies.trigger_apply`. numpy only; never torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .validate import SEED_MAX, check_int, out_of_range

__all__ = ["Triggers", "check_eps", "check_image_shape", "check_seeds"]


# --------------------------------------------------------------------------- #
# container
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class Triggers:
    """The triggers of ``N`` attackers, as arrays.

    Attributes
    ----------
    masks : ndarray, shape (N, H, W), uint8
        Shape masks ``z_i``: 1 where attacker i's trigger replaces the pixel
        (in every channel), 0 elsewhere.
    patterns : ndarray, shape (N, H, W, C), float64
        Colour patterns ``m_i`` in [0, 255], zero where the mask is 0. Kept in
        float64 so that they equal the paper's ``uniform(0, 1) * 255``
        bit for bit (32×32×3, 1,000 attackers: 24.6 MB).
    values : ndarray, shape (N, H, W, C), uint8
        What a triggered pixel becomes in a uint8 image:
        ``rint(patterns)``, rounding half to even (numpy's ``rint``), 0 where
        the mask is 0. Computed on construction.
    alpha : ndarray, shape (N, H, W), float64, or None
        Blend weights ``a_i`` in [−1, 1], zero where the mask is 0:
        :func:`apply_triggers` computes ``clip(x ⊙ (1 − a) + m ⊙ a, 0, 255)``
        (Orthogonal-BadNet). None for replacement triggers, where ``a = z``.

    The arrays are read-only copies. ``len(triggers)`` is ``N``;
    ``triggers[idx]`` selects attackers (an int, slice or index array) and
    returns a :class:`Triggers`.
    """

    masks: np.ndarray
    patterns: np.ndarray
    alpha: np.ndarray | None = None
    values: np.ndarray = field(init=False, repr=False)
    keep: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        masks = np.array(self.masks, copy=True)
        patterns = np.array(self.patterns, dtype=np.float64, copy=True)
        if masks.ndim != 3:
            raise ValueError(f"masks.shape={masks.shape} is not (N, H, W)")
        if patterns.ndim != 4 or patterns.shape[:3] != masks.shape:
            raise ValueError(
                f"patterns.shape={patterns.shape} does not match masks.shape="
                f"{masks.shape}: expected (N, H, W, C) with the same N, H, W"
            )
        if masks.size and (masks.min() < 0 or masks.max() > 1 or (masks != masks.round()).any()):
            out_of_range("masks", float(masks[(masks != 0) & (masks != 1)][0]), "0 or 1")
        masks = masks.astype(np.uint8, copy=False)
        if patterns.size:
            if not np.isfinite(patterns).all() or patterns.min() < 0 or patterns.max() > 255:
                bad = patterns[~((patterns >= 0) & (patterns <= 255))]
                out_of_range("patterns", float(bad[0]), "[0, 255]")
            outside = patterns[masks == 0]
            if np.any(outside):
                out_of_range("patterns", float(outside[outside != 0][0]), "0 where the mask is 0")
        alpha = None if self.alpha is None else _check_alpha(self.alpha, masks)
        self._finish(masks, patterns, alpha)

    @classmethod
    def _trusted(
        cls, masks: np.ndarray, patterns: np.ndarray, alpha: np.ndarray | None = None
    ) -> "Triggers":
        """Build from arrays the generators made (no copy, no checks)."""
        self = object.__new__(cls)
        self._finish(masks, patterns, alpha)
        return self

    def _finish(self, masks: np.ndarray, patterns: np.ndarray, alpha: np.ndarray | None) -> None:
        values = np.rint(patterns).astype(np.uint8)
        c = patterns.shape[-1]
        keep = np.repeat((np.uint8(1) - masks)[..., None] * np.uint8(255), c, axis=-1)
        for a in (masks, patterns, values, keep) + (() if alpha is None else (alpha,)):
            a.setflags(write=False)
        object.__setattr__(self, "masks", masks)
        object.__setattr__(self, "patterns", patterns)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "keep", keep)

    def __len__(self) -> int:
        return self.masks.shape[0]

    def __getitem__(self, idx: Any) -> "Triggers":
        if isinstance(idx, (int, np.integer)):
            idx = [int(idx)]
        alpha = None if self.alpha is None else np.ascontiguousarray(self.alpha[idx])
        return Triggers._trusted(
            np.ascontiguousarray(self.masks[idx]), np.ascontiguousarray(self.patterns[idx]), alpha
        )

    def __repr__(self) -> str:
        return f"Triggers(n={len(self)}, image_shape={self.image_shape})"

    @property
    def n(self) -> int:
        """Number of attackers ``N``."""
        return self.masks.shape[0]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)``."""
        return tuple(self.patterns.shape[1:])  # type: ignore[return-value]

    @property
    def weights(self) -> np.ndarray:
        """Blend weights ``a_i``, shape (N, H, W), float64: ``alpha``, or the
        masks for replacement triggers (``a = z``)."""
        return self.masks.astype(np.float64) if self.alpha is None else self.alpha

    @property
    def mask_fraction(self) -> np.ndarray:
        """Fraction of pixels each attacker's trigger covers, shape (N,)."""
        n, h, w = self.masks.shape
        return self.masks.reshape(n, h * w).mean(axis=1)


# --------------------------------------------------------------------------- #
# argument checks
# --------------------------------------------------------------------------- #


def _check_alpha(alpha: Any, masks: np.ndarray) -> np.ndarray:
    alpha = np.array(alpha, dtype=np.float64, copy=True)
    if alpha.shape != masks.shape:
        raise ValueError(f"alpha.shape={alpha.shape} does not match masks.shape={masks.shape}")
    if alpha.size and (not np.isfinite(alpha).all() or np.abs(alpha).max() > 1):
        out_of_range("alpha", float(alpha[~(np.abs(alpha) <= 1)][0]), "[-1, 1]")
    outside = alpha[masks == 0]
    if np.any(outside):
        out_of_range("alpha", float(outside[outside != 0][0]), "0 where the mask is 0")
    return alpha


def check_image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(image_shape)
    if len(shape) != 3:
        raise ValueError(
            f"image_shape={shape!r} is not (H, W, C): give the channel count, "
            f"e.g. (28, 28, 1) or (32, 32, 3)"
        )
    h = check_int("image_shape[0] (height)", shape[0], 1)
    w = check_int("image_shape[1] (width)", shape[1], 1)
    c = check_int("image_shape[2] (channels)", shape[2], 1)
    return h, w, c


def check_seeds(seeds: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(seeds)
    if arr.ndim != 1:
        raise ValueError(f"seeds has shape {arr.shape}; allowed: a 1-D array of integers")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"seeds has dtype {arr.dtype}; allowed: a 1-D array of integers")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > SEED_MAX):
        bad = arr[(arr < 0) | (arr > SEED_MAX)][0]
        out_of_range("seed", int(bad), f"[0, {SEED_MAX}]")
    return arr


def check_eps(eps: float | Iterable[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(eps, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"eps has shape {arr.shape}: expected a scalar or shape ({n},)")
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        out_of_range("eps", float(arr[bad][0]), "[0, 1]")
    return arr
