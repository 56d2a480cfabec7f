"""Robust aggregators (oracle.federated.aggregators): hand-computed cases for
every rule, robustness to an outlier, input validation, and agreement with
Flower's reference implementations (flwr, a test-only dependency)."""

import numpy as np
import pytest
import torch

from oracle.federated.aggregators import (
    RULES,
    Aggregate,
    aggregate,
    coordinate_median,
    fedavg,
    krum,
    krum_scores,
    multi_krum,
    norm_clipping,
    rfa,
    trimmed_mean,
    weak_dp,
)
from strategies import AGGREGATORS


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def close(actual: torch.Tensor, expected, atol: float = 1e-12) -> bool:
    expected = expected if isinstance(expected, torch.Tensor) else t(expected)
    return torch.allclose(actual, expected.to(actual.dtype), atol=atol, rtol=0)


# Five clients in the plane; the fifth is far away. Squared distances:
#   a-b 1, a-c 4, a-d 2, a-e 200, b-c 5, b-d 1, b-e 181, c-d 2, c-e 164, d-e 162.
# With f = 1 Krum scores over the n - f - 2 = 2 nearest others:
#   a 1+2 = 3, b 1+1 = 2, c 2+4 = 6, d 1+2 = 3, e 162+164 = 326.
PLANE = [[0, 0], [1, 0], [0, 2], [1, 1], [10, 10]]
PLANE_SCORES = [3, 2, 6, 3, 326]


def test_every_declared_aggregator_is_implemented():
    assert set(RULES) == set(AGGREGATORS)


# --------------------------------------------------------------------------
# hand-computed cases
# --------------------------------------------------------------------------
def test_fedavg_is_the_data_weighted_mean():
    u = t([[0, 0], [2, 4], [4, 0], [-2, 2]])
    assert close(fedavg(u, [1, 1, 1, 1]).update, [1.0, 1.5])
    # (1·(0,0) + 2·(2,4) + 1·(4,0) + 0·(-2,2)) / 4 = (2, 2)
    out = aggregate("fedavg", u, [1, 2, 1, 0])
    assert isinstance(out, Aggregate)
    assert close(out.update, [2.0, 2.0])
    assert out.kept == (0, 1, 2, 3)


def test_norm_clipping_scales_long_updates_to_the_bound():
    # norms 5, 0.5, 2, 1: rows 0 and 2 are clipped to (0.6, 0.8) and (0, -1); a norm equal
    # to the bound is left alone. Mean: ((0.6+0+0+0.6)/4, (0.8+0.5-1+0.8)/4) = (0.3, 0.275).
    u = t([[3, 4], [0, 0.5], [0, -2], [0.6, 0.8]])
    out = aggregate("norm-clipping", u, [5, 5, 5, 5], {"bound": 1.0})
    assert close(out.update, [0.3, 0.275])
    assert out.info["clipped"] == [0, 2]
    assert out.info["norms"] == pytest.approx([5, 0.5, 2, 1])
    # weighted: only row 0 counts -> its clipped update
    assert close(norm_clipping(u, [1, 0, 0, 0], bound=1.0).update, [0.6, 0.8])
    # the default bound (2) leaves rows 1-3 alone (row 2's norm equals it)
    assert aggregate("norm-clipping", u, [1, 1, 1, 1]).info["clipped"] == [0]
    assert close(aggregate("norm-clipping", u, [1, 1, 1, 1]).update, [(1.2 + 0.6) / 4, (1.6 + 0.5 - 2 + 0.8) / 4])


def test_krum_picks_the_least_scored_update_and_never_the_outlier():
    u = t(PLANE)
    assert krum_scores(u, 1).tolist() == pytest.approx(PLANE_SCORES, abs=1e-12)
    out = aggregate("krum", u, [1, 1, 1, 1, 1], {"f": 1})
    assert out.kept == (1,)
    assert close(out.update, [1, 0])
    assert out.info["scores"] == pytest.approx(PLANE_SCORES, abs=1e-12)
    # data counts play no part in Krum, even a huge one on the outlier
    assert krum(u, [1, 1, 1, 1, 1000], f=1).kept == (1,)
    # f = 0: three nearest: a 1+2+4 = 7, b 1+1+5 = 7, c 2+4+5 = 11, d 1+2+2 = 5, e 507 -> d
    assert krum(u, [1] * 5, f=0).kept == (3,)


