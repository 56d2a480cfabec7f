"""The payoff oracle end to end on real data (scikit-learn's 8×8 digits), with small models.

Fill a tiny game, solve it, fill again without training (cache hits); kill a
fill midway and resume it; two fills at once on one cache file; the Ray
executor on a local Ray instance and on an existing Ray cluster gives the
same outcomes; a DPR-reduced role-symmetric game asks the oracle only for
the profiles it needs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gametheory import RoleSymmetricGame
from oracle.store.cache import ResultCache
from oracle.cli import main
from oracle.fill import fill
from oracle.payoff_oracle import PayoffOracle, SymmetricSource
from oracle.specs import load_spec

ROOT = Path(__file__).resolve().parents[1]

SPEC = """
[game]
name = "tiny"
n_attackers = 3
seeds = [3407]

[environment]
dataset = "digits"
v_d = 0.5
n_max = 3
preset = "tiny"
preset_overrides = { max_epochs = 6, lr = 0.05 }

[[attackers]]
name = "independent"
eps = 0.55
p = 0.2
labels = { kind = "random" }

[[attackers]]
name = "all on 4"
eps = 0.55
p = 0.2
labels = { kind = "coordinated", label = 4, fraction = 1.0 }

[[defenders]]
name = "small"
architecture = "smallcnn"
defense = "none"

[[defenders]]
name = "small, 2 epochs"
architecture = "smallcnn"
defense = "none"
"""


@pytest.fixture()
def spec_path(tmp_path):
    # Two defenders that differ only in name would share a key: make the second genuinely different.
    text = SPEC.replace('name = "small, 2 epochs"\narchitecture = "smallcnn"', 'name = "LeNet"\narchitecture = "lenet"')
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def _cli(*args, env_extra=None, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "oracle.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_fill_solve_and_cache_hits(spec_path, tmp_path, capsys):
    cache = tmp_path / "c.sqlite"
    assert main(["fill", str(spec_path), "--cache", str(cache), "--quiet"]) == 0
    assert main(["status", str(spec_path), "--cache", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "all 4 distinct job(s) cached; solve it: backfire solve" in out and out.count("complete") == 4
    assert main(["solve", str(spec_path), "--cache", str(cache), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["equilibria"] and set(data["attackers"]) == {"independent", "all on 4"}
    for eq in data["equilibria"]:
        assert max(eq["regret"].values()) <= 1e-6 * 100
    # a second fill trains nothing
    spec = load_spec(spec_path)
    oracle = PayoffOracle(spec, cache=ResultCache(cache), train=True)
    report = fill(oracle)
    assert report.trained == [] and len(report.cached) == 4
    table = oracle.table()
    assert table.is_complete() and table.count().tolist() == [[1, 1], [1, 1]]
    # metrics are rates and the coordinated attackers all target label 4
    outcome = oracle.cached(oracle.jobs(["all on 4"], ["small"])[0])
    assert outcome.targets == (4, 4, 4)
    for v in (*outcome.asr, *outcome.clean_acc, *outcome.clean_label_acc):
        assert 0.0 <= v <= 1.0
    assert outcome.defender_val_acc > 0.5  # the victim learned the clean task
    assert outcome.environment["device"] == "cpu" and "torch" in outcome.environment


def test_solve_spec_reports_missing_cells(spec_path, tmp_path, capsys):
    cache = tmp_path / "empty.sqlite"
    assert main(["solve", str(spec_path), "--cache", str(cache)]) == 2
    err = capsys.readouterr().err
    assert "4 of 4 cells have no cached result" in err and "backfire fill" in err and err.count("\n") == 1


@pytest.mark.slow
def test_same_seed_same_outcome_and_resume_after_kill(spec_path, tmp_path):
    cache = tmp_path / "k.sqlite"
    proc = _cli("fill", str(spec_path), "--cache", str(cache), "--quiet")
    store = ResultCache(cache)
    deadline = time.time() + 240
    while len(store) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(store)
    assert 1 <= done_before < 4, "the fill should have been killed after its first job"
    assert store.integrity_check() == "ok"
    oracle = PayoffOracle(load_spec(spec_path), cache=ResultCache(cache))
    report = fill(oracle)
    assert len(report.cached) == done_before and len(report.trained) == 4 - done_before
    # a fresh cache trains the same jobs again and gets bit-identical outcomes (CPU, same seed)
    fresh = PayoffOracle(load_spec(spec_path), cache=ResultCache(tmp_path / "fresh.sqlite"))
    job = oracle.jobs()[0]
    assert fresh.run(job).asr == oracle.cached(job).asr


@pytest.mark.slow
def test_two_fills_at_once_train_each_job_once(spec_path, tmp_path):
    cache = tmp_path / "two.sqlite"
    procs = [_cli("fill", str(spec_path), "--cache", str(cache), "--json") for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = ResultCache(cache)
    assert len(store) == 4 and store.integrity_check() == "ok"
    # every job was trained by exactly one of the two processes; the other found it cached or waited for it
    reports = [json.loads(out) for out, _ in outs]
    assert sum(r["trained"] for r in reports) == 4
    for r in reports:
        assert r["trained"] + r["cached"] + r["waited"] == 4


@pytest.mark.slow
def test_ray_executor_matches_local(spec_path, tmp_path):
    pytest.importorskip("ray")
    spec = load_spec(spec_path)
    local = PayoffOracle(spec, cache=ResultCache(tmp_path / "local.sqlite"))
    remote = PayoffOracle(spec, cache=ResultCache(tmp_path / "ray.sqlite"))
    fill(local)
    report = fill(remote, executor="ray")
    assert len(report.trained) == 4
    for job in local.jobs():
        a, b = local.cached(job), remote.cached(job)
        assert a.asr == b.asr and a.defender_val_acc == b.defender_val_acc


def _start_ray_head(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``ray start --head --block`` in its own process group; its address once it is up."""
    ray_cli = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--port=0", "--num-cpus=2", "--include-dashboard=false",
         "--disable-usage-stats", "--block"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    for line in head.stdout:  # the address line comes within seconds; --block then waits forever
        lines.append(line)
        found = re.search(r"ray start --address='([^']+)'", line)
        if found:
            return head, found.group(1)
    head.wait()
    raise AssertionError("ray start --head did not print its address:\n" + "".join(lines))


