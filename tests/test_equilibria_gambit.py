"""Every method's promise, checked against Gambit's ``enummixed`` (exact, rational) on random games.

Integer payoffs in a small range make degenerate games common (ties, continua
of equilibria); a wider range gives nondegenerate ones. Gambit (pygambit) is a
test-only dependency: these tests are skipped where it is not installed.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from gametheory.equilibria import is_degenerate, regret, solve

gbt = pytest.importorskip("pygambit")

DIGITS = 6


def gambit_extreme(A, B) -> set:
    """Gambit's extreme equilibria of the bimatrix game (integer payoffs, exact arithmetic)."""
    game_type = getattr(gbt, "StrategicGame", None) or gbt.Game
    g = game_type.from_arrays(np.asarray(A, dtype=int), np.asarray(B, dtype=int))
    out = set()
    for eq in gbt.nash.enummixed_solve(g, rational=True).equilibria:
        profile = []
        for player in g.players:
            probs = [p[1] if isinstance(p, tuple) else p for p in eq[player]]
            profile.append(tuple(round(float(p), DIGITS) + 0.0 for p in probs))
        out.add(tuple(profile))
    return out


def as_set(eqs) -> set:
    return {(tuple(np.round(x, DIGITS) + 0.0), tuple(np.round(y, DIGITS) + 0.0)) for x, y in eqs}


def supports(profiles) -> set:
    return {(tuple(np.flatnonzero(np.array(x) > 0)), tuple(np.flatnonzero(np.array(y) > 0))) for x, y in profiles}


def games(max_size: int):
    """(A, B) with 1..max_size strategies each; payoffs 0..2 (mostly degenerate) or 0..50 (mostly not)."""

    @st.composite
    def game(draw):
        m = draw(st.integers(1, max_size))
        n = draw(st.integers(1, max_size))
        hi = draw(st.sampled_from([2, 50]))
        cells = st.integers(0, hi)
        A = draw(arrays(np.int64, (m, n), elements=cells))
        if draw(st.booleans()):
            B = hi - A  # constant-sum: auto takes the LP path
        else:
            B = draw(arrays(np.int64, (m, n), elements=cells))
        return A, B

    return game()


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(games(6))
def test_auto_and_vertex_enumeration_return_exactly_the_extreme_equilibria(game):
    A, B = game
    expected = gambit_extreme(A, B)
    assert as_set(solve(A, B, "auto")) == expected
    assert as_set(solve(A, B, "vertex-enumeration")) == expected


@PROPERTY
@given(games(6), st.sampled_from([1e-9, 1e-3, 1e6, 1e15]), st.integers(-1000, 1000))
def test_every_payoff_scale_gives_the_same_equilibria(game, scale, offset):
    A, B = game
    shift = offset * scale  # an offset far above the payoff differences would round them away in the input
    expected = as_set(solve(A, B, "auto"))
    assert as_set(solve(A * scale + shift, B * scale - shift, "auto")) == expected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(games(4))
def test_support_enumeration_finds_every_support_pair_with_an_equilibrium(game):
    A, B = game
    expected = gambit_extreme(A, B)
    found = solve(A, B, "support-enumeration")
    for x, y in found:
        assert max(regret(A, B, x, y)) <= 1e-7 * max(np.ptp(A), np.ptp(B), 1)
    # Every extreme equilibrium's supports hold an equilibrium, so one must be returned for them.
    assert supports(expected) <= supports(found)
    if not is_degenerate(A, B):  # nondegenerate: every equilibrium is extreme and isolated
        assert as_set(found) == expected


@PROPERTY
@given(games(6))
def test_lemke_howson_returns_extreme_equilibria(game):
    A, B = game
    found = as_set(solve(A, B, "lemke-howson"))
    assert found and found <= gambit_extreme(A, B)


@PROPERTY
@given(games(6))
def test_pure_returns_exactly_the_pure_equilibria(game):
    A, B = game
    pure = {e for e in gambit_extreme(A, B) if all(set(p) <= {0.0, 1.0} for p in e)}
    result = solve(A, B, "pure")
    assert as_set(result) == pure
    assert (result.note is None) == bool(pure)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_larger_games_every_profile_has_small_regret(data):
    m, n = data.draw(st.integers(7, 14)), data.draw(st.integers(7, 14))
    cells = st.integers(0, data.draw(st.sampled_from([2, 1000])))
    A = data.draw(arrays(np.int64, (m, n), elements=cells)).astype(float)
    B = data.draw(arrays(np.int64, (m, n), elements=cells)).astype(float)
    for method in ("auto", "lemke-howson"):
        found = solve(A, B, method)
        assert found, method
        for x, y in found:
            ra, rb = regret(A, B, x, y)
            assert ra <= 1e-8 * max(np.ptp(A), 1) and rb <= 1e-8 * max(np.ptp(B), 1)
