"""The SQLite result cache: round trips, keys, claims, two fillers at once,
an interrupted writer, and the errors a bad file gives."""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.store import cache as C
from oracle.store.cache import CacheError, ResultCache, default_cache_path
from oracle.store.keys import canonical_json, content_key
from oracle.store.outcome import Outcome

FORK = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
needs_fork = pytest.mark.skipif(FORK is None, reason="needs the 'fork' start method")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No user settings leak in: the default cache lives in the test's folder."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv(C.ENV_CACHE, str(tmp_path / "default-cache"))


def make_outcome(seed: int = 3407, n: int = 3, **extra) -> Outcome:
    return Outcome(
        asr=[0.5 + 0.01 * i for i in range(n)],
        asr_excluding_target=[math.nan] + [0.25] * (n - 1),
        clean_label_acc=[0.125 * i for i in range(n)],
        clean_acc=[0.9] * n,
        targets=list(range(n)),
        defender_val_acc=0.875,
        defender_test_acc=math.nan,
        seed=seed,
        timings={"train": 12.5, "eval": 0.5},
        environment={"device": "cpu", "torch": "2.9.1", "numpy": "2.1.0"},
        extra=dict(extra),
    )


def profile_of(i: int) -> dict:
    return {
        "environment": {"dataset": "digits", "classes": 10},
        "attacker": {"kind": "independent", "eps": 0.1, "p": 0.55, "index": i},
        "defender": {"arch": "resnet18", "defense": "none"},
        "N": 5,
        "preset": "quick",
        "oracle_version": "0.1.0",
    }


def store(cache: ResultCache, i: int, seed: int, **extra) -> str:
    """Put the outcome of cell ``i``, seed ``seed``; returns its key."""
    profile = profile_of(i)
    key = content_key(profile, seed)
    cache.put(key, make_outcome(seed, **extra), cell_key=content_key(profile), seed=seed, profile=profile)
    return key


def assert_same_outcome(a: Outcome, b: Outcome) -> None:
    for name in ("asr", "asr_excluding_target", "clean_label_acc", "clean_acc"):
        x, y = getattr(a, name), getattr(b, name)
        assert len(x) == len(y), name
        for u, v in zip(x, y):
            assert (math.isnan(u) and math.isnan(v)) or u == v, (name, x, y)
    for name in ("defender_val_acc", "defender_test_acc"):
        u, v = getattr(a, name), getattr(b, name)
        assert (math.isnan(u) and math.isnan(v)) or u == v, name
    assert a.targets == b.targets
    assert a.seed == b.seed
    assert dict(a.timings) == dict(b.timings)
    assert dict(a.environment) == dict(b.environment)
    assert dict(a.extra) == dict(b.extra)


# ------------------------------------------------------------------ paths


def test_default_path_honours_backfire_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKFIRE_CACHE", str(tmp_path / "mine"))
    assert default_cache_path() == tmp_path / "mine" / "results.sqlite"
    with ResultCache() as cache:  # creates the folder on first use
        assert cache.path == tmp_path / "mine" / "results.sqlite"
    assert (tmp_path / "mine" / "results.sqlite").is_file()


def test_default_path_without_backfire_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKFIRE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "backfire" / "results.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "backfire" / "results.sqlite"


def test_default_path_creates_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKFIRE_CACHE", str(tmp_path / "nope"))
    default_cache_path()
    assert not (tmp_path / "nope").exists()


# ------------------------------------------------------------ round trips


