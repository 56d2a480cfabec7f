"""Getting results out: `backfire table` (per-attacker export) read back by `solve` and pandas,
`solve --json`'s table, dominance steps and missing cells, and `backfire plot`.

The caches are written through the real oracle's keys (``PayoffOracle.store``)
with outcomes drawn from a seeded generator, so these tests train nothing;
one slow test fills a tiny game for real and round-trips it.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gametheory import PayoffTable, RoleSymmetricGame
from gametheory.plots import deviation_curves, plot_deviation_payoffs, plot_payoff_heatmap
from oracle.cli import main
from oracle.export import COLUMNS
from oracle.fill import make_oracle
from oracle.specs import load_spec
from oracle.store.cache import ResultCache
from oracle.store.outcome import Outcome
from test_federated_game import TINY as FEDERATED
from test_oracle import SPEC as ORACLE_SPEC
from test_symmetric_games import SPEC as SYMMETRIC_SPEC

MIX = """
[[attackers]]
name = "mix"
components = [
  { weight = 1, strategy = { name = "mix: independent", eps = 0.55, p = 0.2, labels = { kind = "random" } } },
  { weight = 3, strategy = { name = "mix: low eps", eps = 0.3, p = 0.2, labels = { kind = "random" } } },
]
"""
# test_oracle's tiny digits game (N = 3) with two seeds, LeNet as the second defender and a mixed attacker strategy
SPEC = ORACLE_SPEC.replace("seeds = [3407]", "seeds = [3407, 1]").replace(
    'name = "small, 2 epochs"\narchitecture = "smallcnn"', 'name = "LeNet"\narchitecture = "lenet"') + MIX


def _outcome(rng: np.random.Generator, n: int, seed: int, federated: bool = False) -> Outcome:
    asr = rng.uniform(0, 1, n)
    main_acc = float(rng.uniform(0.6, 0.9))
    env = {"device": "cpu", "python": "3.12", "numpy": "2", "torch": "2.9"}
    if federated:
        return Outcome(asr=asr, asr_excluding_target=asr, clean_label_acc=[math.nan] * n, clean_acc=[main_acc] * n,
                       targets=[1] * n, defender_val_acc=main_acc, seed=seed, environment=env)
    return Outcome(asr=asr, asr_excluding_target=asr * 0.9, clean_label_acc=rng.uniform(0, 1, n),
                   clean_acc=rng.uniform(0.8, 1, n), targets=rng.integers(0, 10, n), defender_val_acc=main_acc,
                   seed=seed, environment=env)


def _filled(tmp_path, text: str, name: str, federated: bool = False, skip: int | None = None):
    """A spec file and a cache holding an outcome for every job (but the ``skip``-th), under the oracle's keys."""
    spec_path = tmp_path / f"{name}.toml"
    spec_path.write_text(text)
    cache = tmp_path / f"{name}.sqlite"
    oracle = make_oracle(load_spec(spec_path), cache=ResultCache(cache), train=False)
    rng = np.random.default_rng(3407)
    for k, job in enumerate(oracle.jobs()):
        if k != skip:
            oracle.store(job, _outcome(rng, oracle.spec.n_attackers, job.seed, federated))
    return spec_path, cache, oracle


ALL_ON_4_SMALL_3407 = 4  # the index in oracle.jobs() of a job no other cell shares ("independent" is a mix component)


@pytest.fixture()
def filled(tmp_path):
    return _filled(tmp_path, SPEC, "export")


