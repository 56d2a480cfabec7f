"""The payoff rules, one per kind of environment, with their NaN policy: defined (pure, torch-free, the
maths in the docstrings) in :mod:`gametheory.payoff_rules`, where the reader of exported role-symmetric
files uses them too; the oracle's store, its payoff sources and the federated game take them from here."""

from __future__ import annotations

from gametheory.payoff_rules import (DATA_POISONING, FEDERATED, RULES, PayoffRule, attack_rate, attack_spread,
                                     collective, rule_for)

__all__ = ["DATA_POISONING", "FEDERATED", "PayoffRule", "RULES", "attack_rate", "attack_spread", "collective",
           "rule_for"]
