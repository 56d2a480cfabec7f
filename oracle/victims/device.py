"""Where training runs: picking the device, recording it, and the CUDA-only switches.

:func:`resolve_device` turns ``None``/a name into a ``torch.device`` (cuda,
then Apple's mps, then cpu) and refuses unavailable ones in one line;
:func:`device_info` is the environment's fingerprint that outcome records
carry. The presets' bf16 autocast and channels_last memory layout apply on
CUDA only (:func:`use_amp`, :func:`use_channels_last`); :func:`autocast` and
:func:`cudnn_benchmark` are the context managers the training loop and
inference run under.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torchvision

from strategies.validate import out_of_range

__all__ = ["autocast", "cudnn_benchmark", "device_info", "resolve_device", "use_amp", "use_channels_last"]


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
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    allowed = ", ".join(["cpu"] + ["mps"] * _mps_available() + ["cuda"] * bool(n_cuda)
                        + [f"cuda:{i}" for i in range(n_cuda)])
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        out_of_range("device", device, f"{allowed} (not a torch device)")
    if dev.type == "cuda":
        if n_cuda == 0:
            out_of_range("device", device, f"{allowed} (CUDA is not available here)")
        if dev.index is not None and dev.index >= n_cuda:
            out_of_range("device", device, allowed)
    elif dev.type == "mps" and not _mps_available():
        out_of_range("device", device, f"{allowed} (MPS is not available here)")
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


def use_amp(amp: bool, device: torch.device) -> bool:
    """Whether bf16 autocast is on: asked for, on CUDA, and supported there."""
    return bool(amp and device.type == "cuda" and torch.cuda.is_bf16_supported())


def use_channels_last(channels_last: bool, device: torch.device) -> bool:
    """Whether the channels_last memory layout is on: asked for and on CUDA."""
    return bool(channels_last and device.type == "cuda")


def autocast(enabled: bool, device: torch.device) -> torch.autocast:
    """bf16 autocast on ``device`` when ``enabled`` (a no-op context otherwise)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@contextlib.contextmanager
def cudnn_benchmark(on: bool) -> Iterator[None]:
    """Let cuDNN benchmark convolution algorithms (batch shapes are fixed) while
    training on CUDA; restores the previous setting."""
    old = torch.backends.cudnn.benchmark
    if on:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = old
