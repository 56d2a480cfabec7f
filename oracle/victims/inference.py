"""Running a trained model: predictions, penultimate features, validation loss.

All three work batch by batch on the device, in eval mode and without
gradients, restoring the model's mode afterwards. :func:`predict` and
:func:`features` take uint8 images (host or device) and return numpy;
:func:`evaluate` takes device tensors and is the validation pass inside
training (one host sync).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from oracle.victims.device import autocast, resolve_device, use_amp, use_channels_last
from oracle.victims.inputs import Normalizer, check_images, to_device_images
from strategies.validate import is_int, out_of_range

__all__ = ["EVAL_BATCH_SIZE", "evaluate", "features", "model_device", "predict"]

#: Default batch size for inference (:func:`predict`, :func:`features`, and
#: the validation pass inside training).
EVAL_BATCH_SIZE = 1024


def model_device(model: nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (cpu for a model without any)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, normalize: Normalizer, amp: bool, batch_size: int
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on device tensors; one host sync."""
    n = x.shape[0]
    if n == 0:
        return math.nan, math.nan
    was_training = model.training
    model.eval()
    sums = torch.zeros(2, device=x.device, dtype=torch.float32)  # (loss sum, correct); no float64 on MPS
    with torch.no_grad(), autocast(amp, x.device):
        for i in range(0, n, batch_size):
            logits = model(normalize(x[i : i + batch_size])).float()
            yb = y[i : i + batch_size]
            sums[0] += F.cross_entropy(logits, yb, reduction="sum")
            sums[1] += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    loss_sum, correct = sums.tolist()
    return loss_sum / n, correct / n


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
    images = check_images(x, field)
    if not is_int(batch_size) or batch_size < 1:
        out_of_range("batch_size", batch_size, "an integer >= 1")
    if device is None:
        dev = model_device(model)
    else:
        dev = resolve_device(device)
        model.to(dev)
    amp_on = use_amp(amp, dev)
    channels_last = use_channels_last(True, dev) and model_device(model).type == "cuda"
    normalize = Normalizer(dataset, int(images.shape[-1]), dev, channels_last)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), autocast(amp_on, dev):
            for i in range(0, int(images.shape[0]), batch_size):
                yield fn(normalize(to_device_images(images[i : i + batch_size], dev)))
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
