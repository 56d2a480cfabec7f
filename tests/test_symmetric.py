"""Role-symmetric games: multinomial expectations, equilibria, N = 2 agreement with nashpy, DPR, lazy sources."""

import itertools
import math
import warnings

import nashpy
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import multinomial

from gametheory.sources import MissingPayoff, Payoffs
from gametheory.count_profiles import multinomial_profiles, multinomial_weights, num_profiles
from gametheory.dpr import DPRSource, dpr_attacker_profile, dpr_defender_profiles, dpr_valid_sizes
from gametheory.symmetric import RoleSymmetricGame
from gametheory.symmetric_dynamics import replicator_step

NONE = "none"


# --------------------------------------------------------------------------- helpers
def symmetric_two_player(A, names=None):
    """The N = 2, D = 1 role-symmetric game of the symmetric bimatrix game (A, Aᵀ)."""
    A = np.asarray(A, dtype=float)
    K = len(A)
    names = names or [f"s{i}" for i in range(K)]
    game = RoleSymmetricGame(names, [NONE], 2)
    for i, j in itertools.combinations_with_replacement(range(K), 2):
        counts = [0] * K
        counts[i] += 1
        counts[j] += 1
        game.set_payoffs((tuple(counts), NONE), {names[i]: A[i, j], names[j]: A[j, i]}, 0.0)
    return game


def game_from(attackers, defenders, n, attacker_payoff, defender_payoff):
    """Fill every profile from functions of (counts array, defender index)."""
    game = RoleSymmetricGame(attackers, defenders, n)
    for counts, d in game.all_profiles():
        c = np.array(counts)
        di = defenders.index(d)
        u = attacker_payoff(c, di)
        game.set_payoffs((counts, d), {s: u[i] for i, s in enumerate(attackers) if c[i] > 0}, defender_payoff(c, di))
    return game


def random_game(attackers, defenders, n, seed):
    rng = np.random.default_rng(seed)
    return game_from(attackers, defenders, n, lambda c, d: rng.random(len(attackers)), lambda c, d: rng.random())


def symmetric_nash(A):
    """Symmetric equilibria x of (A, Aᵀ), by nashpy's support enumeration."""
    A = np.asarray(A, dtype=float)
    return [x for x, y in nashpy.Game(A, A.T).support_enumeration() if np.allclose(x, y)]


def as_set(vectors, digits=6):
    return {tuple(np.round(np.asarray(v, dtype=float), digits) + 0.0) for v in vectors}


class CountingSource:
    """A payoff source from a complete game that counts (and records) what it is asked."""

    def __init__(self, game, missing=()):
        self.game = game
        self.calls = []
        self.missing = set(missing)

    def payoffs(self, profile):
        self.calls.append(profile)
        if profile in self.missing:
            raise MissingPayoff(profile, "not trained yet")
        return self.game.payoffs(profile)


HAWK_DOVE = [[-1.5, 2.0], [0.0, 1.0]]  # V = 2, C = 5: hawks at V/C = 0.4
PRISONERS = [[3.0, 0.0], [5.0, 1.0]]  # defect (index 1) dominates
COORDINATION = [[1.0, 0.0], [0.0, 1.0]]  # (1,0), (0,1), (1/2,1/2)
COORDINATION_UNEQUAL = [[2.0, 0.0], [0.0, 1.0]]  # (1,0), (0,1), (1/3,2/3)
ROCK_PAPER_SCISSORS = [[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]


# --------------------------------------------------------------------------- multinomial
def test_multinomial_profiles_small_case_by_hand():
    assert multinomial_profiles(2, 3).tolist() == [
        [2, 0, 0], [1, 1, 0], [1, 0, 1], [0, 2, 0], [0, 1, 1], [0, 0, 2],
    ]
    assert multinomial_profiles(0, 2).tolist() == [[0, 0]]
    assert multinomial_profiles(4, 1).tolist() == [[4]]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 12), k=st.integers(1, 5))
def test_multinomial_profiles_are_all_count_vectors(n, k):
    rows = multinomial_profiles(n, k)
    assert len(rows) == num_profiles(n, k) == math.comb(n + k - 1, k - 1)
    assert (rows >= 0).all() and (rows.sum(axis=1) == n).all()
    as_tuples = [tuple(r) for r in rows]
    assert len(set(as_tuples)) == len(as_tuples)
    assert as_tuples == sorted(as_tuples, reverse=True)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    raw=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5).filter(lambda v: sum(v) > 1e-3),
    zero=st.booleans(),
)
def test_multinomial_weights_sum_to_one_and_match_scipy(n, raw, zero):
    sigma = np.array(raw)
    if zero and len(sigma) > 1 and sigma[1:].sum() > 1e-3:
        sigma[0] = 0.0
    sigma = sigma / sigma.sum()
    rows = multinomial_profiles(n, len(sigma))
    w = multinomial_weights(n, sigma)
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert (w >= 0).all()
    np.testing.assert_allclose(w, multinomial.pmf(rows, n, sigma), atol=1e-12)
    if sigma[0] == 0.0:
        assert (w[rows[:, 0] > 0] == 0.0).all()


