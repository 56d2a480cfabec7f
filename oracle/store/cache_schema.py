"""The result cache's file format: the tables, the schema versions, the checks that a file is a backfire
cache this code reads, and the conversion of older files (:class:`oracle.store.cache.ResultCache` opens
files through :func:`prepare`).

Schema versions: 1 had no ``data_versions``; opening a version-1 file for
writing adds the table and fills it from the profiles already stored
(their environments carry the fingerprint), in one transaction; a
read-only open derives the same rows on the fly. Keys and rows are
unchanged, so version-1 readers still read the file.

The ``meta`` table names the application, the file's ``schema_version`` and the oldest schema whose
readers still read it (``min_reader_version``): a file written by a newer, incompatible backfire is
refused with one line that says so, never misread.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path

from oracle.store.keys import data_key, split_fingerprint

__all__ = ["APPLICATION", "DATA_VERSIONS_TABLE", "MIN_READER_VERSION", "OLDEST_CONVERTIBLE", "SCHEMA_VERSION",
           "SQLITE_MAGIC", "TABLES", "CacheError", "check_file", "check_meta", "convert", "derived_versions",
           "prepare", "tables"]

log = logging.getLogger("oracle.store.cache")

#: Version of the table layout written by this module. Bump it when the layout
#: changes; set ``MIN_READER_VERSION`` to the oldest layout version whose
#: readers can still use files written by this one (additive changes keep it).
SCHEMA_VERSION = 2
MIN_READER_VERSION = 1
#: The oldest layout this module converts (adds what is missing, in place).
OLDEST_CONVERTIBLE = 1
#: What the ``meta`` table names as the application.
APPLICATION = "backfire result cache"

#: The first bytes of every SQLite file.
SQLITE_MAGIC = b"SQLite format 3\x00"

#: The tables of schema version 1 (``meta``, ``outcomes`` and its index, ``claims``).
TABLES = (
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE outcomes (
        key            TEXT PRIMARY KEY,
        cell_key       TEXT NOT NULL,
        seed           INTEGER NOT NULL,
        profile_json   TEXT NOT NULL,
        outcome_json   TEXT NOT NULL,
        created_at     REAL NOT NULL,
        oracle_version TEXT,
        device         TEXT,
        seconds        REAL
    )""",
    "CREATE INDEX outcomes_cell ON outcomes (cell_key, seed)",
    """CREATE TABLE claims (
        key        TEXT PRIMARY KEY,
        worker     TEXT NOT NULL,
        expires_at REAL NOT NULL,
        claimed_at REAL NOT NULL,
        host       TEXT,
        pid        INTEGER
    )""",
)
#: Added by schema version 2 (module docstring).
DATA_VERSIONS_TABLE = """CREATE TABLE IF NOT EXISTS data_versions (
        data_key    TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        description TEXT,
        source      TEXT,
        recorded_at REAL NOT NULL,
        PRIMARY KEY (data_key, fingerprint)
    )"""


class CacheError(ValueError):
    """A cache file that cannot be used: not a backfire cache, a newer schema,
    unreadable or unwritable, locked for too long, or closed."""


def check_file(path: Path, readonly: bool) -> None:
    """Before opening ``path``: CacheError unless it is an SQLite file, or absent (then, for writing, its
    folder is created)."""
    if path.exists() and not path.is_file():
        raise CacheError(f"{path} is not a backfire result cache: not a regular file")
    if path.is_file():
        try:
            with open(path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as e:
            raise CacheError(f"cannot read the result cache {path}: {e}") from e
        if head and head != SQLITE_MAGIC:
            raise CacheError(f"{path} is not a backfire result cache: not an SQLite database "
                             f"(it starts with {head!r})")
    elif readonly:
        raise CacheError(f"the result cache {path} does not exist")
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CacheError(f"cannot create the folder of the result cache {path}: {e}") from e


def prepare(conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
    """Check (or create) the tables; switch to WAL. Never alters a foreign file."""
    found = tables(conn)
    version = SCHEMA_VERSION
    if found:
        version = check_meta(conn, found, path)
    elif readonly:
        raise CacheError(f"{path} is not a backfire result cache: it is an empty SQLite file")
    if readonly:
        return
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        log.warning("%s: SQLite refused WAL journal mode (got %r); concurrent fillers will wait more", path, mode)
    conn.execute("PRAGMA synchronous = FULL")
    if not found:
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = tables(conn)
            if not found:  # nobody created them while we waited for the lock
                for statement in (*TABLES, DATA_VERSIONS_TABLE):
                    conn.execute(statement)
                conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                    ("application", APPLICATION),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("min_reader_version", str(MIN_READER_VERSION)),
                    ("created_at", repr(time.time())),
                ])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if found:
            version = check_meta(conn, found, path)
    if version < SCHEMA_VERSION:
        convert(conn, path)


