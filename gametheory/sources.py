"""The payoff-source protocol: how a game asks for the payoffs of one profile.

A *payoff source* is anything that, given a profile, returns the payoffs of
that profile or says that they have not been measured. The cache and the
oracle both satisfy it, so a game can be solved from the cache alone, or filled
lazily: only the cells a solver or a user asks for are computed.

Profiles are plain hashable values:

* in a two-player normal-form game, ``(attacker_label, defender_label)``;
* in a role-symmetric game, ``(counts, defender_label)`` where ``counts`` is a
  tuple with the number of attackers playing each attacker strategy.

A source returns a :class:`Payoffs` record, or raises :class:`MissingPayoff`.
This module is numpy-only; it never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Mapping, Protocol, runtime_checkable

__all__ = ["MissingPayoff", "Payoffs", "PayoffSource", "MappingSource"]


class MissingPayoff(LookupError):
    """Raised by a payoff source for a profile it has no payoffs for."""

    def __init__(self, profile: Hashable, reason: str = "not measured"):
        self.profile = profile
        self.reason = reason
        super().__init__(f"no payoffs for profile {profile!r}: {reason}")


@dataclass(frozen=True)
class Payoffs:
    """Payoffs of one profile.

    ``roles`` maps a role name to its mean payoff. For a normal-form profile
    the roles are ``"attacker"`` and ``"defender"``; for a role-symmetric
    profile they are the names of the attacker strategies that are played
    (each the payoff of one attacker playing it) and ``"defender"``.
    ``samples`` optionally holds, per role, the per-seed values behind the
    mean (a tuple, in seed order), and ``seeds`` the seeds they came from.
    """

    roles: Mapping[str, float]
    samples: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()

    def __getitem__(self, role: str) -> float:
        return self.roles[role]


@runtime_checkable
class PayoffSource(Protocol):
    """Anything that returns the payoffs of a profile or raises ``MissingPayoff``."""

    def payoffs(self, profile: Hashable) -> Payoffs:  # pragma: no cover - protocol
        ...


class MappingSource:
    """A payoff source backed by a plain ``{profile: Payoffs}`` mapping."""

    def __init__(self, table: Mapping[Hashable, Payoffs]):
        self._table = dict(table)

    def payoffs(self, profile: Hashable) -> Payoffs:
        try:
            return self._table[profile]
        except KeyError:
            raise MissingPayoff(profile) from None

    def __contains__(self, profile: Hashable) -> bool:
        return profile in self._table

    def __len__(self) -> int:
        return len(self._table)
