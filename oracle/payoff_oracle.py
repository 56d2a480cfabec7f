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
import math
import os
import platform
import socket
import time
from functools import cached_property
from typing import Any, Callable, Hashable, Iterable, Sequence

import numpy as np

from gametheory import MissingPayoff, PayoffTable, Payoffs
from strategies.validate import DEFAULT_SEED, out_of_range, round_half_up
from oracle.attacks.clean_label import DEFAULT_CONFIG as CLEAN_LABEL
from oracle.attacks.clean_label import surrogate_perturbation
from oracle.data.datasets import load_dataset, subset
from oracle.data.poison import build_joint_dataset
from oracle.defenses.implemented import defense_class, defense_for, defense_key
from oracle.jobs import Job, components, uses_clean_label, uses_style
from oracle.specs import GameSpec
from oracle.store.cache import DataVersion, ResultCache
from oracle.store.keys import content_key, data_key
from oracle.store.outcome import Outcome
from oracle.store.payoff_rules import PayoffRule, rule_for
from oracle.victims.metrics import attacker_metrics
from oracle.victims.presets import TRAINER_VERSION, get_preset
from strategies import AttackerStrategy

__all__ = ["ORACLE_VERSION", "PayoffOracle", "SymmetricSource", "measured_payoffs", "software_versions"]

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
        for defender in self.spec.defenders.values():
            defense_class(defender.defense)  # NotImplementedError naming it, before anything is trained

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
                out_of_range("environment.n_images", env.n_images, f"[1, {total}] (the images of {env.dataset})")
            # halves up (a tie, e.g. CIFAR-10 with n_images = 6k + 3, moves one image from train to test
            # versus banker's rounding); keys hold the data's content fingerprint, so no version bump
            n_test = round_half_up(env.n_images * ds.n_test / total)
            ds = subset(ds, env.n_images - n_test, n_test, seed=DEFAULT_SEED)
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

    # ------------------------------------------------------------------ which data the keys name
    #: The field of the key's environment that holds the data's content fingerprint.
    fingerprint_field = "dataset_fingerprint"

    def data_description(self) -> dict[str, Any]:
        """The environment as the spec describes it: what, with the data's content, makes the data."""
        return self.spec.environment.to_dict()

    @cached_property
    def measured_data(self) -> DataVersion:
        """The data as read here: its content fingerprint, description and source (reads the data)."""
        ds = self.dataset
        return DataVersion(self.data_key, ds.fingerprint(), ds.description, ds.source, time.time())

    @cached_property
    def data_key(self) -> str:
        return data_key(self.data_description())

    @cached_property
    def data_fingerprint(self) -> str | None:
        """The content fingerprint in this oracle's keys.

        Training (``train=True``): the fingerprint of the data read here, recorded in the cache
        (:meth:`ResultCache.record_data`); cells measured on other data are kept apart, and a
        warning names them. Reading only (``train=False``): the fingerprint the latest fill
        recorded for this environment, so no data is read; None when no fill recorded one (then
        no cell is cached).
        """
        if not self.train:
            versions = self.data_versions()
            return versions[0].fingerprint if versions else None
        data = self.measured_data
        others = self.cache.record_data(self.data_key, data.fingerprint, description=data.description,
                                        source=data.source)
        if others:
            log.warning("the data of this environment (%s, fingerprint %s…) differs from the data %d earlier fill(s) "
                        "of this cache measured (%s); their cells are kept apart, not reused", data.description,
                        data.fingerprint[:12], len(others), ", ".join(f"{v.fingerprint[:12]}…" for v in others))
        return data.fingerprint

    def data_versions(self) -> list[DataVersion]:
        """The data fingerprints fills recorded in the cache for this environment, the latest first."""
        return self.cache.data_versions(self.data_key)

    def check_data(self) -> None:
        """Before training: the data read here must be the data the keys name (reads the data)."""
        if self.measured_data.fingerprint != self.data_fingerprint:
            raise ValueError(
                f"the data read here ({self.measured_data.description}, fingerprint "
                f"{self.measured_data.fingerprint[:12]}…) is not the data this read-only oracle's keys name "
                f"({'none recorded' if self.data_fingerprint is None else self.data_fingerprint[:12] + '…'}); "
                "make the oracle with train=True to train")

    @cached_property
    def environment_key_data(self) -> dict[str, Any]:
        return {**self.data_description(), self.fingerprint_field: self.data_fingerprint}

    # ------------------------------------------------------------------ keys
    def profile(self, job: Job) -> dict[str, Any]:
        """The description of a job without its seed: everything that changes the result."""
        d = job.defender.to_dict(keyed=True)
        d["defense"] = defense_key(job.defender.defense)
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
        if uses_style(job):
            from oracle.attacks.adain import SUBSTITUTE, weights_sha256
            out["adain"] = {"weights": SUBSTITUTE, "sha256": weights_sha256()}
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
        from oracle.victims.device import device_info
        from oracle.victims.inference import predict
        from oracle.victims.train import train_victim

        spec, ds = self.spec, self.dataset
        t0 = time.perf_counter()
        actions, joint = self._joint_dataset(job)
        defense = defense_for(job.defender)
        x_train, y_train = defense.training_set(joint.x_train, joint.y_train, joint.owner_train)
        t1 = time.perf_counter()

        x_val, y_val = joint.validation_set(self.train_preset.validation)

        def train(x: np.ndarray, y: np.ndarray):
            return train_victim(
                job.defender.architecture, x, y, x_val, y_val,
                num_classes=ds.num_classes, dataset=ds.name, preset=self.train_preset, seed=job.seed,
                device=self.device, progress=self.progress,
                extra_batch_transform=defense.batch_transform(ds.num_classes),
            )

        victim = train(x_train, y_train)
        removal: dict[str, Any] = {}
        if defense.removes:
            victim, removal = self._filter_and_retrain(defense, joint, victim, train, seed=job.seed)
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

    def _joint_dataset(self, job: Job):
        """The job's attacker actions and its joint dataset (clean-label perturbations and
        AdaIN stylisation applied where the job's strategies ask for them)."""
        from oracle.attacks.adain import stylize

        env, ds = self.spec.environment, self.dataset
        actions = job.actions(self.spec.n_attackers, ds.num_classes)
        perturb = None
        if uses_clean_label(job):
            perturb = surrogate_perturbation(job.defender.architecture, dataset=ds.name, num_classes=ds.num_classes,
                                             preset=self.train_preset, config=CLEAN_LABEL, device=self.device,
                                             train_seed=job.seed)
        joint = build_joint_dataset(ds, actions, n_max=self.spec.n_max, v_d=env.v_d, seed=job.seed,
                                    test_fraction=env.test_fraction, perturb=perturb, stylize=stylize)
        return actions, joint

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

    def _filter_and_retrain(self, defense, joint, victim, train: Callable, *, seed: int) -> tuple[Any, dict[str, Any]]:
        """A removal defense: flag training inputs from ``victim``'s representations, retrain without them.

        Returns the retrained victim and a JSON summary: the filter's score
        against the ground truth of which inputs were poisoned (precision,
        recall, recall per attacker), the number removed and the first
        victim's validation accuracy. Activation clustering's exclusionary
        reclassification trains one extra model, without all suspect
        clusters; when every suspect cluster is confirmed, that model is the
        retrained victim.
        """
        from oracle.victims.inference import features, predict

        ds = self.dataset
        x, y = joint.x_train, joint.y_train
        reps = features(victim.model, x, dataset=ds.name, device=victim.device)
        excluded: dict[str, Any] = {}

        def reclassify(suspect: np.ndarray) -> np.ndarray:
            model = train(x[~suspect], y[~suspect])
            excluded.update(mask=suspect.copy(), victim=model)
            return predict(model.model, x[suspect], dataset=ds.name, device=model.device)

        report = defense.flag(reps, y, n_attackers=self.spec.n_attackers, reclassify=reclassify, seed=seed,
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
            self.check_data()
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
    @property
    def payoff_rule(self) -> PayoffRule:
        """The payoff rule of this game's kind of environment (:mod:`oracle.store.payoff_rules`)."""
        return rule_for(self.spec.environment.kind)

    def payoffs(self, profile: Hashable) -> Payoffs:
        """The payoff-source protocol: ``profile = (attacker label, defender label)``.

        Each role's payoff of a cell is, per seed, the weighted mean over the attacker
        strategy's components of the payoff rule's payoffs (:attr:`payoff_rule`); missing
        jobs are trained when ``train`` is True, else ``MissingPayoff`` is raised (so is a
        cell the NaN policy leaves unmeasured).
        """
        try:
            a_label, d_label = profile  # type: ignore[misc]
            strategy = self.spec.attackers[a_label]
            defender = self.spec.defenders[d_label]
        except (TypeError, ValueError, KeyError):
            raise MissingPayoff(profile, "not an (attacker, defender) pair of this game") from None
        samples: dict[str, list[float]] = {"attacker": [], "defender": []}
        for seed in self.spec.seeds:
            value = dict.fromkeys(samples, 0.0)
            for weight, component in components(strategy):
                job = Job(component, defender, seed)
                outcome = self.run(job) if self.train else self.cached(job)
                if outcome is None:
                    raise MissingPayoff(profile, f"no cached result for {job.describe()}")
                for role, v in self.payoff_rule.roles(outcome).items():
                    value[role] += weight * v
            for role, v in value.items():
                samples[role].append(v)
        return measured_payoffs(profile, samples, self.spec.seeds)

    def defender_payoff(self, outcome: Outcome) -> float:
        """The defender's payoff from one outcome, by this game's payoff rule."""
        return self.payoff_rule.defender(outcome)

    def table(self) -> PayoffTable:
        """The payoff table of the game from what is available (cached, or trained when ``train``)."""
        return PayoffTable.from_source(list(self.spec.attackers), list(self.spec.defenders), self,
                                       meta={"game": self.spec.name, "n_attackers": self.spec.n_attackers})


class SymmetricSource:
    """The oracle as a payoff source for a role-symmetric game (:class:`gametheory.RoleSymmetricGame`).

    ``strategies``: labels of pure attacker strategies of the spec (the
    game's K strategies); the spec's N is the game's number of attackers. A
    profile ``(counts, defender label)`` is one count-profile job per seed;
    each role's payoff is the payoff rule's (:attr:`PayoffOracle.payoff_rule`: attacker
    strategy k gets the mean rate of the attackers playing it, the defender its payoff
    from all attackers), averaged over seeds. With ``train=False`` only cached profiles
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
            out_of_range("counts", counts, f"{len(self.labels)} non-negative counts summing to N={self.oracle.spec.n_attackers}")
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
        rule = self.oracle.payoff_rule
        for job in jobs:
            outcome = self.oracle.run(job) if self.train else self.oracle.cached(job)
            if outcome is None:
                raise MissingPayoff(profile, f"no cached result for {job.describe()}")
            start = 0
            for label, count in zip(self.labels, counts):
                if count > 0:
                    per_role.setdefault(label, []).append(rule.attacker(outcome, slice(start, start + count)))
                start += count
            per_role.setdefault("defender", []).append(rule.defender(outcome))
        return measured_payoffs(profile, per_role, self.seeds)


def measured_payoffs(profile: Hashable, samples: dict[str, list[float]], seeds: Sequence[int]) -> Payoffs:
    """Per-seed payoffs of each role as :class:`Payoffs` (each role's mean over seeds); ``MissingPayoff``
    when one is NaN (no attacker it averages over was measured: the NaN policy of
    :mod:`oracle.store.payoff_rules`)."""
    unmeasured = sorted(role for role, values in samples.items() if any(math.isnan(v) for v in values))
    if unmeasured:
        raise MissingPayoff(profile, f"not measured for {', '.join(unmeasured)}: no attacker it averages over "
                                     "had run-time inputs")
    return Payoffs(roles={r: float(np.mean(v)) for r, v in samples.items()},
                   samples={r: tuple(v) for r, v in samples.items()}, seeds=tuple(seeds))
