"""What a federated run measures of the global model after a round.

Main-task accuracy on the test set; backdoor accuracy (the share of an
edge-case test set predicted as its target) for every distinct edge-case set
of the run; with ``fairness_client`` the AP ratio min_k acc_k / max_k acc_k
over all clients' own data (§4 of Attack of the Tails, after accuracy
parity) and client 0's accuracy on its almost-edge-case images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from oracle.victims.inference import EVAL_BATCH_SIZE
from oracle.victims.inputs import Normalizer
from oracle.federated.local import LocalTrainer, assign
from oracle.federated.run_data import RunData

__all__ = ["Evaluation", "evaluate_global", "predict_labels"]


@torch.no_grad()
def predict_labels(model: nn.Module, normalize: Normalizer, x: torch.Tensor) -> torch.Tensor:
    """Predicted labels of ``model`` (put in eval mode) on uint8 device images ``x``, on the device."""
    model.eval()
    out = [model(normalize(x[i : i + EVAL_BATCH_SIZE])).argmax(1) for i in range(0, len(x), EVAL_BATCH_SIZE)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.int64, device=x.device)


def _share(mask: torch.Tensor) -> float:
    return float(mask.float().mean().item()) if mask.numel() else math.nan


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of the global model (accuracies in [0, 1]; NaN when not measured)."""

    main_acc: float
    backdoor: tuple[float, ...]  # per entry of RunData.backdoor_sets
    ap_ratio: float = math.nan
    honest_edge_acc: float = math.nan


def evaluate_global(trainer: LocalTrainer, data: RunData, w: torch.Tensor, fairness: bool) -> Evaluation:
    """Load the flat weights ``w`` into the trainer's model and measure it on ``data``."""
    assign(trainer.params, w)
    model, norm = trainer.model, trainer.normalize
    main = _share(predict_labels(model, norm, data.x_test) == data.y_test)
    backdoor = tuple(_share(predict_labels(model, norm, xs) == target) for xs, target in data.backdoor_sets)
    if not fairness:
        return Evaluation(main, backdoor)
    correct = (predict_labels(model, norm, data.x) == data.y).double()
    per_client = torch.bincount(data.owner, weights=correct, minlength=len(data.sizes)).cpu().numpy() / data.sizes
    ap = float(per_client.min() / per_client.max()) if per_client.max() > 0 else math.nan
    assert data.honest_edge is not None
    hx, hy = data.honest_edge
    return Evaluation(main, backdoor, ap, _share(predict_labels(model, norm, hx) == hy))
