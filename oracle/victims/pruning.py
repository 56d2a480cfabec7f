"""Lottery tickets: iterative magnitude pruning and per-layer cosine distances (the paper's E6).

Frankle & Carbin (2019), "The lottery ticket hypothesis", as Datta &
Shadbolt's E6 uses it (App. 6.2.7): from a fixed random initialisation
``θ_0``, train the dense network, then repeat for ``r = 1 … R``

    prune each layer's smallest-magnitude survivors, so that a tensor of n
    entries keeps max(1, round(n · target^(r/R))):  m_r ⊙ θ_{r−1},
    rewind the survivors to θ_0 and retrain:  θ_r = train(m_r ⊙ θ_0),

so that every tensor (weights and biases of each conv and linear layer)
ends with a share ``target`` of its entries. The *lottery ticket* is
``(m_R, θ_R)``. Pruning goes through ``torch.nn.utils.prune``
(``l1_unstructured`` with an integer amount, which prunes among the
survivors; masks are re-applied with ``custom_from_mask``), and retraining
through :func:`oracle.victims.train.train_victim`'s ``init_model`` hook, so the
training loop is the defender's own.

Decisions
---------
* Layer-wise, as Frankle & Carbin prune their conv nets, not global: one
  global magnitude threshold at 0.8 % prunes SmallCNN's conv2 and conv3
  (small weights: large fan-in) to nothing, and the network is dead. Every
  tensor keeps at least one entry.
* Biases are pruned with the weights: the paper counts its ticket as 126 of
  SmallCNN's 15,722 parameters (0.8 %), a count that includes the biases.
  (Frankle & Carbin prune weights only; the appendix also speaks of a "97 %"
  stopping threshold, which does not agree with 0.8 %: we follow the count.)
* Per-layer cosine distance ``d(a, b) = 1 − a·b / (‖a‖ ‖b‖)`` on the
  flattened tensors, zeros included (the paper keeps the full
  dimensionality). A layer pruned to all zeros has no direction: ``d = 0``
  when both tensors are zero, ``1`` when exactly one is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from strategies.validate import check_int, check_real, round_half_up

__all__ = [
    "LotteryTicket",
    "apply_masks",
    "cosine_distance",
    "distance_matrices",
    "effective_parameters",
    "iterative_magnitude_pruning",
    "masks_of",
    "mean_offdiagonal",
    "prunable",
    "fraction_schedule",
    "half_up_changes",
    "kept_count",
    "prune_layerwise",
]

#: ``train(init_model) -> trained victim`` (``init_model`` as train_victim's hook).
Trainer = Callable[[Callable[[nn.Module], None]], "object"]


def prunable(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(qualified name, module, "weight" | "bias")`` of every conv and linear parameter, in model order."""
    out = []
    for mname, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            for pname in ("weight", "bias"):
                if getattr(module, pname, None) is not None or hasattr(module, pname + "_orig"):
                    out.append((f"{mname}.{pname}", module, pname))
    return out


def effective_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """Each prunable parameter as the network uses it (``orig ⊙ mask`` where pruned), on the CPU."""
    out = {}
    for qname, module, pname in prunable(model):
        if hasattr(module, pname + "_orig"):
            value = getattr(module, pname + "_orig") * getattr(module, pname + "_mask")
        else:
            value = getattr(module, pname)
        out[qname] = value.detach().cpu().clone()
    return out


