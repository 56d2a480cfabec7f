"""Every measurement that needs a GPU, in order of priority, within a time budget: one command.

    python benchmarks/gpu_suite.py --out gpu-results                 # on a GPU machine (default budget 9 min)
    python benchmarks/gpu_suite.py --out /tmp/smoke --smoke          # every step at tiny size, CPU, < 1 min

Steps, in order (``--steps`` picks some):

1. ``oracle``: one CIFAR-10 ResNet-18 cell with the ``fast`` preset, then with
   the ``paper`` preset, side by side in this process
   (``benchmarks/oracle.py``): training seconds of each, their ratio, clean
   accuracy and attack success.
2. ``federated``: rounds per second at the paper's Southwest size, the honest
   clients trained one by one and together (``benchmarks/federated.py``),
   and every aggregator's milliseconds on one round's updates.
3. ``table6``: the Table 6 game at full size with the fast preset
   (``examples/games/table6.toml``), then ``backfire solve`` on its cells.
4. ``table6-paper``: the same game with the paper's victim recipe (the
   ``paper`` preset: SGD lr 0.001, early stopping; ResNet-18, all of
   CIFAR-10, ``examples/games/table6_paper.toml``), seed by seed, then
   ``backfire solve`` over the seeds: the run that settles whether the
   measured game has the paper's equilibrium (issue 14).
5. ``e1-paper``: the backfiring curve (E1, ``examples/backfiring.py``) at full
   size with the ``paper`` preset: ResNet-18, N ∈ {1, 2, 5, 10, 20, 50, 100},
   CIFAR-10 then MNIST, one seed's whole curve before the next seed.
6. ``e5``: E5 at full size (``examples/e5_defenses.py``: both attacks, the
   four defenses and none, ResNet-18 on all of CIFAR-10, fast preset).
7. ``southwest-curve``: the paper-size federated game
   (``examples/games/federated_paper.toml``) and its per-round report
   (``examples/federated_report.py``).

Before a step starts, the suite estimates its seconds (from what earlier
steps measured where they measured it, else from the priors below) and
skips it, with a note, when it does not fit in what is left of the budget. A
game step (3–7) trains as many of its missing cells as fit and solves or
reports only when all are there. Every result is written as soon as it is
done: one JSON line each in ``<out>/results.jsonl``, every trained cell in
the SQLite result cache ``<out>/results.sqlite`` (a second run with the same
``--out`` trains nothing twice and carries on where the first stopped), and
at the end ``<out>/summary.json`` and a summary table on stdout with the GPU
and torch version. Many-file artefacts (the federated report's CSVs and
plots, the federated warm starts) go to ``--scratch``.

``--smoke`` runs every step through the same functions at tiny size on the
CPU (the 8×8 digits instead of CIFAR-10, SmallCNN for the games, one epoch,
two federated rounds of a reduced MNIST + ARDIS federation, a few cells of
each game), so that a GPU run does not fail on a typo.

Exit status: 0 when no step failed (skipped steps are not failures), 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

# Run as a script, this file's folder comes first on sys.path and benchmarks/oracle.py would shadow `oracle`.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.suite_runner import Estimate, Step, Suite, machine, plain, print_summary, run_steps  # noqa: E402


def load_script(relpath: str):
    """A script of this repository (``benchmarks/oracle.py``, ``examples/e5_defenses.py``, …) as a module, under
    a name of its own (its file name would shadow the ``oracle`` package)."""
    name = "_suite_" + relpath.replace("/", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# ---------------------------------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Sizes:
    """What each step measures: full size (a GPU) or smoke size (the CPU, seconds)."""

    dataset: str = "cifar10"
    n_images: int | None = None
    oracle_architecture: str = "resnet18"     # the oracle benchmark's victim
    game_architecture: str = "resnet18"       # Table 6 and E5 victims
    train_overrides: tuple = ()              # preset fields changed in every trained cell
    federated_preset: str = "southwest"
    federated_overrides: tuple = ()
    federated_rounds: int = 5
    e5_ns: tuple[int, ...] = (1, 5, 100)   # docs/reproduction.md, E5: the full-size run
    game_seeds: int | None = None          # seeds of a game spec kept (None = all of them)
    e1_ns: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100)  # E1's numbers of attackers (Table 1 and the figure)
    e1_datasets: tuple[str, ...] = ("cifar10", "mnist")
    e1_n_max: int = 100
    e1_seeds: tuple[int, ...] = (3407, 3408, 3409)
    curve_cells: tuple[int, int] | None = None  # (attackers, defenders) of federated_paper.toml kept; None = all
    #: prior seconds: (setup, per job) of each step, used until an earlier step measured better
    priors: tuple = (("oracle", 40, 140), ("federated", 20, 40), ("table6", 10, 60), ("table6-paper", 10, 400),
                     ("e1-paper", 10, 400), ("e5", 10, 90), ("southwest-curve", 90, 1000))


FULL = Sizes()
SMOKE = Sizes(
    dataset="digits", n_images=600, oracle_architecture="smallcnn", game_architecture="smallcnn", train_overrides=(("max_epochs", 1),),
    federated_preset="reduced",
    federated_overrides=(("n_clients", 5), ("clients_per_round", 4), ("local_epochs", 1), ("n_train", 200),
                         ("n_test", 100), ("warm_start_epochs", 1), ("rounds", 2), ("eval_every", 1)),
    federated_rounds=2, e5_ns=(1,), curve_cells=(1, 2), game_seeds=1, e1_ns=(1, 5), e1_datasets=("digits",),
    e1_n_max=5, e1_seeds=(3407,),
    priors=(("oracle", 3, 3), ("federated", 3, 3), ("table6", 1, 1), ("table6-paper", 1, 1), ("e1-paper", 1, 1),
            ("e5", 1, 1), ("southwest-curve", 2, 2)),
)


# ---------------------------------------------------------------------------------------------------- steps
def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _outcome_fields(o) -> dict:
    import numpy as np

    return {"train_s": o.timings.get("train"), "cell_s": sum(o.timings.values()), "epochs": o.extra.get("epochs"),
            "val_acc": _finite(o.defender_val_acc), "clean_acc": _finite(float(np.nanmean(o.clean_acc))),
            "asr": _finite(o.attacker_payoff), "device": o.environment.get("gpu") or o.environment.get("device")}


def _oracle_estimate(suite: Suite) -> Estimate:
    setup, per_job = suite.prior("oracle")
    return Estimate(setup, per_job, 2)


def _oracle_run(suite: Suite, max_jobs: int) -> dict:
    bench = load_script("benchmarks/oracle.py")
    sz = suite.sizes
    presets = ("fast", "paper")[:max_jobs]
    rows = {}

    def on_cell(name: str, seconds: float, outcome) -> None:
        preset = presets[len(rows)]  # compare_presets trains them in this order
        rows[preset] = {"cell": name, "wall_s": seconds, **_outcome_fields(outcome)}
        suite.record("oracle", "cell", preset=preset, **rows[preset])

    bench.compare_presets(suite.device, presets, suite.cache, on_cell, dataset=sz.dataset, n_images=sz.n_images,
                          architecture=sz.oracle_architecture, overrides=dict(sz.train_overrides))
    suite.measured["fast_cell_s"] = rows["fast"]["cell_s"]
    if "paper" in rows:
        suite.measured["paper_cell_s"] = rows["paper"]["cell_s"]
    if "paper" not in rows:
        return {"status": "partial", "note": "only the fast preset fitted", "cells": rows,
                "headline": f"fast {rows['fast']['train_s']:.1f} s, clean acc {rows['fast']['clean_acc'] * 100:.1f}%"}
    ratio = rows["paper"]["train_s"] / rows["fast"]["train_s"]
    return {"status": "done", "cells": rows, "paper_over_fast": ratio,
            "headline": f"paper {rows['paper']['train_s']:.1f} s ({rows['paper']['epochs']} ep, clean "
                        f"{rows['paper']['clean_acc'] * 100:.1f}%) / fast {rows['fast']['train_s']:.1f} s "
                        f"({rows['fast']['epochs']} ep, clean {rows['fast']['clean_acc'] * 100:.1f}%) = {ratio:.1f}x"}


def _federated_config(suite: Suite):
    bench = load_script("benchmarks/federated.py")
    return bench, bench.bench_config(suite.sizes.federated_preset, suite.sizes.federated_rounds,
                                     **{k: v for k, v in suite.sizes.federated_overrides if k not in ("rounds", "eval_every")})


def _federated_estimate(suite: Suite) -> Estimate:
    setup, per_mode = suite.prior("federated")
    return Estimate(setup, per_mode, 2)


def _federated_run(suite: Suite, max_jobs: int) -> dict:
    from oracle.victims.device import resolve_device

    bench, config = _federated_config(suite)
    device = resolve_device(suite.device)
    modes = (False, True)[:max_jobs]
    rows = bench.rounds_per_second(config, device, modes, on_mode=lambda r: suite.record(
        "federated", "mode", task=config.task, **r))
    by_mode = {("together" if r["batch_clients"] else "one_by_one"): r for r in rows}
    suite.measured.update({f"round_s_{k}": r["seconds_per_round"] for k, r in by_mode.items()})
    ms = bench.aggregator_ms(config, device)
    suite.record("federated", "aggregators", ms=ms, clients=config.clients_per_round)
    head = ", ".join(f"{k.replace('_', ' ')} {r['rounds_per_second']:.3f} rounds/s" for k, r in by_mode.items())
    result = {"status": "done" if len(rows) == 2 else "partial", "task": config.task, "modes": by_mode,
              "aggregator_ms": ms, "headline": head}
    if len(rows) == 2:
        result["together_speedup"] = by_mode["one_by_one"]["seconds_per_round"] / by_mode["together"]["seconds_per_round"]
        result["headline"] += f" (together {result['together_speedup']:.2f}x the speed)"
    return result


def _sized_game_spec(suite: Suite, path: str):
    """``examples/games/<path>`` at the suite's size (the smoke size swaps the dataset, the victims and the
    epochs; the full size keeps the spec as it is, with the suite's training overrides)."""
    from oracle.specs import load_spec

    spec = load_spec(ROOT / path)
    sz = suite.sizes
    env = dataclasses.replace(spec.environment, dataset=sz.dataset, n_images=sz.n_images,
                              preset_overrides={**dict(spec.environment.preset_overrides), **dict(sz.train_overrides)})
    defenders = {k: dataclasses.replace(d, architecture=sz.game_architecture) for k, d in spec.defenders.items()}
    seeds = spec.seeds[: sz.game_seeds] if sz.game_seeds else spec.seeds
    return dataclasses.replace(spec, environment=env, defenders=defenders, seeds=seeds)


