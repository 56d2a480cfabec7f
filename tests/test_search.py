"""Adaptive equilibrium search: known equilibria under noise, budget, resuming, adaptive seeds, DPR, summaries."""

import json
import math

import numpy as np
import pytest

from gametheory.sampling import PayoffSourceSampler, confidence_radius, union_delta
from gametheory.deviations import deviation_gains
from gametheory.search import SearchConfig, equilibrium_search
from gametheory.sources import MappingSource
from gametheory.symmetric import RoleSymmetricGame
from gametheory.symmetric_report import best_symmetric_outcome, summarize_search, summarize_symmetric
from gametheory.synthetic import SyntheticGame, SyntheticSource, coordination_game, escalation_game, random_game

N = 21


def search(game, source=None, **options):
    source = SyntheticSource(game) if source is None else source
    return equilibrium_search(source, game.attacker_strategies, game.defender_strategies, game.n_attackers, **options)


def mixtures(result):
    return [(c.attacker_mixture(), c.defender_mixture()) for c in result.equilibria]


def near_miss_game(n=N):
    """All on "a" is the equilibrium; switching to "b" loses only 0.03 (ambiguous under noise), to "c" 0.3."""
    def mean(c, d):
        return np.array([0.5, 0.47, 0.2]), float(1 - (c @ np.array([0.5, 0.47, 0.2])) / n)
    return SyntheticGame(("a", "b", "c"), ("none",), n, mean, "near-miss")


# --------------------------------------------------------------------------- known equilibria
def test_escalation_finds_and_confirms_dominant_escalation():
    game = escalation_game(N)
    result = search(game)
    assert mixtures(result)[0] == ({"escalate": 1.0}, {"filter": 1.0})
    assert result.equilibria[0].status in ("confirmed", "accepted")
    assert game.true_game().regret(result.equilibria[0].sigma, result.equilibria[0].tau).max == 0
    assert not any(m == ({"keep": 1.0}, {"none": 1.0}) for m in mixtures(result))
    first = search(game, stop_at_first=True)
    assert mixtures(first)[0] == ({"escalate": 1.0}, {"filter": 1.0})
    assert first.n_profiles < RoleSymmetricGame(game.attacker_strategies, game.defender_strategies, N).num_profiles


def test_coordination_finds_both_pure_equilibria_and_confirms_them():
    result = search(coordination_game(N))
    found = mixtures(result)
    assert ({"target A": 1.0}, {"none": 1.0}) in found and ({"target B": 1.0}, {"none": 1.0}) in found
    assert all(c.status == "confirmed" for c in result.equilibria)
    assert result.n_profiles == 4  # two pure profiles and one deviation from each: no subgame grows


def test_random_games_returned_equilibria_have_small_true_regret():
    for seed in range(3):
        game = random_game(N, 3, 2, seed)
        result = search(game, dpr=3, stop_at_first=True)
        assert result.equilibria, seed
        true = game.true_game()
        assert true.reduce(3).regret(result.equilibria[0].sigma, result.equilibria[0].tau).max < 0.05


# --------------------------------------------------------------------------- budget and resuming
def test_budget_in_profiles_and_samples_is_respected():
    game = random_game(N, 3, 2, 0)
    result = search(game, max_profiles=7)
    assert result.n_profiles <= 7 and result.budget_exhausted
    result = search(game, max_samples=40)
    assert result.n_samples <= 40 and result.budget_exhausted
    assert all(isinstance(batch, list) and batch for batch in result.steps)


def test_resuming_from_a_cache_measures_nothing_again_and_ends_the_same():
    game = random_game(N, 3, 2, 1)
    fresh = SyntheticSource(game)
    direct = search(game, fresh)
    cache: dict = {}
    first = SyntheticSource(game, cache=cache)
    partial = search(game, first, max_profiles=10)
    assert partial.budget_exhausted and first.draws < fresh.draws
    second = SyntheticSource(game, cache=cache)
    resumed = search(game, second)
    assert first.draws + second.draws == fresh.draws
    assert resumed.measured == direct.measured and mixtures(resumed) == mixtures(direct)
    again = SyntheticSource(game, cache=cache)
    search(game, again)
    assert again.draws == 0


def test_plain_payoff_source_and_missing_profiles_are_reported():
    game = escalation_game(N)
    table = {p: game.payoffs(p) for p in game.true_game().all_profiles() if p != ((20, 1), "filter")}
    sampler = PayoffSourceSampler(MappingSource(table))
    result = search(game, sampler)
    assert ((20, 1), "filter") in result.missing
    assert all(n == 1 for n in result.measured.values())


