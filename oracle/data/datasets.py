"""Offline image datasets as NHWC uint8 arrays.

``load_dataset(name)`` returns a frozen :class:`Dataset` for a dataset of the registry
:data:`oracle.data.catalog.DATASETS` (a plug-in's is loaded by its own ``implementation``);
backfire's own:

==================  ==========================================================
``cifar10``         ``cifar10_jpg.tar.gz`` (the project's JPEG re-encoding,
                    decoded once with Pillow and cached as ``.npz``), else
                    CIFAR-10's binary version ``cifar-10-batches-bin/``, else
                    torchvision's ``cifar-10-batches-py/`` (read through
                    torchvision, which checks its MD5 sums first).
``mnist``           ``mnist_full_lossless.npz``, else torchvision's
                    ``MNIST/raw/*-ubyte[.gz]`` idx files.
``fashion-mnist``   ``fashion-mnist/*-ubyte.gz``, else torchvision's
                    ``FashionMNIST/raw/*-ubyte[.gz]``.
``digits``          scikit-learn's 8x8 UCI digits (ships with sklearn), values
                    0..16 rescaled to 0..255, a seeded (3407) stratified
                    80/20 train/test split.
``svhn``            torchvision's ``train_32x32.mat`` / ``test_32x32.mat`` (in
                    the data folder or its ``svhn/`` subfolder); ``extra`` is
                    not loaded.
``stl10``           torchvision's ``stl10_binary/{train,test}_{X,y}.bin``;
                    native 96x96 (the unlabelled split is not loaded).  Pass
                    ``resize=32`` to pair it with CIFAR-10; otherwise the
                    model zoo sees 96x96 inputs.
==================  ==========================================================

Where the files are looked for, in order (:func:`data_search_path`):

1. the ``data_dir`` argument (the CLI's ``--data-dir``);
2. the environment variable ``BACKFIRE_DATA``;
3. a ``shared/data`` folder in an ancestor of the working directory or of this
   package -- i.e. ``../shared/data`` beside a checkout;
4. torchvision's download folder ``<cache>/torchvision``, where, if allowed
   (``download=True``, or ``BACKFIRE_DOWNLOAD=1``; on by default), torchvision
   downloads the dataset when nothing was found.

A dataset found nowhere raises :class:`DatasetNotFound` (a
``FileNotFoundError``) naming the files expected, every folder looked in, the
download's failure if one was tried, and how to point the loader at the data.

Cache folder (decoded CIFAR-10, downloads): the ``cache_dir`` argument, else
``BACKFIRE_CACHE``, else ``$XDG_CACHE_HOME/backfire``, else
``~/.cache/backfire``.  The decoded CIFAR-10 cache is keyed by the SHA-256 of
the tarball, so a changed tarball is decoded again; it is a plain ``.npz``
read with ``allow_pickle=False``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass

import numpy as np

from oracle.data.allocation import stratified_permutation
from strategies.validate import DEFAULT_SEED, check_int, check_name, is_int, out_of_range, round_half_up
from oracle.data.catalog import DATASETS
from oracle.data.dataset import Dataset
from oracle.data.readers import ReadOptions, digits, find_and_read
from strategies.registry import is_reference

__all__ = ["load_dataset", "resize_images", "subset", "subset_of_whole"]


def resize_images(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize NHWC uint8 images to ``size = (H, W)`` with Pillow (bilinear,
    antialiased when shrinking)."""
    from PIL import Image

    if x.shape[1:3] == size:
        return x
    out = np.empty((x.shape[0], size[0], size[1], x.shape[3]), dtype=np.uint8)
    for i, img in enumerate(x):
        pil = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)
        arr = np.asarray(pil.resize((size[1], size[0]), Image.Resampling.BILINEAR))
        out[i] = arr.reshape(size[0], size[1], x.shape[3])
    return out