def _solve_json(capsys, *argv) -> dict:
    assert main(["solve", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_table_csv_round_trip_to_solve_and_pandas(filled, tmp_path, capsys):
    spec_path, cache, oracle = filled
    out = tmp_path / "rows.csv"
    assert main(["table", str(spec_path), "--cache", str(cache), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == list(COLUMNS)
    # 3 attacker rows per outcome; cells: 2 pure × 2 defenders × 2 seeds, the mix 2 components × 2 × 2
    assert len(df) == 3 * (2 * 2 * 2 + 2 * 2 * 2)
    mix = df[df["attacker"] == "mix"]
    assert sorted(mix["weight"].unique()) == [0.25, 0.75] and set(mix["strategy"]) == {"mix: independent", "mix: low eps"}
    assert (df["n_attackers"] == 3).all() and (df["dataset"] == "digits").all() and (df["preset"] == "tiny").all()
    assert set(df["attacker_index"]) == {0, 1, 2} and df["versions"].str.contains("torch=2.9").all()
    # the export read back gives the spec's own payoff table, seed by seed, and the same equilibria
    table = PayoffTable.read(out)
    direct = oracle.table()
    for role in ("attacker", "defender"):
        np.testing.assert_allclose(table.mean(role), direct.mean(role), rtol=0, atol=1e-12)
        np.testing.assert_allclose(table.std(role), direct.std(role), rtol=0, atol=1e-12)
    from_spec = _solve_json(capsys, str(spec_path), "--cache", str(cache))
    from_csv = _solve_json(capsys, str(out))
    assert [e["strategies"] for e in from_csv["equilibria"]] == [e["strategies"] for e in from_spec["equilibria"]]
    for a, b in zip(from_csv["equilibria"], from_spec["equilibria"]):
        assert a["payoffs"] == pytest.approx(b["payoffs"], abs=1e-9)
    assert from_csv["table"] == from_spec["table"]
    # the per-seed samples survive the export: the bootstrap runs on it
    assert main(["solve", str(out), "--bootstrap", "20"]) == 0
    assert "20 resamples of the seeds" in capsys.readouterr().out


def test_table_json_shape_and_read_back(filled, capsys):
    spec_path, cache, oracle = filled
    assert main(["table", str(spec_path), "--cache", str(cache), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"meta", "missing", "rows"} and data["missing"] == []
    assert data["meta"]["game"] == "tiny" and data["meta"]["columns"] == list(COLUMNS)
    assert all(list(r) == list(COLUMNS) for r in data["rows"])
    first = data["rows"][0]
    assert first["attacker"] == "independent" and first["seed"] == 3407 and first["component"] == 0
    assert first["defender_payoff"] == pytest.approx(1 - np.mean([r["attack_success"] for r in data["rows"][:3]]))
    frame = pd.DataFrame(data["rows"])
    np.testing.assert_allclose(PayoffTable.from_dataframe(frame).mean("attacker"), oracle.table().mean("attacker"))
    text = json.dumps(data)
    np.testing.assert_allclose(PayoffTable.read_json_text(text).mean("defender"), oracle.table().mean("defender"))


def test_table_of_a_partial_cache_names_what_is_missing(tmp_path, capsys):
    spec_path, cache, _ = _filled(tmp_path, SPEC, "partial", skip=ALL_ON_4_SMALL_3407)
    out = tmp_path / "partial.csv"
    assert main(["table", str(spec_path), "--cache", str(cache), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 outcome(s) not cached and left out: ('all on 4', 'small', seed 3407)" in err
    # read back, the cell keeps the seed it has; nothing is invented for the missing one
    table = PayoffTable.read(out)
    assert table.count()[1, 0] == 1 and table.count()[0, 0] == 2


def test_table_and_plot_import_no_torch(filled, tmp_path):
    spec_path, cache, _ = filled
    code = ("import sys; from oracle.cli import main; "
            f"rc = main(['table', {str(spec_path)!r}, '--cache', {str(cache)!r}, '--out', {str(tmp_path / 'r.csv')!r}]) "
            f"or main(['plot', {str(tmp_path / 'r.csv')!r}, '--out', {str(tmp_path / 'r.png')!r}]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_table_bad_input(filled, tmp_path, capsys):
    spec_path, cache, _ = filled
    for argv, message in [
        (["--out", str(tmp_path / "x.txt")], "unknown file type '.txt' (allowed: .csv, .json)"),
        (["--json", "--out", str(tmp_path / "x.csv")], "does not match --json"),
        (["--csv", "--json"], "not allowed with argument"),
    ]:
        assert main(["table", str(spec_path), "--cache", str(cache), *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main(["table", str(spec_path), "--cache", str(tmp_path / "empty.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "no cached outcome" in err and "backfire fill" in err and err.count("\n") == 1


def test_federated_table_columns_and_round_trip(tmp_path, capsys):
    spec_path, cache, oracle = _filled(tmp_path, FEDERATED, "fed", federated=True)
    out = tmp_path / "fed.csv"
    assert main(["table", str(spec_path), "--cache", str(cache), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 2 * 2 * 2 and (df["kind"] == "federated").all() and (df["dataset"] == "ardis").all()
    assert df["clean_label_acc"].isna().all() and (df["preset"] == "reduced").all()
    assert (df["clean_acc"] == df["defender_val_acc"]).all()
    # the federated defender payoff: main-task accuracy minus the mean backdoor accuracy
    one = df[(df["attacker"] == "competing") & (df["defender"] == "Krum")]
    assert one["defender_payoff"].iloc[0] == pytest.approx(one["defender_val_acc"].iloc[0] - one["attack_success"].mean())
    np.testing.assert_allclose(PayoffTable.read(out).mean("defender"), oracle.table().mean("defender"), atol=1e-12)


PER_ATTACKER_BAD = [
    ("attacker,defender,attacker_index,attack_success,defender_payoff\na,d,0,0.5,0.5\na,d,2,0.5,0.5\n",
     "attacker_index values [0, 2] are not 0 … N-1"),
    ("attacker,defender,component,weight,attacker_index,attack_success,defender_payoff\na,d,0,0.5,0,0.5,0.5\n",
     "component weights sum to 0.5, not 1"),
    ("attacker,defender,attacker_index,attack_success,defender_payoff\na,d,0,high,0.5\n",
     "line 2, column 'attack_success': 'high' is not a number"),
    ("attacker,defender,attack_success,defender_payoff\na,d,0.5,0.5\n", "lacks column(s) attacker_index"),
]


@pytest.mark.parametrize("text,message", PER_ATTACKER_BAD)
def test_bad_per_attacker_file_is_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "rows.csv"
    path.write_text(text)
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_solve_json_carries_table_elimination_and_missing(capsys):
    data = _solve_json(capsys, "examples/payoffs/table6.csv")
    assert data["complete"] is True and data["missing"] == []
    cell = next(c for c in data["table"]["cells"] if c["attacker"] == "Random triggers" and c["defender"] == "Defense")
    assert cell["attacker_payoff"] == {"mean": pytest.approx(20.3), "std": 0.0, "n": 1} and cell["seeds"] == []
    # the order docs/reproduction.md gives: three attacker rows, then "No Defense", then "100% label overlap"
    steps = [(s["step"], s["role"], s["strategy"]) for s in data["elimination"]["steps"]]
    assert steps == [(1, "attacker", "eps = 0.55"), (2, "attacker", "0% label overlap"),
                     (3, "attacker", "Orthogonal triggers"), (4, "defender", "No Defense"),
                     (5, "attacker", "100% label overlap")]
    assert data["elimination"]["surviving"] == {"attacker": ["Random triggers"], "defender": ["Defense"]}


def test_solve_json_with_missing_cells_reports_then_fails(tmp_path, capsys):
    spec_path, cache, _ = _filled(tmp_path, SPEC, "holes", skip=ALL_ON_4_SMALL_3407)
    assert main(["solve", str(spec_path), "--cache", str(cache), "--json"]) == 2
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["complete"] is False and data["missing"] == [{"attacker": "all on 4", "defender": "small"}]
    assert len(data["table"]["cells"]) == 5 and data["equilibria"] == []
    assert "1 of 6 cells have no cached result" in captured.err and captured.err.count("\n") == 1


def test_solve_json_seeds_and_std(filled, capsys):
    spec_path, cache, oracle = filled
    data = _solve_json(capsys, str(spec_path), "--cache", str(cache), "--scale", "1")
    cell = data["table"]["cells"][0]
    samples = oracle.table().samples("independent", "small")[:, 0]
    assert cell["seeds"] == [1, 3407] and cell["attacker_payoff"]["n"] == 2
    assert cell["attacker_payoff"]["std"] == pytest.approx(np.std(samples, ddof=1))


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_plot_heatmap_png_and_svg(tmp_path, capsys):
    png, svg = tmp_path / "t6.png", tmp_path / "t6.svg"
    assert main(["plot", "examples/payoffs/table6.csv", "--out", str(png), "--size", "6", "4", "--dpi", "100"]) == 0
    assert "1 equilibrium marked" in capsys.readouterr().out
    assert _png_size(png) == (600, 400)
    assert main(["plot", "examples/payoffs/table6.csv", "--out", str(svg), "--size", "6", "4"]) == 0
    text = svg.read_text()
    assert "<svg" in text and 'width="432pt"' in text and 'height="288pt"' in text
    assert "Random triggers" in text  # labels are text in the SVG


def test_plot_marks_every_equilibrium_support():
    # matching pennies plus a pure game: a mixed NE's support is the whole table, outlined cell by cell
    table = PayoffTable.from_matrices([[1, 0], [0, 1]], [[0, 1], [1, 0]], ["H", "T"], ["h", "t"])
    from gametheory import NormalFormGame

    eqs = NormalFormGame.from_table(table).equilibria()
    fig = plot_payoff_heatmap(table, equilibria=eqs)
    outlined = [p for p in fig.axes[0].patches if not p.get_fill()]
    assert len(eqs) == 1 and len(outlined) == 4
    pure = PayoffTable.from_matrices([[3, 0], [5, 1]], [[3, 5], [0, 1]], ["C", "D"], ["c", "d"])  # prisoner's dilemma
    fig = plot_payoff_heatmap(pure, equilibria=NormalFormGame.from_table(pure).equilibria())
    (box,) = [p for p in fig.axes[0].patches if not p.get_fill()]
    assert box.get_xy() == pytest.approx((0.5, 0.5))  # the (D, d) cell: column 1, row 1


def test_plot_spec_with_missing_cells_and_per_attacker_file(tmp_path, capsys):
    spec_path, cache, _ = _filled(tmp_path, SPEC, "holes", skip=ALL_ON_4_SMALL_3407)
    out = tmp_path / "holes.png"
    assert main(["plot", str(spec_path), "--cache", str(cache), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "0 equilibria marked" in captured.out and "1 cell(s) have no payoff" in captured.err
    assert out.stat().st_size > 1000
    rows = tmp_path / "rows.json"
    spec_full, cache_full, _ = _filled(tmp_path, SPEC, "full")
    assert main(["table", str(spec_full), "--cache", str(cache_full), "--json", "--out", str(rows)]) == 0
    assert main(["plot", str(rows), "--out", str(tmp_path / "rows.svg")]) == 0
    assert "marked" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--out", "fig.jpg"], "--out=fig.jpg: unknown figure type '.jpg' (allowed: .png, .svg)"),
    (["--out", "no/such/folder/fig.png"], "folder no/such/folder does not exist"),
    (["--out", "fig.png", "--dpi", "0"], "--dpi=0 is out of range: allowed [1, inf)"),
    ([], "the following arguments are required: --out"),
])
def test_plot_bad_input(capsys, argv, message):
    assert main(["plot", "examples/payoffs/table6.csv", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _symmetric_game(n: int = 4) -> RoleSymmetricGame:
    """Escalation-like: escalating pays 0.2 more for oneself but costs every attacker 0.1 per escalator."""
    game = RoleSymmetricGame(["keep", "escalate"], ["none", "defense"], n)
    for counts, d in game.all_profiles():
        base = 0.6 - 0.1 * counts[1] - (0.3 if d == "defense" else 0.0)
        attacker = {s: base + (0.2 if s == "escalate" else 0.0) for s, c in zip(["keep", "escalate"], counts) if c}
        game.set_payoffs((counts, d), attacker, 1 - base)
    return game


def test_deviation_curves_values():
    game = _symmetric_game(4)
    curves = deviation_curves(game)
    assert set(curves["focal"]) == {"escalate"}  # two strategies: one axis, "how many others escalate"
    none = curves[curves["defender"] == "none"]
    esc, keep = none[none["strategy"] == "escalate"], none[none["strategy"] == "keep"]
    assert esc["others"].tolist() == [0, 1, 2, 3]
    # j others escalate: escalating makes j + 1 escalators (and pays 0.2 more), keeping leaves j
    np.testing.assert_allclose(esc["payoff"], [0.6 - 0.1 * (j + 1) + 0.2 for j in range(4)])
    np.testing.assert_allclose(keep["payoff"], [0.6 - 0.1 * j for j in range(4)])
    defended = curves[(curves["defender"] == "defense") & (curves["strategy"] == "keep")]
    np.testing.assert_allclose(defended["payoff"], [0.3 - 0.1 * j for j in range(4)])
    # three strategies: the others not playing the focal one mix by the background
    three = RoleSymmetricGame(["a", "b", "c"], ["d"], 2)
    for counts, d in three.all_profiles():
        three.set_payoffs((counts, d), {s: float(10 * i + counts[1]) for i, (s, c) in enumerate(zip("abc", counts)) if c},
                          0.0)
    assert set(deviation_curves(three)["focal"]) == {"a", "b", "c"}
    a = deviation_curves(three, background=[0.0, 0.25, 0.75], focal=["a"])
    at0 = a[a["others"] == 0].set_index("strategy")
    assert at0.loc["a", "payoff"] == pytest.approx(0.25 * 1 + 0.75 * 0) and at0.loc["a", "profiles"] == 2
    assert at0.loc["b", "payoff"] == pytest.approx(0.25 * 12 + 0.75 * 11)
    with pytest.raises(ValueError, match="background must be 3"):
        deviation_curves(three, background=[1.0])
    with pytest.raises(ValueError, match="focal strategy 'z' is unknown"):
        deviation_curves(three, focal=["z"])


def test_deviation_curves_leave_gaps_for_unmeasured_profiles(tmp_path):
    full = _symmetric_game(3)
    partial = RoleSymmetricGame(["keep", "escalate"], ["none", "defense"], 3)
    for p in full.all_profiles():
        if p != ((1, 2), "none"):
            partial.set_payoffs(p, {s: v for s, v in full.payoffs(p).roles.items() if s != "defender"},
                                full.payoffs(p)["defender"])
    curves = deviation_curves(partial)
    gaps = curves[curves["payoff"].isna()]
    assert len(gaps) == 2 and set(gaps["defender"]) == {"none"}
    fig = plot_deviation_payoffs(partial, tmp_path / "gaps.png", size=(8, 4), dpi=50)
    assert _png_size(tmp_path / "gaps.png") == (400, 200) and len(fig.axes) == 2


def test_plot_role_symmetric_file_draws_deviation_curves(tmp_path, capsys):
    path = tmp_path / "escalation.csv"
    _symmetric_game(5).to_dataframe().to_csv(path, index=False)
    out = tmp_path / "dev.png"
    assert main(["plot", str(path), "--out", str(out), "--size", "9", "4", "--dpi", "80"]) == 0
    assert "symmetric equilibri" in capsys.readouterr().out
    assert _png_size(out) == (720, 320)


@pytest.mark.slow
def test_real_fill_table_solve_round_trip(tmp_path, capsys):
    text = ORACLE_SPEC.split('[[defenders]]\nname = "small, 2 epochs"')[0]
    spec_path = tmp_path / "real.toml"
    spec_path.write_text(text)
    cache = tmp_path / "real.sqlite"
    assert main(["fill", str(spec_path), "--cache", str(cache), "--quiet"]) == 0
    out = tmp_path / "real.csv"
    assert main(["table", str(spec_path), "--cache", str(cache), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 2 * 1 * 3 and df["attack_success"].between(0, 1).all() and (df["device"] == "cpu").all()
    assert df[df["attacker"] == "all on 4"]["target"].eq(4).all()
    from_spec = _solve_json(capsys, str(spec_path), "--cache", str(cache))
    from_csv = _solve_json(capsys, str(out))
    assert [e["strategies"] for e in from_csv["equilibria"]] == [e["strategies"] for e in from_spec["equilibria"]]
    assert from_csv["table"] == from_spec["table"]


# ---------------------------------------------------------------------------- games where each attacker chooses
def _symmetric_rows(strategy_of_last: str = "escalate") -> list[dict]:
    """Per-attacker rows of the profile (2 keep, 1 escalate) × 'none', two seeds, as `backfire table` writes them."""
    rows = []
    for seed, asr in ((3407, [0.2, 0.4, 0.9]), (3408, [0.3, 0.5, 0.7])):
        for i, (s, a) in enumerate(zip(["keep", "keep", strategy_of_last], asr)):
            rows.append({"attacker": "2 keep, 1 escalate", "defender": "none", "count:keep": 2, "count:escalate": 1,
                         "seed": seed, "strategy": s, "attacker_index": i, "attack_success": a})
    return rows


def test_symmetric_rows_aggregate_by_the_oracles_rule(tmp_path, capsys):
    from gametheory.symmetric_file import symmetric_records_from_rows

    measured = symmetric_records_from_rows(_symmetric_rows())
    record = measured.game.payoffs(((2, 1), "none"))
    # per seed: keep = mean of attackers 0 and 1, escalate = attacker 2, defender = 1 - mean of all three
    assert record.samples["keep"] == pytest.approx((0.3, 0.4)) and record.samples["escalate"] == pytest.approx((0.9, 0.7))
    assert record.samples["defender"] == pytest.approx((0.5, 0.5)) and record.seeds == (3407, 3408)
    assert measured.seeds == (3407, 3408) and measured.game.n_attackers == 3
    bad = tmp_path / "bad.csv"
    pd.DataFrame(_symmetric_rows("keep")).to_csv(bad, index=False)
    assert main(["solve", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "attacker 2 of profile (2, 1) plays 'escalate', not 'keep'" in err


@pytest.mark.slow
def test_table_of_a_symmetric_spec_solves_and_plots_as_the_spec(tmp_path, capsys):
    spec = tmp_path / "sym.toml"
    spec.write_text(SYMMETRIC_SPEC.format(n=3).replace('method = "search"\nsamples = 1\n', 'method = "full"\n'))
    cache = str(tmp_path / "sym.sqlite")
    assert main(["fill", str(spec), "--quiet", "--cache", cache]) == 0
    rows_csv, rows_json = tmp_path / "rows.csv", tmp_path / "rows.json"
    assert main(["table", str(spec), "--cache", cache, "--out", str(rows_csv)]) == 0
    assert main(["table", str(spec), "--cache", cache, "--json", "--out", str(rows_json)]) == 0
    capsys.readouterr()
    df = pd.read_csv(rows_csv)
    assert len(df) == 4 * 2 * 3  # profiles (3,0) (2,1) (1,2) (0,3) × seeds × attackers
    assert list(df.columns) == [*COLUMNS[:4], "count:keep", "count:escalate", *COLUMNS[4:]]
    mixed = df[(df["count:keep"] == 1) & (df["seed"] == 3408)].sort_values("attacker_index")
    assert mixed["strategy"].tolist() == ["keep", "escalate", "escalate"] and (mixed["attacker"] == "1 keep, 2 escalate").all()
    assert df["attack_success"].between(0, 1).all() and df["defender_val_acc"].between(0, 1).all()
    assert (df["n_attackers"] == 3).all() and (df["preset"] == "tiny").all() and (df["dataset"] == "digits").all()
    assert df["versions"].str.contains("torch=").all() and df["target"].notna().all()
    assert json.loads(rows_json.read_text())["meta"]["analysis"] == {"method": "full", "confidence": 0.95,
                                                                      "interval": "t", "tol": 0.0}

    def solved(*args: str) -> dict:
        assert main(["solve", *args, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        out.pop("file")
        return out

    from_spec = solved(str(spec), "--cache", cache)
    assert from_spec["game"] == "full game" and from_spec["equilibria"]
    assert solved(str(rows_csv)) == from_spec and solved(str(rows_json)) == from_spec
    # the search replays the same way on the export as on the cache
    assert solved(str(rows_csv), "--search") == solved(str(spec), "--cache", cache, "--search")
    n_eq = len(from_spec["equilibria"])
    for source, extra in ((spec, ["--cache", cache]), (rows_csv, [])):
        out = tmp_path / f"{source.stem}.png"
        assert main(["plot", str(source), *extra, "--out", str(out), "--size", "6", "3", "--dpi", "50"]) == 0
        assert f"({n_eq} symmetric equilibri" in capsys.readouterr().out
        assert _png_size(out) == (300, 150)
