"""Lottery tickets (E6): iterative magnitude pruning and per-layer cosine distances."""

import numpy as np
import pytest
import torch

from oracle.data.datasets import load_dataset
from oracle.victims.models import build_model
from oracle.victims.pruning import (
    apply_masks,
    cosine_distance,
    distance_matrices,
    effective_parameters,
    iterative_magnitude_pruning,
    masks_of,
    prunable,
    fraction_schedule,
    kept_count,
    prune_layerwise,
)


@pytest.fixture(scope="module")
def tiny_digits_split():
    ds = load_dataset("digits")
    return ds.x_train[:800], ds.y_train[:800], ds.x_test[:200], ds.y_test[:200]


def test_cosine_distance_by_hand():
    assert cosine_distance([1.0, 0.0], [0.0, 2.0]) == pytest.approx(1.0)
    assert cosine_distance([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(2.0)
    assert cosine_distance([3.0, 4.0], [6.0, 8.0]) == pytest.approx(0.0, abs=1e-12)
    assert cosine_distance([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert cosine_distance([0.0, 0.0], [1.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        cosine_distance([1.0], [1.0, 2.0])


def test_distance_of_a_network_to_itself_is_zero():
    a = effective_parameters(build_model("smallcnn", 1, 10, 8, seed=0))
    b = effective_parameters(build_model("smallcnn", 1, 10, 8, seed=1))
    d = distance_matrices([a, b, a])
    assert set(d) == {name for name, _m, _p in prunable(build_model("smallcnn", 1, 10, 8, seed=0))}
    for m in d.values():
        assert np.allclose(np.diag(m), 0.0, atol=1e-12)
        assert m[0, 2] == pytest.approx(0.0, abs=1e-12)
        assert np.allclose(m, m.T)
    # two independent initialisations are far apart (near-orthogonal conv weights)
    assert d["conv2.weight"][0, 1] > 0.5


def test_fraction_schedule_is_geometric_and_hits_the_target():
    s = fraction_schedule(0.008, 5)
    assert s[-1] == pytest.approx(0.008)
    assert all(a / b == pytest.approx(s[0]) for a, b in zip(s[1:], s))
    assert sum(kept_count(n, 0.008) for n in (15722,)) == 126  # the paper's ticket size, as one tensor
    with pytest.raises(ValueError, match=r"target=1.5 is out of range: allowed \(0, 1\)"):
        fraction_schedule(1.5, 3)
    with pytest.raises(ValueError, match=r"rounds=0 is out of range: allowed \[1, inf\)"):
        fraction_schedule(0.5, 0)


def test_prune_layerwise_keeps_each_layers_largest_magnitudes():
    model = build_model("smallcnn", 1, 10, 8, seed=0)
    before = effective_parameters(model)
    prune_layerwise(model, 0.1)
    masks = masks_of(model)
    for name, mask in masks.items():
        k = kept_count(mask.numel(), 0.1)
        assert int(mask.sum()) == k
        kept = before[name].abs().ravel()[mask.ravel() > 0]
        assert kept.min() >= before[name].abs().ravel().sort(descending=True).values[k - 1] - 1e-7
    # a second round prunes only among the survivors; masks re-apply to a fresh model
    prune_layerwise(model, 0.02)
    fresh = build_model("smallcnn", 1, 10, 8, seed=0)
    apply_masks(fresh, masks_of(model))
    assert masks_of(fresh)["conv2.weight"].sum() == kept_count(16 * 32 * 9, 0.02)
    assert torch.equal(masks_of(fresh)["conv2.weight"], masks_of(model)["conv2.weight"])
    assert (masks_of(model)["conv2.weight"] <= masks["conv2.weight"]).all()
    with pytest.raises(ValueError, match="fewer than"):
        prune_layerwise(model, 0.5)
    with pytest.raises(ValueError, match=r"fraction=0.0 is out of range: allowed \(0, 1\]"):
        prune_layerwise(model, 0.0)


@pytest.mark.slow
def test_imp_reaches_the_requested_sparsity_and_rewinds(tiny_digits_split):
    from oracle.victims.train import train_victim

    xtr, ytr, xva, yva = tiny_digits_split
    init = build_model("smallcnn", 1, 10, 8, seed=3407).state_dict()

    def train(init_model):
        return train_victim("smallcnn", xtr, ytr, xva, yva, num_classes=10, dataset="digits", preset="tiny",
                            seed=3407, init_model=init_model)

    t = iterative_magnitude_pruning(train, init, target=0.03, rounds=2)
    assert {k: int(m.sum()) for k, m in t.mask.items()} == {k: kept_count(m.numel(), 0.03) for k, m in t.mask.items()}
    assert t.sparsity == pytest.approx(0.97, abs=0.01)
    assert t.rounds[0]["survivors"] == t.total and t.rounds[-1]["survivors"] == t.survivors
    assert len(t.rounds) == 3
    for name, mask in t.mask.items():
        assert torch.all(t.ticket[name][mask == 0] == 0)
    # the dense network trained away from its initialisation, and learnt something
    assert cosine_distance(t.full["conv2.weight"], t.init["conv2.weight"]) > 0.01
    assert t.rounds[0]["val_acc"] > 0.5


def test_kept_count_rounds_halves_up_and_e6_keys_name_the_rule_only_when_it_matters():
    from oracle.victims.pruning import half_up_changes

    assert kept_count(5, 0.5) == 3 and kept_count(7, 0.5) == 4 and kept_count(10, 0.25) == 3  # banker's: 2, 4, 2
    model = build_model("smallcnn", 1, 10, 8, seed=0)
    assert not half_up_changes(model, 0.008, 4)  # e6's defaults: no tie, its cached tickets keep their keys
    assert half_up_changes(model, 0.25, 2)  # 0.25 of the 10 output biases is a tie
