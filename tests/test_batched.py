"""solve_many gives what solve gives, game by game (same supports, probabilities to one 12-digit rounding step), and the bootstrap uses it."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from gametheory import NormalFormGame, PayoffTable
from gametheory.batched import _nondegenerate, _stack_unit, solve_many
from gametheory.equilibria import is_degenerate, solve


#: One step of clean_strategy's 12-digit rounding, with float slack.
ROUNDING_STEP = 1.5e-12


def same(a, b) -> bool:
    """The same equilibria: identical supports, probabilities equal to one step of the 12-digit rounding.

    Bit-for-bit equality is not promised: the batched path solves the
    indifference equations with other arithmetic than ``solve``'s methods, and
    a probability such as 5/13 can land on either side of the 12-digit
    rounding in ``clean_strategy`` (found by hypothesis: A = [[0, .625], [1, 0]],
    B = 1 − A gives y₁ = 0.384615384615 batched, 0.384615384616 alone).
    """
    return len(a) == len(b) and all(
        np.array_equal(x1 > 0, x2 > 0) and np.array_equal(y1 > 0, y2 > 0)
        and np.allclose(x1, x2, rtol=0, atol=ROUNDING_STEP) and np.allclose(y1, y2, rtol=0, atol=ROUNDING_STEP)
        for (x1, y1), (x2, y2) in zip(a, b)
    )


def test_batched_and_single_agree_on_the_game_hypothesis_found():
    A = np.array([[0.0, 0.625], [1.0, 0.0]])
    many = solve_many(np.stack([A, A]), np.stack([1 - A, 1 - A]), "vertex-enumeration")
    assert all(same(found, solve(A, 1 - A, "vertex-enumeration")) for found in many)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_solve_many_equals_solve_one_at_a_time(data):
    m, n = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))  # support enumeration of degenerate games is slow
    G = data.draw(st.integers(1, 8))
    cells = st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 1, allow_nan=False)
    As = data.draw(arrays(float, (G, m, n), elements=cells))
    Bs = data.draw(arrays(float, (G, m, n), elements=cells))
    if data.draw(st.booleans()):
        Bs = 1.0 - As
    if G > 1 and data.draw(st.booleans()):  # repeated games are solved once
        As[-1], Bs[-1] = As[0], Bs[0]
    method = data.draw(st.sampled_from(["auto", "vertex-enumeration", "support-enumeration", "pure", "lemke-howson"]))
    many = solve_many(As, Bs, method)
    for A, B, found in zip(As, Bs, many):
        expected = solve(A, B, method)
        assert same(found, expected)
        assert (found.method, found.fallback, found.note) == (expected.method, expected.fallback, expected.note)


@settings(max_examples=60, deadline=None)
@given(arrays(float, (2, 3), elements=st.integers(0, 3).map(float)), arrays(float, (2, 3), elements=st.integers(0, 3).map(float)))
def test_certificate_never_passes_a_degenerate_game(A, B):
    certified = _nondegenerate(_stack_unit(A[None]), _stack_unit(B[None]))[0]
    assert not (certified and is_degenerate(A, B))


def test_bootstrap_of_a_small_game_is_fast_and_matches_resolving_each_replicate():
    import time

    rows = []
    for s, eps in enumerate([0.0, 0.02, -0.02]):
        for a, d, v in (("h", "h", 1 + eps), ("h", "t", -1), ("t", "h", -1), ("t", "t", 1 + eps)):
            rows.append({"attacker": a, "defender": d, "attacker_payoff": v, "defender_payoff": -v, "seed": s})
    game = NormalFormGame.from_table(PayoffTable.from_records(rows))
    game.bootstrap(replicates=10)  # lazy imports
    start = time.perf_counter()
    assert game.bootstrap(replicates=1000, seed=7).support_share == 1.0
    assert time.perf_counter() - start < 5.0  # 0.1 s on a loaded 2-core VM; was 28 s
    result = game.bootstrap(replicates=60, seed=7)
    means = game.table.resample_means(np.random.default_rng(7), 60)
    payoffs = []
    for A, B in zip(means[..., 0], means[..., 1]):
        (x, y), = solve(A, B)
        payoffs.append(x @ A @ y)
    assert result.support_share == 1.0
    assert result.attacker_ci == pytest.approx((np.percentile(payoffs, 2.5), np.percentile(payoffs, 97.5)))


def test_resample_means_draws_each_cells_seeds():
    rows = [{"attacker": "a", "defender": "d", "attacker_payoff": v, "defender_payoff": -v, "seed": s}
            for s, v in enumerate([0.0, 1.0])]
    rows.append({"attacker": "b", "defender": "d", "attacker_payoff": 5.0, "defender_payoff": 5.0})
    means = PayoffTable.from_records(rows).resample_means(np.random.default_rng(0), 500)
    assert means.shape == (500, 2, 1, 2)
    assert set(np.unique(means[:, 0, 0, 0])) == {0.0, 0.5, 1.0}
    assert (means[:, 1, 0] == 5.0).all()
    assert np.allclose(means[:, 0, 0, 1], -means[:, 0, 0, 0])