# --------------------------------------------------------------------------- adaptive seeds
def test_adaptive_seeds_go_to_the_ambiguous_deviation_only():
    game = near_miss_game()
    result = search(game, initial_samples=2, max_samples_per_profile=32)
    assert ({"a": 1.0}, {"none": 1.0}) in mixtures(result)
    m = result.measured
    assert m[((20, 1, 0), "none")] == 32 and m[((21, 0, 0), "none")] == 32  # the near-miss deviation
    assert np.median(list(m.values())) == 2  # most profiles keep their first two samples
    pure_a = next(c for c in result.equilibria if c.attacker_mixture() == {"a": 1.0})
    estimate, radius = pure_a.gains["attacker:b"]
    assert estimate - radius < 0 < estimate + radius  # still ambiguous at the cap: accepted, not confirmed
    assert pure_a.status == "accepted"


def test_hoeffding_radius_formula_and_union_bound():
    assert confidence_radius(np.full(8, 0.5), 0.01, "hoeffding") == pytest.approx(math.sqrt(math.log(200) / 16))
    assert confidence_radius(np.array([0.3]), 0.01, "t") == math.inf
    assert union_delta(0.05, 10) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="interval"):
        SearchConfig(interval="bootstrap")


# --------------------------------------------------------------------------- DPR and gains
def test_dpr_search_measures_only_profiles_the_reduced_game_reads():
    game = escalation_game(N)
    result = search(game, dpr=3)
    full = RoleSymmetricGame(game.attacker_strategies, game.defender_strategies, N)
    reads = {p for ps in full.dpr_required_profiles(3).values() for p in ps}
    assert set(result.measured) <= reads
    assert mixtures(result)[0] == ({"escalate": 1.0}, {"filter": 1.0})
    assert result.game.n_attackers == 3


def test_deviation_gains_agree_with_the_game_regret():
    rng = np.random.default_rng(3407)
    game = random_game(6, 3, 2, 7).true_game()
    game.fill()
    for _ in range(5):
        sigma, tau = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(2))
        gains = deviation_gains(6, sigma, tau, game.attacker_strategies, game.defender_strategies)
        value = {g: sum(w * game.payoffs(p)[role] for (p, role), w in ws.items()) for g, ws in gains.items()}
        regret = game.regret(sigma, tau)
        assert max(0, max(v for g, v in value.items() if g.startswith("attacker"))) == pytest.approx(regret.attacker)
        assert max(0, max(v for g, v in value.items() if g.startswith("defender"))) == pytest.approx(regret.defender)


# --------------------------------------------------------------------------- summaries
def test_summary_of_escalation_has_price_of_anarchy_of_mutual_escalation():
    true = escalation_game(N).true_game()
    true.fill()
    summary = summarize_symmetric(true, true.find_equilibria())
    (eq,) = summary.equilibria
    assert eq.attacker_mixture == {"escalate": 1.0} and eq.attacker_payoff == pytest.approx(0.32)
    assert eq.defender_payoff == pytest.approx(1 - 0.32 - 0.02)
    for best in eq.best:
        assert best.attacker_mixture == {"keep": 1.0} and best.attacker_payoff == pytest.approx(0.48)
    assert eq.price_of_anarchy["defender best-responds"] == pytest.approx(1.5)
    assert not summary.missing and len(summary.measured) == true.num_profiles
    json.dumps(summary.to_dict())


def test_best_outcome_against_best_reply_breaks_ties_against_attackers():
    true = escalation_game(N).true_game()
    true.fill()
    best = best_symmetric_outcome(true, None)
    assert best.defender_mixture == {"filter": 1.0}


def test_search_summary_is_json_and_lists_unmeasured_profiles():
    result = search(coordination_game(N))
    summary = summarize_search(result)
    data = json.loads(json.dumps(summary.to_dict()))
    assert len(data["equilibria"]) == 2 and data["missing"]
    assert data["equilibria"][0]["status"] == "confirmed"
    json.dumps(result.to_dict())


def test_benchmark_quick_runs_and_prints_its_table(capsys):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "search.py"
    spec = importlib.util.spec_from_file_location("benchmark_search", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--quick"])
    out = capsys.readouterr().out
    for method in ("full", "dpr", "search", "search-dpr"):
        assert f"| {method} |" in out


def test_noise_free_samples_confirm_without_extra_seeds_and_hoeffding_stays_cautious():
    game = escalation_game(N)
    exact = search(game, SyntheticSource(game, concentration=None), stop_at_first=True)
    assert exact.equilibria[0].status == "confirmed" and set(exact.measured.values()) == {2}
    wide = search(game, interval="hoeffding", stop_at_first=True)
    assert mixtures(wide)[0] == ({"escalate": 1.0}, {"filter": 1.0})
    assert wide.equilibria[0].status == "accepted"  # ±0.8-wide intervals at 16 seeds settle nothing
    assert wide.equilibria[0].regret_bound > 0.1


def test_bad_options_are_rejected_with_the_allowed_values():
    game = escalation_game(N)
    with pytest.raises(ValueError, match="allowed"):
        search(game, dpr=4)
    with pytest.raises(ValueError, match="delta"):
        search(game, delta=1.5)
    with pytest.raises(ValueError, match="sample"):
        equilibrium_search(object(), game.attacker_strategies, game.defender_strategies, N)
