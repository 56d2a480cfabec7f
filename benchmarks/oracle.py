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
from typing import Callable

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


def run_cells(spec: GameSpec, device: str | None, cache: ResultCache | None = None,
              on_cell: Callable[[str, float, object], None] | None = None) -> list[tuple[str, float, object]]:
    """Train every cell of ``spec`` afresh; ``[(cell, seconds, outcome)]``.

    The dataset is loaded outside the timed part. ``cache``: where outcomes
    are kept (default: a temporary one, so nothing is reused: the suite's
    cache in ``benchmarks/gpu_suite.py``, where a cell found there is served
    from it and its time is the lookup's). ``on_cell`` is called as each
    cell finishes.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = cache or ResultCache(Path(tmp) / "bench.sqlite")
        oracle = PayoffOracle(spec, cache=cache, device=device, progress=False)
        _ = oracle.dataset  # load (and decode) the data outside the timed part
        for job in oracle.jobs():
            t = time.perf_counter()
            outcome = oracle.run(job)
            rows.append((job.describe(), time.perf_counter() - t, outcome))
            if on_cell:
                on_cell(*rows[-1])
    return rows


def _print(rows, title: str) -> None:
    import torch

    from oracle.victims.device import device_info

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
    _print(run_cells(spec, device), "quickstart game (examples/games/quickstart.toml)")


def preset_spec(preset: str, dataset: str = "cifar10", architecture: str = "resnet18", n_images: int | None = None,
                overrides: dict | None = None) -> GameSpec:
    """The benchmark's one cell (N = 5 independent attackers, ε = p = 0.55, V_d = 0.1) with ``preset``."""
    env = Environment(dataset=dataset, n_images=n_images, v_d=0.1, n_max=5, preset=preset,
                      preset_overrides=overrides or {})
    name = f"{architecture} ({preset})"
    return GameSpec(name=f"{dataset}-{architecture}-{preset}", environment=env, n_attackers=5,
                    attackers={"independent": AttackerStrategy.independent(eps=0.55, p=0.55)},
                    defenders={name: DefenderStrategy(architecture, "none", name=name)})


def compare_presets(device: str | None, presets: tuple[str, ...] = ("fast", "paper"), cache: ResultCache | None = None,
                    on_cell: Callable | None = None, **cell: object) -> list[tuple[str, float, object]]:
    """The same cell trained with each preset in turn, side by side in this process (``cell``: :func:`preset_spec`'s
    options); rows as :func:`run_cells`."""
    rows = []
    for preset in presets:
        rows += run_cells(preset_spec(preset, **cell), device, cache, on_cell)
    return rows


def cifar_resnet18(device: str | None) -> None:
    rows = compare_presets(device)
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
