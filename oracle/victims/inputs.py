"""Images on the device: checked, uploaded, augmented and normalised there.

Training data is one ``uint8`` NHWC tensor on the device (airbench's shape);
a batch is gathered from it by index, augmented by the vectorised, seeded
:func:`random_flip` / :func:`random_translate`, and turned into the model's
float NCHW input by a :class:`Normalizer`. :func:`check_images` and
:func:`check_labels` validate what a caller passes, in one line each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from oracle.victims.models import normalization
from strategies.validate import check_int

__all__ = ["Normalizer", "check_images", "check_labels", "random_flip", "random_translate", "to_device_images"]

_PIXEL_MAX = 255.0


def check_images(x: Any, field: str) -> np.ndarray | torch.Tensor:
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


def to_device_images(x: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """A contiguous copy of images ``x`` on ``device`` (numpy arrays may be read-only)."""
    if isinstance(x, torch.Tensor):
        return x.to(device).contiguous()
    return torch.tensor(x, device=device)


def check_labels(y: Any, n: int, num_classes: int, field: str) -> np.ndarray:
    """Check labels: integers (n,) in ``[0, num_classes)``; returns int64."""
    arr = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if arr.shape != (n,) or not (np.issubdtype(arr.dtype, np.integer) or (n == 0 and arr.dtype == float)):
        raise ValueError(f"{field} has dtype {arr.dtype} and shape {arr.shape}; allowed: integer ({n},)")
    bad = np.flatnonzero((arr < 0) | (arr >= num_classes)) if n else ()
    if len(bad):
        check_int(f"{field}[{bad[0]}]", int(arr[bad[0]]), 0, num_classes - 1)
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
    check_int("pixels", pixels, 0)
    if pixels == 0:
        return x
    b, h, w, _ = x.shape
    padded = F.pad(x, (0, 0, pixels, pixels, pixels, pixels))  # (B, H+2p, W+2p, C), zeros
    offsets = torch.randint(0, 2 * pixels + 1, (b, 2), generator=generator, device=x.device)
    rows = offsets[:, 0:1] + torch.arange(h, device=x.device)  # (B, H)
    cols = offsets[:, 1:2] + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows.view(b, h, 1), cols.view(b, 1, w)]
