"""A job: one training run the payoff oracle evaluates (a value object, torch-free).

A *cell* of a normal-form payoff table is (attacker label, defender label);
a mixed attacker strategy's cell needs one job per component
(:func:`components`); a role-symmetric game's count profile is one job with
a ``population``.
"""

from __future__ import annotations

from dataclasses import dataclass

from strategies import AttackerStrategy, DefenderStrategy, MixedAttackerStrategy

__all__ = ["Job", "components", "uses_clean_label"]


@dataclass(frozen=True)
class Job:
    """One training run: a pure attacker strategy × a defender strategy × a seed.

    ``population`` makes it a *count profile* of a role-symmetric game
    instead: ``((strategy, count), ...)`` with counts summing to N; the first
    ``count_1`` attackers (by index) play the first strategy, and so on, each
    taking its action from its strategy's expansion at its own index.
    """

    attacker: AttackerStrategy | None
    defender: DefenderStrategy
    seed: int
    population: tuple[tuple[AttackerStrategy, int], ...] = ()

    def describe(self) -> str:
        if self.attacker is not None:
            who = self.attacker.name or getattr(self.attacker, "label", "attacker")
        else:
            who = " + ".join(f"{c}×{s.name}" for s, c in self.population)
        return f"{who} × {self.defender.label}, seed {self.seed}"

    def actions(self, n: int, num_classes: int) -> tuple:
        if self.attacker is not None:
            return self.attacker.expand(n, num_classes)
        out, start = [], 0
        for strategy, count in self.population:
            out.extend(strategy.expand(n, num_classes)[start:start + count])
            start += count
        return tuple(out)



def components(strategy: AttackerStrategy | MixedAttackerStrategy) -> tuple[tuple[float, AttackerStrategy], ...]:
    if isinstance(strategy, MixedAttackerStrategy):
        return tuple(strategy.components)
    return ((1.0, strategy),)


def _strategies(job: Job) -> list[AttackerStrategy]:
    return [job.attacker] if job.attacker is not None else [s for s, _ in job.population]


def uses_clean_label(job: Job) -> bool:
    return any(s.trigger == "clean-label" for s in _strategies(job))


def uses_style(job: Job) -> bool:
    """Whether some attacker of the job stylises its share (E3's AdaIN, :mod:`oracle.attacks.adain`)."""
    return any(s.style != "none" for s in _strategies(job))
