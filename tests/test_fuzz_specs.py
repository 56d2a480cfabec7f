"""Game specs on arbitrary input: a GameSpec, or one SpecError line naming the file (and the key).

Hypothesis feeds the spec reader arbitrary bytes (after any byte-order mark),
the example specs with characters cut out, and TOML documents built from the
example specs with fields replaced by values of every type and range, deleted
or added. Each must either load (and then round-trip through its TOML text to
the same key) or raise SpecError whose message is one line starting with the
file's path. The CLI (`backfire status|solve|fill|table SPEC`, with a temporary
cache and no data) must answer the same documents with exit status 0 or 2,
one line on stderr naming the file when the spec is bad, no traceback, and
no result in the cache. Then the cases the issue lists, one test each.
"""

import codecs
import copy
import re
import sqlite3
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from oracle.cli import main
from oracle.data import locations
from oracle.specs import GameSpec, SpecError, load_spec, spec_from_dict, spec_to_toml

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CLI_FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EXAMPLES = {name: Path("examples/games") / f"{name}.toml" for name in ("quickstart", "table6_cpu", "federated")}
BASES = {name: tomllib.loads(path.read_text(encoding="utf-8")) for name, path in EXAMPLES.items()}

NAMES = ["digits", "mnist", "cifar10", "svhn", "random", "fixed", "coordinated", "smallcnn", "resnet18", "none",
         "cutmix", "federated", "poisoning", "tiny", "paper", "reduced", "ardis", "pgd", "black-box",
         "fixed-frequency", "fixed-pool", "random-badnet", "krum", "", " ", "x"]
EDGE_INTS = [0, 1, -1, 2, 4, 9, 10, 11, 20, 55, 3407, 10**6, 10**9, 2**32, 2**63 - 1, -(2**63)]
EDGE_FLOATS = [0.0, 0.5, 1.0, 1.5, -0.1, 0.999, 2.5, 3407.0, 3407.5, 1e300, float("inf"), float("nan")]
scalars = (st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.sampled_from(EDGE_INTS) | st.floats()
           | st.sampled_from(EDGE_FLOATS) | st.text(max_size=8) | st.sampled_from(NAMES)
           | st.datetimes() | st.dates() | st.times())
toml_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(NAMES[:8] + ["kind", "label", "labels", "x"]), inner, max_size=3),
                           max_leaves=6)
python_values = toml_values | st.none() | st.tuples(st.none()) | st.just({"kind": None})


def locations_of(doc, prefix=()):
    """Every (container, key) in a parsed document, depth first."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield doc, key
        yield from locations_of(value, prefix + (key,))


@st.composite
def mutated_specs(draw, values=toml_values):
    """An example spec with 1-3 fields replaced by arbitrary values, deleted, or added."""
    doc = copy.deepcopy(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        places = list(locations_of(doc))
        container, key = places[draw(st.integers(0, len(places) - 1))]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if op == "replace":
            container[key] = copy.deepcopy(draw(values))  # never mutate a drawn value (hypothesis reuses them)
        elif op == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.sampled_from(["extra", "kind", "name", "seed", "n_max", "labels", "target"]))] = copy.deepcopy(draw(values))
        else:
            container.append(copy.deepcopy(draw(values)))
    return doc


def write_toml(path, doc):
    try:
        path.write_bytes(tomli_w.dumps(doc).encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError):  # tomli_w cannot write it (e.g. a lone surrogate)
        assume(False)


def one_line_naming(message, where):
    assert message.startswith(f"{where}: "), message
    assert "\n" not in message and "\r" not in message and "Traceback" not in message, message


def read_or_error(path, scratch=None):
    """load_spec(path): a spec that round-trips through its TOML text (written in ``scratch``,
    default path's folder), or one SpecError line naming the file."""
    try:
        spec = load_spec(path)
    except SpecError as exc:
        one_line_naming(str(exc), str(path))
        return None
    assert isinstance(spec, GameSpec) and spec.n_attackers >= 1 and spec.attackers and spec.defenders
    again = (scratch or path.parent) / "again.toml"
    again.write_text(spec_to_toml(spec), encoding="utf-8")
    assert load_spec(again).key() == spec.key()
    return spec


def test_the_example_specs_read(tmp_path):
    for path in EXAMPLES.values():
        assert read_or_error(path, tmp_path) is not None


@FUZZ
@given(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]),
       st.binary(max_size=300))
def test_arbitrary_bytes(tmp_path, bom, data):
    path = tmp_path / "g.toml"
    path.write_bytes(bom + data)
    read_or_error(path)


