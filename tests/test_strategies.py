"""Attacker actions, population strategies and mixed strategies
(strategies.actions; paper §6.2.5, Tables 3, 4, 6, Figure 6)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections import Counter

import numpy as np
import pytest

from strategies import (
    PAPER_LABELS,
    AttackerAction,
    AttackerStrategy,
    CoordinatedLabels,
    Escalation,
    FixedLabels,
    MixedAttackerStrategy,
    RandomLabels,
    attacker_strategy_from_dict,
    canonical_json,
    label_policy_from_dict,
    round_half_up,
)


def targets(strategy, n, k=10):
    return [a.target for a in strategy.expand(n, k)]


# --------------------------------------------------------------------------- #
# the paper's E4 examples (Tables 3/4, Figure 6)
# --------------------------------------------------------------------------- #


def test_zero_percent_overlap_over_paper_labels():
    s = AttackerStrategy.fixed_labels(PAPER_LABELS)
    assert targets(s, 5) == [0, 2, 4, 6, 8]
    assert Counter(targets(s, 100)) == {0: 20, 2: 20, 4: 20, 6: 20, 8: 20}


def test_forty_percent_overlap_on_label_4():
    s = AttackerStrategy.coordinate_label(label=4, fraction=0.4, others=(2, 6, 8))
    assert targets(s, 5) == [2, 4, 4, 6, 8]  # the paper's Table 3/4 row
    assert Counter(targets(s, 100)) == {4: 40, 2: 20, 6: 20, 8: 20}
    # N = 100 is the N = 5 layout twenty times, so labels are spread over indices
    assert targets(s, 100) == [2, 4, 4, 6, 8] * 20


def test_hundred_percent_overlap():
    s = AttackerStrategy.coordinate_label(label=4, fraction=1.0, others=(2, 6, 8))
    assert targets(s, 5) == [4] * 5
    assert targets(s, 100) == [4] * 100
    assert targets(AttackerStrategy.fixed_labels((4,)), 100) == [4] * 100


def test_coordination_with_random_others_figure6():
    s = AttackerStrategy.coordinate_label(label=4, fraction=0.4)  # others random
    ind = AttackerStrategy.independent()
    for n in (5, 100):
        t = np.array(targets(s, n))
        r = np.array(targets(ind, n))
        k = round_half_up(0.4 * n)
        coordinated = t == 4
        assert coordinated.sum() >= k
        # the k coordinated slots hold label 4; every other attacker keeps the
        # random label the independent strategy would give it
        other = ~np.isin(np.arange(n), np.flatnonzero(np.asarray(_slots(s, n))))
        np.testing.assert_array_equal(t[other], r[other])
        assert (np.asarray(_slots(s, n))).sum() == k


def _slots(strategy, n):
    """Which attackers are coordinated: the layout of (True x k, False x rest)."""
    from strategies.policies import layout as _layout

    k, rest = strategy.labels.counts(n)
    return _layout([(True, k), (False, rest)])


@pytest.mark.parametrize("param", ["eps", "p"])
def test_escalation_fractions(param):
    s = AttackerStrategy.escalate(param, fraction=0.8, base=0.15, raised=0.55)
    for n, k in ((5, 4), (100, 80)):
        acts = s.expand(n, 10)
        vals = [getattr(a, param) for a in acts]
        assert vals == [0.55] * k + [0.15] * (n - k)  # the first k by index escalate
        other = "p" if param == "eps" else "eps"
        assert {getattr(a, other) for a in acts} == {0.55}


def test_two_stage_escalation_figure6():
    # stage 2: 0.55 -> 0.95 for 40% while the others keep their escalated 0.55
    s = AttackerStrategy.escalate("eps", base=0.15, steps=((1.0, 0.55), (0.4, 0.95)))
    assert Counter(a.eps for a in s.expand(100, 10)) == {0.95: 40, 0.55: 60}
    assert [a.eps for a in s.expand(5, 10)] == [0.95, 0.95, 0.55, 0.55, 0.55]
    s = AttackerStrategy.escalate("p", base=0.15, steps=((0.8, 0.55), (0.2, 0.95)))
    assert Counter(a.p for a in s.expand(100, 10)) == {0.95: 20, 0.55: 60, 0.15: 20}


def test_escalation_fraction_zero_and_one():
    s0 = AttackerStrategy.escalate("eps", fraction=0.0, base=0.15, raised=0.55)
    s1 = AttackerStrategy.escalate("eps", fraction=1.0, base=0.15, raised=0.55)
    assert {a.eps for a in s0.expand(7, 10)} == {0.15}
    assert {a.eps for a in s1.expand(7, 10)} == {0.55}


# --------------------------------------------------------------------------- #
# counts and rounding
# --------------------------------------------------------------------------- #


def test_round_half_up():
    assert round_half_up(2.5) == 3 and round_half_up(0.5) == 1
    assert round_half_up(0.35 * 10) == 4  # 3.4999999999999996 in binary
    assert round_half_up(2.4999) == 2 and round_half_up(0.0) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 10, 33, 100, 101, 1000])
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.4, 0.5, 0.8, 1.0])
def test_counts_sum_to_n_and_follow_the_rule(n, fraction):
    others = (2, 6, 8)
    s = AttackerStrategy.coordinate_label(4, fraction, others)
    t = targets(s, n)
    assert len(t) == n
    c = Counter(t)
    k = min(n, round_half_up(fraction * n))
    assert c[4] == k
    rest = n - k
    for j, o in enumerate(others):
        assert c[o] == rest // 3 + (1 if j < rest % 3 else 0)
    assert sum(c.values()) == n
    e = AttackerStrategy.escalate("p", fraction=fraction, base=0.1, raised=0.9)
    assert sum(a.p == 0.9 for a in e.expand(n, 10)) == k
    f = Counter(targets(AttackerStrategy.fixed_labels((1, 3, 5)), n))
    assert [f[1], f[3], f[5]] == [n // 3 + (1 if j < n % 3 else 0) for j in range(3)]


def test_fixed_labels_cycle_in_given_order():
    assert targets(AttackerStrategy.fixed_labels((8, 0)), 5) == [8, 0, 8, 0, 8]


# --------------------------------------------------------------------------- #
# random labels and determinism
# --------------------------------------------------------------------------- #


def test_random_labels_are_the_documented_draw():
    s = AttackerStrategy.independent()
    expected = np.random.RandomState(3407).randint(0, 10, size=100, dtype=np.int64)
    assert targets(s, 100) == expected.tolist()
    assert targets(s, 100) == targets(AttackerStrategy.independent(), 100)
    # attacker i's label does not depend on N
    assert targets(s, 5) == targets(s, 100)[:5]
    assert targets(s, 100, k=43) == np.random.RandomState(3407).randint(
        0, 43, size=100, dtype=np.int64
    ).tolist()
    other_seed = AttackerStrategy.independent(seed=1)
    assert targets(other_seed, 100) != targets(s, 100)
    assert Counter(targets(s, 1000)).keys() == set(range(10))


def test_expand_indices_seeds_and_fields():
    s = AttackerStrategy.independent(eps=0.3, p=0.7, trigger="orthogonal-badnet")
    acts = s.expand(6, 10)
    assert [a.index for a in acts] == list(range(6))
    assert [a.trigger_seed for a in acts] == list(range(6))
    assert {(a.eps, a.p, a.trigger) for a in acts} == {(0.3, 0.7, "orthogonal-badnet")}
    assert all(isinstance(a.target, int) and isinstance(a.eps, float) for a in acts)
    shared = AttackerStrategy.shared(eps=0.3).expand(6, 10)
    assert [a.trigger_seed for a in shared] == [0] * 6
    assert [a.index for a in shared] == list(range(6))
    assert AttackerStrategy.orthogonal().trigger == "orthogonal-badnet"
    arrays = s.expand_arrays(6, 10)
    assert set(arrays) == {"index", "target", "eps", "p", "trigger_seed"}
    assert arrays["target"].tolist() == [a.target for a in acts]


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: AttackerAction(0, 1, eps=1.5), r"eps=1.5 is out of range: allowed \[0, 1\]"),
        (lambda: AttackerAction(0, 1, p=-0.1), r"p=-0.1 is out of range: allowed \[0, 1\]"),
        (lambda: AttackerAction(0, -1), r"target=-1 is out of range: allowed \[0, inf\)"),
        (lambda: AttackerAction(-2, 1), r"index=-2 is out of range"),
        (lambda: AttackerAction(0, 1.0), r"target=1.0 is not an integer"),
        (lambda: AttackerAction(0, True), r"target=True is not an integer"),
        (lambda: AttackerAction(0, 1, eps=float("nan")), r"eps=nan is out of range"),
        (lambda: AttackerAction(0, 1, eps="0.5"), r"eps='0.5' is not a number"),
        (lambda: AttackerAction(0, 1, trigger="badnet"),
         r"unknown trigger 'badnet': known triggers are random-badnet, orthogonal-badnet, rotated-badnet, "
         r"patch-badnet, clean-label, edge-case"),
        (lambda: AttackerAction(0, 1, trigger_seed=2**32), r"trigger_seed=4294967296 is out of range"),
        (lambda: AttackerStrategy("x", eps=2), r"eps=2 is out of range: allowed \[0, 1\]"),
        (lambda: AttackerStrategy("", eps=0.5), r"name='' is not a non-empty string"),
        (lambda: AttackerStrategy("x", seed=-1), r"seed=-1 is out of range"),
        (lambda: AttackerStrategy("x", shared_trigger=1), r"shared_trigger=1 is not a boolean"),
        (lambda: AttackerStrategy("x", labels="roundrobin"), r"labels='roundrobin' is not a label policy"),
        (lambda: AttackerStrategy.coordinate_label(4, 1.2), r"labels.fraction=1.2 is out of range: allowed \[0, 1\]"),
        (lambda: AttackerStrategy.coordinate_label(4, 0.4, (2, 4)), r"contains the coordinated label 4"),
        (lambda: AttackerStrategy.coordinate_label(4, 0.4, (2, 2)), r"repeats a label"),
        (lambda: AttackerStrategy.fixed_labels(()), r"labels.labels=\(\) is empty"),
        (lambda: AttackerStrategy.fixed_labels((0, -3)), r"labels.labels\[1\]=-3 is out of range"),
        (lambda: AttackerStrategy.escalate("eps", 1.5, 0.15, 0.55),
         r"escalation.steps\[0\].fraction=1.5 is out of range: allowed \[0, 1\]"),
        (lambda: AttackerStrategy.escalate("eps", 0.5, 0.15, 1.55),
         r"escalation.steps\[0\].value=1.55 is out of range"),
        (lambda: AttackerStrategy.escalate("eps", 0.5, 1.15, 0.55), r"eps=1.15 is out of range"),
        (lambda: AttackerStrategy.escalate("rho", 0.5, 0.1, 0.5),
         r"unknown escalation parameter 'rho': known escalation parameters are eps, p"),
        (lambda: Escalation("eps", ((0.4, 0.55), (0.8, 0.95))),
         r"escalation.steps\[1\].fraction=0.8 is out of range: allowed \[0, 0.4\]"),
        (lambda: Escalation("eps", ()), r"escalation.steps=\(\) is empty"),
        (lambda: AttackerStrategy.escalate("eps", base=0.1), r"give fraction and raised, or steps"),
    ],
)
def test_validation_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "strategy, n, k, message",
    [
        (AttackerStrategy.independent(), 0, 10, r"n=0 is out of range: allowed \[1, inf\)"),
        (AttackerStrategy.independent(), 5, 0, r"num_classes=0 is out of range"),
        (AttackerStrategy.independent(), 2.0, 10, r"n=2.0 is not an integer"),
        (AttackerStrategy.fixed_labels(PAPER_LABELS), 5, 5,
         r"labels.labels\[3\]=6 is out of range: allowed \[0, 4\] \(num_classes=5\)"),
        (AttackerStrategy.coordinate_label(4, 0.4), 5, 4,
         r"labels.label=4 is out of range: allowed \[0, 3\] \(num_classes=4\)"),
        (AttackerStrategy.coordinate_label(1, 0.4, (2, 12)), 5, 10,
         r"labels.others\[1\]=12 is out of range: allowed \[0, 9\] \(num_classes=10\)"),
    ],
)
def test_expand_validation(strategy, n, k, message):
    with pytest.raises(ValueError, match=message):
        strategy.expand(n, k)


def test_action_check_classes():
    assert AttackerAction(0, 9).check_classes(10).target == 9
    with pytest.raises(ValueError, match=r"target=10 is out of range: allowed \[0, 9\] \(num_classes=10\)"):
        AttackerAction(0, 10).check_classes(10)


# --------------------------------------------------------------------------- #
# immutability, equality, hashing
# --------------------------------------------------------------------------- #


def test_immutable_and_hash_by_value():
    s = AttackerStrategy.coordinate_label(4, 0.4, [2, 6, 8])  # a list is normalised
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.eps = 0.1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.labels.fraction = 0.1  # type: ignore[misc]
    t = AttackerStrategy.coordinate_label(4, 0.4, (2, 6, 8))
    assert s == t and hash(s) == hash(t) and s.labels.others == (2, 6, 8)
    assert len({s, t, AttackerStrategy.independent()}) == 2
    a = AttackerAction(3, 1)
    assert a == AttackerAction(3, 1, trigger_seed=3) and a.trigger_seed == 3
    assert AttackerStrategy("x", eps=1) == AttackerStrategy("x", eps=1.0)
    assert isinstance(AttackerStrategy("x", eps=1).eps, float)


# --------------------------------------------------------------------------- #
# dict / TOML round trips and keys
# --------------------------------------------------------------------------- #

ALL_STRATEGIES = [
    AttackerStrategy.independent(eps=0.55, p=0.55),
    AttackerStrategy.fixed_labels(PAPER_LABELS),
    AttackerStrategy.coordinate_label(4, 0.4, (2, 6, 8)),
    AttackerStrategy.coordinate_label(4, 0.4),
    AttackerStrategy.escalate("eps", 0.8, 0.15, 0.55),
    AttackerStrategy.escalate("p", base=0.15, steps=((1.0, 0.55), (0.4, 0.95))),
    AttackerStrategy.orthogonal(labels=PAPER_LABELS),
    AttackerStrategy.shared(labels=(4,)),
    AttackerStrategy("edge", trigger="edge-case", labels=(9,)),
]


def _no_none(d):
    if isinstance(d, dict):
        return all(v is not None and _no_none(v) for v in d.values())
    if isinstance(d, list):
        return all(_no_none(v) for v in d)
    return d is not None


@pytest.mark.parametrize("s", ALL_STRATEGIES, ids=lambda s: s.name)
def test_round_trips(s):
    d = s.to_dict()
    assert _no_none(d)
    json.dumps(d)  # plain data
    assert AttackerStrategy.from_dict(d) == s
    assert AttackerStrategy.from_dict(json.loads(json.dumps(d))) == s
    assert AttackerStrategy.from_toml(s.to_toml()) == s
    assert attacker_strategy_from_dict(tomllib.loads(s.to_toml())) == s
    assert AttackerStrategy.from_toml(s.to_toml()).key() == s.key()
    for a in s.expand(7, 10):
        assert AttackerAction.from_dict(a.to_dict()) == a
        assert AttackerAction.from_toml(a.to_toml()) == a


def test_keys_are_stable_under_field_order_and_ignore_names():
    s = AttackerStrategy.coordinate_label(4, 0.4, (2, 6, 8))
    d = s.to_dict()
    shuffled = dict(reversed(list(d.items())))
    shuffled["labels"] = dict(reversed(list(d["labels"].items())))
    assert AttackerStrategy.from_dict(shuffled).key() == s.key()
    toml_a = 'name = "a"\neps = 0.55\np = 0.55\nlabels = { kind = "fixed", labels = [0, 2] }\n'
    toml_b = 'p = 0.55\nlabels = { labels = [0, 2], kind = "fixed" }\neps = 0.55\nname = "a"\n'
    a, b = AttackerStrategy.from_toml(toml_a), AttackerStrategy.from_toml(toml_b)
    assert a == b and a.key() == b.key()
    # the name is a label, not part of the computation
    assert dataclasses.replace(s, name="renamed").key() == s.key()
    # every field that changes the computation changes the key
    keys = {s.key()}
    for change in (
        dict(eps=0.56), dict(p=0.5), dict(trigger="orthogonal-badnet"), dict(seed=1),
        dict(shared_trigger=True), dict(labels=CoordinatedLabels(4, 0.5, (2, 6, 8))),
        dict(labels=CoordinatedLabels(4, 0.4)), dict(escalation=Escalation("eps", ((0.5, 0.9),))),
    ):
        keys.add(dataclasses.replace(s, **change).key())
    assert len(keys) == 9
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys)
    # actions
    assert AttackerAction(0, 1).key() != AttackerAction(0, 2).key()
    assert AttackerAction(0, 1).key() == AttackerAction.from_dict({"target": 1, "index": 0}).key()


def test_canonical_json_is_pinned():
    # a change here silently invalidates every cache entry: bump SCHEMA_VERSION
    s = AttackerStrategy.coordinate_label(4, 0.4, (2, 6, 8))
    assert canonical_json(s.key_data()) == (
        '{"eps":0.55,"labels":{"fraction":0.4,"kind":"coordinated","label":4,'
        '"others":[2,6,8]},"p":0.55,"seed":3407,"shared_trigger":false,'
        '"trigger":"random-badnet"}'
    )


def test_from_dict_rejects_unknown_and_missing_fields():
    with pytest.raises(ValueError, match=r"unknown field\(s\) 'epsilon'.*allowed fields are name"):
        AttackerStrategy.from_dict({"name": "x", "epsilon": 0.5})
    with pytest.raises(ValueError, match=r"missing field\(s\) 'name'"):
        AttackerStrategy.from_dict({"eps": 0.5})
    with pytest.raises(ValueError, match=r"unknown label policy 'cycled'"):
        label_policy_from_dict({"kind": "cycled"})
    with pytest.raises(ValueError, match=r"unknown field\(s\) 'others'"):
        label_policy_from_dict({"kind": "fixed", "labels": [1], "others": [2]})
    with pytest.raises(ValueError, match="invalid TOML"):
        AttackerStrategy.from_toml("name = ")
    assert label_policy_from_dict("random") == RandomLabels()
    assert label_policy_from_dict([1, 2]) == FixedLabels((1, 2))


# --------------------------------------------------------------------------- #
# mixed strategies
# --------------------------------------------------------------------------- #

ZERO = AttackerStrategy.fixed_labels(PAPER_LABELS, name="0% label overlap")
FORTY = AttackerStrategy.coordinate_label(4, 0.4, (2, 6, 8), name="40% label overlap")
HUNDRED = AttackerStrategy.coordinate_label(4, 1.0, (2, 6, 8), name="100% label overlap")


def test_mixed_payoff_is_the_weighted_mean():
    # Table 6's "Random triggers" row as an equal mix of the label configurations
    # of Table 3 (base case N = 5, eps = 0.55; block means of the no-defense columns)
    mix = MixedAttackerStrategy("Random triggers", ((1, ZERO), (1, FORTY), (1, HUNDRED)))
    assert mix.weights == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    payoffs = {"0% label overlap": 0.0644, "40% label overlap": 0.205, "100% label overlap": 0.9188}
    assert mix.expected_payoff(payoffs) == pytest.approx((0.0644 + 0.205 + 0.9188) / 3)
    by_strategy = {ZERO: 0.0644, FORTY: 0.205, HUNDRED: 0.9188}
    assert mix.expected_payoff(by_strategy) == pytest.approx(mix.expected_payoff(payoffs))
    # attacker and defender payoffs at once
    pairs = {k: (v, 1 - v) for k, v in payoffs.items()}
    np.testing.assert_allclose(mix.expected_payoff(pairs), [0.396067, 0.603933], atol=1e-6)
    # unequal weights, sequence in component (name) order
    mix2 = MixedAttackerStrategy("m", ((3, ZERO), (1, HUNDRED)))
    assert [s.name for s in mix2.strategies] == ["0% label overlap", "100% label overlap"]
    assert mix2.expected_payoff([0.1, 0.5]) == pytest.approx(0.75 * 0.1 + 0.25 * 0.5)


def test_mixed_validation_and_canonical_order():
    a = MixedAttackerStrategy("m", ((0.25, ZERO), (0.75, FORTY)))
    b = MixedAttackerStrategy("m", ((3, FORTY), (1, ZERO)))
    assert a == b and a.key() == b.key() and hash(a) == hash(b)
    assert MixedAttackerStrategy.from_toml(a.to_toml()) == a
    assert attacker_strategy_from_dict(a.to_dict()) == a
    assert a.key() != MixedAttackerStrategy("m", ((0.5, ZERO), (0.5, FORTY))).key()
    assert a.key() == MixedAttackerStrategy("other name", ((1, ZERO), (3, FORTY))).key()
    with pytest.raises(ValueError, match=r"components\[0\].weight=0 is out of range: allowed \(0, inf\)"):
        MixedAttackerStrategy("m", ((0, ZERO), (1, FORTY)))
    with pytest.raises(ValueError, match=r"^components: strategy name\(s\) '0% label overlap' repeated: allowed one component per name$"):
        MixedAttackerStrategy("m", ((1, ZERO), (1, dataclasses.replace(FORTY, name=ZERO.name))))
    with pytest.raises(ValueError, match="empty"):
        MixedAttackerStrategy("m", ())
    with pytest.raises(ValueError, match="no payoff for component '40% label overlap'"):
        a.expected_payoff({"0% label overlap": 0.1})
    with pytest.raises(ValueError, match="is not a component"):
        a.expected_payoff({"0% label overlap": 0.1, "40% label overlap": 0.2, "x": 0.3})
    with pytest.raises(ValueError, match="2 components"):
        a.expected_payoff([0.1])
