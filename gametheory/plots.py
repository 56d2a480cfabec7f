"""Figures of games: the payoff table as a heat map, and a role-symmetric game's deviation payoffs.

Matplotlib's object API with the Agg canvas (no pyplot, no GUI backend, no
global state), imported inside the functions so that ``import gametheory``
stays light. Each function returns a :class:`matplotlib.figure.Figure` and,
given ``path``, writes it (the format from the suffix: .png or .svg) at
exactly ``size`` inches × ``dpi`` (no tight bounding box, so a PNG is
``round(w·dpi) × round(h·dpi)`` pixels).

:func:`deviation_curves` is the data behind :func:`plot_deviation_payoffs`;
both use only :class:`~gametheory.RoleSymmetricGame`'s payoff-source
protocol, so a game backed by the oracle's cache plots what is measured and
leaves the rest as gaps. No torch.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .payoffs import PayoffTable
from .sources import MissingPayoff
from .count_profiles import multinomial_profiles, multinomial_weights
from .symmetric import RoleSymmetricGame

__all__ = ["FORMATS", "DPI", "display_scale", "heatmap_size", "plot_payoff_heatmap", "deviation_curves", "plot_deviation_payoffs"]

FORMATS = (".png", ".svg")
DPI = 150
_EQ_COLOURS = ("#d62728", "#ff7f0e", "#e377c2", "#17becf", "#bcbd22")


def display_scale(choice: str, *payoffs: Any) -> float:
    """The factor payoffs are shown with: ``"1"`` or ``"100"`` as given; ``"auto"``: 100 when every known
    (finite) payoff lies in [-1, 1] (rates, and differences of rates, shown as percent as the paper does), else 1."""
    if choice != "auto":
        return float(choice)
    known = np.concatenate([np.ravel(np.asarray(p, dtype=float)) for p in payoffs]) if payoffs else np.zeros(0)
    known = known[np.isfinite(known)]
    return 100.0 if np.all(np.abs(known) <= 1) else 1.0


def _new_figure(size: tuple[float, float], dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w, h = size
    if not (w > 0 and h > 0 and dpi > 0):
        raise ValueError(f"size={size}, dpi={dpi}: allowed positive width, height (inches) and dpi")
    fig = Figure(figsize=(w, h), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike[str] | None):
    """Write ``fig`` to ``path`` (.png or .svg) at its own size and dpi; return it."""
    if path is not None:
        suffix = os.path.splitext(os.fspath(path))[1].lower()
        if suffix not in FORMATS:
            raise ValueError(f"{os.fspath(path)}: unknown figure type '{suffix}' (allowed: {', '.join(FORMATS)})")
        fig.savefig(os.fspath(path), dpi=fig.dpi)
    return fig


def heatmap_size(table: PayoffTable) -> tuple[float, float]:
    """The default figure size (inches) of a heat map: wider with more defender strategies, taller with more attackers."""
    m, n = table.shape
    longest = max(len(a) for a in table.attackers)
    return (round(min(16.0, 1.5 + 0.075 * longest + 1.5 * n), 2), round(min(12.0, 1.6 + 0.6 * m), 2))


def plot_payoff_heatmap(
    table: PayoffTable,
    path: str | os.PathLike[str] | None = None,
    *,
    equilibria: Sequence[Any] = (),
    scale: float = 1.0,
    size: tuple[float, float] | None = None,
    dpi: int = DPI,
    title: str | None = None,
):
    """The attacker's payoff per cell (rows: attacker strategies, columns: defender strategies).

    Each cell shows its mean × ``scale`` (± the std over seeds and n where
    there are several), missing cells are grey. Each equilibrium in
    ``equilibria`` (objects with ``attacker`` and ``defender`` probability
    vectors, e.g. :class:`gametheory.Equilibrium`) outlines the cells of its
    support (attacker support × defender support) in its own colour; the
    legend gives its mixtures.
    """
    size = heatmap_size(table) if size is None else size
    fig = _new_figure(size, dpi)
    ax = fig.add_subplot()
    mean, std, count = table.mean("attacker") * scale, table.std("attacker") * scale, table.count()
    shown = np.ma.masked_invalid(mean)
    from matplotlib import colormaps

    image = ax.imshow(shown, cmap=colormaps["viridis"].with_extremes(bad="#d9d9d9"), aspect="auto")
    fig.colorbar(image, ax=ax, label="attacker payoff" + (" (×100)" if scale == 100 else ""))
    lo, hi = (np.nanmin(mean), np.nanmax(mean)) if np.isfinite(mean).any() else (0.0, 1.0)
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            if count[i, j] == 0:
                ax.text(j, i, "missing", ha="center", va="center", fontsize=8, color="#555555")
                continue
            text = f"{mean[i, j]:.3g}" + (f"\n±{std[i, j]:.2g} (n={count[i, j]})" if count[i, j] > 1 else "")
            light = hi > lo and (mean[i, j] - lo) / (hi - lo) > 0.6
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black" if light else "white")
    _mark_equilibria(ax, table, equilibria)
    ax.set_xticks(range(table.shape[1]), labels=table.defenders)
    ax.set_yticks(range(table.shape[0]), labels=table.attackers)
    ax.set_xlabel("defender strategy")
    ax.set_ylabel("attacker strategy")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _mark_equilibria(ax, table: PayoffTable, equilibria: Sequence[Any]) -> None:
    from matplotlib.patches import Rectangle

    for k, eq in enumerate(equilibria):
        colour = _EQ_COLOURS[k % len(_EQ_COLOURS)]
        x, y = np.asarray(eq.attacker, float), np.asarray(eq.defender, float)
        inset = 0.06 * (k % 4)
        first = True
        for i in np.flatnonzero(x > 0):
            for j in np.flatnonzero(y > 0):
                label = None
                if first:
                    mix = lambda p, labels: ", ".join(f"{l} {v:.2g}" for l, v in zip(labels, p) if v > 0)  # noqa: E731
                    label = f"NE #{k + 1}: {mix(x, table.attackers)} | {mix(y, table.defenders)}"
                    first = False
                ax.add_patch(Rectangle((j - 0.5 + inset, i - 0.5 + inset), 1 - 2 * inset, 1 - 2 * inset, fill=False,
                                       edgecolor=colour, linewidth=2.5, label=label))
    if len(equilibria):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7, frameon=False)


def _focal_names(game: RoleSymmetricGame, focal: Sequence[str] | None) -> list[str]:
    names = game.attacker_strategies
    if focal is None:
        return [names[-1]] if len(names) == 2 else list(names)
    unknown = [f for f in focal if f not in names]
    if unknown:
        raise ValueError(f"focal strategy {unknown[0]!r} is unknown: known are {', '.join(names)}")
    return list(focal)


def deviation_curves(game: RoleSymmetricGame, background: Sequence[float] | None = None,
                     focal: Sequence[str] | None = None) -> pd.DataFrame:
    """Each attacker strategy's payoff against how many of the other N-1 attackers play a focal strategy.

    For a focal strategy f, j = 0 … N-1 others playing f, the remaining
    m = N-1-j others playing the other strategies drawn from ``background``
    restricted to them (σ' = σ_{-f} / Σ σ_{-f}; default, or where σ_{-f} = 0:
    uniform), and one attacker deviating to s, per defender strategy d::

        payoff(s | f, j, d) = Σ_{c'} P_{m,σ'}(c') · u_s(j·e_f + c' + e_s, d)

    At each j the highest curve is that attacker's best response to the
    others; where the curves cross lies a symmetric mixed equilibrium's
    (N-1)·σ_f. With two strategies the others who do not play f play the
    other one, so the curves are exact profiles; the default focal strategy
    is then the second one (e.g. "how many others escalate"), and every
    strategy in turn with three or more. Columns: ``defender``, ``focal``,
    ``others`` (j), ``strategy`` (s), ``payoff`` (NaN where a profile it needs
    is not measured), ``profiles`` (how many profiles it averaged).
    """
    names, n = game.attacker_strategies, game.n_attackers
    k = len(names)
    sigma = np.full(k, 1.0 / k) if background is None else np.asarray(background, float)
    if sigma.shape != (k,) or np.any(sigma < 0) or not np.isclose(sigma.sum(), 1.0):
        raise ValueError(f"background must be {k} non-negative probabilities summing to 1, got {list(sigma)}")
    rows = []
    for f_name in _focal_names(game, focal):
        f = names.index(f_name)
        rest_idx = [t for t in range(k) if t != f]
        rest = sigma[rest_idx]
        rest = rest / rest.sum() if rest.sum() > 0 else np.full(len(rest_idx), 1.0 / max(len(rest_idx), 1))
        for d in game.defender_strategies:
            for j in range(n) if rest_idx else [n - 1]:
                for s, name in enumerate(names):
                    rows.append({"defender": d, "focal": f_name, "others": j, "strategy": name,
                                 **_deviation_point(game, f, rest_idx, rest, j, s, d)})
    return pd.DataFrame(rows, columns=["defender", "focal", "others", "strategy", "payoff", "profiles"])


def _deviation_point(game: RoleSymmetricGame, f: int, rest_idx: list[int], rest: np.ndarray, j: int, s: int,
                     d: str) -> dict:
    m = game.n_attackers - 1 - j
    if rest_idx:
        sub = multinomial_profiles(m, len(rest_idx))
        weights = multinomial_weights(m, rest, sub)
    else:
        sub, weights = np.zeros((1, 0), dtype=np.int64), np.ones(1)
    total, used = 0.0, 0
    for row, w in zip(sub, weights):
        if w <= 0:
            continue
        counts = np.zeros(len(game.attacker_strategies), dtype=np.int64)
        counts[rest_idx] = row
        counts[f] += j
        counts[s] += 1
        try:
            total += w * game.payoffs((tuple(int(c) for c in counts), d))[game.attacker_strategies[s]]
        except MissingPayoff:
            return {"payoff": float("nan"), "profiles": used}
        used += 1
    return {"payoff": float(total), "profiles": used}


def plot_deviation_payoffs(
    game: RoleSymmetricGame,
    path: str | os.PathLike[str] | None = None,
    *,
    background: Sequence[float] | None = None,
    focal: Sequence[str] | None = None,
    equilibria: Sequence[Any] = (),
    scale: float = 1.0,
    size: tuple[float, float] | None = None,
    dpi: int = DPI,
    title: str | None = None,
):
    """Panels (focal strategy × defender strategy): each attacker strategy's payoff (× ``scale``)
    against how many of the others play the focal strategy (:func:`deviation_curves`; gaps where
    profiles are not measured).

    Each equilibrium in ``equilibria`` (role-symmetric
    :class:`gametheory.symmetric.Equilibrium`: ``sigma``, ``tau``) is marked
    by a dotted line at (N-1)·σ_f in the panels of the defender strategies it
    plays, and listed under the panels.
    """
    curves = deviation_curves(game, background, focal)
    focals, d_names = list(dict.fromkeys(curves["focal"])), game.defender_strategies
    if size is None:
        size = (min(16.0, 1.0 + 4.2 * len(d_names)), min(16.0, 0.6 + 3.6 * len(focals)))
    fig = _new_figure(size, dpi)
    axes = fig.subplots(len(focals), len(d_names), sharey=True, squeeze=False)
    names = game.attacker_strategies
    for r, f_name in enumerate(focals):
        for c, d in enumerate(d_names):
            ax = axes[r][c]
            part = curves[(curves["defender"] == d) & (curves["focal"] == f_name)]
            for t, name in enumerate(names):
                line = part[part["strategy"] == name]
                ax.plot(line["others"], line["payoff"] * scale, marker="o", markersize=3, color=f"C{t % 10}",
                        label=f"play {name}")
            for eq in equilibria:
                if float(np.asarray(eq.tau, float)[c]) > 0:
                    x = (game.n_attackers - 1) * float(np.asarray(eq.sigma, float)[names.index(f_name)])
                    ax.axvline(x, color="black", linestyle=":", linewidth=1.2)
            ax.set_title(f"defender: {d}", fontsize=9)
            ax.set_xlabel(f"others playing {f_name} (of N-1 = {game.n_attackers - 1})", fontsize=8)
            ax.grid(alpha=0.3)
        axes[r][0].set_ylabel("payoff of one attacker" + (" (×100)" if scale == 100 else ""), fontsize=8)
    axes[0][0].legend(fontsize=7)
    if len(equilibria):
        text = "; ".join(
            "NE: " + ", ".join(f"{k} {v:.2g}" for k, v in eq.attacker_mixture().items()) + " | "
            + ", ".join(f"{k} {v:.2g}" for k, v in eq.defender_mixture().items()) for eq in equilibria[:3])
        fig.text(0.5, 0.01, text + " (dotted: (N-1)·σ)", ha="center", va="bottom", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.05 if len(equilibria) else 0, 1, 1))
    return _save(fig, path)
