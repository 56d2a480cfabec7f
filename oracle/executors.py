"""Executors that run the oracle's missing jobs elsewhere: Ray.

The in-process executor is :meth:`oracle.oracle.PayoffOracle.fill` itself.
With Ray, each missing job becomes one Ray task (a GPU each when the cluster
has GPUs); the tasks rebuild the oracle from the spec's TOML text, train and
measure, and return the :class:`~oracle.outcome.Outcome` as JSON. Only the
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
from typing import Any, Callable

from .outcome import Outcome

__all__ = ["run_with_ray", "evaluate_job"]


def evaluate_job(spec_toml: str, attacker: dict[str, Any] | None, defender: dict[str, Any], seed: int,
                 device: str | None, data_dir: str | None, threads: int | None,
                 population: list | None = None, state_dir: str | None = None) -> str:
    """Train and measure one job from plain data (what a Ray task runs); the Outcome as JSON."""
    import tomllib

    from strategies import AttackerStrategy, DefenderStrategy

    from .oracle import Job, make_oracle
    from .spec import spec_from_dict

    if threads:
        import torch

        torch.set_num_threads(threads)
    spec = spec_from_dict(tomllib.loads(spec_toml), where="<ray task>")
    oracle = make_oracle(spec, device=device, data_dir=data_dir, train=True, progress=False)
    if spec.environment.kind == "federated":
        from strategies import AggregatorStrategy
        from strategies.federated import FederatedAttackStrategy

        oracle.warm_start_dir = state_dir  # the driver's warm starts (FederatedOracle.fill trains them first)
        job = Job(FederatedAttackStrategy.from_dict(attacker), AggregatorStrategy.from_dict(defender), seed)
        return oracle.evaluate(job).to_json()
    pop = tuple((AttackerStrategy.from_dict(d), int(c)) for d, c in (population or ()))
    job = Job(None if attacker is None else AttackerStrategy.from_dict(attacker), DefenderStrategy.from_dict(defender),
              seed, pop)
    return oracle.evaluate(job).to_json()


def run_with_ray(oracle, todo: list, report, *, ray_address: str | None = None,
                 on_done: Callable | None = None) -> None:
    """Run ``todo`` (a list of :class:`~oracle.oracle.Job`) as Ray tasks; store results as they come."""
    try:
        import ray
    except ImportError:
        raise ImportError("the Ray executor needs Ray: pip install 'backfire[ray]' (or pip install ray)") from None
    import torch

    from .spec import spec_to_toml

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
        for job in deferred:
            outcome = oracle.run(job)
            report.waited.append(job)
            if on_done:
                on_done(job, outcome, "waited")
    finally:
        if started_here:  # disconnects; stops the instance only where this fill started it
            ray.shutdown()