def test_multinomial_weights_large_n_in_log_space():
    w = multinomial_weights(2000, [0.3, 0.7])
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    assert multinomial_profiles(2000, 2)[np.argmax(w)].tolist() == [600, 1400]


def test_multinomial_weights_validates():
    with pytest.raises(ValueError, match="sigma must sum to 1"):
        multinomial_weights(3, [0.5, 0.6])
    with pytest.raises(ValueError, match="n must be >= 0"):
        multinomial_weights(-1, [1.0])


# --------------------------------------------------------------------------- deviation payoffs
def test_deviation_payoffs_by_hand():
    # N = 3, K = 2, D = 1; payoffs of one attacker on "a"/"b" in each count profile.
    game = RoleSymmetricGame(["a", "b"], [NONE], 3)
    game.set_payoffs(((3, 0), NONE), {"a": 1.0}, 0.0)
    game.set_payoffs(((2, 1), NONE), {"a": 2.0, "b": 5.0}, 1.0)
    game.set_payoffs(((1, 2), NONE), {"a": 3.0, "b": 6.0}, 2.0)
    game.set_payoffs(((0, 3), NONE), {"b": 7.0}, 3.0)
    p = 0.25
    # The other two attackers: (2,0) w.p. p², (1,1) w.p. 2p(1-p), (0,2) w.p. (1-p)².
    dev_a = p**2 * 1.0 + 2 * p * (1 - p) * 2.0 + (1 - p) ** 2 * 3.0
    dev_b = p**2 * 5.0 + 2 * p * (1 - p) * 6.0 + (1 - p) ** 2 * 7.0
    np.testing.assert_allclose(game.deviation_payoffs([p, 1 - p]), [dev_a, dev_b])
    # Defender: all three attackers ~ Mult(3, σ): counts (3,0) … (0,3).
    v = p**3 * 0 + 3 * p**2 * (1 - p) * 1 + 3 * p * (1 - p) ** 2 * 2 + (1 - p) ** 3 * 3
    np.testing.assert_allclose(game.defender_payoffs({"a": p, "b": 1 - p}), [v])
    a, b = game.expected_payoffs([p, 1 - p])
    assert a == pytest.approx(p * dev_a + (1 - p) * dev_b) and b == pytest.approx(v)
    assert game.regret([p, 1 - p]).attacker == pytest.approx(max(dev_a, dev_b) - a)


def test_deviation_payoffs_match_brute_force_over_ordered_opponents():
    attackers, defenders, N = ["a", "b", "c"], ["x", "y"], 4
    game = random_game(attackers, defenders, N, seed=1)
    sigma, tau = np.array([0.2, 0.0, 0.8]), np.array([0.3, 0.7])
    dev, v = np.zeros(3), np.zeros(2)
    for others in itertools.product(range(3), repeat=N - 1):  # each opponent draws independently
        prob = np.prod(sigma[list(others)])
        for s in range(3):
            counts = tuple(np.bincount(list(others) + [s], minlength=3))
            for d in range(2):
                dev[s] += prob * tau[d] * game.payoffs((counts, defenders[d]))[attackers[s]]
    for everyone in itertools.product(range(3), repeat=N):
        prob = np.prod(sigma[list(everyone)])
        counts = tuple(np.bincount(list(everyone), minlength=3))
        for d in range(2):
            v[d] += prob * game.payoffs((counts, defenders[d]))["defender"]
    np.testing.assert_allclose(game.deviation_payoffs(sigma, tau), dev, atol=1e-12)
    np.testing.assert_allclose(game.defender_payoffs(sigma), v, atol=1e-12)
    regret = game.regret(sigma, tau)
    assert regret.attacker == pytest.approx(dev.max() - sigma @ dev)
    assert regret.defender == pytest.approx(v.max() - tau @ v)
    assert regret.max == max(regret)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), a=st.floats(-1, 1), b=st.floats(-1, 1), p=st.floats(0, 1))