def test_krum_returns_a_copy():
    u = t(PLANE)
    out = krum(u, [1] * 5, f=1)
    out.update.add_(100)
    assert u[1].tolist() == [1, 0]


def test_multi_krum_averages_the_best_by_data_count():
    u = t(PLANE)
    w = [1, 1, 2, 4, 100]
    # m = n - f = 4 keeps a, b, c, d (the outlier's weight of 100 does not matter):
    # (1·(0,0) + 1·(1,0) + 2·(0,2) + 4·(1,1)) / 8 = (5/8, 1)
    out = aggregate("multi-krum", u, w, {"f": 1})
    assert out.kept == (0, 1, 2, 3)
    assert close(out.update, [0.625, 1.0])
    # m = 2: b (score 2), then a and d tie at 3 and the lower row wins: (1·(0,0) + 1·(1,0)) / 2
    out = multi_krum(u, w, f=1, m=2)
    assert out.kept == (0, 1)
    assert close(out.update, [0.5, 0.0])
    # m = 1 is Krum
    assert close(multi_krum(u, w, f=1, m=1).update, krum(u, w, f=1).update)


def test_rfa_finds_the_weighted_geometric_median():
    # On a line the geometric median is the weighted median: points 0, 1, 10.
    line = t([[0, 0], [1, 0], [10, 0]])
    out = aggregate("rfa", line, [1, 1, 1])
    assert close(out.update, [1, 0], atol=1e-4)
    assert out.info["converged"] and 1 <= out.info["iterations"] < 500
    assert out.info["objective"] == pytest.approx((1 + 0 + 9) / 3, abs=1e-4)
    # a weight above one half on the far point pulls the median onto it
    assert close(rfa(line, [1, 1, 3]).update, [10, 0], atol=1e-4)


def test_rfa_is_the_centre_of_symmetric_points_and_resists_a_far_outlier():
    square = t([[1, 0], [-1, 0], [0, 1], [0, -1]])
    assert close(rfa(square, [1, 1, 1, 1]).update, [0, 0], atol=1e-6)
    with_outlier = torch.cat([square, t([[100, 100]])])
    w = [1, 1, 1, 1, 1]
    median = rfa(with_outlier, w).update
    mean = fedavg(with_outlier, w).update
    assert close(mean, [20, 20])
    assert float(median.norm()) < 0.5  # stays inside the square, where the mean moves 28 away
    # max_iter bounds the work
    capped = rfa(with_outlier, w, max_iter=1)
    assert capped.info["iterations"] == 1 and not capped.info["converged"]


def test_identical_updates_aggregate_to_themselves():
    u = t([[0.5, -1.0]] * 5)
    for name in RULES:
        params = {"noise_std": 0.0} if name == "weak-dp" else None
        assert close(aggregate(name, u, [1, 2, 3, 4, 5], params).update, [0.5, -1.0]), name


def test_coordinate_median_even_and_odd():
    # even m: mean of the two middle values, per coordinate
    u = t([[1, 5], [2, -1], [10, 0], [3, 3]])
    assert close(aggregate("median", u, [1, 1, 1, 1]).update, [2.5, 1.5])
    assert close(coordinate_median(u[:3], [1, 1, 1]).update, [2, 0])
    # unweighted
    assert close(coordinate_median(u[:3], [100, 1, 1]).update, [2, 0])


def test_trimmed_mean_drops_floor_beta_m_at_each_end():
    u = t([[1, -50], [2, 0], [3, 1], [4, 2], [100, 3]])
    out = aggregate("trimmed-mean", u, [1] * 5, {"beta": 0.2})  # b = 1: means of (2,3,4) and (0,1,2)
    assert close(out.update, [3, 1])
    assert out.info["trimmed"] == 1
    assert close(trimmed_mean(u, [1] * 5, beta=0.1).update, [22, -8.8])  # b = 0: the plain mean
    assert close(trimmed_mean(u, [1] * 5, beta=0.45).update, [3, 1])  # b = 2: the median


