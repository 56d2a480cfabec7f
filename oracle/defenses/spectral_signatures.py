"""Spectral signatures (Tran, Li & Madry, "Spectral Signatures in Backdoor Attacks", NeurIPS 2018,
Algorithm 1): per class, score each input on the top singular direction of its centred
representations and flag the highest scores. A pure function on arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from oracle.defenses.filter_report import (
    SPECTRAL_SIGNATURES,
    FilterReport,
    SpectralClassDetail,
    check_features_labels,
    indices_by_class,
    with_params,
)
from strategies import DEFENSES, spectral_removal_count, validate_params
from strategies.validate import check_bool, check_int

__all__ = ["spectral_scores", "spectral_signatures", "spectral_signatures_from_params"]


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
    x, y, num_classes = check_features_labels(features, labels, num_classes)
    check_bool("centred", centred)
    if callable(n_remove_per_class):
        k_of: Callable[[int], int] = n_remove_per_class
        k_desc: Any = getattr(n_remove_per_class, "__name__", "callable")
    else:
        k_fixed = check_int("n_remove_per_class", n_remove_per_class, 0)
        k_of, k_desc = (lambda size: k_fixed), k_fixed

    n = x.shape[0]
    scores = np.zeros(n, dtype=np.float64)
    flagged: list[np.ndarray] = []
    details = []
    for c, idx in enumerate(indices_by_class(y, num_classes)):
        k = check_int(f"n_remove_per_class({idx.size}) for class {c}", k_of(idx.size), 0)
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
    n_att = check_int("n_attackers", n_attackers, 1)

    def removal_count(class_size: int) -> int:
        return spectral_removal_count(p, n_att, class_size)

    report = spectral_signatures(features, labels, n_remove_per_class=removal_count, num_classes=num_classes)
    return with_params(report, {**p, "n_attackers": n_att, "centred": True,
                                 "num_classes": report.params_map["num_classes"]})  # fmt: skip