def test_payoffs_linear_in_others_fractions_give_linear_deviation_payoffs(n, a, b, p):
    # u_s(c) = α_s + Σ_t B[s, t] · (c - e_s)_t / (N-1)  ⇒  dev(σ) = α + Bσ for every N.
    alpha = np.array([a, b])
    B = np.array([[0.5, -1.0], [2.0, 0.25]])

    def u(c, d):
        out = np.empty(2)
        for s in range(2):
            others = c - np.eye(2, dtype=int)[s] if c[s] > 0 else c
            out[s] = alpha[s] + B[s] @ (others / max(n - 1, 1))
        return out

    game = game_from(["a", "b"], [NONE], n, u, lambda c, d: 0.0)
    sigma = np.array([p, 1 - p])
    expected = alpha + (B @ sigma if n > 1 else 0.0)
    np.testing.assert_allclose(game.deviation_payoffs(sigma), expected, atol=1e-9)


# --------------------------------------------------------------------------- N = 2 agrees with nashpy
@pytest.mark.parametrize("A", [HAWK_DOVE, PRISONERS, COORDINATION, COORDINATION_UNEQUAL, ROCK_PAPER_SCISSORS])
def test_regret_min_finds_the_symmetric_equilibria_of_the_bimatrix_game(A):
    game = symmetric_two_player(A)
    found = game.find_equilibria(method="regret-min", tol=1e-8)
    expected = symmetric_nash(A)
    assert as_set(e.sigma for e in found) == as_set(expected)
    for e in found:
        assert e.regret.max <= 1e-8
        assert e.tau.tolist() == [1.0]


@pytest.mark.parametrize("A", [HAWK_DOVE, PRISONERS, COORDINATION])
def test_replicator_finds_the_symmetric_equilibria_of_the_bimatrix_game(A):
    # Every equilibrium of these games is stable or is a start (uniform for COORDINATION).
    found = symmetric_two_player(A).find_equilibria(method="replicator", tol=1e-8)
    assert as_set(e.sigma for e in found) == as_set(symmetric_nash(A))


def test_replicator_finds_a_subset_when_an_equilibrium_is_unstable():
    # The mixed equilibrium (1/3, 2/3) repels: no start lies on it, so only the pure ones are found.
    found = symmetric_two_player(COORDINATION_UNEQUAL).find_equilibria(method="replicator")
    assert as_set(e.sigma for e in found) == {(1.0, 0.0), (0.0, 1.0)}
    assert as_set(e.sigma for e in found) < as_set(symmetric_nash(COORDINATION_UNEQUAL))


@pytest.mark.filterwarnings(r"ignore:\s*An even number:RuntimeWarning")  # nashpy on degenerate draws
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 4))
def test_two_player_regret_and_deviation_payoffs_are_the_bimatrix_ones(seed, k):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, k))
    sigma = rng.dirichlet(np.ones(k))
    game = symmetric_two_player(A)
    np.testing.assert_allclose(game.deviation_payoffs(sigma), A @ sigma, atol=1e-12)
    assert game.regret(sigma).attacker == pytest.approx((A @ sigma).max() - sigma @ A @ sigma, abs=1e-12)
    for x in symmetric_nash(A):
        assert game.regret(x).max <= 1e-9


def test_one_attacker_against_a_defender_is_the_bimatrix_game():
    # N = 1: an inspection game; attacker rows (attack, abstain), defender columns (inspect, trust).
    A = np.array([[-1.0, 2.0], [0.0, 0.0]])
    B = np.array([[1.0, -2.0], [-0.5, 0.0]])
    game = RoleSymmetricGame(["attack", "abstain"], ["inspect", "trust"], 1)
    for i, s in enumerate(game.attacker_strategies):
        for j, d in enumerate(game.defender_strategies):
            counts = (1, 0) if i == 0 else (0, 1)
            game.set_payoffs((counts, d), {s: A[i, j]}, B[i, j])
    (x, y), = list(nashpy.Game(A, B).support_enumeration())
    found = game.find_equilibria(method="regret-min", tol=1e-9)
    assert len(found) == 1
    np.testing.assert_allclose(found[0].sigma, x, atol=1e-7)
    np.testing.assert_allclose(found[0].tau, y, atol=1e-7)
    assert game.pure_equilibria() == []


# --------------------------------------------------------------------------- dynamics
@pytest.mark.parametrize("start", [[0.9, 0.1], [0.05, 0.95], [0.5, 0.5]])
def test_replicator_converges_to_hawk_dove_mixed_equilibrium(start):
    result = symmetric_two_player(HAWK_DOVE).replicator_dynamics(start, tol=1e-10)
    assert result.converged and result.regret.max <= 1e-10
    np.testing.assert_allclose(result.sigma, [0.4, 0.6], atol=1e-8)  # hawks at V/C = 2/5


