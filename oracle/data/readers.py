"""Dataset file formats and their readers: the files each dataset may lie in, how each is read
into a :class:`~oracle.data.dataset.Dataset`, CIFAR-10 from the project's JPEG tarball
(decoded once, cached), and torchvision's download as the last resort.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import struct
import tarfile
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from oracle.data.allocation import stratified_permutation
from strategies.validate import DEFAULT_SEED
from oracle.data.dataset import Dataset
from oracle.progress import progress as progress_bar
from oracle.data.locations import DatasetNotFound, data_search_path, default_cache_dir, download_allowed, download_root

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_ORIGINAL_ORDER",
    "CIFAR10_TARBALL",
    "FORMATS",
    "FileFormat",
    "ReadOptions",
    "digits",
    "find_and_read",
    "load_cifar10_jpeg",
    "read_idx",
]

log = logging.getLogger("backfire.data")

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
STL10_CLASSES = (
    "airplane", "bird", "car", "cat", "deer",
    "dog", "horse", "monkey", "ship", "truck",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(i) for i in range(10))

CIFAR10_JPEG_DESCRIPTION = "CIFAR-10 (JPEG re-encoding)"
CIFAR10_TARBALL = "cifar10_jpg.tar.gz"
CIFAR10_ORIGINAL_ORDER = "cifar10_labels_original_order.npz"
#: Bump when the decoded cache's content or layout changes.
_CIFAR_CACHE_VERSION = "v1"
#: Fraction of the 8x8 digits held out as the test split.
DIGITS_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class FileFormat:
    """One way a dataset can lie in a folder: the files it needs (each a tuple
    of acceptable relative paths) and the reader that turns them into arrays."""

    files: tuple[tuple[str, ...], ...]
    read: Callable[[list[Path], ReadOptions], Dataset]

    def resolve(self, root: Path) -> list[Path] | None:
        paths = []
        for alternatives in self.files:
            hit = next((root / a for a in alternatives if (root / a).is_file()), None)
            if hit is None:
                return None
            paths.append(hit)
        return paths

    def names(self) -> str:
        return " + ".join("|".join(alts) if len(alts) > 1 else alts[0] for alts in self.files)


@dataclass(frozen=True)
class ReadOptions:
    cache_dir: str | os.PathLike[str] | None
    progress: bool


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an idx file (MNIST's format; gzip-compressed if it ends in ``.gz``)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an idx file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = data[2], data[3]
    if code not in dtypes:
        raise ValueError(f"{path}: unknown idx type code 0x{code:02x}")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = np.dtype(dtypes[code])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = data[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(f"{path}: idx header says {dims} ({expected} bytes), file holds {len(body)}")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _read_idx_pair(paths: list[Path], name: str, classes: tuple[str, ...], description: str) -> Dataset:
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    return Dataset(
        name=name,
        x_train=x_train[..., None],
        y_train=y_train,
        x_test=x_test[..., None],
        y_test=y_test,
        num_classes=len(classes),
        class_names=classes,
        description=description,
        source=str(paths[0].parent),
    )


def _idx_files(folder: str, gz_only: bool = False) -> tuple[tuple[str, ...], ...]:
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if gz_only:
        return tuple((f"{folder}/{s}.gz",) for s in stems)
    return tuple((f"{folder}/{s}", f"{folder}/{s}.gz") for s in stems)


def _read_mnist_npz(paths: list[Path], opts: ReadOptions) -> Dataset:
    with np.load(paths[0], allow_pickle=False) as z:
        arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    return Dataset(
        name="mnist",
        x_train=arrays["x_train"][..., None],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"][..., None],
        y_test=arrays["y_test"],
        num_classes=10,
        class_names=DIGIT_CLASSES,
        description="MNIST",
        source=str(paths[0]),
    )


def _read_svhn(paths: list[Path], opts: ReadOptions) -> Dataset:
    from scipy.io import loadmat

    arrays = []
    for p in paths:
        mat = loadmat(p)
        x = np.ascontiguousarray(np.transpose(mat["X"], (3, 0, 1, 2)))  # (H, W, C, N) -> NHWC
        y = mat["y"].astype(np.int64).reshape(-1)
        y[y == 10] = 0  # SVHN labels the digit 0 as 10 (as torchvision does)
        arrays += [x.astype(np.uint8, copy=False), y]
    return Dataset(
        name="svhn",
        x_train=arrays[0],
        y_train=arrays[1],
        x_test=arrays[2],
        y_test=arrays[3],
        num_classes=10,
        class_names=DIGIT_CLASSES,
        description="SVHN",
        source=str(paths[0].parent),
    )


def _read_stl10(paths: list[Path], opts: ReadOptions) -> Dataset:
    def images(p: Path) -> np.ndarray:
        raw = np.fromfile(p, dtype=np.uint8)
        if raw.size % (3 * 96 * 96):
            raise ValueError(f"{p}: {raw.size} bytes is not a whole number of 3x96x96 images")
        # stored column-major per channel: (N, C, W, H) -> NHWC
        return np.ascontiguousarray(raw.reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1))

    def labels(p: Path) -> np.ndarray:
        return np.fromfile(p, dtype=np.uint8).astype(np.int64) - 1  # 1-based on disk

    names_file = paths[0].parent / "class_names.txt"
    classes = STL10_CLASSES
    if names_file.is_file():
        listed = tuple(line.strip() for line in names_file.read_text().splitlines() if line.strip())
        if len(listed) == len(STL10_CLASSES):
            classes = listed
    return Dataset(
        name="stl10",
        x_train=images(paths[0]),
        y_train=labels(paths[1]),
        x_test=images(paths[2]),
        y_test=labels(paths[3]),
        num_classes=10,
        class_names=classes,
        description="STL-10",
        source=str(paths[0].parent),
    )


def _read_cifar10_bin(paths: list[Path], opts: ReadOptions) -> Dataset:
    def read(files: Iterable[Path]) -> tuple[np.ndarray, np.ndarray]:
        raw = np.concatenate([np.fromfile(f, dtype=np.uint8) for f in files]).reshape(-1, 1 + 3072)
        return np.ascontiguousarray(raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), raw[:, 0]

    x_train, y_train = read(paths[:5])
    x_test, y_test = read(paths[5:])
    return Dataset(
        "cifar10", x_train, y_train, x_test, y_test, 10, CIFAR10_CLASSES,
        description="CIFAR-10", source=str(paths[0].parent),
    )  # fmt: skip


def _read_cifar10_torchvision(paths: list[Path], opts: ReadOptions) -> Dataset:
    # torchvision's python batches are pickles; torchvision verifies each
    # file's MD5 against the published sums before unpickling.
    from torchvision.datasets import CIFAR10

    root = paths[0].parent.parent
    train = CIFAR10(str(root), train=True, download=False)
    test = CIFAR10(str(root), train=False, download=False)
    return Dataset(
        "cifar10", np.asarray(train.data), np.asarray(train.targets),
        np.asarray(test.data), np.asarray(test.targets), 10, CIFAR10_CLASSES,
        description="CIFAR-10", source=str(paths[0].parent),
    )  # fmt: skip


def _read_cifar10_jpeg(paths: list[Path], opts: ReadOptions) -> Dataset:
    return load_cifar10_jpeg(paths[0], cache_dir=opts.cache_dir, progress=opts.progress)


def digits(opts: ReadOptions) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)[..., None]
    y = bunch.target.astype(np.int64)
    order = stratified_permutation(y, DEFAULT_SEED)
    n_test = int(np.floor(DIGITS_TEST_FRACTION * y.size))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return Dataset(
        "digits", x[train], y[train], x[test], y[test], 10, DIGIT_CLASSES,
        description="UCI 8x8 digits (scikit-learn)", source="sklearn.datasets.load_digits",
    )  # fmt: skip


FORMATS: dict[str, tuple[FileFormat, ...]] = {
    "cifar10": (
        FileFormat(((CIFAR10_TARBALL,),), _read_cifar10_jpeg),
        FileFormat(
            tuple((f"cifar-10-batches-bin/{f}",) for f in (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")),
            _read_cifar10_bin,
        ),
        FileFormat(
            tuple((f"cifar-10-batches-py/{f}",) for f in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")),
            _read_cifar10_torchvision,
        ),
    ),
    "mnist": (
        FileFormat((("mnist_full_lossless.npz",),), _read_mnist_npz),
        FileFormat(_idx_files("MNIST/raw"), lambda p, o: _read_idx_pair(p, "mnist", DIGIT_CLASSES, "MNIST")),
    ),
    "fashion-mnist": (
        FileFormat(
            _idx_files("fashion-mnist", gz_only=True),
            lambda p, o: _read_idx_pair(p, "fashion-mnist", FASHION_MNIST_CLASSES, "Fashion-MNIST"),
        ),
        FileFormat(
            _idx_files("FashionMNIST/raw"),
            lambda p, o: _read_idx_pair(p, "fashion-mnist", FASHION_MNIST_CLASSES, "Fashion-MNIST"),
        ),
    ),
    "svhn": tuple(
        FileFormat(((f"{sub}train_32x32.mat",), (f"{sub}test_32x32.mat",)), _read_svhn)
        for sub in ("", "svhn/", "SVHN/")
    ),
    "stl10": (
        FileFormat(
            tuple((f"stl10_binary/{f}",) for f in ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")),
            _read_stl10,
        ),
    ),
}


def _torchvision_download(name: str, root: Path) -> None:
    """Download ``name`` with torchvision into ``root`` (raises on failure)."""
    import torchvision.datasets as tvd

    root.mkdir(parents=True, exist_ok=True)
    r = str(root)
    if name == "cifar10":
        tvd.CIFAR10(r, train=True, download=True)
        tvd.CIFAR10(r, train=False, download=True)
    elif name == "mnist":
        tvd.MNIST(r, train=True, download=True)
        tvd.MNIST(r, train=False, download=True)
    elif name == "fashion-mnist":
        tvd.FashionMNIST(r, train=True, download=True)
        tvd.FashionMNIST(r, train=False, download=True)
    elif name == "svhn":
        tvd.SVHN(str(root / "svhn"), split="train", download=True)
        tvd.SVHN(str(root / "svhn"), split="test", download=True)
    elif name == "stl10":
        tvd.STL10(r, split="train", download=True)
        tvd.STL10(r, split="test", download=True)
    else:  # pragma: no cover - every name with files is listed above
        raise ValueError(f"no torchvision download for {name!r}")


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
    if limit_per_class is not None and (
        isinstance(limit_per_class, bool) or not isinstance(limit_per_class, int) or limit_per_class < 1
    ):
        raise ValueError(f"limit_per_class = {limit_per_class!r}; allowed: None or an int ≥ 1")
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


def find_and_read(
    key: str,
    data_dir: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    download: bool | None,
    opts: ReadOptions,
) -> Dataset:
    formats = FORMATS[key]
    roots = data_search_path(data_dir, cache_dir)
    for root in roots:
        if not root.path.is_dir():
            continue
        for fmt in formats:
            paths = fmt.resolve(root.path)
            if paths is not None:
                log.info("%s: reading %s from %s (%s)", key, fmt.names(), root.path, root.origin)
                return fmt.read(paths, opts)

    expected = [f.names() for f in formats]
    allowed = download_allowed(download)
    if not allowed:
        raise DatasetNotFound(key, expected, roots, download_allowed=False)
    dl_root = download_root(cache_dir)
    try:
        _torchvision_download(key, dl_root)
    except Exception as e:  # network, disk, checksum: report, don't trace back
        reason = f"{type(e).__name__}: {e}".replace("\n", " ")
        raise DatasetNotFound(key, expected, roots, download_error=reason, download_allowed=True) from e
    for fmt in formats:
        paths = fmt.resolve(dl_root)
        if paths is not None:
            return fmt.read(paths, opts)
    raise DatasetNotFound(key, expected, roots, download_error=f"no expected file appeared in {dl_root}",
                          download_allowed=True)  # fmt: skip
