"""Write the measured profiles of a game where each attacker chooses to a JSON file, with its provenance.

    python examples/export_symmetric_game.py examples/games/escalation.toml examples/payoffs/escalation_measured.json \
        --cache CACHE --hardware "2-core VM shared with other jobs" --note "..."

The file (:mod:`gametheory.symmetric_file`) holds every profile with cached
results (per-seed payoffs), the spec's text, the commit, the hardware, the
date and the fill's notes; ``read_symmetric_game`` reads it back without the
oracle, the dataset or torch (the example notebooks do).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
from pathlib import Path

from gametheory.symmetric_file import write_symmetric_game
from oracle.fill import make_oracle
from oracle.store.cache import ResultCache
from oracle.symmetric_fill import cached_game
from oracle.symmetric_spec import load_game_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("out")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--hardware", default=f"{platform.machine()}, {platform.processor() or 'cpu'}")
    parser.add_argument("--note", action="append", default=[], help="a line of notes (how it was filled, times)")
    args = parser.parse_args()
    spec = load_game_spec(args.spec)
    oracle = make_oracle(spec, cache=ResultCache(args.cache), train=False)
    game = cached_game(oracle)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {"spec_file": args.spec, "spec": Path(args.spec).read_text(encoding="utf-8"), "commit": commit,
            "hardware": args.hardware, "date": datetime.date.today().isoformat(), "notes": args.note}
    write_symmetric_game(args.out, game, meta)
    print(f"{args.out}: {len(game.known_profiles())} of {game.num_profiles} profiles")


if __name__ == "__main__":
    main()