def test_replicator_with_many_attackers_reaches_the_fraction_equilibrium():
    # Hawk–dove against the *fraction* of hawks among the other N-1: dev(σ) = α + Bσ for any N,
    # so the mixed equilibrium is the two-player one.
    N = 9
    A = np.array(HAWK_DOVE)

    def u(c, d):
        return np.array([A[s] @ ((c - np.eye(2, dtype=int)[s]) / (N - 1)) if c[s] else 0.0 for s in range(2)])

    game = game_from(["hawk", "dove"], [NONE], N, u, lambda c, d: -c[0] / N)
    result = game.replicator_dynamics([0.9, 0.1], tol=1e-10)
    assert result.converged
    np.testing.assert_allclose(result.sigma, [0.4, 0.6], atol=1e-8)
    assert game.defender_payoffs(result.sigma) == pytest.approx([-0.4])


def test_replicator_step_stays_on_the_simplex_and_pure_starts_rest():
    x = replicator_step(np.array([0.2, 0.3, 0.5]), np.array([1.0, 0.0, 0.5]), dt=1.0)
    assert x.sum() == pytest.approx(1.0) and (x >= 0).all() and x[0] > 0.2
    assert replicator_step(np.array([1.0, 0.0]), np.array([0.0, 9.0]), 1.0).tolist() == [1.0, 0.0]
    result = symmetric_two_player(PRISONERS).replicator_dynamics([1.0, 0.0])
    assert not result.converged and result.regret.attacker == pytest.approx(2.0)
    assert result.steps == 0  # stuck at a rest point: stops at once


