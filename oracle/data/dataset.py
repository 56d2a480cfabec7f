"""The dataset record: a frozen train/test pair of NHWC uint8 image arrays with its labels.

Loading by name: :func:`oracle.data.datasets.load_dataset`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from strategies.validate import check_int

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A labelled image dataset: NHWC ``uint8`` images, ``int64`` labels.

    Arrays are made read-only (copy before modifying, e.g. for poisoning).
    ``description`` is what reports should print (e.g. "CIFAR-10 (JPEG
    re-encoding)"); ``source`` says where it was read from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    class_names: tuple[str, ...]
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "class_names", tuple(str(c) for c in self.class_names))
        set_(self, "num_classes", int(self.num_classes))
        if not self.description:
            set_(self, "description", self.name)
        if len(self.class_names) != self.num_classes:
            raise ValueError(
                f"class_names has {len(self.class_names)} names; allowed: num_classes = {self.num_classes}"
            )
        shapes = set()
        for split in ("train", "test"):
            x = np.asarray(getattr(self, f"x_{split}"))
            y = np.asarray(getattr(self, f"y_{split}"))
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(
                    f"x_{split} has dtype {x.dtype} and shape {x.shape}; allowed: uint8 (N, H, W, C)"
                )
            if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(
                    f"y_{split} has dtype {y.dtype} and shape {y.shape}; allowed: integer ({x.shape[0]},)"
                )
            bad = np.flatnonzero((y < 0) | (y >= self.num_classes))
            if bad.size:
                check_int(f"y_{split}[{bad[0]}]", int(y[bad[0]]), 0, self.num_classes - 1)
            shapes.add(x.shape[1:])
            # read-only views: the caller's own arrays keep their flags
            x, y = x.view(), y.astype(np.int64, copy=False).view()
            x.setflags(write=False)
            y.setflags(write=False)
            set_(self, f"x_{split}", x)
            set_(self, f"y_{split}", y)
        if len(shapes) != 1:
            raise ValueError(f"train and test images differ in shape: {sorted(shapes)}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Image shape ``(H, W, C)``."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    def whole(self) -> tuple[np.ndarray, np.ndarray]:
        """All images and labels, train then test (the paper allocates the
        whole dataset, §6.2.3).  Returns new arrays."""
        return (
            np.concatenate((self.x_train, self.x_test)),
            np.concatenate((self.y_train, self.y_test)),
        )

    def fingerprint(self) -> str:
        """SHA-256 over name, class names and all arrays (for result-cache keys)."""
        h = hashlib.sha256()
        h.update(repr((self.name, self.class_names, self.shape)).encode())
        for a in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).data)
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.n_train}, test={self.n_test}, "
            f"shape={self.shape}, num_classes={self.num_classes}, "
            f"description={self.description!r})"
        )
