"""Where dataset files are looked for (see :mod:`oracle.data.datasets` for the order), and
the error naming every folder searched when they are found nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_CACHE", "ENV_DATA", "ENV_DOWNLOAD", "DatasetNotFound", "SearchRoot", "data_search_path", "default_cache_dir",
           "download_allowed", "download_root", "shared_data_dirs"]

ENV_DATA = "BACKFIRE_DATA"
ENV_CACHE = "BACKFIRE_CACHE"
ENV_DOWNLOAD = "BACKFIRE_DOWNLOAD"


class DatasetNotFound(FileNotFoundError):
    """A dataset's files are in none of the folders searched.

    Attributes: ``dataset``, ``expected`` (file names), ``searched`` (the
    :class:`SearchRoot` folders looked in), ``download_error`` (str or None).
    """

    def __init__(
        self,
        dataset: str,
        expected: Sequence[str],
        searched: Sequence[SearchRoot],
        download_error: str | None = None,
        download_allowed: bool = False,
    ) -> None:
        self.dataset = dataset
        self.expected = tuple(expected)
        self.searched = tuple(searched)
        self.download_error = download_error
        places = "; ".join(r.describe() for r in searched) or "nowhere (no folder to search)"
        if download_error is not None:
            dl = f"torchvision download failed: {download_error}"
        elif download_allowed:
            dl = "torchvision cannot download it"
        else:
            dl = f"download not attempted (pass download=True or set {ENV_DOWNLOAD}=1)"
        msg = (
            f"dataset {dataset!r} not found: expected {' or '.join(self.expected)}; "
            f"looked in: {places}; {dl}. Fix: put the files in a folder and set "
            f"{ENV_DATA}=/that/folder or pass --data-dir /that/folder."
        )
        super().__init__(msg)


@dataclass(frozen=True)
class SearchRoot:
    """One folder in the data search path and why it is there."""

    path: Path
    origin: str

    def describe(self) -> str:
        missing = "" if self.path.is_dir() else ", does not exist"
        return f"{self.path} ({self.origin}{missing})"


def default_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir``, else ``$BACKFIRE_CACHE``, else ``$XDG_CACHE_HOME/backfire``,
    else ``~/.cache/backfire``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "backfire"


def shared_data_dirs() -> list[SearchRoot]:
    """``shared/data`` in any ancestor of the working directory, then of this
    package (``../shared/data`` beside the checkout)."""
    found: list[SearchRoot] = []
    seen: set[Path] = set()
    starts = ((Path.cwd(), "working directory"), (Path(__file__).resolve().parent, "package"))
    for start, what in starts:
        for ancestor in (start, *start.parents):
            candidate = ancestor / "shared" / "data"
            if candidate.is_dir():
                resolved = candidate.resolve()
                if resolved not in seen:
                    seen.add(resolved)
                    found.append(SearchRoot(resolved, f"shared/data above the {what}"))
    return found


def data_search_path(
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[SearchRoot]:
    """The folders searched for dataset files, in order (see module docstring)."""
    roots: list[SearchRoot] = []
    if data_dir is not None:
        roots.append(SearchRoot(Path(data_dir).expanduser().absolute(), "data_dir / --data-dir"))
    if os.environ.get(ENV_DATA):
        roots.append(SearchRoot(Path(os.environ[ENV_DATA]).expanduser().absolute(), ENV_DATA))
    roots.extend(shared_data_dirs())
    roots.append(SearchRoot(download_root(cache_dir), "torchvision download folder"))
    return roots


def download_root(cache_dir: str | os.PathLike[str] | None) -> Path:
    """torchvision's download folder: ``<cache>/torchvision``."""
    return default_cache_dir(cache_dir).absolute() / "torchvision"


def download_allowed(download: bool | None) -> bool:
    """``download`` if given, else ``$BACKFIRE_DOWNLOAD`` (on unless 0/false/no/off)."""
    if download is not None:
        return bool(download)
    value = os.environ.get(ENV_DOWNLOAD, "1").strip().lower()
    return value not in ("0", "false", "no", "off", "")