def test_ties_everywhere_are_handled_without_warnings():
    # Attack success saturated: every payoff equal. Everything is an equilibrium, regret exactly 0.
    game = game_from(["a", "b", "c"], ["x", "y"], 4, lambda c, d: np.ones(3), lambda c, d: 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert game.regret([0.2, 0.3, 0.5], [0.5, 0.5]) == (0.0, 0.0)
        result = game.replicator_dynamics([1.0, 0.0, 0.0], [0.0, 1.0])
        assert result.converged and result.steps == 0
        for method in ("replicator", "regret-min"):
            found = game.find_equilibria(method=method, n_random=2)
            assert found and all(e.regret.max == 0.0 for e in found)
        assert len(game.pure_equilibria()) == game.num_profiles


def test_find_equilibria_two_populations_agrees_with_regret_checks():
    game = random_game(["a", "b", "c"], ["x", "y"], 4, seed=0)
    found = game.find_equilibria(method="regret-min", tol=1e-9)
    assert found
    for e in found:
        assert game.regret(e.sigma, e.tau).max <= 1e-9
        assert e.sigma.sum() == pytest.approx(1.0) and e.tau.sum() == pytest.approx(1.0)
        assert set(e.attacker_mixture()) <= {"a", "b", "c"}
    # deduplicated: pairwise distinct
    for e, f in itertools.combinations(found, 2):
        assert max(np.abs(e.sigma - f.sigma).max(), np.abs(e.tau - f.tau).max()) > 1e-4
    # explicit starts, and seeded random starts are reproducible
    again = game.find_equilibria(method="regret-min", tol=1e-9)
    assert [e.start for e in again] == [e.start for e in found]
    only = game.find_equilibria(method="regret-min", starts=[(found[0].sigma, found[0].tau)], n_random=0)
    assert len(only) == 1 and only[0].start == "start:0"


# --------------------------------------------------------------------------- pure profiles
def test_pure_equilibria_of_congestion_games():
    # Two identical roads, u_s = -(attackers on s): the split is as even as possible.
    even = game_from(["r0", "r1"], [NONE], 5, lambda c, d: -c.astype(float), lambda c, d: 0.0)
    assert even.pure_equilibria() == [((3, 2), NONE), ((2, 3), NONE)]
    # Road 1 twice as slow: u_0 = -c_0, u_1 = -2 c_1, N = 6 ⇒ 4 on road 0, 2 on road 1.
    slow = game_from(["r0", "r1"], [NONE], 6, lambda c, d: -np.array([1.0, 2.0]) * c, lambda c, d: 0.0)
    assert slow.pure_equilibria() == [((4, 2), NONE)]
    assert slow.profile_regret(((4, 2), NONE)) == (0.0, 0.0)
    # From (5, 1) an attacker on road 0 (payoff -5) moves to road 1 and gets -4.
    assert slow.profile_regret(((5, 1), NONE)).attacker == pytest.approx(1.0)
    # From (3, 3) an attacker on road 1 (payoff -6) moves to road 0 and gets -4.
    assert slow.profile_regret(((3, 3), NONE)).attacker == pytest.approx(2.0)


def test_pure_equilibria_agree_with_profile_regret_with_a_defender():
    for seed in range(6):
        game = random_game(["a", "b", "c"], ["x", "y"], 3, seed=seed)
        expected = [p for p in game.all_profiles() if game.profile_regret(p).max <= 1e-9]
        assert game.pure_equilibria() == expected
    game = random_game(["a", "b", "c"], ["x", "y"], 3, seed=2)
    assert game.pure_equilibria() == [((1, 1, 1), "y"), ((0, 3, 0), "y"), ((0, 2, 1), "x")]
    profile = ((1, 1, 1), "y")
    rec = game.payoffs(profile)
    gains = [
        game.payoffs(((0, 2, 1), "y"))["b"] - rec["a"],
        game.payoffs(((0, 1, 2), "y"))["c"] - rec["a"],
        game.payoffs(((2, 0, 1), "y"))["a"] - rec["b"],
        game.payoffs(((1, 0, 2), "y"))["c"] - rec["b"],
        game.payoffs(((2, 1, 0), "y"))["a"] - rec["c"],
        game.payoffs(((1, 2, 0), "y"))["b"] - rec["c"],
    ]
    regret = game.profile_regret(profile)
    assert regret.attacker == pytest.approx(max(0.0, max(gains)))
    assert regret.defender == pytest.approx(max(0.0, game.payoffs(((1, 1, 1), "x"))["defender"] - rec["defender"]))


# --------------------------------------------------------------------------- DPR
def test_dpr_required_profiles_five_to_three_by_hand():
    game = RoleSymmetricGame(["a", "b"], [NONE], 5)
    assert dpr_valid_sizes(5) == [2, 3, 5]
    # (N-1)/(k-1) = 2: the other reduced players are doubled; 3 ∤ 5, so the defender reads the same profiles.
    assert game.dpr_required_profiles(3) == {
        ((3, 0), NONE): [((5, 0), NONE)],
        ((2, 1), NONE): [((3, 2), NONE), ((4, 1), NONE)],
        ((1, 2), NONE): [((1, 4), NONE), ((2, 3), NONE)],
        ((0, 3), NONE): [((0, 5), NONE)],
    }
    three = RoleSymmetricGame(["a", "b", "c"], ["x", "y"], 5).dpr_required_profiles(3)
    assert len(three) == num_profiles(3, 3) * 2
    assert three[((1, 1, 1), "y")] == [((1, 2, 2), "y"), ((2, 1, 2), "y"), ((2, 2, 1), "y")]
    assert three[((2, 0, 1), "x")] == [((3, 0, 2), "x"), ((4, 0, 1), "x")]
    assert dpr_attacker_profile((2, 0, 1), 2, 5) == (4, 0, 1)
    assert dpr_defender_profiles((2, 1), 5) == [((3, 2), 2 / 3), ((4, 1), 1 / 3)]


def test_dpr_defender_uses_the_scaled_profile_when_k_divides_n():
    game = RoleSymmetricGame(["a", "b"], [NONE], 4)
    assert game.dpr_required_profiles(2)[((1, 1), NONE)] == [((1, 3), NONE), ((3, 1), NONE), ((2, 2), NONE)]
    assert dpr_defender_profiles((1, 1), 4) == [((2, 2), 1.0)]


def test_dpr_rejects_sizes_that_do_not_divide():
    game = RoleSymmetricGame(["a", "b"], [NONE], 5)
    with pytest.raises(ValueError, match=r"k must be .*allowed: \[2, 3, 5\]"):
        game.reduce(4)
    with pytest.raises(ValueError, match="k must be"):
        game.dpr_required_profiles(1)


def fraction_game(n, attackers=("a", "b", "c"), defenders=("x", "y")):
    """Payoffs affine in the fractions of the *other* attackers per strategy, defender affine in all fractions."""
    K = len(attackers)
    alpha = np.array([0.1, 0.4, 0.3])[:K]
    B = np.array([[-0.5, 0.2, 0.7], [0.6, -0.4, 0.1], [0.3, 0.5, -0.6]])[:K, :K]
    delta = np.array([[0.0, 0.05, -0.1], [-0.02, 0.0, 0.08]])[:, :K]
    H = np.array([[0.2, -0.3, 0.5], [-0.1, 0.4, 0.2]])[:, :K]

    def u(c, d):
        out = np.zeros(K)
        for s in range(K):
            if c[s]:
                others = (c - np.eye(K, dtype=int)[s]) / max(n - 1, 1)
                out[s] = alpha[s] + B[s] @ others + delta[d, s]
        return out

    return game_from(list(attackers), list(defenders), n, u, lambda c, d: H[d] @ (c / n))


@pytest.mark.parametrize("n, k", [(5, 3), (7, 4), (9, 3), (4, 2), (5, 5)])
def test_dpr_is_exact_for_payoffs_affine_in_fractions(n, k):
    full, direct = fraction_game(n), fraction_game(k)
    reduced = full.reduce(k)
    assert reduced.n_attackers == k and isinstance(reduced.source, DPRSource)
    for profile in direct.all_profiles():
        got, want = reduced.payoffs(profile), direct.payoffs(profile)
        assert set(got.roles) == set(want.roles)
        for role in want.roles:
            assert got[role] == pytest.approx(want[role], abs=1e-12), (profile, role)
    # and so the reduced game has the full game's deviation payoffs and equilibria
    sigma, tau = np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.4])
    np.testing.assert_allclose(reduced.deviation_payoffs(sigma, tau), full.deviation_payoffs(sigma, tau), atol=1e-12)
    np.testing.assert_allclose(reduced.defender_payoffs(sigma), full.defender_payoffs(sigma), atol=1e-12)


