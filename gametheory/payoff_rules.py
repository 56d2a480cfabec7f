"""The payoff rules: how one outcome becomes each role's payoff, one rule per kind of environment.

Pure functions on rates (numpy only), so that both sides use them: every payoff
source reads payoffs through these rules and nowhere else: the normal-form
oracle's table (``oracle.payoff_oracle.PayoffOracle.payoffs``), the
role-symmetric source (``oracle.payoff_oracle.SymmetricSource``), the federated
game (``oracle.federated.game.FederatedOracle``), the collective numbers a fill
prints (``Outcome.attacker_payoff``), and the reader of exported role-symmetric
files (:func:`gametheory.symmetric_file.outcome_role_payoffs`). The oracle
reaches them through ``oracle.store.payoff_rules``.

With ``r_i`` attacker i's rate (``Outcome.asr``: its attack success rate ①, or
in a federated run its backdoor accuracy) and ``S`` a set of attackers::

    attacker payoff of S     u_S = mean_{i in S, r_i measured} r_i          (both kinds)
    defender, "poisoning"    v = 1 - u_all                                   (Datta & Shadbolt)
    defender, "federated"    v = main_acc - u_all                            (main-task accuracy at the
                                                                             final round, Outcome.defender_val_acc)

The federated defender wants a model that is both useful and clean (``1 - u``
alone would reward a rule that destroys the model with the backdoor), so that
game is not constant-sum. A mixed attacker strategy's cell is, per seed, the
weighted sum over its components of these payoffs; a cell's payoff is the
mean over seeds.

NaN policy (stated here only): a rate is NaN when the attacker was not
measured (it had no run-time inputs, :mod:`oracle.victims.metrics`). Means
over attackers leave unmeasured attackers out; the mean over a set with no
measured attacker is NaN, and a payoff source never hands a NaN payoff to a
game: it reports the cell as missing (:class:`gametheory.MissingPayoff`),
saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["DATA_POISONING", "FEDERATED", "PayoffRule", "RULES", "attack_rate", "attack_spread", "collective",
           "rule_for"]


def _measured(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[~np.isnan(v)]


def attack_rate(values: Any) -> float:
    """``u_S``: the mean of the measured rates in ``values`` (NaN when none was measured)."""
    v = _measured(values)
    return float(v.mean()) if v.size else math.nan


def attack_spread(values: Any) -> float:
    """The population standard deviation (ddof = 0) of the measured rates, the paper's "± std"."""
    v = _measured(values)
    return float(v.std()) if v.size else math.nan


def collective(values: Any) -> tuple[float, float]:
    """(mean, std) of the measured rates over attackers, the paper's "mean ± std"."""
    return attack_rate(values), attack_spread(values)


@dataclass(frozen=True)
class PayoffRule:
    """Each role's payoff from one outcome (module docstring; an outcome is anything with ``asr``, the
    attackers' rates, and ``defender_val_acc``, the main-task accuracy). ``kind``: the environment kind it serves;
    ``defender_of(u, main_acc)``: the defender's payoff from the collective attacker payoff and the
    main-task accuracy."""

    kind: str
    defender_of: Callable[[float, float], float]

    def attacker(self, outcome, attackers: Sequence[int] | slice | None = None) -> float:
        """``u_S`` over the attackers at ``attackers`` (indices or a slice; all by default)."""
        rates = np.asarray(outcome.asr, dtype=float)
        return attack_rate(rates if attackers is None else rates[attackers])

    def defender(self, outcome) -> float:
        return self.defender_from(outcome.asr, outcome.defender_val_acc)

    def defender_from(self, rates: Any, main_acc: float = math.nan) -> float:
        """The defender's payoff from the attackers' rates and the main-task accuracy (unused by the
        data-poisoning rule, so it may be left out there)."""
        return float(self.defender_of(attack_rate(rates), float(main_acc)))

    def roles(self, outcome) -> dict[str, float]:
        """``{"attacker": u_all, "defender": v}``."""
        return {"attacker": self.attacker(outcome), "defender": self.defender(outcome)}


#: Normal-form data poisoning (the joint dataset): the defender gets 1 − the collective attack success.
DATA_POISONING = PayoffRule("poisoning", lambda u, main_acc: 1.0 - u)
#: Federated learning: the defender gets the main-task accuracy − the mean backdoor accuracy.
FEDERATED = PayoffRule("federated", lambda u, main_acc: main_acc - u)

#: One rule per environment kind (``Environment.kind``).
RULES: dict[str, PayoffRule] = {r.kind: r for r in (DATA_POISONING, FEDERATED)}


def rule_for(kind: str) -> PayoffRule:
    """The payoff rule of an environment kind."""
    try:
        return RULES[kind]
    except KeyError:
        raise ValueError(f"environment kind {kind!r} has no payoff rule: allowed {', '.join(RULES)}") from None