def test_round_trip_through_a_new_object(tmp_path):
    path = tmp_path / "sub" / "dir" / "r.sqlite"  # parents created
    profile = profile_of(7)
    key, cell = content_key(profile, 11), content_key(profile)
    original = make_outcome(11, n=4, note="hello", nested={"a": [1, 2]})
    with ResultCache(path) as cache:
        assert cache.put(key, original, cell_key=cell, seed=11, profile=profile) is True
    with ResultCache(path) as again:
        back = again.get(key)
        assert back is not None
        assert_same_outcome(back, original)
        assert math.isnan(back.asr_excluding_target[0]) and math.isnan(back.defender_test_acc)
        assert back.to_json() == original.to_json()
        rec = again.record(key)
        assert rec.cell_key == cell and rec.seed == 11
        assert rec.profile == json.loads(canonical_json(profile))
        assert rec.oracle_version == "0.1.0"
        assert rec.device == "cpu"
        assert rec.seconds == pytest.approx(13.0)
        assert abs(rec.created_at - time.time()) < 60


def test_stored_as_json_text_not_pickle(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultCache(path) as cache:
        key = store(cache, 0, 1)
    conn = sqlite3.connect(path)
    profile_json, outcome_json = conn.execute(
        "SELECT profile_json, outcome_json FROM outcomes WHERE key = ?", (key,)).fetchone()
    conn.close()
    assert isinstance(outcome_json, str) and isinstance(profile_json, str)
    assert json.loads(outcome_json)["asr"] == [0.5, 0.51, 0.52]
    assert json.loads(profile_json) == profile_of(0)


finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.floats(0, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 6), data=st.data())
def test_round_trip_any_metrics(n, data):
    values = {name: data.draw(st.lists(finite_or_not, min_size=n, max_size=n), label=name)
              for name in ("asr", "asr_excluding_target", "clean_label_acc", "clean_acc")}
    outcome = Outcome(**values, targets=data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)),
                      defender_val_acc=data.draw(finite_or_not), defender_test_acc=data.draw(finite_or_not),
                      seed=data.draw(st.integers(0, 2**31)), timings={"total": 1.5})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.sqlite"
        with ResultCache(path) as cache:
            cache.put("k", outcome, cell_key="c", seed=outcome.seed, profile={"x": 1})
        with ResultCache(path) as cache:
            assert_same_outcome(cache.get("k"), outcome)


def test_absent_keys(tmp_path):
    with ResultCache(tmp_path / "r.sqlite") as cache:
        assert cache.get("missing") is None
        assert cache.record("missing") is None
        assert "missing" not in cache
        assert 42 not in cache
        assert len(cache) == 0
        assert cache.seeds("no-cell") == [] and cache.outcomes("no-cell") == [] and cache.cells() == []
        assert cache.delete("missing") is False
        key = store(cache, 0, 0)
        assert key in cache and len(cache) == 1
        assert cache.get(key[::-1]) is None


def test_second_put_keeps_the_first(tmp_path, caplog):
    with ResultCache(tmp_path / "r.sqlite") as cache:
        first, second = make_outcome(5, who="first"), make_outcome(5, who="second")
        assert cache.put("k", first, cell_key="c", seed=5, profile={"a": 1}) is True
        with caplog.at_level("INFO", logger="oracle.store.cache"):
            assert cache.put("k", second, cell_key="c", seed=5, profile={"a": 1}) is False
        assert "already stored" in caplog.text
        assert cache.get("k").extra == {"who": "first"}
        assert len(cache) == 1


def test_put_validates_its_arguments(tmp_path):
    with ResultCache(tmp_path / "r.sqlite") as cache:
        with pytest.raises(ValueError, match="seed 4 differs from the outcome's seed 5"):
            cache.put("k", make_outcome(5), cell_key="c", seed=4, profile={})
        with pytest.raises(ValueError, match="key='' is not a non-empty string"):
            cache.put("", make_outcome(5), cell_key="c", seed=5, profile={})
        with pytest.raises(TypeError, match="outcome must be an Outcome"):
            cache.put("k", {"asr": []}, cell_key="c", seed=5, profile={})
        with pytest.raises(ValueError, match="canonical JSON"):
            cache.put("k", make_outcome(5), cell_key="c", seed=5, profile={"eps": math.nan})
        assert len(cache) == 0


