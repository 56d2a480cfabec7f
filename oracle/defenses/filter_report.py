"""What every removal filter shares: input checks and the one result type, :class:`FilterReport`.

backfire's filters: :mod:`oracle.defenses.spectral_signatures` and
:mod:`oracle.defenses.activation_clustering`; a plug-in's: a
:class:`~oracle.defenses.interface.RemovalFilter` subclass in the user's module, whose report
(:meth:`FilterReport.of`) carries its name as ``method`` and per-class details as plain mappings.
The entry point from a defender's parameters: :func:`oracle.defenses.removal.filter_from_params`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracle.data.allocation import DEFENDER
from strategies.validate import check_int, check_str, format_range, out_of_range

__all__ = [
    "ACTIVATION_CLUSTERING",
    "REMOVAL_DEFENSES",
    "SPECTRAL_SIGNATURES",
    "ClusterClassDetail",
    "FilterReport",
    "SpectralClassDetail",
    "check_features_labels",
    "check_mask",
    "indices_by_class",
    "plain",
    "read_only",
    "with_params",
]

SPECTRAL_SIGNATURES = "spectral-signatures"
ACTIVATION_CLUSTERING = "activation-clustering"
#: The removal defenses of :data:`strategies.DEFENSES` implemented here.
REMOVAL_DEFENSES: tuple[str, ...] = (SPECTRAL_SIGNATURES, ACTIVATION_CLUSTERING)



# --------------------------------------------------------------------------
# validation


def check_features_labels(
    features: Any, labels: Any, num_classes: int | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """``features`` as a finite real (n, D) array (dtype kept), ``labels`` as int64 (n,), the class count."""
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[1] < 1 or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(
            f"features has dtype {x.dtype} and shape {x.shape}; allowed: a real array (n, D) with D ≥ 1"
        )
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise ValueError("features holds NaN or infinite values; allowed: finite values")
    n = x.shape[0]
    y = np.asarray(labels)
    if y.shape != (n,) or not (np.issubdtype(y.dtype, np.integer) or (n == 0 and y.dtype == np.float64)):
        raise ValueError(f"labels has dtype {y.dtype} and shape {y.shape}; allowed: integer ({n},), one per feature row")
    y = y.astype(np.int64)
    if n and y.min() < 0:
        first = int(np.flatnonzero(y < 0)[0])
        check_int(f"labels[{first}]", int(y[first]), 0)
    seen = int(y.max()) + 1 if n else 0
    if num_classes is None:
        num_classes = seen
    else:
        num_classes = check_int("num_classes", num_classes, max(seen, 1))
    return x, y, num_classes


def check_mask(field_: str, value: Any, n: int) -> np.ndarray:
    """``value`` as a bool array of shape ``(n,)``, else ``ValueError``."""
    a = np.asarray(value)
    if a.shape != (n,) or a.dtype != np.bool_:
        raise ValueError(f"{field_} has dtype {a.dtype} and shape {a.shape}; allowed: bool ({n},)")
    return a


def indices_by_class(y: np.ndarray, num_classes: int) -> list[np.ndarray]:
    """Indices of each class, ascending within a class (one stable sort)."""
    order = np.argsort(y, kind="stable")
    bounds = np.cumsum(np.bincount(y, minlength=num_classes))[:-1]
    return np.split(order, bounds)


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view (the caller's own array keeps its flags)."""
    v = np.ascontiguousarray(a).view()
    v.setflags(write=False)
    return v


