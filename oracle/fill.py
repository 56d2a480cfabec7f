"""Filling a game: which jobs it needs, who trains them, where (in this process, or on Ray).

:func:`make_oracle` picks the payoff oracle for a spec (the federated one
when the environment is federated). :func:`fill` trains every missing job of
a game, keeping each as it finishes; each job is *claimed* in the result
cache first, so two fills on the same cache file never train a job twice.

The in-process executor is :func:`run_local`.
With Ray (:func:`run_with_ray`), each missing job becomes one Ray task (a GPU each when the cluster
has GPUs); the tasks rebuild the oracle from the spec's TOML text, train and
measure, and return the :class:`~oracle.store.outcome.Outcome` as JSON. Only the
driver writes the result cache: it claims every job before submitting it (so
a second fill on the same cache file skips it), stores each outcome the
moment its task finishes (so an interrupted fill keeps every finished job),
and releases the claims of unfinished jobs when it stops.

On the CPU, a task uses as many torch threads as the driver would, so the
same spec and seed give the same outcome on either executor. Ray is an
optional dependency (``pip install 'backfire[ray]'``).

Where the tasks run: without an address, the fill starts a local Ray
instance of its own (``address="local"``: never a cluster that happens to
run on the machine) and shuts it down at the end; with an address
(``backfire fill --executor ray --ray-address HOST:PORT``), the tasks go to
that existing cluster, which is left running. Every node of such a cluster
needs backfire installed in the Python it runs tasks with, and the data
directory (and, for federated games, the warm-start folder beside the
cache) at the same path. Ray ≥ 2.52 clusters started with token
authentication accept a driver that names their address only with
``RAY_AUTH_MODE=token`` and the cluster's token (``RAY_AUTH_TOKEN`` or
``~/.ray/auth_token``) in its environment.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from oracle.federated.game import FederatedOracle
from oracle.jobs import Job
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import GameSpec, spec_from_dict, spec_to_toml
from oracle.store.outcome import Outcome
from strategies import AggregatorStrategy, AttackerStrategy, DefenderStrategy
from strategies.federated import FederatedAttackStrategy
from strategies.validate import check_int, check_name

__all__ = ["check_device", "make_oracle", "FillReport", "fill", "run_local", "run_with_ray", "ray_session", "evaluate_job"]


def make_oracle(spec: GameSpec, **kwargs: Any) -> PayoffOracle:
    """The oracle for ``spec``: :class:`~oracle.payoff_oracle.PayoffOracle`, or the federated one when the
    environment is federated (:class:`oracle.federated.game.FederatedOracle`)."""
    if spec.environment.kind == "federated":
        return FederatedOracle(spec, **kwargs)
    return PayoffOracle(spec, **kwargs)


def check_device(device: str | None, executor: str = "local") -> None:
    """Raise ValueError (one line) when ``device`` is not available to the local executor: checked
    before a fill reads any data. Ray tasks run on the cluster's devices, so they are not checked here."""
    if device is None or executor != "local":
        return
    from oracle.victims.device import resolve_device

    resolve_device(device)


@dataclass
class FillReport:
    """What a fill did: jobs trained here, found in the cache, trained by another process, left."""

    trained: list[Job]
    cached: list[Job]
    waited: list[Job]
    remaining: list[Job]
    seconds: float


def fill(oracle: PayoffOracle, *, max_jobs: int | None = None, seeds: Sequence[int] | None = None,
         executor: str = "local", ray_address: str | None = None,
         on_done: Callable[[Job, Outcome, str], None] | None = None) -> FillReport:
    """Train every missing job of ``oracle``'s game (at most ``max_jobs``), keeping each as it finishes.

    ``executor``: ``"local"`` (in this process) or ``"ray"`` (a local Ray
    instance, or the cluster at ``ray_address``; only this process writes
    the cache). ``on_done(job, outcome, how)`` is called per job with
    ``how`` in {"trained", "cached", "waited"}.
    """
    check_name("executor", executor, ("local", "ray"))
    if max_jobs is not None:
        check_int("max_jobs", max_jobs, 0)
    check_device(oracle.device, executor)
    if executor == "ray":
        oracle.prepare_remote(oracle.missing(seeds))
    start = time.perf_counter()
    report = FillReport([], [], [], [], 0.0)
    todo = []
    for job in oracle.jobs(seeds=seeds):
        found = oracle.cached(job)
        if found is not None:
            report.cached.append(job)
            if on_done:
                on_done(job, found, "cached")
        else:
            todo.append(job)
    if max_jobs is not None:
        report.remaining = todo[max_jobs:]
        todo = todo[:max_jobs]
    if executor == "ray":
        run_with_ray(oracle, todo, report, ray_address=ray_address, on_done=on_done)
    else:
        run_local(oracle, todo, report, on_done)
    report.seconds = time.perf_counter() - start
    return report


