"""Removal defenses: filters that flag training inputs from their representations.

Datta & Shadbolt, "Backdoors Stuck at the Frontdoor" (shared/papers/
multi_agent_backdoor.txt), E5 and App. 6.2.6, evaluate two *removal*
defenses: the defender trains the victim on the pooled (poisoned) data,
inspects the trained victim's penultimate representations of its training
inputs, removes the inputs a filter flags, and retrains on the rest. This
module is the filtering step only, as pure functions on arrays:

* :func:`spectral_signatures` (Tran, Li & Madry, "Spectral Signatures in
  Backdoor Attacks", NeurIPS 2018, Algorithm 1);
* :func:`activation_clustering` (Chen et al., "Detecting Backdoor Attacks on
  Deep Neural Networks by Activation Clustering", arXiv:1811.03728, 2018),
  with exclusionary reclassification through a callback that the caller
  implements by retraining.

Both take ``features`` (float ``(n, D)``, e.g. :func:`oracle.victims.train.features`)
and ``labels`` (the *training* labels, int ``(n,)``: a poisoned input sits in
its target class, which is where the filters look for it) and return a
:class:`FilterReport`: the sorted indices they flag, per-class details, and
:meth:`FilterReport.score` against ground truth (precision, recall, F1,
recall per attacker). Training, retraining and the oracle's bookkeeping live
elsewhere (:mod:`oracle.victims.train`, :mod:`oracle.payoff_oracle`). Style after ART's
poison-filtering defences (``SpectralSignatureDefense``,
``ActivationDefence``): one result type for every filter, scoring against
ground truth, parameters validated up front (``ValueError`` naming the field,
the value and the allowed range).

:func:`filter_from_params` runs either defense from a
:class:`strategies.DefenderStrategy`'s parameters (:data:`strategies.DEFENSES`).

Ground truth: :class:`oracle.data.poison.JointDataset` exposes ``poisoned_train``
(bool, the input carries a trigger) and ``owner_train`` (attacker ``i ≥ 0``,
``DEFENDER`` = −1, ``UNUSED`` = −2) for the training split, aligned with
``x_train`` / ``y_train``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategies import DEFENSES, spectral_removal_count, validate_params

from oracle.data.allocation import DEFAULT_SEED, DEFENDER

__all__ = [
    "ACTIVATION_CLUSTERING",
    "DEFAULT_MAX_RELATIVE_SIZE",
    "ICA_MAX_ITER",
    "ICA_TOL",
    "KMEANS_N_INIT",
    "REMOVAL_DEFENSES",
    "SILHOUETTE_MAX_SAMPLES",
    "SPECTRAL_SIGNATURES",
    "ClusterClassDetail",
    "FilterReport",
    "Reclassifier",
    "SpectralClassDetail",
    "activation_clustering",
    "activation_clustering_from_params",
    "filter_from_params",
    "spectral_scores",
    "spectral_signatures",
    "spectral_signatures_from_params",
]

SPECTRAL_SIGNATURES = "spectral-signatures"
ACTIVATION_CLUSTERING = "activation-clustering"
#: The removal defenses of :data:`strategies.DEFENSES` implemented here.
REMOVAL_DEFENSES: tuple[str, ...] = (SPECTRAL_SIGNATURES, ACTIVATION_CLUSTERING)

#: FastICA's iteration limit and tolerance (ART's ``reduce_dimensionality``
#: uses the same: ``FastICA(n_components, max_iter=1000, tol=0.005)``).
ICA_MAX_ITER = 1000
ICA_TOL = 0.005
#: k-means restarts (k-means++ seeding, best inertia kept).
KMEANS_N_INIT = 10
#: Relative size below which the smaller cluster is flagged when no
#: exclusionary reclassification is available (ART's ``relative-size``
#: analysis uses 0.35; Chen et al. report that poison typically forms a
#: cluster much smaller than half the class).
DEFAULT_MAX_RELATIVE_SIZE = 0.35
#: Silhouette scores of classes larger than this are estimated on a seeded
#: random sample of this many inputs (the exact score is O(n²)).
SILHOUETTE_MAX_SAMPLES = 10_000
#: Singular values below this fraction of the largest count as zero when
#: deciding how many ICA components a class's activations support.
RANK_RTOL = 1e-6

#: ``reclassify(suspect_mask) -> predicted labels of the suspect inputs``:
#: exclusionary reclassification's retraining, implemented by the caller.
Reclassifier = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------
# validation


def _range_error(field_: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{field_}={value!r} is out of range: allowed {allowed}")


def _check_int(field_: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{field_}={value!r} is not an integer: allowed [{low}, {'inf' if high is None else high}]")
    v = int(value)
    if v < low or (high is not None and v > high):
        raise _range_error(field_, v, f"[{low}, {'inf' if high is None else high}]")
    return v


def _check_real(field_: str, value: Any, low: float, high: float, *, low_open: bool, high_open: bool) -> float:
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}".replace("inf]", "inf)")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{field_}={value!r} is not a number: allowed {interval}")
    v = float(value)
    if math.isnan(v) or (v <= low if low_open else v < low) or (v >= high if high_open else v > high):
        raise _range_error(field_, value, interval)
    return v


def _check_features_labels(
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
        raise ValueError(f"labels holds {int(y.min())}; allowed: labels ≥ 0")
    seen = int(y.max()) + 1 if n else 0
    if num_classes is None:
        num_classes = seen
    else:
        num_classes = _check_int("num_classes", num_classes, max(seen, 1))
    return x, y, num_classes


def _check_mask(field_: str, value: Any, n: int) -> np.ndarray:
    a = np.asarray(value)
    if a.shape != (n,) or a.dtype != np.bool_:
        raise ValueError(f"{field_} has dtype {a.dtype} and shape {a.shape}; allowed: bool ({n},)")
    return a


def _by_class(y: np.ndarray, num_classes: int) -> list[np.ndarray]:
    """Indices of each class, ascending within a class (one stable sort)."""
    order = np.argsort(y, kind="stable")
    bounds = np.cumsum(np.bincount(y, minlength=num_classes))[:-1]
    return np.split(order, bounds)


def _ro(a: np.ndarray) -> np.ndarray:
    """A read-only view (the caller's own array keeps its flags)."""
    v = np.ascontiguousarray(a).view()
    v.setflags(write=False)
    return v


def _plain(v: Any) -> Any:
    """numpy scalars and tuples as JSON-friendly Python values."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, list)):
        return [_plain(u) for u in v]
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
        return {k: _plain(getattr(self, k)) for k in self.__dataclass_fields__}

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
        return {k: _plain(getattr(self, k)) for k in self.__dataclass_fields__}

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
        ``"spectral-signatures"`` or ``"activation-clustering"``.
    n_inputs : int
        Rows of the features the filter saw (the training set).
    flagged : int64 array
        Sorted, unique indices into the training set that the filter flags
        for removal (read-only).
    classes : tuple
        One :class:`SpectralClassDetail` / :class:`ClusterClassDetail` per
        class ``0 .. num_classes − 1``.
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
        if self.method not in _DETAIL_TYPES:
            raise ValueError(f"method={self.method!r} is not allowed: allowed values are {', '.join(REMOVAL_DEFENSES)}")
        n = _check_int("n_inputs", self.n_inputs, 0)
        object.__setattr__(self, "n_inputs", n)
        f = np.asarray(self.flagged, dtype=np.int64).reshape(-1)
        if f.size and (f[0] < 0 or f[-1] >= n or np.any(np.diff(f) <= 0)):
            raise ValueError(f"flagged must be sorted unique indices in [0, {n - 1}]")
        object.__setattr__(self, "flagged", _ro(f))
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "params", tuple(sorted((str(k), _plain(v)) for k, v in dict(self.params).items())))
        for name, dtype in (("scores", np.float64), ("clusters", np.int64)):
            a = getattr(self, name)
            if a is not None:
                a = np.asarray(a, dtype=dtype)
                if a.shape != (n,):
                    raise ValueError(f"{name} has shape {a.shape}; allowed: ({n},)")
                object.__setattr__(self, name, _ro(a))

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
        poisoned = _check_mask("poisoned", poisoned, n)
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
        n_att = seen if n_attackers is None else _check_int("n_attackers", n_attackers, seen)
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
            "classes": [c.to_dict() for c in self.classes],
        }
        if per_input:
            d["scores"] = None if self.scores is None else self.scores.tolist()
            d["clusters"] = None if self.clusters is None else self.clusters.tolist()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FilterReport":
        """Inverse of :meth:`to_dict`."""
        method = d["method"]
        if method not in _DETAIL_TYPES:
            raise ValueError(f"method={method!r} is not allowed: allowed values are {', '.join(REMOVAL_DEFENSES)}")
        detail = _DETAIL_TYPES[method]
        return cls(
            method=method,
            n_inputs=d["n_inputs"],
            flagged=np.asarray(d["flagged"], dtype=np.int64),
            classes=tuple(detail.from_dict(c) for c in d["classes"]),
            params=tuple(dict(d.get("params", {})).items()),
            scores=d.get("scores"),
            clusters=d.get("clusters"),
        )


# --------------------------------------------------------------------------
# spectral signatures


def spectral_scores(representations: np.ndarray, *, centred: bool = True) -> tuple[np.ndarray, float]:
    """Outlier scores of one class (Tran et al. 2018, Algorithm 1).

    With ``R`` the class's ``(n, D)`` representations, ``R̂`` their mean and
    ``v`` the top right singular vector of the centred matrix
    ``M = [R_i − R̂]_i`` (equivalently, the top eigenvector of the empirical
    covariance ``MᵀM / n``), the score of input ``i`` is

        τ_i = ((R_i − R̂) · v)².

    ``centred=False`` scores ``(R_i · v)²`` instead: the *uncentred*
    representation projected on the same ``v``. That is what the authors'
    released code (MadryLab/backdoor_data_poisoning, ``compute_corr.py``)
    and ART's ``SpectralSignatureDefense`` compute (``|R_i · v|``, the same
    ranking); it ranks by the signed projection shifted by ``R̂ · v``, so
    for non-negative (ReLU) features it favours one tail of the class.

    Computed in float64. Returns ``(τ, σ₁)``, ``σ₁`` the top singular value
    (0 for a class of fewer than two distinct representations, whose
    centred scores are then all 0).
    """
    r = np.asarray(representations, dtype=np.float64)
    if r.shape[0] == 0:
        return np.zeros(0), 0.0
    m = r - r.mean(axis=0)
    _, s, vt = np.linalg.svd(m, full_matrices=False)
    return ((m if centred else r) @ vt[0]) ** 2, float(s[0])


def spectral_signatures(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_remove_per_class: int | Callable[[int], int],
    centred: bool = True,
    num_classes: int | None = None,
) -> FilterReport:
    """Spectral signatures (Tran, Li & Madry, NeurIPS 2018, Algorithm 1).

    For every class ``c`` (inputs with training label ``c``): centre the
    class's representations, take the top right singular vector ``v`` of the
    centred matrix, score each input by ``τ_i = ((R_i − R̂_c) · v)²``
    (:func:`spectral_scores`), and flag the ``k_c`` inputs with the largest
    scores. A backdoor's poisoned inputs share a feature the clean inputs of
    the target class lack, which shifts their mean away from the clean mean;
    when the shift is large against the class's spread (the paper's
    "spectral signature"), it dominates the top singular direction and
    the poisoned inputs take the largest scores.

    ``n_remove_per_class``: an int ``k ≥ 0`` (``k_c = min(k, |c|)``), or a
    function of the class size ``|c|`` returning ``k_c`` (results above
    ``|c|`` are capped; negative results raise). Tran et al. remove
    ``1.5 ε |c|`` per class for an upper bound ``ε`` on the poisoned
    fraction; Datta & Shadbolt (App. 6.2.6) remove the top 5 per class for
    ``N = 1`` and the top 500 for ``N = 100``
    (:func:`spectral_signatures_from_params`).

    ``centred``: score centred representations, as Algorithm 1 states
    (default), or, with ``False``, the uncentred ones as the authors' code
    and ART do (:func:`spectral_scores`).

    Ties in score are broken towards the lower index, so the result is a
    deterministic function of the inputs. ``num_classes`` defaults to
    ``max(labels) + 1``.
    """
    x, y, num_classes = _check_features_labels(features, labels, num_classes)
    if not isinstance(centred, (bool, np.bool_)):
        raise ValueError(f"centred={centred!r} is not a boolean: allowed True, False")
    if callable(n_remove_per_class):
        k_of: Callable[[int], int] = n_remove_per_class
        k_desc: Any = getattr(n_remove_per_class, "__name__", "callable")
    else:
        k_fixed = _check_int("n_remove_per_class", n_remove_per_class, 0)
        k_of, k_desc = (lambda size: k_fixed), k_fixed

    n = x.shape[0]
    scores = np.zeros(n, dtype=np.float64)
    flagged: list[np.ndarray] = []
    details = []
    for c, idx in enumerate(_by_class(y, num_classes)):
        k = _check_int(f"n_remove_per_class({idx.size}) for class {c}", k_of(idx.size), 0)
        k = min(k, idx.size)
        if idx.size == 0:
            details.append(SpectralClassDetail(c, 0, 0, None, None, None))
            continue
        tau, sigma = spectral_scores(x[idx], centred=bool(centred))
        scores[idx] = tau
        top = np.argsort(-tau, kind="stable")[:k]
        flagged.append(idx[top])
        details.append(
            SpectralClassDetail(
                label=c,
                size=int(idx.size),
                n_flagged=k,
                top_singular_value=sigma,
                max_score=float(tau.max()),
                threshold=float(tau[top].min()) if k else None,
            )
        )
    out = np.sort(np.concatenate(flagged)) if flagged else np.zeros(0, dtype=np.int64)
    return FilterReport(
        method=SPECTRAL_SIGNATURES,
        n_inputs=n,
        flagged=out,
        classes=tuple(details),
        params=(("n_remove_per_class", k_desc), ("centred", bool(centred)), ("num_classes", num_classes)),
        scores=scores,
    )


def spectral_signatures_from_params(
    features: np.ndarray,
    labels: np.ndarray,
    params: Mapping[str, Any],
    *,
    n_attackers: int,
    num_classes: int | None = None,
) -> FilterReport:
    """:func:`spectral_signatures` with a defender's ``spectral-signatures``
    parameters (:data:`strategies.DEFENSES`; defaults filled in, checked), the
    number removed per class given by
    :func:`strategies.spectral_removal_count` ``(params, n_attackers,
    class_size)``: ``k_per_class · N`` (``removal="per-attacker"``, the
    paper's 5 for N = 1 and 500 for N = 100), ``k_per_class`` (``"fixed"``)
    or ``round(remove_fraction · |c|)`` (``"fraction"``)."""
    p = dict(validate_params("defense", DEFENSES[SPECTRAL_SIGNATURES], params))
    n_att = _check_int("n_attackers", n_attackers, 1)

    def removal_count(class_size: int) -> int:
        return spectral_removal_count(p, n_att, class_size)

    report = spectral_signatures(features, labels, n_remove_per_class=removal_count, num_classes=num_classes)
    return _with_params(report, {**p, "n_attackers": n_att, "centred": True,
                                 "num_classes": report.params_map["num_classes"]})  # fmt: skip


def _with_params(report: FilterReport, params: Mapping[str, Any]) -> FilterReport:
    return FilterReport(
        method=report.method,
        n_inputs=report.n_inputs,
        flagged=report.flagged,
        classes=report.classes,
        params=tuple(params.items()),
        scores=report.scores,
        clusters=report.clusters,
    )


# --------------------------------------------------------------------------
# activation clustering


@dataclass
class _Clustered:
    """One class after ICA and k-means (internal)."""

    idx: np.ndarray
    assign: np.ndarray | None = None
    sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_components: int = 0
    silhouette: float | None = None
    converged: bool | None = None
    suspect: int | None = None


def _cluster_class(
    xc: np.ndarray, n_components: int, n_clusters: int, seed: int
) -> tuple[np.ndarray | None, int, float | None, bool | None]:
    """ICA then k-means for one class: (assignments or None, components used, silhouette, ICA converged)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import silhouette_score

    n = xc.shape[0]
    if n < n_clusters:
        return None, 0, None, None
    # Constant columns (ReLU units dead on this class) carry nothing once centred, and
    # must go: scikit-learn's FastICA fixes signs with np.sign(u[0]), the first
    # feature's loadings, which zeroes every component when feature 0 is constant.
    m = xc[:, np.ptp(xc, axis=0) > 0].astype(np.float64)
    m -= m.mean(axis=0)
    s = np.linalg.svd(m, compute_uv=False) if m.shape[1] else np.zeros(0)
    rank = int(np.count_nonzero(s > RANK_RTOL * s[0])) if s.size and s[0] > 0 else 0
    n_used = min(n_components, rank)
    if n_used == 0:
        return None, 0, None, None
    ica = FastICA(
        n_components=n_used, whiten="unit-variance", max_iter=ICA_MAX_ITER, tol=ICA_TOL, random_state=seed
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        z = ica.fit_transform(m)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    if not np.isfinite(z).all():
        raise RuntimeError(
            f"FastICA returned non-finite components for a class of {n} inputs ({m.shape[1]} varying "
            f"features, {n_used} components)"
        )
    with warnings.catch_warnings():
        # fewer distinct points than clusters: k-means says so; we report the empty cluster
        warnings.simplefilter("ignore", ConvergenceWarning)
        assign = KMeans(n_clusters=n_clusters, n_init=KMEANS_N_INIT, random_state=seed).fit_predict(z)
    n_labels = np.unique(assign).size
    if n_labels < 2:  # every reduced point equal: nothing to split
        return None, 0, None, converged
    sil = None
    if n_labels <= n - 1:
        sample = SILHOUETTE_MAX_SAMPLES if n > SILHOUETTE_MAX_SAMPLES else None
        sil = float(silhouette_score(z, assign, sample_size=sample, random_state=seed))
    return assign.astype(np.int64), n_used, sil, converged


def activation_clustering(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_components: int = 10,
    n_clusters: int = 2,
    seed: int = DEFAULT_SEED,
    reclassify: Reclassifier | None = None,
    threshold: float = 1.0,
    max_relative_size: float = DEFAULT_MAX_RELATIVE_SIZE,
    num_classes: int | None = None,
) -> FilterReport:
    """Activation clustering (Chen et al., arXiv:1811.03728, 2018).

    Per class ``c`` (inputs with training label ``c``):

    1. **Reduce.** Centre the class's activations and project them with
       scikit-learn's ``FastICA`` onto ``n_components`` independent
       components (``whiten="unit-variance"``, ``max_iter=ICA_MAX_ITER``,
       ``tol=ICA_TOL``, ``random_state=seed``), as Chen et al. do (ICA to 10
       dimensions). Fewer components are used when the centred activations
       have lower rank (``r`` = singular values above ``RANK_RTOL`` × the
       largest; a class of ``n`` inputs has ``r ≤ n − 1``): whitening along
       null directions would divide by zero. Note: FastICA's output is the
       whitened top-``m`` principal subspace times an orthogonal unmixing
       matrix, and k-means is invariant under orthogonal maps, so the
       clustering equals k-means on the whitened top-``m`` PCA scores; ICA's
       convergence (``ica_converged``) does not change it.
    2. **Cluster.** ``KMeans(n_clusters, n_init=KMEANS_N_INIT,
       random_state=seed)`` on the reduced activations. The *suspect*
       cluster is the smallest non-empty one (lowest index among equals). Relative sizes
       and the silhouette score (scikit-learn, on the reduced activations;
       sampled above ``SILHOUETTE_MAX_SAMPLES`` inputs) are recorded: Chen
       et al. use both as evidence that a class splits into clean and
       poisoned inputs. Classes with fewer inputs than ``n_clusters``, or
       with all activations equal, are not clustered and nothing in them is
       flagged.
    3. **Decide.**

       * With ``reclassify`` (*exclusionary reclassification*): it is called
         once with the bool mask ``(n,)`` of all suspect inputs (the
         suspect clusters of every class) and must return the labels
         ``(mask.sum(),)``, in index order, that a model trained *without*
         those inputs predicts for them. For the suspect cluster of class
         ``c``, let ``l`` be the number of its inputs predicted as ``c`` and
         ``p`` the largest number predicted as any single other class.
         Chen et al.: the cluster is legitimate if ``l / p > threshold``
         (``T``, default 1; ``p = 0`` counts as legitimate), otherwise it is
         confirmed poisoned and flagged (a poisoned cluster carries the
         target label but looks like its source class, which the retrained
         model, never having seen the trigger, predicts). Chen et al.
         retrain once per suspect cluster; retraining *once* without all
         suspect clusters together is our cost-saving approximation (one
         extra training run instead of one per class). It removes each
         class's smaller cluster at the same time, which is harmless for
         the clean classes (their larger cluster remains to learn them
         from) but means the retrained model sees no poisoned input of
         any attacker whose poison was isolated.
       * Without ``reclassify`` (the *relative-size* rule, ART's
         ``cluster_analysis="relative-size"``): the suspect cluster is
         flagged when its relative size is below ``max_relative_size``
         (default 0.35, ART's threshold; ART compares sizes rounded to two
         decimals, we do not). ``max_relative_size = 1`` flags the smaller
         cluster of every clustered class: ART's ``"smaller"`` analysis.
         A clean class too splits into two clusters, so this rule costs
         clean inputs whenever a clean class splits unevenly.

    Parameters are validated first: ``n_components ≥ 1``, ``n_clusters ≥ 2``,
    ``seed`` in ``[0, 2³² − 1]``, ``threshold > 0``, ``max_relative_size``
    in ``(0, 1]``. ``num_classes`` defaults to ``max(labels) + 1``.
    """
    x, y, num_classes = _check_features_labels(features, labels, num_classes)
    n_components = _check_int("n_components", n_components, 1)
    n_clusters = _check_int("n_clusters", n_clusters, 2)
    seed = _check_int("seed", seed, 0, 2**32 - 1)
    threshold = _check_real("threshold", threshold, 0.0, math.inf, low_open=True, high_open=True)
    max_relative_size = _check_real("max_relative_size", max_relative_size, 0.0, 1.0, low_open=True, high_open=False)
    if reclassify is not None and not callable(reclassify):
        raise ValueError(f"reclassify={reclassify!r} is not callable: allowed a function mask -> labels, or None")

    n = x.shape[0]
    clusters = np.full(n, -1, dtype=np.int64)
    per_class: list[_Clustered] = []
    for idx in _by_class(y, num_classes):
        cl = _Clustered(idx=idx)
        assign, cl.n_components, cl.silhouette, cl.converged = _cluster_class(x[idx], n_components, n_clusters, seed)
        if assign is not None:
            cl.assign = assign
            clusters[idx] = assign
            cl.sizes = np.bincount(assign, minlength=n_clusters)
            # the smallest non-empty cluster (k-means leaves one empty when the class has
            # fewer distinct reduced points than clusters)
            cl.suspect = int(np.argmin(np.where(cl.sizes > 0, cl.sizes, n + 1)))
        per_class.append(cl)

    suspect_mask = np.zeros(n, dtype=bool)
    for cl in per_class:
        if cl.suspect is not None:
            suspect_mask[cl.idx[cl.assign == cl.suspect]] = True

    predicted = None
    if reclassify is not None and suspect_mask.any():
        predicted = np.full(n, -1, dtype=np.int64)
        got = np.asarray(reclassify(suspect_mask.copy()))
        k = int(suspect_mask.sum())
        if got.shape != (k,) or not np.issubdtype(got.dtype, np.integer):
            raise ValueError(
                f"reclassify returned dtype {got.dtype} and shape {got.shape}; allowed: integer ({k},), "
                "the predicted labels of the suspect inputs in index order"
            )
        if k and (got.min() < 0 or got.max() >= num_classes):
            raise ValueError(
                f"reclassify returned labels {int(got.min())}..{int(got.max())}; allowed: 0..{num_classes - 1}"
            )
        predicted[suspect_mask] = got

    rule = "exclusionary-reclassification" if reclassify is not None else "relative-size"
    flagged_parts: list[np.ndarray] = []
    details = []
    for c, cl in enumerate(per_class):
        size = int(cl.idx.size)
        rel = tuple(float(v) for v in cl.sizes / size) if size else ()
        common = dict(
            label=c, size=size, n_components=cl.n_components, cluster_sizes=tuple(int(v) for v in cl.sizes),
            relative_sizes=rel, suspect=cl.suspect, silhouette=cl.silhouette, ica_converged=cl.converged, rule=rule,
        )  # fmt: skip
        if cl.suspect is None:
            details.append(ClusterClassDetail(**common, decision="not-clustered", n_flagged=0))
            continue
        members = cl.idx[cl.assign == cl.suspect]
        extra: dict[str, Any] = {}
        if reclassify is not None:
            assert predicted is not None  # this class has a non-empty suspect cluster
            others = np.bincount(predicted[members], minlength=num_classes)
            l_count = int(others[c])
            others[c] = 0
            source = int(np.argmax(others))
            p_count = int(others[source])
            legit = p_count == 0 or l_count / p_count > threshold
            extra = dict(reclass_l=l_count, reclass_p=p_count, reclass_source=source if p_count > 0 else None)
            flag = not legit
        else:
            flag = rel[cl.suspect] < max_relative_size
        if flag:
            flagged_parts.append(members)
        details.append(
            ClusterClassDetail(
                **common, decision="flagged" if flag else "kept", n_flagged=int(members.size) if flag else 0, **extra
            )
        )

    out = np.sort(np.concatenate(flagged_parts)) if flagged_parts else np.zeros(0, dtype=np.int64)
    params: dict[str, Any] = {
        "n_components": n_components,
        "n_clusters": n_clusters,
        "seed": seed,
        "rule": rule,
        "num_classes": num_classes,
    }
    if reclassify is not None:
        params["threshold"] = threshold
    else:
        params["max_relative_size"] = max_relative_size
    return FilterReport(
        method=ACTIVATION_CLUSTERING,
        n_inputs=n,
        flagged=out,
        classes=tuple(details),
        params=tuple(params.items()),
        clusters=clusters,
    )


def activation_clustering_from_params(
    features: np.ndarray,
    labels: np.ndarray,
    params: Mapping[str, Any],
    *,
    reclassify: Reclassifier | None = None,
    seed: int = DEFAULT_SEED,
    max_relative_size: float = DEFAULT_MAX_RELATIVE_SIZE,
    num_classes: int | None = None,
) -> FilterReport:
    """:func:`activation_clustering` with a defender's ``activation-clustering``
    parameters (:data:`strategies.DEFENSES`: ``n_components``,
    ``n_clusters``, ``reclassification_threshold``; defaults filled in,
    checked). The paper (App. 6.2.6) uses exclusionary reclassification, so
    the oracle should pass ``reclassify``; ``max_relative_size`` applies
    only without it."""
    p = dict(validate_params("defense", DEFENSES[ACTIVATION_CLUSTERING], params))
    return activation_clustering(
        features,
        labels,
        n_components=p["n_components"],
        n_clusters=p["n_clusters"],
        seed=seed,
        reclassify=reclassify,
        threshold=p["reclassification_threshold"],
        max_relative_size=max_relative_size,
        num_classes=num_classes,
    )


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
    """Run the removal defense ``defense`` (one of :data:`REMOVAL_DEFENSES`)
    with its strategy parameters: the one entry point for the oracle.
    ``n_attackers`` sizes spectral signatures' removal; ``reclassify`` and
    ``seed`` are activation clustering's. Unknown names raise."""
    if defense == SPECTRAL_SIGNATURES:
        return spectral_signatures_from_params(features, labels, params, n_attackers=n_attackers,
                                               num_classes=num_classes)  # fmt: skip
    if defense == ACTIVATION_CLUSTERING:
        _check_int("n_attackers", n_attackers, 1)
        return activation_clustering_from_params(features, labels, params, reclassify=reclassify, seed=seed,
                                                 num_classes=num_classes)  # fmt: skip
    raise ValueError(f"unknown removal defense {defense!r}: known removal defenses are {', '.join(REMOVAL_DEFENSES)}")
