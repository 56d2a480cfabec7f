"""The federated game: spec, strategies, the oracle filling a tiny game, solving it from the cache."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oracle.store.cache import ResultCache
from oracle.cli import main
from oracle.federated.config import federated_preset
from oracle.fill import fill, make_oracle
from oracle.specs import SpecError, load_spec, spec_from_dict, spec_to_toml
from strategies import AggregatorStrategy
from strategies.federated import FederatedAttackStrategy

ROOT = Path(__file__).resolve().parents[1]

TINY = """
[game]
name = "tiny-federated"
n_attackers = 2
seeds = [3407]

[environment]
kind = "federated"
preset = "reduced"
overrides = { n_train = 600, n_test = 300, n_clients = 6, clients_per_round = 3, rounds = 2, local_epochs = 1, warm_start_epochs = 1 }

[[attackers]]
name = "black-box"
mode = "black-box"
every = 1

[[attackers]]
name = "competing"
mode = "black-box"
every = 1
targets = [1, 2]

[[defenders]]
name = "FedAvg"
aggregator = "fedavg"

[[defenders]]
name = "Krum"
aggregator = "krum"
params = { f = 0 }
"""


def test_attack_strategy_validates_and_round_trips():
    s = FederatedAttackStrategy(mode="pgd", eps=1.5, lr=0.05, every=3, name="PGD")
    assert FederatedAttackStrategy.from_dict(s.to_dict()) == s
    assert s.attacks_in(1) and s.attacks_in(4) and not s.attacks_in(2)
    assert s.key() == FederatedAttackStrategy(mode="pgd", eps=1.5, lr=0.05, every=3).key()  # name is a label
    with pytest.raises(ValueError, match=r"^eps=None is out of range: allowed \(0, inf\) for mode 'pgd' \(its PGD radius\)$"):
        FederatedAttackStrategy(mode="pgd")
    with pytest.raises(ValueError, match=r"^eps=1.0 is out of range: allowed None for mode 'black-box'"):
        FederatedAttackStrategy(eps=1.0)
    with pytest.raises(ValueError, match="unknown attack mode 'pgdd'"):
        FederatedAttackStrategy(mode="pgdd")
    with pytest.raises(ValueError, match="unknown field"):
        FederatedAttackStrategy.from_dict({"mode": "pgd", "epsilon": 1})
    competing = FederatedAttackStrategy(targets=[1, 2])
    assert [competing.attacker_fields(i)["target"] for i in range(3)] == [1, 2, 1]
    assert FederatedAttackStrategy.from_dict(competing.to_dict()) == competing
    with pytest.raises(ValueError, match="give one of them"):
        FederatedAttackStrategy(target=1, targets=[1, 2])
    with pytest.raises(ValueError, match=r"targets\[1\]=-2 is out of range"):
        FederatedAttackStrategy(targets=[1, -2])
    assert AggregatorStrategy("krum", name="K").label == "K" and AggregatorStrategy("krum").label == "krum"
    assert AggregatorStrategy("krum", name="K").key() == AggregatorStrategy("krum").key()


def test_federated_specs_read_without_torch():
    code = ("import sys; from oracle.specs import load_spec; "
            "[load_spec(p) for p in ('examples/games/federated.toml', 'examples/games/federated_paper.toml', "
            "'examples/games/federated_competing.toml', 'examples/games/federated_ardis_cpu.toml')]; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    spec = load_spec(ROOT / "examples/games/federated.toml")
    assert list(spec.attackers) == ["black-box", "PGD", "PGD + replacement"]
    assert [d.aggregator for d in spec.defenders.values()] == ["fedavg", "norm-clipping", "krum", "multi-krum", "rfa",
                                                              "weak-dp", "median", "trimmed-mean"]
    assert spec.environment.config().rounds == 10
    again = spec_from_dict(__import__("tomllib").loads(spec_to_toml(spec)))
    assert again.key() == spec.key()
    # the digit task at the paper's federation size: only the number of rounds is cut
    ardis = load_spec(ROOT / "examples/games/federated_ardis_cpu.toml").environment.config()
    paper = federated_preset("ardis")
    assert ardis.rounds == 150 and dataclasses.replace(ardis, rounds=paper.rounds) == paper


@pytest.mark.parametrize("table,match", [
    ('[environment]\nkind = "federated"\npreset = "huge"', "unknown federated preset 'huge'"),
    ('[environment]\nkind = "federated"\noverrides = { roundz = 3 }', "unknown field.*'roundz'"),
    ('[environment]\nkind = "federated"\noverrides = { seed = 3 }', "seed comes from"),
    ('[environment]\nkind = "federal"', "unknown kind 'federal': known kinds are poisoning, federated"),
])
def test_bad_federated_environment(table, match, tmp_path):
    text = TINY[: TINY.index("[environment]")] + table + "\n" + TINY[TINY.index("[[attackers]]"):]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=match):
        load_spec(path)


def test_bad_aggregator_in_spec(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TINY.replace('aggregator = "krum"', 'aggregator = "krumm"'))
    with pytest.raises(SpecError, match=r"\[\[defenders\]\] #2: unknown aggregator 'krumm'"):
        load_spec(path)


@pytest.mark.slow
def test_fill_and_solve_a_tiny_federated_game(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    cache = tmp_path / "c.sqlite"
    assert main(["fill", str(path), "--cache", str(cache), "--quiet"]) == 0
    oracle = make_oracle(load_spec(path), cache=ResultCache(cache), train=False)
    assert type(oracle).__name__ == "FederatedOracle"
    outcomes = {j.defender.aggregator: oracle.cached(j) for j in oracle.jobs(["black-box"])}
    competing = oracle.cached(oracle.jobs(["competing"], ["FedAvg"])[0])
    assert competing.targets == (1, 2)  # attacker i relabels its sevens to targets[i]
    for agg, o in outcomes.items():
        assert o is not None and o.n_attackers == 2 and o.extra["kind"] == "federated"
        assert all(0.0 <= a <= 1.0 for a in o.asr) and 0.0 < o.defender_val_acc <= 1.0
        assert o.targets == (1, 1)  # ARDIS sevens -> "1"
        assert o.environment["client_training"] == "sequential"  # the default off CUDA
        assert len(o.extra["rounds"]["main_acc"]) == 3  # rounds 0, 1, 2
        assert "rounds_per_second" in o.extra and set(o.timings) == {"warm_start", "train"}  # a rate is no duration
        assert oracle.defender_payoff(o) == pytest.approx(o.defender_val_acc - np.mean(o.asr))
    # Krum with f = 0 keeps one update per round
    assert set(outcomes["krum"].extra["rounds"]["n_kept"][1:]) == {1}
    # one warm start, kept as safetensors beside the cache and shared by both cells
    warm = list((tmp_path / "warm_starts").glob("*.safetensors"))
    assert len(warm) == 1
    cell = oracle.payoffs(("black-box", "FedAvg")).roles
    assert cell["attacker"] == pytest.approx(outcomes["fedavg"].attacker_payoff)
    assert cell["defender"] == pytest.approx(outcomes["fedavg"].defender_val_acc - outcomes["fedavg"].attacker_payoff)
    capsys.readouterr()
    assert main(["solve", str(path), "--cache", str(cache)]) == 0
    assert "equilibri" in capsys.readouterr().out
    # a second fill trains nothing
    assert main(["fill", str(path), "--cache", str(cache), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trained"] == 0 and report["cached"] == 4


@pytest.mark.slow
def test_ray_executor_matches_local_for_a_federated_game(tmp_path):
    """Ray workers read the warm start the driver trained (beside the driver's cache) and give the
    same outcomes as the in-process executor on CPU."""
    pytest.importorskip("ray")
    text = TINY[: TINY.index("[[attackers]]\nname = \"competing\"")] + TINY[TINY.index("[[defenders]]"):]
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    spec = load_spec(path)
    ray_cache, local_cache = tmp_path / "ray" / "c.sqlite", tmp_path / "local" / "c.sqlite"
    ray_oracle = make_oracle(spec, cache=ResultCache(ray_cache), device="cpu")
    report = fill(ray_oracle, executor="ray")
    assert len(report.trained) == 2
    assert len(list((tmp_path / "ray" / "warm_starts").glob("*.safetensors"))) == 1
    local = make_oracle(spec, cache=ResultCache(local_cache), device="cpu")
    fill(local)
    for job in local.jobs():
        a, b = ray_oracle.cached(job), local.cached(job)
        assert a.asr == b.asr and a.defender_val_acc == b.defender_val_acc
        assert a.extra["rounds"]["main_acc"] == b.extra["rounds"]["main_acc"]
