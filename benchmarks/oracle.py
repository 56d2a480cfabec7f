"""Seconds per cell and peak memory of the payoff oracle.

    python benchmarks/oracle.py quickstart          # the quickstart game on this machine (CPU)
    python benchmarks/oracle.py cifar-resnet18      # one full-size CIFAR-10 ResNet-18 cell, `paper` and `fast`
                                                    # presets side by side in one run (needs a GPU to be practical)

Every cell is trained afresh into a temporary cache (nothing is reused), so
the figures are the real cost of a cell: poisoning, training, measuring.
`cifar-resnet18` trains the same cell (N = 5 independent attackers,
ε = p = 0.55, V_d = 0.1) with both presets and prints seconds, epochs, clean
accuracy and attack success of each, and the ratio of their times: the figure
that matters (aim: ≥ 20× at comparable clean accuracy).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would shadow the `oracle` package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import numpy as np

from oracle.store.cache import ResultCache
from oracle.payoff_oracle import PayoffOracle
from oracle.specs import Environment, GameSpec, load_spec
from strategies import AttackerStrategy, DefenderStrategy

ROOT = Path(__file__).resolve().parents[1]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _gpu_peak_mb() -> float | None:
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**20
    except ImportError:  # pragma: no cover
        pass
    return None


def _run(spec: GameSpec, device: str | None) -> list[tuple[str, float, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        oracle = PayoffOracle(spec, cache=ResultCache(Path(tmp) / "bench.sqlite"), device=device, progress=False)
        _ = oracle.dataset  # load (and decode) the data outside the timed part
        for job in oracle.jobs():
            t = time.perf_counter()
            outcome = oracle.run(job)
            rows.append((job.describe(), time.perf_counter() - t, outcome))
    return rows


def _print(rows, title: str) -> None:
    import torch

    from oracle.victims.train import device_info

    info = device_info(None)
    print(f"{title}; device {info.get('gpu') or info.get('device')}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    print(f"{'cell':48s} {'seconds':>8} {'epochs':>6} {'val acc':>7} {'clean acc':>9} {'ASR':>6}")
    for name, secs, o in rows:
        print(f"{name:48s} {secs:8.1f} {o.extra.get('epochs', 0):>6} {o.defender_val_acc * 100:7.1f} "
              f"{np.nanmean(o.clean_acc) * 100:9.1f} {o.attacker_payoff * 100:6.1f}")
    total = sum(s for _, s, _ in rows)
    gpu = _gpu_peak_mb()
    print(f"total {total:.1f} s for {len(rows)} cells ({total / max(1, len(rows)):.1f} s per cell); peak RSS "
          f"{_peak_rss_mb():.0f} MB" + (f", peak GPU memory {gpu:.0f} MB" if gpu is not None else ""))


def quickstart(device: str | None) -> None:
    spec = load_spec(ROOT / "examples" / "games" / "quickstart.toml")
    _print(_run(spec, device), "quickstart game (examples/games/quickstart.toml)")


def cifar_resnet18(device: str | None) -> None:
    rows = []
    for preset in ("fast", "paper"):
        env = Environment(dataset="cifar10", v_d=0.1, n_max=5, preset=preset)
        spec = GameSpec(name=f"cifar-resnet18-{preset}", environment=env, n_attackers=5,
                        attackers={"independent": AttackerStrategy.independent(eps=0.55, p=0.55)},
                        defenders={f"ResNet-18 ({preset})": DefenderStrategy("resnet18", "none", name=f"ResNet-18 ({preset})")})
        rows += _run(spec, device)
    _print(rows, "one CIFAR-10 (JPEG re-encoding) ResNet-18 cell, N = 5, per preset")
    (_, fast_s, fast_o), (_, paper_s, paper_o) = rows
    print(f"paper / fast time ratio: {paper_s / fast_s:.1f}×; clean accuracy paper {np.nanmean(paper_o.clean_acc) * 100:.1f} "
          f"vs fast {np.nanmean(fast_o.clean_acc) * 100:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=["quickstart", "cifar-resnet18"])
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    {"quickstart": quickstart, "cifar-resnet18": cifar_resnet18}[args.which](args.device)


if __name__ == "__main__":
    main()
