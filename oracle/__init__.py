"""The empirical payoff oracle: a strategy profile in, measured payoffs out (layout: docs/architecture.md)."""
