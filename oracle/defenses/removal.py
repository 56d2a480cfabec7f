"""Removal defenses: filters that flag training inputs from their representations.

Datta & Shadbolt, "Backdoors Stuck at the Frontdoor" (shared/papers/
multi_agent_backdoor.txt), E5 and App. 6.2.6, evaluate two *removal*
defenses: the defender trains the victim on the pooled (poisoned) data,
inspects the trained victim's penultimate representations of its training
inputs, removes the inputs a filter flags, and retrains on the rest. The
filtering step is pure functions on arrays:

* :func:`~oracle.defenses.spectral_signatures.spectral_signatures` (Tran, Li & Madry, "Spectral Signatures in
  Backdoor Attacks", NeurIPS 2018, Algorithm 1);
* :func:`~oracle.defenses.activation_clustering.activation_clustering` (Chen et al., "Detecting Backdoor Attacks on
  Deep Neural Networks by Activation Clustering", arXiv:1811.03728, 2018),
  with exclusionary reclassification through a callback that the caller
  implements by retraining.

Both take ``features`` (float ``(n, D)``, e.g. :func:`oracle.victims.inference.features`)
and ``labels`` (the *training* labels, int ``(n,)``: a poisoned input sits in
its target class, which is where the filters look for it) and return a
:class:`~oracle.defenses.filter_report.FilterReport`: the sorted indices they flag, per-class details, and
:meth:`~oracle.defenses.filter_report.FilterReport.score` against ground truth (precision, recall, F1,
recall per attacker). Training, retraining and the oracle's bookkeeping live
elsewhere (:mod:`oracle.victims.train`, :mod:`oracle.payoff_oracle`). Style after ART's
poison-filtering defences (``SpectralSignatureDefense``,
``ActivationDefence``): one result type for every filter, scoring against
ground truth, parameters validated up front (``ValueError`` naming the field,
the value and the allowed range).

:class:`SpectralSignatures` and :class:`ActivationClustering` are the two as
:class:`~oracle.defenses.interface.RemovalFilter` defenses, the interface a plug-in removal
filter implements too (docs/plugins.md); :func:`filter_from_params` runs any of them from a
:class:`strategies.DefenderStrategy`'s parameters (:data:`strategies.DEFENSES`).

Ground truth: :class:`oracle.data.poison.JointDataset` exposes ``poisoned_train``
(bool, the input carries a trigger) and ``owner_train`` (attacker ``i ≥ 0``,
``DEFENDER`` = −1, ``UNUSED`` = −2) for the training split, aligned with
``x_train`` / ``y_train``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from strategies.validate import DEFAULT_SEED
from oracle.defenses.interface import RemovalFilter
from strategies import DEFENSES
from strategies.registry import is_reference
from oracle.defenses.activation_clustering import Reclassifier, activation_clustering_from_params
from oracle.defenses.filter_report import ACTIVATION_CLUSTERING, REMOVAL_DEFENSES, SPECTRAL_SIGNATURES, FilterReport
from oracle.defenses.spectral_signatures import spectral_signatures_from_params

__all__ = ["ActivationClustering", "SpectralSignatures", "filter_from_params"]


def filter_from_params(
    defense: str,
    params: Mapping[str, Any],
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_attackers: int,
    reclassify: Reclassifier | None = None,
    seed: int = DEFAULT_SEED,
    num_classes: int | None = None,
) -> FilterReport:
    """Run the removal defense ``defense`` (one of :data:`REMOVAL_DEFENSES`, or a plug-in
    :class:`~oracle.defenses.interface.RemovalFilter` named ``"package.module:Name"``) with its strategy
    parameters. ``n_attackers`` sizes spectral signatures' removal; ``reclassify`` and ``seed`` are
    activation clustering's. Names of no removal filter raise."""
    own = {cls.spec.name: cls for cls in (SpectralSignatures, ActivationClustering)}
    cls = own.get(defense) or (DEFENSES[defense].implementation if defense in DEFENSES or is_reference(defense)
                                else None)
    if not (isinstance(cls, type) and issubclass(cls, RemovalFilter)):
        raise ValueError(f"unknown removal defense {defense!r}: known removal defenses are {', '.join(REMOVAL_DEFENSES)} "
                         "(or a plug-in RemovalFilter 'package.module:Name')")
    return cls(params).flag(features, labels, n_attackers=n_attackers, reclassify=reclassify, seed=seed,
                            num_classes=num_classes)


class SpectralSignatures(RemovalFilter):
    """Spectral signatures (Tran et al., 2018) as a removal filter."""

    spec = DEFENSES[SPECTRAL_SIGNATURES]

    def select(self, features, labels, *, num_classes, n_attackers, seed, reclassify):
        return spectral_signatures_from_params(features, labels, self.params, n_attackers=n_attackers,
                                               num_classes=num_classes)


class ActivationClustering(RemovalFilter):
    """Activation clustering (Chen et al., 2018) with exclusionary reclassification as a removal filter."""

    spec = DEFENSES[ACTIVATION_CLUSTERING]

    def select(self, features, labels, *, num_classes, n_attackers, seed, reclassify):
        return activation_clustering_from_params(features, labels, self.params, reclassify=reclassify, seed=seed,
                                                 num_classes=num_classes)
