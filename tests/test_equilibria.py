"""Equilibria of known games, degenerate and rectangular games, and properties on random games."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from gametheory import NormalFormGame, PayoffTable, solve
from gametheory.equilibria import METHODS, is_constant_sum, regret, zero_sum_lp

ALL = [m for m in METHODS if m not in ("lp", "pure")]


def as_set(eqs, digits=6):
    return {(tuple(np.round(x, digits)), tuple(np.round(y, digits))) for x, y in eqs}


@pytest.mark.parametrize("method", ALL + ["lp"])
def test_matching_pennies_unique_mixed(method):
    A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    eqs = solve(A, -A, method)
    assert as_set(eqs) == {((0.5, 0.5), (0.5, 0.5))}


@pytest.mark.parametrize("method", ALL + ["lp"])
def test_rock_paper_scissors(method):
    A = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
    (x, y), = solve(A, -A, method)
    np.testing.assert_allclose(x, [1 / 3] * 3, atol=1e-9)
    np.testing.assert_allclose(y, [1 / 3] * 3, atol=1e-9)


def test_battle_of_the_sexes_all_three():
    A = np.array([[3.0, 0.0], [0.0, 2.0]])
    B = np.array([[2.0, 0.0], [0.0, 3.0]])
    expected = {((1.0, 0.0), (1.0, 0.0)), ((0.0, 1.0), (0.0, 1.0)), ((0.6, 0.4), (0.4, 0.6))}
    for method in ("auto", "support-enumeration", "vertex-enumeration"):
        assert as_set(solve(A, B, method)) == expected
    assert as_set(solve(A, B, "pure")) == {((1.0, 0.0), (1.0, 0.0)), ((0.0, 1.0), (0.0, 1.0))}
    lh = as_set(solve(A, B, "lemke-howson"))
    assert lh and lh <= expected


def test_degenerate_continuum_returns_all_extreme_equilibria():
    # Row 0 strictly better for the row player; the column player is indifferent:
    # every (e0, y) is an equilibrium, a continuum whose extreme points are the two pure cells.
    A = np.array([[1.0, 1.0], [0.0, 0.0]])
    B = np.array([[1.0, 1.0], [0.0, 0.0]])
    extreme = {((1.0, 0.0), (1.0, 0.0)), ((1.0, 0.0), (0.0, 1.0))}
    assert as_set(solve(A, B, "vertex-enumeration")) == extreme
    assert as_set(solve(A, B, "auto")) == extreme
    se = solve(A, B, "support-enumeration")
    assert extreme <= as_set(se)  # plus one interior point of the continuum
    for x, y in se:
        assert max(regret(A, B, x, y)) <= 1e-9


def test_saturated_zero_payoffs_never_empty():
    # Attack success saturated at 0 everywhere: every profile is an equilibrium.
    A = np.zeros((3, 2))
    B = np.ones((3, 2))
    for method in METHODS:
        eqs = solve(A, B, method)
        assert eqs, method
    assert len(solve(A, B, "vertex-enumeration")) == 6  # all pure cells are the extreme equilibria
    sol = zero_sum_lp(A, B)
    assert sol.value == 0.0 and len(sol.row_vertices) == 3 and len(sol.col_vertices) == 2
    assert not sol.unique


def test_rectangular_game_every_method():
    A = np.array([[3, 3], [2, 5], [0, 6]], dtype=float)
    B = np.array([[3, 2], [2, 6], [3, 1]], dtype=float)  # von Stengel's 3×2 example
    expected = {
        ((1.0, 0.0, 0.0), (1.0, 0.0)),
        ((0.8, 0.2, 0.0), (0.666667, 0.333333)),
        ((0.0, 0.333333, 0.666667), (0.333333, 0.666667)),
    }
    for method in ("auto", "support-enumeration", "vertex-enumeration"):
        assert as_set(solve(A, B, method)) == expected, method
    assert as_set(solve(A, B, "lemke-howson")) <= expected
    assert as_set(solve(A, B, "pure")) == {((1.0, 0.0, 0.0), (1.0, 0.0))}


def test_noise_is_cleaned():
    A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    for x, y in solve(A, -A, "lp") + solve(A, -A, "support-enumeration"):
        for v in (*x, *y):
            assert v == 0.0 or v > 1e-9
            assert not (v == 0.0 and np.signbit(v))
    T = PayoffTable.read("examples/payoffs/table6.csv")
    (x, y), = solve(*T.matrices(), "lp")
    assert list(x) == [0.0, 0.0, 0.0, 1.0, 0.0] and list(y) == [0.0, 1.0]


@pytest.mark.parametrize("method", list(METHODS))
def test_table6_equilibrium(method):
    game = NormalFormGame.from_table(PayoffTable.read("examples/payoffs/table6.csv"))
    assert game.is_constant_sum()
    (e,) = game.equilibria(method)
    assert e.mixture("attacker") == {"Random triggers": 1.0}
    assert e.mixture("defender") == {"Defense": 1.0}
    assert round(e.attacker_payoff * 100, 6) == 20.3
    assert round(e.defender_payoff * 100, 6) == 79.7
    assert e.attacker_regret == 0.0 and e.defender_regret == 0.0


def test_unknown_method_and_bad_matrices():
    with pytest.raises(ValueError, match="unknown method 'nash'.*allowed auto"):
        solve(np.eye(2), np.eye(2), "nash")
    with pytest.raises(ValueError, match="one shape"):
        solve(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        solve(np.array([[np.nan, 1.0]]), np.ones((1, 2)))
    with pytest.raises(ValueError, match="constant-sum"):
        zero_sum_lp(np.eye(2), np.eye(2))


def test_nashpy_misses_indifferent_equilibrium_we_keep():
    # A payoff of 1/3 stored as 0.1 + 0.1 + 0.1 style float noise makes nashpy's `==` check fail;
    # our regret test with a tolerance keeps the equilibrium.
    third = 0.1 + 0.1 + 0.1 - 0.2  # 0.10000000000000003
    A = np.array([[third, 0.1], [0.1, third]])
    B = -A
    eqs = solve(A, B, "support-enumeration")
    assert eqs
    for x, y in eqs:
        assert max(regret(A, B, x, y)) <= 1e-9


small = st.integers(min_value=1, max_value=4)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_property_every_equilibrium_has_small_regret(data):
    m, n = data.draw(small), data.draw(small)
    elems = st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1, allow_nan=False)
    A = data.draw(arrays(float, (m, n), elements=elems))
    B = data.draw(arrays(float, (m, n), elements=elems))
    for method in ("auto", "vertex-enumeration", "lemke-howson", "support-enumeration"):
        eqs = solve(A, B, method)
        assert eqs, method  # every finite game has an equilibrium
        for x, y in eqs:
            ra, rb = regret(A, B, x, y)
            assert ra <= 1e-7 * max(np.ptp(A), 1) and rb <= 1e-7 * max(np.ptp(B), 1)
            assert abs(x.sum() - 1) < 1e-9 and abs(y.sum() - 1) < 1e-9 and (x >= 0).all() and (y >= 0).all()
    for x, y in solve(A, B, "pure"):
        assert set(x) <= {0.0, 1.0} and set(y) <= {0.0, 1.0}


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_property_lp_value_is_minimax(data):
    m, n = data.draw(small), data.draw(small)
    A = data.draw(arrays(float, (m, n), elements=st.floats(-1, 1, allow_nan=False)))
    sol = zero_sum_lp(A, -A)
    # minimax theorem: max_x min_j (xᵀA)_j = min_y max_i (Ay)_i = value
    for x in sol.row_vertices:
        assert (x @ A).min() >= sol.value - 1e-7
    for y in sol.col_vertices:
        assert (A @ y).max() <= sol.value + 1e-7
    # pure maximin ≤ value ≤ pure minimax
    assert A.min(axis=1).max() <= sol.value + 1e-9
    assert A.max(axis=0).min() >= sol.value - 1e-9
    # vertex enumeration's equilibria of a zero-sum game all give the value
    for x, y in solve(A, -A, "vertex-enumeration"):
        assert abs(x @ A @ y - sol.value) < 1e-7
    assert is_constant_sum(A, 1 - A)


# --------------------------------------------------------------------------- regressions (issue 15)
def test_support_enumeration_keeps_equilibria_with_rounding_noise():
    # nashpy's indifference solver rejects the probability -1e-17 it computes here: 0 equilibria.
    A = [[8, 0, 2], [2, 4, 4]]
    B = [[3, 3, 6], [9, 2, 0]]
    for method in ALL:
        assert as_set(solve(A, B, method)) == {((0.75, 0.25), (0.25, 0.0, 0.75))}, method


def test_constant_sum_optimal_sets_are_exactly_their_extreme_points():
    A = np.array([[2.0, 2.0], [0.0, 3.0], [3.0, 0.0]])
    expected = {((1.0, 0.0, 0.0), (0.666667, 0.333333)), ((1.0, 0.0, 0.0), (0.333333, 0.666667))}
    sol = zero_sum_lp(A, 3 - A)
    assert {tuple(np.round(y, 6)) for y in sol.col_vertices} == {(0.666667, 0.333333), (0.333333, 0.666667)}
    assert sol.exhaustive
    for method in ("auto", "lp", "vertex-enumeration"):
        assert as_set(solve(A, 3 - A, method)) == expected, method


@pytest.mark.parametrize("scale", [1e15, 1e-12])
def test_constant_sum_at_extreme_payoff_scales(scale):
    A = np.array([[2.0, 2.0], [0.0, 3.0], [3.0, 0.0]])
    found = solve(A * scale, (3 - A) * scale)
    assert as_set(found) == as_set(solve(A, 3 - A))
    assert zero_sum_lp(A * scale, (3 - A) * scale).value == pytest.approx(2 * scale)


def test_a_fallback_is_reported_not_silent(monkeypatch):
    from scipy.spatial import QhullError

    from gametheory import vertex_enumeration

    def refuse(M):
        raise QhullError("QH6154 Qhull precision error: initial simplex is flat")

    monkeypatch.setattr(vertex_enumeration, "polytope_vertices", refuse)
    A, B = np.array([[3.0, 0.0], [5.0, 1.0]]), np.array([[3.0, 5.0], [0.0, 1.0]])
    found = solve(A, B, "vertex-enumeration")
    assert as_set(found) == {((0.0, 1.0), (0.0, 1.0))}
    assert found.fallback.startswith("support-enumeration: qhull could not") and "QH6154" in found.fallback
    assert "\n" not in found.fallback
    plain = solve(A, B, "support-enumeration")
    assert plain.fallback is None and plain.report() == {"method": "support-enumeration", "fallback": None, "note": None}
    game = NormalFormGame(A, B)
    assert game.equilibria("vertex-enumeration").fallback == found.fallback


def test_pure_says_why_it_is_empty():
    A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    found = solve(A, -A, "pure")
    assert found == [] and found.note == "the game has no pure equilibrium"
