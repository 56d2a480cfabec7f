"""Accuracy-over-rounds figures, like "Attack of the Tails" Fig. 4-6.

Matplotlib's object API with the Agg canvas (no pyplot, no GUI backend, no
global state): the functions return a :class:`matplotlib.figure.Figure` and,
given ``path``, also write it (the format from the file's suffix).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from oracle.federated.records import FederatedRun
from strategies.validate import check_name

__all__ = ["plot_accuracy", "plot_runs"]

_FIGSIZE = (6.4, 4.0)
_DPI = 120


def _frame(run: FederatedRun | pd.DataFrame) -> pd.DataFrame:
    frame = run.to_frame() if isinstance(run, FederatedRun) else run
    missing = {"round", "main_acc", "backdoor_acc"} - set(frame.columns)
    if missing:
        raise ValueError(f"the frame lacks column(s) {sorted(missing)}; allowed: a FederatedRun or its to_frame()")
    return frame


def _new_figure() -> Figure:
    fig = Figure(figsize=_FIGSIZE, dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _finish(fig: Figure, path: str | os.PathLike[str] | None) -> Figure:
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path))
    return fig


def plot_accuracy(
    run: FederatedRun | pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Main-task and backdoor accuracy (in %) over FL rounds for one run.

    Lines: main task; backdoor on the task's edge case; each attacker's own
    backdoor (``backdoor_acc_i``) where it differs from the task's; rounds
    in which an attacker took part are marked on the x-axis. Rounds that
    were not evaluated (NaN) are skipped.
    """
    frame = _frame(run)
    fig = _new_figure()
    ax = fig.add_subplot()
    ev = frame.dropna(subset=["main_acc"])
    ax.plot(ev["round"], 100 * ev["main_acc"], label="main task", color="tab:blue")
    ax.plot(ev["round"], 100 * ev["backdoor_acc"], label="backdoor (task's edge case)", color="tab:red")
    i = 0
    while f"backdoor_acc_{i}" in frame.columns:
        own = ev[f"backdoor_acc_{i}"]
        if not own.equals(ev["backdoor_acc"]):
            ax.plot(ev["round"], 100 * own, label=f"backdoor, attacker {i}", linestyle="--")
        attacked = frame.loc[frame[f"attacked_{i}"] > 0, "round"]
        if len(attacked):
            ax.plot(attacked, [0] * len(attacked), "|", color="black", markersize=8,
                    label="attack rounds" if i == 0 else None)  # fmt: skip
        i += 1
    ax.set_xlabel("FL round")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def plot_runs(
    runs: Mapping[str, FederatedRun | pd.DataFrame],
    path: str | os.PathLike[str] | None = None,
    *,
    metric: str = "backdoor_acc",
    title: str | None = None,
) -> Figure:
    """One ``metric`` (a column of :meth:`FederatedRun.to_frame`, e.g.
    ``backdoor_acc``, ``main_acc``, ``norm_diff_0``) over rounds for several
    runs, one line per label (e.g. one per defense, as in Fig. 6)."""
    if not runs:
        raise ValueError("runs is empty; allowed: a mapping label -> FederatedRun with at least one entry")
    fig = _new_figure()
    ax = fig.add_subplot()
    for label, run in runs.items():
        frame = _frame(run)
        check_name("metric", metric, frame.columns, plural=f"metrics (columns) of run {label!r}")
        ev = frame.dropna(subset=[metric])
        scale = 100 if metric.endswith("_acc") else 1
        ax.plot(ev["round"], scale * ev[metric], label=label)
    ax.set_xlabel("FL round")
    ax.set_ylabel(f"{metric} (%)" if metric.endswith("_acc") else metric)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return _finish(fig, path)
