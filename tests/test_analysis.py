"""Best responses, expected payoffs, dominance, iterated elimination and the bootstrap."""

import numpy as np
import pytest

from gametheory import NormalFormGame, PayoffTable
from gametheory.analysis import best_responses, dominated, expected_payoffs, iterated_elimination


def test_expected_payoffs_and_best_responses():
    A = np.array([[3.0, 0.0], [0.0, 2.0]])
    B = np.array([[2.0, 0.0], [0.0, 3.0]])
    np.testing.assert_allclose(expected_payoffs(A, B, 0, [0.4, 0.6]), [1.2, 1.2])
    assert best_responses(A, B, 0, [0.4, 0.6]).tolist() == [0, 1]  # indifferent at the mixed equilibrium
    assert best_responses(A, B, 1, [1.0, 0.0]).tolist() == [0]
    with pytest.raises(ValueError, match="sum to 1"):
        expected_payoffs(A, B, 0, [0.5, 0.6])
    with pytest.raises(ValueError, match="player=2"):
        expected_payoffs(A, B, 2, [0.5, 0.5])


def test_dominance_pure_mixed_strict_weak():
    # Row 2 is not dominated by row 0 or row 1 alone, but by their 50/50 mixture (3 > 2.5? no: use 1.5 < 2).
    A = np.array([[4.0, 0.0], [0.0, 4.0], [1.5, 1.5]])
    B = np.zeros_like(A)
    assert dominated(A, B, 0, strict=True, mixed=False) == []
    assert dominated(A, B, 0, strict=True, mixed=True) == [2]
    # weak: row 1 equals row 0 in column 0 and is worse in column 1
    A2 = np.array([[1.0, 1.0], [1.0, 0.0]])
    assert dominated(A2, np.zeros_like(A2), 0, strict=True) == []
    assert dominated(A2, np.zeros_like(A2), 0, strict=False) == [1]
    # the column player's view
    B3 = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert dominated(np.zeros_like(B3), B3, 1) == [1]


def test_iterated_elimination_prisoners_dilemma_and_table6():
    A = np.array([[3.0, 0.0], [5.0, 1.0]])  # cooperate, defect
    res = iterated_elimination(A, A.T)
    assert res.rows == (1,) and res.cols == (1,)
    game = NormalFormGame.from_table(PayoffTable.read("examples/payoffs/table6.csv"))
    elim = game.iterated_elimination()
    assert elim["attacker"] == ("Random triggers",) and elim["defender"] == ("Defense",)
    assert ("defender", "No Defense") in elim["removed"]


def test_game_level_helpers_by_label():
    game = NormalFormGame.from_table(PayoffTable.read("examples/payoffs/table6.csv"))
    assert game.best_responses("defender", "Random triggers") == ("Defense",)
    assert game.best_responses("attacker", "No Defense") == ("100% label overlap",)
    u = game.expected_payoffs("attacker", {"No Defense": 0.5, "Defense": 0.5})
    assert u["Random triggers"] == pytest.approx((0.403 + 0.203) / 2)
    ra, rd = game.regret("Random triggers", "No Defense")
    assert ra == pytest.approx(0.542 - 0.403) and rd == pytest.approx(0.797 - 0.597)
    assert game.regret({"Random triggers": 1.0}, "Defense") == (0.0, 0.0)
    with pytest.raises(ValueError, match="unknown attacker strategy 'Nope'"):
        game.regret("Nope", "Defense")
    with pytest.raises(ValueError, match="role 'judge' is unknown"):
        game.best_responses("judge", "Defense")


def _noisy_table(noise, seeds=5, seed=0):
    rng = np.random.default_rng(seed)
    base = np.array([[0.262, 0.137], [0.086, 0.123], [0.542, 0.181], [0.403, 0.203], [0.122, 0.088]])
    recs = []
    atk = ["eps", "0%", "100%", "random", "orthogonal"]
    for i, a in enumerate(atk):
        for j, d in enumerate(["none", "defense"]):
            for s in range(seeds):
                v = float(np.clip(base[i, j] + rng.normal(0, noise), 0, 1))
                recs.append({"attacker": a, "defender": d, "attacker_payoff": v, "defender_payoff": 1 - v, "seed": 3407 + s})
    return PayoffTable.from_records(recs)


@pytest.mark.slow
def test_bootstrap_stable_and_unstable():
    game = NormalFormGame.from_table(_noisy_table(0.002))
    (eq,) = game.equilibria()
    assert eq.support == (("random",), ("defense",))
    b = game.bootstrap(replicates=100, seed=1)
    assert b.support_share == 1.0
    lo, hi = b.attacker_ci
    assert lo <= eq.attacker_payoff <= hi and hi - lo < 0.01
    # With noise as large as the gaps between strategies, the support changes across resamples.
    noisy = NormalFormGame.from_table(_noisy_table(0.08, seeds=3, seed=2))
    nb = noisy.bootstrap(replicates=100, seed=1)
    assert nb.support_share < 1.0
    assert sum(nb.supports.values()) == 100
    # deterministic under a fixed seed
    assert noisy.bootstrap(replicates=100, seed=1).support_share == nb.support_share


def test_bootstrap_needs_samples():
    game = NormalFormGame.from_table(PayoffTable.read("examples/payoffs/table6.csv"))
    with pytest.raises(ValueError, match="per-seed samples"):
        game.bootstrap()