def test_dpr_reduced_payoffs_are_read_from_the_listed_full_profiles():
    full = random_game(["a", "b"], ["x", "y"], 5, seed=3)
    reduced = full.reduce(3)
    for profile, needed in full.dpr_required_profiles(3).items():
        counts, d = profile
        got = reduced.payoffs(profile)
        for s, name in enumerate(full.attacker_strategies):
            if counts[s]:
                assert got[name] == full.payoffs((dpr_attacker_profile(counts, s, 5), d))[name]
        mean = sum(w * full.payoffs((p, d))["defender"] for p, w in dpr_defender_profiles(counts, 5))
        assert got["defender"] == pytest.approx(mean)
        assert {p for p, _ in dpr_defender_profiles(counts, 5)} <= {c for c, _ in needed}


def test_dpr_asks_a_lazy_full_source_only_for_required_profiles():
    source = CountingSource(random_game(["a", "b", "c"], ["x"], 21, seed=4))
    full = RoleSymmetricGame(["a", "b", "c"], ["x"], 21, source=source)  # 253 profiles, none measured
    reduced = full.reduce(3)  # (21-1)/(3-1) = 10
    required = {p for ps in full.dpr_required_profiles(3).values() for p in ps}
    found = reduced.find_equilibria(method="regret-min", n_random=2)
    assert found
    assert set(source.calls) <= required and len(source.calls) == len(set(source.calls))
    # (3,0,0)-like: 3 × 1; (2,1,0)-like: 6 × (2 attackers' + the defender's scaled c·7, as 3 | 21); (1,1,1): 3 + 1.
    assert len(source.calls) == len(required) == 3 + 6 * 3 + 4


# --------------------------------------------------------------------------- lazy sources and missing payoffs
def test_source_is_consulted_lazily_and_memoised():
    complete = random_game(["a", "b"], ["x", "y"], 3, seed=5)
    source = CountingSource(complete)
    game = RoleSymmetricGame(["a", "b"], ["x", "y"], 3, source=source)
    assert game.missing_profiles() == game.all_profiles() and source.calls == []
    assert game.payoffs(((2, 1), "x")) == complete.payoffs(((2, 1), "x"))
    game.payoffs(((2, 1), "x"))
    assert source.calls == [((2, 1), "x")]
    # everyone on "a", defender "y": deviators need (3,0) and (2,1) under y; the defender needs (3,0) under x and y
    assert set(game.required_for([1.0, 0.0], [0.0, 1.0])) == {((3, 0), "y"), ((2, 1), "y"), ((3, 0), "x")}
    game.regret([1.0, 0.0], [0.0, 1.0])
    assert sorted(source.calls) == sorted([((2, 1), "x"), ((3, 0), "y"), ((2, 1), "y"), ((3, 0), "x")])
    game.regret([1.0, 0.0], [0.0, 1.0])
    game.deviation_payoffs([1.0, 0.0], [0.0, 1.0])
    assert len(source.calls) == 4
    assert game.regret([0.5, 0.5], [0.5, 0.5]) == complete.regret([0.5, 0.5], [0.5, 0.5])
    assert len(source.calls) == game.num_profiles == 8
    assert game.missing_profiles() == []
    # a plain callable works as a source too
    plain = RoleSymmetricGame(["a", "b"], ["x", "y"], 3, source=complete.payoffs)
    assert plain.regret([0.5, 0.5], [0.5, 0.5]) == complete.regret([0.5, 0.5], [0.5, 0.5])


