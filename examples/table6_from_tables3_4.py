"""Build Table 6 from the per-agent figures of Tables 3 and 4 with mixed strategies, and solve it.

    python examples/table6_from_tables3_4.py [--write examples/payoffs/table6_derived.csv]

Each row of Table 6 is a *mixed* attacker strategy: a weighted set of the
configurations of Tables 3 and 4 (Random- or Orthogonal-BadNet triggers; 0%,
40% or 100% label overlap), whose payoff is the weighted mean of the
configurations' payoffs. The paper does not say which configurations enter
each row; this script uses the rule that reproduces most entries
(examples/payoffs/README.md, "How Table 6 relates to Tables 3 and 4"):

* "No Defense" cell: the N = 5, ε = 0.55 (base-case) columns;
* "Defense" cell: the backdoor adversarial training (ε = 0.55) columns;
* each configuration's payoff is the mean over its 5 agents of the accuracy
  w.r.t. poisoned labels (the attacker payoff); the defender's is 100 minus it;
* rows: "eps = 0.55" mixes all six configurations; "0% / 100% label overlap"
  mix both tables' block of that overlap; "Random triggers" the three
  Table 3 blocks; "Orthogonal triggers" the three Table 4 blocks, equal weights.

It prints the derived table beside the published one and the equilibria of both.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from gametheory import NormalFormGame, PayoffTable
from strategies import AttackerStrategy, MixedAttackerStrategy

HERE = Path(__file__).resolve().parent
PER_AGENT = HERE / "payoffs" / "tables3_4_per_agent.csv"
PUBLISHED = HERE / "payoffs" / "table6.csv"


def configuration(triggers: str, overlap: int) -> AttackerStrategy:
    """The attacker population of one block of Tables 3/4 (N = 5, ε = p = 0.55)."""
    extra = {"trigger": "orthogonal-badnet"} if triggers == "orthogonal-badnet" else {}
    name = f"{triggers}/{overlap}%"
    if overlap == 0:
        return AttackerStrategy.fixed_labels((0, 2, 4, 6, 8), eps=0.55, p=0.55, name=name, **extra)
    if overlap == 40:
        return AttackerStrategy.coordinate_label(4, 0.4, others=(2, 6, 8), eps=0.55, p=0.55, name=name, **extra)
    return AttackerStrategy.fixed_labels((4,), eps=0.55, p=0.55, name=name, **extra)


def block_payoffs(df: pd.DataFrame) -> dict[tuple[str, str], float]:
    """{(configuration name, defense): mean accuracy w.r.t. poisoned labels over the 5 agents} in [0, 1]."""
    n5 = df[(df.n_attackers == 5) & (df.eps == 0.55)]
    means = n5.groupby(["triggers", "label_overlap", "defense"])["acc_poisoned_labels"].mean() / 100.0
    return {(f"{t}/{o}%", d): float(v) for (t, o, d), v in means.items()}


def table6_rows() -> dict[str, MixedAttackerStrategy]:
    both = ("random-badnet", "orthogonal-badnet")
    overlaps = (0, 40, 100)
    mix = lambda name, blocks: MixedAttackerStrategy(name, tuple((1.0, configuration(t, o)) for t, o in blocks))  # noqa: E731
    return {
        "eps = 0.55": mix("eps = 0.55", [(t, o) for t in both for o in overlaps]),
        "0% label overlap": mix("0% label overlap", [(t, 0) for t in both]),
        "100% label overlap": mix("100% label overlap", [(t, 100) for t in both]),
        "Random triggers": mix("Random triggers", [("random-badnet", o) for o in overlaps]),
        "Orthogonal triggers": mix("Orthogonal triggers", [("orthogonal-badnet", o) for o in overlaps]),
    }


def derived_table() -> PayoffTable:
    payoffs = block_payoffs(pd.read_csv(PER_AGENT))
    records = []
    for row, mixed in table6_rows().items():
        for column, defense in (("No Defense", "none"), ("Defense", "adversarial-training")):
            u = mixed.expected_payoff({s.name: payoffs[(s.name, defense)] for _, s in mixed.components})
            records.append({"attacker": row, "defender": column, "attacker_payoff": round(u, 6), "defender_payoff": round(1 - u, 6)})
    comments = [
        "Table 6 rebuilt from the per-agent figures of Tables 3 and 4 (Datta & Shadbolt) by",
        "examples/table6_from_tables3_4.py: mixed strategies over the N=5, eps=0.55 blocks (No Defense)",
        "and the adversarial-training blocks (Defense). Derived, not printed in the paper.",
    ]
    return PayoffTable.from_records(records, meta={"comments": comments})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, help="write the derived table to this CSV/JSON file")
    args = ap.parse_args()
    derived = derived_table()
    published = PayoffTable.read(PUBLISHED)
    A_d, _ = derived.matrices()
    A_p, _ = published.matrices()
    print("attacker payoff ×100         derived (No Def, Def)   published (No Def, Def)")
    for i, row in enumerate(derived.attackers):
        j = published.attackers.index(row)
        print(f"  {row:22s}   ({A_d[i, 0] * 100:5.1f}, {A_d[i, 1] * 100:5.1f})          ({A_p[j, 0] * 100:5.1f}, {A_p[j, 1] * 100:5.1f})")
    for name, table in (("derived", derived), ("published", published)):
        for eq in NormalFormGame.from_table(table).equilibria():
            print(f"{name:9s} equilibrium: attackers {eq.mixture('attacker')}, defender {eq.mixture('defender')}, "
                  f"payoffs ({eq.attacker_payoff * 100:.1f}, {eq.defender_payoff * 100:.1f})")
    if args.write:
        derived.write(args.write)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
