"""The empirical payoff oracle: a strategy profile in, measured payoffs out.

For one *job* — a pure attacker strategy, a defender strategy, N and a seed —
the oracle expands the attacker strategy into N actions, builds the poisoned
joint dataset (:mod:`oracle.data.poison`), trains the defender's victim on it
(:mod:`oracle.victims.train`), and measures every attacker's metrics on its
triggered run-time inputs (:mod:`oracle.victims.metrics`), giving an
:class:`~oracle.store.outcome.Outcome`. Outcomes are stored in the SQLite result
cache (:mod:`oracle.store.cache`) under a content key over everything that changes
the result, so no job is ever run twice.

A *cell* of the payoff table is (attacker label, defender label). A mixed
attacker strategy's cell needs one job per component; its payoff is the
weighted mean of the components' payoffs, per seed. The oracle implements the
payoff-source protocol of :mod:`gametheory.sources`, so a game can ask it for
exactly the cells it needs: from the cache only (``train=False``), or
training what is missing.

``import oracle.payoff_oracle`` does not import torch; training does, when it runs.
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import time
from functools import cached_property
from typing import Any, Callable, Hashable, Iterable, Sequence

import numpy as np

from gametheory import MissingPayoff, PayoffTable, Payoffs
from gametheory.symmetric_file import outcome_role_payoffs
from oracle.attacks.clean_label import DEFAULT_CONFIG as CLEAN_LABEL
from oracle.attacks.clean_label import surrogate_perturbation
from oracle.data.datasets import load_dataset, subset
from oracle.data.poison import build_joint_dataset
from oracle.defenses.augmentative import IMPLEMENTED as IMPLEMENTED_DEFENSES
from oracle.defenses.augmentative import batch_transform, training_set
from oracle.defenses.filter_report import REMOVAL_DEFENSES
from oracle.defenses.removal import filter_from_params
from oracle.jobs import Job, components, uses_clean_label
from oracle.specs import GameSpec
from oracle.store.cache import ResultCache
from oracle.store.keys import content_key
from oracle.store.outcome import Outcome
from oracle.victims.metrics import attacker_metrics
from oracle.victims.presets import TRAINER_VERSION, get_preset
from strategies import AttackerStrategy

__all__ = ["ORACLE_VERSION", "PayoffOracle", "IMPLEMENTED_DEFENSES", "SymmetricSource", "software_versions"]

log = logging.getLogger("backfire.oracle")

ORACLE_VERSION = "1"
"""Bumped whenever a change to the oracle changes what a job measures; part of every key."""


def software_versions() -> dict[str, str]:
    """The versions of Python and of the numeric packages, recorded in every outcome's environment."""
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "torch", "torchvision"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:  # pragma: no cover
            pass
    return out


