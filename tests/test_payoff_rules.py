"""One payoff rule per kind of environment, used by every payoff source (the normal-form table, the
role-symmetric source, the federated game), with one NaN policy. Outcomes are stored by hand in a cache
whose data fingerprint is recorded, so no data is read and nothing is trained."""

from __future__ import annotations

import math

import pytest

from gametheory import MissingPayoff
from oracle.fill import make_oracle
from oracle.jobs import Job
from oracle.payoff_oracle import SymmetricSource
from oracle.specs import spec_from_dict
from oracle.store.cache import ResultCache
from oracle.store.outcome import Outcome
from oracle.store.payoff_rules import DATA_POISONING, FEDERATED, RULES, attack_rate, collective, rule_for
from oracle.victims import metrics

POISONING = {
    "game": {"name": "rules", "n_attackers": 3, "seeds": [1, 2]},
    "environment": {"dataset": "digits", "v_d": 0.5, "n_max": 3, "preset": "tiny"},
    "attackers": [
        {"name": "a", "eps": 0.5, "p": 0.2, "labels": {"kind": "random"}},
        {"name": "b", "eps": 0.1, "p": 0.2, "labels": {"kind": "random"}},
        {"name": "mix", "components": [{"weight": 0.25, "strategy": {"name": "a", "eps": 0.5, "p": 0.2, "labels": {"kind": "random"}}},
                                       {"weight": 0.75, "strategy": {"name": "b", "eps": 0.1, "p": 0.2, "labels": {"kind": "random"}}}]},
    ],
    "defenders": [{"name": "small", "architecture": "smallcnn", "defense": "none"}],
}
FEDERATED_SPEC = {
    "game": {"name": "rules-fl", "n_attackers": 2, "seeds": [1]},
    "environment": {"kind": "federated", "preset": "reduced"},
    "attackers": [{"name": "bb", "mode": "black-box", "every": 1}, {"name": "pgd", "mode": "pgd", "eps": 1.0, "every": 1}],
    "defenders": [{"name": "FedAvg", "aggregator": "fedavg"}],
}


def _outcome(asr, seed, main_acc=0.8):
    n = len(asr)
    return Outcome(asr=asr, asr_excluding_target=asr, clean_label_acc=[0.5] * n, clean_acc=[main_acc] * n,
                   targets=[1] * n, defender_val_acc=main_acc, seed=seed)


def _reader(spec_dict, tmp_path):
    """A read-only oracle on a cache whose data fingerprint is recorded (as a fill would)."""
    spec = spec_from_dict(spec_dict, where="test")
    cache = ResultCache(tmp_path / "c.sqlite")
    oracle = make_oracle(spec, cache=cache, train=False)
    cache.record_data(oracle.data_key, "f" * 64, description="test data")
    return make_oracle(spec, cache=cache, train=False)


def _put(oracle, job, outcome):
    oracle.cache.put(oracle.key(job), outcome, cell_key=oracle.cell_key(job), seed=job.seed,
                     profile=oracle.profile(job))


def test_the_rules_and_the_nan_policy():
    assert set(RULES) == {"poisoning", "federated"} and rule_for("federated") is FEDERATED
    with pytest.raises(ValueError, match="allowed poisoning, federated"):
        rule_for("tabular")
    o = _outcome([0.2, math.nan, 0.6], 1, main_acc=0.9)
    assert DATA_POISONING.attacker(o) == pytest.approx(0.4)  # the unmeasured attacker is left out
    assert DATA_POISONING.defender(o) == pytest.approx(0.6)
    assert FEDERATED.defender(o) == pytest.approx(0.5)
    assert DATA_POISONING.attacker(o, slice(1, 2)) != DATA_POISONING.attacker(o, slice(1, 2))  # NaN: none measured
    assert math.isnan(attack_rate([]))
    assert o.attacker_payoff == pytest.approx(0.4) and o.attacker_payoff_std == pytest.approx(0.2)
    # the metrics module and the outcome use the same functions
    assert metrics.collective is collective
    assert metrics.defender_payoff([0.2, 0.4, 0.9]) == pytest.approx(0.5)