def test_seeds_outcomes_cells_delete(tmp_path):
    with ResultCache(tmp_path / "r.sqlite") as cache:
        for seed in (3, 1, 2):
            store(cache, 0, seed)
        store(cache, 1, 9)
        cell0, cell1 = content_key(profile_of(0)), content_key(profile_of(1))
        assert cache.seeds(cell0) == [1, 2, 3]
        assert [o.seed for o in cache.outcomes(cell0)] == [1, 2, 3]
        assert cache.seeds(cell1) == [9]
        cells = cache.cells()
        assert [(c.cell_key, c.n_seeds) for c in cells] == [(cell0, 3), (cell1, 1)]
        assert cells[1].profile == profile_of(1)
        cell_key, profile, n = cells[0]  # plain tuples too
        assert (cell_key, n) == (cell0, 3) and profile["attacker"]["index"] == 0
        assert len(cache) == 4 and len(cache.keys()) == 4
        assert cache.delete(content_key(profile_of(0), 2)) is True
        assert cache.seeds(cell0) == [1, 3]
        assert len(cache) == 3


def test_content_key():
    p = profile_of(0)
    shuffled = dict(reversed(list(p.items())))
    assert content_key(p) == content_key(shuffled)
    assert content_key({"t": (1, 2)}) == content_key({"t": [1, 2]})
    assert content_key(p, 0) != content_key(p, 1) != content_key(p)
    assert content_key(p, 3407) == content_key(shuffled, 3407)
    assert len(content_key(p)) == 64
    with pytest.raises(ValueError, match="canonical JSON"):
        content_key({"eps": math.inf})
    with pytest.raises(TypeError, match="set"):
        content_key({"labels": {1, 2}})
    with pytest.raises(ValueError, match=r"^seed=1.5 is not an integer$"):
        content_key(p, 1.5)


# ---------------------------------------------------------------- claims


def test_claims(tmp_path):
    with ResultCache(tmp_path / "r.sqlite") as cache:
        assert cache.claim("k", "A") is True
        assert cache.claim("k", "B") is False          # A holds it
        assert cache.claim("k", "A") is True           # renewal
        assert [(c.key, c.worker, c.live) for c in cache.claims()] == [("k", "A", True)]
        assert cache.release("k", "B") is False        # not B's to release
        assert cache.release("k", "A") is True
        assert cache.claim("k", "B") is True           # free again

        assert cache.claim("short", "A", lease_seconds=0.05) is True
        assert cache.claim("short", "B") is False
        time.sleep(0.1)
        assert cache.claim("short", "B") is True       # expired: taken over
        assert cache.claim("short", "A") is False

        assert cache.claim("done", "A") is True
        cache.put("done", make_outcome(1), cell_key="c", seed=1, profile={})
        assert cache.claims(include_dead=True) and all(c.key != "done" for c in cache.claims(include_dead=True))
        assert cache.claim("done", "A") is False       # stored: nobody trains it again
        assert cache.claim("done", "B") is False

        assert cache.release_all("B") == 2
        assert cache.claims() == []
        with pytest.raises(ValueError, match=r"lease_seconds=0 is out of range: allowed \(0, inf\)"):
            cache.claim("k", "A", lease_seconds=0)
        with pytest.raises(ValueError, match=r"poll_seconds=0 is out of range: allowed \(0, inf\)"):
            cache.wait("k", poll_seconds=0)
        with pytest.raises(ValueError, match=r"timeout=inf is out of range: allowed \(0, inf\)"):
            ResultCache(cache.path, timeout=float("inf"))
        with pytest.raises(ValueError, match="worker"):
            cache.claim("k", "")


def test_claims_are_shared_between_objects(tmp_path):
    with ResultCache(tmp_path / "r.sqlite") as a, ResultCache(tmp_path / "r.sqlite") as b:
        assert a.claim("k", "A") is True
        assert b.claim("k", "B") is False
        a.put("k", make_outcome(1), cell_key="c", seed=1, profile={})
        assert b.get("k") is not None


def _claim_and_exit(path: str) -> None:
    ResultCache(path).claim("k", "dead-worker")
    os._exit(0)


