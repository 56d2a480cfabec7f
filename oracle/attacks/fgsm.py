"""Run-time adversarial perturbations as an attacker's action (the paper's E3).

Datta & Shadbolt, App. 6.2.4: at run time each attacker perturbs its own
run-time inputs with the fast gradient sign method (Goodfellow et al., 2015),

    x' = clip( x + ε'_a · sign ∇_x L(f_i(x), y),  0, 1 ),     ε'_a = 0.1 · ε_a,  ε_a ∈ [0, 1],

on pixels scaled to [0, 1] (here uint8: ``ε'_a · 255`` levels, rounded back
to uint8), where ``f_i`` is attacker ``i``'s *surrogate*: the defender's
architecture trained with the defender's training scheme on the attacker's
private train-time share *as it contributed it* (its backdoored inputs with
their poisoned labels), never on the joint data; ``y`` is the clean label
(the attacker wants a misclassification; App. 6.2.4 takes "minimise the
accuracy w.r.t. clean labels" as the objective). Triggered and untriggered
run-time inputs are both perturbed, so one trained victim gives run-time
poison rates 1 (triggered) and 0 (untriggered) at once.

Why a hand-written FGSM: it is one line, the per-attacker surrogate and the
uint8 images need wrapping either way, ART (a dev dependency, used by the
tests to cross-check this function) is not a runtime one, and torchattacks is
not installed here nor staged for the GPU machine.

Surrogates depend only on the attacker's share and the training scheme (not
on N, nor on ε_a), so they are cached as safetensors, keyed by a hash of the
share's images and labels, the architecture, the preset and the seed
(:class:`SurrogateCache`). Importing this module does not import torch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from oracle.victims.presets import TRAINER_VERSION, TrainPreset
from strategies.validate import DEFAULT_SEED, check_real

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["SHIFT_SCALE", "SurrogateCache", "fgsm", "shifted_runtime"]

#: The paper's scaling of ε_a ∈ [0, 1] to the FGSM radius: ε'_a = 0.1 · ε_a.
SHIFT_SCALE = 0.1


def fgsm(model: "torch.nn.Module", x: np.ndarray, y: np.ndarray, radius: float, *, dataset: str,
         batch_size: int = 256, device: "str | torch.device | None" = None) -> np.ndarray:
    """``x`` (uint8 NHWC) moved by ``radius`` (a fraction of the pixel range) along the sign of the
    gradient of the cross-entropy of ``model`` on labels ``y``; clipped and rounded to uint8.

    The model's mode is restored and its parameters get no gradients.
    """
    import torch
    import torch.nn.functional as F

    from oracle.victims.inputs import Normalizer

    x = np.asarray(x)
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"x is {x.dtype} {x.shape}; allowed: uint8 (n, H, W, C)")
    if len(y) != len(x):
        raise ValueError(f"y has {len(y)} labels for {len(x)} images")
    radius = check_real("radius", radius, 0, 1)  # a fraction of the pixel range
    if len(x) == 0 or radius == 0:
        return x.copy()
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    norm = Normalizer(dataset, x.shape[-1], dev, channels_last=False)
    out = np.empty_like(x)
    try:
        for start in range(0, len(x), batch_size):
            xb = torch.tensor(x[start:start + batch_size], device=dev).float().requires_grad_(True)
            yb = torch.tensor(np.asarray(y[start:start + batch_size]), device=dev).long()
            loss = F.cross_entropy(model(norm(xb)), yb, reduction="sum")
            (grad,) = torch.autograd.grad(loss, xb)
            adv = (xb.detach() + float(radius) * 255.0 * grad.sign()).clamp(0, 255).round()
            out[start:start + len(xb)] = adv.to(torch.uint8).cpu().numpy()
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(was_training)
    return out


@dataclass
class SurrogateCache:
    """Attackers' surrogates: trained with the defender's scheme on a private share, kept as safetensors.

    ``folder`` None keeps them in memory only. ``seed`` seeds the training
    (the job's seed). A preset that stops early (``paper``) trains on a
    seeded 80% of the share and stops on the other 20%, as the defender
    splits the joint dataset. :meth:`model` returns the trained surrogate for a share.
    """

    folder: Path | None
    architecture: str
    dataset: str
    num_classes: int
    preset: TrainPreset
    seed: int = DEFAULT_SEED
    device: Any = None
    _memo: dict = field(default_factory=dict, repr=False)

    def key(self, x: np.ndarray, y: np.ndarray) -> str:
        h = hashlib.sha256()
        h.update(json.dumps({"architecture": self.architecture, "dataset": self.dataset,
                             "num_classes": self.num_classes, "preset": self.preset.to_dict(),
                             "trainer_version": TRAINER_VERSION, "seed": self.seed,
                             "shape": list(x.shape)}, sort_keys=True).encode())
        h.update(np.ascontiguousarray(x).tobytes())
        h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
        return h.hexdigest()

    def model(self, x: np.ndarray, y: np.ndarray) -> "torch.nn.Module":
        """The surrogate trained on ``(x, y)`` (uint8 NHWC images, labels): from memory, from disk, or
        trained and saved."""
        key = self.key(x, y)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = model = self._load_or_train(key, x, y)
        return model

    def _load_or_train(self, key: str, x: np.ndarray, y: np.ndarray) -> "torch.nn.Module":
        from safetensors.torch import load_file, save_file

        from oracle.victims.models import build_model
        from oracle.victims.device import resolve_device
        from oracle.victims.train import train_victim

        dev = resolve_device(self.device)
        path = None if self.folder is None else Path(self.folder) / f"{key[:32]}.safetensors"
        if path is not None and path.exists():
            model = build_model(self.architecture, x.shape[-1], self.num_classes, x.shape[1])
            model.load_state_dict(load_file(str(path)))
            return model.to(dev).eval()
        x_val = y_val = None
        if self.preset.early_stopping:  # the defender's scheme: an 80/20 train/validation split
            order = np.random.default_rng(self.seed).permutation(len(y))
            cut = int(0.8 * len(y))
            x, y, x_val, y_val = x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]
        trained = train_victim(self.architecture, x, y, x_val, y_val, num_classes=self.num_classes,
                               dataset=self.dataset, preset=self.preset, seed=self.seed, device=dev)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".partial")
            save_file({k: v.detach().cpu().contiguous() for k, v in trained.model.state_dict().items()}, str(tmp))
            tmp.replace(path)
        return trained.model


def shifted_runtime(joint, surrogates: SurrogateCache, shift_eps: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(runtime_x, runtime_x_clean)`` of ``joint`` with each shifting attacker's run-time inputs perturbed.

    Attacker ``i`` shifts when ``joint.actions[i].shift == "fgsm"``: FGSM at
    radius ``SHIFT_SCALE · ε_a`` (``ε_a``: its action's ``shift_eps``, or
    ``shift_eps`` when given) on its surrogate trained on
    ``joint.private_share(i)``, against the clean labels, for the triggered
    and the untriggered inputs alike.
    """
    rt_x, rt_clean = joint.runtime_x.copy(), joint.runtime_x_clean.copy()
    for i, action in enumerate(joint.actions):
        eps_a = action.shift_eps if shift_eps is None else float(shift_eps)
        if action.shift != "fgsm" or eps_a == 0:
            continue
        rows = np.flatnonzero(joint.runtime_owner == i)
        model = surrogates.model(*joint.private_share(i))
        y = joint.runtime_y[rows]
        for out, x in ((rt_x, joint.runtime_x), (rt_clean, joint.runtime_x_clean)):
            out[rows] = fgsm(model, x[rows], y, SHIFT_SCALE * eps_a, dataset=surrogates.dataset)
    return rt_x, rt_clean
