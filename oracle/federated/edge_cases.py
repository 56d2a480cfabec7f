"""Edge cases by feature density (Attack of the Tails, §2, "Constructing a
p-edge-case example set"; not in the authors' code).

The paper fits a Gaussian mixture with one component per class to a trained
model's penultimate-layer features of benign data, and reads its log-density
ln P̂(x) as how typical an input is: MNIST test digits score far higher than
the ARDIS sevens (its Figure 2), so the sevens can serve as edge cases.

Definition 1 of the paper (its formula did not survive the text copy in
``shared/papers``; as published): with X ~ P_X, a set of labelled examples
D_edge = {(x_i, y_i)} is a *p-edge-case example set* if

    P_X(x_i) ≤ p  for every (x_i, y_i) ∈ D_edge, for a small p > 0.

A density has no scale-free threshold, so P_X(x) is read here as the
probability mass of inputs no more typical than x under the fitted density,
estimated on n benign inputs b_1..b_n:

    P̂_X(x) = (1/n) · |{j : ln P̂(b_j) ≤ ln P̂(x)}|     (:func:`tail_probability`)

and x is a p-edge case iff P̂_X(x) ≤ p, which is ln P̂(x) < t_p with t_p the
(⌊p·n⌋ + 1)-th smallest benign log-density (:func:`edge_case_threshold`):
about a share p of the benign inputs lie below t_p. The paper excludes p = 0
(its Remark 1: such points are out of distribution, easier to detect).

Covariance: ``"diag"`` by default. Penultimate features are high-dimensional
(LeNet: 128, ResNet-18: 512) and a class may have a few hundred benign
examples; a full covariance per class has D(D+1)/2 parameters per class and
overfits them, so that the threshold no longer means p on held-out data. On
LeNet features of 3,000 MNIST digits (three subset/training seeds, 3 or 5
epochs), 14-23% of held-out MNIST test digits fell under the 5% threshold with
``"full"`` (6-11% with ``"diag"``); ``"full"`` did flag more ARDIS sevens
(87-95%, ``"diag"`` 32-75%). ``"tied"`` (one shared covariance) stayed
calibrated but separated the sevens from MNIST less well (mean gap 1.0-2.0
benign standard deviations, ``"diag"`` 1.6-3.2).

Variance floor: every component's variances get ``reg_covar`` added. It is
set relative to the features' scale, ``RELATIVE_REG_COVAR`` × the mean
per-feature variance of the benign features, rather than scikit-learn's
absolute 1e-6, so that the fit does not depend on the units of the features
(scaling them by s scales the mixture by s and shifts every log-density by
−D·ln s; which inputs are edge cases does not change). It also keeps dead
ReLU units (zero variance on benign data) from dominating the density of an
input that activates them. On the LeNet features above the two floors gave
comparable separations (neither was better in every run).

Every component starts from its class: weight = class share, mean = class
mean, precision = inverse class (co)variance; EM then refines the mixture.
With another number of components (or no labels), scikit-learn's k-means
initialisation is used, seeded. Seed 3407 throughout, the papers' convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from sklearn.mixture import GaussianMixture

from strategies.validate import DEFAULT_SEED, check_int, check_name, check_real

__all__ = [
    "COVARIANCE_TYPES",
    "DEFAULT_SEED",
    "RELATIVE_REG_COVAR",
    "FeatureDensity",
    "edge_case_threshold",
    "fit_feature_density",
    "log_density_report",
    "select_edge_cases",
    "tail_probability",
]

#: Seed of the mixture's initialisation (the papers' convention).

#: Variance floor of every component, as a share of the mean per-feature
#: variance of the benign features (module docstring).
RELATIVE_REG_COVAR = 1e-2

#: scikit-learn's covariance types.
COVARIANCE_TYPES = ("diag", "full", "tied", "spherical")


@dataclass(frozen=True)
class FeatureDensity:
    """A Gaussian mixture fitted to benign penultimate features.

    ``mixture``: the fitted ``sklearn.mixture.GaussianMixture``;
    ``classes``: the labels its components were initialised from, in
    component order (None without labels); ``reg_covar``: the variance floor
    used.
    """

    mixture: GaussianMixture
    classes: np.ndarray | None
    covariance_type: str
    reg_covar: float

    @property
    def n_features(self) -> int:
        return int(self.mixture.means_.shape[1])

    def log_density(self, features: Any) -> np.ndarray:
        """ln P̂(x) of every row of ``features`` (n, D), float64 (n,)."""
        x = _features(features, "features", self.n_features)
        if x.shape[0] == 0:
            return np.zeros(0)
        return self.mixture.score_samples(x)


def _features(features: Any, field: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{field} has shape {x.shape}; allowed: 2-D (n inputs, D features)")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{field} has {x.shape[1]} features per row; allowed: {dim}, as the fitted density")
    if not np.isfinite(x).all():
        raise ValueError(f"{field} contains NaN or inf")
    return x


def _class_init(x: np.ndarray, y: np.ndarray, classes: np.ndarray, covariance_type: str, reg: float) -> dict:
    """weights_init, means_init and precisions_init of one component per class."""
    groups = [x[y == c] for c in classes]
    weights = np.array([g.shape[0] for g in groups], dtype=np.float64) / x.shape[0]
    means = np.stack([g.mean(axis=0) for g in groups])
    eye = np.eye(x.shape[1])
    if covariance_type == "diag":
        precisions = 1.0 / (np.stack([g.var(axis=0) for g in groups]) + reg)
    elif covariance_type == "spherical":
        precisions = 1.0 / (np.array([g.var(axis=0).mean() for g in groups]) + reg)
    elif covariance_type == "full":
        precisions = np.stack([np.linalg.inv(np.cov(g, rowvar=False, bias=True).reshape(eye.shape) + reg * eye)
                               for g in groups])
    else:  # tied: the pooled within-class covariance
        centred = x - means[np.searchsorted(classes, y)]
        precisions = np.linalg.inv(centred.T @ centred / x.shape[0] + reg * eye)
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def fit_feature_density(
    features: Any,
    labels: Any = None,
    *,
    n_components: int | None = None,
    covariance_type: str = "diag",
    reg_covar: float | None = None,
    seed: int = DEFAULT_SEED,
    max_iter: int = 100,
) -> FeatureDensity:
    """Fit a Gaussian mixture to benign features (n, D), one component per
    class of ``labels`` (n,) by default (Attack of the Tails, §2).

    ``n_components``: None = the number of classes in ``labels``; another
    number (or ``labels=None``, which needs it) uses scikit-learn's seeded
    k-means initialisation instead of the classes. ``covariance_type``: one of
    :data:`COVARIANCE_TYPES` (``"diag"``: see the module docstring).
    ``reg_covar``: None = ``RELATIVE_REG_COVAR`` × mean per-feature variance.
    """
    x = _features(features, "features")
    n = x.shape[0]
    check_name("covariance_type", covariance_type, COVARIANCE_TYPES, plural="covariance types")
    seed = check_int("seed", seed, 0)
    classes = None
    if labels is not None:
        y = np.asarray(labels)
        if y.shape != (n,):
            raise ValueError(f"labels has shape {y.shape}; allowed: ({n},), one per row of features")
        classes = np.unique(y)
    if n_components is None:
        if classes is None:
            raise ValueError("n_components=None needs labels (one component per class)")
        n_components = int(classes.size)
    n_components = check_int("n_components", n_components, 1, n)  # at most the number of rows
    if reg_covar is None:
        scale = float(x.var(axis=0).mean())
        if scale <= 0:
            raise ValueError("features are constant (zero variance): there is no density to fit")
        reg_covar = RELATIVE_REG_COVAR * scale
    else:
        reg_covar = check_real("reg_covar", reg_covar, 0, low_open=True)
    init: dict[str, np.ndarray] = {}
    if classes is not None and classes.size == n_components:
        init = _class_init(x, y, classes, covariance_type, reg_covar)
    else:
        classes = None
    mixture = GaussianMixture(
        n_components=int(n_components),
        covariance_type=covariance_type,
        reg_covar=float(reg_covar),
        max_iter=max_iter,
        random_state=int(seed),
        **init,
    ).fit(x)
    return FeatureDensity(mixture, classes, covariance_type, float(reg_covar))


def _check_p(p: Any) -> float:
    return check_real("p", p, 0, 1, low_open=True, high_open=True)  # Definition 1 excludes p = 0


def _benign_log_density(density: FeatureDensity, benign_features: Any) -> np.ndarray:
    ld = np.sort(density.log_density(benign_features))
    if ld.size == 0:
        raise ValueError("benign_features is empty; allowed: at least 1 row")
    return ld


def edge_case_threshold(density: FeatureDensity, benign_features: Any, p: float) -> float:
    """t_p, the (⌊p·n⌋ + 1)-th smallest log-density of the n benign inputs.

    An input x is a p-edge case iff ln P̂(x) < t_p, i.e. iff at most a share
    p of the benign inputs are as atypical as x (module docstring); ⌊p·n⌋ of
    the benign inputs themselves lie below t_p (barring ties).
    """
    p = _check_p(p)
    ld = _benign_log_density(density, benign_features)
    return float(ld[int(np.floor(p * ld.size))])


def tail_probability(density: FeatureDensity, features: Any, benign_features: Any) -> np.ndarray:
    """P̂_X(x) = (1/n) |{j : ln P̂(b_j) ≤ ln P̂(x)}| for every row x of
    ``features``: the share of the n benign inputs no more typical than x
    (the empirical P_X of Definition 1). float64 (m,)."""
    ld = _benign_log_density(density, benign_features)
    return np.searchsorted(ld, density.log_density(features), side="right") / ld.size


def select_edge_cases(density: FeatureDensity, features: Any, p: float, benign_features: Any) -> np.ndarray:
    """Indices (sorted) of the rows of ``features`` that are p-edge cases:
    ln P̂(x) < :func:`edge_case_threshold`, equivalently P̂_X(x) ≤ p."""
    t = edge_case_threshold(density, benign_features, p)
    return np.flatnonzero(density.log_density(features) < t)


def log_density_report(
    model: Any,
    benign_x: Any,
    candidates: Mapping[str, Any],
    dataset: str,
    *,
    benign_y: Any = None,
    p: float = 0.05,
    covariance_type: str = "diag",
    seed: int = DEFAULT_SEED,
    device: Any = None,
) -> dict[str, dict[str, float]]:
    """The paper's Figure 2 as numbers: log-densities of candidate sets under
    a mixture fitted to ``model``'s features of benign inputs.

    ``benign_x``, each of ``candidates``' values: uint8 images (n, H, W[, C])
    for :func:`oracle.victims.inference.features`. ``benign_y``: the benign labels the
    components start from; None = the model's predictions. The density is
    fitted on ``benign_x``, which also calibrates the p threshold.

    Returns ``{"benign": {...}, name: {...}, ...}``, each with ``n``,
    ``mean``, ``median``, ``std`` of ln P̂ and ``edge_share``, the share of
    the set that are p-edge cases (for ``"benign"``, in sample: ⌊p·n⌋/n).
    """
    from oracle.victims.inference import features, predict  # torch, only when a model is involved

    if "benign" in candidates:
        raise ValueError("candidates may not be named 'benign' (the report's name for benign_x)")
    p = _check_p(p)
    fb = features(model, benign_x, dataset=dataset, device=device)
    labels = predict(model, benign_x, dataset=dataset, device=device) if benign_y is None else benign_y
    density = fit_feature_density(fb, labels, covariance_type=covariance_type, seed=seed)
    threshold = edge_case_threshold(density, fb, p)
    report = {}
    for name, x in {"benign": None, **candidates}.items():
        ld = density.log_density(fb if x is None else features(model, x, dataset=dataset, device=device))
        report[name] = {
            "n": int(ld.size),
            "mean": float(ld.mean()) if ld.size else float("nan"),
            "median": float(np.median(ld)) if ld.size else float("nan"),
            "std": float(ld.std()) if ld.size else float("nan"),
            "edge_share": float((ld < threshold).mean()) if ld.size else float("nan"),
        }
    return report
