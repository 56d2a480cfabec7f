"""Defenses in the oracle: backdoor adversarial training adds the defender's own triggered copies
with clean labels; CutMix mixes the specified share of every batch; removal defenses filter and retrain."""

import numpy as np
import pytest
import torch

from oracle.data.allocation import DEFENDER
from oracle.store.cache import ResultCache
from oracle.defenses.augmentative import AdversarialTraining, NoDefense, adversarial_training_copies, cutmix_transform
from oracle.payoff_oracle import PayoffOracle
from oracle.data.poison import build_joint_dataset
from oracle.specs import Environment, GameSpec
from strategies import AttackerStrategy, DefenderStrategy, make_triggers
from strategies.actions import AttackerAction


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 8, 8, 1), dtype=np.uint8)
    y = rng.integers(0, 10, size=n)
    owner = np.where(np.arange(n) < 120, DEFENDER, np.arange(n) % 3)
    return x, y, owner


def test_adversarial_training_copies_follow_the_spec():
    x, y, owner = _data()
    params = dict(DefenderStrategy("smallcnn", "adversarial-training").params_map)
    assert (params["eps"], params["p"], params["n_triggers"], params["augment_fraction"]) == (0.4, 0.4, 20, 0.5)
    xa, ya = adversarial_training_copies(x, y, owner, params)
    assert len(xa) == round(0.4 * round(0.5 * 120)) == 24
    # every copy is a defender input stamped with one of the defender's 20 triggers, label unchanged
    triggers = make_triggers([AttackerAction(index=k, target=0, eps=0.4, p=0.4, trigger_seed=params["seed"] + k)
                              for k in range(20)], (8, 8, 1))
    defender_rows = np.flatnonzero(owner == DEFENDER)
    for i, (img, label) in enumerate(zip(xa, ya)):
        k = i % 20
        z = triggers.masks[k].astype(bool)
        match = [r for r in defender_rows if np.array_equal(x[r][~z], img[~z]) and y[r] == label]
        assert match, f"copy {i} is not a triggered defender input with its clean label"
        np.testing.assert_array_equal(img[z, 0], np.rint(triggers.patterns[k][z, 0]).astype(np.uint8))
    xt, yt = AdversarialTraining(params).training_set(x, y, owner)
    assert len(xt) == len(x) + 24 and np.array_equal(xt[: len(x)], x)
    assert NoDefense().training_set(x, y, owner)[0] is x


def test_cutmix_mixes_the_given_share_of_each_batch():
    torch.manual_seed(0)
    params = dict(DefenderStrategy("smallcnn", "cutmix").params_map)
    t = cutmix_transform(params, num_classes=10)
    x = torch.randn(16, 1, 8, 8)
    y = torch.arange(16) % 10
    xm, target = t(x, y, torch.Generator().manual_seed(0))
    assert xm.shape == x.shape and target.shape == (16, 10)
    torch.testing.assert_close(target.sum(1), torch.ones(16))
    # the second half is untouched, with one-hot labels
    torch.testing.assert_close(xm[8:], x[8:])
    torch.testing.assert_close(target[8:], torch.nn.functional.one_hot(y[8:], 10).float())
    # the first half was mixed: some of those images changed and carry two labels
    changed = ~torch.isclose(xm[:8], x[:8]).flatten(1).all(1)
    assert changed.any()
    assert ((target[:8] > 0).sum(1) <= 2).all()


@pytest.mark.slow
@pytest.mark.parametrize("defense", ["cutmix", "adversarial-training"])
def test_oracle_trains_with_the_defense(tmp_path, defense):
    spec = GameSpec(
        name="defended", environment=Environment(dataset="digits", v_d=0.5, n_max=3, preset="tiny",
                                                 preset_overrides={"max_epochs": 3, "lr": 0.05}),
        n_attackers=3, attackers={"independent": AttackerStrategy.independent(eps=0.55, p=0.2)},
        defenders={defense: DefenderStrategy("smallcnn", defense, name=defense)},
    )
    oracle = PayoffOracle(spec, cache=ResultCache(tmp_path / "c.sqlite"))
    (job,) = oracle.jobs()
    outcome = oracle.run(job)
    assert 0.0 <= outcome.attacker_payoff <= 1.0
    undefended = oracle.profile(type(job)(job.attacker, DefenderStrategy("smallcnn", "none"), job.seed))
    assert oracle.profile(job)["defender"] != undefended["defender"]
    joint = build_joint_dataset(oracle.dataset, job.attacker.expand(3, 10), n_max=3, v_d=0.5, seed=job.seed)
    n_defender = int((joint.owner_train == DEFENDER).sum())
    extra = round(0.4 * round(0.5 * n_defender)) if defense == "adversarial-training" else 0
    assert outcome.extra["training_inputs"] == len(joint.y_train) + extra


