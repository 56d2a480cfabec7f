"""docs/tutorial.md, run as written: every ```sh block, in order, in an empty
folder with its own result cache, so that the tutorial cannot rot.

`pip install` lines are not run (the tests run inside the installed
environment); `backfire` and `python` are this interpreter with this
checkout on the path. A block that calls a `backfire` command this checkout
does not have yet is skipped, and so is every block after it (they build on
it), with the skip reported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oracle.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"


def shell_blocks(text: str) -> list[str]:
    """The bodies of the ```sh fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def known_commands() -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return set(sub.choices)


def unknown_command(block: str, known: set[str]) -> str | None:
    """The first `backfire X` of ``block`` whose X this checkout lacks, or None."""
    for name in re.findall(r"^\s*backfire\s+([a-z-]+)", block, flags=re.M):
        if name not in known:
            return name
    return None


def test_tutorial_has_the_whole_path():
    blocks = shell_blocks(TUTORIAL.read_text())
    text = "\n".join(blocks)
    for step in ("pip install", "cat > mygame.toml", "backfire status", "backfire fill mygame.toml --max-cells 1",
                 "backfire solve mygame.toml", "--bootstrap", "--json", "backfire table", "backfire plot"):
        assert step in text, step


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """Run the tutorial; {"dir", "outputs" (one per block run), "skipped" (reason or None)}."""
    where = tmp_path_factory.mktemp("tutorial")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BACKFIRE_CACHE": str(where / ".cache"),
           "OMP_NUM_THREADS": "1", "BACKFIRE_PROGRESS": "plain"}
    prelude = (f'set -euo pipefail\nbackfire() {{ "{sys.executable}" -m oracle.cli "$@"; }}\n'
               f'python() {{ "{sys.executable}" "$@"; }}\n')
    known = known_commands()
    outputs, skipped = [], None
    for block in shell_blocks(TUTORIAL.read_text()):
        missing = unknown_command(block, known)
        if missing:
            skipped = f"'backfire {missing}' is not in this checkout yet: this block and the ones after it not run"
            break
        body = "\n".join(line for line in block.splitlines() if not line.startswith("pip install"))
        res = subprocess.run(["bash", "-c", prelude + body], cwd=where, env=env, capture_output=True, text=True,
                             timeout=900)
        assert res.returncode == 0, f"tutorial block failed:\n{block}\n--- stdout\n{res.stdout}\n--- stderr\n{res.stderr}"
        assert "\r" not in res.stdout + res.stderr  # a log, not a terminal: plain progress lines
        outputs.append(res.stdout)
    return {"dir": where, "outputs": outputs, "skipped": skipped}


@pytest.mark.slow
def test_tutorial_runs_and_says_what_it_promises(tutorial):
    out = tutorial["outputs"]
    text = "\n".join(out)
    # step 3: no estimate before anything is cached, then one from the first job's timing, and the command to go on
    assert "no cached job with this environment and preset to estimate their time from" in out[2]
    assert "stopped after --max-cells 1: 3 job(s) left, about" in out[3]
    assert "go on with: backfire fill mygame.toml" in out[3]
    assert "3 of 4 distinct job(s) missing; about" in out[3] and "fill them: backfire fill mygame.toml" in out[3]
    # step 4: one line per job with what its figures mean; a readable equilibrium
    assert "per job: ASR = the attackers' attack success" in text
    assert "attacker plays:" in out[4] and "expected payoff:" in out[4]
    # step 5: three seeds, bootstrapped, flagged as thin
    assert "bootstrap:" in out[5] and "only 3 seed(s) (fewer than 5)" in out[5]
    # step 6: the exports
    assert (tutorial["dir"] / "equilibria.json").exists() and (tutorial["dir"] / "mygame.csv").exists()


@pytest.mark.slow
def test_tutorial_tables_and_figures(tutorial):
    if tutorial["skipped"]:
        pytest.skip(tutorial["skipped"])
    assert (tutorial["dir"] / "outcomes.csv").exists() and (tutorial["dir"] / "mygame.png").exists()
