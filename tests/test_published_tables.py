"""Checks of the transcribed published tables in examples/payoffs/.

These check the *transcription* of Datta & Shadbolt, "Backdoors Stuck at the
Frontdoor: Multi-Agent Backdoor Attacks That Backfire" (Tables 1, 3, 4, 5 and
the relation of Table 6 to Tables 3/4), not any code of the package.
See examples/payoffs/README.md.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections import defaultdict
from pathlib import Path

import pytest

PAYOFFS = Path(__file__).resolve().parents[1] / "examples" / "payoffs"


def _read(name: str) -> list[dict[str, str]]:
    with open(PAYOFFS / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def t34() -> list[dict[str, str]]:
    return _read("tables3_4_per_agent.csv")


def _setting(r: dict[str, str]) -> str:
    if r["defense"] == "adversarial-training":
        return "AT"
    if r["n_attackers"] == "100":
        return "N100"
    return "e" + r["eps"]


@pytest.fixture(scope="module")
def blocks(t34) -> dict[tuple[int, int, str], float]:
    """Mean accuracy w.r.t. poisoned labels per (table, overlap, setting)."""
    vals: dict[tuple[int, int, str], list[float]] = defaultdict(list)
    for r in t34:
        vals[(int(r["table"]), int(r["label_overlap"]), _setting(r))].append(
            float(r["acc_poisoned_labels"])
        )
    return {k: sum(v) / len(v) for k, v in vals.items()}


def _get(t34, table, overlap, setting, agent=""):
    hits = [
        r
        for r in t34
        if r["table"] == str(table)
        and r["label_overlap"] == str(overlap)
        and _setting(r) == setting
        and r["agent"] == str(agent)
    ]
    assert len(hits) == 1, (table, overlap, setting, agent, len(hits))
    return hits[0]


# --------------------------------------------------------------------------
# Tables 3 and 4: shape and types
# --------------------------------------------------------------------------

EXPECTED_COLUMNS = [
    "table", "triggers", "label_overlap", "defense", "n_attackers", "eps",
    "header_rho", "agent", "target_label", "eps_printed", "real_poison_rate",
    "shape_cos_distance", "shape_colour_cos_distance", "acc_poisoned_labels",
    "acc_poisoned_labels_std", "acc_clean_labels", "acc_clean_labels_std",
]


def test_t34_columns(t34):
    assert list(t34[0].keys()) == EXPECTED_COLUMNS


def test_t34_row_count(t34):
    # 2 tables x 3 label configs x (15 no-defense + 5 adversarial-training) agent rows
    # + 2 x 3 N=100 average rows
    assert len(t34) == 2 * 3 * (15 + 5) + 2 * 3 == 126
    counts = defaultdict(int)
    for r in t34:
        counts[(r["table"], r["label_overlap"], _setting(r))] += 1
    for t in ("3", "4"):
        for ov in ("0", "40", "100"):
            for s in ("e0.15", "e0.55", "e0.95", "AT"):
                assert counts[(t, ov, s)] == 5
            assert counts[(t, ov, "N100")] == 1
    assert len(counts) == 2 * 3 * 5


def test_t34_categorical_columns(t34):
    for r in t34:
        assert r["table"] in {"3", "4"}
        assert r["triggers"] == {"3": "random-badnet", "4": "orthogonal-badnet"}[r["table"]]
        assert r["label_overlap"] in {"0", "40", "100"}
        assert r["defense"] in {"none", "adversarial-training"}
        assert r["n_attackers"] in {"5", "100"}
        assert r["eps"] in {"0.15", "0.55", "0.95"}
        if r["n_attackers"] == "100":
            assert r["defense"] == "none" and r["agent"] == "" and r["eps"] == "0.55"
        else:
            assert r["agent"] in {"1", "2", "3", "4", "5"}
        if r["defense"] == "adversarial-training":
            assert r["eps"] == "0.55" and r["n_attackers"] == "5"
        # header rho: only printed for the three no-defense N=5 groups
        if r["defense"] == "none" and r["n_attackers"] == "5":
            assert r["header_rho"] == {"0.15": "0.35", "0.55": "0.55", "0.95": "0.55"}[r["eps"]]
        else:
            assert r["header_rho"] == ""


def test_t34_target_labels(t34):
    n5 = {"0": ["0", "2", "4", "6", "8"], "40": ["2", "4", "4", "6", "8"], "100": ["4"] * 5}
    n100 = {"0": "20(0,2,4,6,8)", "40": "40(4),20(2,6,8)", "100": "100(4)"}
    for t in (3, 4):
        for ov in ("0", "40", "100"):
            for s in ("e0.15", "e0.55", "e0.95", "AT"):
                labels = [_get(t34, t, ov, s, a)["target_label"] for a in range(1, 6)]
                assert labels == n5[ov]
            assert _get(t34, t, ov, "N100")["target_label"] == n100[ov]


def test_t34_percent_ranges(t34):
    for r in t34:
        for c in ("acc_poisoned_labels", "acc_clean_labels"):
            v = float(r[c])
            assert 0.0 <= v <= 100.0, (c, r)
        for c in ("acc_poisoned_labels_std", "acc_clean_labels_std"):
            if r["n_attackers"] == "100":
                assert 0.0 <= float(r[c]) <= 100.0
            else:
                assert r[c] == ""


def test_t34_distance_ranges_and_agent1(t34):
    for r in t34:
        for c in ("shape_cos_distance", "shape_colour_cos_distance"):
            v = float(r[c])
            assert 0.0 <= v <= 1.0
        if r["agent"] == "1":  # distances are w.r.t. agent 1
            assert r["shape_cos_distance"] == r["shape_colour_cos_distance"] == "0.0"


def test_t34_distances_printed_once_per_table(t34):
    # printed once per table; repeated identically for each label configuration
    for t in (3, 4):
        for s in ("e0.15", "e0.55", "e0.95", "AT"):
            for a in range(1, 6):
                ref = _get(t34, t, 0, s, a)
                for ov in (40, 100):
                    r = _get(t34, t, ov, s, a)
                    assert r["shape_cos_distance"] == ref["shape_cos_distance"]
                    assert r["shape_colour_cos_distance"] == ref["shape_colour_cos_distance"]


def test_t34_eps_and_poison_rate_rows(t34):
    # 20 printed values per row; the 21st (adversarial-training agent 5) is empty
    for r in t34:
        missing = r["defense"] == "adversarial-training" and r["agent"] == "5"
        if missing:
            assert r["eps_printed"] == "" and r["real_poison_rate"] == ""
        else:
            assert r["eps_printed"] == r["eps"]
            assert r["real_poison_rate"] == "0.005"
    assert sum(r["eps_printed"] == "" for r in t34) == 6


# --------------------------------------------------------------------------
# Tables 3 and 4: spot checks against the paper text
# --------------------------------------------------------------------------

SPOT = [
    # (table, overlap, setting, agent, column, printed string)
    (3, 100, "e0.55", 2, "acc_poisoned_labels", "97.6"),
    (3, 0, "e0.15", 3, "acc_poisoned_labels", "37.7"),
    (3, 0, "e0.95", 1, "acc_poisoned_labels", "79.9"),
    (3, 0, "e0.95", 5, "acc_poisoned_labels", "0.0"),
    (3, 40, "e0.55", 1, "acc_poisoned_labels", "62.2"),
    (3, 40, "e0.95", 3, "acc_poisoned_labels", "81.2"),
    (3, 40, "AT", 3, "acc_clean_labels", "15.79"),
    (3, 100, "e0.95", 1, "acc_poisoned_labels", "100.0"),
    (3, 100, "AT", 4, "acc_poisoned_labels", "51.7"),
    (3, 0, "AT", 4, "acc_poisoned_labels", "27.5"),
    (3, 0, "e0.15", 5, "shape_cos_distance", "0.785"),
    (3, 0, "AT", 2, "shape_colour_cos_distance", "0.398"),
    (3, 0, "e0.55", 2, "shape_colour_cos_distance", "0.598"),
    (3, 0, "e0.95", 4, "shape_cos_distance", "0.044"),
    (4, 0, "e0.15", 1, "acc_clean_labels", "58.2"),
    (4, 0, "AT", 5, "acc_poisoned_labels", "11.8"),
    (4, 40, "e0.95", 5, "acc_poisoned_labels", "13.8"),
    (4, 100, "e0.55", 1, "acc_clean_labels", "58.61"),
    (4, 100, "AT", 4, "acc_poisoned_labels", "9.5"),
    (4, 0, "e0.95", 2, "shape_cos_distance", "0.777"),
    (4, 0, "e0.15", 5, "shape_cos_distance", "0.996"),
    (4, 0, "e0.55", 2, "shape_colour_cos_distance", "1.0"),
]


@pytest.mark.parametrize("table,overlap,setting,agent,column,printed", SPOT)
def test_t34_spot_values(t34, table, overlap, setting, agent, column, printed):
    assert _get(t34, table, overlap, setting, agent)[column] == printed


N100 = [
    # (table, overlap, poisoned, poisoned std, clean, clean std) as printed
    (3, 0, "20.4", "15.8", "12.3", "3.92"),
    (3, 40, "30.8", "24.8", "11.1", "3.29"),
    (3, 100, "99.8", "1.56", "9.69", "10.0"),
    (4, 0, "10.0", "3.58", "58.2", "4.65"),
    (4, 40, "9.96", "2.96", "58.9", "4.82"),
    (4, 100, "23.8", "13.2", "59.2", "5.79"),
]


@pytest.mark.parametrize("table,overlap,p,ps,c,cs", N100)
def test_t34_n100_values(t34, table, overlap, p, ps, c, cs):
    r = _get(t34, table, overlap, "N100")
    assert (r["acc_poisoned_labels"], r["acc_poisoned_labels_std"]) == (p, ps)
    assert (r["acc_clean_labels"], r["acc_clean_labels_std"]) == (c, cs)
    assert r["shape_cos_distance"] == r["shape_colour_cos_distance"] == "0.353"


def test_t34_full_rows_table3_100(t34):
    # whole printed row "Run-time Acc w.r.t. poisoned labels", Table 3, 100% block
    got = [
        _get(t34, 3, 100, s, a)["acc_poisoned_labels"]
        for s in ("e0.15", "e0.55", "e0.95")
        for a in range(1, 6)
    ]
    assert got == ("38.3 33.4 38.8 29.9 50.4 89.3 97.6 80.3 96.1 96.1 "
                   "100.0 91.8 100.0 100.0 100.0").split()
    got_at = [_get(t34, 3, 100, "AT", a)["acc_poisoned_labels"] for a in range(1, 6)]
    assert got_at == "26.7 31.7 12.9 51.7 13.9".split()


def test_t34_full_rows_table4_0_clean(t34):
    got = [
        _get(t34, 4, 0, s, a)["acc_clean_labels"]
        for s in ("e0.15", "e0.55", "e0.95")
        for a in range(1, 6)
    ]
    assert got == ("58.2 56.4 54.6 57.8 57.2 60.0 58.3 57.6 58.5 56.3 "
                   "57.7 57.4 56.4 58.4 57.1").split()


# --------------------------------------------------------------------------
# Block means and the Table 6 investigation (README: "How Table 6 relates ...")
# --------------------------------------------------------------------------

BLOCK_MEANS = {
    (3, 0): {"e0.15": 20.2, "e0.55": 6.44, "e0.95": 32.08, "N100": 20.4, "AT": 11.38},
    (3, 40): {"e0.15": 17.46, "e0.55": 20.5, "e0.95": 19.44, "N100": 30.8, "AT": 18.06},
    (3, 100): {"e0.15": 38.16, "e0.55": 91.88, "e0.95": 98.36, "N100": 99.8, "AT": 27.38},
    (4, 0): {"e0.15": 10.22, "e0.55": 10.44, "e0.95": 10.04, "N100": 10.0, "AT": 9.28},
    (4, 40): {"e0.15": 10.5, "e0.55": 11.32, "e0.95": 9.9, "N100": 9.96, "AT": 8.26},
    (4, 100): {"e0.15": 11.26, "e0.55": 14.8, "e0.95": 12.4, "N100": 23.8, "AT": 8.78},
}


def test_block_means(blocks):
    for (t, ov), d in BLOCK_MEANS.items():
        for s, v in d.items():
            assert blocks[(t, ov, s)] == pytest.approx(v, abs=1e-9)


def _mean(blocks, tables, overlaps, settings):
    keys = [(t, o, s) for t in tables for o in overlaps for s in settings]
    return sum(blocks[k] for k in keys) / len(keys)


ALL = (0, 40, 100)

# Table 6 attacker payoffs as printed (defender = 100 - attacker)
TABLE6 = {
    ("eps0.55", "none"): 26.2, ("eps0.55", "defense"): 13.7,
    ("0%", "none"): 8.6, ("0%", "defense"): 12.3,
    ("100%", "none"): 54.2, ("100%", "defense"): 18.1,
    ("random", "none"): 40.3, ("random", "defense"): 20.3,
    ("orthogonal", "none"): 12.2, ("orthogonal", "defense"): 8.8,
}


def test_table6_reproduced_entries(blocks):
    # 100% label overlap, Defense = mean of the T3 and T4 100%-overlap AT blocks
    v = _mean(blocks, (3, 4), (100,), ("AT",))
    assert v == pytest.approx(18.08, abs=1e-9)
    assert abs(v - TABLE6[("100%", "defense")]) <= 0.15
    # Orthogonal triggers, Defense = mean of the Table 4 AT blocks
    v = _mean(blocks, (4,), ALL, ("AT",))
    assert v == pytest.approx(26.32 / 3, abs=1e-9)  # 8.7733
    assert abs(v - TABLE6[("orthogonal", "defense")]) <= 0.15
    # Orthogonal triggers, No Defense = mean of Table 4 base-case (eps=0.55, N=5) blocks
    v = _mean(blocks, (4,), ALL, ("e0.55",))
    assert v == pytest.approx(36.56 / 3, abs=1e-9)  # 12.1867
    assert abs(v - TABLE6[("orthogonal", "none")]) <= 0.15
    # text: random triggers + 100% overlap under defense -> (27.4, 72.6)
    v = _mean(blocks, (3,), (100,), ("AT",))
    assert v == pytest.approx(27.38, abs=1e-9)
    assert round(v, 1) == 27.4 and round(100 - v, 1) == 72.6


def test_table6_near_misses_and_failures(blocks):
    """Documented (README) values of the most natural rule (R1: base case eps=0.55
    for No Defense, adversarial training for Defense) where it does NOT match."""
    r1 = {
        ("eps0.55", "none"): _mean(blocks, (3, 4), ALL, ("e0.55",)),
        ("eps0.55", "defense"): _mean(blocks, (3, 4), ALL, ("AT",)),
        ("0%", "none"): _mean(blocks, (3, 4), (0,), ("e0.55",)),
        ("0%", "defense"): _mean(blocks, (3, 4), (0,), ("AT",)),
        ("100%", "none"): _mean(blocks, (3, 4), (100,), ("e0.55",)),
        ("random", "none"): _mean(blocks, (3,), ALL, ("e0.55",)),
        ("random", "defense"): _mean(blocks, (3,), ALL, ("AT",)),
    }
    expected = {
        ("eps0.55", "none"): 25.897, ("eps0.55", "defense"): 13.857,
        ("0%", "none"): 8.44, ("0%", "defense"): 10.33,
        ("100%", "none"): 53.34, ("random", "none"): 39.607,
        ("random", "defense"): 18.94,
    }
    for k, v in expected.items():
        assert r1[k] == pytest.approx(v, abs=5e-4), k
        assert abs(r1[k] - TABLE6[k]) > 0.15, k


def test_table6_defense_entries_unreachable(blocks):
    # 0%/Defense 12.3: both 0%-overlap AT block means are below 12.3
    assert max(blocks[(3, 0, "AT")], blocks[(4, 0, "AT")]) < 12.3 - 0.15
    # Random/Defense 20.3: no subset of the three Table 3 AT blocks averages to 20.3
    ats = [blocks[(3, ov, "AT")] for ov in ALL]
    for k in (1, 2, 3):
        for sub in itertools.combinations(ats, k):
            assert abs(sum(sub) / k - 20.3) > 0.15


def test_table6_file_if_present():
    """table6.csv is maintained by the lead; if present, it must contain the printed values."""
    path = PAYOFFS / "table6.csv"
    if not path.exists():
        pytest.skip("examples/payoffs/table6.csv not written yet")
    nums = [float(x) for x in re.findall(r"\d+\.\d+", path.read_text(encoding="utf-8"))]

    def present(v: float) -> bool:  # stored either in percent or as a fraction
        return any(abs(x - v) < 1e-9 or abs(x - v / 100.0) < 1e-9 for x in nums)

    for v in TABLE6.values():
        assert present(v), v
        assert present(round(100.0 - v, 1)), 100 - v


# --------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------


def test_table1():
    rows = _read("table1_datasets.csv")
    assert len(rows) == 8
    got = {(r["n_attackers"], r["dataset"]): r for r in rows}
    assert set(got) == {(n, d) for n in ("1", "100") for d in ("MNIST", "SVHN", "CIFAR10", "STL10")}
    assert got[("1", "SVHN")]["dataset_as_printed"] == "SVNH"
    for r in rows:
        for c in ("defender_val_acc", "acc_poisoned_labels", "acc_clean_labels"):
            assert 0.0 <= float(r[c]) <= 100.0
        for c in ("acc_poisoned_labels_std", "acc_clean_labels_std"):
            assert (r[c] == "") == (r["n_attackers"] == "1")
    assert got[("1", "CIFAR10")]["acc_poisoned_labels"] == "89.8"
    assert got[("1", "STL10")]["defender_val_acc"] == "95.4"
    assert got[("100", "STL10")]["defender_val_acc"] == "71.9"
    m = got[("100", "MNIST")]
    assert (m["acc_poisoned_labels"], m["acc_poisoned_labels_std"]) == ("27.5", "22.2")
    s = got[("100", "STL10")]
    assert (s["acc_clean_labels"], s["acc_clean_labels_std"]) == ("10.0", "10.2")


# --------------------------------------------------------------------------
# Table 5
# --------------------------------------------------------------------------


def test_table5():
    rows = _read("table5_configs.csv")
    assert [r["expt"] for r in rows] == ["E1"] * 5 + ["E2", "E3"] + ["E4"] * 6 + ["E5", "E6"]
    by = defaultdict(list)
    for r in rows:
        by[r["expt"]].append(r)
    assert {e: rs[0]["V_d"] for e, rs in by.items()} == {
        "E1": "0.1", "E2": "0.2", "E3": "0.1", "E4": "0.5", "E5": "0.8", "E6": "0.1"}
    assert {e: rs[0]["model"] for e, rs in by.items()}["E6"] == "SmallCNN"
    assert [r["p"] for r in by["E1"]] == ["0.1", "0.2", "0.4", "0.8", "1.0"]
    assert [r["n_poisoned"] for r in by["E4"]] == ["0", "60", "120", "180", "240", "300"]
    for r in rows:
        assert 0.0 <= float(r["V_d"]) <= 1.0
        assert 0.0 <= float(r["p"]) <= 1.0
        assert 0.0 <= float(r["real_poison_rate"]) <= 1.0
        assert (r["eps"] == "") == ("eps" in r["printed_as_varying"])
        assert (r["target_poison_label_selection"] == "") == (
            "target_poison_label_selection" in r["printed_as_varying"])
        # counts correspond to |D| = 60,000, except two documented oddities
        expected = round(float(r["real_poison_rate"]) * 60000)
        if (r["expt"], r["p"]) == ("E1", "0.8"):
            assert (expected, r["n_poisoned"]) == (43, "44")  # README oddity 17
        elif r["expt"] == "E5":
            assert (expected, r["n_poisoned"]) == (60, "66")  # README oddity 16
        else:
            assert int(r["n_poisoned"]) == expected, r
