"""Progress for long work, in one place: a tqdm bar in a terminal, plain
lines in a log.

Every loop that shows progress (victim training, the cells of a fill,
federated rounds, dataset decoding) asks :func:`progress` for its bar, and
every line printed while bars may be on screen goes through :func:`write`.
Where progress goes (standard error) is a terminal, that is a tqdm bar that
redraws itself in place. Anywhere else (a file, a pipe, CI) it is
:class:`PlainProgress`: no carriage returns, one line at most every
:data:`PLAIN_INTERVAL` seconds, and nothing at all for work that finishes
sooner. ``BACKFIRE_PROGRESS=plain`` or ``=bar`` overrides the choice.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, Iterator

__all__ = ["PLAIN_INTERVAL", "PlainProgress", "interactive", "progress", "write"]

#: Seconds between two plain progress lines of one bar.
PLAIN_INTERVAL = 10.0


def interactive(stream: Any = None) -> bool:
    """Whether progress on ``stream`` (default: standard error) may redraw in
    place: ``BACKFIRE_PROGRESS`` if it says ``bar`` or ``plain``, else
    whether the stream is a terminal."""
    mode = os.environ.get("BACKFIRE_PROGRESS", "").strip().lower()
    if mode in ("bar", "plain"):
        return mode == "bar"
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file
        return False


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
             enabled: bool = True, leave: bool = True, in_logs: bool = True):  # type: ignore[no-untyped-def]
    """A progress bar over ``iterable`` (or one updated by hand up to ``total``).

    Disabled: iterates silently. In a terminal: ``tqdm``, which stays on
    screen when done if ``leave``. Elsewhere: :class:`PlainProgress`, or
    nothing at all without ``in_logs`` (the cells of a fill, whose caller
    prints a line per cell). All have ``update``, ``set_postfix``, ``close``
    and iterate.
    """
    if enabled and interactive():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave)
    return PlainProgress(iterable, total=total, desc=desc, unit=unit, silent=not (enabled and in_logs))


def write(line: str) -> None:
    """Print ``line`` on standard output, above any bar on screen."""
    if interactive():
        from tqdm.auto import tqdm

        tqdm.write(line)
    else:
        print(line, flush=True)


class PlainProgress:
    """Progress as plain lines on standard error: ``desc: 3/12 epoch, 7.2 s
    (loss=0.41, val_acc=0.88)`` at most every ``interval`` seconds; work that
    ends within ``interval`` prints nothing (its caller reports the result)."""

    def __init__(self, iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
                 unit: str = "it", silent: bool = False, interval: float = PLAIN_INTERVAL, stream: Any = None):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.desc, self.unit, self.silent, self.interval = total, desc, unit, silent, interval
        self.stream = stream
        self.n = 0
        self.postfix = ""
        self.started = self.last = time.perf_counter()
        self.printed = 0  # lines printed so far

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable or ():
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.silent and time.perf_counter() - self.last >= self.interval:
            self._emit()

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        self.silent = True  # nothing more from this bar

    def line(self) -> str:
        count = f"{self.n}/{self.total}" if self.total else str(self.n)
        tail = f" ({self.postfix})" if self.postfix else ""
        return f"{self.desc}: {count} {self.unit}, {time.perf_counter() - self.started:.1f} s{tail}"

    def _emit(self) -> None:
        print(self.line(), file=self.stream or sys.stderr, flush=True)
        self.last = time.perf_counter()
        self.printed += 1