@FUZZ
@given(st.sampled_from(sorted(EXAMPLES)), st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 40)), max_size=4),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"]))
def test_example_text_with_pieces_cut_out(tmp_path, name, cuts, encoding):
    text = EXAMPLES[name].read_text(encoding="utf-8")
    for start, length in cuts:
        start %= max(len(text), 1)
        text = text[:start] + text[start + length:]
    path = tmp_path / "g.toml"
    path.write_bytes(text.encode(encoding))
    read_or_error(path)


@FUZZ
@given(mutated_specs())
def test_mutated_toml_documents(tmp_path, doc):
    path = tmp_path / "g.toml"
    write_toml(path, doc)
    read_or_error(path)


@FUZZ
@given(mutated_specs(python_values))
def test_mutated_python_tables(doc):
    """spec_from_dict takes what Python or JSON gives (None included): a spec, or one line naming the place."""
    try:
        spec = spec_from_dict(doc, where="g.toml")
    except SpecError as exc:
        one_line_naming(str(exc), "g.toml")
        return
    assert isinstance(spec, GameSpec)
    assert spec_from_dict(tomllib.loads(spec_to_toml(spec))).key() == spec.key()


# --------------------------------------------------------------------------- the CLI
@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No dataset anywhere (nothing can train), no download, caches in the temporary folder."""
    monkeypatch.setattr(locations, "shared_data_dirs", lambda: [])
    monkeypatch.setenv(locations.ENV_DOWNLOAD, "0")
    monkeypatch.setenv(locations.ENV_CACHE, str(tmp_path / "cache-dir"))
    monkeypatch.delenv(locations.ENV_DATA, raising=False)
    (tmp_path / "data").mkdir()
    return tmp_path


def results_in(cache: Path) -> int:
    """Rows in the cache file's tables other than its metadata (0 when there is no file). ``data_versions``
    is metadata too: a fill records which data the spec names before it trains anything."""
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if t not in ("meta", "data_versions")]
        assert "outcomes" in tables  # the table this counts: fails loudly if the store is renamed
        return sum(db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)


def run_cli(capsys, root, command, path):
    cache = root / "results.sqlite"
    argv = [command, str(path), "--cache", str(cache), "--data-dir", str(root / "data")]
    if command == "fill":
        argv += ["--max-cells", "0", "--quiet"]
    status = main(argv)
    err = capsys.readouterr().err
    assert status in (0, 2), (status, err)
    assert "Traceback" not in err
    if status == 2:
        assert err.count("\n") == 1 and err.strip(), err
    assert results_in(cache) == 0
    return status, err.strip()


@CLI_FUZZ
@given(mutated_specs(), st.sampled_from(["status", "solve", "fill", "table"]))
def test_cli_on_mutated_specs(capsys, no_data, doc, command):
    path = no_data / "g.toml"
    write_toml(path, doc)
    try:
        load_spec(path)
        bad = None
    except SpecError as exc:
        bad = str(exc)
    status, err = run_cli(capsys, no_data, command, path)
    if bad is not None:
        assert status == 2 and err == "backfire: error: " + " ".join(bad.split())  # the CLI folds runs of blanks


@CLI_FUZZ
@given(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE]), st.binary(max_size=200),
       st.sampled_from(["status", "solve", "fill", "table"]))
def test_cli_on_arbitrary_bytes(capsys, no_data, bom, data, command):
    path = no_data / "g.toml"
    path.write_bytes(bom + data)
    status, err = run_cli(capsys, no_data, command, path)
    if status == 2:
        assert str(path) in err


# --------------------------------------------------------------------------- the cases
QUICKSTART = BASES["quickstart"]


def with_field(section, key, value, index=None, base=QUICKSTART):
    doc = copy.deepcopy(base)
    target = doc[section] if index is None else doc[section][index]
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return doc


@pytest.mark.parametrize("doc,message", [
    # booleans are not numbers
    (with_field("game", "n_attackers", True), r"n_attackers=True is not an integer"),
    (with_field("environment", "v_d", False), r"\[environment\]: v_d=False is not a number"),
    (with_field("environment", "n_images", True), r"\[environment\]: n_images=True is not an integer"),
    (with_field("environment", "n_max", True), r"\[environment\]: n_max=True is not an integer"),
    (with_field("attackers", "eps", True, 0), r"\[\[attackers\]\] #1: eps=True is not a number"),
    (with_field("game", "seeds", [True]), r"seeds\[0\]=True is not an integer"),
    # fractional seeds and counts
    (with_field("game", "seeds", [3407.5]), r"seeds\[0\]=3407.5 is not an integer"),
    (with_field("game", "seeds", [3407.0]), r"seeds\[0\]=3407.0 is not an integer"),
    (with_field("game", "seeds", [2**32]), r"seeds\[0\]=4294967296 is out of range"),
    (with_field("game", "seeds", 3407), r"seeds=3407: allowed a non-empty list"),
    (with_field("game", "n_attackers", 20.0), r"n_attackers=20.0 is not an integer"),
    (with_field("environment", "n_images", 3000.5), r"n_images=3000.5 is not an integer"),
    # names
    (with_field("game", "name", 5), r"name=5 is not a non-empty string"),
    (with_field("game", "name", ""), r"name='' is not a non-empty string"),
    # tables of the wrong shape
    ({**QUICKSTART, "game": 5}, r"g.toml: game: 5 is not a table \[game\]"),
    ({**QUICKSTART, "attackers": {"name": "a"}}, r"attackers: \{'name': 'a'\} is not an array of tables"),
    (with_field("environment", "preset_overrides", 3), r"preset_overrides=3 is not a table"),
    # preset overrides are checked when the spec is read, not when training starts
    (with_field("environment", "preset_overrides", {"max_epochs": 0}), r"max_epochs"),
    (with_field("environment", "preset_overrides", {"lr": True}), r"lr"),
    (with_field("environment", "preset_overrides", {"colour": 1}), r"unknown preset field 'colour': known preset fields are"),
])
def test_types_are_checked_exactly(tmp_path, doc, message):
    path = tmp_path / "g.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    one_line_naming(str(info.value), str(path))


@pytest.mark.parametrize("section,key,index,message", [
    ("game", "name", None, r"name=None is not a non-empty string"),
    ("environment", "dataset", None, r"unknown dataset None: known datasets are "),
    ("attackers", "trigger", 0, r"unknown trigger None"),
    ("attackers", "name", 0, r"name=None is not a non-empty string"),
    ("defenders", "architecture", 0, r"unknown architecture None"),
    ("game", "n_attackers", None, r"n_attackers=None is not an integer"),
    ("environment", "v_d", None, r"v_d=None is not a number"),
])
def test_null_is_not_a_name_or_a_number(section, key, index, message):
    with pytest.raises(SpecError, match=message) as info:
        spec_from_dict(with_field(section, key, None, index), where="g.json")
    one_line_naming(str(info.value), "g.json")


@pytest.mark.parametrize("game,environment,message", [
    # quickstart: 3000 MNIST images, v_d = 0.5 → 1500 for the attackers, 2 images each at least → N_max ≤ 750
    ({"n_attackers": 10**9}, {"n_max": ...}, r"n_attackers=1000000000 is out of range: allowed \[1, 750\]"),
    ({"n_attackers": 751}, {"n_max": ...}, r"n_attackers=751 is out of range: allowed \[1, 750\]"),
    ({"n_attackers": 20}, {"n_max": 10**9}, r"environment.n_max=1000000000 is out of range: allowed \[1, 750\]"),
    ({"n_attackers": 20}, {"n_images": ...}, None),  # the whole of MNIST: 70,000 images
    ({"n_attackers": 17_501}, {"n_images": ..., "n_max": ...}, r"allowed \[1, 17500\]"),
    ({"n_attackers": 20}, {"test_fraction": 0.99}, r"n_max=20 is out of range: allowed \[1, 7\]; .*n = 30 allocated"),
    ({"n_attackers": 20}, {"n_images": 80_000}, r"n_images=80000 is out of range: allowed \[1, 70000\] \(the images of mnist\)"),
    ({"n_attackers": 20}, {"dataset": "digits"}, r"n_images=3000 is out of range: allowed \[1, 1797\] \(the images of digits\)"),
])
def test_n_within_what_the_allocation_can_give(tmp_path, game, environment, message):
    doc = copy.deepcopy(QUICKSTART)
    for table, changes in (("game", game), ("environment", environment)):
        for key, value in changes.items():
            if value is ...:
                del doc[table][key]
            else:
                doc[table][key] = value
    path = tmp_path / "g.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    if message is None:
        assert load_spec(path).n_attackers == game["n_attackers"]
        return
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    one_line_naming(str(info.value), str(path))


@pytest.mark.parametrize("labels,message", [
    ({"kind": "fixed", "labels": [0, 12]}, r"attackers 'independent labels': labels.labels\[1\]=12 is out of range: "
                                           r"allowed \[0, 9\] \(num_classes=10\), the classes of mnist$"),
    ({"kind": "coordinated", "label": 10, "fraction": 0.5}, r"labels.label=10 is out of range: allowed \[0, 9\] \(num_classes=10\)"),
    ({"kind": "coordinated", "label": 4, "fraction": 0.5, "others": [2, 99]}, r"labels.others\[1\]=99 is out of range"),
    ({"kind": "fixed", "labels": [0, 9]}, None),
])
def test_target_labels_within_the_classes(tmp_path, labels, message):
    path = tmp_path / "g.toml"
    path.write_text(tomli_w.dumps(with_field("attackers", "labels", labels, 0)), encoding="utf-8")
    if message is None:
        assert load_spec(path).attackers["independent labels"].labels.labels == (0, 9)
        return
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    one_line_naming(str(info.value), str(path))


def test_target_labels_in_mixed_and_federated_strategies():
    table6 = copy.deepcopy(BASES["table6_cpu"])
    table6["attackers"][1]["components"][0]["strategy"]["labels"] = [0, 2, 4, 6, 10]
    with pytest.raises(SpecError, match=r"attackers '0% label overlap': labels.labels\[4\]=10 is out of range"):
        spec_from_dict(table6, where="t.toml")
    federated = copy.deepcopy(BASES["federated"])
    federated["attackers"][0]["target"] = 10
    with pytest.raises(SpecError, match=r"target=10 is out of range for task 'ardis' \(mnist\): allowed \[0, 9\]"):
        spec_from_dict(federated, where="f.toml")
    federated["attackers"][0]["target"] = 9
    assert spec_from_dict(federated).attackers


def test_federated_fixed_frequency_attackers_fit_in_a_round():
    federated = copy.deepcopy(BASES["federated"])
    per_round = spec_from_dict(federated).environment.config().clients_per_round
    federated["game"]["n_attackers"] = per_round + 1
    with pytest.raises(SpecError, match=rf"n_attackers={per_round + 1} is out of range: allowed \[1, {per_round}\] \(clients_per_round: "):
        spec_from_dict(federated, where="f.toml")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_specs_with_a_byte_order_mark_are_read(tmp_path, encoding):
    text = "# é\n" + EXAMPLES["quickstart"].read_text(encoding="utf-8")
    data = text.encode(encoding) if encoding != "utf-16-be" else codecs.BOM_UTF16_BE + text.encode(encoding)
    path = tmp_path / "g.toml"
    path.write_bytes(data)
    assert load_spec(path).key() == load_spec(EXAMPLES["quickstart"]).key()


@pytest.mark.parametrize("comment,encoding,message", [
    ("# e", "utf-16-le", r"contains NUL characters \(UTF-16 without a byte-order mark"),
    ("# é", "utf-16-le", r"not UTF-8 text \(byte 0xe9 at offset 4\); save it as UTF-8 \(or UTF-16 with a byte-order"),
    ("# é", "latin-1", r"not UTF-8 text \(byte 0xe9 at offset 2\)"),
])
def test_other_spec_encodings_are_named(tmp_path, comment, encoding, message):
    path = tmp_path / "g.toml"
    path.write_bytes((comment + "\n" + EXAMPLES["quickstart"].read_text(encoding="utf-8")).encode(encoding))
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    one_line_naming(str(info.value), str(path))


@pytest.mark.parametrize("text,message", [
    ("a = " + "[" * 2000, r"nested too deeply"),
    ("[game]\nn_attackers = 5\n[game]\n", r"invalid TOML \(Cannot declare \('game',\) twice"),
    ("", r"\[game\]: n_attackers is missing"),
])
def test_malformed_toml_is_one_line(tmp_path, text, message):
    path = tmp_path / "g.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=message) as info:
        load_spec(path)
    one_line_naming(str(info.value), str(path))


def test_a_folder_is_not_a_spec(tmp_path):
    with pytest.raises(SpecError, match="cannot be read") as info:
        load_spec(tmp_path)
    one_line_naming(str(info.value), str(tmp_path))


@pytest.mark.parametrize("command", ["status", "solve", "fill", "table"])
def test_cli_names_the_file_and_the_key(capsys, no_data, command):
    path = no_data / "g.toml"
    path.write_text(tomli_w.dumps(with_field("game", "seeds", [3407.5])), encoding="utf-8")
    status, err = run_cli(capsys, no_data, command, path)
    assert status == 2 and err.startswith(f"backfire: error: {path}: ") and "seeds[0]=3407.5 is not an integer" in err
    assert not (no_data / "results.sqlite").exists()


HEADER = "attacker,defender,attacker_payoff,defender_payoff\n"


@pytest.mark.parametrize("data,expect", [
    (codecs.BOM_UTF8 + (HEADER + "a,d,0.25,0.75\n").encode(), 0),
    ((HEADER + "a,d,0.25,0.75\n").encode("utf-16"), 0),
    ((HEADER + "a,d,0.25,0.75\n").encode("utf-16-le"), "contains NUL characters"),
])
def test_cli_solve_csv_with_a_byte_order_mark(tmp_path, capsys, data, expect):
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    status = main(["solve", str(path), "--json"])
    err = capsys.readouterr().err
    if expect == 0:
        assert status == 0 and not err
    else:
        assert status == 2 and err.count("\n") == 1 and f"{path}: " in err and expect in err


def test_the_python_api_checks_the_same_rules():
    from oracle.specs import Environment
    from strategies import AttackerStrategy, DefenderStrategy

    env = Environment(dataset="digits", v_d=0.5)  # 1,797 images: 898 for the attackers, N_max ≤ 449
    defenders = {"d": DefenderStrategy("smallcnn", "none")}
    ok = GameSpec("g", env, 449, {"a": AttackerStrategy.fixed_labels((9,), name="a")}, defenders)
    assert ok.n_max == 449
    with pytest.raises(SpecError, match=r"n_attackers=450 is out of range: allowed \[1, 449\]"):
        GameSpec("g", env, 450, {"a": AttackerStrategy(name="a")}, defenders)
    with pytest.raises(SpecError, match=r"labels.labels\[0\]=10 is out of range: allowed \[0, 9\] \(num_classes=10\)"):
        GameSpec("g", env, 5, {"a": AttackerStrategy.fixed_labels((10,), name="a")}, defenders)
    with pytest.raises(ValueError, match=r"seeds\[0\]=True is not an integer"):
        ok.with_seeds([True])


def test_cli_on_a_good_spec_trains_nothing(capsys, no_data):
    """A good spec (digits ship with scikit-learn): status and fill --max-cells 0 answer, and nothing is trained."""
    doc = with_field("environment", "dataset", "digits")
    doc["environment"]["n_images"] = 1000
    path = no_data / "g.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    assert run_cli(capsys, no_data, "status", path)[0] == 0
    assert run_cli(capsys, no_data, "fill", path)[0] == 0
    status, err = run_cli(capsys, no_data, "solve", path)
    assert status == 2 and "4 of 4 cells have no cached result" in err


@pytest.mark.parametrize("seeds,message", [
    (["-1"], r"--seeds: seeds\[0\]=-1 is out of range"),
    (["4294967296"], r"--seeds: seeds\[0\]=4294967296 is out of range"),
    (["7", "7"], r"--seeds: seeds=\[7, 7\]: allowed a non-empty list of distinct integers"),
    (["1.5"], r"argument --seeds: invalid int value: '1.5'"),
])
def test_cli_seeds_are_checked_like_the_specs(capsys, no_data, seeds, message):
    status = main(["status", str(EXAMPLES["quickstart"]), "--cache", str(no_data / "results.sqlite"), "--seeds", *seeds])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and re.search(message, err), err
    assert results_in(no_data / "results.sqlite") == 0


def test_federated_fixed_pool_attackers_fit_in_the_clients():
    federated = copy.deepcopy(BASES["federated"])
    federated["attackers"] = [{"name": "pool", "mode": "black-box", "schedule": "fixed-pool", "pool_fraction": 0.25}]
    n_clients = spec_from_dict(federated).environment.config().n_clients
    size = max(1, int(0.25 * n_clients + 0.5))
    federated["game"]["n_attackers"] = n_clients // size
    assert spec_from_dict(federated).n_attackers == n_clients // size
    federated["game"]["n_attackers"] = n_clients // size + 1
    with pytest.raises(SpecError, match=rf"pools of {size} clients do not fit in n_clients = {n_clients}; "
                                        rf"allowed \[1, {n_clients // size}\]"):
        spec_from_dict(federated, where="f.toml")


def test_federated_n_edge_within_the_edge_case_set():
    federated = copy.deepcopy(BASES["federated"])
    federated["attackers"][0]["n_edge"] = 66  # the ARDIS task's attacker sevens
    assert spec_from_dict(federated).attackers
    federated["attackers"][0]["n_edge"] = 67
    with pytest.raises(SpecError, match=r"n_edge=67 is out of range for task 'ardis': allowed \[0, 66\]"):
        spec_from_dict(federated, where="f.toml")