def plain(v: Any) -> Any:
    """numpy scalars and tuples as JSON-friendly Python values."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, list)):
        return [plain(u) for u in v]
    return v


# --------------------------------------------------------------------------
# result type


@dataclass(frozen=True)
class SpectralClassDetail:
    """Spectral signatures, one class: ``size`` inputs, ``n_flagged`` of them
    removed; ``top_singular_value`` of the centred representations (its square
    over ``size`` is the variance along the signature direction);
    ``max_score`` the largest outlier score; ``threshold`` the smallest
    flagged score (``None`` when nothing is flagged)."""

    label: int
    size: int
    n_flagged: int
    top_singular_value: float | None
    max_score: float | None
    threshold: float | None

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(getattr(self, k)) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SpectralClassDetail":
        return cls(**dict(d))


@dataclass(frozen=True)
class ClusterClassDetail:
    """Activation clustering, one class.

    ``size`` inputs; ``n_components`` ICA components actually used (fewer
    than asked when the class's centred activations have lower rank, 0 when
    not clustered); ``cluster_sizes`` / ``relative_sizes`` per k-means
    cluster; ``suspect`` the index of the smallest non-empty cluster (``None`` when not
    clustered); ``silhouette`` the mean silhouette coefficient of the
    clustering in the reduced space (``None`` when undefined);
    ``ica_converged`` whether FastICA met its tolerance (it does not matter
    much: see :func:`activation_clustering`).

    ``rule`` is ``"relative-size"`` or ``"exclusionary-reclassification"``;
    ``decision`` is ``"flagged"`` (the suspect cluster is removed), ``"kept"``
    or ``"not-clustered"`` (fewer inputs than clusters, or all
    representations equal). Under exclusionary reclassification,
    ``reclass_l`` is the number of suspect inputs the retrained model puts in
    this class, ``reclass_p`` the largest count of any other single class,
    ``reclass_source`` that class (Chen et al.'s suspected source class; ``None``
    when ``reclass_p`` is 0).
    """

    label: int
    size: int
    n_components: int
    cluster_sizes: tuple[int, ...]
    relative_sizes: tuple[float, ...]
    suspect: int | None
    silhouette: float | None
    ica_converged: bool | None
    rule: str
    decision: str
    n_flagged: int
    reclass_l: int | None = None
    reclass_p: int | None = None
    reclass_source: int | None = None

    @property
    def reclass_ratio(self) -> float | None:
        """``l / p`` (``inf`` when ``p = 0``; ``None`` without reclassification)."""
        if self.reclass_l is None or self.reclass_p is None:
            return None
        return math.inf if self.reclass_p == 0 else self.reclass_l / self.reclass_p

    def to_dict(self) -> dict[str, Any]:
        return {k: plain(getattr(self, k)) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClusterClassDetail":
        d = dict(d)
        d["cluster_sizes"] = tuple(d["cluster_sizes"])
        d["relative_sizes"] = tuple(d["relative_sizes"])
        return cls(**d)


_DETAIL_TYPES: dict[str, type] = {
    SPECTRAL_SIGNATURES: SpectralClassDetail,
    ACTIVATION_CLUSTERING: ClusterClassDetail,
}


@dataclass(frozen=True, eq=False)
class FilterReport:
    """What a removal filter flagged, and why.

    Attributes
    ----------
    method : str
        The filter's defense name: ``"spectral-signatures"``, ``"activation-clustering"``
        or a plug-in's (its ``spec.name``).
    n_inputs : int
        Rows of the features the filter saw (the training set).
    flagged : int64 array
        Sorted, unique indices into the training set that the filter flags
        for removal (read-only).
    classes : tuple
        One :class:`SpectralClassDetail` / :class:`ClusterClassDetail` per
        class ``0 .. num_classes − 1`` (backfire's filters), plain mappings
        (a plug-in's, possibly none).
    params : tuple of (name, value)
        The parameters the filter ran with, sorted by name.
    scores : float64 array (n_inputs,) or None
        Spectral signatures: every input's outlier score (within its class).
    clusters : int64 array (n_inputs,) or None
        Activation clustering: every input's k-means cluster within its class
        (−1 where its class was not clustered).
    """

    method: str
    n_inputs: int
    flagged: np.ndarray
    classes: tuple[Any, ...]
    params: tuple[tuple[str, Any], ...] = ()
    scores: np.ndarray | None = None
    clusters: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_str("method", self.method)
        n = check_int("n_inputs", self.n_inputs, 0)
        object.__setattr__(self, "n_inputs", n)
        f = np.asarray(self.flagged, dtype=np.int64).reshape(-1)
        if f.size and (f[0] < 0 or f[-1] >= n or np.any(np.diff(f) <= 0)):
            out_of_range("flagged", f.tolist() if f.size <= 10 else f"<{f.size} indices>",
                         f"sorted unique indices in {format_range(0, n - 1)}")
        object.__setattr__(self, "flagged", read_only(f))
        object.__setattr__(self, "classes", tuple(c if hasattr(c, "to_dict") else plain(dict(c)) for c in self.classes))
        object.__setattr__(self, "params", tuple(sorted((str(k), plain(v)) for k, v in dict(self.params).items())))
        for name, dtype in (("scores", np.float64), ("clusters", np.int64)):
            a = getattr(self, name)
            if a is not None:
                a = np.asarray(a, dtype=dtype)
                if a.shape != (n,):
                    raise ValueError(f"{name} has shape {a.shape}; allowed: ({n},)")
                object.__setattr__(self, name, read_only(a))

    @classmethod
    def of(cls, method: str, n_inputs: int, flagged: Any, *, params: Mapping[str, Any] | None = None,
           classes: Any = (), scores: Any = None) -> "FilterReport":
        """The report of a filter that flagged ``flagged`` (indices into the ``n_inputs`` training inputs,
        in any order, repeats allowed, or a bool mask of ``(n_inputs,)``), e.g. a plug-in's."""
        n = check_int("n_inputs", n_inputs, 0)
        f = np.asarray(flagged)
        if f.dtype == np.bool_:
            f = np.flatnonzero(check_mask("flagged", f, n))
        elif f.size and not np.issubdtype(f.dtype, np.integer):
            raise ValueError(f"flagged has dtype {f.dtype}; allowed: integer indices in [0, {n - 1}] or a bool mask ({n},)")
        return cls(method, n, np.unique(f.astype(np.int64).reshape(-1)), tuple(classes),
                   tuple(dict(params or {}).items()), scores=scores)

    # ---- views
    @property
    def n_flagged(self) -> int:
        return int(self.flagged.size)

    @property
    def mask(self) -> np.ndarray:
        """Bool ``(n_inputs,)``: True where flagged."""
        m = np.zeros(self.n_inputs, dtype=bool)
        m[self.flagged] = True
        return m

    @property
    def kept(self) -> np.ndarray:
        """Sorted indices the defender keeps (retrains on)."""
        return np.flatnonzero(~self.mask)

    @property
    def params_map(self) -> dict[str, Any]:
        return dict(self.params)

    def __repr__(self) -> str:
        return f"FilterReport({self.method!r}, flagged {self.n_flagged} of {self.n_inputs}, {len(self.classes)} classes)"

    # ---- ground truth
    def score(
        self,
        poisoned: np.ndarray,
        owner: np.ndarray | None = None,
        *,
        n_attackers: int | None = None,
    ) -> dict[str, Any]:
        """Score the flags against ground truth; plain JSON-compatible data.

        ``poisoned``: bool ``(n_inputs,)``, True where the training input
        carries a trigger (``JointDataset.poisoned_train``). Overall, with
        ``TP = |flagged ∩ poisoned|``, ``FP = |flagged \\ poisoned|``,
        ``FN = |poisoned \\ flagged|``:

        * ``precision = TP / (TP + FP)`` (``None`` when nothing is flagged),
        * ``recall = TP / (TP + FN)`` (``None`` when nothing is poisoned),
        * ``f1 = 2·TP / (2·TP + FP + FN)`` (``None`` when both are empty),

        plus the counts ``n_inputs``, ``n_flagged``, ``n_poisoned``,
        ``true_positives``, ``false_positives``, ``false_negatives``.

        ``owner`` (int ``(n_inputs,)``, ``JointDataset.owner_train``: attacker
        ``i ≥ 0``, ``DEFENDER`` = −1, ``UNUSED`` = −2) adds, for attackers
        ``i = 0 .. n_attackers − 1`` (default: ``max(owner) + 1``), lists
        indexed by attacker: ``poisoned_per_attacker``,
        ``flagged_poisoned_per_attacker``, ``flagged_per_attacker`` (all of
        its inputs flagged, its clean train-time inputs included) and
        ``recall_per_attacker`` (``None`` for an attacker with no poisoned
        input here); and ``n_flagged_defender``, the defender's own inputs
        flagged.
        """
        n = self.n_inputs
        poisoned = check_mask("poisoned", poisoned, n)
        flagged = self.mask
        tp = int(np.count_nonzero(flagged & poisoned))
        n_flagged, n_poisoned = self.n_flagged, int(np.count_nonzero(poisoned))
        fp, fn = n_flagged - tp, n_poisoned - tp
        out: dict[str, Any] = {
            "method": self.method,
            "n_inputs": n,
            "n_flagged": n_flagged,
            "n_poisoned": n_poisoned,
            "true_positives": tp,
            "false_positives": fp,
            "false_negatives": fn,
            "precision": tp / n_flagged if n_flagged else None,
            "recall": tp / n_poisoned if n_poisoned else None,
            "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else None,
        }
        if owner is None:
            if n_attackers is not None:
                raise ValueError("n_attackers is only used with owner")
            return out
        o = np.asarray(owner)
        if o.shape != (n,) or not np.issubdtype(o.dtype, np.integer):
            raise ValueError(f"owner has dtype {o.dtype} and shape {o.shape}; allowed: integer ({n},)")
        o = o.astype(np.int64)
        seen = int(o.max()) + 1 if n and o.max() >= 0 else 0
        n_att = seen if n_attackers is None else check_int("n_attackers", n_attackers, seen)
        att = o >= 0

        def per(mask: np.ndarray) -> list[int]:
            return np.bincount(o[mask & att], minlength=n_att).tolist()

        p_i, hit_i = per(poisoned), per(poisoned & flagged)
        out.update(
            poisoned_per_attacker=p_i,
            flagged_poisoned_per_attacker=hit_i,
            flagged_per_attacker=per(flagged),
            recall_per_attacker=[h / p if p else None for h, p in zip(hit_i, p_i)],
            n_flagged_defender=int(np.count_nonzero(flagged & (o == DEFENDER))),
        )
        return out

    # ---- plain data
    def to_dict(self, per_input: bool = False) -> dict[str, Any]:
        """JSON-compatible summary: method, parameters, flagged indices, per-class
        details; with ``per_input``, also ``scores`` / ``clusters`` per input."""
        d: dict[str, Any] = {
            "method": self.method,
            "params": self.params_map,
            "n_inputs": self.n_inputs,
            "n_flagged": self.n_flagged,
            "flagged": self.flagged.tolist(),
            "classes": [c.to_dict() if hasattr(c, "to_dict") else dict(c) for c in self.classes],
        }
        if per_input:
            d["scores"] = None if self.scores is None else self.scores.tolist()
            d["clusters"] = None if self.clusters is None else self.clusters.tolist()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FilterReport":
        """Inverse of :meth:`to_dict`."""
        method = d["method"]
        detail = _DETAIL_TYPES.get(method)  # a plug-in's details stay plain mappings
        return cls(
            method=method,
            n_inputs=d["n_inputs"],
            flagged=np.asarray(d["flagged"], dtype=np.int64),
            classes=tuple(c if detail is None else detail.from_dict(c) for c in d["classes"]),
            params=tuple(dict(d.get("params", {})).items()),
            scores=d.get("scores"),
            clusters=d.get("clusters"),
        )


def with_params(report: FilterReport, params: Mapping[str, Any]) -> FilterReport:
    """``report`` with its recorded parameters replaced by ``params``."""
    return FilterReport(
        method=report.method,
        n_inputs=report.n_inputs,
        flagged=report.flagged,
        classes=report.classes,
        params=tuple(params.items()),
        scores=report.scores,
        clusters=report.clusters,
    )