def test_missing_payoffs_raise_naming_the_profile():
    game = RoleSymmetricGame(["a", "b"], [NONE], 3)
    with pytest.raises(MissingPayoff) as err:
        game.payoffs(((2, 1), NONE))
    assert err.value.profile == ((2, 1), NONE) and "(2, 1)" in str(err.value)
    game.set_payoffs(((3, 0), NONE), {"a": 1.0}, 0.0)
    assert game.missing_for([1.0, 0.0]) == [((2, 1), NONE)]
    with pytest.raises(MissingPayoff) as err:
        game.deviation_payoffs([1.0, 0.0])
    assert err.value.profile == ((2, 1), NONE)
    game.set_payoffs(((2, 1), NONE), {"a": 1.0, "b": 0.5}, 0.0)
    assert game.missing_for([1.0, 0.0]) == []
    assert game.regret([1.0, 0.0]) == (0.0, 0.0)
    with pytest.raises(MissingPayoff):
        game.pure_equilibria()
    with pytest.raises(MissingPayoff):
        game.profile_regret(((2, 1), NONE))  # needs (1, 2)


def test_missing_from_a_source_propagates_and_fill_reports_it():
    complete = random_game(["a", "b"], [NONE], 2, seed=6)
    source = CountingSource(complete, missing={((1, 1), NONE)})
    game = RoleSymmetricGame(["a", "b"], [NONE], 2, source=source)
    with pytest.raises(MissingPayoff) as err:
        game.regret([0.5, 0.5])
    assert err.value.profile == ((1, 1), NONE) and err.value.reason == "not trained yet"
    assert game.fill() == [((1, 1), NONE)]
    assert game.known_profiles() == [((2, 0), NONE), ((0, 2), NONE)]


def test_dpr_missing_names_the_full_profile():
    full = RoleSymmetricGame(["a", "b"], [NONE], 5)
    full.set_payoffs(((5, 0), NONE), {"a": 1.0}, 0.0)
    reduced = full.reduce(3)
    assert reduced.payoffs(((3, 0), NONE))["a"] == 1.0
    with pytest.raises(MissingPayoff) as err:
        reduced.payoffs(((2, 1), NONE))
    assert err.value.profile == ((3, 2), NONE)
    assert "reduced profile ((2, 1), 'none')" in err.value.reason


def test_a_source_returning_bad_payoffs_is_rejected():
    class Bad:
        def payoffs(self, profile):
            return Payoffs(roles={"a": 1.0, "b": 2.0, "defender": 0.0})  # "b" is not played in (2, 0)

    game = RoleSymmetricGame(["a", "b"], [NONE], 2, source=Bad())
    with pytest.raises(ValueError, match=r"unexpected \['b'\]"):
        game.payoffs(((2, 0), NONE))


# --------------------------------------------------------------------------- validation
def test_constructor_validates():
    with pytest.raises(ValueError, match="n_attackers must be >= 1, got 0"):
        RoleSymmetricGame(["a"], [NONE], 0)
    with pytest.raises(ValueError, match="attacker_strategies must be unique"):
        RoleSymmetricGame(["a", "a"], [NONE], 2)
    with pytest.raises(ValueError, match="may not contain 'defender'"):
        RoleSymmetricGame(["a", "defender"], [NONE], 2)
    with pytest.raises(ValueError, match="defender_strategies must not be empty"):
        RoleSymmetricGame(["a"], [], 2)
    with pytest.raises(ValueError, match="single string"):
        RoleSymmetricGame("ab", [NONE], 2)


