"""Model zoo: building a victim (:func:`build_model`: backfire's architectures of
:mod:`oracle.victims.architectures`, or a plug-in's), and turning uint8 images into its input
(:func:`normalization`, :func:`to_input`).

Initialisation is deterministic: the weights depend only on the state of
torch's default generator when :func:`build_model` is called, or only on
``seed`` when that is given (in which case the global generator is left
untouched).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from oracle.data.catalog import DATASETS, trainable_datasets
from oracle.victims.architectures import MIN_IMAGE_SIZE, MODEL_NAMES, ZooModel, build_architecture
from strategies import ARCHITECTURES
from strategies.validate import check_name, format_range, is_int, out_of_range

__all__ = [
    "build_model",
    "count_parameters",
    "normalization",
    "to_input",
]

_PIXEL_MAX = 255.0


# --------------------------------------------------------------------------
# Input conversion
# --------------------------------------------------------------------------
def normalization(dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return ``(mean, std)`` for ``dataset``, one entry per channel (:data:`oracle.data.catalog.DATASETS`).

    Raises ``ValueError`` for a dataset without statistics there.
    """
    spec = DATASETS.get(dataset) if isinstance(dataset, str) else None
    if spec is None or spec.normalization is None:
        out_of_range("dataset", dataset, f"{', '.join(trainable_datasets())} (the datasets with normalization constants)")
    return spec.normalization


def to_input(
    x_uint8_nhwc: torch.Tensor, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """Convert uint8 images ``(N, H, W, C)`` (or ``(N, H, W)``) to model input.

    Returns float32 ``(N, C, H, W)`` with ``(x / 255 − mean) / std`` per channel,
    on the input's device. The result keeps the NHWC storage order, i.e. it is
    a ``torch.channels_last`` tensor, which convolutions on GPU prefer; call
    ``.contiguous()`` for the classic layout (the values are the same).
    """
    if x_uint8_nhwc.dtype != torch.uint8:
        raise ValueError(f"x_uint8_nhwc.dtype={x_uint8_nhwc.dtype}; expected torch.uint8")
    x = x_uint8_nhwc
    if x.ndim == 3:
        x = x.unsqueeze(-1)
    if x.ndim != 4:
        raise ValueError(f"x_uint8_nhwc.shape={tuple(x_uint8_nhwc.shape)}; expected (N, H, W, C) or (N, H, W)")
    channels = x.shape[-1]
    if len(mean) != channels or len(std) != channels:
        raise ValueError(
            f"mean/std have {len(mean)}/{len(std)} entries; the images have {channels} channel(s)"
        )
    if any(s <= 0 for s in std):
        out_of_range("std", tuple(std), "entries > 0")
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, channels, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, channels, 1, 1)
    return (x.permute(0, 3, 1, 2).float() / _PIXEL_MAX - m) / s


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (shared parameters counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# --------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------
def _check_int_at_least(field: str, value: object, minimum: int, context: str = "") -> None:
    if not (is_int(value) and value >= minimum):
        out_of_range(field, value, f"{format_range(minimum, None)}{context}")


def build_model(
    name: str, in_channels: int, num_classes: int, image_size: int, *, seed: int | None = None
) -> ZooModel:
    """Build the architecture ``name`` for square ``image_size`` inputs.

    ``name`` is one of :data:`MODEL_NAMES`; anything else raises
    ``ValueError`` listing the known names. ``in_channels`` ≥ 1,
    ``num_classes`` ≥ 2 and ``image_size`` ≥ ``MIN_IMAGE_SIZE[name]`` are
    checked the same way. The model is returned in training mode on the CPU.

    With ``seed=None`` the weights are drawn from torch's default generator
    (so ``torch.manual_seed(3407)`` before the call fixes them); with a seed
    they are drawn from a generator seeded with it and the default generator's
    state is left as it was.
    """
    if name in MODEL_NAMES:
        build, min_size = build_architecture, MIN_IMAGE_SIZE[name]
    else:
        spec = ARCHITECTURES.get(name) if isinstance(name, str) else None  # a plug-in reference is loaded here
        if spec is None or spec.implementation is None:
            check_name("architecture", name, [*ARCHITECTURES, "or a plug-in 'package.module:Name'"])
        build, min_size = (lambda _name, *args: spec.implementation(*args)), spec.min_image_size
    _check_int_at_least("in_channels", in_channels, 1)
    _check_int_at_least("num_classes", num_classes, 2)
    _check_int_at_least("image_size", image_size, min_size, f" for {name}")
    if seed is None:
        return build(name, in_channels, num_classes, image_size)
    _check_int_at_least("seed", seed, 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(name, in_channels, num_classes, image_size)
