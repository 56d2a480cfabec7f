"""The defense interface: what a defense does to the victim's training, in the spirit of ART's
poisoning defences (``art.defences``: a defence object built with validated parameters; detectors
that flag poisoned training inputs and are scored against ground truth).

A :class:`Defense` is built from its parameters, validated at construction against its
:class:`strategies.ComponentSpec` (``spec``: name, description, parameters with defaults and ranges;
the spec is torch-free, so game specs validate without torch). It has two kinds of hook:

*augmentative* (what training sees)
    :meth:`Defense.training_set` — what the training set becomes before training (e.g. backdoor
    adversarial training adds triggered copies with their clean labels);
    :meth:`Defense.batch_transform` — what each training batch becomes (e.g. CutMix), or None.

*removal* (a filter: a :class:`RemovalFilter`, ``removes = True``)
    :meth:`RemovalFilter.select` — from the trained victim's penultimate representations of its
    training inputs, which inputs to remove; :meth:`Defense.flag` wraps it in a
    :class:`~oracle.defenses.filter_report.FilterReport`, scored against the ground truth of which
    inputs were poisoned; the oracle retrains without them.

backfire's defenses are in :data:`oracle.defenses.implemented.IMPLEMENTED`; a plug-in is a subclass
in the user's own module, named in a spec as ``defense = "package.module:ClassName"``
(docs/plugins.md).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from oracle.defenses.filter_report import FilterReport, check_features_labels
from strategies import ComponentSpec
from strategies.components import validate_params
from strategies.validate import DEFAULT_SEED, check_int

__all__ = ["Defense", "RemovalFilter"]


class Defense:
    """One defense with its parameters (module docstring). Subclasses set ``spec`` and override the
    hooks they need; the defaults leave training unchanged and flag nothing."""

    spec: ClassVar[ComponentSpec]
    #: A removal filter: the oracle calls :meth:`flag` on the trained victim and retrains without what it flags.
    removes: ClassVar[bool] = False
    #: Bump when a change of the implementation changes results: from 2 on the cache key names the
    #: defense ``"name@v<version>"`` (:func:`oracle.defenses.implemented.defense_key`), so cells measured
    #: before are never reused; version 1 keeps the plain name (keys made before versions existed).
    version: ClassVar[int] = 1

    def __init__(self, params: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        given = {**dict(params or {}), **kwargs}
        self.params: dict[str, Any] = dict(validate_params("defense", self.spec, given))

    @property
    def name(self) -> str:
        return self.spec.name

    def training_set(self, x: np.ndarray, y: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The victim's training inputs and labels under this defense (``owner``: who contributed each
        input, ``oracle.data.allocation.DEFENDER`` for the defender's own)."""
        return x, y

    def batch_transform(self, num_classes: int) -> Callable | None:
        """``transform(x, y, generator) -> (x, targets)`` applied to every training batch, or None."""
        return None

    def flag(self, features: np.ndarray, labels: np.ndarray, *, n_attackers: int,
             reclassify: Callable[[np.ndarray], np.ndarray] | None, seed: int, num_classes: int | None):
        """A removal filter's :class:`~oracle.defenses.filter_report.FilterReport` (``removes = True`` only).
        ``reclassify(suspect_mask) -> predictions`` retrains without the suspects (exclusionary
        reclassification)."""
        raise NotImplementedError(f"defense {self.name!r} is not a removal filter")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


class RemovalFilter(Defense):
    """A removal filter (``removes = True``): subclasses implement :meth:`select`, what to flag; :meth:`flag`
    checks the inputs, calls it and returns the :class:`~oracle.defenses.filter_report.FilterReport` that
    the oracle retrains without and scores against ground truth (which inputs were poisoned, by whom).
    backfire's two (spectral signatures, activation clustering) and a plug-in's are all of this kind."""

    removes = True

    def select(self, features: np.ndarray, labels: np.ndarray, *, num_classes: int, n_attackers: int, seed: int,
               reclassify: Callable[[np.ndarray], np.ndarray] | None) -> Any:
        """What to flag among the training inputs, from the trained victim's penultimate ``features``
        (finite real ``(n, D)``) and the training ``labels`` (int ``(n,)``, in ``[0, num_classes)``):
        a bool mask ``(n,)``, indices, or a whole ``FilterReport`` (with per-class details or scores)."""
        raise NotImplementedError(f"removal filter {self.name!r} does not implement select()")

    def flag(self, features: np.ndarray, labels: np.ndarray, *, n_attackers: int,
             reclassify: Callable[[np.ndarray], np.ndarray] | None = None, seed: int = DEFAULT_SEED,
             num_classes: int | None = None) -> FilterReport:
        x, y, num_classes = check_features_labels(features, labels, num_classes)
        n_attackers = check_int("n_attackers", n_attackers, 1)
        out = self.select(x, y, num_classes=num_classes, n_attackers=n_attackers, seed=seed, reclassify=reclassify)
        return out if isinstance(out, FilterReport) else FilterReport.of(self.name, x.shape[0], out, params=self.params)
