"""Activation clustering (Chen et al., "Detecting Backdoor Attacks on Deep Neural Networks by
Activation Clustering", arXiv:1811.03728, 2018): per class, FastICA then k-means on the
representations, with exclusionary reclassification through a callback that the caller
implements by retraining. A pure function on arrays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategies.validate import DEFAULT_SEED, check_int, check_real
from oracle.defenses.filter_report import (
    ACTIVATION_CLUSTERING,
    ClusterClassDetail,
    FilterReport,
    check_features_labels,
    indices_by_class,
)
from strategies import DEFENSES, validate_params

__all__ = [
    "DEFAULT_MAX_RELATIVE_SIZE",
    "ICA_MAX_ITER",
    "ICA_TOL",
    "KMEANS_N_INIT",
    "RANK_RTOL",
    "SILHOUETTE_MAX_SAMPLES",
    "Reclassifier",
    "activation_clustering",
    "activation_clustering_from_params",
]

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
    x, y, num_classes = check_features_labels(features, labels, num_classes)
    n_components = check_int("n_components", n_components, 1)
    n_clusters = check_int("n_clusters", n_clusters, 2)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    threshold = check_real("threshold", threshold, 0.0, math.inf, low_open=True, high_open=True)
    max_relative_size = check_real("max_relative_size", max_relative_size, 0.0, 1.0, low_open=True, high_open=False)
    if reclassify is not None and not callable(reclassify):
        raise ValueError(f"reclassify={reclassify!r} is not callable: allowed a function mask -> labels, or None")

    n = x.shape[0]
    clusters = np.full(n, -1, dtype=np.int64)
    per_class: list[_Clustered] = []
    for idx in indices_by_class(y, num_classes):
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
        bad = np.flatnonzero((got < 0) | (got >= num_classes))
        if bad.size:
            check_int(f"reclassify's labels[{bad[0]}]", int(got[bad[0]]), 0, num_classes - 1)
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
