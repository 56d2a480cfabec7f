"""Per-attacker metrics of a trained victim, vectorised over attackers.

Every attacker i holds run-time inputs (its private share held back from
training, paper §6.2.1). The victim is run twice on them, with and without
attacker i's trigger; ``owner[k]`` says which attacker input k belongs to and
``target_of_input[k]`` that attacker's target label. For attacker i, over its
inputs K_i (DESIGN.md, vocabulary; Datta & Shadbolt, §4 and Table 1):

① ``asr[i]`` = |{k ∈ K_i : ŷ_trig[k] = t[k]}| / |K_i|, the accuracy w.r.t. the
  poisoned (target) labels on triggered inputs: the attack success rate, raw,
  as the paper reports it (about 1/|Y| of K_i already has the target as clean
  label, so chance level is about 1/|Y|, not 0);
  ``asr_excluding_target[i]``: the same over K_i' = {k ∈ K_i : y[k] ≠ t[k]};
② ``clean_label_acc[i]`` = |{k ∈ K_i : ŷ_trig[k] = y[k]}| / |K_i|;
③ ``clean_acc[i]`` = |{k ∈ K_i : ŷ_clean[k] = y[k]}| / |K_i|.

An attacker with no run-time inputs (K_i empty) gets NaN in all four; one
whose inputs all carry its target label already (K_i' empty) gets NaN in
``asr_excluding_target``. NaN marks "not measured", never 0; means over
attackers follow the NaN policy of :mod:`oracle.store.payoff_rules`.

Collective attacker payoff: mean ± population std of ① over attackers
(:func:`collective`, from :mod:`oracle.store.payoff_rules`); defender payoff
in the data-poisoning game: 1 − mean ① (:func:`defender_payoff`, the rule
``DATA_POISONING``).

Pure numpy: one ``np.bincount`` per quantity, no loop over images or
attackers.
"""

from __future__ import annotations

import math

import numpy as np

from oracle.store.payoff_rules import DATA_POISONING, collective
from strategies.validate import check_int, out_of_range

__all__ = ["METRIC_NAMES", "accuracy", "attacker_metrics", "collective", "defender_payoff"]

#: Keys of :func:`attacker_metrics`' result, in the order of DESIGN.md's ①–③.
METRIC_NAMES: tuple[str, ...] = ("asr", "asr_excluding_target", "clean_label_acc", "clean_acc")


def _int_vector(name: str, values, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"{name} has dtype {arr.dtype} and shape {arr.shape}; allowed: a 1-D integer array")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries; allowed: {n} (one per run-time input)")
    return arr.astype(np.int64, copy=False)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise, NaN where the denominator is 0."""
    out = np.full(denominator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def attacker_metrics(
    pred_triggered,
    pred_clean,
    y_clean,
    target_of_input,
    owner,
    n_attackers: int,
) -> dict[str, np.ndarray]:
    """①–③ for every attacker (module docstring), each a float array (n_attackers,).

    All five arrays are 1-D integer arrays of the same length (one entry per
    run-time input): the victim's predictions on the triggered and on the
    clean version of each input, its clean label, its owner's target label,
    and its owner's index in ``[0, n_attackers)``. Raises ``ValueError`` on
    mismatched shapes or an owner out of range.
    """
    n_attackers = check_int("n_attackers", n_attackers, 1)
    owner = _int_vector("owner", owner)
    n = owner.shape[0]
    trig = _int_vector("pred_triggered", pred_triggered, n)
    clean = _int_vector("pred_clean", pred_clean, n)
    y = _int_vector("y_clean", y_clean, n)
    target = _int_vector("target_of_input", target_of_input, n)
    if n and (owner.min() < 0 or owner.max() >= n_attackers):
        bad = int(owner.min()) if owner.min() < 0 else int(owner.max())
        out_of_range("owner", bad, f"[0, {n_attackers - 1}] (n_attackers={n_attackers})")

    def per_attacker(weights: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=weights.astype(float), minlength=n_attackers)

    count = np.bincount(owner, minlength=n_attackers)
    hit = trig == target
    not_already = y != target
    return {
        "asr": _ratio(per_attacker(hit), count),
        "asr_excluding_target": _ratio(per_attacker(hit & not_already), per_attacker(not_already)),
        "clean_label_acc": _ratio(per_attacker(trig == y), count),
        "clean_acc": _ratio(per_attacker(clean == y), count),
    }


def accuracy(pred, y) -> float:
    """Share of ``pred == y`` (1-D label arrays of the same length); NaN if empty."""
    y = _int_vector("y", y)
    pred = _int_vector("pred", pred, y.shape[0])
    return float(np.mean(pred == y)) if y.size else float("nan")


def defender_payoff(asr) -> float:
    """1 − mean ① over attackers (DESIGN.md: defender payoff; :data:`oracle.store.payoff_rules.DATA_POISONING`)."""
    return DATA_POISONING.defender_from(asr, math.nan)
