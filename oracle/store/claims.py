"""Claims on result-cache keys, so that two fillers of one file never train the same cell twice: the
protocol, the claim record, and when a claim is live (:meth:`oracle.store.cache.ResultCache.claim`,
``release``, ``claims`` and ``wait`` run it on the file).

Claims: two fillers on one file
-------------------------------
So that two processes (or threads) filling the same file never train the same
cell twice, a filler *claims* a key before training it::

    worker = default_worker_id()
    pending = []
    for key in keys:
        if key in cache:
            continue                      # done earlier: nothing to train
        if not cache.claim(key, worker):  # stored meanwhile, or another
            pending.append(key)           # filler is training it: come back later
            continue
        try:
            outcome = train(key)
        except BaseException:
            cache.release(key, worker)    # let someone else have it
            raise
        cache.put(key, outcome, cell_key=..., seed=..., profile=...)  # also drops the claim
    for key in pending:                   # wait for the other filler's result
        outcome = cache.wait(key)
        if outcome is None and cache.claim(key, worker):
            ...                           # the other filler gave up or died: train it here

:meth:`ResultCache.claim` runs inside ``BEGIN IMMEDIATE`` (one writer at a
time), so exactly one of several simultaneous claimers wins. It succeeds only
when the result is not stored and no *live* claim by another worker exists.
A claim is live until its lease (``lease_seconds``, default one hour) expires
or, on the same host, until the process that made it has exited; so the
claims of a filler killed with SIGKILL do not block a re-run on the same
machine. A worker renews its lease by claiming again. A lease shorter than
the training time lets a second worker take the cell over and train it too;
the cache then keeps the first result stored (never a corruption, only
wasted work). The clock is each process's wall clock: fillers on different
hosts (one file on a shared disk, which SQLite supports poorly anyway) must
have synchronised clocks.
"""

from __future__ import annotations

import os
import socket
from typing import NamedTuple

__all__ = ["DEFAULT_LEASE_SECONDS", "DEFAULT_POLL_SECONDS", "HOST", "Claim", "claim_live", "default_worker_id",
           "pid_alive"]

#: Default lease of a claim: a cell's training should finish well within it.
DEFAULT_LEASE_SECONDS = 3600.0
#: How often :meth:`ResultCache.wait` looks again.
DEFAULT_POLL_SECONDS = 1.0

#: This machine's name, recorded with each claim.
HOST = socket.gethostname()


class Claim(NamedTuple):
    """A worker's claim on a key (see the module's claim protocol)."""

    key: str
    worker: str
    expires_at: float
    claimed_at: float
    host: str | None
    pid: int | None
    live: bool


def default_worker_id() -> str:
    """A worker name unique to this process: ``host:pid:random``."""
    return f"{HOST}:{os.getpid()}:{os.urandom(4).hex()}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host may still be running (True when unsure)."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: exists, belongs to someone else
        return True
    return True


def claim_live(worker_expires_host_pid: tuple[str, float, str | None, int | None], now: float) -> bool:
    """Whether a claim ``(worker, expires_at, host, pid)`` still holds at time ``now``: its lease has not
    expired and, on this host, the process that made it is alive."""
    _, expires_at, host, pid = worker_expires_host_pid
    if expires_at <= now:
        return False
    if host == HOST and pid is not None and pid != os.getpid() and not pid_alive(pid):
        return False
    return True
