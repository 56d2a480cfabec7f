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

*removal* (a filter; ``removes = True``)
    :meth:`Defense.flag` — from the trained victim's penultimate representations of its training
    inputs, which inputs to remove (a :class:`~oracle.defenses.filter_report.FilterReport`, scored
    against the ground truth of which inputs were poisoned); the oracle retrains without them.

backfire's defenses are in :data:`oracle.defenses.implemented.IMPLEMENTED`; a plug-in is a subclass
in the user's own module, named in a spec as ``defense = "package.module:ClassName"``
(docs/plugins.md).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from strategies import ComponentSpec
from strategies.components import validate_params

__all__ = ["Defense"]


class Defense:
    """One defense with its parameters (module docstring). Subclasses set ``spec`` and override the
    hooks they need; the defaults leave training unchanged and flag nothing."""

    spec: ClassVar[ComponentSpec]
    #: A removal filter: the oracle calls :meth:`flag` on the trained victim and retrains without what it flags.
    removes: ClassVar[bool] = False

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
