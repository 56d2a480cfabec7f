"""Plots the escalation and coordination notebooks share (two attacker strategies, one or two defender strategies).

Each function draws on a matplotlib ``Axes`` from a
:class:`gametheory.RoleSymmetricGame` (and its equilibria), using only the
profiles the game knows; nothing here trains.
"""

from __future__ import annotations

import numpy as np
from gametheory import MissingPayoff


def _samples(game, profile, role):
    record = game.payoffs(profile)
    values = record.samples.get(role) or (record.roles[role],)
    return float(np.mean(values)), float(np.std(values))


def deviation_payoffs(ax, game, defender):
    """The payoff of one attacker playing each strategy against how many of the N−1 others play the second.

    ``u_s(c + e_s, d)`` with ``c = (N−1−j, j)``, mean ± std over seeds, for
    the profiles the game knows.
    """
    a0, a1 = game.attacker_strategies
    n = game.n_attackers
    for s, name, marker in ((0, a0, "o"), (1, a1, "s")):
        xs, ys, es = [], [], []
        for j in range(n):
            counts = [n - 1 - j, j]
            counts[s] += 1
            try:
                m, e = _samples(game, (tuple(counts), defender), name)
            except MissingPayoff:
                continue
            xs.append(j), ys.append(m), es.append(e)
        ax.errorbar(xs, ys, yerr=es, marker=marker, capsize=3, label=f"I play {name}")
    ax.set_xlabel(f"other attackers playing {a1!r} (of {n - 1})")
    ax.set_ylabel("my attack success")
    ax.set_title(f"payoff of each strategy ({defender})")
    ax.set_ylim(-0.05, 1.05)
    ax.legend()


def _known_shares(game, grid):
    """The shares x of the second strategy on ``grid`` at which every profile σ = (1−x, x) reads is known."""
    out = []
    for x in grid:
        try:
            game.deviation_payoffs([1 - x, x], _uniform_tau(game))
            game.defender_payoffs([1 - x, x])
        except MissingPayoff:
            continue
        out.append(x)
    return np.array(out)


def _uniform_tau(game):
    d = len(game.defender_strategies)
    return np.full(d, 1.0 / d)


def _point(game, eq):
    """(share of the second attacker strategy, probability of the second defender strategy) of an equilibrium."""
    d = game.defender_strategies
    y = eq.defender_mixture.get(d[1], 0.0) if len(d) > 1 else 0.0
    return eq.attacker_mixture.get(game.attacker_strategies[1], 0.0), y


def replicator_flow(ax, game, equilibria, points=41):
    """The replicator flow with the equilibria (a solve summary's) marked.

    One defender strategy: the gain ``dev_2 − dev_1`` of the second attacker
    strategy against the share ``x`` playing it (the attackers' share grows
    where it is positive: arrows). Two: the field ``(ẋ, ẏ)`` of the
    two-population replicator dynamics, ``y`` the defender's probability of
    its second strategy.
    """
    a0, a1 = game.attacker_strategies
    grid = np.linspace(0, 1, points)
    if len(game.defender_strategies) == 1:
        xs = _known_shares(game, grid)
        gain = np.array([np.diff(game.deviation_payoffs([1 - x, x], [1.0]))[0] for x in xs])
        ax.axhline(0, color="grey", lw=0.8)
        # a curve where every share on the grid is readable; else only the shares whose profiles were measured
        ax.plot(xs, gain, "k-" if len(xs) == len(grid) else "ko")
        for x, g in zip(xs[::4] if len(xs) == len(grid) else xs, gain[::4] if len(xs) == len(grid) else gain):
            ax.annotate("", xy=(x + 0.04 * np.sign(g), 0), xytext=(x, 0),
                        arrowprops=dict(arrowstyle="->", color="tab:blue" if g > 0 else "tab:red"))
        for e in equilibria:
            ax.plot(_point(game, e)[0], 0, "o", ms=11, mfc="gold", mec="k", zorder=5)
        ax.set_xlabel(f"share of attackers playing {a1!r}")
        ax.set_ylabel(f"gain of {a1!r} over {a0!r}")
        ax.set_title("replicator flow (● equilibria)")
        return
    d0, d1 = game.defender_strategies
    X, Y, U, V = [], [], [], []
    for x in _known_shares(game, grid[::4]):
        for y in grid[::4]:
            dev = game.deviation_payoffs([1 - x, x], [1 - y, y])
            v = game.defender_payoffs([1 - x, x])
            X.append(x), Y.append(y)
            U.append(x * (1 - x) * (dev[1] - dev[0])), V.append(y * (1 - y) * (v[1] - v[0]))
    ax.quiver(X, Y, U, V, angles="xy", color="tab:blue")
    for e in equilibria:
        ax.plot(*_point(game, e), "o", ms=12, mfc="gold", mec="k", zorder=5)
    ax.set_xlim(-0.05, 1.05), ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(f"share of attackers playing {a1!r}")
    ax.set_ylabel(f"P(defender plays {d1!r})")
    ax.set_title("replicator flow (● equilibria)")


def collective_success(ax, game, defender):
    """Collective attack success (mean over all N attackers) against how many attackers play the second strategy."""
    a0, a1 = game.attacker_strategies
    n = game.n_attackers
    xs, ys = [], []
    for j in range(n + 1):
        try:
            record = game.payoffs(((n - j, j), defender))
        except MissingPayoff:
            continue
        xs.append(j)
        ys.append(((n - j) * record.roles.get(a0, 0.0) + j * record.roles.get(a1, 0.0)) / n)
    ax.plot(xs, ys, "o-", label=defender)
    ax.set_xlabel(f"attackers playing {a1!r} (of {n})")
    ax.set_ylabel("collective attack success")
    ax.set_ylim(-0.05, 1.05)
    ax.legend()


def equilibrium_vs_best(ax, summary):
    """Bars: the collective attack success at each equilibrium, and the attackers' best symmetric outcomes."""
    labels, values, seen = [], [], set()
    for eq in summary.equilibria:  # one bar per attacker mixture (a defender indifferent between its
        mix = ", ".join(f"{k} {v:.2f}" for k, v in eq.attacker_mixture.items())  # strategies gives many)
        if mix not in seen:
            seen.add(mix)
            labels.append(f"equilibrium\n{mix}")
            values.append(eq.attacker_payoff or 0.0)
    n_eq = len(values)
    if summary.equilibria:
        for b in summary.equilibria[0].best:
            mix = ", ".join(f"{k} {v:.2f}" for k, v in b.attacker_mixture.items())
            labels.append(f"best, {b.mode}\n{mix}")
            values.append(b.attacker_payoff)
    ax.bar(range(len(values)), values, color=["tab:red"] * n_eq + ["tab:green"] * (len(values) - n_eq))
    ax.set_xticks(range(len(values)), labels, fontsize=8)
    ax.set_ylabel("collective attack success")
    ax.set_ylim(0, 1)
    ax.set_title("equilibrium vs the attackers' best symmetric outcome")