@needs_fork
def test_claim_of_an_exited_process_is_taken_over(tmp_path):
    path = str(tmp_path / "r.sqlite")
    child = FORK.Process(target=_claim_and_exit, args=(path,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    with ResultCache(path) as cache:
        dead = cache.claims(include_dead=True)
        assert [(c.worker, c.pid, c.live) for c in dead] == [("dead-worker", child.pid, False)]
        assert cache.claims() == []
        assert cache.wait("k", timeout=5) is None      # nobody is working on it
        assert cache.claim("k", "me") is True          # lease is an hour, but its process is gone


def test_wait_returns_the_other_workers_result(tmp_path):
    with ResultCache(tmp_path / "r.sqlite") as cache:
        assert cache.claim("k", "other") is True

        def finish():
            time.sleep(0.2)
            cache.put("k", make_outcome(2, by="other"), cell_key="c", seed=2, profile={})

        t = threading.Thread(target=finish)
        t.start()
        t0 = time.monotonic()
        got = cache.wait("k", timeout=20, poll_seconds=0.02)
        t.join()
        assert got is not None and got.extra == {"by": "other"}
        assert time.monotonic() - t0 < 10

        assert cache.claim("slow", "other") is True
        t0 = time.monotonic()
        assert cache.wait("slow", timeout=0.2, poll_seconds=0.05) is None
        assert 0.15 < time.monotonic() - t0 < 5
        cache.release("slow", "other")
        assert cache.wait("slow", timeout=20) is None  # released: returns at once, caller may claim
        assert cache.wait("never-claimed") is None


# -------------------------------------------- processes and threads at once


KEYS_PER_CELL = 2
N_CELLS = 10


def _filler(cache: ResultCache, worker: str, barrier, out_file: str) -> None:
    """The documented protocol: claim, train (sleep), put; skip claimed keys, wait for them later."""
    jobs = [(i, seed) for i in range(N_CELLS) for seed in range(KEYS_PER_CELL)]
    barrier.wait(30)
    trained, pending = [], []
    for i, seed in jobs:
        key = content_key(profile_of(i), seed)
        if key in cache:
            continue
        if not cache.claim(key, worker):
            pending.append(key)
            continue
        time.sleep(0.02)  # "training"
        stored = cache.put(key, make_outcome(seed, trained_by=worker, pid=os.getpid()),
                           cell_key=content_key(profile_of(i)), seed=seed, profile=profile_of(i))
        trained.append([key, stored])
    waited = {}
    for key in pending:
        out = cache.wait(key, timeout=60, poll_seconds=0.01)
        waited[key] = None if out is None else out.extra["trained_by"]
    Path(out_file).write_text(json.dumps({"trained": trained, "waited": waited}))


def test_two_processes_fill_the_same_file(tmp_path):
    ctx = mp.get_context("spawn")
    path = tmp_path / "r.sqlite"
    cache = ResultCache(path)  # handed to the children: they get the path, not a connection
    barrier = ctx.Barrier(2)
    workers = {"A": str(tmp_path / "A.json"), "B": str(tmp_path / "B.json")}
    procs = [ctx.Process(target=_filler, args=(cache, w, barrier, f)) for w, f in workers.items()]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]

    reports = {w: json.loads(Path(f).read_text()) for w, f in workers.items()}
    all_keys = {content_key(profile_of(i), s) for i in range(N_CELLS) for s in range(KEYS_PER_CELL)}
    trained = {w: [k for k, _ in r["trained"]] for w, r in reports.items()}
    # each key trained by exactly one process, and every put of a trained key stored it
    assert sorted(trained["A"] + trained["B"]) == sorted(all_keys)
    assert not set(trained["A"]) & set(trained["B"])
    assert all(stored for r in reports.values() for _, stored in r["trained"])
    # what a process waited for came from the other one
    for w, r in reports.items():
        assert set(r["waited"]) <= all_keys - set(trained[w])
        assert all(by is not None and by != w for by in r["waited"].values())

    again = ResultCache(path)
    assert len(again) == len(all_keys)
    for w, keys in trained.items():
        for key in keys:
            assert again.get(key).extra["trained_by"] == w
    assert [c.n_seeds for c in again.cells()] == [KEYS_PER_CELL] * N_CELLS
    assert again.claims(include_dead=True) == []
    assert again.integrity_check() == "ok"
    again.close()
    cache.close()


def test_threads_share_one_cache_object(tmp_path):
    cache = ResultCache(tmp_path / "r.sqlite")
    errors = []

    def work(t):
        try:
            for seed in range(10):
                assert cache.claim(f"{t}-{seed}", f"thread-{t}")
                cache.put(f"{t}-{seed}", make_outcome(seed), cell_key=f"cell-{t}", seed=seed, profile={"t": t})
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) == 40
    assert [c.n_seeds for c in cache.cells()] == [10] * 4
    cache.close()