def _game_oracle(suite: Suite, spec):
    from oracle.fill import make_oracle

    oracle = make_oracle(spec, cache=suite.cache, device=suite.device, progress=False)
    if spec.environment.kind == "federated":
        oracle.warm_start_dir = suite.scratch / "warm_starts"
    return oracle


def _fill(suite: Suite, step: str, oracle, max_jobs: int, row: Callable | None = None, seeds=None):
    """Fill up to ``max_jobs`` missing jobs (of ``seeds``, default all), one JSON line per job as it finishes."""
    from oracle.fill import fill

    def on_done(job, outcome, how) -> None:
        data = row(job, outcome) if row else _outcome_fields(outcome)
        suite.record(step, "cell", job=job.describe(), how=how, **data)

    return fill(oracle, seeds=seeds, max_jobs=max_jobs, on_done=on_done)


def _partial(report) -> dict:
    return {"status": "partial", "trained": len(report.trained), "cached": len(report.cached),
            "left": len(report.remaining),
            "note": f"{len(report.remaining)} job(s) left for a later run with the same --out",
            "headline": f"{len(report.trained) + len(report.cached)} of "
                        f"{len(report.trained) + len(report.cached) + len(report.remaining)} jobs"}


def _fill_by_seed(suite: Suite, step: str, oracle, max_jobs: int, row: Callable | None = None):
    """:func:`_fill` one seed at a time, so that a budget cut leaves whole seeds (every cell of the first
    seeds) rather than every seed of the first cells; one report of all."""
    from oracle.fill import FillReport

    total = FillReport([], [], [], [], 0.0)
    for seed in oracle.spec.seeds:
        report = _fill(suite, step, oracle, max_jobs - len(total.trained), row=row, seeds=(seed,))
        for part in ("trained", "cached", "waited", "remaining"):
            getattr(total, part).extend(getattr(report, part))
    return total


