"""The payoff readers on arbitrary input: a table, or one PayoffFileError line naming the file.

Hypothesis feeds arbitrary bytes, arbitrary JSON values, row-shaped JSON with
values of every type, and CSV built from arbitrary strings; each must either
parse into a table of finite payoffs or raise PayoffFileError (a ValueError)
whose message is one line starting with the file's path. Then the exact rules
the fuzzing is about, one test each.
"""

import codecs
import csv
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gametheory import PayoffTable
from gametheory.payoffs import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, PayoffFileError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


def read_or_error(path):
    """Read ``path``; on failure the error must be a one-line PayoffFileError naming it."""
    try:
        table = PayoffTable.read(path)
    except PayoffFileError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message and "\r" not in message, message
        return None
    assert table.shape[0] >= 1 and table.shape[1] >= 1
    for role in ("attacker", "defender"):
        values = table.mean(role)
        assert np.isfinite(values[~np.isnan(values)]).all()
    return table


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([".csv", ".json"]))
def test_arbitrary_bytes(tmp_path, data, suffix):
    path = tmp_path / f"t{suffix}"
    path.write_bytes(data)
    read_or_error(path)


@FUZZ
@given(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE]), st.binary(max_size=200))
def test_arbitrary_bytes_after_a_byte_order_mark(tmp_path, bom, data):
    for suffix in (".csv", ".json"):
        path = tmp_path / f"t{suffix}"
        path.write_bytes(bom + b"attacker,defender,attacker_payoff,defender_payoff\n" + data)
        read_or_error(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
field_values = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
                | st.sampled_from(["x", " ", "1", "1.5", "nan", "1e999", 10**400]) | st.lists(st.integers(), max_size=2))
rows = st.lists(st.dictionaries(st.sampled_from(COLUMNS + ("extra",)), field_values, min_size=3, max_size=6), max_size=5)


@FUZZ
@given(json_values | rows | st.fixed_dictionaries({"rows": rows}, optional={"meta": json_values}))
def test_arbitrary_json_structures(tmp_path, value):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    read_or_error(path)


@FUZZ
@given(st.permutations(COLUMNS), st.lists(st.lists(st.text(max_size=6), min_size=3, max_size=6), max_size=5),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_arbitrary_csv_cells(tmp_path, header, body, encoding):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(body)
    path = tmp_path / "t.csv"
    try:
        path.write_bytes(buf.getvalue().encode(encoding))
    except UnicodeEncodeError:  # lone surrogates cannot be written by any encoder
        return
    read_or_error(path)


# --------------------------------------------------------------------------- the rules, one by one
HEADER = "attacker,defender,attacker_payoff,defender_payoff,seed\n"
ROW = {"attacker": "a", "defender": "d", "attacker_payoff": 0.5, "defender_payoff": 0.5}


def write_json(tmp_path, rows):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"rows": rows}))
    return path


@pytest.mark.parametrize("field,value,message", [
    ("attacker_payoff", True, "rows\\[0\\], column 'attacker_payoff': True is not a number"),
    ("attacker_payoff", "0.5", None),  # a numeric string is read like a CSV cell
    ("attacker_payoff", float("nan"), "attacker_payoff': nan is not a finite number"),
    ("defender_payoff", float("inf"), "inf is not a finite number"),
    ("defender_payoff", 10**400, "is not a finite number"),
    ("attacker", None, "column 'attacker': None is not a name"),
    ("defender", 3, "column 'defender': 3 is not a name"),
    ("seed", 1.5, "column 'seed': 1.5 is not an integer"),
    ("seed", 1.0, "column 'seed': 1.0 is not an integer"),
    ("seed", False, "column 'seed': False is not an integer"),
    ("seed", None, "column 'seed': None is not an integer"),
    ("seed", 7, None),
])
def test_json_types_are_checked_exactly(tmp_path, field, value, message):
    path = write_json(tmp_path, [{**ROW, field: value}])
    if message is None:
        assert PayoffTable.read(path).shape == (1, 1)
    else:
        with pytest.raises(PayoffFileError, match=message):
            PayoffTable.read(path)


@pytest.mark.parametrize("seed,payoff,message", [
    ("1.5", "0.5", "line 2, column 'seed': '1.5' is not an integer"),
    ("1e3", "0.5", "line 2, column 'seed': '1e3' is not an integer"),
    ("1", "true", "line 2, column 'attacker_payoff': 'true' is not a number"),
    ("1", "1_000", "'1_000' is not a number"),
    ("1", "-Infinity", "'-Infinity' is not a finite number"),
    ("1", "1e999", "'1e999' is not a finite number"),
])
def test_csv_values_are_checked_exactly(tmp_path, seed, payoff, message):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + f"a,d,{payoff},0.5,{seed}\n")
    with pytest.raises(PayoffFileError, match=message):
        PayoffTable.read(path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_byte_order_marks_are_read(tmp_path, encoding):
    text = HEADER + "ä,d,0.25,0.75,1\nä,d,0.75,0.25,2\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = ("\ufeff" + text).encode(encoding)
    for suffix, content in ((".csv", data), (".json", None)):
        path = tmp_path / f"t{suffix}"
        if content is None:
            content = ("\ufeff" + json.dumps([{**ROW, "attacker": "ä"}])).encode(encoding.replace("-sig", ""))
        path.write_bytes(content)
        assert PayoffTable.read(path).attackers == ("ä",)


@pytest.mark.parametrize("data,message", [
    ((HEADER + "a,d,1,0,1\n").encode("utf-16-le"), "contains NUL characters \\(UTF-16 without a byte-order mark"),
    ((HEADER + "é,d,1,0,1\n").encode("latin-1"), "not UTF-8 text \\(byte 0xe9 at offset 55\\)"),
    (codecs.BOM_UTF16_LE + b"\x00\xd8", "not UTF-16 text"),
])
def test_other_encodings_are_named(tmp_path, data, message):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(PayoffFileError, match=message):
        PayoffTable.read(path)


@pytest.mark.parametrize("text,message", [
    ('{"rows": [], "rows": []}', "key 'rows' appears twice"),
    ('{"rows": [{"attacker": "a", "attacker": "b"}]}', "key 'attacker' appears twice"),
    ('{"rows": [], "colour": 1}', "unknown key\\(s\\) 'colour'"),
    ('{"rows": [{"attacker": "a"}], "meta": []}', "key 'meta': \\[\\] is not an object"),
    ('{"rows": [1]}', "rows\\[0\\]: 1 is not an object"),
    ("[" * 100_000, "nested too deeply"),
    ('{"rows": [{"attacker_payoff": ' + "9" * 5000 + "}]}", "invalid JSON \\(Exceeds the limit"),
    ("{}", "expected an object with a list 'rows'"),
])
def test_json_shapes_are_named(tmp_path, text, message):
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(PayoffFileError, match=message):
        PayoffTable.read(path)


def test_csv_structure_errors_name_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("attacker,attacker,defender,attacker_payoff,defender_payoff\n")
    with pytest.raises(PayoffFileError, match="line 1: column\\(s\\) attacker appear more than once"):
        PayoffTable.read(path)
    path.write_text('# note\n' + HEADER + 'a,"two\nlines",1,0,1\na,d,x,0,1\n')
    with pytest.raises(PayoffFileError, match="line 5, column 'attacker_payoff': 'x' is not a number"):
        PayoffTable.read(path)
    path.write_text(HEADER + 'a,"d' + "x" * 200_000 + '",1,0,1\n')
    with pytest.raises(PayoffFileError, match="line 2: not valid CSV \\(field larger than field limit"):
        PayoffTable.read(path)
