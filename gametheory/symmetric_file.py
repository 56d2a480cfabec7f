"""A measured role-symmetric game as a JSON file: its profiles' per-seed payoffs and where they came from.

A fill measures a game where each attacker chooses once; the file keeps what
it measured so that the game can be solved, plotted and shared without the
oracle, the dataset or torch (the example notebooks read one)::

    {
      "format": "backfire-symmetric-game/1",
      "attacker_strategies": ["keep 0.15", "escalate 0.55"],
      "defender_strategies": ["SmallCNN"],
      "n_attackers": 10,
      "meta": {"spec": "<the spec's TOML>", "commit": "…", "hardware": "…", "date": "…", …},
      "profiles": [
        {"counts": [10, 0], "defender": "SmallCNN", "seeds": [3407, 3408],
         "samples": {"keep 0.15": [0.41, 0.39], "defender": [0.59, 0.61]}},
        …
      ]
    }

``samples`` holds, per role of the profile (each *played* attacker strategy:
the mean payoff of the attackers playing it; and ``"defender"``), one value
per seed, in the order of ``seeds``; the profile's payoff is their mean.
A second, per-attacker form is what ``backfire table SPEC`` writes for such
a game (:mod:`oracle.export`): one row per profile, seed and attacker with
``count:<strategy>`` columns (the profile), ``defender`` (its defender
strategy), ``seed``, ``attacker_index``, ``strategy`` (what attacker i plays)
and ``attack_success``; :func:`symmetric_records_from_rows` aggregates it by
the oracle's rule (:class:`oracle.payoff_oracle.SymmetricSource`): per seed,
strategy s's payoff is the mean attack success of the attackers playing it,
the defender's is 1 − the mean over all N attackers. :func:`read_symmetric_table`
reads either form, and the one-row-per-profile form of
:meth:`RoleSymmetricGame.to_dataframe`, from a file.

numpy only; never torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from .parsing import decode
from .per_attacker import MARKER
from .payoff_rules import DATA_POISONING, attack_rate
from .sources import MappingSource, Payoffs
from .symmetric import RoleSymmetricGame
from .symmetric_table import COUNT_PREFIX, DEFENDER_ROLE

__all__ = ["FORMAT", "MeasuredGame", "RecordSampler", "is_symmetric_table", "outcome_role_payoffs", "symmetric_game_to_dict",
           "symmetric_game_from_dict", "symmetric_records_from_rows", "write_symmetric_game",
           "read_symmetric_game", "read_symmetric_table"]

FORMAT = "backfire-symmetric-game/1"


def symmetric_game_to_dict(game: RoleSymmetricGame, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The known profiles of ``game`` (with their per-seed samples, when held) and ``meta``, as JSON data."""
    profiles = []
    for counts, d in game.known_profiles():
        record = game.payoffs((counts, d))
        samples = {r: [float(v) for v in (record.samples.get(r) or (record.roles[r],))] for r in record.roles}
        profiles.append({"counts": list(counts), "defender": d, "seeds": list(record.seeds), "samples": samples})
    return {"format": FORMAT, "attacker_strategies": list(game.attacker_strategies),
            "defender_strategies": list(game.defender_strategies), "n_attackers": game.n_attackers,
            "meta": dict(meta or {}), "profiles": profiles}


def symmetric_game_from_dict(data: Mapping[str, Any], where: str = "<data>") -> tuple[RoleSymmetricGame, dict]:
    """The game (every profile of the file known, per-seed samples kept) and the file's ``meta``."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ValueError(f"{where}: not a measured role-symmetric game (expected \"format\": \"{FORMAT}\")")
    try:
        attackers, defenders = data["attacker_strategies"], data["defender_strategies"]
        n = data["n_attackers"]
        records = {}
        for p in data["profiles"]:
            samples = {r: tuple(float(v) for v in vs) for r, vs in p["samples"].items()}
            roles = {r: float(np.mean(vs)) for r, vs in samples.items()}
            records[(tuple(int(c) for c in p["counts"]), p["defender"])] = Payoffs(
                roles=roles, samples=samples, seeds=tuple(int(s) for s in p.get("seeds", ())))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: malformed measured game ({type(exc).__name__}: {exc})") from None
    return _holding(attackers, defenders, n, records), dict(data.get("meta", {}))


def write_symmetric_game(path: str | Path, game: RoleSymmetricGame, meta: Mapping[str, Any] | None = None) -> None:
    """Write :func:`symmetric_game_to_dict` to ``path`` (indented JSON)."""
    Path(path).write_text(json.dumps(symmetric_game_to_dict(game, meta), indent=1) + "\n", encoding="utf-8")


def read_symmetric_game(path: str | Path) -> tuple[RoleSymmetricGame, dict]:
    """A game written by :func:`write_symmetric_game`, and its ``meta``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON ({exc})") from None
    return symmetric_game_from_dict(data, where=str(path))


