"""Games and equilibria on payoff tables (numpy, scipy, nashpy, pandas; never torch).

Modules: :mod:`~gametheory.payoffs` (payoff tables, CSV/JSON/DataFrame),
:mod:`~gametheory.equilibria` (regret-checked solvers on arrays),
:mod:`~gametheory.batched` (many small games at once, for the bootstrap),
:mod:`~gametheory.parsing` (strict reading of values from files),
:mod:`~gametheory.analysis` (best responses, dominance),
:mod:`~gametheory.normal_form` (the labelled attacker/defender game, bootstrap),
:mod:`~gametheory.symmetric` (N interchangeable attackers, DPR, replicator
dynamics), :mod:`~gametheory.sources` (the payoff-source protocol),
:mod:`~gametheory.sampling` (batched sampling, confidence radii),
:mod:`~gametheory.deviations` (deviation gains as weights on profile payoffs),
:mod:`~gametheory.search` (adaptive subgame-and-deviation equilibrium search
with adaptive seeds), :mod:`~gametheory.symmetric_report` (solve summaries,
price of anarchy), :mod:`~gametheory.synthetic` (synthetic games with known
means, for tests and benchmarks).

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
from .sampling import PayoffSourceSampler, SampleSource, as_sample_source
from .search import equilibrium_search
from .search_config import SearchConfig
from .search_results import Candidate, SearchResult
from .symmetric import RoleSymmetricGame
from .symmetric_report import SolveSummary, best_symmetric_outcome, summarize_search, summarize_symmetric

__all__ = [
    "DEFAULT_TOL",
    "METHODS",
    "BootstrapResult",
    "Candidate",
    "Equilibrium",
    "MappingSource",
    "MissingPayoff",
    "NormalFormGame",
    "PayoffFileError",
    "PayoffSource",
    "PayoffTable",
    "PayoffSourceSampler",
    "Payoffs",
    "RoleSymmetricGame",
    "SampleSource",
    "SearchConfig",
    "SearchResult",
    "SolveSummary",
    "Solutions",
    "ZeroSumSolution",
    "as_sample_source",
    "best_symmetric_outcome",
    "equilibrium_search",
    "regret",
    "solve",
    "summarize_search",
    "summarize_symmetric",
]
