"""The command line: `backfire solve`, its output, its errors, and its start without torch."""

import json
import subprocess
import sys

import pytest

from oracle.cli import main

TABLE6 = "examples/payoffs/table6.csv"


def test_solve_table6_text(capsys):
    assert main(["solve", TABLE6]) == 0
    out = capsys.readouterr().out
    assert "1 equilibrium" in out
    assert "attacker plays:  Random triggers: 1.00" in out
    assert "defender plays:  Defense: 1.00" in out
    assert "expected payoff: attacker 20.3, defender 79.7" in out
    assert "(payoffs ×100)" in out
    assert "Each cell: (attacker payoff, defender payoff)." in out and "±" not in out


def test_solve_table6_json(capsys):
    assert main(["solve", TABLE6, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (eq,) = data["equilibria"]
    assert eq["strategies"] == {"attacker": {"Random triggers": 1.0}, "defender": {"Defense": 1.0}}
    assert eq["payoffs"]["attacker"] == pytest.approx(20.3) and eq["payoffs"]["defender"] == pytest.approx(79.7)
    assert data["constant_sum"] is True and data["value"] == pytest.approx(20.3)


@pytest.mark.parametrize("method", ["support-enumeration", "vertex-enumeration", "lemke-howson", "lp", "pure"])
def test_solve_every_method_agrees(capsys, method):
    assert main(["solve", TABLE6, "--json", "--method", method, "--scale", "1"]) == 0
    (eq,) = json.loads(capsys.readouterr().out)["equilibria"]
    assert eq["payoffs"]["attacker"] == pytest.approx(0.203)


def test_solve_mixed_game_and_bootstrap(tmp_path, capsys):
    rows = ["attacker,defender,attacker_payoff,defender_payoff,seed"]
    for s, eps in enumerate([0.0, 0.02, -0.02]):
        rows += [f"heads,heads,{1 + eps},{-1 - eps},{s}", f"heads,tails,-1,1,{s}",
                 f"tails,heads,-1,1,{s}", f"tails,tails,{1 + eps},{-1 - eps},{s}"]
    path = tmp_path / "pennies.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["solve", str(path), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "(mixed)" in out and "heads: 0.50, tails: 0.50" in out
    assert "bootstrap:       20 resamples of the seeds: same support in 100.0%" in out
    # what ± means, said once, under the table where it first appears
    assert out.count("±: standard deviation of the attacker payoff over seeds, n: seeds.") == 1
    # three seeds a cell: the bootstrap is flagged as thin, in the text and in --json
    assert "Warning: some cells have only 3 seed(s) (fewer than 5)" in out
    assert main(["solve", str(path), "--bootstrap", "20", "--json"]) == 0
    (warning,) = json.loads(capsys.readouterr().out)["warnings"]
    assert "only 3 seed(s)" in warning


def test_enough_seeds_no_thin_warning(tmp_path, capsys):
    rows = ["attacker,defender,attacker_payoff,defender_payoff,seed"]
    for s in range(5):
        e = 0.01 * s
        rows += [f"a,x,{0.6 + e},{0.4 - e},{s}", f"a,y,{0.2 + e},{0.8 - e},{s}",
                 f"b,x,{0.3 + e},{0.7 - e},{s}", f"b,y,{0.5 + e},{0.5 - e},{s}"]
    path = tmp_path / "five.csv"
    path.write_text("\n".join(rows) + "\n")
    assert main(["solve", str(path), "--bootstrap", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
    assert main(["solve", str(path), "--bootstrap", "10"]) == 0
    assert "Warning" not in capsys.readouterr().out


BAD = [
    (["solve", "does/not/exist.csv"], "no such file"),
    (["solve", TABLE6, "--method", "magic"], "invalid choice: 'magic'"),
    (["solve", TABLE6, "--tol", "-1"], "--tol=-1.0 is out of range"),
    (["solve", TABLE6, "--bootstrap", "5"], "--bootstrap needs per-seed samples"),
    (["solve", "examples/games/whatever.toml"], "whatever.toml: no such file"),
    (["fill", "examples/games/quickstart.toml", "--max-cells", "-1"], "--max-cells=-1 is out of range"),
    (["status", "nope.toml"], "nope.toml: no such file"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "required: command"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_line_and_status_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_malformed_table_one_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("attacker,defender,attacker_payoff,defender_payoff\nx,y,1,2\nx,z,oops,2\n")
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 'attacker_payoff': 'oops' is not a number" in err and err.count("\n") == 1


def test_missing_cell_is_reported(tmp_path, capsys):
    path = tmp_path / "holes.csv"
    path.write_text("attacker,defender,attacker_payoff,defender_payoff\nx,y,1,0\nz,w,0,1\n")
    assert main(["solve", str(path)]) == 2
    assert "2 cell(s) missing: ('x', 'w'); ('z', 'y')" in capsys.readouterr().err


def test_console_script_starts_without_torch():
    code = (
        "import sys; from oracle.cli import main; rc = main(['solve', 'examples/payoffs/table6.csv', '--json']);"
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["equilibria"][0]["strategies"]["defender"] == {"Defense": 1.0}


def test_gametheory_and_strategies_never_import_torch():
    code = "import sys, gametheory, strategies, gametheory.symmetric; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_suggested_commands_keep_the_options_given():
    import argparse

    from oracle.cli.common import command, duration

    args = argparse.Namespace(spec="my game.toml", seeds=[1, 2], cache="/tmp/c.sqlite", data_dir=None, device="cuda")
    assert command(args, "fill") == "backfire fill 'my game.toml' --seeds 1 2 --cache /tmp/c.sqlite --device cuda"
    assert command(args, "solve") == "backfire solve 'my game.toml' --seeds 1 2 --cache /tmp/c.sqlite"
    assert [duration(s) for s in (42, 600, 4 * 3600)] == ["42 s", "10 min", "4.0 h"]


def test_status_estimates_missing_time_from_cached_timings(tmp_path, capsys):
    """Outcomes stored with known timings (no training): the estimate is their median per defender."""
    from oracle.cli.common import estimate_seconds
    from oracle.payoff_oracle import PayoffOracle
    from oracle.specs import load_spec
    from oracle.store.cache import ResultCache
    from oracle.store.outcome import Outcome

    spec_path = tmp_path / "g.toml"
    spec_path.write_text(
        '[game]\nname = "g"\nn_attackers = 2\nseeds = [1, 2]\n'
        '[environment]\ndataset = "digits"\nv_d = 0.5\nn_max = 2\npreset = "tiny"\n'
        '[[attackers]]\nname = "a"\neps = 0.5\np = 0.2\nlabels = { kind = "random" }\n'
        '[[defenders]]\nname = "plain"\narchitecture = "smallcnn"\ndefense = "none"\n'
        '[[defenders]]\nname = "filter"\narchitecture = "smallcnn"\ndefense = "spectral-signatures"\n'
    )
    cache = tmp_path / "c.sqlite"
    oracle = PayoffOracle(load_spec(spec_path), cache=ResultCache(cache), train=False)
    assert estimate_seconds(oracle, oracle.missing()) is None
    seconds = {"plain": 10.0, "filter": 30.0}
    for job in oracle.jobs(seeds=[1]):
        oracle.store(job, Outcome(asr=(1.0, 0.0), asr_excluding_target=(1.0, 0.0), clean_label_acc=(0.0, 1.0),
                                  clean_acc=(0.9, 0.9), targets=(1, 2), defender_val_acc=0.9, seed=1,
                                  timings={"train": seconds[job.defender.label] - 1, "poison": 1.0},
                                  environment={"device": "cpu"}))
    total, where = estimate_seconds(oracle, oracle.missing())
    assert total == 40.0 and "2 cached job(s) of this game" in where and "cpu" in where
    assert main(["status", str(spec_path), "--cache", str(cache), "--seeds", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 of 4 distinct job(s) missing; about 40 s to train" in out
    assert f"fill them: backfire fill {spec_path} --seeds 1 2 --cache {cache}" in out


def test_not_a_cache_names_the_fix(tmp_path, capsys):
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("hello\n")
    assert main(["status", "examples/games/demo.toml", "--cache", str(bogus)]) == 2
    err = capsys.readouterr().err
    assert "is not a backfire result cache" in err and "point --cache (or $BACKFIRE_CACHE) at" in err
    assert err.count("\n") == 1
