"""The clean-label backdoor attack's perturbation (Turner et al., 2019, as E5 of the paper uses it).

A clean-label attacker poisons only inputs of its target class and keeps their
(correct) labels. To make the model rely on the trigger rather than on the
input's content, it first makes those inputs *hard to learn*: an untargeted
projected-gradient-descent (PGD, Madry et al., 2018) perturbation that
maximises the surrogate model's loss on the true label inside an L∞ ball,

    δ ← Π_{‖δ‖∞ ≤ ε} ( δ + α · sign ∇_δ L(f(x + δ), y) ),   x + δ ∈ [0, 255],

from a random start in the ball, ``steps`` times with step ``α``. The
attacker's trigger is stamped afterwards (:mod:`oracle.data.poison`). Turner et
al. use an adversarially trained model; the paper's attackers (App. 6.2.5)
"train their own surrogate models with the same training scheme as the
defender" on their own private share, which is what :func:`surrogate_perturbation`
does: it trains the defender's architecture with the defender's preset on the
attacker's train-time share (clean labels: the attacker's own data), then
perturbs. Turner et al.'s ε ranges over 8, 16 and 32 (of 255); we default to 16.

Numbers live in :class:`CleanLabelConfig` (part of the cache key of every
profile with a clean-label attacker). Importing this module does not import
torch (the oracle computes keys without it); the functions do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

from typing import TYPE_CHECKING

import numpy as np

from strategies.validate import DEFAULT_SEED, check_int, check_real
from oracle.victims.presets import TrainPreset

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["CleanLabelConfig", "DEFAULT_CONFIG", "pgd_perturbation", "surrogate_perturbation"]


@dataclass(frozen=True)
class CleanLabelConfig:
    """PGD settings of the clean-label attack, in pixel levels of 0–255.

    ``eps``: L∞ radius (Turner et al.: 8, 16 or 32); ``step``: step size;
    ``steps``: iterations; ``seed``: the random start's seed (added to the
    attacker's index).
    """

    eps: float = 16.0
    step: float = 4.0
    steps: int = 10
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        for name in ("eps", "step"):
            check_real(f"clean-label {name}", getattr(self, name), 0, 255, low_open=True)
        check_int("clean-label steps", self.steps, 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_CONFIG = CleanLabelConfig()


def pgd_perturbation(model: "torch.nn.Module", x: np.ndarray, y: np.ndarray, *, dataset: str,
                     config: CleanLabelConfig = DEFAULT_CONFIG, seed: int = 0, batch_size: int = 256,
                     device: "str | torch.device | None" = None) -> np.ndarray:
    """``x`` (uint8 NHWC) pushed away from its labels ``y`` by untargeted L∞ PGD on ``model``.

    Returns uint8 images with ``|x' − x| ≤ eps`` per pixel (after rounding)
    and values in [0, 255]. The model's mode is restored; its parameters get
    no gradients.
    """
    import torch
    import torch.nn.functional as F

    from oracle.victims.inputs import Normalizer

    x = np.asarray(x)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"x is {x.dtype} {x.shape}; allowed: uint8 (n, H, W, C)")
    if len(y) != len(x):
        raise ValueError(f"y has {len(y)} labels for {len(x)} images")
    if len(x) == 0:
        return x.copy()
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    norm = Normalizer(dataset, x.shape[-1], dev, channels_last=False)
    gen = torch.Generator(device=dev).manual_seed(int(seed))
    out = np.empty_like(x)
    try:
        for start in range(0, len(x), batch_size):
            xb = torch.tensor(x[start:start + batch_size], device=dev).float()
            yb = torch.tensor(np.asarray(y[start:start + batch_size]), device=dev).long()
            delta = (torch.rand(xb.shape, generator=gen, device=dev) * 2 - 1) * config.eps
            delta = (xb + delta).clamp(0, 255) - xb
            for _ in range(config.steps):
                delta.requires_grad_(True)
                loss = F.cross_entropy(model(norm(xb + delta)), yb)  # differentiable in delta
                (grad,) = torch.autograd.grad(loss, delta)
                with torch.no_grad():
                    delta = (delta + config.step * grad.sign()).clamp(-config.eps, config.eps)
                    delta = (xb + delta).clamp(0, 255) - xb
            out[start:start + len(xb)] = (xb + delta.detach()).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
        model.train(was_training)
    return out


def surrogate_perturbation(architecture: str, *, dataset: str, num_classes: int, preset: TrainPreset,
                           config: CleanLabelConfig = DEFAULT_CONFIG, device: "str | torch.device | None" = None,
                           train_seed: int = DEFAULT_SEED) -> Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                                                               np.ndarray]:
    """The ``perturb`` callable :func:`oracle.data.poison.build_joint_dataset` needs for clean-label attackers.

    For attacker ``i`` it trains ``architecture`` with ``preset`` on the
    attacker's private share (``private_x``, ``private_y``; seed
    ``train_seed``), then returns :func:`pgd_perturbation` of its poisoned
    images on that surrogate (random start seeded ``config.seed + i``).
    """
    from oracle.victims.device import resolve_device
    from oracle.victims.train import train_victim

    dev = resolve_device(device)

    def perturb(i: int, x: np.ndarray, y: np.ndarray, private_x: np.ndarray, private_y: np.ndarray) -> np.ndarray:
        surrogate = train_victim(architecture, private_x, private_y, None, None, num_classes=num_classes,
                                 dataset=dataset, preset=preset, seed=train_seed, device=dev)
        return pgd_perturbation(surrogate.model, x, y, dataset=dataset, config=config, seed=config.seed + i,
                                device=dev)

    return perturb