def convert(conn: sqlite3.Connection, path: Path) -> None:
    """Schema 1 -> 2: add ``data_versions``, filled from the stored profiles (module docstring)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if int(meta["schema_version"]) < SCHEMA_VERSION:  # nobody converted it while we waited
            conn.execute(DATA_VERSIONS_TABLE)
            conn.executemany("INSERT OR IGNORE INTO data_versions VALUES (?, ?, ?, ?, ?)", derived_versions(conn))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    log.info("%s: converted to cache schema version %d (data fingerprints recorded)", path, SCHEMA_VERSION)


def tables(conn: sqlite3.Connection) -> set[str]:
    """The names of the tables in the file."""
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def check_meta(conn: sqlite3.Connection, names: set[str], path: Path) -> int:
    """The schema version of a file with tables ``names``; CacheError unless it is a backfire cache
    that this schema reads (module docstring)."""
    if "meta" not in names:
        raise CacheError(f"{path} is not a backfire result cache: an SQLite database without "
                         f"backfire's 'meta' table (its tables: {', '.join(sorted(names))})")
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError as e:
        raise CacheError(f"{path} is not a backfire result cache: unreadable 'meta' table ({e})") from e
    if meta.get("application") != APPLICATION:
        raise CacheError(f"{path} is not a backfire result cache: its 'meta' table names "
                         f"application {meta.get('application')!r}")
    try:
        version = int(meta["schema_version"])
        min_reader = int(meta.get("min_reader_version", version))
    except (KeyError, TypeError, ValueError) as e:
        raise CacheError(f"{path} is not a backfire result cache: bad schema version in its "
                         f"'meta' table ({meta.get('schema_version')!r})") from e
    if min_reader > SCHEMA_VERSION:
        raise CacheError(
            f"the result cache {path} was written by a newer backfire: cache schema version "
            f"{version} (readable by schema {min_reader} and later), but this backfire reads schema "
            f"version {SCHEMA_VERSION}; upgrade backfire, or use another cache file")
    if version < OLDEST_CONVERTIBLE:
        raise CacheError(
            f"the result cache {path} has the old cache schema version {version}, and this "
            f"backfire (schema version {SCHEMA_VERSION}) cannot convert it; use another cache file")
    missing = {"outcomes", "claims"} - names
    if missing:
        raise CacheError(f"{path} is not a backfire result cache: missing tables {', '.join(sorted(missing))}")
    return version


def derived_versions(conn: sqlite3.Connection) -> list[tuple[str, str, str | None, None, float]]:
    """``data_versions`` rows derived from the stored profiles (for files of schema 1): one per
    (data description, fingerprint), described by what its outcomes name, dated by the latest."""
    found: dict[tuple[str, str], tuple[str | None, float]] = {}
    for profile_json, outcome_json, created_at in conn.execute(
            "SELECT profile_json, outcome_json, created_at FROM outcomes ORDER BY rowid"):
        environment = json.loads(profile_json).get("environment")
        if not isinstance(environment, dict):
            continue
        description, fingerprint = split_fingerprint(environment)
        if not isinstance(fingerprint, str):
            continue
        what = json.loads(outcome_json).get("extra", {}).get("dataset") or description.get("dataset") \
            or description.get("task")
        key = (data_key(description), fingerprint)
        found[key] = (None if what is None else str(what), max(created_at, found.get(key, (None, 0.0))[1]))
    return [(k, fp, what, None, when) for (k, fp), (what, when) in found.items()]
