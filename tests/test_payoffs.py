"""Payoff tables: CSV/JSON/DataFrame round trips, per-seed statistics, malformed files."""

import json

import numpy as np
import pytest

from gametheory import MissingPayoff, NormalFormGame, PayoffFileError, PayoffTable
from gametheory.sources import MappingSource, Payoffs

TABLE6 = "examples/payoffs/table6.csv"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_table6_reads_in_order():
    t = PayoffTable.read(TABLE6)
    assert t.attackers == ("eps = 0.55", "0% label overlap", "100% label overlap", "Random triggers", "Orthogonal triggers")
    assert t.defenders == ("No Defense", "Defense")
    A, B = t.matrices()
    assert A[3, 1] == pytest.approx(0.203) and B[3, 1] == pytest.approx(0.797)
    np.testing.assert_allclose(A + B, 1.0)
    assert any("Table 6" in c for c in t.meta["comments"])


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_round_trip_with_seeds(tmp_path, suffix):
    recs = []
    for s, (a, d) in enumerate([(0.2, 0.8), (0.4, 0.6), (0.3, 0.7)]):
        recs.append({"attacker": "x", "defender": "p", "attacker_payoff": a, "defender_payoff": d, "seed": 10 + s})
    recs.append({"attacker": "x", "defender": "q", "attacker_payoff": 0.5, "defender_payoff": 0.5, "seed": 10})
    recs.append({"attacker": "y", "defender": "p", "attacker_payoff": 0.1, "defender_payoff": 0.9, "seed": 10})
    recs.append({"attacker": "y", "defender": "q", "attacker_payoff": 0.0, "defender_payoff": 1.0, "seed": 10})
    t = PayoffTable.from_records(recs, meta={"comments": ["made up"]})
    path = tmp_path / f"t{suffix}"
    t.write(path)
    u = PayoffTable.read(path)
    assert u.attackers == t.attackers and u.defenders == t.defenders
    np.testing.assert_allclose(u.mean("attacker"), [[0.3, 0.5], [0.1, 0.0]])
    np.testing.assert_allclose(u.std("attacker")[0, 0], np.std([0.2, 0.4, 0.3], ddof=1))
    assert u.count().tolist() == [[3, 1], [1, 1]]
    np.testing.assert_allclose(u.samples("x", "p")[:, 0], [0.2, 0.4, 0.3])
    assert u.to_records() == t.to_records()
    assert u.has_samples()


def test_dataframe_round_trip():
    t = PayoffTable.read(TABLE6)
    df = t.to_dataframe()
    assert list(df.columns) == ["attacker", "defender", "attacker_payoff", "defender_payoff"]
    assert len(df) == 10
    u = PayoffTable.from_dataframe(df)
    np.testing.assert_array_equal(u.mean("defender"), t.mean("defender"))
    bad = df.drop(columns=["defender_payoff"])
    with pytest.raises(PayoffFileError, match="lacks column.*defender_payoff"):
        PayoffTable.from_dataframe(bad)
    df = df.astype({"attacker_payoff": object})
    df.loc[4, "attacker_payoff"] = "lots"
    with pytest.raises(PayoffFileError, match="row 4, column 'attacker_payoff': 'lots' is not a number"):
        PayoffTable.from_dataframe(df)


def test_from_matrices_missing_cells_and_source():
    t = PayoffTable.from_matrices([[1, np.nan], [0, 2]], [[0, 1], [1, 0]], ["a", "b"], ["c", "d"])
    assert t.missing() == [("a", "d")]
    with pytest.raises(MissingPayoff, match=r"1 cell\(s\) missing: \('a', 'd'\)"):
        NormalFormGame.from_table(t)
    src = MappingSource({("a", "c"): Payoffs({"attacker": 1.0, "defender": 0.0}),
                         ("b", "d"): Payoffs({"attacker": 0.5, "defender": 0.5}, {"attacker": (0.4, 0.6), "defender": (0.6, 0.4)})})
    u = PayoffTable.from_source(["a", "b"], ["c", "d"], src)
    assert u.missing() == [("a", "d"), ("b", "c")]
    assert u.count()[1, 1] == 2
    assert u.payoffs(("b", "d"))["attacker"] == pytest.approx(0.5)
    with pytest.raises(MissingPayoff):
        u.payoffs(("a", "d"))


CASES = [
    ("missing_header.csv", "attacker,defender,attacker_payoff\nx,y,1\n", "line 1: header lacks column\\(s\\) defender_payoff"),
    ("unknown_col.csv", "attacker,defender,attacker_payoff,defender_payoff,colour\nx,y,1,2,red\n", "line 1: unknown column\\(s\\) colour"),
    ("not_number.csv", "# c\nattacker,defender,attacker_payoff,defender_payoff\nx,y,1,2\nx,z,abc,2\n", "line 4, column 'attacker_payoff': 'abc' is not a number"),
    ("short_row.csv", "attacker,defender,attacker_payoff,defender_payoff\nx,y,1\n", "line 2: 3 fields, expected 4"),
    ("dup.csv", "attacker,defender,attacker_payoff,defender_payoff\nx,y,1,2\nx,y,1,3\n", "appears at line 2, line 3"),
    ("nan.csv", "attacker,defender,attacker_payoff,defender_payoff\nx,y,nan,2\n", "line 2, column 'attacker_payoff': 'nan' is not a finite number"),
    ("empty.csv", "# only a comment\n", "empty file"),
    ("blank_label.csv", "attacker,defender,attacker_payoff,defender_payoff\n,y,1,2\n", "line 2, column 'attacker': empty strategy label"),
    ("bad.json", '{"rows": [{"attacker": "x", "defender": "y", "attacker_payoff": 1}]}', "rows\\[0\\] lacks column\\(s\\) defender_payoff"),
    ("syntax.json", '{"rows": [', "line 1, column 11: invalid JSON"),
    ("extra.json", '{"rows": [{"attacker": "x", "defender": "y", "attacker_payoff": 1, "defender_payoff": 0, "why": 1}]}', "rows\\[0\\]: unknown field\\(s\\) why"),
    ("table.xlsx", "whatever", "unknown payoff file type '.xlsx'"),
]


@pytest.mark.parametrize("name,text,message", CASES)
def test_malformed_files_name_the_place(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(PayoffFileError, match=message):
        PayoffTable.read(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(PayoffFileError, match="no such file"):
        PayoffTable.read(tmp_path / "nope.csv")
    with pytest.raises(PayoffFileError, match="is a directory"):
        PayoffTable.read(tmp_path)


def test_duplicate_labels_and_json_list_form(tmp_path):
    with pytest.raises(ValueError, match="duplicate labels"):
        PayoffTable(("a", "a"), ("d",))
    rows = [{"attacker": "a", "defender": "d", "attacker_payoff": 1, "defender_payoff": 0}]
    path = write(tmp_path, "list.json", json.dumps(rows))
    assert PayoffTable.read(path).shape == (1, 1)


def test_resample_keeps_shape_and_draws_from_samples():
    recs = [{"attacker": "a", "defender": "d", "attacker_payoff": v, "defender_payoff": 1 - v, "seed": s}
            for s, v in enumerate([0.0, 1.0])]
    t = PayoffTable.from_records(recs)
    rng = np.random.default_rng(0)
    means = {float(t.resample(rng).mean()[0, 0]) for _ in range(50)}
    assert means == {0.0, 0.5, 1.0}
