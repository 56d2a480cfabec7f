"""The poison budget of one attacker: the sizes of the allocation and the paper's formulas, as exact
arithmetic on the decimal values of the float arguments (:mod:`oracle.data.allocation` cuts the arrays
with them; a game spec checks its sizes with them before any data is read).

Rounding (all exact, on the decimal values of the float arguments):

* ``share_size = floor((1 - V_d) * n_total / N_max)``;
* ``train_time_size = floor(attacker_split * share_size)``, the run-time set
  gets the rest;
* the defender's share gets every image not in an attacker slot, i.e.
  ``n_total - N_max * share_size >= V_d * n_total`` (the rounding remainder);
* the pooled set's train part is ``floor(defender_split * |pool|)``;
* counts of poisoned images are rounded half up: ``round(p * size)``.

Table 5 of the paper (see ``TABLE5_SETTINGS`` and tests/test_allocation.py)
is reproduced by ``n_total = 60,000`` (all of CIFAR-10, train + test, as
§6.2.3 says the whole dataset is used), ``N_max = 1000`` for E1, E3, E6 and
``N_max = 100`` for E2, E4, E5, with the count ``round(p * share_size)``
(= ``round(rho * n_total)``) -- i.e. the paper's "(#)" counts ``p`` of the
attacker's *whole* share, not of its 80% train-time set.  One figure is not
reproduced: E1, p = 0.8 is printed as 44 but is 0.8 * 54 = 43.2 -> 43 (see
the tests).  ``PoisonBudget`` reports both the paper's count and the number
actually poisoned in the train-time set, ``round(p * train_time_size)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from strategies.validate import check_int, check_real, round_half_up

__all__ = ["TABLE5_SETTINGS", "PoisonBudget", "max_attackers", "poison_budget", "poisoned_count", "real_poison_rate",
           "share_size", "split_size"]

#: Settings that reproduce Table 5 (exp -> V_d, N_max, the p values of the
#: row); derived from the printed real poison rates, with n_total = 60,000.
TABLE5_SETTINGS: dict[str, dict[str, object]] = {
    "E1": {"v_d": 0.1, "n_max": 1000, "p": (0.1, 0.2, 0.4, 0.8, 1.0)},
    "E2": {"v_d": 0.2, "n_max": 100, "p": (0.55,)},
    "E3": {"v_d": 0.1, "n_max": 1000, "p": (0.55,)},
    "E4": {"v_d": 0.5, "n_max": 100, "p": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)},
    "E5": {"v_d": 0.8, "n_max": 100, "p": (0.55,)},
    "E6": {"v_d": 0.1, "n_max": 1000, "p": (0.55,)},
}


# --------------------------------------------------------------------------
# exact arithmetic


def _exact(x: float) -> Fraction:
    """The decimal value a float was written as (0.1 -> 1/10), exactly."""
    return Fraction(repr(float(x)))


# --------------------------------------------------------------------------
# pure arithmetic (the paper's formulas)


def share_size(n_total: int, v_d: float, n_max: int) -> int:
    """Images per attacker: ``floor((1 - V_d) * n_total / N_max)`` (§6.2.1)."""
    n_total = check_int("n_total", n_total, 1)
    n_max = check_int("n_max", n_max, 1)
    v_d = check_real("v_d", v_d, 0.0, 1.0, high_open=True)
    return math.floor((1 - _exact(v_d)) * n_total / n_max)


def split_size(size: int, fraction: float) -> int:
    """Size of the first part of an 80/20-style split: ``floor(fraction * size)``."""
    return math.floor(_exact(fraction) * int(size))


def real_poison_rate(v_d: float, p: float, n_max: int) -> float:
    """Real poison rate of one attacker, ``rho = (1 - V_d) * p / N_max``.

    The paper (§4, §6.2.1) writes ``1/N``; §6.2.1 then sizes shares on the
    largest N of an experiment, ``N_max``, so that rho does not change with N.
    """
    v_d = check_real("v_d", v_d, 0.0, 1.0, high_open=True)
    p = check_real("p", p, 0.0, 1.0)
    n_max = check_int("n_max", n_max, 1)
    return float((1 - _exact(v_d)) * _exact(p) / n_max)


def poisoned_count(p: float, size: int) -> int:
    """Number of poisoned images when a fraction ``p`` of ``size`` images is
    poisoned: ``round(p * size)``, halves rounded up."""
    p = check_real("p", p, 0.0, 1.0)
    return round_half_up(float(_exact(p) * int(size)))  # the one rounding rule (strategies.validate)


def _two_significant(x: float) -> str:
    """``x`` to two significant digits, halves up, no trailing zeros (0.000495 -> 0.0005)."""
    d = Decimal(repr(float(x)))
    if d == 0:
        return "0"
    d = d.quantize(Decimal(1).scaleb(d.adjusted() - 1), rounding=ROUND_HALF_UP)
    return format(d.normalize(), "f")


@dataclass(frozen=True)
class PoisonBudget:
    """What one attacker poisons at poison rate ``p`` (one cell of Table 5).

    ``n_poisoned`` is the paper's "(#)" figure, ``round(p * share_size)``
    (equal to ``round(rho * n_total)`` whenever the share divides evenly);
    ``n_poisoned_train_time`` is how many of the attacker's train-time images
    are poisoned when it poisons a fraction ``p`` of its train-time set,
    which is what ``Allocation.poison_mask`` selects.
    """

    p: float
    real_poison_rate: float
    n_poisoned: int
    n_poisoned_train_time: int
    share_size: int
    train_time_size: int

    def __str__(self) -> str:
        """Formatted like Table 5: ``0.00009 (5)``."""
        return f"{_two_significant(self.real_poison_rate)} ({self.n_poisoned})"


def poison_budget(
    n_total: int, v_d: float, n_max: int, p: float, attacker_split: float = 0.8
) -> PoisonBudget:
    """Real poison rate and poisoned-image counts of one attacker (Table 5)."""
    attacker_split = check_real("attacker_split", attacker_split, 0.0, 1.0, low_open=True, high_open=True)
    share = share_size(n_total, v_d, n_max)
    train_time = split_size(share, attacker_split)
    return PoisonBudget(
        p=check_real("p", p, 0.0, 1.0),
        real_poison_rate=real_poison_rate(v_d, p, n_max),
        n_poisoned=poisoned_count(p, share),
        n_poisoned_train_time=poisoned_count(p, train_time),
        share_size=share,
        train_time_size=train_time,
    )


def max_attackers(n_total: int, v_d: float, attacker_split: float = 0.8) -> int:
    """The largest N_max whose shares hold one train-time and one run-time image each.

    A share of ``s`` images has ``floor(attacker_split · s) ≥ 1`` train-time
    images iff ``s ≥ ceil(1 / attacker_split)`` (its run-time part
    ``s − floor(attacker_split · s) ≥ s · (1 − attacker_split) > 0`` is then
    ≥ 1 too), so ``N_max ≤ floor((1 − V_d) · n_total / ceil(1 / attacker_split))``;
    0 when not even one attacker fits.
    """
    n_total = check_int("n_total", n_total, 0)
    v_d = check_real("v_d", v_d, 0.0, 1.0, high_open=True)
    attacker_split = check_real("attacker_split", attacker_split, 0.0, 1.0, low_open=True, high_open=True)
    smallest_share = math.ceil(1 / _exact(attacker_split))
    return math.floor((1 - _exact(v_d)) * n_total / smallest_share)