@pytest.mark.parametrize("defense,params", [
    ("spectral-signatures", {"removal": "fixed", "k_per_class": 40}),
    ("activation-clustering", {}),
])
@pytest.mark.slow
def test_oracle_filters_and_retrains(tmp_path, defense, params):
    """One strong attacker on digits: the removal defense flags most of its poisoned inputs, the
    victim is retrained without what was flagged, and the filter's score is part of the outcome."""
    spec = GameSpec(
        name="filtered", environment=Environment(dataset="digits", v_d=0.5, n_max=1, preset="tiny",
                                                 preset_overrides={"max_epochs": 6, "lr": 0.05}),
        n_attackers=1, attackers={"one": AttackerStrategy.fixed_labels([3], eps=0.55, p=0.05)},  # 30 poisoned inputs
        defenders={"none": DefenderStrategy("smallcnn", "none"),
                   defense: DefenderStrategy("smallcnn", defense, params, name=defense)},
    )
    oracle = PayoffOracle(spec, cache=ResultCache(tmp_path / "c.sqlite"))
    jobs = {j.defender.defense: j for j in oracle.jobs()}
    plain, filtered = oracle.run(jobs["none"]), oracle.run(jobs[defense])
    assert "removal" not in plain.extra
    r = filtered.extra["removal"]
    assert r["method"] == defense and r["n_poisoned"] == plain.extra["poisoned_train_per_attacker"][0] > 0
    assert r["recall"] >= 0.8, r
    assert r["recall_per_attacker"] == [r["recall"]]
    assert r["extra_trainings"] == (2 if defense == "activation-clustering" else 1)
    # the poison is gone from the retrained victim: the backdoor no longer works as well
    assert filtered.asr[0] < plain.asr[0], (filtered.asr, plain.asr)


def test_counts_round_halves_up_and_the_changed_defenses_are_keyed_apart(tmp_path):
    """The one rounding rule: an odd defender share at augment_fraction 0.5 is a tie (2.5 -> 3, banker's 2),
    an odd batch too (3.5 -> 4); the two defenses whose counts moved are version 2 in the cache key."""
    from oracle.defenses.implemented import defense_key
    from oracle.jobs import Job

    x, y, _ = _data(10)
    owner = np.array([DEFENDER] * 5 + [0] * 5)
    params = dict(DefenderStrategy("smallcnn", "adversarial-training", {"p": 1.0}).params_map)
    assert len(adversarial_training_copies(x, y, owner, params)[0]) == 3  # round_half_up(0.5 * 5)
    torch.manual_seed(0)
    t = cutmix_transform(dict(DefenderStrategy("smallcnn", "cutmix").params_map), num_classes=10)
    xb = torch.randn(7, 1, 8, 8)
    xm, _ = t(xb, torch.arange(7), torch.Generator().manual_seed(0))
    torch.testing.assert_close(xm[4:], xb[4:])  # 4 of 7 mixed, the last 3 untouched
    assert [defense_key(d) for d in ("none", "cutmix", "adversarial-training", "spectral-signatures")] == [
        "none", "cutmix@v2", "adversarial-training@v2", "spectral-signatures"]
    env = Environment(dataset="digits", v_d=0.5, n_max=2, preset="tiny")
    spec = GameSpec("g", env, 2, {"a": AttackerStrategy("a")},
                    {"c": DefenderStrategy("smallcnn", "cutmix"), "n": DefenderStrategy("smallcnn", "none")}, (3407,))
    oracle = PayoffOracle(spec, cache=ResultCache(tmp_path / "c.sqlite"))
    profiles = {d: oracle.profile(Job(spec.attackers["a"], spec.defenders[d], 3407)) for d in ("c", "n")}
    assert profiles["c"]["defender"]["defense"] == "cutmix@v2" and profiles["n"]["defender"]["defense"] == "none"