TABLE6_SPECS = {"table6": "examples/games/table6.toml", "table6-paper": "examples/games/table6_paper.toml"}


def _table6_estimate(step: str, suite: Suite) -> Estimate:
    setup, per_job = suite.prior(step)
    measured = suite.measured.get("paper_cell_s" if step == "table6-paper" else "fast_cell_s")
    if measured:  # the defended cells train on the same amount of data, plus augmentation
        per_job = 1.3 * measured
    return Estimate(setup, per_job, len(_game_oracle(suite, _sized_game_spec(suite, TABLE6_SPECS[step])).missing()))


def _table6_run(step: str, suite: Suite, max_jobs: int) -> dict:
    """Fill the game seed by seed, then solve it over its seeds with ``backfire solve``."""
    from oracle.specs import spec_to_toml

    spec = _sized_game_spec(suite, TABLE6_SPECS[step])
    oracle = _game_oracle(suite, spec)
    report = _fill_by_seed(suite, step, oracle, max_jobs)
    if report.remaining:
        return _partial(report)
    spec_file = suite.out / f"{step}.toml"
    spec_file.write_text(spec_to_toml(spec), encoding="utf-8")
    solved = solve_from_cache(spec_file, suite.cache.path)
    suite.record(step, "solve", **solved)
    head = "; ".join(", ".join(f"{s} {p:.3g}" for s, p in e["strategies"]["defender"].items())
                     for e in solved.get("equilibria", []))
    return {"status": "done" if solved["rc"] == 0 else "failed", "trained": len(report.trained),
            "cached": len(report.cached), "solve": solved, "headline": f"defender at equilibrium: {head}"}


