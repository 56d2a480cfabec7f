"""The result cache: every oracle outcome, stored once, in one SQLite file.

Each row of the cache is one :class:`~oracle.store.outcome.Outcome` (one profile, one
seed), stored under a *content key*: a hash over everything that changes the
result (environment, each role's strategy, N, seed, training preset, oracle
version). The caller computes the key (:func:`oracle.store.keys.content_key` is a helper for
it); the cache never guesses. Rows also carry

- ``cell_key``: the key of the same profile without the seed, so all seeds of
  one payoff-table cell can be listed (:meth:`ResultCache.seeds`,
  :meth:`ResultCache.outcomes`);
- ``profile_json``: the canonical JSON of the profile that produced the key,
  so ``backfire status`` can list cells without recomputing anything
  (:meth:`ResultCache.cells`);
- the outcome as JSON text (per-attacker metrics, timings, device and library
  versions), plus ``oracle_version``, ``device`` and total ``seconds`` as
  columns for quick queries.

Beside the outcomes, the table ``data_versions`` records, per data
description (:func:`oracle.store.keys.data_key`: an environment without its
data fingerprint), each content fingerprint a fill has measured, with what
the data was and where it was read from (:meth:`ResultCache.record_data`,
:meth:`ResultCache.data_versions`). Keys hold the fingerprint, so cells
measured on other data are kept apart; the table lets a reader compute the
keys of an environment's cells without reading its data.

The file format (tables, schema versions, the conversion of older files) is
:mod:`oracle.store.cache_schema`; the claim protocol that keeps two fillers of
one file from training the same cell twice is :mod:`oracle.store.claims`
(:meth:`ResultCache.claim`, :meth:`ResultCache.release`, :meth:`ResultCache.wait`).

File and path
-------------
One file, ``results.sqlite``, in ``$BACKFIRE_CACHE`` if set, else
``$XDG_CACHE_HOME/backfire``, else ``~/.cache/backfire``
(:func:`default_cache_path`); any other path may be given. Nothing is pickled:
results are JSON text in SQLite tables, safe to receive from someone else.
The file is in WAL mode; copy it only when no process has it open (SQLite
then folds the ``-wal`` file back in), or use ``sqlite3 results.sqlite
".backup copy.sqlite"``.

Nothing is lost
---------------
Writing a result (:meth:`ResultCache.put`) is one transaction: a fill that is
interrupted (Ctrl-C, SIGKILL, power cut) keeps every result whose ``put``
returned, and the file stays consistent. A key that is already stored is
never overwritten: the first result is kept and ``put`` returns False.

Processes and threads
---------------------
sqlite3 connections are not shared: a :class:`ResultCache` opens one
connection per thread, lazily, and opens a fresh one in a child after
``fork``, so the cache object can be handed to worker threads and processes
(a 'spawn' child receives the path and options, never a connection): :mod:`oracle.store.cache_file`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from oracle.store.cache_file import CacheFile
from oracle.store.cache_schema import SCHEMA_VERSION, CacheError, derived_versions, tables
from oracle.store.claims import DEFAULT_LEASE_SECONDS, DEFAULT_POLL_SECONDS, HOST, Claim, claim_live, default_worker_id
from oracle.store.keys import as_seed, canonical_json
from oracle.store.outcome import Outcome
from strategies.validate import check_real, check_str

__all__ = [
    "CACHE_FILENAME",
    "ENV_CACHE",
    "SCHEMA_VERSION",
    "CacheError",
    "Cell",
    "Claim",
    "DataVersion",
    "Record",
    "ResultCache",
    "default_cache_path",
    "default_worker_id",
]

log = logging.getLogger(__name__)

#: Environment variable naming the cache folder (shared with ``oracle.data.datasets``).
ENV_CACHE = "BACKFIRE_CACHE"
#: File name of the result cache inside the cache folder.
CACHE_FILENAME = "results.sqlite"

class Cell(NamedTuple):
    """One payoff-table cell in the cache: its key, profile and number of seeds stored."""

    cell_key: str
    profile: dict[str, Any]
    n_seeds: int


class DataVersion(NamedTuple):
    """One content fingerprint recorded for a data description: what the data was, where it was read
    from (None when derived from cells stored before schema 2), when a fill last measured it."""

    data_key: str
    fingerprint: str
    description: str | None
    source: str | None
    recorded_at: float


class Record(NamedTuple):
    """One stored row: the outcome with everything stored beside it."""

    key: str
    cell_key: str
    seed: int
    profile: dict[str, Any]
    outcome: Outcome
    created_at: float
    oracle_version: str | None
    device: str | None
    seconds: float | None


# --------------------------------------------------------------------- helpers


def default_cache_path() -> Path:
    """``$BACKFIRE_CACHE/results.sqlite``, else ``$XDG_CACHE_HOME/backfire/results.sqlite``,
    else ``~/.cache/backfire/results.sqlite``. Nothing is created here."""
    folder = os.environ.get(ENV_CACHE)
    if folder:
        return Path(folder).expanduser() / CACHE_FILENAME
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "backfire" / CACHE_FILENAME


# ----------------------------------------------------------------------- cache


class ResultCache:
    """Oracle outcomes in one SQLite file, keyed by content keys.

    ``ResultCache(path)`` opens ``path`` (default :func:`default_cache_path`),
    creating it and its folder if needed; ``timeout`` is how many seconds to
    wait for another process's write lock before failing; ``readonly=True``
    opens an existing file for reading only (``put``, ``claim``, ... then fail).
    Raises :class:`CacheError` for a file that is not a backfire cache, written
    by a newer incompatible schema, or cannot be opened.

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 60.0,
                 readonly: bool = False) -> None:
        path = (Path(path).expanduser() if path is not None else default_cache_path()).absolute()
        #: The SQLite file (connections per thread and process, errors, transactions).
        self.file = CacheFile(path, timeout=timeout, readonly=readonly)
        self.path, self.timeout, self.readonly = path, self.file.timeout, self.file.readonly

    def close(self) -> None:
        """Close this process's connections. The object cannot be used afterwards."""
        self.file.close()

    def __enter__(self) -> "ResultCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # For multiprocessing's 'spawn': send the path and options, never a connection.
        return {"path": str(self.path), "timeout": self.timeout, "readonly": self.readonly}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], timeout=state["timeout"], readonly=state["readonly"])

    def __repr__(self) -> str:
        flags = ", readonly=True" if self.readonly else ""
        return f"ResultCache({str(self.path)!r}{flags})"

    # -- results ------------------------------------------------------------

    def put(self, key: str, outcome: Outcome, *, cell_key: str, seed: int,
            profile: Mapping[str, Any]) -> bool:
        """Store ``outcome`` under ``key`` in one transaction, and drop any claim on ``key``.

        ``cell_key`` is the key of the same profile without the seed; ``seed``
        must equal ``outcome.seed``; ``profile`` is the description that
        produced the key (stored as canonical JSON; its ``oracle_version``
        entry, if any, is also stored as a column). If ``key`` is already
        stored, the first result is kept: nothing is written and False is
        returned. Returns True when this call stored the result.
        """
        check_str("key", key)
        check_str("cell_key", cell_key)
        if not isinstance(outcome, Outcome):
            raise TypeError(f"outcome must be an Outcome, got {type(outcome).__name__}")
        seed = as_seed(seed)
        if seed != outcome.seed:
            raise ValueError(f"seed {seed} differs from the outcome's seed {outcome.seed}")
        if not isinstance(profile, Mapping):
            raise TypeError(f"profile must be a mapping, got {type(profile).__name__}")
        profile_json = canonical_json(profile)
        outcome_json = outcome.to_json()
        version = profile.get("oracle_version")
        device = outcome.environment.get("device")
        row = (key, cell_key, seed, profile_json, outcome_json, time.time(),
               None if version is None else str(version), None if device is None else str(device),
               outcome.seconds)
        with self.file.write(f"storing {key}") as conn:
            stored = conn.execute(
                "INSERT INTO outcomes (key, cell_key, seed, profile_json, outcome_json, created_at,"
                " oracle_version, device, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING", row).rowcount == 1
            conn.execute("DELETE FROM claims WHERE key = ?", (key,))
        if not stored:
            log.info("%s: %s was already stored; kept the first result", self.path, key)
        return stored

    def get(self, key: str) -> Outcome | None:
        """The outcome stored under ``key``, or None."""
        with self.file.sql(f"reading {key}") as conn:
            row = conn.execute("SELECT outcome_json FROM outcomes WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._outcome(row[0], key)

    def record(self, key: str) -> Record | None:
        """Everything stored under ``key`` (outcome, profile, times, device), or None."""
        with self.file.sql(f"reading {key}") as conn:
            row = conn.execute(
                "SELECT key, cell_key, seed, profile_json, outcome_json, created_at, oracle_version,"
                " device, seconds FROM outcomes WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return Record(row[0], row[1], row[2], json.loads(row[3]), self._outcome(row[4], key), *row[5:])

    def _outcome(self, text: str, key: str) -> Outcome:
        try:
            return Outcome.from_json(text)
        except (ValueError, TypeError) as e:
            raise CacheError(f"the result cache {self.path} holds an unreadable outcome under {key}: {e}") from e

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        with self.file.sql(f"looking up {key}") as conn:
            return conn.execute("SELECT 1 FROM outcomes WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        with self.file.sql("counting results") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0])

    def keys(self) -> list[str]:
        """All stored keys, in the order they were stored."""
        with self.file.sql("listing keys") as conn:
            return [row[0] for row in conn.execute("SELECT key FROM outcomes ORDER BY rowid")]

    def seeds(self, cell_key: str) -> list[int]:
        """Seeds stored for one cell, ascending."""
        with self.file.sql(f"listing the seeds of {cell_key}") as conn:
            return [row[0] for row in conn.execute(
                "SELECT seed FROM outcomes WHERE cell_key = ? ORDER BY seed, key", (cell_key,))]

    def outcomes(self, cell_key: str) -> list[Outcome]:
        """Outcomes stored for one cell, in seed order."""
        with self.file.sql(f"reading the outcomes of {cell_key}") as conn:
            rows = conn.execute("SELECT key, outcome_json FROM outcomes WHERE cell_key = ? ORDER BY seed, key",
                                (cell_key,)).fetchall()
        return [self._outcome(text, key) for key, text in rows]

    def cells(self) -> list[Cell]:
        """Every cell with at least one stored seed: (cell_key, profile, n_seeds), in the
        order the cells were first stored."""
        with self.file.sql("listing cells") as conn:
            rows = conn.execute("SELECT cell_key, profile_json, COUNT(*) FROM outcomes"
                                " GROUP BY cell_key ORDER BY MIN(rowid)").fetchall()
        return [Cell(cell_key, json.loads(profile), int(n)) for cell_key, profile, n in rows]

    def delete(self, key: str) -> bool:
        """Remove the result (and any claim) under ``key``; True if a result was removed."""
        with self.file.write(f"deleting {key}") as conn:
            removed = conn.execute("DELETE FROM outcomes WHERE key = ?", (key,)).rowcount > 0
            conn.execute("DELETE FROM claims WHERE key = ?", (key,))
        return removed

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: 'ok', or the problems found."""
        with self.file.sql("checking integrity") as conn:
            return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))

    # -- data fingerprints ---------------------------------------------------

    def record_data(self, data_key: str, fingerprint: str, *, description: str | None = None,
                    source: str | None = None) -> list[DataVersion]:
        """Record that a fill measured ``fingerprint`` for the data description ``data_key`` (now).

        Returns the *other* fingerprints recorded earlier for the same description, newest
        first: cells measured on them are kept apart (their keys differ), never reused.
        """
        check_str("data_key", data_key)
        check_str("fingerprint", fingerprint)
        with self.file.write(f"recording the data of {data_key}") as conn:
            conn.execute("INSERT INTO data_versions (data_key, fingerprint, description, source, recorded_at)"
                         " VALUES (?, ?, ?, ?, ?) ON CONFLICT (data_key, fingerprint) DO UPDATE SET"
                         " recorded_at = excluded.recorded_at, description = excluded.description,"
                         " source = excluded.source", (data_key, fingerprint, description, source, time.time()))
        return [v for v in self.data_versions(data_key) if v.fingerprint != fingerprint]

    def data_versions(self, data_key: str) -> list[DataVersion]:
        """The fingerprints recorded for the data description ``data_key``, the latest fill's first."""
        with self.file.sql(f"reading the data of {data_key}") as conn:
            if "data_versions" in tables(conn):
                rows = conn.execute("SELECT data_key, fingerprint, description, source, recorded_at FROM data_versions"
                                    " WHERE data_key = ?", (data_key,)).fetchall()
            else:  # a schema-1 file opened read-only
                rows = [r for r in derived_versions(conn) if r[0] == data_key]
        return sorted((DataVersion(*r) for r in rows), key=lambda v: (-v.recorded_at, v.fingerprint))

    # -- claims -------------------------------------------------------------

    def claim(self, key: str, worker: str, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> bool:
        """Claim ``key`` for ``worker`` for ``lease_seconds``; True if the caller should train it.

        Atomic (``BEGIN IMMEDIATE``): True only when no result is stored under
        ``key`` and no live claim by another worker exists (an expired claim,
        or one made on this host by a process that has exited, is taken over).
        Claiming a key the worker already holds renews its lease.
        """
        check_str("key", key)
        check_str("worker", worker)
        check_real("lease_seconds", lease_seconds, 0, None, low_open=True)
        with self.file.write(f"claiming {key}") as conn:
            if conn.execute("SELECT 1 FROM outcomes WHERE key = ?", (key,)).fetchone() is not None:
                return False
            now = time.time()
            held = conn.execute("SELECT worker, expires_at, host, pid FROM claims WHERE key = ?", (key,)).fetchone()
            if held is not None and held[0] != worker and claim_live(held, now):
                return False
            conn.execute("INSERT OR REPLACE INTO claims (key, worker, expires_at, claimed_at, host, pid)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (key, worker, now + lease_seconds, now, HOST, os.getpid()))
            if held is not None and held[0] != worker:
                log.info("%s: %s took over %s from %s (claim expired or its process exited)",
                         self.path, worker, key, held[0])
            return True

    def release(self, key: str, worker: str) -> bool:
        """Drop ``worker``'s claim on ``key`` (e.g. when its training failed); True if there was one."""
        with self.file.write(f"releasing {key}") as conn:
            return conn.execute("DELETE FROM claims WHERE key = ? AND worker = ?", (key, worker)).rowcount > 0

    def release_all(self, worker: str) -> int:
        """Drop every claim of ``worker`` (e.g. when a filler stops); the number dropped."""
        with self.file.write(f"releasing the claims of {worker}") as conn:
            return conn.execute("DELETE FROM claims WHERE worker = ?", (worker,)).rowcount

    def claims(self, *, include_dead: bool = False) -> list[Claim]:
        """Claims in the file (live ones only, unless ``include_dead``), oldest first."""
        now = time.time()
        with self.file.sql("listing claims") as conn:
            rows = conn.execute("SELECT key, worker, expires_at, claimed_at, host, pid FROM claims"
                                " ORDER BY claimed_at, key").fetchall()
        found = [Claim(k, w, e, c, h, p, claim_live((w, e, h, p), now)) for k, w, e, c, h, p in rows]
        return found if include_dead else [c for c in found if c.live]

    def wait(self, key: str, *, timeout: float | None = None,
             poll_seconds: float = DEFAULT_POLL_SECONDS) -> Outcome | None:
        """Wait for another worker's result under ``key``.

        Returns the outcome once stored. Returns None when nobody holds a live
        claim on ``key`` any more without having stored it (the claimer gave up,
        died, or its lease expired: the caller may claim it), or after
        ``timeout`` seconds (None: no limit).
        """
        check_real("poll_seconds", poll_seconds, 0, None, low_open=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.file.sql(f"waiting for {key}") as conn:
                row = conn.execute("SELECT outcome_json FROM outcomes WHERE key = ?", (key,)).fetchone()
                held = None if row is not None else conn.execute(
                    "SELECT worker, expires_at, host, pid FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return self._outcome(row[0], key)
            if held is None or not claim_live(held, time.time()):
                # Re-check: the claimer may have stored it between our two reads.
                return self.get(key)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            pause = poll_seconds if deadline is None else min(poll_seconds, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
