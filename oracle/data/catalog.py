"""The dataset registry (torch-free): every dataset a game may name, with the statistics training needs.

:data:`DATASETS` (a :class:`strategies.registry.Registry`) holds one :class:`DatasetSpec` per
dataset. backfire reads its own from files (:mod:`oracle.data.readers`, :func:`oracle.data.datasets.load_dataset`);
a plug-in brings ``implementation(data_dir) -> Dataset`` and is named in a spec as
``"package.module:NAME"`` (docs/plugins.md). A dataset without normalisation statistics can be
read (and poisoned) but not trained on, so a game spec naming it is refused when it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strategies.registry import Registry

__all__ = ["DATASETS", "DatasetSpec", "trainable_datasets"]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its name, what it is, and the per-channel ``(mean, std)`` of its pixel values in
    [0, 1] (None: not known here, so no victim can be trained on it). ``implementation``: a
    plug-in's ``load(data_dir) -> oracle.data.dataset.Dataset``; None for backfire's own.
    tests/test_data.py checks ``num_classes`` and ``n_images`` against the loaded data."""

    name: str
    description: str
    normalization: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    implementation: Any = None
    #: What a game spec checks against without loading the data: the number of classes (target labels
    #: lie in 0 … num_classes − 1) and of images, train + test (``n_images`` at most this). None: not
    #: known (a plug-in may leave them out; they are then checked when the data is loaded).
    num_classes: int | None = None
    n_images: int | None = None


#: CIFAR-10: the training set's statistics (std is the true per-channel standard deviation, not the
#: often-quoted 0.2023/0.1994/0.2010). MNIST and Fashion-MNIST: the training sets' statistics
#: (PyTorch's MNIST example uses the same 0.1307/0.3081). ``digits``: scikit-learn's 8×8 digits (all
#: 1,797 images), whose values 0–16 are taken as 0–255 (value × 255 / 16).
DATASETS: Registry[DatasetSpec] = Registry("dataset", DatasetSpec, (
    DatasetSpec("cifar10", "CIFAR-10", ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
                num_classes=10, n_images=60_000),
    DatasetSpec("mnist", "MNIST", ((0.1307,), (0.3081,)), num_classes=10, n_images=70_000),
    DatasetSpec("fashion-mnist", "Fashion-MNIST", ((0.2860,), (0.3530,)), num_classes=10, n_images=70_000),
    DatasetSpec("digits", "UCI 8x8 digits (scikit-learn)", ((0.3053,), (0.3760,)), num_classes=10, n_images=1_797),
    # 73,257 train + 26,032 test (extra not loaded)
    DatasetSpec("svhn", "SVHN (read, not trainable: no normalisation statistics measured here)",
                num_classes=10, n_images=99_289),
    # 5,000 train + 8,000 test (unlabelled not loaded)
    DatasetSpec("stl10", "STL-10 (read, not trainable: no normalisation statistics measured here)",
                num_classes=10, n_images=13_000),
))


def trainable_datasets() -> tuple[str, ...]:
    """The registered datasets a victim can be trained on (those with normalisation statistics)."""
    return tuple(name for name, spec in DATASETS.items() if spec.normalization is not None)
