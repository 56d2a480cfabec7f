"""Backdoor trigger generators, vectorised over attackers.

Datta & Shadbolt, *Backdoors Stuck at the Frontdoor*, App. 6.1.8 (BadNet,
Random-BadNet, Orthogonal-BadNet) and §6.2.5 / Tables 3–4 (trigger
distances). numpy and scipy only; never torch.

Notation (the paper's): an image ``x`` has ``H × W × C`` pixels (the paper's
``l × w × c``), values in [0, 255]. A trigger is a binary *shape mask*
``z ∈ {0, 1}^{H×W}`` (repeated over the channels) and a *colour pattern*
``m ∈ [0, 255]^{H×W×C}``, zero where ``z = 0``. The poisoned image is

    x_poison = x ⊙ (1 − z) + m ⊙ z.

Orthogonal-BadNet blends instead of replacing: with a weight map
``a = z ⊙ o`` (``o`` an orthogonal matrix, entries in [−1, 1]),

    x_poison = clip(x ⊙ (1 − a) + m ⊙ a, 0, 255),

which is the formula above when ``a = z``.

For ``N`` attackers the generators return a :class:`Triggers` with
``masks`` of shape ``(N, H, W)`` (uint8, 0/1), ``patterns`` of shape
``(N, H, W, C)`` (float64, in [0, 255], exactly the paper's values) and,
for blended triggers, ``alpha`` of shape ``(N, H, W)``; and
:func:`apply_triggers` poisons a batch of images, each with its attacker's
row, in one vectorised operation.

Generators (all take per-attacker ``seeds`` and ``eps`` arrays, so one call
covers a population where some attackers escalate ε):

* :func:`random_badnet`: the paper's Random-BadNet, bit for bit.
* :func:`orthogonal_badnet`: the paper's Orthogonal-BadNet formula
  ``x ⊙ (1 − z ⊙ o_i) + m ⊙ z ⊙ o_i``: the trigger stays inside the shape z.
* :func:`rotated_badnet`: our earlier reading, ``clip(Q_i @ base)``: dense,
  strong patterns (60–76% of the image at every ε).
* :func:`patch_badnet`: the classic BadNet corner square.
* :func:`empty_triggers`: no pixel trigger (the ``edge-case`` attack, whose
  trigger is the edge-case input itself).

:data:`TRIGGERS` is the registry of trigger names an attacker action may use;
:func:`make_triggers` builds the triggers of a list of attacker actions;
:func:`trigger_key` is the versioned name under which a trigger enters
content keys (a trigger whose construction changed gets a new version, so
cached results of the old construction are not reused).

Reproduction of the paper's Table 3 (Random-BadNet, 32×32×3, attackers
0–4 seeded 0–4): the *shape* cosine distances to attacker 1 that
:func:`cosine_distances_to_first` computes equal the printed ones to all three
printed decimals (ε = 0.15: 0.849, 0.850, 0.873, 0.785 against the printed
0.849, 0.849, 0.873, 0.785; ε = 0.55: 0.458, 0.454, 0.456, 0.445; ε = 0.95:
0.053, 0.046, 0.044, 0.049, both identical), which confirms the draw order
and the seeds. The *shape+colour* distances come out at 0.892, 0.890, 0.922,
0.813 / 0.592, 0.586, 0.591, 0.597 / 0.289, 0.281, 0.287, 0.299 against the
printed 0.904, 0.883, 0.895, 0.819 / 0.598, 0.572, 0.580, 0.582 / 0.286,
0.283, 0.282, 0.283: the same level (about 1 − 0.75 ε, the expectation for
independent uniform colours), not the same digits. No variant of the colour
draw that we tried (``(C, H, W)`` order, one colour per pixel, draws only
under the mask, per-pixel loops, uint8 patterns, a fresh generator for the
colours) reproduces them either; we keep the draw the issue specifies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .registry import Registry
from .validate import SEED_MAX, check_int, round_half_up

__all__ = [
    "ORTHOGONAL_BASE_SEED",
    "TRIGGERS",
    "TriggerSpec",
    "Triggers",
    "apply_triggers",
    "cosine_distances_to_first",
    "empty_triggers",
    "make_triggers",
    "orthogonal_badnet",
    "patch_badnet",
    "patch_side",
    "random_badnet",
    "rotated_badnet",
    "trigger_key",
]

#: Seed of the base trigger that all Orthogonal-BadNet attackers share: the
#: Random-BadNet draw of attacker 0.
ORTHOGONAL_BASE_SEED = 0

#: Pixel value of the Patch-BadNet square (white).
PATCH_VALUE = 255.0


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
            raise ValueError("masks must contain only 0 and 1")
        masks = masks.astype(np.uint8, copy=False)
        if patterns.size:
            if not np.isfinite(patterns).all() or patterns.min() < 0 or patterns.max() > 255:
                raise ValueError("patterns must lie in [0, 255]")
            if np.any(patterns[masks == 0]):
                raise ValueError("patterns must be 0 where the mask is 0")
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
        raise ValueError("alpha must lie in [-1, 1]")
    if np.any(alpha[masks == 0]):
        raise ValueError("alpha must be 0 where the mask is 0")
    return alpha


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
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


def _seeds(seeds: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(seeds)
    if arr.ndim != 1:
        raise ValueError(f"seeds must be a 1-D array of ints, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"seeds must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > SEED_MAX):
        bad = arr[(arr < 0) | (arr > SEED_MAX)][0]
        raise ValueError(f"seed={int(bad)} is out of range: allowed [0, {SEED_MAX}]")
    return arr


def _eps(eps: float | Iterable[float] | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(eps, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"eps has shape {arr.shape}: expected a scalar or shape ({n},)")
    bad = ~((arr >= 0) & (arr <= 1))
    if bad.any():
        raise ValueError(f"eps={float(arr[bad][0])!r} is out of range: allowed [0, 1]")
    return arr


# --------------------------------------------------------------------------- #
# generators
# --------------------------------------------------------------------------- #


def random_badnet(
    seeds: Iterable[int] | np.ndarray,
    eps: float | Iterable[float] | np.ndarray,
    image_shape: Sequence[int],
) -> Triggers:
    """Random-BadNet triggers (App. 6.1.8), one per seed.

    For attacker ``i`` with seed ``s_i`` (the paper: ``s_i = i``, from 0) and
    perturbation rate ``ε_i``, with a legacy Mersenne-Twister generator and
    exactly this draw order::

        rng = numpy.random.RandomState(s_i)
        z   = rng.choice([0, 1], size=H*W, p=[1 - ε_i, ε_i]).reshape(H, W)
        m   = rng.uniform(0, 1, size=(H, W, C)) * 255
        m[z == 0] = 0                       # m ⊙ z, z repeated over channels

    so each pixel is in the shape with probability ``ε_i`` (about
    ``ε_i · H · W`` pixels) and gets an independent uniform colour per
    channel. ``RandomState`` streams are frozen by numpy's compatibility
    policy (NEP 19), which is what makes the triggers reproducible bit for
    bit across numpy versions and platforms.

    Vectorisation: one ``RandomState`` object is re-seeded per attacker
    (``rs.seed(s)`` gives the same state as ``RandomState(s)`` at a fifth of
    the cost) and only the two draws above run per attacker; attackers with
    the same ``(seed, ε)`` share one draw. Masking and everything downstream
    is array-wide.

    Parameters
    ----------
    seeds : (N,) ints in [0, 2**32 − 1]
    eps : float or (N,) floats in [0, 1]
    image_shape : (H, W, C)

    >>> t = random_badnet([0, 1, 2], 0.55, (32, 32, 3))
    >>> t.masks.shape, t.patterns.shape
    ((3, 32, 32), (3, 32, 32, 3))
    """
    h, w, c = _image_shape(image_shape)
    seeds = _seeds(seeds)
    n = seeds.shape[0]
    eps = _eps(eps, n)
    masks = np.empty((n, h, w), dtype=np.uint8)
    patterns = np.empty((n, h, w, c), dtype=np.float64)
    rs = np.random.RandomState(0)
    first: dict[tuple[int, float], int] = {}
    for i, (s, e) in enumerate(zip(seeds.tolist(), eps.tolist())):
        j = first.get((s, e))
        if j is not None:
            masks[i] = masks[j]
            patterns[i] = patterns[j]
            continue
        first[(s, e)] = i
        rs.seed(s)
        masks[i] = rs.choice([0, 1], size=h * w, p=[1 - e, e]).reshape(h, w)
        patterns[i] = rs.uniform(0, 1, size=(h, w, c)) * 255
    patterns *= masks[..., None]
    return Triggers._trusted(masks, patterns)


def _ortho_matrices(seeds: np.ndarray, dim: int) -> np.ndarray:
    """``scipy.stats.ortho_group.rvs(dim, random_state=s)`` for each seed."""
    from scipy.stats import ortho_group  # lazy: scipy.stats is slow to import

    out = np.empty((seeds.shape[0], dim, dim), dtype=np.float64)
    rs = np.random.RandomState(0)
    first: dict[int, int] = {}
    for i, s in enumerate(seeds.tolist()):
        j = first.get(s)
        if j is not None:
            out[i] = out[j]
            continue
        first[s] = i
        rs.seed(s)  # same state as RandomState(s), which random_state=s builds
        out[i] = ortho_group.rvs(dim, random_state=rs)
    return out


def orthogonal_badnet(
    seeds: Iterable[int] | np.ndarray,
    eps: float | Iterable[float] | np.ndarray,
    image_shape: Sequence[int],
    base_seed: int = ORTHOGONAL_BASE_SEED,
) -> Triggers:
    """Orthogonal-BadNet triggers (App. 6.1.8), the paper's formula, one per seed.

    The paper: "First, we generate a base random trigger pattern, the source
    of information sharing and coordination between the N trigger patterns
    [...] sample orthogonal matrices from the Haar distribution, multiply it
    against the original generated trigger pattern (clip values for colour
    range [0, 255])", with

        o_i = ortho_group.rvs(l) × c,
        x_poison = x ⊙ (1 − z_i ⊙ o_i) + m_i ⊙ z_i ⊙ o_i.

    Here, for attacker ``i`` with seed ``s_i`` (the paper: ``s_i = i``):

    1. *Base trigger* ``(z, m)``, shared by all attackers: the Random-BadNet
       draw with seed ``base_seed`` (default 0, attacker 0's draw) and the
       attacker's ``ε_i``, so the shape covers about ``ε_i · H · W`` pixels
       as for Random-BadNet (``z_i = z``, ``m_i = m``).
    2. ``o_i = scipy.stats.ortho_group.rvs(H, random_state=s_i)``: an
       ``H × H`` Haar orthogonal matrix, the same for every channel (the
       paper's ``× c``); element-wise products need ``H = W`` (the paper's
       ``l = w``).
    3. Blend weights ``alpha_i = z ⊙ o_i`` (in [−1, 1], zero off the shape),
       and :func:`apply_triggers` computes ``rint(clip(x ⊙ (1 − alpha_i) +
       m ⊙ alpha_i, 0, 255))``.

    So the trigger changes only pixels inside ``z`` (``masks`` is ``z``),
    and ε keeps its meaning; but inside ``z`` it moves each pixel only the
    fraction ``o_i(h, w)`` of the way to the colour (``|o| ≈ 1/√H`` for a
    Haar matrix, about 0.14 at H = 32), towards it or, where ``o_i < 0``,
    away from it: a weak, image-dependent trigger. Distances (Tables 3–4,
    :func:`cosine_distances_to_first`) are taken between the weight maps
    ``z ⊙ o_i`` (shape) and ``m ⊙ z ⊙ o_i`` (shape+colour); independent
    Haar matrices make them near 1, as Table 4 prints.

    Reproducibility: the base and the ``o_i`` draws are exact (legacy
    ``RandomState`` streams); the QR factorisation inside ``ortho_group``
    goes through LAPACK, whose last bits can differ between builds.

    >>> t = orthogonal_badnet([0, 1], 0.55, (32, 32, 3))
    >>> bool((t.alpha[t.masks == 0] == 0).all()), t.alpha.shape
    (True, (2, 32, 32))
    """
    h, w, c = _image_shape(image_shape)
    if h != w or h < 2:
        raise ValueError(
            f"image_shape={(h, w, c)} is out of range for orthogonal-badnet: it needs "
            f"square images of side >= 2 (the paper's l = w), e.g. (32, 32, 3)"
        )
    base_seed = check_int("base_seed", base_seed, 0, SEED_MAX)
    seeds = _seeds(seeds)
    eps = _eps(eps, seeds.shape[0])
    uniq_eps, eps_idx = np.unique(eps, return_inverse=True)
    base = random_badnet(np.full(uniq_eps.shape[0], base_seed), uniq_eps, (h, w, c))
    masks = base.masks[eps_idx]
    patterns = base.patterns[eps_idx]
    alpha = _ortho_matrices(seeds, h) * masks
    return Triggers._trusted(masks, patterns, alpha)


def rotated_badnet(
    seeds: Iterable[int] | np.ndarray,
    eps: float | Iterable[float] | np.ndarray,
    image_shape: Sequence[int],
    base_seed: int = ORTHOGONAL_BASE_SEED,
) -> Triggers:
    """Rotated-BadNet: our first reading of Orthogonal-BadNet (App. 6.1.8),
    kept as its own trigger (``rotated-badnet``); the paper's formula is
    :func:`orthogonal_badnet`.

    Definition (the rotation is applied as a matrix product, not the paper's
    element-wise one):

    1. *Base trigger*, shared by all attackers: the Random-BadNet pattern
       ``B`` (mask applied) drawn with seed ``base_seed`` (default 0, i.e.
       attacker 0's Random-BadNet draw) and the attacker's ``ε_i``. Attackers
       with the same ε share the same ``B``; with different ε the bases are
       nested (same seed: the shape of the larger ε contains the smaller one,
       with the same colours).
    2. *Orthogonal matrix* of attacker ``i``: ``Q_i =
       scipy.stats.ortho_group.rvs(H, random_state=s_i)`` (Haar-distributed,
       ``s_i = i`` by the paper's convention).
    3. *Pattern*: per channel ``c``, ``m_i[:, :, c] = clip(Q_i @ B[:, :, c], 0,
       255)``: ``Q_i`` rotates every column of the base pattern (a vector in
       ℝ^H) and the negative values are clipped away, as the paper says.
    4. *Mask*: the paper's ``z(l, w, c) = 1 if m(l, w, c) > 0``, taken per
       pixel: ``z_i(h, w) = 1`` iff some channel of ``m_i(h, w, ·)`` is > 0.
       A masked pixel whose other channels were clipped to 0 gets 0 there.

    Consequences worth knowing: a rotated column is dense, so ε sets the
    base's energy and which columns are non-zero, not the density of the
    resulting mask. Measured at 32×32×3, seeds 0–4: the masks cover 60–76%
    of the pixels for ε = 0.15, 0.55 and 0.95 alike (28×28×1: 43–58%); the
    cosine distances to attacker 0 are 0.27–0.41 (shape) and 0.61–0.71
    (shape+colour), against 1 − ε and about 1 − 0.75 ε for Random-BadNet, so
    the orthogonal triggers are farther apart in colour than Random-BadNet's
    for ε ≥ 0.55. So unlike the paper's Orthogonal-BadNet, whose trigger stays
    inside the base shape, these are dense and strong patterns; useful as a
    coordinated trigger family that is *not* weak (the games measured before
    issue 14 used it under the name ``orthogonal-badnet``).

    Non-square images: ``Q_i`` is ``H × H`` and multiplies from the left, so
    any width works (the paper states ``l = w``). ``H`` must be at least 2.

    Reproducibility: the base and the ``Q_i`` draws are exact (legacy
    ``RandomState`` streams); the QR factorisation inside ``ortho_group`` and
    the matrix product go through LAPACK/BLAS, whose last bits can differ
    between BLAS builds, so the oracle's environment fingerprint should
    cover numpy/scipy for these triggers.
    """
    h, w, c = _image_shape(image_shape)
    if h < 2:
        raise ValueError(
            f"image height={h} is out of range for rotated-badnet: allowed [2, inf)"
        )
    base_seed = check_int("base_seed", base_seed, 0, SEED_MAX)
    seeds = _seeds(seeds)
    n = seeds.shape[0]
    eps = _eps(eps, n)
    uniq_eps, eps_idx = np.unique(eps, return_inverse=True)
    base = random_badnet(np.full(uniq_eps.shape[0], base_seed), uniq_eps, (h, w, c))
    q = _ortho_matrices(seeds, h)  # (N, H, H)
    b = base.patterns.reshape(-1, h, w * c)[eps_idx]  # (N, H, W*C)
    patterns = np.matmul(q, b).reshape(n, h, w, c)
    np.clip(patterns, 0.0, 255.0, out=patterns)
    masks = (patterns > 0).any(axis=-1).astype(np.uint8)
    return Triggers._trusted(masks, patterns)


def patch_side(eps: float, height: int, width: int) -> int:
    """Side of the Patch-BadNet square: ``round_half_up(sqrt(ε · H · W))``,
    at least 1 when ε > 0, at most ``min(H, W)``; 0 when ε = 0.

    ε is the fraction of the image the square covers, as for Random-BadNet:
    ε = 0.01 gives the classic 3×3 square on 32×32 (and on 28×28) images.
    """
    if eps <= 0:
        return 0
    side = max(1, round_half_up(math.sqrt(eps * height * width)))
    return min(side, height, width)


def patch_badnet(
    seeds: Iterable[int] | np.ndarray,
    eps: float | Iterable[float] | np.ndarray,
    image_shape: Sequence[int],
) -> Triggers:
    """Patch-BadNet (Gu et al., 2019): a white square in the bottom-right
    corner, the static BadNet trigger the paper's Random-BadNet replaces.

    Attacker i's mask is the ``s_i × s_i`` square ``[H − s_i:, W − s_i:]``
    with ``s_i = patch_side(ε_i, H, W)``; its pattern is 255 in every channel
    on the square. The trigger does not depend on the seed (every attacker
    with the same ε has the same trigger); ``seeds`` is accepted so that all
    generators share one signature.
    """
    h, w, c = _image_shape(image_shape)
    seeds = _seeds(seeds)
    n = seeds.shape[0]
    eps = _eps(eps, n)
    sides = np.array([patch_side(e, h, w) for e in eps.tolist()], dtype=np.int64)
    rows = np.arange(h)[None, :, None] >= (h - sides)[:, None, None]
    cols = np.arange(w)[None, None, :] >= (w - sides)[:, None, None]
    masks = (rows & cols).astype(np.uint8)
    patterns = np.repeat(masks[..., None] * PATCH_VALUE, c, axis=-1)
    return Triggers._trusted(masks, patterns)


def empty_triggers(
    seeds: Iterable[int] | np.ndarray,
    eps: float | Iterable[float] | np.ndarray,
    image_shape: Sequence[int],
) -> Triggers:
    """No pixel trigger: all masks 0, so :func:`apply_triggers` leaves the
    images unchanged. Used for the ``edge-case`` attack, whose "trigger" is
    the edge-case input itself (Wang et al., 2020)."""
    h, w, c = _image_shape(image_shape)
    n = _seeds(seeds).shape[0]
    _eps(eps, n)
    return Triggers._trusted(np.zeros((n, h, w), np.uint8), np.zeros((n, h, w, c)))


# --------------------------------------------------------------------------- #
# registry
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TriggerSpec:
    """A trigger name an attacker action may use.

    ``generator(seeds, eps, image_shape) -> Triggers`` builds the pixel
    trigger (one row per attacker: ``seeds[k]`` and ``eps[k]`` are attacker
    k's; :meth:`Triggers` holds masks and patterns); ``pixel`` is False where
    the attack has no pixel trigger (the data-poisoning oracle needs one).
    ``version`` counts changes of the construction behind the name; it
    enters content keys through :func:`trigger_key`.
    """

    name: str
    description: str
    generator: Callable[..., Triggers]
    pixel: bool = True
    version: int = 1


#: The trigger registry (:mod:`strategies.registry`; a plug-in is a :class:`TriggerSpec`), in the
#: order error messages list the names.
TRIGGERS: Registry[TriggerSpec] = Registry(
    "trigger", TriggerSpec,
    (
        TriggerSpec(
            "random-badnet",
            "Random-BadNet (paper App. 6.1.8): each attacker's own random shape "
            "of density eps and random colours, seeded by its index",
            random_badnet,
        ),
        TriggerSpec(
            "orthogonal-badnet",
            "Orthogonal-BadNet (paper App. 6.1.8): a shared base random trigger "
            "blended in as x*(1 - z*o_i) + m*z*o_i with attacker i's seeded Haar "
            "orthogonal matrix o_i; stays inside the base shape z",
            orthogonal_badnet,
            version=2,  # 1: the matrix-product construction, now rotated-badnet
        ),
        TriggerSpec(
            "rotated-badnet",
            "a shared base random trigger whose columns are rotated per attacker by a "
            "seeded Haar orthogonal matrix, clip(Q_i @ base, 0, 255): dense and strong",
            rotated_badnet,
        ),
        TriggerSpec(
            "patch-badnet",
            "BadNet's classic white square in the bottom-right corner, side "
            "round(sqrt(eps*H*W))",
            patch_badnet,
        ),
        TriggerSpec(
            "clean-label",
            "clean-label backdoor (Turner et al., 2019): the attacker's Random-BadNet "
            "trigger; the oracle adds the PGD perturbation and keeps the clean labels",
            random_badnet,
        ),
        TriggerSpec(
            "edge-case",
            "edge-case backdoor (Wang et al., 2020): no pixel trigger; the oracle "
            "supplies the edge-case inputs (Southwest planes, ARDIS sevens)",
            empty_triggers,
            pixel=False,
        ),
    ),
)


def trigger_key(name: str) -> str:
    """The name under which trigger ``name`` enters content keys: the name
    itself at version 1 (so keys made before versions existed stay valid),
    ``"name@v<version>"`` from version 2 on.

    >>> trigger_key("random-badnet"), trigger_key("orthogonal-badnet")
    ('random-badnet', 'orthogonal-badnet@v2')
    """
    version = TRIGGERS[name].version
    return name if version == 1 else f"{name}@v{version}"


def make_triggers(actions: Sequence[Any], image_shape: Sequence[int]) -> Triggers:
    """The triggers of a list of attacker actions: row ``k`` is ``actions[k]``.

    Each action needs ``trigger`` (a :data:`TRIGGERS` name), ``eps`` and
    ``trigger_seed`` (see :class:`strategies.AttackerAction`). Actions with
    different trigger names may be mixed; each name's generator runs once on
    its group. With actions from ``AttackerStrategy.expand``, row ``k`` is
    attacker ``k``.
    """
    from .validate import check_name

    h, w, c = _image_shape(image_shape)
    n = len(actions)
    masks = np.zeros((n, h, w), dtype=np.uint8)
    patterns = np.zeros((n, h, w, c), dtype=np.float64)
    alpha = np.zeros((n, h, w), dtype=np.float64)
    blended = False
    groups: dict[str, list[int]] = {}
    for k, a in enumerate(actions):
        groups.setdefault(check_name("trigger", a.trigger, TRIGGERS), []).append(k)
    if len(groups) == 1:
        (name,) = groups
        return TRIGGERS[name].generator(
            [a.trigger_seed for a in actions], [a.eps for a in actions], (h, w, c)
        )
    for name, rows in groups.items():
        t = TRIGGERS[name].generator(
            [actions[k].trigger_seed for k in rows],
            [actions[k].eps for k in rows],
            (h, w, c),
        )
        masks[rows] = t.masks
        patterns[rows] = t.patterns
        alpha[rows] = t.weights
        blended |= t.alpha is not None
    return Triggers._trusted(masks, patterns, alpha if blended else None)


# --------------------------------------------------------------------------- #
# applying and measuring
# --------------------------------------------------------------------------- #


def apply_triggers(
    images: np.ndarray,
    attacker_of_image: np.ndarray | Sequence[int],
    triggers: Triggers,
    *,
    chunk_size: int = 256,
) -> np.ndarray:
    """Poison a batch of images, image ``b`` with attacker
    ``attacker_of_image[b]``'s trigger:

        x_poison[b] = x[b] ⊙ (1 − z_a) + m_a ⊙ z_a,   a = attacker_of_image[b].

    Since ``z`` is 0/1 this is ``x`` off the mask and ``m`` on it. For uint8
    images ``m`` is rounded half to even (``Triggers.values = rint(m)``),
    which is exactly ``rint`` of the float formula. It is computed as the
    bitwise expression ``(x & keep_a) | values_a`` (``keep`` is 255 off the
    mask and 0 on it; ``values`` is 0 off the mask), which equals the formula
    bit for bit and avoids float temporaries.

    Blended triggers (``triggers.alpha`` not None, Orthogonal-BadNet) give
    ``rint(clip(x ⊙ (1 − α_a) + m_a ⊙ α_a, 0, 255))`` in float64, α repeated
    over the channels; rows whose α is their mask get the same bits as above.

    Parameters
    ----------
    images : uint8 array (B, H, W, C), or (B, H, W) when C = 1
    attacker_of_image : (B,) ints in [0, N): rows of ``triggers``
    triggers : Triggers of N attackers with matching (H, W, C)
    chunk_size : images per vectorised step; 256 keeps the gathered trigger
        rows in cache (32×32×3: 0.8 MB); it does not change the result.

    Returns a new uint8 array of the shape of ``images``; the input is not
    modified.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images.dtype={images.dtype} is not uint8")
    h, w, c = triggers.image_shape
    squeeze = images.ndim == 3 and c == 1
    x = images[..., None] if squeeze else images
    if x.ndim != 4 or x.shape[1:] != (h, w, c):
        raise ValueError(
            f"images.shape={images.shape} does not match the triggers' image shape "
            f"{(h, w, c)}: expected (B, {h}, {w}, {c})"
        )
    a = np.asarray(attacker_of_image)
    if a.shape != (x.shape[0],):
        raise ValueError(
            f"attacker_of_image.shape={a.shape} does not match the {x.shape[0]} images"
        )
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"attacker_of_image must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= triggers.n):
        bad = int(a[(a < 0) | (a >= triggers.n)][0])
        raise ValueError(
            f"attacker_of_image contains {bad}: allowed [0, {max(triggers.n - 1, 0)}]"
        )
    chunk_size = check_int("chunk_size", chunk_size, 1)
    out = np.empty_like(x)
    if triggers.alpha is not None:
        for start in range(0, x.shape[0], chunk_size):
            rows = a[start : start + chunk_size]
            al = triggers.alpha[rows][..., None]
            v = x[start : start + rows.shape[0]] * (1.0 - al) + triggers.patterns[rows] * al
            out[start : start + rows.shape[0]] = np.rint(np.clip(v, 0.0, 255.0, out=v))
        return out[..., 0] if squeeze else out
    k = min(chunk_size, x.shape[0])
    keep = np.empty((k, h, w, c), dtype=np.uint8)
    vals = np.empty((k, h, w, c), dtype=np.uint8)
    for start in range(0, x.shape[0], chunk_size):
        rows = a[start : start + chunk_size]
        b = rows.shape[0]
        np.take(triggers.keep, rows, axis=0, out=keep[:b])
        np.take(triggers.values, rows, axis=0, out=vals[:b])
        dst = out[start : start + b]
        np.bitwise_and(x[start : start + b], keep[:b], out=dst)
        np.bitwise_or(dst, vals[:b], out=dst)
    return out[..., 0] if squeeze else out


def _cosine_to_first(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1)
    dots = x @ x[0]
    denom = norms * norms[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 - dots / denom
    zero = denom == 0
    # an empty trigger: distance 0 to another empty one, 1 to a non-empty one
    d[zero] = np.where((norms == 0) & (norms[0] == 0), 0.0, 1.0)[zero]
    d = np.clip(d, 0.0, 2.0)
    d[0] = 0.0
    return d


def cosine_distances_to_first(triggers: Triggers) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distances of every attacker's trigger to attacker 0's (the
    paper's "Agent 1"), as Tables 3 and 4 report them:

    * *shape*: ``1 − cos(z_0, z_i)`` on the flattened masks (repeating the
      mask over channels does not change it);
    * *shape+colour*: ``1 − cos(z_0 ⊙ m_0, z_i ⊙ m_i)`` on the flattened
      float patterns.

    For blended triggers the blend weights ``α_i`` (Orthogonal-BadNet:
    ``z ⊙ o_i``) take the place of the masks: *shape* compares ``α_i``,
    *shape+colour* ``m_i ⊙ α_i`` (the paper's ``m_i ⊙ z_i ⊙ o_i``). The
    weights can be negative, so these distances range over [0, 2].

    ``cos(u, v) = u·v / (‖u‖ ‖v‖)``. Attacker 0 gets 0.0. Where a trigger is
    empty (all zero), the distance is 0.0 to another empty trigger and 1.0
    otherwise. Returns two float64 arrays of shape (N,).

    For independent Random-BadNet triggers of rate ε the expected values are
    ``1 − ε`` (shape) and ``1 − 0.75 ε`` (shape+colour, since E[u]² / E[u²] =
    3/4 for uniform colours).
    """
    n = triggers.n
    if n == 0:
        return np.zeros(0), np.zeros(0)
    weights = triggers.weights
    shape = _cosine_to_first(weights.reshape(n, -1))
    colour = _cosine_to_first((triggers.patterns * weights[..., None]).reshape(n, -1))
    return shape, colour
