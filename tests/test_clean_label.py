"""The clean-label attack (Turner et al., 2019): which images are poisoned, labels kept, PGD bounds, oracle end to end."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.attacks.clean_label import CleanLabelConfig, pgd_perturbation
from oracle.data.datasets import load_dataset
from oracle.data.poison import build_joint_dataset
from oracle.victims.presets import get_preset
from strategies import AttackerAction, AttackerStrategy, apply_triggers


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _shift(calls):
    """A recording perturbation: +1 on every pixel (saturating)."""
    def perturb(i, x, y, px, py):
        calls.append((i, x.copy(), y.copy(), px.shape[0], py.copy()))
        return np.minimum(x.astype(np.int16) + 1, 255).astype(np.uint8)
    return perturb


def test_clean_label_poisons_only_target_class_and_keeps_labels(digits):
    actions = (AttackerAction(0, target=3, eps=0.3, p=0.5, trigger="clean-label"),
               AttackerAction(1, target=7, eps=0.3, p=0.5))  # a dirty-label BadNet attacker beside it
    calls = []
    jd = build_joint_dataset(digits, actions, n_max=2, v_d=0.5, perturb=_shift(calls))
    own0 = jd.poisoned_train & (jd.owner_train == 0)
    own1 = jd.poisoned_train & (jd.owner_train == 1)
    assert own0.sum() > 0 and own1.sum() > 0
    # clean-label: only images of class 3, labels unchanged
    assert (jd.y_train_clean[own0] == 3).all() and (jd.y_train[own0] == 3).all()
    # BadNet attacker relabels whatever it poisons
    assert (jd.y_train[own1] == 7).all() and (jd.y_train_clean[own1] != 7).any()
    # p = 0.5 of the attacker's target-class train-time images (train + validation splits together)
    alloc = jd.allocation
    labels = np.concatenate([digits.y_train, digits.y_test])[jd.index_allocated]
    c0 = int((labels[alloc.train_time_of(0)] == 3).sum())
    n0 = int(((jd.owner_train == 0) & jd.poisoned_train).sum() + ((jd.owner_val == 0) & jd.poisoned_val).sum())
    assert n0 == int(np.floor(0.5 * c0 + 0.5))
    # the perturbation was asked once, for attacker 0 only, on class-3 images, with its private share
    assert [c[0] for c in calls] == [0]
    _, x_in, y_in, n_private, _ = calls[0]
    assert (y_in == 3).all() and x_in.shape[0] == n0 and n_private == alloc.train_time_size
    # poisoned image = trigger(perturbed clean image)
    whole = np.concatenate([digits.x_train, digits.x_test])
    rows = np.flatnonzero(own0)
    clean = whole[jd.index_train[rows]]
    expected = apply_triggers(np.minimum(clean.astype(np.int16) + 1, 255).astype(np.uint8), np.zeros(rows.size, int),
                              jd.triggers)
    np.testing.assert_array_equal(jd.x_train[rows], expected)


def test_clean_label_needs_a_perturbation(digits):
    actions = AttackerStrategy(name="cl", trigger="clean-label").expand(2, 10)
    with pytest.raises(ValueError, match="clean-label attackers need perturb="):
        build_joint_dataset(digits, actions, n_max=2, v_d=0.5)


@pytest.mark.slow
def test_pgd_stays_in_the_ball_and_raises_the_loss(digits):
    import torch

    from oracle.victims.train import predict, train_victim

    x, y = digits.x_train, digits.y_train
    victim = train_victim("smallcnn", x, y, None, None, num_classes=10, dataset="digits",
                          preset=get_preset("tiny", max_epochs=15, lr=0.05), seed=3407, device="cpu")
    # 8×8 digits have 17 grey levels, 16 pixel values apart: eps = 32 is two levels
    cfg = CleanLabelConfig(eps=32, step=8, steps=10)
    xa = pgd_perturbation(victim.model, x[:200], y[:200], dataset="digits", config=cfg, seed=1)
    diff = xa.astype(int) - x[:200].astype(int)
    assert xa.dtype == np.uint8 and np.abs(diff).max() <= 32 and np.abs(diff).max() > 0
    rng = np.random.default_rng(0)
    noise = np.clip(x[:200].astype(int) + rng.choice([-32, 32], size=x[:200].shape), 0, 255).astype(np.uint8)
    acc_clean = np.mean(predict(victim.model, x[:200], dataset="digits") == y[:200])
    acc_noise = np.mean(predict(victim.model, noise, dataset="digits") == y[:200])
    acc_adv = np.mean(predict(victim.model, xa, dataset="digits") == y[:200])
    assert acc_clean > 0.8 and acc_noise > 0.8
    # untargeted PGD makes the inputs hard to classify; random noise of the same size does not
    assert acc_adv < acc_noise - 0.3
    # same seed, same perturbation; the model's gradients are untouched
    grads = [None if p.grad is None else p.grad.clone() for p in victim.model.parameters()]
    np.testing.assert_array_equal(xa, pgd_perturbation(victim.model, x[:200], y[:200], dataset="digits",
                                                       config=cfg, seed=1))
    for p, g in zip(victim.model.parameters(), grads):
        assert p.requires_grad and (p.grad is None if g is None else torch.equal(p.grad, g))
    assert isinstance(victim.model, torch.nn.Module)


def test_clean_label_config_is_validated():
    with pytest.raises(ValueError, match=r"clean-label eps=0 is out of range: allowed \(0, 255\]"):
        CleanLabelConfig(eps=0)
    with pytest.raises(ValueError, match=r"clean-label steps=0 is out of range: allowed \[1, inf\)"):
        CleanLabelConfig(steps=0)


@pytest.mark.slow
def test_oracle_runs_a_clean_label_game(tmp_path):
    from oracle.store.cache import ResultCache
    from oracle.jobs import Job
    from oracle.payoff_oracle import PayoffOracle
    from oracle.specs import spec_from_dict

    spec = spec_from_dict({
        "game": {"name": "cl", "n_attackers": 2, "seeds": [3407]},
        "environment": {"dataset": "digits", "v_d": 0.5, "n_max": 2, "preset": "tiny",
                        "preset_overrides": {"max_epochs": 4, "lr": 0.05}},
        "attackers": [{"name": "clean-label", "trigger": "clean-label", "eps": 0.3, "p": 1.0},
                      {"name": "badnet", "eps": 0.3, "p": 1.0}],
        "defenders": [{"name": "none", "architecture": "smallcnn"}],
    })
    oracle = PayoffOracle(spec, cache=ResultCache(tmp_path / "c.sqlite"), device="cpu")
    cl, bn = (Job(spec.attackers[k], spec.defenders["none"], 3407) for k in ("clean-label", "badnet"))
    assert "clean_label" in oracle.profile(cl) and "clean_label" not in oracle.profile(bn)
    out = oracle.run(cl)
    assert len(out.asr) == 2 and all(0.0 <= a <= 1.0 for a in out.asr)
    # both attackers poisoned some training images (which images, and their labels, are checked above)
    assert all(n > 0 for n in out.extra["poisoned_train_per_attacker"]), out.extra["poisoned_train_per_attacker"]
