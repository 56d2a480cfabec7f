"""benchmarks/gpu_suite.py: the smoke run end to end, and the budget (a step that does not fit is skipped)."""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "gpu_suite.py"
STEPS = ["oracle", "federated", "table6", "table6-paper", "e1-paper", "e5", "southwest-curve"]


def _suite_module():
    spec = importlib.util.spec_from_file_location("gpu_suite_under_test", SUITE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _run(out: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(SUITE), "--out", str(out), *args], capture_output=True, text=True,
                          env=env, timeout=900)
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines() if (out / "results.jsonl").exists() else []
    return proc, [json.loads(line) for line in lines]


@pytest.mark.slow
def test_smoke_runs_every_step_and_writes_each_result(tmp_path):
    proc, rows = _run(tmp_path / "out", "--smoke")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summaries = {r["step"]: r for r in rows if r["kind"] == "summary"}
    assert list(summaries) == STEPS
    assert {s: r["status"] for s, r in summaries.items()} == dict.fromkeys(STEPS, "done")
    cells = lambda step: [r for r in rows if r["step"] == step and r["kind"] == "cell"]  # noqa: E731
    # each cell is a line of its own, written before its step's summary
    assert all(rows.index(c) < rows.index(summaries[c["step"]]) for c in cells("table6"))
    oracle = summaries["oracle"]
    assert [c["preset"] for c in cells("oracle")] == ["fast", "paper"]
    assert all(0 <= c["clean_acc"] <= 1 and c["train_s"] > 0 for c in cells("oracle"))
    assert oracle["paper_over_fast"] == pytest.approx(oracle["cells"]["paper"]["train_s"] / oracle["cells"]["fast"]["train_s"])
    modes = [r for r in rows if r["kind"] == "mode"]
    assert [m["batch_clients"] for m in modes] == [False, True] and all(m["rounds_per_second"] > 0 for m in modes)
    assert set(summaries["federated"]["aggregator_ms"]) >= {"fedavg", "krum", "median"}
    assert len(cells("table6")) == 12 and summaries["table6"]["solve"]["equilibria"]
    assert len(cells("table6-paper")) == 12 and summaries["table6-paper"]["solve"]["equilibria"]
    assert all(c["epochs"] == 1 for c in cells("table6-paper"))  # the paper preset, cut to one epoch at smoke size
    e1 = cells("e1-paper")
    assert [(c["dataset"], c["n"], c["seed"]) for c in e1] == [("digits", 1, 3407), ("digits", 5, 3407)]
    assert summaries["e1-paper"]["curves"] == {"digits": {"1": pytest.approx(e1[0]["collective_asr"], abs=0.05),
                                                          "5": pytest.approx(e1[1]["collective_asr"], abs=0.05)}}
    assert len(cells("e5")) == len(summaries["e5"]["rows"]) == 10
    assert len([r for r in rows if r["kind"] == "final-round"]) == 2
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["smoke"] and [s["step"] for s in summary["steps"]] == STEPS
    assert summary["machine"]["torch"] and (tmp_path / "out" / "results.sqlite").is_file()
    assert all(step in proc.stdout for step in STEPS) and "torch" in proc.stdout


@pytest.mark.slow
def test_steps_over_the_budget_are_skipped_with_a_note(tmp_path):
    proc, rows = _run(tmp_path / "out", "--smoke", "--budget-min", "0.0001", "--steps", "oracle", "table6")
    assert proc.returncode == 0, proc.stderr[-2000:]
    skipped = [r for r in rows if r["kind"] == "skipped"]
    assert [r["step"] for r in skipped] == ["oracle", "table6"]
    assert skipped[1]["jobs"] == 12 and "budget left" in skipped[1]["note"]
    assert not [r for r in rows if r["kind"] == "cell"]


def test_run_steps_fits_jobs_to_the_budget_and_survives_a_failing_step(tmp_path):
    gs = _suite_module()
    suite = gs.Suite(tmp_path, tmp_path / "scratch", gs.SMOKE, budget_s=60)
    ran = []

    def step(name, estimate, result):
        def run(_, max_jobs):
            ran.append((name, max_jobs))
            return result()
        return gs.Step(name, name, lambda _: estimate, run)

    rows = gs.run_steps(suite, [
        step("too-long", gs.Estimate(0, 120, 1), lambda: {"status": "done"}),
        step("in-part", gs.Estimate(5, 20, 5), lambda: {"status": "partial"}),
        step("broken", gs.Estimate(0, 1, 1), lambda: 1 / 0),
        step("small", gs.Estimate(1, 1, 1), lambda: {"status": "done"}),
    ])
    assert ran == [("in-part", 2), ("broken", 1), ("small", 1)]  # 55 s after the setup hold 2 jobs of 20 s
    assert [r["status"] for r in rows] == ["skipped", "partial", "failed", "done"]
    assert "ZeroDivisionError" in rows[2]["note"] and "estimated 120 s" in rows[0]["note"]
    written = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["step"], r["status"]) for r in written] == [(r["step"], r["status"]) for r in rows]


def test_a_cut_game_step_leaves_whole_seeds(tmp_path):
    """table6-paper under a budget of 13 jobs: every cell of seed 3407, then one of 3408, none of 3409."""
    gs = _suite_module()
    sizes = dataclasses.replace(gs.SMOKE, game_seeds=None)
    suite = gs.Suite(tmp_path, tmp_path / "scratch", sizes, budget_s=600, device="cpu")
    result = gs._table6_run("table6-paper", suite, 13)
    assert result["status"] == "partial" and (result["trained"], result["left"]) == (13, 23)
    written = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    seeds = [int(r["job"].rsplit(" ", 1)[1]) for r in written if r["kind"] == "cell"]
    assert seeds == [3407] * 12 + [3408]
