"""Games and equilibria on payoff tables (numpy, scipy, nashpy, pandas; never torch).

Modules: :mod:`~gametheory.payoffs` (payoff tables, CSV/JSON/DataFrame),
:mod:`~gametheory.equilibria` (regret-checked solvers on arrays),
:mod:`~gametheory.batched` (many small games at once, for the bootstrap),
:mod:`~gametheory.parsing` (strict reading of values from files),
:mod:`~gametheory.analysis` (best responses, dominance),
:mod:`~gametheory.normal_form` (the labelled attacker/defender game, bootstrap),
:mod:`~gametheory.symmetric` (N interchangeable attackers, DPR, replicator
dynamics), :mod:`~gametheory.sources` (the payoff-source protocol).

The attacker population is the row player, the defender the column player.

>>> from gametheory import PayoffTable, NormalFormGame
>>> game = NormalFormGame.from_table(PayoffTable.read("examples/payoffs/table6.csv"))
>>> [e.support for e in game.equilibria()]
[(('Random triggers',), ('Defense',))]
"""

from .equilibria import DEFAULT_TOL, METHODS, Solutions, ZeroSumSolution, regret, solve
from .normal_form import BootstrapResult, Equilibrium, NormalFormGame
from .payoffs import PayoffFileError, PayoffTable
from .sources import MappingSource, MissingPayoff, Payoffs, PayoffSource
from .symmetric import RoleSymmetricGame

__all__ = [
    "DEFAULT_TOL",
    "METHODS",
    "BootstrapResult",
    "Equilibrium",
    "MappingSource",
    "MissingPayoff",
    "NormalFormGame",
    "PayoffFileError",
    "PayoffSource",
    "PayoffTable",
    "Payoffs",
    "RoleSymmetricGame",
    "Solutions",
    "ZeroSumSolution",
    "regret",
    "solve",
]
