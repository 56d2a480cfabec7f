"""Dataset file formats and their readers: the files each dataset may lie in, how each is read
into a :class:`~oracle.data.dataset.Dataset`, and torchvision's download as the last resort.
CIFAR-10's JPEG tarball (decoded once, cached) is read by :mod:`oracle.data.cifar10_jpeg`.
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oracle.data.allocation import stratified_permutation
from strategies.validate import DEFAULT_SEED
from oracle.data.cifar10_jpeg import CIFAR10_CLASSES, CIFAR10_TARBALL, load_cifar10_jpeg
from oracle.data.dataset import Dataset
from oracle.data.locations import DatasetNotFound, data_search_path, download_allowed, download_root

__all__ = [
    "FORMATS",
    "FileFormat",
    "ReadOptions",
    "digits",
    "find_and_read",
    "read_idx",
]

log = logging.getLogger("backfire.data")

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
STL10_CLASSES = (
    "airplane", "bird", "car", "cat", "deer",
    "dog", "horse", "monkey", "ship", "truck",
)  # fmt: skip
DIGIT_CLASSES = tuple(str(i) for i in range(10))

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
