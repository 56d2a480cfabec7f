"""Games and equilibria on payoff tables (numpy, scipy, nashpy, pandas; never torch).

Modules, each named for what it holds:

* normal-form games: :mod:`~gametheory.payoffs` (payoff tables) and
  :mod:`~gametheory.payoff_files` (their CSV/JSON format),
  :mod:`~gametheory.per_attacker` (``backfire table``'s format),
  :mod:`~gametheory.parsing` (strict reading of values from files),
  :mod:`~gametheory.normal_form` (the labelled attacker/defender game,
  bootstrap), :mod:`~gametheory.analysis` (best responses, dominance);
* their equilibria: :mod:`~gametheory.equilibria` (``solve`` and its
  methods, the entry), :mod:`~gametheory.bimatrix` (the regret check every
  method passes), :mod:`~gametheory.polytopes` (best-response polytopes),
  :mod:`~gametheory.support_enumeration`,
  :mod:`~gametheory.vertex_enumeration`, :mod:`~gametheory.lemke_howson`,
  :mod:`~gametheory.zero_sum`, :mod:`~gametheory.batched` (many small games
  at once, for the bootstrap);
* role-symmetric games (N interchangeable attackers):
  :mod:`~gametheory.symmetric` (:class:`RoleSymmetricGame`, the entry),
  :mod:`~gametheory.symmetric_table` (its profiles and payoffs),
  :mod:`~gametheory.count_profiles` (count vectors, multinomial weights),
  :mod:`~gametheory.dpr` (deviation-preserving reduction),
  :mod:`~gametheory.symmetric_dynamics` (replicator dynamics, regret
  minimisation), :mod:`~gametheory.arguments` (their argument checks),
  :mod:`~gametheory.symmetric_file` (measured games from files),
  :mod:`~gametheory.symmetric_report` (solve summaries, price of anarchy);
* payoff sources and the adaptive search: :mod:`~gametheory.sources` (the
  payoff-source protocol), :mod:`~gametheory.sampling` (batched sampling,
  confidence radii), :mod:`~gametheory.deviations` (deviation gains as
  weights on profile payoffs), :mod:`~gametheory.search` (adaptive
  subgame-and-deviation equilibrium search with adaptive seeds),
  :mod:`~gametheory.search_config`, :mod:`~gametheory.search_results`,
  :mod:`~gametheory.synthetic` (synthetic games with known means, for tests
  and benchmarks);
* :mod:`~gametheory.plots` (heat maps, deviation-payoff curves; matplotlib,
  imported when drawing).

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
