"""The payoff table of a role-symmetric game: count profiles, their payoffs, a lazy source.

A **profile** of ``N`` interchangeable attackers (``K`` strategies) and one
defender (``D`` strategies) is ``(counts, defender)``: ``counts`` is a tuple
of ``K`` non-negative integers summing to ``N`` (how many attackers play each
strategy) and ``defender`` the defender's strategy name; it is the
role-symmetric profile form of :mod:`gametheory.sources`. There are
``C(N+K-1, K-1) · D`` profiles. Its payoffs are a
:class:`~gametheory.sources.Payoffs` whose ``roles`` map every attacker
strategy *played* in it (count > 0) to the payoff of **one** attacker playing
it, and ``"defender"`` to the defender's payoff. Payoffs may be missing for
profiles not yet measured: a table keeps its own records and, when given a
:class:`~gametheory.sources.PayoffSource`, asks it lazily for the profiles a
computation needs, memoising what it returns.

:class:`RoleSymmetricTable` holds exactly that, its long
:class:`pandas.DataFrame` form, and the payoffs of the profiles inside a
support (the count vectors a mixture with that support can draw, gathered
once per support with their log multinomial coefficients);
:class:`~gametheory.symmetric.RoleSymmetricGame` adds mixtures, regrets and
equilibria on top of it.

This module uses numpy and pandas only.
"""

from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from .arguments import check_int, check_names, is_integral
from .count_profiles import log_coefficients, multinomial_profiles, num_profiles, plus_index, profile_index
from .sources import MissingPayoff, Payoffs, PayoffSource

__all__ = ["COUNT_PREFIX", "DEFENDER_ROLE", "PAYOFF_PREFIX", "Profile", "RoleSymmetricTable"]

Profile = tuple[tuple[int, ...], str]
"""``(counts, defender)``: attackers per attacker strategy, and the defender's strategy."""

#: Role name of the defender's payoff in a :class:`Payoffs` record.
DEFENDER_ROLE = "defender"
#: Prefix of the per-strategy count columns in :meth:`RoleSymmetricTable.to_dataframe`.
COUNT_PREFIX = "count:"
#: Prefix of the payoff columns in :meth:`RoleSymmetricTable.to_dataframe`.
PAYOFF_PREFIX = "payoff:"


