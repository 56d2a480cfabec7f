"""CIFAR-10 from the project's JPEG tarball: read in one streaming pass, decoded
with Pillow once and cached as ``.npz`` (keyed by the tarball's content), and
put back in CIFAR-10's original batch order when the official labels lie
beside it. :mod:`oracle.data.readers` lists it among CIFAR-10's file formats.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tarfile
import time
import warnings
from pathlib import Path, PurePosixPath

import numpy as np

from oracle.data.dataset import Dataset
from oracle.data.locations import default_cache_dir
from oracle.progress import progress as progress_bar
from strategies.validate import check_int

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_JPEG_DESCRIPTION",
    "CIFAR10_ORIGINAL_ORDER",
    "CIFAR10_TARBALL",
    "load_cifar10_jpeg",
]

log = logging.getLogger("backfire.data")

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

CIFAR10_JPEG_DESCRIPTION = "CIFAR-10 (JPEG re-encoding)"
CIFAR10_TARBALL = "cifar10_jpg.tar.gz"
CIFAR10_ORIGINAL_ORDER = "cifar10_labels_original_order.npz"
#: Bump when the decoded cache's content or layout changes.
_CIFAR_CACHE_VERSION = "v1"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decode_cifar_tarball(path: Path, progress: bool, limit_per_class: int | None = None) -> dict[str, np.ndarray]:
    """Read every ``{train,test}/<class>/<file>.jpg`` in one streaming pass
    over the tarball (nothing is extracted to disk), then decode them with
    Pillow.

    Returns class-sorted arrays (classes in alphabetical order, files in
    name order within a class -- the original order) and the class names.
    With ``limit_per_class``, only the first that many files of each class
    and split are decoded.
    """
    from PIL import Image

    found: dict[str, list[tuple[str, str, bytes]]] = {"train": [], "test": []}
    with tarfile.open(path, "r|gz") as tf:
        for member in tf:
            if not member.isfile() or not member.name.lower().endswith((".jpg", ".jpeg")):
                continue
            parts = PurePosixPath(member.name).parts
            if len(parts) < 3 or parts[-3] not in found:
                continue
            f = tf.extractfile(member)
            assert f is not None
            found[parts[-3]].append((parts[-2], parts[-1], f.read()))

    classes = sorted({cls for cls, _, _ in found["train"]})
    test_classes = sorted({cls for cls, _, _ in found["test"]})
    if tuple(classes) != CIFAR10_CLASSES or tuple(test_classes) != CIFAR10_CLASSES:
        raise ValueError(
            f"{path}: class folders train={classes}, test={test_classes}; "
            f"expected CIFAR-10's {list(CIFAR10_CLASSES)}"
        )
    for split, items in found.items():
        # within a class, file name order = the original order (0000.jpg, 0001.jpg, ...)
        items.sort(key=lambda e: (e[0], len(e[1]), e[1]))
        if limit_per_class is not None:
            rank = np.arange(len(items)) - np.searchsorted([c for c, _, _ in items], [c for c, _, _ in items])
            found[split] = [e for e, r in zip(items, rank) if r < limit_per_class]

    out: dict[str, np.ndarray] = {"class_names": np.array(classes)}
    bar = progress_bar(desc="decoding CIFAR-10 JPEGs", unit="img", enabled=progress,
                       total=sum(len(v) for v in found.values()))  # fmt: skip
    try:
        for split, items in found.items():
            x = np.empty((len(items), 32, 32, 3), dtype=np.uint8)
            for i, (cls, fname, blob) in enumerate(items):
                with Image.open(io.BytesIO(blob)) as im:
                    arr = np.asarray(im.convert("RGB"))
                if arr.shape != (32, 32, 3):
                    raise ValueError(f"{path}: {split}/{cls}/{fname} is {arr.shape}, expected 32x32 RGB")
                x[i] = arr
                bar.update(1)
            out[f"x_{split}"] = x
            out[f"y_{split}"] = np.array([classes.index(c) for c, _, _ in items], dtype=np.int64)
    finally:
        bar.close()
    return out


def _to_original_order(arrays: dict[str, np.ndarray], order_file: Path) -> bool:
    """Put class-sorted arrays in CIFAR-10's original batch order in place,
    using the official labels in ``order_file``.  False if they do not fit."""
    with np.load(order_file, allow_pickle=False) as z:
        original = {s: z[f"y_{s}"].astype(np.int64) for s in ("train", "test")}
    for split in ("train", "test"):
        y_sorted, y_orig = arrays[f"y_{split}"], original[split]
        if y_orig.shape != y_sorted.shape or not np.array_equal(
            np.bincount(y_orig, minlength=10), np.bincount(y_sorted, minlength=10)
        ):
            return False
    for split in ("train", "test"):
        y_orig = original[split]
        # the k-th image of class c in the original order is file k of class c
        where = np.empty_like(y_orig)
        where[np.argsort(y_orig, kind="stable")] = np.arange(y_orig.size)
        arrays[f"x_{split}"] = arrays[f"x_{split}"][where]
        arrays[f"y_{split}"] = arrays[f"y_{split}"][where]
        assert np.array_equal(arrays[f"y_{split}"], y_orig)
    return True


def load_cifar10_jpeg(
    tarball: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    original_order: bool = True,
    limit_per_class: int | None = None,
) -> Dataset:
    """CIFAR-10 from the JPEG tarball, decoded once and cached as ``.npz``.

    The cache file is ``<cache>/cifar10_jpg-v1-<sha256[:16]>.npz`` (keyed by
    the tarball's content, so a changed tarball is decoded again).  If
    ``original_order`` and ``cifar10_labels_original_order.npz`` lies beside
    the tarball, images are returned in CIFAR-10's original batch order (the
    order torchvision uses); otherwise sorted by class, original order within
    a class.  Labels: class folders sorted alphabetically (airplane = 0).

    ``limit_per_class`` decodes only the first that many images of each class
    in each split (for quick tests; cached separately, always class-sorted).
    """
    tarball = Path(tarball)
    if limit_per_class is not None:
        check_int("limit_per_class", limit_per_class, 1)
    key = _sha256(tarball)[:16]
    suffix = "" if limit_per_class is None else f"-limit{limit_per_class}"
    cache_file = default_cache_dir(cache_dir) / f"cifar10_jpg-{_CIFAR_CACHE_VERSION}-{key}{suffix}.npz"
    names = ("x_train", "y_train", "x_test", "y_test", "class_names")
    arrays: dict[str, np.ndarray] | None = None
    if cache_file.is_file():
        t0 = time.perf_counter()
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                arrays = {k: z[k] for k in names}
            log.info("loaded decoded CIFAR-10 from %s in %.2f s", cache_file, time.perf_counter() - t0)
        except Exception as e:  # corrupt or partial cache: decode again
            warnings.warn(f"ignoring unreadable cache {cache_file}: {e}", stacklevel=2)
            arrays = None
    if arrays is None:
        t0 = time.perf_counter()
        arrays = _decode_cifar_tarball(tarball, progress, limit_per_class)
        log.info("decoded %d CIFAR-10 JPEGs in %.1f s", len(arrays["y_train"]) + len(arrays["y_test"]),
                 time.perf_counter() - t0)  # fmt: skip
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, cache_file)
        except OSError as e:
            warnings.warn(f"could not write the CIFAR-10 cache {cache_file}: {e}", stacklevel=2)

    source = str(tarball)
    order_file = tarball.parent / CIFAR10_ORIGINAL_ORDER
    if original_order and limit_per_class is None and order_file.is_file():
        if _to_original_order(arrays, order_file):
            source += " (original CIFAR-10 order)"
        else:
            warnings.warn(f"{order_file} does not match {tarball}; keeping class-sorted order", stacklevel=2)
    return Dataset(
        name="cifar10",
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        num_classes=10,
        class_names=tuple(str(c) for c in arrays["class_names"]),
        description=CIFAR10_JPEG_DESCRIPTION,
        source=source,
    )
