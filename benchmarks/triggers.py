"""Benchmark: build N attackers' triggers and poison a batch of images.

Times, for 32×32×3 images (CIFAR-10's shape) by default:

* expanding an attacker strategy into N actions;
* building the N attackers' triggers with each generator (Random-BadNet,
  Orthogonal-BadNet, Rotated-BadNet, Patch-BadNet), from the actions
  (``make_triggers``);
* poisoning B images spread over the N attackers (``apply_triggers``):
  bitwise for replacement triggers, a float64 blend for Orthogonal-BadNet.

Each figure is the median (and the minimum) of ``--repeat`` runs after one
warm-up run (the warm-up also pays scipy.stats' import for the orthogonal
matrices). Images are random uint8 arrays: the cost does not depend on the
content.

    python benchmarks/triggers.py                      # N = 1,000, B = 50,000
    python benchmarks/triggers.py --attackers 100 --images 10000 --shape 28 28 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from strategies import AttackerStrategy, apply_triggers, make_triggers  # noqa: E402


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.strip().lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def timed(fn, repeat: int) -> tuple[float, float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attackers", type=int, default=1000)
    ap.add_argument("--images", type=int, default=50_000)
    ap.add_argument("--shape", type=int, nargs=3, default=(32, 32, 3), metavar=("H", "W", "C"))
    ap.add_argument("--eps", type=float, default=0.55)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    shape = tuple(args.shape)
    n, b = args.attackers, args.images

    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"N = {n} attackers, B = {b} images of {shape[0]}x{shape[1]}x{shape[2]}, "
          f"eps = {args.eps}, median (min) of {args.repeat} runs\n")

    strategies = {
        "random-badnet": AttackerStrategy.independent(eps=args.eps),
        "orthogonal-badnet": AttackerStrategy.orthogonal(eps=args.eps),
        "rotated-badnet": AttackerStrategy("rotated", trigger="rotated-badnet", eps=args.eps),
        "patch-badnet": AttackerStrategy("patch", trigger="patch-badnet", eps=args.eps),
    }
    med, lo, actions = timed(lambda: strategies["random-badnet"].expand(n, 10), args.repeat)
    print(f"{'expand strategy -> actions':<40} {med:8.3f} s  ({lo:.3f})")

    built = {}
    for name, strat in strategies.items():
        acts = strat.expand(n, 10)
        med, lo, trig = timed(lambda: make_triggers(acts, shape), args.repeat)
        built[name] = trig
        print(f"{'triggers: ' + name:<40} {med:8.3f} s  ({lo:.3f})")

    rng = np.random.RandomState(3407)
    images = rng.randint(0, 256, size=(b,) + shape, dtype=np.uint8)
    who = rng.randint(0, n, size=b)
    for name in ("random-badnet", "orthogonal-badnet", "rotated-badnet"):
        med, lo, _ = timed(lambda: apply_triggers(images, who, built[name]), args.repeat)
        print(f"{'poison ' + str(b) + ' images: ' + name:<40} {med:8.3f} s  ({lo:.3f})")


if __name__ == "__main__":
    main()
