"""Robust aggregation rules for the federated simulation (Attack of the Tails, §4).

Every rule is a pure function on one round's client updates, in the style of
Flower's ``flwr/server/strategy/aggregate.py``: tensors in, an
:class:`Aggregate` out, no state, no federated loop.

* ``updates``: float tensor (m, P); row i is Δ_i = w_i − w, client i's
  trained weights minus the global weights it started from, flattened;
* ``weights``: (m,) the clients' data counts n_i (≥ 0, not all 0);
* the result's ``update`` (P,) is what the server *adds* to w.

The names and parameters are those of :data:`strategies.AGGREGATORS`;
:func:`aggregate` validates them through :class:`strategies.AggregatorStrategy`
(defaults filled in, unknown names and parameters rejected with the known
ones listed — never a silent fallback to FedAvg, which is what the paper's
public code does with a misspelt defense) and dispatches by name:

============== ================================== =============================
name           function                           source
============== ================================== =============================
fedavg         :func:`fedavg`                     McMahan et al., 2017
norm-clipping  :func:`norm_clipping` (bound)      Sun et al., 2019
krum           :func:`krum` (f)                   Blanchard et al., 2017
multi-krum     :func:`multi_krum` (f, m)          Blanchard et al., 2017
rfa            :func:`rfa` (max_iter, eps, ftol)  Pillutla et al., 2019
weak-dp        :func:`weak_dp` (bound, noise_std) Sun et al., 2019
median         :func:`coordinate_median`          Yin et al., 2018
trimmed-mean   :func:`trimmed_mean` (beta)        Yin et al., 2018
============== ================================== =============================

Each function works on the device and in the dtype of ``updates`` and is
vectorised over coordinates (``torch.cdist``, sorts along the client axis);
the only Python loop is RFA's Weiszfeld iteration. Malformed input (not 2-D,
non-finite values, weights of the wrong length, negative or all-zero weights,
too few clients for Krum) raises ``ValueError`` with one message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from strategies import AGGREGATORS, AggregatorStrategy
from strategies.validate import out_of_range

__all__ = [
    "Aggregate",
    "RULES",
    "aggregate",
    "coordinate_median",
    "fedavg",
    "krum",
    "krum_scores",
    "multi_krum",
    "norm_clipping",
    "rfa",
    "trimmed_mean",
    "weak_dp",
]

Weights = torch.Tensor | Sequence[float]


@dataclass(frozen=True)
class Aggregate:
    """One round's aggregate.

    ``update`` (P,): the aggregated update, to be added to the global
    weights. ``kept``: the client rows that entered it (all of them, except
    under Krum and Multi-Krum, which choose). ``info``: what the rule
    measured, as plain Python values, e.g. ``{"scores": [...]}`` for Krum,
    ``{"iterations": k}`` for RFA, ``{"clipped": [...]}`` for clipping.
    """

    update: torch.Tensor
    kept: tuple[int, ...]
    info: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------
def _check(updates: Any, weights: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``updates`` (m, P) and ``weights`` (m,); return the weights as
    a tensor on the updates' device, in their dtype, normalised to sum 1."""
    if not isinstance(updates, torch.Tensor):
        raise ValueError(f"updates is a {type(updates).__name__}; allowed: a torch.Tensor (m clients, P parameters)")
    if updates.ndim != 2 or updates.shape[0] < 1:
        raise ValueError(
            f"updates has shape {tuple(updates.shape)}; allowed: 2-D (m clients, P parameters) with m >= 1"
        )
    if not updates.is_floating_point():
        raise ValueError(f"updates has dtype {updates.dtype}; allowed: a floating-point dtype")
    # a row sum is NaN or inf if the row holds one (a fast reduction); only then
    # check element by element (the sum may also have overflowed)
    if not bool(torch.isfinite(updates.sum(dim=1)).all()):
        bad = torch.nonzero(~torch.isfinite(updates).all(dim=1)).flatten().tolist()
        if bad:
            raise ValueError(f"updates of client rows {bad} contain NaN or inf")
    m = updates.shape[0]
    try:
        w = torch.as_tensor(weights, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"weights={weights!r} is not numbers: allowed ({m},) numbers, one data count per client row") from None
    if w.ndim != 1 or w.shape[0] != m:
        raise ValueError(f"weights has shape {tuple(w.shape)}; allowed: ({m},), one data count per client row")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        out_of_range("weights", w.tolist(), "finite numbers >= 0")
    total = float(w.sum())
    if total <= 0:
        out_of_range("weights", w.tolist(), "at least one positive weight (these sum to 0)")
    return updates, (w / total).to(device=updates.device, dtype=updates.dtype)


