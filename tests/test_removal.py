"""Removal defenses (oracle/defenses/): spectral signatures and activation clustering.

1. Synthetic representations with a known answer, and the scoring hand-checked.
2. Real: the 8×8 digits poisoned by one BadNet attacker, LeNet trained on them; both
   filters flag most of the target class's poisoned inputs.
3. ART agreement: ART's SpectralSignatureDefense and ActivationDefence fed the same
   representations flag the same inputs where they compute the same thing.

Figures quoted in comments were measured on CPU with these seeds (LeNet, ``tiny`` preset
at lr 0.05); training seeds 0-4 are quoted to show the spread, the tests use 3407.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from oracle.data.allocation import DEFENDER
from oracle.defenses.activation_clustering import activation_clustering, activation_clustering_from_params
from oracle.defenses.filter_report import ClusterClassDetail, FilterReport, SpectralClassDetail
from oracle.defenses.removal import filter_from_params
from oracle.defenses.spectral_signatures import spectral_scores, spectral_signatures, spectral_signatures_from_params
from strategies import DefenderStrategy

# --------------------------------------------------------------------------
# synthetic representations


def _shifted(n_per=150, n_classes=3, dim=16, n_poison=30, shift=8.0, target=1, seed=0):
    """Gaussian classes (unit variance); in class ``target`` the first ``n_poison`` rows
    are moved by ``shift`` along one unit direction (the backdoor's feature)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per)
    x = rng.normal(size=(y.size, dim)) + 3.0 * rng.normal(size=(n_classes, dim))[y]
    u = rng.normal(size=dim)
    u /= np.linalg.norm(u)
    poisoned = np.zeros(y.size, dtype=bool)
    poisoned[np.flatnonzero(y == target)[:n_poison]] = True
    x[poisoned] += shift * u
    owner = np.where(poisoned, 0, DEFENDER)
    return x.astype(np.float32), y, poisoned, owner


def test_score_is_hand_checked():
    #            0   1  2  3   4   5   6  7   8   9
    owner = np.array([-1, 0, 0, 1, -1, -1, -2, 1, -1, 0])
    poisoned = np.array([0, 1, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    report = FilterReport("spectral-signatures", 10, np.array([1, 2, 5, 9]), classes=())
    s = report.score(poisoned, owner, n_attackers=3)
    # TP = {1, 2}, FP = {5, 9}, FN = {3, 7}
    assert (s["true_positives"], s["false_positives"], s["false_negatives"]) == (2, 2, 2)
    assert s["precision"] == 2 / 4 and s["recall"] == 2 / 4 and s["f1"] == 2 * 2 / (4 + 2 + 2)
    assert s["poisoned_per_attacker"] == [2, 2, 0]
    assert s["flagged_poisoned_per_attacker"] == [2, 0, 0]
    assert s["flagged_per_attacker"] == [3, 0, 0]  # 9 is attacker 0's clean train-time input
    assert s["recall_per_attacker"] == [1.0, 0.0, None]
    assert s["n_flagged_defender"] == 1  # 5
    json.dumps(s)
    # without owners: overall figures only; undefined ratios are None, not NaN
    assert "recall_per_attacker" not in report.score(poisoned)
    empty = FilterReport("spectral-signatures", 10, np.zeros(0, int), classes=()).score(poisoned)
    assert empty["precision"] is None and empty["recall"] == 0.0 and empty["f1"] == 0.0
    none = report.score(np.zeros(10, dtype=bool))
    assert none["recall"] is None and none["precision"] == 0.0 and none["f1"] == 0.0
    assert report.mask.tolist() == [i in (1, 2, 5, 9) for i in range(10)]
    assert report.kept.tolist() == [0, 3, 4, 6, 7, 8]
    with pytest.raises(ValueError, match="poisoned"):
        report.score(poisoned.astype(int))
    with pytest.raises(ValueError, match="n_attackers"):
        report.score(poisoned, owner, n_attackers=1)  # attacker 1 exists
    with pytest.raises(ValueError, match="sorted unique"):
        FilterReport("spectral-signatures", 10, np.array([2, 1]), classes=())


def test_spectral_scores_follow_algorithm_1():
    # one class on a line: mean 3, top direction e_x; centred scores (r - 3)^2
    r = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [6.0, 1.0]])
    tau, sigma = spectral_scores(r)
    np.testing.assert_allclose(tau, [9, 1, 1, 9], atol=1e-12)
    assert sigma == pytest.approx(math.sqrt(9 + 1 + 1 + 9))
    # uncentred (the authors' code, ART): (r . v)^2 with the same v
    np.testing.assert_allclose(spectral_scores(r, centred=False)[0], [0, 4, 16, 36], atol=1e-12)
    # v is the top eigenvector of the covariance
    x = np.random.default_rng(1).normal(size=(50, 6)) * np.arange(1, 7)
    w, vecs = np.linalg.eigh(np.cov(x.T))
    np.testing.assert_allclose(spectral_scores(x)[0], ((x - x.mean(0)) @ vecs[:, -1]) ** 2, rtol=1e-9)


def test_spectral_signatures_flag_the_shifted_inputs():
    x, y, poisoned, owner = _shifted()
    report = spectral_signatures(x, y, n_remove_per_class=45)  # 1.5 x the 30 poisoned (Tran et al.)
    s = report.score(poisoned, owner)
    # k per class in every class: 3 x 45 flagged, all 30 poisoned among them
    assert report.n_flagged == 135 and s["true_positives"] == 30
    assert s["recall"] == 1.0 and s["precision"] == pytest.approx(30 / 135)
    assert s["recall_per_attacker"] == [1.0]
    # the poisoned inputs hold the 30 largest scores of their class
    c1 = np.flatnonzero(y == 1)
    assert set(c1[np.argsort(-report.scores[c1])[:30]]) == set(np.flatnonzero(poisoned))
    assert [c.n_flagged for c in report.classes] == [45, 45, 45]
    # a class-size rule; sizes above the class are capped; empty classes are reported
    r = spectral_signatures(x, y, n_remove_per_class=lambda n: n // 5, num_classes=5)
    assert [c.n_flagged for c in r.classes] == [30, 30, 30, 0, 0] and r.score(poisoned)["recall"] == 1.0
    assert r.classes[3] == SpectralClassDetail(3, 0, 0, None, None, None)
    assert spectral_signatures(x, y, n_remove_per_class=10_000).n_flagged == y.size
    assert spectral_signatures(x, y, n_remove_per_class=0).n_flagged == 0


@pytest.mark.slow
def test_activation_clustering_isolates_the_shifted_inputs():
    x, y, poisoned, owner = _shifted()
    report = activation_clustering(x, y)
    s = report.score(poisoned, owner)
    # measured: exactly the 30 shifted rows; the clean classes split about evenly and are kept
    assert s["recall"] == 1.0 and s["precision"] == 1.0
    c = report.classes[1]
    assert c.decision == "flagged" and c.cluster_sizes[c.suspect] == 30
    assert c.relative_sizes[c.suspect] == pytest.approx(0.2) and c.n_components == 10
    assert c.silhouette is not None and c.silhouette > max(k.silhouette for k in report.classes if k.label != 1)
    for k in (0, 2):
        assert report.classes[k].decision == "kept" and min(report.classes[k].relative_sizes) >= 0.35
    # per-input cluster ids, and the same result for the same seed
    assert report.clusters.shape == y.shape and set(np.unique(report.clusters)) == {0, 1}
    again = activation_clustering(x, y)
    np.testing.assert_array_equal(again.flagged, report.flagged)
    # "smaller" (ART): max_relative_size = 1 flags the smaller cluster of every class
    smaller = activation_clustering(x, y, max_relative_size=1.0)
    assert all(k.decision == "flagged" for k in smaller.classes)
    assert smaller.n_flagged == sum(min(k.cluster_sizes) for k in smaller.classes)


@pytest.mark.slow
def test_exclusionary_reclassification_applies_chen_et_al_rule():
    x, y, poisoned, owner = _shifted()
    calls = []

    def reclassify(mask):
        """A stand-in for retraining: the shifted rows 'look like' class 0 except 2 of
        them; every other suspect input is predicted as its own class."""
        calls.append(mask.copy())
        pred = y[mask].copy()
        rows = np.flatnonzero(mask)
        pred[poisoned[rows]] = 0
        pred[np.flatnonzero(poisoned[rows])[:2]] = 1
        return pred

    report = activation_clustering(x, y, reclassify=reclassify)
    assert len(calls) == 1  # one retraining for all suspect clusters
    suspects = np.zeros(y.size, dtype=bool)
    for c in report.classes:
        suspects |= (y == c.label) & (report.clusters == c.suspect)
    np.testing.assert_array_equal(calls[0], suspects)
    c1 = report.classes[1]
    # l = 2 predicted as 1, p = 28 as class 0: 2/28 <= T = 1, confirmed poisoned
    assert (c1.reclass_l, c1.reclass_p, c1.reclass_source, c1.decision) == (2, 28, 0, "flagged")
    assert c1.rule == "exclusionary-reclassification" and c1.reclass_ratio == pytest.approx(2 / 28)
    for c in (report.classes[0], report.classes[2]):  # all predicted as their own class: p = 0, legitimate
        assert c.decision == "kept" and c.reclass_p == 0 and c.reclass_source is None and c.reclass_ratio == math.inf
    assert report.score(poisoned)["precision"] == 1.0 and report.score(poisoned)["recall"] == 1.0

    # l/p = T exactly is not "> T": still poisoned; just above the ratio, legitimate
    def half(mask):
        pred = y[mask].copy()
        hit = np.flatnonzero(poisoned[np.flatnonzero(mask)])
        pred[hit[: hit.size // 2]] = 2
        return pred

    assert activation_clustering(x, y, reclassify=half, threshold=1.0).classes[1].decision == "flagged"
    assert activation_clustering(x, y, reclassify=half, threshold=0.99).classes[1].decision == "kept"
    with pytest.raises(ValueError, match="reclassify returned"):
        activation_clustering(x, y, reclassify=lambda m: np.zeros(3, int))
    with pytest.raises(ValueError, match=r"^reclassify's labels\[0\]=7 is out of range: allowed \[0, \d\]$"):
        activation_clustering(x, y, reclassify=lambda m: np.full(int(m.sum()), 7))


def test_activation_clustering_handles_small_and_degenerate_classes():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 8))
    y = np.zeros(40, dtype=int)
    y[30:35] = 1  # 5 inputs: rank 4 < n_components 10
    y[35:39] = 2
    x[35:39] = 1.0  # all equal: nothing to split
    y[39] = 3  # fewer inputs than clusters
    x[y == 0, 0] = 0.0  # a dead first unit (scikit-learn's FastICA sign fix breaks on it)
    report = activation_clustering(x, y)
    c0, c1, c2, c3 = report.classes
    assert c0.suspect is not None and c0.n_components == 7  # 8 features, one constant
    assert c1.suspect is not None and c1.n_components == 4 and sum(c1.cluster_sizes) == 5
    assert (c2.decision, c2.n_components, c2.suspect, c2.n_flagged) == ("not-clustered", 0, None, 0)
    assert (c3.decision, c3.size) == ("not-clustered", 1)
    assert np.all(report.clusters[35:] == -1)
    # two distinct inputs, three clusters: k-means leaves one empty; the suspect is a real one
    two = np.repeat([[0.0, 1.0], [1.0, 0.0]], 3, axis=0)
    r = activation_clustering(two, np.zeros(6, dtype=int), n_clusters=3, max_relative_size=1.0)
    assert sorted(r.classes[0].cluster_sizes) == [0, 3, 3] and r.n_flagged == 3


def test_parameters_are_checked_up_front():
    x, y, _, _ = _shifted(n_per=20)
    for kwargs, field in [
        (dict(features=x[:, 0]), "features"),
        (dict(features=np.zeros((60, 0))), "features"),
        (dict(features=np.where(np.arange(16) == 3, np.nan, x)), "features"),
        (dict(labels=y[:-1]), "labels"),
        (dict(labels=y.astype(float)), "labels"),
        (dict(labels=y - 1), "labels"),
        (dict(num_classes=2), "num_classes"),
    ]:
        args = dict(features=x, labels=y) | kwargs
        with pytest.raises(ValueError, match=field):
            spectral_signatures(args["features"], args["labels"], n_remove_per_class=1,
                                num_classes=args.get("num_classes"))  # fmt: skip
        with pytest.raises(ValueError, match=field):
            activation_clustering(args["features"], args["labels"], num_classes=args.get("num_classes"))
    for k in (-1, 1.5, True):
        with pytest.raises(ValueError, match=r"n_remove_per_class=.*allowed \[0, inf\)"):
            spectral_signatures(x, y, n_remove_per_class=k)
    with pytest.raises(ValueError, match="n_remove_per_class.*class 0"):
        spectral_signatures(x, y, n_remove_per_class=lambda n: -1)
    with pytest.raises(ValueError, match="centred='yes' is not a boolean: allowed true, false"):
        spectral_signatures(x, y, n_remove_per_class=1, centred="yes")
    for kwargs, message in [
        (dict(n_components=0), r"n_components=0 is out of range: allowed \[1, inf\)"),
        (dict(n_clusters=1), r"n_clusters=1 is out of range: allowed \[2, inf\)"),
        (dict(seed=-1), r"seed=-1 is out of range"),
        (dict(threshold=0.0), r"threshold=0.0 is out of range: allowed \(0, inf\)"),
        (dict(max_relative_size=0), r"max_relative_size=0 is out of range: allowed \(0, 1\]"),
        (dict(max_relative_size=1.5), r"max_relative_size=1.5 is out of range"),
        (dict(reclassify="retrain"), "reclassify='retrain' is not callable"),
    ]:
        with pytest.raises(ValueError, match=message):
            activation_clustering(x, y, **kwargs)


def test_defender_params_drive_the_filters():
    x, y, poisoned, _ = _shifted()
    params = DefenderStrategy("lenet", "spectral-signatures").params_map
    # the paper's rule: top 5 per class per attacker
    r = spectral_signatures_from_params(x, y, params, n_attackers=2)
    assert [c.n_flagged for c in r.classes] == [10, 10, 10]
    assert r.params_map["k_per_class"] == 5 and r.params_map["n_attackers"] == 2
    assert r.score(poisoned)["precision"] == pytest.approx(10 / 30)  # class 1's top 10 are all shifted
    fixed = spectral_signatures_from_params(x, y, {"removal": "fixed", "k_per_class": 7}, n_attackers=100)
    assert fixed.n_flagged == 21
    frac = filter_from_params("spectral-signatures", {"removal": "fraction", "remove_fraction": 0.3}, x, y,
                              n_attackers=1)  # fmt: skip
    assert frac.n_flagged == 3 * 45
    with pytest.raises(ValueError, match="unknown parameter"):
        spectral_signatures_from_params(x, y, {"k": 5}, n_attackers=1)
    with pytest.raises(ValueError, match="n_attackers"):
        spectral_signatures_from_params(x, y, params, n_attackers=0)
    ac = activation_clustering_from_params(x, y, {"n_components": 4})
    assert ac.params_map["n_components"] == 4 and ac.classes[1].n_components == 4
    ac = filter_from_params("activation-clustering", {}, x, y, n_attackers=1)
    assert ac.method == "activation-clustering" and ac.score(poisoned)["recall"] == 1.0
    with pytest.raises(ValueError, match="unknown removal defense 'cutmix'"):
        filter_from_params("cutmix", {}, x, y, n_attackers=1)


def test_reports_round_trip_through_json():
    x, y, poisoned, _ = _shifted(n_per=40, n_poison=8)
    for report in (
        spectral_signatures(x, y, n_remove_per_class=12),
        activation_clustering(x, y, reclassify=lambda m: y[m]),
    ):
        for per_input in (False, True):
            d = json.loads(json.dumps(report.to_dict(per_input=per_input)))
            back = FilterReport.from_dict(d)
            np.testing.assert_array_equal(back.flagged, report.flagged)
            assert back.classes == report.classes and back.params == report.params
            assert back.score(poisoned) == report.score(poisoned)
            if per_input:
                for name in ("scores", "clusters"):
                    a, b = getattr(report, name), getattr(back, name)
                    assert (a is None and b is None) or np.array_equal(a, b)
    assert isinstance(report.classes[0], ClusterClassDetail)


# --------------------------------------------------------------------------
# real: the 8x8 digits, one BadNet attacker, LeNet


TARGET = 0


def _train(x, y, seed=3407):
    from oracle.victims.presets import get_preset
    from oracle.victims.train import train_victim

    return train_victim("lenet", x, y, None, None, num_classes=10, dataset="digits",
                        preset=get_preset("tiny", lr=0.05), device="cpu", seed=seed).model  # fmt: skip


@pytest.fixture(scope="module")
def joint():
    """One attacker (Patch-BadNet 2x2, eps 0.05, p 0.1, target 0) on the digits, V_d 0.5:
    1293 training inputs, 63 poisoned, in a target class of 184. LeNet learns the
    backdoor (attack success 0.99 on the run-time inputs)."""
    from oracle.data.datasets import load_dataset
    from oracle.data.poison import build_joint_dataset
    from oracle.victims.train import features, predict
    from strategies import AttackerAction

    j = build_joint_dataset(load_dataset("digits"),
                            [AttackerAction(index=0, target=TARGET, eps=0.05, p=0.1, trigger="patch-badnet")],
                            n_max=1, v_d=0.5)  # fmt: skip
    model = _train(j.x_train, j.y_train)
    asr = float(np.mean(predict(model, j.runtime_x, dataset="digits") == j.runtime_target))
    feats = features(model, j.x_train, dataset="digits").astype(np.float64)
    return dict(x=feats, y=np.asarray(j.y_train), poisoned=np.asarray(j.poisoned_train),
                owner=np.asarray(j.owner_train), asr=asr)  # fmt: skip


@pytest.mark.slow
def test_spectral_signatures_on_poisoned_digits(joint):
    x, y, poisoned, owner = joint["x"], joint["y"], joint["poisoned"], joint["owner"]
    assert joint["asr"] >= 0.9 and poisoned.sum() == 63 and set(y[poisoned]) == {TARGET}
    k = round(1.5 * poisoned.sum())
    report = spectral_signatures(x, y, n_remove_per_class=k)
    s = report.score(poisoned, owner)
    # measured: recall 0.89 (training seeds 0-4: 0.84-0.94)
    assert s["recall"] >= 0.8 and s["recall_per_attacker"] == [s["recall"]]
    in_target = report.flagged[y[report.flagged] == TARGET]
    # measured: 56 of the 95 flagged in the target class are poisoned (at most 63 can be)
    assert poisoned[in_target].mean() >= 0.5
    # the paper's N = 1 rule (top 5 per class): the 5 in the target class are all poisoned
    # (measured in all 6 training seeds), the 45 elsewhere are clean by construction
    paper = spectral_signatures_from_params(x, y, DefenderStrategy("lenet", "spectral-signatures").params_map,
                                            n_attackers=1)  # fmt: skip
    assert paper.n_flagged == 50 and paper.score(poisoned)["true_positives"] == 5


@pytest.mark.slow
def test_activation_clustering_on_poisoned_digits(joint):
    x, y, poisoned, owner = joint["x"], joint["y"], joint["poisoned"], joint["owner"]
    # Three ICA components: on these classes of ~130-180 inputs the paper's 10 whitened
    # components let k-means split off a few heavy-tailed inputs instead of the poison
    # (measured, suspect cluster of the target class: 9-56 of the 63 over training seeds),
    # while 3 find 56-63 in every seed and 63 of 63 here.
    report = activation_clustering(x, y, n_components=3)
    s = report.score(poisoned, owner)
    c = report.classes[TARGET]
    suspect = (y == TARGET) & (report.clusters == c.suspect)
    assert c.decision == "flagged" and poisoned[suspect].mean() >= 0.95
    assert s["recall"] >= 0.8  # measured 1.00 (seeds 0-4: 0.89-1.00)
    # relative size < 0.35 also flags the uneven split of some clean classes:
    # measured precision 0.43 (seeds 0-4: 0.24-0.53)
    assert s["precision"] >= 0.2


@pytest.mark.slow
def test_exclusionary_reclassification_retrains_on_digits():
    """Chen et al.'s setting: poison from one source class (digits 1 stamped and relabelled
    0). A LeNet retrained without the suspect clusters calls the poisoned cluster 1s, so
    l/p is about 0 and it is confirmed; clean classes' suspect clusters stay."""
    from oracle.data.datasets import load_dataset
    from oracle.victims.train import features, predict
    from strategies import apply_triggers, patch_badnet

    ds = load_dataset("digits")
    x, y = ds.x_train.copy(), ds.y_train.copy()
    chosen = np.sort(np.random.default_rng(3407).choice(np.flatnonzero(y == 1), 40, replace=False))
    x[chosen] = apply_triggers(x[chosen], np.zeros(40, dtype=int), patch_badnet([0], 0.05, x.shape[1:]))
    y[chosen] = TARGET
    poisoned = np.isin(np.arange(y.size), chosen)
    feats = features(_train(x, y), x, dataset="digits")
    calls = []

    def reclassify(mask):
        calls.append(int(mask.sum()))
        return predict(_train(x[~mask], y[~mask]), x[mask], dataset="digits")

    report = activation_clustering(feats, y, n_components=3, reclassify=reclassify)
    s = report.score(poisoned)
    c = report.classes[TARGET]
    assert len(calls) == 1
    assert c.decision == "flagged" and c.reclass_source == 1 and c.reclass_ratio <= 0.1  # measured 0/36
    assert s["recall"] >= 0.9  # measured 1.00 (training seeds 0-3 too)
    # measured 0.69: class 1's own suspect cluster, retrained without, is called something else
    # (seeds 0-3: precision 0.67-1.00)
    assert s["precision"] >= 0.6


# --------------------------------------------------------------------------
# ART agreement


class _FeatureClassifier:
    """The least of an ART classifier that its poison filters use: ``x_train`` is a column
    of row indices and the "last layer's activations" are our representations."""

    def __init__(self, feats, nb_classes):
        self.feats, self.nb_classes = feats, nb_classes
        self.layer_names = ["features"]

    def get_activations(self, x, layer, batch_size=128):
        return self.feats[np.asarray(x)[:, 0].astype(np.int64)]


def _jaccard(a, b):
    a, b = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    return len(a & b) / max(len(a | b), 1)


@pytest.mark.slow
def test_spectral_signatures_agree_with_art(joint):
    pytest.importorskip("art")
    from art.defences.detector.poison import SpectralSignatureDefense

    x, y = joint["x"], joint["y"]
    rows = np.arange(y.size)[:, None]
    for fraction in (0.1, 0.3):
        art = SpectralSignatureDefense(_FeatureClassifier(x, 10), rows, y, expected_pp_poison=fraction / 1.5,
                                       eps_multiplier=1.5)  # fmt: skip
        _, is_clean = art.detect_poison()
        art_flagged = np.flatnonzero(np.asarray(is_clean) == 0)

        # ART removes the inputs at or above the (1 - eps_multiplier * expected_pp_poison)
        # quantile of each class (linear interpolation): n - ceil(q (n - 1)) of n.
        def art_count(n, q=1 - fraction):
            return n - math.ceil(q * (n - 1))

        # ART, like the authors' released code, projects the *uncentred* representations on
        # the top singular vector of the centred ones: with centred=False, the same inputs.
        same = spectral_signatures(x, y, n_remove_per_class=art_count, centred=False)
        np.testing.assert_array_equal(same.flagged, art_flagged)

        # Algorithm 1 as published (our default) scores centred representations. In the
        # target class, where the poison dominates the top direction, the top 10% agree
        # (measured Jaccard 1.00); at 30% (past the 34% poisoned) they part (measured 0.72),
        # and in the clean classes, whose mean projects far from 0 on v, the uncentred score
        # ranks by one tail only: overall Jaccard measured 0.41 and 0.49.
        ours = spectral_signatures(x, y, n_remove_per_class=art_count)
        assert ours.n_flagged == art_flagged.size
        if fraction == 0.1:
            t = y == TARGET
            assert _jaccard(ours.flagged[t[ours.flagged]], art_flagged[t[art_flagged]]) == 1.0
        assert _jaccard(ours.flagged, art_flagged) < 0.6


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:FastICA did not converge")
def test_activation_clustering_agrees_with_art(joint, monkeypatch):
    pytest.importorskip("art")
    import sklearn.decomposition
    from art.defences.detector.poison import ActivationDefence
    from art.defences.detector.poison import activation_defence as art_ac

    x, y = joint["x"], joint["y"]
    # ART draws FastICA and k-means from numpy's global state and runs k-means once
    # (scikit-learn's n_init="auto" with k-means++): unseeded ART on these features flags
    # target-class suspect clusters holding 10%-65% of the poison depending on the draw
    # (measured with numpy seeds 3407-3409). Given our seed and our 10 k-means restarts,
    # it computes exactly what we do: ICA to 10 components, 2-means per class, the smaller
    # cluster suspect (cluster_analysis="smaller", our max_relative_size=1). Features are
    # float64 (ART would run FastICA in float32 on float32 input). ART's relative-size
    # analysis is not compared: it raises on these clusters in ART 1.20.1 ("truth value
    # of an empty array"); nor is its exclusionary reclassification, which needs a
    # refittable ART classifier.
    monkeypatch.setattr(art_ac, "KMeans", functools.partial(art_ac.KMeans, n_init=10, random_state=3407))
    monkeypatch.setattr(sklearn.decomposition, "FastICA",
                        functools.partial(sklearn.decomposition.FastICA, random_state=3407))  # fmt: skip
    art = ActivationDefence(_FeatureClassifier(x, 10), np.arange(y.size)[:, None], y)
    _, is_clean = art.detect_poison(nb_clusters=2, nb_dims=10, reduce="FastICA", cluster_analysis="smaller")
    art_flagged = np.flatnonzero(np.asarray(is_clean) == 0)
    ours = activation_clustering(x, y, n_components=10, n_clusters=2, seed=3407, max_relative_size=1.0)
    np.testing.assert_array_equal(ours.flagged, art_flagged)
    assert ours.n_flagged == sum(min(c.cluster_sizes) for c in ours.classes)