def solve_from_cache(spec_file: Path, cache: Path) -> dict:
    """``backfire solve SPEC --cache CACHE --json`` in a child process (as a user would, no torch); its
    equilibria, or its one-line error."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "oracle.cli", "solve", str(spec_file), "--cache", str(cache), "--json"],
                          capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        return {"rc": proc.returncode, "error": proc.stderr.strip().splitlines()[-1:] or [""]}
    solved = json.loads(proc.stdout)
    return {"rc": 0, "scale": solved.get("scale"), "equilibria": solved.get("equilibria", [])}


def _e1_specs(suite: Suite):
    """E1's one-cell games, one seed's whole curve (every dataset, every N) before the next seed's."""
    e1 = load_script("examples/backfiring.py")
    sz = suite.sizes
    overrides = dict(sz.train_overrides)
    return [spec for seed in sz.e1_seeds for dataset in sz.e1_datasets
            for spec in e1.e1_specs(sz.e1_ns, dataset, sz.n_images, sz.game_architecture, "paper", 0.2, sz.e1_n_max,
                                    (seed,), overrides)]


def _e1_estimate(suite: Suite) -> Estimate:
    setup, per_job = suite.prior("e1-paper")
    if "paper_cell_s" in suite.measured:  # V_d = 0.2: the same number of training images as the oracle's cell
        per_job = suite.measured["paper_cell_s"]
    return Estimate(setup, per_job, sum(len(_game_oracle(suite, s).missing()) for s in _e1_specs(suite)))


