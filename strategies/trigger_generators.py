"""Backdoor trigger generators, vectorised over attackers: Datta & Shadbolt,
*Backdoors Stuck at the Frontdoor*, App. 6.1.8 (BadNet, Random-BadNet,
Orthogonal-BadNet) and §6.2.5 / Tables 3–4 (trigger distances). numpy and
scipy only; never torch.

For ``N`` attackers each generator returns a
:class:`~strategies.trigger_arrays.Triggers` (one row per attacker).

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

Reproduction of the paper's Table 3 (Random-BadNet, 32×32×3, attackers
0–4 seeded 0–4): the *shape* cosine distances to attacker 1 that
:func:`strategies.trigger_apply.cosine_distances_to_first` computes equal the
printed ones to all three printed decimals (ε = 0.15: 0.849, 0.850, 0.873, 0.785 against the printed
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
from typing import Iterable, Sequence

import numpy as np

from .trigger_arrays import Triggers, check_eps, check_image_shape, check_seeds
from .validate import SEED_MAX, check_int, out_of_range, round_half_up

__all__ = [
    "ORTHOGONAL_BASE_SEED",
    "empty_triggers",
    "orthogonal_badnet",
    "patch_badnet",
    "patch_side",
    "random_badnet",
    "rotated_badnet",
]

#: Seed of the base trigger that all Orthogonal-BadNet attackers share: the
#: Random-BadNet draw of attacker 0.
ORTHOGONAL_BASE_SEED = 0

#: Pixel value of the Patch-BadNet square (white).
PATCH_VALUE = 255.0


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
    h, w, c = check_image_shape(image_shape)
    seeds = check_seeds(seeds)
    n = seeds.shape[0]
    eps = check_eps(eps, n)
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
    h, w, c = check_image_shape(image_shape)
    if h != w or h < 2:
        out_of_range("image_shape", (h, w, c),
                     "square images of side >= 2 for orthogonal-badnet (the paper's l = w), e.g. (32, 32, 3)")
    base_seed = check_int("base_seed", base_seed, 0, SEED_MAX)
    seeds = check_seeds(seeds)
    eps = check_eps(eps, seeds.shape[0])
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
    h, w, c = check_image_shape(image_shape)
    if h < 2:
        out_of_range("image_shape", (h, w, c), "height in [2, inf) for rotated-badnet")
    base_seed = check_int("base_seed", base_seed, 0, SEED_MAX)
    seeds = check_seeds(seeds)
    n = seeds.shape[0]
    eps = check_eps(eps, n)
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
    h, w, c = check_image_shape(image_shape)
    seeds = check_seeds(seeds)
    n = seeds.shape[0]
    eps = check_eps(eps, n)
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
    h, w, c = check_image_shape(image_shape)
    n = check_seeds(seeds).shape[0]
    check_eps(eps, n)
    return Triggers._trusted(np.zeros((n, h, w), np.uint8), np.zeros((n, h, w, c)))