@pytest.mark.slow
def test_ray_executor_on_an_existing_cluster(spec_path, tmp_path):
    """``--ray-address``: the tasks go to a cluster started beforehand (with token authentication, as
    Ray >= 2.52 does), the driver alone writes the cache, the outcomes equal the in-process ones, and
    the cluster keeps running after the fill. Without the token the fill fails in one line, exit 2."""
    pytest.importorskip("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": os.urandom(16).hex(),
           "RAY_ADDRESS": ""}
    head, address = _start_ray_head(env)
    try:
        cache = tmp_path / "cluster.sqlite"
        proc = _cli("fill", str(spec_path), "--cache", str(cache), "--executor", "ray", "--ray-address", address,
                    "--json", env_extra=env)
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert json.loads(out)["trained"] == 4
        assert head.poll() is None, "the fill must leave an existing cluster running"
        # a driver without the cluster's token is refused: one line, exit status 2
        wrong = {**env, "RAY_AUTH_TOKEN": os.urandom(16).hex()}
        proc = _cli("fill", str(spec_path), "--cache", str(tmp_path / "refused.sqlite"), "--executor", "ray",
                    "--ray-address", address, env_extra=wrong)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2
        last = err.strip().splitlines()[-1]
        assert last.startswith("backfire: error: could not connect to the Ray cluster at") and "RAY_AUTH_MODE" in last
    finally:  # the whole process group: SIGTERM would make Ray's processes take ~30 s to wind down
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=60)
    local = PayoffOracle(load_spec(spec_path), cache=ResultCache(tmp_path / "local.sqlite"))
    fill(local)
    remote = PayoffOracle(load_spec(spec_path), cache=ResultCache(cache))
    for job in local.jobs():
        a, b = local.cached(job), remote.cached(job)
        assert a.asr == b.asr and a.defender_val_acc == b.defender_val_acc


@pytest.mark.slow
def test_dpr_reduced_symmetric_game_trains_only_what_it_needs(tmp_path):
    text = SPEC.replace('\n[[defenders]]\nname = "small, 2 epochs"\narchitecture = "smallcnn"\ndefense = "none"\n', "\n")
    path = tmp_path / "sym.toml"
    path.write_text(text)
    spec = load_spec(path)
    oracle = PayoffOracle(spec, cache=ResultCache(tmp_path / "sym.sqlite"))
    source = SymmetricSource(oracle, ["independent", "all on 4"])
    full = RoleSymmetricGame(["independent", "all on 4"], ["small"], n_attackers=3, source=source)
    reduced = full.reduce(2)
    required = {p for ps in full.dpr_required_profiles(2).values() for p in ps}
    eqs = reduced.find_equilibria()
    assert eqs and all(e.regret.max <= 1e-6 for e in eqs)
    # exactly the full-game profiles DPR lists were trained, and each is now cached
    assert len(oracle.cache) == len(required)
    for counts, d in required:
        assert source.payoffs((counts, d))["defender"] == pytest.approx(
            1 - np.mean(oracle.cached(source.job(counts, d, 3407)).asr))