def _put_in_forked_child(cache: ResultCache) -> None:
    cache.put("from-child", make_outcome(1), cell_key="c", seed=1, profile={})
    os._exit(0)


@needs_fork
def test_cache_object_survives_fork(tmp_path):
    cache = ResultCache(tmp_path / "r.sqlite")
    cache.put("from-parent", make_outcome(0), cell_key="c", seed=0, profile={})  # connection open
    child = FORK.Process(target=_put_in_forked_child, args=(cache,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert cache.seeds("c") == [0, 1]  # the parent's connection still works
    cache.put("after", make_outcome(2), cell_key="c", seed=2, profile={})
    assert len(cache) == 3 and cache.integrity_check() == "ok"
    cache.close()


# ------------------------------------------------------- interrupted writer


def _hold_a_write_transaction(path: str, conn_out) -> None:
    cache = ResultCache(path)
    for seed in range(5):
        store(cache, 0, seed)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("INSERT INTO outcomes (key, cell_key, seed, profile_json, outcome_json, created_at)"
                " VALUES ('half-written', 'c', 0, '{}', ?, 0)", (make_outcome(0).to_json() * 2000,))
    raw.execute("DELETE FROM outcomes WHERE seed = 0")
    conn_out.send("holding")
    time.sleep(60)


def _put_forever(path: str, conn_out) -> None:
    cache = ResultCache(path)
    for seed in range(100000):
        store(cache, 1, seed, blob="x" * 5000)
        conn_out.send(seed)  # only after put returned


@needs_fork
def test_writer_killed_inside_a_transaction(tmp_path):
    path = str(tmp_path / "r.sqlite")
    parent_end, child_end = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_hold_a_write_transaction, args=(path, child_end))
    child.start()
    assert parent_end.poll(30) and parent_end.recv() == "holding"
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL

    with ResultCache(path, timeout=5) as cache:
        assert cache.integrity_check() == "ok"
        assert cache.seeds(content_key(profile_of(0))) == [0, 1, 2, 3, 4]  # the delete never happened
        assert "half-written" not in cache
        assert len(cache) == 5
        store(cache, 2, 0)  # the killed writer's lock is gone
        assert len(cache) == 6


@needs_fork
def test_writer_killed_between_puts(tmp_path):
    path = str(tmp_path / "r.sqlite")
    parent_end, child_end = FORK.Pipe(duplex=False)
    child = FORK.Process(target=_put_forever, args=(path, child_end))
    child.start()
    done = []
    while len(done) < 30:
        assert parent_end.poll(30)
        done.append(parent_end.recv())
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    while parent_end.poll(0):  # puts that returned before the kill landed
        done.append(parent_end.recv())
    assert child.exitcode == -signal.SIGKILL

    with ResultCache(path, timeout=5) as cache:
        assert cache.integrity_check() == "ok"
        seeds = cache.seeds(content_key(profile_of(1)))
        assert seeds[: len(done)] == done  # every finished put is there
        assert seeds == list(range(len(seeds)))  # nothing half-stored
        for o in cache.outcomes(content_key(profile_of(1))):
            assert o.extra["blob"] == "x" * 5000
        store(cache, 2, 0)
        assert cache.get(content_key(profile_of(2), 0)) is not None


# ---------------------------------------------------------------- bad files


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(CacheError, match=r"notes\.sqlite is not a backfire result cache: not an SQLite database"):
        ResultCache(path)
    assert isinstance(CacheError("x"), ValueError)


def test_corrupt_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultCache(path) as cache:
        store(cache, 0, 0)
    data = bytearray(path.read_bytes())
    data[16:] = b"\xff" * (len(data) - 16)  # keep the magic, wreck the rest
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=r"r\.sqlite is not a backfire result cache"):
        ResultCache(path)


