"""Solving offline: ``backfire solve/status SPEC`` answer from the cache file alone (no data read, no
torch), the data fingerprint a fill records keeps changed data apart, and caches written before the
fingerprints were recorded (schema 1) are converted and stay readable under their old keys."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import main
from oracle.data.dataset import Dataset
from oracle.fill import make_oracle
from oracle.jobs import Job
from oracle.specs import load_spec
from oracle.store.cache import ResultCache
from oracle.store.keys import content_key
from oracle.store.outcome import Outcome
from oracle.victims.presets import TRAINER_VERSION, get_preset
from spec_texts import INDEPENDENT, MNIST_ENVIRONMENT, SMALL, game, one_cell, patched

ROOT = Path(__file__).resolve().parents[1]

SPEC = (game("offline", seeds=(3407, 3408)) + MNIST_ENVIRONMENT + INDEPENDENT + """
[[attackers]]
name = "all on 4"
eps = 0.55
p = 0.2
labels = { kind = "coordinated", label = 4, fraction = 1.0 }
""" + SMALL + """
[[defenders]]
name = "LeNet"
architecture = "lenet"
defense = "none"
""")

FINGERPRINT = "5eed" * 16

# Run in a fresh interpreter with torch and every data reader made unusable: a solve that reads the
# data or imports torch fails loudly here.
_OFFLINE = """
import json, sys, time
for name in ("torch", "torchvision", "sklearn"):
    sys.modules[name] = None  # "import torch" now raises ImportError
import oracle.data.datasets, oracle.payoff_oracle, oracle.federated.game
def refuse(*a, **k):
    raise AssertionError("the data was read")
oracle.data.datasets.load_dataset = oracle.payoff_oracle.load_dataset = refuse
oracle.federated.game.load_task = refuse
from oracle.cli import main
t0 = time.perf_counter()
codes = [main(argv) for argv in json.loads(sys.argv[1])]
print(json.dumps({"codes": codes, "seconds": time.perf_counter() - t0,
                  "torch": [m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None]}))
