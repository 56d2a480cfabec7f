"""Per-attacker metrics on hand-built predictions and on a hand-built model."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.store import outcome
from oracle.victims.metrics import METRIC_NAMES, accuracy, attacker_metrics, collective, defender_payoff


def test_hand_computed_metrics():
    # attacker 0: 4 inputs, target 3; attacker 1: 2 inputs, target 7;
    # attacker 2: no run-time inputs; attacker 3: 3 inputs, target 0
    owner = np.array([0, 0, 0, 0, 1, 1, 3, 3, 3])
    target = np.array([3, 3, 3, 3, 7, 7, 0, 0, 0])
    y = np.array([3, 1, 2, 5, 7, 7, 0, 4, 4])  # inputs 0, 4, 5, 6 already carry their target
    pred_t = np.array([3, 3, 2, 9, 7, 1, 0, 0, 4])  # triggered predictions
    pred_c = np.array([3, 1, 0, 5, 7, 7, 0, 4, 1])  # clean predictions
    m = attacker_metrics(pred_t, pred_c, y, target, owner, 4)
    assert set(m) == set(METRIC_NAMES)
    nan = np.nan
    # ① hits (pred_t == target): a0 inputs 0, 1 | a1 input 4 | a3 inputs 6, 7
    np.testing.assert_allclose(m["asr"], [2 / 4, 1 / 2, nan, 2 / 3])
    # ① excluding inputs whose clean label is the target: a0 {1, 2, 3} → 1 hit; a1 none left; a3 {7, 8} → 1 hit
    np.testing.assert_allclose(m["asr_excluding_target"], [1 / 3, nan, nan, 1 / 2])
    # ② pred_t == y: a0 inputs 0, 2 | a1 input 4 | a3 inputs 6, 8
    np.testing.assert_allclose(m["clean_label_acc"], [2 / 4, 1 / 2, nan, 2 / 3])
    # ③ pred_c == y: a0 inputs 0, 1, 3 | a1 both | a3 inputs 6, 7
    np.testing.assert_allclose(m["clean_acc"], [3 / 4, 1.0, nan, 2 / 3])
    for key in METRIC_NAMES:
        assert m[key].shape == (4,) and m[key].dtype == np.float64


def test_no_inputs_at_all_gives_nan_everywhere():
    empty = np.zeros(0, dtype=np.int64)
    m = attacker_metrics(empty, empty, empty, empty, empty, 3)
    for key in METRIC_NAMES:
        assert m[key].shape == (3,) and np.isnan(m[key]).all()


def test_matches_a_naive_loop_on_many_attackers():
    rng = np.random.default_rng(0)
    n_att, n = 1000, 20000
    owner = rng.integers(0, n_att, n)
    targets = rng.integers(0, 10, n_att)
    y = rng.integers(0, 10, n)
    pt = np.where(rng.random(n) < 0.3, targets[owner], rng.integers(0, 10, n))
    pc = np.where(rng.random(n) < 0.8, y, rng.integers(0, 10, n))
    m = attacker_metrics(pt, pc, y, targets[owner], owner, n_att + 5)  # 5 attackers without inputs
    for i in range(n_att):
        k = owner == i
        t = targets[i]
        assert m["asr"][i] == pytest.approx(np.mean(pt[k] == t))
        assert m["clean_label_acc"][i] == pytest.approx(np.mean(pt[k] == y[k]))
        assert m["clean_acc"][i] == pytest.approx(np.mean(pc[k] == y[k]))
        ex = k & (y != t)
        assert m["asr_excluding_target"][i] == pytest.approx(np.mean(pt[ex] == t))
    assert np.isnan(m["asr"][n_att:]).all()


def test_validation():
    with pytest.raises(ValueError, match="pred_triggered has 2 entries; allowed: 1"):
        attacker_metrics([1, 2], [1, 2], [1, 2], [1, 2], [0], 1)
    with pytest.raises(ValueError, match=r"owner=1 is out of range: allowed \[0, 0\] \(n_attackers=1\)"):
        attacker_metrics([1], [1], [1], [1], [1], 1)
    with pytest.raises(ValueError, match=r"owner=-1 is out of range: allowed \[0, 1\]"):
        attacker_metrics([1], [1], [1], [1], [-1], 2)
    with pytest.raises(ValueError, match=r"n_attackers=0 is out of range: allowed \[1, inf\)"):
        attacker_metrics([1], [1], [1], [1], [0], 0)
    with pytest.raises(ValueError, match="y_clean has dtype float64"):
        attacker_metrics([1], [1], [1.5], [1], [0], 1)
    with pytest.raises(ValueError, match="pred_clean has dtype"):
        attacker_metrics([1], [[1]], [1], [1], [0], 1)


def test_accuracy_collective_and_defender_payoff():
    assert accuracy([1, 2, 3], [1, 0, 3]) == pytest.approx(2 / 3)
    assert np.isnan(accuracy([], []))
    with pytest.raises(ValueError, match="pred has 2 entries"):
        accuracy([1, 2], [1, 2, 3])
    assert collective is outcome.collective  # one definition, reused
    assert collective([0.0, 1.0]) == (0.5, 0.5)  # population std (ddof = 0), as the paper's mean ± std
    mean, std = collective([0.2, 0.4, 0.9])
    assert mean == pytest.approx(0.5) and std == pytest.approx(np.sqrt((0.09 + 0.01 + 0.16) / 3))
    assert defender_payoff([0.2, 0.4, 0.9]) == pytest.approx(0.5)
    assert defender_payoff([1.0]) == 0.0


def test_hand_built_model_through_predict():
    """A module whose prediction is a known function of the pixels, run through
    ``oracle.victims.train.predict`` (normalisation included) on hand-made images."""
    torch = pytest.importorskip("torch")
    from oracle.victims.models import normalization
    from oracle.victims.train import predict

    mean, std = normalization("mnist")

    class Corner(torch.nn.Module):
        """Predicts 3 when pixel (0, 0) is white (255), else the label written
        in pixel (1, 1) as label × 10."""

        def forward(self, x):  # x: normalised (B, 1, H, W)
            pixels = torch.round((x * std[0] + mean[0]) * 255)
            white = pixels[:, 0, 0, 0] == 255
            written = torch.div(pixels[:, 0, 1, 1], 10, rounding_mode="floor").long()
            label = torch.where(white, torch.full_like(written, 3), written)
            return torch.nn.functional.one_hot(label, 10).float()

    # attacker 0: target 3, trigger whitens pixel (0, 0) → works (1 of 4 inputs already labelled 3)
    # attacker 1: target 8, trigger whitens pixel (2, 2) → the model ignores it
    # attacker 2: target 7, trigger whitens pixel (0, 0) → the model answers 3, not 7
    y = np.array([0, 1, 3, 5, 2, 8, 4, 3, 6, 9])
    owner = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    targets = np.array([3, 8, 7])
    clean = np.zeros((10, 4, 4, 1), np.uint8)
    clean[:, 1, 1, 0] = y * 10
    triggered = clean.copy()
    triggered[owner == 0, 0, 0, 0] = 255
    triggered[owner == 1, 2, 2, 0] = 255
    triggered[owner == 2, 0, 0, 0] = 255

    model = Corner()
    pt = predict(model, triggered, dataset="mnist", device="cpu")
    pc = predict(model, clean, dataset="mnist", device="cpu")
    np.testing.assert_array_equal(pc, y)
    np.testing.assert_array_equal(pt, [3, 3, 3, 3, 2, 8, 4, 3, 3, 3])
    m = attacker_metrics(pt, pc, y, targets[owner], owner, 3)
    np.testing.assert_allclose(m["asr"], [1.0, 1 / 3, 0.0])  # attacker 1: only its input labelled 8
    np.testing.assert_allclose(m["asr_excluding_target"], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(m["clean_label_acc"], [1 / 4, 1.0, 1 / 3])  # a0: the input labelled 3; a2: likewise
    np.testing.assert_allclose(m["clean_acc"], [1.0, 1.0, 1.0])
    assert collective(m["asr"]) == pytest.approx((4 / 9, np.std([1.0, 1 / 3, 0.0])))
    assert defender_payoff(m["asr"]) == pytest.approx(5 / 9)