def test_foreign_sqlite_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CacheError, match=r"other\.db is not a backfire result cache: .*'meta'.*songs"):
        ResultCache(path)
    assert path.read_bytes() == before  # not switched to WAL, no tables added


def test_directory_is_refused(tmp_path):
    with pytest.raises(CacheError, match="not a regular file"):
        ResultCache(tmp_path)


def _set_meta(path: Path, **values: str) -> None:
    conn = sqlite3.connect(path)
    for k, v in values.items():
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (v, k))
    conn.commit()
    conn.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultCache(path).close()
    _set_meta(path, schema_version="7", min_reader_version="5")
    with pytest.raises(CacheError) as err:
        ResultCache(path)
    message = str(err.value)
    assert str(path) in message and "newer" in message
    assert "schema version 7" in message and f"schema version {C.SCHEMA_VERSION}" in message


def test_newer_but_compatible_schema_is_read(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultCache(path) as cache:
        store(cache, 0, 0)
    _set_meta(path, schema_version=str(C.SCHEMA_VERSION + 1), min_reader_version=str(C.SCHEMA_VERSION))
    with ResultCache(path) as cache:
        assert len(cache) == 1


def test_older_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultCache(path).close()
    _set_meta(path, schema_version="0", min_reader_version="0")
    with pytest.raises(CacheError, match=rf"old cache schema version 0.*schema version {C.SCHEMA_VERSION}"):
        ResultCache(path)


def test_data_versions_latest_first_and_others_named(tmp_path):
    with ResultCache(tmp_path / "d.sqlite") as cache:
        assert cache.data_versions("env") == []
        assert cache.record_data("env", "aaa", description="MNIST", source="/data/mnist") == []
        time.sleep(0.01)
        others = cache.record_data("env", "bbb", description="MNIST (re-downloaded)")
        assert [v.fingerprint for v in others] == ["aaa"]
        assert [v.fingerprint for v in cache.data_versions("env")] == ["bbb", "aaa"]
        assert cache.data_versions("other env") == []
        time.sleep(0.01)
        cache.record_data("env", "aaa", description="MNIST", source="/data/mnist")  # measured again: latest again
        latest = cache.data_versions("env")[0]
        assert (latest.fingerprint, latest.description, latest.source) == ("aaa", "MNIST", "/data/mnist")


def _schema_1_file(path: Path, environment: dict) -> None:
    """A cache as schema 1 wrote it: no data_versions table, the fingerprint only inside the stored profiles."""
    with ResultCache(path) as cache:
        profile = {"oracle_version": "1", "environment": environment, "attacker": {"eps": 0.5}}
        cache.put("k1", make_outcome(3407), cell_key="c1", seed=3407, profile=profile)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE data_versions")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def test_schema_1_file_is_converted_in_place_and_read_only_opens_derive(tmp_path):
    from oracle.store.keys import data_key

    path = tmp_path / "v1.sqlite"
    environment = {"dataset": "mnist", "n_images": 300, "dataset_fingerprint": "f" * 64}
    _schema_1_file(path, environment)
    expected = data_key({"dataset": "mnist", "n_images": 300})
    with ResultCache(path, readonly=True) as ro:  # cannot convert: derives the same rows
        assert [v.fingerprint for v in ro.data_versions(expected)] == ["f" * 64]
        assert ro.get("k1") is not None
    with ResultCache(path) as cache:
        [version] = cache.data_versions(expected)
        assert version.fingerprint == "f" * 64 and version.source is None
        assert cache.get("k1") is not None and cache.keys() == ["k1"]
    conn = sqlite3.connect(path)
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(C.SCHEMA_VERSION) and meta["min_reader_version"] == "1"
    assert conn.execute("SELECT COUNT(*) FROM data_versions").fetchone()[0] == 1
    conn.close()


def test_unwritable_location(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match=r"cannot create the folder of the result cache .*file/r\.sqlite"):
        ResultCache(blocker / "r.sqlite")


_READ_ONLY_FOLDER_CHECK = """
import sys
from oracle.store.cache import CacheError, ResultCache
folder = sys.argv[1]
for name in ("r.sqlite", "new.sqlite"):
    try:
        ResultCache(folder + "/" + name)
    except CacheError as e:
        print("refused:", e)
    else:
        print("opened for writing:", name)
with ResultCache(folder + "/r.sqlite", readonly=True) as ro:
    print("read-only:", len(ro), ro.get("k") is not None)
"""


def _as_nobody() -> list[str] | None:
    """How to run a command without write permission where root would have it."""
    if os.name != "posix":
        return None
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if setpriv else None


@pytest.mark.skipif(_as_nobody() is None, reason="needs POSIX permissions (and setpriv when run as root)")
def test_read_only_folder():
    base = Path(tempfile.mkdtemp(prefix="backfire-ro-"))  # not under pytest's 0700 folder
    folder = base / "ro"
    try:
        folder.mkdir()
        with ResultCache(folder / "r.sqlite") as cache:
            cache.put("k", make_outcome(1), cell_key="c", seed=1, profile={})
        base.chmod(0o755)
        (folder / "r.sqlite").chmod(0o444)
        folder.chmod(0o555)
        run = subprocess.run([*_as_nobody(), sys.executable, "-c", _READ_ONLY_FOLDER_CHECK, str(folder)],
                             capture_output=True, text=True, timeout=60,
                             cwd=str(Path(__file__).resolve().parents[1]))
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0].startswith(f"refused: cannot use the result cache {folder}/r.sqlite")
        assert "readonly=True" in lines[0]
        assert lines[1].startswith(f"refused: cannot use the result cache {folder}/new.sqlite")
        assert lines[2] == "read-only: 1 True"
    finally:
        folder.chmod(0o755)
        shutil.rmtree(base)


