"""Stage what a bare GPU machine needs for ``benchmarks/gpu_suite.py``: the datasets and the missing wheels.

    python benchmarks/stage_gpu.py                 # copy the data into .data/, fetch the wheels into .whl/, write the manifest
    python benchmarks/stage_gpu.py --check         # verify .data/SHA256SUMS (run this on the GPU machine)

Both folders are git-ignored; they travel to the device machine as ``carry``
paths (64 MiB in all with the working tree), and the suite reads them there
with ``BACKFIRE_DATA=.data`` and ``PYTHONPATH=/tmp/site:.`` after
``pip install --target /tmp/site .whl/*.whl`` (benchmarks/README.md has the
exact command). The device image (KINDS.md in the device tool's notes)
already holds torch, torchvision, numpy, scipy, pandas, networkx,
matplotlib, scikit-learn, tqdm, safetensors, pillow and wrapt; of this
project's dependencies it lacks nashpy (and nashpy's own ``deprecated``) and
tomli-w, which are pure-Python wheels fetched here with ``pip download``.

The manifest ``.data/SHA256SUMS`` lists the SHA-256 of every staged file
(data and wheels), in ``sha256sum -c`` format, paths relative to the
repository root.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".data"
WHEEL_DIR = ROOT / ".whl"
MANIFEST = DATA_DIR / "SHA256SUMS"

#: The files the suite's steps read (shared/data/README.md): CIFAR-10 (JPEG re-encoding) and its original order for
#: the oracle, Table 6 and E5; the Southwest edge cases for the federated steps; MNIST and ARDIS for the reduced
#: federation (the smoke size).
DATA_FILES = ("cifar10_jpg.tar.gz", "cifar10_labels_original_order.npz", "southwest_edgecase.npz",
              "ardis_edgecase.npz", "mnist_full_lossless.npz")
#: Pure-Python wheels the device image lacks (the versions this project is tested with).
WHEELS = ("nashpy==0.0.43", "deprecated==1.3.1", "tomli-w==1.2.0")
#: What one device call carries at most (the working tree and the carried folders together).
CARRY_LIMIT = 64 * 2**20
PIP_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def stage_data(source: Path) -> list[Path]:
    """Copy :data:`DATA_FILES` from ``source`` into ``.data/`` (a file already there with the same content stays)."""
    missing = [name for name in DATA_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source}: missing {', '.join(missing)}; allowed: a folder holding {', '.join(DATA_FILES)}")
    DATA_DIR.mkdir(exist_ok=True)
    staged = []
    for name in DATA_FILES:
        target = DATA_DIR / name
        if not (target.is_file() and sha256(target) == sha256(source / name)):
            shutil.copyfile(source / name, target)
        staged.append(target)
    return staged


def stage_wheels() -> list[Path]:
    """``pip download`` :data:`WHEELS` for CPython 3.12 on x86-64 Linux (the device image's Python) into ``.whl/``."""
    WHEEL_DIR.mkdir(exist_ok=True)
    platforms = [a for p in PIP_PLATFORMS for a in ("--platform", p)]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version",
           "3.12", "--implementation", "cp", *platforms, "-d", str(WHEEL_DIR), *WHEELS]
    subprocess.run(cmd, check=True)
    wheels = sorted(WHEEL_DIR.glob("*.whl"))
    names = {w.name.split("-")[0].lower().replace("_", "-") for w in wheels}
    if len(wheels) != len(names):
        raise RuntimeError(f"{WHEEL_DIR} holds two versions of one package ({', '.join(w.name for w in wheels)}): "
                           "remove the old ones, pip install on the device refuses two")
    return wheels


def write_manifest(files: list[Path]) -> str:
    text = "".join(f"{sha256(p)}  {p.relative_to(ROOT)}\n" for p in sorted(files))
    MANIFEST.write_text(text, encoding="utf-8")
    return text


def check_manifest() -> list[str]:
    """The staged files whose SHA-256 differs from the manifest's, or that are missing (empty: all good)."""
    if not MANIFEST.is_file():
        return [f"{MANIFEST.relative_to(ROOT)} (no manifest: run benchmarks/stage_gpu.py first)"]
    bad = []
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        digest, rel = line.split(maxsplit=1)
        path = ROOT / rel
        if not path.is_file() or sha256(path) != digest:
            bad.append(rel)
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-from", default=str(ROOT.parent / "shared" / "data"),
                    help="folder holding the data files (default: ../shared/data beside the checkout)")
    ap.add_argument("--no-wheels", action="store_true", help="stage the data only (wheels already in .whl/)")
    ap.add_argument("--check", action="store_true", help="only verify the staged files against the manifest")
    args = ap.parse_args(argv)
    if args.check:
        bad = check_manifest()
        print("staged files match the manifest" if not bad else f"staged files that do not match: {', '.join(bad)}")
        return 1 if bad else 0
    try:
        files = stage_data(Path(args.data_from))
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    files += sorted(WHEEL_DIR.glob("*.whl")) if args.no_wheels else stage_wheels()
    print(write_manifest(files), end="")
    total = sum(p.stat().st_size for p in files)
    print(f"staged {len(files)} files, {total / 2**20:.1f} MiB (a device call carries at most "
          f"{CARRY_LIMIT / 2**20:.0f} MiB with the working tree); manifest {MANIFEST.relative_to(ROOT)}")
    return 0 if total < CARRY_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
