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
numpy only; never torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .sources import MappingSource, Payoffs
from .symmetric import RoleSymmetricGame

__all__ = ["FORMAT", "symmetric_game_to_dict", "symmetric_game_from_dict", "write_symmetric_game",
           "read_symmetric_game"]

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
    game = RoleSymmetricGame(attackers, defenders, n, source=MappingSource(records))
    for profile in records:
        game.payoffs(profile)  # validates each record and holds it in the game's table
    return game, dict(data.get("meta", {}))


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
