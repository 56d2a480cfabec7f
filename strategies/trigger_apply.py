"""Applying triggers to images, and the distances between triggers (the
paper's Tables 3 and 4). numpy only; never torch.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .trigger_arrays import Triggers
from .validate import check_int

__all__ = ["apply_triggers", "cosine_distances_to_first"]


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
        raise ValueError(f"attacker_of_image has dtype {a.dtype}; allowed: integers")
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