class PayoffOracle:
    """Measures, caches and serves the payoffs of a :class:`~oracle.specs.GameSpec`.

    ``cache``: a :class:`ResultCache` (default: the user's cache file).
    ``device``: ``"cpu"``, ``"cuda"``, … or None for automatic. ``data_dir``:
    where the datasets live (see :func:`oracle.data.datasets.load_dataset`).
    ``train``: whether :meth:`payoffs` trains missing jobs (True) or only
    reads the cache (False). ``progress``: show progress bars and per-job lines.
    """

    def __init__(
        self,
        spec: GameSpec,
        *,
        cache: ResultCache | None = None,
        device: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        train: bool = True,
        progress: bool = False,
        worker: str | None = None,
    ):
        self.spec = spec
        self._cache = cache
        self.device = device
        self.data_dir = data_dir
        self.train = train
        self.progress = progress
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self._check_defenses()

    def _check_defenses(self) -> None:
        unsupported = sorted({d.defense for d in self.spec.defenders.values()} - set(IMPLEMENTED_DEFENSES))
        if unsupported:
            raise NotImplementedError(
                f"defense(s) {', '.join(unsupported)} not implemented in the oracle yet "
                f"(implemented: {', '.join(IMPLEMENTED_DEFENSES)})"
            )

    @property
    def cache(self) -> ResultCache:
        """The result cache (opened on first use: workers that only train never open it)."""
        if self._cache is None:
            self._cache = ResultCache()
        return self._cache

    # ------------------------------------------------------------------ environment
    @cached_property
    def dataset(self):
        """The environment's dataset (the stratified subset when ``n_images`` is set)."""
        env = self.spec.environment
        ds = load_dataset(env.dataset, self.data_dir, resize=env.resize, progress=self.progress)
        if env.n_images is not None:
            total = ds.n_train + ds.n_test
            if env.n_images > total:
                raise ValueError(f"environment.n_images={env.n_images} exceeds the {total} images of {env.dataset}")
            n_test = int(round(env.n_images * ds.n_test / total))
            ds = subset(ds, env.n_images - n_test, n_test, seed=3407)
        return ds

    @cached_property
    def train_preset(self):
        """The environment's :class:`~oracle.victims.presets.TrainPreset` (preset name plus overrides)."""
        env = self.spec.environment
        return get_preset(env.preset, **dict(env.preset_overrides))

    @cached_property
    def preset(self) -> dict[str, Any]:
        """The training preset's hyper-parameters (part of every key)."""
        return self.train_preset.to_dict()

    @cached_property
    def environment_key_data(self) -> dict[str, Any]:
        return {**self.spec.environment.to_dict(), "dataset_fingerprint": self.dataset.fingerprint()}

    # ------------------------------------------------------------------ keys
    def profile(self, job: Job) -> dict[str, Any]:
        """The description of a job without its seed: everything that changes the result."""
        d = job.defender.to_dict(keyed=True)
        d.pop("name", None)
        out = {
            "oracle_version": ORACLE_VERSION,
            "environment": self.environment_key_data,
            "preset": self.preset,
            "trainer_version": TRAINER_VERSION,
            "n_attackers": self.spec.n_attackers,
            "n_max": self.spec.n_max,
            "defender": d,
        }
        if job.attacker is not None:
            out["attacker"] = job.attacker.key_data()
        else:
            out["population"] = [[count, s.key_data()] for s, count in job.population]
        if uses_clean_label(job):
            out["clean_label"] = CLEAN_LABEL.to_dict()
        return out

    def cell_key(self, job: Job) -> str:
        return content_key(self.profile(job))

    def key(self, job: Job) -> str:
        return content_key(self.profile(job), job.seed)

    # ------------------------------------------------------------------ jobs
    def jobs(self, attackers: Iterable[str] | None = None, defenders: Iterable[str] | None = None,
             seeds: Sequence[int] | None = None) -> list[Job]:
        """The distinct jobs behind the given cells (default: the whole game), in table order."""
        seeds = tuple(self.spec.seeds if seeds is None else seeds)
        out: dict[str, Job] = {}
        for a_label in (self.spec.attackers if attackers is None else attackers):
            for d_label in (self.spec.defenders if defenders is None else defenders):
                defender = self.spec.defenders[d_label]
                for _w, component in components(self.spec.attackers[a_label]):
                    for seed in seeds:
                        job = Job(component, defender, seed)
                        out.setdefault(self.key(job), job)
        return list(out.values())

    def cached(self, job: Job) -> Outcome | None:
        return self.cache.get(self.key(job))

    def missing(self, seeds: Sequence[int] | None = None) -> list[Job]:
        return [j for j in self.jobs(seeds=seeds) if self.key(j) not in self.cache]

    # ------------------------------------------------------------------ running one job
    def evaluate(self, job: Job) -> Outcome:
        """Train and measure one job (no cache involved)."""
        from oracle.victims.train import device_info, predict, train_victim

        env, spec = self.spec.environment, self.spec
        ds = self.dataset
        t0 = time.perf_counter()
        actions = job.actions(spec.n_attackers, ds.num_classes)
        perturb = None
        if uses_clean_label(job):
            perturb = surrogate_perturbation(job.defender.architecture, dataset=ds.name, num_classes=ds.num_classes,
                                             preset=self.train_preset, config=CLEAN_LABEL, device=self.device,
                                             train_seed=job.seed)
        joint = build_joint_dataset(ds, actions, n_max=spec.n_max, v_d=env.v_d, seed=job.seed,
                                    test_fraction=env.test_fraction, perturb=perturb)
        defense, params = job.defender.defense, dict(job.defender.params_map)
        x_train, y_train = training_set(defense, params, joint.x_train, joint.y_train, joint.owner_train)
        t1 = time.perf_counter()

        def train(x: np.ndarray, y: np.ndarray):
            return train_victim(
                job.defender.architecture, x, y, joint.x_val, joint.y_val,
                num_classes=ds.num_classes, dataset=ds.name, preset=self.train_preset, seed=job.seed,
                device=self.device, progress=self.progress,
                extra_batch_transform=batch_transform(defense, params, ds.num_classes),
            )

        victim = train(x_train, y_train)
        removal: dict[str, Any] = {}
        if defense in REMOVAL_DEFENSES:
            victim, removal = self._filter_and_retrain(job, joint, victim, train)
        t2 = time.perf_counter()
        kw = dict(dataset=ds.name, device=victim.device)
        runtime_x, runtime_x_clean = self._runtime_inputs(job, joint)
        pred_triggered = predict(victim.model, runtime_x, **kw)
        pred_clean = predict(victim.model, runtime_x_clean, **kw)
        m = attacker_metrics(pred_triggered, pred_clean, joint.runtime_y, joint.runtime_target,
                             joint.runtime_owner, spec.n_attackers)
        test_acc = float("nan")
        if joint.has_test:
            test_acc = float(np.mean(predict(victim.model, joint.x_test, **kw) == joint.y_test))
        t3 = time.perf_counter()
        summary = joint.summary()
        return Outcome(
            asr=m["asr"], asr_excluding_target=m["asr_excluding_target"], clean_label_acc=m["clean_label_acc"],
            clean_acc=m["clean_acc"], targets=[a.target for a in actions],
            defender_val_acc=float(victim.val_acc), defender_test_acc=test_acc, seed=job.seed,
            timings={"poison": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2},
            environment={**device_info(victim.device), **software_versions(), "host": socket.gethostname()},
            extra={
                "epochs": victim.epochs_run,
                "history": victim.history,
                "poisoned_train_per_attacker": [int(v) for v in np.asarray(summary.n_poisoned_train)],
                "runtime_per_attacker": [int(v) for v in np.asarray(summary.n_runtime)],
                "dataset": ds.description,
                "training_inputs": int(len(y_train)),
                **({"removal": removal} if removal else {}),
            },
        )

    def _runtime_inputs(self, job: Job, joint) -> tuple[np.ndarray, np.ndarray]:
        """The attackers' run-time inputs (triggered, untriggered), after the run-time shifts they play
        (FGSM on each attacker's surrogate, :mod:`oracle.attacks.fgsm`; surrogates kept beside the cache)."""
        if all(a.shift == "none" for a in joint.actions):
            return joint.runtime_x, joint.runtime_x_clean
        from pathlib import Path

        from oracle.attacks.fgsm import SurrogateCache, shifted_runtime

        ds = self.dataset
        surrogates = SurrogateCache(Path(self.cache.path).parent / "surrogates", job.defender.architecture,
                                    ds.name, ds.num_classes, self.train_preset, seed=job.seed, device=self.device)
        return shifted_runtime(joint, surrogates)

    def _filter_and_retrain(self, job: Job, joint, victim, train: Callable) -> tuple[Any, dict[str, Any]]:
        """A removal defense: flag training inputs from ``victim``'s representations, retrain without them.

        Returns the retrained victim and a JSON summary: the filter's score
        against the ground truth of which inputs were poisoned (precision,
        recall, recall per attacker), the number removed and the first
        victim's validation accuracy. Activation clustering's exclusionary
        reclassification trains one extra model, without all suspect
        clusters; when every suspect cluster is confirmed, that model is the
        retrained victim.
        """
        from oracle.victims.train import features, predict

        ds = self.dataset
        x, y = joint.x_train, joint.y_train
        reps = features(victim.model, x, dataset=ds.name, device=victim.device)
        excluded: dict[str, Any] = {}

        def reclassify(suspect: np.ndarray) -> np.ndarray:
            model = train(x[~suspect], y[~suspect])
            excluded.update(mask=suspect.copy(), victim=model)
            return predict(model.model, x[suspect], dataset=ds.name, device=model.device)

        report = filter_from_params(job.defender.defense, dict(job.defender.params_map), reps, y,
                                    n_attackers=self.spec.n_attackers, reclassify=reclassify, seed=job.seed,
                                    num_classes=ds.num_classes)
        if "mask" in excluded and np.array_equal(excluded["mask"], report.mask):
            retrained = excluded["victim"]
        else:
            keep = report.kept
            retrained = train(x[keep], y[keep])
        summary = report.score(joint.poisoned_train, joint.owner_train, n_attackers=self.spec.n_attackers)
        extra = int("mask" in excluded) + int(retrained is not excluded.get("victim"))
        summary.update(before_val_acc=float(victim.val_acc), extra_trainings=extra)
        return retrained, summary

    def run(self, job: Job) -> Outcome:
        """The job's outcome: from the cache, or trained here and stored (claimed while training)."""
        key = self.key(job)
        found = self.cache.get(key)
        if found is not None:
            return found
        if not self.cache.claim(key, self.worker):
            log.info("%s is being trained by another process; waiting", job.describe())
            found = self.cache.wait(key)
            if found is not None:
                return found
            if not self.cache.claim(key, self.worker):  # pragma: no cover - the other process died and kept its lease
                raise RuntimeError(f"{job.describe()}: another process holds the claim and did not finish")
        return self.train_claimed(job)

    def train_claimed(self, job: Job) -> Outcome:
        """Train a job this worker has claimed and store it; the claim is released if training fails."""
        try:
            outcome = self.evaluate(job)
        except BaseException:
            self.cache.release(self.key(job), self.worker)
            raise
        self.store(job, outcome)
        return outcome

    def store(self, job: Job, outcome: Outcome) -> None:
        """Write a job's outcome to the cache (one transaction; drops the claim)."""
        self.cache.put(self.key(job), outcome, cell_key=self.cell_key(job), seed=job.seed, profile=self.profile(job))

    def prepare_remote(self, jobs: Sequence[Job]) -> None:
        """Make ready, in this process, what remote workers of a fill read but do not write (nothing here)."""
        return None

    # ------------------------------------------------------------------ payoffs
    def payoffs(self, profile: Hashable) -> Payoffs:
        """The payoff-source protocol: ``profile = (attacker label, defender label)``.

        The attacker payoff of a cell is, per seed, the weighted mean over the
        attacker strategy's components of the collective attack success
        (mean ① over attackers); the defender's is the same mean of
        :meth:`defender_payoff` (1 minus the attack success here). Missing jobs
        are trained when ``train`` is True, else ``MissingPayoff`` is raised.
        """
        try:
            a_label, d_label = profile  # type: ignore[misc]
            strategy = self.spec.attackers[a_label]
            defender = self.spec.defenders[d_label]
        except (TypeError, ValueError, KeyError):
            raise MissingPayoff(profile, "not an (attacker, defender) pair of this game") from None
        a_seed, d_seed = [], []
        for seed in self.spec.seeds:
            a_value = d_value = 0.0
            for weight, component in components(strategy):
                job = Job(component, defender, seed)
                outcome = self.run(job) if self.train else self.cached(job)
                if outcome is None:
                    raise MissingPayoff(profile, f"no cached result for {job.describe()}")
                a_value += weight * outcome.attacker_payoff
                d_value += weight * self.defender_payoff(outcome)
            a_seed.append(a_value)
            d_seed.append(d_value)
        a, d = tuple(a_seed), tuple(d_seed)
        return Payoffs(roles={"attacker": float(np.mean(a)), "defender": float(np.mean(d))},
                       samples={"attacker": a, "defender": d}, seeds=tuple(self.spec.seeds))

    def defender_payoff(self, outcome: Outcome) -> float:
        """The defender's payoff from one outcome: 1 − the collective attack success."""
        return outcome.defender_payoff

    def table(self) -> PayoffTable:
        """The payoff table of the game from what is available (cached, or trained when ``train``)."""
        return PayoffTable.from_source(list(self.spec.attackers), list(self.spec.defenders), self,
                                       meta={"game": self.spec.name, "n_attackers": self.spec.n_attackers})


