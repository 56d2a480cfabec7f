"""The result cache's SQLite file: one connection per thread, opened lazily, and a fresh one in a child
after ``fork``; sqlite3 errors turned into one-line :class:`~oracle.store.cache_schema.CacheError`
naming the file; write transactions that are all or nothing.

:class:`~oracle.store.cache.ResultCache` holds one :class:`CacheFile` and says *what* is stored; this
module says *how* the file is reached (see the cache's "Processes and threads"). Opening a file checks it
and brings its tables to the current schema (:mod:`oracle.store.cache_schema`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oracle.store.cache_schema import CacheError, check_file, prepare
from strategies.validate import check_real

__all__ = ["CacheFile"]

log = logging.getLogger(__name__)


# Cache files open in this process, so that a forked child can forget the parent's
# connections (and locks) before it touches them.
_INSTANCES: "weakref.WeakSet[CacheFile]" = weakref.WeakSet()
# Connections inherited across fork: never used, never closed (closing them in
# the child could disturb the parent's transaction), just kept alive.
_INHERITED: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    for file in list(_INSTANCES):
        file.forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class CacheFile:
    """The SQLite file at ``path`` (absolute), shared by the threads and forked processes of one cache.

    ``timeout``: seconds to wait for another process's write lock; ``readonly``: open an existing file
    for reading only (:meth:`write` then fails). Opens the file now, so that a bad file fails here.
    """

    def __init__(self, path: Path, *, timeout: float, readonly: bool) -> None:
        self.timeout = check_real("timeout", timeout, 0, None, low_open=True)
        self.path = path
        self.readonly = bool(readonly)
        self._closed = False
        self.forget_connections()
        _INSTANCES.add(self)
        self.connection()

    def forget_connections(self) -> None:
        """Drop this process's view of connections (at init, and in a forked child)."""
        old = getattr(self, "_connections", [])
        _INHERITED.extend(conn for pid, conn in old if pid != os.getpid())
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []

    def connection(self) -> sqlite3.Connection:
        if self._closed:
            raise CacheError(f"the result cache {self.path} is closed")
        pid = os.getpid()
        held = getattr(self._local, "conn", None)
        if held is not None and held[0] == pid:
            return held[1]
        conn = self._open()
        self._local.conn = (pid, conn)
        with self._lock:
            self._connections.append((pid, conn))
        return conn

    def _open(self) -> sqlite3.Connection:
        path = self.path
        check_file(path, self.readonly)
        if not self.readonly:
            return self._connect(str(path), uri=False)
        try:
            return self._connect(path.as_uri() + "?mode=ro", uri=True)
        except CacheError as first:
            if not isinstance(first.__cause__, sqlite3.OperationalError):
                raise
            # A WAL file in a folder we cannot write to: SQLite cannot create the
            # shared-memory file, so read it as immutable (nobody can write there).
            try:
                conn = self._connect(path.as_uri() + "?mode=ro&immutable=1", uri=True)
            except CacheError:
                raise first from first.__cause__
            log.info("%s: opened as immutable (its folder is not writable)", path)
            return conn

    def _connect(self, target: str, *, uri: bool) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(target, uri=uri, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as e:
            raise self._error(e, "opening") from e
        try:
            with self.sql("opening", conn):
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                prepare(conn, self.path, self.readonly)
        except BaseException:
            conn.close()
            raise
        return conn

    def _error(self, e: sqlite3.Error, what: str) -> CacheError:
        message = str(e)
        if isinstance(e, sqlite3.OperationalError):
            low = message.lower()
            if "locked" in low or "busy" in low:
                return CacheError(f"the result cache {self.path} stayed locked by another process for "
                                  f"{self.timeout:g} s while {what}; try again, or raise the timeout")
            if "readonly" in low or "read-only" in low or "unable to open" in low or "disk i/o" in low:
                hint = ("the file must be readable" if self.readonly else
                        "the file and its folder must be writable; open with readonly=True to only read")
                return CacheError(f"cannot use the result cache {self.path} for {what}: {message} ({hint})")
            return CacheError(f"the result cache {self.path}: {what} failed: {message}")
        if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
            return CacheError(f"{self.path} is not a backfire result cache: {message}")
        return CacheError(f"the result cache {self.path}: {what} failed: {message}")

    @contextmanager
    def sql(self, what: str, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """Run SQL, turning sqlite3 errors into :class:`CacheError` naming the file."""
        try:
            yield conn if conn is not None else self.connection()
        except sqlite3.Error as e:
            raise self._error(e, what) from e

    @contextmanager
    def write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): all or nothing."""
        if self.readonly:
            raise CacheError(f"the result cache {self.path} is open read-only; cannot {what}")
        with self.sql(what) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connections. The file cannot be used afterwards."""
        self._closed = True
        with self._lock:
            mine = [c for pid, c in self._connections if pid == os.getpid()]
            self._connections = []
        self._local = threading.local()
        for conn in mine:
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover - closing is best effort
                pass
