"""The defender's defenses, implemented for the oracle (issue 5, first part: the augmentative ones).

Every defense of :data:`strategies.DEFENSES` is either *augmentative* (it
changes how the victim is trained) or *removal* (it inspects the trained
victim's representations, flags training inputs, and the victim is retrained
without them). Implemented here so far:

* ``cutmix`` (augmentative): CutMix per batch (Yun et al., 2019; the paper
  follows Borgnia et al., 2021), with torchvision's ``CutMix``. The paper uses
  50% of the defender's data for augmentation: here a share
  ``augment_fraction`` of every batch is mixed among itself (pairs and box
  sizes drawn by torchvision from Beta(alpha, alpha)); the rest keeps its
  labels.
* ``adversarial-training`` (augmentative): backdoor adversarial training as
  the paper implements it after Geiping et al. (2021): the defender takes a
  share ``augment_fraction`` of its own clean training inputs, stamps a share
  ``p`` of those with its own Random-BadNet triggers (``n_triggers`` different
  ones, perturbation rate ``eps``; trigger k drawn with seed ``seed + k``,
  each image with trigger ``k = i mod n_triggers``), and adds the triggered
  copies *with their correct labels* to the training set, so that the victim
  learns that a trigger-like pattern does not decide the class.

* ``spectral-signatures`` and ``activation-clustering`` (removal): the
  oracle trains the victim on the pooled data, takes its penultimate
  representations of the training inputs (:func:`oracle.victims.inference.features`),
  flags inputs with :func:`oracle.defenses.removal.filter_from_params`, and retrains
  without them (:meth:`oracle.payoff_oracle.PayoffOracle.evaluate`). Activation
  clustering's exclusionary reclassification retrains once without all
  suspect clusters (:mod:`oracle.defenses.removal`).

Each is a :class:`~oracle.defenses.interface.Defense` (:class:`CutMix`,
:class:`AdversarialTraining`, and :class:`NoDefense`); every defense the oracle
can train with is in :data:`oracle.defenses.implemented.IMPLEMENTED`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from oracle.defenses.interface import Defense
from strategies import DEFENSES, apply_triggers, make_triggers
from strategies.actions import AttackerAction
from strategies.validate import round_half_up

from oracle.data.allocation import DEFENDER

__all__ = ["AdversarialTraining", "CutMix", "NoDefense", "adversarial_training_copies", "cutmix_transform"]


def adversarial_training_copies(x: np.ndarray, y: np.ndarray, owner: np.ndarray, params: Mapping[str, Any]
                                ) -> tuple[np.ndarray, np.ndarray]:
    """The defender's triggered copies (with clean labels) for backdoor adversarial training.

    ``x``, ``y``, ``owner``: the victim's training inputs, labels and owners
    (``DEFENDER`` marks the defender's own clean share). Returns ``(x_copies,
    y_copies)``: ``round(p · round(augment_fraction · n_defender))`` (halves up,
    :func:`~strategies.validate.round_half_up`) of the
    defender's inputs, chosen with ``numpy.random.default_rng(seed)``, each
    stamped with one of the defender's ``n_triggers`` triggers; labels unchanged.
    """
    mine = np.flatnonzero(np.asarray(owner) == DEFENDER)
    rng = np.random.default_rng(int(params["seed"]))
    pool = rng.permutation(mine)[: round_half_up(params["augment_fraction"] * mine.size)]
    chosen = np.sort(pool[: round_half_up(params["p"] * pool.size)])
    n_triggers = int(params["n_triggers"])
    seed0 = int(params["seed"])
    actions = [AttackerAction(index=k, target=0, eps=float(params["eps"]), p=float(params["p"]),
                              trigger=params["trigger"], trigger_seed=seed0 + k) for k in range(n_triggers)]
    triggers = make_triggers(actions, x.shape[1:])
    which = np.arange(chosen.size) % n_triggers
    return apply_triggers(x[chosen], which, triggers), np.asarray(y)[chosen].copy()


def cutmix_transform(params: Mapping[str, Any], num_classes: int) -> Callable:
    """A per-batch transform for :func:`oracle.victims.train.train_victim` applying torchvision's CutMix
    to the first ``augment_fraction`` of each (already shuffled) batch; soft targets out."""
    import torch
    from torchvision.transforms import v2

    cutmix = v2.CutMix(alpha=float(params["alpha"]), num_classes=num_classes)
    fraction = float(params["augment_fraction"])

    def transform(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator):
        k = round_half_up(fraction * x.shape[0])
        target = torch.nn.functional.one_hot(y, num_classes).to(x.dtype)
        if k >= 2:
            xm, tm = cutmix(x[:k], y[:k])
            x = torch.cat([xm, x[k:]])
            target = torch.cat([tm.to(x.dtype), target[k:]])
        return x, target

    return transform


class NoDefense(Defense):
    """Train on the pooled data as is."""

    spec = DEFENSES["none"]


class CutMix(Defense):
    """CutMix on a share ``augment_fraction`` of every batch (module docstring)."""

    spec = DEFENSES["cutmix"]
    #: 2: the mixed count ``augment_fraction · batch`` rounds halves up (was to even), e.g. 3.5 → 4 for a
    #: batch of 7 at the default 0.5 (odd batches: an odd ``batch_size``, or the trailing batch of a preset
    #: with ``drop_last = False`` such as ``paper``).
    version = 2

    def batch_transform(self, num_classes: int) -> Callable:
        return cutmix_transform(self.params, num_classes)


class AdversarialTraining(Defense):
    """Backdoor adversarial training: the defender's triggered copies, with their clean labels, added."""

    spec = DEFENSES["adversarial-training"]
    #: 2: the counts ``augment_fraction · n_defender`` and ``p · pool`` round halves up (was to even):
    #: an odd defender share at the default ``augment_fraction = 0.5`` gives a tie (e.g. 2.5 → 3, was 2).
    version = 2

    def training_set(self, x: np.ndarray, y: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xa, ya = adversarial_training_copies(x, y, owner, self.params)
        return np.concatenate([x, xa]), np.concatenate([y, ya])