class RoleSymmetricTable:
    """Payoffs of the profiles of N interchangeable attackers (K strategies) and one defender (D strategies).

    Parameters
    ----------
    attacker_strategies, defender_strategies:
        Unique, non-empty strategy names; an attacker strategy may not be
        called ``"defender"`` (the defender's role name in :class:`Payoffs`).
    n_attackers:
        ``N ≥ 1``.
    source:
        Optional :class:`~gametheory.sources.PayoffSource` (or a plain callable
        ``profile -> Payoffs``) asked, lazily, for profiles missing from the
        table's own records; what it returns is validated and memoised.

    The table is itself a payoff source (:meth:`payoffs`). Besides the
    records it keeps dense arrays of them over all profiles (allocated on
    first vectorised use) and a memo of values derived from them, cleared
    whenever a record changes.
    """

    def __init__(
        self,
        attacker_strategies: Sequence[str],
        defender_strategies: Sequence[str],
        n_attackers: int,
        source: PayoffSource | None = None,
    ):
        self._attackers = check_names("attacker_strategies", attacker_strategies)
        if DEFENDER_ROLE in self._attackers:
            raise ValueError(f"attacker_strategies may not contain {DEFENDER_ROLE!r} (the defender's role name)")
        self._defenders = check_names("defender_strategies", defender_strategies)
        self._n = check_int("n_attackers", n_attackers, 1)
        if source is not None and not isinstance(source, PayoffSource) and not callable(source):
            raise ValueError(f"source must have a payoffs(profile) method or be callable, got {type(source).__name__}")
        self._source = source
        self._a_pos = {s: i for i, s in enumerate(self._attackers)}
        self._d_pos = {d: i for i, d in enumerate(self._defenders)}
        self._table: dict[Profile, Payoffs] = {}
        # Dense mirrors of the table over all profiles, allocated on first vectorised use.
        self._U: np.ndarray | None = None  # (M, K, D) attacker payoff per strategy, NaN if unplayed/unknown
        self._V: np.ndarray | None = None  # (M, D) defender payoff
        self._known: np.ndarray | None = None  # (M, D) bool
        # Values derived from the records (payoffs gathered per support pattern, the regret objective),
        # for repeated evaluation by RoleSymmetricGame; cleared whenever a record changes.
        self._memo: dict[tuple, Any] = {}

    # ------------------------------------------------------------------ basics
    @property
    def attacker_strategies(self) -> tuple[str, ...]:
        return self._attackers

    @property
    def defender_strategies(self) -> tuple[str, ...]:
        return self._defenders

    @property
    def n_attackers(self) -> int:
        return self._n

    @property
    def source(self) -> PayoffSource | None:
        return self._source

    @property
    def num_profiles(self) -> int:
        """``C(N+K-1, K-1) · D``."""
        return num_profiles(self._n, len(self._attackers)) * len(self._defenders)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(attackers={list(self._attackers)}, defender={list(self._defenders)}, "
            f"n_attackers={self._n}, known={len(self._table)}/{self.num_profiles})"
        )

    def check_profile(self, profile: Hashable) -> Profile:
        """``profile`` in normal form ``(tuple of int counts, defender name)``; ``ValueError`` if invalid."""
        try:
            counts, defender = profile  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"profile must be a pair (counts, defender), got {profile!r}") from None
        try:
            arr = np.asarray(counts)
        except Exception:  # pragma: no cover - defensive
            raise ValueError(f"profile counts must be integers, got {counts!r}") from None
        K = len(self._attackers)
        if arr.shape != (K,) or not (np.issubdtype(arr.dtype, np.integer) or is_integral(arr)):
            raise ValueError(f"profile counts must be {K} integers (one per attacker strategy), got {counts!r}")
        arr = arr.astype(np.int64)
        if (arr < 0).any() or int(arr.sum()) != self._n:
            raise ValueError(
                f"profile counts must be non-negative and sum to n_attackers={self._n}, got {arr.tolist()}"
            )
        if defender not in self._d_pos:
            raise ValueError(f"profile defender must be one of {list(self._defenders)}, got {defender!r}")
        return tuple(int(x) for x in arr), str(defender)

    def all_profiles(self) -> list[Profile]:
        """Every profile: count vectors in :func:`multinomial_profiles` order, each with every defender strategy."""
        return [
            (tuple(int(x) for x in row), d)
            for row in multinomial_profiles(self._n, len(self._attackers))
            for d in self._defenders
        ]

    def known_profiles(self) -> list[Profile]:
        """Profiles with payoffs in the game's own table (measured, set or memoised), in :meth:`all_profiles` order."""
        return sorted(self._table, key=self._order_key)

    def missing_profiles(self) -> list[Profile]:
        """Profiles not in the game's own table (the source is not asked), in :meth:`all_profiles` order."""
        return [p for p in self.all_profiles() if p not in self._table]

    def __contains__(self, profile: Hashable) -> bool:
        try:
            return self.check_profile(profile) in self._table
        except ValueError:
            return False

    def _order_key(self, profile: Profile) -> tuple:
        return tuple(-c for c in profile[0]), self._d_pos[profile[1]]

    # ------------------------------------------------------------------ payoffs
    def set_payoffs(self, profile: Hashable, attacker: Mapping[str, float], defender: float) -> None:
        """Store a profile's payoffs (overwriting): ``attacker`` maps each played strategy to one attacker's payoff."""
        key = self.check_profile(profile)
        roles = dict(attacker)
        if DEFENDER_ROLE in roles:
            raise ValueError(f"attacker payoffs may not contain {DEFENDER_ROLE!r}; pass the defender's as `defender`")
        roles[DEFENDER_ROLE] = defender
        self._store(key, self._check_record(key, Payoffs(roles=roles)))

    def payoffs(self, profile: Hashable) -> Payoffs:
        """The :class:`PayoffSource` protocol: the table's record, else the source's (memoised), else ``MissingPayoff``."""
        key = self.check_profile(profile)
        record = self._table.get(key)
        if record is not None:
            return record
        if self._source is None:
            raise MissingPayoff(key, "not in the game's table and the game has no source")
        fetch = self._source.payoffs if hasattr(self._source, "payoffs") else self._source
        record = self._check_record(key, fetch(key))
        self._store(key, record)
        return record

    def fill(self) -> list[Profile]:
        """Ask the source for every profile not in the table; return those still missing."""
        missing = []
        for profile in self.missing_profiles():
            try:
                self.payoffs(profile)
            except MissingPayoff:
                missing.append(profile)
        return missing

    def _check_record(self, key: Profile, record: Any) -> Payoffs:
        if isinstance(record, Mapping):
            record = Payoffs(roles=dict(record))
        if not isinstance(record, Payoffs):
            raise ValueError(f"payoffs for {key!r} must be a Payoffs record, got {type(record).__name__}")
        counts = key[0]
        played = {s for s, c in zip(self._attackers, counts) if c > 0}
        expected = played | {DEFENDER_ROLE}
        got = set(record.roles)
        if got != expected:
            raise ValueError(
                f"payoffs for {key!r} must have exactly the roles {sorted(expected)} (played strategies and "
                f"{DEFENDER_ROLE!r}); missing {sorted(expected - got)}, unexpected {sorted(got - expected)}"
            )
        roles = {}
        for role in sorted(expected, key=lambda r: self._a_pos.get(r, len(self._attackers))):
            value = record.roles[role]
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"payoff of {role!r} in {key!r} must be a number, got {value!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"payoff of {role!r} in {key!r} must be finite, got {value!r}")
            roles[role] = value
        return Payoffs(roles=roles, samples=dict(record.samples), seeds=tuple(record.seeds))

    def _store(self, key: Profile, record: Payoffs) -> None:
        self._table[key] = record
        self._memo.clear()
        if self._U is not None:
            self._write_dense(key, record)

    def _write_dense(self, key: Profile, record: Payoffs) -> None:
        assert self._U is not None and self._V is not None and self._known is not None
        m = int(profile_index(self._n, len(self._attackers)).find(np.array(key[0])))
        d = self._d_pos[key[1]]
        self._U[m, :, d] = np.nan
        for role, value in record.roles.items():
            if role == DEFENDER_ROLE:
                self._V[m, d] = value
            else:
                self._U[m, self._a_pos[role], d] = value
        self._known[m, d] = True

    def _dense(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._U is None:
            M = len(profile_index(self._n, len(self._attackers)))
            K, D = len(self._attackers), len(self._defenders)
            self._U = np.full((M, K, D), np.nan)
            self._V = np.full((M, D), np.nan)
            self._known = np.zeros((M, D), dtype=bool)
            for key, record in self._table.items():
                self._write_dense(key, record)
        assert self._V is not None and self._known is not None
        return self._U, self._V, self._known

    def _profile_at(self, m: int, d: int) -> Profile:
        row = profile_index(self._n, len(self._attackers)).counts[m]
        return tuple(int(x) for x in row), self._defenders[d]

    def _ensure(self, m: np.ndarray, d: np.ndarray) -> None:
        """Make every (profile row, defender index) pair known, asking the source; else ``MissingPayoff``."""
        _, _, known = self._dense()
        m, d = np.broadcast_arrays(np.asarray(m), np.asarray(d))
        lack = ~known[m, d]
        if not lack.any():
            return
        pairs = np.unique(np.column_stack([m[lack], d[lack]]), axis=0)
        if self._source is None:
            first = self._profile_at(*pairs[0])
            raise MissingPayoff(
                first,
                f"not in the game's table and the game has no source; {len(pairs)} profile(s) needed here "
                f"are missing (list them with missing_for / missing_profiles)",
            )
        for mm, dd in pairs:
            self.payoffs(self._profile_at(int(mm), int(dd)))

    def _ensure_all(self) -> None:
        _, _, known = self._dense()
        m, d = np.nonzero(~known)
        self._ensure(m, d)

    # ------------------------------------------------------------------ payoffs by support
    def _needed_rows(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows of N-1 others in supp σ, their full rows + e_s (R, K), rows of N in supp σ)."""
        K = len(self._attackers)
        support = sigma > 0
        others = profile_index(self._n - 1, K).support_rows(support)
        plus = plus_index(self._n - 1, K)[others]
        full = profile_index(self._n, K).support_rows(support)
        return others, plus, full

    def _required_pairs(self, sigma: np.ndarray, tau: np.ndarray) -> np.ndarray:
        _, plus, full = self._needed_rows(sigma)
        ds = np.flatnonzero(tau > 0)
        D = len(self._defenders)
        a = np.column_stack([np.repeat(plus.ravel(), len(ds)), np.tile(ds, plus.size)])
        b = np.column_stack([np.repeat(full, D), np.tile(np.arange(D), len(full))])
        return np.unique(np.concatenate([a, b]), axis=0)

    def _gather_attacker(self, support: np.ndarray, ds: np.ndarray) -> tuple:
        """For others' counts c in supp σ (N-1 attackers): (c, log coefficients, u_s(c+e_s, d) as (R, K, |ds|), ds, range)."""
        key = ("attacker", support.tobytes(), ds.tobytes())
        if key not in self._memo:
            K = len(self._attackers)
            others = profile_index(self._n - 1, K).support_rows(support)
            plus = plus_index(self._n - 1, K)[others]
            self._ensure(plus[:, :, None], ds[None, None, :])
            U, _, _ = self._dense()
            vals = U[plus[:, :, None], np.arange(K)[None, :, None], ds[None, None, :]]
            counts = profile_index(self._n - 1, K).counts[others]
            coef = log_coefficients(self._n - 1, counts)
            self._memo[key] = (counts, coef, vals, ds, float(vals.max() - vals.min()))
        return self._memo[key]

    def _gather_defender(self, support: np.ndarray) -> tuple:
        """For counts c in supp σ (N attackers): (c, log coefficients, v(c, d) as (R, D), all d, range)."""
        key = ("defender", support.tobytes())
        if key not in self._memo:
            K, D = len(self._attackers), len(self._defenders)
            full = profile_index(self._n, K).support_rows(support)
            self._ensure(full[:, None], np.arange(D)[None, :])
            _, V, _ = self._dense()
            vals = V[full]
            counts = profile_index(self._n, K).counts[full]
            coef = log_coefficients(self._n, counts)
            self._memo[key] = (counts, coef, vals, np.arange(D), float(vals.max() - vals.min()))
        return self._memo[key]

    # ------------------------------------------------------------------ pandas
    def to_dataframe(self) -> pd.DataFrame:
        """The known profiles, one row each, in :meth:`all_profiles` order.

        Columns: ``count:<s>`` per attacker strategy, ``defender``,
        ``payoff:<s>`` per attacker strategy (NaN where the count is 0), and
        ``payoff:defender``.
        """
        rows = []
        for counts, d in self.known_profiles():
            record = self._table[(counts, d)]
            row: dict[str, Any] = {f"{COUNT_PREFIX}{s}": c for s, c in zip(self._attackers, counts)}
            row[DEFENDER_ROLE] = d
            for s in self._attackers:
                row[f"{PAYOFF_PREFIX}{s}"] = record.roles.get(s, np.nan)
            row[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"] = record.roles[DEFENDER_ROLE]
            rows.append(row)
        columns = (
            [f"{COUNT_PREFIX}{s}" for s in self._attackers]
            + [DEFENDER_ROLE]
            + [f"{PAYOFF_PREFIX}{s}" for s in self._attackers]
            + [f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"]
        )
        df = pd.DataFrame(rows, columns=columns)
        for s in self._attackers:
            df[f"{COUNT_PREFIX}{s}"] = df[f"{COUNT_PREFIX}{s}"].astype("int64")
            df[f"{PAYOFF_PREFIX}{s}"] = df[f"{PAYOFF_PREFIX}{s}"].astype(float)
        df[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"] = df[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"].astype(float)
        return df

    @classmethod
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        n_attackers: int | None = None,
        defender_strategies: Sequence[str] | None = None,
        source: PayoffSource | None = None,
    ) -> RoleSymmetricTable:
        """A table (a game, when called on :class:`~gametheory.symmetric.RoleSymmetricGame`) from the long
        format of :meth:`to_dataframe`.

        Attacker strategies are the ``count:<s>`` columns, in column order.
        ``n_attackers`` defaults to the (common) row sum of the counts;
        ``defender_strategies`` to the ``defender`` values in order of first
        appearance. Each row must have a finite ``payoff:<s>`` for every
        strategy it plays (and may have NaN elsewhere).
        """
        attackers = [c[len(COUNT_PREFIX):] for c in df.columns if str(c).startswith(COUNT_PREFIX)]
        if not attackers:
            raise ValueError(f"dataframe must have {COUNT_PREFIX}<strategy> columns, got {list(df.columns)}")
        needed = [DEFENDER_ROLE, f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"] + [f"{PAYOFF_PREFIX}{s}" for s in attackers]
        absent = [c for c in needed if c not in df.columns]
        if absent:
            raise ValueError(f"dataframe lacks columns {absent}")
        extra = [
            c for c in df.columns
            if str(c).startswith(PAYOFF_PREFIX) and c[len(PAYOFF_PREFIX):] not in set(attackers) | {DEFENDER_ROLE}
        ]
        if extra:
            raise ValueError(f"dataframe has payoff columns {extra} with no matching {COUNT_PREFIX} column")
        count_cols = [f"{COUNT_PREFIX}{s}" for s in attackers]
        counts = df[count_cols].to_numpy()
        if counts.size and (not is_integral(counts) or (counts < 0).any()):
            raise ValueError("dataframe count columns must hold non-negative integers")
        counts = counts.astype(np.int64)
        if n_attackers is None:
            sums = np.unique(counts.sum(axis=1))
            if len(sums) != 1:
                raise ValueError(
                    f"n_attackers must be given (the dataframe is empty or its rows sum to {sums.tolist()})"
                )
            n_attackers = int(sums[0])
        if defender_strategies is None:
            defender_strategies = list(dict.fromkeys(str(d) for d in df[DEFENDER_ROLE]))
        game = cls(attackers, defender_strategies, n_attackers, source=source)
        payoff_cols = [f"{PAYOFF_PREFIX}{s}" for s in attackers]
        values = df[payoff_cols].to_numpy(dtype=float)
        for i, (row, d, dv) in enumerate(zip(counts, df[DEFENDER_ROLE], df[f"{PAYOFF_PREFIX}{DEFENDER_ROLE}"])):
            attacker = {s: values[i, j] for j, s in enumerate(attackers) if row[j] > 0}
            game.set_payoffs((tuple(int(x) for x in row), str(d)), attacker, dv)
        return game