def test_readonly_mode(tmp_path):
    path = tmp_path / "r.sqlite"
    with pytest.raises(CacheError, match="does not exist"):
        ResultCache(path, readonly=True)
    with ResultCache(path) as cache:
        key = store(cache, 0, 0)
    with ResultCache(path, readonly=True) as ro:
        assert ro.get(key) is not None and len(ro) == 1
        with pytest.raises(CacheError, match="read-only"):
            store(ro, 0, 1)
        with pytest.raises(CacheError, match="read-only"):
            ro.claim("k", "A")


def test_closed_cache_says_so(tmp_path):
    cache = ResultCache(tmp_path / "r.sqlite")
    cache.close()
    with pytest.raises(CacheError, match="closed"):
        cache.get("k")


def test_lock_timeout_is_a_clear_error(tmp_path):
    path = tmp_path / "r.sqlite"
    cache = ResultCache(path, timeout=0.2)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CacheError, match=r"stayed locked by another process for 0\.2 s"):
            cache.claim("k", "A")
        assert cache.get("k") is None  # readers are not blocked (WAL)
    finally:
        raw.execute("ROLLBACK")
        raw.close()
    assert cache.claim("k", "A") is True
    cache.close()


def test_module_does_not_import_torch():
    code = "import sys, oracle.store.cache; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