def masks_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """The 0/1 mask of every prunable parameter (all ones where unpruned), float, on the CPU."""
    out = {}
    for qname, module, pname in prunable(model):
        mask = getattr(module, pname + "_mask", None)
        out[qname] = (torch.ones_like(getattr(module, pname)) if mask is None else mask).detach().cpu().clone()
    return out


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Prune ``model`` in place with ``masks`` (``torch.nn.utils.prune.custom_from_mask``)."""
    for qname, module, pname in prunable(model):
        if qname in masks:
            prune.custom_from_mask(module, pname, masks[qname].to(getattr(module, pname).device))


def kept_count(numel: int, fraction: float) -> int:
    """Parameters a tensor of ``numel`` keeps at ``fraction``: ``max(1, round(fraction · numel))``, halves
    up (:func:`~strategies.validate.round_half_up`)."""
    return max(1, round_half_up(fraction * numel))


def half_up_changes(model: nn.Module, target: float, rounds: int) -> bool:
    """Whether :func:`kept_count` keeps a different count, for some prunable tensor of ``model`` and some
    fraction of :func:`fraction_schedule` ``(target, rounds)``, than before it rounded halves up (Python's
    ``round``, halves to even): only a tie ``fraction · numel = k + 1/2`` (e.g. 0.5 of an odd size)
    differs. Result caches name the rounding rule in their keys only when it does, so results that the
    change leaves alone keep their keys."""
    sizes = {getattr(module, pname).numel() for _, module, pname in prunable(model)}
    return any(max(1, int(round(f * n))) != kept_count(n, f) for n in sizes for f in fraction_schedule(target, rounds))


def prune_layerwise(model: nn.Module, fraction: float) -> None:
    """Prune every prunable tensor, by magnitude among its survivors, until it keeps
    :func:`kept_count` ``(numel, fraction)`` entries (``torch.nn.utils.prune.l1_unstructured``)."""
    check_real("fraction", fraction, 0, 1, low_open=True)
    masks = masks_of(model)
    for qname, module, pname in prunable(model):
        alive = int(masks[qname].sum().item())
        keep = kept_count(masks[qname].numel(), fraction)
        if keep > alive:
            raise ValueError(f"{qname} keeps {alive} entries, fewer than the {keep} asked; prune to a smaller fraction")
        prune.l1_unstructured(module, pname, amount=alive - keep)


def fraction_schedule(target: float, rounds: int) -> list[float]:
    """The fraction kept after rounds ``1 … R``: ``target^(r/R)`` (a constant share pruned per round)."""
    check_real("target", target, 0, 1, low_open=True, high_open=True)
    check_int("rounds", rounds, 1)
    return [target ** (r / rounds) for r in range(1, rounds + 1)]


@dataclass
class LotteryTicket:
    """What IMP found for one training set.

    ``init``: θ_0; ``full``: the trained dense network; ``mask``: the
    ticket's 0/1 mask; ``ticket``: the trained ticket's parameters (zeros
    where pruned); all keyed by qualified parameter name. ``rounds``: one
    record per training (round 0 dense): surviving count, validation
    accuracy, epochs, seconds.
    """

    init: dict[str, torch.Tensor]
    full: dict[str, torch.Tensor]
    mask: dict[str, torch.Tensor]
    ticket: dict[str, torch.Tensor]
    rounds: list[dict[str, float]] = field(default_factory=list)
    models: tuple[nn.Module, nn.Module] | None = None  # (dense, ticket), for measuring them

    @property
    def total(self) -> int:
        return sum(int(v.numel()) for v in self.mask.values())

    @property
    def survivors(self) -> int:
        return int(sum(v.sum().item() for v in self.mask.values()))

    @property
    def sparsity(self) -> float:
        return 1.0 - self.survivors / self.total

    def masked_full(self) -> dict[str, torch.Tensor]:
        """The mask applied to the dense network's parameters (the paper's "mask against the DNN")."""
        return {k: self.full[k] * self.mask[k] for k in self.full}


def iterative_magnitude_pruning(train: Trainer, init_state: Mapping[str, torch.Tensor], *, target: float = 0.008,
                                rounds: int = 5) -> LotteryTicket:
    """Frankle & Carbin's IMP with rewinding to ``init_state`` (module docstring).

    ``train(init_model)`` must train the network once, calling
    ``init_model(model)`` on the freshly built model (as
    :func:`oracle.victims.train.train_victim` does) and return an object with
    ``model``, ``val_acc``, ``epochs_run`` and ``seconds``. ``target``: the
    fraction of parameters the ticket keeps (paper: 0.008); ``rounds``: R.
    """
    init = {k: v.detach().cpu().clone() for k, v in init_state.items()}

    def start(masks: Mapping[str, torch.Tensor] | None) -> Callable[[nn.Module], None]:
        def init_model(model: nn.Module) -> None:
            model.load_state_dict(init)
            if masks is not None:
                apply_masks(model, masks)
        return init_model

    def record(victim, alive: int) -> dict[str, float]:
        return {"survivors": alive, "val_acc": float(victim.val_acc), "epochs": int(victim.epochs_run),
                "seconds": float(victim.seconds)}

    dense = train(start(None))
    full = effective_parameters(dense.model)
    history = [record(dense, sum(int(v.numel()) for v in full.values()))]
    current, masks = dense, None
    for fraction in fraction_schedule(target, rounds):
        prune_layerwise(current.model, fraction)
        masks = masks_of(current.model)
        current = train(start(masks))
        history.append(record(current, int(sum(m.sum().item() for m in masks.values()))))
    return LotteryTicket(init=init, full=full, mask=masks, ticket=effective_parameters(current.model),
                         rounds=history, models=(dense.model, current.model))


def cosine_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """``1 − a·b / (‖a‖ ‖b‖)`` of the flattened tensors, in [0, 2]; 0 if both are zero, 1 if one is."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"tensors have {a.size} and {b.size} entries; allowed: the same shape")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0 if na == nb else 1.0
    return float(min(2.0, max(0.0, 1.0 - float(a @ b) / (na * nb))))


def distance_matrices(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, np.ndarray]:
    """Per parameter name, the K × K matrix of cosine distances between ``states[i]`` and ``states[j]``."""
    if not states:
        raise ValueError("states is empty; allowed: at least one parameter dict")
    names = list(states[0])
    k = len(states)
    out = {}
    for name in names:
        m = np.zeros((k, k))
        for i in range(k):
            for j in range(i, k):
                m[i, j] = m[j, i] = cosine_distance(states[i][name], states[j][name])
        out[name] = m
    return out


def mean_offdiagonal(m: np.ndarray, rows: Sequence[int], cols: Sequence[int]) -> float:
    """Mean of ``m[i, j]`` over ``i in rows, j in cols, i ≠ j`` (NaN if empty)."""
    vals = [m[i, j] for i in rows for j in cols if i != j]
    return float(np.mean(vals)) if vals else math.nan
