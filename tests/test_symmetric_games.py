"""Games where each attacker chooses: the spec, fill (full, DPR, search), resumption, solve --json.

Real training on scikit-learn's 8×8 digits with a tiny preset (the slow ones);
the spec tests train nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import main
from oracle.fill import make_oracle
from oracle.specs import SpecError
from oracle.store.cache import ResultCache
from oracle.symmetric_fill import analysis_profiles, fill_symmetric, solve_symmetric
from oracle.symmetric_spec import (Analysis, SymmetricGameSpec, game_spec_from_dict, load_game_spec,
                                   symmetric_spec_to_toml)

ROOT = Path(__file__).resolve().parents[1]

SPEC = """
[game]
name = "tiny-escalation"
n_attackers = {n}
attackers_choose = "each"
seeds = [3407, 3408]

[environment]
dataset = "digits"
v_d = 0.5
preset = "tiny"
preset_overrides = {{ max_epochs = 3, lr = 0.05 }}

[analysis]
method = "search"
samples = 1

[[attackers]]
name = "keep"
eps = 0.15
p = 0.3

[[attackers]]
name = "escalate"
eps = 0.55
p = 0.3

[[defenders]]
name = "small"
architecture = "smallcnn"
defense = "none"
"""


def _write(tmp_path: Path, text: str, name: str = "game.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------- the spec
@pytest.mark.parametrize("path,k,d,profiles,method", [
    ("examples/games/escalation.toml", 2, 1, 11, "search"),
    ("examples/games/escalation_p.toml", 2, 1, 11, "search"),
    ("examples/games/coordination.toml", 2, 2, 22, "search"),
    ("examples/games/coordination_random.toml", 2, 2, 22, "full"),
])
def test_example_games_are_role_symmetric(path, k, d, profiles, method):
    spec = load_game_spec(ROOT / path)
    assert isinstance(spec, SymmetricGameSpec)
    assert spec.n_attackers == 10 and len(spec.attackers) == k and len(spec.defenders) == d
    assert spec.num_profiles == profiles and spec.analysis.resolved(spec) == method


def test_own_labels_of_the_coordination_game_never_hit_the_shared_label():
    spec = load_game_spec(ROOT / "examples/games/coordination.toml")
    own = [a.target for a in spec.attackers["own label"].expand(10, 10)]
    assert 4 not in own and own[:9] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert [a.target for a in spec.attackers["shared label 4"].expand(10, 10)] == [4] * 10


def test_spec_round_trips_and_plain_specs_still_read(tmp_path):
    spec = load_game_spec(_write(tmp_path, SPEC.format(n=3)))
    again = game_spec_from_dict(__import__("tomllib").loads(symmetric_spec_to_toml(spec)))
    assert again == spec and again.analysis == Analysis(method="search", samples=1)
    plain = load_game_spec(ROOT / "examples/games/quickstart.toml")
    assert not isinstance(plain, SymmetricGameSpec) and plain.n_attackers == 20


def test_without_analysis_a_small_game_is_measured_whole():
    data = __import__("tomllib").loads(SPEC.format(n=3))
    del data["analysis"]
    spec = game_spec_from_dict(data)
    assert spec.num_profiles == 4 and spec.analysis.resolved(spec) == "full"


@pytest.mark.parametrize("old,new,message", [
    ('attackers_choose = "each"', 'attackers_choose = "some"', "[game]: unknown attackers_choose 'some': known choices are together, each (together: "),
    ('attackers_choose = "each"', "", "[analysis] is for games where each attacker chooses"),
    ('method = "search"', 'method = "dp"', "[analysis]: unknown method 'dp': known methods are full, dpr, search"),
    ('method = "search"', 'method = "dpr"', 'method = "dpr" needs dpr = k'),
    ('method = "search"', 'method = "dpr"\ndpr = 3', "dpr=3 is not a valid reduction of N=4: allowed 2, 4"),
    ("samples = 1", "samples = 3", "samples=3 exceeds the 2 seed(s)"),
    ("samples = 1", "confidence = 1.5", "confidence=1.5 is out of range: allowed (0, 1)"),
    ("samples = 1", "budget = 3", "[analysis]: unknown field(s) budget: allowed method, dpr"),
    ('name = "escalate"\neps = 0.55\np = 0.3',
     'name = "escalate"\ncomponents = [{ weight = 1, strategy = { name = "a", eps = 0.55 } }]',
     "'escalate' is a mixture"),
])
def test_bad_specs_are_one_line_errors(tmp_path, capsys, old, new, message):
    text = SPEC.format(n=4)
    assert old in text
    path = _write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(SpecError, match=None) as err:
        load_game_spec(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert main(["status", str(path), "--cache", str(tmp_path / "c.sqlite")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_bad_options_are_one_line_errors(tmp_path, capsys):
    path = _write(tmp_path, SPEC.format(n=4))
    assert main(["solve", str(path), "--dpr", "3", "--cache", str(tmp_path / "c.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dpr=3 is not a valid reduction of N=4" in err[0]


def test_solve_on_an_empty_cache_says_to_fill(tmp_path, capsys):
    path = _write(tmp_path, SPEC.format(n=3))
    assert main(["solve", str(path), "--full", "--cache", str(tmp_path / "c.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "4 of 4 profiles of the full game are not cached" in err[0] and "backfire fill" in err[0]


# ---------------------------------------------------------------------------- fills
@pytest.mark.slow
def test_dpr_fill_trains_only_the_profiles_the_reduced_game_reads(tmp_path, capsys):
    path = _write(tmp_path, SPEC.format(n=7).replace("seeds = [3407, 3408]", "seeds = [3407]").replace("samples = 1\n", ""))
    cache = ResultCache(tmp_path / "dpr.sqlite")
    oracle = make_oracle(load_game_spec(path), cache=cache)
    analysis = Analysis(method="dpr", dpr=3)
    needed = analysis_profiles(oracle.spec, "dpr", 3)
    # k = 3 reads (7,0), (4,3), (6,1), (1,6), (3,4), (0,7): six of the eight profiles of N = 7
    assert sorted(c for c, _ in needed) == [(0, 7), (1, 6), (3, 4), (4, 3), (6, 1), (7, 0)]
    report = fill_symmetric(oracle, analysis)
    assert len(report.jobs.trained) == 6 and len(cache) == 6 and set(report.profiles) == set(needed)
    summary, _ = solve_symmetric(oracle, analysis)
    assert summary.game == "DPR k=3" and summary.equilibria
    # the CLI solves the same from the cache; --full says what the full game lacks
    assert main(["solve", str(path), "--dpr", "3", "--json", "--cache", str(cache.path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "tiny-escalation" and out["game"] == "DPR k=3" and out["equilibria"][0]["attacker_payoff"] is not None
    assert main(["solve", str(path), "--full", "--cache", str(cache.path)]) == 2
    assert "2 of 8 profiles of the full game are not cached" in capsys.readouterr().err


@pytest.mark.slow
def test_search_fill_resumes_after_an_interruption_and_solves_from_the_cache(tmp_path, capsys):
    path = _write(tmp_path, SPEC.format(n=3))
    cache = ResultCache(tmp_path / "s.sqlite")
    oracle = make_oracle(load_game_spec(path), cache=cache)
    analysis = oracle.spec.analysis

    def stop_after_two(job, outcome, how):
        if how == "trained" and len(cache) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fill_symmetric(oracle, analysis, on_done=stop_after_two)
    assert len(cache) == 2  # every finished job is kept, no claim is left behind
    resumed = fill_symmetric(oracle, analysis)
    assert len(resumed.jobs.trained) == len(cache) - 2 and resumed.search is not None
    assert resumed.search.equilibria
    # a third fill trains nothing: the search replays from the cache
    again = fill_symmetric(oracle, analysis)
    assert again.jobs.trained == [] and again.profiles == resumed.profiles
    # solve --json, from the cache alone, reports what the fill found
    assert main(["solve", str(path), "--json", "--cache", str(cache.path)]) == 0
    out = json.loads(capsys.readouterr().out)
    found = [(e["attacker_mixture"], e["status"]) for e in out["equilibria"]]
    assert found == [(c.attacker_mixture(), c.status) for c in resumed.search.equilibria]
    assert {(tuple(m["counts"]), m["defender"]) for m in out["search"]["measured"]} == set(resumed.profiles)
    assert out["n_attackers"] == 3 and out["search"]["n_samples"] == resumed.search.n_samples
    for e in out["equilibria"]:
        assert sum(e["attacker_mixture"].values()) == pytest.approx(1.0)
        assert 0 <= e["attacker_payoff"] <= 1 and e["best"]
    # the CLI fill on the same cache trains nothing either, and status lists the measured profiles
    assert main(["fill", str(path), "--json", "--cache", str(cache.path)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["trained"] == 0
    assert main(["status", str(path), "--cache", str(cache.path)]) == 0
    assert "3 0" in capsys.readouterr().out


@pytest.mark.slow
def test_solve_of_a_symmetric_spec_imports_no_torch(tmp_path):
    path = _write(tmp_path, SPEC.format(n=3))
    code = ("import sys; from oracle.cli import main; "
            f"main(['solve', {str(path)!r}, '--cache', {str(tmp_path / 'c.sqlite')!r}]); "
            "sys.exit(2 if 'torch' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_search_fill_on_ray_matches_the_local_fill(tmp_path):
    pytest.importorskip("ray")
    path = _write(tmp_path, SPEC.format(n=3))
    local = make_oracle(load_game_spec(path), cache=ResultCache(tmp_path / "local.sqlite"))
    remote = make_oracle(load_game_spec(path), cache=ResultCache(tmp_path / "ray.sqlite"))
    a = fill_symmetric(local, local.spec.analysis)
    b = fill_symmetric(remote, remote.spec.analysis, executor="ray")
    assert a.profiles == b.profiles and len(b.jobs.trained) == len(remote.cache) > 0
    assert [c.attacker_mixture() for c in a.search.equilibria] == [c.attacker_mixture() for c in b.search.equilibria]
    for job in a.jobs.trained:
        x, y = local.cached(job), remote.cached(job)
        assert x.asr == y.asr and x.defender_val_acc == y.defender_val_acc
