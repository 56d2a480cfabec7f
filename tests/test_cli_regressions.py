"""Regression tests for bugs of the command line (issue 12): a payoff table given to fill, an unavailable
device reported before any data is read (even when every cell is cached), the federated rate that was
added into the seconds reported. (The fill command suggested without --seeds: tests/test_offline.py.)"""

from __future__ import annotations

import pytest

from oracle.cli import main
from oracle.fill import make_oracle
from oracle.jobs import Job
from oracle.specs import load_spec
from oracle.store.cache import ResultCache
from oracle.store.outcome import Outcome
from spec_texts import one_cell

SPEC = one_cell()


@pytest.mark.parametrize("name, text", [("table.csv", "attacker,defender,attacker_payoff,defender_payoff\nx,y,1,0\n"),
                                        ("table.json", "[]"),
                                        ("table.txt", "attacker,defender,attacker_payoff,defender_payoff\n")])
@pytest.mark.parametrize("command", ["fill", "status"])
def test_a_payoff_table_given_for_a_spec(tmp_path, capsys, command, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert main([command, str(path), "--cache", str(tmp_path / "c.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "this is a payoff table, not a game spec" in err and f"backfire solve {path}" in err
    assert "invalid TOML" not in err and err.count("\n") == 1


def _all_cached(tmp_path):
    """A spec whose only cell is cached (stored by hand under the keys a fill would use)."""
    spec_path = tmp_path / "one.toml"
    spec_path.write_text(SPEC)
    spec = load_spec(spec_path)
    cache = ResultCache(tmp_path / "c.sqlite")
    oracle = make_oracle(spec, cache=cache, train=False)
    cache.record_data(oracle.data_key, "f" * 64, description="digits")
    oracle = make_oracle(spec, cache=cache, train=False)
    job = Job(spec.attackers["independent"], spec.defenders["small"], 3407)
    outcome = Outcome(asr=[0.5, 0.5], asr_excluding_target=[0.5, 0.5], clean_label_acc=[0.5, 0.5],
                      clean_acc=[0.9, 0.9], targets=[1, 1], defender_val_acc=0.9, seed=3407)
    cache.put(oracle.key(job), outcome, cell_key=oracle.cell_key(job), seed=3407, profile=oracle.profile(job))
    return spec_path, cache.path


@pytest.mark.parametrize("cached", [False, True])
def test_unavailable_device_is_reported_first(tmp_path, capsys, monkeypatch, cached):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    def refuse(*a, **k):
        raise AssertionError("the data was read before the device was checked")

    monkeypatch.setattr("oracle.payoff_oracle.load_dataset", refuse)
    if cached:
        spec_path, cache = _all_cached(tmp_path)
    else:
        spec_path, cache = tmp_path / "one.toml", tmp_path / "c.sqlite"
        spec_path.write_text(SPEC)
    assert main(["fill", str(spec_path), "--cache", str(cache), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "device='cuda' is out of range: allowed cpu" in err and "CUDA is not available here" in err and err.count("\n") == 1
    assert main(["fill", str(spec_path), "--cache", str(cache), "--device", "tpu9"]) == 2
    assert "device='tpu9' is out of range: allowed cpu" in capsys.readouterr().err


def test_rates_are_not_added_into_seconds(tmp_path):
    # a federated outcome as stored before the rate moved to extra: timings held rounds_per_second
    old = Outcome(asr=[0.1], asr_excluding_target=[0.1], clean_label_acc=[0.5], clean_acc=[0.9], targets=[1],
                  defender_val_acc=0.9, seed=1, timings={"warm_start": 1.5, "train": 2.5, "rounds_per_second": 120.0})
    assert old.seconds == pytest.approx(4.0)
    with ResultCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", old, cell_key="c", seed=1, profile={"p": 1})
        assert cache.record("k").seconds == pytest.approx(4.0)
    assert Outcome(asr=[], asr_excluding_target=[], clean_label_acc=[], clean_acc=[], targets=[],
                   defender_val_acc=0.5).seconds is None
