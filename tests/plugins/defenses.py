"""Defense plug-ins: an augmentative one (the defender adds a noisy copy of a share of its own inputs) and a
removal filter (per class, the inputs whose representations lie farthest from their class's mean)."""

import numpy as np

from oracle.data.allocation import DEFENDER
from oracle.defenses.interface import Defense, RemovalFilter
from strategies import ComponentSpec, ParamSpec


class NoisyCopies(Defense):
    """Adds ``round(fraction · n_defender)`` copies of the defender's inputs with Gaussian pixel noise
    (std ``sigma`` grey levels), labels unchanged."""

    spec = ComponentSpec(
        "noisy-copies", "noisy copies of a share of the defender's inputs",
        (ParamSpec("fraction", "real", 0.5, 0.0, 1.0, low_open=True, doc="share of the defender's inputs copied"),
         ParamSpec("sigma", "real", 16.0, 0.0, 128.0, doc="noise std, grey levels")),
    )

    def training_set(self, x, y, owner):
        mine = np.flatnonzero(np.asarray(owner) == DEFENDER)
        rng = np.random.default_rng(0)
        chosen = np.sort(rng.permutation(mine)[: int(round(self.params["fraction"] * mine.size))])
        noisy = x[chosen].astype(np.float64) + rng.normal(0.0, self.params["sigma"], x[chosen].shape)
        return np.concatenate([x, np.clip(np.rint(noisy), 0, 255).astype(np.uint8)]), np.concatenate([y, y[chosen]])


class FarFromMean(RemovalFilter):
    """Flags, in each class, the ``ceil(fraction · size)`` inputs whose penultimate representations lie
    farthest (Euclidean) from the class's mean representation: poison sits in its target class but looks
    unlike it."""

    spec = ComponentSpec(
        "far-from-mean", "per class, remove the inputs farthest from the class's mean representation",
        (ParamSpec("fraction", "real", 0.1, 0.0, 0.5, low_open=True, doc="share of each class removed"),),
    )

    def select(self, features, labels, *, num_classes, n_attackers, seed, reclassify):
        flagged = np.zeros(labels.shape[0], dtype=bool)
        for c in range(num_classes):
            idx = np.flatnonzero(labels == c)
            if idx.size:
                distance = np.linalg.norm(features[idx] - features[idx].mean(axis=0), axis=1)
                k = int(np.ceil(self.params["fraction"] * idx.size))
                flagged[idx[np.argsort(-distance, kind="stable")[:k]]] = True
        return flagged