def _e1_run(suite: Suite, max_jobs: int) -> dict:
    import numpy as np

    trained, left, curves = 0, 0, {}
    for spec in _e1_specs(suite):
        def row(job, o, n=spec.n_attackers, dataset=spec.environment.dataset):
            return {"dataset": dataset, "n": n, "seed": job.seed, "collective_asr": float(100 * np.mean(o.asr)),
                    **_outcome_fields(o)}

        oracle = _game_oracle(suite, spec)
        report = _fill(suite, "e1-paper", oracle, max_jobs - trained, row=row)
        trained += len(report.trained)
        left += len(report.remaining)
        for o in filter(None, map(oracle.cached, oracle.jobs())):
            curves.setdefault(spec.environment.dataset, {}).setdefault(spec.n_attackers, []).append(100 * np.mean(o.asr))
    means = {d: {n: round(float(np.mean(v)), 1) for n, v in sorted(c.items())} for d, c in curves.items()}
    head = "; ".join(f"{d}: " + ", ".join(f"N={n} {v}" for n, v in c.items()) for d, c in means.items())
    if left:
        return {"status": "partial", "trained": trained, "left": left, "curves": means,
                "note": f"{left} job(s) left for a later run with the same --out", "headline": head or "no curve yet"}
    return {"status": "done", "trained": trained, "curves": means, "headline": head}


def _e5_specs(suite: Suite):
    e5 = load_script("examples/e5_defenses.py")
    sz = suite.sizes
    return e5, e5.e5_specs(list(sz.e5_ns), sz.dataset, sz.n_images, sz.game_architecture, "fast",
                           dict(sz.train_overrides))


def _e5_estimate(suite: Suite) -> Estimate:
    setup, per_job = suite.prior("e5")
    if "fast_cell_s" in suite.measured:  # removal defenses train twice, clean-label trains a surrogate first
        per_job = 1.6 * suite.measured["fast_cell_s"]
    _, specs = _e5_specs(suite)
    return Estimate(setup, per_job, sum(len(_game_oracle(suite, s).missing()) for s in specs))


def _e5_run(suite: Suite, max_jobs: int) -> dict:
    e5, specs = _e5_specs(suite)
    trained, left, rows = 0, 0, []
    for spec in specs:
        report = _fill(suite, "e5", _game_oracle(suite, spec), max_jobs - trained,
                       row=lambda job, o: rows.append(e5.e5_row(job, o)) or rows[-1])
        trained += len(report.trained)
        left += len(report.remaining)
    if left:
        return {"status": "partial", "trained": trained, "left": left, "rows": rows,
                "note": f"{left} job(s) left for a later run with the same --out", "headline": f"{len(rows)} cells"}
    worst = min(rows, key=lambda r: r["asr"]) if rows else None
    return {"status": "done", "trained": trained, "rows": rows,
            "headline": f"{len(rows)} cells; lowest ASR {worst['asr']:.1f}% ({worst['attack']} vs {worst['defense']}, "
                        f"N = {worst['n']})" if worst else "no cells"}


def _curve_spec(suite: Suite):
    from oracle.federated.config import FederatedEnvironment
    from oracle.specs import load_spec

    spec = load_spec(ROOT / "examples/games/federated_paper.toml")
    sz = suite.sizes
    if sz.curve_cells is None:
        return spec
    n_att, n_def = sz.curve_cells
    env = FederatedEnvironment(sz.federated_preset, dict(sz.federated_overrides))
    return dataclasses.replace(spec, environment=env, attackers=dict(list(spec.attackers.items())[:n_att]),
                               defenders=dict(list(spec.defenders.items())[:n_def]))


def _curve_estimate(suite: Suite) -> Estimate:
    setup, per_job = suite.prior("southwest-curve")
    spec = _curve_spec(suite)
    round_s = suite.measured.get("round_s_together") or suite.measured.get("round_s_one_by_one")
    if round_s:
        per_job = 1.2 * round_s * spec.environment.config().rounds
    return Estimate(setup, per_job, len(_game_oracle(suite, spec).missing()))