def test_profiles_payoffs_and_mixtures_are_validated():
    game = RoleSymmetricGame(["a", "b"], ["x", "y"], 3)
    with pytest.raises(ValueError, match="sum to n_attackers=3"):
        game.set_payoffs(((2, 2), "x"), {"a": 1, "b": 1}, 0)
    with pytest.raises(ValueError, match="must be 2 integers"):
        game.set_payoffs(((3,), "x"), {"a": 1}, 0)
    with pytest.raises(ValueError, match="defender must be one of"):
        game.set_payoffs(((3, 0), "z"), {"a": 1}, 0)
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        game.set_payoffs(((2, 1), "x"), {"a": 1}, 0)
    with pytest.raises(ValueError, match="must be finite"):
        game.set_payoffs(((3, 0), "x"), {"a": float("nan")}, 0)
    with pytest.raises(ValueError, match="tau must be given"):
        game.regret([1.0, 0.0])
    with pytest.raises(ValueError, match="sigma must be a vector of 2"):
        game.regret([1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="unknown strategies"):
        game.regret({"c": 1.0}, [1.0, 0.0])
    with pytest.raises(ValueError, match="tau must sum to 1"):
        game.regret([1.0, 0.0], [0.7, 0.7])
    with pytest.raises(ValueError, match="method must be one of"):
        game.find_equilibria(method="fictitious-play")
    with pytest.raises(ValueError, match=r"dt must be in \(0, 1\]"):
        game.replicator_dynamics([1.0, 0.0], [1.0, 0.0], dt=2.0)
    game.set_payoffs(((3.0, 0.0), "x"), {"a": 1}, 0)  # integral floats are normalised
    assert ((3, 0), "x") in game and game.known_profiles() == [((3, 0), "x")]


# --------------------------------------------------------------------------- pandas
def test_dataframe_round_trip():
    game = random_game(["a", "b", "c"], ["x", "y"], 2, seed=8)
    df = game.to_dataframe()
    assert list(df.columns) == [
        "count:a", "count:b", "count:c", "defender", "payoff:a", "payoff:b", "payoff:c", "payoff:defender",
    ]
    assert len(df) == game.num_profiles == num_profiles(2, 3) * 2
    assert df.loc[0, ["count:a", "count:b", "count:c", "defender"]].tolist() == [2, 0, 0, "x"]
    assert np.isnan(df.loc[0, "payoff:b"]) and df.loc[0, "payoff:a"] == game.payoffs(((2, 0, 0), "x"))["a"]
    back = RoleSymmetricGame.from_dataframe(df)
    assert back.attacker_strategies == game.attacker_strategies
    assert back.defender_strategies == game.defender_strategies and back.n_attackers == 2
    pd.testing.assert_frame_equal(back.to_dataframe(), df)
    partial = df.iloc[[3, 0]]
    sub = RoleSymmetricGame.from_dataframe(partial, defender_strategies=["x", "y"])
    assert sub.known_profiles() == [((2, 0, 0), "x"), ((1, 1, 0), "y")]
    with pytest.raises(ValueError, match="lacks columns"):
        RoleSymmetricGame.from_dataframe(df.drop(columns=["payoff:b"]))
    with pytest.raises(ValueError, match="n_attackers must be given"):
        RoleSymmetricGame.from_dataframe(df.iloc[:0])


def test_module_imports_neither_torch_nor_oracle():
    import subprocess
    import sys

    code = (
        "import sys, gametheory.symmetric; "
        "bad = [m for m in ('torch', 'oracle', 'strategies') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_find_equilibria_says_when_a_method_found_nothing():
    # The inspection game with one attacker: its only equilibrium is mixed on both sides, which
    # replicator dynamics circles around and never reaches [HS98]; regret-min reaches it.
    A = np.array([[-1.0, 2.0], [0.0, 0.0]])
    B = np.array([[1.0, -2.0], [-0.5, 0.0]])
    game = RoleSymmetricGame(["attack", "abstain"], ["inspect", "trust"], 1)
    for i, s in enumerate(game.attacker_strategies):
        for j, d in enumerate(game.defender_strategies):
            game.set_payoffs(((1, 0) if i == 0 else (0, 1), d), {s: A[i, j]}, B[i, j])
    cycling = game.find_equilibria(method="replicator", steps=2000)
    assert cycling == [] and cycling.method == "replicator"
    assert cycling.note.startswith("replicator found no equilibrium: none of the ") and "may cycle" in cycling.note
    found = game.find_equilibria(method="regret-min", tol=1e-9)
    assert len(found) == 1 and found.note is None


def test_the_concept_entry_still_exports_the_names_that_moved_out():
    """``from gametheory.symmetric import X`` keeps working for the names now kept in smaller modules."""
    import gametheory.symmetric as entry
    from gametheory import count_profiles, dpr, symmetric_dynamics, symmetric_table

    homes = {count_profiles: ["num_profiles", "multinomial_profiles", "multinomial_weights", "MAX_PROFILES"],
             dpr: ["DPRSource", "check_dpr", "dpr_valid_sizes", "dpr_attacker_profile", "dpr_defender_profiles"],
             symmetric_dynamics: ["DEFAULT_SEED", "Regret", "DynamicsResult", "replicator_step"],
             symmetric_table: ["COUNT_PREFIX", "DEFENDER_ROLE", "PAYOFF_PREFIX", "Profile"]}
    for home, names in homes.items():
        for name in names:
            assert name in entry.__all__ and getattr(entry, name) is getattr(home, name), name
    assert issubclass(entry.RoleSymmetricGame, symmetric_table.RoleSymmetricTable)