class SymmetricSource:
    """The oracle as a payoff source for a role-symmetric game (:class:`gametheory.RoleSymmetricGame`).

    ``strategies``: labels of pure attacker strategies of the spec (the
    game's K strategies); the spec's N is the game's number of attackers. A
    profile ``(counts, defender label)`` is one count-profile job per seed;
    the payoff of attacker strategy k is the mean attack success of the
    attackers playing it, averaged over seeds, and the defender's is 1 minus
    the mean over all attackers. With ``train=False`` only cached profiles
    are served (``MissingPayoff`` otherwise), so a DPR-reduced game can list
    exactly the full-game profiles it needs (``dpr_required_profiles``) and
    have only those trained. ``seeds``: the seeds a profile's payoffs are
    read from (default: the spec's), e.g. its first ``n`` for an adaptive search.
    """

    def __init__(self, oracle: PayoffOracle, strategies: Sequence[str], train: bool | None = None,
                 seeds: Sequence[int] | None = None):
        self.oracle = oracle
        self.seeds = tuple(oracle.spec.seeds if seeds is None else seeds)
        self.labels = tuple(strategies)
        for label in self.labels:
            s = oracle.spec.attackers.get(label)
            if not isinstance(s, AttackerStrategy):
                raise ValueError(f"attacker strategy {label!r}: a role-symmetric game needs pure strategies of the spec "
                                 f"(known: {', '.join(oracle.spec.attackers)})")
        self.train = oracle.train if train is None else train

    def job(self, counts: Sequence[int], defender: str, seed: int) -> Job:
        counts = tuple(int(c) for c in counts)
        if len(counts) != len(self.labels) or sum(counts) != self.oracle.spec.n_attackers or min(counts) < 0:
            raise ValueError(f"counts={counts} must be {len(self.labels)} non-negative counts summing to "
                             f"N={self.oracle.spec.n_attackers}")
        population = tuple((self.oracle.spec.attackers[l], c) for l, c in zip(self.labels, counts) if c > 0)
        if len(population) == 1:
            return Job(population[0][0], self.oracle.spec.defenders[defender], seed)
        return Job(None, self.oracle.spec.defenders[defender], seed, population)

    def payoffs(self, profile: Hashable) -> Payoffs:
        try:
            counts, defender = profile  # type: ignore[misc]
            jobs = [self.job(counts, defender, seed) for seed in self.seeds]
        except (TypeError, ValueError, KeyError) as exc:
            raise MissingPayoff(profile, f"not a profile of this game ({exc})") from None
        per_role: dict[str, list[float]] = {}
        for job in jobs:
            outcome = self.oracle.run(job) if self.train else self.oracle.cached(job)
            if outcome is None:
                raise MissingPayoff(profile, f"no cached result for {job.describe()}")
            for role, value in outcome_role_payoffs(self.labels, counts, outcome.asr).items():
                per_role.setdefault(role, []).append(value)
        return Payoffs(roles={r: float(np.mean(v)) for r, v in per_role.items()},
                       samples={r: tuple(v) for r, v in per_role.items()}, seeds=self.seeds)