def run_local(oracle: PayoffOracle, todo: list[Job], report: FillReport, on_done=None) -> None:
    """Train ``todo`` in this process, one claimed job at a time; jobs another process holds come last."""
    deferred = []
    for job in _bar(todo, oracle.progress):
        if not oracle.cache.claim(oracle.key(job), oracle.worker):
            deferred.append(job)  # another process trains it: come back once the rest is done
            continue
        outcome = oracle.train_claimed(job)
        report.trained.append(job)
        if on_done:
            on_done(job, outcome, "trained")
    _wait_for(oracle, deferred, report, on_done)


def _wait_for(oracle: PayoffOracle, deferred: list[Job], report: FillReport, on_done) -> None:
    for job in deferred:
        outcome = oracle.run(job)
        report.waited.append(job)
        if on_done:
            on_done(job, outcome, "waited")


def _bar(items: list, progress: bool) -> Iterable:
    if not progress or not items:
        return items
    from oracle.progress import progress as progress_bar

    return progress_bar(items, desc="cells", unit="cell", leave=False, in_logs=False)


def evaluate_job(spec_toml: str, attacker: dict[str, Any] | None, defender: dict[str, Any], seed: int,
                 device: str | None, data_dir: str | None, threads: int | None,
                 population: list | None = None, state_dir: str | None = None) -> str:
    """Train and measure one job from plain data (what a Ray task runs); the Outcome as JSON."""
    import tomllib

    if threads:
        import torch

        torch.set_num_threads(threads)
    spec = spec_from_dict(tomllib.loads(spec_toml), where="<ray task>")
    oracle = make_oracle(spec, device=device, data_dir=data_dir, train=True, progress=False)
    if spec.environment.kind == "federated":
        oracle.warm_start_dir = state_dir  # the driver's warm starts (FederatedOracle.prepare_remote trains them)
        job = Job(FederatedAttackStrategy.from_dict(attacker), AggregatorStrategy.from_dict(defender), seed)
        return oracle.evaluate(job).to_json()
    pop = tuple((AttackerStrategy.from_dict(d), int(c)) for d, c in (population or ()))
    job = Job(None if attacker is None else AttackerStrategy.from_dict(attacker), DefenderStrategy.from_dict(defender),
              seed, pop)
    return oracle.evaluate(job).to_json()


@contextmanager
def ray_session(ray_address: str | None = None):
    """Ray, connected for the duration of the block: a local instance of its own without an address (shut down
    at the end), else the cluster at ``ray_address`` (left running); an existing connection is used as it is."""
    try:
        import ray
    except ImportError:
        raise ImportError("the Ray executor needs Ray: pip install 'backfire[ray]' (or pip install ray)") from None
    started_here = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = dict(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        if ray_address is None:
            kwargs.update(address="local", num_cpus=os.cpu_count())
        else:
            kwargs.update(address=ray_address)
        try:
            ray.init(**kwargs)
        except ConnectionError as err:
            if ray_address is None:
                raise
            raise ConnectionError(
                f"could not connect to the Ray cluster at {ray_address!r} ({err}); is it running, and, if it uses "
                "token authentication, are RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN or ~/.ray/auth_token) "
                "set here?"
            ) from None
        started_here = True
    try:
        yield ray
    finally:
        if started_here:  # disconnects; stops the instance only where this session started it
            ray.shutdown()


def run_with_ray(oracle: PayoffOracle, todo: list[Job], report: FillReport, *, ray_address: str | None = None,
                 on_done: Callable | None = None) -> None:
    """Run ``todo`` as Ray tasks (in a :func:`ray_session`); store results as they come."""
    import torch

    with ray_session(ray_address) as ray:
        gpus = ray.cluster_resources().get("GPU", 0) > 0 and oracle.device in (None, "cuda")
        threads = None if gpus else torch.get_num_threads()
        options = {"num_gpus": 1} if gpus else {"num_cpus": min(threads, int(ray.cluster_resources().get("CPU", 1)))}
        task = ray.remote(evaluate_job).options(max_retries=0, **options)
        spec_toml = spec_to_toml(oracle.spec)
        device = "cuda" if gpus else (oracle.device or "cpu")
        data_dir = None if oracle.data_dir is None else os.fspath(oracle.data_dir)
        pending: dict[Any, Any] = {}
        deferred = []
        for job in todo:
            key = oracle.key(job)
            if not oracle.cache.claim(key, oracle.worker):
                deferred.append(job)
                continue
            ref = task.remote(spec_toml, None if job.attacker is None else job.attacker.to_dict(),
                              job.defender.to_dict(), job.seed, device, data_dir, threads,
                              [[s.to_dict(), c] for s, c in job.population],
                              None if getattr(oracle, "warm_start_dir", None) is None else os.fspath(oracle.warm_start_dir))
            pending[ref] = job
        try:
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ref)
                outcome = Outcome.from_json(ray.get(ref))
                oracle.store(job, outcome)
                report.trained.append(job)
                if on_done:
                    on_done(job, outcome, "trained")
        finally:
            for ref, job in pending.items():
                ray.cancel(ref, force=True)
                oracle.cache.release(oracle.key(job), oracle.worker)
        _wait_for(oracle, deferred, report, on_done)