@dataclass
class MeasuredGame:
    """A measured role-symmetric game read from a file: the full game holding every measured profile
    (per-seed samples kept), the seeds in their order of first appearance, and the file's ``meta``."""

    game: RoleSymmetricGame
    seeds: tuple[int, ...]
    meta: dict[str, Any]

    @property
    def records(self) -> dict[tuple, Payoffs]:
        return {p: self.game.payoffs(p) for p in self.game.known_profiles()}


class RecordSampler:
    """A :class:`~gametheory.sampling.SampleSource` over measured per-seed samples, measuring nothing.

    A request ``(profile, n)`` is served with the samples of the first
    ``min(n, len(seeds))`` of ``seeds`` when the profile holds all of them
    (the means taken over exactly those, in that order, as the oracle's
    sampler does from its cache); otherwise the profile is left out and
    :attr:`missing` says why.
    """

    def __init__(self, records: Mapping[tuple, Payoffs], seeds: Sequence[int]):
        self.records, self.seeds = dict(records), tuple(seeds)
        self.missing: dict[Hashable, str] = {}

    def sample(self, requests: Sequence[tuple[Hashable, int]]) -> dict[Hashable, Payoffs]:
        out: dict[Hashable, Payoffs] = {}
        for profile, n in requests:
            if not self.seeds and profile in self.records:  # one value per profile, no seeds
                out[profile] = self.records[profile]
                continue
            want = self.seeds[:max(1, min(n, len(self.seeds)))]
            record = self.records.get(profile)
            have = tuple(record.seeds) if record is not None else ()
            if record is None or have[:len(want)] != want:
                self.missing[profile] = f"not measured with seeds {list(want)}"
                continue
            samples = {r: tuple(v[:len(want)]) for r, v in record.samples.items()}
            out[profile] = Payoffs(roles={r: float(np.mean(v)) for r, v in samples.items()}, samples=samples,
                                   seeds=want)
        return out


def outcome_role_payoffs(strategies: Sequence[str], counts: Sequence[int], asr: Sequence[float]) -> dict[str, float]:
    """Each role's payoff from one outcome of profile ``counts`` (attacker i's attack success ``asr[i]``),
    by the data-poisoning rule (:data:`gametheory.payoff_rules.DATA_POISONING`, its NaN policy included).

    Attackers ``0 … c_1−1`` play ``strategies[0]``, the next ``c_2`` the second, …;
    ``u_s = mean_{i plays s, measured} asr_i`` for each played ``s`` and ``v = 1 − u_all``,
    as ``oracle.payoff_oracle.SymmetricSource`` reads the cache.
    """
    asr = np.asarray(asr, dtype=float)
    bounds = np.cumsum([0, *counts])
    out = {s: attack_rate(asr[lo:hi]) for s, lo, hi in zip(strategies, bounds[:-1], bounds[1:]) if hi > lo}
    out[DEFENDER_ROLE] = DATA_POISONING.defender_from(asr)
    return out


def _number(value: Any, where: str, column: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}, column '{column}': {value!r} is not a number") from None
    return out