def _curve_run(suite: Suite, max_jobs: int) -> dict:
    report_mod = load_script("examples/federated_report.py")
    oracle = _game_oracle(suite, _curve_spec(suite))
    report = _fill(suite, "southwest-curve", oracle, max_jobs, row=lambda job, o: {
        "backdoor_acc": float(sum(o.asr) / len(o.asr)), "main_acc": o.defender_val_acc, "train_s": o.timings.get("train")})
    if report.remaining:
        return _partial(report)
    rows = report_mod.write_report(oracle, suite.scratch / "southwest-report",
                                   on_row=lambda r: suite.record("southwest-curve", "final-round", **r))
    return {"status": "done", "rows": rows, "report": str(suite.scratch / "southwest-report"),
            "headline": f"{len(rows)} runs; CSVs and plots in {suite.scratch / 'southwest-report'}"}


STEPS: list[Step] = [
    Step("oracle", "one oracle cell (CIFAR-10 ResNet-18), paper vs fast preset", _oracle_estimate, _oracle_run),
    Step("federated", "rounds per second at paper size, clients one by one and together", _federated_estimate,
         _federated_run),
    Step("table6", "Table 6 game, fast preset, then solve", partial(_table6_estimate, "table6"),
         partial(_table6_run, "table6")),
    Step("table6-paper", "Table 6 game, the paper's recipe (paper preset), three seeds, then solve",
         partial(_table6_estimate, "table6-paper"), partial(_table6_run, "table6-paper")),
    Step("e1-paper", "E1 backfiring curves at full size, paper preset, CIFAR-10 and MNIST", _e1_estimate, _e1_run),
    Step("e5", "E5 defenses at full size, fast preset", _e5_estimate, _e5_run),
    Step("southwest-curve", "paper-size federated game and its per-round report", _curve_estimate, _curve_run),
]


# ---------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder: results.jsonl, results.sqlite, summary.json")
    ap.add_argument("--scratch", default=None, help="folder for many-file artefacts (default: <out>/scratch)")
    ap.add_argument("--budget-min", type=float, default=9.0, help="minutes for all steps (default 9)")
    ap.add_argument("--smoke", action="store_true", help="every step at tiny size on the CPU")
    ap.add_argument("--device", default=None, help="cpu, cuda, … (default: automatic; --smoke: cpu)")
    ap.add_argument("--steps", nargs="+", default=None, choices=[s.name for s in STEPS], help="run only these")
    ap.add_argument("--e5-ns", type=int, nargs="+", default=None, help="E5's numbers of attackers (default 1 5 100)")
    args = ap.parse_args(argv)
    if not (args.budget_min > 0 and math.isfinite(args.budget_min)):
        ap.error(f"--budget-min={args.budget_min} is out of range: allowed a positive number of minutes")
    if args.e5_ns is not None and min(args.e5_ns) < 1:
        ap.error("--e5-ns: allowed integers ≥ 1")
    sizes = SMOKE if args.smoke else FULL
    if args.e5_ns:
        sizes = dataclasses.replace(sizes, e5_ns=tuple(args.e5_ns))
    device = args.device or ("cpu" if args.smoke else None)
    out = Path(args.out)
    suite = Suite(out, Path(args.scratch) if args.scratch else out / "scratch", sizes, args.budget_min * 60, device)
    info = machine(device)
    suite.record("suite", "start", smoke=args.smoke, budget_s=suite.budget_s, machine=info, argv=sys.argv[1:],
                 sizes=dataclasses.asdict(sizes))
    steps = [s for s in STEPS if args.steps is None or s.name in args.steps]
    rows = run_steps(suite, steps)
    elapsed = time.monotonic() - suite.started
    summary = {"smoke": args.smoke, "machine": info, "budget_s": suite.budget_s, "elapsed_s": round(elapsed, 1),
               "sizes": dataclasses.asdict(sizes), "steps": rows}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=plain), encoding="utf-8")
    print_summary(info, rows, elapsed, suite.budget_s)
    return 1 if any(r["status"] == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
