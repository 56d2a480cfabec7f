"""How ``benchmarks/gpu_suite.py`` runs its steps: the run (:class:`Suite`: where results go, the budget,
what earlier steps measured), a step (:class:`Step`) and its :class:`Estimate`, :func:`run_steps` (in order,
within the budget, one JSON line per result as soon as it is done), the machine measured on and the summary
table. Nothing here knows what a step measures; the steps and their sizes are in ``gpu_suite.py``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["Estimate", "Step", "Suite", "machine", "plain", "print_summary", "run_steps"]


# ---------------------------------------------------------------------------------------------------- the run
@dataclass
class Suite:
    """One run: where results go, the budget, the device, and what earlier steps measured."""

    out: Path
    scratch: Path
    sizes: Any  # gpu_suite.Sizes: what each step measures, and the prior seconds of each step
    budget_s: float
    device: str | None = None
    started: float = field(default_factory=time.monotonic)
    measured: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from oracle.store.cache import ResultCache

        self.out.mkdir(parents=True, exist_ok=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.cache = ResultCache(self.out / "results.sqlite")

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.started)

    def prior(self, step: str) -> tuple[float, float]:
        return next((setup, job) for name, setup, job in self.sizes.priors if name == step)

    def record(self, step: str, kind: str, **data: Any) -> dict:
        """Append one JSON line to ``results.jsonl`` and flush it to disk at once."""
        row = {"step": step, "kind": kind, "elapsed_s": round(time.monotonic() - self.started, 2), **data}
        with open(self.out / "results.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=plain) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return row


def plain(value: Any) -> Any:
    """JSON for what ``json`` cannot write itself (numpy scalars, sets, tuples, paths)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


@dataclass(frozen=True)
class Estimate:
    """Seconds a step needs: ``setup`` once, then ``per_job`` for each of its ``jobs``."""

    setup: float
    per_job: float
    jobs: int = 1

    @property
    def total(self) -> float:
        return self.setup + self.per_job * self.jobs

    def jobs_that_fit(self, seconds: float) -> int:
        """How many jobs fit in ``seconds`` after the setup (``per_job`` 0: all)."""
        if seconds < self.setup:
            return 0
        return self.jobs if self.per_job <= 0 else min(self.jobs, int((seconds - self.setup) // self.per_job))


@dataclass(frozen=True)
class Step:
    """A measurement: ``estimate(suite)`` before it starts, ``run(suite, max_jobs)`` → its summary fields
    (``status``: done or partial, ``headline``: one line for the table)."""

    name: str
    title: str
    estimate: Callable[[Suite], Estimate]
    run: Callable[[Suite, int], dict]


def run_steps(suite: Suite, steps: list[Step]) -> list[dict]:
    """Run ``steps`` in order within the budget; a step whose estimate does not fit, not even one of its jobs,
    is skipped and recorded; a step that fails is recorded (one line) and the next one runs."""
    summary = []
    for step in steps:
        est = step.estimate(suite)
        left = suite.left()
        fit = est.jobs_that_fit(left)
        base = {"title": step.title, "estimate_s": round(est.total, 1), "jobs": est.jobs}
        if est.jobs and fit == 0:
            note = f"estimated {est.total:.0f} s ({est.jobs} job(s)), {max(left, 0):.0f} s of the budget left"
            summary.append(suite.record(step.name, "skipped", **base, status="skipped", note=note))
            print(f"[{step.name}] skipped: {note}", flush=True)
            continue
        print(f"[{step.name}] {step.title}: estimated {est.total:.0f} s, {left:.0f} s left", flush=True)
        t0 = time.monotonic()
        _reset_gpu_peak()
        try:
            result = step.run(suite, fit)
        except Exception as err:  # noqa: BLE001 - one step's failure must not lose the next steps
            first = str(err).splitlines()[0] if str(err) else ""
            result = {"status": "failed", "note": f"{type(err).__name__}: {first}"}
            print(f"[{step.name}] failed: {result['note']}", flush=True)
        summary.append(suite.record(step.name, "summary", **base, seconds=round(time.monotonic() - t0, 1),
                                    gpu_peak_mib=_gpu_peak_mib(), **result))
    return summary


def _cuda():
    torch = sys.modules.get("torch")  # a step that needs the GPU has imported torch
    return torch.cuda if torch is not None and torch.cuda.is_available() else None


def _reset_gpu_peak() -> None:
    if _cuda():
        _cuda().reset_peak_memory_stats()


def _gpu_peak_mib() -> float | None:
    return round(_cuda().max_memory_allocated() / 2**20) if _cuda() else None


def machine(device: str | None) -> dict:
    """The GPU (or CPU), torch and CUDA versions this run measures on."""
    from oracle.victims.device import device_info

    info = device_info(device)
    return {k: info.get(k) for k in ("gpu", "device", "torch", "cuda", "gpu_memory_gib", "python", "cpu_threads")}


def print_summary(info: dict, rows: list[dict], elapsed: float, budget: float) -> None:
    print(f"\nGPU {info.get('gpu') or 'none'} ({info.get('device')}), torch {info.get('torch')}, CUDA "
          f"{info.get('cuda')}; {elapsed:.0f} s of a {budget:.0f} s budget")
    print(f"{'step':<16} {'status':<8} {'est. s':>7} {'s':>7}  result")
    for r in rows:
        secs = f"{r['seconds']:.0f}" if "seconds" in r else "-"
        print(f"{r['step']:<16} {r['status']:<8} {r['estimate_s']:>7.0f} {secs:>7}  {r.get('headline') or r.get('note', '')}")