def symmetric_records_from_rows(rows: Sequence[Mapping[str, Any]], where: str = "rows") -> MeasuredGame:
    """The measured game of per-attacker rows (module docstring); rows of one profile and seed in
    ``attacker_index`` order give attackers ``0 … c_1−1`` the first strategy, and so on.

    Raises ``ValueError`` naming the place at fault (a missing column, a non-number, an attacker index
    repeated or absent, a row whose ``strategy`` is not the one its index plays in the profile).
    """
    if not rows:
        raise ValueError(f"{where}: no payoff rows")
    strategies = [c[len(COUNT_PREFIX):] for c in rows[0] if str(c).startswith(COUNT_PREFIX)]
    needed = [f"{COUNT_PREFIX}{s}" for s in strategies] + [DEFENDER_ROLE, "seed", "attacker_index", MARKER]
    outcomes: dict[tuple, dict[int, float]] = {}
    for k, row in enumerate(rows):
        place = f"{where}, row {k + 1}"
        absent = [c for c in needed if c not in row]
        if absent:
            raise ValueError(f"{place} lacks column(s) {', '.join(absent)}")
        counts = tuple(int(_number(row[f"{COUNT_PREFIX}{s}"], place, f"{COUNT_PREFIX}{s}")) for s in strategies)
        index = int(_number(row["attacker_index"], place, "attacker_index"))
        seed = int(_number(row["seed"], place, "seed"))
        played = np.repeat(np.arange(len(strategies)), counts)
        if not 0 <= index < len(played):
            raise ValueError(f"{place}: attacker_index {index} is outside 0 … {len(played) - 1} of profile {counts}")
        if "strategy" in row and str(row["strategy"]) != strategies[played[index]]:
            raise ValueError(f"{place}: attacker {index} of profile {counts} plays {strategies[played[index]]!r}, "
                             f"not {row['strategy']!r}")
        group = outcomes.setdefault((counts, str(row[DEFENDER_ROLE]), seed), {})
        if index in group:
            raise ValueError(f"{place}: attacker_index {index} repeated in profile {counts}, seed {seed}")
        group[index] = _number(row[MARKER], place, MARKER)
    per_profile: dict[tuple, dict[str, list[float]]] = {}
    seeds_of: dict[tuple, list[int]] = {}
    for (counts, d, seed), group in outcomes.items():
        if sorted(group) != list(range(sum(counts))):
            raise ValueError(f"{where}: profile {counts} × {d!r}, seed {seed}: attacker rows {sorted(group)} are "
                             f"not 0 … {sum(counts) - 1}")
        roles = per_profile.setdefault((counts, d), {})
        for r, v in outcome_role_payoffs(strategies, counts, [group[i] for i in range(sum(counts))]).items():
            roles.setdefault(r, []).append(v)
        seeds_of.setdefault((counts, d), []).append(seed)
    records = {p: Payoffs(roles={r: float(np.mean(v)) for r, v in roles.items()},
                          samples={r: tuple(v) for r, v in roles.items()}, seeds=tuple(seeds_of[p]))
               for p, roles in per_profile.items()}
    n = {sum(c) for c, _ in records}
    if len(n) != 1:
        raise ValueError(f"{where}: profiles of different sizes N = {sorted(n)}")
    defenders = list(dict.fromkeys(d for _, d in records))
    seeds = tuple(dict.fromkeys(s for _, _, s in outcomes))
    return MeasuredGame(_holding(strategies, defenders, n.pop(), records), seeds, {})


def _holding(attackers, defenders, n: int, records: Mapping[tuple, Payoffs]) -> RoleSymmetricGame:
    game = RoleSymmetricGame(attackers, defenders, n, source=MappingSource(records))
    for profile in records:
        game.payoffs(profile)  # validates each record and holds it in the game's table
    return game


def is_symmetric_table(path: str | Path) -> bool:
    """Whether a .csv/.json payoff file holds a role-symmetric game (``count:<strategy>`` columns, or the
    measured-game format)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        text = decode(path.read_bytes(), str(path), ValueError)
    except (OSError, ValueError):
        return False  # unreadable, or not text: the usual reader says why, in one line
    if path.suffix.lower() == ".csv":
        header = next((l for l in text.splitlines() if l.strip() and not l.startswith("#")), "")
        return any(c.strip().strip('"').startswith(COUNT_PREFIX) for c in header.split(","))
    return f'"{COUNT_PREFIX}' in text[:8192] or f'"{FORMAT}"' in text[:8192]


def read_symmetric_table(path: str | Path) -> MeasuredGame:
    """A role-symmetric payoff file: ``backfire table``'s per-attacker CSV/JSON, the one-row-per-profile
    form of :meth:`RoleSymmetricGame.to_dataframe` (no seeds: one sample each), or :data:`FORMAT`."""
    import pandas as pd

    path = Path(path)
    meta: dict[str, Any] = {}
    if path.suffix.lower() == ".csv":
        rows = pd.read_csv(path, comment="#").to_dict("records")
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON ({exc})") from None
        if isinstance(data, Mapping) and data.get("format") == FORMAT:
            game, meta = symmetric_game_from_dict(data, where=str(path))
            seeds = tuple(dict.fromkeys(s for p in game.known_profiles() for s in game.payoffs(p).seeds))
            return MeasuredGame(game, seeds, meta)
        rows = data.get("rows", []) if isinstance(data, Mapping) else data
        meta = dict(data.get("meta", {})) if isinstance(data, Mapping) else {}
    if rows and "game" in rows[0]:
        meta.setdefault("game", str(rows[0]["game"]))
    if rows and MARKER in rows[0]:
        measured = symmetric_records_from_rows(rows, where=str(path))
        measured.meta = meta
        return measured
    game = RoleSymmetricGame.from_dataframe(pd.DataFrame(rows))
    return MeasuredGame(game, (), meta)