def _params(name: str, **given: Any) -> Mapping[str, Any]:
    """Validated parameters of aggregator ``name`` (defaults filled in)."""
    return AggregatorStrategy(name, {k: v for k, v in given.items() if v is not None}).params_map


def _weighted_mean(updates: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Σ_i α_i Δ_i for weights α (m,) that sum to 1."""
    return alpha @ updates


def _norms(updates: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(updates, dim=1)


def _all(m: int) -> tuple[int, ...]:
    return tuple(range(m))


# --------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------
def fedavg(updates: torch.Tensor, weights: Weights) -> Aggregate:
    """Federated averaging: the data-weighted mean of the updates.

    Δ = Σ_i n_i Δ_i / Σ_i n_i  (McMahan et al., 2017, "Communication-Efficient
    Learning of Deep Networks from Decentralized Data"; Attack of the Tails,
    eq. 1).
    """
    updates, alpha = _check(updates, weights)
    return Aggregate(_weighted_mean(updates, alpha), _all(updates.shape[0]), {})


def _clip(updates: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each row scaled to L2 norm ≤ bound; returns (clipped, norms, clipped mask)."""
    norms = _norms(updates)
    scale = torch.clamp(bound / torch.clamp(norms, min=torch.finfo(updates.dtype).tiny), max=1.0)
    return updates * scale[:, None], norms, norms > bound


def norm_clipping(updates: torch.Tensor, weights: Weights, bound: float | None = None) -> Aggregate:
    """Norm-difference clipping, then FedAvg.

    Δ_i ← Δ_i / max(1, ‖Δ_i‖₂ / bound), then Δ = Σ_i n_i Δ_i / Σ_i n_i, so
    that no client moves the global model by more than ``bound`` (Sun et al.,
    2019, "Can You Really Backdoor Federated Learning?"; Attack of the Tails
    uses bound 2 on CIFAR-10 and the digits). ``info``: ``norms`` (before
    clipping) and ``clipped`` (rows whose norm exceeded the bound).
    """
    bound = _params("norm-clipping", bound=bound)["bound"]
    updates, alpha = _check(updates, weights)
    clipped, norms, mask = _clip(updates, bound)
    info = {"norms": norms.tolist(), "clipped": torch.nonzero(mask).flatten().tolist()}
    return Aggregate(_weighted_mean(clipped, alpha), _all(updates.shape[0]), info)


def _check_krum_size(n: int, f: int, rule: str) -> int:
    """Number of nearest neighbours n − f − 2 Krum scores over; raise if < 1."""
    k = n - f - 2
    if k < 1:
        raise ValueError(
            f"{rule} with f={f} needs at least f + 3 = {f + 3} client updates (n - f - 2 >= 1 nearest "
            f"neighbours to score over); got n={n}"
        )
    return k


def krum_scores(updates: torch.Tensor, f: int) -> torch.Tensor:
    """Krum scores s(i) = Σ_{j ∈ N_i} ‖Δ_i − Δ_j‖², N_i the n − f − 2 updates
    nearest to Δ_i other than itself (Blanchard et al., 2017, §4). (n,) tensor.
    """
    n = updates.shape[0]
    k = _check_krum_size(n, f, "Krum")
    # not the matrix-product shortcut: it loses the small distances between
    # near-identical updates to cancellation
    dist2 = torch.cdist(updates, updates, compute_mode="donot_use_mm_for_euclid_dist").square()
    dist2.fill_diagonal_(math.inf)
    return torch.topk(dist2, k, dim=1, largest=False).values.sum(dim=1)


def krum(updates: torch.Tensor, weights: Weights, f: int | None = None) -> Aggregate:
    """Krum: the one update closest to its n − f − 2 nearest neighbours.

    Δ = Δ_{i*}, i* = argmin_i s(i), s(i) = Σ_{j ∈ N_i} ‖Δ_i − Δ_j‖² over the
    n − f − 2 nearest other updates N_i, for at most f Byzantine clients
    (Blanchard et al., 2017, "Machine Learning with Adversaries: Byzantine
    Tolerant Gradient Descent"; the guarantee needs n > 2f + 2, the rule only
    n − f − 2 ≥ 1). Ties go to the lowest row. Data counts are ignored
    (validated only). ``info``: ``scores``, ``chosen``.
    """
    f = _params("krum", f=f)["f"]
    updates, _ = _check(updates, weights)
    scores = krum_scores(updates, f)
    best = int(torch.argmin(scores))
    return Aggregate(updates[best].clone(), (best,), {"scores": scores.tolist(), "chosen": best})


def multi_krum(updates: torch.Tensor, weights: Weights, f: int | None = None, m: int | None = None) -> Aggregate:
    """Multi-Krum: the data-weighted mean of the m updates with the lowest
    Krum scores.

    S = the m rows of least s(i) (see :func:`krum`), Δ = Σ_{i∈S} n_i Δ_i /
    Σ_{i∈S} n_i (Blanchard et al., 2017, §5; m = n − f by default, as in
    Attack of the Tails, App. "Hyper-parameters", and its code, which
    weights by data count). Ties in score go to the lower row. ``kept``: S in
    increasing row order; ``info``: ``scores``.
    """
    params = _params("multi-krum", f=f, m=m)
    f = params["f"]
    updates, alpha = _check(updates, weights)
    n = updates.shape[0]
    scores = krum_scores(updates, f)
    keep = params.get("m", n - f)
    if keep > n:
        raise ValueError(f"multi-krum.m={keep} is out of range: allowed [1, {n}] (the number of client updates)")
    chosen = torch.sort(torch.argsort(scores, stable=True)[:keep]).values
    a = alpha[chosen]
    if float(a.sum()) <= 0:
        raise ValueError(f"multi-krum kept rows {chosen.tolist()}, whose weights are all 0")
    update = _weighted_mean(updates[chosen], a / a.sum())
    return Aggregate(update, tuple(chosen.tolist()), {"scores": scores.tolist()})


def rfa(
    updates: torch.Tensor,
    weights: Weights,
    max_iter: int | None = None,
    eps: float | None = None,
    ftol: float | None = None,
) -> Aggregate:
    """RFA: the weighted geometric median by the smoothed Weiszfeld algorithm.

    Minimises g(z) = Σ_i α_i ‖z − Δ_i‖₂, α_i = n_i / Σ_j n_j, starting from
    the weighted mean and iterating
    z ← Σ_i β_i Δ_i / Σ_i β_i,  β_i = α_i / max(eps, ‖z − Δ_i‖₂),
    until |g(z_prev) − g(z)| ≤ ftol · g(z) or ``max_iter`` iterations
    (Pillutla, Kakade & Harchaoui, 2019, "Robust Aggregation for Federated
    Learning", Algorithm 2; eps smooths the distance so no point divides by
    0). ``info``: ``iterations`` (Weiszfeld steps taken), ``objective``
    (final g), ``converged`` and ``weights`` (the final β / Σβ).
    """
    params = _params("rfa", max_iter=max_iter, eps=eps, ftol=ftol)
    updates, alpha = _check(updates, weights)

    def objective(z: torch.Tensor) -> float:
        return float(alpha @ _norms(updates - z))

    z = _weighted_mean(updates, alpha)
    g = objective(z)
    beta = alpha
    iterations, converged = 0, False
    while iterations < params["max_iter"]:
        beta = alpha / torch.clamp(_norms(updates - z), min=params["eps"])
        beta = beta / beta.sum()
        z = _weighted_mean(updates, beta)
        g_prev, g = g, objective(z)
        iterations += 1
        if abs(g_prev - g) <= params["ftol"] * g:
            converged = True
            break
    info = {"iterations": iterations, "objective": g, "converged": converged, "weights": beta.tolist()}
    return Aggregate(z, _all(updates.shape[0]), info)


def weak_dp(
    updates: torch.Tensor,
    weights: Weights,
    bound: float | None = None,
    noise_std: float | None = None,
    *,
    generator: torch.Generator | None = None,
) -> Aggregate:
    """Weak differential privacy: norm clipping, FedAvg, then Gaussian noise.

    Δ = Σ_i n_i clip(Δ_i) / Σ_i n_i + ξ, ξ ~ N(0, noise_std² I), clip as in
    :func:`norm_clipping` (Sun et al., 2019; Attack of the Tails adds the
    noise to the aggregated *model*, w + Δ̄ + ξ, which is the same). The
    noise is drawn from ``generator`` (on its own device, then moved), which
    is required when ``noise_std > 0``: every random draw takes an explicit
    seed. ``info``: as :func:`norm_clipping`, plus ``noise_std``.
    """
    params = _params("weak-dp", bound=bound, noise_std=noise_std)
    clipped = norm_clipping(updates, weights, params["bound"])
    std = params["noise_std"]
    update = clipped.update
    if std > 0:
        if generator is None:
            raise ValueError("weak-dp with noise_std > 0 needs a seeded torch.Generator (generator=None given)")
        noise = torch.randn(update.shape, generator=generator, device=generator.device, dtype=update.dtype)
        update = update + std * noise.to(update.device)
    return Aggregate(update, clipped.kept, {**clipped.info, "noise_std": std})


def _sorted_clients(updates: torch.Tensor) -> torch.Tensor:
    return torch.sort(updates, dim=0).values


def coordinate_median(updates: torch.Tensor, weights: Weights) -> Aggregate:
    """Coordinate-wise median: Δ[k] = median_i Δ_i[k].

    For an even number of clients the mean of the two middle values (numpy's
    and Flower's convention; ``torch.median`` would return the lower one).
    Unweighted, as in Yin et al., 2018, "Byzantine-Robust Distributed
    Learning: Towards Optimal Statistical Rates" (data counts are validated
    only).
    """
    updates, _ = _check(updates, weights)
    m = updates.shape[0]
    s = _sorted_clients(updates)
    lo, hi = (m - 1) // 2, m // 2
    return Aggregate((s[lo] + s[hi]) / 2, _all(m), {})


def trimmed_mean(updates: torch.Tensor, weights: Weights, beta: float | None = None) -> Aggregate:
    """Coordinate-wise trimmed mean.

    With b = ⌊beta · m⌋ and Δ_(1)[k] ≤ … ≤ Δ_(m)[k] the sorted values of
    coordinate k, Δ[k] = (1 / (m − 2b)) Σ_{j=b+1}^{m−b} Δ_(j)[k]: the b
    smallest and b largest values of every coordinate are dropped, the rest
    averaged without weights (Yin et al., 2018; beta ∈ [0, 1/2), so at least
    one value remains). ``info``: ``trimmed`` = b per end.
    """
    beta = _params("trimmed-mean", beta=beta)["beta"]
    updates, _ = _check(updates, weights)
    m = updates.shape[0]
    b = math.floor(beta * m)
    s = _sorted_clients(updates)
    return Aggregate(s[b : m - b].mean(dim=0), _all(m), {"trimmed": b})


# --------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------
#: The implementation of every name in :data:`strategies.AGGREGATORS`.
RULES: dict[str, Callable[..., Aggregate]] = {
    "fedavg": fedavg,
    "norm-clipping": norm_clipping,
    "krum": krum,
    "multi-krum": multi_krum,
    "rfa": rfa,
    "weak-dp": weak_dp,
    "median": coordinate_median,
    "trimmed-mean": trimmed_mean,
}


def aggregate(
    name: str,
    updates: torch.Tensor,
    weights: Weights,
    params: Mapping[str, Any] | None = None,
    *,
    generator: torch.Generator | None = None,
) -> Aggregate:
    """Aggregate one round's ``updates`` (m, P) with data counts ``weights``
    (m,) by the rule ``name`` of :data:`strategies.AGGREGATORS` (backfire's own in :data:`RULES`; a
    plug-in's is its spec's ``implementation(updates, weights, **params) -> Aggregate``, given
    ``generator=`` too when it has the attribute ``uses_generator = True``).

    ``params`` are validated by :class:`strategies.AggregatorStrategy`
    (defaults filled in; an unknown name or parameter raises ``ValueError``
    listing the known ones). ``generator`` seeds the noise of ``weak-dp`` and
    is ignored by the deterministic rules.

    >>> u = torch.tensor([[0.0, 0.0], [2.0, 4.0]])
    >>> aggregate("fedavg", u, [3, 1]).update
    tensor([0.5000, 1.0000])
    """
    strategy = AggregatorStrategy(name, params)
    kwargs = dict(strategy.params_map)
    rule = RULES.get(name) or AGGREGATORS[name].implementation
    if rule is None:
        raise NotImplementedError(f"aggregator {name!r} has no implementation (implemented: {', '.join(RULES)}; "
                                  "a plug-in is a ComponentSpec with an implementation)")
    if name == "weak-dp" or getattr(rule, "uses_generator", False):
        kwargs["generator"] = generator
    return rule(updates, weights, **kwargs)