"""


def _offline(tmp_path, *argvs):
    empty = tmp_path / "no-data"
    empty.mkdir(exist_ok=True)
    env = {**os.environ, "BACKFIRE_DATA": str(empty), "BACKFIRE_DOWNLOAD": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _OFFLINE, json.dumps(list(argvs))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    *printed, last = proc.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed), proc.stderr


def _outcome(seed: int, asr: float) -> Outcome:
    return Outcome(asr=[asr, asr / 2], asr_excluding_target=[asr, asr / 2], clean_label_acc=[0.5, 0.5],
                   clean_acc=[0.9, 0.9], targets=[4, 4], defender_val_acc=0.9, seed=seed,
                   timings={"train": 1.0}, environment={"device": "cpu"}, extra={"dataset": "MNIST"})


def _schema_1_cache(path: Path, spec) -> None:
    """Every cell of ``spec``, written as the code before data fingerprints were recorded wrote it:
    the profile built field by field (the fingerprint inside the environment), a schema-1 file."""
    preset = get_preset(spec.environment.preset, **dict(spec.environment.preset_overrides)).to_dict()
    with ResultCache(path) as cache:
        for i, (a_label, attacker) in enumerate(spec.attackers.items()):
            for j, defender in enumerate(spec.defenders.values()):
                d = defender.to_dict()
                d.pop("name", None)
                profile = {"oracle_version": "1",
                           "environment": {**spec.environment.to_dict(), "dataset_fingerprint": FINGERPRINT},
                           "preset": preset, "trainer_version": TRAINER_VERSION, "n_attackers": spec.n_attackers,
                           "n_max": spec.n_max, "defender": d, "attacker": attacker.key_data()}
                for seed in spec.seeds:
                    cache.put(content_key(profile, seed), _outcome(seed, 0.2 + 0.3 * i + 0.1 * j),
                              cell_key=content_key(profile), seed=seed, profile=profile)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE data_versions")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def test_old_cache_converted_and_solved_without_data_or_torch(tmp_path):
    spec_path = tmp_path / "offline.toml"
    spec_path.write_text(SPEC)
    cache = tmp_path / "old.sqlite"
    _schema_1_cache(cache, load_spec(spec_path))
    keys_before = ResultCache(cache, readonly=True).keys()
    c = ["--cache", str(cache)]
    result, out, err = _offline(tmp_path, ["status", str(spec_path), *c], ["solve", str(spec_path), *c],
                                ["solve", str(spec_path), *c, "--json"])
    assert result["codes"] == [0, 0, 0], err
    assert result["torch"] == []
    assert result["seconds"] < 30  # about a second on an idle machine; this one is shared
    assert "all 8 distinct job(s) cached" in out and out.count(" complete\n") == 4  # the four status rows
    assert f"data: MNIST, content fingerprint {FINGERPRINT[:12]}" in out
    assert f"Measured on MNIST, content fingerprint {FINGERPRINT[:12]}" in out
    data = json.loads(out[out.index("{"):])
    assert data["data"]["fingerprint"] == FINGERPRINT and data["equilibria"]
    # the old rows kept their keys; the file is now schema 2 with the fingerprint recorded
    with ResultCache(cache) as converted:
        assert converted.keys() == keys_before
        oracle = make_oracle(load_spec(spec_path), cache=converted, train=False)
        assert oracle.data_fingerprint == FINGERPRINT and not oracle.missing()


def test_unfilled_spec_offline_names_no_data_and_the_fill_with_its_seeds(tmp_path):
    spec_path = tmp_path / "offline.toml"
    spec_path.write_text(SPEC)
    cache = tmp_path / "empty.sqlite"
    c = ["--cache", str(cache), "--seeds", "1", "2", "3"]
    result, out, err = _offline(tmp_path, ["status", str(spec_path), *c], ["solve", str(spec_path), *c])
    assert result["codes"] == [0, 2] and result["torch"] == []
    assert "data: none recorded" in out and "12 of 12 distinct job(s) missing" in out
    assert f"fill them: backfire fill {spec_path} --seeds 1 2 3 --cache {cache}" in out
    assert f"run 'backfire fill {spec_path} --seeds 1 2 3 --cache {cache}' first" in err


def _digits_spec(tmp_path):
    path = tmp_path / "digits.toml"
    path.write_text(patched(SPEC, 'dataset = "mnist"\nn_images = 400', 'dataset = "digits"'))
    return load_spec(path)


def test_changed_data_is_keyed_apart_and_named(tmp_path, monkeypatch, caplog):
    spec = _digits_spec(tmp_path)
    cache = ResultCache(tmp_path / "c.sqlite")
    first = make_oracle(spec, cache=cache, train=True)
    keys = {first.key(j) for j in first.jobs()}
    job = first.jobs()[0]
    cache.put(first.key(job), _outcome(job.seed, 0.5), cell_key=first.cell_key(job), seed=job.seed,
              profile=first.profile(job))
    # the same description, other content (one pixel changed): a new fill keys every job apart
    ds = first.dataset
    x = ds.x_train.copy()
    x[0, 0, 0, 0] ^= 1
    changed = Dataset(ds.name, x, ds.y_train, ds.x_test, ds.y_test, ds.num_classes, ds.class_names, ds.description)
    monkeypatch.setattr("oracle.payoff_oracle.load_dataset", lambda *a, **k: changed)
    second = make_oracle(spec, cache=cache, train=True)
    with caplog.at_level("WARNING", logger="backfire.oracle"):
        assert {second.key(j) for j in second.jobs()}.isdisjoint(keys)
    assert "kept apart" in caplog.text
    assert len(second.missing()) == len(second.jobs())
    assert [v.fingerprint for v in cache.data_versions(second.data_key)] == [changed.fingerprint(),
                                                                             ds.fingerprint()]
    # a reader now names the latest fill's data; its keys are the second fill's
    reader = make_oracle(spec, cache=cache, train=False)
    assert reader.data_fingerprint == changed.fingerprint() and reader.cached(job) is None
    # and it refuses to train on data that its keys do not name
    monkeypatch.setattr("oracle.payoff_oracle.load_dataset", lambda *a, **k: ds)
    with pytest.raises(ValueError, match="not the data this read-only oracle's keys name"):
        make_oracle(spec, cache=cache, train=False).check_data()


def test_keys_are_unchanged_for_the_same_data(tmp_path):
    """A fill's keys are those the code before recorded fingerprints computed (no cached cell moves)."""
    spec = _digits_spec(tmp_path)
    oracle = make_oracle(spec, cache=ResultCache(tmp_path / "c.sqlite"), train=True)
    job = Job(spec.attackers["independent"], spec.defenders["small"], 3407)
    d = job.defender.to_dict()
    d.pop("name", None)
    profile = {"oracle_version": "1",
               "environment": {**spec.environment.to_dict(), "dataset_fingerprint": oracle.dataset.fingerprint()},
               "preset": get_preset("tiny").to_dict(), "trainer_version": TRAINER_VERSION, "n_attackers": 2,
               "n_max": 2, "defender": d, "attacker": job.attacker.key_data()}
    assert oracle.key(job) == content_key(profile, 3407)


@pytest.mark.slow
def test_fill_then_solve_offline(tmp_path):
    """A real fill (digits, one cell, one seed) records its data; solve then reads no data and no torch."""
    spec_path = tmp_path / "one.toml"
    spec_path.write_text(one_cell("offline"))
    cache = tmp_path / "c.sqlite"
    assert main(["fill", str(spec_path), "--cache", str(cache), "--quiet"]) == 0
    result, out, err = _offline(tmp_path, ["solve", str(spec_path), "--cache", str(cache), "--json"])
    assert result["codes"] == [0] and result["torch"] == [], err
    data = json.loads(out)
    assert data["data"]["description"] and len(data["data"]["fingerprint"]) == 64
    assert data["attackers"] == ["independent"] and data["defenders"] == ["small"] and data["equilibria"]