def test_normal_form_cells_follow_the_rule_per_seed_and_mixture(tmp_path):
    oracle = _reader(POISONING, tmp_path)
    spec = oracle.spec
    small = spec.defenders["small"]
    rates = {("a", 1): [0.2, 0.4, 0.6], ("a", 2): [0.6, 0.6, math.nan], ("b", 1): [0.0, 0.1, 0.2], ("b", 2): [0.3, 0.3, 0.3]}
    for (label, seed), asr in rates.items():
        _put(oracle, Job(spec.attackers[label], small, seed), _outcome(asr, seed))
    cell = oracle.payoffs(("a", "small"))
    assert cell.samples["attacker"] == pytest.approx((0.4, 0.6))
    assert cell.samples["defender"] == pytest.approx((0.6, 0.4))
    mixed = oracle.payoffs(("mix", "small"))  # 0.25 a + 0.75 b, per seed
    assert mixed.samples["attacker"] == pytest.approx((0.25 * 0.4 + 0.75 * 0.1, 0.25 * 0.6 + 0.75 * 0.3))
    assert mixed.roles["defender"] == pytest.approx(1 - mixed.roles["attacker"])


def test_a_cell_with_no_measured_attacker_is_missing_not_nan(tmp_path):
    oracle = _reader(POISONING, tmp_path)
    spec = oracle.spec
    for seed in (1, 2):
        _put(oracle, Job(spec.attackers["a"], spec.defenders["small"], seed), _outcome([math.nan] * 3, seed))
    with pytest.raises(MissingPayoff, match="not measured for attacker, defender"):
        oracle.payoffs(("a", "small"))


def test_symmetric_source_uses_the_environment_rule(tmp_path):
    oracle = _reader(POISONING, tmp_path)
    source = SymmetricSource(oracle, ["a", "b"])
    for seed in (1, 2):
        _put(oracle, source.job((2, 1), "small", seed), _outcome([0.5, math.nan, 0.3], seed))
    p = source.payoffs(((2, 1), "small"))
    assert p.roles == pytest.approx({"a": 0.5, "b": 0.3, "defender": 0.6})
    # (the role-symmetric source reads the same rule as the table: oracle.payoff_rule)
    assert source.oracle.payoff_rule is DATA_POISONING


def test_federated_cells_follow_the_federated_rule(tmp_path):
    fl = _reader(FEDERATED_SPEC, tmp_path)
    assert fl.payoff_rule is FEDERATED
    # the normal-form federated cell
    job = Job(fl.spec.attackers["bb"], fl.spec.defenders["FedAvg"], 1)
    _put(fl, job, _outcome([0.2, 0.4], 1, main_acc=0.9))
    cell = fl.payoffs(("bb", "FedAvg"))
    assert cell.roles == pytest.approx({"attacker": 0.3, "defender": 0.6})
    assert fl.defender_payoff(fl.cached(job)) == pytest.approx(0.6)


def test_the_file_reader_applies_the_data_poisoning_rule():
    """One rule: the oracle's store takes the rules from gametheory.payoff_rules (gametheory cannot import
    oracle), and reading an exported role-symmetric file applies the same data-poisoning rule."""
    import gametheory.payoff_rules
    import oracle.store.payoff_rules
    from gametheory.symmetric_file import outcome_role_payoffs
    from oracle.store.payoff_rules import attack_rate

    assert oracle.store.payoff_rules.DATA_POISONING is gametheory.payoff_rules.DATA_POISONING
    assert oracle.store.payoff_rules.RULES is gametheory.payoff_rules.RULES

    asr = [0.2, float("nan"), 0.8, 0.5]
    got = outcome_role_payoffs(["keep", "escalate"], [2, 2], asr)
    assert got["keep"] == attack_rate(asr[:2]) == 0.2
    assert got["escalate"] == attack_rate(asr[2:])
    assert got["defender"] == 1.0 - attack_rate(asr)
