"""Poisoning: the joint dataset of a profile (oracle/data/poison.py).

Paper: Datta & Shadbolt, §4, §6.2.1, Figure 4 and Table 5.  Every check
recomputes the expected images from the dataset, the allocation indices and
the paper's float formula ``x ⊙ (1 − z) + m ⊙ z`` (rounded), independently of
``apply_triggers``' bitwise implementation.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from oracle.data.allocation import DEFENDER, UNUSED, allocate, poisoned_count
from oracle.data.dataset import Dataset
from oracle.data.datasets import load_dataset
from oracle.data.poison import JointDataset, build_joint_dataset
from strategies import AttackerAction, AttackerStrategy, random_badnet


# --------------------------------------------------------------------------
# fixtures and helpers


def _synthetic(n: int = 600, shape=(32, 32, 3), seed: int = 0, name: str = "synthetic") -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    y = rng.permutation(np.arange(n) % 10).astype(np.int64)
    cut = (4 * n) // 5
    return Dataset(name, x[:cut], y[:cut], x[cut:], y[cut:], 10, [str(c) for c in range(10)])


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


@pytest.fixture(scope="module")
def colour() -> Dataset:
    return _synthetic()


def _expected_triggered(orig: np.ndarray, owner: np.ndarray, jd: JointDataset) -> np.ndarray:
    """The paper's formula in floats, rounded half to even (as the patterns are);
    blended triggers (Orthogonal-BadNet) weigh by alpha = z * o instead of z."""
    z = jd.triggers.weights[owner][..., None]
    m = jd.triggers.patterns[owner]
    return np.rint(np.clip(orig.astype(np.float64) * (1 - z) + m * z, 0, 255)).astype(np.uint8)


def _check_pooled(jd: JointDataset, whole_x, whole_y, split: str, alloc_idx: np.ndarray) -> None:
    x, y = getattr(jd, f"x_{split}"), getattr(jd, f"y_{split}")
    poisoned, owner = getattr(jd, f"poisoned_{split}"), getattr(jd, f"owner_{split}")
    index = getattr(jd, f"index_{split}")
    # the original images, via the allocation's indices
    np.testing.assert_array_equal(index, jd.index_allocated[alloc_idx])
    orig, y_orig = whole_x[index], whole_y[index]
    assert x.dtype == np.uint8 and x.shape == orig.shape
    assert y.dtype == np.int64 and poisoned.dtype == bool
    np.testing.assert_array_equal(getattr(jd, f"y_{split}_clean"), y_orig)

    # unpoisoned inputs are untouched and keep their labels
    np.testing.assert_array_equal(x[~poisoned], orig[~poisoned])
    np.testing.assert_array_equal(y[~poisoned], y_orig[~poisoned])

    # poisoned inputs: only attackers' images, exactly their owner's trigger, the owner's target
    assert (owner[poisoned] >= 0).all()
    po = owner[poisoned]
    xp, op = x[poisoned], orig[poisoned]
    mask = jd.triggers.masks[po].astype(bool)  # (P, H, W)
    values = np.rint(jd.triggers.patterns[po]).astype(np.uint8)
    if jd.triggers.alpha is None:
        np.testing.assert_array_equal(xp[mask], values[mask])  # x[z == 1] == round(m)
    np.testing.assert_array_equal(xp[~mask], op[~mask])  # clean elsewhere
    np.testing.assert_array_equal(xp, _expected_triggered(op, po, jd))
    np.testing.assert_array_equal(y[poisoned], jd.targets[po])


STRATEGIES = {
    "independent": AttackerStrategy.independent(eps=0.55, p=0.55),
    "orthogonal": AttackerStrategy.orthogonal(eps=0.15, p=0.4),
    "patch": AttackerStrategy(name="patch", trigger="patch-badnet", eps=0.05, p=0.5),
    "shared": AttackerStrategy.shared(eps=0.3, p=0.6),
    "escalate-eps": AttackerStrategy.escalate("eps", fraction=0.4, base=0.15, raised=0.95, p=0.5),
    "escalate-p": AttackerStrategy.escalate("p", steps=((1.0, 0.55), (0.4, 0.95)), base=0.15),
}


def _n_max(n: int) -> int:
    return max(n, 10)


# --------------------------------------------------------------------------
# the poisoned pooled sets


@pytest.mark.parametrize("n", [1, 50])
@pytest.mark.parametrize("which", ["digits", "colour"])
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_joint_dataset_is_exactly_the_poisoned_allocation(request, which, n, strategy):
    ds: Dataset = request.getfixturevalue(which)
    actions = STRATEGIES[strategy].expand(n, ds.num_classes)
    jd = build_joint_dataset(ds, actions, n_max=_n_max(n), v_d=0.1)
    whole_x, whole_y = ds.whole()
    a = jd.allocation
    assert jd.n_attackers == n and jd.actions == tuple(actions)
    assert jd.image_shape == ds.shape and jd.num_classes == 10 and jd.dataset_name == ds.name

    _check_pooled(jd, whole_x, whole_y, "train", a.defender_train)
    _check_pooled(jd, whole_x, whole_y, "val", a.defender_val)
    np.testing.assert_array_equal(jd.owner_train, a.defender_train_owner)
    np.testing.assert_array_equal(jd.owner_val, a.defender_val_owner)

    # the poisoned images are exactly the allocation's poison mask, per attacker p
    p = np.array([x.p for x in actions])
    expected = np.sort(a.train_time[a.poison_mask(p)])
    got = np.sort(np.concatenate((jd.index_train[jd.poisoned_train], jd.index_val[jd.poisoned_val])))
    np.testing.assert_array_equal(got, expected)
    counts = np.bincount(
        np.concatenate((jd.owner_train[jd.poisoned_train], jd.owner_val[jd.poisoned_val])), minlength=n
    )
    assert counts.tolist() == [poisoned_count(q, a.train_time_size) for q in p.tolist()]

    # run-time sets: the owner's trigger on every input, clean labels, the owner's target
    np.testing.assert_array_equal(jd.index_runtime, a.run_time)
    np.testing.assert_array_equal(jd.runtime_owner, a.run_time_owner)
    np.testing.assert_array_equal(jd.runtime_x_clean, whole_x[a.run_time])
    np.testing.assert_array_equal(jd.runtime_y, whole_y[a.run_time])
    np.testing.assert_array_equal(jd.runtime_target, jd.targets[a.run_time_owner])
    np.testing.assert_array_equal(jd.runtime_x, _expected_triggered(jd.runtime_x_clean, jd.runtime_owner, jd))
    assert np.bincount(jd.runtime_owner, minlength=n).tolist() == [a.run_time_size] * n
    if max(x.eps for x in actions) > 0.1:
        assert (jd.runtime_x != jd.runtime_x_clean).any(axis=(1, 2, 3)).mean() > 0.9

    # no held-out test set by default: the whole dataset is allocated
    assert jd.x_test.shape == (0, *ds.shape) and jd.y_test.size == 0 and not jd.has_test


@pytest.mark.parametrize("which", ["digits", "colour"])
def test_defender_share_is_clean_and_indices_are_disjoint(request, which):
    ds: Dataset = request.getfixturevalue(which)
    jd = build_joint_dataset(ds, AttackerStrategy.independent(p=1.0).expand(7, 10), n_max=20, v_d=0.2)
    a = jd.allocation
    for split in ("train", "val"):
        owner, poisoned = getattr(jd, f"owner_{split}"), getattr(jd, f"poisoned_{split}")
        assert not poisoned[owner == DEFENDER].any()
        assert not poisoned[owner == UNUSED].any()  # unused slots join clean
        assert poisoned[owner >= 0].all()  # p = 1: every train-time image
    defender = np.concatenate((jd.index_train[jd.owner_train == DEFENDER], jd.index_val[jd.owner_val == DEFENDER]))
    np.testing.assert_array_equal(np.sort(defender), np.sort(a.defender_share))
    everything = np.concatenate((jd.index_train, jd.index_val, jd.index_runtime, jd.index_test))
    assert np.unique(everything).size == everything.size  # no index twice
    # the unused slots' run-time blocks are left out; nothing else is
    assert everything.size == ds.n_train + ds.n_test - (a.n_max - a.n_attackers) * a.run_time_size


def test_escalated_eps_is_honoured(colour):
    strategy = AttackerStrategy.escalate("eps", fraction=0.4, base=0.15, raised=0.95)
    actions = strategy.expand(10, 10)
    jd = build_joint_dataset(colour, actions, n_max=10, v_d=0.1)
    eps = np.array([x.eps for x in actions])
    assert sorted(set(eps.tolist())) == [0.15, 0.95]
    for k in range(10):  # each row is the attacker's own Random-BadNet draw at its eps
        ref = random_badnet([k], eps[k], colour.shape)
        np.testing.assert_array_equal(jd.triggers.masks[k], ref.masks[0])
        np.testing.assert_array_equal(jd.triggers.patterns[k], ref.patterns[0])
    frac = jd.triggers.mask_fraction
    assert frac[eps == 0.95].min() > 0.85 and frac[eps == 0.15].max() < 0.25
    # the triggered run-time images differ from the clean ones by about eps of the pixels
    changed = (jd.runtime_x != jd.runtime_x_clean).any(axis=-1).mean(axis=(1, 2))
    per_attacker = np.array([changed[jd.runtime_owner == k].mean() for k in range(10)])
    assert per_attacker[eps == 0.95].min() > 0.8 and per_attacker[eps == 0.15].max() < 0.25


def test_zero_poison_rate_poisons_nothing(digits):
    jd = build_joint_dataset(digits, AttackerStrategy.independent(p=0.0).expand(4, 10), n_max=10, v_d=0.1)
    assert not jd.poisoned_train.any() and not jd.poisoned_val.any()
    np.testing.assert_array_equal(jd.y_train, jd.y_train_clean)
    assert jd.summary().n_poisoned.tolist() == [0] * 4
    assert jd.runtime_y.size == 4 * jd.allocation.run_time_size  # run-time still triggered
    assert (jd.runtime_x != jd.runtime_x_clean).any()


# --------------------------------------------------------------------------
# determinism and seeds


def _poisoned_indices(jd: JointDataset) -> np.ndarray:
    return np.sort(np.concatenate((jd.index_train[jd.poisoned_train], jd.index_val[jd.poisoned_val])))


def test_same_inputs_same_output_and_seed_changes_the_subset(digits):
    actions = AttackerStrategy.independent().expand(6, 10)
    a = build_joint_dataset(digits, actions, n_max=12, v_d=0.1, seed=3407, test_fraction=0.1)
    b = build_joint_dataset(digits, actions, n_max=12, v_d=0.1, seed=3407, test_fraction=0.1)
    c = build_joint_dataset(digits, actions, n_max=12, v_d=0.1, seed=3408, test_fraction=0.1)
    for name in (
        "x_train", "y_train", "poisoned_train", "owner_train", "index_train", "x_val", "y_val",
        "poisoned_val", "index_val", "runtime_x", "runtime_x_clean", "runtime_y", "runtime_target",
        "runtime_owner", "x_test", "y_test", "index_test",
    ):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.seed == 3407 and c.seed == 3408
    pa, pc = _poisoned_indices(a), _poisoned_indices(c)
    assert pa.size == pc.size  # same counts ...
    assert not np.array_equal(pa, pc)  # ... different images
    assert not np.array_equal(a.index_test, c.index_test)
    np.testing.assert_array_equal(a.triggers.masks, c.triggers.masks)  # triggers seeded per attacker


def test_attacker_keeps_its_images_as_n_varies(digits):
    """Slot i is the same for every N ≤ N_max, so attacker i poisons the same images."""
    small = build_joint_dataset(digits, AttackerStrategy.independent().expand(3, 10), n_max=20, v_d=0.1)
    large = build_joint_dataset(digits, AttackerStrategy.independent().expand(20, 10), n_max=20, v_d=0.1)
    for k in range(3):
        ps = np.sort(small.index_train[small.poisoned_train & (small.owner_train == k)])
        pl = np.sort(large.index_train[large.poisoned_train & (large.owner_train == k)])
        np.testing.assert_array_equal(ps, pl)
    # under unused="clean" the joint dataset is the same set of images for every N
    np.testing.assert_array_equal(small.index_train, large.index_train)


def test_poisoned_subsets_are_nested_in_p(colour):
    lo = build_joint_dataset(colour, AttackerStrategy.independent(p=0.15).expand(5, 10), n_max=10, v_d=0.1)
    hi = build_joint_dataset(colour, AttackerStrategy.independent(p=0.55).expand(5, 10), n_max=10, v_d=0.1)
    assert set(_poisoned_indices(lo).tolist()) < set(_poisoned_indices(hi).tolist())


# --------------------------------------------------------------------------
# held-out test set


def test_held_out_test_set_is_clean_stratified_and_disjoint(digits):
    actions = AttackerStrategy.independent().expand(5, 10)
    jd = build_joint_dataset(digits, actions, n_max=10, v_d=0.1, test_fraction=0.2)
    whole_x, whole_y = digits.whole()
    n = digits.n_train + digits.n_test
    assert jd.has_test and jd.y_test.size == int(0.2 * n)
    np.testing.assert_array_equal(jd.x_test, whole_x[jd.index_test])
    np.testing.assert_array_equal(jd.y_test, whole_y[jd.index_test])
    # class proportions within one image of the whole's
    expect = np.bincount(whole_y, minlength=10) * jd.y_test.size / n
    assert np.abs(np.bincount(jd.y_test, minlength=10) - expect).max() <= 1.0
    # the allocation covers exactly the rest
    assert jd.allocation.n_total == n - jd.y_test.size
    np.testing.assert_array_equal(np.sort(np.concatenate((jd.index_allocated, jd.index_test))), np.arange(n))
    everything = np.concatenate((jd.index_train, jd.index_val, jd.index_runtime, jd.index_test))
    assert np.unique(everything).size == everything.size
    # everything else still checks out with the indirection through index_allocated
    _check_pooled(jd, whole_x, whole_y, "train", jd.allocation.defender_train)
    _check_pooled(jd, whole_x, whole_y, "val", jd.allocation.defender_val)
    np.testing.assert_array_equal(jd.runtime_x_clean, whole_x[jd.index_allocated[jd.allocation.run_time]])


# --------------------------------------------------------------------------
# summary (Table 5) and scale


def test_summary_counts_and_rates(colour):
    actions = AttackerStrategy.escalate("p", fraction=0.5, base=0.2, raised=0.8).expand(4, 10)
    jd = build_joint_dataset(colour, actions, n_max=10, v_d=0.1)
    s = jd.summary()
    a = jd.allocation
    assert s.n_attackers == 4 and s.n_train == jd.y_train.size and s.n_val == jd.y_val.size
    assert s.p.tolist() == [0.8, 0.8, 0.2, 0.2]
    assert s.n_poisoned.tolist() == [poisoned_count(q, a.train_time_size) for q in s.p.tolist()]
    assert (s.n_poisoned == s.n_poisoned_train + s.n_poisoned_val).all()
    assert s.n_runtime.tolist() == [a.run_time_size] * 4
    np.testing.assert_allclose(s.real_poison_rate, s.n_poisoned / (s.n_train + s.n_val))
    np.testing.assert_allclose(s.nominal_rate, 0.9 * s.p / 10)
    assert s.table5_count.tolist() == [poisoned_count(q, a.share_size) for q in s.p.tolist()]
    text = str(s)
    assert "N = 4 of N_max = 10" in text and len(text.splitlines()) == 2 + 4
    d = s.to_dict()
    assert d["n_poisoned"] == s.n_poisoned.tolist() and d["n_joint"] == s.n_joint


def test_table5_e3_with_a_thousand_attackers():
    """E3 / E6 of Table 5 at the paper's scale (60,000 images, N = N_max = 1000,
    V_d = 0.1, p = 0.55): real poison rate 0.0005 (30); tiny 2×2 images keep it fast."""
    ds = _synthetic(60_000, shape=(2, 2, 1), name="table5")
    actions = AttackerStrategy.independent(p=0.55).expand(1000, 10)
    t0 = time.perf_counter()
    jd = build_joint_dataset(ds, actions, n_max=1000, v_d=0.1)
    assert time.perf_counter() - t0 < 10.0
    s = jd.summary()
    assert set(s.table5) == {"0.0005 (30)"} and set(s.table5_count.tolist()) == {30}
    assert set(s.n_poisoned.tolist()) == {24}  # round(0.55 * 43) of the 43 train-time images
    assert s.n_joint == 60_000 - 1000 * 11 and set(s.n_runtime.tolist()) == {11}
    assert s.real_poison_rate[0] == pytest.approx(24 / 49_000)


def test_unused_drop_leaves_unused_slots_out(digits):
    jd = build_joint_dataset(digits, AttackerStrategy.independent().expand(3, 10), n_max=10, v_d=0.1, unused="drop")
    assert not (jd.owner_train == UNUSED).any() and not (jd.owner_val == UNUSED).any()
    a = jd.allocation
    assert jd.y_train.size + jd.y_val.size == a.defender_share.size + 3 * a.train_time_size


def test_outputs_are_read_only(digits):
    jd = build_joint_dataset(digits, AttackerStrategy.independent().expand(2, 10), n_max=4, v_d=0.1)
    for name in ("x_train", "y_train", "poisoned_train", "owner_train", "x_val", "runtime_x", "runtime_x_clean",
                 "runtime_target", "x_test"):  # fmt: skip
        with pytest.raises(ValueError, match="read-only"):
            getattr(jd, name)[...] = 0


# --------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("trigger", ["edge-case"])
def test_unimplemented_triggers_raise(digits, trigger):
    actions = AttackerStrategy(name="x", trigger=trigger).expand(3, 10)
    with pytest.raises(NotImplementedError, match=rf"^trigger '{trigger}' has no pixel trigger") as info:
        build_joint_dataset(digits, actions, n_max=10, v_d=0.1)
    assert "\n" not in str(info.value)
    # also when only one attacker of a mixed profile uses it
    mixed = (*AttackerStrategy.independent().expand(2, 10), AttackerAction(index=2, target=1, trigger=trigger))
    with pytest.raises(NotImplementedError, match=trigger):
        build_joint_dataset(digits, mixed, n_max=10, v_d=0.1)


@pytest.mark.parametrize(
    "kwargs,actions,match",
    [
        ({}, (), r"actions=\(\) is out of range: allowed at least one AttackerAction"),
        ({}, (AttackerAction(index=1, target=0),), r"actions\[0\]\.index=1 is out of range: allowed 0 "),
        ({}, (AttackerAction(index=0, target=10),), r"target=10 is out of range: allowed \[0, 9\] \(num_classes=10\)"),
        ({"test_fraction": 1.0}, None, r"test_fraction=1.0 is out of range: allowed \[0, 1\)"),
        ({"seed": -1}, None, r"seed=-1 is out of range: allowed \[0, inf\)"),
        ({"v_d": 1.0}, None, r"v_d=1.0 is out of range: allowed \[0, 1\)"),  # oracle.data.allocation: strategies.validate's wording
        ({"n_max": 1}, None, r"n_attackers=2 is out of range: allowed \[1, 1\]"),
    ],
)
def test_invalid_arguments_name_the_field(digits, kwargs, actions, match):
    if actions is None:
        actions = AttackerStrategy.independent().expand(2, 10)
    args = {"n_max": 10, "v_d": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_joint_dataset(digits, actions, **args)


def test_dataset_is_not_modified(colour):
    before = colour.x_train.copy()
    build_joint_dataset(colour, AttackerStrategy.independent(p=1.0).expand(5, 10), n_max=5, v_d=0.1)
    np.testing.assert_array_equal(colour.x_train, before)


def test_uses_an_allocation_equal_to_allocate(digits):
    ds = digits
    jd = build_joint_dataset(ds, AttackerStrategy.independent().expand(4, 10), n_max=8, v_d=0.3, seed=11)
    _, y = ds.whole()
    ref = allocate(y.size, y, 4, 8, 0.3, seed=11)
    for name in ("defender_train", "defender_val", "train_time", "run_time", "defender_share"):
        np.testing.assert_array_equal(getattr(jd.allocation, name), getattr(ref, name))
