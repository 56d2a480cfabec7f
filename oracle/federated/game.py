"""The federated game: the payoff oracle with a federated-learning run as its environment.

Rows are :class:`strategies.federated.FederatedAttackStrategy` (what the N
attackers play: attack mode, its parameters, when they attack); columns are
:class:`strategies.AggregatorStrategy` (the server's aggregation rule). One
job is one federated run (:func:`oracle.federated.simulator.run_federated`)
from a cached warm-start model, for one seed.

Payoffs, measured at the final round, by the federated payoff rule
(:data:`oracle.store.payoff_rules.FEDERATED`, where the rule and its NaN policy
are stated): attacker i's rate is its backdoor accuracy (the share of its
edge-case test set predicted as its target), the federated analogue of the
first paper's ①; the defender gets the main-task accuracy minus the mean
backdoor accuracy, so the game is not constant-sum.

Outcome fields (:class:`oracle.store.outcome.Outcome`): ``asr`` and
``asr_excluding_target`` = each attacker's backdoor accuracy (edge-case inputs
never carry the target as their true label), ``clean_label_acc`` = NaN (not
measured), ``clean_acc`` = the main-task accuracy (the same for every
attacker), ``defender_val_acc`` = main-task accuracy; ``extra["rounds"]`` holds
the per-round table (main and backdoor accuracy, norms, kept clients).

The warm-start model is trained once per (task, configuration) and kept as
safetensors beside the result cache (``warm_starts/<key>.safetensors``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import socket
import time
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from oracle.jobs import Job
from oracle.payoff_oracle import ORACLE_VERSION, PayoffOracle, software_versions
from oracle.store.cache import DataVersion
from oracle.store.outcome import Outcome
from oracle.store.payoff_rules import FEDERATED
from oracle.federated.config import SIMULATOR_VERSION, FederatedConfig
from oracle.federated.tasks import load_task
from strategies.keys import content_key

__all__ = ["FederatedOracle"]

log = logging.getLogger("backfire.federated")


class FederatedOracle(PayoffOracle):
    """:class:`~oracle.payoff_oracle.PayoffOracle` for a spec whose environment is a
    :class:`~oracle.federated.config.FederatedEnvironment` (same options,
    cache, fill, executors and payoff-source protocol)."""

    def _check_defenses(self) -> None:  # aggregators are validated when the strategies are built
        return None

    @cached_property
    def config(self) -> FederatedConfig:
        return self.spec.environment.config()

    @cached_property
    def task(self):
        """The federated task (base dataset, edge-case sets, model name)."""
        return load_task(self.config.task, self.data_dir)

    @cached_property
    def task_fingerprint(self) -> str:
        """The task's data (hashing it reads every image: once per oracle)."""
        return self.task.fingerprint()

    fingerprint_field = "data_fingerprint"

    def data_description(self) -> dict[str, Any]:
        return {**self.spec.environment.to_dict(), "config": self.config.to_dict(),
                "simulator_version": SIMULATOR_VERSION}

    @cached_property
    def measured_data(self) -> DataVersion:
        task = self.task
        what = f"federated task {self.config.task}: {task.dataset.description}, edge case {task.edge.name}"
        return DataVersion(self.data_key, self.task_fingerprint, what, task.dataset.source or None, time.time())

    def profile(self, job: Job) -> dict[str, Any]:
        return {
            "oracle_version": ORACLE_VERSION,
            "kind": "federated",
            "environment": self.environment_key_data,
            "n_attackers": self.spec.n_attackers,
            "attacker": job.attacker.key_data(),
            "aggregator": job.defender.key_data(),
        }

    #: Train each round's honest clients together (:mod:`.cohort`); None = on CUDA only. Not part of
    #: the cache key (like the device, it changes how, not what, is computed: the dropout masks differ);
    #: each outcome records which mode made it in ``environment["client_training"]``.
    batch_clients: bool | None = None

    # ------------------------------------------------------------------ warm start
    #: Where warm starts are kept; None = ``warm_starts/`` beside the result cache.
    warm_start_dir: Path | None = None

    def warm_start_path(self, config: FederatedConfig) -> Path:
        from oracle.federated.warm_start import warm_start_key

        key = content_key("federated-warm-start", {**warm_start_key(config), "data": self.task_fingerprint})
        folder = Path(self.warm_start_dir) if self.warm_start_dir else Path(self.cache.path).parent / "warm_starts"
        return folder / f"{key[:32]}.safetensors"

    def prepare_remote(self, jobs) -> None:
        """Before a fill on Ray: train here the warm starts that ``jobs`` need (once per seed), so that
        the workers only read them."""
        self.warm_start_dir = self.warm_start_path(self.config).parent
        for seed in sorted({job.seed for job in jobs}):
            self.initial_state(dataclasses.replace(self.config, seed=seed))

    def initial_state(self, config: FederatedConfig):
        """The warm-started global model for ``config``: from disk, or trained and saved (safetensors)."""
        from oracle.federated.warm_start import load_state, save_state, warm_start

        path = self.warm_start_path(config)
        if path.exists():
            return load_state(path)
        log.info("training the warm-start model (%d epochs) for %s", config.warm_start_epochs, config.task)
        state = warm_start(self.task, config, device=self.device, progress=self.progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".partial")
        save_state(tmp, state)
        tmp.replace(path)
        return state

    # ------------------------------------------------------------------ one job
    def evaluate(self, job: Job) -> Outcome:
        from oracle.federated.attacks import FederatedAttacker
        from oracle.federated.simulator import run_federated

        t0 = time.perf_counter()
        config = dataclasses.replace(self.config, seed=job.seed)
        state = self.initial_state(config)
        attackers = [FederatedAttacker(**job.attacker.attacker_fields(i), name=f"attacker {i}")
                     for i in range(self.spec.n_attackers)]
        t1 = time.perf_counter()
        run = run_federated(self.task, config, attackers, job.defender, initial_state=state, device=self.device,
                            progress=self.progress, batch_clients=self.batch_clients)
        t2 = time.perf_counter()
        last = run.records[-1]
        backdoor = [float(v) for v in last.attacker_backdoor_acc]
        n = len(backdoor)
        frame = run.to_frame()
        return Outcome(
            asr=backdoor, asr_excluding_target=backdoor, clean_label_acc=[math.nan] * n,
            clean_acc=[float(last.main_acc)] * n, targets=[a.target_label(self.task) for a in attackers],
            defender_val_acc=float(last.main_acc), seed=job.seed,
            timings={"warm_start": t1 - t0, "train": t2 - t1},
            environment={**run.device, **software_versions(), "host": socket.gethostname(),
                         "client_training": "together" if run.batch_clients else "sequential"},
            extra={
                "kind": "federated",
                "rounds_per_second": len(run.records) / max(t2 - t1, 1e-9),
                "main_acc": float(last.main_acc),
                "backdoor_acc": backdoor,
                "defender_payoff": FEDERATED.defender_from(backdoor, float(last.main_acc)),
                "rounds": frame.replace({np.nan: None}).to_dict(orient="list"),
            },
        )