def normalise_name(name: str) -> str:
    """The registry name of ``name`` (case and ``_``/``-`` forgiven for backfire's own; a plug-in
    reference as is)."""
    if not isinstance(name, str):
        check_name("dataset", name, DATASETS)
    if is_reference(name):
        DATASETS[name]  # loads the plug-in, or a one-line ValueError
        return name
    key = name.strip().lower().replace("_", "-")
    if key not in DATASETS:
        check_name("dataset", name, DATASETS)
    return key


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
    resize: int | tuple[int, int] | None = None,
    progress: bool | None = None,
) -> Dataset:
    """Load a dataset by name (a name of :data:`oracle.data.catalog.DATASETS`).

    ``data_dir`` goes first in the search path (module docstring).
    ``download``: allow torchvision to download into ``<cache>/torchvision``
    when nothing is found (default: ``$BACKFIRE_DOWNLOAD``, on if unset).
    ``resize``: an int or ``(H, W)`` to resize every image (Pillow, bilinear);
    ``None`` keeps native sizes (STL-10 stays 96x96).  ``progress``: show a
    progress bar for long decodes (default: when stderr is a terminal).
    """
    key = normalise_name(name)
    if resize is not None:
        size = (resize, resize) if isinstance(resize, int) else tuple(resize)
        if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size):
            out_of_range("resize", resize, "a positive int or (H, W) of positive ints")
    opts = ReadOptions(cache_dir=cache_dir, progress=sys.stderr.isatty() if progress is None else bool(progress))

    plugin = DATASETS[key].implementation
    if plugin is not None:
        ds = plugin(data_dir)
        if not isinstance(ds, Dataset):
            raise ValueError(f"dataset plug-in {key!r} returned a {type(ds).__name__}, not an oracle.data.dataset.Dataset")
        ds = dataclasses.replace(ds, name=key)  # the name training looks statistics up by
    elif key == "digits":
        ds = digits(opts)
    else:
        ds = find_and_read(key, data_dir, cache_dir, download, opts)
    if resize is not None and ds.shape[:2] != size:
        ds = Dataset(
            name=ds.name,
            x_train=resize_images(ds.x_train, size),  # type: ignore[arg-type]
            y_train=ds.y_train,
            x_test=resize_images(ds.x_test, size),  # type: ignore[arg-type]
            y_test=ds.y_test,
            num_classes=ds.num_classes,
            class_names=ds.class_names,
            description=f"{ds.description}, resized to {size[0]}x{size[1]}",
            source=ds.source,
        )
    return ds


def subset(
    dataset: Dataset,
    n_train: int,
    n_test: int,
    seed: int = DEFAULT_SEED,
    stratified: bool = True,
) -> Dataset:
    """A smaller copy of ``dataset``: ``n_train`` training and ``n_test`` test
    images drawn without replacement (stratified by class if ``stratified``),
    kept in their original relative order.  For tests and quick starts."""
    for field, value, limit in (("n_train", n_train, dataset.n_train), ("n_test", n_test, dataset.n_test)):
        check_int(field, value, 1 if field == "n_train" else 0, limit)
    rng = np.random.default_rng(seed)

    def pick(y: np.ndarray, n: int) -> np.ndarray:
        order = stratified_permutation(y, rng) if stratified else rng.permutation(y.size)
        return np.sort(order[:n])

    tr, te = pick(dataset.y_train, int(n_train)), pick(dataset.y_test, int(n_test))
    return Dataset(
        name=dataset.name,
        x_train=dataset.x_train[tr],
        y_train=dataset.y_train[tr],
        x_test=dataset.x_test[te],
        y_test=dataset.y_test[te],
        num_classes=dataset.num_classes,
        class_names=dataset.class_names,
        description=f"{dataset.description}, subset {n_train}/{n_test} (seed {seed})",
        source=dataset.source,
    )


def subset_of_whole(dataset: Dataset, n_images: int | None, seed: int = DEFAULT_SEED) -> Dataset:
    """A stratified subset of ``n_images`` of the whole dataset, split between train and test in the
    dataset's own proportion (:func:`subset`); the dataset itself for ``None`` or all its images."""
    total = dataset.n_train + dataset.n_test
    if n_images is None or n_images == total:
        return dataset
    if not (is_int(n_images) and 1 <= n_images <= total):
        out_of_range("n_images", n_images, f"[1, {total}] (the images of {dataset.name})")
    # halves up; a tie (CIFAR-10 with n_images = 6k + 3) moves one image between train and test versus
    # banker's rounding, which the content fingerprint in every key that uses the subset sees
    n_test = round_half_up(n_images * dataset.n_test / total)
    return subset(dataset, int(n_images) - n_test, n_test, seed=seed)

