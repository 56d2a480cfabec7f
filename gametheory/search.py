"""Adaptive equilibrium search for role-symmetric games: subgames, deviations, progressive sampling.

The search (:func:`equilibrium_search`) measures only the profiles an
equilibrium needs, in the style of Wellman's empirical game-theoretic
analysis (EGTA) and its *quiesce* procedure [JSW10]_, [Wel16]_:

1. **Explore.** Start from every one-strategy subgame (one attacker strategy
   played by all, one defender strategy). A *subgame* ``(S, T)`` restricts
   attackers to ``S`` and the defender to ``T``; it is *complete* when every
   profile in it has been measured.
2. **Solve** every complete explored subgame that no larger complete explored
   subgame contains (:meth:`RoleSymmetricGame.find_equilibria`; by default
   regret minimisation from the uniform and every pure start, which also
   reaches unstable equilibria); each equilibrium found is a *candidate*
   ``(σ, τ)``, embedded in the whole game (zero outside ``S``, ``T``;
   probabilities below :data:`DROP_BELOW` dropped).
3. **Deviate.** Measure every profile that a unilateral deviation from a
   candidate reads: one attacker switching to any of the ``K`` strategies
   against the others drawn from ``σ`` (all of the defender's strategies in
   ``supp τ``), and the defender switching to any of its ``D`` strategies.
4. **Test** each deviation's gain ``g`` (a linear combination of profile
   means, :func:`gametheory.deviations.deviation_gains`) with a confidence interval
   ``[ĝ − r, ĝ + r]``, ``r = Σ |w_p| ε_p`` from the per-(profile, role)
   radii of :func:`gametheory.sampling.confidence_radius`:

   * *beneficial* if ``ĝ − r > tol``: the candidate is **refuted**, and the
     subgame ``supp σ ∪ {best such attacker strategy}`` (and likewise
     ``supp τ ∪ {best defender strategy}``) is explored next;
   * *harmless* if ``ĝ + r ≤ tol``; a candidate whose every deviation
     outside its support is harmless is **confirmed**;
   * otherwise *ambiguous*: **adaptive seeds** double the samples of the
     profiles that make up most (90 %) of ``r``, up to ``max_samples_per_profile``;
     at that cap the point estimate decides (``ĝ > tol``: refuted, else the
     candidate is **accepted**, i.e. not confirmed at the stated confidence).

5. While some candidate still gets more samples, no new subgame is explored
   (the candidates at hand are settled first).
   Repeat until no candidate is refuted or ambiguous-and-samplable, or the
   budget (distinct profiles, samples) is spent; a step's requests go to the
   source as one batch (one list), so an executor can run them in parallel.

The search runs on the full game (``N`` attackers) or on its
deviation-preserving reduction (``dpr=k``): it then searches the ``k``-player
reduced game, and measures the full-game profiles each reduced profile reads
(:func:`gametheory.dpr.dpr_attacker_profile`,
:func:`~gametheory.dpr.dpr_defender_profiles`).

**Resuming.** The search keeps no state beyond the source's data: every
decision is a function of the samples returned so far, of which it uses only
the first ``n`` it asked for (a cache holding more changes nothing), so a
source whose cache already holds cells answers the same requests from the
cache, and a new search re-derives the old one's state without measuring
anything again. A plain source that serves fewer samples than asked is used
as it is (no further seeds are asked of it).

**What it guarantees** (see also ``docs/search.md``). With
``interval="hoeffding"``, payoffs in ``payoff_range`` and i.i.d. samples per
profile, the radii hold simultaneously, for every profile, role and sample
size the search could use, with probability ``≥ 1 − δ`` (a union bound fixed
in advance, :func:`gametheory.sampling.union_delta`; this is the uniform
approximation argument of [AV20]_ and the progressive-sampling schedule of
[CMAG23]_). On that event, for every returned candidate:

* its true regret *in the searched game* (the full game, or the DPR-reduced
  game with ``dpr``) is at most its ``regret_bound`` (deviations to every
  strategy, inside and outside the support);
* a *confirmed* candidate's true gain from every deviation *outside its
  support* is at most ``tol``; within its support its true regret is at most
  ``regret_bound``, which is at most about ``2 max ε`` above its empirical
  regret (≈ 0: it is an exact equilibrium of the empirical subgame).

It does *not* guarantee that every equilibrium is found (only those of the
explored subgames that the solvers reach), nor anything for candidates that
are merely *accepted*, nor, with ``dpr``, anything about the full game beyond
what DPR's approximation gives. With ``interval="t"`` (the default, since
Hoeffding needs hundreds of seeds per profile to be informative) the same
statements hold only approximately (normal noise).

References
----------
.. [JSW10] P. R. Jordan, L. J. Schvartzman and M. P. Wellman, "Strategy
   exploration in empirical games", AAMAS 2010.
.. [Wel16] M. P. Wellman, "Putting the agent in agent-based modeling",
   AAMAS 2016; and "Methods for empirical game-theoretic analysis", AAAI 2006.
.. [AV20] E. Areyan Viqueira, C. Cousins, E. Upfal and A. Greenwald, "Learning equilibria of
   simulation-based games", arXiv:1905.13379.
.. [CMAG23] C. Cousins, B. Mishra, E. Areyan Viqueira and A. Greenwald, "Learning properties in
   simulation-based games", AAMAS 2023, arXiv:2208.06400.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .count_profiles import num_profiles
from .deviations import Key, deviation_gains, dpr_reads, subgame_profiles
from .dpr import check_dpr
from .sampling import as_sample_source, confidence_radius, sample_values, union_delta
from .search_config import SearchConfig
from .search_results import STATUSES, Candidate, SearchResult
from .sources import Payoffs
from .symmetric import RoleSymmetricGame
from .symmetric_dynamics import Regret
from .symmetric_table import DEFENDER_ROLE, Profile

__all__ = ["SearchConfig", "Candidate", "SearchResult", "equilibrium_search"]

#: A subgame equilibrium's probabilities below this are dropped (a near-pure point becomes pure).
DROP_BELOW = 1e-3
#: Share of a gain's radius whose profiles get more samples when it is ambiguous.
RADIUS_SHARE = 0.9


# =========================================================================== the search
class _Search:
    """State of one search: the data held, the subgames explored, the batches asked (module docstring)."""

    def __init__(self, source: Any, attackers: Sequence[str], defenders: Sequence[str], n_attackers: int,
                 config: SearchConfig):
        self.source = as_sample_source(source)
        self.cfg = config
        self.game0 = RoleSymmetricGame(attackers, defenders, n_attackers)  # validates the names and N
        self.A, self.D, self.N = self.game0.attacker_strategies, self.game0.defender_strategies, n_attackers
        self.n = check_dpr(n_attackers, config.dpr) if config.dpr is not None else n_attackers
        self.K = len(self.A)
        n_tests = num_profiles(self.N, self.K) * len(self.D) * (self.K + 1) * config.max_samples_per_profile
        self.delta = union_delta(config.delta, n_tests)
        self.data: dict[Profile, Payoffs] = {}
        self.asked: dict[Profile, int] = {}
        self.missing: dict[Profile, str] = {}
        self.stats: dict[Key, tuple[float, float]] = {}
        self.steps: list[list[tuple[Profile, int]]] = []
        self.explored: list[tuple[tuple[int, ...], tuple[str, ...]]] = [
            ((s,), (d,)) for s in range(self.K) for d in self.D
        ]
        self.queue: list[tuple[tuple[int, ...], tuple[str, ...]]] = []
        self.exhausted = False
        self._solved: dict[tuple, list] = {}

    # ------------------------------------------------------------------ data
    def reads(self, profile: Profile) -> dict[str, list[tuple[Profile, float]]]:
        return dpr_reads(profile, self.N, self.A)

    def full_profiles(self, view_profiles: Sequence[Profile]) -> list[Profile]:
        out: dict[Profile, None] = {}
        for vp in view_profiles:
            for pairs in self.reads(vp).values():
                out.update((p, None) for p, _ in pairs)
        return list(out)

    def stat(self, key: Key) -> tuple[float, float] | None:
        """(mean, radius) of a full (profile, role); None if not held."""
        return self.stats.get(key)

    def view_stat(self, vp: Profile, role: str) -> tuple[float, float] | None:
        mean = radius = 0.0
        for p, w in self.reads(vp)[role]:
            s = self.stat((p, role))
            if s is None:
                return None
            mean, radius = mean + w * s[0], radius + abs(w) * s[1]
        return mean, radius

    def _ingest(self, profile: Profile, record: Payoffs) -> None:
        self.data[profile] = record
        cap = min(self.cfg.max_samples_per_profile, self.asked[profile])
        for role in record.roles:
            values = sample_values(record, role, cap)
            self.stats[(profile, role)] = (float(values.mean()), confidence_radius(
                values, self.delta, self.cfg.interval, self.cfg.payoff_range))

    def held(self, profile: Profile) -> int:
        record = self.data.get(profile)
        if record is None:
            return 0
        return min(len(sample_values(record, DEFENDER_ROLE)), self.asked[profile])

    def measure(self, requests: dict[Profile, int]) -> bool:
        """Ask the source for one batch (within the budget); False if nothing could be asked."""
        batch = [(p, n) for p, n in requests.items() if self.asked.get(p, 0) < n and p not in self.missing]
        batch = self._within_budget(batch)
        if not batch:
            return False
        self.steps.append(batch)
        answer = self.source.sample(batch)
        for p, n in batch:
            self.asked[p] = max(self.asked.get(p, 0), n)
            if p in answer:  # only the first `asked` samples count, so that a fuller cache changes nothing
                self._ingest(p, answer[p])
            elif p not in self.data:
                self.missing[p] = getattr(self.source, "missing", {}).get(p, "the source did not serve it")
        return True

    def _within_budget(self, batch: list[tuple[Profile, int]]) -> list[tuple[Profile, int]]:
        cfg, kept = self.cfg, []
        profiles, samples = len(self.data), sum(self.held(p) for p in self.data)
        for p, n in batch:
            new_p = int(p not in self.data)
            new_s = max(0, n - self.held(p))
            if (cfg.max_profiles is not None and profiles + new_p > cfg.max_profiles) or (
                    cfg.max_samples is not None and samples + new_s > cfg.max_samples):
                self.exhausted = True
                continue
            kept.append((p, n))
            profiles, samples = profiles + new_p, samples + new_s
        return kept

    # ------------------------------------------------------------------ subgames
    def subgame_profiles(self, sub: tuple[tuple[int, ...], tuple[str, ...]]) -> list[Profile]:
        return subgame_profiles(self.n, sub[0], sub[1], self.K)

    def complete(self, sub) -> bool:
        return all(self.view_stat(vp, r) is not None for vp in self.subgame_profiles(sub) for r in self.reads(vp))

    def solve(self, sub) -> list[tuple[np.ndarray, np.ndarray]]:
        """Equilibria of a complete subgame's empirical means, embedded in the whole game."""
        vps = self.subgame_profiles(sub)
        version = (sub, tuple(self.held(p) for p in self.full_profiles(vps)))
        if version not in self._solved:
            S, T = sub
            names = tuple(self.A[i] for i in S)
            game = RoleSymmetricGame(names, T, self.n)
            for counts, d in vps:
                roles = {r: self.view_stat((counts, d), r)[0] for r in self.reads((counts, d))}
                sub_counts = tuple(counts[i] for i in S)
                game.set_payoffs((sub_counts, d), {r: v for r, v in roles.items() if r != DEFENDER_ROLE},
                                 roles[DEFENDER_ROLE])
            found = []
            for method in self.cfg.solvers:
                found += game.find_equilibria(method=method, n_random=0, steps=self.cfg.solver_steps, tol=1e-6)
            out: list[tuple[np.ndarray, np.ndarray]] = []
            for eq in found:
                sigma = np.zeros(self.K)
                sigma[list(S)] = eq.sigma
                tau = np.array([eq.tau[T.index(d)] if d in T else 0.0 for d in self.D])
                sigma, tau = _rounded(sigma), _rounded(tau)
                if not any(np.abs(sigma - s).max() < 1e-4 and np.abs(tau - t).max() < 1e-4 for s, t in out):
                    out.append((sigma, tau))
            self._solved[version] = out
        return self._solved[version]

    def frontier(self) -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
        """Complete explored subgames not inside a larger complete explored one."""
        done = [s for s in self.explored if self.complete(s)]
        return [a for a in done if not any(a != b and _inside(a, b) for b in done)]

    # ------------------------------------------------------------------ candidates
    def gains(self, sigma: np.ndarray, tau: np.ndarray) -> dict[str, dict[Key, float]]:
        """:func:`deviation_gains` with the view's profiles expanded into the full profiles they read."""
        key = (sigma.tobytes(), tau.tobytes())
        if key not in self._solved:
            out = {}
            for name, weights in deviation_gains(self.n, sigma, tau, self.A, self.D).items():
                full: dict[Key, float] = {}
                for (vp, role), w in weights.items():
                    for p, w2 in self.reads(vp)[role]:
                        full[(p, role)] = full.get((p, role), 0.0) + w * w2
                out[name] = full
            self._solved[key] = out  # type: ignore[assignment]
        return self._solved[key]  # type: ignore[return-value]

    def candidates(self) -> list[tuple[tuple, np.ndarray, np.ndarray]]:
        out: list[tuple[tuple, np.ndarray, np.ndarray]] = []
        for sub in self.frontier():
            for sigma, tau in self.solve(sub):
                if not any(np.abs(sigma - s).max() < 1e-4 and np.abs(tau - t).max() < 1e-4 for _, s, t in out):
                    out.append((sub, sigma, tau))
        return out

    def judge(self, sub, sigma: np.ndarray, tau: np.ndarray) -> tuple[Candidate, list, dict[Profile, int]]:
        """The candidate with its status, the subgames it points to, and the samples it asks for."""
        tol, estimates = self.cfg.tol, {}
        for name, weights in self.gains(sigma, tau).items():
            stats = [self.stat(k) for k in weights]
            if any(s is None for s in stats):
                estimates[name] = (math.nan, math.inf)
                continue
            est = sum(w * s[0] for w, s in zip(weights.values(), stats))
            estimates[name] = (float(est), float(sum(abs(w) * s[1] for w, s in zip(weights.values(), stats) if w)))
        outside = [g for g in estimates if not self._inside_support(g, sigma, tau)]
        unknown = [g for g in outside if math.isnan(estimates[g][0])]
        beneficial = [g for g in outside if estimates[g][0] - estimates[g][1] > tol]
        ambiguous = [g for g in outside if g not in beneficial and g not in unknown and sum(estimates[g]) > tol]
        raises = {} if beneficial or unknown else self._raises(sigma, tau, ambiguous)
        if beneficial:
            status, pointing = "refuted", beneficial
        elif unknown or raises:
            status, pointing = "unconfirmed", []
        else:
            pointing = [g for g in ambiguous if estimates[g][0] > tol]
            status = "refuted" if pointing else ("accepted" if ambiguous else "confirmed")
        cand = self._candidate(sub, sigma, tau, status, estimates)
        return cand, self._pointed(sub, pointing, estimates), raises

    def _inside_support(self, gain: str, sigma: np.ndarray, tau: np.ndarray) -> bool:
        role, name = gain.split(":", 1)
        return bool(sigma[self.A.index(name)] > 0) if role == "attacker" else bool(tau[self.D.index(name)] > 0)

    def _raises(self, sigma, tau, ambiguous: list[str]) -> dict[Profile, int]:
        """More samples for the profiles making up most of each ambiguous gain's radius."""
        cap, out = self.cfg.max_samples_per_profile, {}
        for g in ambiguous:
            share: dict[Profile, float] = {}
            for (p, role), w in self.gains(sigma, tau)[g].items():
                if w:
                    share[p] = share.get(p, 0.0) + abs(w) * self.stat((p, role))[1]
            total, acc = sum(share.values()), 0.0
            for p, r in sorted(share.items(), key=lambda x: -x[1]):
                if acc >= RADIUS_SHARE * total:
                    break
                acc += r
                n = self.asked.get(p, 0)
                if n < cap and self.held(p) >= n:
                    out[p] = max(out.get(p, 0), min(cap, 2 * max(n, 1)))
        return out

    def _pointed(self, sub, pointing: list[str], estimates) -> list:
        """Subgames ``supp ∪ {best deviation}``, one per role that has a deviation in ``pointing``."""
        S, T = sub
        out = []
        for role in ("attacker", "defender"):
            mine = [g for g in pointing if g.startswith(role + ":")]
            if not mine:
                continue
            best = max(mine, key=lambda g: estimates[g][0]).split(":", 1)[1]
            if role == "attacker":
                out.append((tuple(sorted(set(S) | {self.A.index(best)})), T))
            else:
                out.append((S, tuple(d for d in self.D if d in set(T) | {best})))
        return out

    def _candidate(self, sub, sigma, tau, status: str, estimates) -> Candidate:
        def worst(role: str, bound: bool) -> float:
            vals = [e + (r if bound else 0.0) for g, (e, r) in estimates.items() if g.startswith(role)]
            return math.inf if any(math.isnan(v) for v in vals) else max(0.0, *vals)

        return Candidate(
            sigma=sigma, tau=tau, attacker_strategies=self.A, defender_strategies=self.D,
            subgame=(tuple(self.A[i] for i in sub[0]), tuple(sub[1])), status=status,
            regret=Regret(worst("attacker", False), worst("defender", False)),
            regret_bound=max(worst("attacker", True), worst("defender", True)), gains=estimates,
        )

    # ------------------------------------------------------------------ the loop
    def run(self) -> SearchResult:
        n0 = self.cfg.initial_samples
        self.measure({p: n0 for s in self.explored for p in self.full_profiles(self.subgame_profiles(s))})
        for _ in range(self.cfg.max_rounds):
            cands = self.candidates()
            need = {p: n0 for _, s, t in cands for g in self.gains(s, t).values() for p, _ in g
                    if p not in self.data and p not in self.missing}
            if need and self.measure(need):
                continue
            requests: dict[Profile, int] = {}
            settled = False
            for sub, sigma, tau in cands:
                cand, pointed, raises = self.judge(sub, sigma, tau)
                settled |= cand.status in ("confirmed", "accepted")
                self.queue += [s for s in pointed if s not in self.queue]
                for p, n in raises.items():
                    requests[p] = max(requests.get(p, 0), n)
            grown = False
            if not requests and not (settled and self.cfg.stop_at_first):  # settle the candidates first
                for new in self._next_subgames():
                    grown = True
                    self.explored.append(new)
                    requests.update({p: n0 for p in self.full_profiles(self.subgame_profiles(new))
                                     if p not in self.data})
            if not self.measure(requests) and not grown:
                break
        return self.result()

    def _next_subgames(self) -> list:
        """Pop the queued subgames not inside an explored one, the smallest (fewest profiles) first."""
        self.queue = [q for q in self.queue if not any(_inside(q, old) for old in self.explored)]
        if not self.queue:
            return []
        size = {q: len(self.subgame_profiles(q)) for q in self.queue}
        smallest = min(size.values())
        out = [q for q in self.queue if size[q] == smallest]
        self.queue = [q for q in self.queue if size[q] != smallest]
        return out

    def result(self) -> SearchResult:
        judged = [self.judge(sub, s, t)[0] for sub, s, t in self.candidates()]
        judged.sort(key=lambda c: (STATUSES.index(c.status), c.regret_bound, c.regret.max))
        game = RoleSymmetricGame(self.A, self.D, self.n)
        for vp in dict.fromkeys(p for s in self.explored for p in self.subgame_profiles(s)) | dict.fromkeys(
                vp for c in judged for g in deviation_gains(self.n, c.sigma, c.tau, self.A, self.D).values()
                for vp, _ in g):
            roles = {r: self.view_stat(vp, r) for r in self.reads(vp)}
            if all(v is not None for v in roles.values()):
                game.set_payoffs(vp, {r: v[0] for r, v in roles.items() if r != DEFENDER_ROLE},
                                 roles[DEFENDER_ROLE][0])
        return SearchResult(
            equilibria=[c for c in judged if c.status in ("confirmed", "accepted")], candidates=judged,
            explored=[(tuple(self.A[i] for i in S), tuple(T)) for S, T in self.explored],
            measured={p: self.held(p) for p in self.data}, missing=dict(self.missing), steps=self.steps,
            budget_exhausted=self.exhausted, config=self.cfg, game=game,
        )


def _rounded(x: np.ndarray) -> np.ndarray:
    """Probabilities below :data:`DROP_BELOW` set to 0, the rest renormalised."""
    x = np.where(x < DROP_BELOW, 0.0, x)
    return x / x.sum()


def _inside(a, b) -> bool:
    return set(a[0]) <= set(b[0]) and set(a[1]) <= set(b[1])


def equilibrium_search(
    source: Any,
    attacker_strategies: Sequence[str],
    defender_strategies: Sequence[str],
    n_attackers: int,
    config: SearchConfig | None = None,
    **options: Any,
) -> SearchResult:
    """Adaptive subgame-and-deviation equilibrium search with adaptive seeds (module docstring).

    ``source``: a :class:`~gametheory.sampling.SampleSource` (``sample(requests)``)
    or a plain :class:`~gametheory.sources.PayoffSource` (served as it is).
    Profiles are ``(counts, defender)`` of the full game (``N`` attackers).
    ``config`` or keyword ``options`` set the :class:`SearchConfig`.
    """
    if config is None:
        config = SearchConfig(**options)
    elif options:
        raise ValueError(f"give either config or options, not both (got {sorted(options)})")
    return _Search(source, attacker_strategies, defender_strategies, n_attackers, config).run()