def test_weak_dp_adds_seeded_gaussian_noise_of_the_given_std():
    p = 200_000
    u = torch.zeros(3, p, dtype=torch.float64)
    u[0, 0] = 8.0  # clipped to the bound 2, then averaged: 2/3 before noise
    gen = torch.Generator().manual_seed(3407)
    out = aggregate("weak-dp", u, [1, 1, 1], {"bound": 2.0, "noise_std": 0.5}, generator=gen)
    noise = out.update.clone()
    noise[0] -= 2 / 3
    # the sample std of 200,000 draws has a standard error of 0.5 / sqrt(400,000) ≈ 0.0008
    assert abs(float(noise.std()) - 0.5) < 0.005
    assert abs(float(noise.mean())) < 0.005
    assert out.info["clipped"] == [0] and out.info["noise_std"] == 0.5
    again = weak_dp(u, [1, 1, 1], bound=2.0, noise_std=0.5, generator=torch.Generator().manual_seed(3407))
    assert torch.equal(again.update, out.update)
    other = weak_dp(u, [1, 1, 1], bound=2.0, noise_std=0.5, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(other.update, out.update)
    # no noise: norm clipping exactly
    quiet = weak_dp(u, [1, 1, 1], bound=2.0, noise_std=0.0)
    assert torch.equal(quiet.update, norm_clipping(u, [1, 1, 1], bound=2.0).update)


def test_weak_dp_needs_a_generator_for_noise():
    with pytest.raises(ValueError, match="needs a seeded torch.Generator"):
        aggregate("weak-dp", torch.zeros(2, 3), [1, 1])


def test_dtype_and_device_follow_the_input():
    u = torch.tensor(PLANE, dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    for name in RULES:
        out = aggregate(name, u, torch.tensor([1, 1, 1, 1, 1]), generator=gen)
        assert out.update.dtype == torch.float32 and out.update.device == u.device, name
        assert out.update.shape == (2,), name


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
def test_unknown_name_is_an_error_naming_the_known_ones():
    known = "known aggregators are fedavg, norm-clipping, krum, multi-krum, rfa, weak-dp, median, trimmed-mean"
    with pytest.raises(ValueError, match=f"unknown aggregator 'fedavgg': {known}"):
        aggregate("fedavgg", t(PLANE), [1] * 5)


def test_unknown_or_bad_parameters_are_errors():
    with pytest.raises(ValueError, match="unknown parameter.*'bound'.*krum"):
        aggregate("krum", t(PLANE), [1] * 5, {"bound": 1.0})
    with pytest.raises(ValueError, match="trimmed-mean.beta=0.5 is out of range"):
        aggregate("trimmed-mean", t(PLANE), [1] * 5, {"beta": 0.5})
    with pytest.raises(ValueError, match="norm-clipping.bound"):
        norm_clipping(t(PLANE), [1] * 5, bound=-1.0)


@pytest.mark.parametrize(
    "updates, weights, message",
    [
        (torch.zeros(4), [1] * 4, r"shape \(4,\); allowed: 2-D"),
        (torch.zeros(2, 3, 4), [1, 1], r"shape \(2, 3, 4\); allowed: 2-D"),
        (torch.zeros(0, 3), [], "m >= 1"),
        (np.zeros((2, 3)), [1, 1], "updates is a ndarray"),
        (torch.zeros(2, 3, dtype=torch.int64), [1, 1], "floating-point"),
        (torch.tensor([[0.0, 1.0], [float("nan"), 0.0]]), [1, 1], r"rows \[1\] contain NaN"),
        (torch.zeros(3, 2), [1, 1], r"weights has shape \(2,\); allowed: \(3,\)"),
        (torch.zeros(3, 2), [1, -1, 1], r"^weights=\[1.0, -1.0, 1.0\] is out of range: allowed finite numbers >= 0$"),
        (torch.zeros(3, 2), [0, 0, 0], r"^weights=\[0.0, 0.0, 0.0\] is out of range: allowed at least one positive weight \(these sum to 0\)$"),
        (torch.zeros(3, 2), ["a", "b", "c"], "one data count per client row"),
    ],
)
def test_malformed_input_is_one_clear_error(updates, weights, message):
    with pytest.raises(ValueError, match=message):
        aggregate("fedavg", updates, weights)


def test_too_few_clients_for_krum():
    u = t(PLANE[:3])
    with pytest.raises(ValueError, match=r"f \+ 3 = 4 client updates.*got n=3"):
        aggregate("krum", u, [1, 1, 1], {"f": 1})
    with pytest.raises(ValueError, match="Krum with f=2 needs at least f \\+ 3 = 5"):
        aggregate("multi-krum", t(PLANE[:4]), [1] * 4, {"f": 2})
    # f = 0, one neighbour each: a 1, b 1, c 4; the tie goes to the lower row
    assert aggregate("krum", u, [1, 1, 1], {"f": 0}).kept == (0,)
    with pytest.raises(ValueError, match=r"multi-krum.m=6 is out of range: allowed \[1, 5\]"):
        aggregate("multi-krum", t(PLANE), [1] * 5, {"m": 6})


# --------------------------------------------------------------------------
# agreement with Flower
# --------------------------------------------------------------------------
def _flower_results(updates: np.ndarray, counts: np.ndarray) -> list:
    """Flower's ``results``: per client (list of layer arrays, num_examples); two layers."""
    return [([row[:9].reshape(3, 3), row[9:]], int(n)) for row, n in zip(updates, counts)]


def _flat(layers) -> np.ndarray:
    return np.concatenate([np.ravel(a) for a in layers])


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_flower(seed):
    agg = pytest.importorskip("flwr.server.strategy.aggregate")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 12))
    updates = rng.normal(size=(n, 13))
    updates[rng.integers(n)] += 5.0  # one outlier
    counts = rng.integers(1, 100, size=n)
    results = _flower_results(updates, counts)
    u = torch.from_numpy(updates)

    # FedAvg: Flower averages models, we average updates; the mean is linear, so they agree.
    assert np.allclose(_flat(agg.aggregate(results)), fedavg(u, counts).update.numpy(), atol=1e-12)

    # Krum: Flower scores over max(1, n - f - 2) nearest neighbours (its argsort drops the
    # first entry as the client itself) and returns the argmin; the same definition as ours for
    # n - f - 2 >= 1. Below that Flower silently uses 1 neighbour; we raise instead.
    for f in (0, 1, 2):
        ours = krum(u, counts, f=f)
        theirs = _flat(agg.aggregate_krum(results, num_malicious=f, to_keep=0))
        assert np.allclose(theirs, ours.update.numpy(), atol=1e-12)
        # Multi-Krum: Flower's to_keep lowest scores averaged weighted by num_examples (its
        # `aggregate`), as the paper's code and ours do. Flower's default to_keep is 0 (= Krum);
        # ours is m = n - f. Ties in score could be broken differently (never with these inputs).
        for keep in (1, 3, n - f):
            ours = multi_krum(u, counts, f=f, m=keep)
            theirs = _flat(agg.aggregate_krum(results, num_malicious=f, to_keep=keep))
            assert np.allclose(theirs, ours.update.numpy(), atol=1e-12)

    # Coordinate median: np.median, the mean of the two middle values for even n; unweighted.
    for rows in (n, n - 1):
        ours = coordinate_median(u[:rows], counts[:rows]).update.numpy()
        assert np.allclose(_flat(agg.aggregate_median(results[:rows])), ours, atol=1e-12)

    # Trimmed mean: Flower cuts int(proportiontocut · n) at each end (scipy's trim_mean), the
    # same floor as ours; unweighted in both.
    for beta in (0.0, 0.1, 0.25, 0.4):
        theirs = _flat(agg.aggregate_trimmed_avg(results, proportiontocut=beta))
        assert np.allclose(theirs, trimmed_mean(u, counts, beta=beta).update.numpy(), atol=1e-12)


def test_norm_clipping_agrees_with_flowers_flat_clip():
    # Flower's server-side fixed clipping (DifferentialPrivacyServerSideFixedClipping) scales
    # each client's update by min(1, clipping_norm / ||update||) before FedAvg, as ours does.
    # Its noise differs from weak DP's: std = noise_multiplier · clipping_norm / clients sampled
    # (calibrated DP, McMahan et al., 2018) where weak DP adds a fixed std.
    dp = pytest.importorskip("flwr.supercore.differential_privacy")
    agg = pytest.importorskip("flwr.server.strategy.aggregate")
    rng = np.random.default_rng(1)
    updates = rng.normal(size=(8, 13)) * rng.uniform(0.1, 3.0, size=(8, 1))
    counts = rng.integers(1, 100, size=8)
    results = _flower_results(updates.copy(), counts)
    for layers, _ in results:
        dp.clip_inputs_inplace(layers, 2.0)
    ours = norm_clipping(torch.from_numpy(updates), counts, bound=2.0).update.numpy()
    assert np.allclose(_flat(agg.aggregate(results)), ours, atol=1e-12)
